/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The StackTrans two-stage rewrite (paper Fig. 2), as a pure function of
 * (tables, packet bytes, clock): outbound, identifier -> HID -> current
 * locators; inbound, locator -> HID -> the identifiers the flow bound. It
 * also decides what the kernel must queue (the fast-path ipsets), and tells
 * the caller through kernel ops, so tests drive it with byte arrays, a fake
 * clock and a recording fake of the ops.
 *
 * Failure policy, written once (STYLE.md point 3):
 *  - a packet that does not parse, or belongs to no host we know, passes
 *    untouched (DP_ACCEPT): dimed must never break traffic it does not own;
 *  - a packet of a known flow whose host has moved but that cannot be
 *    rewritten (no locator of its family, checksum state we cannot finish,
 *    too long for NFQUEUE to take back) is dropped (DP_DROP): TCP
 *    retransmits, while a packet with the wrong address would reach the
 *    peer's stack un-translated and be answered with a RST;
 *  - every outcome is counted (struct dp_stats, shown by dimectl stats).
 */
#ifndef DIME_DATAPLANE_H
#define DIME_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"
#include "dime/flow.h"
#include "dime/hid.h"
#include "dime/offload.h"

enum dp_verdict {
	DP_ACCEPT,		/* unchanged */
	DP_ACCEPT_MODIFIED,	/* buf rewritten in place, same length */
	DP_DROP,
	/* Not to leave now: its host's output is held (out_held), or its
	 * remote locator awaits path validation and its 3x budget is spent
	 * (rloc_unvalidated). A drop,
	 * unless the caller keeps the packet and passes it again once the
	 * hold is over (then it is rewritten). */
	DP_HELD,
};

/* The kernel-side selectors of the fast path (see rules.h for the sets):
 * only packets that match one of them are queued to dimed at all. */
enum dp_set {
	DP_SET_OUT_PAIR,	/* (local identifier, remote identifier), outbound src,dst */
	DP_SET_OUT_DST,		/* remote identifier that is no longer its host's locator */
	DP_SET_IN_PAIR,		/* (remote locator, local locator), inbound src,dst */
	DP_SET_COUNT,
};

struct dp_kernel_ops {
	/* b is NULL for single-address sets. Return 0 or -errno; a failure is
	 * counted and retried at the next sync of that host. */
	int (*set_add)(void *ctx, enum dp_set set, const struct dime_addr *a,
		       const struct dime_addr *b);
	int (*set_del)(void *ctx, enum dp_set set, const struct dime_addr *a,
		       const struct dime_addr *b);
	/* Optional: an outbound packet of flow got DP_HELD because its host's
	 * output is held (dime_hid_entry.out_held), buf[0..len) as the socket
	 * sent it. The daemon uses it for fast TCP recovery. */
	void (*held)(void *ctx, const struct dime_flow *flow, const uint8_t *buf, size_t len);
	/* Optional: an inbound packet of a flow whose ack_watch the caller
	 * set, buf[0..len) as it arrived (in locators), before the rewrite.
	 * The flow's entry is already in cache here, so the check costs
	 * nothing for the other flows. */
	void (*ack_seen)(void *ctx, struct dime_flow *flow, const uint8_t *buf, size_t len);
	/* Optional (NULL: every moved packet crosses user space): hand one
	 * steady flow's rewrite to the kernel (add) or take it back (offload.h).
	 * Must be all or nothing: 0, or -errno with nothing changed. After a
	 * failed removal the data plane calls offload_flush, which must empty
	 * every map. */
	int (*offload)(void *ctx, bool add, const struct offload_flow *flow);
	int (*offload_flush)(void *ctx);
	/* Optional: is a local UDP port open on an unconnected socket? Such a
	 * socket's peers are in no socket table (only conntrack would know
	 * them): a datagram from a moved host to it, of no known flow, is
	 * taken for a flow of the host's one old address (dp_packet). */
	bool (*udp_port_open)(void *ctx, uint16_t port);
	void *ctx;
};

