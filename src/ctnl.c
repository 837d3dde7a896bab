// SPDX-License-Identifier: BSD-2-Clause
/*
 * ctnetlink conntrack events and dumps (see ctnl.h). The parser walks the
 * attributes with nlutil.h's strict indexer instead of mnl_attr_parse,
 * because libmnl stops quietly at a truncated attribute and we want that
 * reported as malformed. The socket half reads datagrams, splits them into
 * messages, hands conntrack messages to the parser and the result to the
 * callback. Queries (ctnl_query) have a socket of their own and wait for
 * their one answer with a deadline.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "dime/ctnl.h"
#include "dime/log.h"
#include "dime/nlutil.h"

/* Event bursts (a SYN flood, a mass timeout) must not overflow before the
 * loop gets round to us; the kernel only charges what is queued. */
#define CTNL_EVENTS_RCVBUF (8 << 20)
#define CTNL_DUMP_RCVBUF (4 << 20)
/* Larger than any skb the kernel builds for netlink (dumps cap at 32 KiB). */
#define CTNL_RX_SIZE (64 << 10)
/* Datagrams per handle_*_readable call, so one busy fd cannot starve the
 * loop; a dump datagram holds about a hundred entries. */
#define CTNL_RX_BUDGET 64
/* Only our own answers arrive there, one entry (under 1 KiB) each. */
#define CTNL_QUERY_RCVBUF (256 << 10)
#define CTNL_QUERY_RX_SIZE (16 << 10)
/* Reads or waits per ctnl_query: stale answers to timed-out queries are
 * skipped, but never without end. */
#define CTNL_QUERY_BUDGET 32

struct ctnl {
	struct mnl_socket *ev_nl;
	struct mnl_socket *dump_nl;
	struct mnl_socket *query_nl;
	ctnl_cb cb;
	void *ctx;
	uint32_t dump_portid;
	uint32_t query_portid;
	uint32_t query_seq;	/* seq of the latest ctnl_query */
	uint32_t dump_seq;	/* seq of the running dump */
	bool dumping;
	bool superseded;	/* ctnl_dump() was called during the running dump */
	bool dump_broken;	/* the running dump lost replies or was flagged
				 * inconsistent (NLM_F_DUMP_INTR) */
	struct ctnl_stats stats;
	unsigned char buf[CTNL_RX_SIZE] __attribute__((aligned(8)));
	/* Apart from buf: a query may be made from the callback, while buf
	 * still holds the datagram being delivered. */
	unsigned char qbuf[CTNL_QUERY_RX_SIZE] __attribute__((aligned(8)));
};

/* ---- pure parser ---------------------------------------------------------- */

/* Optional big-endian u32: absent leaves *v at 0, a wrong size is an error. */
static int opt_be32(const struct nlattr *a, uint32_t *v)
{
	uint32_t be;

	*v = 0;
	if (!a)
		return 0;
	if (!nlu_attr_is(a, 4))
		return -EBADMSG;
	memcpy(&be, mnl_attr_get_payload(a), 4);
	*v = ntohl(be);
	return 0;
}

static int get_be16(const struct nlattr *a, uint16_t *v)
{
	uint16_t be;

	if (!nlu_attr_is(a, 2))
		return -EBADMSG;
	memcpy(&be, mnl_attr_get_payload(a), 2);
	*v = ntohs(be);
	return 0;
}

struct tuple {
	struct dime_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
};

