/* Exec internals shared by exec.c and copy.c. */
#ifndef BOXLITE_LIB_EXEC_INTERNAL_H
#define BOXLITE_LIB_EXEC_INTERNAL_H

#include "internal.h"

/* A session that runs the agent's copy streamer instead of a program. */
struct bx_exec_extra {
	uint16_t copy_tag;     /* BXT_COPY_OUT or BXT_COPY_IN */
	const char *copy_path; /* guest path */
	int copy_single;       /* COPY_IN: docker cp target rules for one top entry */
	uint32_t copy_flags;   /* BXT_COPY_FLAGS */
	int attach;            /* ATTACH to the main command instead of EXEC */
	int attach_stdin;      /* ... and write its stdin */
};

/* boxlite_exec_start with an optional extra (opts may then be NULL). */
int bx_exec_start(boxlite_box *box, const boxlite_exec_options *opts, const struct bx_exec_extra *extra,
		  boxlite_exec **out, enum boxlite_error_origin *origin, struct bx_error *err);
/* Writes all of buf to a socket without SIGPIPE; -EPIPE when the peer is gone. */
int bx_exec_write_all(int fd, const void *buf, size_t len);

/* Reads an EXIT payload (exit code or signal) into *st. */
void bx_exec_parse_exit(const uint8_t *p, size_t len, boxlite_exit_status *st);

#endif
