/* Unit test of the agent's ext4 superblock reader (src/guest/ext4sb.c), on
 * filesystems made by mke2fs (4 KiB and 1 KiB blocks, 64bit or not) and on
 * bytes that are not a superblock. */
#include "ext4sb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static char dir[] = "/tmp/boxlite-test-ext4sb.XXXXXX";

/* mke2fs OPTS on a SIZE_MIB file; parses its superblock. */
static int mkfs_parse(const char *opts, unsigned size_mib, uint64_t *blocks, uint32_t *bsize)
{
	char img[256], cmd[512];
	uint8_t sb[EXT4SB_SIZE];
	int fd, rc;

	snprintf(img, sizeof(img), "%s/fs.img", dir);
	unlink(img);
	snprintf(cmd, sizeof(cmd), "truncate -s %uM '%s' && mke2fs -q -F -t ext4 %s '%s' >/dev/null 2>&1", size_mib,
		 img, opts, img);
	if (system(cmd) != 0)
		return -EIO;
	fd = open(img, O_RDONLY);
	if (fd < 0)
		return -errno;
	rc = pread(fd, sb, sizeof(sb), EXT4SB_OFFSET) == (ssize_t)sizeof(sb) ? 0 : -EIO;
	close(fd);
	return rc ? rc : ext4sb_parse(sb, sizeof(sb), blocks, bsize);
}

int main(void)
{
	uint8_t sb[EXT4SB_SIZE];
	uint64_t blocks = 0;
	uint32_t bsize = 0;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK(mkfs_parse("-b 4096", 64, &blocks, &bsize) == 0);
	CHECK(bsize == 4096 && blocks * bsize == 64ull << 20);
	CHECK(mkfs_parse("-b 4096 -O ^64bit", 48, &blocks, &bsize) == 0);
	CHECK(bsize == 4096 && blocks * bsize == 48ull << 20);
	CHECK(mkfs_parse("-b 1024", 20, &blocks, &bsize) == 0);
	CHECK(bsize == 1024 && blocks * bsize == 20ull << 20);

	/* Not a superblock, or an implausible one. */
	memset(sb, 0, sizeof(sb));
	CHECK(ext4sb_parse(sb, sizeof(sb), &blocks, &bsize) == -EINVAL);
	sb[0x38] = 0x53;
	sb[0x39] = 0xef;
	CHECK(ext4sb_parse(sb, sizeof(sb), &blocks, &bsize) == -EINVAL); /* zero blocks */
	sb[0x04] = 10;
	CHECK(ext4sb_parse(sb, sizeof(sb), &blocks, &bsize) == 0 && blocks == 10 && bsize == 1024);
	sb[0x18] = 7; /* 128 KiB blocks */
	CHECK(ext4sb_parse(sb, sizeof(sb), &blocks, &bsize) == -EINVAL);
	sb[0x18] = 2;
	sb[0x60] = 0x80; /* 64bit: the high word counts */
	sb[0x150] = 1;
	CHECK(ext4sb_parse(sb, sizeof(sb), &blocks, &bsize) == 0 && blocks == (1ull << 32 | 10) && bsize == 4096);
	CHECK(ext4sb_parse(sb, sizeof(sb) - 1, &blocks, &bsize) == -EINVAL);

	snprintf((char *)sb, sizeof(sb), "rm -rf '%s'", dir);
	CHECK(system((char *)sb) == 0);
	TEST_MAIN_END();
}
