// SPDX-License-Identifier: BSD-2-Clause
/*
 * Log sink (see log.h). State is file-static: the program name, the level,
 * whether stderr is the journal, and the rate limiter's table. Writing is
 * one fprintf per line so lines from one process never interleave mid-line.
 *
 * The limiter sits between the level test and the formatting, so a refused
 * message costs a clock read and a table probe, never a vsnprintf.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dime/log.h"

static const char *log_progname = "dime";
static enum log_level log_max_level = LOG_LEVEL_INFO;
static bool log_journal;
static bool log_stamps;	/* DIME_LOG_TIMESTAMPS: wall-clock prefix */

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM=dev:ino for the stream it connected to
 * stderr; it is only ours if stderr still is that stream (a child whose
 * stderr was redirected inherits the variable but not the stream). */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, enum log_level max_level)
{
	log_progname = progname;
	log_max_level = max_level;
	log_journal = stderr_is_journal();
	log_stamps = getenv("DIME_LOG_TIMESTAMPS") && *getenv("DIME_LOG_TIMESTAMPS");
}

void log_set_level(enum log_level max_level)
{
	log_max_level = max_level;
}

enum log_level log_get_level(void)
{
	return log_max_level;
}

bool log_to_journal(void)
{
	return log_journal;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] && strcmp(level_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < sizeof(level_names) / sizeof(level_names[0]) && level_names[level])
		return level_names[level];
	return "unknown";
}

/* ---- the limiter's core (pure) ------------------------------------------------ */

void log_rl_init(struct log_rl *rl, uint32_t burst, uint32_t interval_ms)
{
	memset(rl, 0, sizeof(*rl));
	rl->burst = burst ? burst : 1;
	rl->interval_ms = interval_ms ? interval_ms : 1;
}

static uint64_t rl_capacity(const struct log_rl *rl)
{
	return (uint64_t)rl->burst * rl->interval_ms;
}

/* A clock that stands still or goes back refills nothing; the gap is
 * compared before it is added, so no sum can overflow. */
static void rl_refill(const struct log_rl *rl, struct log_rl_site *s, uint64_t now_ms)
{
	uint64_t cap = rl_capacity(rl);

	if (now_ms <= s->last_ms)
		return;
	if (now_ms - s->last_ms >= cap - s->credit_ms)
		s->credit_ms = cap;
	else
		s->credit_ms += now_ms - s->last_ms;
	s->last_ms = now_ms;
}

static size_t rl_home(const char *fmt, const void *caller)
{
	uint64_t h = ((uint64_t)(uintptr_t)fmt ^ ((uint64_t)(uintptr_t)caller << 17)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 40) % LOG_RL_SLOTS;
}

static bool rl_idle(const struct log_rl *rl, struct log_rl_site *s, uint64_t now_ms)
{
	if (s->suppressed)
		return false;
	rl_refill(rl, s, now_ms);
	return s->credit_ms == rl_capacity(rl);
}

/* The site's slot, a new one with a full bucket, or NULL when its probe
 * range is all taken by sites that are not idle. */
static struct log_rl_site *rl_site(struct log_rl *rl, const char *fmt, const void *caller,
				   uint64_t now_ms)
{
	size_t home = rl_home(fmt, caller);
	struct log_rl_site *fresh = NULL, *idle = NULL, *s;

	for (size_t i = 0; i < LOG_RL_PROBE; i++) {
		s = &rl->site[(home + i) % LOG_RL_SLOTS];
		if (s->fmt == fmt && s->caller == caller)
			return s;
		if (!s->fmt)
			fresh = fresh ? fresh : s;
		else if (!idle && rl_idle(rl, s, now_ms))
			idle = s;
	}
	s = fresh ? fresh : idle;
	if (s)
		*s = (struct log_rl_site){ .fmt = fmt, .caller = caller, .credit_ms = rl_capacity(rl),
					   .last_ms = now_ms };
	return s;
}

enum log_rl_verdict log_rl_check(struct log_rl *rl, const char *fmt, const void *caller, int level,
				 uint64_t now_ms, uint32_t *suppressed)
{
	struct log_rl_site *s = rl_site(rl, fmt, caller, now_ms);

	*suppressed = 0;
	if (!s) {
		rl->unlimited++;
		return LOG_RL_PASS;
	}
	s->level = level;
	rl_refill(rl, s, now_ms);
	if (s->credit_ms < rl->interval_ms) {
		if (s->suppressed == 0)
			rl->pending++;
		if (s->suppressed < UINT32_MAX)
			s->suppressed++;
		return LOG_RL_SUPPRESS;
	}
	s->credit_ms -= rl->interval_ms;
	if (s->suppressed) {
		*suppressed = s->suppressed;
		s->suppressed = 0;
		rl->pending--;
	}
	return LOG_RL_PASS;
}

