// SPDX-License-Identifier: BSD-2-Clause
/*
 * The HID table (see hid.h): a preallocated entry array with a free stack
 * and per-entry generations, plus the address index, an open-addressing
 * table with linear probing of 32-byte slots (one cache miss per lookup)
 * sized to stay at most 3/4 full. Deletion shifts later slots back instead
 * of leaving tombstones, so lookups stay short however much addresses churn.
 */
#include <errno.h>
#include <stdlib.h>

#include "dime/bigalloc.h"
#include "dime/hid.h"

/* One indexed remote address. */
struct hid_slot {
	struct dime_addr addr;	/* family 0: empty */
	uint32_t hid;		/* owner; stale when its HID was destroyed (orphan) */
	uint32_t binds;		/* flows bound to it as their remote identifier */
	uint32_t hash;
};

struct dime_hid_table {
	struct dime_sipkey seed;
	uint32_t capacity;
	uint32_t count;
	uint32_t ibits;		/* handle = generation << ibits | index */
	uint32_t gen_max;
	struct dime_hid_entry *ent;
	/* Per entry, the live handle or 0: liveness checks read this small
	 * array instead of the entries, so an address lookup that only needs
	 * the handle costs one cache miss, not two. */
	uint32_t *live;
	uint32_t *free_stack;
	uint32_t nfree;
	struct hid_slot *slots;
	uint32_t slot_mask;
	uint32_t naddrs;
	uint32_t max_addrs;
};

static uint32_t pow2_above(uint64_t n)
{
	uint64_t p = 8;

	while (p <= n)
		p <<= 1;
	return (uint32_t)p;
}

int dime_hid_table_new(struct dime_hid_table **out, const struct dime_hid_config *cfg)
{
	struct dime_hid_table *t;

	*out = NULL;
	if (cfg->capacity == 0 || cfg->capacity > DIME_HID_CAPACITY_MAX ||
	    cfg->max_addrs < cfg->capacity || cfg->max_addrs / 16 > cfg->capacity)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->seed = cfg->seed;
	t->capacity = cfg->capacity;
	t->ibits = 1;
	while ((1u << t->ibits) < cfg->capacity)
		t->ibits++;
	t->gen_max = (uint32_t)((1ull << (32 - t->ibits)) - 1);
	t->max_addrs = cfg->max_addrs;
	/* Load factor at most 3/4 keeps linear probes within a cache line or two. */
	t->slot_mask = pow2_above((uint64_t)cfg->max_addrs * 4 / 3) - 1;
	t->ent = big_calloc(cfg->capacity, sizeof(*t->ent));
	t->live = big_calloc(cfg->capacity, sizeof(*t->live));
	t->free_stack = big_calloc(cfg->capacity, sizeof(*t->free_stack));
	t->slots = big_calloc((size_t)t->slot_mask + 1, sizeof(*t->slots));
	if (!t->ent || !t->live || !t->free_stack || !t->slots) {
		dime_hid_table_free(t);
		return -ENOMEM;
	}
	/* Pop order 0, 1, 2...: low indices first keeps iteration short. */
	for (uint32_t i = 0; i < cfg->capacity; i++)
		t->free_stack[i] = cfg->capacity - 1 - i;
	t->nfree = cfg->capacity;
	*out = t;
	return 0;
}

void dime_hid_table_free(struct dime_hid_table *t)
{
	if (!t)
		return;
	big_free(t->ent, t->capacity, sizeof(*t->ent));
	big_free(t->live, t->capacity, sizeof(*t->live));
	big_free(t->free_stack, t->capacity, sizeof(*t->free_stack));
	big_free(t->slots, (size_t)t->slot_mask + 1, sizeof(*t->slots));
	free(t);
}

static struct dime_hid_entry *hid_entry(const struct dime_hid_table *t, uint32_t hid)
{
	uint32_t idx = hid & ((1u << t->ibits) - 1);

