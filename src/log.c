// SPDX-License-Identifier: BSD-2-Clause
/*
 * Log sink (see log.h). State is file-static: the program name, the level
 * and whether stderr is the journal. Writing is one fprintf per line so
 * lines from one process never interleave mid-line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dime/log.h"

static const char *log_progname = "dime";
static enum log_level log_max_level = LOG_LEVEL_INFO;
static bool log_journal;

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

static void __attribute__((format(printf, 3, 0)))
log_vwrite(enum log_level level, int err, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved_errno = errno;

	if (level > log_max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		if (err)
			fprintf(stderr, "<%d>%s: %s\n", level, msg, strerror(err));
		else
			fprintf(stderr, "<%d>%s\n", level, msg);
	} else {
		if (err)
			fprintf(stderr, "%s: %s: %s\n", log_progname, msg, strerror(err));
		else
			fprintf(stderr, "%s: %s\n", log_progname, msg);
	}
	errno = saved_errno;
}

#define LOG_BODY(level, err)                   \
	do {                                   \
		va_list ap;                    \
		va_start(ap, fmt);             \
		log_vwrite(level, err, fmt, ap); \
		va_end(ap);                    \
	} while (0)

void log_errx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERR, 0); }
void log_err_e(int err, const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERR, err < 0 ? -err : err); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARNING, 0); }
void log_warn_e(int err, const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARNING, err < 0 ? -err : err); }
void log_notice(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_NOTICE, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, 0); }
