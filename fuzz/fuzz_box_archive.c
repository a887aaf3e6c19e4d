/* libFuzzer target: the .boxlite archive reader (box_archive.c) as import
 * runs it on untrusted bytes: zstd or plain tar through libarchive, the
 * member checks, the manifest parser, the disk's sha256 and qcow2 header
 * checks. The disk lands in one scratch directory, emptied after each run;
 * the manifest parser also gets the raw bytes. */
#include <archive.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int dirfd = -1;
	struct bx_archive_manifest m;
	struct bx_error err = { 0 };
	struct archive *a;

	if (dirfd < 0) {
		char tmpl[] = "/tmp/fuzz_box_archive.XXXXXX";
		if (!mkdtemp(tmpl) || (dirfd = open(tmpl, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
	}
	if (bx_archive_manifest_parse((const char *)data, size, &m, &err) == 0) {
		if (!m.image || m.version < 1 || m.version > BX_ARCHIVE_VERSION)
			abort(); /* a parsed manifest always has these */
		bx_archive_manifest_free(&m);
	}
	bx_err_clear(&err);
	if (!(a = bx_archive_reader_new()))
		abort();
	if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
		if (bx_archive_read(a, dirfd, &m, &err) == 0) {
			if (faccessat(dirfd, BX_ARCHIVE_DISK, F_OK, 0) < 0 || !m.image)
				abort(); /* success means a disk and a manifest */
			bx_archive_manifest_free(&m);
		} else if (faccessat(dirfd, BX_ARCHIVE_DISK, F_OK, 0) == 0) {
			abort(); /* failure leaves nothing */
		}
	}
	archive_read_free(a);
	unlinkat(dirfd, BX_ARCHIVE_DISK, 0);
	return 0;
}
