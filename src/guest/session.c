/* Exec sessions (see session.h).
 *
 * Flow control: stdout/stderr are read only while their stream has credit
 * from the host and the output queue has room for a whole DATA frame; a
 * stream without credit is simply not polled, so the child blocks in
 * write(2) and nothing grows. Stdin is buffered up to the STDIN_WINDOW the
 * agent granted in EXEC_STARTED; bytes written to the child are granted
 * back with WINDOW frames. */
#include "session.h"

#include "caps.h"
#include "copy.h"
#include "guest.h"
#include "port.h"
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ARGV 8192
#define KILL_GRACE_MS 2000
#define USER_FILE_MAX (1024 * 1024)
/* Room a DATA read needs in the output queue: a full frame plus a reserve
 * so replies to the host's requests are never starved by output. */
#define DATA_ROOM (BXP_HEADER_SIZE + OUT_CHUNK + 4 * OUTQ_REPLY_MAX)

struct session {
	uint32_t chan; /* 0 = free slot */
	pid_t pid;
	bool tty;
	int in_fd;            /* stdin pipe / dup of the pty master, -1 when closed */
	int out_fd[2];        /* stdout, stderr; -1 after EOF */
	uint32_t credit[2];   /* bytes the host still accepts per output stream */
	bool eof_pending[2];  /* EOF to send on stream 1/2 */
	uint8_t *in_buf;      /* STDIN_WINDOW bytes, allocated on first DATA */
	size_t in_off, in_len;
	uint32_t in_grant;    /* stdin bytes consumed, not yet granted back */
	bool in_eof;          /* host sent EOF on stdin */
	bool exited;
	int status;
	uint64_t exit_ns;
	int64_t term_at;      /* mono ms: SIGTERM (timeout), 0 = none */
	int64_t kill_at;      /* mono ms: SIGKILL, 0 = none */
};

static struct session g_sess[MAX_SESSIONS];
static int g_nsess;

/* Scratch for EXEC parsing and for the image's user database. Static so a
 * big EXEC costs no allocation; the agent handles one EXEC at a time. */
static char exec_strs[BXP_MAX_PAYLOAD + 2 * MAX_ARGV + USER_HOME_MAX + 16];
static char *exec_argv[MAX_ARGV + 1];
static char *exec_envp[MAX_ARGV + 2];
static char pw_buf[USER_FILE_MAX], gr_buf[USER_FILE_MAX];
static uint8_t io_buf[OUT_CHUNK];

struct exec_req {
	int argc, envc;
	char cwd[PATH_MAX];
	char user[USER_NAME_MAX * 2];
	int has_user;
	uint32_t tty, rows, cols, window, timeout_ms;
	char path[PATH_MAX]; /* resolved argv[0] */
	struct user_cred cred;
	enum copy_mode copy; /* COPY_OUT/COPY_IN: run the tar streamer, not argv */
	uint32_t copy_single;
	uint32_t copy_flags; /* BXP_COPY_* bits */
	char copy_path[PATH_MAX];
};

/* What the child reports through the CLOEXEC error pipe. */
enum child_stage { ST_SETSID = 1, ST_TTY, ST_DUP, ST_GROUPS, ST_GID, ST_UID, ST_CHDIR, ST_EXEC, ST_CAPS };
struct child_err {
	int stage;
	int err;
};

static struct session *find_chan(uint32_t chan)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (g_sess[i].chan == chan)
			return &g_sess[i];
	return NULL;
}

static void session_free(struct session *s)
{
	close_fd(&s->in_fd);
	close_fd(&s->out_fd[0]);
	close_fd(&s->out_fd[1]);
	free(s->in_buf);
	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd[0] = s->out_fd[1] = -1;
	g_nsess--;
}

static void kill_group(struct session *s, int sig)
{
	if (s->pid > 0)
		kill(-s->pid, sig);
}

/* ---- EXEC ---- */

