/* A tiny assertion harness for unit tests: CHECK never aborts, so one run
 * reports every failure; main returns non-zero when any check failed. */
#ifndef BOXLITE_TEST_H
#define BOXLITE_TEST_H

#include <stdio.h>

static int test_failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			test_failures++;                                             \
		}                                                                    \
	} while (0)

#define TEST_MAIN_END()                                                              \
	do {                                                                         \
		if (test_failures)                                                   \
			fprintf(stderr, "%d check(s) failed\n", test_failures);      \
		return test_failures ? 1 : 0;                                        \
	} while (0)

#endif
