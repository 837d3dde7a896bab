/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel offload of moved flows (docs/dataplane.md, "Offload"). Every
 * packet of a moved flow crossing user space costs two copies of the
 * whole packet through NFQUEUE at each end; on two cores that halves a
 * TCP flow's goodput whatever dimed does with the bytes. So once a moved
 * flow is steady - its host neither held nor awaiting path validation,
 * nobody watching its ACKs - dimed writes the rewrite it has just done
 * into four nftables map elements, and the kernel applies the same
 * two-stage rewrite to the flow's next packets at the same hooks
 * (outbound after conntrack in a `type route` output chain, so the packet
 * is re-routed; inbound before conntrack), with its own checksum code for
 * every CHECKSUM_PARTIAL/GSO/GRO state. dimed stays the only writer of
 * those maps: it removes a flow's elements before its locators change,
 * when it ends, and at exit.
 *
 *   outbound  (lid, rid, proto, lport, rport)  -> rloc   map o4d / o6d
 *             (lid, rloc, proto, lport, rport) -> lloc   map o4s / o6s
 *   inbound   (rloc, lloc, proto, rport, lport) -> rid   map i4s / i6s
 *             (rid, lloc, proto, rport, lport)  -> lid   map i4d / i6d
 *
 * The second lookup of each direction is keyed by the packet as the first
 * left it, so both statements sit in one rule. A rewritten packet is given
 * the fwmark bits, which keeps it out of the NFQUEUE rules (rules.c).
 *
 * The table is dormant (its chains on no hook) while nothing has moved:
 * a packet of a flow that never moved, nearly every packet, then passes
 * none of its rules. The first hand-over wakes it (registering hooks
 * leaves queued packets alone). It goes back to sleep only once no flow
 * is handed over and dimed has steered nothing into its queues for
 * OFFLOAD_SLEEP_AFTER_MS (offload_idle): unregistering a hook makes the
 * kernel drop every packet waiting in the namespace's NFQUEUEs, so the
 * queues must be long empty by then.
 *
 * Three parts: the ruleset text (pure), the netlink messages that add or
 * remove one flow's elements (pure: byte buffers), and the socket.
 */
#ifndef DIME_OFFLOAD_H
#define DIME_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define OFFLOAD_TABLE "dimed"
/* Hook priorities: outbound after conntrack (-200) and before the
 * iptables mangle OUTPUT queue rule (-150); inbound after defragmentation
 * (-400) and before the raw PREROUTING queue rule (-300). */
#define OFFLOAD_PRIO_OUT (-160)
#define OFFLOAD_PRIO_IN (-310)

/* One flow's rewrite: the addresses its socket bound and the ones on the
 * wire (equal when that side has not moved), ports in host order. */
struct offload_flow {
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t lport, rport;
	struct dime_addr lid, rid;	/* same family */
	struct dime_addr lloc, rloc;	/* of that family too */
};

/* The nft script that replaces any table of ours (a crashed run's) with an
 * empty one: the maps, the two chains and their counters. mark: the
 * fwmark bits (nonzero). Length, or -ENOSPC / -EINVAL. */
int offload_render_ruleset(uint32_t mark, char *buf, size_t size);

/* Valid for the maps: TCP or UDP, one family, ports nonzero. */
bool offload_flow_valid(const struct offload_flow *f);

/*
 * Append to buf[*len..size) one nf_tables batch (begin, four set element
 * messages, end) that adds (add) or removes the flow's elements, sequence
 * numbers from *seq on. 0, -ENOSPC (nothing appended), -EINVAL.
 */
int offload_build_flow(void *buf, size_t size, size_t *len, uint32_t *seq, bool add,
		       const struct offload_flow *f);
/* A batch that empties all eight maps, or deletes the whole table. */
int offload_build_flush(void *buf, size_t size, size_t *len, uint32_t *seq);
int offload_build_table_delete(void *buf, size_t size, size_t *len, uint32_t *seq);
/* A batch that makes the table dormant (its base chains leave their
 * hooks) or wakes it; the same return values. */
int offload_build_table_dormant(void *buf, size_t size, size_t *len, uint32_t *seq, bool dormant);

struct offload;

struct offload_stats {
	uint64_t out_packets, out_bytes;	/* rewritten by the kernel */
	uint64_t in_packets, in_bytes;
};

/* Install the table (nft -f, replacing a stale one) and open the netlink
 * socket. 0, or -errno (logged: no nf_tables, no nft): the caller then
 * runs without offload. */
int offload_open(struct offload **out, uint32_t mark);
/* Delete the table and close. Safe with NULL. */
void offload_close(struct offload *o);
/* Delete the table of a crashed run, if any (start-up, before rules). */
int offload_remove_stale(void);

/* Apply one flow's batch. The kernel runs a batch inside sendmsg, all or
 * nothing, so a batch that failed left no trace. 0 or -errno. */
int offload_flow(struct offload *o, bool add, const struct offload_flow *f);

#define OFFLOAD_SLEEP_AFTER_MS 2000
/* Called periodically: steering is whether any address pair or old
 * destination is in the queue sets (packets can be queued). Puts the
 * table to sleep after OFFLOAD_SLEEP_AFTER_MS with no flow handed over
 * and nothing steered. o may be NULL. */
void offload_idle(struct offload *o, bool steering, uint64_t now_ms);
/* Empty the maps (after a failed removal, when what is installed is no
 * longer known). 0 or -errno. */
int offload_flush(struct offload *o);
/* Read the two rule counters. 0 or -errno. */
int offload_read_stats(struct offload *o, struct offload_stats *st);

#endif