static int parse_exec(const uint8_t *payload, size_t len, struct exec_req *x, uint32_t chan)
{
	struct bxp_reader r;
	struct bxp_field f;
	size_t sp = 0;
	int rc;

	memset(x, 0, sizeof(*x));
	strcpy(x->cwd, "/");
	x->rows = 24;
	x->cols = 80;
	x->window = BXP_DEFAULT_WINDOW;
	bxp_reader_init(&r, payload, len);
	while ((rc = bxp_next(&r, &f)) == 1) {
		switch (f.tag) {
		case BXT_ARG:
		case BXT_ENV: {
			int *count = f.tag == BXT_ARG ? &x->argc : &x->envc;
			char **vec = f.tag == BXT_ARG ? exec_argv : exec_envp;
			if (*count >= MAX_ARGV) {
				send_error(chan, E2BIG, "exec: more than %d arguments or variables", MAX_ARGV);
				return -E2BIG;
			}
			rc = bxp_field_str(&f, exec_strs + sp, sizeof(exec_strs) - sp);
			if (rc == 0) {
				vec[(*count)++] = exec_strs + sp;
				sp += f.len + 1;
			}
			break;
		}
		case BXT_CWD:
			rc = bxp_field_str(&f, x->cwd, sizeof(x->cwd));
			break;
		case BXT_USER:
			rc = bxp_field_str(&f, x->user, sizeof(x->user));
			x->has_user = 1;
			break;
		case BXT_TTY:
			rc = bxp_field_u32(&f, &x->tty);
			break;
		case BXT_ROWS:
			rc = bxp_field_u32(&f, &x->rows);
			break;
		case BXT_COLS:
			rc = bxp_field_u32(&f, &x->cols);
			break;
		case BXT_WINDOW:
			rc = bxp_field_u32(&f, &x->window);
			break;
		case BXT_TIMEOUT_MS:
			rc = bxp_field_u32(&f, &x->timeout_ms);
			break;
		case BXT_COPY_OUT:
		case BXT_COPY_IN:
			rc = bxp_field_str(&f, x->copy_path, sizeof(x->copy_path));
			x->copy = f.tag == BXT_COPY_OUT ? COPY_OUT : COPY_IN;
			break;
		case BXT_COPY_FLAGS:
			rc = bxp_field_u32(&f, &x->copy_flags);
			break;
		case BXT_COPY_SINGLE:
			rc = bxp_field_u32(&f, &x->copy_single);
			break;
		default:
			rc = 0;
			break;
		}
		if (rc < 0) {
			send_error(chan, -rc, "exec: bad field %u: %s", f.tag, strerror(-rc));
			return rc;
		}
	}
	if (rc < 0) {
		send_error(chan, EPROTO, "exec: malformed EXEC payload");
		return rc;
	}
	if (x->copy && !x->copy_path[0]) {
		send_error(chan, EINVAL, "copy: empty path");
		return -EINVAL;
	}
	if (x->argc == 0 && !x->copy) {
		send_error(chan, EINVAL, "exec: no command");
		return -EINVAL;
	}
	exec_argv[x->argc] = NULL;
	exec_envp[x->envc] = NULL;
	/* Room for a HOME= the agent may add (see resolve_user). */
	if (sizeof(exec_strs) - sp < USER_HOME_MAX + 8) {
		send_error(chan, E2BIG, "exec: arguments too long");
		return -E2BIG;
	}
	exec_strs[sp] = '\0';
	return (int)sp;
}

