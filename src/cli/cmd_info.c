/* boxlite info: the runtime, as text (default) or, with --format json|yaml,
 * as the reference CLI's record (version, homeDir, virtualization, os,
 * arch, box and image counts) followed by boxlite's own fields. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"
#include "format.h"

static void print_text(const boxlite_runtime_info *info)
{
	printf("Version:      %s\n", info->version);
	printf("Accelerator:  %s\n", info->accel);
	printf("  why:        %s\n", info->accel_reason);
	printf("Engine:       qemu microvm %s%s(%s)\n", info->engine_version, info->engine_version[0] ? " " : "",
	       info->qemu);
	printf("Kernel:       %s\n", info->kernel);
	printf("Initramfs:    %s\n", info->initramfs);
	printf("Shim:         %s\n", info->shim);
	printf("Home:         %s\n", info->home);
	printf("Warm start:   %s, %u template%s (%.1f MiB) in %s/templates\n",
	       info->warm_start ? "on" : "off (BOXLITE_WARM_START=0)", info->templates,
	       info->templates == 1 ? "" : "s", (double)info->template_bytes / 1048576.0, info->home);
	printf("  memory:     %s\n", info->template_memory_shared
					 ? "clones share their template's RAM (copy-on-write)"
					 : "each clone loads its own copy of its template's RAM (QEMU < 8.2)");
}

/* The reference's fields, then ours. */
static json_t *info_json(boxlite_runtime *rt, const boxlite_runtime_info *info)
{
	boxlite_box_info *boxes = NULL;
	boxlite_image_info *images = NULL;
	size_t n_boxes = 0, n_images = 0;
	unsigned running = 0, stopped = 0, configured = 0;
	struct utsname u;
	json_t *o;

	boxlite_runtime_list_boxes(rt, &boxes, &n_boxes, NULL);
	boxlite_image_list(rt, &images, &n_images, NULL);
	for (size_t i = 0; i < n_boxes; i++) {
		running += boxes[i].state == BOXLITE_BOX_RUNNING || boxes[i].state == BOXLITE_BOX_PAUSED;
		stopped += boxes[i].state == BOXLITE_BOX_STOPPED || boxes[i].state == BOXLITE_BOX_FAILED;
		configured += boxes[i].state == BOXLITE_BOX_CONFIGURED;
	}
	boxlite_box_info_list_free(boxes, n_boxes);
	boxlite_image_list_free(images, n_images);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "version", info->version, "homeDir",
		      /* Boxes always run: with KVM, or under TCG when KVM cannot
		       * boot them ("accelerator" says which). */
		      info->home, "virtualization", "available", "os", "linux", "arch",
		      !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64" : u.machine,
		      "boxesTotal", (int)n_boxes, "boxesRunning", (int)running, "boxesStopped", (int)stopped,
		      "boxesConfigured", (int)configured, "imagesCount", (int)n_images);
	if (o)
		json_object_update_new(
			o, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:I, s:b}", "accelerator",
				     info->accel, "acceleratorReason", info->accel_reason, "engine", info->qemu,
				     "engineVersion", info->engine_version, "kernel", info->kernel, "initramfs",
				     info->initramfs, "shim", info->shim, "warmStart", info->warm_start, "templates",
				     (int)info->templates, "templateBytes", (json_int_t)info->template_bytes,
				     "templateMemoryShared", info->template_memory_shared));
	return o;
}

int cmd_info(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = { { "format", required_argument, NULL, 'f' },
						  { "help", no_argument, NULL, 'h' },
						  { 0 } };
	boxlite_runtime_info info = { .struct_size = sizeof(info) };
	enum cli_format fmt = CLI_FORMAT_TABLE;
	boxlite_runtime *rt;
	boxlite_error *err = NULL;
	int c, structured = 0;

	optind = 1;
	while ((c = cli_getopt("info", argc, argv, "h", longopts)) != -1) {
		if (c == 'f') {
			if (cli_format_parse(optarg, &fmt) < 0 || fmt == CLI_FORMAT_TABLE)
				return cli_usage_error("info", "--format wants yaml or json, got '%s'", optarg);
			structured = 1;
		} else if (c == 'h') {
			printf("Usage: boxlite info [OPTIONS]\n\n"
			       "Show the runtime: version, accelerator and why, engine, kernel, home, warm\n"
			       "start.\n\n"
			       "Options:\n"
			       "      --format FMT  yaml or json: the reference CLI's record (version, homeDir,\n"
			       "                    virtualization, os, arch, box and image counts) and ours\n");
			return 0;
		} else {
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind < argc)
		return cli_usage_error("info", "takes no arguments, got '%s'", argv[optind]);
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_runtime_info_get(rt, &info, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (!structured) {
		print_text(&info);
	} else {
		json_t *o = info_json(rt, &info);

		if (fmt == CLI_FORMAT_YAML)
			cli_print_yaml(stdout, o);
		else
			cli_print_json(stdout, o);
		json_decref(o);
	}
	boxlite_runtime_close(rt);
	return 0;
}
