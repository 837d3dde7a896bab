// SPDX-License-Identifier: BSD-2-Clause
/* Telling local sockets about their peer (see sockkill.h). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dime/csum.h"
#include "dime/log.h"
#include "dime/nlutil.h"
#include "dime/sockkill.h"

#define DIAG_TIMEOUT_MS 500

struct sockkill {
	struct mnl_socket *diag;
	int raw4, raw6;
	int hdr4, hdr6;		/* IPPROTO_RAW: probes with our identifiers as source */
	uint32_t seq;
	bool destroy_unsupported_logged;
	struct sockkill_stats st;
};

/* ---- message building (pure) -------------------------------------------- */

int sockkill_build_quote(const struct dime_flow *flow, uint32_t tcp_seq, uint8_t *out,
			 size_t cap)
{
	bool v6 = flow->lid.family == AF_INET6;
	size_t ipl = v6 ? 40 : 20, l4 = flow->proto == IPPROTO_TCP ? 20 : 8;
	uint8_t *p = out + ipl;

	if (cap < ipl + l4)
		return -ENOSPC;
	if (flow->lid.family != flow->rid.family ||
	    (flow->proto != IPPROTO_TCP && flow->proto != IPPROTO_UDP))
		return -EINVAL;
	memset(out, 0, ipl + l4);
	if (v6) {
		out[0] = 0x60;
		out[4] = (uint8_t)(l4 >> 8);
		out[5] = (uint8_t)l4;
		out[6] = flow->proto;
		out[7] = 64;
		memcpy(out + 8, flow->lid.a.u8, 16);
		memcpy(out + 24, flow->rid.a.u8, 16);
	} else {
		out[0] = 0x45;
		out[2] = (uint8_t)((ipl + l4) >> 8);
		out[3] = (uint8_t)(ipl + l4);
		out[8] = 64;
		out[9] = flow->proto;
		memcpy(out + 12, flow->lid.a.u8, 4);
		memcpy(out + 16, flow->rid.a.u8, 4);
		csum_store(out + 10, csum_finish(csum_add(0, out, ipl)));
	}
	p[0] = (uint8_t)(flow->lport >> 8);
	p[1] = (uint8_t)flow->lport;
	p[2] = (uint8_t)(flow->rport >> 8);
	p[3] = (uint8_t)flow->rport;
	if (flow->proto == IPPROTO_TCP) {
		p[4] = (uint8_t)(tcp_seq >> 24);
		p[5] = (uint8_t)(tcp_seq >> 16);
		p[6] = (uint8_t)(tcp_seq >> 8);
		p[7] = (uint8_t)tcp_seq;
		p[12] = 5 << 4;
		p[13] = 0x10;	/* ACK */
	} else {
		p[5] = 8;	/* UDP length: header only */
	}
	return (int)(ipl + l4);
}

int sockkill_build_icmp(enum sockkill_icmp kind, const uint8_t *quote, size_t qlen,
			uint8_t *out, size_t cap)
{
	size_t n;
	bool v6;

	if (qlen < 1 || ((quote[0] >> 4) != 4 && (quote[0] >> 4) != 6))
		return -EINVAL;
	v6 = (quote[0] >> 4) == 6;
	if (qlen < (v6 ? 48u : 28u))
		return -EINVAL;
	if (qlen > SOCKKILL_QUOTE_MAX)
		qlen = SOCKKILL_QUOTE_MAX;
	n = 8 + qlen;
	if (cap < n)
		return -ENOSPC;
	memset(out, 0, 8);
	if (v6) {
		out[0] = 1;	/* destination unreachable */
		out[1] = kind == SOCKKILL_PORT_UNREACH ? 4 : 0;	/* port / no route */
	} else {
		out[0] = 3;	/* destination unreachable */
		out[1] = kind == SOCKKILL_PORT_UNREACH ? 3 : 1;	/* port / host */
	}
	memcpy(out + 8, quote, qlen);
	if (!v6)
		csum_store(out + 2, csum_finish(csum_add(0, out, n)));
	return (int)n;
}

int sockkill_build_probe(const struct dime_flow *flow, uint32_t seq, uint32_t ack, uint8_t *out,
			 size_t cap)
{
	bool v6 = flow->lid.family == AF_INET6;
	size_t ipl = v6 ? 40 : 20, n = ipl + 20;
	uint8_t *th = out + ipl;
	uint64_t sum;
	int err;

	if (cap < n)
		return -ENOSPC;
	err = sockkill_build_quote(flow, seq, out, cap);
	if (err < 0)
		return err;
	if (flow->proto != IPPROTO_TCP)
		return -EINVAL;
	/* From us to the peer: the quote's header is already that way. */
	th[8] = (uint8_t)(ack >> 24);
	th[9] = (uint8_t)(ack >> 16);
	th[10] = (uint8_t)(ack >> 8);
	th[11] = (uint8_t)ack;
	th[13] = 0x10;		/* ACK */
	th[14] = 0x10;		/* a window, as any segment has */
	th[16] = th[17] = 0;
	sum = csum_pseudo(v6 ? out + 8 : out + 12, v6 ? out + 24 : out + 16, v6 ? 16 : 4,
			  IPPROTO_TCP, 20);
	csum_store(th + 16, csum_finish(csum_add(sum, th, 20)));
	return (int)n;
}