static const char *env_get(const char *name)
{
	size_t n = strlen(name);

	for (char **e = exec_envp; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static ssize_t load_user_file(const char *path, char *buf, size_t cap)
{
	ssize_t n = read_file(path, buf, cap);

	return n < 0 && n != -EFBIG ? -1 : n; /* missing file = no entries */
}

/* Fills x->cred; adds HOME from passwd when the environment has none (the
 * host cannot know the image's home directories). */
static int resolve_user(struct exec_req *x, size_t strs_used, uint32_t chan)
{
	char err[512];
	ssize_t pl, gl;
	int rc;

	pl = load_user_file("/etc/passwd", pw_buf, sizeof(pw_buf));
	gl = load_user_file("/etc/group", gr_buf, sizeof(gr_buf));
	if (pl == -EFBIG || gl == -EFBIG) {
		send_error(chan, EFBIG, "user: /etc/passwd or /etc/group larger than %d bytes", USER_FILE_MAX);
		return -EFBIG;
	}
	rc = user_resolve(x->has_user ? x->user : NULL, pl < 0 ? NULL : pw_buf, pl < 0 ? 0 : (size_t)pl,
			  gl < 0 ? NULL : gr_buf, gl < 0 ? 0 : (size_t)gl, &x->cred, err, sizeof(err));
	if (rc < 0) {
		send_error(chan, -rc, "%s", err);
		return rc;
	}
	if (!env_get("HOME") && x->envc < MAX_ARGV) {
		char *home = exec_strs + strs_used + 1;
		snprintf(home, USER_HOME_MAX + 6, "HOME=%s", x->cred.home);
		exec_envp[x->envc++] = home;
		exec_envp[x->envc] = NULL;
	}
	return 0;
}

static int check_exec(int cwdfd, const char *p)
{
	struct stat st;

	if (fstatat(cwdfd, p, &st, 0) < 0)
		return errno == ENOTDIR || errno == ELOOP ? -ENOENT : -errno;
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return -EACCES;
	return 0;
}

/* Resolves argv[0] like execvp(3) would, before forking, so the host gets a
 * clean ENOENT ("command not found", exit 127) or EACCES (126). */
static int resolve_cmd(struct exec_req *x, int cwdfd, uint32_t chan)
{
	const char *cmd = exec_argv[0], *p;
	int rc, saw_eacces = 0;

	if (!cmd[0]) {
		send_error(chan, ENOENT, "exec: : command not found");
		return -ENOENT;
	}
	if (strchr(cmd, '/')) {
		rc = check_exec(cwdfd, cmd);
		if (rc < 0) {
			send_error(chan, -rc, "exec: %s: %s", cmd,
				   rc == -EACCES ? "permission denied" : strerror(-rc));
			return rc;
		}
		snprintf(x->path, sizeof(x->path), "%s", cmd);
		return 0;
	}
	p = env_get("PATH");
	if (!p)
		p = DEFAULT_PATH;
	for (;;) {
		const char *c = strchr(p, ':');
		size_t dl = c ? (size_t)(c - p) : strlen(p);
		int n;

		if (dl == 0)
			n = snprintf(x->path, sizeof(x->path), "%s", cmd);
		else
			n = snprintf(x->path, sizeof(x->path), "%.*s/%s", (int)dl, p, cmd);
		if (n > 0 && (size_t)n < sizeof(x->path)) {
			rc = check_exec(cwdfd, x->path);
			if (rc == 0)
				return 0;
			if (rc == -EACCES)
				saw_eacces = 1;
		}
		if (!c)
			break;
		p = c + 1;
	}
	if (saw_eacces) {
		send_error(chan, EACCES, "exec: %s: permission denied", cmd);
		return -EACCES;
	}
	send_error(chan, ENOENT, "exec: %s: command not found", cmd);
	return -ENOENT;
}

static void __attribute__((noreturn)) child_fail(int errfd, int stage)
{
	struct child_err ce = { stage, errno };

	(void)!write(errfd, &ce, sizeof(ce));
	_exit(127);
}

/* In the child: never returns. fds[3] become 0, 1, 2. */
static void __attribute__((noreturn)) child_exec(const struct exec_req *x, const int fds[3], int errfd)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	if (setsid() < 0)
		child_fail(errfd, ST_SETSID);
	if (x->tty && ioctl(fds[0], TIOCSCTTY, 0) < 0)
		child_fail(errfd, ST_TTY);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			child_fail(errfd, ST_DUP);
	if (x->copy) {
		/* The agent's own tar streamer, as root, in the guest root. No
		 * execve, so close what the agent holds (errfd included: that
		 * reports success). */
		syscall(SYS_close_range, 3u, ~0u, 0u);
		_exit(copy_child(x->copy, x->copy_path, x->copy_single != 0, x->copy_flags));
	}
	if (caps_limit_bounding() < 0)
		child_fail(errfd, ST_CAPS);
	if (setgroups(x->cred.ngroups, x->cred.groups) < 0)
		child_fail(errfd, ST_GROUPS);
	if (setgid(x->cred.gid) < 0)
		child_fail(errfd, ST_GID);
	if (setuid(x->cred.uid) < 0)
		child_fail(errfd, ST_UID);
	if (caps_apply(x->cred.uid) < 0)
		child_fail(errfd, ST_CAPS);
	if (chdir(x->cwd) < 0)
		child_fail(errfd, ST_CHDIR);
	execve(x->path, exec_argv, exec_envp);
	child_fail(errfd, ST_EXEC);
}

static void report_child_err(uint32_t chan, const struct exec_req *x, const struct child_err *ce)
{
	const char *what = strerror(ce->err);

	switch (ce->stage) {
	case ST_CHDIR:
		send_error(chan, ce->err, "cwd: %s: %s", x->cwd, what);
		break;
	case ST_GROUPS:
	case ST_GID:
	case ST_UID:
		send_error(chan, ce->err, "user: cannot switch to uid %u gid %u: %s", (unsigned)x->cred.uid,
			   (unsigned)x->cred.gid, what);
		break;
	case ST_CAPS:
		send_error(chan, ce->err, "capabilities: cannot limit them to the box's set: %s", what);
		break;
	case ST_EXEC:
		send_error(chan, ce->err, "exec: %s: %s%s", exec_argv[0], what,
			   ce->err == ENOENT ? " (missing interpreter or loader?)" : "");
		break;
	default:
		send_error(chan, ce->err, "exec: child setup (stage %d): %s", ce->stage, what);
		break;
	}
}

/* Creates the child's stdio: pipes, or one pty. parent[] gets stdin, stdout,
 * stderr ends for the agent (stderr -1 with a tty), child[] the other ends. */
static int make_stdio(const struct exec_req *x, int parent[3], int child[3], uint32_t chan)
{
	int p[2];

	parent[0] = parent[1] = parent[2] = child[0] = child[1] = child[2] = -1;
	if (x->tty) {
		struct winsize ws = { .ws_row = (unsigned short)x->rows, .ws_col = (unsigned short)x->cols };
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s;

		if (m < 0 || unlockpt(m) < 0)
			goto pty_fail;
		s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0)
			goto pty_fail;
		ioctl(m, TIOCSWINSZ, &ws);
		parent[1] = m;
		parent[0] = fcntl(m, F_DUPFD_CLOEXEC, 3);
		child[0] = s;
		child[1] = fcntl(s, F_DUPFD_CLOEXEC, 3);
		child[2] = fcntl(s, F_DUPFD_CLOEXEC, 3);
		if (parent[0] < 0 || child[1] < 0 || child[2] < 0)
			goto pty_fail;
		set_nonblock(m);
		return 0;
pty_fail:
		send_error(chan, errno, "exec: cannot allocate a pty: %s", strerror(errno));
		if (m >= 0 && parent[1] < 0)
			close(m);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			send_error(chan, errno, "exec: pipe: %s", strerror(errno));
			return -1;
		}
		/* stdin: the child reads p[0]; outputs: the child writes p[1]. */
		parent[i] = i == 0 ? p[1] : p[0];
		child[i] = i == 0 ? p[0] : p[1];
		set_nonblock(parent[i]);
	}
	return 0;
}

