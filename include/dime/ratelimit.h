/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Token buckets for IHMP input (docs/security.md): one per source prefix in
 * a fixed-size table, and one for all sources together. Checked before a
 * datagram is decoded, so a flood costs a hash lookup per packet, not a
 * decode and a signature check.
 *
 * Sources are grouped by prefix (default /32 for IPv4, /64 for IPv6: one
 * IPv6 host usually owns a whole /64, so per-address buckets would give it
 * 2^64 of them). The table never grows: it is allocated once with `slots`
 * entries in sets of RATELIMIT_WAYS, a set chosen by a seeded hash of the
 * prefix. When a new prefix finds its set full, the entry with the most
 * tokens (after refilling it to now) is evicted, the least recently seen
 * among equals. A full bucket is the same as no entry, so idle sources go
 * first, and the sources that are being limited are the last to go: a
 * flood of spoofed sources evicts its own entries, and cannot refill a
 * real flooder's bucket by pushing it out.
 *
 * Time is a parameter (milliseconds, monotonic). Tokens are counted in
 * thousandths so that rates below one per millisecond refill smoothly.
 */
#ifndef DIME_RATELIMIT_H
#define DIME_RATELIMIT_H

#include <stdint.h>

#include "dime/addr.h"

#define RATELIMIT_WAYS 8		/* entries per hash set */
#define RATELIMIT_SLOTS_MAX (1u << 20)

struct ratelimit_config {
	uint32_t rate;		/* messages per second per source prefix, >= 1 */
	uint32_t burst;		/* bucket size per source prefix, >= 1 */
	uint32_t global_rate;	/* all sources together; 0: no global bucket */
	uint32_t global_burst;	/* >= 1 when global_rate is set */
	uint8_t v4_prefix;	/* 1..32 */
	uint8_t v6_prefix;	/* 1..128 */
	uint32_t slots;		/* table entries: a power of two, RATELIMIT_WAYS..SLOTS_MAX */
	uint32_t seed;		/* hash seed; random in the daemon so sets cannot be aimed at */
};

/* IHMP needs a few messages per event per peer: these leave ample room for
 * a NAT with many hosts behind one address, and cap the signature checks a
 * flood can cause at about a sixth of a core (docs/security.md quotes the
 * cost: about 160 us of CPU per Ed25519 verification). */
#define RATELIMIT_CONFIG_DEFAULTS {                                         \
	.rate = 50, .burst = 100, .global_rate = 1000, .global_burst = 2000,  \
	.v4_prefix = 32, .v6_prefix = 64, .slots = 4096, .seed = 0 }

enum ratelimit_verdict {
	RATELIMIT_PASS = 0,
	RATELIMIT_SOURCE,	/* this source prefix is over its rate: drop */
	RATELIMIT_GLOBAL,	/* all sources together are over the global rate: drop */
};

struct ratelimit_stats {
	uint64_t passed;
	uint64_t limited_source;
	uint64_t limited_global;
	uint64_t inserted;	/* prefixes given an entry */
	uint64_t evicted;	/* ... that took another prefix's entry */
};

struct ratelimit;

/* 0, -EINVAL (a field out of range), -ENOMEM. The table is allocated here,
 * once: slots * 48 bytes. */
int ratelimit_new(struct ratelimit **out, const struct ratelimit_config *cfg);
void ratelimit_free(struct ratelimit *rl);

/*
 * Charge one message from src at now_ms. A source over its rate is refused
 * without touching the global bucket; a source within it is charged only
 * when the global bucket also has room. src must be IPv4 or IPv6; anything
 * else is refused as RATELIMIT_SOURCE.
 */
enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct dime_addr *src,
				       uint64_t now_ms);

const struct ratelimit_stats *ratelimit_stats(const struct ratelimit *rl);
/* Entries in use (never above cfg.slots). */
uint32_t ratelimit_used(const struct ratelimit *rl);
/* "pass", "source", "global". */
const char *ratelimit_verdict_name(enum ratelimit_verdict v);

#endif
