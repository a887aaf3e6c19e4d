/* SETUP handling: identity first (cheap, and needed by clones of a template
 * even when the root is already mounted), then the root filesystem. */
#include "setup.h"
#include "caps.h"

#include "dns.h"
#include "guest.h"
#include "mount.h"
#include "net.h"
#include "volume.h"
#include "port.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#ifndef RNDRESEEDCRNG
#define RNDRESEEDCRNG _IO('R', 0x07)
#endif
#ifndef RNDADDENTROPY
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#endif

#define SEED_MAX 512

struct setup_req {
	char root_dev[256];
	char fstype[32];
	char hostname[65];
	int has_clock;
	uint64_t clock_ns;
	uint8_t seed[SEED_MAX];
	size_t seed_len;
	struct net_cfg net;
	struct volume vols[VOLUME_MAX];
	size_t n_vols;
	uint32_t dns_proxy; /* NET_DNS_PROXY */
	int has_caps;       /* CAPS */
	uint64_t caps;
};

static char mounted_dev[256];

static int parse_setup(const uint8_t *payload, size_t len, struct setup_req *req, char *err,
		       size_t errcap)
{
	struct bxp_reader r;
	struct bxp_field f;
	int rc;

	memset(req, 0, sizeof(*req));
	strcpy(req->fstype, "ext4");
	bxp_reader_init(&r, payload, len);
	while ((rc = bxp_next(&r, &f)) == 1) {
		switch (f.tag) {
		case BXT_ROOT_DEV:
			rc = bxp_field_str(&f, req->root_dev, sizeof(req->root_dev));
			break;
		case BXT_ROOT_FSTYPE:
			rc = bxp_field_str(&f, req->fstype, sizeof(req->fstype));
			break;
		case BXT_HOSTNAME:
			rc = bxp_field_str(&f, req->hostname, sizeof(req->hostname));
			break;
		case BXT_CLOCK_NS:
			rc = bxp_field_u64(&f, &req->clock_ns);
			req->has_clock = 1;
			break;
		case BXT_NET_IFADDR:
			rc = bxp_field_str(&f, req->net.ifaddr, sizeof(req->net.ifaddr));
			break;
		case BXT_NET_GATEWAY:
			rc = bxp_field_str(&f, req->net.gateway, sizeof(req->net.gateway));
			break;
		case BXT_NET_DNS:
			if (req->net.n_dns >= NET_DNS_MAX) {
				rc = 0;
				break;
			}
			rc = bxp_field_str(&f, req->net.dns[req->net.n_dns], sizeof(req->net.dns[0]));
			if (rc == 0)
				req->net.n_dns++;
			break;
		case BXT_VOLUME: {
			char spec[1100];

			if (req->n_vols >= VOLUME_MAX) {
				rc = -E2BIG;
				break;
			}
			rc = bxp_field_str(&f, spec, sizeof(spec));
			if (rc == 0)
				rc = volume_parse(spec, &req->vols[req->n_vols]);
			if (rc == 0)
				req->n_vols++;
			break;
		}
		case BXT_NET_HOST_ALIAS:
			rc = bxp_field_str(&f, req->net.host_alias_ip, sizeof(req->net.host_alias_ip));
			break;
		case BXT_NET_DNS_PROXY:
			rc = bxp_field_u32(&f, &req->dns_proxy);
			break;
		case BXT_CAPS:
			rc = bxp_field_u64(&f, &req->caps);
			req->has_caps = 1;
			break;
		case BXT_RNG_SEED:
			req->seed_len = f.len < SEED_MAX ? f.len : SEED_MAX;
			memcpy(req->seed, f.value, req->seed_len);
			rc = 0;
			break;
		default:
			rc = 0;
			break;
		}
		if (rc < 0) {
			snprintf(err, errcap, "SETUP: bad field %u: %s", f.tag, strerror(-rc));
			return rc;
		}
	}
	if (rc < 0) {
		snprintf(err, errcap, "SETUP: malformed payload");
		return rc;
	}
	if (!req->fstype[0])
		strcpy(req->fstype, "ext4");
	return 0;
}

