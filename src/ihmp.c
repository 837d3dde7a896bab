// SPDX-License-Identifier: BSD-2-Clause
/*
 * The IHMP state machine: per-peer state hung on dime_hid_entry.ihmp
 * (sequence number, outstanding requests with their retransmission
 * deadlines, legacy / NAT-forced / hold flags, NAT tuples), the receiver
 * rules of docs/ihmp.md sections 9 to 11, and the sender side of local
 * address events (paper III-B). Pure: inputs carry the time, outputs are
 * actions in a caller-provided list (include/dime/ihmp.h).
 *
 * Requests are encoded (and signed) once and kept as bytes, so a
 * retransmission resends exactly the same message: same sequence number,
 * nonce and COUNTER, which the receiver's idempotent rules and its replay
 * window rely on (a retransmission is ACKed again, not applied twice). A
 * request has one or more (source, destination) paths: "one" (probes,
 * HELLO), "all at once" (HANDOFF: every known address of the peer, so two
 * hosts moving at the same time meet on whatever address survived) or
 * "rotate" (messages that only need some working path: each transmission
 * takes the next one, so a dead path costs one timeout, not the request).
 *
 * Authentication (docs/ihmp.md 9 step 4, docs/security.md) happens once the
 * peer is found and before anything changes: replay window first (cheap),
 * then the signature policy; only a verified message moves the window.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dime/ihmp.h"

#define REQ_MAX 8		/* outstanding requests per peer */
#define REQ_PATHS 8		/* (source, destination) pairs per request */
#define REQ_ENDED 8		/* requests remembered after they end, per peer */
/* Our largest request: HELLO with 16 IPv6 addresses and a nonce is 360
 * bytes, 486 with a COUNTER, a PUBKEY and a SIGNATURE (test_ihmp checks it
 * fits). */
#define REQ_BYTES 488
#define NAT_MAX 4

enum path_mode { PATHS_ROTATE, PATHS_ALL };

enum reach { R_UNREACH, R_MAYBE, R_REACH };

struct req {
	bool used;
	bool probe;		/* the ACK must come from a destination; may fall back */
	bool pv;		/* its ACK validates the address it answers from */
	uint8_t type, mode, tries, max_tries, npaths, next;
	uint16_t seq, len, flags;
	uint32_t rto;
	uint64_t nonce, deadline;
	struct dime_addr new_addr, old_addr;	/* what the request is about */
	struct dime_addr src[REQ_PATHS], dst[REQ_PATHS];
	uint8_t buf[REQ_BYTES];
};

struct peer {
	struct peer *prev, *next;
	uint32_t hid;
	uint16_t seq;
	bool established, legacy, nat_forced, hold, dirty;
	/* The last local address lost, per family (DIME_AF4, DIME_AF6): a
	 * HANDOFF replaces an address of its own family only. */
	struct lost {
		struct dime_addr addr;
		bool pairable;	/* recent enough to pair with an up */
		bool ou;	/* was not in the local set */
		bool announced;	/* ADDR_DOWN sent: the peer forgot it */
		uint64_t at;
	} lost[2];
	uint64_t hold_until;
	unsigned int nat_n;
	struct dime_addr nat_addr[NAT_MAX], nat_host[NAT_MAX];
	/* Port mappings an IHMP-aware NAT announced (NAT_ENTRY). */
	unsigned int map_n;
	struct ihmp_nat_entry map[NAT_MAX];
	/* The peer's key (a priori, bound at creation or by the first message
	 * it verified); NULL: none. Owned by the caller, except a key pinned
	 * on first use (own_key, the same pointer), freed with the peer. */
	const struct ihmp_key *key;
	struct ihmp_key *own_key;
	struct replay_window win;	/* the peer's verified counters */
	/*
	 * Path validation (docs/security.md 3.6): the peer's addresses known
	 * to be its own, oldest first (the locators it had when we met it, the
	 * source of the HELLO that made it, addresses that echoed our nonce
	 * from themselves); per family, the validated locator before an
	 * unvalidated one took over (to go back to if validation fails), and
	 * whether the current locator's validation failed (no new probe until
	 * the locator changes or sends us a message).
	 */
	unsigned int valid_n;
	struct dime_addr valid[IHMP_VALIDATED_MAX];
	struct dime_addr pv_prev[2];
	bool pv_failed[2];
	struct req req[REQ_MAX];
	/* The last requests that ended (answered, cancelled, given up): an
	 * ACK still on its way for one of them is late, not unmatched, so a
	 * path that works never looks broken (drop_late_ack). */
	struct { uint64_t nonce; uint16_t seq; uint8_t type; } ended[REQ_ENDED];
	unsigned int ended_next;
};

struct ihmp {
	struct ihmp_config cfg;
	struct dime_hid_table *hids;
	struct peer *peers;
	unsigned int ndirty;	/* peers whose LOCATORS_CHANGED did not fit */
	unsigned int nlocal;
	struct dime_addr local[IHMP_LOCAL_MAX];
	/* The last address that came up, per family (DIME_AF4, DIME_AF6), for
	 * up-then-down hand-offs: a dual-stack move brings up both families'
	 * new addresses before the old ones go. */
	struct dime_addr last_up[2];
	uint64_t last_up_at[2];
	struct ratelimit *rl;	/* NULL: no limits */
	bool applied;		/* the last ihmp_input() passed authentication */
	uint64_t sign_ctr;	/* the last COUNTER we signed */
	struct ihmp_stats st;
};

/* ---- addresses ---------------------------------------------------------- */

static bool v4_in(const struct dime_addr *a, uint32_t net, unsigned int bits)
{
	uint32_t x = ((uint32_t)a->a.u8[0] << 24) | ((uint32_t)a->a.u8[1] << 16) |
		     ((uint32_t)a->a.u8[2] << 8) | a->a.u8[3];

	return (x >> (32 - bits)) == (net >> (32 - bits));
}

/* Addresses that mean nothing to a peer elsewhere: never advertised, never
 * probed (link-local also needs a scope the wire format does not carry). */
static bool addr_is_scoped(const struct dime_addr *a)
{
	if (a->family == AF_INET)
		return v4_in(a, 0x7f000000, 8) || v4_in(a, 0xa9fe0000, 16) ||
		       v4_in(a, 0xe0000000, 4) || v4_in(a, 0, 8);
	if (a->family == AF_INET6) {
		static const uint8_t lo[16] = { [15] = 1 };

		return memcmp(a->a.u8, lo, 16) == 0 || a->a.u8[0] == 0xff ||
		       (a->a.u8[0] == 0xfe && (a->a.u8[1] & 0xc0) == 0x80);
	}
	return true;
}

/* RFC 1918, RFC 6598 shared space, ULA. Returns a block number (1..) so
 * that "the same private network" can be preferred, 0 when public. */
static int addr_private_block(const struct dime_addr *a)
{
	if (a->family == AF_INET) {
		if (v4_in(a, 0x0a000000, 8))
			return 1;
		if (v4_in(a, 0xac100000, 12))
			return 2;
		if (v4_in(a, 0xc0a80000, 16))
			return 3;
		if (v4_in(a, 0x64400000, 10))
			return 4;
		return 0;
	}
	return (a->a.u8[0] & 0xfe) == 0xfc ? 5 : 0;
}

static int local_index(const struct ihmp *ih, const struct dime_addr *a)
{
	for (unsigned int i = 0; i < ih->nlocal; i++)
		if (dime_addr_eq(&ih->local[i], a))
			return (int)i;
	return -1;
}

static bool local_up(const struct ihmp *ih, const struct dime_addr *a)
{
	return local_index(ih, a) >= 0;
}

/*
 * The local address to reach peer address a from (docs/ihmp.md 10.1 step
 * 5): the same private block first, then any private address of the family
 * for a private a; a public address of the family for a public a. NULL
 * when a is known unreachable from every local address.
 */
static const struct dime_addr *source_for(const struct ihmp *ih, const struct dime_addr *a)
{
	int blk = addr_private_block(a);
	const struct dime_addr *any = NULL;

	if (addr_is_scoped(a))
		return NULL;
	for (unsigned int i = 0; i < ih->nlocal; i++) {
		const struct dime_addr *l = &ih->local[i];
		int lb = addr_private_block(l);

		if (l->family != a->family)
			continue;
		if (blk && lb == blk)
			return l;
		if (blk && lb && !any)
			any = l;
		if (!blk && !lb)
			return l;
		/* a public peer address from a private one: through a NAT
		 * perhaps, which the peer's NAT check will tell */
		if (!blk && !any)
			any = l;
	}
	return any;
}

/* Whether local address n may reach peer address a at all (a private a
 * needs a private n; a public a may be reached through a NAT). */
static bool reach_from(const struct dime_addr *n, const struct dime_addr *a)
{
	return n->family == a->family && !addr_is_scoped(a) &&
	       (!addr_private_block(a) || addr_private_block(n));
}

/* Classify a peer address (docs/ihmp.md section 10, our reading). */
static enum reach classify(const struct ihmp *ih, const struct dime_hid_entry *e,
			   const struct dime_addr *a)
{
	if (!source_for(ih, a))
		return R_UNREACH;
	return dime_addr_set_has(&e->active, a) ? R_REACH : R_MAYBE;
}

/* ---- actions ------------------------------------------------------------ */

static struct ihmp_action *act_push(struct ihmp_actions *acts, enum ihmp_action_type type,
				    uint32_t hid)
{
	struct ihmp_action *a;

	if (acts->n >= IHMP_ACTIONS_MAX)
		return NULL;
	a = &acts->a[acts->n++];
	a->type = type;
	a->hid = hid;
	a->len = 0;
	a->dport = 0;
	memset(&a->src, 0, sizeof(a->src));
	memset(&a->dst, 0, sizeof(a->dst));
	return a;
}

static unsigned int act_room(const struct ihmp_actions *acts)
{
	return IHMP_ACTIONS_MAX - acts->n;
}

static void act_send(struct ihmp_actions *acts, uint32_t hid, const struct dime_addr *src,
		     const struct dime_addr *dst, uint16_t dport, const uint8_t *buf, size_t len)
{
	struct ihmp_action *a = act_push(acts, IHMP_ACT_SEND, hid);

	if (!a)
		return;
	a->src = *src;
	a->dst = *dst;
	a->dport = dport;
	a->len = (uint16_t)len;
	memcpy(a->buf, buf, len);
}

/* Report p's locators as changed: now if the list has room, else from the
 * next ihmp_timer(). One report per HID per list. */
