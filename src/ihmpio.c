// SPDX-License-Identifier: BSD-2-Clause
/*
 * IHMP's UDP sockets (see ihmpio.h). recvmmsg in bounded batches, with the
 * arrival address from PKTINFO; sendmsg with the source in PKTINFO.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dime/ihmp_wire.h"
#include "dime/ihmpio.h"
#include "dime/log.h"

#define RX_BATCH 16
#define RX_ROUNDS 4		/* batches per call before yielding to the loop */
/* One byte more than any IHMP message, so an oversized one shows as such. */
#define RX_BUF (IHMP_MSG_MAX + 1)
#define CMSG_SPACE_MAX CMSG_SPACE(sizeof(struct in6_pktinfo))
#define RETRY_SLOTS 16
#define RETRY_FIRST_MS 10
#define RETRY_TRIES 6

struct retry {
	bool used;
	uint8_t tries;
	uint16_t dport, len;
	uint64_t due;
	struct dime_addr src, dst;
	uint8_t buf[IHMP_MSG_MAX];
};

struct rx_slot {
	struct sockaddr_storage from;
	struct iovec iov;
	uint8_t buf[RX_BUF];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE_MAX];
	} cmsg;
};

struct ihmpio {
	struct ihmpio_config cfg;
	int fd4, fd6;
	ihmpio_rx_cb cb;
	void *ctx;
	struct ihmpio_stats st;
	struct rx_slot slot[RX_BATCH];
	struct mmsghdr msgs[RX_BATCH];
	struct retry retry[RETRY_SLOTS];
};

static int sockopt(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0) {
		int err = -errno;

		log_err_e(err, "IHMP socket: %s", what);
		return err;
	}
	return 0;
}

static int open_one(const struct ihmpio_config *cfg, int family, int *out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, err;

	*out = -1;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0) {
		err = -errno;
		log_err_e(err, "IHMP: cannot open a UDP socket");
		return err;
	}
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->port);
		sl = sizeof(*sin);
		err = sockopt(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->port);
		sl = sizeof(*sin6);
		err = sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
		if (err == 0)
			err = sockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
	}
	/* The mark keeps our own messages out of the queues (rules.c);
	 * freebind lets a HANDOFF leave from an address the moment it is
	 * usable, whatever the order of the kernel's notifications. */
	if (err == 0)
		err = sockopt(fd, SOL_SOCKET, SO_MARK, (int)cfg->mark, "SO_MARK (needs CAP_NET_ADMIN)");
	if (err == 0)
		err = sockopt(fd, family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
			      family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, 1, "FREEBIND");
	if (err == 0 && bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		err = -errno;
		log_err_e(err, "IHMP: cannot bind UDP port %u (%s)", cfg->port,
			  family == AF_INET ? "IPv4" : "IPv6");
	}
	if (err < 0) {
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int ihmpio_open(struct ihmpio **out, const struct ihmpio_config *cfg, ihmpio_rx_cb cb,
		void *ctx)
{
	struct ihmpio *io = calloc(1, sizeof(*io));
	int err;

	*out = NULL;
	if (!io)
		return -ENOMEM;
	io->cfg = *cfg;
	io->cb = cb;
	io->ctx = ctx;
	io->fd4 = io->fd6 = -1;
	err = open_one(cfg, AF_INET, &io->fd4);
	if (err == 0 && cfg->ipv6)
		err = open_one(cfg, AF_INET6, &io->fd6);
	if (err < 0) {
		ihmpio_close(io);
		return err;
	}
	*out = io;
	return 0;
}

void ihmpio_close(struct ihmpio *io)
{
	if (!io)
		return;
	if (io->fd4 >= 0)
		close(io->fd4);
	if (io->fd6 >= 0)
		close(io->fd6);
	free(io);
}

int ihmpio_fd(const struct ihmpio *io, int family)
{
	if (!io)
		return -1;
	return family == AF_INET6 ? io->fd6 : io->fd4;
}

/* The address a datagram arrived at, from its control messages. */
static bool arrival_addr(struct msghdr *mh, struct dime_addr *dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dime_addr_from_v4(dst, &pi.ipi_addr);
			return true;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dime_addr_from_v6(dst, &pi.ipi6_addr);
			return true;
		}
	}
	return false;
}

static bool sender_addr(const struct sockaddr_storage *ss, socklen_t len, struct dime_addr *src,
			uint16_t *port)
{
	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		dime_addr_from_v4(src, &sin->sin_addr);
		*port = ntohs(sin->sin_port);
		return true;
	}
	if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		dime_addr_from_v6(src, &sin6->sin6_addr);
		*port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

static void rx_prepare(struct ihmpio *io)
{
	for (int i = 0; i < RX_BATCH; i++) {
		struct rx_slot *s = &io->slot[i];
		struct msghdr *mh = &io->msgs[i].msg_hdr;

		s->iov.iov_base = s->buf;
		s->iov.iov_len = sizeof(s->buf);
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &s->from;
		mh->msg_namelen = sizeof(s->from);
		mh->msg_iov = &s->iov;
		mh->msg_iovlen = 1;
		mh->msg_control = s->cmsg.b;
		mh->msg_controllen = sizeof(s->cmsg.b);
	}
}

