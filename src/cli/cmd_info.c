#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(const struct cli_globals *g, int argc, char **argv)
{
	boxlite_runtime_info info = { .struct_size = sizeof(info) };
	boxlite_runtime *rt;
	boxlite_error *err = NULL;

	int i = cli_simple_args("info", argc, argv,
				"Usage: boxlite info\n\nShow the runtime: version, accelerator and why, engine, "
				"kernel, home, warm start.\n");

	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (i < argc)
		return cli_usage_error("info", "takes no arguments, got '%s'", argv[i]);
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_runtime_info_get(rt, &info, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	printf("Version:      %s\n", info.version);
	printf("Accelerator:  %s\n", info.accel);
	printf("  why:        %s\n", info.accel_reason);
	printf("Engine:       qemu microvm %s%s(%s)\n", info.engine_version, info.engine_version[0] ? " " : "",
	       info.qemu);
	printf("Kernel:       %s\n", info.kernel);
	printf("Initramfs:    %s\n", info.initramfs);
	printf("Shim:         %s\n", info.shim);
	printf("Home:         %s\n", info.home);
	printf("Warm start:   %s, %u template%s (%.1f MiB) in %s/templates\n",
	       info.warm_start ? "on" : "off (BOXLITE_WARM_START=0)", info.templates,
	       info.templates == 1 ? "" : "s", (double)info.template_bytes / 1048576.0, info.home);
	printf("  memory:     %s\n", info.template_memory_shared
					 ? "clones share their template's RAM (copy-on-write)"
					 : "each clone loads its own copy of its template's RAM (QEMU < 8.2)");
	boxlite_runtime_close(rt);
	return 0;
}
