/* The QEMU microvm engine: turns a bx_vm_spec into a qemu-system-x86_64
 * command line. The device set and its order are fixed (templates restore
 * device state by position); only the files behind the devices vary. The
 * command line is the one proven in docs (ENVIRONMENT.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "protocol.h"

/* Nothing box-specific ever goes here: one booted template serves all boxes.
 * tsc=reliable, no_timer_check, noreplace-smp skip boot-time checks (see the
 * measurements in kernel/boxlite.config). */
#define QEMU_MICROVM_CMDLINE "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable no_timer_check noreplace-smp"
/* Under TCG there is no TSC-deadline timer: without this the kernel spends
 * ~0.2 s calibrating the APIC timer against the PIT. Under KVM it would cost. */
#define QEMU_MICROVM_CMDLINE_TCG QEMU_MICROVM_CMDLINE " noapictimer"

struct argv_builder {
	char **v;
	size_t n, cap;
	int oom;
};

static void push_owned(struct argv_builder *b, char *s)
{
	if (!s) {
		b->oom = 1;
		return;
	}
	if (b->oom)
		goto drop;
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char **v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			b->oom = 1;
			goto drop;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = s;
	b->v[b->n] = NULL;
	return;
drop:
	free(s);
}

static void push(struct argv_builder *b, const char *s)
{
	push_owned(b, strdup(s));
}

static void __attribute__((format(printf, 2, 3))) pushf(struct argv_builder *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	push_owned(b, s);
}

/* QEMU option values are comma-separated; a literal comma is written ",,". */
static char *opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		commas += *p == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	o = out;
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

static int check_spec(const struct bx_vm_spec *s, struct bx_error *err)
{
	if (!s->qemu || !*s->qemu)
		return bx_err(err, -EINVAL, "VM spec: no engine binary");
	if (!s->kernel || !*s->kernel)
		return bx_err(err, -EINVAL, "VM spec: no kernel");
	if (!s->initramfs || !*s->initramfs)
		return bx_err(err, -EINVAL, "VM spec: no initramfs");
	if (!s->agent_sock || !*s->agent_sock)
		return bx_err(err, -EINVAL, "VM spec: no agent socket");
	if (s->cpus < 1 || s->cpus > 255)
		return bx_err(err, -EINVAL, "VM spec: cpus %u out of range 1..255", s->cpus);
	if (s->memory_mib < 16 || s->memory_mib > 1024u * 1024u)
		return bx_err(err, -EINVAL, "VM spec: memory %u MiB out of range", s->memory_mib);
	for (size_t i = 0; i < s->n_ports; i++) {
		const struct bx_vm_port *p = &s->ports[i];
		if (!p->host_ip || !*p->host_ip || strpbrk(p->host_ip, ",:= ") || p->host_port < 1 ||
		    p->host_port > 65535 || p->guest_port < 1 || p->guest_port > 65535)
			return bx_err(err, -EINVAL, "VM spec: bad published port");
	}
	for (size_t i = 0; i < s->n_volumes; i++)
		if (!s->volumes[i].host || s->volumes[i].host[0] != '/')
			return bx_err(err, -EINVAL, "VM spec: volume host path must be absolute");
	if (s->incoming_fd < 0 || (s->incoming_fd > 0 && s->incoming_fd < 3))
		return bx_err(err, -EINVAL, "VM spec: incoming fd %d is a standard stream", s->incoming_fd);
	if (s->mem_mode != BX_MEM_PRIVATE && s->mem_mode != BX_MEM_SHARED && s->mem_mode != BX_MEM_CLONE)
		return bx_err(err, -EINVAL, "VM spec: unknown memory mode %d", (int)s->mem_mode);
	if (s->accel != BX_ACCEL_TCG && s->accel != BX_ACCEL_KVM)
		return bx_err(err, -EINVAL, "VM spec: unknown accelerator %d", (int)s->accel);
	return 0;
}

