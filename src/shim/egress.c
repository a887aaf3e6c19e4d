/* The egress supervisor (egress.h).
 *
 * Enforcement: QEMU's child process installs, before exec, a seccomp filter
 * whose SCMP_ACT_NOTIFY rules cover connect() and sendto() with a non-NULL
 * address (libslirp makes every guest connection and datagram with these
 * two); the listener fd comes back to the shim over a socketpair. For each
 * notification the shim (its poll loop) copies the address (and, for sendto,
 * at most 64 KiB of data) out of QEMU with process_vm_readv, decides on its
 * own copy, and either answers ECONNREFUSED / EACCES or performs the call
 * itself on a duplicate of QEMU's socket (pidfd_getfd) and returns that
 * result. It never lets the original call continue (that would re-read
 * QEMU's memory after the check). Not covered: sendmsg/sendmmsg with an
 * address, which libslirp never uses for guest traffic (only a compromised
 * QEMU could); io_uring is refused (ENOSYS) for QEMU.
 *
 * No threads: the jailed shim cannot create any (after unshare(CLONE_NEWPID)
 * clone(CLONE_THREAD) is EINVAL). Notifications are handled in the poll
 * loop; that never blocks, because libslirp's sockets are non-blocking (a
 * TCP connect on a blocking socket is refused) and sendto gets
 * MSG_DONTWAIT. DNS: RESOLVE frames from the agent go, for permitted names
 * only, to a resolver process forked at spawn time, which forks one child
 * per query (getaddrinfo) and answers over a SOCK_SEQPACKET pair; the poll
 * loop reads the answers, adds the addresses to the allow-set and sends
 * RESOLVED. */
#include "egress.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "egress_policy.h"
#include "engine.h"
#include "jail.h"
#include "log.h"
#include "shim.h"

#define SENDTO_MAX (64u * 1024u)
#define DNS_WORKERS_MAX 16
#define LOG_REFUSALS_MAX 200 /* then only every 1000th, so a guest cannot flood the log */

#define DNS_ADDRS_MAX 32

/* A query to the resolver process and its answer: one datagram each way. */
struct dns_msg {
	uint32_t id, qtype;
	int32_t rcode_errno; /* answer: 0, ENOENT (no such name), EAGAIN (failure) */
	uint32_t n_addr;
	struct bx_egress_addr addr[DNS_ADDRS_MAX];
	char name[BX_EGRESS_NAME_MAX + 1];
};

static struct {
	int active;
	int jailed;
	struct bx_egress_policy pol;
	int notify_fd, pidfd;
	pid_t qemu_pid;
	unsigned long refused;
	int dns_fd;       /* our end of the resolver process's socketpair */
	pid_t dns_pid;
} g = { .notify_fd = -1, .pidfd = -1, .dns_fd = -1, .dns_pid = -1 };

int egress_active(void)
{
	return g.active;
}

int egress_dns_fd(void)
{
	return g.dns_fd;
}

int egress_notify_fd(void)
{
	return g.notify_fd;
}

int egress_init(const struct bx_shim_config *cfg, struct bx_error *err)
{
	size_t bad = 0;
	int rc;

	if (!cfg->n_allow_net || g.active)
		return 0;
	rc = bx_egress_policy_init(&g.pol, cfg->allow_net, cfg->n_allow_net, &bad);
	if (rc == -EINVAL)
		return bx_err(err, rc, "allow-net entry %zu is not a host, *.domain, IP or CIDR", bad);
	if (rc < 0)
		return bx_err(err, rc, "allow-net: %s", strerror(-rc));
	g.active = 1;
	g.jailed = cfg->security == BX_SECURITY_JAIL;
	bx_info("egress policy: %zu allow-net entries; everything else is refused", cfg->n_allow_net);
	return 0;
}

/* ---- the child side: runs after fork, before exec (single-threaded) */

