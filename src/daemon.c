// SPDX-License-Identifier: BSD-2-Clause
/*
 * The daemon's glue (see daemon.h): start-up and shut-down order, and the
 * callbacks that turn kernel events into calls on the pure cores:
 *  - queued packets (nfq) -> dp_packet, with the NFQUEUE checksum state;
 *  - conntrack entries (ctnl) -> flows, oriented by our own addresses;
 *  - address events (rtnl) -> the local address list, and pins for
 *    identifiers that live flows still use after their address went;
 *  - control requests -> tables, counters, hand-set locators.
 */
#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dime/addrwatch.h"
#include "dime/conf.h"
#include "dime/control.h"
#include "dime/ctnl.h"
#include "dime/daemon.h"
#include "dime/dataplane.h"
#include "dime/ihmp.h"
#include "dime/ihmpio.h"
#include "dime/ihmpkeys.h"
#include "dime/learn.h"
#include "dime/localaddr.h"
#include "dime/log.h"
#include "dime/nfq.h"
#include "dime/offload.h"
#include "dime/pin.h"
#include "dime/pkt.h"
#include "dime/rtnl.h"
#include "dime/rules.h"
#include "dime/sockdiag.h"
#include "dime/sockkill.h"
#include "dime/statefile.h"
#include "dime/sysctl.h"

#define FLOW_EXPIRE_BUDGET 4096		/* pool entries visited per tick */
#define PIN_GC_EVERY_TICKS 8		/* 2 s */
#define HID_GC_EVERY_TICKS 20		/* 5 s */
#define BURST_MAX 64			/* packets through the data plane at once */
/* A peer with IHMP state and no flow left is kept this long, so a new
 * connection to it needs no new HELLO exchange (and a host without dimed
 * is not asked again and again). */
#define PEER_LINGER_MS (5 * 60 * 1000)
/* Segments held during a hand-off remembered for the TCP-LD kick when the
 * hold ends (sockkill.h); beyond that, flows recover by their own RTO. */
#define KICKS_MAX 1024
#define KICK_MIN_GAP_MS 20		/* per flow, between TCP-LD messages */

#define HOLD_BYTES_MAX 9216		/* a held segment larger than this is dropped */
/* After a locator change: how long the answers to our probes are awaited,
 * and how many TCP-LD messages one answer is worth (each undoes one RTO
 * doubling; 8 cover a timeout backed off from 200 ms to 51 s). */
#define PROBE_WINDOW_MS 2000
#define LD_BURST 8
#define RX_DROP_LOG_PER_S 10		/* dropped IHMP datagrams logged a second */
#define PROBED_HOSTS 64			/* hosts whose last probed epoch is kept */
/* The state file: written at most once a second while something changed;
 * one older than this at start is ignored (its flows are long gone). */
#define STATE_WRITE_EVERY_TICKS 4
#define STATE_MAX_AGE_MS (10 * 60 * 1000)

struct kick {
	uint32_t hid;			/* DIME_HID_NONE: free */
	uint64_t last_ms;
	struct dime_flow_key key;
	uint16_t len;
	uint8_t pkt[SOCKKILL_QUOTE_MAX];
	/* The newest held segment itself, still queued in the kernel under
	 * held_id: released rewritten the moment the hold ends. */
	uint8_t *held;			/* NULL: none */
	uint32_t held_id, held_len;
	unsigned held_flags;
};

struct held_map {
	const uint8_t *buf;		/* the packet as the burst saw it */
	struct kick *kick;
};

struct queue_ctx {
	struct dimed *d;
	enum dime_dir dir;
};

struct dimed {
	struct dimed_config cfg;
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	struct dataplane *dp;
	struct nfqio *nfq_out, *nfq_in;
	struct queue_ctx qctx_out, qctx_in;
	struct ctnl *ct;
	bool ct_active;			/* conntrack reported an entry: something tracks */
	/* The socket table (sockdiag.h, learn.h): what dimed learns flows from
	 * when the kernel tracks no connections. */
	struct sockdiag *sd;
	struct learn_ports listen[2];	/* TCP listeners: [sd_cur] filling, the other the last dump's */
	struct learn_ports udp_open[2];	/* unconnected UDP sockets' ports, likewise */
	unsigned int sd_cur;
	bool sd_synced;			/* dumped in this loop iteration */
	uint64_t sd_next_ms;		/* next periodic dump */
	uint64_t sd_done_ms;		/* start of the last complete dump */
	uint64_t sd_ignored;		/* sockets that are no flow of ours */
	struct offload *off;		/* NULL: no offload */
	uint64_t keep_errors;		/* conntrack could not say if a flow lives */
	unsigned int keep_queries_tick;	/* on_flow_keep's questions this expiry pass */
	struct rtnl *rt;
	struct ctl_server *ctl;
	struct localaddrs local;
	struct ihmp *ih;
	struct ihmpkeys *keys;
	struct ihmpio *io;
	struct ihmp_actions *acts;
	struct addrwatch aw;
	struct sockkill *sk;
	struct kick *kicks;
	uint64_t kicks_dropped;
	struct held_map held_map[BURST_MAX];	/* this burst's held packets */
	unsigned int nheld_map;
	uint64_t held_kept, held_released, held_replaced;
	/* Sender wake-up after a move (sockkill_tcp_probe). */
	struct { uint32_t hid, epoch; } probed[PROBED_HOSTS];
	unsigned int probed_next;
	uint64_t watch_until;		/* 0: no flow's ack_watch is set */
	uint64_t acks_seen, probes_failed;
	/* rx_drop_loggable(): dropped IHMP datagrams logged this second */
	uint64_t rx_drop_log_ms, rx_drop_logged, rx_drop_unlogged;
	/* The state file (statefile.h), next to the control socket. */
	char state_path[CONF_PATH_MAX + 8];
	bool state_dirty;
	struct dime_addr kept_pins[STATE_PINS_MAX];
	uint32_t nkept_pins;
	uint64_t state_writes, state_write_errors;
	uint32_t state_hosts;		/* hosts restored at start */
	/* Hand-offs in flight, for the journal and monitor (one line when the
	 * HANDOFF leaves, one when it is acknowledged, with milliseconds). */
	struct { uint16_t seq; uint8_t tries; bool used; uint32_t hid; uint64_t first_ms; } ho[16];
	uint64_t addr_event_ms;		/* the last address event, monotonic */
	uint64_t handoffs_acked, handoff_ms_last, handoff_ms_max;
	int (*reloader)(struct dimed *d);
	bool rules_installed;
	bool rt_dump_done;
	bool ct_dump_done;
	uint64_t ticks;
	uint64_t nfq_truncated_dropped;
	uint64_t pins_added, pins_removed, pin_errors;
	uint64_t ct_ignored;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sockets_sync(struct dimed *d, const char *why);

/* ---- packets ------------------------------------------------------------ */

/* Only packets of moved hosts are queued. One we cannot take back whole
 * cannot be rewritten: drop it (dataplane.h's policy). */
static bool unrewritable(struct dimed *d, const struct nfqio_packet *p)
{
	if (!p->truncated && p->cap != 0)
		return false;
	d->nfq_truncated_dropped++;
	return true;
}

static unsigned pkt_flags(const struct nfqio_packet *p)
{
	return ((p->skbinfo & NFQA_SKB_CSUMNOTREADY) ? PKT_F_CSUM_PARTIAL : 0) |
	       ((p->skbinfo & NFQA_SKB_GSO) ? PKT_F_GSO : 0);
}

static enum nfqio_verdict_kind verdict_of(enum dp_verdict v)
{
	switch (v) {
	case DP_ACCEPT: return NFQIO_ACCEPT;
	case DP_ACCEPT_MODIFIED: return NFQIO_ACCEPT_MODIFIED;
	case DP_DROP:
	case DP_HELD:
	default: return NFQIO_DROP;
	}
}

static bool hold_packet(struct dimed *d, const struct nfqio_packet *p);
static void state_mark(struct dimed *d);

/* One packet: only while a queue is being bound, before the loop runs. */
static enum nfqio_verdict_kind on_packet(void *ctx, struct nfqio_packet *p)
{
	struct queue_ctx *q = ctx;

	if (unrewritable(q->d, p))
		return NFQIO_DROP;
	return verdict_of(dp_packet(q->d->dp, q->dir, p->payload, p->len, pkt_flags(p), now_ms()));
}

/* A round of packets: through the data plane in bursts, so their table
 * lookups overlap (dp_packet_burst). */
static void on_batch(void *ctx, struct nfqio_packet *pkts, enum nfqio_verdict_kind *verdicts,
		     uint32_t n)
{
	struct queue_ctx *q = ctx;
	struct dp_burst_item items[BURST_MAX];
	uint32_t index[BURST_MAX];
	uint64_t now = now_ms();

	for (uint32_t start = 0; start < n; start += BURST_MAX) {
		uint32_t end = n - start > BURST_MAX ? start + BURST_MAX : n, m = 0;

		for (uint32_t i = start; i < end; i++) {
			if (unrewritable(q->d, &pkts[i])) {
				verdicts[i] = NFQIO_DROP;
				continue;
			}
			items[m] = (struct dp_burst_item){ .buf = pkts[i].payload, .len = pkts[i].len,
							   .flags = pkt_flags(&pkts[i]) };
			index[m++] = i;
		}
		q->d->nheld_map = 0;
		dp_packet_burst(q->d->dp, q->dir, items, m, now);
		for (uint32_t j = 0; j < m; j++) {
			uint32_t i = index[j];

			verdicts[i] = verdict_of(items[j].verdict);
			if (items[j].verdict == DP_HELD && hold_packet(q->d, &pkts[i]))
				verdicts[i] = NFQIO_HOLD;
		}
	}
}

/* ---- IHMP -------------------------------------------------------------- */

/* Addresses IHMP never talks to: a HELLO to them would go nowhere useful. */
static bool signalable(const struct dime_addr *a)
{
	if (a->family == AF_INET)
		return a->a.u8[0] != 127 && a->a.u8[0] < 224 && !(a->a.u8[0] == 169 && a->a.u8[1] == 254) &&
		       a->a.u8[0] != 0;
	return a->family == AF_INET6 && a->a.u8[0] != 0xff && !(a->a.u8[0] == 0xfe && (a->a.u8[1] & 0xc0) == 0x80) &&
	       !IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)a->a.u8) &&
	       !IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)a->a.u8);
}

/* The host's locators now, to `dimectl monitor`. */
static void event_locators(struct dimed *d, uint32_t hid)
{
	const struct dime_hid_entry *h;
	struct ctl_event ev = { .kind = CTL_EV_LOCATORS, .hid = hid };

	if (!ctl_server_monitored(d->ctl) || !(h = dime_hid_get(d->hids, hid)))
		return;
	memcpy(ev.rloc, h->rloc, sizeof(ev.rloc));
	memcpy(ev.lloc, h->lloc, sizeof(ev.lloc));
	ctl_server_event(d->ctl, &ev);
}

static void log_locators(struct dimed *d, uint32_t hid)
{
	const struct dime_hid_entry *h = dime_hid_get(d->hids, hid);
	char id[DIME_ADDR_STRLEN], r4[DIME_ADDR_STRLEN], l4[DIME_ADDR_STRLEN];
	char r6[DIME_ADDR_STRLEN], l6[DIME_ADDR_STRLEN];

	if (!h)
		return;
	dime_addr_fmt(h->active.n ? &h->active.addr[0] : &h->rloc[DIME_AF4], id, sizeof(id));
	dime_addr_fmt(&h->rloc[DIME_AF4], r4, sizeof(r4));
	dime_addr_fmt(&h->lloc[DIME_AF4], l4, sizeof(l4));
	dime_addr_fmt(&h->rloc[DIME_AF6], r6, sizeof(r6));
	dime_addr_fmt(&h->lloc[DIME_AF6], l6, sizeof(l6));
	if (h->moved)
		log_info("host %s (hid %#x): locators remote %s %s, local %s %s%s%s", id, hid, r4, r6,
			 l4, l6,
			 h->out_held[0] || h->out_held[1] ? "; output held until the peer acknowledges" : "",
			 h->rloc_unvalidated[0] || h->rloc_unvalidated[1] ?
				 "; new remote path being validated (3x budget until then)" : "");
	else
		log_debug("host %s (hid %#x): sets changed, %u active, %u unreachable, %u local", id,
			  hid, h->active.n, h->unreach.n, h->local.n);
}

