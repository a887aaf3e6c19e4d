/* ext4 superblock size fields (ext4sb.h). Layout: Documentation/filesystems/
 * ext4/super.rst in the kernel tree; all fields little-endian. */
#include "ext4sb.h"

#include <errno.h>

#define SB_BLOCKS_LO 0x04
#define SB_LOG_BLOCK_SIZE 0x18
#define SB_MAGIC 0x38
#define SB_FEATURE_INCOMPAT 0x60
#define SB_BLOCKS_HI 0x150
#define EXT4_MAGIC 0xef53u
#define INCOMPAT_64BIT 0x80u

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ext4sb_parse(const uint8_t *sb, size_t len, uint64_t *blocks, uint32_t *block_size)
{
	uint32_t log;
	uint64_t n;

	if (len < EXT4SB_SIZE || (sb[SB_MAGIC] | (uint32_t)sb[SB_MAGIC + 1] << 8) != EXT4_MAGIC)
		return -EINVAL;
	log = le32(sb + SB_LOG_BLOCK_SIZE);
	if (log > 6) /* 1 KiB << 6 = 64 KiB, the largest ext4 block */
		return -EINVAL;
	n = le32(sb + SB_BLOCKS_LO);
	if (le32(sb + SB_FEATURE_INCOMPAT) & INCOMPAT_64BIT)
		n |= (uint64_t)le32(sb + SB_BLOCKS_HI) << 32;
	if (n == 0)
		return -EINVAL;
	*blocks = n;
	*block_size = 1024u << log;
	return 0;
}