static int child_hook(void *arg)
{
	int sock = *(int *)arg, fd, rc = 0;
	scmp_filter_ctx ctx;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	/* As for every jailed QEMU (vm.c): what only the shim needs, killed. */
	if (g.jailed && bx_jail_seccomp_qemu() < 0)
		return -1;
	if (!(ctx = seccomp_init(SCMP_ACT_ALLOW)))
		return -1;
	rc |= seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1, SCMP_A4(SCMP_CMP_NE, 0));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	fd = rc == 0 ? seccomp_notify_fd(ctx) : -1;
	seccomp_release(ctx);
	if (fd < 0)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 1)
		return -1;
	close(fd);
	return 0;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- the supervisor (runs in the poll loop) */

static int read_remote(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (len == 0)
		return 0;
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static void describe(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		snprintf(out, cap, "address family %u", (unsigned)ss->ss_family);
	}
}

static void handle(struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	int is_connect = req->data.nr == __NR_connect;
	uint64_t alen = is_connect ? req->data.args[2] : req->data.args[5];
	struct sockaddr_storage ss;
	_cleanup_free_ char *data = NULL;
	size_t dlen = 0;
	int fd, allowed;
	long rc;

	resp->id = req->id;
	resp->val = 0;
	resp->error = 0;
	resp->flags = 0;
	if (req->data.nr != __NR_connect && req->data.nr != __NR_sendto) {
		resp->error = -ENOSYS;
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (alen < sizeof(sa_family_t) || alen > sizeof(ss)) {
		resp->error = -EINVAL;
		return;
	}
	if (read_remote(req->pid, req->data.args[1 + (is_connect ? 0 : 3)], &ss, alen) < 0) {
		resp->error = -EFAULT;
		return;
	}
	/* connect(AF_UNSPEC) only dissolves a datagram socket's peer. */
	allowed = (is_connect && ss.ss_family == AF_UNSPEC) ||
		  bx_egress_allows_sockaddr(&g.pol, (const struct sockaddr *)&ss, alen);
	if (!allowed) {
		char where[80];

		resp->error = is_connect ? -ECONNREFUSED : -EACCES;
		g.refused++;
		if (g.refused <= LOG_REFUSALS_MAX || g.refused % 1000 == 0) {
			describe(&ss, where, sizeof(where));
			bx_info("egress: refused %s to %s (not in allow-net; %lu refused so far)",
				is_connect ? "connect" : "datagram", where, g.refused);
		}
		return;
	}
	if (!is_connect) {
		dlen = req->data.args[2];
		if (dlen > SENDTO_MAX) {
			resp->error = -EMSGSIZE;
			return;
		}
		data = malloc(dlen ? dlen : 1);
		if (!data) {
			resp->error = -ENOMEM;
			return;
		}
		if (read_remote(req->pid, req->data.args[1], data, dlen) < 0) {
			resp->error = -EFAULT;
			return;
		}
	}
	fd = (int)syscall(SYS_pidfd_getfd, g.pidfd, (int)req->data.args[0], 0);
	if (fd < 0) {
		resp->error = -errno;
		return;
	}
	if (is_connect) {
		/* A blocking TCP connect would stall the poll loop; libslirp's
		 * sockets are all non-blocking, so only a subverted QEMU asks. */
		int type = 0, fl = fcntl(fd, F_GETFL);
		socklen_t tl = sizeof(type);

		if (fl < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
		    (type == SOCK_STREAM && !(fl & O_NONBLOCK))) {
			close(fd);
			resp->error = -EINVAL;
			return;
		}
	}
	/* The fd number was QEMU's at notification time only if the request
	 * is still pending (and QEMU is still the process behind pidfd). */
	if (seccomp_notify_id_valid(g.notify_fd, req->id) < 0) {
		close(fd);
		resp->error = -EINTR;
		return;
	}
	if (is_connect)
		rc = connect(fd, (struct sockaddr *)&ss, (socklen_t)alen);
	else
		rc = sendto(fd, data, dlen, (int)req->data.args[3] | MSG_DONTWAIT | MSG_NOSIGNAL,
			    (struct sockaddr *)&ss, (socklen_t)alen);
	if (rc < 0)
		resp->error = -errno;
	else
		resp->val = rc;
	close(fd);
}

static int dns_start(struct bx_error *err);

int egress_spawn(char **argv, int stderr_fd, pid_t *pid, struct bx_error *err)
{
	int sp[2], fd, rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return bx_err_sys(err, -errno, "egress: socketpair");
	rc = bx_engine_spawn_hook(argv, stderr_fd, -1, child_hook, &sp[1], pid, err);
	close(sp[1]);
	if (rc < 0) {
		close(sp[0]);
		return rc;
	}
	fd = recv_fd(sp[0]);
	close(sp[0]);
	if (fd < 0)
		return bx_err(err, fd == -EPROTO ? -EIO : fd,
			      "egress: QEMU's child could not install the network filter (seccomp user "
			      "notification, Linux >= 5.5 and libseccomp >= 2.5)");
	g.notify_fd = fd;
	g.qemu_pid = *pid;
	g.pidfd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (g.pidfd < 0)
		return bx_err_sys(err, -errno, "egress: pidfd_open");
	fcntl(g.notify_fd, F_SETFL, O_NONBLOCK);
	if ((rc = dns_start(err)) < 0)
		return rc;
	bx_info("egress: supervising QEMU's connect/sendto (pid %d)", (int)*pid);
	return 0;
}


void egress_notify_io(void)
{
	static struct seccomp_notif *req;
	static struct seccomp_notif_resp *resp;

	if (!req && seccomp_notify_alloc(&req, &resp) < 0) {
		req = NULL;
		return;
	}
	for (int round = 0; round < 64; round++) {
		struct pollfd p = { .fd = g.notify_fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) {
			if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
				/* QEMU is gone: nothing will ever come. */
				close(g.notify_fd);
				g.notify_fd = -1;
			}
			return;
		}
		memset(req, 0, sizeof(*req));
		if (seccomp_notify_receive(g.notify_fd, req) < 0)
			continue; /* the caller was interrupted or died */
		handle(req, resp);
		seccomp_notify_respond(g.notify_fd, resp); /* fails when the caller is gone */
	}
}