static void close3(int fds[3])
{
	for (int i = 0; i < 3; i++)
		close_fd(&fds[i]);
}

static void send_started(struct session *s)
{
	uint8_t buf[64];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_PID, (uint32_t)s->pid);
	bxp_put_u32(&w, BXT_WINDOW, STDIN_WINDOW);
	bxp_put_u64(&w, BXT_T_EVENT, boot_ns());
	outq_frame(s->chan, BXP_EXEC_STARTED, 0, buf, w.len);
}

void session_exec(uint32_t chan, const uint8_t *payload, size_t len)
{
	static struct exec_req x; /* big (PATH_MAX, groups): not on the stack */
	int parent[3], child[3], errp[2], cwdfd, used;
	struct session *s;
	struct child_err ce;
	ssize_t n;
	pid_t pid;

	if (g_shutting_down) {
		send_error(chan, ESHUTDOWN, "exec: the box is shutting down");
		return;
	}
	if (!g_root_ready) {
		send_error(chan, EAGAIN, "exec: the box is not set up yet (no SETUP)");
		return;
	}
	if ((s = find_chan(chan))) {
		/* A host bug. ERROR ends the channel for the host, so end it here
		 * too: both sides then agree that nothing runs on it. */
		glog("EXEC on busy channel %u: killing the session", chan);
		kill_group(s, SIGKILL);
		session_free(s);
		send_error(chan, EEXIST, "exec: channel %u already had a session (killed)", chan);
		return;
	}
	if (g_nsess >= MAX_SESSIONS) {
		send_error(chan, EAGAIN, "exec: too many sessions (%d)", MAX_SESSIONS);
		return;
	}
	used = parse_exec(payload, len, &x, chan);
	if (used < 0)
		return;
	if (x.copy) {
		x.tty = 0;
		goto stdio;
	}
	cwdfd = open(x.cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwdfd < 0) {
		send_error(chan, errno == ENOTDIR ? ENOENT : errno, "cwd: %s: %s", x.cwd, strerror(errno));
		return;
	}
	if (resolve_user(&x, (size_t)used, chan) < 0 || resolve_cmd(&x, cwdfd, chan) < 0) {
		close(cwdfd);
		return;
	}
	close(cwdfd);
stdio:
	if (make_stdio(&x, parent, child, chan) < 0) {
		close3(parent);
		close3(child);
		return;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		send_error(chan, errno, "exec: pipe: %s", strerror(errno));
		close3(parent);
		close3(child);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(errp[0]);
		child_exec(&x, child, errp[1]);
	}
	close(errp[1]);
	close3(child);
	if (pid < 0) {
		send_error(chan, errno, "exec: fork: %s", strerror(errno));
		close(errp[0]);
		close3(parent);
		return;
	}
	do
		n = read(errp[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n != 0) {
		if (n != (ssize_t)sizeof(ce))
			ce = (struct child_err){ 0, EIO };
		waitpid(pid, NULL, 0);
		report_child_err(chan, &x, &ce);
		close3(parent);
		return;
	}

	s = find_chan(0);
	s->chan = chan;
	s->pid = pid;
	s->tty = x.tty != 0;
	s->in_fd = parent[0];
	s->out_fd[0] = parent[1];
	s->out_fd[1] = parent[2];
	s->credit[0] = s->credit[1] = x.window;
	s->eof_pending[1] = s->tty; /* a tty has no separate stderr */
	if (x.timeout_ms)
		s->term_at = mono_ms() + x.timeout_ms;
	g_nsess++;
	send_started(s);
}

/* ---- stdin ---- */

static void stdin_close(struct session *s)
{
	if (s->in_fd < 0)
		return;
	if (s->tty) {
		/* A pty has no half-close: send the EOF character instead. */
		struct termios t;
		char veof = 4;
		if (tcgetattr(s->in_fd, &t) == 0 && t.c_cc[VEOF])
			veof = (char)t.c_cc[VEOF];
		(void)!write(s->in_fd, &veof, 1);
	}
	close_fd(&s->in_fd);
}

static void stdin_drop(struct session *s)
{
	s->in_grant += (uint32_t)s->in_len;
	s->in_len = 0;
	s->in_off = 0;
	close_fd(&s->in_fd);
}

static void stdin_write(struct session *s)
{
	while (s->in_fd >= 0 && s->in_len) {
		ssize_t n = write(s->in_fd, s->in_buf + s->in_off, s->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* EPIPE: the child closed its stdin; discard */
			stdin_drop(s);
			return;
		}
		s->in_off += (size_t)n;
		s->in_len -= (size_t)n;
		s->in_grant += (uint32_t)n;
	}
	s->in_off = 0;
	if (s->in_eof && !s->in_len)
		stdin_close(s);
}

static void stdin_data(struct session *s, const uint8_t *data, size_t len)
{
	size_t space, take;

	if (s->in_eof) {
		glog("channel %u: stdin DATA after EOF dropped", s->chan);
		return;
	}
	if (s->in_fd < 0) {
		s->in_grant += (uint32_t)len;
		return;
	}
	if (!s->in_buf && !(s->in_buf = malloc(STDIN_WINDOW))) {
		glog("channel %u: no memory for stdin, closing it", s->chan);
		s->in_grant += (uint32_t)len;
		close_fd(&s->in_fd);
		return;
	}
	if (s->in_off && s->in_off + s->in_len + len > STDIN_WINDOW) {
		memmove(s->in_buf, s->in_buf + s->in_off, s->in_len);
		s->in_off = 0;
	}
	space = STDIN_WINDOW - s->in_off - s->in_len;
	take = len < space ? len : space;
	if (take < len) {
		glog("channel %u: host overran its stdin credit, %zu bytes dropped", s->chan, len - take);
		s->in_grant += (uint32_t)(len - take);
	}
	memcpy(s->in_buf + s->in_off + s->in_len, data, take);
	s->in_len += take;
	stdin_write(s);
}

/* ---- frames from the host ---- */

static int field_u32(const uint8_t *payload, size_t len, uint16_t tag, uint32_t *v)
{
	struct bxp_reader r;
	struct bxp_field f;

	bxp_reader_init(&r, payload, len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == tag)
			return bxp_field_u32(&f, v);
	return -ENOENT;
}

void session_frame(const struct bxp_header *h, const uint8_t *payload)
{
	struct session *s = h->chan ? find_chan(h->chan) : NULL;
	uint32_t v;

	if (!s)
		return;
	switch (h->type) {
	case BXP_DATA:
		if (h->stream == BXP_STDIN)
			stdin_data(s, payload, h->len);
		break;
	case BXP_EOF:
		if (h->stream == BXP_STDIN && !s->in_eof) {
			s->in_eof = true;
			if (!s->in_len)
				stdin_close(s);
		}
		break;
	case BXP_WINDOW:
		if ((h->stream == BXP_STDOUT || h->stream == BXP_STDERR) &&
		    field_u32(payload, h->len, BXT_CREDIT, &v) == 0) {
			uint32_t *c = &s->credit[h->stream - 1];
			*c = UINT32_MAX - *c < v ? UINT32_MAX : *c + v;
		}
		break;
	case BXP_SIGNAL:
		if (field_u32(payload, h->len, BXT_SIGNAL, &v) == 0 && v >= 1 && v < (uint32_t)NSIG)
			kill_group(s, (int)v);
		else
			glog("channel %u: SIGNAL without a valid signal", s->chan);
		break;
	case BXP_RESIZE: {
		uint32_t rows, cols;
		int fd = s->out_fd[0] >= 0 ? s->out_fd[0] : s->in_fd;
		if (s->tty && fd >= 0 && field_u32(payload, h->len, BXT_ROWS, &rows) == 0 &&
		    field_u32(payload, h->len, BXT_COLS, &cols) == 0) {
			struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
			ioctl(fd, TIOCSWINSZ, &ws);
		}
		break;
	}
	case BXP_CLOSE:
		kill_group(s, SIGKILL);
		session_free(s);
		break;
	default:
		glog("channel %u: unexpected %s ignored", s->chan, bxp_type_name(h->type));
		break;
	}
}

/* ---- poll loop hooks ---- */

int sessions_pollfds(struct pollfd *pfd, struct poll_ref *ref, int max)
{
	int n = 0;
	bool room = outq_room() >= DATA_ROOM;

	for (int i = 0; i < MAX_SESSIONS && n + 3 <= max; i++) {
		struct session *s = &g_sess[i];

		if (!s->chan)
			continue;
		if (s->in_fd >= 0 && s->in_len) {
			pfd[n] = (struct pollfd){ .fd = s->in_fd, .events = POLLOUT };
			ref[n++] = (struct poll_ref){ i, 0 };
		}
		for (int k = 0; k < 2; k++) {
			if (s->out_fd[k] < 0 || !s->credit[k] || !room)
				continue;
			pfd[n] = (struct pollfd){ .fd = s->out_fd[k], .events = POLLIN };
			ref[n++] = (struct poll_ref){ i, k + 1 };
		}
	}
	return n;
}

static void output_read(struct session *s, int k)
{
	size_t want = s->credit[k] < OUT_CHUNK ? s->credit[k] : OUT_CHUNK;
	ssize_t n;

	if (!want || outq_room() < DATA_ROOM)
		return;
	do
		n = read(s->out_fd[k], io_buf, want);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) { /* EOF, or EIO from a pty master whose slave is gone */
		close_fd(&s->out_fd[k]);
		s->eof_pending[k] = true;
		return;
	}
	outq_frame(s->chan, BXP_DATA, (uint8_t)(k + 1), io_buf, (size_t)n);
	s->credit[k] -= (uint32_t)n;
}

