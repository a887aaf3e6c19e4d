/* mkinitramfs: writes a cpio "newc" archive (the initramfs format) from a
 * list of entries given on the command line, to stdout. Host build tool.
 *
 * Every entry is owned by 0:0 with mtime 0 and inode numbers in argument
 * order, so the output is byte-for-byte reproducible and needs no root (a
 * device node is just a header here; the kernel creates it when unpacking).
 *
 *   mkinitramfs ENTRY... > initramfs.cpio
 *     dir:PATH:MODE             directory          (MODE in octal)
 *     file:PATH:MODE:SOURCE     regular file with SOURCE's contents
 *     nod:PATH:MODE:c|b:MAJ:MIN device node
 *     slink:PATH:TARGET         symbolic link
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned long offset;
static unsigned next_ino = 1;

static void out(const void *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n) {
		perror("mkinitramfs: write");
		exit(1);
	}
	offset += n;
}

static void pad4(void)
{
	static const char zero[4];

	out(zero, (4 - offset % 4) % 4);
}

static void header(const char *name, unsigned mode, unsigned long size, unsigned nlink,
		   unsigned rmaj, unsigned rmin)
{
	unsigned fields[13] = {
		strcmp(name, "TRAILER!!!") ? next_ino++ : 0, mode, 0, 0, nlink, 0, (unsigned)size,
		0, 0, rmaj, rmin, (unsigned)strlen(name) + 1, 0,
	};
	char h[16];

	if (size > 0xffffffffUL) {
		fprintf(stderr, "mkinitramfs: %s: too large for newc\n", name);
		exit(1);
	}
	out("070701", 6);
	for (int i = 0; i < 13; i++) {
		snprintf(h, sizeof(h), "%08X", fields[i]);
		out(h, 8);
	}
	out(name, strlen(name) + 1);
	pad4();
}

static unsigned parse_mode(const char *s)
{
	char *end;
	unsigned long m = strtoul(s, &end, 8);

	if (!*s || *end || m > 07777) {
		fprintf(stderr, "mkinitramfs: bad mode %s\n", s);
		exit(2);
	}
	return (unsigned)m;
}

static void add_file(const char *path, unsigned mode, const char *src)
{
	char buf[65536];
	FILE *f = fopen(src, "rb");
	long size;
	size_t n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "mkinitramfs: %s: %s\n", src, strerror(errno));
		exit(1);
	}
	header(path, S_IFREG | mode, (unsigned long)size, 1, 0, 0);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		out(buf, n);
		size -= (long)n;
	}
	if (ferror(f) || size != 0) {
		fprintf(stderr, "mkinitramfs: %s changed while reading\n", src);
		exit(1);
	}
	fclose(f);
	pad4();
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *f[6] = { 0 };
		int nf = 0;
		char *save = NULL;

		for (char *t = strtok_r(argv[i], ":", &save); t && nf < 6; t = strtok_r(NULL, ":", &save))
			f[nf++] = t;
		if (nf == 3 && !strcmp(f[0], "dir")) {
			header(f[1], S_IFDIR | parse_mode(f[2]), 0, 2, 0, 0);
		} else if (nf == 4 && !strcmp(f[0], "file")) {
			add_file(f[1], parse_mode(f[2]), f[3]);
		} else if (nf == 6 && !strcmp(f[0], "nod") && (!strcmp(f[3], "c") || !strcmp(f[3], "b"))) {
			unsigned type = f[3][0] == 'c' ? S_IFCHR : S_IFBLK;
			header(f[1], type | parse_mode(f[2]), 0, 1, (unsigned)atoi(f[4]), (unsigned)atoi(f[5]));
		} else if (nf == 3 && !strcmp(f[0], "slink")) {
			header(f[1], S_IFLNK | 0777, strlen(f[2]), 1, 0, 0);
			out(f[2], strlen(f[2]));
			pad4();
		} else {
			fprintf(stderr, "mkinitramfs: bad entry %s\n", argv[i]);
			return 2;
		}
	}
	header("TRAILER!!!", 0, 0, 1, 0, 0);
	/* The kernel reads whole 512-byte blocks happily; pad like cpio does. */
	while (offset % 512)
		out("", 1);
	if (fflush(stdout) != 0) {
		perror("mkinitramfs: write");
		return 1;
	}
	return 0;
}
