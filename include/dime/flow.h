/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flow (socket) table (paper Fig. 3(a)): one entry per flow as the
 * local socket sees it, in identifiers: protocol, local identifier and
 * port, remote identifier and port. Each flow is bound to the HID of its
 * peer. Two flows may reach the same HID under different remote
 * identifiers (the peer moved between the two connects), and each keeps
 * its own, so replies are translated back to what that socket bound.
 *
 * Two O(1) indexes over one preallocated pool:
 *  - outbound, by identifier tuple (proto, lid, lport, rid, rport), unique;
 *  - inbound, by (proto, family, hid, rport, lport): a packet carries
 *    locators, so the caller first maps its source to a HID with
 *    dime_hid_lookup(). Several flows can share that key (same ports and
 *    peer, different local identifiers, or different remote identifiers of
 *    one peer). The match whose local identifier equals the packet's
 *    destination wins; otherwise, or among several such, the most recently
 *    seen (last_ms; on a tie, the first found).
 *
 * Ports are host byte order; ICMP and ICMPv6 echo use the echo id as both
 * ports. A flow holds one reference on its HID (dime_hid_bind) from insert
 * to delete. Nothing is allocated after init; expiry is incremental
 * (dime_flow_expire visits at most `budget` pool entries per call) and
 * time is always a parameter (milliseconds, monotonic).
 */
#ifndef DIME_FLOW_H
#define DIME_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"
#include "dime/hid.h"

#define DIME_FLOW_CAPACITY_MAX (1u << 24)

/* TCP flag bits, as in the header's flags byte. */
#define DIME_TCP_FIN 0x01
#define DIME_TCP_SYN 0x02
#define DIME_TCP_RST 0x04
#define DIME_TCP_ACK 0x10

enum dime_dir {
	DIME_DIR_OUT,	/* local socket to peer */
	DIME_DIR_IN,	/* peer to local socket */
};

/* Just enough TCP to pick a timeout. */
enum dime_tcp_state {
	DIME_TCP_NONE,		/* no segment seen yet */
	DIME_TCP_SYN_SENT,	/* SYN seen */
	DIME_TCP_SYN_RECV,	/* SYN+ACK seen */
	DIME_TCP_ESTABLISHED,
	DIME_TCP_FIN_OUT,	/* we sent FIN */
	DIME_TCP_FIN_IN,	/* peer sent FIN */
	DIME_TCP_CLOSING,	/* both sent FIN */
	DIME_TCP_CLOSED,	/* RST seen */
};

/* Idle timeouts in seconds. */
struct dime_flow_timeouts {
	uint32_t tcp_established;	/* default 7200 */
	uint32_t tcp_transitory;	/* every other TCP state; default 120 */
	uint32_t udp;			/* default 180 */
	uint32_t icmp;			/* echo, v4 and v6; default 30 */
};

struct dime_flow_key {
	uint8_t proto;			/* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	uint16_t lport, rport;
	struct dime_addr lid, rid;	/* same family */
};

/* 64 bytes. */
struct dime_flow {
	struct dime_addr lid;		/* local identifier the socket bound */
	struct dime_addr rid;		/* remote identifier the socket bound */
	uint64_t last_ms;		/* last dime_flow_seen (insert time at first) */
	uint32_t hid;
	uint16_t lport, rport;
	uint8_t proto;
	uint8_t tcp_state;		/* enum dime_tcp_state */
	uint8_t live;			/* internal: pool slot in use */
	uint8_t ack_watch : 1;		/* the daemon waits for an inbound ACK (dataplane.h) */
	uint8_t offloaded : 1;		/* the kernel rewrites its packets (offload.h) */
	uint32_t next_free;		/* internal */
};

struct dime_flow_table;

/* Called for each expired flow after it left the table and released its
 * HID reference, so the HID's refs already tell whether it was the last.
 * It may change the HID table (destroy that HID) but not the flow table. */
typedef void (*dime_flow_expire_fn)(void *ctx, const struct dime_flow *flow);

/*
 * Asked by dime_flow_expire for a flow that is idle past its timeout,
 * before expiring it. last_ms only moves when a packet of the flow passes
 * dimed, and most never do: the fast path queues moved flows only, and an
 * offloaded flow's packets are rewritten by the kernel. Only the caller
 * can tell (by asking conntrack, ctnl_query) whether the flow is still
 * alive. true keeps it (last_ms becomes now, so it is asked again one
 * timeout later); false expires it as usual; NULL expires every idle
 * flow. Each call may cost a netlink round trip: it is only made for
 * flows already past their timeout, at most `budget` per
 * dime_flow_expire call. It must not change the flow table.
 */
typedef bool (*dime_flow_keep_fn)(void *ctx, const struct dime_flow *flow);

struct dime_flow_config {
	uint32_t capacity;		/* flows, 1..DIME_FLOW_CAPACITY_MAX */
	struct dime_sipkey seed;	/* random in the daemon, fixed in tests */
	struct dime_flow_timeouts timeouts;
	dime_flow_expire_fn on_expire;	/* may be NULL */
	dime_flow_keep_fn keep;		/* may be NULL: offloaded flows expire as others */
	void *ctx;			/* for on_expire and keep */
};

