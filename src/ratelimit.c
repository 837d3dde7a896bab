// SPDX-License-Identifier: BSD-2-Clause
/*
 * Token buckets keyed by source prefix in a fixed, set-associative table,
 * plus one global bucket. The eviction policy and why it resists spoofed
 * sources are in include/dime/ratelimit.h; this file owns the arithmetic.
 *
 * A bucket holds milli-tokens: refilled by (elapsed ms * rate) and capped at
 * burst * 1000; a message costs 1000. The refill is computed so that no
 * product can overflow whatever the gap between two calls, and a clock that
 * goes backwards refills nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ratelimit.h"

#define MILLI 1000u

struct bucket {
	uint64_t mtokens;
	uint64_t last_ms;
};

struct entry {
	struct dime_addr key;	/* family 0: free */
	struct bucket b;
	uint64_t seen_ms;	/* last message; b.last_ms is the last refill */
};

struct ratelimit {
	struct ratelimit_config cfg;
	uint32_t set_mask;	/* sets - 1 */
	uint32_t used;
	struct bucket global;
	struct ratelimit_stats st;
	struct entry *e;	/* cfg.slots entries */
};

static bool config_valid(const struct ratelimit_config *c)
{
	return c->rate >= 1 && c->burst >= 1 && (!c->global_rate || c->global_burst >= 1) &&
	       c->v4_prefix >= 1 && c->v4_prefix <= 32 && c->v6_prefix >= 1 &&
	       c->v6_prefix <= 128 && c->slots >= RATELIMIT_WAYS &&
	       c->slots <= RATELIMIT_SLOTS_MAX && (c->slots & (c->slots - 1)) == 0;
}

int ratelimit_new(struct ratelimit **out, const struct ratelimit_config *cfg)
{
	struct ratelimit *rl;

	if (!out || !cfg || !config_valid(cfg))
		return -EINVAL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->e = calloc(cfg->slots, sizeof(*rl->e));
	if (!rl->e) {
		free(rl);
		return -ENOMEM;
	}
	rl->cfg = *cfg;
	rl->set_mask = cfg->slots / RATELIMIT_WAYS - 1;
	rl->global.mtokens = (uint64_t)cfg->global_burst * MILLI;
	*out = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->e);
	free(rl);
}

/* Bring b up to now: capacity cap_m milli-tokens, rate per second. */
static void refill(struct bucket *b, uint32_t rate, uint64_t cap_m, uint64_t now)
{
	uint64_t elapsed = now > b->last_ms ? now - b->last_ms : 0;
	uint64_t room = cap_m > b->mtokens ? cap_m - b->mtokens : 0;

	/* elapsed * rate is only computed below room + rate, so it fits. */
	if (elapsed >= (room + rate - 1) / rate)
		b->mtokens = cap_m;
	else
		b->mtokens += elapsed * rate;
	if (now > b->last_ms)
		b->last_ms = now;
}

/* src with every bit past the configured prefix cleared. */
static int prefix_of(const struct ratelimit *rl, const struct dime_addr *src,
		     struct dime_addr *key)
{
	unsigned int bits, len;

	if (src->family == AF_INET)
		bits = rl->cfg.v4_prefix, len = 4;
	else if (src->family == AF_INET6)
		bits = rl->cfg.v6_prefix, len = 16;
	else
		return -EAFNOSUPPORT;
	memset(key, 0, sizeof(*key));
	key->family = src->family;
	memcpy(key->a.u8, src->a.u8, len);
	for (unsigned int i = 0; i < len; i++) {
		if (bits >= 8 * (i + 1))
			continue;
		key->a.u8[i] &= bits > 8 * i ? (uint8_t)(0xffu << (8 * (i + 1) - bits)) : 0;
	}
	return 0;
}

/* The entry to replace in a full set: most tokens now, then least recent. */
static struct entry *victim(struct ratelimit *rl, struct entry *set, uint64_t now)
{
	uint64_t cap_m = (uint64_t)rl->cfg.burst * MILLI;
	struct entry *best = &set[0];

	for (unsigned int i = 0; i < RATELIMIT_WAYS; i++) {
		struct entry *x = &set[i];

		refill(&x->b, rl->cfg.rate, cap_m, now);
		if (x->b.mtokens > best->b.mtokens ||
		    (x->b.mtokens == best->b.mtokens && x->seen_ms < best->seen_ms))
			best = x;
	}
	return best;
}

/* The bucket of key: found, or a free or evicted entry, filled up. */
static struct bucket *lookup(struct ratelimit *rl, const struct dime_addr *key, uint64_t now)
{
	uint32_t set = dime_addr_hash(key, rl->cfg.seed) & rl->set_mask;
	struct entry *s = &rl->e[(size_t)set * RATELIMIT_WAYS], *free_e = NULL, *x;

	for (unsigned int i = 0; i < RATELIMIT_WAYS; i++) {
		if (dime_addr_eq(&s[i].key, key)) {
			s[i].seen_ms = now;
			return &s[i].b;
		}
		if (!free_e && !s[i].key.family)
			free_e = &s[i];
	}
	if (free_e) {
		x = free_e;
		rl->used++;
	} else {
		x = victim(rl, s, now);
		rl->st.evicted++;
	}
	rl->st.inserted++;
	x->key = *key;
	x->b.mtokens = (uint64_t)rl->cfg.burst * MILLI;
	x->b.last_ms = now;
	x->seen_ms = now;
	return &x->b;
}

enum ratelimit_verdict ratelimit_check(struct ratelimit *rl, const struct dime_addr *src,
				       uint64_t now_ms)
{
	struct dime_addr key;
	struct bucket *b;

	if (prefix_of(rl, src, &key) < 0) {
		rl->st.limited_source++;
		return RATELIMIT_SOURCE;
	}
	b = lookup(rl, &key, now_ms);
	refill(b, rl->cfg.rate, (uint64_t)rl->cfg.burst * MILLI, now_ms);
	if (b->mtokens < MILLI) {
		rl->st.limited_source++;
		return RATELIMIT_SOURCE;
	}
	if (rl->cfg.global_rate) {
		refill(&rl->global, rl->cfg.global_rate, (uint64_t)rl->cfg.global_burst * MILLI,
		       now_ms);
		if (rl->global.mtokens < MILLI) {
			rl->st.limited_global++;
			return RATELIMIT_GLOBAL;
		}
		rl->global.mtokens -= MILLI;
	}
	b->mtokens -= MILLI;
	rl->st.passed++;
	return RATELIMIT_PASS;
}

const struct ratelimit_stats *ratelimit_stats(const struct ratelimit *rl)
{
	return &rl->st;
}

uint32_t ratelimit_used(const struct ratelimit *rl)
{
	return rl->used;
}

const char *ratelimit_verdict_name(enum ratelimit_verdict v)
{
	switch (v) {
	case RATELIMIT_PASS: return "pass";
	case RATELIMIT_SOURCE: return "source";
	case RATELIMIT_GLOBAL: return "global";
	}
	return "?";
}