void session_io(const struct poll_ref *ref, short revents)
{
	struct session *s = &g_sess[ref->session];

	if (!s->chan)
		return; /* freed earlier in this round */
	if (ref->which == 0)
		stdin_write(s);
	else if (s->out_fd[ref->which - 1] >= 0)
		output_read(s, ref->which - 1);
}

static bool send_ctl(struct session *s, uint16_t type, uint8_t stream, uint16_t tag, uint32_t v)
{
	uint8_t buf[32];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	if (tag)
		bxp_put_u32(&w, tag, v);
	return outq_frame(s->chan, type, stream, buf, w.len) == 0;
}

static bool send_exit(struct session *s)
{
	uint8_t buf[64];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	if (WIFSIGNALED(s->status))
		bxp_put_u32(&w, BXT_SIGNAL, (uint32_t)WTERMSIG(s->status));
	else
		bxp_put_u32(&w, BXT_EXIT_CODE, (uint32_t)WEXITSTATUS(s->status));
	bxp_put_u64(&w, BXT_T_EVENT, s->exit_ns);
	return outq_frame(s->chan, BXP_EXIT, 0, buf, w.len) == 0;
}

void sessions_pump(void)
{
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &g_sess[i];

		if (!s->chan)
			continue;
		if (s->in_grant && !s->in_eof && (s->in_grant >= STDIN_WINDOW / 4 || !s->in_len) &&
		    send_ctl(s, BXP_WINDOW, BXP_STDIN, BXT_CREDIT, s->in_grant))
			s->in_grant = 0;
		for (int k = 0; k < 2; k++)
			if (s->eof_pending[k] && send_ctl(s, BXP_EOF, (uint8_t)(k + 1), 0, 0))
				s->eof_pending[k] = false;
		if (s->exited && s->out_fd[0] < 0 && s->out_fd[1] < 0 && !s->eof_pending[0] &&
		    !s->eof_pending[1] && send_exit(s))
			session_free(s);
	}
}

