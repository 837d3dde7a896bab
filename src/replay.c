// SPDX-License-Identifier: BSD-2-Clause
/*
 * The IHMP replay window: a REPLAY_WINDOW-bit bitmap anchored at the highest
 * accepted counter (RFC 4303 appendix A's scheme, written here for a 64-bit
 * counter that never wraps), and a small ring of answered requests. All
 * arithmetic is on unsigned 64-bit distances from the top, so counters near
 * 0 or near UINT64_MAX need no special case.
 */
#include <errno.h>
#include <string.h>

#include "dime/ihmp_wire.h"
#include "dime/replay.h"

void replay_init(struct replay_window *w, uint64_t floor)
{
	memset(w, 0, sizeof(*w));
	w->floor = floor;
}

static bool bit_get(const struct replay_window *w, uint64_t d)
{
	return (w->bits[d / 64] >> (d % 64)) & 1u;
}

static void bit_set(struct replay_window *w, uint64_t d)
{
	w->bits[d / 64] |= UINT64_C(1) << (d % 64);
}

/* Age every bit by d (the top moved up by d): bit i becomes bit i + d. */
static void shift(struct replay_window *w, uint64_t d)
{
	unsigned int words, bits;

	if (d >= REPLAY_WINDOW) {
		memset(w->bits, 0, sizeof(w->bits));
		return;
	}
	words = (unsigned int)(d / 64);
	bits = (unsigned int)(d % 64);
	for (int i = REPLAY_WORDS - 1; i >= 0; i--) {
		int src = i - (int)words;
		uint64_t v = 0;

		if (src >= 0) {
			v = w->bits[src] << bits;
			if (bits && src > 0)
				v |= w->bits[src - 1] >> (64 - bits);
		}
		w->bits[i] = v;
	}
}

static bool answered(const struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq)
{
	for (unsigned int i = 0; i < REPLAY_ANSWERED; i++) {
		const struct replay_request *r = &w->answered[i];

		if (r->type && r->type == type && r->counter == counter && r->seq == seq)
			return true;
	}
	return false;
}

enum replay_verdict replay_check(const struct replay_window *w, uint64_t counter, uint8_t type,
				 uint16_t seq)
{
	uint64_t d;

	/* A request we answered is recognised even if the window has moved
	 * past it since: its retransmissions span up to 31 s. */
	if (type != IHMP_ACK && answered(w, counter, type, seq))
		return REPLAY_RETRANSMIT;
	if (counter < w->floor)
		return REPLAY_STALE;
	if (!w->started || counter > w->top)
		return REPLAY_FRESH;
	d = w->top - counter;
	if (d >= REPLAY_WINDOW)
		return REPLAY_STALE;
	return bit_get(w, d) ? REPLAY_DUPLICATE : REPLAY_FRESH;
}

static void remember(struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq)
{
	struct replay_request *r = &w->answered[w->next];

	r->counter = counter;
	r->seq = seq;
	r->type = type;
	w->next = (uint8_t)((w->next + 1) % REPLAY_ANSWERED);
}

void replay_accept(struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq)
{
	if (replay_check(w, counter, type, seq) != REPLAY_FRESH)
		return;
	if (!w->started) {
		w->started = true;
		w->top = counter;
		memset(w->bits, 0, sizeof(w->bits));
	} else if (counter > w->top) {
		shift(w, counter - w->top);
		w->top = counter;
	}
	bit_set(w, w->top - counter);
	if (type && type != IHMP_ACK)
		remember(w, counter, type, seq);
}

const char *replay_verdict_name(enum replay_verdict v)
{
	switch (v) {
	case REPLAY_FRESH: return "fresh";
	case REPLAY_RETRANSMIT: return "retransmit";
	case REPLAY_DUPLICATE: return "duplicate";
	case REPLAY_STALE: return "stale";
	}
	return "?";
}

int replay_counter_next(uint64_t *last, uint64_t now_us, uint64_t *out)
{
	if (*last == UINT64_MAX)
		return -EOVERFLOW;
	*last = now_us > *last ? now_us : *last + 1;
	*out = *last;
	return 0;
}