/* ---- sockets ------------------------------------------------------------- */

static int raw_open(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	int m = (int)mark;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* Raw ICMP sockets receive every ICMP packet; we only send. */
	shutdown(fd, SHUT_RD);
	return fd;
}

int sockkill_open(struct sockkill **out, uint32_t mark)
{
	struct sockkill *sk = calloc(1, sizeof(*sk));
	int err;

	*out = NULL;
	if (!sk)
		return -ENOMEM;
	sk->raw4 = sk->raw6 = sk->hdr4 = sk->hdr6 = -1;
	sk->diag = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!sk->diag || mnl_socket_bind(sk->diag, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		log_err_e(err, "sock_diag: cannot open the netlink socket");
		goto fail;
	}
	if ((sk->raw4 = raw_open(AF_INET, mark)) < 0) {
		err = sk->raw4;
		log_err_e(err, "cannot open a raw ICMP socket (needs CAP_NET_RAW)");
		goto fail;
	}
	/* IPv6 may be disabled on the host: UDP sockets there get no
	 * unreachable then, which is logged once per use. */
	sk->raw6 = raw_open(AF_INET6, mark);
	/* Probes must take the normal output path, queue included, so these
	 * carry no mark. Without them there are no probes, nothing else. */
	sk->hdr4 = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	sk->hdr6 = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	if (sk->hdr4 >= 0)
		shutdown(sk->hdr4, SHUT_RD);
	if (sk->hdr6 >= 0)
		shutdown(sk->hdr6, SHUT_RD);
	sk->seq = (uint32_t)time(NULL);
	*out = sk;
	return 0;
fail:
	sockkill_close(sk);
	return err;
}

void sockkill_close(struct sockkill *sk)
{
	if (!sk)
		return;
	if (sk->diag)
		mnl_socket_close(sk->diag);
	if (sk->raw4 >= 0)
		close(sk->raw4);
	if (sk->raw6 >= 0)
		close(sk->raw6);
	if (sk->hdr4 >= 0)
		close(sk->hdr4);
	if (sk->hdr6 >= 0)
		close(sk->hdr6);
	free(sk);
}

/* Deliver an ICMP message to our own address dst. */
static int inject(struct sockkill *sk, const struct dime_addr *dst, const uint8_t *msg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = dime_addr_to_sockaddr(dst, 0, &ss);
	int fd = dst->family == AF_INET ? sk->raw4 : sk->raw6;

	if (fd < 0 || sl == 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&ss, sl) < 0)
		return -errno;
	return 0;
}

static int inject_about(struct sockkill *sk, enum sockkill_icmp kind, const uint8_t *quote,
			size_t qlen)
{
	uint8_t msg[8 + SOCKKILL_QUOTE_MAX];
	struct dime_addr src;
	int n = sockkill_build_icmp(kind, quote, qlen, msg, sizeof(msg));

	if (n < 0)
		return n;
	/* The error goes to whoever sent the quoted packet: its source. */
	if ((quote[0] >> 4) == 6)
		dime_addr_from_v6(&src, quote + 8);
	else
		dime_addr_from_v4(&src, quote + 12);
	return inject(sk, &src, msg, (size_t)n);
}

/* ---- sock_diag ------------------------------------------------------------ */

struct diag_reply {
	bool found;
	uint8_t state;
	uint32_t cookie[2];
	int error;
};

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	struct diag_reply *r = data;
	const struct inet_diag_msg *m;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_ERROR;
	m = mnl_nlmsg_get_payload(nlh);
	r->found = true;
	r->state = m->idiag_state;
	r->cookie[0] = m->id.idiag_cookie[0];
	r->cookie[1] = m->id.idiag_cookie[1];
	return MNL_CB_OK;
}

