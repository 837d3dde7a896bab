/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IHMP state machine (paper III-B to III-D, docs/ihmp.md sections 8 to
 * 11) as a pure module: inputs are a decoded-or-not datagram with its
 * addresses, a local address event, a HID StackTrans created, or the clock;
 * outputs are actions appended to a caller-provided list (send these bytes
 * from this address to that one; this HID's locators changed; this peer is
 * lost). No sockets, no timers of its own, no clock: time is a parameter
 * and ihmp_next_deadline() says when ihmp_timer() wants to run next.
 *
 * ihmp.c owns the control-plane state hung on each dime_hid_entry.ihmp and
 * writes the HID table's address sets and locators itself (it holds the
 * table); every change is reported as IHMP_ACT_LOCATORS_CHANGED so the
 * daemon resyncs the data plane (dp_hid_sync) and nothing else.
 *
 * Security (docs/security.md) sits in the same pure path: every datagram
 * meets the rate limiter before it is decoded, every decoded message the
 * signature policy and the peer's replay window before it changes
 * anything, and everything sent is signed when a local key is configured.
 * Keys come from the caller (ihmpkeys.c loads them from files); ihmp only
 * holds pointers to them.
 */
#ifndef DIME_IHMP_H
#define DIME_IHMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"
#include "dime/hid.h"
#include "dime/ihmp_sign.h"
#include "dime/ihmp_wire.h"
#include "dime/ratelimit.h"
#include "dime/replay.h"

#define IHMP_LOCAL_MAX 16	/* local addresses tracked (= ADVERTISED max) */
#define IHMP_ACTIONS_MAX 64	/* actions per call; more are deferred, see below */

struct ihmp_config {
	uint16_t port;			/* ihmp_port: requests go to it */
	uint32_t rto_ms;		/* first retransmission timeout */
	uint32_t backoff;		/* rto multiplier per retransmission */
	uint8_t tries;			/* transmissions before a request fails */
	uint8_t hello_tries;		/* ... a HELLO (then the peer is legacy) */
	uint8_t handoff_tries;		/* ... a HANDOFF (to every known address) */
	uint32_t hold_ms;		/* a HID with no local address left waits this long */
	uint32_t pair_ms;		/* a down and an up this close are one hand-off */
	/* Source of sequence seeds and nonces; NULL means getrandom(2).
	 * Tests pass a deterministic one. */
	uint64_t (*random)(void *ctx);
	void *random_ctx;

	/* ---- security (docs/security.md) ---- */
	enum ihmp_auth_mode auth;	/* what a received message must carry */
	/* Signs everything we send; NULL: we send unsigned. Must be a
	 * private key and outlive ihmp. */
	const struct ihmp_key *local_key;
	/* When set, chooses the key instead, per message (docs/security.md
	 * 5): asked with the message's HOST_ID (one of our addresses, the
	 * identity the peer knows us by) each time a message is signed, and
	 * never kept, so the caller may replace keys between calls. NULL
	 * result: that message goes out unsigned. */
	const struct ihmp_key *(*local_key_for)(void *ctx, const struct dime_addr *host_id);
	void *local_key_ctx;
	/* Trust on first use: a peer with no key configured that sends a
	 * HELLO (or the ACK of ours) signed with the key in its PUBKEY TLV
	 * gets that key bound for the peer's lifetime (auth off: never). */
	bool tofu;
	/*
	 * The key configured a priori for a peer (docs/security.md 5): asked
	 * with the peer's HOST_ID and the packet source (host_id may be the
	 * same address) when a peer's IHMP state is created, and whenever a
	 * message arrives for a peer that has no key yet. NULL (or a NULL
	 * callback): no key. A key that verified a message stays bound to the
	 * peer for the peer's lifetime. Keys must outlive ihmp.
	 */
	const struct ihmp_key *(*peer_key)(void *ctx, const struct dime_addr *src,
					   const struct dime_addr *host_id);
	void *peer_key_ctx;
	/* The wall clock (CLOCK_REALTIME, microseconds) at monotonic time
	 * clock_ms (the time ihmp's other inputs carry). Our COUNTER follows
	 * it, so it keeps increasing across restarts (docs/ihmp.md 7). */
	uint64_t clock_us, clock_ms;
	/* A peer's first message must carry a counter above our wall clock
	 * minus this, so a message recorded before we (re)started cannot be
	 * replayed to a window we no longer have. 0: no such floor (for
	 * hosts without synchronised clocks). */
	uint64_t replay_skew_us;
	/* Called once a request (not a HELLO, not an ACK) from an
	 * established peer has passed authentication and the replay window,
	 * just before it is applied to hid: the daemon merges a host entry
	 * that a HANDOFF's or ADDR_UP's new address already has. Never for
	 * anything dropped. NULL: nothing. */
	void (*before_apply)(void *ctx, uint32_t hid, const struct ihmp_msg *m);
	void *before_apply_ctx;
	/* Limits on received datagrams, checked before decoding. slots 0:
	 * none. seed 0: ihmp picks a random one. */
	struct ratelimit_config rl;
	/*
	 * Path validation (docs/security.md 3.6): a remote locator ihmp sets
	 * to an address that has not echoed our nonce from itself is flagged
	 * (dime_hid_entry.rloc_unvalidated) and probed; the data plane sends
	 * it at most three times what it received from it until the ACK. Off:
	 * locators move as the messages say, nothing is flagged or probed.
	 */
	bool path_validation;
};

