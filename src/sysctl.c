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
static char journal_path[PATH_MAX];

static void journal_write(void);

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
	journal_write();
	if (saved)
		*saved = *rec;
	return 0;
}

/* 1 when the original went back, 0 when there was nothing to do (the
 * setting is gone, or somebody changed it after us), or -errno. */
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
	return 1;
}

int sysctl_restore_all(void)
{
	int first = 0;

	while (n_saved > 0) {
		int err = restore_one(&saved_tab[--n_saved]);

		if (err < 0 && !first)
			first = err;
	}
	if (journal_path[0] && unlink(journal_path) < 0 && errno != ENOENT)
		log_warn_e(-errno, "sysctl journal %s: cannot remove", journal_path);
	return first;
}

size_t sysctl_saved_count(void)
{
	return n_saved;
}

/* ---- the journal ---------------------------------------------------------------- */

#define JOURNAL_MAGIC "dime-sysctl 1\n"

int sysctl_journal(const char *path)
{
	if (!path) {
		journal_path[0] = '\0';
		return 0;
	}
	if (strlen(path) + 5 >= sizeof(journal_path))	/* room for ".tmp" */
		return -ENAMETOOLONG;
	snprintf(journal_path, sizeof(journal_path), "%s", path);
	journal_write();
	return 0;
}

static bool journal_safe(const char *v)
{
	return !strpbrk(v, "\t\n");
}

/* The whole record, to a temporary file renamed over the journal: a crash
 * leaves the old journal or the new one, never half of one. Failures are
 * logged; the settings themselves are already applied. */
static void journal_write(void)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	int fd;

	if (!journal_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", journal_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		log_warn_e(-errno, "sysctl journal %s: cannot write", tmp);
		if (fd >= 0)
			close(fd);
		return;
	}
	fputs(JOURNAL_MAGIC, f);
	for (size_t i = 0; i < n_saved; i++)
		if (journal_safe(saved_tab[i].old) && journal_safe(saved_tab[i].set))
			fprintf(f, "%s\t%s\t%s\n", saved_tab[i].path, saved_tab[i].old,
				saved_tab[i].set);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		log_warn_e(-errno, "sysctl journal %s: cannot write", tmp);
		fclose(f);
		unlink(tmp);
		return;
	}
	fclose(f);
	if (rename(tmp, journal_path) < 0) {
		log_warn_e(-errno, "sysctl journal %s: cannot rename into place", journal_path);
		unlink(tmp);
	}
}

/* One field of a journal line: up to the separator sep, copied into out. */
static const char *field(const char *p, const char *end, char sep, char *out, size_t size)
{
	const char *q = memchr(p, sep, (size_t)(end - p));
	size_t len;

	if (!q || q == p)
		return NULL;
	len = (size_t)(q - p);
	if (len >= size || memchr(p, '\0', len) || memchr(p, '\t', len) || memchr(p, '\n', len))
		return NULL;
	memcpy(out, p, len);
	out[len] = '\0';
	return q + 1;
}

int sysctl_journal_parse(const char *buf, size_t len, struct sysctl_saved *out, size_t max,
			 size_t *n)
{
	const char *p = buf, *end = buf + len;
	char check[SYSCTL_PATH_MAX + 16];

	*n = 0;
	if (len > SYSCTL_JOURNAL_MAX || len < sizeof(JOURNAL_MAGIC) - 1 ||
	    memcmp(buf, JOURNAL_MAGIC, sizeof(JOURNAL_MAGIC) - 1) != 0)
		return -EINVAL;
	p += sizeof(JOURNAL_MAGIC) - 1;
	while (p < end) {
		struct sysctl_saved rec;

		if (*n == max) {
			*n = 0;
			return -ENOSPC;
		}
		if (!(p = field(p, end, '\t', rec.path, sizeof(rec.path))) ||
		    !(p = field(p, end, '\t', rec.old, sizeof(rec.old))) ||
		    !(p = field(p, end, '\n', rec.set, sizeof(rec.set))) ||
		    full_path(rec.path, check, sizeof(check)) < 0) {
			*n = 0;
			return -EINVAL;
		}
		out[(*n)++] = rec;
	}
	return 0;
}

int sysctl_journal_recover(const char *path)
{
	static struct sysctl_saved recs[SYSCTL_SAVED_MAX];
	static char buf[SYSCTL_JOURNAL_MAX + 1];
	size_t n = 0, got = 0;
	ssize_t r;
	int fd, err, restored = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	while (got < sizeof(buf) && (r = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)r;
	close(fd);
	if (got == sizeof(buf) || (err = sysctl_journal_parse(buf, got, recs, SYSCTL_SAVED_MAX, &n)) < 0) {
		log_warnx("sysctl journal %s: malformed, ignored (the settings it names stay as they are)",
			  path);
		unlink(path);
		return -EINVAL;
	}
	/* Newest first, as sysctl_restore_all() does. */
	while (n > 0) {
		if (restore_one(&recs[--n]) > 0)
			restored++;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn_e(-errno, "sysctl journal %s: cannot remove", path);
	if (restored)
		log_notice("sysctl: put back %d setting(s) an earlier run left changed", restored);
	return restored;
}
