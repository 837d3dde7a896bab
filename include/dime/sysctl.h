/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writing /proc/sys settings that dimed must put back at exit. Paths are
 * relative to /proc/sys with slashes ("net/ipv4/conf/eth0/rp_filter"; the
 * dotted form is ambiguous for interface names like eth0.100). Every
 * change is recorded, first value kept, in a small file-static table;
 * sysctl_restore_all() puts each original back, newest first, unless
 * somebody else changed the setting after us, which then wins.
 * /proc/sys/net is per network namespace: the namespace of the process.
 */
#ifndef DIME_SYSCTL_H
#define DIME_SYSCTL_H

#include <stddef.h>

#define SYSCTL_SAVED_MAX 256	/* three per interface, and `all`/`default` */
#define SYSCTL_PATH_MAX 128
#define SYSCTL_VALUE_MAX 64

struct sysctl_saved {
	char path[SYSCTL_PATH_MAX];	/* relative to /proc/sys */
	char old[SYSCTL_VALUE_MAX];	/* before our first change */
	char set[SYSCTL_VALUE_MAX];	/* what we wrote last */
};

/* Read a value, trailing newline removed. 0 or -errno (-EINVAL for a bad
 * path, -ENAMETOOLONG, -EOVERFLOW when it does not fit in size). */
int sysctl_get(const char *path, char *buf, size_t size);
/* Read an integer value. 0 or -errno (-EINVAL when not an integer). */
int sysctl_get_int(const char *path, int *val);

/*
 * Write value and record the previous one for restore (kept from the first
 * change when the path is set again). When saved is not NULL it receives
 * the record. Writing the value already there is not recorded and writes
 * nothing. 0 or -errno (logged): -ENOSPC when SYSCTL_SAVED_MAX settings
 * are already recorded.
 */
int sysctl_set(const char *path, const char *value, struct sysctl_saved *saved);

/* Restore every recorded setting and forget them. 0, or the first -errno
 * (each failure logged; the others are still restored). */
int sysctl_restore_all(void);

/* Number of settings currently recorded. */
size_t sysctl_saved_count(void);

/*
 * Crash safety: a dimed killed with SIGKILL never restores what it
 * changed, and the next run would record our values as the originals. So
 * every change to the record is also written, atomically, to a journal
 * file; a clean sysctl_restore_all() removes it.
 *
 * Journal format: "dime-sysctl 1\n", then one "PATH\tOLD\tSET\n" per
 * setting, at most SYSCTL_SAVED_MAX of them, at most SYSCTL_JOURNAL_MAX
 * bytes in all; values never hold a tab or a newline.
 */
#define SYSCTL_JOURNAL_MAX (SYSCTL_SAVED_MAX * (SYSCTL_PATH_MAX + 2 * SYSCTL_VALUE_MAX) + 32)

/* Journal every change to path from now on (NULL: stop). 0 or -errno
 * (-ENAMETOOLONG). */
int sysctl_journal(const char *path);

/* Parse a journal: pure. Fills out[0..*n). 0, or -EINVAL for anything
 * malformed (then *n is 0), -ENOSPC for more than max entries. */
int sysctl_journal_parse(const char *buf, size_t len, struct sysctl_saved *out, size_t max,
			 size_t *n);

/* Put back what a crashed run left, as a clean exit would have (a setting
 * somebody changed since stays as it is), then remove the journal.
 * Returns how many were restored, 0 when there is no journal, or -errno. */
int sysctl_journal_recover(const char *path);

#endif
