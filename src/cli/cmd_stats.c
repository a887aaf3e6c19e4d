/* boxlite stats [--no-stream] [BOX...]: host-side CPU % and memory (RSS) of
 * each box's shim and QEMU, from /proc, sampled over one second. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct sample {
	char id[13];
	char name[65];
	int shim, qemu;
	unsigned long long ticks; /* utime + stime of both */
	unsigned long long rss;   /* bytes */
};

static void proc_usage(int pid, unsigned long long *ticks, unsigned long long *rss)
{
	char path[64], buf[1024];
	unsigned long long ut, st, pages;
	const char *p;
	FILE *f;

	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
			/* Fields after comm start at 3 (state); utime is 14, stime 15. */
			for (int field = 2; p && field < 14; field++)
				p = strchr(p + 1, ' ');
			if (p && sscanf(p + 1, "%llu %llu", &ut, &st) == 2)
				*ticks += ut + st;
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if ((f = fopen(path, "re"))) {
		if (fscanf(f, "%*u %llu", &pages) == 1)
			*rss += pages * (unsigned long long)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
}

/* Running boxes among names (all running boxes when none given). */
static size_t collect(boxlite_runtime *rt, int n_names, char **names, struct sample *out, size_t cap)
{
	boxlite_box_info *v = NULL;
	size_t n = 0, len = 0;

	if (boxlite_runtime_list_boxes(rt, &v, &n, NULL) < 0)
		return 0;
	for (size_t i = 0; i < n && len < cap; i++) {
		int want = n_names == 0;
		for (int k = 0; k < n_names && !want; k++)
			want = !strcmp(names[k], v[i].id) || !strcmp(names[k], v[i].name) ||
			       !strncmp(names[k], v[i].id, strlen(names[k]));
		if (!want || v[i].shim_pid <= 0)
			continue;
		struct sample *s = &out[len++];
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", v[i].id);
		snprintf(s->name, sizeof(s->name), "%s", v[i].name[0] ? v[i].name : "-");
		s->shim = v[i].shim_pid;
		s->qemu = v[i].qemu_pid;
	}
	boxlite_box_info_list_free(v, n);
	return len;
}

int cmd_stats(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-stream", no_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	boxlite_runtime *rt = NULL;
	struct sample *a, *b;
	int c, no_stream = 0;
	long hz = sysconf(_SC_CLK_TCK);

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 's')
			no_stream = 1;
		else if (c == 'h') {
			printf("Usage: boxlite stats [--no-stream] [BOX...]\n\n"
			       "Host-side CPU %% and memory (RSS) of each running box's shim + QEMU,\n"
			       "every second (--no-stream: once).\n");
			return 0;
		} else
			return CLI_EXIT_RUNTIME;
	}
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	a = calloc(1024, sizeof(*a));
	b = calloc(1024, sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	do {
		size_t n = collect(rt, argc - optind, argv + optind, a, 1024);
		for (size_t i = 0; i < n; i++) {
			proc_usage(a[i].shim, &a[i].ticks, &a[i].rss);
			proc_usage(a[i].qemu, &a[i].ticks, &a[i].rss);
		}
		sleep(1);
		memcpy(b, a, n * sizeof(*a));
		printf("%-12s  %-16s  %7s  %10s  %8s  %8s\n", "BOX ID", "NAME", "CPU %", "MEM (MiB)", "SHIM", "QEMU");
		for (size_t i = 0; i < n; i++) {
			b[i].ticks = b[i].rss = 0;
			proc_usage(b[i].shim, &b[i].ticks, &b[i].rss);
			proc_usage(b[i].qemu, &b[i].ticks, &b[i].rss);
			printf("%-12s  %-16s  %7.1f  %10.1f  %8d  %8d\n", b[i].id, b[i].name,
			       b[i].ticks >= a[i].ticks ? (double)(b[i].ticks - a[i].ticks) * 100.0 / (double)hz : 0.0,
			       (double)b[i].rss / (1024.0 * 1024.0), b[i].shim, b[i].qemu);
		}
		fflush(stdout);
	} while (!no_stream);
	free(a);
	free(b);
	boxlite_runtime_close(rt);
	return 0;
}
