/* libFuzzer target: the OCI JSON parsers (index.json, image index, manifest,
 * image config) and the digest parser, all fed the same untrusted bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct bx_oci_descriptor d;
	struct bx_oci_manifest m;
	struct bx_oci_config c;
	struct bx_error err = { 0 };
	char hex[BX_DIGEST_HEX_LEN + 1];
	char *str;

	if (size > BX_OCI_CONFIG_MAX)
		return 0;
	(void)bx_oci_kind_of(json, size);
	if (bx_oci_index_find_tag(json, size, "latest", &d, &err) == 0 && bx_digest_parse(d.digest, NULL, NULL) != 0)
		abort(); /* a returned descriptor always carries a valid digest */
	bx_err_clear(&err);
	if (bx_oci_index_find_platform(json, size, &d, &err) == 0 && d.size < 0)
		abort();
	bx_err_clear(&err);
	if (bx_oci_manifest_parse(json, size, &m, &err) == 0) {
		for (size_t i = 0; i < m.n_layers; i++)
			if (bx_digest_parse(m.layers[i].digest, NULL, NULL) != 0 || m.layers[i].size < 0)
				abort();
		bx_oci_manifest_free(&m);
	} else if (!err.msg[0]) {
		abort(); /* every failure explains itself */
	}
	bx_err_clear(&err);
	if (bx_oci_config_parse(json, size, &c, &err) == 0) {
		if (!c.env)
			abort();
		bx_oci_config_free(&c);
	}

	str = malloc(size + 1);
	if (!str)
		return 0;
	memcpy(str, data, size);
	str[size] = '\0';
	(void)bx_digest_parse(str, hex, NULL);
	free(str);
	return 0;
}
