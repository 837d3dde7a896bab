/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dimed's kernel-side steering: the iptables/ip6tables rules that queue
 * packets to dimed and the ipsets that select them. Only packets of moved
 * flows reach user space; everything else stays on the kernel path.
 *
 * Layout (IPv6 the same with ip6tables and the *6 sets):
 *   raw PREROUTING  -> DIME-IN  (first rule): lo and IHMP return, then
 *       src in dime-in4-r and dst in dime-in4-l  -> NFQUEUE queue_in
 *   mangle OUTPUT   -> DIME-OUT (first rule): lo, dimed's mark bit and IHMP
 *       return, then
 *       src in dime-out4-l and dst in dime-out4-r -> NFQUEUE queue_out
 *       dst in dime-odst4                         -> NFQUEUE queue_out
 *       and, only with track-connections, a no-op conntrack match last,
 *       so that conntrack runs in the namespace (a fresh one registers its
 *       hooks only for a rule that needs them).
 *   Both jumps are there only while something is steered (below).
 * No --queue-bypass: when dimed is gone, steered packets are dropped rather
 * than delivered un-rewritten (the peer would answer with a RST).
 *
 * Steering on demand: each jump (raw PREROUTING -> DIME-IN, mangle OUTPUT
 * -> DIME-OUT, per family) is in place only while a set its chain matches
 * has a member (in4-r/in4-l for DIME-IN; out4-l/out4-r/odst4 for
 * DIME-OUT). Every queue rule needs a set member to match, so without one
 * the chain can queue nothing, yet walking it (xt_set lookups through
 * nft_compat) cost every packet of the host about 4% of a single flow's
 * CPU here. The first member puts the jump in first (one restore, a few
 * ms, before the member goes in); RULES_IDLE_MS after the last one went,
 * rules_idle() takes it out and deletes the base chain iptables-nft
 * created for it if it is left empty with policy accept (an empty base
 * chain is still a hook call for every packet). A multihomed host whose
 * flows have not moved has inbound pairs only (the addresses a flow may
 * switch to), so only DIME-IN is reached. After a take-over the earlier
 * run's members are not counted, so the jumps it had stay for the run.
 *
 * Pairs: the kernel here has neither hash:net,net nor any hash:ip,ip type,
 * so a pair set is two hash:ip sets matched together (src in one, dst in
 * the other). That queues a superset of the pairs (the cross product of
 * the two columns); dimed accepts the extra packets unchanged. Because an
 * address stays in its column while any pair uses it, pairs are counted:
 * every successful rules_pair_add needs exactly one rules_pair_del.
 *
 * Rules are installed with (ip|ip6)tables-restore --noflush (posix_spawn,
 * no shell) and removed by reading (ip|ip6)tables-save: every jump to our
 * chains is deleted, then the chains, then the sets, so removal is exact
 * and idempotent whatever state a crashed run left. Module state (the
 * ipset socket, the config, the pair counts) is file-static.
 */
#ifndef DIME_RULES_H
#define DIME_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define RULES_CHAIN_IN "DIME-IN"
#define RULES_CHAIN_OUT "DIME-OUT"
#define RULES_SET_MAXELEM 65536u
/* Steering goes off this long after a family's sets last emptied: long
 * enough that a hand-off's remove-then-add of pairs never toggles it. */
#define RULES_IDLE_MS 2000u

struct rules_config {
	uint16_t queue_out;	/* NFQUEUE number of outbound packets */
	uint16_t queue_in;	/* ... and of inbound ones */
	uint16_t ihmp_port;	/* dimed's own UDP port: never queued (1..65535) */
	uint32_t mark;		/* fwmark bit(s) of packets dimed sends itself; nonzero */
	bool ipv6;		/* also ip6tables and the *6 sets */
	/* Add a rule that needs conntrack, so the kernel tracks connections
	 * even where nothing else asked it to. dimed learns flows from the
	 * socket table without it (sockdiag.h). */
	bool track_connections;
	/* Take over the rules and sets of a run that was killed, without a
	 * moment in which packets pass unsteered (rules_install). */
	bool take_over;
};

enum rules_set {
	RULES_SET_OUT_LOCAL,	/* dime-out4-l: local identifiers of outbound pairs, src */
	RULES_SET_OUT_REMOTE,	/* dime-out4-r: remote identifiers of outbound pairs, dst */
	RULES_SET_OUT_DST,	/* dime-odst4: remote identifiers no longer their host's locator, dst */
	RULES_SET_IN_REMOTE,	/* dime-in4-r: remote locators of inbound pairs, src */
	RULES_SET_IN_LOCAL,	/* dime-in4-l: local locators of inbound pairs, dst */
	RULES_SET_COUNT,
};

enum rules_dir {
	RULES_OUT,		/* (local identifier, remote identifier) */
	RULES_IN,		/* (remote locator, local locator) */
};

/* One pair operation of a batch; result is filled in (0 or -errno). */
struct rules_pair_op {
	enum rules_dir dir;
	bool del;
	struct dime_addr a, b;	/* same family */
	int result;
};

/* The kernel name of a set ("dime-out4-l"); family AF_INET or AF_INET6. */
const char *rules_set_name(enum rules_set set, int family);

/*
 * Inbound lanes: exact (remote, local) pairs, as this kernel's ipset has
 * no pair type. Lane K of a family is bound to one local locator L while
 * pairs with L exist: one rule in DIME-IN queues packets to L from an
 * address in the lane's set ("dime-in4-r0"), which holds the remotes
 * paired with L. The two columns (dime-in4-r, dime-in4-l) would match
 * every remote of one pair with every local of another: between two
 * multihomed hosts, the identifier pair of a flow that never moved. Pairs
 * of a local beyond RULES_LANES bound lanes still use the columns (only
 * more is queued). Every pair's local stays in dime-in4-l for the ICMP
 * error rules.
 */
