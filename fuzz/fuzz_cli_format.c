/* libFuzzer target: the CLI's output formats (src/cli/format.c). The first
 * line is a Go template rendered over a fixed inspect-like record; the rest,
 * when it parses as JSON, is printed as YAML and JSON and is also a context
 * for the template. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char record[] =
		"{\"Id\":\"abc\",\"Name\":\"n\",\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":1,"
		"\"ExitCode\":0},\"Memory\":536870912,\"env\":[\"A=***\"],\"x\":null,\"r\":1.5}";
	char *buf = malloc(size + 1), *nl, *out = NULL, err[256];
	json_t *ctx = json_loads(record, 0, NULL), *extra = NULL;
	FILE *sink = fopen("/dev/null", "w");

	if (!buf || !ctx || !sink)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl++ = '\0';
	if (cli_template_render(buf, ctx, &out, err, sizeof(err)) == 0)
		free(out);
	if (nl && (extra = json_loads(nl, JSON_DECODE_ANY, NULL))) {
		cli_print_yaml(sink, extra);
		cli_print_json(sink, extra);
		if (cli_template_render(buf, extra, &out, err, sizeof(err)) == 0)
			free(out);
	}
	cli_is_template(buf);
out:
	json_decref(extra);
	json_decref(ctx);
	if (sink)
		fclose(sink);
	free(buf);
	return 0;
}