static void flush_dirty(struct ihmp *ih, struct peer *p, struct ihmp_actions *acts)
{
	for (unsigned int i = 0; i < acts->n; i++)
		if (acts->a[i].type == IHMP_ACT_LOCATORS_CHANGED && acts->a[i].hid == p->hid)
			goto done;
	if (!act_push(acts, IHMP_ACT_LOCATORS_CHANGED, p->hid))
		return;
done:
	p->dirty = false;
	ih->ndirty--;
}

static void mark_changed(struct ihmp *ih, struct peer *p, struct ihmp_actions *acts)
{
	if (!p->dirty) {
		p->dirty = true;
		ih->ndirty++;
	}
	flush_dirty(ih, p, acts);
}

/*
 * Output of flows still bound to an old address waits while our side is
 * between addresses: during the hold, and from a HANDOFF until its ACK.
 * A packet with the new source before the peer has taken the HANDOFF in
 * would meet no socket there and draw a RST that kills the connection.
 */
static void hold_output(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e, int af,
			bool on, struct ihmp_actions *acts)
{
	bool changed = false;

	for (int f = 0; f < 2; f++) {
		if ((af < 0 || af == f) && e->out_held[f] != on) {
			e->out_held[f] = on;
			changed = true;
		}
	}
	if (changed)
		mark_changed(ih, p, acts);
}

/* ---- HID sets ----------------------------------------------------------- */

static bool set_active(struct ihmp *ih, uint32_t hid, const struct dime_addr *a)
{
	int err = dime_hid_addr_move(ih->hids, hid, a, DIME_HID_UNREACH, DIME_HID_ACTIVE);

	if (err == -ENOENT)
		err = dime_hid_addr_add(ih->hids, hid, DIME_HID_ACTIVE, a);
	if (err == -EEXIST)
		ih->st.conflicts++;
	return err == 0;
}

/* Unreachable, unless a message already proved a path to it. */
static void set_unreach(struct ihmp *ih, uint32_t hid, const struct dime_addr *a)
{
	struct dime_hid_entry *e = dime_hid_get(ih->hids, hid);

	if (!e || dime_addr_set_has(&e->active, a))
		return;
	if (dime_hid_addr_add(ih->hids, hid, DIME_HID_UNREACH, a) == -EEXIST)
		ih->st.conflicts++;
}

static void set_local(struct ihmp *ih, uint32_t hid, const struct dime_addr *l)
{
	dime_hid_addr_add(ih->hids, hid, DIME_HID_LOCAL, l);
}

/* Removing an absent address is not an error (docs/ihmp.md 10.4). */
static void remove_remote(struct ihmp *ih, struct peer *p, const struct dime_addr *a)
{
	if (dime_hid_addr_del(ih->hids, p->hid, DIME_HID_ACTIVE, a) == -ENOENT)
		dime_hid_addr_del(ih->hids, p->hid, DIME_HID_UNREACH, a);
	for (unsigned int i = 0; i < p->nat_n; i++) {
		if (dime_addr_eq(&p->nat_host[i], a)) {
			p->nat_n--;
			p->nat_addr[i] = p->nat_addr[p->nat_n];
			p->nat_host[i] = p->nat_host[p->nat_n];
			i--;
		}
	}
}

static void clear_set(struct ihmp *ih, uint32_t hid, enum dime_hid_set set,
		      struct dime_addr_set *s)
{
	while (s->n) {
		struct dime_addr a = s->addr[s->n - 1];

		dime_hid_addr_del(ih->hids, hid, set, &a);
	}
}

static void nat_store(struct ihmp *ih, struct peer *p, const struct dime_addr *nat,
		      const struct dime_addr *host)
{
	ih->st.nat_detected++;
	for (unsigned int i = 0; i < p->nat_n; i++)
		if (dime_addr_eq(&p->nat_host[i], host)) {
			p->nat_addr[i] = *nat;
			return;
		}
	if (p->nat_n < NAT_MAX) {
		p->nat_addr[p->nat_n] = *nat;
		p->nat_host[p->nat_n++] = *host;
	}
}

/* ---- peers -------------------------------------------------------------- */

static uint64_t rnd64(const struct ihmp *ih)
{
	uint64_t v = 0;

	if (ih->cfg.random)
		return ih->cfg.random(ih->cfg.random_ctx);
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		abort();	/* the kernel guarantees small reads once seeded */
	return v;
}

/* The wall clock in microseconds at monotonic time now (ms). */
static uint64_t wall_us(const struct ihmp *ih, uint64_t now)
{
	uint64_t ms = now > ih->cfg.clock_ms ? now - ih->cfg.clock_ms : 0;

	return ih->cfg.clock_us + ms * 1000;
}

/* Counters below it are stale for a peer we have no window for yet. */
static uint64_t replay_floor(const struct ihmp *ih, uint64_t now)
{
	uint64_t w = wall_us(ih, now);

	return ih->cfg.replay_skew_us && w > ih->cfg.replay_skew_us ? w - ih->cfg.replay_skew_us
								     : 0;
}

/* ---- path validation: the validated set (docs/security.md 3.6) ------------ */

static bool pv_valid(const struct peer *p, const struct dime_addr *a)
{
	for (unsigned int i = 0; i < p->valid_n; i++)
		if (dime_addr_eq(&p->valid[i], a))
			return true;
	return false;
}

/* A validated remote locator: the data plane sends to it freely, so its
 * entry is the last to go. */
static bool pv_in_use(const struct dime_hid_entry *e, const struct dime_addr *a)
{
	int f = dime_af_index(a->family);

	return e && dime_addr_eq(&e->rloc[f], a) && !e->rloc_unvalidated[f];
}

/* a is the peer's: remember it, dropping the oldest entry that is not a
 * validated locator when the set is full. */
static void pv_remember(const struct ihmp *ih, struct peer *p, const struct dime_hid_entry *e,
			const struct dime_addr *a)
{
	unsigned int v = 0;

	if (!ih->cfg.path_validation || !dime_addr_is_set(a) || pv_valid(p, a))
		return;
	if (p->valid_n == IHMP_VALIDATED_MAX) {
		while (v < IHMP_VALIDATED_MAX - 1 && pv_in_use(e, &p->valid[v]))
			v++;
		memmove(&p->valid[v], &p->valid[v + 1],
			(IHMP_VALIDATED_MAX - 1 - v) * sizeof(p->valid[0]));
		p->valid_n--;
	}
	p->valid[p->valid_n++] = *a;
}

/* The locators a HID has when IHMP meets it are its flows' (StackTrans
 * made it for them) or were restored from the state file: the peer's own,
 * the addresses the applications talk to. */
static void pv_seed(const struct ihmp *ih, struct peer *p, const struct dime_hid_entry *e)
{
	for (int f = 0; f < 2; f++)
		if (dime_addr_is_set(&e->rloc[f]) && !e->rloc_unvalidated[f])
			pv_remember(ih, p, e, &e->rloc[f]);
}

static struct peer *peer_new(struct ihmp *ih, struct dime_hid_entry *e, uint64_t now)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->hid = e->hid;
	p->seq = (uint16_t)rnd64(ih);
	replay_init(&p->win, replay_floor(ih, now));
	p->next = ih->peers;
	if (ih->peers)
		ih->peers->prev = p;
	ih->peers = p;
	e->ihmp = p;
	pv_seed(ih, p, e);
	return p;
}

static void peer_free(struct ihmp *ih, struct peer *p)
{
	struct dime_hid_entry *e = dime_hid_get(ih->hids, p->hid);

	if (e && e->ihmp == p)
		e->ihmp = NULL;
	if (p->dirty)
		ih->ndirty--;
	ihmp_key_free(p->own_key);
	if (p->prev)
		p->prev->next = p->next;
	else
		ih->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	free(p);
}

static struct peer *peer_of(struct ihmp *ih, uint32_t hid, struct dime_hid_entry **ep)
{
	struct dime_hid_entry *e = dime_hid_get(ih->hids, hid);

	if (ep)
		*ep = e;
	return e ? e->ihmp : NULL;
}

/* A HOST_ID for a request to p: an address of our local set for it that
 * we still have, other than avoid; failing that, avoid itself (HANDOFF*
 * allows HOST_ID = OLD for a host that had one address). */
/* Is a is the new address of a HANDOFF still awaiting its ACK? It is in
 * our local set already, but the peer may not know it yet. */
static bool handoff_pending(const struct peer *p, const struct dime_addr *a)
{
	for (unsigned int i = 0; p && i < REQ_MAX; i++)
		if (p->req[i].used && (p->req[i].type == IHMP_HANDOFF ||
				       p->req[i].type == IHMP_HANDOFF_UNREACHABLE) &&
		    dime_addr_eq(&p->req[i].new_addr, a))
			return true;
	return false;
}

static bool host_id_ok(const struct dime_hid_entry *e, const struct dime_addr *a,
		       const struct dime_addr *avoid)
{
	return !(avoid && dime_addr_eq(avoid, a)) && !handoff_pending(e->ihmp, a);
}

static const struct dime_addr *host_id_for(const struct ihmp *ih, const struct dime_hid_entry *e,
					   const struct dime_addr *avoid)
{
	const struct peer *p = e->ihmp;

	for (unsigned int i = 0; i < e->local.n; i++)
		if (local_up(ih, &e->local.addr[i]) && host_id_ok(e, &e->local.addr[i], avoid))
			return &e->local.addr[i];
	for (unsigned int i = 0; i < e->local.n; i++)
		if (host_id_ok(e, &e->local.addr[i], avoid))
			return &e->local.addr[i];
	/* Nothing left in the local set (a hard hand-off): an address we lost
	 * without telling the peer, which it still maps to us. */
	for (unsigned int f = 0; p && f < 2; f++)
		if (dime_addr_is_set(&p->lost[f].addr) && !p->lost[f].announced &&
		    !(avoid && dime_addr_eq(avoid, &p->lost[f].addr)))
			return &p->lost[f].addr;
	return avoid;
}

static unsigned int usable_locals(const struct ihmp *ih, const struct dime_hid_entry *e)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < e->local.n; i++)
		n += local_up(ih, &e->local.addr[i]);
	return n;
}

/* ---- authentication ------------------------------------------------------ */

/*
 * m into buf, signed when we have a key (docs/security.md 3.3: whatever our
 * receive mode). Each signed message takes the next COUNTER, which follows
 * the wall clock. A message we cannot sign is not sent unsigned instead: a
 * peer that knows our key would drop it anyway.
 */
/* Our key for a message with this HOST_ID (docs/security.md 5). */
static const struct ihmp_key *sign_key(const struct ihmp *ih, const struct ihmp_msg *m)
{
	if (ih->cfg.local_key_for)
		return ih->cfg.local_key_for(ih->cfg.local_key_ctx, &m->host_id);
	return ih->cfg.local_key;
}

/* A HELLO and the ACK of one carry the key that signs them, so a peer
 * without a key for us can trust it on first use. */
static void add_pubkey(struct ihmp_msg *m, const struct ihmp_key *key)
{
	if (m->type != IHMP_HELLO && !(m->type == IHMP_ACK && m->acked_type == IHMP_HELLO))
		return;
	m->has |= IHMP_HAS_PUBKEY;
	m->pubkey_alg = IHMP_SIG_ED25519;
	ihmp_key_raw_public(key, m->pubkey);
}

static int encode_out(struct ihmp *ih, struct ihmp_msg *m, uint64_t now, uint8_t *buf,
		      size_t cap)
{
	const struct ihmp_key *key = sign_key(ih, m);
	uint64_t counter;
	int len;

	if (!key)
		len = ihmp_encode(m, buf, cap);
	else if (replay_counter_next(&ih->sign_ctr, wall_us(ih, now), &counter) < 0)
		len = -EOVERFLOW;
	else {
		add_pubkey(m, key);
		len = ihmp_sign_encode(key, m, counter, buf, cap);
	}
	if (len < 0)
		ih->st.encode_failed++;
	return len;
}

/* p's key, or the one configured for the addresses a message comes with
 * when p (possibly NULL: a new peer) has none yet. */
static const struct ihmp_key *key_for(const struct ihmp *ih, const struct peer *p,
				      const struct dime_addr *src, const struct dime_addr *host_id)
{
	if (p && p->key)
		return p->key;
	if (ih->cfg.auth == IHMP_AUTH_OFF || !ih->cfg.peer_key)
		return NULL;
	return ih->cfg.peer_key(ih->cfg.peer_key_ctx, src, host_id);
}

/*
 * Trust on first use (docs/security.md 5): the key a HELLO or the ACK of
 * our HELLO offers, for a peer that has no key (key NULL), to be tried
 * like a configured one; the caller pins it once it verified the message,
 * and frees it otherwise. NULL: no such key.
 */
static struct ihmp_key *tofu_key(const struct ihmp *ih, const struct ihmp_key *key,
				 const struct ihmp_msg *m)
{
	struct ihmp_key *k = NULL;

	if (key || !ih->cfg.tofu || ih->cfg.auth == IHMP_AUTH_OFF ||
	    !(m->has & IHMP_HAS_PUBKEY) || m->pubkey_alg != IHMP_SIG_ED25519)
		return NULL;
	return ihmp_key_from_raw_public(m->pubkey, &k) == 0 ? k : NULL;
}

/* A peer whose key we hold offered another one, and its message was
 * dropped: a host that regenerated its key, or someone else. */
static void tofu_dropped(struct ihmp *ih, const struct ihmp_key *key, const struct ihmp_msg *m)
{
	if (key && (m->has & IHMP_HAS_PUBKEY) && !ihmp_key_has_public(key, m->pubkey))
		ih->st.tofu_conflict++;
}

/* The message the tofu key vouched for was applied: the key is p's now. */
static void tofu_pin(struct ihmp *ih, struct peer *p, struct ihmp_key *tofu)
{
	if (!tofu)
		return;
	if (p->key) {		/* bound meanwhile: keep that one */
		ihmp_key_free(tofu);
		return;
	}
	p->key = p->own_key = tofu;
	ih->st.tofu_pinned++;
}

static void count_auth_drop(struct ihmp_stats *st, int err)
{
	switch (err) {
	case -ENODATA: st->drop_unsigned_msg++; break;
	case -EKEYREJECTED: st->drop_wrong_key++; break;
	case -ENOKEY: st->drop_no_key++; break;
	default: st->drop_bad_signature++; break;	/* -EBADMSG, or OpenSSL failed */
	}
}

/* ---- requests ----------------------------------------------------------- */

static void req_add_path(struct req *r, const struct dime_addr *src, const struct dime_addr *dst)
{
	for (unsigned int i = 0; i < r->npaths; i++)
		if (dime_addr_eq(&r->src[i], src) && dime_addr_eq(&r->dst[i], dst))
			return;
	if (r->npaths < REQ_PATHS) {
		r->src[r->npaths] = *src;
		r->dst[r->npaths++] = *dst;
	}
}

/* Working paths to p (docs/ihmp.md "over any working path"): our local
 * addresses it can reach that we still have, to its active addresses of
 * the same family, the locator pair first. */
static void req_working_paths(const struct ihmp *ih, const struct dime_hid_entry *e, struct req *r)
{
	for (int f = 0; f < 2; f++)
		if (dime_addr_is_set(&e->lloc[f]) && dime_addr_is_set(&e->rloc[f]) &&
		    local_up(ih, &e->lloc[f]))
			req_add_path(r, &e->lloc[f], &e->rloc[f]);
	for (unsigned int i = 0; i < e->local.n; i++) {
		if (!local_up(ih, &e->local.addr[i]))
			continue;
		for (unsigned int j = 0; j < e->active.n; j++)
			if (e->active.addr[j].family == e->local.addr[i].family)
				req_add_path(r, &e->local.addr[i], &e->active.addr[j]);
	}
}

/* Request r of p is over: free its slot, remember it (struct peer). */
static void req_end(struct peer *p, struct req *r)
{
	unsigned int i = p->ended_next++ % REQ_ENDED;

	p->ended[i].nonce = r->nonce;
	p->ended[i].seq = r->seq;
	p->ended[i].type = r->type;
	r->used = false;
}

static bool ack_of_ended(const struct peer *p, const struct ihmp_msg *m)
{
	if (!(m->has & IHMP_HAS_NONCE))
		return false;
	for (unsigned int i = 0; i < REQ_ENDED; i++)
		if (p->ended[i].seq == m->seq && p->ended[i].type == m->acked_type &&
		    p->ended[i].nonce == m->nonce && m->nonce)
			return true;
	return false;
}

static void req_cancel_where(struct peer *p, uint8_t type, const struct dime_addr *about)
{
	for (unsigned int i = 0; i < REQ_MAX; i++) {
		struct req *r = &p->req[i];

		if (!r->used || r->type != type)
			continue;
		if (about && !dime_addr_eq(&r->new_addr, about) && !dime_addr_eq(&r->old_addr, about))
			continue;
		req_end(p, r);
	}
}

/* Drop the paths that leave from addr; a request left without one ends. */
static void req_cancel_from(struct peer *p, const struct dime_addr *addr)
{
	for (unsigned int i = 0; i < REQ_MAX; i++) {
		struct req *r = &p->req[i];
		unsigned int k = 0;

		if (!r->used)
			continue;
		for (unsigned int j = 0; j < r->npaths; j++) {
			if (dime_addr_eq(&r->src[j], addr))
				continue;
			r->src[k] = r->src[j];
			r->dst[k++] = r->dst[j];
		}
		r->npaths = (uint8_t)k;
		if (r->next >= k)
			r->next = 0;
		if (!k)
			req_end(p, r);
	}
}

/*
 * A slot for a new request: at most one of a type per peer and first path
 * (docs/ihmp.md 8), so a newer one replaces it; with all slots busy the
 * oldest-deadline one gives way (the newest state matters most).
 */
static struct req *req_slot(struct peer *p, uint8_t type, const struct req *proto)
{
	struct req *free_slot = NULL, *oldest = NULL;

	for (unsigned int i = 0; i < REQ_MAX; i++) {
		struct req *r = &p->req[i];

		if (!r->used) {
			if (!free_slot)
				free_slot = r;
			continue;
		}
		if (r->type == type && proto->npaths && r->npaths &&
		    dime_addr_eq(&r->src[0], &proto->src[0]) && dime_addr_eq(&r->dst[0], &proto->dst[0]))
			return r;
		/* A path validation gives way last: losing it would leave a
		 * locator unvalidated with nobody probing it. */
		if (!oldest || (oldest->pv && !r->pv) ||
		    (oldest->pv == r->pv && r->deadline < oldest->deadline))
			oldest = r;
	}
	return free_slot ? free_slot : oldest;
}

/* Send r along its paths (all, or the next one) and arm its timer. With no
 * room in the list it stays due now: ihmp_timer sends it. */
static void req_transmit(struct ihmp *ih, struct peer *p, struct req *r, uint64_t now,
			 struct ihmp_actions *acts)
{
	unsigned int need = r->mode == PATHS_ALL ? r->npaths : 1;

	if (act_room(acts) < need) {
		r->deadline = now;
		return;
	}
	if (r->mode == PATHS_ALL) {
		for (unsigned int i = 0; i < r->npaths; i++)
			act_send(acts, p->hid, &r->src[i], &r->dst[i], ih->cfg.port, r->buf, r->len);
	} else {
		act_send(acts, p->hid, &r->src[r->next], &r->dst[r->next], ih->cfg.port, r->buf,
			 r->len);
		r->next = (uint8_t)((r->next + 1) % r->npaths);
	}
	if (r->tries++)
		ih->st.retransmissions++;
	else
		ih->st.sent[r->type]++;
	r->deadline = now + r->rto;
	r->rto *= ih->cfg.backoff;
}

/* Encode m as a new request of p with the paths of proto, and send it. */
static int req_start(struct ihmp *ih, struct peer *p, struct ihmp_msg *m, const struct req *proto,
		     uint8_t max_tries, uint64_t now, struct ihmp_actions *acts)
{
	struct req *r;
	bool pv;
	int len;

	if (!proto->npaths)
		return -ENETUNREACH;
	m->seq = ++p->seq;
	m->nonce = rnd64(ih);
	m->has |= IHMP_HAS_NONCE;
	r = req_slot(p, m->type, proto);
	/* A newer probe of the same path takes over a validation. */
	pv = proto->pv || (r->used && r->pv && r->type == m->type &&
			   dime_addr_eq(&r->dst[0], &proto->dst[0]));
	len = encode_out(ih, m, now, r->buf, sizeof(r->buf));
	if (len < 0) {
		r->used = false;
		return len;
	}
	memcpy(r->src, proto->src, sizeof(r->src));
	memcpy(r->dst, proto->dst, sizeof(r->dst));
	r->npaths = proto->npaths;
	r->mode = proto->mode;
	r->probe = proto->probe;
	r->pv = pv;
	r->new_addr = proto->new_addr;
	r->old_addr = proto->old_addr;
	r->used = true;
	r->type = m->type;
	r->flags = m->flags;
	r->seq = m->seq;
	r->nonce = m->nonce;
	r->len = (uint16_t)len;
	r->tries = 0;
	r->next = 0;
	r->max_tries = max_tries;
	r->rto = ih->cfg.rto_ms;
	req_transmit(ih, p, r, now, acts);
	return 0;
}

/* ---- sender side -------------------------------------------------------- */

static void adv_locals(const struct ihmp *ih, struct ihmp_msg *m, const struct dime_addr *first)
{
	ihmp_adv_add(m, first);
	for (unsigned int i = 0; i < ih->nlocal; i++)
		ihmp_adv_add(m, &ih->local[i]);
}

/* PATH_PROBE of peer address a from local address l; pv: it validates a
 * (docs/security.md 3.6). */
static int send_probe_from(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			   const struct dime_addr *l, const struct dime_addr *a, bool pv,
			   uint64_t now, struct ihmp_actions *acts)
{
	const struct dime_addr *hid_addr = host_id_for(ih, e, NULL);
	struct ihmp_msg m;
	struct req proto = { .mode = PATHS_ROTATE, .probe = true, .pv = pv };

	if (!hid_addr)
		return -ENETUNREACH;
	ihmp_msg_init(&m, IHMP_PATH_PROBE, 0);
	m.host_id = *hid_addr;
	m.source = *l;
	proto.new_addr = *a;
	req_add_path(&proto, l, a);
	return req_start(ih, p, &m, &proto, ih->cfg.tries, now, acts);
}

static void send_probe(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
		       const struct dime_addr *a, uint64_t now, struct ihmp_actions *acts)
{
	const struct dime_addr *l = source_for(ih, a);

	if (l)
		send_probe_from(ih, p, e, l, a, false, now, acts);
}

/* docs/ihmp.md 10.1 step 5: probe the peer's potentially reachable
 * addresses (never link-local, never a private one we have no private
 * address of the family for). */
static void probe_unreachable(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			      uint64_t now, struct ihmp_actions *acts)
{
	struct dime_addr_set u = e->unreach;	/* the ACKs change it */

	for (unsigned int i = 0; i < u.n; i++)
		if (classify(ih, e, &u.addr[i]) == R_MAYBE)
			send_probe(ih, p, e, &u.addr[i], now, acts);
}

/* A message that needs any working path (ADDR_UP_UNREACHABLE, ADDR_DOWN*,
 * HANDOFF_UNREACHABLE). */
static int send_working(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			struct ihmp_msg *m, uint64_t now, struct ihmp_actions *acts)
{
	struct req proto = { .mode = PATHS_ROTATE, .new_addr = m->new_addr,
			     .old_addr = m->old_addr };

	req_working_paths(ih, e, &proto);
	return req_start(ih, p, m, &proto, ih->cfg.tries, now, acts);
}

static void send_addr_up_unreach(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
				 const struct dime_addr *n, uint64_t now, struct ihmp_actions *acts)
{
	struct ihmp_msg m;

	ihmp_msg_init(&m, IHMP_ADDR_UP_UNREACHABLE, 0);
	m.host_id = *host_id_for(ih, e, n);
	m.new_addr = *n;
	send_working(ih, p, e, &m, now, acts);
}

/* docs/ihmp.md 10.3: ADDR_UP from n as a probe to a peer address n may
 * reach, the locator first; none: ADDR_UP_UNREACHABLE. */
static void peer_addr_up(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			 const struct dime_addr *n, uint64_t now, struct ihmp_actions *acts)
{
	const struct dime_addr *dst = NULL;
	const struct dime_addr *rloc = &e->rloc[dime_af_index(n->family)];
	struct req proto = { .mode = PATHS_ROTATE, .probe = true, .new_addr = *n };
	struct ihmp_msg m;

	if (reach_from(n, rloc))
		dst = rloc;
	for (unsigned int i = 0; !dst && i < e->active.n; i++)
		if (reach_from(n, &e->active.addr[i]))
			dst = &e->active.addr[i];
	if (!dst) {
		send_addr_up_unreach(ih, p, e, n, now, acts);
		return;
	}
	ihmp_msg_init(&m, IHMP_ADDR_UP, 0);
	m.host_id = *host_id_for(ih, e, n);
	m.new_addr = *n;
	req_add_path(&proto, n, dst);
	req_start(ih, p, &m, &proto, ih->cfg.tries, now, acts);
}

static void send_handoff_unreach(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
				 const struct dime_addr *n, const struct dime_addr *o, bool ou,
				 uint64_t now, struct ihmp_actions *acts)
{
	struct ihmp_msg m;

	ihmp_msg_init(&m, IHMP_HANDOFF_UNREACHABLE, 0);
	m.flags = ou ? IHMP_F_OU : 0;
	m.host_id = *host_id_for(ih, e, n);
	m.new_addr = *n;
	m.old_addr = *o;
	send_working(ih, p, e, &m, now, acts);
}

/*
 * docs/ihmp.md 10.5: HANDOFF from n to every known address of the peer
 * (active and unreachable) n may reach, all at once, so that whichever
 * survived answers; none: HANDOFF_UNREACHABLE over a working path. It
 * supersedes the ADDR_DOWN of o and the ADDR_UP of n still outstanding.
 */
static void start_handoff(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			  const struct dime_addr *n, const struct dime_addr *o, bool ou,
			  uint64_t now, struct ihmp_actions *acts)
{
	struct req proto = { .mode = PATHS_ALL, .probe = true, .new_addr = *n, .old_addr = *o };
	const struct dime_addr_set *sets[2] = { &e->active, &e->unreach };
	/* Chosen before n joins the local set: the peer does not know n yet. */
	struct dime_addr host_id = *host_id_for(ih, e, o);
	struct ihmp_msg m;

	req_cancel_where(p, IHMP_ADDR_DOWN, o);
	req_cancel_where(p, IHMP_ADDR_DOWN_UNREACHABLE, o);
	req_cancel_where(p, IHMP_ADDR_UP, n);
	req_cancel_where(p, IHMP_ADDR_UP_UNREACHABLE, n);
	p->lost[dime_af_index(n->family)].pairable = false;
	ih->st.handoffs++;
	/* The peer answers from the moment it takes the HANDOFF in, to n:
	 * those packets must be translated back before our ACK arrives, so
	 * n joins the local set now. Our own output waits for the ACK, unless
	 * the peer already knows n (its ADDR_UP or probe was acknowledged: n
	 * is in the local set), as in a soft hand-off: then it switches now. */
	if (dime_addr_set_has(&e->local, n))
		dime_hid_set_lloc(ih->hids, p->hid, n);
	else
		e->out_held[dime_af_index(n->family)] = true;
	set_local(ih, p->hid, n);
	mark_changed(ih, p, acts);
	for (unsigned int s = 0; s < 2; s++)
		for (unsigned int i = 0; i < sets[s]->n; i++)
			if (reach_from(n, &sets[s]->addr[i]))
				req_add_path(&proto, n, &sets[s]->addr[i]);
	if (!proto.npaths) {
		send_handoff_unreach(ih, p, e, n, o, ou, now, acts);
		return;
	}
	ihmp_msg_init(&m, IHMP_HANDOFF, 0);
	m.flags = ou ? IHMP_F_OU : 0;
	m.host_id = host_id;
	m.new_addr = *n;
	m.old_addr = *o;
	req_start(ih, p, &m, &proto, ih->cfg.handoff_tries, now, acts);
}

/* ---- receiver side ------------------------------------------------------ */

struct rx {
	const struct ihmp_msg *m;
	const uint8_t *buf;		/* the datagram m was decoded from */
	size_t len;
	const struct dime_addr *src, *dst;
	uint16_t sport;
	uint64_t now;
	struct ihmp_actions *acts;
};

enum auth { AUTH_DROP, AUTH_APPLY, AUTH_REACK };

/* ---- path validation (docs/security.md 3.6) ------------------------------ */

static bool req_to(const struct req *r, const struct dime_addr *a)
{
	for (unsigned int j = 0; j < r->npaths; j++)
		if (dime_addr_eq(&r->dst[j], a))
			return true;
	return false;
}

/* The outstanding validation of a, or (any) a request that can take that
 * role: one sent to a whose ACK must come from a (a PATH_PROBE, or our
 * ADDR_UP or HANDOFF, as when both ends move) proves a just as well. -1:
 * none. */
static int pv_req_index(const struct peer *p, const struct dime_addr *a, bool any)
{
	for (unsigned int i = 0; i < REQ_MAX; i++) {
		const struct req *r = &p->req[i];

		if (r->used && r->probe && (r->pv || any) && req_to(r, a))
			return (int)i;
	}
	return -1;
}

static struct req *pv_req(struct peer *p, const struct dime_addr *a, bool any)
{
	int i = pv_req_index(p, a, any);

	return i < 0 ? NULL : &p->req[i];
}

/* Where to probe a from: where the message that named it arrived (our ACK
 * went back that way), else the local locator, else by scope. */
static const struct dime_addr *pv_source(const struct ihmp *ih, const struct dime_hid_entry *e,
					 const struct dime_addr *a, const struct dime_addr *hint)
{
	const struct dime_addr *l = &e->lloc[dime_af_index(a->family)];

	if (addr_is_scoped(a))
		return NULL;
	if (hint && hint->family == a->family && local_up(ih, hint))
		return hint;
	if (dime_addr_is_set(l) && local_up(ih, l) && reach_from(l, a))
		return l;
	return source_for(ih, a);
}

/* Start validating a; with nothing to send from, the next local address
 * event tries again. */
static void pv_probe(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
		     const struct dime_addr *a, const struct dime_addr *hint, uint64_t now,
		     struct ihmp_actions *acts)
{
	struct req *r = pv_req(p, a, true);
	const struct dime_addr *l;

	if (r) {
		if (!r->pv) {
			r->pv = true;
			ih->st.validations_started++;
		}
		return;
	}
	l = pv_source(ih, e, a, hint);
	if (l && send_probe_from(ih, p, e, l, a, true, now, acts) == 0)
		ih->st.validations_started++;
}

/*
 * a echoed our nonce from itself (ack_match checked the ACK of a PATH_PROBE,
 * ADDR_UP or HANDOFF came from where we sent it): a is the peer's, and a
 * locator waiting for that is free. was_pv: the ACKed request was
 * validating a.
 */
static void pv_proved(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
		      const struct dime_addr *a, bool was_pv, struct ihmp_actions *acts)
{
	int f = dime_af_index(a->family);
	struct req *r;

	if (!ih->cfg.path_validation)
		return;
	pv_remember(ih, p, e, a);
	while ((r = pv_req(p, a, false))) {	/* another request answered first */
		r->pv = false;
		if (r->type == IHMP_PATH_PROBE)	/* it had no other purpose */
			req_end(p, r);
		was_pv = true;
	}
	if (was_pv)
		ih->st.validations_succeeded++;
	if (e->rloc_unvalidated[f] && dime_addr_eq(&e->rloc[f], a)) {
		e->rloc_unvalidated[f] = false;
		p->pv_failed[f] = false;
		mark_changed(ih, p, acts);
	}
}

/*
 * After a message or an event that may have moved p's remote locators
 * (before: as they were; rx: the message, NULL for a local event). A
 * locator now at an address not validated for the peer is flagged for the
 * data plane, with the bytes the message brought from that address as its
 * first budget, and probed; one at a validated address is not flagged. A
 * flagged locator with no probe gets one, unless its last validation
 * failed and it has sent nothing since.
 */
static void pv_after(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
		     const struct dime_addr before[2], const struct rx *rx, uint64_t now,
		     struct ihmp_actions *acts)
{
	if (!ih->cfg.path_validation)
		return;
	for (int f = 0; f < 2; f++) {
		const struct dime_addr *r = &e->rloc[f];
		bool from_it = rx && dime_addr_eq(rx->src, r);

		if (!dime_addr_eq(r, &before[f])) {
			if (!e->rloc_unvalidated[f] && dime_addr_is_set(&before[f]))
				p->pv_prev[f] = before[f];	/* the flag is still before's */
			p->pv_failed[f] = false;
			e->rloc_unvalidated[f] = dime_addr_is_set(r) && !pv_valid(p, r);
			e->pv_rx[f] = from_it ? rx->len : 0;
			e->pv_tx[f] = 0;
			mark_changed(ih, p, acts);
		}
		if (from_it)
			p->pv_failed[f] = false;
		if (e->rloc_unvalidated[f] && !p->pv_failed[f] && !pv_req(p, r, false))
			pv_probe(ih, p, e, r, rx ? rx->dst : NULL, now, acts);
	}
}

/*
 * A validation ran out of tries: its address never answered from itself.
 * If it is still the locator, the locator goes back to the previous one,
 * which rejoins the active set if the same message took it out (a forged
 * HANDOFF's OLD is no better proven than its NEW: without this, one
 * forgery would cut the peer's flows off for good); else to another
 * validated active address of the family; with none it stays flagged, so
 * the data plane keeps to the budget.
 */
static void pv_req_failed(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			  const struct req *r, struct ihmp_actions *acts)
{
	const struct dime_addr *a, *alt = NULL;
	int f;

	if (!r->pv)
		return;
	ih->st.validations_failed++;
	for (f = 0; f < 2; f++)
		if (e->rloc_unvalidated[f] && req_to(r, &e->rloc[f]))
			break;
	if (f == 2)
		return;
	a = &e->rloc[f];
	p->pv_failed[f] = true;
	if (pv_valid(p, &p->pv_prev[f]) && p->pv_prev[f].family == a->family &&
	    !dime_addr_set_has(&e->active, &p->pv_prev[f])) {
		dime_hid_addr_del(ih->hids, p->hid, DIME_HID_UNREACH, &p->pv_prev[f]);
		if (dime_hid_addr_add(ih->hids, p->hid, DIME_HID_ACTIVE, &p->pv_prev[f]) == 0)
			ih->st.validations_reverted++;
	}
	if (dime_addr_set_has(&e->active, &p->pv_prev[f]) && pv_valid(p, &p->pv_prev[f]))
		alt = &p->pv_prev[f];
	for (unsigned int i = 0; !alt && i < e->active.n; i++)
		if (e->active.addr[i].family == a->family && pv_valid(p, &e->active.addr[i]))
			alt = &e->active.addr[i];
	if (!alt || dime_hid_set_rloc(ih->hids, p->hid, alt) < 0)
		return;
	e->rloc_unvalidated[f] = false;
	mark_changed(ih, p, acts);
}

/* After a local address event: a validation cut short with the address it
 * left from, or waiting for an address to leave from, starts (again). */
static void pv_resume(struct ihmp *ih, uint64_t now, struct ihmp_actions *acts)
{
	for (struct peer *p = ih->peers; ih->cfg.path_validation && p; p = p->next) {
		struct dime_hid_entry *e = dime_hid_get(ih->hids, p->hid);
		struct dime_addr before[2];

		if (!e || !(e->rloc_unvalidated[0] || e->rloc_unvalidated[1]))
			continue;
		memcpy(before, e->rloc, sizeof(before));
		pv_after(ih, p, e, before, NULL, now, acts);
	}
}

/* An address of p's that a live flow binds (the index maps it to p, but
 * neither remote set has it): the applications' own choice. */
static bool pv_flow_addr(const struct ihmp *ih, const struct dime_hid_entry *e,
			 const struct dime_addr *a)
{
	return dime_hid_lookup(ih->hids, a) == e->hid && !dime_addr_set_has(&e->active, a) &&
	       !dime_addr_set_has(&e->unreach, a);
}

/*
 * docs/ihmp.md 9 step 4 for rx's message from a peer with key (NULL: none)
 * and replay window win. Changes nothing but counters: the caller applies
 * the message (AUTH_APPLY), only ACKs it again (AUTH_REACK: the exact
 * retransmission of a request it applied), or drops it. *verified: the
 * signature verified, so the counter may go into the window.
 */
static enum auth authenticate(struct ihmp *ih, const struct rx *rx, const struct ihmp_key *key,
			      const struct replay_window *win, bool *verified)
{
	const struct ihmp_msg *m = rx->m;
	enum replay_verdict v = REPLAY_FRESH;
	int err;

	*verified = false;
	/* The window first: a replay costs a lookup, not a verification.
	 * An unverified counter only decides a drop here, never moves it. */
	if (ih->cfg.auth != IHMP_AUTH_OFF && key && (m->has & IHMP_HAS_SIG)) {
		v = replay_check(win, m->counter, m->type, m->seq);
		if (v == REPLAY_STALE || v == REPLAY_DUPLICATE) {
			ih->st.drop_replay++;
			return AUTH_DROP;
		}
	}
	err = ihmp_auth_check(ih->cfg.auth, key, rx->buf, rx->len, m, verified);
	if (err) {
		count_auth_drop(&ih->st, err);
		return AUTH_DROP;
	}
	if (*verified)
		ih->st.verified++;
	else
		ih->st.unverified++;
	return *verified && v == REPLAY_RETRANSMIT ? AUTH_REACK : AUTH_APPLY;
}

/* After AUTH_APPLY: bind the key that vouched for p's message, and record
 * the verified counter. */
static void auth_accepted(struct peer *p, const struct rx *rx, const struct ihmp_key *key,
			  bool verified)
{
	if (!p->key)
		p->key = key;
	if (verified)
		replay_accept(&p->win, rx->m->counter, rx->m->type, rx->m->seq);
}

/* ACK from the packet destination to the packet source and port. */
static void send_ack(struct ihmp *ih, const struct rx *rx, uint32_t hid, uint16_t flags,
		     bool with_adv)
{
	struct ihmp_msg a;
	uint8_t buf[IHMP_MSG_MAX];
	int len;

	ihmp_msg_init(&a, IHMP_ACK, rx->m->seq);
	a.acked_type = rx->m->type;
	a.host_id = *rx->dst;
	a.flags = flags;
	if (flags & IHMP_F_ND) {
		a.observed = *rx->src;
		a.observed_port = rx->sport;
	}
	if (rx->m->has & IHMP_HAS_NONCE) {
		a.has |= IHMP_HAS_NONCE;
		a.nonce = rx->m->nonce;
	}
	if (with_adv)
		adv_locals(ih, &a, rx->dst);
	/* No room: not even worth a signature. The peer retransmits. */
	if (act_room(rx->acts) == 0) {
		ih->st.drop_no_room++;
		return;
	}
	len = encode_out(ih, &a, rx->now, buf, sizeof(buf));
	if (len < 0)
		return;
	act_send(rx->acts, hid, rx->dst, rx->src, rx->sport, buf, (size_t)len);
	ih->st.sent[IHMP_ACK]++;
}

static bool adv_has(const struct ihmp_msg *m, const struct dime_addr *a)
{
	for (unsigned int i = 0; i < m->adv.n; i++)
		if (dime_addr_eq(&m->adv.addr[i], a))
			return true;
	return false;
}

/* The flags of the ACK of a HELLO: they depend on the message alone, so a
 * retransmission gets the same answer. */
static uint16_t hello_ack_flags(const struct rx *rx)
{
	bool detected = !adv_has(rx->m, rx->src);
	bool forced = detected || (rx->m->flags & IHMP_F_NF);

	return (forced ? IHMP_F_NF : 0) | (detected ? IHMP_F_ND : 0);
}

/* docs/ihmp.md 10.1 (passive host) and 11 (NAT forced). Authenticated
 * before a HID is created or a set replaced: a new peer's key is the one
 * configured for its addresses, checked against an empty window. */
static void rx_hello(struct ihmp *ih, const struct rx *rx)
{
	const struct ihmp_msg *m = rx->m;
	uint16_t flags = hello_ack_flags(rx);
	bool detected = flags & IHMP_F_ND, forced = flags & IHMP_F_NF, verified;
	uint32_t hid = dime_hid_lookup(ih->hids, rx->src);
	const struct ihmp_key *key;
	struct ihmp_key *tofu;
	struct replay_window empty;
	struct dime_hid_entry *e;
	struct dime_addr before[2];
	bool created, src_proven;
	struct peer *p;

	if (hid == DIME_HID_NONE)
		hid = dime_hid_lookup(ih->hids, &m->host_id);
	p = peer_of(ih, hid, &e);
	key = key_for(ih, p, rx->src, &m->host_id);
	tofu = tofu_key(ih, key, m);
	if (tofu)
		key = tofu;
	if (!p)
		replay_init(&empty, replay_floor(ih, rx->now));
	switch (authenticate(ih, rx, key, p ? &p->win : &empty, &verified)) {
	case AUTH_DROP:
		tofu_dropped(ih, tofu ? NULL : key, m);
		ihmp_key_free(tofu);
		return;
	case AUTH_REACK:
		ihmp_key_free(tofu);
		ih->st.reacked++;
		send_ack(ih, rx, hid, flags, true);
		return;
	case AUTH_APPLY:
		break;
	}
	created = hid == DIME_HID_NONE;
	if (hid == DIME_HID_NONE && dime_hid_create(ih->hids, rx->now, &hid)) {
		ihmp_key_free(tofu);
		ih->st.drop_table_full++;
		return;
	}
	p = peer_of(ih, hid, &e);
	if (!p && !(p = peer_new(ih, e, rx->now))) {
		ihmp_key_free(tofu);
		ih->st.drop_table_full++;
		return;
	}
	tofu_pin(ih, p, tofu);
	auth_accepted(p, rx, key, verified);
	ih->applied = true;
	/* docs/security.md 3.6: the source of the HELLO that made the HID, or
	 * one the peer's flows bind, is the peer's; another one is validated
	 * like a moved locator (pv_after). */
	memcpy(before, e->rloc, sizeof(before));
	src_proven = created || pv_flow_addr(ih, e, rx->src);
	/* New peer or resynchronisation: its sets are replaced. */
	for (unsigned int i = 0; i < REQ_MAX; i++)
		if (p->req[i].used && p->req[i].type != IHMP_HELLO)
			req_end(p, &p->req[i]);
	clear_set(ih, hid, DIME_HID_ACTIVE, &e->active);
	clear_set(ih, hid, DIME_HID_UNREACH, &e->unreach);
	clear_set(ih, hid, DIME_HID_LOCAL, &e->local);
	p->nat_n = 0;
	p->map_n = 0;
	p->legacy = p->hold = false;
	memset(p->lost, 0, sizeof(p->lost));
	p->established = true;
	p->nat_forced = forced;
	if (src_proven)
		pv_remember(ih, p, e, rx->src);
	set_active(ih, hid, rx->src);
	set_local(ih, hid, rx->dst);
	if (detected)
		nat_store(ih, p, rx->src, &m->host_id);
	for (unsigned int i = 0; !forced && i < m->adv.n; i++)
		if (!dime_addr_eq(&m->adv.addr[i], rx->src))
			set_unreach(ih, hid, &m->adv.addr[i]);
	send_ack(ih, rx, hid, flags, true);
	mark_changed(ih, p, rx->acts);
	if (!forced)
		probe_unreachable(ih, p, e, rx->now, rx->acts);
	pv_after(ih, p, e, before, rx, rx->now, rx->acts);
}

/* docs/ihmp.md 10.2, 10.3 and 11: a request sent from addr (SOURCE, NEW)
 * proves the path it came over, unless a NAT rewrote its source. */
static bool rx_from(struct ihmp *ih, const struct rx *rx, struct peer *p,
		    const struct dime_addr *addr)
{
	if (!dime_addr_eq(addr, rx->src)) {
		set_unreach(ih, p->hid, addr);
		nat_store(ih, p, rx->src, addr);
		return false;
	}
	set_active(ih, p->hid, addr);
	set_local(ih, p->hid, rx->dst);
	return true;
}

/* The address a request says it was sent from (docs/ihmp.md 11), or NULL
 * for those sent over any path. */
static const struct dime_addr *sent_from(const struct ihmp_msg *m)
{
	switch (m->type) {
	case IHMP_PATH_PROBE:
		return &m->source;
	case IHMP_ADDR_UP:
	case IHMP_HANDOFF:
		return &m->new_addr;
	default:
		return NULL;
	}
}

/* A retransmission of a request we applied (our ACK was lost): the same
 * ACK as the first time, nothing applied again. */
static void reack_request(struct ihmp *ih, const struct rx *rx, struct peer *p)
{
	const struct dime_addr *from = sent_from(rx->m);
	bool nat = from && !dime_addr_eq(from, rx->src);

	ih->st.reacked++;
	send_ack(ih, rx, p->hid, nat ? IHMP_F_ND : 0, false);
}

static void rx_request(struct ihmp *ih, const struct rx *rx, struct peer *p)
{
	const struct ihmp_msg *m = rx->m;
	struct dime_hid_entry *e = dime_hid_get(ih->hids, p->hid);
	struct dime_addr before[2];
	bool nat = false;

	if (!e)
		return;
	memcpy(before, e->rloc, sizeof(before));
	switch (m->type) {
	case IHMP_PATH_PROBE:
		nat = !rx_from(ih, rx, p, &m->source);
		break;
	case IHMP_ADDR_UP:
		nat = !rx_from(ih, rx, p, &m->new_addr);
		break;
	case IHMP_ADDR_UP_UNREACHABLE:
		set_unreach(ih, p->hid, &m->new_addr);
		break;
	case IHMP_ADDR_DOWN:
	case IHMP_ADDR_DOWN_UNREACHABLE:
		remove_remote(ih, p, &m->old_addr);
		break;
	case IHMP_HANDOFF:
		remove_remote(ih, p, &m->old_addr);
		nat = !rx_from(ih, rx, p, &m->new_addr);
		if (!nat)	/* flows move to NEW (docs/ihmp.md 10.5) */
			dime_hid_set_rloc(ih->hids, p->hid, &m->new_addr);
		break;
	case IHMP_HANDOFF_UNREACHABLE:
		remove_remote(ih, p, &m->old_addr);
		set_unreach(ih, p->hid, &m->new_addr);
		break;
	}
	send_ack(ih, rx, p->hid, nat ? IHMP_F_ND : 0, false);
	mark_changed(ih, p, rx->acts);
	/* docs/security.md 3.6: a HANDOFF's NEW (or whatever took over the
	 * locator) is probed now, with the ACK; a soft hand-off's NEW in the
	 * background at its ADDR_UP, so the later switch waits for nothing. */
	pv_after(ih, p, e, before, rx, rx->now, rx->acts);
	if (m->type == IHMP_ADDR_UP && ih->cfg.path_validation &&
	    dime_addr_set_has(&e->active, &m->new_addr) && !pv_valid(p, &m->new_addr))
		pv_probe(ih, p, e, &m->new_addr, rx->dst, rx->now, rx->acts);
}

/* The peer of a request: the HID whose active set holds HOST_ID. A
 * HANDOFF's retransmission may name by OLD a host we already moved to
 * NEW, so NEW finds it too (the request is idempotent). */
static struct peer *rx_peer(struct ihmp *ih, const struct ihmp_msg *m)
{
	struct dime_hid_entry *e;
	struct peer *p = peer_of(ih, dime_hid_lookup(ih->hids, &m->host_id), &e);

	/* Active, or an identifier a live flow of that host still binds (the
	 * host may have announced it down before it moved). Never an address
	 * only the host itself claimed (unreachable set). */
	if (p && !dime_addr_set_has(&e->unreach, &m->host_id))
		return p;
	if (m->type == IHMP_ADDR_DOWN || m->type == IHMP_ADDR_DOWN_UNREACHABLE) {
		/* The same for the OLD address of an ADDR_DOWN. */
		p = peer_of(ih, dime_hid_lookup(ih->hids, &m->old_addr), &e);
		if (p && !dime_addr_set_has(&e->unreach, &m->old_addr))
			return p;
	}
	if (m->type == IHMP_HANDOFF || m->type == IHMP_HANDOFF_UNREACHABLE) {
		/* HOST_ID may be an address of the other family that the
		 * other family's HANDOFF, processed first, just removed: the
		 * OLD address a live flow still binds names the host too. */
		p = peer_of(ih, dime_hid_lookup(ih->hids, &m->old_addr), &e);
		if (p && !dime_addr_set_has(&e->unreach, &m->old_addr))
			return p;
		p = peer_of(ih, dime_hid_lookup(ih->hids, &m->new_addr), &e);
		if (p && !dime_addr_set_has(&e->active, &m->old_addr) &&
		    !dime_addr_set_has(&e->unreach, &m->old_addr))
			return p;
	}
	return NULL;
}

static struct req *ack_match(struct peer *p, const struct rx *rx)
{
	const struct ihmp_msg *m = rx->m;

	for (unsigned int i = 0; i < REQ_MAX; i++) {
		struct req *r = &p->req[i];
		bool from_dst = false;

		if (!r->used || r->seq != m->seq || r->type != m->acked_type ||
		    !(m->has & IHMP_HAS_NONCE) || m->nonce != r->nonce || !r->tries)
			continue;
		for (unsigned int j = 0; j < r->npaths; j++)
			from_dst |= dime_addr_eq(&r->dst[j], rx->src);
		if (r->probe && !from_dst)
			continue;
		return r;
	}
	return NULL;
}

/* The requester's side of an ACK (docs/ihmp.md 10.1 to 10.6). */
static void ack_apply(struct ihmp *ih, const struct rx *rx, struct peer *p,
		      struct dime_hid_entry *e, const struct req *r)
{
	const struct ihmp_msg *m = rx->m;
	bool nd = m->flags & IHMP_F_ND;

	switch (r->type) {
	case IHMP_HELLO:
		p->established = true;
		if (m->flags & IHMP_F_NF) {
			p->nat_forced = true;
			memset(p->req, 0, sizeof(p->req));
			return;
		}
		set_local(ih, p->hid, rx->dst);
		for (unsigned int i = 0; i < m->adv.n; i++)
			if (!dime_addr_eq(&m->adv.addr[i], rx->src))
				set_unreach(ih, p->hid, &m->adv.addr[i]);
		mark_changed(ih, p, rx->acts);
		probe_unreachable(ih, p, e, rx->now, rx->acts);
		return;
	case IHMP_PATH_PROBE:
	case IHMP_ADDR_UP:
	case IHMP_HANDOFF:
		/* From the address we probed, with our nonce (ack_match): even
		 * through a NAT of ours (ND), the address is the peer's. */
		pv_proved(ih, p, e, rx->src, r->pv, rx->acts);
		if (nd)
			return;
		set_active(ih, p->hid, rx->src);
		set_local(ih, p->hid, rx->dst);
		if (r->type == IHMP_HANDOFF) {
			dime_hid_set_lloc(ih->hids, p->hid, rx->dst);
			p->hold = false;
			e->out_held[dime_af_index(rx->dst->family)] = false;
		}
		mark_changed(ih, p, rx->acts);
		return;
	case IHMP_HANDOFF_UNREACHABLE:
		/* The peer knows the new address; it answers to it. */
		if (local_up(ih, &r->new_addr)) {
			set_local(ih, p->hid, &r->new_addr);
			dime_hid_set_lloc(ih->hids, p->hid, &r->new_addr);
		}
		p->hold = false;
		hold_output(ih, p, e, dime_af_index(r->new_addr.family), false, rx->acts);
		mark_changed(ih, p, rx->acts);
		return;
	default:
		return;
	}
}

/* Matched first (cheap, and an off-path attacker cannot match our nonce),
 * authenticated before the request completes. */
static void rx_ack(struct ihmp *ih, const struct rx *rx)
{
	struct dime_hid_entry *e;
	struct peer *p = peer_of(ih, dime_hid_lookup(ih->hids, &rx->m->host_id), &e);
	struct req *r = p ? ack_match(p, rx) : NULL;
	struct dime_addr before[2];
	const struct ihmp_key *key;
	struct ihmp_key *tofu;
	struct req done;
	bool verified;

	if (!r) {
		if (p && ack_of_ended(p, rx->m))
			ih->st.drop_late_ack++;
		else
			ih->st.drop_unmatched_ack++;
		return;
	}
	key = key_for(ih, p, rx->src, &rx->m->host_id);
	tofu = tofu_key(ih, key, rx->m);	/* an ACK of our HELLO only */
	if (tofu)
		key = tofu;
	/* An ACK is never retransmitted, so never AUTH_REACK. */
	if (authenticate(ih, rx, key, &p->win, &verified) != AUTH_APPLY) {
		tofu_dropped(ih, tofu ? NULL : key, rx->m);
		ihmp_key_free(tofu);
		return;
	}
	tofu_pin(ih, p, tofu);
	auth_accepted(p, rx, key, verified);
	ih->applied = true;
	done = *r;
	req_end(p, r);
	memcpy(before, e->rloc, sizeof(before));
	ack_apply(ih, rx, p, e, &done);
	pv_after(ih, p, e, before, rx, rx->now, rx->acts);
}

static void count_decode_drop(struct ihmp_stats *st, int err)
{
	switch (err) {
	case -EMSGSIZE: st->drop_length++; break;
	case -EPROTONOSUPPORT: st->drop_version++; break;
	case -E2BIG: st->drop_too_big++; break;
	case -ENOMSG: st->drop_unknown_type++; break;
	case -EBADMSG: st->drop_overrun++; break;
	case -EILSEQ: st->drop_order++; break;
	case -EOPNOTSUPP: st->drop_unsupported++; break;
	case -ENOENT: st->drop_missing++; break;
	default: st->drop_invalid++; break;
	}
}

static bool usable_remote(const struct dime_addr *a)
{
	return (a->family == AF_INET || a->family == AF_INET6);
}

/* A request from a known, established peer: authenticated, then applied. */
static void rx_request_auth(struct ihmp *ih, const struct rx *rx, struct peer *p)
{
	const struct ihmp_key *key = key_for(ih, p, rx->src, &rx->m->host_id);
	bool verified;

	switch (authenticate(ih, rx, key, &p->win, &verified)) {
	case AUTH_DROP:
		return;
	case AUTH_REACK:
		reack_request(ih, rx, p);
		return;
	case AUTH_APPLY:
		auth_accepted(p, rx, key, verified);
		ih->applied = true;
		if (ih->cfg.before_apply)
			ih->cfg.before_apply(ih->cfg.before_apply_ctx, p->hid, rx->m);
		rx_request(ih, rx, p);
		return;
	}
}

/*
 * docs/ihmp.md 11: an IHMP-aware NAT created a mapping for a host we know
 * (NAT_MAP's host address): keep it with that host (replacing one for the
 * same protocol and host port, the oldest when full) and acknowledge to
 * the NAT. The data plane does not translate ports through it yet.
 */
static void rx_nat_entry(struct ihmp *ih, const struct rx *rx)
{
	const struct ihmp_nat_entry *n = &rx->m->nat;
	struct dime_hid_entry *e;
	struct peer *p = peer_of(ih, dime_hid_lookup(ih->hids, &n->host_addr), &e);
	unsigned int i;

	if (!p || dime_addr_set_has(&e->unreach, &n->host_addr)) {
		ih->st.drop_unknown_host++;
		return;
	}
	for (i = 0; i < p->map_n; i++)
		if (p->map[i].proto == n->proto && p->map[i].host_port == n->host_port &&
		    dime_addr_eq(&p->map[i].host_addr, &n->host_addr))
			break;
	if (i == p->map_n) {
		if (p->map_n == NAT_MAX)
			memmove(&p->map[0], &p->map[1], (NAT_MAX - 1) * sizeof(p->map[0]));
		else
			p->map_n++;
		i = p->map_n - 1;
	}
	p->map[i] = *n;
	ih->st.nat_entries++;
	send_ack(ih, rx, p->hid, 0, false);
}

int ihmp_input(struct ihmp *ih, const uint8_t *buf, size_t len, const struct dime_addr *src,
	       uint16_t sport, const struct dime_addr *dst, uint64_t now,
	       struct ihmp_actions *acts)
{
	struct ihmp_msg m;
	struct rx rx = { .m = &m, .buf = buf, .len = len, .src = src, .dst = dst, .sport = sport,
			 .now = now, .acts = acts };
	struct peer *p;
	int err;

	if (!ih || !src || !dst || !acts || (!buf && len))
		return -EINVAL;
	ih->applied = false;
	/* Before decoding: a flood costs a hash lookup per datagram. A
	 * source of no usable family is counted below (bad_addr). */
	if (ih->rl && usable_remote(src) && ratelimit_check(ih->rl, src, now) != RATELIMIT_PASS) {
		ih->st.drop_rate_limited++;
		return 0;
	}
	err = ihmp_decode(buf, len, &m);
	if (err) {
		count_decode_drop(&ih->st, err);
		return 0;
	}
	if (!usable_remote(src) || src->family != dst->family || !sport) {
		ih->st.drop_bad_addr++;
		return 0;
	}
	ih->st.received[m.type]++;
	if (m.type == IHMP_HELLO) {
		rx_hello(ih, &rx);
		return 0;
	}
	if (m.type == IHMP_ACK) {
		rx_ack(ih, &rx);
		return 0;
	}
	if (m.type == IHMP_NAT_ENTRY) {
		rx_nat_entry(ih, &rx);
		return 0;
	}
	p = rx_peer(ih, &m);
	if (!p)
		ih->st.drop_unknown_host++;
	else if (p->nat_forced)
		ih->st.drop_nat_forced++;
	else if (p->legacy || !p->established)
		ih->st.drop_unexpected++;
	else
		rx_request_auth(ih, &rx, p);
	return 0;
}

/* ---- local events ------------------------------------------------------- */

static bool signalling(const struct peer *p)
{
	return p->established && !p->legacy && !p->nat_forced;
}

/* The address lost came back during the hold. We sent nothing meanwhile,
 * so the peer still has it as our locator: resume as before. */
static void resume_after_hold(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			      const struct dime_addr *n, struct ihmp_actions *acts)
{
	struct lost *l = &p->lost[dime_af_index(n->family)];

	if (!l->ou)
		set_local(ih, p->hid, n);
	p->hold = false;
	memset(l, 0, sizeof(*l));
	hold_output(ih, p, e, dime_af_index(n->family), false, acts);
	mark_changed(ih, p, acts);
}

int ihmp_local_addr_up(struct ihmp *ih, const struct dime_addr *n, uint64_t now,
		       struct ihmp_actions *acts)
{
	if (!usable_remote(n))
		return -EINVAL;
	if (addr_is_scoped(n) || local_up(ih, n))
		return 0;
	if (ih->nlocal >= IHMP_LOCAL_MAX)
		return -ENOSPC;
	ih->local[ih->nlocal++] = *n;
	ih->last_up[dime_af_index(n->family)] = *n;
	ih->last_up_at[dime_af_index(n->family)] = now;
	for (struct peer *p = ih->peers; p; p = p->next) {
		struct dime_hid_entry *e = dime_hid_get(ih->hids, p->hid);
		struct lost *l = &p->lost[dime_af_index(n->family)];

		if (!e || !signalling(p))
			continue;
		if (p->hold && dime_addr_eq(&l->addr, n))
			resume_after_hold(ih, p, e, n, acts);
		else if (dime_addr_is_set(&l->addr) &&
			 (p->hold || (l->pairable && now - l->at <= ih->cfg.pair_ms)))
			start_handoff(ih, p, e, n, &l->addr, l->ou, now, acts);
		else
			peer_addr_up(ih, p, e, n, now, acts);
	}
	pv_resume(ih, now, acts);
	return 0;
}

/* docs/ihmp.md 10.4, with hold instead of immediate removal: a host that
 * loses its only address usually gets another within seconds. */
static void peer_addr_down(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e,
			   const struct dime_addr *o, bool pair, uint64_t now,
			   struct ihmp_actions *acts)
{
	bool was_local = dime_addr_set_has(&e->local, o);
	struct lost *l = &p->lost[dime_af_index(o->family)];
	struct ihmp_msg m;

	req_cancel_from(p, o);
	if (was_local) {
		dime_hid_addr_del(ih->hids, p->hid, DIME_HID_LOCAL, o);
		mark_changed(ih, p, acts);
	}
	if (!signalling(p))
		return;
	l->addr = *o;
	l->ou = !was_local;
	l->at = now;
	l->pairable = true;
	l->announced = false;
	if (pair) {
		start_handoff(ih, p, e, &ih->last_up[dime_af_index(o->family)], o, !was_local, now,
			      acts);
		return;
	}
	if (!usable_locals(ih, e)) {
		if (!p->hold) {
			p->hold = true;
			p->hold_until = now + ih->cfg.hold_ms;
		}
		hold_output(ih, p, e, -1, true, acts);
		return;
	}
	ihmp_msg_init(&m, was_local ? IHMP_ADDR_DOWN : IHMP_ADDR_DOWN_UNREACHABLE, 0);
	m.host_id = *host_id_for(ih, e, o);
	m.old_addr = *o;
	l->announced = true;
	send_working(ih, p, e, &m, now, acts);
}

int ihmp_local_addr_down(struct ihmp *ih, const struct dime_addr *o, uint64_t now,
			 struct ihmp_actions *acts)
{
	int i = local_index(ih, o);
	bool pair;

	if (i < 0)
		return 0;
	ih->local[i] = ih->local[--ih->nlocal];
	/* A HANDOFF replaces an address by one of its own family. */
	{
		int f = dime_af_index(o->family);
		const struct dime_addr *up = &ih->last_up[f];

		pair = up->family == o->family && !dime_addr_eq(up, o) && local_up(ih, up) &&
		       now - ih->last_up_at[f] <= ih->cfg.pair_ms;
	}
	for (struct peer *p = ih->peers; p; p = p->next) {
		struct dime_hid_entry *e = dime_hid_get(ih->hids, p->hid);

		if (e)
			peer_addr_down(ih, p, e, o, pair, now, acts);
	}
	pv_resume(ih, now, acts);
	return 0;
}

