// SPDX-License-Identifier: BSD-2-Clause
/*
 * The kernel's socket table over sock_diag (see sockdiag.h). The parser
 * checks the fixed inet_diag_msg and walks the attributes with nlutil.h's
 * strict indexer, so a cut attribute is reported as malformed instead of
 * ending the list quietly. The dump is synchronous: four requests in turn
 * on a socket of its own, read until each one's NLMSG_DONE within one
 * deadline. A dump given up half-way leaves the kernel's dump running on
 * that socket (a new request would get EBUSY), so the socket is replaced.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "dime/log.h"
#include "dime/nlutil.h"
#include "dime/sockdiag.h"

/* Destroy bursts (a server closing thousands of connections) must not
 * overflow before the loop gets round to us. One TCP broadcast is under
 * 400 bytes. */
#define SOCKDIAG_EVENTS_RCVBUF (8 << 20)
/* The dump is read as it comes (the kernel fills one skb per read). */
#define SOCKDIAG_QUERY_RCVBUF (1 << 20)
/* Larger than any skb the kernel builds for netlink (dumps cap at 32 KiB). */
#define SOCKDIAG_RX_SIZE (64 << 10)
/* Datagrams per sockdiag_handle_events_readable call, so a burst cannot
 * starve the loop. */
#define SOCKDIAG_RX_BUDGET 64

struct sockdiag {
	struct mnl_socket *ev_nl;
	struct mnl_socket *query_nl;
	sockdiag_cb cb;
	void *ctx;
	uint32_t query_portid;
	uint32_t seq;
	bool dumping;		/* inside sockdiag_dump (the callback may not) */
	struct sockdiag_stats stats;
	unsigned char buf[SOCKDIAG_RX_SIZE] __attribute__((aligned(8)));
	/* Apart from buf: the event callback may dump (SOCKDIAG_RESYNC) while
	 * buf still holds the datagram being delivered. */
	unsigned char dbuf[SOCKDIAG_RX_SIZE] __attribute__((aligned(8)));
};

/* ---- pure --------------------------------------------------------------------- */

static bool family_ok(uint8_t family)
{
	return family == AF_INET || family == AF_INET6;
}

static bool proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

int sockdiag_build_dump(void *buf, size_t size, uint32_t seq, uint8_t family, uint8_t proto,
			uint32_t states)
{
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;

	if (!family_ok(family) || !proto_ok(proto) || states == 0)
		return -EINVAL;
	if (size < SOCKDIAG_REQ_LEN)
		return -ENOSPC;
	memset(buf, 0, SOCKDIAG_REQ_LEN);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = family;
	req->sdiag_protocol = proto;
	req->idiag_states = states;
	return (int)nlh->nlmsg_len;
}

/* The protocol: the message's own INET_DIAG_PROTOCOL, else the hint. */
static int message_proto(const struct nlattr *a, uint8_t hint, uint8_t *proto)
{
	if (a) {
		if (!nlu_attr_is(a, 1))
			return -EBADMSG;
		*proto = mnl_attr_get_u8(a);
	} else if (hint) {
		*proto = hint;
	} else {
		return -EBADMSG;
	}
	return proto_ok(*proto) ? 0 : -ENOMSG;
}

static void fill_addr(struct dime_addr *a, uint8_t family, const __be32 *words)
{
	if (family == AF_INET)
		dime_addr_from_v4(a, words);
	else
		dime_addr_from_v6(a, words);
}

