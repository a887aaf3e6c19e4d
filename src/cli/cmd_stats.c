/* boxlite stats [-s] [--format F] [BOX...]: per running box, host CPU % and
 * memory of its shim + QEMU, guest memory used/total and the boot time,
 * from boxlite_box_stats_get. CPU % is the growth of host CPU time between
 * two samples over the wall time between them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "format.h"

struct sample {
	char id[13];
	char name[65];
	int ok;          /* stats read */
	uint64_t at;     /* CLOCK_MONOTONIC ns of the reading */
	boxlite_box_stats st;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int wanted(const boxlite_box_info *b, int n_names, char **names)
{
	if (b->state != BOXLITE_BOX_RUNNING && b->state != BOXLITE_BOX_PAUSED)
		return 0;
	if (n_names == 0)
		return 1;
	for (int k = 0; k < n_names; k++)
		if (!strcmp(names[k], b->id) || !strcmp(names[k], b->name) ||
		    !strncmp(names[k], b->id, strlen(names[k])))
			return 1;
	return 0;
}

/* Reads the running boxes among names (all when none given) into a
 * malloc'd array; *n is its length. NULL on failure (reported). */
static struct sample *collect(boxlite_runtime *rt, int n_names, char **names, size_t *n)
{
	boxlite_box_info *v = NULL;
	boxlite_error *err = NULL;
	struct sample *out;
	size_t count = 0;

	*n = 0;
	if (boxlite_runtime_list_boxes(rt, &v, &count, &err) < 0) {
		cli_report(err);
		return NULL;
	}
	if (!(out = calloc(count ? count : 1, sizeof(*out)))) {
		boxlite_box_info_list_free(v, count);
		fprintf(stderr, "boxlite: out of memory\n");
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		struct sample *s = &out[*n];
		boxlite_box *box = NULL;

		if (!wanted(&v[i], n_names, names))
			continue;
		snprintf(s->id, sizeof(s->id), "%s", v[i].id);
		snprintf(s->name, sizeof(s->name), "%s", v[i].name[0] ? v[i].name : "-");
		s->st.struct_size = sizeof(s->st);
		if (boxlite_box_get(rt, v[i].id, &box, NULL) == 0 &&
		    boxlite_box_stats_get(box, &s->st, NULL) == 0) {
			s->ok = 1;
			s->at = mono_ns();
		}
		boxlite_box_free(box);
		if (s->ok) /* a box that stopped meanwhile is left out */
			(*n)++;
	}
	boxlite_box_info_list_free(v, count);
	return out;
}

static const struct sample *find(const struct sample *v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].id, id))
			return &v[i];
	return NULL;
}

static void print(const struct sample *prev, size_t n_prev, const struct sample *cur, size_t n,
		  enum cli_format fmt)
{
	json_t *rows = fmt == CLI_FORMAT_TABLE ? NULL : json_array();

	if (fmt == CLI_FORMAT_TABLE)
		printf("%-12s  %-16s  %7s  %15s  %16s  %9s\n", "BOX ID", "NAME", "CPU %", "HOST MEM (MiB)",
		       "GUEST MEM (MiB)", "BOOT (ms)");
	for (size_t i = 0; i < n; i++) {
		const struct sample *c = &cur[i], *p = find(prev, n_prev, c->id);
		const boxlite_box_stats *st = &c->st;
		const boxlite_timings *t = &st->timings;
		uint64_t start = t->spawn ? t->spawn : t->shim_start;
		char cpu[16] = "-", guest[32] = "-", boot[24] = "-";

		if (p && c->at > p->at && st->host_cpu_ns >= p->st.host_cpu_ns)
			snprintf(cpu, sizeof(cpu), "%.1f",
				 (double)(st->host_cpu_ns - p->st.host_cpu_ns) * 100.0 / (double)(c->at - p->at));
		if (st->guest_mem_total_bytes) {
			uint64_t used = st->guest_mem_total_bytes > st->guest_mem_available_bytes
						? st->guest_mem_total_bytes - st->guest_mem_available_bytes : 0;
			snprintf(guest, sizeof(guest), "%.1f/%.1f", (double)used / 1048576.0,
				 (double)st->guest_mem_total_bytes / 1048576.0);
		}
		if (start && t->ready >= start)
			snprintf(boot, sizeof(boot), "%llu", (unsigned long long)((t->ready - start) / 1000000));
		if (rows) {
			json_array_append_new(
				rows, json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:o}", "id", c->id, "name", c->name,
						"cpu_percent", cpu[0] == '-' ? json_null() : json_real(atof(cpu)),
						"host_rss_bytes", (json_int_t)st->host_rss_bytes,
						"guest_mem_used_bytes",
						(json_int_t)(st->guest_mem_total_bytes > st->guest_mem_available_bytes
								     ? st->guest_mem_total_bytes - st->guest_mem_available_bytes
								     : 0),
						"guest_mem_total_bytes", (json_int_t)st->guest_mem_total_bytes, "boot_ms",
						boot[0] == '-' ? json_null() : json_integer(atoll(boot))));
			continue;
		}
		printf("%-12s  %-16s  %7s  %15.1f  %16s  %9s\n", c->id, c->name, cpu,
		       (double)st->host_rss_bytes / 1048576.0, guest, boot);
	}
	if (fmt == CLI_FORMAT_JSON)
		cli_print_json(stdout, rows);
	else if (fmt == CLI_FORMAT_YAML)
		cli_print_yaml(stdout, rows);
	json_decref(rows);
	fflush(stdout);
}