/* Every counter, in the order dimectl stats prints them. */
#define DP_STATS(X)                                                              \
	X(out_packets)	    /* outbound packets seen */                          \
	X(out_rewritten)    /* ... re-addressed */                               \
	X(out_unchanged)    /* ... of a known flow that needed no change */      \
	X(out_unknown)	    /* ... of no known host: passed untouched */         \
	X(out_malformed)    /* ... that did not parse: passed untouched */       \
	X(out_no_locator)   /* dropped: the host has no locator of that family */ \
	X(out_rewrite_failed) /* dropped: the rewrite refused the packet */      \
	X(out_held)	    /* dropped: our side is between addresses */         \
	X(out_unvalidated)  /* held: over 3x what an unvalidated locator sent */ \
	X(out_flow_learned) /* flows created from a queued packet */             \
	X(in_packets)	    /* inbound packets seen */                           \
	X(in_rewritten)                                                          \
	X(in_unchanged)                                                          \
	X(in_unknown)                                                            \
	X(in_malformed)                                                          \
	X(in_no_flow)	    /* from a known host, no flow: passed untouched */   \
	X(in_flow_learned)  /* flows of unconnected UDP sockets learnt inbound */ \
	X(in_rewrite_failed)                                                     \
	X(icmp_err_rewritten) /* ICMP errors whose quote was re-addressed */     \
	X(flows_learned)    /* flows the kernel reported (sockets, conntrack) */ \
	X(flows_forgotten)  /* flows whose socket or conntrack entry ended */    \
	X(flow_table_full)                                                       \
	X(hid_table_full)                                                        \
	X(hids_created)                                                          \
	X(hid_conflicts)    /* an address already owned by another host */       \
	X(hid_merges)	    /* two entries found to be one host, merged */       \
	X(set_adds)	    /* fast-path set entries added in the kernel */      \
	X(set_dels)                                                              \
	X(set_errors)                                                            \
	X(offload_adds)	    /* flows handed to the kernel's rewrite (offload.h) */ \
	X(offload_dels)	    /* ... taken back (locators changed, flow ended) */  \
	X(offload_errors)   /* kernel refusals (a removal's: then a reset) */    \
	X(offload_resets)   /* every map emptied, every flow taken back */       \
	X(flows_offloaded)  /* gauge: flows the kernel rewrites now */

struct dp_stats {
#define DP_STATS_FIELD(name) uint64_t name;
	DP_STATS(DP_STATS_FIELD)
#undef DP_STATS_FIELD
};

struct dataplane;

/* The tables must outlive the data plane; ops is copied. */
int dp_new(struct dataplane **out, struct dime_hid_table *hids, struct dime_flow_table *flows,
	   const struct dp_kernel_ops *ops);
/* Frees the data plane's own state (not the tables, not kernel sets). */
void dp_free(struct dataplane *dp);

/*
 * One queued packet, buf[0..len) from its IP header. flags are the pkt
 * core's PKT_F_CSUM_PARTIAL and PKT_F_GSO as NFQUEUE reported them;
 * PKT_F_INBOUND is implied by dir. Rewrites in place, same length.
 */
enum dp_verdict dp_packet(struct dataplane *dp, enum dime_dir dir, uint8_t *buf, size_t len,
			  unsigned flags, uint64_t now_ms);

/* One packet of a burst: buf, len and flags as for dp_packet; verdict is
 * written by dp_packet_burst. */
struct dp_burst_item {
	uint8_t *buf;
	size_t len;
	unsigned flags;
	enum dp_verdict verdict;
};

/*
 * n queued packets of one direction (NFQUEUE hands them over in batches),
 * any n: the same verdicts, bytes, counters and table changes as n
 * dp_packet() calls in order with the same now_ms, but each packet's table
 * lookups are hashed and prefetched while the packets around it are
 * handled, so the cache misses of a burst overlap instead of queueing one
 * after another. With tables larger than the caches, bursts of 4 already
 * gain most of it.
 */
