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
 *
 * Rate limiting, once log_ratelimit_enable(true) is called (dimed does when
 * its loop starts; tools and tests never do): every call site, meaning the
 * pair (format string, caller), has a token bucket of LOG_RL_BURST messages
 * refilled at one per LOG_RL_INTERVAL_MS. A site's first message always
 * passes. What the bucket refuses is counted, not formatted, and reported
 * as one line "N similar messages suppressed: \"FORMAT\"" at the site's
 * level as soon as the site may log again: before its next message, or from
 * log_ratelimit_flush() once it has been quiet for an interval. Debug
 * messages are never limited: they are for a person who asked for them.
 * Start-up and shut-down are bounded and every line of them counts, so
 * dimed limits only while it runs.
 */
#ifndef DIME_LOG_H
#define DIME_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

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

/* ---- rate limiting ---------------------------------------------------------- */

#define LOG_RL_BURST 10
#define LOG_RL_INTERVAL_MS 1000u

/* Turning it off first reports every count still pending. Single-threaded
 * callers only (dimed is). */
void log_ratelimit_enable(bool on);
/* Report the sites whose suppression has ended (quiet for an interval).
 * Any log call does this too, at most once per interval; a periodic timer
 * makes the report timely when nothing else is logged. */
void log_ratelimit_flush(void);
/* For tests: the clock the limiter reads (monotonic milliseconds); NULL
 * restores CLOCK_MONOTONIC. */
void log_set_clock(uint64_t (*now_ms)(void));

/*
 * The limiter's pure core: a fixed table, no allocation, time a parameter.
 * A site hashes to LOG_RL_PROBE consecutive slots; when all hold other
 * sites, an idle one (full bucket, nothing counted) is taken over, and if
 * none is idle the message passes unlimited: losing a message is worse
 * than logging one too many.
 */
#define LOG_RL_SLOTS 128u
#define LOG_RL_PROBE 8u

struct log_rl_site {
	const char *fmt;	/* NULL: free */
	const void *caller;
	uint64_t credit_ms;	/* tokens, as milliseconds of refill; one costs interval_ms */
	uint64_t last_ms;	/* last refill */
	uint32_t suppressed;	/* refused since the site last passed */
	int level;
};

struct log_rl {
	struct log_rl_site site[LOG_RL_SLOTS];
	uint32_t burst;
	uint32_t interval_ms;
	uint32_t pending;	/* sites with suppressed > 0 */
	uint64_t unlimited;	/* messages passed because no slot was free */
};

enum log_rl_verdict {
	LOG_RL_PASS,
	LOG_RL_SUPPRESS,
};

/* burst >= 1 and interval_ms >= 1 (0 is taken as 1). */
void log_rl_init(struct log_rl *rl, uint32_t burst, uint32_t interval_ms);
/* Charge one message of the site at now_ms. On LOG_RL_PASS, *suppressed is
 * the count refused since the site last passed (to be reported first; the
 * count is reset). */
enum log_rl_verdict log_rl_check(struct log_rl *rl, const char *fmt, const void *caller, int level,
				 uint64_t now_ms, uint32_t *suppressed);

typedef void (*log_rl_report_fn)(void *ctx, const char *fmt, int level, uint32_t suppressed);
/* Report and reset the counts of sites that could pass a message at now_ms
 * (every site with a count when all is set). Returns how many were reported. */
unsigned log_rl_collect(struct log_rl *rl, uint64_t now_ms, bool all, log_rl_report_fn report,
			void *ctx);

#endif