/* Every named box must exist and run: say which does not, and why. */
static int check_named(boxlite_runtime *rt, int n_names, char **names)
{
	int bad = 0;

	for (int k = 0; k < n_names; k++) {
		boxlite_box_info info = { .struct_size = sizeof(info) };
		boxlite_error *err = NULL;
		boxlite_box *box = NULL;

		if (cli_get_box(rt, names[k], &box) < 0) {
			bad = 1;
			continue;
		}
		if (boxlite_box_info_get(box, &info, &err) < 0) {
			cli_report(err);
			bad = 1;
		} else if (info.state != BOXLITE_BOX_RUNNING && info.state != BOXLITE_BOX_PAUSED) {
			fprintf(stderr, "boxlite: box %s is %s: stats are for running boxes\n", info.id,
				boxlite_box_state_name(info.state));
			bad = 1;
		}
		boxlite_box_free(box);
	}
	return bad ? -1 : 0;
}

int cmd_stats(const struct cli_globals *g, int argc, char **argv)
{
	enum { OPT_NO_STREAM = 256, OPT_FORMAT };
	static const struct option longopts[] = { { "stream", no_argument, NULL, 's' },
						  { "no-stream", no_argument, NULL, OPT_NO_STREAM },
						  { "format", required_argument, NULL, OPT_FORMAT },
						  { "help", no_argument, NULL, 'h' },
						  { 0 } };
	enum cli_format fmt = CLI_FORMAT_TABLE;
	boxlite_runtime *rt = NULL;
	struct sample *prev = NULL, *cur;
	size_t n_prev = 0, n;
	int c, no_stream = 1, rc = 0;

	optind = 1;
	while ((c = cli_getopt("stats", argc, argv, "sh", longopts)) != -1) {
		if (c == 's') {
			no_stream = 0;
		} else if (c == OPT_NO_STREAM) {
			no_stream = 1;
		} else if (c == OPT_FORMAT) {
			if (cli_format_parse(optarg, &fmt) < 0)
				return cli_usage_error("stats", "--format wants table, json or yaml, got '%s'", optarg);
		} else if (c == 'h') {
			printf("Usage: boxlite stats [OPTIONS] [BOX...]\n\n"
			       "Per running box: CPU %% and memory (RSS) of its shim + QEMU on the host,\n"
			       "guest memory used/total (MemTotal - MemAvailable, MemTotal), and the boot\n"
			       "time (spawn, or shim start, to ready). Once, CPU %% sampled over half a\n"
			       "second.\n\n"
			       "Options:\n"
			       "  -s, --stream       refresh every second until interrupted\n"
			       "      --no-stream    once (the default; docker's spelling)\n"
			       "      --format FMT   table (default), json or yaml\n");
			return 0;
		} else {
			return CLI_EXIT_RUNTIME;
		}
	}
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (check_named(rt, argc - optind, argv + optind) < 0) {
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (!(prev = collect(rt, argc - optind, argv + optind, &n_prev))) {
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	for (;;) {
		usleep(no_stream ? 500000 : 1000000);
		if (!(cur = collect(rt, argc - optind, argv + optind, &n))) {
			rc = CLI_EXIT_RUNTIME;
			break;
		}
		print(prev, n_prev, cur, n, fmt);
		free(prev);
		prev = cur;
		n_prev = n;
		if (no_stream)
			break;
	}
	free(prev);
	boxlite_runtime_close(rt);
	return rc;
}
