/* boxlite wire protocol v1: the one definition shared by host (library,
 * shim) and guest (agent). See docs/protocol.md for the prose version.
 *
 * A byte stream carries frames:  [header 12 bytes][payload len bytes]
 *   u32 len      payload length, <= BXP_MAX_PAYLOAD
 *   u32 chan     channel id: 0 = control, >= 1 = one exec session each
 *   u16 type     enum bxp_type
 *   u8  stream   enum bxp_stream for DATA/EOF/WINDOW, else 0
 *   u8  flags    reserved, must be 0
 * All integers are little-endian. Message payloads (all but DATA) are a
 * sequence of TLV fields: u16 tag, u32 len, len bytes. Unknown tags are
 * skipped, so fields can be added without a version bump.
 *
 * This file must compile both with glibc on the host and with musl -static
 * in the guest: libc only, no allocation in the decoder. */
#ifndef BOXLITE_PROTOCOL_H
#define BOXLITE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define BXP_VERSION 1u
#define BXP_HEADER_SIZE 12u
#define BXP_MAX_PAYLOAD (256u * 1024u)
/* The name of the virtio-serial port the agent listens on. */
#define BXP_PORT_NAME "boxlite.agent"
/* Initial credit each receiver grants per data stream (bytes). */
#define BXP_DEFAULT_WINDOW (1024u * 1024u)

enum bxp_type {
	BXP_HELLO = 1,        /* both ways, chan 0, first frame: version, timings */
	BXP_SETUP = 2,        /* host->guest, chan 0: root disk, hostname, clock, seed */
	BXP_SETUP_DONE = 3,   /* guest->host, chan 0 */
	BXP_ERROR = 4,        /* either way: errno + message; on chan N ends that session */
	BXP_EXEC = 5,         /* host->guest, chan N: start a process */
	BXP_EXEC_STARTED = 6, /* guest->host, chan N: pid, stdin window */
	BXP_DATA = 7,         /* either way, chan N, stream: raw bytes (no TLV) */
	BXP_EOF = 8,          /* either way, chan N, stream: no more data */
	BXP_WINDOW = 9,       /* either way, chan N, stream: TLV CREDIT grants more bytes */
	BXP_EXIT = 10,        /* guest->host, chan N: exit code or signal; session over */
	BXP_SIGNAL = 11,      /* host->guest, chan N: deliver a signal */
	BXP_RESIZE = 12,      /* host->guest, chan N: tty rows/cols */
	BXP_CLOSE = 13,       /* host->guest, chan N: forget session, kill if running */
	BXP_SHUTDOWN = 14,    /* host->guest, chan 0: sync and power off */
	BXP_PING = 15,        /* host->guest, chan 0 */
	BXP_PONG = 16,        /* guest->host, chan 0 */
	BXP_ATTACH = 17,      /* client->shim, chan N: copy the main command's session here */
	BXP_PAUSE = 18,       /* client->shim, chan 0: freeze the vCPUs; echoed when done */
	BXP_RESUME = 19,      /* client->shim, chan 0: run them again; echoed when done */
	BXP_RESOLVE = 20,     /* guest->host, chan 0: DNS_ID, DNS_NAME, DNS_QTYPE (egress policy) */
	BXP_RESOLVED = 21,    /* host->guest, chan 0: DNS_ID, DNS_ADDR..., ERRNO ENOENT = no such name */
	BXP_PORT_ADD = 22,    /* client->shim, chan 0: publish a port now (QMP); echoed when done */
	BXP_PORT_REMOVE = 23, /* client->shim, chan 0: stop publishing it; echoed when done */
	BXP_FSFREEZE = 24,    /* host->guest, chan 0: freeze the root filesystem; echoed with ERRNO */
	BXP_FSTHAW = 25,      /* host->guest, chan 0: thaw it; echoed with ERRNO */
	BXP_DISK_SNAPSHOT = 26, /* client->shim, chan 0: DISK_OVERLAY becomes the live disk's top; echoed */
	BXP_CHECKPOINT = 27,  /* client->shim, chan 0: save the VM's state and stop; echoed when saved */
	BXP_TYPE_MAX
};

enum bxp_stream {
	BXP_STDIN = 0,
	BXP_STDOUT = 1,
	BXP_STDERR = 2,
	BXP_STREAM_MAX
};

