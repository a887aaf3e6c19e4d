/* The shim's QMP calls, each on a session of its own (src/engine/qmp.h):
 * the fallback that asks QEMU to quit when the guest did not power off,
 * pause (stop) and resume (cont), run-time port forwards (HMP
 * hostfwd_add/hostfwd_remove through human-monitor-command). Warm start and
 * the live disk switch call bx_qmp_call themselves. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"
#include "shim.h"

int qmp_quit(const char *path, unsigned timeout_ms, struct bx_error *err)
{
	int rc = qmp_command(path, "quit", timeout_ms, err);

	/* QEMU may close the connection before answering quit. */
	if (rc == -ECONNRESET) {
		bx_err_clear(err);
		rc = 0;
	}
	return rc;
}

int qmp_command(const char *path, const char *cmd, unsigned timeout_ms, struct bx_error *err)
{
	return bx_qmp_call(path, json_pack("{s:s}", "execute", cmd), NULL, timeout_ms, err);
}

int qmp_hmp(const char *path, const char *command_line, char **out, unsigned timeout_ms, struct bx_error *err)
{
	json_t *ret = NULL;
	int rc = bx_qmp_call(path,
			     json_pack("{s:s, s:{s:s}}", "execute", "human-monitor-command", "arguments",
				       "command-line", command_line),
			     &ret, timeout_ms, err);

	if (rc == 0) {
		*out = strdup(json_is_string(ret) ? json_string_value(ret) : "");
		if (!*out)
			rc = bx_err(err, -ENOMEM, "QMP: out of memory");
	}
	json_decref(ret);
	return rc;
}
