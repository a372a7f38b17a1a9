// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * matrix_arch.c - the one place that knows what differs between the
 * architectures `pidshim matrix --arch` can boot: the qemu binary and its
 * machine arguments, the CPU model under TCG and KVM, the serial console
 * the guest writes to, the Debian architecture and kernel flavour its
 * suites are fetched with, where a static busybox for the guest is, and
 * the ELF machine of the binaries the guest can run.  Adding an
 * architecture is adding a row here (plus the static pidshim for it in
 * the libexec directory, and a static busybox there when the host has
 * none of that architecture, see matrix.c).  The ELF checks live here too:
 * the initramfs has no libc, so the test must be static and of the
 * guest's machine, which is cheaper to say before a boot than after.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "matrix.h"

static const char *const x86_64_machine[] = { NULL };
static const char *const aarch64_machine[] = { "-M", "virt", NULL };

static const struct mx_arch arches[] = {
	{
		.name = "x86_64",
		.qemu = "qemu-system-x86_64",
		.qemu_package = "qemu-system-x86",
		.machine = x86_64_machine,
		.cpu_tcg = "max",
		.cpu_kvm = "host",
		.console = "ttyS0",
		.debian_arch = "amd64",
		.kernel_flavour = "cloud-amd64",
		.busybox = "/bin/busybox",
		.busybox_pkg = "busybox-static",
		.elf_machine = EM_X86_64,
		.elf_compat = EM_386,
		.uname_machine = "x86_64",
	},
	{
		/*
		 * Debian's cloud-arm64 kernels boot on qemu's virt board with
		 * the PL011 console.  Under TCG, pauth-impdef swaps the
		 * architected QARMA pointer-authentication cipher for qemu's
		 * own cheap one: the guest cannot tell, and it runs several
		 * times faster (every return of a kernel built with
		 * -mbranch-protection signs and checks a pointer).
		 */
		.name = "aarch64",
		.qemu = "qemu-system-aarch64",
		.qemu_package = "qemu-system-arm",
		.machine = aarch64_machine,
		.cpu_tcg = "max,pauth-impdef=on",
		.cpu_kvm = "host",
		.console = "ttyAMA0",
		.debian_arch = "arm64",
		.kernel_flavour = "cloud-arm64",
		/* No arm64 busybox on another host: LIBEXEC/aarch64/busybox. */
		.busybox = NULL,
		.busybox_pkg = "busybox-static:arm64",
		.elf_machine = EM_AARCH64,
		.elf_compat = 0,
		.uname_machine = "aarch64",
	},
};

#define N_ARCHES (sizeof(arches) / sizeof(arches[0]))

const struct mx_arch *mx_arch_lookup(const char *name)
{
	for (size_t i = 0; i < N_ARCHES; i++)
		if (!strcmp(arches[i].name, name))
			return &arches[i];
	return NULL;
}

const char *mx_arch_names(void)
{
	static char buf[128];

	buf[0] = '\0';
	for (size_t i = 0; i < N_ARCHES; i++) {
		if (i)
			strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, arches[i].name, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

/* Integer of n bytes at p in the file's byte order. */
static uint64_t get(const unsigned char *p, int n, bool big)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[big ? n - 1 - i : i] << (8 * i);
	return v;
}

/* A "#!" script: fine when busybox in the guest has the interpreter. */
static int check_script(const unsigned char *buf, ssize_t n, const char **why)
{
	const unsigned char *p = buf + 2;

	while (p < buf + n && (*p == ' ' || *p == '\t'))
		p++;
	if (buf + n - p >= 5 && !memcmp(p, "/bin/", 5))
		return 0;
	*why = "a script whose interpreter is not in /bin, "
	       "where the guest has busybox";
	return -ENOEXEC;
}

/* The program headers: -ENOEXEC when one asks for a dynamic loader. */
static int check_static(int fd, const unsigned char *h, bool is64, bool big,
			const char **why)
{
	uint64_t off = is64 ? get(h + 32, 8, big) : get(h + 28, 4, big);
	unsigned entsize = (unsigned)get(h + (is64 ? 54 : 42), 2, big);
	unsigned num = (unsigned)get(h + (is64 ? 56 : 44), 2, big);
	unsigned char ph[4];

	for (unsigned i = 0; i < num; i++) {
		if (pread(fd, ph, sizeof(ph), (off_t)(off + (uint64_t)i * entsize)) !=
		    sizeof(ph)) {
			*why = "truncated ELF program headers";
			return -ENOEXEC;
		}
		if (get(ph, 4, big) == PT_INTERP) {
			*why = "dynamically linked (the guest has no libc: "
			       "link it with -static)";
			return -ENOEXEC;
		}
	}
	return 0;
}

int mx_check_guest_binary(const struct mx_arch *a, const char *path, const char **why)
{
	unsigned char h[64];
	unsigned machine;
	bool is64, big;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	n = pread(fd, h, sizeof(h), 0);
	if (n >= 2 && h[0] == '#' && h[1] == '!') {
		r = check_script(h, n, why);
	} else if (n < 52 || memcmp(h, ELFMAG, SELFMAG) != 0) {
		*why = "neither an ELF executable nor a #! script";
		r = -ENOEXEC;
	} else {
		is64 = h[EI_CLASS] == ELFCLASS64;
		big = h[EI_DATA] == ELFDATA2MSB;
		machine = (unsigned)get(h + 18, 2, big);
		if (machine != a->elf_machine &&
		    (!a->elf_compat || machine != a->elf_compat)) {
			*why = "built for another machine than the guest's";
			r = -ENOEXEC;
		} else if (is64 && n < 64) {
			*why = "truncated ELF header";
			r = -ENOEXEC;
		} else {
			r = check_static(fd, h, is64, big, why);
		}
	}
	close(fd);
	return r;
}
