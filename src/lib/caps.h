/* Linux capabilities of the processes in a box (--cap-add, --cap-drop):
 * names, docker's default set, and the set a box's adds and drops give.
 * The set travels as a mask (bit N: capability N) to the guest agent, which
 * applies it to every process it starts (src/guest/session.c). */
#ifndef BOXLITE_LIB_CAPS_H
#define BOXLITE_LIB_CAPS_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

/* Every capability Linux 6.1 knows (CAP_CHOWN 0 .. CAP_CHECKPOINT_RESTORE 40). */
#define BX_CAP_LAST 40
#define BX_CAPS_ALL ((UINT64_C(1) << (BX_CAP_LAST + 1)) - 1)

/* Docker's (and the reference's) 14: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD
 * NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL
 * AUDIT_WRITE. */
uint64_t bx_caps_default(void);

/* The number of capability name ("net_admin", "CAP_NET_ADMIN", any case),
 * -2 for "ALL", -1 when unknown. */
int bx_cap_parse(const char *name);

/* The set of the default with adds and drops (NULL-terminated lists of
 * valid names): a drop of ALL empties it first, an add of ALL fills it;
 * then named drops are taken out and named adds put in (an add wins over a
 * drop of the same capability, as in docker). -EINVAL naming a bad name. */
int bx_caps_compute(char *const *add, char *const *drop, uint64_t *mask, struct bx_error *err);

/* The set as a JSON array of names ("CHOWN", ...), and back (-EINVAL for
 * an unknown name or something else than an array of strings). */
json_t *bx_caps_to_json(uint64_t mask);
int bx_caps_from_json(const json_t *names, uint64_t *mask);

#endif
