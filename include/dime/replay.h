/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replay protection for signed IHMP messages (docs/ihmp.md section 7,
 * docs/security.md): the receiver's window over a peer's COUNTER values,
 * and the sender's counter.
 *
 * A sender keeps one 64-bit counter for everything it signs, to all peers:
 * its wall clock in microseconds, or the last value plus one when the clock
 * has not moved on (replay_counter_next), so that it keeps increasing
 * across restarts without stored state. A retransmission resends the same
 * bytes, hence the same counter.
 *
 * The receiver's window is therefore measured in time, not in messages: a
 * counter more than REPLAY_SPAN (64 s) below the highest accepted one is
 * stale. That is longer than a request's retransmissions last (31 s with
 * the defaults), so a request whose first copies were lost is still taken
 * after later messages of the same peer got through first; a window of N
 * messages would refuse it as soon as the sender's clock moved N us on.
 * Within the span, the REPLAY_SEEN highest accepted counters are kept; when
 * more arrive, the lowest kept one is forgotten and every counter up to it
 * becomes stale (a floor), so nothing accepted is ever accepted again. The
 * last REPLAY_ANSWERED requests answered are also kept, so the exact
 * retransmission of a request whose ACK was lost is answered again without
 * being applied twice.
 *
 * Pure and O(REPLAY_SEEN): no clock, no allocation. Only counters of
 * messages whose signature verified may be passed to replay_accept (an
 * unsigned counter proves nothing and would let anyone push the window).
 */
#ifndef DIME_REPLAY_H
#define DIME_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_SPAN (64ull * 1000000)	/* counter units (us) below the highest */
#define REPLAY_SEEN 32			/* accepted counters remembered in the span */
#define REPLAY_ANSWERED 8		/* requests remembered for re-answering */

struct replay_request {
	uint64_t counter;
	uint16_t seq;
	uint8_t type;			/* 0: slot unused */
};

struct replay_window {
	uint64_t floor;			/* counters below it are stale */
	uint64_t top;			/* highest accepted; valid when started */
	uint64_t seen[REPLAY_SEEN];	/* accepted, within the span, unordered */
	uint8_t nseen;
	bool started;
	uint8_t next;			/* answered[] ring position */
	struct replay_request answered[REPLAY_ANSWERED];
};

enum replay_verdict {
	REPLAY_FRESH = 0,	/* never seen: process it, then replay_accept */
	REPLAY_RETRANSMIT,	/* a request already answered: ACK it again, apply nothing */
	REPLAY_DUPLICATE,	/* accepted before: drop ("replay") */
	REPLAY_STALE,		/* below the span or the floor: drop ("replay") */
};

/*
 * An empty window. Counters below floor are refused even before the first
 * one is accepted: pass 0 to accept anything, or (the receiver's wall clock
 * in microseconds - the clock skew it tolerates) to refuse messages that
 * were recorded long ago and replayed to a receiver that has no state for
 * the peer yet (after its own restart).
 */
void replay_init(struct replay_window *w, uint64_t floor);

/*
 * What to do with a message carrying counter (type and seq from its header).
 * Does not change w: call it before the (costly) signature check, and
 * replay_accept only once the signature verified.
 */
enum replay_verdict replay_check(const struct replay_window *w, uint64_t counter, uint8_t type,
				 uint16_t seq);

/*
 * Record an accepted, verified message: moves the top when counter is above
 * it, forgets what fell out of the span, and keeps counter (or, with
 * REPLAY_SEEN kept already, raises the floor past the lowest). Requests
 * (every type but IHMP_ACK, which is never retransmitted) are also
 * remembered for REPLAY_RETRANSMIT. Accepting a counter that replay_check
 * would not call fresh changes nothing.
 */
void replay_accept(struct replay_window *w, uint64_t counter, uint8_t type, uint16_t seq);

/* "fresh", "retransmit", "duplicate", "stale". */
const char *replay_verdict_name(enum replay_verdict v);

/*
 * The sender's next counter: max(*last + 1, now_us), stored back in *last.
 * *last starts at 0 (the first counter is then now_us). 0, or -EOVERFLOW
 * once the 64-bit space is spent (*last is UINT64_MAX): sign no more.
 */
int replay_counter_next(uint64_t *last, uint64_t now_us, uint64_t *out);

#endif