/* Peer addresses remembered as validated (per peer, oldest evicted). */
#define IHMP_VALIDATED_MAX 8

/* docs/ihmp.md section 8 defaults: 1 s, 2 s, 4 s, failed after the third.
 * Opportunistic authentication (a no-op until keys are given), the rate
 * limits of docs/security.md 3.5 and path validation (3.6). */
#define IHMP_CONFIG_DEFAULTS {                                             \
	.port = IHMP_PORT_DEFAULT, .rto_ms = 1000, .backoff = 2, .tries = 3,  \
	.hello_tries = 3, .handoff_tries = 6, .hold_ms = 30000, .pair_ms = 2000, \
	.auth = IHMP_AUTH_OPPORTUNISTIC, .rl = RATELIMIT_CONFIG_DEFAULTS,  \
	.path_validation = true }

enum ihmp_action_type {
	/* Send buf[0..len) from src (port cfg.port) to dst:dport. */
	IHMP_ACT_SEND = 1,
	/* ihmp changed hid's sets or locators (or created hid for a new peer):
	 * resync the data plane for it. */
	IHMP_ACT_LOCATORS_CHANGED,
	/* hid lost every path and its hold expired: reset its flows and
	 * destroy it. ihmp has already released its state. */
	IHMP_ACT_PEER_LOST,
};

struct ihmp_action {
	enum ihmp_action_type type;
	uint32_t hid;
	struct dime_addr src, dst;	/* SEND */
	uint16_t dport;			/* SEND, host byte order */
	uint16_t len;			/* SEND */
	uint8_t buf[IHMP_MSG_MAX];	/* SEND */
};

/*
 * Filled by every input; the caller executes a[0..n) and sets n back to 0.
 * When the list is full, requests stay queued inside ihmp with their
 * deadline now (ihmp_next_deadline() says so) and go out at the next
 * ihmp_timer(); ACKs that do not fit are dropped and counted (the peer
 * retransmits), so a full list never loses state.
 */
struct ihmp_actions {
	unsigned int n;
	struct ihmp_action a[IHMP_ACTIONS_MAX];
};

/* Drop reasons (docs/ihmp.md sections 9 and 10.7), in counter order. The
 * first ones are the decoder's classes, named by ihmp_err_name(). */
