/* Minimal test helpers: CHECK records a failure and goes on; main returns
 * check_summary(). */
#ifndef BOXLITE_SHIM_TESTS_CHECK_H
#define BOXLITE_SHIM_TESTS_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                  \
		}                                                                          \
	} while (0)

#define CHECK_MSG(cond, ...)                                                               \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			check_failures++;                                                  \
		}                                                                          \
	} while (0)

static inline int check_summary(const char *name)
{
	if (check_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
	else
		fprintf(stderr, "%s: all checks passed\n", name);
	return check_failures ? 1 : 0;
}

#endif