/* ---- DNS: the resolver process */

static void dns_child(int sock, struct dns_msg *m)
{
	/* Both families at once: a name with only IPv4 addresses must answer
	 * AAAA with "no data", not "no such name" (which ends a lookup). */
	int want = m->qtype == 28 ? AF_INET6 : AF_INET;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(m->name, NULL, &hints, &res);

	m->n_addr = 0;
	m->rcode_errno = 0;
	if (rc == 0) {
		for (struct addrinfo *a = res; a && m->n_addr < DNS_ADDRS_MAX; a = a->ai_next) {
			struct bx_egress_addr *o = &m->addr[m->n_addr];

			if (a->ai_family == AF_INET && want == AF_INET)
				memcpy(o->addr, &((struct sockaddr_in *)a->ai_addr)->sin_addr, 4);
			else if (a->ai_family == AF_INET6 && want == AF_INET6)
				memcpy(o->addr, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, 16);
			else
				continue;
			o->family = a->ai_family;
			m->n_addr++;
		}
		freeaddrinfo(res);
	} else if (rc == EAI_NONAME) {
		m->rcode_errno = ENOENT;
	} else if (rc != EAI_NODATA && rc != EAI_ADDRFAMILY) {
		m->rcode_errno = EAGAIN;
	}
	send(sock, m, sizeof(*m), MSG_NOSIGNAL);
}