static int parse_tuple_ip(const struct nlattr *nest, struct tuple *t)
{
	const struct nlattr *tb[CTA_IP_MAX + 1];

	if (!nest || nlu_nested_table(nest, tb, CTA_IP_MAX) < 0)
		return -EBADMSG;
	if (nlu_attr_is(tb[CTA_IP_V4_SRC], 4) && nlu_attr_is(tb[CTA_IP_V4_DST], 4)) {
		dime_addr_from_v4(&t->src, mnl_attr_get_payload(tb[CTA_IP_V4_SRC]));
		dime_addr_from_v4(&t->dst, mnl_attr_get_payload(tb[CTA_IP_V4_DST]));
		return 0;
	}
	if (nlu_attr_is(tb[CTA_IP_V6_SRC], 16) && nlu_attr_is(tb[CTA_IP_V6_DST], 16)) {
		dime_addr_from_v6(&t->src, mnl_attr_get_payload(tb[CTA_IP_V6_SRC]));
		dime_addr_from_v6(&t->dst, mnl_attr_get_payload(tb[CTA_IP_V6_DST]));
		return 0;
	}
	return -EBADMSG;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

static int parse_tuple_proto(const struct nlattr *nest, struct tuple *t)
{
	const struct nlattr *tb[CTA_PROTO_MAX + 1];
	const struct nlattr *id = NULL;

	if (!nest || nlu_nested_table(nest, tb, CTA_PROTO_MAX) < 0 ||
	    !nlu_attr_is(tb[CTA_PROTO_NUM], 1))
		return -EBADMSG;
	t->proto = mnl_attr_get_u8(tb[CTA_PROTO_NUM]);
	t->sport = t->dport = 0;
	if (proto_has_ports(t->proto)) {
		if (get_be16(tb[CTA_PROTO_SRC_PORT], &t->sport) < 0 ||
		    get_be16(tb[CTA_PROTO_DST_PORT], &t->dport) < 0)
			return -EBADMSG;
		return 0;
	}
	if (t->proto == IPPROTO_ICMP)
		id = tb[CTA_PROTO_ICMP_ID];
	else if (t->proto == IPPROTO_ICMPV6)
		id = tb[CTA_PROTO_ICMPV6_ID];
	else
		return 0;
	if (get_be16(id, &t->sport) < 0)
		return -EBADMSG;
	t->dport = t->sport;
	return 0;
}

static int parse_tuple(const struct nlattr *nest, struct tuple *t)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1];

	if (!nest || nlu_nested_table(nest, tb, CTA_TUPLE_MAX) < 0)
		return -EBADMSG;
	if (parse_tuple_ip(tb[CTA_TUPLE_IP], t) < 0 || parse_tuple_proto(tb[CTA_TUPLE_PROTO], t) < 0)
		return -EBADMSG;
	return 0;
}

/* TCP state from CTA_PROTOINFO; absent is fine (DESTROY carries none). */
static int parse_tcp_state(const struct nlattr *nest, uint8_t *state)
{
	const struct nlattr *tb[CTA_PROTOINFO_MAX + 1];
	const struct nlattr *tcp[CTA_PROTOINFO_TCP_MAX + 1];

	*state = 0;
	if (!nest)
		return 0;
	if (nlu_nested_table(nest, tb, CTA_PROTOINFO_MAX) < 0)
		return -EBADMSG;
	if (!tb[CTA_PROTOINFO_TCP])
		return 0;
	if (nlu_nested_table(tb[CTA_PROTOINFO_TCP], tcp, CTA_PROTOINFO_TCP_MAX) < 0)
		return -EBADMSG;
	if (!tcp[CTA_PROTOINFO_TCP_STATE])
		return 0;
	if (!nlu_attr_is(tcp[CTA_PROTOINFO_TCP_STATE], 1))
		return -EBADMSG;
	*state = mnl_attr_get_u8(tcp[CTA_PROTOINFO_TCP_STATE]);
	return 0;
}

static int message_event(const struct nlmsghdr *nlh, enum ctnl_event *ev)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return -ENOMSG;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_DELETE:
		*ev = CTNL_DESTROY;
		return 0;
	case IPCTNL_MSG_CT_NEW:
		if (nlh->nlmsg_flags & NLM_F_MULTI)
			*ev = CTNL_DUMP;
		else if (nlh->nlmsg_flags & NLM_F_CREATE)
			*ev = CTNL_NEW;
		else
			*ev = CTNL_UPDATE;
		return 0;
	default:
		return -ENOMSG;
	}
}

static int fill_tuples(const struct nlattr *const *tb, uint8_t nfgen_family, struct ctnl_flow *f)
{
	struct tuple o, r;

	if (parse_tuple(tb[CTA_TUPLE_ORIG], &o) < 0 || parse_tuple(tb[CTA_TUPLE_REPLY], &r) < 0)
		return -EBADMSG;
	if (o.src.family != r.src.family || o.proto != r.proto)
		return -EBADMSG;
	if (nfgen_family != AF_UNSPEC && nfgen_family != o.src.family)
		return -EBADMSG;
	f->family = o.src.family;
	f->proto = o.proto;
	f->orig_src = o.src;
	f->orig_dst = o.dst;
	f->orig_sport = o.sport;
	f->orig_dport = o.dport;
	f->reply_src = r.src;
	f->reply_dst = r.dst;
	f->reply_sport = r.sport;
	f->reply_dport = r.dport;
	return 0;
}