int sockdiag_parse(const struct nlmsghdr *nlh, uint8_t proto_hint, struct sockdiag_sock *out)
{
	const struct nlattr *tb[INET_DIAG_MAX + 1];
	const struct inet_diag_msg *m;
	struct sockdiag_sock s;
	int err;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -ENOMSG;
	if (nlu_msg_table(nlh, sizeof(*m), tb, INET_DIAG_MAX) < 0)
		return -EBADMSG;
	m = mnl_nlmsg_get_payload(nlh);
	if (!family_ok(m->idiag_family))
		return -EBADMSG;
	memset(&s, 0, sizeof(s));
	if ((err = message_proto(tb[INET_DIAG_PROTOCOL], proto_hint, &s.proto)) < 0)
		return err;
	/* Full sockets always carry SHUTDOWN in dumps (inet_diag_msg_attrs_fill)
	 * and PROTOCOL in broadcasts; TCP's mini-sockets (tcp_twsk_diag_fill,
	 * tcp_req_diag_fill) carry neither. */
	if (!tb[INET_DIAG_SHUTDOWN] && !tb[INET_DIAG_PROTOCOL])
		return -ENOMSG;
	s.family = m->idiag_family;
	s.state = m->idiag_state;
	fill_addr(&s.src, s.family, m->id.idiag_src);
	fill_addr(&s.dst, s.family, m->id.idiag_dst);
	s.sport = ntohs(m->id.idiag_sport);
	s.dport = ntohs(m->id.idiag_dport);
	s.ifindex = m->id.idiag_if;
	s.uid = m->idiag_uid;
	s.inode = m->idiag_inode;
	/* sock_diag_save_cookie: the low half first. */
	s.cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	*out = s;
	return 0;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Mapped to the IPv4 address, all-zero to the IPv4 all-zero one. */
static void unmap_addr(struct dime_addr *a)
{
	static const uint8_t zero[4];

	if (!dime_addr_unmap(a))
		dime_addr_from_v4(a, zero);
}

bool sockdiag_sock_unmap(struct sockdiag_sock *s)
{
	struct dime_addr src = s->src, dst = s->dst;
	bool src_zero, dst_zero, src_mapped, dst_mapped;

	if (s->family != AF_INET6)
		return false;
	src_zero = is_zero(s->src.a.u8, 16);
	dst_zero = is_zero(s->dst.a.u8, 16);
	src_mapped = dime_addr_unmap(&src);
	dst_mapped = dime_addr_unmap(&dst);
	if (!(src_mapped || src_zero) || !(dst_mapped || dst_zero) || (src_zero && dst_zero))
		return false;
	s->family = AF_INET;
	unmap_addr(&s->src);
	unmap_addr(&s->dst);
	return true;
}

const char *sockdiag_event_name(enum sockdiag_event ev)
{
	switch (ev) {
	case SOCKDIAG_DUMP: return "dump";
	case SOCKDIAG_DUMP_DONE: return "dump-done";
	case SOCKDIAG_DESTROY: return "destroy";
	case SOCKDIAG_RESYNC: return "resync";
	}
	return "unknown";
}

/* ---- sockets -------------------------------------------------------------------- */

static int subscribe(struct mnl_socket *nl, int group)
{
	if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		int err = -errno;

		log_warn_e(err, "sockdiag: cannot join destroy group %d", group);
		return err;
	}
	return 0;
}

static int open_query(struct sockdiag *sd)
{
	int err = nlu_open(&sd->query_nl, NETLINK_SOCK_DIAG, 0, SOCKDIAG_QUERY_RCVBUF, "sockdiag",
			   "query");

	if (err == 0)
		sd->query_portid = mnl_socket_get_portid(sd->query_nl);
	return err;
}

int sockdiag_open(struct sockdiag **out, sockdiag_cb cb, void *ctx)
{
	static const int groups[] = { SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET_UDP_DESTROY,
				      SKNLGRP_INET6_TCP_DESTROY, SKNLGRP_INET6_UDP_DESTROY };
	struct sockdiag *sd = calloc(1, sizeof(*sd));
	int err;

	if (!sd)
		return -ENOMEM;
	sd->cb = cb;
	sd->ctx = ctx;
	if ((err = nlu_open(&sd->ev_nl, NETLINK_SOCK_DIAG, 0, SOCKDIAG_EVENTS_RCVBUF, "sockdiag",
			    "event")) < 0 ||
	    (err = open_query(sd)) < 0)
		goto fail;
	/* One socket for the four groups: broadcasts name their protocol
	 * (INET_DIAG_PROTOCOL) and family. */
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if ((err = subscribe(sd->ev_nl, groups[i])) < 0)
			goto fail;
	sd->seq = (uint32_t)time(NULL);
	*out = sd;
	return 0;
fail:
	sockdiag_close(sd);
	return err;
}

