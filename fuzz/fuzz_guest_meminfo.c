/* libFuzzer target: the guest's /proc/meminfo parser (src/guest/meminfo.c).
 * Input: the file's bytes, copied to an exact-size heap buffer so ASan sees
 * any read past its end. Built by fuzz/CMakeLists.txt and run briefly by ctest. */
#include "meminfo.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meminfo mi;
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	/* "MemTotal:0" is the shortest line that parses. */
	if (meminfo_parse(copy, size, &mi) == 0 && size < 10)
		abort();
	free(copy);
	return 0;
}
