// SPDX-License-Identifier: BSD-2-Clause
/*
 * The IHMP replay window (include/dime/replay.h): a time span below the
 * highest accepted counter, the accepted counters kept within it, a floor
 * that only rises, and a small ring of answered requests. All arithmetic is
 * on unsigned 64-bit distances from the top, so counters near 0 or near
 * UINT64_MAX need no special case.
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

static bool answered(const struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq)
{
	for (unsigned int i = 0; i < REPLAY_ANSWERED; i++) {
		const struct replay_request *r = &w->answered[i];

		if (r->type && r->type == type && r->counter == counter && r->seq == seq)
			return true;
	}
	return false;
}

static bool seen(const struct replay_window *w, uint64_t counter)
{
	for (unsigned int i = 0; i < w->nseen; i++)
		if (w->seen[i] == counter)
			return true;
	return false;
}

/* Too far below the top (counter <= top is the caller's to know). */
static bool out_of_span(const struct replay_window *w, uint64_t counter)
{
	return w->top - counter >= REPLAY_SPAN;
}

enum replay_verdict replay_check(const struct replay_window *w, uint64_t counter, uint8_t type,
				 uint16_t seq)
{
	/* A request we answered is recognised even if the span has moved
	 * past it since. */
	if (type != IHMP_ACK && answered(w, counter, type, seq))
		return REPLAY_RETRANSMIT;
	if (counter < w->floor)
		return REPLAY_STALE;
	if (!w->started || counter > w->top)
		return REPLAY_FRESH;
	if (out_of_span(w, counter))
		return REPLAY_STALE;
	return seen(w, counter) ? REPLAY_DUPLICATE : REPLAY_FRESH;
}

static void remember(struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq)
{
	struct replay_request *r = &w->answered[w->next];

	r->counter = counter;
	r->seq = seq;
	r->type = type;
	w->next = (uint8_t)((w->next + 1) % REPLAY_ANSWERED);
}

/* Counters that left the span need no slot: the span refuses them. */
static void prune(struct replay_window *w)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < w->nseen; i++)
		if (!out_of_span(w, w->seen[i]))
			w->seen[k++] = w->seen[i];
	w->nseen = (uint8_t)k;
}

/* Keep counter; with no slot left, the lowest of the kept ones and counter
 * goes, and the floor rises past it so it stays refused. */
static void keep(struct replay_window *w, uint64_t counter)
{
	unsigned int low = 0;
	uint64_t gone;

	if (w->nseen < REPLAY_SEEN) {
		w->seen[w->nseen++] = counter;
		return;
	}
	for (unsigned int i = 1; i < REPLAY_SEEN; i++)
		if (w->seen[i] < w->seen[low])
			low = i;
	if (counter < w->seen[low]) {
		gone = counter;
	} else {
		gone = w->seen[low];
		w->seen[low] = counter;
	}
	/* gone is below some kept counter, so gone + 1 does not wrap. */
	if (gone + 1 > w->floor)
		w->floor = gone + 1;
}

void replay_accept(struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq)
{
	if (replay_check(w, counter, type, seq) != REPLAY_FRESH)
		return;
	if (!w->started || counter > w->top) {
		w->started = true;
		w->top = counter;
		prune(w);
	}
	keep(w, counter);
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