/* TCP-LD (sockkill.h): the socket's newest held segment per flow. */
static struct kick *kick_find(struct dimed *d, const struct dime_flow *flow, bool create)
{
	struct kick *free_slot = NULL;

	for (unsigned int i = 0; i < KICKS_MAX; i++) {
		struct kick *k = &d->kicks[i];

		if (k->hid == DIME_HID_NONE) {
			if (!free_slot)
				free_slot = k;
			continue;
		}
		if (k->hid == flow->hid && k->key.lport == flow->lport && k->key.rport == flow->rport &&
		    dime_addr_eq(&k->key.lid, &flow->lid) && dime_addr_eq(&k->key.rid, &flow->rid))
			return k;
	}
	if (!create)
		return NULL;
	if (!free_slot) {
		d->kicks_dropped++;
		return NULL;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->hid = flow->hid;
	free_slot->key.proto = flow->proto;
	free_slot->key.lid = flow->lid;
	free_slot->key.rid = flow->rid;
	free_slot->key.lport = flow->lport;
	free_slot->key.rport = flow->rport;
	return free_slot;
}

/* A TCP segment's header, found by the packet parser the data plane
 * uses: the header's offset, and the payload length (GSO packets carry
 * more than one segment's worth). False for anything else. */
static bool tcp_segment(const uint8_t *buf, size_t len, size_t *th, size_t *payload)
{
	struct pkt_info info;
	size_t thl;

	if (pkt_parse(buf, len, &info) < 0 || info.ip.proto != IPPROTO_TCP ||
	    !(info.ip.flags & PKT_IP_PORTS) || (size_t)info.ip.l4off + 20 > len)
		return false;
	*th = info.ip.l4off;
	thl = (size_t)(buf[*th + 12] >> 4) * 4;
	*payload = info.ip.len > *th + thl ? info.ip.len - *th - thl : 0;
	return true;
}

/* Data plane: a segment of a flow whose output is held was dropped. Tell
 * the socket TCP-LD style, so its RTO does not back off while the path is
 * gone, and keep the segment for the kick when the hold ends. Never for a
 * connection still opening: an unreachable aborts a connect(). */
static void on_held(void *ctx, const struct dime_flow *flow, const uint8_t *buf, size_t len)
{
	struct dimed *d = ctx;
	uint64_t now = now_ms();
	struct kick *k;

	size_t th, payload;

	if (!d->sk || flow->proto != IPPROTO_TCP || flow->tcp_state != DIME_TCP_ESTABLISHED ||
	    !tcp_segment(buf, len, &th, &payload) || payload == 0)
		return;
	k = kick_find(d, flow, true);
	if (!k)
		return;
	k->len = (uint16_t)(len < SOCKKILL_QUOTE_MAX ? len : SOCKKILL_QUOTE_MAX);
	memcpy(k->pkt, buf, k->len);
	if (d->nheld_map < BURST_MAX)
		d->held_map[d->nheld_map++] = (struct held_map){ buf, k };
	if (now - k->last_ms >= KICK_MIN_GAP_MS) {
		k->last_ms = now;
		sockkill_tcp_ld(d->sk, k->pkt, k->len);
	}
}

/* Settle a held segment: rewritten now that the hold is over (send), or
 * dropped. The socket retransmits a dropped one by itself. */
static void held_settle(struct dimed *d, struct kick *k, bool send)
{
	enum nfqio_verdict_kind v = NFQIO_DROP;
	int err;

	if (!k->held)
		return;
	if (send) {
		v = verdict_of(dp_packet(d->dp, DIME_DIR_OUT, k->held, k->held_len, k->held_flags,
					 now_ms()));
		d->held_released += v != NFQIO_DROP;
	}
	err = nfqio_verdict(d->nfq_out, k->held_id, v, k->held, k->held_len);
	if (err < 0)
		log_warn_e(err, "queue %u: verdict for held packet %u", d->cfg.queue_out, k->held_id);
	free(k->held);
	k->held = NULL;
}

/* The hold on hid's output ended (send) or its host is gone: the newest
 * held segment of each flow leaves now, rewritten, and a socket with none
 * held gets a TCP-LD kick so it retransmits now instead of at its next
 * (backed-off) timeout. */
static void kicks_release(struct dimed *d, uint32_t hid, bool send)
{
	const struct dime_hid_entry *h = dime_hid_get(d->hids, hid);

	for (unsigned int i = 0; d->kicks && i < KICKS_MAX; i++) {
		struct kick *k = &d->kicks[i];

		if (k->hid != hid)
			continue;
		/* Each family is handed off (and its new path validated) on
		 * its own: its flows wait for it. */
		if (send && h && (h->out_held[dime_af_index(k->key.lid.family)] ||
				  h->rloc_unvalidated[dime_af_index(k->key.lid.family)]))
			continue;
		if (k->held)
			held_settle(d, k, send);
		else if (send)
			sockkill_tcp_ld(d->sk, k->pkt, k->len);
		k->hid = DIME_HID_NONE;
	}
}

/* A packet the data plane held (DP_HELD) in this burst: keep the newest
 * segment of each TCP flow queued in the kernel (the older one goes), so
 * it can leave the moment the peer acknowledges our new address. Returns
 * true when the packet is kept (verdict NFQIO_HOLD). */
static bool hold_packet(struct dimed *d, const struct nfqio_packet *p)
{
	struct kick *k = NULL;

	for (unsigned int i = 0; i < d->nheld_map && !k; i++)
		if (d->held_map[i].buf == p->payload)
			k = d->held_map[i].kick;
	if (!k || p->len > HOLD_BYTES_MAX || p->truncated || p->cap == 0)
		return false;
	if (k->held) {
		held_settle(d, k, false);
		d->held_replaced++;
	}
	k->held = malloc(p->len);
	if (!k->held)
		return false;
	memcpy(k->held, p->payload, p->len);
	k->held_len = p->len;
	k->held_id = p->id;
	k->held_flags = pkt_flags(p);
	d->held_kept++;
	return true;
}

/* Has hid's locator epoch been probed already? Records it if not. */
static bool probed_before(struct dimed *d, const struct dime_hid_entry *h)
{
	for (unsigned int i = 0; i < PROBED_HOSTS; i++) {
		if (d->probed[i].hid != h->hid)
			continue;
		if (d->probed[i].epoch == h->epoch)
			return true;
		d->probed[i].epoch = h->epoch;
		return false;
	}
	d->probed[d->probed_next].hid = h->hid;
	d->probed[d->probed_next].epoch = h->epoch;
	d->probed_next = (d->probed_next + 1) % PROBED_HOSTS;
	return false;
}

/*
 * A host's locators changed and nothing of it is held any more: a TCP
 * sender on either end may be sleeping out a backed-off timeout. Probe
 * every established connection to it; the ACK each probe draws carries
 * the sender's oldest unacknowledged byte (sockkill.h).
 */
static void probe_senders(struct dimed *d, uint32_t hid)
{
	const struct dime_hid_entry *h = dime_hid_get(d->hids, hid);
	uint32_t cursor = 0;
	struct dime_flow *f;
	int err;

	if (!d->sk || !h || !h->moved || h->out_held[DIME_AF4] || h->out_held[DIME_AF6] ||
	    h->rloc_unvalidated[DIME_AF4] || h->rloc_unvalidated[DIME_AF6] || probed_before(d, h))
		return;
	while ((f = dime_flow_iter(d->flows, &cursor))) {
		if (f->hid != hid || f->proto != IPPROTO_TCP || f->tcp_state != DIME_TCP_ESTABLISHED)
			continue;
		if ((err = sockkill_tcp_probe(d->sk, f)) < 0) {
			char a[DIME_ADDR_STRLEN];

			d->probes_failed++;
			log_debug("flow to %s port %u: probe not sent: %s",
				  dime_addr_fmt(&f->rid, a, sizeof(a)), f->rport, strerror(-err));
			continue;
		}
		dp_flow_watch_ack(d->dp, f);
		d->watch_until = now_ms() + PROBE_WINDOW_MS;
	}
}

/* Data plane: a packet of a watched flow arrived. If it is our probe's
 * answer, wake our socket with its acknowledgement number. */
static void on_ack_seen(void *ctx, struct dime_flow *flow, const uint8_t *buf, size_t len)
{
	struct dimed *d = ctx;
	size_t th, payload;
	uint32_t ack;

	if (!tcp_segment(buf, len, &th, &payload) || !(buf[th + 13] & 0x10))
		return;
	ack = (uint32_t)buf[th + 8] << 24 | (uint32_t)buf[th + 9] << 16 |
	      (uint32_t)buf[th + 10] << 8 | buf[th + 11];
	flow->ack_watch = 0;
	d->acks_seen++;
	sockkill_tcp_ld_seq(d->sk, flow, ack, LD_BURST);
}

/* The probes' window is over: stop watching. */
static void watch_expire(struct dimed *d)
{
	uint32_t cursor = 0;
	struct dime_flow *f;

	if (!d->watch_until || now_ms() < d->watch_until)
		return;
	while ((f = dime_flow_iter(d->flows, &cursor)))
		f->ack_watch = 0;
	d->watch_until = 0;
}

static void on_peer_flow_lost(void *ctx, const struct dime_flow *flow)
{
	struct dimed *d = ctx;
	char a[DIME_ADDR_STRLEN];
	int err = sockkill_flow(d->sk, flow);

	if (err < 0 && err != -ENOENT && err != -EOPNOTSUPP)
		log_warn_e(err, "flow to %s port %u: cannot tell the socket",
			   dime_addr_fmt(&flow->rid, a, sizeof(a)), flow->rport);
}

static void peer_lost(struct dimed *d, uint32_t hid)
{
	const struct dime_hid_entry *h = dime_hid_get(d->hids, hid);
	char a[DIME_ADDR_STRLEN];

	if (!h)
		return;
	log_notice("host %s (hid %#x): no address of ours reached it for %u s: its %u connections get an error",
		   dime_addr_fmt(h->active.n ? &h->active.addr[0] : &h->rloc[DIME_AF4], a, sizeof(a)),
		   hid, d->cfg.hold_ms / 1000, h->refs);
	ctl_server_event(d->ctl, &(struct ctl_event){ .kind = CTL_EV_PEER_LOST, .hid = hid,
		.addr = h->active.n ? h->active.addr[0] : h->rloc[DIME_AF4],
		.text = "no address of ours reached it within the hold time" });
	kicks_release(d, hid, false);
	dp_hid_drop(d->dp, hid, on_peer_flow_lost, d);
}

/* One IHMP message at debug level, for following a hand-off in the
 * journal: type, sequence number, flags, host and addresses it carries. */
static void log_ihmp_msg(const char *dir, size_t len, int err, const struct ihmp_msg *msg,
			 const struct dime_addr *src, const struct dime_addr *dst)
{
	char s[DIME_ADDR_STRLEN], t[DIME_ADDR_STRLEN], h[DIME_ADDR_STRLEN];
	char n[DIME_ADDR_STRLEN], o[DIME_ADDR_STRLEN];

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	dime_addr_fmt(src, s, sizeof(s));
	dime_addr_fmt(dst, t, sizeof(t));
	if (err < 0) {
		log_debug("IHMP %s %s -> %s: %zu bytes, malformed (%s)", dir, s, t, len,
			  strerror(-err));
		return;
	}
	log_debug("IHMP %s %s -> %s: %s%s%s seq %u flags %#x host %s new %s old %s", dir, s, t,
		  ihmp_type_name(msg->type), msg->type == IHMP_ACK ? " of " : "",
		  msg->type == IHMP_ACK ? ihmp_type_name(msg->acked_type) : "", msg->seq, msg->flags,
		  dime_addr_fmt(&msg->host_id, h, sizeof(h)), dime_addr_fmt(&msg->new_addr, n, sizeof(n)),
		  dime_addr_fmt(&msg->old_addr, o, sizeof(o)));
}

/* A HANDOFF leaves (first try or retransmission): info, and monitor. */
static void handoff_sent(struct dimed *d, const struct ihmp_action *a, const struct ihmp_msg *m)
{
	char dst[DIME_ADDR_STRLEN], n[DIME_ADDR_STRLEN], o[DIME_ADDR_STRLEN];
	uint64_t now = now_ms();
	unsigned int free_i = 0, i;

	for (i = 0; i < 16; i++) {
		if (d->ho[i].used && d->ho[i].seq == m->seq && d->ho[i].hid == a->hid)
			break;
		if (!d->ho[i].used || d->ho[i].first_ms < d->ho[free_i].first_ms)
			free_i = i;
	}
	if (i == 16) {
		i = free_i;
		d->ho[i].used = true;
		d->ho[i].seq = m->seq;
		d->ho[i].hid = a->hid;
		d->ho[i].first_ms = now;
		d->ho[i].tries = 0;
	}
	d->ho[i].tries++;
	log_info("host %s (hid %#x): %s sent from %s, old %s (%u sent so far, %llu ms after the address event)",
		 dime_addr_fmt(&a->dst, dst, sizeof(dst)), a->hid, ihmp_type_name(m->type),
		 dime_addr_fmt(&m->new_addr, n, sizeof(n)), dime_addr_fmt(&m->old_addr, o, sizeof(o)),
		 d->ho[i].tries, (unsigned long long)(now - d->addr_event_ms));
	ctl_server_event(d->ctl, &(struct ctl_event){ .kind = CTL_EV_HANDOFF_SENT, .hid = a->hid,
		.addr = a->dst, .has_value = true, .value = d->ho[i].tries });
}

/* An ACK of a HANDOFF arrived: how long the hand-off took. */
static void handoff_acked(struct dimed *d, const struct dime_addr *from, const struct ihmp_msg *m)
{
	char a[DIME_ADDR_STRLEN];
	uint64_t now = now_ms(), ms;
	uint32_t hid = dime_hid_lookup(d->hids, from);

	for (unsigned int i = 0; i < 16; i++) {
		if (!d->ho[i].used || d->ho[i].seq != m->seq)
			continue;
		ms = now - d->ho[i].first_ms;
		d->ho[i].used = false;
		d->handoffs_acked++;
		d->handoff_ms_last = ms;
		if (ms > d->handoff_ms_max)
			d->handoff_ms_max = ms;
		log_info("host %s (hid %#x): HANDOFF acknowledged after %llu ms (%llu ms after the address event)",
			 dime_addr_fmt(from, a, sizeof(a)), hid, (unsigned long long)ms,
			 (unsigned long long)(now - d->addr_event_ms));
		ctl_server_event(d->ctl, &(struct ctl_event){ .kind = CTL_EV_HANDOFF_ACKED, .hid = hid,
			.addr = *from, .has_value = true, .value = ms });
		return;
	}
}

/*
 * Carry out what the state machine asked for: the data plane first, the
 * messages after. An ACK of a HANDOFF must not leave before our kernel
 * sets steer the peer's new address: the peer releases its held segments
 * the moment the ACK arrives, and one that reached our stack untranslated
 * would meet no socket and draw a RST that kills the connection.
 */
/* Does this batch send a HANDOFF to hid? Its flows are probed when the
 * ACK arrives (on_ihmp_rx), not now: the peer still answers a probe at our
 * old address, and an answer lost there is not drawn again for half a
 * second (the peer's tcp_invalid_ratelimit). */
static bool batch_hands_off(const struct ihmp_actions *acts, uint32_t hid)
{
	for (unsigned int i = 0; i < acts->n; i++) {
		const struct ihmp_action *a = &acts->a[i];
		/* Our own encoding: the type is the header's second byte. */
		if (a->type != IHMP_ACT_SEND || a->hid != hid || a->len < IHMP_HDR_LEN)
			continue;
		if (a->buf[1] == IHMP_HANDOFF || a->buf[1] == IHMP_HANDOFF_UNREACHABLE)
			return true;
	}
	return false;
}

static bool batch_moves_locators(const struct ihmp_actions *acts)
{
	for (unsigned int i = 0; i < acts->n; i++)
		if (acts->a[i].type == IHMP_ACT_LOCATORS_CHANGED)
			return true;
	return false;
}

static void ihmp_act(struct dimed *d)
{
	struct ihmp_actions *acts = d->acts;

	/* A peer's flows start being translated now: those opened since the
	 * last socket dump must be known before the ACK leaves. */
	if (batch_moves_locators(acts))
		sockets_sync(d, "locators changed");

	for (unsigned int i = 0; i < acts->n; i++) {
		const struct ihmp_action *a = &acts->a[i];

		if (a->type != IHMP_ACT_SEND)
			state_mark(d);
		switch (a->type) {
		case IHMP_ACT_SEND:
			break;
		case IHMP_ACT_LOCATORS_CHANGED:
			dp_hid_sync(d->dp, a->hid);
			kicks_release(d, a->hid, true);
			if (!batch_hands_off(acts, a->hid))
				probe_senders(d, a->hid);
			log_locators(d, a->hid);
			event_locators(d, a->hid);
			break;
		case IHMP_ACT_PEER_LOST:
			peer_lost(d, a->hid);
			break;
		}
	}
	for (unsigned int i = 0; i < acts->n; i++) {
		const struct ihmp_action *a = &acts->a[i];
		struct ihmp_msg m;
		int err;

		if (a->type != IHMP_ACT_SEND)
			continue;
		err = ihmp_decode(a->buf, a->len, &m);
		if (err == 0 && (m.type == IHMP_HANDOFF || m.type == IHMP_HANDOFF_UNREACHABLE))
			handoff_sent(d, a, &m);
		log_ihmp_msg("tx", a->len, err, &m, &a->src, &a->dst);
		ihmpio_send(d->io, &a->src, &a->dst, a->dport, a->buf, a->len, now_ms());
	}
	acts->n = 0;
}

/*
 * A HANDOFF or ADDR_UP brings an address that a host entry without IHMP
 * state already owns (made for a flow before anyone knew whose address it
 * was, say a connection adopted from conntrack after a restart): that entry
 * is this peer. Merge it first, or the state machine could not claim the
 * address and the peer's flows would not be translated.
 */
static void claim_new_address(struct dimed *d, const struct ihmp_msg *m)
{
	uint32_t owner = dime_hid_lookup(d->hids, &m->new_addr);
	uint32_t peer = dime_hid_lookup(d->hids, &m->host_id);
	const struct dime_hid_entry *o = dime_hid_get(d->hids, owner);
	const struct dime_hid_entry *p;
	char a[DIME_ADDR_STRLEN];
	int err;

	if (!o || o->ihmp)
		return;
	if (!dime_hid_get(d->hids, peer) && dime_addr_is_set(&m->old_addr))
		peer = dime_hid_lookup(d->hids, &m->old_addr);
	p = dime_hid_get(d->hids, peer);
	if (!p || !p->ihmp || peer == owner)
		return;
	err = dp_hid_merge(d->dp, peer, owner, now_ms());
	dime_addr_fmt(&m->new_addr, a, sizeof(a));
	if (err < 0)
		log_warn_e(err, "host entry %#x (%s) is peer %#x's, but cannot be merged", owner, a,
			   peer);
	else
		log_info("host entry %#x (%s) was peer %#x's: merged", owner, a, peer);
}

/* ihmp (after authentication): a request is about to be applied to hid. */
static void before_apply(void *ctx, uint32_t hid, const struct ihmp_msg *m)
{
	(void)hid;
	if (m->type == IHMP_HANDOFF || m->type == IHMP_ADDR_UP)
		claim_new_address(ctx, m);
}

/* A datagram the state machine dropped, at debug level, at most
 * RX_DROP_LOG_PER_S a second: a flood must not become a flood of lines. */
static bool rx_drop_loggable(struct dimed *d)
{
	uint64_t now = now_ms();

	if (now - d->rx_drop_log_ms >= 1000) {
		if (d->rx_drop_unlogged)
			log_debug("IHMP: %llu dropped datagrams not logged in the last second",
				  (unsigned long long)d->rx_drop_unlogged);
		d->rx_drop_log_ms = now;
		d->rx_drop_logged = 0;
		d->rx_drop_unlogged = 0;
	}
	if (d->rx_drop_logged < RX_DROP_LOG_PER_S) {
		d->rx_drop_logged++;
		return true;
	}
	d->rx_drop_unlogged++;
	return false;
}

static void on_ihmp_rx(void *ctx, const uint8_t *buf, size_t len, const struct dime_addr *src,
		       uint16_t sport, const struct dime_addr *dst)
{
	struct dimed *d = ctx;
	struct ihmp_msg m;
	bool applied, handoff_ack;
	int err;

	ihmp_input(d->ih, buf, len, src, sport, dst, now_ms(), d->acts);
	applied = ihmp_input_applied(d->ih);
	/* Decoded again for the journal and the hand-off figures: only what
	 * the state machine accepted, so forged ACKs move no figure and wake
	 * no socket. */
	err = ihmp_decode(buf, len, &m);
	if (applied || rx_drop_loggable(d))
		log_ihmp_msg(applied ? "rx" : "rx (dropped)", len, err, &m, src, dst);
	handoff_ack = applied && err == 0 && m.type == IHMP_ACK &&
		      (m.acked_type == IHMP_HANDOFF || m.acked_type == IHMP_HANDOFF_UNREACHABLE);
	if (handoff_ack)
		handoff_acked(d, src, &m);
	ihmp_act(d);
	/* The peer took our new address in before it answered: a probe's
	 * answer now comes back on the new path, with the acknowledgement
	 * number our sockets may have missed on the old one. */
	if (handoff_ack)
		probe_senders(d, dime_hid_lookup(d->hids, src));
}

static void on_addr_change(void *ctx, enum addrwatch_change change, const struct dime_addr *addr)
{
	struct dimed *d = ctx;
	char a[DIME_ADDR_STRLEN];
	int err;

	dime_addr_fmt(addr, a, sizeof(a));
	d->addr_event_ms = now_ms();
	ctl_server_event(d->ctl, &(struct ctl_event){
		.kind = change == ADDRWATCH_UP ? CTL_EV_ADDR_UP : CTL_EV_ADDR_DOWN, .addr = *addr });
	if (change == ADDRWATCH_UP) {
		log_info("address %s is up: telling peers", a);
		err = ihmp_local_addr_up(d->ih, addr, now_ms(), d->acts);
	} else {
		log_info("address %s is gone: telling peers", a);
		err = ihmp_local_addr_down(d->ih, addr, now_ms(), d->acts);
	}
	if (err < 0)
		log_warn_e(err, "address %s: IHMP did not take the change", a);
	ihmp_act(d);
}

/* A flow we opened to a host IHMP does not know yet: say HELLO. */
static void ihmp_maybe_hello(struct dimed *d, const struct dime_flow_key *key)
{
	uint32_t hid;
	struct dime_hid_entry *e;
	int err;

	if (!d->ih || !signalable(&key->rid))
		return;
	hid = dime_hid_lookup(d->hids, &key->rid);
	e = dime_hid_get(d->hids, hid);
	if (!e)
		return;
	e->used_ms = now_ms();
	if (e->ihmp)
		return;
	err = ihmp_hid_created(d->ih, hid, now_ms(), d->acts);
	if (err < 0 && err != -EEXIST)
		log_debug("hid %#x: no HELLO: %s", hid, strerror(-err));
	ihmp_act(d);
}

/* Peers with IHMP state and no flow for PEER_LINGER_MS go. */
static void peer_gc(struct dimed *d)
{
	uint64_t now = now_ms();

	for (uint32_t hid = dime_hid_next(d->hids, DIME_HID_NONE); hid != DIME_HID_NONE;
	     hid = dime_hid_next(d->hids, hid)) {
		struct dime_hid_entry *e = dime_hid_get(d->hids, hid);

		if (!e || !e->ihmp || e->refs || now - e->used_ms < PEER_LINGER_MS)
			continue;
		ihmp_hid_forget(d->ih, hid);
		kicks_release(d, hid, false);
		dp_hid_drop(d->dp, hid, NULL, NULL);
	}
}

static int control_plane_open(struct dimed *d)
{
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ihmpio_config io = { .port = d->cfg.ihmp_port, .mark = d->cfg.mark,
				    .ipv6 = d->cfg.ipv6 };
	int err;

	addrwatch_init(&d->aw, (int)if_nametoindex("lo"), ADDRWATCH_DEBOUNCE_MS);
	if (!d->cfg.ihmp) {
		log_notice("IHMP is off (ihmp no): locators change only by dimectl set-locator");
		return 0;
	}
	ic.port = d->cfg.ihmp_port;
	ic.rto_ms = d->cfg.ihmp_rto_ms;
	ic.hold_ms = d->cfg.hold_ms;
	ic.hello_tries = d->cfg.hello_tries;
	ic.handoff_tries = d->cfg.handoff_tries;
	ic.path_validation = d->cfg.ihmp_path_validation;
	ic.before_apply = before_apply;
	ic.before_apply_ctx = d;
	if ((err = ihmpkeys_setup(&d->cfg, &ic, &d->keys)) < 0)
		return err;
	d->acts = calloc(1, sizeof(*d->acts));
	d->kicks = calloc(KICKS_MAX, sizeof(*d->kicks));
	if (!d->acts || !d->kicks)
		return -ENOMEM;
	if ((err = ihmp_new(&d->ih, d->hids, &ic)) < 0) {
		log_err_e(err, "IHMP: cannot start the state machine");
		return err;
	}
	if ((err = ihmpio_open(&d->io, &io, on_ihmp_rx, d)) < 0 ||
	    (err = sockkill_open(&d->sk, d->cfg.mark)) < 0)
		return err;
	return 0;
}

static void control_plane_close(struct dimed *d)
{
	/* Held packets stay in the kernel's queue, which drops them when it is
	 * unbound; only our copies go here. */
	for (unsigned int i = 0; d->kicks && i < KICKS_MAX; i++)
		free(d->kicks[i].held);
	ihmpio_close(d->io);
	sockkill_close(d->sk);
	if (d->ih)
		ihmp_free(d->ih);
	ihmpkeys_free(d->keys);	/* after ihmp, which points at the keys */
	d->keys = NULL;
	free(d->acts);
	free(d->kicks);
	d->io = NULL;
	d->sk = NULL;
	d->ih = NULL;
	d->acts = NULL;
	d->kicks = NULL;
}

/* ---- state file (statefile.h) --------------------------------------------------- */

/* Next to the control socket, so two daemons (namespaces, tests) never
 * share one: /run/dime/dimed.sock -> /run/dime/dimed.state. */
static void state_path_init(struct dimed *d)
{
	const char *p = d->cfg.ctl_path;
	size_t n = strlen(p);

	if (d->cfg.state_path) {
		snprintf(d->state_path, sizeof(d->state_path), "%s", d->cfg.state_path);
		return;
	}
	if (n > 5 && strcmp(p + n - 5, ".sock") == 0)
		n -= 5;
	snprintf(d->state_path, sizeof(d->state_path), "%.*s.state", (int)n, p);
}

/* What a run killed before it could restore its sysctls left in their
 * journal (sysctl.h) goes back first, so this run records the host's own
 * values as the originals, not ours. */
static void sysctls_take_over(struct dimed *d)
{
	char path[sizeof(d->state_path) + 8];
	int err;

	snprintf(path, sizeof(path), "%s.sysctl", d->state_path);
	if ((err = sysctl_journal_recover(path)) < 0 && err != -EINVAL)
		log_warn_e(err, "sysctl journal %s", path);
	if ((err = sysctl_journal(path)) < 0)
		log_warn_e(err, "sysctl journal %s: not kept", path);
}

static void state_mark(struct dimed *d)
{
	d->state_dirty = true;
}

/* Flows of translated hosts are in the state file (their identifiers). */
static void state_mark_if_moved(struct dimed *d, const struct dime_addr *rid)
{
	const struct dime_hid_entry *h = dime_hid_get(d->hids, dime_hid_lookup(d->hids, rid));

	if (h && h->moved)
		d->state_dirty = true;
}

static bool set_has(const struct dime_addr_set *s, const struct dime_addr *a)
{
	return dime_addr_set_has(s, a);
}

static void copy_set(struct state_set *to, const struct dime_addr_set *from)
{
	to->n = 0;
	for (uint32_t i = 0; i < from->n && to->n < STATE_SET_MAX; i++)
		to->addr[to->n++] = from->addr[i];
}

/* What a restart needs: the hosts whose flows are translated (their
 * locators differ from what the flows bound), with the identifiers those
 * flows bound, and our pins. Everything else is learnt again from the
 * kernel and from IHMP. */
/* hid -> 1 + index in st->hosts, open addressing (size a power of two
 * above twice the hosts, so there is always a free slot). */
struct host_map {
	uint32_t mask;
	uint32_t *hid, *idx;
};

static uint32_t *map_slot(const struct host_map *m, uint32_t hid)
{
	uint32_t i = (hid * 2654435761u) & m->mask;

	while (m->hid[i] && m->hid[i] != hid)
		i = (i + 1) & m->mask;
	return &m->hid[i];
}

static int state_collect(struct dimed *d, struct state *st)
{
	struct host_map m = { 0 };
	uint32_t size = 4, cursor = 0;
	struct dime_flow *f;

	while (size < 2 * dime_hid_count(d->hids) + 2)
		size <<= 1;
	m.mask = size - 1;
	m.hid = calloc(size, sizeof(*m.hid));
	m.idx = calloc(size, sizeof(*m.idx));

	memset(st, 0, sizeof(*st));
	st->hosts = calloc(dime_hid_count(d->hids) + 1, sizeof(*st->hosts));
	if (!m.hid || !m.idx || !st->hosts) {
		free(m.hid);
		free(m.idx);
		free(st->hosts);
		st->hosts = NULL;
		return -ENOMEM;
	}
	for (uint32_t hid = dime_hid_next(d->hids, DIME_HID_NONE); hid != DIME_HID_NONE;
	     hid = dime_hid_next(d->hids, hid)) {
		const struct dime_hid_entry *h = dime_hid_get(d->hids, hid);
		struct state_host *sh;

		if (!h || !h->moved || st->nhosts >= STATE_HOSTS_MAX)
			continue;
		sh = &st->hosts[st->nhosts++];
		{
			uint32_t *s = map_slot(&m, hid);

			*s = hid;
			m.idx[s - m.hid] = st->nhosts;
		}
		sh->ihmp = h->ihmp != NULL;
		memcpy(sh->rloc, h->rloc, sizeof(sh->rloc));
		memcpy(sh->lloc, h->lloc, sizeof(sh->lloc));
		copy_set(&sh->active, &h->active);
		copy_set(&sh->unreach, &h->unreach);
		copy_set(&sh->local, &h->local);
	}
	while ((f = dime_flow_iter(d->flows, &cursor))) {
		uint32_t *s = map_slot(&m, f->hid);
		uint32_t i = *s ? m.idx[s - m.hid] : 0;
		const struct dime_hid_entry *h = dime_hid_get(d->hids, f->hid);
		struct state_host *sh;
		bool dup = false;

		if (!i || !h)
			continue;
		sh = &st->hosts[i - 1];
		if (set_has(&h->active, &f->rid) || set_has(&h->unreach, &f->rid))
			continue;
		for (uint32_t k = 0; k < sh->nbound && !dup; k++)
			dup = dime_addr_eq(&sh->bound[k], &f->rid);
		if (!dup && sh->nbound < STATE_BOUND_MAX)
			sh->bound[sh->nbound++] = f->rid;
	}
	for (uint32_t i = 0; i < d->local.n && st->npins < STATE_PINS_MAX; i++)
		if (d->local.e[i].pin)
			st->pins[st->npins++] = d->local.e[i].addr;
	free(m.hid);
	free(m.idx);
	return 0;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void state_save(struct dimed *d)
{
	char err[STATE_ERR_MAX];
	struct state st;
	int rc;

	if (!d->state_dirty)
		return;
	d->state_dirty = false;
	if ((rc = state_collect(d, &st)) == 0) {
		st.time_ms = wall_ms();
		rc = statefile_write(d->state_path, &st, err, sizeof(err));
		if (rc < 0)
			log_warnx("state file: %s", err);
		state_free(&st);
	} else {
		log_warn_e(rc, "state file: cannot collect the state");
	}
	rc < 0 ? d->state_write_errors++ : d->state_writes++;
}

/* Put a restored host back: its sets, the identifiers its flows bound
 * (as unreachable addresses, so the flows find it when conntrack's dump
 * brings them back), its locators. */
static int state_restore_host(struct dimed *d, const struct state_host *sh)
{
	uint32_t hid;
	int err = dime_hid_create(d->hids, now_ms(), &hid);

	if (err < 0)
		return err;
	for (uint32_t i = 0; i < sh->active.n && !err; i++)
		err = dime_hid_addr_add(d->hids, hid, DIME_HID_ACTIVE, &sh->active.addr[i]);
	for (uint32_t i = 0; i < sh->unreach.n && !err; i++)
		err = dime_hid_addr_add(d->hids, hid, DIME_HID_UNREACH, &sh->unreach.addr[i]);
	for (uint32_t i = 0; i < sh->local.n && !err; i++)
		err = dime_hid_addr_add(d->hids, hid, DIME_HID_LOCAL, &sh->local.addr[i]);
	for (uint32_t i = 0; i < sh->nbound && !err; i++) {
		err = dime_hid_addr_add(d->hids, hid, DIME_HID_UNREACH, &sh->bound[i]);
		if (err == -ENOSPC)
			err = 0;	/* that flow will make a host of its own */
	}
	for (int f = 0; f < 2 && !err; f++) {
		if (dime_addr_is_set(&sh->rloc[f]))
			err = dime_hid_set_rloc(d->hids, hid, &sh->rloc[f]);
		if (!err && dime_addr_is_set(&sh->lloc[f]))
			err = dime_hid_set_lloc(d->hids, hid, &sh->lloc[f]);
	}
	if (err < 0)
		dime_hid_destroy(d->hids, hid);
	return err;
}

/* After kill -9: the hosts and pins of the run before, so its moved
 * flows (adopted again from conntrack) keep their translation. */
static void state_restore(struct dimed *d)
{
	char err[STATE_ERR_MAX];
	struct state st;
	uint32_t restored = 0;
	uint64_t age;
	int rc = statefile_read(d->state_path, &st, err, sizeof(err));

	if (rc == -ENOENT)
		return;
	if (rc < 0) {
		log_warnx("state file: %s: starting without it", err);
		return;
	}
	age = wall_ms() > st.time_ms ? wall_ms() - st.time_ms : 0;
	if (age > STATE_MAX_AGE_MS) {
		log_notice("state file %s is %llu s old: ignored", d->state_path,
			   (unsigned long long)(age / 1000));
		state_free(&st);
		return;
	}
	for (uint32_t i = 0; i < st.nhosts; i++) {
		rc = state_restore_host(d, &st.hosts[i]);
		if (rc < 0)
			log_warn_e(rc, "state file: host %u not restored", i + 1);
		else
			restored++;
	}
	d->nkept_pins = st.npins;
	memcpy(d->kept_pins, st.pins, st.npins * sizeof(st.pins[0]));
	d->state_hosts = restored;
	log_notice("restored %u moved hosts and %u pins from %s (written %llu ms ago)", restored,
		   st.npins, d->state_path, (unsigned long long)age);
	state_free(&st);
	d->state_dirty = true;
}

/* The pins the state file listed are still on lo: give them back their
 * fallback rules (the flush of stale ones took those). */
static void state_pins_back(struct dimed *d)
{
	for (uint32_t i = 0; i < d->nkept_pins; i++)
		pin_add(&d->kept_pins[i]);
}

/* ---- conntrack ------------------------------------------------------------ */

static uint8_t tcp_state_from_ct(uint8_t ct)
{
	switch (ct) {
	case TCP_CONNTRACK_SYN_SENT:
	case TCP_CONNTRACK_SYN_SENT2:
		return DIME_TCP_SYN_SENT;
	case TCP_CONNTRACK_SYN_RECV:
		return DIME_TCP_SYN_RECV;
	case TCP_CONNTRACK_ESTABLISHED:
		return DIME_TCP_ESTABLISHED;
	case TCP_CONNTRACK_FIN_WAIT:
	case TCP_CONNTRACK_CLOSE_WAIT:
	case TCP_CONNTRACK_LAST_ACK:
	case TCP_CONNTRACK_TIME_WAIT:
		return DIME_TCP_CLOSING;
	case TCP_CONNTRACK_CLOSE:
		return DIME_TCP_CLOSED;
	default:
		return DIME_TCP_NONE;
	}
}

/* The flow as our socket sees it, or false when it is not ours to track:
 * forwarded traffic, loopback, NAT (host NAT must not touch translated
 * flows, and a NATed tuple is not what the socket bound), other protocols. */
static bool orient(const struct dimed *d, const struct ctnl_flow *f, struct dime_flow_key *key)
{
	bool src_local = localaddr_is_local(&d->local, &f->orig_src);
	bool dst_local = localaddr_is_local(&d->local, &f->orig_dst);

	if (src_local == dst_local || (f->status & (IPS_SRC_NAT | IPS_DST_NAT)))
		return false;
	/* IHMP's own datagrams are signalling, not a flow of the peer: as a
	 * flow they would claim a moving host's new address for a new HID. */
	if (f->proto == IPPROTO_UDP &&
	    (f->orig_sport == d->cfg.ihmp_port || f->orig_dport == d->cfg.ihmp_port))
		return false;
	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP && f->proto != IPPROTO_ICMP &&
	    f->proto != IPPROTO_ICMPV6)
		return false;
	memset(key, 0, sizeof(*key));
	key->proto = f->proto;
	if (src_local) {
		key->lid = f->orig_src;
		key->rid = f->orig_dst;
		key->lport = f->orig_sport;
		key->rport = f->orig_dport;
	} else {
		key->lid = f->orig_dst;
		key->rid = f->orig_src;
		key->lport = f->orig_dport;
		key->rport = f->orig_sport;
	}
	return true;
}

static void on_conntrack(void *ctx, enum ctnl_event ev, const struct ctnl_flow *f)
{
	struct dimed *d = ctx;
	struct dime_flow_key key;
	char a[DIME_ADDR_STRLEN];
	int err;

	switch (ev) {
	case CTNL_RESYNC:
		log_notice("conntrack: events lost, dumping the table again");
		if ((err = ctnl_dump(d->ct)) < 0)
			log_warn_e(err, "conntrack: dump");
		return;
	case CTNL_DUMP_DONE:
		d->ct_dump_done = true;
		log_debug("conntrack: dump done, %u flows known", dime_flow_count(d->flows));
		return;
	case CTNL_UPDATE:
		/* TCP state changes: the flow's timeouts and TCP-LD (only for
		 * established connections) depend on it. */
		if (f->proto == IPPROTO_TCP && orient(d, f, &key))
			dp_flow_learn(d->dp, &key, tcp_state_from_ct(f->tcp_state), now_ms());
		return;
	case CTNL_NEW:
	case CTNL_DUMP:
		d->ct_active = true;
		if (!orient(d, f, &key)) {
			d->ct_ignored++;
			return;
		}
		err = dp_flow_learn(d->dp, &key, tcp_state_from_ct(f->tcp_state), now_ms());
		if (err < 0) {
			log_debug("flow to %s port %u not tracked: %s",
				  dime_addr_fmt(&key.rid, a, sizeof(a)), key.rport, strerror(-err));
			return;
		}
		/* We opened it: the peer learns of us by HELLO. */
		if (dime_addr_eq(&key.lid, &f->orig_src))
			ihmp_maybe_hello(d, &key);
		state_mark_if_moved(d, &key.rid);
		return;
	case CTNL_DESTROY:
		if (orient(d, f, &key)) {
			state_mark_if_moved(d, &key.rid);
			dp_flow_forget(d->dp, &key);
		}
		return;
	}
}

/* ---- the socket table ---------------------------------------------------------- */

/*
 * dimed learns flows from sock_diag dumps (learn.h says why not only from
 * conntrack): one at start, one every SOCK_POLL_MS (HELLO for new peers,
 * TCP states, liveness), and one right before anything starts translating
 * (a local address goes, a peer's locators change), so that a connection
 * opened since the last dump is known before its first translated packet.
 * Destroy broadcasts end flows as their sockets go.
 */
#define SOCK_POLL_MS 1000
/* A dump may take at most this share of the loop: the next one waits
 * SOCK_POLL_SHARE times as long as the last one took. */
#define SOCK_POLL_SHARE 50

static bool learn_is_local(void *ctx, const struct dime_addr *addr)
{
	return localaddr_is_local(&((struct dimed *)ctx)->local, addr);
}

static struct learn_ctx learn_ctx_of(struct dimed *d)
{
	return (struct learn_ctx){
		.is_local = learn_is_local,
		.ctx = d,
		.ihmp_port = d->cfg.ihmp_port,
		.listen_now = &d->listen[d->sd_cur],
		.listen_last = &d->listen[!d->sd_cur],
	};
}

static void sock_learn(struct dimed *d, const struct sockdiag_sock *s)
{
	struct learn_ctx c = learn_ctx_of(d);
	struct dime_flow_key key;
	char a[DIME_ADDR_STRLEN];
	bool opened = false;
	uint64_t learned;
	int err;

	switch (learn_socket(&c, s, &key, &opened)) {
	case LEARN_LISTENER:
		learn_ports_add(&d->listen[d->sd_cur], s->sport);
		return;
	case LEARN_UNBOUND_UDP:
		learn_ports_add(&d->udp_open[d->sd_cur], s->sport);
		return;
	case LEARN_IGNORE:
		d->sd_ignored++;
		return;
	case LEARN_FLOW:
		break;
	}
	learned = dp_stats(d->dp)->flows_learned;
	err = dp_flow_learn(d->dp, &key, key.proto == IPPROTO_TCP ? learn_tcp_state(s->state) : DIME_TCP_NONE,
			    now_ms());
	if (err < 0) {
		log_debug("flow to %s port %u not tracked: %s", dime_addr_fmt(&key.rid, a, sizeof(a)),
			  key.rport, strerror(-err));
		return;
	}
	if (opened)
		ihmp_maybe_hello(d, &key);
	/* Every dump reports every flow again: only a new one changes what
	 * the state file must hold. */
	if (dp_stats(d->dp)->flows_learned != learned)
		state_mark_if_moved(d, &key.rid);
}

/* A socket went. A TCP flow lingers as closing for the transitory timeout:
 * its TIME_WAIT minisocket may still answer a retransmitted FIN. */
static void sock_gone(struct dimed *d, const struct sockdiag_sock *s)
{
	struct learn_ctx c = learn_ctx_of(d);
	struct dime_flow_key key;
	bool opened;

	if (learn_socket(&c, s, &key, &opened) != LEARN_FLOW ||
	    !dime_flow_lookup_out(d->flows, &key))
		return;
	state_mark_if_moved(d, &key.rid);
	if (key.proto == IPPROTO_TCP)
		dp_flow_learn(d->dp, &key, DIME_TCP_CLOSING, now_ms());
	else
		dp_flow_forget(d->dp, &key);
}

static void on_sockdiag(void *ctx, enum sockdiag_event ev, const struct sockdiag_sock *s)
{
	struct dimed *d = ctx;

	switch (ev) {
	case SOCKDIAG_DUMP:
		sock_learn(d, s);
		return;
	case SOCKDIAG_DUMP_DONE:
		return;
	case SOCKDIAG_DESTROY:
		sock_gone(d, s);
		return;
	case SOCKDIAG_RESYNC:
		log_notice("sock_diag: socket events lost, dumping the socket table again");
		d->sd_synced = false;
		sockets_sync(d, "events lost");
		return;
	}
}

/* Dump the socket table now (at most once per loop iteration). A failed
 * dump is logged by sockdiag.c; flows opened since the last good one are
 * then learnt from their queued packets, as with conntrack. */
static void sockets_sync(struct dimed *d, const char *why)
{
	uint64_t start = now_ms();
	unsigned int next = !d->sd_cur;
	int n;

	if (!d->sd || d->sd_synced)
		return;
	d->sd_synced = true;
	learn_ports_clear(&d->listen[next]);
	learn_ports_clear(&d->udp_open[next]);
	d->sd_cur = next;
	n = sockdiag_dump(d->sd, d->cfg.ipv6 ? SOCKDIAG_ALL :
				 SOCKDIAG_IPV4 | SOCKDIAG_TCP | SOCKDIAG_UDP);
	if (n < 0) {
		/* Keep the last complete dump's ports. */
		d->sd_cur = !next;
		return;
	}
	d->sd_done_ms = start;
	d->sd_next_ms = now_ms() + (now_ms() - start) * SOCK_POLL_SHARE;
	if (d->sd_next_ms < start + SOCK_POLL_MS)
		d->sd_next_ms = start + SOCK_POLL_MS;
	log_debug("sockets: %d reported (%s), %u flows known", n, why, dime_flow_count(d->flows));
}

static void sockets_poll(struct dimed *d)
{
	if (d->sd && now_ms() >= d->sd_next_ms)
		sockets_sync(d, "periodic");
}

/* An unconnected UDP socket has port open (in the dump under way or the
 * last complete one). */
static bool on_udp_port_open(void *ctx, uint16_t port)
{
	const struct dimed *d = ctx;

	return learn_ports_has(&d->udp_open[0], port) || learn_ports_has(&d->udp_open[1], port);
}

/* Does the socket table, as of its last complete dump, keep flow alive?
 * Only for flows idle since before that dump, which a live connected
 * socket would have refreshed: an unconnected UDP socket on its port. */
static int sockets_keep(const struct dimed *d, const struct dime_flow *flow)
{
	if (!d->sd || !d->sd_done_ms)
		return -1;	/* no answer */
	if (flow->last_ms >= d->sd_done_ms)
		return 1;	/* not asked since: wait for the next dump */
	return flow->proto == IPPROTO_UDP && learn_ports_has(&d->udp_open[d->sd_cur], flow->lport);
}

/* ---- addresses and pins ------------------------------------------------------ */

static bool flows_use_lid(const struct dimed *d, const struct dime_addr *lid)
{
	uint32_t cursor = 0;
	struct dime_flow *f;

	while ((f = dime_flow_iter(d->flows, &cursor)))
		if (dime_addr_eq(&f->lid, lid))
			return true;
	return false;
}

static void pin(struct dimed *d, const struct dime_addr *addr)
{
	char a[DIME_ADDR_STRLEN];
	int err = pin_add(addr);

	dime_addr_fmt(addr, a, sizeof(a));
	if (err < 0) {
		d->pin_errors++;
		log_warn_e(err, "%s: cannot keep the identifier on lo; its flows will stall", a);
		return;
	}
	d->pins_added++;
	state_mark(d);
	log_info("%s: address gone, kept on lo as an identifier for its flows", a);
	ctl_server_event(d->ctl, &(struct ctl_event){ .kind = CTL_EV_PIN_ADDED, .addr = *addr });
}

static void unpin(struct dimed *d, const struct dime_addr *addr, const char *why)
{
	char a[DIME_ADDR_STRLEN];
	int err = pin_del(addr);

	dime_addr_fmt(addr, a, sizeof(a));
	if (err < 0 && err != -EADDRNOTAVAIL && err != -ENOENT) {
		d->pin_errors++;
		log_warn_e(err, "%s: cannot remove the pinned identifier", a);
		return;
	}
	d->pins_removed++;
	state_mark(d);
	log_info("%s: pinned identifier removed (%s)", a, why);
	ctl_server_event(d->ctl, &(struct ctl_event){ .kind = CTL_EV_PIN_REMOVED, .addr = *addr,
		.text = why });
}

/* ignore-interfaces: an address there is never advertised to peers. */
static bool iface_ignored(const struct dimed *d, int ifindex)
{
	char name[IF_NAMESIZE], list[CONF_IFLIST_MAX];
	const char *pat = d->cfg.ignore_interfaces;

	if (!pat || strcmp(pat, "none") == 0 || ifindex <= 0 ||
	    !if_indextoname((unsigned int)ifindex, name))
		return false;
	snprintf(list, sizeof(list), "%s", pat);
	for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
		if (fnmatch(p, name, 0) == 0)
			return true;
	return false;
}

/* An IPv4 address came or went on ifindex: an interface left without one
 * must still take packets for our identifiers (pin.h). */
static void iface_addrless_check(struct dimed *d, int ifindex, uint8_t family)
{
	char name[IF_NAMESIZE];
	bool none;
	int err;

	if (!d->cfg.manage_sysctls || family != AF_INET || ifindex <= 0 ||
	    !if_indextoname((unsigned int)ifindex, name) || strcmp(name, "lo") == 0)
		return;
	none = !localaddr_iface_has(&d->local, ifindex, AF_INET);
	if ((err = pin_iface_addrless(name, none)) < 0 && err != -ENOENT)
		log_warn_e(err, "iface %s: cannot set rp_filter for an interface %s", name,
			   none ? "without IPv4 address" : "with an IPv4 address again");
}

static void on_address(struct dimed *d, const struct rtnl_addr *ra)
{
	bool ours = ra->proto == DIME_IFA_PROTO;

	/* Every socket on the address must be known before its flows are
	 * pinned and handed off. */
	if (ra->deleted && !ours)
		sockets_sync(d, "address removed");

	if (d->ih && (ra->deleted || !iface_ignored(d, ra->ifindex)))
		addrwatch_event(&d->aw, ra, now_ms(), on_addr_change, d);

	if (ra->deleted) {
		localaddr_del(&d->local, &ra->addr, ra->ifindex);
		if (!ours && !localaddr_is_local(&d->local, &ra->addr) && flows_use_lid(d, &ra->addr))
			pin(d, &ra->addr);
		if (!ours)
			iface_addrless_check(d, ra->ifindex, ra->addr.family);
		return;
	}
	if (localaddr_add(&d->local, &ra->addr, ra->ifindex, ours) < 0)
		log_warnx("more than %d local addresses: ignoring one", LOCALADDR_MAX);
	if (!ours)
		iface_addrless_check(d, ra->ifindex, ra->addr.family);
	/* The address came back on a real interface: the pin is redundant. */
	if (!ours && localaddr_is_pin(&d->local, &ra->addr))
		unpin(d, &ra->addr, "address back on an interface");
}

static void on_rtnl(void *ctx, const struct rtnl_event *ev)
{
	struct dimed *d = ctx;
	int err;

	switch (ev->type) {
	case RTNL_EV_ADDR:
		on_address(d, &ev->u.addr);
		return;
	case RTNL_EV_LINK:
		if (d->cfg.manage_sysctls && !ev->u.link.deleted && ev->u.link.ifname[0] &&
		    strcmp(ev->u.link.ifname, "lo") != 0 && (err = pin_prepare_iface(ev->u.link.ifname)) < 0 &&
		    err != -ENOENT)
			log_warn_e(err, "%s: cannot set rp_filter/arp sysctls", ev->u.link.ifname);
		return;
	case RTNL_EV_ROUTE_ADDED:
		ihmpio_retry_now(d->io);
		return;
	case RTNL_EV_RESYNC:
		log_notice("rtnetlink: events lost, dumping addresses again");
		localaddr_clear(&d->local);
		addrwatch_resync_begin(&d->aw);
		if ((err = rtnl_dump(d->rt)) < 0)
			log_warn_e(err, "rtnetlink: dump");
		return;
	case RTNL_EV_DUMP_DONE:
		d->rt_dump_done = true;
		if (d->ih)
			addrwatch_resync_end(&d->aw, now_ms(), on_addr_change, d);
		return;
	}
}

/* Pins whose flows have all ended go. */
static void pin_gc(struct dimed *d)
{
	for (uint32_t i = 0; i < d->local.n; i++) {
		struct dime_addr addr = d->local.e[i].addr;

		if (d->local.e[i].pin && !flows_use_lid(d, &addr))
			unpin(d, &addr, "no flow uses it any more");
	}
}

/* ---- kernel sets -------------------------------------------------------------- */

static int set_op(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b,
		  bool del)
{
	switch (set) {
	case DP_SET_OUT_PAIR:
		return del ? rules_pair_del(RULES_OUT, a, b) : rules_pair_add(RULES_OUT, a, b);
	case DP_SET_IN_PAIR:
		return del ? rules_pair_del(RULES_IN, a, b) : rules_pair_add(RULES_IN, a, b);
	case DP_SET_OUT_DST:
		return del ? rules_odst_del(a) : rules_odst_add(a);
	default:
		return -EINVAL;
	}
}

static int set_add(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	return set_op(ctx, set, a, b, false);
}

static int set_del(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	return set_op(ctx, set, a, b, true);
}

static void on_flow_expired(void *ctx, const struct dime_flow *flow)
{
	struct dimed *d = ctx;

	dp_flow_expired(d->dp, flow);
}

/* A flow went idle here. Most flows' packets never pass dimed (unmoved
 * ones are not queued, offloaded ones are rewritten by the kernel): a
 * TCP or UDP flow lives as long as its socket (the periodic socket dumps
 * refresh it, sockets_keep) or, where the kernel tracks connections, its
 * conntrack entry, which sees every packet. At most KEEP_QUERIES_PER_TICK
 * conntrack questions per expiry pass, so a crowd of idle flows cannot
 * stall the loop; the rest are kept and asked about one timeout later. */
#define KEEP_QUERIES_PER_TICK 256
static bool on_flow_keep(void *ctx, const struct dime_flow *flow)
{
	struct dimed *d = ctx;
	int rc;

	if (flow->proto != IPPROTO_TCP && flow->proto != IPPROTO_UDP)
		return false;
	if (sockets_keep(d, flow) > 0)
		return true;
	/* Conntrack knows flows no socket shows (an unconnected socket's
	 * peers), when something makes the kernel track. */
	if (!d->ct || !d->ct_active)
		return false;
	if (d->keep_queries_tick >= KEEP_QUERIES_PER_TICK)
		return true;
	d->keep_queries_tick++;
	rc = ctnl_query(d->ct, flow->proto, &flow->lid, flow->lport, &flow->rid, flow->rport);
	if (rc < 0) {
		/* Unknown: keep it one more timeout rather than strand it. */
		d->keep_errors++;
		return true;
	}
	return rc > 0;
}

static int on_offload(void *ctx, bool add, const struct offload_flow *flow)
{
	struct dimed *d = ctx;
	char a[DIME_ADDR_STRLEN];
	int err;

	if (!d->off)
		return -ENOTCONN;
	err = offload_flow(d->off, add, flow);
	if (err < 0)
		log_warnx("offload: %s flow to %s port %u: %s", add ? "handing over" : "taking back",
			    dime_addr_fmt(&flow->rid, a, sizeof(a)), flow->rport, strerror(-err));
	else
		log_debug("offload: flow to %s port %u %s the kernel",
			  dime_addr_fmt(&flow->rid, a, sizeof(a)), flow->rport, add ? "handed to" : "taken back from");
	return err;
}

static int on_offload_flush(void *ctx)
{
	struct dimed *d = ctx;

	return d->off ? offload_flush(d->off) : 0;
}

/* ---- control ----------------------------------------------------------------- */

struct stat_emit {
	ctl_stat_fn emit;
	void *ctx;
	int err;
};

static void emit_ihmp(void *ctx, const char *name, uint64_t value)
{
	struct stat_emit *se = ctx;
	char full[64];

	snprintf(full, sizeof(full), "ihmp_%s", name);
	if (se->err == 0)
		se->err = se->emit(se->ctx, full, value);
}

static int ctl_stats(void *ctx, ctl_stat_fn emit, void *emit_ctx)
{
	struct dimed *d = ctx;
	const struct dp_stats *st = dp_stats(d->dp);
	int err = 0;

#define EMIT(name, value)                                                  \
	do {                                                               \
		if (err == 0)                                              \
			err = emit(emit_ctx, name, (uint64_t)(value));     \
	} while (0)
#define DP_EMIT(field) EMIT("dp_" #field, st->field);
	DP_STATS(DP_EMIT)
#undef DP_EMIT
	for (int i = 0; i < 2; i++) {
		const struct nfqio_stats *q = nfqio_stats(i ? d->nfq_in : d->nfq_out);
		const char *p = i ? "nfq_in_" : "nfq_out_";
		char name[64];

#define NFQ_EMIT(field) snprintf(name, sizeof(name), "%s%s", p, #field); EMIT(name, q->field);
		NFQ_EMIT(packets) NFQ_EMIT(bytes) NFQ_EMIT(accepted) NFQ_EMIT(modified)
		NFQ_EMIT(dropped) NFQ_EMIT(refused) NFQ_EMIT(truncated) NFQ_EMIT(gso)
		NFQ_EMIT(parse_errors) NFQ_EMIT(recv_calls) NFQ_EMIT(send_calls) NFQ_EMIT(send_errors)
		NFQ_EMIT(lost_verdicts) NFQ_EMIT(verdict_errors) NFQ_EMIT(enobufs)
		NFQ_EMIT(kernel_dropped)
#undef NFQ_EMIT
	}
	EMIT("nfq_truncated_dropped", d->nfq_truncated_dropped);
	EMIT("flows", dime_flow_count(d->flows));
	EMIT("hids", dime_hid_count(d->hids));
	EMIT("pins_added", d->pins_added);
	EMIT("pins_removed", d->pins_removed);
	EMIT("pin_errors", d->pin_errors);
	if (d->ct) {
		struct ctnl_stats cs;

		ctnl_get_stats(d->ct, &cs);
		EMIT("conntrack_events", cs.events);
		EMIT("conntrack_dumped", cs.dumped);
		EMIT("conntrack_queries", cs.queries);
	}
	EMIT("conntrack_ignored", d->ct_ignored);
	if (d->sd) {
		struct sockdiag_stats ss;

		sockdiag_get_stats(d->sd, &ss);
		EMIT("sock_dumps", ss.dumps);
		EMIT("sock_dumped", ss.dumped);
		EMIT("sock_destroys", ss.destroys);
		EMIT("sock_malformed", ss.malformed);
		EMIT("sock_enobufs", ss.enobufs);
		EMIT("sock_dump_errors", ss.dump_errors);
		EMIT("sock_last_dump_us", ss.last_dump_us);
		EMIT("sock_max_dump_us", ss.max_dump_us);
	}
	EMIT("sock_ignored", d->sd_ignored);
	EMIT("flow_keep_errors", d->keep_errors);
	if (d->off) {
		struct offload_stats os;

		if (offload_read_stats(d->off, &os) == 0) {
			EMIT("offload_out_packets", os.out_packets);
			EMIT("offload_out_bytes", os.out_bytes);
			EMIT("offload_in_packets", os.in_packets);
			EMIT("offload_in_bytes", os.in_bytes);
		}
	}
	{
		struct rules_stats rs;

		rules_get_stats(&rs);
		EMIT("rules_steering_in_v4", rs.on_in[0]);
		EMIT("rules_steering_out_v4", rs.on_out[0]);
		EMIT("rules_steering_in_v6", rs.on_in[1]);
		EMIT("rules_steering_out_v6", rs.on_out[1]);
		EMIT("rules_steering_on", rs.steering_on);
		EMIT("rules_steering_off", rs.steering_off);
		EMIT("rules_steering_errors", rs.steering_errors);
		EMIT("rules_chains_pruned", rs.chains_pruned);
		EMIT("rules_steering_on_max_us", rs.steering_on_max_us);
		EMIT("rules_lanes_bound", rs.lanes_bound);
		EMIT("rules_lane_binds", rs.lane_binds);
		EMIT("rules_lane_unbinds", rs.lane_unbinds);
		EMIT("rules_lane_overflows", rs.lane_overflows);
	}
	EMIT("state_writes", d->state_writes);
	EMIT("state_write_errors", d->state_write_errors);
	if (d->ih) {
		const struct ihmpio_stats *io = ihmpio_stats(d->io);
		const struct sockkill_stats *sk = sockkill_stats(d->sk);
		struct stat_emit se = { emit, emit_ctx, 0 };

		ihmp_stats_foreach(d->ih, emit_ihmp, &se);
		if (err == 0)
			err = se.err;
		EMIT("ihmp_io_received", io->received);
		EMIT("ihmp_io_sent", io->sent);
		EMIT("ihmp_io_send_errors", io->send_errors);
		EMIT("ihmp_io_send_retried", io->send_retried);
		EMIT("ihmp_io_send_given_up", io->send_given_up);
		EMIT("ihmp_io_truncated", io->truncated);
		EMIT("ihmp_io_recv_errors", io->recv_errors);
		EMIT("sock_tcp_aborted", sk->tcp_aborted);
		EMIT("sock_tcp_not_found", sk->tcp_not_found);
		EMIT("sock_tcp_unsupported", sk->tcp_unsupported);
		EMIT("sock_udp_notified", sk->udp_notified);
		EMIT("sock_tcp_ld_sent", sk->ld_sent);
		EMIT("sock_errors", sk->errors);
		EMIT("tcp_ld_kicks_dropped", d->kicks_dropped);
		EMIT("held_kept", d->held_kept);
		EMIT("held_released", d->held_released);
		EMIT("held_replaced", d->held_replaced);
		EMIT("handoffs_acked", d->handoffs_acked);
		EMIT("handoff_ms_last", d->handoff_ms_last);
		EMIT("handoff_ms_max", d->handoff_ms_max);
		EMIT("sock_tcp_probes_sent", sk->probes_sent);
		EMIT("sock_tcp_probe_answers", d->acks_seen);
		EMIT("sock_tcp_probes_failed", d->probes_failed);
		EMIT("addrwatch_full", d->aw.full);
	}
#undef EMIT
	return err;
}

static struct dime_hid_table *ctl_hids(void *ctx)
{
	return ((struct dimed *)ctx)->hids;
}

static struct dime_flow_table *ctl_flows(void *ctx)
{
	return ((struct dimed *)ctx)->flows;
}

static int ctl_set_locator(void *ctx, const struct dime_addr *peer, const struct dime_addr *rloc,
			   const struct dime_addr *lloc, uint64_t now)
{
	struct dimed *d = ctx;
	char p[DIME_ADDR_STRLEN], r[DIME_ADDR_STRLEN], l[DIME_ADDR_STRLEN];
	int err;

	sockets_sync(d, "set-locator");
	err = dp_set_locator(d->dp, peer, rloc, lloc, now);

	dime_addr_fmt(peer, p, sizeof(p));
	if (err < 0) {
		log_warn_e(err, "host %s: set-locator refused", p);
		return err;
	}
	state_mark(d);
	log_info("host %s: locators set by hand: remote %s, local %s", p,
		 rloc ? dime_addr_fmt(rloc, r, sizeof(r)) : "unchanged",
		 lloc ? dime_addr_fmt(lloc, l, sizeof(l)) : "unchanged");
	event_locators(d, dime_hid_lookup(d->hids, peer));
	return 0;
}

/* SHOW_ADDRS: every address rtnetlink told us of, pins included. */
static int ctl_addrs(void *ctx, ctl_addr_fn emit, void *emit_ctx)
{
	struct dimed *d = ctx;
	int err = 0;

	for (uint32_t i = 0; i < d->local.n && !err; i++) {
		const struct localaddr *la = &d->local.e[i];
		struct ctl_addr_rec rec = {
			.addr = la->addr,
			.ifindex = la->ifindex > 0 ? (uint32_t)la->ifindex : 0,
			.pinned = la->pin,
			.advertised = d->ih && !la->pin && addrwatch_is_up(&d->aw, &la->addr),
		};
		char name[IF_NAMESIZE];

		if (la->ifindex > 0 && if_indextoname((unsigned int)la->ifindex, name))
			snprintf(rec.ifname, sizeof(rec.ifname), "%s", name);
		err = emit(emit_ctx, &rec);
	}
	return err;
}

static int ctl_reload(void *ctx)
{
	struct dimed *d = ctx;

	return d->reloader ? d->reloader(d) : -EOPNOTSUPP;
}

void dimed_set_reloader(struct dimed *d, int (*reload)(struct dimed *d))
{
	d->reloader = reload;
}

/* SET_LOCAL_KEY and SHOW_KEYS: the keys live in ihmpkeys (NULL with IHMP
 * off, which they answer -EOPNOTSUPP). */
static int ctl_set_local_key(void *ctx, const struct ctl_set_local_key *req, uint8_t *key_id,
			     uint8_t *pub)
{
	return ihmpkeys_ctl_set_local(((struct dimed *)ctx)->keys, req, key_id, pub);
}

static int ctl_local_keys(void *ctx, ctl_lkey_fn emit, void *emit_ctx)
{
	return ihmpkeys_ctl_list(((struct dimed *)ctx)->keys, emit, emit_ctx);
}

static uint64_t ctl_now(void *ctx)
{
	return now_ms();
}

static const struct ctl_backend ctl_backend = {
	.stats = ctl_stats,
	.hids = ctl_hids,
	.flows = ctl_flows,
	.set_locator = ctl_set_locator,
	.now_ms = ctl_now,
	.addrs = ctl_addrs,
	.reload = ctl_reload,
	.set_local_key = ctl_set_local_key,
	.local_keys = ctl_local_keys,
};

/* ---- start and stop ------------------------------------------------------------ */

/* Offload is an optimisation: without it (no nf_tables, no nft, or
 * "offload no") every moved packet is rewritten here, as before. */
static void offload_start(struct dimed *d)
{
	int err;

	if (!d->cfg.offload) {
		if ((err = offload_remove_stale()) < 0)
			log_warn_e(err, "offload: cannot remove table inet %s of an earlier run", OFFLOAD_TABLE);
		return;
	}
	if (offload_open(&d->off, d->cfg.mark) < 0)
		dp_offload_disable(d->dp);
}

static int tables_open(struct dimed *d)
{
	struct dime_hid_config hc = { .capacity = d->cfg.hid_capacity,
				      .max_addrs = d->cfg.hid_capacity * 4 };
	struct dime_flow_config fc = { .capacity = d->cfg.flow_capacity,
				       .on_expire = on_flow_expired, .keep = on_flow_keep, .ctx = d };
	struct dp_kernel_ops ops = { .set_add = set_add, .set_del = set_del, .held = on_held,
				     .ack_seen = on_ack_seen, .udp_port_open = on_udp_port_open,
				     .ctx = d };

	if (d->cfg.offload) {
		ops.offload = on_offload;
		ops.offload_flush = on_offload_flush;
	}
	int err;

	/* Keyed hashes: remote parties choose addresses and ports. */
	if (getrandom(&hc.seed, sizeof(hc.seed), 0) != sizeof(hc.seed) ||
	    getrandom(&fc.seed, sizeof(fc.seed), 0) != sizeof(fc.seed))
		return -errno;
	fc.timeouts = d->cfg.flow_timeouts;
	if ((err = dime_hid_table_new(&d->hids, &hc)) < 0 ||
	    (err = dime_flow_table_new(&d->flows, &fc, d->hids)) < 0 ||
	    (err = dp_new(&d->dp, d->hids, d->flows, &ops)) < 0)
		log_err_e(err, "cannot allocate tables (%u hosts, %u flows)", d->cfg.hid_capacity,
			  d->cfg.flow_capacity);
	return err;
}

static int queues_open(struct dimed *d)
{
	struct nfqio_config qc;
	int err;

	nfqio_config_default(&qc);
	qc.maxlen = d->cfg.nfq_maxlen;
	qc.rcvbuf = d->cfg.nfq_rcvbuf;
	d->qctx_out = (struct queue_ctx){ d, DIME_DIR_OUT };
	d->qctx_in = (struct queue_ctx){ d, DIME_DIR_IN };
	err = nfqio_open(&d->nfq_out, d->cfg.queue_out, &qc, on_packet, &d->qctx_out);
	if (err == 0)
		err = nfqio_open(&d->nfq_in, d->cfg.queue_in, &qc, on_packet, &d->qctx_in);
	if (err == 0) {
		nfqio_set_batch_handler(d->nfq_out, on_batch);
		nfqio_set_batch_handler(d->nfq_in, on_batch);
	}
	return err;
}

static int rules_open(struct dimed *d)
{
	struct rules_config rc = {
		.queue_out = d->cfg.queue_out,
		.queue_in = d->cfg.queue_in,
		.ihmp_port = d->cfg.ihmp_port,
		.mark = d->cfg.mark,
		.ipv6 = d->cfg.ipv6,
		.track_connections = d->cfg.track_connections,
		.take_over = d->state_hosts > 0 || d->nkept_pins > 0,
	};
	int err = rules_install(&rc);

	if (err == 0)
		d->rules_installed = true;
	return err;
}

static int netlink_open(struct dimed *d)
{
	int err;

	if ((err = rtnl_open(&d->rt, on_rtnl, d)) < 0 || (err = rtnl_dump(d->rt)) < 0)
		return err;
	/* Addresses first: orienting conntrack entries needs them. The loop
	 * is not running yet, so wait here, bounded. */
	for (int i = 0; i < 50 && !d->rt_dump_done; i++) {
		struct pollfd pfd = { .fd = rtnl_dump_fd(d->rt), .events = POLLIN };

		if (poll(&pfd, 1, 100) > 0 && (err = rtnl_handle_dump_readable(d->rt)) < 0)
			return err;
	}
	if (!d->rt_dump_done) {
		log_errx("rtnetlink: no answer to the address dump within 5 s");
		return -ETIMEDOUT;
	}
	/* The socket table, synchronously: flows of pinned identifiers and of
	 * hosts restored from a state file are steered before the loop runs. */
	if ((err = sockdiag_open(&d->sd, on_sockdiag, d)) < 0)
		return err;
	sockets_sync(d, "start");
	d->sd_synced = false;
	/* Conntrack too: where the kernel tracks (a firewall, NAT, or
	 * track-connections), it also knows flows no socket shows. */
	if ((err = ctnl_open(&d->ct, on_conntrack, d)) < 0 || (err = ctnl_dump(d->ct)) < 0)
		return err;
	/* With hosts restored from a state file, their flows must be steered
	 * again before their packets meet the new, empty sets untranslated:
	 * wait for the conntrack dump here too (bounded; a huge table goes on
	 * in the loop). */
	for (int i = 0; i < 20 && d->nkept_pins + d->state_hosts && !d->ct_dump_done; i++) {
		struct pollfd pfd = { .fd = ctnl_dump_fd(d->ct), .events = POLLIN };

		if (poll(&pfd, 1, 50) > 0 && (err = ctnl_handle_dump_readable(d->ct)) < 0)
			return err;
	}
	return 0;
}

int dimed_start(struct dimed **out, const struct dimed_config *cfg)
{
	struct dimed *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	*out = d;
	/* Order: tables, then the queues (so nothing queued finds nobody
	 * listening), then the rules that feed them, then what learns flows
	 * and addresses, then the operator's socket. */
	if ((err = tables_open(d)) < 0)
		goto fail;
	state_path_init(d);
	state_restore(d);
	pin_set_own_mark(cfg->mark);
	if ((err = pin_flush_stale_except(d->kept_pins, d->nkept_pins)) < 0)
		log_warn_e(err, "cannot remove identifiers pinned by an earlier run");
	if ((err = queues_open(d)) < 0)
		goto fail;
	if ((err = rules_open(d)) < 0)
		goto fail;
	/* After the queues and their rules: replacing a crashed run's table
	 * sends the flows it rewrote to our queue, not to a dead one. */
	offload_start(d);
	if (cfg->manage_sysctls)
		sysctls_take_over(d);
	if (cfg->manage_sysctls && (err = pin_prepare_iface("all")) < 0)
		log_warn_e(err, "cannot set rp_filter/arp sysctls");
	if (cfg->manage_sysctls && (err = pin_rp_filter_split()) < 0)
		log_warn_e(err, "rp_filter: cannot move it from all to the interfaces; an interface left without an IPv4 address will drop what the old path still delivers");
	/* Before the address dump, so IHMP learns every address we have. */
	if ((err = control_plane_open(d)) < 0)
		goto fail;
	if ((err = netlink_open(d)) < 0)
		goto fail;
	state_pins_back(d);
	if ((err = ctl_server_open(&d->ctl, cfg->ctl_path, &ctl_backend, d)) < 0)
		goto fail;
	if (cfg->ihmp)
		log_info("started: queues %u (out) and %u (in), IHMP on UDP port %u, control socket %s",
			 cfg->queue_out, cfg->queue_in, cfg->ihmp_port, cfg->ctl_path);
	else
		log_info("started: queues %u (out) and %u (in), IHMP off, control socket %s",
			 cfg->queue_out, cfg->queue_in, cfg->ctl_path);
	return 0;
fail:
	dimed_stop(d);
	*out = NULL;
	return err;
}

void dimed_stop(struct dimed *d)
{
	if (!d)
		return;
	if (d->ctl)
		ctl_server_close(d->ctl);
	if (d->ct)
		ctnl_close(d->ct);
	if (d->sd)
		sockdiag_close(d->sd);
	if (d->rt)
		rtnl_close(d->rt);
	control_plane_close(d);
	if (d->rules_installed)
		rules_remove();	/* sets go with the rules */
	offload_close(d->off);	/* the maps go with the table */
	if (d->nfq_in)
		nfqio_close(d->nfq_in);
	if (d->nfq_out)
		nfqio_close(d->nfq_out);
	/* Pins only exist for flows that will die with the rules anyway, and
	 * with them the state a restart would need. */
	pin_flush_stale();
	if (d->state_path[0] && unlink(d->state_path) < 0 && errno != ENOENT)
		log_warn("state file %s: cannot remove it", d->state_path);
	sysctl_restore_all();
	dp_free(d->dp);
	if (d->flows) {
		dime_flow_flush(d->flows);
		dime_flow_table_free(d->flows);
	}
	dime_hid_table_free(d->hids);
	free(d);
}

static bool timeouts_eq(const struct dime_flow_timeouts *a, const struct dime_flow_timeouts *b)
{
	return a->tcp_established == b->tcp_established && a->tcp_transitory == b->tcp_transitory &&
	       a->udp == b->udp && a->icmp == b->icmp;
}

/* Our keys as dime.conf names them (paths and addresses; the files
 * themselves are read at start only, before root is dropped). */
static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool bound_keys_eq(const struct dimed_config *o, const struct dimed_config *n)
{
	if (!str_eq(o->ihmp_key_path, n->ihmp_key_path) ||
	    o->ihmp_bound_keys_n != n->ihmp_bound_keys_n)
		return false;
	for (unsigned int i = 0; i < o->ihmp_bound_keys_n; i++) {
		const struct conf_bound_key *a = &o->ihmp_bound_keys[i], *b = &n->ihmp_bound_keys[i];

		if (!str_eq(a->path, b->path) || a->n != b->n ||
		    memcmp(a->net, b->net, a->n * sizeof(a->net[0])) != 0 ||
		    memcmp(a->len, b->len, a->n) != 0)
			return false;
	}
	return true;
}

/* Settings only a restart changes: sockets, queues, rules and tables are
 * built from them at start. */
static int restart_only_changes(const struct dimed_config *o, const struct dimed_config *n)
{
	int changed = 0;

#define RESTART_ONLY(cond, name)                                                        \
	do {                                                                              \
		if (cond) {                                                               \
			log_warnx("reload: %s changed: takes effect when dimed restarts", name); \
			changed++;                                                        \
		}                                                                         \
	} while (0)
	RESTART_ONLY(strcmp(o->ctl_path, n->ctl_path) != 0, "control-socket");
	RESTART_ONLY(o->queue_out != n->queue_out, "queue-out");
	RESTART_ONLY(o->queue_in != n->queue_in, "queue-in");
	RESTART_ONLY(o->ihmp_port != n->ihmp_port, "ihmp-port");
	RESTART_ONLY(o->ihmp != n->ihmp, "ihmp");
	RESTART_ONLY(o->ihmp_path_validation != n->ihmp_path_validation, "ihmp-path-validation");
	RESTART_ONLY(o->mark != n->mark, "fwmark");
	RESTART_ONLY(o->hid_capacity != n->hid_capacity, "max-hosts");
	RESTART_ONLY(o->flow_capacity != n->flow_capacity, "max-flows");
	RESTART_ONLY(o->nfq_maxlen != n->nfq_maxlen, "queue-length");
	RESTART_ONLY(o->nfq_rcvbuf != n->nfq_rcvbuf, "queue-rcvbuf");
	RESTART_ONLY(o->ipv6 != n->ipv6, "ipv6");
	RESTART_ONLY(o->manage_sysctls != n->manage_sysctls, "manage-sysctls");
	RESTART_ONLY(o->offload != n->offload, "offload");
	RESTART_ONLY(o->track_connections != n->track_connections, "track-connections");
	RESTART_ONLY(o->ihmp_auth != n->ihmp_auth, "ihmp-auth");
	RESTART_ONLY(o->ihmp_tofu != n->ihmp_tofu, "ihmp-tofu");
	RESTART_ONLY(!str_eq(o->ihmp_peer_keys_dir, n->ihmp_peer_keys_dir), "ihmp-peer-keys");
	RESTART_ONLY(!bound_keys_eq(o, n), "ihmp-key");
#undef RESTART_ONLY
	return changed;
}

int dimed_reload(struct dimed *d, const struct dimed_config *cfg)
{
	struct dimed_config *o = &d->cfg;
	int changed = restart_only_changes(o, cfg);
	bool timing = o->ihmp_rto_ms != cfg->ihmp_rto_ms || o->hello_tries != cfg->hello_tries ||
		      o->handoff_tries != cfg->handoff_tries || o->hold_ms != cfg->hold_ms;

	if (!timeouts_eq(&o->flow_timeouts, &cfg->flow_timeouts)) {
		dime_flow_set_timeouts(d->flows, &cfg->flow_timeouts);
		o->flow_timeouts = cfg->flow_timeouts;
		log_info("reload: flow timeouts now %us (TCP established), %us (TCP other), %us (UDP), %us (ICMP)",
			 cfg->flow_timeouts.tcp_established, cfg->flow_timeouts.tcp_transitory,
			 cfg->flow_timeouts.udp, cfg->flow_timeouts.icmp);
		changed++;
	}
	if (timing) {
		if (d->ih)
			ihmp_set_timing(d->ih, cfg->ihmp_rto_ms, cfg->hello_tries, cfg->handoff_tries,
					cfg->hold_ms);
		log_info("reload: IHMP now ihmp-rto %ums, hello-retries %u, handoff-retries %u, hold-time %us%s",
			 cfg->ihmp_rto_ms, cfg->hello_tries, cfg->handoff_tries, cfg->hold_ms / 1000,
			 d->ih ? "" : " (IHMP is off)");
		o->ihmp_rto_ms = cfg->ihmp_rto_ms;
		o->hello_tries = cfg->hello_tries;
		o->handoff_tries = cfg->handoff_tries;
		o->hold_ms = cfg->hold_ms;
		changed++;
	}
	return changed;
}

int dimed_fd(const struct dimed *d, enum dimed_fd which)
{
	switch (which) {
	case DIMED_FD_NFQ_OUT: return nfqio_fd(d->nfq_out);
	case DIMED_FD_NFQ_IN: return nfqio_fd(d->nfq_in);
	case DIMED_FD_CT_EVENTS: return ctnl_events_fd(d->ct);
	case DIMED_FD_CT_DUMP: return ctnl_dump_fd(d->ct);
	case DIMED_FD_SOCK_EVENTS: return d->sd ? sockdiag_events_fd(d->sd) : -1;
	case DIMED_FD_RT_EVENTS: return rtnl_events_fd(d->rt);
	case DIMED_FD_RT_DUMP: return rtnl_dump_fd(d->rt);
	case DIMED_FD_CTL: return ctl_server_fd(d->ctl);
	case DIMED_FD_IHMP4: return ihmpio_fd(d->io, AF_INET);
	case DIMED_FD_IHMP6: return ihmpio_fd(d->io, AF_INET6);
	default: return -1;
	}
}

int dimed_readable(struct dimed *d, enum dimed_fd which)
{
	switch (which) {
	case DIMED_FD_NFQ_OUT: return nfqio_handle_readable(d->nfq_out);
	case DIMED_FD_NFQ_IN: return nfqio_handle_readable(d->nfq_in);
	case DIMED_FD_CT_EVENTS: return ctnl_handle_events_readable(d->ct);
	case DIMED_FD_CT_DUMP: return ctnl_handle_dump_readable(d->ct);
	case DIMED_FD_SOCK_EVENTS: return sockdiag_handle_events_readable(d->sd);
	case DIMED_FD_RT_EVENTS: return rtnl_handle_events_readable(d->rt);
	case DIMED_FD_RT_DUMP: return rtnl_handle_dump_readable(d->rt);
	case DIMED_FD_IHMP4: return ihmpio_handle_readable(d->io, AF_INET);
	case DIMED_FD_IHMP6: return ihmpio_handle_readable(d->io, AF_INET6);
	default: return 0;
	}
}

void dimed_iteration_done(struct dimed *d)
{
	d->sd_synced = false;
}

void dimed_tick(struct dimed *d)
{
	d->keep_queries_tick = 0;
	sockets_poll(d);
	/* Every moved flow puts address pairs in the queue sets: none means
	 * nothing can be waiting in a queue (offload.h, sleeping). */
	offload_idle(d->off, rules_pair_addresses() > 0, now_ms());
	/* Likewise the queue rules: their jumps go once nothing is steered. */
	rules_idle(now_ms());
	dime_flow_expire(d->flows, now_ms(), FLOW_EXPIRE_BUDGET);
	if (++d->ticks % PIN_GC_EVERY_TICKS == 0)
		pin_gc(d);
	if (d->ih && d->ticks % HID_GC_EVERY_TICKS == 0)
		peer_gc(d);
	watch_expire(d);
	if (d->ticks % STATE_WRITE_EVERY_TICKS == 0)
		state_save(d);
}

int64_t dimed_timeout_ms(struct dimed *d)
{
	uint64_t due, now;

	if (!d->ih)
		return -1;
	due = ihmp_next_deadline(d->ih);
	if (addrwatch_next_deadline(&d->aw) < due)
		due = addrwatch_next_deadline(&d->aw);
	if (ihmpio_next_deadline(d->io) < due)
		due = ihmpio_next_deadline(d->io);
	if (due == UINT64_MAX)
		return -1;
	now = now_ms();
	return due > now ? (int64_t)(due - now) : 0;
}

void dimed_timer(struct dimed *d)
{
	uint64_t now = now_ms();

	if (!d->ih)
		return;
	addrwatch_timer(&d->aw, now, on_addr_change, d);
	ihmpio_timer(d->io, now);
	ihmp_timer(d->ih, now, d->acts);
	ihmp_act(d);
}

struct ctl_server *dimed_ctl_server(struct dimed *d)
{
	return d->ctl;
}
