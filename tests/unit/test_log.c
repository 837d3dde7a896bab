// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for log.c. The limiter's core is driven with explicit times;
 * the public functions run with a fake clock (log_set_clock) and stderr
 * redirected to a temporary file, so what a journal would receive is
 * compared line by line. Nothing sleeps.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dime/log.h"
#include "testutil.h"

static const char FMT_A[] = "peer %s: unreachable";
static const char FMT_B[] = "queue %u: verdict failed";
static const int SITE_1 = 1, SITE_2 = 2;	/* stand-ins for return addresses */

static struct log_rl rl;

static enum log_rl_verdict check_at(const char *fmt, const void *site, uint64_t now, uint32_t *n)
{
	return log_rl_check(&rl, fmt, site, LOG_LEVEL_WARNING, now, n);
}

static const struct log_rl_site *site_of(const char *fmt, const void *site)
{
	for (unsigned i = 0; i < LOG_RL_SLOTS; i++)
		if (rl.site[i].fmt == fmt && rl.site[i].caller == site)
			return &rl.site[i];
	ck_abort_msg("site not in the table");
	return NULL;
}

/* ---- core ---------------------------------------------------------------------- */

START_TEST(first_and_burst_pass_then_limit)
{
	uint32_t n = 99;

	log_rl_init(&rl, 10, 1000);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(check_at(FMT_A, &SITE_1, 5000, &n), LOG_RL_PASS);
		ck_assert_uint_eq(n, 0);
	}
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(check_at(FMT_A, &SITE_1, 5000, &n), LOG_RL_SUPPRESS);
	ck_assert_uint_eq(rl.pending, 1);
	/* 999 ms later: still no whole token. */
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 5999, &n), LOG_RL_SUPPRESS);
	/* One token: the message passes and carries the count of the 8 refused. */
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 6000, &n), LOG_RL_PASS);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(rl.pending, 0);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 6000, &n), LOG_RL_SUPPRESS);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 7000, &n), LOG_RL_PASS);
	ck_assert_uint_eq(n, 1);
}
END_TEST

/* A sustained storm gets one line a second, whatever its rate. */
START_TEST(steady_rate)
{
	unsigned passed = 0;
	uint32_t n, total = 0;

	log_rl_init(&rl, 10, 1000);
	for (uint64_t t = 0; t < 60000; t += 10) {	/* 100 per second for a minute */
		if (check_at(FMT_A, &SITE_1, t, &n) == LOG_RL_PASS)
			passed++;
		total += n;
	}
	ck_assert_uint_eq(passed, 10 + 59);
	/* Every refusal is reported with a later pass, but those after the last. */
	ck_assert_uint_eq(site_of(FMT_A, &SITE_1)->suppressed, 99);
	ck_assert_uint_eq(total + passed + 99, 6000);
}
END_TEST

START_TEST(long_quiet_refills_to_burst_only)
{
	uint32_t n;
	int passed = 0;

	log_rl_init(&rl, 10, 1000);
	check_at(FMT_A, &SITE_1, 0, &n);
	for (int i = 0; i < 50; i++)
		passed += check_at(FMT_A, &SITE_1, UINT64_MAX / 2, &n) == LOG_RL_PASS;
	ck_assert_int_eq(passed, 10);
}
END_TEST

START_TEST(sites_are_independent)
{
	uint32_t n;

	log_rl_init(&rl, 2, 1000);
	for (int i = 0; i < 3; i++)
		check_at(FMT_A, &SITE_1, 0, &n);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 0, &n), LOG_RL_SUPPRESS);
	/* Same format from another caller, another format from the same one. */
	ck_assert_int_eq(check_at(FMT_A, &SITE_2, 0, &n), LOG_RL_PASS);
	ck_assert_int_eq(check_at(FMT_B, &SITE_1, 0, &n), LOG_RL_PASS);
}
END_TEST

START_TEST(clock_going_back_refills_nothing)
{
	uint32_t n;

	log_rl_init(&rl, 1, 1000);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 10000, &n), LOG_RL_PASS);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 5000, &n), LOG_RL_SUPPRESS);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 10999, &n), LOG_RL_SUPPRESS);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 11000, &n), LOG_RL_PASS);
	ck_assert_uint_eq(n, 2);
}
END_TEST

struct reported {
	unsigned calls;
	uint32_t total;
	int level;
	const char *fmt;
};

static void record(void *ctx, const char *fmt, int level, uint32_t n)
{
	struct reported *r = ctx;

	r->calls++;
	r->total += n;
	r->level = level;
	r->fmt = fmt;
}