static int qemu_microvm_build_argv(const struct bx_vm_spec *s, char ***argv_out, struct bx_error *err)
{
	struct argv_builder b = { 0 };
	char *e;
	int rc;

	*argv_out = NULL;
	rc = check_spec(s, err);
	if (rc < 0)
		return rc;

	push(&b, s->qemu);
	push(&b, "-M");
	pushf(&b, "microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off%s",
	      s->mem_path ? ",memory-backend=mem" : "");
	if (s->mem_path) {
		push(&b, "-object");
		e = opt_escape(s->mem_path);
		if (e)
			pushf(&b, "memory-backend-file,id=mem,size=%uM,mem-path=%s,%s", s->memory_mib, e,
			      s->mem_mode == BX_MEM_SHARED  ? "share=on"
			      : s->mem_mode == BX_MEM_CLONE ? "share=off,readonly=on,rom=off"
							    : "share=off");
		else
			b.oom = 1;
		free(e);
	}
	push(&b, "-accel");
	push(&b, bx_accel_name(s->accel));
	push(&b, "-cpu");
	push(&b, s->accel == BX_ACCEL_KVM ? "host" : "max");
	push(&b, "-m");
	pushf(&b, "%u", s->memory_mib);
	push(&b, "-smp");
	pushf(&b, "%u", s->cpus);
	push(&b, "-nodefaults");
	push(&b, "-no-user-config");
	push(&b, "-nographic");
	push(&b, "-no-reboot");
	if (s->sandbox) {
		push(&b, "-sandbox");
		push(&b, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	}

	/* Serial console (ttyS0). */
	if (s->console_log) {
		push(&b, "-chardev");
		e = opt_escape(s->console_log);
		if (e)
			pushf(&b, "file,id=con,path=%s", e);
		else
			b.oom = 1;
		free(e);
		push(&b, "-serial");
		push(&b, "chardev:con");
	} else {
		push(&b, "-serial");
		push(&b, "null");
	}

	/* -kernel/-initrd/-append take whole arguments: no comma escaping. */
	push(&b, "-kernel");
	push(&b, s->kernel);
	push(&b, "-initrd");
	push(&b, s->initramfs);
	push(&b, "-append");
	push(&b, s->cmdline                    ? s->cmdline
		 : s->accel == BX_ACCEL_TCG ? QEMU_MICROVM_CMDLINE_TCG
					    : QEMU_MICROVM_CMDLINE);

	/* Devices, in a fixed order: agent port, root disk, NIC. */
	push(&b, "-chardev");
	e = opt_escape(s->agent_sock);
	if (e)
		pushf(&b, "socket,id=agent,path=%s,server=on,wait=off", e);
	else
		b.oom = 1;
	free(e);
	/* max_ports: 31 by default, i.e. 64 virtqueues the guest driver sets
	 * up at probe (~35 ms of every boot under TCG); port 0 is reserved
	 * for a console, ours is port 1. */
	push(&b, "-device");
	push(&b, "virtio-serial-device,max_ports=2");
	push(&b, "-device");
	push(&b, "virtserialport,chardev=agent,name=" BXP_PORT_NAME);

	if (s->root_disk) {
		push(&b, "-drive");
		e = opt_escape(s->root_disk);
		if (e)
			pushf(&b, "id=root,file=%s,format=qcow2,if=none", e);
		else
			b.oom = 1;
		free(e);
		push(&b, "-device");
		push(&b, "virtio-blk-device,drive=root");
	}

	if (s->network) {
		char *nd = strdup("user,id=n0");

		for (size_t i = 0; nd && i < s->n_ports; i++) {
			const struct bx_vm_port *p = &s->ports[i];
			char *more = NULL;

			if (asprintf(&more, "%s,hostfwd=%s:%s:%u-:%u", nd, p->udp ? "udp" : "tcp", p->host_ip,
				     p->host_port, p->guest_port) < 0)
				more = NULL;
			free(nd);
			nd = more;
		}
		push(&b, "-netdev");
		push_owned(&b, nd);
		push(&b, "-device");
		push(&b, "virtio-net-device,netdev=n0");
	}

	/* Volumes: virtio-9p over QEMU's local backend. security_model=none:
	 * files are created as QEMU's own uid; the export is confined to path. */
	for (size_t i = 0; i < s->n_volumes; i++) {
		const struct bx_vm_volume *v = &s->volumes[i];

		e = opt_escape(v->host);
		push(&b, "-fsdev");
		if (e)
			pushf(&b, "local,id=fs%zu,path=%s,security_model=none%s", i, e,
			      v->read_only ? ",readonly=on" : "");
		else
			b.oom = 1;
		free(e);
		push(&b, "-device");
		pushf(&b, "virtio-9p-device,fsdev=fs%zu,mount_tag=vol%zu", i, i);
	}

	if (s->incoming_fd > 0) {
		/* A clone of a RAM-file template loads only once QMP has set
		 * x-ignore-shared, which no command-line option sets; it reads
		 * the state file as "file:" through an fd set (QEMU >= 9 warns
		 * that "fd:" for a file is deprecated). */
		if (s->mem_mode == BX_MEM_CLONE) {
			push(&b, "-add-fd");
			pushf(&b, "fd=%d,set=%d,opaque=template-state", s->incoming_fd, BX_VM_INCOMING_FDSET);
		}
		push(&b, "-S");
		push(&b, "-incoming");
		if (s->mem_mode == BX_MEM_CLONE)
			push(&b, "defer");
		else
			pushf(&b, "fd:%d", s->incoming_fd);
	}

	if (s->qmp_sock) {
		push(&b, "-qmp");
		e = opt_escape(s->qmp_sock);
		if (e)
			pushf(&b, "unix:%s,server=on,wait=off", e);
		else
			b.oom = 1;
		free(e);
	}

	if (b.oom) {
		bx_argv_free(b.v);
		return bx_err(err, -ENOMEM, "building the QEMU command line: out of memory");
	}
	*argv_out = b.v;
	return 0;
}

const struct bx_engine_ops bx_engine_qemu_microvm = {
	.name = "qemu-microvm",
	.build_argv = qemu_microvm_build_argv,
};
