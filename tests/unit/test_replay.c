// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the replay window (replay.c): duplicates, reordering
 * inside the window and its exact edges, old messages, huge jumps, counters
 * at both ends of the 64-bit space (no wrap-around is ever accepted), the
 * floor for a receiver without state, re-answering a retransmitted request
 * without re-applying it, and a long random run against a plain reference
 * model. Also the sender's counter.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp_wire.h"
#include "dime/replay.h"
#include "testutil.h"

#define REQ IHMP_HANDOFF

/* Check, then accept when fresh, as a receiver does; the verdict. */
static enum replay_verdict rx(struct replay_window *w, uint64_t c, uint8_t type, uint16_t seq)
{
	enum replay_verdict v = replay_check(w, c, type, seq);

	if (v == REPLAY_FRESH)
		replay_accept(w, c, type, seq);
	return v;
}

START_TEST(test_duplicates_in_order)
{
	struct replay_window w;

	replay_init(&w, 0);
	for (uint64_t c = 1; c <= 1000; c++) {
		HOT_ASSERT(rx(&w, c, IHMP_ACK, 0) == REPLAY_FRESH);
		HOT_ASSERT(rx(&w, c, IHMP_ACK, 0) == REPLAY_DUPLICATE);
		HOT_ASSERT(rx(&w, c - 1 ? c - 1 : c, IHMP_ACK, 0) == REPLAY_DUPLICATE);
	}
	ck_assert_uint_eq(w.top, 1000);
	/* Counter 0 was never accepted, and is now far below the window. */
	ck_assert_int_eq(replay_check(&w, 0, IHMP_ACK, 0), REPLAY_STALE);
}
END_TEST

START_TEST(test_reorder_and_edges)
{
	struct replay_window w;

	replay_init(&w, 0);
	ck_assert_int_eq(rx(&w, 1000, IHMP_ACK, 0), REPLAY_FRESH);
	/* Everything up to REPLAY_WINDOW - 1 below the top may still arrive,
	 * once; the next one down is stale. */
	ck_assert_int_eq(replay_check(&w, 1000 - REPLAY_WINDOW, IHMP_ACK, 0), REPLAY_STALE);
	for (uint64_t c = 999; c > 1000 - REPLAY_WINDOW; c -= 2)
		HOT_ASSERT(rx(&w, c, IHMP_ACK, 0) == REPLAY_FRESH);
	/* Now the odd distances and the top are taken, the even ones free. */
	for (uint64_t c = 1000; c > 1000 - REPLAY_WINDOW; c--) {
		bool taken = (1000 - c) % 2 == 1 || c == 1000;

		HOT_ASSERT(rx(&w, c, IHMP_ACK, 0) == (taken ? REPLAY_DUPLICATE : REPLAY_FRESH));
	}
	ck_assert_int_eq(rx(&w, 1000 - REPLAY_WINDOW + 1, IHMP_ACK, 0), REPLAY_DUPLICATE);
	/* Moving the top by one pushes the oldest counter out. */
	ck_assert_int_eq(rx(&w, 1001, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, 1001 - REPLAY_WINDOW, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, 1002 - REPLAY_WINDOW, IHMP_ACK, 0), REPLAY_DUPLICATE);
}
END_TEST

/* Shifts by every distance across the word boundary keep exactly the bits
 * they should. */
START_TEST(test_shift_distances)
{
	for (uint64_t d = 1; d <= REPLAY_WINDOW + 2; d++) {
		struct replay_window w;
		uint64_t base = 5000;

		replay_init(&w, 0);
		/* Accept every third counter below base, and base. */
		for (uint64_t c = base - REPLAY_WINDOW + 1; c <= base; c++)
			if ((base - c) % 3 == 0)
				replay_accept(&w, c, IHMP_ACK, 0);
		ck_assert_int_eq(rx(&w, base + d, IHMP_ACK, 0), REPLAY_FRESH);
		for (uint64_t c = base + d - 1; c > base + d - REPLAY_WINDOW; c--) {
			bool seen = c <= base && (base - c) % 3 == 0;

			HOT_ASSERT(replay_check(&w, c, IHMP_ACK, 0) ==
				   (seen ? REPLAY_DUPLICATE : REPLAY_FRESH));
		}
		HOT_ASSERT(replay_check(&w, base + d - REPLAY_WINDOW, IHMP_ACK, 0) == REPLAY_STALE);
	}
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
	ck_assert_int_eq(rx(&w, UINT64_MAX - (REPLAY_WINDOW - 1), IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, UINT64_MAX - REPLAY_WINDOW, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, 0, IHMP_ACK, 0), REPLAY_STALE);
	ck_assert_int_eq(replay_check(&w, 1, IHMP_ACK, 0), REPLAY_STALE);
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
	/* Inside the window but below the floor: still stale. */
	ck_assert_int_eq(replay_check(&w, 1000, IHMP_ACK, 0), REPLAY_FRESH);
	ck_assert_int_eq(replay_check(&w, 999, IHMP_ACK, 0), REPLAY_STALE);
}
END_TEST

