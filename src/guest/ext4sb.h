/* The ext4 superblock's size fields (the 1024 bytes at offset 1024 of the
 * device): the agent grows the root filesystem only when the disk is larger
 * than it (mount.c). */
#ifndef BOXLITE_GUEST_EXT4SB_H
#define BOXLITE_GUEST_EXT4SB_H

#include <stddef.h>
#include <stdint.h>

#define EXT4SB_OFFSET 1024
#define EXT4SB_SIZE 1024

/* Parses len bytes of a superblock. Returns 0 with *blocks (the block count)
 * and *block_size, or -EINVAL when it is not a plausible ext2/3/4 one. */
int ext4sb_parse(const uint8_t *sb, size_t len, uint64_t *blocks, uint32_t *block_size);

#endif
