/* Resolving an exec's user spec against the image's /etc/passwd and
 * /etc/group. Pure functions over file contents (no NSS, no file access,
 * no allocation), so the same code runs in the guest and in host tests.
 *
 * Semantics follow runc's GetExecUser, which is what users of OCI images
 * expect:
 *   ""            uid 0, gid from passwd (0 if uid 0 is not listed)
 *   "name"        passwd entry by name; error if missing
 *   "uid"         passwd entry by uid if present, else gid 0, home "/"
 *   "u:group"     as above, then gid from the group name or number
 * The supplementary groups are the primary gid first (as Docker sets them),
 * then, without an explicit group only, every group in /etc/group that
 * lists the user's name as a member. */
#ifndef BOXLITE_GUEST_USER_H
#define BOXLITE_GUEST_USER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USER_MAX_GROUPS 256
#define USER_NAME_MAX 256
#define USER_HOME_MAX 1024

struct user_cred {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[USER_MAX_GROUPS];
	char name[USER_NAME_MAX]; /* "" when the uid has no passwd entry */
	char home[USER_HOME_MAX]; /* "/" when unknown */
};

struct passwd_entry {
	char name[USER_NAME_MAX];
	uint32_t uid;
	uint32_t gid;
	char home[USER_HOME_MAX];
};

/* Parses a decimal id of n bytes ("0".."4294967294"). Returns 0 or -EINVAL. */
int user_parse_id(const char *s, size_t n, uint32_t *out);

/* Looks up a passwd entry by name (name != NULL) or by uid. Malformed lines
 * are skipped. Returns 1 when found, 0 when not. */
int passwd_find(const char *buf, size_t len, const char *name, uint32_t uid,
		struct passwd_entry *out);

/* Looks up a group's gid by name. Returns 1 when found, 0 when not. */
int group_find_gid(const char *buf, size_t len, const char *name, uint32_t *gid);

/* Fills groups with the gid of every group listing member (deduplicated, in
 * file order, at most max). Returns the count. */
size_t group_members_of(const char *buf, size_t len, const char *member, gid_t *groups, size_t max);

/* Resolves spec (NULL or "" = root). passwd/group may be NULL when the file
 * is missing. Returns 0, or -EINVAL with a message in err. */
int user_resolve(const char *spec, const char *passwd, size_t passwd_len, const char *group,
		 size_t group_len, struct user_cred *out, char *err, size_t errcap);

#endif