int ctnl_parse(const struct nlmsghdr *nlh, struct ctnl_flow *out, enum ctnl_event *ev)
{
	const struct nlattr *tb[CTA_MAX + 1];
	const struct nfgenmsg *nfg;
	struct ctnl_flow f;
	enum ctnl_event e;
	int err;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if ((err = message_event(nlh, &e)) < 0)
		return err;
	if (nlu_msg_table(nlh, sizeof(*nfg), tb, CTA_MAX) < 0)
		return -EBADMSG;
	nfg = mnl_nlmsg_get_payload(nlh);
	memset(&f, 0, sizeof(f));
	if (fill_tuples(tb, nfg->nfgen_family, &f) < 0 ||
	    opt_be32(tb[CTA_STATUS], &f.status) < 0 || opt_be32(tb[CTA_MARK], &f.mark) < 0 ||
	    opt_be32(tb[CTA_ID], &f.id) < 0 || opt_be32(tb[CTA_TIMEOUT], &f.timeout) < 0 ||
	    parse_tcp_state(tb[CTA_PROTOINFO], &f.tcp_state) < 0)
		return -EBADMSG;
	*out = f;
	*ev = e;
	return 0;
}

const char *ctnl_event_name(enum ctnl_event ev)
{
	switch (ev) {
	case CTNL_NEW: return "new";
	case CTNL_UPDATE: return "update";
	case CTNL_DESTROY: return "destroy";
	case CTNL_DUMP: return "dump";
	case CTNL_DUMP_DONE: return "dump-done";
	case CTNL_RESYNC: return "resync";
	}
	return "unknown";
}

/* ---- sockets ---------------------------------------------------------------- */

static int subscribe(struct mnl_socket *nl, int group)
{
	if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		int err = -errno;

		log_warn_e(err, "ctnl: cannot join conntrack group %d", group);
		return err;
	}
	return 0;
}

int ctnl_open(struct ctnl **out, ctnl_cb cb, void *ctx)
{
	struct ctnl *ct = calloc(1, sizeof(*ct));
	int err;

	if (!ct)
		return -ENOMEM;
	ct->cb = cb;
	ct->ctx = ctx;
	if ((err = nlu_open(&ct->ev_nl, NETLINK_NETFILTER, 0, CTNL_EVENTS_RCVBUF, "ctnl",
			    "event")) < 0 ||
	    (err = nlu_open(&ct->dump_nl, NETLINK_NETFILTER, 0, CTNL_DUMP_RCVBUF, "ctnl",
			    "dump")) < 0 ||
	    (err = nlu_open(&ct->query_nl, NETLINK_NETFILTER, 0, CTNL_QUERY_RCVBUF, "ctnl",
			    "query")) < 0)
		goto fail;
	/* Updates too: a TCP connection's state (established, closing) sets
	 * its flow's timeout and whether TCP-LD may touch it. The kernel sends
	 * them on state changes, not per packet. */
	if ((err = subscribe(ct->ev_nl, NFNLGRP_CONNTRACK_NEW)) < 0 ||
	    (err = subscribe(ct->ev_nl, NFNLGRP_CONNTRACK_UPDATE)) < 0 ||
	    (err = subscribe(ct->ev_nl, NFNLGRP_CONNTRACK_DESTROY)) < 0)
		goto fail;
	ct->dump_portid = mnl_socket_get_portid(ct->dump_nl);
	ct->query_portid = mnl_socket_get_portid(ct->query_nl);
	*out = ct;
	return 0;
fail:
	ctnl_close(ct);
	return err;
}

void ctnl_close(struct ctnl *ct)
{
	if (!ct)
		return;
	if (ct->ev_nl)
		mnl_socket_close(ct->ev_nl);
	if (ct->dump_nl)
		mnl_socket_close(ct->dump_nl);
	if (ct->query_nl)
		mnl_socket_close(ct->query_nl);
	free(ct);
}

int ctnl_events_fd(const struct ctnl *ct)
{
	return mnl_socket_get_fd(ct->ev_nl);
}

int ctnl_dump_fd(const struct ctnl *ct)
{
	return mnl_socket_get_fd(ct->dump_nl);
}

void ctnl_get_stats(const struct ctnl *ct, struct ctnl_stats *st)
{
	*st = ct->stats;
}