/* Mixes the host's seed into the pool and credits it: a cloned template
 * would otherwise share its RNG state with every sibling. */
static void seed_rng(const uint8_t *seed, size_t len)
{
	struct {
		int entropy_count;
		int buf_size;
		uint8_t buf[SEED_MAX];
	} info;
	int fd;

	if (!len)
		return;
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		glog("open /dev/urandom: %s", strerror(errno));
		return;
	}
	info.entropy_count = (int)(len * 8);
	info.buf_size = (int)len;
	memcpy(info.buf, seed, len);
	if (ioctl(fd, RNDADDENTROPY, &info) < 0) {
		if (write(fd, seed, len) < 0)
			glog("seed /dev/urandom: %s", strerror(errno));
	}
	/* Credited entropy alone reseeds the CRNG only on its schedule (up to
	 * a minute): a warm-started clone would go on with its template's
	 * key until then. Reseed now, from the pool that holds the seed. */
	if (ioctl(fd, RNDRESEEDCRNG) < 0 && errno != ENODATA)
		glog("reseed the CRNG: %s", strerror(errno));
	memset(&info, 0, sizeof(info));
	close(fd);
}

void setup_clock_and_seed(int has_clock, uint64_t clock_ns, const uint8_t *seed, size_t seed_len)
{
	if (has_clock) {
		struct timespec ts = { (time_t)(clock_ns / 1000000000u), (long)(clock_ns % 1000000000u) };
		if (clock_settime(CLOCK_REALTIME, &ts) < 0)
			glog("clock_settime: %s", strerror(errno));
	}
	seed_rng(seed, seed_len < SEED_MAX ? seed_len : SEED_MAX);
}

static void apply_identity(const struct setup_req *req)
{
	if (req->hostname[0] && sethostname(req->hostname, strlen(req->hostname)) < 0)
		glog("sethostname %s: %s", req->hostname, strerror(errno));
	setup_clock_and_seed(req->has_clock, req->clock_ns, req->seed, req->seed_len);
}

void setup_handle(const uint8_t *payload, size_t len)
{
	uint8_t buf[64];
	struct bxp_writer w;
	struct setup_req req;
	char err[512];
	int rc;

	rc = parse_setup(payload, len, &req, err, sizeof(err));
	if (rc < 0) {
		send_error(0, -rc, "%s", err);
		return;
	}
	apply_identity(&req);
	if (req.has_caps)
		caps_set(req.caps);
	net_loopback_up();
	rc = net_configure(&req.net, err, sizeof(err));
	if (rc < 0) {
		send_error(0, -rc, "%s", err);
		return;
	}
	/* --allow-net: resolv.conf says 127.0.0.1, served here (dns.c). */
	if (req.dns_proxy && (rc = dns_proxy_start()) < 0) {
		send_error(0, -rc, "SETUP: DNS proxy on 127.0.0.1:53: %s", strerror(-rc));
		return;
	}
	if (g_root_ready) {
		if (req.root_dev[0] && strcmp(req.root_dev, mounted_dev) != 0) {
			send_error(0, EBUSY, "SETUP: root %s already mounted, cannot switch to %s", mounted_dev,
				   req.root_dev);
			return;
		}
	} else if (req.root_dev[0]) {
		rc = switch_to_root(req.root_dev, req.fstype, err, sizeof(err));
		if (rc < 0) {
			send_error(0, -rc, "%s", err);
			return;
		}
		snprintf(mounted_dev, sizeof(mounted_dev), "%s", req.root_dev);
		g_root_ready = true;
		net_write_etc(&req.net, req.hostname);
		for (size_t i = 0; i < req.n_vols; i++) {
			rc = volume_mount(&req.vols[i], err, sizeof(err));
			if (rc < 0) {
				send_error(0, -rc, "%s", err);
				return;
			}
		}
	} else {
		send_error(0, EINVAL, "SETUP: no root device");
		return;
	}
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u64(&w, BXT_T_SETUP_DONE, boot_ns());
	outq_frame(0, BXP_SETUP_DONE, 0, buf, w.len);
}