static void diag_req_fill(struct inet_diag_req_v2 *req, const struct dime_flow *flow)
{
	memset(req, 0, sizeof(*req));
	req->sdiag_family = flow->lid.family;
	req->sdiag_protocol = flow->proto;
	req->idiag_states = ~0u;
	req->id.idiag_sport = htons(flow->lport);
	req->id.idiag_dport = htons(flow->rport);
	memcpy(req->id.idiag_src, flow->lid.a.u8, dime_addr_len(&flow->lid));
	memcpy(req->id.idiag_dst, flow->rid.a.u8, dime_addr_len(&flow->rid));
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

/* One request, its answer within DIAG_TIMEOUT_MS. */
static int diag_call(struct sockkill *sk, uint16_t type, const struct inet_diag_req_v2 *req,
		     struct diag_reply *reply)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(8)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	uint32_t seq = ++sk->seq, portid = mnl_socket_get_portid(sk->diag);
	uint64_t deadline = nlu_now_ms() + DIAG_TIMEOUT_MS;
	int fd = mnl_socket_get_fd(sk->diag);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(*req)), req, sizeof(*req));
	if (mnl_socket_sendto(sk->diag, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n;
		int rc, err = nlu_wait_readable(fd, deadline);

		if (err < 0)
			return err;
		n = mnl_socket_recvfrom(sk->diag, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, diag_cb, reply);
		if (rc == MNL_CB_ERROR)
			return -errno ? -errno : -EPROTO;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static int abort_tcp(struct sockkill *sk, const struct dime_flow *flow)
{
	struct inet_diag_req_v2 req;
	struct diag_reply r = { 0 };
	int err;

	diag_req_fill(&req, flow);
	err = diag_call(sk, SOCK_DIAG_BY_FAMILY, &req, &r);
	/* The exact tuple can also name the listener behind a connection
	 * that is already gone: that one must live. */
	if (err == -ENOENT || (err == 0 && (!r.found || r.state == TCP_LISTEN))) {
		sk->st.tcp_not_found++;
		return -ENOENT;
	}
	if (err < 0)
		return err;
	req.id.idiag_cookie[0] = r.cookie[0];
	req.id.idiag_cookie[1] = r.cookie[1];
	err = diag_call(sk, SOCK_DESTROY, &req, &r);
	if (err == -EOPNOTSUPP) {
		sk->st.tcp_unsupported++;
		if (!sk->destroy_unsupported_logged) {
			sk->destroy_unsupported_logged = true;
			log_warnx("this kernel cannot abort sockets (CONFIG_INET_DIAG_DESTROY): "
				  "TCP connections to lost peers end by their own timeouts");
		}
		return err;
	}
	if (err == 0)
		sk->st.tcp_aborted++;
	return err;
}

int sockkill_flow(struct sockkill *sk, const struct dime_flow *flow)
{
	uint8_t quote[SOCKKILL_QUOTE_MAX];
	int n, err;

	if (flow->proto == IPPROTO_TCP) {
		err = abort_tcp(sk, flow);
	} else if (flow->proto == IPPROTO_UDP) {
		n = sockkill_build_quote(flow, 0, quote, sizeof(quote));
		err = n < 0 ? n : inject_about(sk, SOCKKILL_PORT_UNREACH, quote, (size_t)n);
		if (err == 0)
			sk->st.udp_notified++;
	} else {
		return 0;	/* ICMP echo: nothing waits on it */
	}
	if (err < 0 && err != -ENOENT && err != -EOPNOTSUPP)
		sk->st.errors++;
	return err;
}

int sockkill_tcp_ld(struct sockkill *sk, const uint8_t *pkt, size_t len)
{
	int err = inject_about(sk, SOCKKILL_HOST_UNREACH, pkt, len);

	if (err == 0)
		sk->st.ld_sent++;
	else
		sk->st.errors++;
	return err;
}

int sockkill_tcp_probe(struct sockkill *sk, const struct dime_flow *flow)
{
	uint8_t pkt[60];
	struct sockaddr_storage ss;
	socklen_t sl;
	uint32_t r[2];
	int n, fd;

	/* Far outside any window: the peer can only answer with an ACK. */
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r[0] = sk->seq * 2654435761u, r[1] = ~r[0];
	n = sockkill_build_probe(flow, r[0], r[1], pkt, sizeof(pkt));
	if (n < 0)
		return n;
	sl = dime_addr_to_sockaddr(&flow->rid, 0, &ss);
	fd = flow->rid.family == AF_INET ? sk->hdr4 : sk->hdr6;
	if (fd < 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, pkt, (size_t)n, 0, (struct sockaddr *)&ss, sl) < 0) {
		sk->st.errors++;
		return -errno;
	}
	sk->st.probes_sent++;
	return 0;
}

int sockkill_tcp_ld_seq(struct sockkill *sk, const struct dime_flow *flow, uint32_t seq,
			unsigned int count)
{
	uint8_t quote[SOCKKILL_QUOTE_MAX];
	int n = sockkill_build_quote(flow, seq, quote, sizeof(quote)), err = 0;

	if (n < 0)
		return n;
	for (unsigned int i = 0; i < count && err == 0; i++)
		err = sockkill_tcp_ld(sk, quote, (size_t)n);
	return err;
}

const struct sockkill_stats *sockkill_stats(const struct sockkill *sk)
{
	return &sk->st;
}
