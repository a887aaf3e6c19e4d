/* The native qcow2 overlay writer (src/lib/qcow2.c) checked by QEMU's own
 * tools: `qemu-img check` finds no error or leak, `qemu-img info` reads the
 * virtual size and the backing file back, for several sizes; and a write
 * through qemu-io lands in the overlay while reads still see the base. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "qcow2.h"
#include "test.h"

static char dir[] = "/tmp/boxlite-test-qcow2.XXXXXX";

static int sh(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;

	if (!f)
		return -1;
	if (out) {
		n = fread(out, 1, cap - 1, f);
		out[n] = '\0';
	} else {
		char sink[4096];
		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	return pclose(f);
}

static void check_image(const char *base, uint64_t size, uint64_t want_size)
{
	char img[512], cmd[2048], out[8192], want[128];
	struct bx_error err = { 0 };

	snprintf(img, sizeof(img), "%s/ov-%llu.qcow2", dir, (unsigned long long)size);
	CHECK(bx_qcow2_create_overlay(img, base, "raw", size, &err) == 0);
	if (err.code)
		fprintf(stderr, "create: %s\n", err.msg);
	snprintf(cmd, sizeof(cmd), "qemu-img check -f qcow2 '%s' 2>&1", img);
	CHECK(sh(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, "No errors were found on the image.") != NULL);
	CHECK(strstr(out, "leak") == NULL);
	if (!strstr(out, "No errors"))
		fprintf(stderr, "%s", out);
	snprintf(cmd, sizeof(cmd), "qemu-img info --output=json -f qcow2 '%s' 2>&1", img);
	CHECK(sh(cmd, out, sizeof(out)) == 0);
	snprintf(want, sizeof(want), "\"virtual-size\": %llu,", (unsigned long long)want_size);
	CHECK(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), "\"backing-filename\": \"%s\"", base);
	CHECK(strstr(out, want) != NULL);
	CHECK(strstr(out, "\"backing-filename-format\": \"raw\"") != NULL);
	CHECK(strstr(out, "\"compat\": \"1.1\"") != NULL); /* version 3 */
	CHECK(strstr(out, "\"cluster-size\": 65536") != NULL);
	if (!strstr(out, "virtual-size"))
		fprintf(stderr, "%s", out);
	/* O_EXCL: never overwrites. */
	bx_err_clear(&err);
	CHECK(bx_qcow2_create_overlay(img, base, "raw", size, &err) == -EEXIST);
}

int main(void)
{
	char base[512], img[512], cmd[2048], out[8192];
	struct bx_error err = { 0 };
	struct stat st;
	FILE *f;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* A raw base of 3 MiB + 512 bytes holding a pattern. */
	snprintf(base, sizeof(base), "%s/base.raw", dir);
	f = fopen(base, "w");
	CHECK(f != NULL);
	if (!f)
		return 1;
	for (int i = 0; i < 3 * 1024 * 1024 + 512; i++)
		fputc(i < 4096 ? 0xab : 0, f);
	fclose(f);

	CHECK(sh("qemu-img --version", NULL, 0) == 0); /* qemu-utils: a dependency */
	check_image(base, 3 * 1024 * 1024 + 512, 3 * 1024 * 1024 + 512);
	check_image(base, 1000, 1024);                          /* rounded up to 512 */
	check_image(base, 512ull << 20, 512ull << 20);          /* exactly one L2 table's reach */
	check_image(base, (512ull << 20) + 512, (512ull << 20) + 512); /* two L1 entries */
	check_image(base, 4ull << 30, 4ull << 30);
	check_image(base, 2ull << 40, 2ull << 40);               /* 2 TiB */
	check_image(base, 64ull << 40, 64ull << 40);             /* 64 TiB: an L1 table of 2 clusters */

	/* bx_disk_create_overlay: the base's size by default, never smaller. */
	snprintf(img, sizeof(img), "%s/disk.qcow2", dir);
	CHECK(bx_disk_create_overlay(base, img, 0, &err) == 0);
	snprintf(cmd, sizeof(cmd), "qemu-img info --output=json '%s' 2>&1", img);
	CHECK(sh(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, "\"virtual-size\": 3146240,") != NULL);
	CHECK(strstr(out, "\"format\": \"qcow2\"") != NULL);
	unlink(img);
	bx_err_clear(&err);
	CHECK(bx_disk_create_overlay(base, img, 1 << 20, &err) == -EINVAL);
	CHECK(strstr(err.msg, "smaller") != NULL);
	CHECK(stat(img, &st) < 0);
	CHECK(bx_disk_create_overlay(base, img, 1ull << 30, &err) == 0);

	/* Reads see the base; a write lands in the overlay, not the base. */
	snprintf(cmd, sizeof(cmd),
		 "qemu-io -f qcow2 -c 'read -P 0xab 0 4096' -c 'read -P 0 4096 4096' -c 'write -P 0x5c 8192 65536' "
		 "-c 'read -P 0x5c 8192 65536' '%s' 2>&1", img);
	CHECK(sh(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, "Pattern verification failed") == NULL);
	if (strstr(out, "failed"))
		fprintf(stderr, "%s", out);
	snprintf(cmd, sizeof(cmd), "qemu-img check -f qcow2 '%s' 2>&1", img);
	CHECK(sh(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, "No errors were found on the image.") != NULL);
	snprintf(cmd, sizeof(cmd), "qemu-io -f raw -c 'read -P 0 8192 65536' '%s' 2>&1", base);
	CHECK(sh(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, "Pattern verification failed") == NULL);

	/* Bad arguments. */
	bx_err_clear(&err);
	CHECK(bx_qcow2_create_overlay(img, "", "raw", 1 << 20, &err) == -ENAMETOOLONG);
	CHECK(bx_qcow2_create_overlay(img, base, "raw", 0, &err) == -EINVAL);
	CHECK(bx_qcow2_create_overlay(img, base, "raw", BX_QCOW2_MAX_SIZE + 1, &err) == -EINVAL);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	sh(cmd, NULL, 0);
	TEST_MAIN_END();
}