static void rx_one(struct ihmpio *io, int i)
{
	struct mmsghdr *m = &io->msgs[i];
	struct msghdr *mh = &m->msg_hdr;
	struct dime_addr src, dst;
	uint16_t sport;

	if (m->msg_len > IHMP_MSG_MAX || (mh->msg_flags & MSG_TRUNC)) {
		io->st.truncated++;
		return;
	}
	if (!sender_addr(mh->msg_name, mh->msg_namelen, &src, &sport) || !arrival_addr(mh, &dst)) {
		io->st.no_pktinfo++;
		return;
	}
	io->st.received++;
	io->cb(io->ctx, io->slot[i].buf, m->msg_len, &src, sport, &dst);
}

int ihmpio_handle_readable(struct ihmpio *io, int family)
{
	int fd = ihmpio_fd(io, family);

	if (fd < 0)
		return -EBADF;
	for (int round = 0; round < RX_ROUNDS; round++) {
		int n;

		rx_prepare(io);
		n = recvmmsg(fd, io->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		io->st.recv_calls++;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			/* ICMP errors from earlier sends surface here; the
			 * next read goes on. */
			io->st.recv_errors++;
			log_debug("IHMP: receive: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++)
			rx_one(io, i);
		if (n < RX_BATCH)
			return 0;
	}
	return 1;
}

/* The source address of a datagram, as its one control message. */
static void put_pktinfo(struct msghdr *mh, struct cmsghdr *c, int level, int type, const void *pi,
			size_t len)
{
	mh->msg_controllen = CMSG_SPACE(len);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), pi, len);
}

static int send_now(struct ihmpio *io, const struct dime_addr *src, const struct dime_addr *dst,
		    uint16_t dport, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage to;
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE_MAX];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_name = &to, .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	struct cmsghdr *c;
	int fd = ihmpio_fd(io, dst->family);

	if (fd < 0 || src->family != dst->family) {
		io->st.send_errors++;
		return -EAFNOSUPPORT;
	}
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_namelen = dime_addr_to_sockaddr(dst, dport, &to);
	c = CMSG_FIRSTHDR(&mh);
	if (dst->family == AF_INET) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, src->a.u8, 4);
		put_pktinfo(&mh, c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, src->a.u8, 16);
		put_pktinfo(&mh, c, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0) {
		int err = -errno;
		char a[DIME_ADDR_STRLEN], b[DIME_ADDR_STRLEN];

		log_debug("IHMP: send %s -> %s port %u: %s", dime_addr_fmt(src, a, sizeof(a)),
			  dime_addr_fmt(dst, b, sizeof(b)), dport, strerror(-err));
		return err;
	}
	io->st.sent++;
	return 0;
}

/* No route yet, or the address is not usable yet: worth a quick retry. */
static bool transient(int err)
{
	return err == -ENETUNREACH || err == -EHOSTUNREACH || err == -EADDRNOTAVAIL ||
	       err == -EAGAIN || err == -ENOBUFS;
}

static void keep(struct ihmpio *io, const struct dime_addr *src, const struct dime_addr *dst,
		 uint16_t dport, const uint8_t *buf, size_t len, uint64_t now)
{
	for (int i = 0; i < RETRY_SLOTS; i++) {
		struct retry *r = &io->retry[i];

		if (r->used)
			continue;
		r->used = true;
		r->tries = 0;
		r->due = now + RETRY_FIRST_MS;
		r->src = *src;
		r->dst = *dst;
		r->dport = dport;
		r->len = (uint16_t)len;
		memcpy(r->buf, buf, len);
		return;
	}
	io->st.send_given_up++;
}

int ihmpio_send(struct ihmpio *io, const struct dime_addr *src, const struct dime_addr *dst,
		uint16_t dport, const uint8_t *buf, size_t len, uint64_t now)
{
	int err = send_now(io, src, dst, dport, buf, len);

	if (err < 0) {
		io->st.send_errors++;
		if (transient(err) && len <= IHMP_MSG_MAX)
			keep(io, src, dst, dport, buf, len, now);
	}
	return err;
}

uint64_t ihmpio_next_deadline(const struct ihmpio *io)
{
	uint64_t t = UINT64_MAX;

	for (int i = 0; io && i < RETRY_SLOTS; i++)
		if (io->retry[i].used && io->retry[i].due < t)
			t = io->retry[i].due;
	return t;
}

void ihmpio_timer(struct ihmpio *io, uint64_t now)
{
	for (int i = 0; io && i < RETRY_SLOTS; i++) {
		struct retry *r = &io->retry[i];
		int err;

		if (!r->used || r->due > now)
			continue;
		err = send_now(io, &r->src, &r->dst, r->dport, r->buf, r->len);
		if (err == 0) {
			io->st.send_retried++;
			r->used = false;
		} else if (!transient(err) || ++r->tries >= RETRY_TRIES) {
			io->st.send_given_up++;
			r->used = false;
		} else {
			r->due = now + ((uint64_t)RETRY_FIRST_MS << r->tries);
		}
	}
}

void ihmpio_retry_now(struct ihmpio *io)
{
	/* A route event is only a hint (a new address brings several, the
	 * default route often last): a send that still fails keeps its tries
	 * and its due time. */
	for (int i = 0; io && i < RETRY_SLOTS; i++) {
		struct retry *r = &io->retry[i];

		if (r->used && send_now(io, &r->src, &r->dst, r->dport, r->buf, r->len) == 0) {
			io->st.send_retried++;
			r->used = false;
		}
	}
}

const struct ihmpio_stats *ihmpio_stats(const struct ihmpio *io)
{
	return &io->st;
}
