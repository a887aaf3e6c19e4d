/* boxlite snapshot create|ls|rm|restore: disk snapshots of a box
 * (docs/snapshots.md). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"Usage: boxlite snapshot COMMAND\n"
	"\n"
	"Disk snapshots of a stopped box: the disk as it was, kept by name.\n"
	"\n"
	"Commands:\n"
	"  create BOX NAME    take a snapshot of BOX's disk\n"
	"  ls BOX             list BOX's snapshots, newest first\n"
	"  restore BOX NAME   put BOX's disk back as it was at NAME (later writes are lost)\n"
	"  rm BOX NAME        remove a snapshot (the disk and other snapshots keep their content)\n";

static void human(uint64_t b, char *out, size_t n)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static int list(boxlite_box *box)
{
	boxlite_snapshot_info *v = NULL;
	boxlite_error *err = NULL;
	size_t n = 0;

	if (boxlite_box_snapshot_list(box, &v, &n, &err) < 0) {
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	printf("%-10s %-24s %-24s %-10s %s\n", "ID", "NAME", "CREATED", "SIZE", "DISK");
	for (size_t i = 0; i < n; i++) {
		char when[32] = "", size[32], disk[32];
		time_t t = (time_t)v[i].created_at;
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		human(v[i].size_bytes, size, sizeof(size));
		human(v[i].container_disk_bytes, disk, sizeof(disk));
		printf("%-10s %-24s %-24s %-10s %s\n", v[i].id, v[i].name, when, size, disk);
	}
	boxlite_snapshot_info_list_free(v, n);
	return 0;
}

int cmd_snapshot(const struct cli_globals *g, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	int want, rc = 0;

	if (!sub || !strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		fputs(usage, sub ? stdout : stderr);
		return sub ? 0 : CLI_EXIT_RUNTIME;
	}
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		want = 1;
	else if (!strcmp(sub, "create") || !strcmp(sub, "rm") || !strcmp(sub, "remove") || !strcmp(sub, "restore"))
		want = 2;
	else
		return cli_usage_error("snapshot", "unknown command '%s' (create, ls, restore, rm)", sub);
	if (argc - 2 != want)
		return cli_usage_error("snapshot", "%s takes %s", sub, want == 1 ? "BOX" : "BOX NAME");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (cli_get_box(rt, argv[2], &box) < 0) {
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (want == 1) {
		rc = list(box);
	} else {
		int r = !strcmp(sub, "create")    ? boxlite_box_snapshot_create(box, argv[3], &err)
			: !strcmp(sub, "restore") ? boxlite_box_snapshot_restore(box, argv[3], &err)
						  : boxlite_box_snapshot_remove(box, argv[3], &err);
		if (r < 0) {
			cli_report(err);
			rc = CLI_EXIT_RUNTIME;
		} else
			puts(argv[3]);
	}
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return rc;
}