static int send_dump_request(struct ctnl *ct)
{
	unsigned char req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = nlu_put_nfnl_request(req, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET,
						    NLM_F_DUMP, AF_UNSPEC /* IPv4 and IPv6 */);
	int err;

	nlh->nlmsg_seq = ++ct->dump_seq;
	if (mnl_socket_sendto(ct->dump_nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		log_warn_e(err, "ctnl: cannot request a conntrack dump");
		return err;
	}
	ct->dumping = true;
	ct->superseded = false;
	ct->dump_broken = false;
	return 0;
}

int ctnl_dump(struct ctnl *ct)
{
	if (ct->dumping) {
		ct->superseded = true;
		return 0;
	}
	return send_dump_request(ct);
}

static void note_malformed(struct ctnl *ct, const char *where)
{
	nlu_note_malformed(&ct->stats.malformed, "ctnl: malformed conntrack message", where);
}

/* One received datagram's worth of netlink messages, read into ct->buf
 * (only the kernel speaks ctnetlink to us). */
static ssize_t recv_datagram(struct ctnl *ct, struct mnl_socket *nl)
{
	return nlu_recv_kernel(nl, ct->buf, sizeof(ct->buf));
}

static void deliver(struct ctnl *ct, const struct nlmsghdr *nlh, bool dump, const char *where)
{
	struct ctnl_flow f;
	enum ctnl_event ev;
	int err = ctnl_parse(nlh, &f, &ev);

	if (err == -EBADMSG)
		note_malformed(ct, where);
	if (err < 0)
		return;
	if (dump)
		ev = CTNL_DUMP;
	else if (ev == CTNL_DUMP)
		return;		/* a dump reply cannot reach the event socket */
	if (dump)
		ct->stats.dumped++;
	else
		ct->stats.events++;
	ct->cb(ct->ctx, ev, &f);
}

static void deliver_event(void *ctx, const struct nlmsghdr *nlh)
{
	deliver(ctx, nlh, false, "event");
}

static void deliver_dump(void *ctx, const struct nlmsghdr *nlh)
{
	deliver(ctx, nlh, true, "dump");
}

int ctnl_handle_events_readable(struct ctnl *ct)
{
	for (int i = 0; i < CTNL_RX_BUDGET; i++) {
		ssize_t n = recv_datagram(ct, ct->ev_nl);

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return 0;
		if (n == -ENOBUFS) {
			ct->stats.enobufs++;
			log_info("ctnl: conntrack events lost (socket overflow), resynchronising");
			ct->cb(ct->ctx, CTNL_RESYNC, NULL);
			continue;
		}
		if (n == -EMSGSIZE) {
			note_malformed(ct, "event");
			continue;
		}
		if (n < 0) {
			log_warn_e((int)n, "ctnl: reading conntrack events");
			return (int)n;
		}
		nlu_each_msg(ct->buf, (size_t)n, deliver_event, ct);
	}
	return 0;
}

/* The running dump ended: NLMSG_DONE (err 0) or the kernel's error. */
static int dump_finished(struct ctnl *ct, int err)
{
	ct->dumping = false;
	if (ct->superseded)
		return send_dump_request(ct);
	if (err < 0) {
		log_warn_e(err, "ctnl: conntrack dump failed");
		return err;
	}
	if (ct->dump_broken) {
		log_info("ctnl: conntrack dump incomplete, asking for another");
		ct->cb(ct->ctx, CTNL_RESYNC, NULL);
		return 0;
	}
	ct->stats.dumps++;
	ct->cb(ct->ctx, CTNL_DUMP_DONE, NULL);
	return 0;
}

/* 1 when the running dump ended in this datagram (*err set), else 0;
 * without a running dump, it is left over from an abandoned request. */
static int dump_datagram(struct ctnl *ct, size_t len, int *err)
{
	return ct->dumping && nlu_dump_datagram(ct->buf, len, ct->dump_seq, ct->dump_portid,
						&ct->dump_broken, deliver_dump, ct, err);
}

int ctnl_handle_dump_readable(struct ctnl *ct)
{
	for (int i = 0; i < CTNL_RX_BUDGET; i++) {
		ssize_t n = recv_datagram(ct, ct->dump_nl);
		int err = 0;

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return 0;
		if (n == -ENOBUFS || n == -EMSGSIZE) {
			/* Replies were lost, but the kernel's dump goes on
			 * (it is flow-controlled by our reads): let it end,
			 * then report the gap. */
			ct->dump_broken = true;
			continue;
		}
		if (n < 0) {
			log_warn_e((int)n, "ctnl: reading the conntrack dump");
			return (int)n;
		}
		if (dump_datagram(ct, (size_t)n, &err))
			return dump_finished(ct, err);
	}
	return 0;
}

/* ---- single-entry queries --------------------------------------------------- */

static bool put_get_ip(struct nlmsghdr *nlh, size_t size, const struct dime_addr *src,
		       const struct dime_addr *dst)
{
	bool v4 = src->family == AF_INET;
	size_t alen = dime_addr_len(src);
	struct nlattr *ip = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_IP);

	if (!ip ||
	    !mnl_attr_put_check(nlh, size, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, src->a.u8) ||
	    !mnl_attr_put_check(nlh, size, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, dst->a.u8))
		return false;
	mnl_attr_nest_end(nlh, ip);
	return true;
}

