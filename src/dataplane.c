// SPDX-License-Identifier: BSD-2-Clause
/*
 * The StackTrans two-stage rewrite and the fast-path bookkeeping (see
 * dataplane.h for the failure policy). Owns, per host, the list of kernel
 * set entries it installed, so a resync adds and removes exactly the
 * difference. Pure: the only side effects go through dp_kernel_ops.
 * Packets come one at a time (dp_packet) or in bursts whose table lookups
 * are pipelined (dp_packet_burst), with the same outcome.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dime/dataplane.h"
#include "dime/offload.h"
#include "dime/pkt.h"

struct dp_entry {
	uint8_t set;		/* enum dp_set */
	struct dime_addr a, b;	/* b unset for single-address sets */
};

/* Kernel entries one host holds; hosts are few and hand-offs rare, so a
 * small array per host beats anything cleverer. */
struct dp_host {
	uint32_t hid;		/* DIME_HID_NONE: free slot */
	uint32_t n, cap;
	struct dp_entry *e;
	/* Offload, per family: how many of its flows the kernel rewrites, and
	 * the host's locators (as set, maybe unset) when they were handed
	 * over: every such flow's map elements are keyed by them. */
	uint32_t off_n[2];
	struct dime_addr off_rloc[2], off_lloc[2];
};

/* Where a parsed packet goes next. */
enum packet_path {
	PATH_DONE,	/* counted and accepted untouched: malformed, or no flow */
	PATH_ICMP_ERR,	/* an ICMP error: icmp_error() */
	PATH_FLOW,	/* TCP, UDP or echo: look its flow up */
};

/* dp_packet_burst's pipeline (see there): packets between two of its
 * stages, enough work to cover a memory access, and slots for the packets
 * in it, at most 3 * BURST_LAG + 1. */
#define BURST_LAG 4u
#define BURST_RING 16u
/* QUIC's anti-amplification factor (RFC 9000 8.1), for the same reason. */
#define PV_AMPLIFICATION 3u

_Static_assert(BURST_RING > 3 * BURST_LAG, "a slot is reused only after its packet is done");

/* One packet of a burst between the stages of dp_packet_burst. */
struct burst_slot {
	struct pkt_info info;
	struct dime_flow_key key;	/* outbound: the identifier tuple */
	struct dime_flow *flow;		/* outbound: found by out_entry */
	uint32_t hid_hash;		/* inbound: of the source address */
	uint32_t hid;			/* inbound: the source's host */
	uint32_t flow_hash;		/* of the flow index the lookup uses */
	uint8_t path;			/* enum packet_path */
};

struct dataplane {
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	struct dp_kernel_ops ops;
	struct dp_stats st;
	/* Open addressing by HID handle: hosts with kernel entries only. */
	struct dp_host *hosts;
	uint32_t hosts_mask;
	uint32_t hosts_used;
	/* The packets in dp_packet_burst's pipeline (see there). */
	struct burst_slot burst[BURST_RING];
	/* Some host has a remote locator awaiting path validation: only then
	 * does an inbound packet look at its host entry (pv_count_in). */
	bool pv_any;
	/* Offload: no new hand-over before this time (after a kernel error,
	 * so a failing kernel costs one call a second, not one a packet). */
	uint64_t offload_pause_until;
	uint64_t now_ms;	/* of the packet being handled */
};

static int hosts_grow(struct dataplane *dp);
static void pv_any_update(struct dataplane *dp, const struct dime_hid_entry *h);

int dp_new(struct dataplane **out, struct dime_hid_table *hids, struct dime_flow_table *flows,
	   const struct dp_kernel_ops *ops)
{
	struct dataplane *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->hids = hids;
	dp->flows = flows;
	dp->ops = *ops;
	if (hosts_grow(dp) < 0) {
		free(dp);
		return -ENOMEM;
	}
	*out = dp;
	return 0;
}

void dp_free(struct dataplane *dp)
{
	if (!dp)
		return;
	for (uint32_t i = 0; i <= dp->hosts_mask; i++)
		free(dp->hosts[i].e);
	free(dp->hosts);
	free(dp);
}

const struct dp_stats *dp_stats(const struct dataplane *dp)
{
	return &dp->st;
}

void dp_stats_foreach(const struct dataplane *dp,
		      void (*emit)(void *ctx, const char *name, uint64_t value), void *ctx)
{
#define DP_STATS_EMIT(name) emit(ctx, #name, dp->st.name);
	DP_STATS(DP_STATS_EMIT)
#undef DP_STATS_EMIT
}

/* ---- per-host kernel entries ------------------------------------------ */

static uint32_t host_slot_hash(uint32_t hid)
{
	return hid * 0x9e3779b1u;
}

static struct dp_host *host_find(struct dataplane *dp, uint32_t hid)
{
	for (uint32_t i = host_slot_hash(hid) & dp->hosts_mask;; i = (i + 1) & dp->hosts_mask) {
		if (dp->hosts[i].hid == hid)
			return &dp->hosts[i];
		if (dp->hosts[i].hid == DIME_HID_NONE && !dp->hosts[i].e)
			return NULL;
	}
}

/* Tombstones are slots with hid NONE but e still allocated (n = 0). */
static struct dp_host *host_get(struct dataplane *dp, uint32_t hid)
{
	struct dp_host *h = host_find(dp, hid);
	uint32_t i;

	if (h)
		return h;
	if ((dp->hosts_used + 1) * 2 > dp->hosts_mask + 1 && hosts_grow(dp) < 0)
		return NULL;
	for (i = host_slot_hash(hid) & dp->hosts_mask; dp->hosts[i].hid != DIME_HID_NONE;
	     i = (i + 1) & dp->hosts_mask)
		;
	h = &dp->hosts[i];
	if (!h->e)
		dp->hosts_used++;
	h->hid = hid;
	h->n = 0;
	memset(h->off_n, 0, sizeof(h->off_n));
	return h;
}

static int hosts_grow(struct dataplane *dp)
{
	uint32_t old_size = dp->hosts ? dp->hosts_mask + 1 : 0;
	uint32_t size = old_size ? old_size * 2 : 64;
	struct dp_host *old = dp->hosts;
	struct dp_host *fresh = calloc(size, sizeof(*fresh));

	if (!fresh)
		return -ENOMEM;
	dp->hosts = fresh;
	dp->hosts_mask = size - 1;
	dp->hosts_used = 0;
	for (uint32_t i = 0; i < old_size; i++) {
		struct dp_host *h;
		uint32_t j;

		if (old[i].hid == DIME_HID_NONE) {
			free(old[i].e);
			continue;
		}
		for (j = host_slot_hash(old[i].hid) & dp->hosts_mask; dp->hosts[j].hid != DIME_HID_NONE;
		     j = (j + 1) & dp->hosts_mask)
			;
		h = &dp->hosts[j];
		*h = old[i];
		dp->hosts_used++;
	}
	free(old);
	return 0;
}

static bool entry_eq(const struct dp_entry *x, const struct dp_entry *y)
{
	return x->set == y->set && dime_addr_eq(&x->a, &y->a) && dime_addr_eq(&x->b, &y->b);
}

static bool entries_have(const struct dp_entry *e, uint32_t n, const struct dp_entry *want)
{
	for (uint32_t i = 0; i < n; i++)
		if (entry_eq(&e[i], want))
			return true;
	return false;
}

static int entries_push(struct dp_entry **e, uint32_t *n, uint32_t *cap, const struct dp_entry *x)
{
	if (*n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 4;
		struct dp_entry *ne = realloc(*e, ncap * sizeof(**e));

		if (!ne)
			return -ENOMEM;
		*e = ne;
		*cap = ncap;
	}
	(*e)[(*n)++] = *x;
	return 0;
}

static int kernel_add(struct dataplane *dp, const struct dp_entry *x)
{
	int err = dp->ops.set_add(dp->ops.ctx, (enum dp_set)x->set, &x->a,
				  dime_addr_is_set(&x->b) ? &x->b : NULL);

	if (err < 0 && err != -EEXIST) {
		dp->st.set_errors++;
		return err;
	}
	dp->st.set_adds++;
	return 0;
}

static void kernel_del(struct dataplane *dp, const struct dp_entry *x)
{
	int err = dp->ops.set_del(dp->ops.ctx, (enum dp_set)x->set, &x->a,
				  dime_addr_is_set(&x->b) ? &x->b : NULL);

	if (err < 0 && err != -ENOENT)
		dp->st.set_errors++;
	else
		dp->st.set_dels++;
}

/* ---- what a flow needs ------------------------------------------------ */

static const struct dime_addr *rloc_of(const struct dime_hid_entry *h, uint8_t family)
{
	const struct dime_addr *a = &h->rloc[dime_af_index(family)];

	return dime_addr_is_set(a) ? a : NULL;
}

static const struct dime_addr *lloc_of(const struct dime_hid_entry *h, uint8_t family)
{
	const struct dime_addr *a = &h->lloc[dime_af_index(family)];

	return dime_addr_is_set(a) ? a : NULL;
}

/* A flow's outbound packets need the queue when either locator differs
 * from what it bound, or when our side is between addresses and its local
 * identifier is not the local locator (held: dropped until the peer knows
 * the new one). An unset locator means "as bound". */
static bool flow_out_translated(const struct dime_hid_entry *h, const struct dime_addr *lid,
				const struct dime_addr *rid)
{
	const struct dime_addr *rloc = rloc_of(h, rid->family);
	const struct dime_addr *lloc = lloc_of(h, lid->family);

	if (h->out_held[dime_af_index(lid->family)] && !(lloc && dime_addr_eq(lloc, lid)))
		return true;
	return (rloc && !dime_addr_eq(rloc, rid)) || (lloc && !dime_addr_eq(lloc, lid));
}

static uint32_t candidate_add(struct dime_addr *out, uint32_t n, const struct dime_addr *a)
{
	for (uint32_t j = 0; j < n; j++)
		if (dime_addr_eq(&out[j], a))
			return n;
	out[n] = *a;
	return n + 1;
}

/* The addresses one side of a flow may use, of its family: the preferred
 * one, the set's, and the identifier the flow bound (a host that moves
 * keeps using the other's old address until it hears of the move, and
 * that address may be ours only as a pin by then). */
static uint32_t candidates(const struct dime_addr *pref, const struct dime_addr_set *set,
			   const struct dime_addr *id, struct dime_addr out[DIME_HID_SET_MAX + 2])
{
	uint32_t n = 0;

	if (pref)
		n = candidate_add(out, n, pref);
	for (uint32_t i = 0; i < set->n; i++)
		if (set->addr[i].family == id->family)
			n = candidate_add(out, n, &set->addr[i]);
	return candidate_add(out, n, id);
}

/*
 * The kernel entries that steer one flow into the queues. Outbound: its
 * identifier pair, and its old remote identifier (new sockets to it), when
 * its packets need rewriting. Inbound: every (remote, local) address pair
 * the host may use for it other than the identifiers themselves - the
 * locators, and every other address of the host's active and local sets.
 * The last part matters at the moment of a move: the peer may switch to an
 * address we only just learned (ADDR_UP, HANDOFF) before we switch our own
 * locators, and its packets must still be translated back, or our stack
 * would answer them with a RST. Nothing arrives from those addresses until
 * a host moves, so this costs nothing before.
 */
#define FLOW_ENTRIES_MAX (2 + (DIME_HID_SET_MAX + 2) * (DIME_HID_SET_MAX + 2))
static uint32_t flow_entries(const struct dime_hid_entry *h, const struct dime_addr *lid,
			     const struct dime_addr *rid, struct dp_entry out[FLOW_ENTRIES_MAX])
{
	const struct dime_addr *rloc = rloc_of(h, rid->family);
	struct dime_addr rem[DIME_HID_SET_MAX + 2], loc[DIME_HID_SET_MAX + 2];
	uint32_t n = 0, nr, nl;

	if (flow_out_translated(h, lid, rid)) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].set = DP_SET_OUT_PAIR;
		out[n].a = *lid;
		out[n++].b = *rid;
		if (rloc && !dime_addr_eq(rloc, rid)) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].set = DP_SET_OUT_DST;
			out[n++].a = *rid;
		}
	}
	nr = candidates(rloc, &h->active, rid, rem);
	nl = candidates(lloc_of(h, lid->family), &h->local, lid, loc);
	for (uint32_t i = 0; i < nr; i++) {
		for (uint32_t j = 0; j < nl; j++) {
			if (dime_addr_eq(&rem[i], rid) && dime_addr_eq(&loc[j], lid))
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].set = DP_SET_IN_PAIR;
			out[n].a = rem[i];
			out[n++].b = loc[j];
		}
	}
	return n;
}

/* A new flow of a moved host: add what it needs without a full resync. */
static void flow_steer(struct dataplane *dp, const struct dime_hid_entry *h,
		       const struct dime_addr *lid, const struct dime_addr *rid)
{
	struct dp_entry want[FLOW_ENTRIES_MAX];
	uint32_t n = flow_entries(h, lid, rid, want);
	struct dp_host *host;

	if (n == 0)
		return;
	host = host_get(dp, h->hid);
	if (!host) {
		dp->st.set_errors++;
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (entries_have(host->e, host->n, &want[i]))
			continue;
		if (kernel_add(dp, &want[i]) == 0 && entries_push(&host->e, &host->n, &host->cap, &want[i]) < 0)
			dp->st.set_errors++;
	}
}


/* ---- kernel offload (offload.h) ---------------------------------------- */

/*
 * May the kernel rewrite flow f by itself? Only what it would do exactly
 * as dimed does: a TCP connection past its handshake or a UDP flow, that
 * needs rewriting, of a host that is steady in the flow's family - output
 * not held, remote locator validated (both need every packet counted or
 * held here) - and with nobody waiting for its next ACK.
 */
static bool offload_eligible(const struct dataplane *dp, const struct dime_hid_entry *h,
			     const struct dime_flow *f)
{
	unsigned int af = (unsigned int)dime_af_index(f->lid.family);

	if (!dp->ops.offload || f->ack_watch)
		return false;
	if (f->proto == IPPROTO_TCP ? f->tcp_state != DIME_TCP_ESTABLISHED : f->proto != IPPROTO_UDP)
		return false;
	if (h->out_held[af] || h->rloc_unvalidated[af] || (!rloc_of(h, f->rid.family) && h->moved))
		return false;
	return flow_out_translated(h, &f->lid, &f->rid);
}

/* The map elements of flow f under the locators rloc and lloc as a host
 * entry holds them (unset: as the flow bound). */
static void offload_fill(const struct dime_flow *f, const struct dime_addr *rloc,
			 const struct dime_addr *lloc, struct offload_flow *o)
{
	memset(o, 0, sizeof(*o));
	o->proto = f->proto;
	o->lport = f->lport;
	o->rport = f->rport;
	o->lid = f->lid;
	o->rid = f->rid;
	o->rloc = dime_addr_is_set(rloc) ? *rloc : f->rid;
	o->lloc = dime_addr_is_set(lloc) ? *lloc : f->lid;
}

/*
 * What the kernel holds is no longer known (a removal failed: a batch is
 * all or nothing, so its elements are all still there): empty every map
 * and forget every hand-over. The flows' packets come back here and are
 * handed over again once steady.
 */
static void offload_reset(struct dataplane *dp)
{
	uint32_t cursor = 0;
	struct dime_flow *f;

	if (dp->ops.offload_flush && dp->ops.offload_flush(dp->ops.ctx) < 0)
		dp->st.offload_errors++;
	dp->st.offload_resets++;
	while ((f = dime_flow_iter(dp->flows, &cursor)))
		f->offloaded = 0;
	for (uint32_t i = 0; i <= dp->hosts_mask; i++)
		memset(dp->hosts[i].off_n, 0, sizeof(dp->hosts[i].off_n));
	dp->st.flows_offloaded = 0;
}

/* Take flow f's rewrite back from the kernel (f may be a copy of a flow
 * already gone from the table; the caller clears its bit). */
static void offload_take_back(struct dataplane *dp, const struct dime_flow *f)
{
	struct dp_host *host = host_find(dp, f->hid);
	unsigned int af = (unsigned int)dime_af_index(f->lid.family);
	struct offload_flow o;

	if (!host || host->off_n[af] == 0) {
		/* Bookkeeping lost track: only a reset is sure. */
		offload_reset(dp);
		return;
	}
	offload_fill(f, &host->off_rloc[af], &host->off_lloc[af], &o);
	if (dp->ops.offload(dp->ops.ctx, false, &o) < 0) {
		dp->st.offload_errors++;
		offload_reset(dp);
		return;
	}
	host->off_n[af]--;
	dp->st.offload_dels++;
	dp->st.flows_offloaded--;
}

static void flow_offload_end(struct dataplane *dp, struct dime_flow *f)
{
	if (!f->offloaded)
		return;
	offload_take_back(dp, f);
	f->offloaded = 0;
}

/* Flow f of host h was just rewritten here: hand its next packets to the
 * kernel if it is steady. Off the per-packet path: called only for flows
 * not handed over yet. */
static void __attribute__((noinline)) offload_try(struct dataplane *dp, struct dime_hid_entry *h,
						  struct dime_flow *f)
{
	unsigned int af = (unsigned int)dime_af_index(f->lid.family);
	struct offload_flow o;
	struct dp_host *host;

	if (dp->now_ms < dp->offload_pause_until || !offload_eligible(dp, h, f))
		return;
	host = host_get(dp, h->hid);
	if (!host)
		return;
	if (host->off_n[af] && (!dime_addr_eq(&host->off_rloc[af], &h->rloc[af]) ||
				!dime_addr_eq(&host->off_lloc[af], &h->lloc[af]))) {
		/* Locators changed without a sync: never mix two sets of keys. */
		offload_reset(dp);
		host = host_find(dp, h->hid);
		if (!host)
			return;
	}
	offload_fill(f, &h->rloc[af], &h->lloc[af], &o);
	if (dp->ops.offload(dp->ops.ctx, true, &o) < 0) {
		dp->st.offload_errors++;
		dp->offload_pause_until = dp->now_ms + 1000;
		return;
	}
	host->off_rloc[af] = h->rloc[af];
	host->off_lloc[af] = h->lloc[af];
	host->off_n[af]++;
	f->offloaded = 1;
	dp->st.offload_adds++;
	dp->st.flows_offloaded++;
}

/* Is what the kernel does for offloaded flow f still right? */
static bool offload_still_right(const struct dataplane *dp, const struct dime_hid_entry *h,
				const struct dp_host *host, const struct dime_flow *f)
{
	unsigned int af = (unsigned int)dime_af_index(f->lid.family);

	return h && host && offload_eligible(dp, h, f) &&
	       dime_addr_eq(&host->off_rloc[af], &h->rloc[af]) &&
	       dime_addr_eq(&host->off_lloc[af], &h->lloc[af]);
}

void dp_flow_watch_ack(struct dataplane *dp, struct dime_flow *flow)
{
	flow->ack_watch = 1;
	flow_offload_end(dp, flow);
}

void dp_offload_forget_all(struct dataplane *dp)
{
	if (dp->st.flows_offloaded)
		offload_reset(dp);
}

void dp_offload_disable(struct dataplane *dp)
{
	dp_offload_forget_all(dp);
	dp->ops.offload = NULL;
	dp->ops.offload_flush = NULL;
}

void dp_hid_sync(struct dataplane *dp, uint32_t hid)
{
	struct dime_hid_entry *h = dime_hid_get(dp->hids, hid);
	struct dp_entry *want = NULL, x[FLOW_ENTRIES_MAX];
	uint32_t nwant = 0, capwant = 0, cursor = 0;
	struct dp_host *host;
	struct dime_flow *f;

	pv_any_update(dp, h);
	/* Every flow of the host: a full scan, but only on locator changes and
	 * host removal, never per packet. A flow the kernel rewrites with what
	 * is no longer right is taken back first, before anything else sees
	 * the new state. */
	while (h && (f = dime_flow_iter(dp->flows, &cursor))) {
		if (f->hid != hid)
			continue;
		if (f->offloaded && !offload_still_right(dp, h, host_find(dp, hid), f))
			flow_offload_end(dp, f);
		uint32_t n = flow_entries(h, &f->lid, &f->rid, x);

		for (uint32_t i = 0; i < n; i++)
			if (!entries_have(want, nwant, &x[i]) &&
			    entries_push(&want, &nwant, &capwant, &x[i]) < 0)
				dp->st.set_errors++;
	}
	host = nwant ? host_get(dp, hid) : host_find(dp, hid);
	if (!host) {
		free(want);
		if (nwant)
			dp->st.set_errors++;
		return;
	}
	for (uint32_t i = 0; i < host->n; i++)
		if (!entries_have(want, nwant, &host->e[i]))
			kernel_del(dp, &host->e[i]);
	for (uint32_t i = 0; i < nwant; i++)
		if (!entries_have(host->e, host->n, &want[i]) && kernel_add(dp, &want[i]) < 0)
			want[i].set = DP_SET_COUNT; /* not installed: retried at the next sync */
	host->n = 0;
	for (uint32_t i = 0; i < nwant; i++)
		if (want[i].set != DP_SET_COUNT && entries_push(&host->e, &host->n, &host->cap, &want[i]) < 0)
			dp->st.set_errors++;
	free(want);
	if (host->n == 0 && host->off_n[0] == 0 && host->off_n[1] == 0)
		host->hid = DIME_HID_NONE; /* tombstone keeps e for reuse */
}

void dp_clear_kernel(struct dataplane *dp)
{
	dp_offload_forget_all(dp);
	for (uint32_t i = 0; i <= dp->hosts_mask; i++) {
		struct dp_host *host = &dp->hosts[i];

		if (host->hid == DIME_HID_NONE)
			continue;
		for (uint32_t j = 0; j < host->n; j++)
			kernel_del(dp, &host->e[j]);
		host->n = 0;
		host->hid = DIME_HID_NONE;
	}
}

/* ---- flows and hosts -------------------------------------------------- */

/* The HID owning rid, created (active {rid}, local {lid}) when none does. */
static int hid_for(struct dataplane *dp, const struct dime_addr *rid, const struct dime_addr *lid,
		   uint64_t now_ms, uint32_t *hid)
{
	int err;

	*hid = dime_hid_lookup(dp->hids, rid);
	if (*hid != DIME_HID_NONE)
		return 0;
	err = dime_hid_create(dp->hids, now_ms, hid);
	if (err < 0) {
		dp->st.hid_table_full++;
		return err;
	}
	err = dime_hid_addr_add(dp->hids, *hid, DIME_HID_ACTIVE, rid);
	if (err == 0 && lid)
		err = dime_hid_addr_add(dp->hids, *hid, DIME_HID_LOCAL, lid);
	if (err < 0) {
		dime_hid_destroy(dp->hids, *hid);
		*hid = DIME_HID_NONE;
		return err;
	}
	dp->st.hids_created++;
	return 0;
}

static void hid_release_if_unused(struct dataplane *dp, uint32_t hid)
{
	struct dime_hid_entry *h = dime_hid_get(dp->hids, hid);

	if (!h || h->refs > 0)
		return;
	dp_hid_sync(dp, hid); /* no flows left: removes every kernel entry */
	if (!h->ihmp)
		dime_hid_destroy(dp->hids, hid);
}

static int flow_add(struct dataplane *dp, const struct dime_flow_key *key, uint32_t hid,
		    uint64_t now_ms, struct dime_flow **out)
{
	int err = dime_flow_insert(dp->flows, key, hid, now_ms, out);

	if (err == -ENOSPC)
		dp->st.flow_table_full++;
	else if (err == -EADDRINUSE)
		dp->st.hid_conflicts++;
	return err;
}

int dp_flow_learn(struct dataplane *dp, const struct dime_flow_key *key, uint8_t tcp_state,
		  uint64_t now_ms)
{
	struct dime_flow *flow;
	uint32_t hid;
	int err;

	flow = dime_flow_lookup_out(dp->flows, key);
	if (flow) {
		/* The kernel reported it again (a socket dump, a conntrack
		 * update): it lives, whether or not its packets pass us. */
		if (tcp_state != DIME_TCP_NONE)
			flow->tcp_state = tcp_state;
		if (now_ms > flow->last_ms)
			flow->last_ms = now_ms;
		return 0;
	}
	err = hid_for(dp, &key->rid, &key->lid, now_ms, &hid);
	if (err < 0)
		return err;
	err = flow_add(dp, key, hid, now_ms, &flow);
	if (err < 0) {
		hid_release_if_unused(dp, hid);
		return err == -EEXIST ? 0 : err;
	}
	flow->tcp_state = tcp_state;
	dp->st.flows_learned++;
	flow_steer(dp, dime_hid_get(dp->hids, hid), &key->lid, &key->rid);
	return 0;
}

int dp_flow_forget(struct dataplane *dp, const struct dime_flow_key *key)
{
	struct dime_flow *flow = dime_flow_lookup_out(dp->flows, key);
	uint32_t hid;

	if (!flow)
		return -ENOENT;
	hid = flow->hid;
	flow_offload_end(dp, flow);
	dime_flow_del(dp->flows, flow);
	dp->st.flows_forgotten++;
	hid_release_if_unused(dp, hid);
	return 0;
}

void dp_flow_expired(struct dataplane *dp, const struct dime_flow *flow)
{
	struct dime_hid_entry *h = dime_hid_get(dp->hids, flow->hid);

	if (flow->offloaded)
		offload_take_back(dp, flow);

	if (!h)
		return;
	if (h->refs == 0)
		hid_release_if_unused(dp, flow->hid);
	else if (h->moved)
		dp_hid_sync(dp, flow->hid);
}

void dp_hid_drop(struct dataplane *dp, uint32_t hid,
		 void (*each)(void *ctx, const struct dime_flow *flow), void *ctx)
{
	struct dime_hid_entry *h = dime_hid_get(dp->hids, hid);
	uint32_t cursor = 0;
	struct dime_flow *f;

	if (!h)
		return;
	/* Iterating by pool slot: deleting the current flow is safe. */
	while ((f = dime_flow_iter(dp->flows, &cursor))) {
		if (f->hid != hid)
			continue;
		if (each)
			each(ctx, f);
		flow_offload_end(dp, f);
		dime_flow_del(dp->flows, f);
		dp->st.flows_forgotten++;
	}
	dp_hid_sync(dp, hid); /* no flows left: removes every kernel entry */
	h->ihmp = NULL;
	dime_hid_destroy(dp->hids, hid);
}

/*
 * Another host entry owns an address that turns out to belong to `into`
 * (a socket connected to the host's new address before we learnt it was
 * the same host: the paper's Fig. 3(a) s2). Its flows move to `into`,
 * keeping the identifiers they bound, and the other entry goes. Refused
 * when the other entry carries control-plane state: IHMP decides those.
 */
static int merge_hosts(struct dataplane *dp, uint32_t into, uint32_t from, uint64_t now_ms)
{
	struct dime_hid_entry *other = dime_hid_get(dp->hids, from);
	struct dime_flow_key *keys = NULL;
	uint8_t *states = NULL;
	uint32_t n = 0, cap = 0, cursor = 0;
	struct dime_flow *f;
	int err = 0;

	if (!other || other->ihmp)
		return -EADDRINUSE;
	while ((f = dime_flow_iter(dp->flows, &cursor))) {
		if (f->hid != from)
			continue;
		if (n == cap) {
			uint32_t ncap = cap ? cap * 2 : 16;
			struct dime_flow_key *nk = realloc(keys, ncap * sizeof(*keys));
			uint8_t *ns = nk ? realloc(states, ncap) : NULL;

			if (!nk || !ns) {
				free(nk ? nk : keys);
				free(ns ? ns : states);
				return -ENOMEM;
			}
			keys = nk;
			states = ns;
			cap = ncap;
		}
		memset(&keys[n], 0, sizeof(keys[n]));
		keys[n].proto = f->proto;
		keys[n].lid = f->lid;
		keys[n].rid = f->rid;
		keys[n].lport = f->lport;
		keys[n].rport = f->rport;
		states[n++] = f->tcp_state;
		flow_offload_end(dp, f);
	}
	for (uint32_t i = 0; i < n; i++)
		dime_flow_del_key(dp->flows, &keys[i]);
	dp_hid_sync(dp, from);
	dime_hid_destroy(dp->hids, from);
	dp->st.hid_merges++;
	for (uint32_t i = 0; i < n; i++) {
		int e = dime_flow_insert(dp->flows, &keys[i], into, now_ms, &f);

		if (e == 0)
			f->tcp_state = states[i];
		else if (err == 0)
			err = e;
	}
	free(keys);
	free(states);
	return err;
}

int dp_hid_merge(struct dataplane *dp, uint32_t into, uint32_t from, uint64_t now_ms)
{
	int err;

	if (into == from || !dime_hid_get(dp->hids, into))
		return -EINVAL;
	err = merge_hosts(dp, into, from, now_ms);
	dp_hid_sync(dp, into);
	return err;
}

static int locator_join(struct dataplane *dp, uint32_t hid, enum dime_hid_set set,
			const struct dime_addr *addr, uint64_t now_ms)
{
	uint32_t owner;
	int err;

	if (set == DIME_HID_ACTIVE) {
		err = dime_hid_addr_move(dp->hids, hid, addr, DIME_HID_UNREACH, DIME_HID_ACTIVE);
		if (err != -ENOENT)
			return err;
	}
	err = dime_hid_addr_add(dp->hids, hid, set, addr);
	if (err != -EEXIST || set == DIME_HID_LOCAL)
		return err;
	owner = dime_hid_lookup(dp->hids, addr);
	if (owner == DIME_HID_NONE || owner == hid || merge_hosts(dp, hid, owner, now_ms) < 0) {
		dp->st.hid_conflicts++;
		return -EADDRINUSE;
	}
	return dime_hid_addr_add(dp->hids, hid, set, addr);
}

int dp_set_locator(struct dataplane *dp, const struct dime_addr *peer,
		   const struct dime_addr *rloc, const struct dime_addr *lloc, uint64_t now_ms)
{
	uint32_t hid;
	int err;

	if (!rloc && !lloc)
		return dime_hid_lookup(dp->hids, peer) == DIME_HID_NONE ? -ENOENT : 0;
	if ((rloc && rloc->family != peer->family) || (lloc && lloc->family != peer->family))
		return -EINVAL;
	err = hid_for(dp, peer, NULL, now_ms, &hid);
	if (err < 0)
		return err;
	if (rloc) {
		err = locator_join(dp, hid, DIME_HID_ACTIVE, rloc, now_ms);
		if (err == 0)
			err = dime_hid_set_rloc(dp->hids, hid, rloc);
		/* The operator's choice: no path validation to wait for. */
		if (err == 0)
			dime_hid_get(dp->hids, hid)->rloc_unvalidated[dime_af_index(rloc->family)] = false;
	}
	if (err == 0 && lloc) {
		err = locator_join(dp, hid, DIME_HID_LOCAL, lloc, now_ms);
		if (err == 0)
			err = dime_hid_set_lloc(dp->hids, hid, lloc);
	}
	dp_hid_sync(dp, hid);
	return err;
}

/* ---- packets ---------------------------------------------------------- */

static void key_from_tuple(struct dime_flow_key *key, uint8_t proto, const struct pkt_tuple *t,
			   bool local_is_src)
{
	memset(key, 0, sizeof(*key));
	key->proto = proto;
	if (local_is_src) {
		key->lid = t->src;
		key->rid = t->dst;
		key->lport = t->sport;
		key->rport = t->dport;
	} else {
		key->lid = t->dst;
		key->rid = t->src;
		key->lport = t->dport;
		key->rport = t->sport;
	}
}

static uint8_t tcp_flags_of(const uint8_t *buf, size_t len, const struct pkt_ip *ip)
{
	if (ip->proto != IPPROTO_TCP || !(ip->flags & PKT_IP_PORTS) || ip->l4off + 14 > len)
		return 0;
	return buf[ip->l4off + 13];
}

/*
 * A packet of the flow passed. Most packets of a busy flow arrive in the
 * same millisecond as the one before and, once it is established, carry
 * neither SYN, FIN nor RST: then nothing changes, and skipping the call
 * also keeps the entry's cache line clean.
 */
static void flow_touch(struct dime_flow *flow, uint64_t now_ms, uint8_t tcp_flags,
		       enum dime_dir dir)
{
	if (flow->last_ms == now_ms &&
	    (flow->proto != IPPROTO_TCP ||
	     (flow->tcp_state == DIME_TCP_ESTABLISHED &&
	      !(tcp_flags & (DIME_TCP_SYN | DIME_TCP_FIN | DIME_TCP_RST)))))
		return;
	dime_flow_seen(flow, now_ms, tcp_flags, dir);
}

/* Rewrite src/dst (NULL: keep), count, and turn the outcome into a verdict. */
static enum dp_verdict rewrite(struct dataplane *dp, uint8_t *buf, size_t len,
			       const struct pkt_info *info, const struct dime_addr *src,
			       const struct dime_addr *dst, unsigned flags, bool inbound)
{
	if (src && dime_addr_eq(src, &info->ip.tuple.src))
		src = NULL;
	if (dst && dime_addr_eq(dst, &info->ip.tuple.dst))
		dst = NULL;
	if (!src && !dst) {
		inbound ? dp->st.in_unchanged++ : dp->st.out_unchanged++;
		return DP_ACCEPT;
	}
	if (pkt_rewrite(buf, len, info, src, dst, flags) < 0) {
		inbound ? dp->st.in_rewrite_failed++ : dp->st.out_rewrite_failed++;
		return DP_DROP;
	}
	inbound ? dp->st.in_rewritten++ : dp->st.out_rewritten++;
	return DP_ACCEPT_MODIFIED;
}

static bool l4_flow_proto(const struct pkt_ip *ip)
{
	return (ip->flags & PKT_IP_PORTS) &&
	       (ip->proto == IPPROTO_TCP || ip->proto == IPPROTO_UDP || ip->proto == IPPROTO_ICMP ||
		ip->proto == IPPROTO_ICMPV6);
}

/* Count the packet, parse it, and count those that end here. Inline, as
 * inbound below: per packet, a call costs a noticeable part of the work. */
static inline enum packet_path classify(struct dataplane *dp, bool in, const uint8_t *buf,
				      size_t len, struct pkt_info *info)
{
	int err;

	in ? dp->st.in_packets++ : dp->st.out_packets++;
	err = pkt_parse(buf, len, info);
	if (err < 0 && err != -EPROTONOSUPPORT) {
		in ? dp->st.in_malformed++ : dp->st.out_malformed++;
		return PATH_DONE;
	}
	if (err == 0 && (info->flags & PKT_I_ICMP_ERR))
		return PATH_ICMP_ERR;
	if (err < 0 || !l4_flow_proto(&info->ip)) {
		/* Unknown transports and fragments without ports: no flow to
		 * look up; they pass as they are. */
		in ? dp->st.in_unknown++ : dp->st.out_unknown++;
		return PATH_DONE;
	}
	return PATH_FLOW;
}

/*
 * An ICMP error about one of our flows, either direction. The quote is a
 * packet of that flow going the other way: inbound errors quote what we
 * sent (in locators, to be shown to the socket in identifiers), outbound
 * errors quote what we received (in identifiers, to be shown to the peer
 * in locators). The outer addresses follow the ordinary rules when the
 * error comes from or goes to the peer itself; a router's address stays.
 */
static enum dp_verdict icmp_error(struct dataplane *dp, enum dime_dir dir, uint8_t *buf, size_t len,
				  const struct pkt_info *info, unsigned flags)
{
	const struct pkt_ip *in = &info->inner;
	const struct dime_addr *outer_src = NULL, *outer_dst = NULL;
	struct dime_hid_entry *h;
	struct dime_flow_key key;
	struct dime_flow *flow;
	uint32_t hid;

	if (!l4_flow_proto(in))
		goto unknown;
	if (dir == DIME_DIR_IN) {
		/* Quote: our packet, src = our locator, dst = their locator. */
		hid = dime_hid_lookup(dp->hids, &in->tuple.dst);
		if (hid == DIME_HID_NONE)
			goto unknown;
		flow = dime_flow_lookup_in(dp->flows, in->proto, in->family, hid, in->tuple.dport,
					   in->tuple.sport, &in->tuple.src);
		if (!flow) {
			dp->st.in_no_flow++;
			return DP_ACCEPT;
		}
		if (pkt_rewrite_inner(buf, len, info, &flow->lid, &flow->rid) < 0)
			goto failed;
		if (dime_hid_lookup(dp->hids, &info->ip.tuple.src) == hid)
			outer_src = &flow->rid;
		outer_dst = &flow->lid;
	} else {
		/* Quote: their packet as our socket saw it, in identifiers. */
		key_from_tuple(&key, in->proto, &in->tuple, false);
		flow = dime_flow_lookup_out(dp->flows, &key);
		h = flow ? dime_hid_get(dp->hids, flow->hid) : NULL;
		if (!h)
			goto unknown;
		if (pkt_rewrite_inner(buf, len, info, rloc_of(h, in->family), lloc_of(h, in->family)) < 0)
			goto failed;
		outer_src = lloc_of(h, info->ip.family);
		if (dime_addr_eq(&info->ip.tuple.dst, &flow->rid))
			outer_dst = rloc_of(h, info->ip.family);
	}
	dp->st.icmp_err_rewritten++;
	if (rewrite(dp, buf, len, info, outer_src, outer_dst, flags, dir == DIME_DIR_IN) == DP_DROP)
		return DP_DROP;
	return DP_ACCEPT_MODIFIED;
unknown:
	dir == DIME_DIR_IN ? dp->st.in_unknown++ : dp->st.out_unknown++;
	return DP_ACCEPT;
failed:
	dir == DIME_DIR_IN ? dp->st.in_rewrite_failed++ : dp->st.out_rewrite_failed++;
	return DP_DROP;
}

/*
 * Path validation (docs/security.md 3.6): a remote locator that has not
 * echoed our nonce from itself yet gets at most three times the bytes we
 * received from it, so a forged hand-off cannot aim a flow at a victim.
 * A flow whose own remote identifier is that address is the application's
 * choice and not limited. True when the packet may leave (and is counted).
 */
static bool pv_budget_take(struct dataplane *dp, struct dime_hid_entry *h,
			   const struct dime_addr *rloc, const struct dime_addr *rid, size_t len)
{
	unsigned int f = dime_af_index(rid->family);

	/* The flag first: it is clear for almost every packet, and costs one
	 * byte where the address comparison costs two addresses. */
	if (!h->rloc_unvalidated[f] || !rloc || dime_addr_eq(rloc, rid))
		return true;
	if (h->pv_tx[f] + len > PV_AMPLIFICATION * h->pv_rx[f]) {
		dp->st.out_unvalidated++;
		return false;
	}
	h->pv_tx[f] += len;
	return true;
}

/* An inbound packet from src of host hid: bytes a locator awaiting
 * validation sent us raise what we may send it. */
static void pv_count_in(struct dataplane *dp, uint32_t hid, const struct dime_addr *src, size_t len)
{
	struct dime_hid_entry *h = dime_hid_get(dp->hids, hid);
	unsigned int f = dime_af_index(src->family);

	if (h && h->rloc_unvalidated[f] && dime_addr_eq(&h->rloc[f], src))
		h->pv_rx[f] += len;
}

/* After a sync: does any host still await validation? A scan, but only on
 * locator changes while one did. */
static void pv_any_update(struct dataplane *dp, const struct dime_hid_entry *h)
{
	uint32_t hid = DIME_HID_NONE;
	const struct dime_hid_entry *e;

	if (h && (h->rloc_unvalidated[0] || h->rloc_unvalidated[1])) {
		dp->pv_any = true;
		return;
	}
	if (!dp->pv_any)
		return;
	dp->pv_any = false;
	while ((hid = dime_hid_next(dp->hids, hid)) != DIME_HID_NONE) {
		e = dime_hid_get(dp->hids, hid);
		if (e && (e->rloc_unvalidated[0] || e->rloc_unvalidated[1])) {
			dp->pv_any = true;
			return;
		}
	}
}

/*
 * An outbound packet of a flow with the identifier tuple key, once looked
 * up (flow NULL: not in the table).
 */
static enum dp_verdict outbound(struct dataplane *dp, uint8_t *buf, size_t len,
				const struct pkt_info *info, const struct dime_flow_key *key,
				struct dime_flow *flow, unsigned flags, uint64_t now_ms)
{
	const struct pkt_ip *ip = &info->ip;
	struct dime_hid_entry *h;
	const struct dime_addr *rloc, *lloc;
	enum dp_verdict v;
	uint32_t hid;

	if (!flow) {
		/* A new socket talking to an old address of a moved host (the
		 * only way an unknown flow reaches this queue): it joins that
		 * host, as the paper's socket table does on connect(). */
		hid = dime_hid_lookup(dp->hids, &key->rid);
		if (hid == DIME_HID_NONE || flow_add(dp, key, hid, now_ms, &flow) < 0) {
			dp->st.out_unknown++;
			return DP_ACCEPT;
		}
		dp->st.out_flow_learned++;
		flow_steer(dp, dime_hid_get(dp->hids, hid), &key->lid, &key->rid);
	}
	/* The host entry first: a cold one then loads while the flow is
	 * touched. */
	h = dime_hid_get(dp->hids, flow->hid);
	rloc = h ? rloc_of(h, ip->family) : NULL;
	lloc = h ? lloc_of(h, ip->family) : NULL;
	flow_touch(flow, now_ms, tcp_flags_of(buf, len, ip), DIME_DIR_OUT);
	if (!h) {
		dp->st.out_unknown++;
		return DP_ACCEPT;
	}
	if (!rloc && h->moved) {
		dp->st.out_no_locator++;
		return DP_DROP;
	}
	if ((h->out_held[dime_af_index(key->lid.family)] && !(lloc && dime_addr_eq(lloc, &key->lid))) ||
	    !pv_budget_take(dp, h, rloc, &key->rid, len)) {
		dp->st.out_held++;
		if (dp->ops.held)
			dp->ops.held(dp->ops.ctx, flow, buf, len);
		return DP_HELD;
	}
	v = rewrite(dp, buf, len, info, lloc, rloc, flags, false);
	if (dp->ops.offload && !flow->offloaded && v == DP_ACCEPT_MODIFIED)
		offload_try(dp, h, flow);
	return v;
}

/* The one address of family af that host h had before its current
 * locator, or NULL when there are none or several. */
static const struct dime_addr *sole_old_address(const struct dime_hid_entry *h, uint8_t af)
{
	const struct dime_addr *rloc = rloc_of(h, af), *found = NULL;
	const struct dime_addr_set *sets[2] = { &h->active, &h->unreach };

	for (int s = 0; s < 2; s++)
		for (uint32_t i = 0; i < sets[s]->n; i++) {
			const struct dime_addr *a = &sets[s]->addr[i];

			if (a->family != af || (rloc && dime_addr_eq(a, rloc)))
				continue;
			if (found)
				return NULL;
			found = a;
		}
	return found;
}

/*
 * A datagram of no known flow from moved host hid. If it goes to an
 * unconnected UDP socket (a server), the flow is in no socket table: only
 * conntrack, where it runs, would have reported it. The socket saw the
 * host under the address it had before it moved; when that address is
 * unambiguous, the flow is learnt here with it (the local identifier is
 * the address the datagram came to: an unconnected socket takes any), so
 * the application keeps seeing one peer. Otherwise NULL: the datagram
 * passes with the host's new address, as it would without dimed.
 */
static struct dime_flow *learn_inbound_udp(struct dataplane *dp, const struct pkt_ip *ip,
					   uint32_t hid, uint64_t now_ms)
{
	struct dime_hid_entry *h;
	const struct dime_addr *rid;
	struct dime_flow_key key;
	struct dime_flow *flow;

	if (ip->proto != IPPROTO_UDP || !(ip->flags & PKT_IP_PORTS) || !dp->ops.udp_port_open ||
	    !dp->ops.udp_port_open(dp->ops.ctx, ip->tuple.dport))
		return NULL;
	h = dime_hid_get(dp->hids, hid);
	if (!h || !h->moved || !(rid = sole_old_address(h, ip->family)))
		return NULL;
	memset(&key, 0, sizeof(key));
	key.proto = IPPROTO_UDP;
	key.lid = ip->tuple.dst;
	key.rid = *rid;
	key.lport = ip->tuple.dport;
	key.rport = ip->tuple.sport;
	if (flow_add(dp, &key, hid, now_ms, &flow) < 0)
		return NULL;
	dp->st.in_flow_learned++;
	flow_steer(dp, h, &key.lid, &key.rid);
	return flow;
}

/* The inbound flow index hash of a packet from host hid. */
static uint32_t in_hash(const struct dataplane *dp, const struct pkt_ip *ip, uint32_t hid)
{
	return dime_flow_hash_in(dp->flows, ip->proto, ip->family, hid, ip->tuple.sport,
				 ip->tuple.dport);
}

/* An inbound packet from host hid (DIME_HID_NONE: none owns its source);
 * hash is in_hash() of it. */
static inline enum dp_verdict inbound(struct dataplane *dp, uint8_t *buf, size_t len,
				      const struct pkt_info *info, uint32_t hid, uint32_t hash,
				      unsigned flags, uint64_t now_ms)
{
	const struct pkt_ip *ip = &info->ip;
	struct dime_flow *flow;
	enum dp_verdict v;

	if (hid == DIME_HID_NONE) {
		dp->st.in_unknown++;
		return DP_ACCEPT;
	}
	flow = dime_flow_lookup_in_hashed(dp->flows, hash, ip->proto, ip->family, hid,
					  ip->tuple.sport, ip->tuple.dport, &ip->tuple.dst);
	if (!flow && !(flow = learn_inbound_udp(dp, ip, hid, now_ms))) {
		/* A connection the peer opens from its current locator: its
		 * identifiers are its locators; the kernel will report it. */
		dp->st.in_no_flow++;
		return DP_ACCEPT;
	}
	flow_touch(flow, now_ms, tcp_flags_of(buf, len, ip), DIME_DIR_IN);
	if (__builtin_expect(dp->pv_any, 0))
		pv_count_in(dp, hid, &ip->tuple.src, len);
	if (__builtin_expect(flow->ack_watch, 0) && dp->ops.ack_seen)
		dp->ops.ack_seen(dp->ops.ctx, flow, buf, len);
	v = rewrite(dp, buf, len, info, &flow->rid, &flow->lid, flags, true);
	if (dp->ops.offload && !flow->offloaded && v == DP_ACCEPT_MODIFIED) {
		struct dime_hid_entry *h = dime_hid_get(dp->hids, hid);

		if (h)
			offload_try(dp, h, flow);
	}
	return v;
}

enum dp_verdict dp_packet(struct dataplane *dp, enum dime_dir dir, uint8_t *buf, size_t len,
			  unsigned flags, uint64_t now_ms)
{
	const struct pkt_ip *ip;
	struct pkt_info info;
	struct dime_flow_key key;
	bool in = dir == DIME_DIR_IN;
	uint32_t hid;

	dp->now_ms = now_ms;
	switch (classify(dp, in, buf, len, &info)) {
	case PATH_DONE:
		return DP_ACCEPT;
	case PATH_ICMP_ERR:
		return icmp_error(dp, dir, buf, len, &info, in ? flags | PKT_F_INBOUND : flags);
	case PATH_FLOW:
		break;
	}
	ip = &info.ip;
	if (in) {
		hid = dime_hid_lookup(dp->hids, &ip->tuple.src);
		return inbound(dp, buf, len, &info, hid,
			       hid == DIME_HID_NONE ? 0 : in_hash(dp, ip, hid),
			       flags | PKT_F_INBOUND, now_ms);
	}
	key_from_tuple(&key, ip->proto, &ip->tuple, true);
	return outbound(dp, buf, len, &info, &key, dime_flow_lookup_out(dp->flows, &key), flags,
			now_ms);
}

/* ---- bursts ----------------------------------------------------------- */

/*
 * A lookup costs two or three dependent cache misses: outbound the index
 * bucket, the flow entry and the host entry; inbound the address index
 * slot, the bucket and the flow entry. dp_packet_burst runs the packets
 * through a pipeline of four stages, BURST_LAG packets apart: parse and
 * hash, two stages that each read one line and prefetch the next, and the
 * finish. Every prefetch has BURST_LAG steps of other packets' work to
 * complete in, and several packets' misses are in flight together. The
 * finish finds the lines in cache and does exactly what dp_packet would,
 * in packet order.
 */

static struct burst_slot *slot_of(struct dataplane *dp, size_t i)
{
	return &dp->burst[i % BURST_RING];
}

/* Does packet i - stage * BURST_LAG exist at step i of the pipeline? */
static bool at_stage(size_t i, unsigned stage, size_t n)
{
	return i >= stage * BURST_LAG && i - stage * BURST_LAG < n;
}

/* The locators the outbound path reads from a host entry. */
static void host_prefetch(struct dataplane *dp, uint32_t hid, uint8_t family)
{
	const struct dime_hid_entry *h = dime_hid_get(dp->hids, hid);

	if (h) {
		__builtin_prefetch(&h->rloc[dime_af_index(family)]);
		__builtin_prefetch(&h->lloc[dime_af_index(family)]);
	}
}

static void out_parse(struct dataplane *dp, const struct dp_burst_item *it, struct burst_slot *s)
{
	s->path = (uint8_t)classify(dp, false, it->buf, it->len, &s->info);
	if (s->path != PATH_FLOW)
		return;
	key_from_tuple(&s->key, s->info.ip.proto, &s->info.ip.tuple, true);
	s->flow_hash = dime_flow_hash_out(dp->flows, &s->key);
	dime_flow_prefetch_out(dp->flows, s->flow_hash);
}

static void out_bucket(struct dataplane *dp, const struct burst_slot *s)
{
	if (s->path == PATH_FLOW)
		dime_flow_prefetch_out_entry(dp->flows, s->flow_hash);
}

static void out_entry(struct dataplane *dp, struct burst_slot *s)
{
	if (s->path != PATH_FLOW)
		return;
	s->flow = dime_flow_lookup_out_hashed(dp->flows, &s->key, s->flow_hash);
	if (s->flow)
		host_prefetch(dp, s->flow->hid, s->info.ip.family);
}

static enum dp_verdict out_finish(struct dataplane *dp, struct dp_burst_item *it,
				  const struct burst_slot *s, uint64_t now_ms)
{
	struct dime_flow *flow = s->flow;

	if (s->path == PATH_DONE)
		return DP_ACCEPT;
	if (s->path == PATH_ICMP_ERR)
		return icmp_error(dp, DIME_DIR_OUT, it->buf, it->len, &s->info, it->flags);
	/* Flows are only ever added here, never removed: a flow found by
	 * out_entry is still valid, but one it missed may have been learned
	 * since from an earlier packet of the burst. */
	if (!flow)
		flow = dime_flow_lookup_out_hashed(dp->flows, &s->key, s->flow_hash);
	return outbound(dp, it->buf, it->len, &s->info, &s->key, flow, it->flags, now_ms);
}

static void burst_out(struct dataplane *dp, struct dp_burst_item *items, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n + 3 * BURST_LAG; i++) {
		if (at_stage(i, 0, n))
			out_parse(dp, &items[i], slot_of(dp, i));
		if (at_stage(i, 1, n))
			out_bucket(dp, slot_of(dp, i - BURST_LAG));
		if (at_stage(i, 2, n))
			out_entry(dp, slot_of(dp, i - 2 * BURST_LAG));
		if (at_stage(i, 3, n)) {
			struct dp_burst_item *it = &items[i - 3 * BURST_LAG];

			it->verdict = out_finish(dp, it, slot_of(dp, i - 3 * BURST_LAG), now_ms);
		}
	}
}

/*
 * Inbound packets change no host and add no flow, so the host in_slot
 * finds still holds when the packet is finished; the flow lookup itself
 * waits for in_finish, where every last_ms its tie-break reads is up to
 * date.
 */
static void in_parse(struct dataplane *dp, const struct dp_burst_item *it, struct burst_slot *s)
{
	s->path = (uint8_t)classify(dp, true, it->buf, it->len, &s->info);
	if (s->path != PATH_FLOW)
		return;
	s->hid_hash = dime_hid_addr_hash(dp->hids, &s->info.ip.tuple.src);
	dime_hid_prefetch(dp->hids, s->hid_hash);
}

static void in_slot(struct dataplane *dp, struct burst_slot *s)
{
	if (s->path != PATH_FLOW)
		return;
	s->hid = dime_hid_lookup_hashed(dp->hids, &s->info.ip.tuple.src, s->hid_hash);
	if (s->hid == DIME_HID_NONE)
		return;
	s->flow_hash = in_hash(dp, &s->info.ip, s->hid);
	dime_flow_prefetch_in(dp->flows, s->flow_hash);
}

static void in_bucket(struct dataplane *dp, const struct burst_slot *s)
{
	if (s->path == PATH_FLOW && s->hid != DIME_HID_NONE)
		dime_flow_prefetch_in_entry(dp->flows, s->flow_hash);
}

static enum dp_verdict in_finish(struct dataplane *dp, struct dp_burst_item *it,
				 const struct burst_slot *s, uint64_t now_ms)
{
	unsigned flags = it->flags | PKT_F_INBOUND;

	if (s->path == PATH_DONE)
		return DP_ACCEPT;
	if (s->path == PATH_ICMP_ERR)
		return icmp_error(dp, DIME_DIR_IN, it->buf, it->len, &s->info, flags);
	return inbound(dp, it->buf, it->len, &s->info, s->hid, s->flow_hash, flags, now_ms);
}

static void burst_in(struct dataplane *dp, struct dp_burst_item *items, size_t n, uint64_t now_ms)
{
	for (size_t i = 0; i < n + 3 * BURST_LAG; i++) {
		if (at_stage(i, 0, n))
			in_parse(dp, &items[i], slot_of(dp, i));
		if (at_stage(i, 1, n))
			in_slot(dp, slot_of(dp, i - BURST_LAG));
		if (at_stage(i, 2, n))
			in_bucket(dp, slot_of(dp, i - 2 * BURST_LAG));
		if (at_stage(i, 3, n)) {
			struct dp_burst_item *it = &items[i - 3 * BURST_LAG];

			it->verdict = in_finish(dp, it, slot_of(dp, i - 3 * BURST_LAG), now_ms);
		}
	}
}

void dp_packet_burst(struct dataplane *dp, enum dime_dir dir, struct dp_burst_item *items,
		     size_t n, uint64_t now_ms)
{
	dp->now_ms = now_ms;
	if (dir == DIME_DIR_IN)
		burst_in(dp, items, n, now_ms);
	else
		burst_out(dp, items, n, now_ms);
}
