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

#include "dime/control.h"
#include "dime/ctnl.h"
#include "dime/daemon.h"
#include "dime/dataplane.h"
#include "dime/localaddr.h"
#include "dime/log.h"
#include "dime/nfq.h"
#include "dime/pin.h"
#include "dime/pkt.h"
#include "dime/rtnl.h"
#include "dime/rules.h"
#include "dime/sysctl.h"

#define FLOW_EXPIRE_BUDGET 4096		/* pool entries visited per tick */
#define PIN_GC_EVERY_TICKS 8		/* 2 s */

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
	struct rtnl *rt;
	struct ctl_server *ctl;
	struct localaddrs local;
	bool rules_installed;
	bool rt_dump_done;
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
	return v == DP_ACCEPT_MODIFIED ? NFQIO_ACCEPT_MODIFIED : v == DP_DROP ? NFQIO_DROP : NFQIO_ACCEPT;
}

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
#define BURST_MAX 64
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
		dp_packet_burst(q->d->dp, q->dir, items, m, now);
		for (uint32_t j = 0; j < m; j++)
			verdicts[index[j]] = verdict_of(items[j].verdict);
	}
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
		log_debug("conntrack: dump done, %u flows known", dime_flow_count(d->flows));
		return;
	case CTNL_UPDATE:
		return;
	case CTNL_NEW:
	case CTNL_DUMP:
		if (!orient(d, f, &key)) {
			d->ct_ignored++;
			return;
		}
		err = dp_flow_learn(d->dp, &key, tcp_state_from_ct(f->tcp_state), now_ms());
		if (err < 0)
			log_debug("flow to %s port %u not tracked: %s",
				  dime_addr_fmt(&key.rid, a, sizeof(a)), key.rport, strerror(-err));
		return;
	case CTNL_DESTROY:
		if (orient(d, f, &key))
			dp_flow_forget(d->dp, &key);
		return;
	}
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
	log_info("%s: address gone, kept on lo as an identifier for its flows", a);
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
	log_info("%s: pinned identifier removed (%s)", a, why);
}

static void on_address(struct dimed *d, const struct rtnl_addr *ra)
{
	bool ours = ra->proto == DIME_IFA_PROTO;

	if (ra->deleted) {
		localaddr_del(&d->local, &ra->addr, ra->ifindex);
		if (!ours && !localaddr_is_local(&d->local, &ra->addr) && flows_use_lid(d, &ra->addr))
			pin(d, &ra->addr);
		return;
	}
	if (localaddr_add(&d->local, &ra->addr, ra->ifindex, ours) < 0)
		log_warnx("more than %d local addresses: ignoring one", LOCALADDR_MAX);
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
	case RTNL_EV_RESYNC:
		log_notice("rtnetlink: events lost, dumping addresses again");
		localaddr_clear(&d->local);
		if ((err = rtnl_dump(d->rt)) < 0)
			log_warn_e(err, "rtnetlink: dump");
		return;
	case RTNL_EV_DUMP_DONE:
		d->rt_dump_done = true;
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

/* ---- control ----------------------------------------------------------------- */

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
	EMIT("conntrack_ignored", d->ct_ignored);
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
	int err = dp_set_locator(d->dp, peer, rloc, lloc, now);

	dime_addr_fmt(peer, p, sizeof(p));
	if (err < 0) {
		log_warn_e(err, "host %s: set-locator refused", p);
		return err;
	}
	log_info("host %s: locators set by hand: remote %s, local %s", p,
		 rloc ? dime_addr_fmt(rloc, r, sizeof(r)) : "unchanged",
		 lloc ? dime_addr_fmt(lloc, l, sizeof(l)) : "unchanged");
	return 0;
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
};

/* ---- start and stop ------------------------------------------------------------ */

static int tables_open(struct dimed *d)
{
	struct dime_hid_config hc = { .capacity = d->cfg.hid_capacity,
				      .max_addrs = d->cfg.hid_capacity * 4 };
	struct dime_flow_config fc = { .capacity = d->cfg.flow_capacity,
				       .on_expire = on_flow_expired, .ctx = d };
	struct dp_kernel_ops ops = { .set_add = set_add, .set_del = set_del, .ctx = d };
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
	if ((err = ctnl_open(&d->ct, on_conntrack, d)) < 0 || (err = ctnl_dump(d->ct)) < 0)
		return err;
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
	if ((err = pin_flush_stale()) < 0)
		log_warn_e(err, "cannot remove identifiers pinned by an earlier run");
	if ((err = queues_open(d)) < 0)
		goto fail;
	if ((err = rules_open(d)) < 0)
		goto fail;
	if (cfg->manage_sysctls && (err = pin_prepare_iface("all")) < 0)
		log_warn_e(err, "cannot set rp_filter/arp sysctls");
	if ((err = netlink_open(d)) < 0)
		goto fail;
	if ((err = ctl_server_open(&d->ctl, cfg->ctl_path, &ctl_backend, d)) < 0)
		goto fail;
	log_info("started: queues %u (out) and %u (in), control socket %s", cfg->queue_out,
		 cfg->queue_in, cfg->ctl_path);
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
	if (d->rt)
		rtnl_close(d->rt);
	if (d->rules_installed)
		rules_remove();	/* sets go with the rules */
	if (d->nfq_in)
		nfqio_close(d->nfq_in);
	if (d->nfq_out)
		nfqio_close(d->nfq_out);
	/* Pins only exist for flows that will die with the rules anyway. */
	pin_flush_stale();
	sysctl_restore_all();
	dp_free(d->dp);
	if (d->flows) {
		dime_flow_flush(d->flows);
		dime_flow_table_free(d->flows);
	}
	dime_hid_table_free(d->hids);
	free(d);
}

int dimed_fd(const struct dimed *d, enum dimed_fd which)
{
	switch (which) {
	case DIMED_FD_NFQ_OUT: return nfqio_fd(d->nfq_out);
	case DIMED_FD_NFQ_IN: return nfqio_fd(d->nfq_in);
	case DIMED_FD_CT_EVENTS: return ctnl_events_fd(d->ct);
	case DIMED_FD_CT_DUMP: return ctnl_dump_fd(d->ct);
	case DIMED_FD_RT_EVENTS: return rtnl_events_fd(d->rt);
	case DIMED_FD_RT_DUMP: return rtnl_dump_fd(d->rt);
	case DIMED_FD_CTL: return ctl_server_fd(d->ctl);
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
	case DIMED_FD_RT_EVENTS: return rtnl_handle_events_readable(d->rt);
	case DIMED_FD_RT_DUMP: return rtnl_handle_dump_readable(d->rt);
	default: return 0;
	}
}

void dimed_tick(struct dimed *d)
{
	dime_flow_expire(d->flows, now_ms(), FLOW_EXPIRE_BUDGET);
	if (++d->ticks % PIN_GC_EVERY_TICKS == 0)
		pin_gc(d);
}

struct ctl_server *dimed_ctl_server(struct dimed *d)
{
	return d->ctl;
}