void dp_packet_burst(struct dataplane *dp, enum dime_dir dir, struct dp_burst_item *items,
		     size_t n, uint64_t now_ms);

/*
 * A flow the kernel reported (a socket dump, conntrack), oriented by the
 * caller (lid is local). Creates the peer's HID when none owns rid (active
 * {rid}, local {lid}). 0 (also when already known: then a tcp_state other
 * than DIME_TCP_NONE replaces the flow's, which is how state changes reach
 * it, and its idle timer restarts at now_ms: it lives), -ENOSPC,
 * -EADDRINUSE. A new flow of a moved host gets its fast-path entries at
 * once.
 */
int dp_flow_learn(struct dataplane *dp, const struct dime_flow_key *key, uint8_t tcp_state,
		  uint64_t now_ms);
/* conntrack destroyed it: 0 or -ENOENT. */
int dp_flow_forget(struct dataplane *dp, const struct dime_flow_key *key);

/*
 * Set a host's locators by hand (dimectl set-locator) or from IHMP. peer is
 * any address the host owns; with none, a HID is created for it. rloc
 * joins the active set (from unreachable if it was there) and becomes the
 * remote locator of its family; lloc joins the local set and becomes the
 * local locator. Either may be NULL. Then the fast path is resynced.
 * 0, -ENOENT (no peer and nothing to set), -EADDRINUSE (rloc belongs to
 * another host), -ENOSPC, -EINVAL (families).
 */
int dp_set_locator(struct dataplane *dp, const struct dime_addr *peer,
		   const struct dime_addr *rloc, const struct dime_addr *lloc, uint64_t now_ms);

/* The host entry `from`, which has no control-plane state, turns out to be
 * `into` (IHMP: an address a HANDOFF or ADDR_UP brings belongs to an entry
 * made for a flow before): its flows move to `into`, keeping what they
 * bound, and `from` goes. 0, -EINVAL, -EADDRINUSE (`from` has IHMP state),
 * -ENOMEM. */
int dp_hid_merge(struct dataplane *dp, uint32_t into, uint32_t from, uint64_t now_ms);

/* Bring the kernel sets for one host in line with its flows and locators. */
void dp_hid_sync(struct dataplane *dp, uint32_t hid);

/* The flow table expired a flow (flow table callback): resync its host,
 * and destroy the host when no flow is left. */
void dp_flow_expired(struct dataplane *dp, const struct dime_flow *flow);

/*
 * Give up on a host (IHMP: its hold expired; or it lingered unused): each
 * of its flows is passed to each(ctx, flow) before it is removed (the
 * daemon tells the sockets), then its kernel entries and the host go. The
 * caller has released the control-plane state (ihmp) first.
 */
void dp_hid_drop(struct dataplane *dp, uint32_t hid,
		 void (*each)(void *ctx, const struct dime_flow *flow), void *ctx);

/* Remove every kernel set entry this data plane added (shutdown), and
 * take every offloaded flow back. */
void dp_clear_kernel(struct dataplane *dp);

/* The daemon waits for flow's next inbound ACK (ack_seen): set its
 * ack_watch, and take its rewrite back from the kernel so the ACK passes
 * here. */
void dp_flow_watch_ack(struct dataplane *dp, struct dime_flow *flow);

/* Forget every hand-over to the kernel (its maps were emptied or are
 * gone: a restart of the offload); flows are handed over again once they
 * pass here steady. */
void dp_offload_forget_all(struct dataplane *dp);
/* No offload from now on (the kernel side could not be set up). */
void dp_offload_disable(struct dataplane *dp);

const struct dp_stats *dp_stats(const struct dataplane *dp);
/* Calls emit(name, value) for every counter, in DP_STATS order. */
void dp_stats_foreach(const struct dataplane *dp, void (*emit)(void *ctx, const char *name,
							       uint64_t value), void *ctx);

#endif