unsigned log_rl_collect(struct log_rl *rl, uint64_t now_ms, bool all, log_rl_report_fn report,
			void *ctx)
{
	unsigned n = 0;

	for (size_t i = 0; i < LOG_RL_SLOTS && rl->pending; i++) {
		struct log_rl_site *s = &rl->site[i];

		if (!s->fmt || !s->suppressed)
			continue;
		rl_refill(rl, s, now_ms);
		if (!all && s->credit_ms < rl->interval_ms)
			continue;
		report(ctx, s->fmt, s->level, s->suppressed);
		s->suppressed = 0;
		rl->pending--;
		n++;
	}
	return n;
}

/* ---- writing -------------------------------------------------------------------- */

static struct log_rl log_rl_table;
static bool log_rl_on;
static uint64_t log_rl_next_collect;

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t (*log_clock)(void) = monotonic_ms;

void log_set_clock(uint64_t (*now_ms)(void))
{
	log_clock = now_ms ? now_ms : monotonic_ms;
}

/* "HH:MM:SS.mmm " of the wall clock, when DIME_LOG_TIMESTAMPS is set and
 * stderr is not the journal (which stamps lines itself): for following a
 * hand-off in a terminal or a test's log to the millisecond. */
static const char *stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	buf[0] = '\0';
	if (log_journal || !log_stamps || clock_gettime(CLOCK_REALTIME, &ts) < 0 ||
	    !localtime_r(&ts.tv_sec, &tm))
		return buf;
	snprintf(buf, size, "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
	return buf;
}

static void log_line(int level, const char *msg, int err)
{
	char ts[64];

	if (log_journal) {
		if (err)
			fprintf(stderr, "<%d>%s: %s\n", level, msg, strerror(err));
		else
			fprintf(stderr, "<%d>%s\n", level, msg);
	} else {
		if (err)
			fprintf(stderr, "%s%s: %s: %s\n", stamp(ts, sizeof(ts)), log_progname, msg,
				strerror(err));
		else
			fprintf(stderr, "%s%s: %s\n", stamp(ts, sizeof(ts)), log_progname, msg);
	}
}

/* The summary names the site by its format string, on one line and cut
 * short: the arguments were never formatted. */
static void report_suppressed(void *ctx, const char *fmt, int level, uint32_t n)
{
	char shown[128], msg[192];
	size_t i;

	if (level > (int)log_max_level)
		return;
	for (i = 0; fmt[i] && i < sizeof(shown) - 4; i++)
		shown[i] = (unsigned char)fmt[i] < ' ' ? ' ' : fmt[i];
	if (fmt[i]) {
		memcpy(shown + i, "...", 3);
		i += 3;
	}
	shown[i] = '\0';
	snprintf(msg, sizeof(msg), "%u similar message%s suppressed: \"%s\"", n, n == 1 ? "" : "s", shown);
	log_line(level, msg, 0);
}

/* True when the limiter refuses the message; reports what is due first. */
static bool limited(enum log_level level, const char *fmt, const void *caller)
{
	uint64_t now;
	uint32_t n;

	if (!log_rl_on || level >= LOG_LEVEL_DEBUG)
		return false;
	now = log_clock();
	if (log_rl_table.pending && now >= log_rl_next_collect) {
		log_rl_collect(&log_rl_table, now, false, report_suppressed, NULL);
		log_rl_next_collect = now + log_rl_table.interval_ms;
	}
	if (log_rl_check(&log_rl_table, fmt, caller, level, now, &n) == LOG_RL_SUPPRESS)
		return true;
	if (n)
		report_suppressed(NULL, fmt, level, n);
	return false;
}

void log_ratelimit_enable(bool on)
{
	if (on && !log_rl_on) {
		log_rl_init(&log_rl_table, LOG_RL_BURST, LOG_RL_INTERVAL_MS);
		log_rl_next_collect = 0;
	} else if (!on && log_rl_on) {
		log_rl_collect(&log_rl_table, log_clock(), true, report_suppressed, NULL);
	}
	log_rl_on = on;
}

void log_ratelimit_flush(void)
{
	uint64_t now;

	if (!log_rl_on || !log_rl_table.pending)
		return;
	now = log_clock();
	log_rl_collect(&log_rl_table, now, false, report_suppressed, NULL);
	log_rl_next_collect = now + log_rl_table.interval_ms;
}

static void __attribute__((format(printf, 4, 0)))
log_vwrite(enum log_level level, int err, const void *caller, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved_errno = errno;

	if (level > log_max_level || limited(level, fmt, caller)) {
		errno = saved_errno;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_line(level, msg, err);
	errno = saved_errno;
}

/* The caller's return address tells apart call sites that share a format
 * string ("%s"); these functions must therefore stay out of line. */
#define LOG_BODY(level, err)                                                   \
	do {                                                                   \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vwrite(level, err, __builtin_return_address(0), fmt, ap);  \
		va_end(ap);                                                    \
	} while (0)

void log_errx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERR, 0); }
void log_err_e(int err, const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERR, err < 0 ? -err : err); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARNING, 0); }
void log_warn_e(int err, const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARNING, err < 0 ? -err : err); }
void log_notice(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_NOTICE, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }
