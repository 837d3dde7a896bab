// SPDX-License-Identifier: BSD-2-Clause
/*
 * The flow table (see flow.h): a pool of 64-byte entries addressed by u32
 * index, with a free list, and two open-addressing indexes of 8-byte
 * buckets {hash, index + 1} probed linearly. The bucket count is the power
 * of two above 4/3 of the capacity, so the load factor never passes 3/4;
 * per flow that is 64 + 2 * 8 * buckets/capacity bytes, at most 107.
 * Deletion shifts later buckets back (no tombstones), so lookups cost the
 * same after any amount of churn. A lookup touches one bucket line and one
 * entry; comparing the stored hash first skips most foreign entries.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "dime/bigalloc.h"
#include "dime/flow.h"

struct bucket {
	uint32_t hash;
	uint32_t ref;		/* pool index + 1; 0: empty */
};

struct dime_flow_table {
	struct dime_hid_table *hids;
	struct dime_sipkey seed;
	uint64_t tmo_ms[4];	/* indexed by enum tmo_class */
	dime_flow_expire_fn on_expire;
	dime_flow_keep_fn keep;
	void *ctx;
	struct dime_flow *pool;
	struct bucket *out;
	struct bucket *in;
	uint32_t mask;		/* buckets - 1 */
	uint32_t capacity;
	uint32_t count;
	uint32_t used;		/* pool high-water mark */
	uint32_t free_head;	/* index + 1; 0: empty */
	uint32_t cursor;	/* next pool index dime_flow_expire visits */
};

enum tmo_class { TMO_TCP_EST, TMO_TCP_TRANS, TMO_UDP, TMO_ICMP };

/* The memory budget (128 bytes per flow with both indexes) assumes this. */
_Static_assert(sizeof(struct dime_flow) == 64, "flow entry must stay one cache line");

void dime_flow_set_timeouts(struct dime_flow_table *t, const struct dime_flow_timeouts *to)
{
	t->tmo_ms[TMO_TCP_EST] = (uint64_t)to->tcp_established * 1000;
	t->tmo_ms[TMO_TCP_TRANS] = (uint64_t)to->tcp_transitory * 1000;
	t->tmo_ms[TMO_UDP] = (uint64_t)to->udp * 1000;
	t->tmo_ms[TMO_ICMP] = (uint64_t)to->icmp * 1000;
}

void dime_flow_timeouts_default(struct dime_flow_timeouts *to)
{
	to->tcp_established = 7200;
	to->tcp_transitory = 120;
	to->udp = 180;
	to->icmp = 30;
}

int dime_flow_table_new(struct dime_flow_table **out, const struct dime_flow_config *cfg,
			struct dime_hid_table *hids)
{
	struct dime_flow_table *t;
	uint64_t buckets = 8;

	*out = NULL;
	if (cfg->capacity == 0 || cfg->capacity > DIME_FLOW_CAPACITY_MAX || !hids)
		return -EINVAL;
	while (buckets <= (uint64_t)cfg->capacity * 4 / 3)
		buckets <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->hids = hids;
	t->seed = cfg->seed;
	dime_flow_set_timeouts(t, &cfg->timeouts);
	t->on_expire = cfg->on_expire;
	t->keep = cfg->keep;
	t->ctx = cfg->ctx;
	t->capacity = cfg->capacity;
	t->mask = (uint32_t)(buckets - 1);
	t->pool = big_calloc(cfg->capacity, sizeof(*t->pool));
	t->out = big_calloc(buckets, sizeof(*t->out));
	t->in = big_calloc(buckets, sizeof(*t->in));
	if (!t->pool || !t->out || !t->in) {
		dime_flow_table_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void dime_flow_table_free(struct dime_flow_table *t)
{
	if (!t)
		return;
	big_free(t->pool, t->capacity, sizeof(*t->pool));
	big_free(t->out, (size_t)t->mask + 1, sizeof(*t->out));
	big_free(t->in, (size_t)t->mask + 1, sizeof(*t->in));
	free(t);
}

/* ---- hashing and key comparison ---- */

/* IPv4 tuples hash two words, IPv6 five: fewer rounds for the common case,
 * and the length keeps the families apart. */
uint32_t dime_flow_hash_out(const struct dime_flow_table *t, const struct dime_flow_key *key)
{
	uint64_t w[5];
	uint64_t rest = (uint64_t)key->proto | (uint64_t)key->lid.family << 8 |
			(uint64_t)key->rid.family << 16 | (uint64_t)key->lport << 32 |
			(uint64_t)key->rport << 48;

	if (key->lid.family == AF_INET && key->rid.family == AF_INET) {
		w[0] = (uint64_t)key->lid.a.u32[0] | (uint64_t)key->rid.a.u32[0] << 32;
		w[1] = rest;
		return (uint32_t)dime_siphash13(&t->seed, w, 2);
	}
	memcpy(&w[0], key->lid.a.u8, 16);
	memcpy(&w[2], key->rid.a.u8, 16);
	w[4] = rest;
	return (uint32_t)dime_siphash13(&t->seed, w, 5);
}

uint32_t dime_flow_hash_in(const struct dime_flow_table *t, uint8_t proto, uint8_t family,
			   uint32_t hid, uint16_t rport, uint16_t lport)
{
	uint64_t w[2];

	w[0] = (uint64_t)hid | (uint64_t)family << 32 | (uint64_t)proto << 40;
	w[1] = (uint64_t)lport | (uint64_t)rport << 16;
	return (uint32_t)dime_siphash13(&t->seed, w, 2);
}

static bool key_eq(const struct dime_flow *f, const struct dime_flow_key *key)
{
	return f->proto == key->proto && f->lport == key->lport && f->rport == key->rport &&
	       dime_addr_eq(&f->rid, &key->rid) && dime_addr_eq(&f->lid, &key->lid);
}

static uint32_t flow_hash_out(const struct dime_flow_table *t, const struct dime_flow *f)
{
	struct dime_flow_key key = {
		.proto = f->proto, .lport = f->lport, .rport = f->rport, .lid = f->lid, .rid = f->rid,
	};

	return dime_flow_hash_out(t, &key);
}

static uint32_t flow_hash_in(const struct dime_flow_table *t, const struct dime_flow *f)
{
	return dime_flow_hash_in(t, f->proto, f->rid.family, f->hid, f->rport, f->lport);
}

/* ---- the two indexes ---- */

static void bucket_insert(struct bucket *b, uint32_t mask, uint32_t hash, uint32_t idx)
{
	uint32_t i = hash & mask;

	while (b[i].ref)
		i = (i + 1) & mask;
	b[i].hash = hash;
	b[i].ref = idx + 1;
}

/* Backward-shift deletion of the bucket holding idx (it must be there). */
static void bucket_remove(struct bucket *b, uint32_t mask, uint32_t hash, uint32_t idx)
{
	uint32_t hole = hash & mask;

	while (b[hole].ref != idx + 1)
		hole = (hole + 1) & mask;
	for (uint32_t j = (hole + 1) & mask; b[j].ref; j = (j + 1) & mask) {
		uint32_t home = b[j].hash & mask;

		/* Stays put if its home is cyclically in (hole, j]. */
		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		b[hole] = b[j];
		hole = j;
	}
	b[hole].hash = 0;
	b[hole].ref = 0;
}

static struct dime_flow *find_out(const struct dime_flow_table *t, const struct dime_flow_key *key,
				  uint32_t hash)
{
	for (uint32_t i = hash & t->mask; t->out[i].ref; i = (i + 1) & t->mask) {
		struct dime_flow *f = &t->pool[t->out[i].ref - 1];

		if (t->out[i].hash == hash && key_eq(f, key))
			return f;
	}
	return NULL;
}

struct dime_flow *dime_flow_lookup_out(const struct dime_flow_table *t,
				       const struct dime_flow_key *key)
{
	return find_out(t, key, dime_flow_hash_out(t, key));
}

struct dime_flow *dime_flow_lookup_out_hashed(const struct dime_flow_table *t,
					      const struct dime_flow_key *key, uint32_t hash)
{
	return find_out(t, key, hash);
}

void dime_flow_prefetch_out(const struct dime_flow_table *t, uint32_t hash)
{
	__builtin_prefetch(&t->out[hash & t->mask]);
}

void dime_flow_prefetch_in(const struct dime_flow_table *t, uint32_t hash)
{
	__builtin_prefetch(&t->in[hash & t->mask]);
}

/*
 * Second stage, once the home bucket is in cache: the entry of the first
 * bucket from there on that carries the same hash, nearly always the match.
 * Not just the home bucket's: at half load a quarter of the entries sit
 * past their home bucket (more towards the 3/4 maximum). The scan stops at
 * the first empty bucket and rarely leaves the home bucket's line.
 */
static void prefetch_entry(const struct dime_flow_table *t, const struct bucket *b,
			   uint32_t hash)
{
	for (uint32_t i = hash & t->mask; b[i].ref; i = (i + 1) & t->mask) {
		if (b[i].hash == hash) {
			__builtin_prefetch(&t->pool[b[i].ref - 1]);
			return;
		}
	}
}

void dime_flow_prefetch_out_entry(const struct dime_flow_table *t, uint32_t hash)
{
	prefetch_entry(t, t->out, hash);
}

void dime_flow_prefetch_in_entry(const struct dime_flow_table *t, uint32_t hash)
{
	prefetch_entry(t, t->in, hash);
}

struct dime_flow *dime_flow_lookup_in(const struct dime_flow_table *t, uint8_t proto,
				      uint8_t family, uint32_t hid, uint16_t rport, uint16_t lport,
				      const struct dime_addr *dst)
{
	return dime_flow_lookup_in_hashed(t, dime_flow_hash_in(t, proto, family, hid, rport, lport),
					  proto, family, hid, rport, lport, dst);
}

struct dime_flow *dime_flow_lookup_in_hashed(const struct dime_flow_table *t, uint32_t hash,
					     uint8_t proto, uint8_t family, uint32_t hid,
					     uint16_t rport, uint16_t lport,
					     const struct dime_addr *dst)
{
	struct dime_flow *best = NULL;
	bool best_dst = false;

	/* Every match sits between the home bucket and the next empty one. */
	for (uint32_t i = hash & t->mask; t->in[i].ref; i = (i + 1) & t->mask) {
		struct dime_flow *f = &t->pool[t->in[i].ref - 1];
		bool is_dst;

		if (t->in[i].hash != hash || f->hid != hid || f->proto != proto ||
		    f->rport != rport || f->lport != lport || f->rid.family != family)
			continue;
		is_dst = dst && dime_addr_eq(&f->lid, dst);
		if (!best || (is_dst && !best_dst) ||
		    (is_dst == best_dst && f->last_ms > best->last_ms)) {
			best = f;
			best_dst = is_dst;
		}
	}
	return best;
}

/* ---- insert and delete ---- */

static bool key_valid(const struct dime_flow_key *key)
{
	if (key->lid.family != key->rid.family)
		return false;
	switch (key->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return key->lid.family == AF_INET || key->lid.family == AF_INET6;
	case IPPROTO_ICMP:
		return key->lid.family == AF_INET;
	case IPPROTO_ICMPV6:
		return key->lid.family == AF_INET6;
	}
	return false;
}

static uint32_t pool_take(struct dime_flow_table *t)
{
	uint32_t idx;

	if (t->free_head) {
		idx = t->free_head - 1;
		t->free_head = t->pool[idx].next_free;
	} else {
		idx = t->used++;
	}
	return idx;
}

int dime_flow_insert(struct dime_flow_table *t, const struct dime_flow_key *key, uint32_t hid,
		     uint64_t now_ms, struct dime_flow **out)
{
	uint32_t hash = dime_flow_hash_out(t, key);
	struct dime_flow *f;
	uint32_t idx;
	int err;

	*out = find_out(t, key, hash);
	if (*out)
		return -EEXIST;
	if (!key_valid(key))
		return -EINVAL;
	if (t->count >= t->capacity)
		return -ENOSPC;
	err = dime_hid_bind(t->hids, hid, &key->rid, &key->lid, now_ms);
	if (err)
		return err == -EEXIST ? -EADDRINUSE : err;
	idx = pool_take(t);
	f = &t->pool[idx];
	*f = (struct dime_flow){
		.lid = key->lid, .rid = key->rid, .last_ms = now_ms, .hid = hid,
		.lport = key->lport, .rport = key->rport, .proto = key->proto,
		.tcp_state = DIME_TCP_NONE, .live = 1,
	};
	bucket_insert(t->out, t->mask, hash, idx);
	bucket_insert(t->in, t->mask, flow_hash_in(t, f), idx);
	t->count++;
	*out = f;
	return 0;
}

void dime_flow_del(struct dime_flow_table *t, struct dime_flow *f)
{
	uint32_t idx = (uint32_t)(f - t->pool);

	if (!f->live)
		return;		/* deleted twice: the slot may sit on the free list */

	bucket_remove(t->out, t->mask, flow_hash_out(t, f), idx);
	bucket_remove(t->in, t->mask, flow_hash_in(t, f), idx);
	dime_hid_unbind(t->hids, f->hid, &f->rid);
	memset(f, 0, sizeof(*f));
	f->next_free = t->free_head;
	t->free_head = idx + 1;
	t->count--;
}

int dime_flow_del_key(struct dime_flow_table *t, const struct dime_flow_key *key)
{
	struct dime_flow *f = dime_flow_lookup_out(t, key);

	if (!f)
		return -ENOENT;
	dime_flow_del(t, f);
	return 0;
}

void dime_flow_flush(struct dime_flow_table *t)
{
	for (uint32_t i = 0; i < t->used && t->count; i++)
		if (t->pool[i].live)
			dime_flow_del(t, &t->pool[i]);
	/* Empty again: restart the pool from index 0 and forget the free list. */
	t->used = 0;
	t->free_head = 0;
	t->cursor = 0;
}

/* ---- state and expiry ---- */

enum dime_tcp_state dime_tcp_next(enum dime_tcp_state s, uint8_t flags, enum dime_dir dir)
{
	bool out = dir == DIME_DIR_OUT;

	if (flags & DIME_TCP_RST)
		return DIME_TCP_CLOSED;
	if (flags & DIME_TCP_SYN) {
		if (flags & DIME_TCP_ACK)
			return s <= DIME_TCP_SYN_RECV ? DIME_TCP_SYN_RECV : s;
		/* A bare SYN opens, or reopens a closed tuple (port reuse). */
		if (s == DIME_TCP_NONE || s == DIME_TCP_CLOSED || s == DIME_TCP_CLOSING)
			return DIME_TCP_SYN_SENT;
		return s;
	}
	if (flags & DIME_TCP_FIN) {
		switch (s) {
		case DIME_TCP_FIN_OUT:
			return out ? s : DIME_TCP_CLOSING;
		case DIME_TCP_FIN_IN:
			return out ? DIME_TCP_CLOSING : s;
		case DIME_TCP_CLOSING:
		case DIME_TCP_CLOSED:
			return s;
		default:
			return out ? DIME_TCP_FIN_OUT : DIME_TCP_FIN_IN;
		}
	}
	/* Without SYN, FIN or RST. Picking up mid-stream (daemon restart)
	 * counts as established so long-lived connections keep their state. */
	if (s == DIME_TCP_NONE || (s == DIME_TCP_SYN_RECV && (flags & DIME_TCP_ACK)))
		return DIME_TCP_ESTABLISHED;
	return s;
}

void dime_flow_seen(struct dime_flow *f, uint64_t now_ms, uint8_t tcp_flags, enum dime_dir dir)
{
	f->last_ms = now_ms;
	if (f->proto == IPPROTO_TCP)
		f->tcp_state = (uint8_t)dime_tcp_next(f->tcp_state, tcp_flags, dir);
}

uint64_t dime_flow_timeout_ms(const struct dime_flow_table *t, const struct dime_flow *f)
{
	switch (f->proto) {
	case IPPROTO_TCP:
		return t->tmo_ms[f->tcp_state == DIME_TCP_ESTABLISHED ? TMO_TCP_EST : TMO_TCP_TRANS];
	case IPPROTO_UDP:
		return t->tmo_ms[TMO_UDP];
	default:
		return t->tmo_ms[TMO_ICMP];
	}
}

size_t dime_flow_expire(struct dime_flow_table *t, uint64_t now_ms, size_t budget)
{
	size_t n = 0;

	for (; budget && t->count; budget--) {
		struct dime_flow *f;

		if (t->cursor >= t->used)
			t->cursor = 0;
		f = &t->pool[t->cursor++];
		if (!f->live || now_ms < f->last_ms ||
		    now_ms - f->last_ms < dime_flow_timeout_ms(t, f))
			continue;
		/* Most flows' packets bypass us, so idle here says little: ask. */
		if (t->keep && t->keep(t->ctx, f)) {
			f->last_ms = now_ms;
			continue;
		}
		struct dime_flow gone = *f;

		dime_flow_del(t, f);
		n++;
		if (t->on_expire)
			t->on_expire(t->ctx, &gone);
	}
	return n;
}

struct dime_flow *dime_flow_iter(const struct dime_flow_table *t, uint32_t *cursor)
{
	while (*cursor < t->used) {
		struct dime_flow *f = &t->pool[(*cursor)++];

		if (f->live)
			return f;
	}
	return NULL;
}

uint32_t dime_flow_count(const struct dime_flow_table *t)
{
	return t->count;
}

void dime_flow_stats(const struct dime_flow_table *t, struct dime_flow_stats *st)
{
	st->count = t->count;
	st->capacity = t->capacity;
	st->buckets = t->mask + 1;
	st->bytes = sizeof(*t) + big_len(t->capacity, sizeof(*t->pool)) +
		    2 * big_len((size_t)t->mask + 1, sizeof(struct bucket));
}
