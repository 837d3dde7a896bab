// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the replay window (replay.c): duplicates, reordering
 * within the 64 s span and its exact edges, what more than REPLAY_SEEN
 * counters in the span do (a floor: refused, never accepted twice), old
 * messages, huge jumps, counters at both ends of the 64-bit space (no
 * wrap-around is ever accepted), the floor for a receiver without state,
 * re-answering a retransmitted request without re-applying it, and a long
 * random run against a reference model that remembers every counter. Also
 * the sender's counter.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp_wire.h"
#include "dime/replay.h"
#include "testutil.h"

#define REQ IHMP_HANDOFF
#define SEC 1000000ull		/* counters are microseconds */
#define T0 (1700000000ull * SEC)	/* a wall clock */

/* Check, then accept when fresh, as a receiver does; the verdict. */
static enum replay_verdict rx(struct replay_window *w, uint64_t c, uint8_t type, uint16_t seq)
{
	enum replay_verdict v = replay_check(w, c, type, seq);

	if (v == REPLAY_FRESH)
		replay_accept(w, c, type, seq);
	return v;
}

static bool refused(enum replay_verdict v)
{
	return v == REPLAY_DUPLICATE || v == REPLAY_STALE;
}

START_TEST(test_duplicates_in_order)
{
	struct replay_window w;

	replay_init(&w, 0);
	for (uint64_t i = 1; i <= 1000; i++) {
		uint64_t c = T0 + i * 1000;	/* one a millisecond */

		HOT_ASSERT(rx(&w, c, IHMP_ACK, 0) == REPLAY_FRESH);
		HOT_ASSERT(rx(&w, c, IHMP_ACK, 0) == REPLAY_DUPLICATE);
		if (i > 1)
			HOT_ASSERT(rx(&w, c - 1000, IHMP_ACK, 0) != REPLAY_FRESH);
	}
	ck_assert_uint_eq(w.top, T0 + 1000 * 1000);
	/* Never accepted, below the floor the kept counters left behind. */
	ck_assert_int_eq(replay_check(&w, T0, IHMP_ACK, 0), REPLAY_STALE);
	/* Never accepted, above every kept counter but the top: fresh. */
	ck_assert_int_eq(replay_check(&w, T0 + 1000 * 1000 - 1, IHMP_ACK, 0), REPLAY_FRESH);
}
END_TEST

/* What the span is for: a request whose first copies were lost arrives
 * long after later messages of the same sender. */
START_TEST(test_reorder_within_span)
{
	struct replay_window w;
	uint64_t top = T0 + 100 * SEC;

	replay_init(&w, 0);
	ck_assert_int_eq(rx(&w, top, IHMP_ACK, 0), REPLAY_FRESH);
	for (uint64_t k = 1; k < 30; k++)
		HOT_ASSERT(rx(&w, top - 2 * k * SEC, REQ, (uint16_t)k) == REPLAY_FRESH);
	for (uint64_t k = 1; k < 30; k++)
		HOT_ASSERT(refused(rx(&w, top - 2 * k * SEC, IHMP_ACK, 0)));
	ck_assert_uint_eq(w.floor, 0);
	/* The exact edge: REPLAY_SPAN below the top is stale, one less fresh. */
	ck_assert_int_eq(replay_check(&w, top - REPLAY_SPAN, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_SPAN + 1, IHMP_ACK, 0), REPLAY_FRESH);
	/* The span moves with the top. */
	ck_assert_int_eq(rx(&w, top + 1, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_SPAN + 1, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_SPAN + 2, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, top, IHMP_ACK, 0), REPLAY_DUPLICATE);
}
END_TEST

/* More accepted counters in the span than kept: the lowest are forgotten,
 * and everything up to them is refused from then on. */