#define IHMP_DROPS(X)                                                          \
	X(length) X(version) X(too_big) X(unknown_type) X(overrun) X(order)    \
	X(unsupported) X(invalid) X(missing)                                   \
	X(unknown_host)	 /* HOST_ID not active for any HID with IHMP state */   \
	X(unmatched_ack) /* ACK of no request we sent (or remember) */          \
	X(late_ack)	 /* ACK of a request already answered, cancelled or   \
			  * given up: harmless, the path works */             \
	X(nat_forced)	 /* anything but HELLO for a NAT-forced HID */          \
	X(unexpected)	 /* decodes, but not in this state (legacy, no NAT HID) */ \
	X(table_full)	 /* HELLO from a new peer, HID table full */            \
	X(bad_addr)	 /* source or destination unusable (family 0, ...) */   \
	X(no_room)	 /* ACK that did not fit in the action list */          \
	X(rate_limited)	 /* over the per-source or global rate, not decoded */  \
	X(unsigned_msg)	 /* the peer has a key, the message no SIGNATURE */     \
	X(wrong_key)	 /* signed with another key than the peer's */          \
	X(bad_signature) /* the signature does not verify */                    \
	X(no_key)	 /* auth required, no key for the peer */               \
	X(replay)	 /* a signed counter already seen, or below the window */

struct ihmp_stats {
	uint64_t sent[IHMP_TYPE_MAX + 1];	/* first transmissions, by type */
	uint64_t received[IHMP_TYPE_MAX + 1];	/* decoded, by type */
	uint64_t retransmissions;
	uint64_t failed;			/* requests that ran out of tries */
	uint64_t handoffs;			/* hand-off events (per peer) */
	uint64_t legacy_peers;			/* HELLO never answered */
	uint64_t peers_lost;			/* hold expired */
	uint64_t nat_detected;			/* requests we ACKed with ND */
	uint64_t nat_entries;			/* NAT_ENTRY mappings stored */
	uint64_t conflicts;			/* address owned by another HID */
	uint64_t verified;			/* accepted with a verified signature */
	uint64_t unverified;			/* accepted without (off, or no key) */
	uint64_t reacked;			/* retransmissions ACKed again, not applied */
	uint64_t encode_failed;			/* messages we could not encode or sign */
	/* Path validation (docs/security.md 3.6): probes put in charge of
	 * validating a peer address (a locator, or an ADDR_UP's NEW in the
	 * background), those its ACK answered, those that ran out of tries. */
	uint64_t validations_started;
	uint64_t validations_succeeded;
	uint64_t validations_failed;
	uint64_t validations_reverted;		/* failed, and the previous locator came back */
	uint64_t tofu_pinned;			/* peers' keys bound on first use */
	uint64_t tofu_conflict;			/* HELLO offering another key than the bound one, dropped */
#define IHMP_DROP_FIELD(name) uint64_t drop_##name;
	IHMP_DROPS(IHMP_DROP_FIELD)
#undef IHMP_DROP_FIELD
};

/* What ihmp_peer_info() reports on one HID. */
struct ihmp_peer_info {
	bool established;	/* HELLO exchange done, either way */
	bool legacy;		/* HELLO never answered: no IHMP for it */
	bool nat_forced;	/* one-to-one: no IHMP for it */
	bool hold;		/* no local address left; hold_until is set */
	bool key_bound;		/* its messages must be signed by its key */
	bool key_pinned;	/* ... a key learnt on first use (PUBKEY) */
	uint8_t key_id[IHMP_KEY_ID_LEN];	/* key_bound: its id */
	uint64_t hold_until;
	unsigned int pending;	/* requests awaiting an ACK */
	unsigned int nat_n;	/* nat_addr:host_addr tuples stored */
	struct dime_addr nat_addr[4], nat_host[4];
	unsigned int map_n;	/* port mappings from NAT_ENTRY */
	struct ihmp_nat_entry map[4];
	/* Path validation, per family (DIME_AF4, DIME_AF6): the remote
	 * locator awaits its ACK (a copy of dime_hid_entry.rloc_unvalidated),
	 * a validation probe is outstanding, the last one for the locator
	 * failed. validated[0..validated_n): the peer's proven addresses,
	 * oldest first. */
	bool rloc_unvalidated[2], validating[2], validation_failed[2];
	unsigned int validated_n;
	struct dime_addr validated[IHMP_VALIDATED_MAX];
};