START_TEST(collect_reports_once_quiet)
{
	struct reported r = { 0 };
	uint32_t n;

	log_rl_init(&rl, 1, 1000);
	check_at(FMT_A, &SITE_1, 0, &n);
	check_at(FMT_A, &SITE_1, 100, &n);
	check_at(FMT_A, &SITE_1, 200, &n);
	ck_assert_uint_eq(log_rl_collect(&rl, 999, false, record, &r), 0);
	ck_assert_uint_eq(log_rl_collect(&rl, 1000, false, record, &r), 1);
	ck_assert_uint_eq(r.total, 2);
	ck_assert_int_eq(r.level, LOG_LEVEL_WARNING);
	ck_assert_ptr_eq(r.fmt, FMT_A);
	ck_assert_uint_eq(rl.pending, 0);
	/* Reported once: nothing left, and the next message passes plainly. */
	ck_assert_uint_eq(log_rl_collect(&rl, 5000, true, record, &r), 0);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 1000, &n), LOG_RL_PASS);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(collect_all_reports_everything)
{
	struct reported r = { 0 };
	uint32_t n;

	log_rl_init(&rl, 1, 1000);
	for (int i = 0; i < 4; i++) {
		check_at(FMT_A, &SITE_1, 0, &n);
		check_at(FMT_B, &SITE_1, 0, &n);
	}
	ck_assert_uint_eq(log_rl_collect(&rl, 0, true, record, &r), 2);
	ck_assert_uint_eq(r.total, 6);
}
END_TEST

/* Far more limited sites than slots: every first message still passes
 * (those without a slot unlimited, and counted); once the others are idle
 * a newcomer gets a slot and is limited like any site. */
START_TEST(full_table_never_loses_a_message)
{
	enum { SITES = 16 * LOG_RL_SLOTS };
	static char fmts[SITES + 1];
	struct reported r = { 0 };
	uint32_t n;

	log_rl_init(&rl, 1, 1000);
	for (unsigned i = 0; i < SITES; i++) {
		HOT_ASSERT(check_at(&fmts[i], &SITE_1, 0, &n) == LOG_RL_PASS);
		check_at(&fmts[i], &SITE_1, 0, &n);
	}
	ck_assert_uint_eq(rl.pending, LOG_RL_SLOTS);
	ck_assert_uint_gt(rl.unlimited, 0);
	ck_assert_int_eq(check_at(&fmts[SITES], &SITE_1, 0, &n), LOG_RL_PASS);
	ck_assert_int_eq(check_at(&fmts[SITES], &SITE_1, 0, &n), LOG_RL_PASS);
	ck_assert_uint_eq(log_rl_collect(&rl, 1000, false, record, &r), LOG_RL_SLOTS);
	ck_assert_uint_eq(r.total, LOG_RL_SLOTS);
	ck_assert_int_eq(check_at(&fmts[SITES], &SITE_1, 1000, &n), LOG_RL_PASS);
	ck_assert_int_eq(check_at(&fmts[SITES], &SITE_1, 1000, &n), LOG_RL_SUPPRESS);
}
END_TEST

START_TEST(count_saturates)
{
	uint32_t n;

	log_rl_init(&rl, 1, 1000);
	check_at(FMT_A, &SITE_1, 0, &n);
	check_at(FMT_A, &SITE_1, 0, &n);
	((struct log_rl_site *)site_of(FMT_A, &SITE_1))->suppressed = UINT32_MAX;
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 0, &n), LOG_RL_SUPPRESS);
	ck_assert_int_eq(check_at(FMT_A, &SITE_1, 1000, &n), LOG_RL_PASS);
	ck_assert_uint_eq(n, UINT32_MAX);
}
END_TEST

/* ---- end to end ------------------------------------------------------------------- */

static uint64_t fake_now;
static int saved_stderr = -1;
static FILE *capture;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void capture_start(bool journal)
{
	struct stat st;
	char env[64];

	capture = tmpfile();
	ck_assert_ptr_nonnull(capture);
	fflush(stderr);
	saved_stderr = dup(2);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(fileno(capture), 2), 2);
	if (journal) {
		ck_assert_int_eq(fstat(2, &st), 0);
		snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	} else {
		unsetenv("JOURNAL_STREAM");
	}
	log_init("t", LOG_LEVEL_DEBUG);
	fake_now = 1000;
	log_set_clock(fake_clock);
}

/* Everything written since capture_start, as one string (caller frees). */
static char *capture_end(void)
{
	long len;
	char *text;

	log_ratelimit_enable(false);
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	unsetenv("JOURNAL_STREAM");
	log_set_clock(NULL);
	log_init("t", LOG_LEVEL_INFO);
	len = ftell(capture);
	ck_assert_int_ge(len, 0);
	text = calloc(1, (size_t)len + 1);
	rewind(capture);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, capture), (size_t)len);
	fclose(capture);
	return text;
}