enum bxp_tag {
	BXT_VERSION = 1,      /* u32 */
	BXT_MESSAGE = 2,      /* str */
	BXT_ERRNO = 3,        /* u32, positive errno */
	BXT_ARG = 4,          /* str, repeated: argv in order */
	BXT_ENV = 5,          /* str "K=V", repeated */
	BXT_CWD = 6,          /* str */
	BXT_USER = 7,         /* str: name, uid or uid:gid */
	BXT_TTY = 8,          /* u32 0/1 */
	BXT_ROWS = 9,         /* u32 */
	BXT_COLS = 10,        /* u32 */
	BXT_WINDOW = 11,      /* u32: initial credit for the peer's data streams */
	BXT_PID = 12,         /* u32 */
	BXT_EXIT_CODE = 13,   /* u32 */
	BXT_SIGNAL = 14,      /* u32 */
	BXT_CREDIT = 15,      /* u32 */
	BXT_ROOT_DEV = 16,    /* str, e.g. /dev/vda */
	BXT_ROOT_FSTYPE = 17, /* str, e.g. ext4 */
	BXT_HOSTNAME = 18,    /* str */
	BXT_CLOCK_NS = 19,    /* u64: host CLOCK_REALTIME */
	BXT_RNG_SEED = 20,    /* bytes */
	BXT_T_AGENT_START = 21, /* u64: guest CLOCK_BOOTTIME ns when the agent started */
	BXT_T_READY = 22,       /* u64: guest CLOCK_BOOTTIME ns when HELLO was sent */
	BXT_T_EVENT = 23,       /* u64: guest CLOCK_BOOTTIME ns of the event in this frame */
	BXT_TIMEOUT_MS = 24,    /* u32: exec timeout, 0 = none */
	/* Host-side stage timestamps (host CLOCK_REALTIME ns), sent by the shim
	 * to its clients in HELLO so the library can report boot stages. */
	BXT_H_SHIM_START = 25,  /* u64: shim main() entered */
	BXT_H_QEMU_START = 26,  /* u64: QEMU spawned */
	BXT_H_AGENT_HELLO = 27, /* u64: agent HELLO received */
	BXT_H_READY = 28,       /* u64: SETUP_DONE received, box ready */
	BXT_T_SETUP_DONE = 29,  /* u64: guest CLOCK_BOOTTIME ns when setup finished */
	/* Copy (EXEC with one of these instead of ARG runs the agent's own tar
	 * streamer; see docs/protocol.md "Copy"). */
	BXT_COPY_OUT = 30,      /* str: guest path to send as a tar stream on stdout */
	BXT_COPY_IN = 31,       /* str: guest path to extract the tar from stdin into */
	BXT_COPY_SINGLE = 32,   /* u32 1: COPY_IN holds one top entry; docker cp target rules */
	BXT_ATTACH_STDIN = 33,  /* u32 1: in ATTACH, this client writes the main command's stdin */
	/* Network and volumes (SETUP; see docs/protocol.md "Network and volumes"). */
	BXT_NET_IFADDR = 40,    /* str "A.B.C.D/N": eth0 address; absent: no NIC to configure */
	BXT_NET_GATEWAY = 41,   /* str "A.B.C.D": default route */
	BXT_NET_DNS = 42,       /* str "A.B.C.D", repeated: /etc/resolv.conf nameservers */
	BXT_NET_HOST_ALIAS = 43,/* str "A.B.C.D": host.boxlite.internal in /etc/hosts */
	BXT_VOLUME = 44,        /* str "TAG:RO:GUEST_PATH", repeated: 9p mount after the root */
	/* Egress policy DNS (SETUP, RESOLVE, RESOLVED; see docs/protocol.md). */
	BXT_NET_DNS_PROXY = 45, /* u32 1 in SETUP: serve DNS on 127.0.0.1:53, asking the host */
	BXT_DNS_ID = 46,        /* u32: request id, echoed in RESOLVED */
	BXT_DNS_NAME = 47,      /* str: the queried name, no trailing dot */
	BXT_DNS_QTYPE = 48,     /* u32: 1 (A) or 28 (AAAA) */
	BXT_DNS_ADDR = 49,      /* str, repeated: an IPv4 or IPv6 literal of the answer */
	/* Guest memory (PONG; see docs/protocol.md). */
	BXT_GUEST_MEM_TOTAL = 50,     /* u64 bytes: /proc/meminfo MemTotal */
	BXT_GUEST_MEM_AVAILABLE = 51, /* u64 bytes: /proc/meminfo MemAvailable */
	/* Run-time ports (PORT_ADD, PORT_REMOVE; see docs/protocol.md). */
	BXT_PORT_HOST_IP = 52,  /* str "A.B.C.D": host address of the forward */
	BXT_PORT_HOST = 53,     /* u32: host port, 1..65535 */
	BXT_PORT_GUEST = 54,    /* u32: guest port, 1..65535 (PORT_ADD only) */
	BXT_PORT_UDP = 55,      /* u32 1: udp, else tcp */
	BXT_CAPS = 56,          /* u64 in SETUP: capabilities (bit N: N) every process started
				   later keeps (bounding set; all of them for root); absent: all */
	BXT_COPY_FLAGS = 57,    /* u32 in a copy EXEC: BXP_COPY_* bits */
	/* Live disk switch (DISK_SNAPSHOT, FSFREEZE, FSTHAW; see docs/protocol.md). */
	BXT_DISK_OVERLAY = 58,  /* str: absolute path of an empty qcow2 overlay in the box directory */
	BXT_FROZEN = 59,        /* u32 1 in the DISK_SNAPSHOT echo: the guest's root was frozen for it */
	/* Resume from a checkpoint (host HELLO; see docs/protocol.md "Checkpoints"). */
	BXT_RESUME_CHAN = 60,   /* u32, repeated, in the host's HELLO: a session the host takes back
				   (the others are dropped); with CLOCK_NS and RNG_SEED */
	BXT_TAG_MAX
};