START_TEST(test_retransmission)
{
	struct replay_window w;

	replay_init(&w, 0);
	ck_assert_int_eq(rx(&w, 500, REQ, 7), REPLAY_FRESH);
	/* The same request again: answer, do not apply. */
	ck_assert_int_eq(rx(&w, 500, REQ, 7), REPLAY_RETRANSMIT);
	ck_assert_int_eq(rx(&w, 500, REQ, 7), REPLAY_RETRANSMIT);
	/* Same counter, other header: not that request. */
	ck_assert_int_eq(rx(&w, 500, REQ, 8), REPLAY_DUPLICATE);
	ck_assert_int_eq(rx(&w, 500, IHMP_ADDR_UP, 7), REPLAY_DUPLICATE);
	/* An ACK is never retransmitted, so never re-answered. */
	ck_assert_int_eq(rx(&w, 501, IHMP_ACK, 7), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 501, IHMP_ACK, 7), REPLAY_DUPLICATE);

	/* Still recognised after the window moved far past it... */
	ck_assert_int_eq(rx(&w, 100000, IHMP_ACK, 1), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 500, REQ, 7), REPLAY_RETRANSMIT);
	/* ... until REPLAY_ANSWERED newer requests took its place. */
	for (uint16_t i = 0; i < REPLAY_ANSWERED - 1; i++)
		ck_assert_int_eq(rx(&w, 100001 + i, IHMP_ADDR_UP, i), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 500, REQ, 7), REPLAY_RETRANSMIT);
	ck_assert_int_eq(rx(&w, 200000, IHMP_ADDR_DOWN, 99), REPLAY_FRESH);
	ck_assert_int_eq(rx(&w, 500, REQ, 7), REPLAY_STALE);
	ck_assert_int_eq(rx(&w, 100001, IHMP_ADDR_UP, 0), REPLAY_RETRANSMIT);
}
END_TEST

/* ---- against a reference model ---- */

#define MODEL_MAX 4096

struct model {
	bool started;
	uint64_t top, floor;
	uint64_t seen[MODEL_MAX];	/* accepted counters within the window */
	unsigned int n;
};

static enum replay_verdict model_check(const struct model *m, uint64_t c)
{
	if (c < m->floor)
		return REPLAY_STALE;
	if (!m->started || c > m->top)
		return REPLAY_FRESH;
	if (m->top - c >= REPLAY_WINDOW)
		return REPLAY_STALE;
	for (unsigned int i = 0; i < m->n; i++)
		if (m->seen[i] == c)
			return REPLAY_DUPLICATE;
	return REPLAY_FRESH;
}

static void model_accept(struct model *m, uint64_t c)
{
	unsigned int k = 0;

	if (!m->started || c > m->top)
		m->top = c;
	m->started = true;
	m->seen[m->n++] = c;
	for (unsigned int i = 0; i < m->n; i++)
		if (m->top - m->seen[i] < REPLAY_WINDOW)
			m->seen[k++] = m->seen[i];
	m->n = k;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(test_random_against_model)
{
	static struct model m;
	struct replay_window w;
	uint64_t s = 0x9e3779b97f4a7c15ull, base;

	for (int run = 0; run < 4; run++) {
		/* Runs start low, in the middle and near the top of the space. */
		base = run == 0 ? 0 : run == 1 ? 1000000 : UINT64_MAX - 100000 * (uint64_t)run;
		memset(&m, 0, sizeof(m));
		m.floor = run == 1 ? base + 50 : 0;
		replay_init(&w, m.floor);
		for (int i = 0; i < 100000; i++) {
			uint64_t r = next_rand(&s), c, off = r % 400;
			enum replay_verdict want, got;

			if (!m.started)
				c = base + off;
			else if (r >> 60 == 0)	/* a rare big jump */
				c = m.top + (r >> 20) % 100000;
			else if (off < 200)
				c = m.top - (m.top > off ? off : m.top);
			else
				c = m.top + ((off - 200) % 3 == 0 ? off - 200 : 1);
			if (c < m.top && m.started && UINT64_MAX - m.top < 400)
				c = m.top - off;	/* stay in range near the top */
			want = model_check(&m, c);
			got = replay_check(&w, c, IHMP_ACK, 0);
			HOT_ASSERT(got == want);
			if (got == REPLAY_FRESH) {
				replay_accept(&w, c, IHMP_ACK, 0);
				model_accept(&m, c);
			}
			HOT_ASSERT(w.top == m.top);
		}
	}
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
	tcase_add_test(tc, test_reorder_and_edges);
	tcase_add_test(tc, test_shift_distances);
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
