/* libFuzzer target: the shim's configuration JSON (shim_config.h), including
 * the optional "main" object. Invariants: a refusal always says why; an
 * accepted config serializes and parses back to the same main command. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bx_shim_config cfg, back;
	struct bx_error err = { 0 };
	char *json = NULL;

	if (bx_shim_config_parse((const char *)data, size, &cfg, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (bx_shim_config_to_json(&cfg, &json, &err) != 0)
		abort();
	if (bx_shim_config_parse(json, strlen(json), &back, &err) != 0)
		abort();
	for (size_t i = 0; cfg.main_argv && cfg.main_argv[i]; i++)
		if (!back.main_argv || !back.main_argv[i] || strcmp(cfg.main_argv[i], back.main_argv[i]))
			abort();
	if (back.main_hold != cfg.main_hold || back.n_env != cfg.n_env)
		abort();
	free(json);
	bx_shim_config_free(&cfg);
	bx_shim_config_free(&back);
	return 0;
}
