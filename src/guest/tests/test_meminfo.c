/* Unit test of the guest agent's /proc/meminfo parser (src/guest/meminfo.c),
 * built for the host. */
#include "meminfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

static int parse(const char *text, struct meminfo *mi)
{
	return meminfo_parse(text, strlen(text), mi);
}

int main(void)
{
	struct meminfo mi;
	char buf[64];

	/* A real file (Linux 6.x, 256 MiB box), abridged. */
	CHECK(parse("MemTotal:         232440 kB\n"
		    "MemFree:          201732 kB\n"
		    "MemAvailable:     205116 kB\n"
		    "Buffers:               0 kB\n"
		    "HugePages_Total:       0\n"
		    "Hugepagesize:       2048 kB\n",
		    &mi) == 0);
	CHECK(mi.total == 232440ull * 1024);
	CHECK(mi.available == 205116ull * 1024);

	/* No MemAvailable (old kernels): total only. */
	CHECK(parse("MemTotal: 1000 kB\nMemFree: 10 kB\n", &mi) == 0);
	CHECK(mi.total == 1000ull * 1024 && mi.available == 0);

	/* No MemTotal: -ENOENT, available still reported. */
	CHECK(parse("MemAvailable: 5 kB\n", &mi) == -ENOENT);
	CHECK(mi.total == 0 && mi.available == 5 * 1024);
	CHECK(parse("", &mi) == -ENOENT);

	/* Keys must match exactly; prefixes and look-alikes are not taken. */
	CHECK(parse("MemTotalX: 7 kB\nXMemTotal: 8 kB\nMemTotal 9 kB\nmemtotal: 3 kB\n", &mi) == -ENOENT);

	/* No final newline, CRLF, tabs, a value without a unit (bytes). */
	CHECK(parse("MemAvailable:\t42 kB\r\nMemTotal: 100", &mi) == 0);
	CHECK(mi.total == 100 && mi.available == 42 * 1024);

	/* Malformed values are skipped: a later good line still counts. */
	CHECK(parse("MemTotal: abc kB\nMemTotal: 12 kB junk\nMemTotal: kB\nMemTotal: 2 kB\n", &mi) == 0);
	CHECK(mi.total == 2048);

	/* Overflow: 2^64 kB does not fit; a huge value in bytes does. */
	CHECK(parse("MemTotal: 18014398509481984 kB\n", &mi) == -ENOENT);
	CHECK(parse("MemTotal: 99999999999999999999999 kB\n", &mi) == -ENOENT);
	CHECK(parse("MemTotal: 18014398509481983 kB\n", &mi) == 0 && mi.total == 18014398509481983ull * 1024);
	CHECK(parse("MemTotal: 18446744073709551615\n", &mi) == 0 && mi.total == 18446744073709551615ull);

	/* Not NUL-terminated: the parser stops at len. */
	memcpy(buf, "MemTotal: 4 kB\nMemAvailable: 3 kB\n", 35);
	memset(buf + 35, 'Z', sizeof(buf) - 35);
	CHECK(meminfo_parse(buf, 15, &mi) == 0 && mi.total == 4096 && mi.available == 0);
	CHECK(meminfo_parse(buf, 13, &mi) == -ENOENT); /* cut: "MemTotal: 4 k" is malformed */

	TEST_MAIN_END();
}