	if (hid == DIME_HID_NONE || idx >= t->capacity || t->live[idx] != hid)
		return NULL;
	return &t->ent[idx];
}

struct dime_hid_entry *dime_hid_get(struct dime_hid_table *t, uint32_t hid)
{
	return hid_entry(t, hid);
}

/* ---- address index ---- */

/* IPv4 hashes one word and IPv6 two: the length tells the families apart,
 * and the common case pays for fewer rounds. */
uint32_t dime_hid_addr_hash(const struct dime_hid_table *t, const struct dime_addr *addr)
{
	uint64_t w[2];

	if (addr->family == AF_INET) {
		w[0] = addr->a.u32[0];
		return (uint32_t)dime_siphash13(&t->seed, w, 1);
	}
	memcpy(w, addr->a.u8, 16);
	return (uint32_t)dime_siphash13(&t->seed, w, 2);
}

/* Slot position of addr, or -1. */
static int64_t index_find(const struct dime_hid_table *t, const struct dime_addr *addr,
			  uint32_t hash)
{
	for (uint32_t i = hash & t->slot_mask;; i = (i + 1) & t->slot_mask) {
		const struct hid_slot *s = &t->slots[i];

		if (!dime_addr_is_set(&s->addr))
			return -1;
		if (s->hash == hash && dime_addr_eq(&s->addr, addr))
			return i;
	}
}

static void index_insert(struct dime_hid_table *t, const struct dime_addr *addr, uint32_t hash,
			 uint32_t hid, uint32_t binds)
{
	uint32_t i = hash & t->slot_mask;

	while (dime_addr_is_set(&t->slots[i].addr))
		i = (i + 1) & t->slot_mask;
	t->slots[i] = (struct hid_slot){ .addr = *addr, .hid = hid, .binds = binds, .hash = hash };
	t->naddrs++;
}

/* Backward-shift deletion: pull every later slot of the run that may live
 * at or before the hole into it, so no probe sequence is ever broken. */
static void index_remove_at(struct dime_hid_table *t, uint32_t hole)
{
	uint32_t mask = t->slot_mask;

	for (uint32_t j = (hole + 1) & mask; dime_addr_is_set(&t->slots[j].addr);
	     j = (j + 1) & mask) {
		uint32_t home = t->slots[j].hash & mask;

		/* Stays put if its home is cyclically in (hole, j]. */
		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		t->slots[hole] = t->slots[j];
		hole = j;
	}
	memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
	t->naddrs--;
}

/*
 * Make addr map to hid, adding one bind if `bind`. An orphan (kept for a
 * destroyed HID's flows) is taken over: those flows' unbinds then no
 * longer match and are ignored.
 */
static int index_claim(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr,
		       bool bind)
{
	uint32_t hash = dime_hid_addr_hash(t, addr);
	int64_t pos = index_find(t, addr, hash);

	if (pos < 0) {
		if (t->naddrs >= t->max_addrs)
			return -ENOSPC;
		index_insert(t, addr, hash, hid, bind);
		return 0;
	}
	struct hid_slot *s = &t->slots[pos];

	if (s->hid != hid) {
		if (hid_entry(t, s->hid))
			return -EEXIST;
		s->hid = hid;
		s->binds = 0;
	}
	if (bind)
		s->binds++;
	return 0;
}

/* Drop addr from the index if hid no longer holds it in a set nor any bind. */
static void index_release(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr)
{
	int64_t pos = index_find(t, addr, dime_hid_addr_hash(t, addr));
	const struct dime_hid_entry *e = hid_entry(t, hid);

	if (pos < 0 || t->slots[pos].hid != hid || t->slots[pos].binds)
		return;
	if (e && (dime_addr_set_has(&e->active, addr) || dime_addr_set_has(&e->unreach, addr)))
		return;
	index_remove_at(t, (uint32_t)pos);
}

uint32_t dime_hid_lookup(const struct dime_hid_table *t, const struct dime_addr *addr)
{
	return dime_hid_lookup_hashed(t, addr, dime_hid_addr_hash(t, addr));
}

