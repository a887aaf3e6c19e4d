/* Routes about the server itself: config, me, the OpenAPI document, runtime
 * metrics, and the routes of features still to come. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv.h"

void h_config(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	srv_json(out, 200,
		 json_pack("{s:{s:i,s:i,s:s,s:i},s:{},s:{s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:i}}",
			   "defaults", "cpus", 1, "memory_mib", 512, "security_preset", "standard", "auto_delete", 0,
			   "overrides", "capabilities", "linux_capabilities_enabled", 1, "tty_enabled", 1,
			   "streaming_enabled", 1, "snapshots_enabled", 1, "clone_enabled", 1, "export_enabled", 1,
			   "import_enabled", 1, "volumes_enabled", 0, "max_cpus", 64, "max_memory_mib", 65536,
			   "max_disk_size_gb", 4096));
}

/* A fixed principal, as the reference's local server has: one operator,
 * one key. path_prefix null: routes sit at /v1/boxes. */
void h_me(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	srv_json(out, 200,
		 json_pack("{s:s,s:s,s:[s,s,s,s],s:n,s:n,s:n,s:n,s:n}", "sub", "local-anonymous", "principal_type",
			   "service_account", "scopes", "box:*", "image:*", "snapshot:*", "me:read", "path_prefix",
			   "prefix", "email", "display_name", "expires_at"));
}

void h_openapi(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	int fd = s->openapi_path ? open(s->openapi_path, O_RDONLY | O_CLOEXEC) : -1;
	struct stat st;
	char *buf;
	ssize_t n = -1;

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size < (16 << 20) && (buf = malloc((size_t)st.st_size + 1))) {
		n = read(fd, buf, (size_t)st.st_size);
		if (n == st.st_size) {
			srv_empty(out, 200);
			out->body = buf;
			out->len = (size_t)n;
			out->content_type = "application/yaml";
		} else {
			free(buf);
			n = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	if (n < 0)
		srv_error(out, r, 500, "InternalError", "internal", "the OpenAPI document (%s) cannot be read",
			  s->openapi_path ? s->openapi_path : "not installed");
}

void h_unsupported(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	srv_error(out, r, 400, "UnsupportedError", "unsupported", "%s %s is not supported by this server yet",
		  r->method, r->path);
}

void h_runtime_metrics(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_box_info *infos = NULL;
	boxlite_error *e = NULL;
	size_t n = 0, running = 0;
	struct srv_counters c;
	int rc = boxlite_runtime_list_boxes(s->rt, &infos, &n, &e);

	if (rc < 0)
		return srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	for (size_t i = 0; i < n; i++)
		running += infos[i].state == BOXLITE_BOX_RUNNING || infos[i].state == BOXLITE_BOX_STARTING;
	boxlite_box_info_list_free(infos, n);
	pthread_mutex_lock(&s->mu);
	c = s->n;
	pthread_mutex_unlock(&s->mu);
	srv_json(out, 200,
		 json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "boxes_created_total", (json_int_t)c.boxes_created,
			   "boxes_failed_total", (json_int_t)c.boxes_failed, "boxes_stopped_total",
			   (json_int_t)c.boxes_stopped, "num_running_boxes", (json_int_t)running,
			   "total_commands_executed", (json_int_t)c.commands, "total_exec_errors",
			   (json_int_t)c.exec_errors));
}
