/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Replay protection for signed IHMP messages (docs/ihmp.md section 7,
 * docs/security.md): the receiver's sliding window over a peer's COUNTER
 * values, and the sender's counter.
 *
 * A sender keeps one 64-bit counter for everything it signs, started at the
 * wall clock in microseconds so that it keeps increasing across restarts
 * without stored state. A receiver keeps, per peer key, the highest counter
 * it accepted and a REPLAY_WINDOW-message bitmap below it (as IPsec does:
 * UDP reorders), plus the last REPLAY_ANSWERED requests it answered, so the
 * exact retransmission of a request whose ACK was lost is answered again
 * without being applied twice.
 *
 * Pure and O(1): no clock, no allocation. Only counters of messages whose
 * signature verified may be passed to replay_accept (an unsigned counter
 * proves nothing and would let anyone push the window forward).
 */
#ifndef DIME_REPLAY_H
#define DIME_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_WINDOW 128		/* counters remembered below the highest */
#define REPLAY_WORDS (REPLAY_WINDOW / 64)
#define REPLAY_ANSWERED 8		/* requests remembered for re-answering */

struct replay_request {
	uint64_t counter;
	uint16_t seq;
	uint8_t type;			/* 0: slot unused */
};

struct replay_window {
	uint64_t floor;			/* counters below it are stale */
	uint64_t top;			/* highest accepted; valid when started */
	/* Bit i (word i / 64, bit i % 64) set: counter top - i was accepted. */
	uint64_t bits[REPLAY_WORDS];
	bool started;
	uint8_t next;			/* answered[] ring position */
	struct replay_request answered[REPLAY_ANSWERED];
};

enum replay_verdict {
	REPLAY_FRESH = 0,	/* never seen: process it, then replay_accept */
	REPLAY_RETRANSMIT,	/* a request already answered: ACK it again, apply nothing */
	REPLAY_DUPLICATE,	/* accepted before: drop ("replay") */
	REPLAY_STALE,		/* below the window or the floor: drop ("replay") */
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
 * Record an accepted, verified message: moves the window forward when
 * counter is above it (a jump of REPLAY_WINDOW or more clears it) and marks
 * counter seen. Requests (every type but IHMP_ACK, which is never
 * retransmitted) are also remembered for REPLAY_RETRANSMIT. Accepting a
 * counter that replay_check would not call fresh changes nothing.
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
