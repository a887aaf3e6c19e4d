/* libFuzzer target: the agent's ext4 superblock reader (src/guest/ext4sb.c).
 * Input: the bytes at offset 1024 of the root disk, copied to an exact-size
 * heap buffer so ASan sees any read past its end. */
#include "ext4sb.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	uint64_t blocks;
	uint32_t bsize;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	if (ext4sb_parse(copy, size, &blocks, &bsize) == 0 &&
	    (size < EXT4SB_SIZE || blocks == 0 || bsize < 1024 || bsize > 65536))
		abort();
	free(copy);
	return 0;
}
