// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * matrix_initramfs.c - writes the guests' initramfs as a cpio archive in
 * the "newc" format the kernel unpacks (Documentation/driver-api/
 * early-userspace/buffer-format.rst): a 110-byte ASCII header, the name,
 * the data, each padded to 4 bytes.  Written here rather than with
 * cpio(1) so that `pidshim matrix` needs no more tools than qemu and a
 * static busybox, and so that entries a user cannot make on the host (a
 * /dev/console node) come without privileges.  Uncompressed on purpose:
 * an emulated CPU inflates slowly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "matrix.h"

static void pad4(struct mx_cpio *c)
{
	while (ftell(c->f) % 4)
		fputc(0, c->f);
}

static int header(struct mx_cpio *c, const char *name, unsigned mode, size_t size,
		  unsigned rmajor, unsigned rminor)
{
	if (c->err)
		return c->err;
	/* Names are relative to the archive's root, without "./" or "/". */
	while (*name == '/')
		name++;
	fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X",
		c->ino++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)size, 0u,
		0u, rmajor, rminor, strlen(name) + 1, 0u);
	fputs(name, c->f);
	fputc(0, c->f);
	pad4(c);
	if (ferror(c->f))
		c->err = -EIO;
	return c->err;
}

int mx_cpio_open(struct mx_cpio *c, const char *path)
{
	c->ino = 1;
	c->err = 0;
	c->f = fopen(path, "we");
	return c->f ? 0 : -errno;
}

int mx_cpio_dir(struct mx_cpio *c, const char *name)
{
	return header(c, name, S_IFDIR | 0755, 0, 0, 0);
}

int mx_cpio_data(struct mx_cpio *c, const char *name, const void *data, size_t len,
		 unsigned mode)
{
	if (header(c, name, S_IFREG | (mode & 07777), len, 0, 0))
		return c->err;
	fwrite(data, 1, len, c->f);
	pad4(c);
	if (ferror(c->f))
		c->err = -EIO;
	return c->err;
}

int mx_cpio_symlink(struct mx_cpio *c, const char *name, const char *target)
{
	if (header(c, name, S_IFLNK | 0777, strlen(target), 0, 0))
		return c->err;
	fputs(target, c->f);
	pad4(c);
	return c->err;
}

int mx_cpio_chardev(struct mx_cpio *c, const char *name, unsigned major, unsigned minor)
{
	return header(c, name, S_IFCHR | 0600, 0, major, minor);
}

int mx_cpio_file(struct mx_cpio *c, const char *name, const char *src, unsigned mode)
{
	char buf[65536];
	struct stat st;
	size_t left;
	ssize_t n;
	int fd;

	if (c->err)
		return c->err;
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		c->err = -errno;
		if (fd >= 0)
			close(fd);
		return c->err;
	}
	if (st.st_size > (off_t)UINT32_MAX) {
		close(fd);
		return c->err = -EFBIG;
	}
	header(c, name, S_IFREG | (mode ? mode : st.st_mode & 07777), (size_t)st.st_size,
	       0, 0);
	for (left = (size_t)st.st_size; !c->err && left > 0; left -= (size_t)n) {
		n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n <= 0) {
			c->err = n < 0 ? -errno : -EIO; /* the file shrank */
			break;
		}
		fwrite(buf, 1, (size_t)n, c->f);
	}
	close(fd);
	pad4(c);
	return c->err;
}

int mx_cpio_tree(struct mx_cpio *c, const char *name, const char *src)
{
	char sub_name[PATH_MAX], sub_src[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (c->err)
		return c->err;
	if (stat(src, &st) < 0)
		return c->err = -errno;
	if (!S_ISDIR(st.st_mode))
		return mx_cpio_file(c, name, src, 0);
	mx_cpio_dir(c, name);
	d = opendir(src);
	if (!d)
		return c->err = -errno;
	while (!c->err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub_name, sizeof(sub_name), "%s/%s", name,
				     e->d_name) >= sizeof(sub_name) ||
		    (size_t)snprintf(sub_src, sizeof(sub_src), "%s/%s", src, e->d_name) >=
			    sizeof(sub_src))
			c->err = -ENAMETOOLONG;
		else
			mx_cpio_tree(c, sub_name, sub_src);
	}
	closedir(d);
	return c->err;
}

int mx_cpio_close(struct mx_cpio *c)
{
	int r;

	header(c, "TRAILER!!!", 0, 0, 0, 0);
	r = fclose(c->f);
	if (!c->err && r != 0)
		c->err = -EIO;
	return c->err;
}