/* BXT_COPY_FLAGS bits */
#define BXP_COPY_FOLLOW 1u       /* COPY_OUT follows a top-level symlink */
#define BXP_COPY_NO_OVERWRITE 2u /* COPY_IN keeps existing files */

struct bxp_header {
	uint32_t len;
	uint32_t chan;
	uint16_t type;
	uint8_t stream;
	uint8_t flags;
};

/* Decodes and validates a header. Returns 0, or -EPROTO for an unknown type,
 * nonzero flags or a stream out of range, -EMSGSIZE for len > max. */
int bxp_header_decode(const uint8_t in[BXP_HEADER_SIZE], struct bxp_header *h);
void bxp_header_encode(const struct bxp_header *h, uint8_t out[BXP_HEADER_SIZE]);
const char *bxp_type_name(uint16_t type);

/* ---- TLV writer: appends into a caller-owned fixed buffer. A write that
 * does not fit sets the overflow flag; check bxp_writer_ok() once at the end. */
struct bxp_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int overflow;
};

void bxp_writer_init(struct bxp_writer *w, uint8_t *buf, size_t cap);
void bxp_put_bytes(struct bxp_writer *w, uint16_t tag, const void *data, size_t n);
void bxp_put_str(struct bxp_writer *w, uint16_t tag, const char *s);
void bxp_put_u32(struct bxp_writer *w, uint16_t tag, uint32_t v);
void bxp_put_u64(struct bxp_writer *w, uint16_t tag, uint64_t v);
static inline int bxp_writer_ok(const struct bxp_writer *w) { return !w->overflow; }

/* ---- TLV reader over a received payload. Never reads out of bounds. */
struct bxp_field {
	uint16_t tag;
	uint32_t len;
	const uint8_t *value;
};

struct bxp_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

void bxp_reader_init(struct bxp_reader *r, const uint8_t *buf, size_t len);
/* Returns 1 and fills f for the next field, 0 at the clean end, -EPROTO when
 * the remaining bytes are not a whole field. */
int bxp_next(struct bxp_reader *r, struct bxp_field *f);
/* Typed views of a field; -EPROTO when the length is wrong. A string must not
 * contain NUL; it is copied NUL-terminated into out (-ENAMETOOLONG if cap is
 * too small). */
int bxp_field_u32(const struct bxp_field *f, uint32_t *v);
int bxp_field_u64(const struct bxp_field *f, uint64_t *v);
int bxp_field_str(const struct bxp_field *f, char *out, size_t cap);
/* Whole-payload checks: every field well formed, the payload fully consumed. */
int bxp_payload_validate(const uint8_t *buf, size_t len);

/* ---- Stream framer: accumulates bytes from a socket and yields whole
 * frames. Its buffer is fixed (header + max payload), so a peer can never
 * make it grow. */
struct bxp_framer {
	uint8_t buf[BXP_HEADER_SIZE + BXP_MAX_PAYLOAD];
	size_t have;
	size_t consumed; /* bytes of the last returned frame, dropped on next call */
};

void bxp_framer_init(struct bxp_framer *fr);
/* Space to read() into, and how many bytes fit. */
uint8_t *bxp_framer_space(struct bxp_framer *fr, size_t *avail);
void bxp_framer_commit(struct bxp_framer *fr, size_t n);
/* Returns 1 with h/payload set for a whole frame (valid until the next call),
 * 0 when more bytes are needed, or a negative errno for a malformed stream
 * (the connection must then be closed). */
int bxp_framer_next(struct bxp_framer *fr, struct bxp_header *h, const uint8_t **payload);

/* ---- Blocking helpers on a file descriptor (EINTR-safe). */
/* Writes header + payload completely. Returns 0 or -errno. */
int bxp_send(int fd, uint32_t chan, uint16_t type, uint8_t stream, const void *payload, size_t len);
/* Fills buf with header+payload into a frame of at most BXP_HEADER_SIZE+len bytes;
 * returns the total frame size, or -EMSGSIZE. For callers that queue frames. */
long bxp_frame_build(uint8_t *out, size_t cap, uint32_t chan, uint16_t type, uint8_t stream,
		     const void *payload, size_t len);

#endif