/* ---- timers ------------------------------------------------------------- */

/* What a request that ran out of tries means (docs/ihmp.md 8 and 10). */
static void req_failed(struct ihmp *ih, struct peer *p, struct dime_hid_entry *e, struct req *r,
		       uint64_t now, struct ihmp_actions *acts)
{
	struct req done = *r;

	req_end(p, r);
	ih->st.failed++;
	pv_req_failed(ih, p, e, &done, acts);
	switch (done.type) {
	case IHMP_HELLO:
		p->legacy = true;
		ih->st.legacy_peers++;
		memset(p->req, 0, sizeof(p->req));
		break;
	case IHMP_ADDR_UP:
		if (local_up(ih, &done.new_addr))
			send_addr_up_unreach(ih, p, e, &done.new_addr, now, acts);
		break;
	case IHMP_HANDOFF:
		/* It joined the local set when the HANDOFF went out; no
		 * answer means the peer cannot reach it after all. */
		if (dime_hid_addr_del(ih->hids, p->hid, DIME_HID_LOCAL, &done.new_addr) == 0)
			mark_changed(ih, p, acts);
		if (local_up(ih, &done.new_addr)) {
			send_handoff_unreach(ih, p, e, &done.new_addr, &done.old_addr,
					     done.flags & IHMP_F_OU, now, acts);
			break;
		}
		/* fall through */
	case IHMP_HANDOFF_UNREACHABLE:
		/* Nobody answered: holding output any longer helps nobody;
		 * the hold (if any) decides the peer's fate. */
		hold_output(ih, p, e, dime_af_index(done.new_addr.family), p->hold, acts);
		break;
	default:	/* a failed probe leaves the address unreachable */
		break;
	}
}

/* Returns false when p was released. */
static bool peer_timer(struct ihmp *ih, struct peer *p, uint64_t now, struct ihmp_actions *acts)
{
	struct dime_hid_entry *e = dime_hid_get(ih->hids, p->hid);

	if (!e) {
		peer_free(ih, p);
		return false;
	}
	if (p->dirty)
		flush_dirty(ih, p, acts);
	if (p->hold && now >= p->hold_until) {
		if (!act_push(acts, IHMP_ACT_PEER_LOST, p->hid))
			return true;
		ih->st.peers_lost++;
		peer_free(ih, p);
		return false;
	}
	for (unsigned int i = 0; i < REQ_MAX; i++) {
		struct req *r = &p->req[i];

		if (!r->used || r->deadline > now)
			continue;
		if (r->tries >= r->max_tries)
			req_failed(ih, p, e, r, now, acts);
		else
			req_transmit(ih, p, r, now, acts);
	}
	return true;
}

int ihmp_timer(struct ihmp *ih, uint64_t now, struct ihmp_actions *acts)
{
	struct peer *next;

	for (struct peer *p = ih->peers; p; p = next) {
		next = p->next;
		peer_timer(ih, p, now, acts);
	}
	return 0;
}

uint64_t ihmp_next_deadline(const struct ihmp *ih)
{
	uint64_t t = UINT64_MAX;

	if (ih->ndirty)
		return 0;
	for (const struct peer *p = ih->peers; p; p = p->next) {
		if (p->hold && p->hold_until < t)
			t = p->hold_until;
		for (unsigned int i = 0; i < REQ_MAX; i++)
			if (p->req[i].used && p->req[i].deadline < t)
				t = p->req[i].deadline;
	}
	return t;
}

/* ---- life cycle --------------------------------------------------------- */

/* The input limiter, with a seed nobody can aim hash sets with. */
static int rate_limit_new(struct ihmp *ih)
{
	struct ratelimit_config rc = ih->cfg.rl;

	if (!rc.slots)
		return 0;
	while (!rc.seed)
		rc.seed = (uint32_t)rnd64(ih);
	return ratelimit_new(&ih->rl, &rc);
}

int ihmp_new(struct ihmp **out, struct dime_hid_table *hids, const struct ihmp_config *cfg)
{
	static const struct ihmp_config defaults = IHMP_CONFIG_DEFAULTS;
	struct ihmp *ih;
	int err;

	if (!cfg)
		cfg = &defaults;
	if (!hids || !cfg->port || !cfg->rto_ms || !cfg->backoff || !cfg->tries ||
	    !cfg->hello_tries || !cfg->handoff_tries || !cfg->hold_ms)
		return -EINVAL;
	if ((unsigned int)cfg->auth > IHMP_AUTH_REQUIRED ||
	    (cfg->local_key && !ihmp_key_is_private(cfg->local_key)))
		return -EINVAL;
	ih = calloc(1, sizeof(*ih));
	if (!ih)
		return -ENOMEM;
	ih->cfg = *cfg;
	ih->hids = hids;
	err = rate_limit_new(ih);
	if (err) {
		free(ih);
		return err;
	}
	*out = ih;
	return 0;
}

void ihmp_free(struct ihmp *ih)
{
	if (!ih)
		return;
	while (ih->peers)
		peer_free(ih, ih->peers);
	ratelimit_free(ih->rl);
	free(ih);
}

int ihmp_hid_created(struct ihmp *ih, uint32_t hid, uint64_t now, struct ihmp_actions *acts)
{
	struct dime_hid_entry *e = dime_hid_get(ih->hids, hid);
	struct req proto = { .mode = PATHS_ROTATE };
	const struct dime_addr *l, *r;
	struct ihmp_msg m;
	struct peer *p;
	int err;

	if (!e)
		return -ESTALE;
	if (e->ihmp)
		return -EEXIST;
	l = e->local.n ? &e->local.addr[0] : NULL;
	r = e->active.n ? &e->active.addr[0] : NULL;
	if (!l || !r || l->family != r->family)
		return -EINVAL;
	p = peer_new(ih, e, now);
	if (!p)
		return -ENOMEM;
	p->key = key_for(ih, NULL, r, r);
	ihmp_msg_init(&m, IHMP_HELLO, 0);
	m.host_id = *l;
	adv_locals(ih, &m, l);
	req_add_path(&proto, l, r);
	err = req_start(ih, p, &m, &proto, ih->cfg.hello_tries, now, acts);
	/* A locator restored still flagged (pv_seed left it out) is probed. */
	pv_after(ih, p, e, e->rloc, NULL, now, acts);
	return err;
}

void ihmp_hid_forget(struct ihmp *ih, uint32_t hid)
{
	struct peer *p = peer_of(ih, hid, NULL);

	if (p)
		peer_free(ih, p);
}

const struct ihmp_stats *ihmp_stats(const struct ihmp *ih)
{
	return &ih->st;
}

void ihmp_stats_foreach(const struct ihmp *ih,
			void (*emit)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	const struct ihmp_stats *st = &ih->st;
	char name[40];

	for (unsigned int t = 1; t <= IHMP_TYPE_MAX; t++) {
		snprintf(name, sizeof(name), "sent_%s", ihmp_type_name(t));
		emit(ctx, name, st->sent[t]);
		snprintf(name, sizeof(name), "received_%s", ihmp_type_name(t));
		emit(ctx, name, st->received[t]);
	}
	emit(ctx, "retransmissions", st->retransmissions);
	emit(ctx, "failed", st->failed);
	emit(ctx, "handoffs", st->handoffs);
	emit(ctx, "legacy_peers", st->legacy_peers);
	emit(ctx, "peers_lost", st->peers_lost);
	emit(ctx, "nat_detected", st->nat_detected);
	emit(ctx, "nat_entries", st->nat_entries);
	emit(ctx, "conflicts", st->conflicts);
	emit(ctx, "verified", st->verified);
	emit(ctx, "unverified", st->unverified);
	emit(ctx, "reacked", st->reacked);
	emit(ctx, "encode_failed", st->encode_failed);
	emit(ctx, "validations_started", st->validations_started);
	emit(ctx, "validations_succeeded", st->validations_succeeded);
	emit(ctx, "validations_failed", st->validations_failed);
	emit(ctx, "validations_reverted", st->validations_reverted);
	emit(ctx, "tofu_pinned", st->tofu_pinned);
	emit(ctx, "tofu_conflict", st->tofu_conflict);
	emit(ctx, "ratelimit_entries", ih->rl ? ratelimit_used(ih->rl) : 0);
	emit(ctx, "ratelimit_evicted", ih->rl ? ratelimit_stats(ih->rl)->evicted : 0);
#define IHMP_DROP_EMIT(n) emit(ctx, "drop_" #n, st->drop_##n);
	IHMP_DROPS(IHMP_DROP_EMIT)
#undef IHMP_DROP_EMIT
}

int ihmp_peer_info(const struct ihmp *ih, uint32_t hid, struct ihmp_peer_info *out)
{
	const struct dime_hid_entry *e = dime_hid_get(ih->hids, hid);
	const struct peer *p = e ? e->ihmp : NULL;

	if (!p)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->established = p->established;
	out->legacy = p->legacy;
	out->nat_forced = p->nat_forced;
	out->hold = p->hold;
	out->hold_until = p->hold_until;
	out->key_bound = p->key != NULL;
	out->key_pinned = p->own_key != NULL;
	if (p->key)
		ihmp_key_id(p->key, out->key_id);
	for (unsigned int i = 0; i < REQ_MAX; i++)
		out->pending += p->req[i].used;
	out->nat_n = p->nat_n;
	memcpy(out->nat_addr, p->nat_addr, sizeof(p->nat_addr));
	memcpy(out->nat_host, p->nat_host, sizeof(p->nat_host));
	out->map_n = p->map_n;
	memcpy(out->map, p->map, sizeof(p->map));
	for (int f = 0; f < 2; f++) {
		out->rloc_unvalidated[f] = e->rloc_unvalidated[f];
		out->validating[f] = pv_req_index(p, &e->rloc[f], false) >= 0;
		out->validation_failed[f] = p->pv_failed[f];
	}
	out->validated_n = p->valid_n;
	memcpy(out->validated, p->valid, sizeof(p->valid));
	return 0;
}

void ihmp_set_timing(struct ihmp *ih, uint32_t rto_ms, uint8_t hello_tries, uint8_t handoff_tries,
		     uint32_t hold_ms)
{
	if (rto_ms)
		ih->cfg.rto_ms = rto_ms;
	if (hello_tries)
		ih->cfg.hello_tries = hello_tries;
	if (handoff_tries)
		ih->cfg.handoff_tries = handoff_tries;
	if (hold_ms)
		ih->cfg.hold_ms = hold_ms;
}

bool ihmp_input_applied(const struct ihmp *ih)
{
	return ih && ih->applied;
}