static bool put_get_proto(struct nlmsghdr *nlh, size_t size, uint8_t proto, uint16_t sport,
			  uint16_t dport)
{
	struct nlattr *p = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_PROTO);

	if (!p || !mnl_attr_put_u8_check(nlh, size, CTA_PROTO_NUM, proto) ||
	    !mnl_attr_put_u16_check(nlh, size, CTA_PROTO_SRC_PORT, htons(sport)) ||
	    !mnl_attr_put_u16_check(nlh, size, CTA_PROTO_DST_PORT, htons(dport)))
		return false;
	mnl_attr_nest_end(nlh, p);
	return true;
}

int ctnl_build_get(void *buf, size_t size, uint32_t seq, uint8_t proto,
		   const struct dime_addr *src, uint16_t sport, const struct dime_addr *dst,
		   uint16_t dport)
{
	struct nlmsghdr *nlh;
	struct nlattr *orig;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -EINVAL;
	if (src->family != dst->family || (src->family != AF_INET && src->family != AF_INET6))
		return -EINVAL;
	if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))
		return -ENOSPC;
	nlh = nlu_put_nfnl_request(buf, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, 0, src->family);
	nlh->nlmsg_seq = seq;
	orig = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_ORIG);
	if (!orig || !put_get_ip(nlh, size, src, dst) ||
	    !put_get_proto(nlh, size, proto, sport, dport))
		return -ENOSPC;
	mnl_attr_nest_end(nlh, orig);
	return (int)nlh->nlmsg_len;
}

/* The kernel's answer is the entry as a CT_NEW message (flagged
 * NLM_F_MULTI, seen here on 6.18); CT_GET, the request's own type, is
 * accepted too. */
static bool is_entry(const struct nlmsghdr *nlh)
{
	uint8_t msg = NFNL_MSG_TYPE(nlh->nlmsg_type);

	return NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_CTNETLINK &&
	       (msg == IPCTNL_MSG_CT_GET || msg == IPCTNL_MSG_CT_NEW);
}

static int error_answer(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return -EBADMSG;
	if (e->error == -ENOENT)
		return 0;
	return e->error < 0 ? e->error : -EPROTO;
}

int ctnl_get_reply(const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > INT_MAX ? INT_MAX : (int)len;

	for (; nlu_msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR)
			return error_answer(nlh);
		if (is_entry(nlh))
			return 1;
	}
	return -EAGAIN;
}

/* Read the query socket until the answer to seq, the deadline, or the
 * budget. */
static int await_answer(struct ctnl *ct, uint32_t seq)
{
	uint64_t deadline = nlu_now_ms() + CTNL_QUERY_TIMEOUT_MS;
	int fd = mnl_socket_get_fd(ct->query_nl);

	for (int i = 0; i < CTNL_QUERY_BUDGET; i++) {
		ssize_t n = nlu_recv_kernel(ct->query_nl, ct->qbuf, sizeof(ct->qbuf));
		int res;

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) {
			if ((res = nlu_wait_readable(fd, deadline)) < 0)
				return res;
			continue;
		}
		if (n == -EMSGSIZE)
			continue;	/* too big to be an answer of ours */
		if (n < 0)
			return (int)n;	/* -ENOBUFS: ours may be lost, do not wait for it */
		res = ctnl_get_reply(ct->qbuf, (size_t)n, seq, ct->query_portid);
		if (res != -EAGAIN)
			return res;
	}
	return -ETIMEDOUT;
}

int ctnl_query(struct ctnl *ct, uint8_t proto, const struct dime_addr *src, uint16_t sport,
	       const struct dime_addr *dst, uint16_t dport)
{
	unsigned char req[CTNL_GET_MAX_LEN] __attribute__((aligned(4)));
	uint32_t seq = ++ct->query_seq;
	int len = ctnl_build_get(req, sizeof(req), seq, proto, src, sport, dst, dport);
	int res;

	if (len < 0)
		return len;
	if (mnl_socket_sendto(ct->query_nl, req, (size_t)len) < 0)
		res = -errno;
	else
		res = await_answer(ct, seq);
	if (res < 0)
		ct->stats.query_errors++;
	else
		ct->stats.queries++;
	return res;
}