START_TEST(test_seen_overflow)
{
	struct replay_window w;
	uint64_t n = REPLAY_SEEN + 5;

	replay_init(&w, 0);
	/* Every other microsecond, in order. */
	for (uint64_t i = 1; i <= n; i++)
		HOT_ASSERT(rx(&w, T0 + 2 * i, IHMP_ACK, 0) == REPLAY_FRESH);
	ck_assert_uint_eq(w.nseen, REPLAY_SEEN);
	for (uint64_t i = 1; i <= n; i++)
		HOT_ASSERT(refused(replay_check(&w, T0 + 2 * i, IHMP_ACK, 0)));
	/* The gaps: fresh above the lowest kept counter, stale below. */
	ck_assert_uint_eq(w.floor, T0 + 2 * 5 + 1);
	for (uint64_t c = T0; c < T0 + 2 * n; c += 2)
		HOT_ASSERT(replay_check(&w, c + 1, IHMP_ACK, 0) ==
			   (c + 1 >= w.floor ? REPLAY_FRESH : REPLAY_STALE));
	/* A fresh one below every kept counter is taken, and then stands
	 * for the floor. */
	ck_assert_int_eq(rx(&w, T0 + 2 * 5 + 1, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_uint_eq(w.floor, T0 + 2 * 5 + 2);
	ck_assert_uint_eq(w.nseen, REPLAY_SEEN);
	/* A newer one now pushes out the lowest kept. */
	ck_assert_int_eq(rx(&w, T0 + 2 * n + 1, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_uint_eq(w.floor, T0 + 2 * 6 + 1);
	ck_assert_int_eq(replay_check(&w, T0 + 2 * 6, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, T0 + 2 * 7, IHMP_ACK, 0), REPLAY_DUPLICATE);
	/* Counters that left the span free their slots without a floor. */
	ck_assert_int_eq(rx(&w, T0 + 10 * REPLAY_SPAN, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_uint_eq(w.nseen, 1);
	ck_assert_uint_eq(w.floor, T0 + 2 * 6 + 1);
}
END_TEST

START_TEST(test_huge_jump)
{
	struct replay_window w;

	replay_init(&w, 0);
	for (uint64_t c = 10; c < 20; c++)
		rx(&w, c, IHMP_ACK, 0);
	ck_assert_int_eq(rx(&w, (uint64_t)1 << 62, IHMP_ACK, 0), REPLAY_FRESH);
	for (uint64_t c = 0; c < 30; c++)
		HOT_ASSERT(replay_check(&w, c, IHMP_ACK, 0) == REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, ((uint64_t)1 << 62) - 1, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, (uint64_t)1 << 62, IHMP_ACK, 0), REPLAY_DUPLICATE);
	ck_assert_uint_eq(w.nseen, 1);
	/* Accepting a stale counter changes nothing. */
	replay_accept(&w, 15, IHMP_ACK, 0);
	ck_assert_uint_eq(w.top, (uint64_t)1 << 62);
	ck_assert_int_eq(replay_check(&w, 15, IHMP_ACK, 0), REPLAY_STALE);
}
END_TEST

START_TEST(test_ends_of_the_counter_space)
{
	struct replay_window w;

	/* Near zero: no counter "below" 0 exists; nothing underflows. */
	replay_init(&w, 0);
	ck_assert_int_eq(rx(&w, 0, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 0, IHMP_ACK, 0), REPLAY_DUPLICATE);
	ck_assert_int_eq(rx(&w, 3, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 1, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 0, IHMP_ACK, 0), REPLAY_DUPLICATE);
	ck_assert_int_eq(rx(&w, 2, IHMP_ACK, 0), REPLAY_FRESH);

	/* At the top: UINT64_MAX is a valid counter; after it nothing is
	 * fresh, and a sender that wrapped to 0 is refused, not accepted as
	 * the oldest message ever seen or the newest. */
	replay_init(&w, 0);
	ck_assert_int_eq(rx(&w, UINT64_MAX - 5, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, UINT64_MAX, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, UINT64_MAX - 5, IHMP_ACK, 0), REPLAY_DUPLICATE);
	ck_assert_int_eq(rx(&w, UINT64_MAX - 1, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, UINT64_MAX - (REPLAY_SPAN - 1), IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, UINT64_MAX - REPLAY_SPAN, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, 0, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, 1, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(rx(&w, UINT64_MAX, IHMP_ACK, 0), REPLAY_DUPLICATE);
	/* Filling the kept counters up there raises the floor without
	 * wrapping it. */
	for (uint64_t i = 2; i < 2 + 2 * REPLAY_SEEN; i++)
		rx(&w, UINT64_MAX - i, IHMP_ACK, 0);
	ck_assert_uint_gt(w.floor, UINT64_MAX - REPLAY_SPAN);
	ck_assert_int_eq(rx(&w, UINT64_MAX, IHMP_ACK, 0), REPLAY_DUPLICATE);
}
END_TEST

START_TEST(test_floor)
{
	struct replay_window w;

	replay_init(&w, 1000);
	ck_assert_int_eq(replay_check(&w, 999, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, 0, IHMP_ACK, 0), REPLAY_STALE);
	/* Refused counters are not accepted even if someone tries. */
	replay_accept(&w, 5, IHMP_ACK, 0);
	ck_assert(!w.started);
	ck_assert_int_eq(rx(&w, 1050, IHMP_ACK, 0), REPLAY_FRESH);
	/* Inside the span but below the floor: still stale. */
	ck_assert_int_eq(replay_check(&w, 1000, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, 999, IHMP_ACK, 0), REPLAY_STALE);
}
END_TEST

START_TEST(test_retransmission)
{
	struct replay_window w;

	replay_init(&w, 0);
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 7), REPLAY_FRESH);
	/* The same request again: answer, do not apply. */
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 7), REPLAY_RETRANSMIT);
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 7), REPLAY_RETRANSMIT);
	/* Same counter, other header: not that request. */
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 8), REPLAY_DUPLICATE);
	ck_assert_int_eq(rx(&w, T0 + 500, IHMP_ADDR_UP, 7), REPLAY_DUPLICATE);
	/* An ACK is never retransmitted, so never re-answered. */
	ck_assert_int_eq(rx(&w, T0 + 501, IHMP_ACK, 7), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, T0 + 501, IHMP_ACK, 7), REPLAY_DUPLICATE);

	/* Still recognised after the span moved far past it... */
	ck_assert_int_eq(rx(&w, T0 + 10 * REPLAY_SPAN, IHMP_ACK, 1), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 7), REPLAY_RETRANSMIT);
	/* ... until REPLAY_ANSWERED newer requests took its place. */
	for (uint16_t i = 0; i < REPLAY_ANSWERED - 1; i++)
		ck_assert_int_eq(rx(&w, T0 + 10 * REPLAY_SPAN + 1 + i, IHMP_ADDR_UP, i),
				 REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 7), REPLAY_RETRANSMIT);
	ck_assert_int_eq(rx(&w, T0 + 11 * REPLAY_SPAN, IHMP_ADDR_DOWN, 99), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, T0 + 500, REQ, 7), REPLAY_STALE);
	ck_assert_int_eq(rx(&w, T0 + 10 * REPLAY_SPAN + 1, IHMP_ADDR_UP, 0), REPLAY_RETRANSMIT);
}
END_TEST

