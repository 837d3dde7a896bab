/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging for a daemon that runs under systemd: one line per event on stderr.
 * When stderr is the journal (JOURNAL_STREAM names it), each line carries a
 * "<N>" syslog priority prefix that journald turns into the entry's
 * priority; otherwise lines start with the program name. The subject goes
 * first in every message ("hid 3: 198.51.100.7 unreachable after 3 probes").
 *
 * log_warn() and log_err() append ": strerror(errno)" (as OpenBSD's log.c
 * does); the *x forms do not. Pass the error explicitly with the _e forms
 * when the code holds a -errno value rather than errno.
 */
#ifndef DIME_LOG_H
#define DIME_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

void log_init(const char *progname, enum log_level max_level);
void log_set_level(enum log_level max_level);
enum log_level log_get_level(void);
/* True when lines carry "<N>" prefixes for journald. */
bool log_to_journal(void);

void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err_e(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn_e(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* errno-taking forms, for call sites right after a failed libc call. */
#define log_warn(...) log_warn_e(errno, __VA_ARGS__)
#define log_err(...) log_err_e(errno, __VA_ARGS__)

/* Parse "err", "warning", "notice", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

#endif