#define RULES_LANES 8

/* The set of inbound lane K of FAMILY ("dime-in4-r0"); NULL if out of range. */
const char *rules_lane_set_name(int family, unsigned k);

/*
 * Pure: the restore input that appends (on) or deletes the rule of lane K
 * of LOCAL's family, bound to LOCAL. Length, -ENOSPC or -EINVAL.
 */
int rules_render_lane(const struct rules_config *cfg, unsigned k, const struct dime_addr *local, bool on,
		      char *buf, size_t size);

/* The lane bound to LOCAL now, or -1 (its pairs, if any, use the columns). */
int rules_lane_of(const struct dime_addr *local);

/* 0 or -EINVAL (with a message naming the field). */
int rules_config_check(const struct rules_config *cfg);

/*
 * Pure: the input of (ip|ip6)tables-restore --noflush that installs the
 * chains and rules of FAMILY. Returns the text length (NUL excluded),
 * -ENOSPC when SIZE is too small, -EINVAL for a bad config or family.
 */
int rules_render_install(const struct rules_config *cfg, int family, char *buf, size_t size);

/*
 * Pure: the restore input that puts FAMILY's jump to DIME-IN first in raw
 * PREROUTING (RULES_IN), or to DIME-OUT first in mangle OUTPUT (RULES_OUT),
 * or deletes it (off). Length, -ENOSPC or -EINVAL, as rules_render_install.
 */
int rules_render_steering(int family, enum rules_dir dir, bool on, char *buf, size_t size);

/*
 * Pure: whether `nft list chain` output shows a chain that holds no rule
 * and accepts by default, so deleting it changes nothing but the cost of
 * its hook. Anything not recognised counts as a rule.
 */
bool rules_chain_prunable(const char *listing);

/*
 * Pure: from (ip|ip6)tables-save output, the restore input that deletes
 * every rule jumping to DIME-IN or DIME-OUT (in any table and chain), then
 * flushes and deletes those chains. A table cut short (no COMMIT before
 * the next table or the end) is left out whole. Returns the length, 0 when
 * nothing of ours is there, -ENOSPC when SIZE is too small:
 * RULES_REMOVE_SIZE(strlen(save)) always fits, as every output line is an
 * input line ("-D" for "-A") except the flush and delete lines, at most 24
 * bytes for each line declaring one of our chains, which is 9 bytes or more.
 */
#define RULES_REMOVE_SIZE(save_len) (3 * (size_t)(save_len) + 1)

int rules_render_remove(const char *save, char *buf, size_t size);

/*
 * Remove whatever an earlier run left (rules_remove_stale), create the
 * sets, install the rules. On failure, everything added is removed again
 * and the error returned (already logged). Installing again (a reload)
 * starts from empty sets and no pair counts: callers re-add their pairs.
 */
int rules_install(const struct rules_config *cfg);
/* Remove every rule, chain and set of ours, both families, whether or not
 * this process installed them. Every step is tried; each failure is
 * logged; the first is returned. Safe to call repeatedly. */
int rules_remove(void);
/* Run nft -f with script on its standard input (offload.c's table), as the
 * xtables tools are run. 0, or -ENOENT (no nft), -ETIMEDOUT, -EIO (logged
 * with nft's stderr). */
int rules_run_nft(const char *script);
/* rules_remove() that reports (notice) what it found, for start-up. */
int rules_remove_stale(void);

/* Pairs (counted, see above). 0, -ENOENT (del of a pair never added),
 * -EAFNOSUPPORT (mixed families, or IPv6 without cfg.ipv6), -ENOTCONN
 * (rules not installed), or the kernel's error; a failed add leaves no count. */
int rules_pair_add(enum rules_dir dir, const struct dime_addr *a, const struct dime_addr *b);
int rules_pair_del(enum rules_dir dir, const struct dime_addr *a, const struct dime_addr *b);
/* Many at once, in as few netlink round trips as possible (a hand-off).
 * Returns 0 or the first op error. */
int rules_pairs_apply(struct rules_pair_op *ops, size_t n);

/* dime-odst4/6: plain set semantics (add of a present address and del of
 * an absent one succeed); the caller's host table owns the membership. */
int rules_odst_add(const struct dime_addr *remote_id);
int rules_odst_del(const struct dime_addr *remote_id);

/* How many addresses rules.c holds in the sets, pair columns and
 * dime-odst together (tests, offload_idle). */
size_t rules_pair_addresses(void);

/* Steering on demand (see above): call about once a second. Takes a
 * family's jumps out once its sets have been empty for RULES_IDLE_MS. */
void rules_idle(uint64_t now_ms);

struct rules_stats {
	uint64_t steering_on;	/* times a family's jumps went in */
	uint64_t steering_off;	/* ... and out again */
	uint64_t steering_errors;	/* failed attempts either way */
	uint64_t chains_pruned;	/* empty base chains deleted */
	uint64_t steering_on_max_us;	/* longest switch-on (the restore run) */
	uint64_t lanes_bound;	/* inbound lanes bound to a local address now */
	uint64_t lane_binds;	/* lane rules added */
	uint64_t lane_unbinds;	/* ... and deleted after their pairs went */
	uint64_t lane_overflows;	/* inbound pairs put in the columns: no lane free */
	bool on_in[2];		/* [0] IPv4, [1] IPv6: jump to DIME-IN in place */
	bool on_out[2];		/* ... to DIME-OUT */
};
void rules_get_stats(struct rules_stats *out);

#endif