void dime_hid_prefetch(const struct dime_hid_table *t, uint32_t hash)
{
	__builtin_prefetch(&t->slots[hash & t->slot_mask]);
}

uint32_t dime_hid_lookup_hashed(const struct dime_hid_table *t, const struct dime_addr *addr,
				uint32_t hash)
{
	int64_t pos = index_find(t, addr, hash);

	if (pos < 0 || !hid_entry(t, t->slots[pos].hid))
		return DIME_HID_NONE;
	return t->slots[pos].hid;
}

/* ---- entries ---- */

int dime_hid_create(struct dime_hid_table *t, uint64_t now_ms, uint32_t *hid)
{
	uint32_t idx, g;

	*hid = DIME_HID_NONE;
	if (t->nfree == 0)
		return -ENOSPC;
	idx = t->free_stack[--t->nfree];
	/* A destroyed entry keeps its last handle, hence its generation. */
	g = (t->ent[idx].hid >> t->ibits) + 1;
	if (g > t->gen_max)
		g = 1;		/* generation 0 would make handle 0 possible */
	memset(&t->ent[idx], 0, sizeof(t->ent[idx]));
	t->ent[idx].hid = g << t->ibits | idx;
	t->live[idx] = t->ent[idx].hid;
	t->ent[idx].created_ms = now_ms;
	t->ent[idx].used_ms = now_ms;
	t->count++;
	*hid = t->ent[idx].hid;
	return 0;
}

int dime_hid_destroy(struct dime_hid_table *t, uint32_t hid)
{
	struct dime_hid_entry *e = hid_entry(t, hid);
	const struct dime_addr_set *sets[2];

	if (!e)
		return -ESTALE;
	sets[0] = &e->active;
	sets[1] = &e->unreach;
	/* Kill the handle first: index_release then treats hid as stale and
	 * keeps only what live flows still bind. */
	t->live[e - t->ent] = DIME_HID_NONE;
	for (int s = 0; s < 2; s++)
		for (uint32_t i = 0; i < sets[s]->n; i++)
			index_release(t, hid, &sets[s]->addr[i]);
	t->free_stack[t->nfree++] = (uint32_t)(e - t->ent);
	t->count--;
	return 0;
}

static struct dime_addr_set *set_of(struct dime_hid_entry *e, enum dime_hid_set set)
{
	switch (set) {
	case DIME_HID_ACTIVE:
		return &e->active;
	case DIME_HID_UNREACH:
		return &e->unreach;
	case DIME_HID_LOCAL:
		return &e->local;
	}
	return NULL;
}

static int set_find(const struct dime_addr_set *set, const struct dime_addr *addr)
{
	for (uint32_t i = 0; i < set->n; i++)
		if (dime_addr_eq(&set->addr[i], addr))
			return (int)i;
	return -1;
}

bool dime_addr_set_has(const struct dime_addr_set *set, const struct dime_addr *addr)
{
	return set_find(set, addr) >= 0;
}

static void set_remove(struct dime_addr_set *set, int i)
{
	memmove(&set->addr[i], &set->addr[i + 1], (set->n - (uint32_t)i - 1) * sizeof(set->addr[0]));
	set->n--;
	memset(&set->addr[set->n], 0, sizeof(set->addr[0]));
}

static void loc_change(struct dime_hid_entry *e, struct dime_addr *loc, const struct dime_addr *to)
{
	if (to ? dime_addr_eq(loc, to) : !dime_addr_is_set(loc))
		return;
	if (to)
		*loc = *to;
	else
		memset(loc, 0, sizeof(*loc));
	e->epoch++;
	if (e->refs)
		e->moved = true;
}

