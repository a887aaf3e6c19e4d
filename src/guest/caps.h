/* Capabilities of the processes the agent starts (BXT_CAPS in SETUP,
 * --cap-add/--cap-drop): every exec'd process, the box's main command
 * included, gets a bounding set limited to the box's set, and as root keeps
 * exactly that set. The agent itself and its own helpers (cp's tar
 * streamer) keep everything. */
#ifndef BOXLITE_GUEST_CAPS_H
#define BOXLITE_GUEST_CAPS_H

#include <stdint.h>
#include <sys/types.h>

/* From SETUP; before it (and when SETUP has none) nothing is limited. */
void caps_set(uint64_t mask);
/* In a child about to exec, still root, before setuid: drops the bounding
 * set to the box's set. 0 or -errno. */
int caps_limit_bounding(void);
/* After setuid(uid): root gets the box's set as permitted, effective and
 * inheritable; nobody gets ambient capabilities. 0 or -errno. */
int caps_apply(uid_t uid);

#endif