struct ihmp;

/* cfg NULL means IHMP_CONFIG_DEFAULTS. The table must outlive ihmp.
 * 0, -ENOMEM, -EINVAL (a zero timer or try count, an unknown auth mode, a
 * public-only local key, a rate limit ratelimit_new refuses). */
int ihmp_new(struct ihmp **out, struct dime_hid_table *hids, const struct ihmp_config *cfg);
/* Releases every HID's IHMP state (not the HIDs). */
void ihmp_free(struct ihmp *ih);

/*
 * StackTrans created hid for an outbound flow: its active set holds the
 * flow's remote address and its local set the flow's local address. Send
 * the HELLO (docs/ihmp.md 10.1). 0, -ESTALE, -EINVAL (no locator pair),
 * -EEXIST (already has IHMP state), -ENOMEM.
 */
int ihmp_hid_created(struct ihmp *ih, uint32_t hid, uint64_t now, struct ihmp_actions *acts);

/* The daemon is about to destroy hid (its flows ended): release its state. */
void ihmp_hid_forget(struct ihmp *ih, uint32_t hid);

/*
 * One received datagram buf[0..len), its packet source src:sport and the
 * local address it arrived at (IP_PKTINFO), now in milliseconds. In order
 * (docs/ihmp.md 9): rate limit, decode, find the peer, authenticate
 * (signature policy, replay window), apply. Malformed, unexpected,
 * unauthenticated or replayed messages are dropped and counted, never
 * answered; the exact retransmission of a signed request we already
 * applied is ACKed again without being applied twice. The return value is 0
 * for anything handled (dropped included), -errno only for the caller's
 * mistakes (NULL pointers).
 */
int ihmp_input(struct ihmp *ih, const uint8_t *buf, size_t len, const struct dime_addr *src,
	       uint16_t sport, const struct dime_addr *dst, uint64_t now,
	       struct ihmp_actions *acts);

/* A local address became usable (after DAD) or went away. Loopback,
 * link-local and multicast addresses are ignored (never advertised). */
int ihmp_local_addr_up(struct ihmp *ih, const struct dime_addr *addr, uint64_t now,
		       struct ihmp_actions *acts);
int ihmp_local_addr_down(struct ihmp *ih, const struct dime_addr *addr, uint64_t now,
			 struct ihmp_actions *acts);

/* A configuration reload: new timers and try counts (0 keeps one) for
 * requests started and holds begun from now on. */
void ihmp_set_timing(struct ihmp *ih, uint32_t rto_ms, uint8_t hello_tries, uint8_t handoff_tries,
		     uint32_t hold_ms);

/* Retransmissions, failures, hold expiry: everything due at now. */
int ihmp_timer(struct ihmp *ih, uint64_t now, struct ihmp_actions *acts);

/* Did the last ihmp_input() accept its message (it passed the rate limit,
 * the decoder, the peer lookup, authentication and the replay window; an
 * ACK also matched one of our requests)? For the daemon's journal and its
 * reactions to an ACK, which must never follow a forged one. */
bool ihmp_input_applied(const struct ihmp *ih);

/* The earliest time ihmp_timer() has work, or UINT64_MAX for none. */
uint64_t ihmp_next_deadline(const struct ihmp *ih);

const struct ihmp_stats *ihmp_stats(const struct ihmp *ih);
/* Calls emit(name, value) for every counter ("sent_HELLO", "drop_length",
 * "drop_bad_signature", ..., "ratelimit_entries", "ratelimit_evicted"). */
void ihmp_stats_foreach(const struct ihmp *ih,
			void (*emit)(void *ctx, const char *name, uint64_t value), void *ctx);

/* 0 or -ENOENT (stale HID or no IHMP state). */
int ihmp_peer_info(const struct ihmp *ih, uint32_t hid, struct ihmp_peer_info *out);

#endif
