/* Scope-bound ownership (systemd style): a local declared with one of these
 * is released when it goes out of scope; TAKE_PTR/TAKE_FD hand it out. */
#ifndef BOXLITE_COMMON_CLEANUP_H
#define BOXLITE_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void bx_freep(void *p) { free(*(void **)p); }
static inline void bx_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void bx_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(bx_freep)))
#define _cleanup_close_ __attribute__((cleanup(bx_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(bx_fclosep)))

#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -1; _tf; })

#endif