/* ---- against a reference model ---- */

#define MODEL_MAX 400000

/* Every counter ever accepted, unbounded; no floor of its own. */
struct model {
	bool started;
	uint64_t top, floor0;
	uint64_t *acc;
	unsigned int n;
};

static bool model_has(const struct model *m, uint64_t c)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (m->acc[i] == c)
			return true;
	return false;
}

static unsigned int model_above(const struct model *m, uint64_t c)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < m->n; i++)
		k += m->acc[i] > c;
	return k;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Safety: nothing accepted is ever fresh again; nothing below the initial
 * floor or beyond the span is fresh; "duplicate" only for what was
 * accepted. Liveness: a counter never accepted, within the span and above
 * the initial floor, is fresh when fewer than REPLAY_SEEN accepted
 * counters are above it (only then can the floor have passed it).
 */
static void check_against_model(const struct replay_window *w, const struct model *m, uint64_t c)
{
	enum replay_verdict got = replay_check(w, c, IHMP_ACK, 0);
	bool acc = model_has(m, c);
	bool in_span = !m->started || c > m->top || m->top - c < REPLAY_SPAN;

	if (acc)
		HOT_ASSERT(refused(got));
	if (got == REPLAY_DUPLICATE)
		HOT_ASSERT(acc);
	if (c < m->floor0 || !in_span)
		HOT_ASSERT(got == REPLAY_STALE);
	if (!acc && c >= m->floor0 && in_span && model_above(m, c) < REPLAY_SEEN)
		HOT_ASSERT(got == REPLAY_FRESH);
}

