/* Unit tests for capability names and sets (src/lib/caps.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "test.h"

#define BIT(n) (UINT64_C(1) << (n))

static uint64_t compute(const char *add, const char *drop, int *rc)
{
	char a[256], d[256], *av[16] = { 0 }, *dv[16] = { 0 }, *save;
	int n = 0;
	uint64_t m = 0;

	snprintf(a, sizeof(a), "%s", add);
	snprintf(d, sizeof(d), "%s", drop);
	for (char *t = strtok_r(a, " ", &save); t && n < 15; t = strtok_r(NULL, " ", &save))
		av[n++] = t;
	n = 0;
	for (char *t = strtok_r(d, " ", &save); t && n < 15; t = strtok_r(NULL, " ", &save))
		dv[n++] = t;
	*rc = bx_caps_compute(av, dv, &m, NULL);
	return m;
}

int main(void)
{
	uint64_t m;
	json_t *j;
	int rc;

	CHECK(bx_cap_parse("chown") == 0 && bx_cap_parse("CAP_SYS_ADMIN") == 21 && bx_cap_parse("cap_bpf") == 39);
	CHECK(bx_cap_parse("all") == -2 && bx_cap_parse("CAP_ALL") == -2 && bx_cap_parse("NOPE") == -1);
	/* docker's default, as /proc/<pid>/status shows it in a container */
	CHECK(bx_caps_default() == UINT64_C(0xa80425fb));
	CHECK(compute("", "", &rc) == UINT64_C(0xa80425fb) && rc == 0);
	CHECK(compute("SYS_ADMIN", "NET_RAW", &rc) == (UINT64_C(0xa80425fb) | BIT(21)) - BIT(13));
	CHECK(compute("NET_BIND_SERVICE", "ALL", &rc) == BIT(10));
	CHECK(compute("ALL", "", &rc) == BX_CAPS_ALL);
	CHECK(compute("ALL", "SYS_ADMIN", &rc) == BX_CAPS_ALL - BIT(21));
	CHECK(compute("KILL", "KILL", &rc) & BIT(5)); /* an add wins over a drop of the same */
	compute("MAGIC", "", &rc);
	CHECK(rc == -EINVAL);
	compute("", "cap_nothing", &rc);
	CHECK(rc == -EINVAL);

	j = bx_caps_to_json(BIT(0) | BIT(10) | BIT(40));
	CHECK(json_array_size(j) == 3 && !strcmp(json_string_value(json_array_get(j, 2)), "CHECKPOINT_RESTORE"));
	CHECK(bx_caps_from_json(j, &m) == 0 && m == (BIT(0) | BIT(10) | BIT(40)));
	json_decref(j);
	j = json_pack("[s, i]", "CHOWN", 3);
	CHECK(bx_caps_from_json(j, &m) == -EINVAL);
	json_decref(j);
	CHECK(bx_caps_from_json(NULL, &m) == -EINVAL);
	TEST_MAIN_END();
}