/* The locator a set feeds, or NULL (unreachable addresses are never used). */
static struct dime_addr *loc_of(struct dime_hid_entry *e, enum dime_hid_set set,
				const struct dime_addr *addr)
{
	int af = dime_af_index(addr->family);

	if (set == DIME_HID_ACTIVE)
		return &e->rloc[af];
	if (set == DIME_HID_LOCAL)
		return &e->lloc[af];
	return NULL;
}

/* After addr joined a set: it becomes the locator if its family had none. */
static void loc_after_add(struct dime_hid_entry *e, enum dime_hid_set set,
			  const struct dime_addr *addr)
{
	struct dime_addr *loc = loc_of(e, set, addr);

	if (loc && !dime_addr_is_set(loc))
		loc_change(e, loc, addr);
}

/* After addr left a set: if it was the locator, the first of its family
 * still in the set takes over. */
static void loc_after_del(struct dime_hid_entry *e, enum dime_hid_set set,
			  const struct dime_addr *addr)
{
	struct dime_addr *loc = loc_of(e, set, addr);
	const struct dime_addr_set *s = set_of(e, set);

	if (!loc || !dime_addr_eq(loc, addr))
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->addr[i].family == addr->family) {
			loc_change(e, loc, &s->addr[i]);
			return;
		}
	}
	loc_change(e, loc, NULL);
}

static bool addr_valid(const struct dime_addr *addr)
{
	return addr->family == AF_INET || addr->family == AF_INET6;
}

int dime_hid_addr_add(struct dime_hid_table *t, uint32_t hid, enum dime_hid_set set,
		      const struct dime_addr *addr)
{
	struct dime_hid_entry *e = hid_entry(t, hid);
	struct dime_addr_set *s;
	int err;

	if (!e)
		return -ESTALE;
	s = set_of(e, set);
	if (!s || !addr_valid(addr))
		return -EINVAL;
	if (dime_addr_set_has(s, addr))
		return 0;
	if (set != DIME_HID_LOCAL &&
	    dime_addr_set_has(set == DIME_HID_ACTIVE ? &e->unreach : &e->active, addr))
		return -EEXIST;
	if (s->n >= DIME_HID_SET_MAX)
		return -ENOSPC;
	if (set != DIME_HID_LOCAL) {
		err = index_claim(t, hid, addr, false);
		if (err)
			return err;
	}
	s->addr[s->n++] = *addr;
	loc_after_add(e, set, addr);
	return 0;
}

int dime_hid_addr_del(struct dime_hid_table *t, uint32_t hid, enum dime_hid_set set,
		      const struct dime_addr *addr)
{
	struct dime_hid_entry *e = hid_entry(t, hid);
	struct dime_addr_set *s;
	int i;

	if (!e)
		return -ESTALE;
	s = set_of(e, set);
	if (!s)
		return -EINVAL;
	i = set_find(s, addr);
	if (i < 0)
		return -ENOENT;
	set_remove(s, i);
	if (set != DIME_HID_LOCAL)
		index_release(t, hid, addr);
	loc_after_del(e, set, addr);
	return 0;
}

int dime_hid_addr_move(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr,
		       enum dime_hid_set from, enum dime_hid_set to)
{
	struct dime_hid_entry *e = hid_entry(t, hid);
	struct dime_addr_set *sf, *st;
	int i;

	if (!((from == DIME_HID_ACTIVE && to == DIME_HID_UNREACH) ||
	      (from == DIME_HID_UNREACH && to == DIME_HID_ACTIVE)))
		return -EINVAL;
	if (!e)
		return -ESTALE;
	sf = set_of(e, from);
	st = set_of(e, to);
	i = set_find(sf, addr);
	if (i < 0)
		return -ENOENT;
	if (st->n >= DIME_HID_SET_MAX)
		return -ENOSPC;
	/* The owner stays the same, so the index needs no change. */
	set_remove(sf, i);
	st->addr[st->n++] = *addr;
	loc_after_del(e, from, addr);
	loc_after_add(e, to, addr);
	return 0;
}

