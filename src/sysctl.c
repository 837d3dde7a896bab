// SPDX-License-Identifier: BSD-2-Clause
/*
 * /proc/sys reads and recorded writes (see sysctl.h). The record is a
 * bounded file-static array: dimed changes a handful of settings per
 * mobility interface, and restore must work without allocating at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dime/log.h"
#include "dime/sysctl.h"

static struct sysctl_saved saved_tab[SYSCTL_SAVED_MAX];
static size_t n_saved;

/* Relative, no "..", no empty component: a setting name, never a way out
 * of /proc/sys. */
static int full_path(const char *path, char *buf, size_t size)
{
	const char *p = path;
	int n;

	if (!*path || *path == '/')
		return -EINVAL;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 2 && p[0] == '.' && p[1] == '.') || (len == 1 && p[0] == '.'))
			return -EINVAL;
		p += len;
		if (*p == '/')
			p++;
	}
	if (p[-1] == '/')
		return -EINVAL;
	n = snprintf(buf, size, "/proc/sys/%s", path);
	if (n < 0 || (size_t)n >= size || strlen(path) >= SYSCTL_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int sysctl_get(const char *path, char *buf, size_t size)
{
	char full[SYSCTL_PATH_MAX + 16];
	ssize_t n;
	int fd, err;

	if ((err = full_path(path, full, sizeof(full))) < 0)
		return err;
	if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, size);
	err = -errno;
	close(fd);
	if (n < 0)
		return err;
	if ((size_t)n == size)
		return -EOVERFLOW;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

int sysctl_get_int(const char *path, int *val)
{
	char buf[SYSCTL_VALUE_MAX], *end;
	long v;
	int err;

	if ((err = sysctl_get(path, buf, sizeof(buf))) < 0)
		return err;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || *end || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*val = (int)v;
	return 0;
}

static int write_value(const char *path, const char *value)
{
	char full[SYSCTL_PATH_MAX + 16];
	size_t len = strlen(value);
	ssize_t n;
	int fd, err;

	if ((err = full_path(path, full, sizeof(full))) < 0)
		return err;
	if ((fd = open(full, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = write(fd, value, len);
	err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

static struct sysctl_saved *find_saved(const char *path)
{
	for (size_t i = 0; i < n_saved; i++)
		if (strcmp(saved_tab[i].path, path) == 0)
			return &saved_tab[i];
	return NULL;
}

int sysctl_set(const char *path, const char *value, struct sysctl_saved *saved)
{
	struct sysctl_saved *rec = find_saved(path);
	char old[SYSCTL_VALUE_MAX];
	bool added = false;
	int err;

	if (strlen(value) >= SYSCTL_VALUE_MAX || strlen(path) >= SYSCTL_PATH_MAX)
		return -ENAMETOOLONG;
	if ((err = sysctl_get(path, old, sizeof(old))) < 0) {
		log_warn_e(err, "sysctl %s: cannot read", path);
		return err;
	}
	if (strcmp(old, value) == 0) {
		if (saved)
			*saved = rec ? *rec : (struct sysctl_saved){ 0 };
		return 0;
	}
	if (!rec) {
		if (n_saved == SYSCTL_SAVED_MAX) {
			log_warnx("sysctl %s: not changed, %d settings already recorded", path,
				  SYSCTL_SAVED_MAX);
			return -ENOSPC;
		}
		rec = &saved_tab[n_saved++];
		snprintf(rec->path, sizeof(rec->path), "%s", path);
		snprintf(rec->old, sizeof(rec->old), "%s", old);
		added = true;
	}
	if ((err = write_value(path, value)) < 0) {
		log_warn_e(err, "sysctl %s: cannot set %s (was %s)", path, value, old);
		if (added)
			n_saved--;
		return err;
	}
	snprintf(rec->set, sizeof(rec->set), "%s", value);
	log_info("sysctl %s: %s -> %s", path, old, value);
	if (saved)
		*saved = *rec;
	return 0;
}

static int restore_one(const struct sysctl_saved *rec)
{
	char now[SYSCTL_VALUE_MAX];
	int err;

	if ((err = sysctl_get(rec->path, now, sizeof(now))) < 0) {
		if (err != -ENOENT)	/* ENOENT: the interface went away, nothing to do */
			log_warn_e(err, "sysctl %s: cannot read to restore", rec->path);
		return err == -ENOENT ? 0 : err;
	}
	if (strcmp(now, rec->set) != 0) {
		log_notice("sysctl %s: left at %s (changed by someone else after we set %s)",
			   rec->path, now, rec->set);
		return 0;
	}
	if ((err = write_value(rec->path, rec->old)) < 0) {
		log_warn_e(err, "sysctl %s: cannot restore %s", rec->path, rec->old);
		return err;
	}
	log_info("sysctl %s: restored %s", rec->path, rec->old);
	return 0;
}

int sysctl_restore_all(void)
{
	int first = 0;

	while (n_saved > 0) {
		int err = restore_one(&saved_tab[--n_saved]);

		if (err < 0 && !first)
			first = err;
	}
	return first;
}

size_t sysctl_saved_count(void)
{
	return n_saved;
}