static unsigned count_of(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void __attribute__((noinline)) warn_here(int i)
{
	log_warnx("site %d", i);
}

static void __attribute__((noinline)) warn_there(int i)
{
	log_warnx("site %d", i);
}

START_TEST(off_by_default)
{
	char *out;

	capture_start(false);
	for (int i = 0; i < 30; i++)
		warn_here(i);
	out = capture_end();
	ck_assert_uint_eq(count_of(out, "t: site "), 30);
	free(out);
}
END_TEST

START_TEST(storm_then_summary)
{
	char *out;

	capture_start(false);
	log_ratelimit_enable(true);
	for (int i = 0; i < 25; i++)
		warn_here(i);
	fake_now += 1000;
	warn_here(100);
	out = capture_end();
	ck_assert_uint_eq(count_of(out, "t: site "), 11);
	ck_assert_ptr_nonnull(strstr(out, "t: site 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "t: site 9\nt: 15 similar messages suppressed: \"site %d\"\nt: site 100\n"));
	free(out);
}
END_TEST

START_TEST(summary_when_quiet_and_at_disable)
{
	char *out;

	capture_start(false);
	log_ratelimit_enable(true);
	for (int i = 0; i < 12; i++)
		warn_here(i);
	fake_now += 2000;
	/* Another site's message, or a flush, reports the quiet site. */
	log_info("something else");
	for (int i = 0; i < 12; i++)
		warn_there(i);
	fake_now += 500;
	log_ratelimit_flush();		/* not quiet long enough */
	out = capture_end();		/* disabling reports the rest */
	ck_assert_ptr_nonnull(strstr(out, "t: site 9\nt: 2 similar messages suppressed: \"site %d\"\nt: something else\n"));
	ck_assert_uint_eq(count_of(out, "similar messages suppressed"), 2);
	ck_assert_uint_eq(count_of(out, "t: site "), 20);
	free(out);
}
END_TEST

START_TEST(debug_and_hidden_levels_untouched)
{
	char *out;

	capture_start(false);
	log_ratelimit_enable(true);
	for (int i = 0; i < 30; i++)
		log_debug("packet %d", i);
	log_set_level(LOG_LEVEL_WARNING);
	for (int i = 0; i < 30; i++)
		log_info("hidden %d", i);
	log_warnx("shown");
	out = capture_end();
	ck_assert_uint_eq(count_of(out, "t: packet "), 30);
	ck_assert_uint_eq(count_of(out, "hidden"), 0);
	ck_assert_uint_eq(count_of(out, "t: shown\n"), 1);
	free(out);
}
END_TEST

START_TEST(journal_prefixes_and_errno)
{
	char *out;

	capture_start(true);
	ck_assert(log_to_journal());
	log_ratelimit_enable(true);
	errno = 42;
	for (int i = 0; i < 11; i++)
		log_warn_e(-ENOBUFS, "queue %d: verdict", 7);
	ck_assert_int_eq(errno, 42);
	log_err_e(EPERM, "rules: %s", "install");
	out = capture_end();
	ck_assert_uint_eq(count_of(out, "<4>queue 7: verdict: No buffer space available\n"), 10);
	ck_assert_ptr_nonnull(strstr(out, "<3>rules: install: Operation not permitted\n"));
	ck_assert_ptr_nonnull(strstr(out, "<4>1 similar message suppressed: \"queue %d: verdict\"\n"));
	free(out);
}
END_TEST

START_TEST(long_format_cut_on_one_line)
{
	char *out, *line;

	capture_start(false);
	log_ratelimit_enable(true);
	for (int i = 0; i < 12; i++)
		log_notice("a very long message\nwith a newline %d and enough text to pass the limit of "
			   "what the summary shows, which is a little more than one hundred characters", i);
	out = capture_end();
	line = strstr(out, "t: 2 similar messages suppressed: \"a very long message with a newline %d");
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "...\"\n"));
	ck_assert_uint_lt((size_t)(strchr(line, '\n') - line), 200);
	free(out);
}
END_TEST

START_TEST(levels)
{
	ck_assert_int_eq(log_level_parse("warning"), LOG_LEVEL_WARNING);
	ck_assert_int_eq(log_level_parse("warn"), -1);
	ck_assert_str_eq(log_level_name(LOG_LEVEL_DEBUG), "debug");
	ck_assert_str_eq(log_level_name((enum log_level)9), "unknown");
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *core = tcase_create("ratelimit core");
	TCase *e2e = tcase_create("end to end");

	tcase_add_test(core, first_and_burst_pass_then_limit);
	tcase_add_test(core, steady_rate);
	tcase_add_test(core, long_quiet_refills_to_burst_only);
	tcase_add_test(core, sites_are_independent);
	tcase_add_test(core, clock_going_back_refills_nothing);
	tcase_add_test(core, collect_reports_once_quiet);
	tcase_add_test(core, collect_all_reports_everything);
	tcase_add_test(core, full_table_never_loses_a_message);
	tcase_add_test(core, count_saturates);
	suite_add_tcase(s, core);
	tcase_add_test(e2e, off_by_default);
	tcase_add_test(e2e, storm_then_summary);
	tcase_add_test(e2e, summary_when_quiet_and_at_disable);
	tcase_add_test(e2e, debug_and_hidden_levels_untouched);
	tcase_add_test(e2e, journal_prefixes_and_errno);
	tcase_add_test(e2e, long_format_cut_on_one_line);
	tcase_add_test(e2e, levels);
	suite_add_tcase(s, e2e);
	return s;
}

int main(void)
{
	return run_suite(log_suite());
}