int64_t sessions_timers(int64_t now)
{
	int64_t next = -1;

	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &g_sess[i];

		if (!s->chan)
			continue;
		if (s->term_at && now >= s->term_at) {
			s->term_at = 0;
			if (!s->exited || s->out_fd[0] >= 0 || s->out_fd[1] >= 0) {
				kill_group(s, SIGTERM);
				s->kill_at = now + KILL_GRACE_MS;
			}
		}
		if (s->kill_at && now >= s->kill_at) {
			s->kill_at = 0;
			kill_group(s, SIGKILL);
		}
		if (s->term_at && (next < 0 || s->term_at < next))
			next = s->term_at;
		if (s->kill_at && (next < 0 || s->kill_at < next))
			next = s->kill_at;
	}
	return next;
}

int sessions_reaped(pid_t pid, int status)
{
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &g_sess[i];

		if (s->chan && s->pid == pid && !s->exited) {
			s->exited = true;
			s->status = status;
			s->exit_ns = boot_ns();
			return 1;
		}
	}
	return 0;
}

void sessions_signal_all(int sig)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (g_sess[i].chan)
			kill_group(&g_sess[i], sig);
}

int sessions_drop_except(const uint32_t *keep, size_t n_keep)
{
	int dropped = 0;

	for (int i = 0; i < MAX_SESSIONS; i++) {
		bool kept = false;

		if (!g_sess[i].chan)
			continue;
		for (size_t k = 0; k < n_keep && !kept; k++)
			kept = g_sess[i].chan == keep[k];
		if (kept)
			continue;
		kill_group(&g_sess[i], SIGKILL);
		session_free(&g_sess[i]);
		dropped++;
	}
	return dropped;
}

int sessions_count(void)
{
	return g_nsess;
}

/* All slots start free with closed fds. */
__attribute__((constructor)) static void sessions_init(void)
{
	for (int i = 0; i < MAX_SESSIONS; i++)
		g_sess[i].in_fd = g_sess[i].out_fd[0] = g_sess[i].out_fd[1] = -1;
}
