/* boxlite pull: download an image from its registry, with per-layer progress. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_SHOWN 256

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite pull [OPTIONS] IMAGE\n\n"
		   "Download an image (e.g. alpine, 127.0.0.1:5000/test/busybox:1, name@sha256:...)\n"
		   "and build its root disk. Layers already stored are not downloaded again.\n\n"
		   "Options:\n"
		   "      --platform P  os/arch[/variant] to pick from a multi-platform image\n"
		   "                    (default linux/amd64 on this host)\n"
		   "  -q, --quiet       print only the image digest\n");
}

struct layer_view {
	char digest[20];
	uint64_t done, total;
	double start;
	const char *state;
};

struct progress {
	int tty, quiet;
	uint32_t n_layers;
	int drawn; /* lines drawn last time (tty) */
	double last_draw;
	struct layer_view layers[MAX_SHOWN];
	char digest[80];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(uint64_t b, char *out, size_t size)
{
	if (b >= 1000000)
		snprintf(out, size, "%.1f MB", (double)b / 1e6);
	else if (b >= 1000)
		snprintf(out, size, "%.1f kB", (double)b / 1e3);
	else
		snprintf(out, size, "%" PRIu64 " B", b);
}

static void draw(struct progress *p, int force)
{
	double t = now_s();
	uint32_t n = p->n_layers < MAX_SHOWN ? p->n_layers : MAX_SHOWN;

	if (!force && t - p->last_draw < 0.1)
		return;
	p->last_draw = t;
	if (p->drawn)
		printf("\033[%dA", p->drawn);
	for (uint32_t i = 0; i < n; i++) {
		struct layer_view *l = &p->layers[i];
		char done[32], total[32], rate[32] = "";
		human(l->done, done, sizeof(done));
		human(l->total, total, sizeof(total));
		if (l->start > 0 && !strcmp(l->state, "Downloading") && t > l->start) {
			human((uint64_t)((double)l->done / (t - l->start)), rate, sizeof(rate));
			strcat(rate, "/s");
		}
		printf("\033[2K%s: %-16s %10s / %-10s %s\n", l->digest[0] ? l->digest : "(layer)", l->state, done, total,
		       rate);
	}
	p->drawn = (int)n;
	fflush(stdout);
}

static void on_event(void *ud, const boxlite_pull_event *ev)
{
	struct progress *p = ud;
	struct layer_view *l = ev->layer < MAX_SHOWN ? &p->layers[ev->layer] : NULL;
	char size[32];

	if (ev->stage == BOXLITE_PULL_RESOLVED) {
		p->n_layers = ev->n_layers;
		snprintf(p->digest, sizeof(p->digest), "%s", ev->digest);
		for (uint32_t i = 0; i < ev->n_layers && i < MAX_SHOWN; i++)
			p->layers[i].state = "Waiting";
		if (!p->quiet)
			printf("%s: resolved to %s (%u layers)\n", ev->ref, ev->digest, ev->n_layers);
		return;
	}
	if (l && ev->digest && !l->digest[0])
		snprintf(l->digest, sizeof(l->digest), "%.12s", ev->digest + 7);
	switch (ev->stage) {
	case BOXLITE_PULL_LAYER_CACHED:
	case BOXLITE_PULL_LAYER_DONE:
		human(ev->total, size, sizeof(size));
		if (l) {
			l->done = ev->done;
			l->total = ev->total;
			l->state = ev->stage == BOXLITE_PULL_LAYER_CACHED ? "Already exists" : "Pull complete";
		}
		if (p->quiet)
			break;
		if (p->tty) {
			draw(p, 1);
		} else if (ev->stage == BOXLITE_PULL_LAYER_CACHED) {
			printf("%.12s: already exists (%s)\n", ev->digest + 7, size);
		} else {
			double dt = l && l->start > 0 ? now_s() - l->start : 0;
			char rate[32] = "?";
			if (dt > 0)
				human((uint64_t)((double)ev->total / dt), rate, sizeof(rate));
			printf("%.12s: downloaded %s in %.2f s (%s/s)\n", ev->digest + 7, size, dt, rate);
		}
		break;
	case BOXLITE_PULL_LAYER_PROGRESS:
		if (!l)
			break;
		if (l->start == 0)
			l->start = now_s();
		l->done = ev->done;
		l->total = ev->total;
		l->state = "Downloading";
		if (p->tty && !p->quiet)
			draw(p, 0);
		break;
	case BOXLITE_PULL_UNPACKING:
		if (!p->quiet)
			printf("building the root disk\n");
		break;
	case BOXLITE_PULL_DONE:
		if (!p->quiet)
			printf("Digest: %s\nStored: %s\n", ev->digest, ev->ref);
		break;
	default:
		break;
	}
	fflush(stdout);
}

int cmd_pull(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	boxlite_pull_options opts = { .struct_size = sizeof(opts) };
	struct progress *p = calloc(1, sizeof(*p));
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	int c, rc;

	if (!p)
		return CLI_EXIT_RUNTIME;
	optind = 1;
	while ((c = cli_getopt("pull", argc, argv, "+qh", longopts)) != -1) {
		switch (c) {
		case 'p':
			opts.platform = optarg;
			break;
		case 'q':
			p->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			free(p);
			return 0;
		default:
			free(p);
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind != argc - 1) {
		free(p);
		return cli_usage_error("pull", "needs exactly one image");
	}
	p->tty = isatty(STDOUT_FILENO);
	opts.progress = on_event;
	opts.user_data = p;
	if (cli_open_runtime(g, &rt) < 0) {
		free(p);
		return CLI_EXIT_RUNTIME;
	}
	rc = boxlite_image_pull(rt, argv[optind], &opts, &err);
	if (rc < 0)
		cli_report(err);
	else if (p->quiet)
		printf("%s\n", p->digest);
	boxlite_runtime_close(rt);
	free(p);
	return rc < 0 ? CLI_EXIT_RUNTIME : 0;
}