static int set_loc(struct dime_hid_table *t, uint32_t hid, enum dime_hid_set set,
		   const struct dime_addr *addr)
{
	struct dime_hid_entry *e = hid_entry(t, hid);

	if (!e)
		return -ESTALE;
	if (!dime_addr_set_has(set_of(e, set), addr))
		return -ENOENT;
	loc_change(e, loc_of(e, set, addr), addr);
	return 0;
}

int dime_hid_set_rloc(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr)
{
	return set_loc(t, hid, DIME_HID_ACTIVE, addr);
}

int dime_hid_set_lloc(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr)
{
	return set_loc(t, hid, DIME_HID_LOCAL, addr);
}

int dime_hid_set_key(struct dime_hid_table *t, uint32_t hid, const uint8_t *key, size_t len)
{
	struct dime_hid_entry *e = hid_entry(t, hid);

	if (!e)
		return -ESTALE;
	if (len == 0 || len > DIME_HID_KEY_MAX)
		return -EINVAL;
	memset(e->key, 0, sizeof(e->key));
	memcpy(e->key, key, len);
	e->key_len = (uint8_t)len;
	e->has_key = true;
	return 0;
}

int dime_hid_clear_key(struct dime_hid_table *t, uint32_t hid)
{
	struct dime_hid_entry *e = hid_entry(t, hid);

	if (!e)
		return -ESTALE;
	memset(e->key, 0, sizeof(e->key));
	e->key_len = 0;
	e->has_key = false;
	return 0;
}

int dime_hid_bind(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *rid,
		  const struct dime_addr *lid, uint64_t now_ms)
{
	struct dime_hid_entry *e = hid_entry(t, hid);
	const struct dime_addr *rloc, *lloc;
	int err;

	if (!e)
		return -ESTALE;
	if (!addr_valid(rid) || lid->family != rid->family)
		return -EINVAL;
	err = index_claim(t, hid, rid, true);
	if (err)
		return err;
	rloc = &e->rloc[dime_af_index(rid->family)];
	lloc = &e->lloc[dime_af_index(rid->family)];
	/* An unset locator means "send as bound": no rewrite for that side. */
	if ((dime_addr_is_set(rloc) && !dime_addr_eq(rloc, rid)) ||
	    (dime_addr_is_set(lloc) && !dime_addr_eq(lloc, lid)))
		e->moved = true;
	e->refs++;
	e->used_ms = now_ms;
	return 0;
}

void dime_hid_unbind(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *rid)
{
	struct dime_hid_entry *e = hid_entry(t, hid);
	int64_t pos = index_find(t, rid, dime_hid_addr_hash(t, rid));

	if (pos >= 0 && t->slots[pos].hid == hid && t->slots[pos].binds) {
		t->slots[pos].binds--;
		index_release(t, hid, rid);
	}
	if (e && e->refs && --e->refs == 0)
		e->moved = false;
}

uint32_t dime_hid_next(const struct dime_hid_table *t, uint32_t hid)
{
	uint32_t idx = hid == DIME_HID_NONE ? 0 : (hid & ((1u << t->ibits) - 1)) + 1;

	for (; idx < t->capacity; idx++)
		if (t->live[idx] != DIME_HID_NONE)
			return t->live[idx];
	return DIME_HID_NONE;
}

uint32_t dime_hid_count(const struct dime_hid_table *t)
{
	return t->count;
}

void dime_hid_stats(const struct dime_hid_table *t, struct dime_hid_stats *st)
{
	st->count = t->count;
	st->capacity = t->capacity;
	st->addrs = t->naddrs;
	st->max_addrs = t->max_addrs;
	st->slots = t->slot_mask + 1;
	st->bytes = sizeof(*t) + big_len(t->capacity, sizeof(*t->ent)) +
		    big_len(t->capacity, sizeof(*t->live)) +
		    big_len(t->capacity, sizeof(*t->free_stack)) +
		    big_len((size_t)t->slot_mask + 1, sizeof(*t->slots));
}
