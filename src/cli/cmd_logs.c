/* boxlite logs [-f] [-n N] [--console]: the main command's output (main.log,
 * after its rotated part main.log.1), or the guest console. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define TAIL_MAX (32u << 20)

/* Copies fd from its position to stdout; returns bytes copied. */
static long long copy_out(int fd)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		total += n;
	}
	fflush(stdout);
	return total;
}

/* Appends the file to *buf (for -n). */
static void slurp(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && *len + (size_t)n <= TAIL_MAX) {
		char *nb = realloc(*buf, *len + (size_t)n);
		if (!nb)
			break;
		*buf = nb;
		memcpy(*buf + *len, chunk, (size_t)n);
		*len += (size_t)n;
	}
	close(fd);
}

static void print_tail(const char *rotated, const char *path, long lines)
{
	char *buf = NULL;
	size_t len = 0, start;
	long seen = 0;

	if (rotated)
		slurp(rotated, &buf, &len);
	slurp(path, &buf, &len);
	start = len;
	/* Walk back over `lines` line ends (a final newline ends the last line). */
	while (start > 0) {
		if (buf[start - 1] == '\n' && start != len && ++seen >= lines)
			break;
		start--;
	}
	if (lines > 0)
		fwrite(buf + start, 1, len - start, stdout);
	fflush(stdout);
	free(buf);
}

static int box_running(boxlite_box *box)
{
	boxlite_box_info info = { .struct_size = sizeof(info) };

	if (boxlite_box_info_get(box, &info, NULL) < 0)
		return 0;
	return info.state == BOXLITE_BOX_STARTING || info.state == BOXLITE_BOX_RUNNING ||
	       info.state == BOXLITE_BOX_PAUSED || info.state == BOXLITE_BOX_STOPPING;
}

static void follow(boxlite_box *box, const char *path, off_t from)
{
	int fd = -1;
	struct stat st, cur;

	for (int last_round = 0;;) {
		if (fd < 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			fstat(fd, &st);
			lseek(fd, from <= st.st_size ? from : 0, SEEK_SET);
		}
		if (fd >= 0) {
			copy_out(fd);
			/* Rotated or recreated: start over on the new file. */
			if (stat(path, &cur) == 0 && (cur.st_ino != st.st_ino || cur.st_size < lseek(fd, 0, SEEK_CUR))) {
				close(fd);
				fd = -1;
				from = 0;
				continue;
			}
		}
		if (last_round)
			break;
		if (!box_running(box))
			last_round = 1; /* one more read for what the end flushed */
		else
			usleep(200000);
	}
	if (fd >= 0)
		close(fd);
}

/* A remote box's logs come whole from the server (into a memory file, so
 * --tail works on them as on a local file); -f has no remote form yet. */
static int remote_logs(boxlite_box *box, int console, int follow_on, long lines)
{
	boxlite_error *err = NULL;
	char path[64];
	int fd;

	if (follow_on) {
		fprintf(stderr, "boxlite logs: -f is not available on a remote runtime (docs/remote.md)\n");
		return CLI_EXIT_RUNTIME;
	}
	if ((fd = memfd_create("boxlite-logs", MFD_CLOEXEC)) < 0) {
		perror("boxlite logs: memfd_create");
		return CLI_EXIT_RUNTIME;
	}
	if (boxlite_box_logs(box, console, fd, &err) < 0) {
		cli_report(err);
		close(fd);
		return CLI_EXIT_RUNTIME;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (lines >= 0) {
		print_tail(NULL, path, lines);
	} else {
		lseek(fd, 0, SEEK_SET);
		copy_out(fd);
	}
	close(fd);
	return 0;
}

int cmd_logs(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' }, { "tail", required_argument, NULL, 'n' },
		{ "console", no_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	char path[PATH_MAX], rotated[PATH_MAX + 4];
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	int c, follow_on = 0, console = 0;
	long lines = -1;
	char *end;

	optind = 1;
	while ((c = cli_getopt("logs", argc, argv, "fn:ch", longopts)) != -1) {
		switch (c) {
		case 'f': follow_on = 1; break;
		case 'c': console = 1; break;
		case 'n':
			lines = strtol(optarg, &end, 10);
			if (!*optarg || *end || lines < 0)
				return cli_usage_error("logs", "-n wants a number of lines, got '%s'", optarg);
			if (lines == 0)
				lines = -1; /* the reference's "0 = all" */
			break;
		case 'h':
			printf("Usage: boxlite logs [OPTIONS] BOX\n\n"
			       "Print the output of the box's main command (stdout and stderr, as they\n"
			       "came).\n\n"
			       "Options:\n"
			       "  -f, --follow      keep printing until the box stops\n"
			       "  -n, --tail N      only the last N lines (0: all)\n"
			       "      --console     the guest's serial console instead\n");
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("logs", "needs exactly one box");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (cli_get_box(rt, argv[optind], &box) < 0) {
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (boxlite_runtime_is_remote(rt)) {
		int rc = remote_logs(box, console, follow_on, lines);
		boxlite_box_free(box);
		boxlite_runtime_close(rt);
		return rc;
	}
	snprintf(path, sizeof(path), "%s/boxes/%s/%s", boxlite_runtime_home(rt), boxlite_box_id(box),
		 console ? "console.log" : "main.log");
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	if (!follow_on && access(path, F_OK) < 0 && access(rotated, F_OK) < 0)
		fprintf(stderr, "boxlite: box %s has no %s yet (it has not run; 'boxlite start %s')\n",
			boxlite_box_id(box), console ? "console log" : "output", argv[optind]);
	if (lines >= 0) {
		print_tail(console ? NULL : rotated, path, lines);
	} else {
		int fd = console ? -1 : open(rotated, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			copy_out(fd);
			close(fd);
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			copy_out(fd);
			close(fd);
		}
	}
	if (follow_on) {
		struct stat st;
		follow(box, path, stat(path, &st) == 0 ? st.st_size : 0);
	}
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return 0;
}