START_TEST(test_random_against_model)
{
	static struct model m;
	struct replay_window w;
	uint64_t s = 0x9e3779b97f4a7c15ull, base;

	m.acc = malloc(MODEL_MAX * sizeof(*m.acc));
	ck_assert_ptr_nonnull(m.acc);
	for (int run = 0; run < 4; run++) {
		/* Runs start low, at a wall clock and near the top of the space. */
		base = run == 0 ? 0 : run == 1 ? T0 : UINT64_MAX - 1000 * SEC * (uint64_t)run;
		m.started = false;
		m.top = 0;
		m.n = 0;
		m.floor0 = run == 1 ? base + 50 : 0;
		replay_init(&w, m.floor0);
		for (int i = 0; i < 20000; i++) {
			uint64_t r = next_rand(&s), c, back = r % (REPLAY_SPAN + REPLAY_SPAN / 4);
			enum replay_verdict got;

			if (!m.started)
				c = base + r % 400;
			else if ((r >> 58) == 0)	/* a rare big jump */
				c = m.top + (r >> 20) % (4 * REPLAY_SPAN);
			else if ((r >> 60) < 9)		/* reordered, up to past the span */
				c = m.top - (m.top > back ? back : m.top);
			else if ((r >> 60) < 12)	/* an exact old one */
				c = m.n ? m.acc[(r >> 8) % m.n] : base;
			else				/* the next ones */
				c = m.top + 1 + (r >> 8) % (2 * SEC);
			if (c < base)
				c = base;
			if (m.started && c > m.top && UINT64_MAX - m.top < 4 * REPLAY_SPAN)
				c = m.top - (r >> 30) % 1000;	/* stay in range near the top */
			check_against_model(&w, &m, c);
			got = rx(&w, c, IHMP_ACK, 0);
			if (got == REPLAY_FRESH) {
				HOT_ASSERT(m.n < MODEL_MAX);
				m.acc[m.n++] = c;
				if (!m.started || c > m.top)
					m.top = c;
				m.started = true;
			}
			ck_assert_msg(w.top == m.top, "run %d step %d: c %llu got %d top %llu model %llu",
				      run, i, (unsigned long long)c, got, (unsigned long long)w.top,
				      (unsigned long long)m.top);
			HOT_ASSERT(w.nseen <= REPLAY_SEEN);
		}
	}
	free(m.acc);
}
END_TEST

/* ---- the sender's counter ---- */

START_TEST(test_counter_next)
{
	uint64_t last = 0, c = 0;

	ck_assert_int_eq(replay_counter_next(&last, 100, &c), 0);
	ck_assert_uint_eq(c, 100);
	/* The clock went back (or did not move): still strictly increasing. */
	ck_assert_int_eq(replay_counter_next(&last, 50, &c), 0);
	ck_assert_uint_eq(c, 101);
	ck_assert_int_eq(replay_counter_next(&last, 101, &c), 0);
	ck_assert_uint_eq(c, 102);
	ck_assert_int_eq(replay_counter_next(&last, 5000, &c), 0);
	ck_assert_uint_eq(c, 5000);
	ck_assert_int_eq(replay_counter_next(&last, 0, &c), 0);
	ck_assert_uint_eq(c, 5001);
	last = UINT64_MAX - 1;
	ck_assert_int_eq(replay_counter_next(&last, 7, &c), 0);
	ck_assert_uint_eq(c, UINT64_MAX);
	c = 3;
	ck_assert_int_eq(replay_counter_next(&last, 7, &c), -EOVERFLOW);
	ck_assert_uint_eq(c, 3);
	ck_assert_uint_eq(last, UINT64_MAX);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(replay_verdict_name(REPLAY_FRESH), "fresh");
	ck_assert_str_eq(replay_verdict_name(REPLAY_RETRANSMIT), "retransmit");
	ck_assert_str_eq(replay_verdict_name(REPLAY_DUPLICATE), "duplicate");
	ck_assert_str_eq(replay_verdict_name(REPLAY_STALE), "stale");
	ck_assert_str_eq(replay_verdict_name((enum replay_verdict)9), "?");
}
END_TEST

static Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, test_duplicates_in_order);
	tcase_add_test(tc, test_reorder_within_span);
	tcase_add_test(tc, test_seen_overflow);
	tcase_add_test(tc, test_huge_jump);
	tcase_add_test(tc, test_ends_of_the_counter_space);
	tcase_add_test(tc, test_floor);
	tcase_add_test(tc, test_retransmission);
	tcase_add_test(tc, test_random_against_model);
	tcase_add_test(tc, test_counter_next);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(replay_suite());
}