static void __attribute__((noreturn)) dns_process(int sock)
{
	unsigned children = 0;

	signal(SIGCHLD, SIG_DFL);
	for (;;) {
		struct dns_msg m;
		ssize_t n;
		pid_t c;

		while ((c = waitpid(-1, NULL, children >= DNS_WORKERS_MAX ? 0 : WNOHANG)) > 0)
			children--;
		n = recv(sock, &m, sizeof(m), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			_exit(0); /* the shim is gone */
		m.name[sizeof(m.name) - 1] = '\0';
		c = fork();
		if (c == 0) {
			dns_child(sock, &m);
			_exit(0);
		}
		if (c > 0)
			children++;
		else { /* no process: answer "try again" now */
			m.n_addr = 0;
			m.rcode_errno = EAGAIN;
			send(sock, &m, sizeof(m), MSG_NOSIGNAL);
		}
	}
}

static int dns_start(struct bx_error *err)
{
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return bx_err_sys(err, -errno, "egress: DNS socketpair");
	pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return bx_err_sys(err, -errno, "egress: starting the DNS resolver process");
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(sp[0]);
		/* Only this socket and stderr (the log) stay open. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != sp[1])
				close(fd);
		dns_process(sp[1]);
	}
	close(sp[1]);
	g.dns_fd = sp[0];
	g.dns_pid = pid;
	fcntl(g.dns_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

pid_t egress_dns_pid(void)
{
	return g.dns_pid;
}

static void dns_answer(struct shim *s, const struct dns_msg *m)
{
	uint8_t buf[4096];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_DNS_ID, m->id);
	if (m->rcode_errno)
		bxp_put_u32(&w, BXT_ERRNO, (uint32_t)m->rcode_errno);
	for (size_t i = 0; i < m->n_addr && i < DNS_ADDRS_MAX; i++) {
		char ip[INET6_ADDRSTRLEN];

		if (inet_ntop(m->addr[i].family, m->addr[i].addr, ip, sizeof(ip)))
			bxp_put_str(&w, BXT_DNS_ADDR, ip);
	}
	if (bxp_writer_ok(&w))
		agent_send(s, 0, BXP_RESOLVED, 0, buf, w.len);
}

int egress_resolve(struct shim *s, const uint8_t *payload, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	struct dns_msg m;
	int rc;

	if (!g.active)
		return -EPROTO; /* the agent was not told to proxy DNS */
	memset(&m, 0, sizeof(m));
	bxp_reader_init(&r, payload, len);
	while ((rc = bxp_next(&r, &f)) == 1) {
		if (f.tag == BXT_DNS_ID)
			rc = bxp_field_u32(&f, &m.id);
		else if (f.tag == BXT_DNS_QTYPE)
			rc = bxp_field_u32(&f, &m.qtype);
		else if (f.tag == BXT_DNS_NAME && bxp_field_str(&f, m.name, sizeof(m.name)) < 0)
			m.name[0] = '\0'; /* too long or malformed: no such name */
		if (rc < 0)
			return rc;
	}
	if ((m.qtype != 1 && m.qtype != 28) || !bx_egress_allows_name(&g.pol, m.name)) {
		m.rcode_errno = ENOENT;
		bx_info("egress: DNS name not in allow-net: %.253s", m.name);
	} else if (g.dns_fd < 0 || send(g.dns_fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		m.rcode_errno = EAGAIN;
	} else {
		return 0; /* answered by egress_dns_io */
	}
	dns_answer(s, &m);
	return 0;
}

void egress_dns_io(struct shim *s)
{
	for (;;) {
		struct dns_msg m;
		ssize_t n = recv(g.dns_fd, &m, sizeof(m), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n != (ssize_t)sizeof(m)) {
			bx_debug("egress: the DNS resolver process is gone");
			close(g.dns_fd);
			g.dns_fd = -1;
			return;
		}
		if (m.n_addr > DNS_ADDRS_MAX)
			m.n_addr = DNS_ADDRS_MAX;
		bx_debug("egress: DNS %.253s type %u: %u address(es), errno %d", m.name, m.qtype, m.n_addr,
			 m.rcode_errno);
		/* Learn first: the guest connects as soon as it has the answer. */
		for (uint32_t i = 0; i < m.n_addr; i++)
			if (bx_egress_learn(&g.pol, m.addr[i].family, m.addr[i].addr) < 0) {
				m.n_addr = i;
				break;
			}
		dns_answer(s, &m);
	}
}
