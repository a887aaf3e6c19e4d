/* Image references → images in the home. Built-in images (localhost/NAME:TAG)
 * ship as OCI image layouts in share/boxlite/images/NAME and are imported on
 * first use through the same path as any other layout, so every home finds
 * them without a setup step of its own. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image_store.h"
#include "internal.h"

#define BUILTIN_PREFIX "localhost/"

int bx_images_resolve(boxlite_runtime *rt, const char *ref, struct bx_image *out, struct bx_error *err)
{
	char name[256], layout[PATH_MAX + 300];
	const char *tag, *colon, *slash;
	size_t n;
	int rc;

	rc = bx_image_lookup(rt->home, ref, out, err);
	if (rc != -ENOENT)
		return rc;
	bx_err_clear(err);

	if (strncmp(ref, BUILTIN_PREFIX, strlen(BUILTIN_PREFIX)) != 0)
		goto not_found;
	slash = ref + strlen(BUILTIN_PREFIX);
	colon = strrchr(slash, ':');
	tag = colon ? colon + 1 : "latest";
	n = colon ? (size_t)(colon - slash) : strlen(slash);
	if (n == 0 || n >= sizeof(name) || memchr(slash, '/', n) || !*tag)
		goto not_found;
	memcpy(name, slash, n);
	name[n] = '\0';
	snprintf(layout, sizeof(layout), "%s/images/%s", rt->share_dir, name);
	if (access(layout, R_OK) < 0)
		goto not_found;
	rc = bx_image_import_layout(rt->home, layout, tag, ref, out, err);
	if (rc == -ENOENT)
		goto not_found;
	return rc < 0 ? bx_err_wrap(err, rc, "importing built-in image %s", ref) : rc;

not_found:
	bx_err_clear(err);
	return bx_err(err, -ENOENT,
		      "image %s not found (built-in images: localhost/busybox:latest, localhost/python:3.11; pulling from registries is not supported yet)",
		      ref);
}
