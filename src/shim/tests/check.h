/* The project's CHECK harness (tests/unit/test.h) plus CHECK_MSG and a
 * named summary; main returns check_summary(). */
#ifndef BOXLITE_SHIM_TESTS_CHECK_H
#define BOXLITE_SHIM_TESTS_CHECK_H

#include <stdio.h>

#include "test.h"

#define CHECK_MSG(cond, ...)                                                               \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			test_failures++;                                                  \
		}                                                                          \
	} while (0)

static inline int check_summary(const char *name)
{
	if (test_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
	else
		fprintf(stderr, "%s: all checks passed\n", name);
	return test_failures ? 1 : 0;
}

#endif
