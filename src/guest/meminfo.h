/* Reading /proc/meminfo for PONG (docs/protocol.md): a pure parser over
 * the file's contents (bounded, no allocation), tested on the host. */
#ifndef BOXLITE_GUEST_MEMINFO_H
#define BOXLITE_GUEST_MEMINFO_H

#include <stddef.h>
#include <stdint.h>

struct meminfo {
	uint64_t total;     /* MemTotal in bytes, 0 when absent */
	uint64_t available; /* MemAvailable in bytes, 0 when absent */
};

/* Parses len bytes of /proc/meminfo text ("Key:   N kB" lines; the text
 * need not be NUL-terminated). Lines that do not parse are skipped; a value
 * that would overflow is treated as absent. Returns 0 when MemTotal was
 * found, else -ENOENT. */
int meminfo_parse(const char *text, size_t len, struct meminfo *out);

#endif