void sockdiag_close(struct sockdiag *sd)
{
	if (!sd)
		return;
	if (sd->ev_nl)
		mnl_socket_close(sd->ev_nl);
	if (sd->query_nl)
		mnl_socket_close(sd->query_nl);
	free(sd);
}

int sockdiag_events_fd(const struct sockdiag *sd)
{
	return mnl_socket_get_fd(sd->ev_nl);
}

void sockdiag_get_stats(const struct sockdiag *sd, struct sockdiag_stats *st)
{
	*st = sd->stats;
}

static void note_malformed(struct sockdiag *sd, const char *where)
{
	nlu_note_malformed(&sd->stats.malformed, "sockdiag: malformed sock_diag message", where);
}

/* ---- destroy events ---- */

static void deliver_event(void *ctx, const struct nlmsghdr *nlh)
{
	struct sockdiag *sd = ctx;
	struct sockdiag_sock s;
	int err = sockdiag_parse(nlh, 0, &s);

	if (err == -EBADMSG)
		note_malformed(sd, "event");
	if (err < 0)
		return;
	sd->stats.destroys++;
	sd->cb(sd->ctx, SOCKDIAG_DESTROY, &s);
}

int sockdiag_handle_events_readable(struct sockdiag *sd)
{
	for (int i = 0; i < SOCKDIAG_RX_BUDGET; i++) {
		ssize_t n = nlu_recv_kernel(sd->ev_nl, sd->buf, sizeof(sd->buf));

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return 0;
		if (n == -ENOBUFS) {
			sd->stats.enobufs++;
			log_info("sockdiag: destroy events lost (socket overflow), resynchronising");
			sd->cb(sd->ctx, SOCKDIAG_RESYNC, NULL);
			continue;
		}
		if (n == -EMSGSIZE) {
			note_malformed(sd, "event");
			continue;
		}
		if (n < 0) {
			log_warn_e((int)n, "sockdiag: reading destroy events");
			return (int)n;
		}
		nlu_each_msg(sd->buf, (size_t)n, deliver_event, sd);
	}
	return 0;
}

/* ---- dumps ---- */

/* One request of a dump, as it is read. */
struct dump_run {
	struct sockdiag *sd;
	uint8_t proto;
	bool broken;		/* replies lost or NLM_F_DUMP_INTR */
	int reported;
};

static void deliver_dump(void *ctx, const struct nlmsghdr *nlh)
{
	struct dump_run *r = ctx;
	struct sockdiag_sock s;
	int err = sockdiag_parse(nlh, r->proto, &s);

	if (err == -EBADMSG)
		note_malformed(r->sd, "query");
	if (err < 0)
		return;
	r->sd->stats.dumped++;
	r->reported++;
	r->sd->cb(r->sd->ctx, SOCKDIAG_DUMP, &s);
}

/* Read the replies to request seq until its end or the deadline. 0 or
 * -errno (the kernel's, the socket's, -ETIMEDOUT). */
