/* The REST server's request bodies (src/server/request.c): every parser on
 * the same untrusted bytes. The first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0: {
		struct srv_create_req r;
		if (srv_parse_create(body, len, &r, err, sizeof(err)) == 0)
			srv_req_free(r.json);
		break;
	}
	case 1: {
		struct srv_exec_req r;
		if (srv_parse_exec(body, len, &r, err, sizeof(err)) == 0)
			srv_req_free(r.json);
		break;
	}
	case 2: {
		int sig;
		uint32_t ms;
		srv_parse_signal(body, len, &sig, err, sizeof(err));
		srv_parse_stop(body, len, &ms, err, sizeof(err));
		break;
	}
	case 3: {
		uint16_t c, r;
		json_t *j;
		const char *ref;
		srv_parse_resize(body, len, &c, &r, err, sizeof(err));
		if (srv_parse_pull(body, len, &j, &ref, err, sizeof(err)) == 0)
			srv_req_free(j);
		if (srv_parse_snapshot(body, len, &j, &ref, err, sizeof(err)) == 0)
			srv_req_free(j);
		if (srv_parse_clone(body, len, &j, &ref, err, sizeof(err)) == 0)
			srv_req_free(j);
		break;
	}
	default: {
		struct srv_control c;
		srv_parse_control(body, len, &c, err, sizeof(err));
		break;
	}
	}
	return 0;
}
