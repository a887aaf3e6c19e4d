/* Finding the agent's virtio-serial port, and the outgoing frame queue. */
#include "port.h"

#include "guest.h"
#include "protocol.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define SYS_PORTS "/sys/class/virtio-ports"

/* Returns 1 and fills dev with "/dev/vportNpM" when the named port exists. */
static int port_find(char *dev, size_t cap)
{
	DIR *d = opendir(SYS_PORTS);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[512], name[128];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), SYS_PORTS "/%s/name", e->d_name);
		n = read_file(path, name, sizeof(name));
		if (n <= 0)
			continue;
		while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == ' '))
			name[--n] = '\0';
		if (strcmp(name, BXP_PORT_NAME) == 0 &&
		    snprintf(dev, cap, "/dev/%s", e->d_name) < (int)cap)
			found = 1;
	}
	closedir(d);
	return found;
}

int port_open_wait(void)
{
	int64_t start = mono_ms();
	int warned = 0;
	char dev[300];

	for (;;) {
		if (port_find(dev, sizeof(dev))) {
			int fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
			if (fd >= 0)
				return fd;
			if (!warned)
				glog("open %s: %s (retrying)", dev, strerror(errno));
			warned = 1;
		} else if (!warned && mono_ms() - start > 2000) {
			glog("waiting for virtio-serial port %s", BXP_PORT_NAME);
			warned = 1;
		}
		/* The port is announced by the host shortly after the driver
		 * probes; poll tightly at first, it is on the boot path. */
		sleep_ms(mono_ms() - start < 500 ? 1 : 20);
	}
}

int port_host_connected(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (poll(&p, 1, 0) < 0)
		return 0;
	return !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* ---- outgoing queue: a byte ring of whole frames ---- */

static uint8_t q_buf[OUTQ_CAP];
static size_t q_head; /* first byte not yet written */
static size_t q_len;

size_t outq_room(void)
{
	return OUTQ_CAP - q_len;
}

size_t outq_used(void)
{
	return q_len;
}

void outq_reset(void)
{
	q_head = 0;
	q_len = 0;
}

static void q_put(const void *data, size_t n)
{
	size_t tail = (q_head + q_len) % OUTQ_CAP;
	size_t first = OUTQ_CAP - tail < n ? OUTQ_CAP - tail : n;

	memcpy(q_buf + tail, data, first);
	memcpy(q_buf, (const uint8_t *)data + first, n - first);
	q_len += n;
}

int outq_frame(uint32_t chan, uint16_t type, uint8_t stream, const void *payload, size_t len)
{
	struct bxp_header h = { .len = (uint32_t)len, .chan = chan, .type = type, .stream = stream };
	uint8_t hdr[BXP_HEADER_SIZE];

	if (len > BXP_MAX_PAYLOAD || BXP_HEADER_SIZE + len > OUTQ_CAP)
		return -EMSGSIZE;
	if (BXP_HEADER_SIZE + len > outq_room())
		return -ENOBUFS;
	bxp_header_encode(&h, hdr);
	q_put(hdr, sizeof(hdr));
	if (len)
		q_put(payload, len);
	return 0;
}

int outq_flush(int fd)
{
	while (q_len) {
		size_t first = OUTQ_CAP - q_head < q_len ? OUTQ_CAP - q_head : q_len;
		struct iovec iov[2] = {
			{ q_buf + q_head, first },
			{ q_buf, q_len - first },
		};
		ssize_t n = writev(fd, iov, iov[1].iov_len ? 2 : 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		if (n == 0)
			return 0;
		q_head = (q_head + (size_t)n) % OUTQ_CAP;
		q_len -= (size_t)n;
	}
	q_head = 0;
	return 0;
}

void send_error(uint32_t chan, int err, const char *fmt, ...)
{
	uint8_t buf[OUTQ_REPLY_MAX - BXP_HEADER_SIZE];
	char msg[1024];
	struct bxp_writer w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_ERRNO, (uint32_t)(err < 0 ? -err : err));
	bxp_put_str(&w, BXT_MESSAGE, msg);
	bxp_put_u64(&w, BXT_T_EVENT, boot_ns());
	if (chan == 0)
		glog("error: %s", msg);
	if (outq_frame(chan, BXP_ERROR, 0, buf, w.len) < 0)
		glog("output queue full, dropped ERROR on channel %u: %s", chan, msg);
}