static int read_dump(struct dump_run *r, uint32_t seq, uint64_t deadline)
{
	struct sockdiag *sd = r->sd;
	int fd = mnl_socket_get_fd(sd->query_nl);

	for (;;) {
		ssize_t n = nlu_recv_kernel(sd->query_nl, sd->dbuf, sizeof(sd->dbuf));
		int err = 0;

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) {
			if ((err = nlu_wait_readable(fd, deadline)) < 0)
				return err;
			continue;
		}
		if (n == -ENOBUFS || n == -EMSGSIZE) {
			r->broken = true;	/* the dump goes on: let it end */
			continue;
		}
		if (n < 0)
			return (int)n;
		if (nlu_dump_datagram(sd->dbuf, (size_t)n, seq, sd->query_portid, &r->broken,
				      deliver_dump, r, &err))
			return err;
		if (nlu_now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

/* One (family, proto) request. Sockets reported or -errno. */
static int dump_one(struct sockdiag *sd, uint8_t family, uint8_t proto, uint64_t deadline,
		    bool *broken)
{
	unsigned char req[SOCKDIAG_REQ_LEN] __attribute__((aligned(4)));
	struct dump_run r = { .sd = sd, .proto = proto };
	uint32_t seq = ++sd->seq;
	int len = sockdiag_build_dump(req, sizeof(req), seq, family, proto,
				      proto == IPPROTO_TCP ? SOCKDIAG_TCP_STATES
							   : SOCKDIAG_UDP_STATES);
	int err;

	if (len < 0)
		return len;
	if (mnl_socket_sendto(sd->query_nl, req, (size_t)len) < 0)
		return -errno;
	err = read_dump(&r, seq, deadline);
	/* No handler for IPv6 (disabled): there is no IPv6 socket either. */
	if (err == -ENOENT && family == AF_INET6)
		err = 0;
	if (r.broken)
		*broken = true;
	return err < 0 ? err : r.reported;
}

/* Every request of `what` once. Sockets reported or -errno. */
static int dump_all(struct sockdiag *sd, unsigned int what, uint64_t deadline, bool *broken)
{
	static const struct { unsigned int bits; uint8_t family, proto; } parts[] = {
		{ SOCKDIAG_IPV4 | SOCKDIAG_TCP, AF_INET, IPPROTO_TCP },
		{ SOCKDIAG_IPV4 | SOCKDIAG_UDP, AF_INET, IPPROTO_UDP },
		{ SOCKDIAG_IPV6 | SOCKDIAG_TCP, AF_INET6, IPPROTO_TCP },
		{ SOCKDIAG_IPV6 | SOCKDIAG_UDP, AF_INET6, IPPROTO_UDP },
	};
	int total = 0;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int n;

		if ((what & parts[i].bits) != parts[i].bits)
			continue;
		n = dump_one(sd, parts[i].family, parts[i].proto, deadline, broken);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A request given up half-way is still running in the kernel for this
 * socket, and would make the next one fail with EBUSY: start afresh. */
static int replace_query_socket(struct sockdiag *sd)
{
	mnl_socket_close(sd->query_nl);
	sd->query_nl = NULL;
	return open_query(sd);
}

static bool what_ok(unsigned int what)
{
	return (what & ~SOCKDIAG_ALL) == 0 && (what & (SOCKDIAG_IPV4 | SOCKDIAG_IPV6)) &&
	       (what & (SOCKDIAG_TCP | SOCKDIAG_UDP));
}

static int dump_attempts(struct sockdiag *sd, unsigned int what)
{
	uint64_t deadline = nlu_now_ms() + SOCKDIAG_DUMP_TIMEOUT_MS;
	int total = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool broken = false;
		int n = dump_all(sd, what, deadline, &broken);

		if (n < 0)
			return n;
		total += n;
		if (!broken)
			return total;
	}
	return -EINTR;
}

int sockdiag_dump(struct sockdiag *sd, unsigned int what)
{
	uint64_t start = now_us(), took;
	int res;

	if (!what_ok(what))
		return -EINVAL;
	if (sd->dumping)
		return -EBUSY;
	if (!sd->query_nl && (res = open_query(sd)) < 0)
		return res;
	sd->dumping = true;
	res = dump_attempts(sd, what);
	sd->dumping = false;
	if (res < 0) {
		sd->stats.dump_errors++;
		log_warn_e(res, "sockdiag: socket dump failed");
		if (res != -EINVAL && replace_query_socket(sd) < 0)
			log_warnx("sockdiag: no query socket until the next dump");
		return res;
	}
	took = now_us() - start;
	sd->stats.dumps++;
	sd->stats.last_dump_us = took;
	if (took > sd->stats.max_dump_us)
		sd->stats.max_dump_us = took;
	sd->cb(sd->ctx, SOCKDIAG_DUMP_DONE, NULL);
	return res;
}