struct dime_flow_stats {
	uint32_t count, capacity;
	uint32_t buckets;		/* per index (power of two) */
	size_t bytes;			/* pool, both indexes and the table */
};

void dime_flow_timeouts_default(struct dime_flow_timeouts *to);
/* New idle timeouts (a configuration reload); every flow's expiry is
 * judged by them from its next check on. */
void dime_flow_set_timeouts(struct dime_flow_table *t, const struct dime_flow_timeouts *to);

/* The HID table must outlive the flow table. */
int dime_flow_table_new(struct dime_flow_table **out, const struct dime_flow_config *cfg,
			struct dime_hid_table *hids);
/* Frees without unbinding: call dime_flow_flush first if the HID table lives on. */
void dime_flow_table_free(struct dime_flow_table *t);

/*
 * Add a flow bound to hid, last seen now. 0 with *out set, or:
 * -EEXIST (the tuple is already there; *out is that flow),
 * -EINVAL (protocol, families, or ICMP on the wrong family),
 * -ENOSPC (pool full, or the HID index full), -ESTALE (hid),
 * -EADDRINUSE (rid belongs to another live HID: dime_hid_bind's -EEXIST).
 */
int dime_flow_insert(struct dime_flow_table *t, const struct dime_flow_key *key, uint32_t hid,
		     uint64_t now_ms, struct dime_flow **out);

struct dime_flow *dime_flow_lookup_out(const struct dime_flow_table *t,
				       const struct dime_flow_key *key);

/* dst: the packet's destination locator, for the tie-break (may be NULL). */
struct dime_flow *dime_flow_lookup_in(const struct dime_flow_table *t, uint8_t proto,
				      uint8_t family, uint32_t hid, uint16_t rport, uint16_t lport,
				      const struct dime_addr *dst);

/*
 * For bursts (NFQUEUE hands packets over in batches): hash every packet of
 * the burst and prefetch its home bucket first, then look them up with the
 * hashes. The cache misses of the burst then overlap instead of queueing
 * one after another.
 */
void dime_flow_prefetch_out(const struct dime_flow_table *t, uint32_t hash_out);
void dime_flow_prefetch_in(const struct dime_flow_table *t, uint32_t hash_in);
/* Optional second pass, after the first: prefetch the entry of the first
 * bucket, from home on, whose stored hash matches. */
void dime_flow_prefetch_out_entry(const struct dime_flow_table *t, uint32_t hash_out);
void dime_flow_prefetch_in_entry(const struct dime_flow_table *t, uint32_t hash_in);
struct dime_flow *dime_flow_lookup_out_hashed(const struct dime_flow_table *t,
					      const struct dime_flow_key *key, uint32_t hash_out);
struct dime_flow *dime_flow_lookup_in_hashed(const struct dime_flow_table *t, uint32_t hash_in,
					     uint8_t proto, uint8_t family, uint32_t hid,
					     uint16_t rport, uint16_t lport,
					     const struct dime_addr *dst);

/* Remove a flow from both indexes and drop its HID reference. The pointer
 * is invalid afterwards; a second delete of the same pointer is ignored
 * until the slot is reused. */
void dime_flow_del(struct dime_flow_table *t, struct dime_flow *flow);
/* The same by tuple (conntrack destroy events): 0 or -ENOENT. */
int dime_flow_del_key(struct dime_flow_table *t, const struct dime_flow_key *key);
/* Delete every flow. */
void dime_flow_flush(struct dime_flow_table *t);

/* Next TCP state after a segment with `flags` going `dir`. Pure. */
enum dime_tcp_state dime_tcp_next(enum dime_tcp_state state, uint8_t flags, enum dime_dir dir);

/* A packet of the flow passed: refresh last_ms and, for TCP, the state. */
void dime_flow_seen(struct dime_flow *flow, uint64_t now_ms, uint8_t tcp_flags,
		    enum dime_dir dir);

/* Idle time after which the flow expires, in ms. */
uint64_t dime_flow_timeout_ms(const struct dime_flow_table *t, const struct dime_flow *flow);

/*
 * Visit at most `budget` pool entries, continuing where the last call
 * stopped, and delete those idle for their timeout at `now_ms`. Returns
 * how many were deleted. A full pass over the table takes capacity/budget
 * calls at most.
 */
size_t dime_flow_expire(struct dime_flow_table *t, uint64_t now_ms, size_t budget);

/* Iterate live flows: *cursor = 0 to start; NULL at the end. */
struct dime_flow *dime_flow_iter(const struct dime_flow_table *t, uint32_t *cursor);

uint32_t dime_flow_count(const struct dime_flow_table *t);
void dime_flow_stats(const struct dime_flow_table *t, struct dime_flow_stats *st);

/* Hashes as the two indexes use them (tests force collisions with them);
 * the home bucket is hash & (buckets - 1). */
uint32_t dime_flow_hash_out(const struct dime_flow_table *t, const struct dime_flow_key *key);
uint32_t dime_flow_hash_in(const struct dime_flow_table *t, uint8_t proto, uint8_t family,
			   uint32_t hid, uint16_t rport, uint16_t lport);

#endif
