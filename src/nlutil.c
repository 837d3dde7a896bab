// SPDX-License-Identifier: BSD-2-Clause
/*
 * Netlink chores shared by rtnl.c, ctnl.c, pin.c and ipset.c (see
 * nlutil.h): the strict attribute indexer their parsers rely on, and the
 * few socket steps they would otherwise each write again. Log lines keep
 * the caller's subject first ("ctnl: cannot bind dump socket").
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include "dime/log.h"
#include "dime/nlutil.h"

/* ---- pure ------------------------------------------------------------------- */

int nlu_attr_table(const void *buf, size_t len, const struct nlattr **tb, unsigned int max)
{
	const unsigned char *p = buf;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len > 0) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (len < sizeof(*a) || a->nla_len < sizeof(*a) || a->nla_len > len)
			return -EBADMSG;
		if ((a->nla_type & NLA_TYPE_MASK) <= max)
			tb[a->nla_type & NLA_TYPE_MASK] = a;
		step = MNL_ALIGN(a->nla_len);
		if (step > len)
			step = len;
		p += step;
		len -= step;
	}
	return 0;
}

int nlu_nested_table(const struct nlattr *nest, const struct nlattr **tb, unsigned int max)
{
	return nlu_attr_table(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), tb, max);
}

int nlu_msg_table(const struct nlmsghdr *nlh, size_t fixed, const struct nlattr **tb,
		  unsigned int max)
{
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(fixed);

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + fixed) {
		memset(tb, 0, (max + 1) * sizeof(*tb));
		return -EBADMSG;
	}
	if (nlh->nlmsg_len < hdr)	/* header without padding: no attributes */
		return nlu_attr_table(NULL, 0, tb, max);
	return nlu_attr_table((const unsigned char *)nlh + hdr, nlh->nlmsg_len - hdr, tb, max);
}

bool nlu_attr_is(const struct nlattr *a, size_t size)
{
	return a && mnl_attr_get_payload_len(a) == size;
}

/* 1 when nlh ends a dump, with *err as nlu_dump_datagram says. */
static int dump_end(const struct nlmsghdr *nlh, int *err)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_type == NLMSG_DONE) {
		*err = 0;
		return 1;
	}
	if (nlh->nlmsg_type != NLMSG_ERROR)
		return 0;
	e = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		*err = -EBADMSG;
	else
		*err = e->error < 0 ? e->error : -EPROTO;
	return 1;
}

void nlu_each_msg(const void *buf, size_t len, nlu_msg_fn fn, void *ctx)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	for (; nlu_msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			fn(ctx, nlh);
}

int nlu_dump_datagram(const void *buf, size_t len, uint32_t seq, uint32_t portid, bool *broken,
		      nlu_msg_fn fn, void *ctx, int *err)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)len;

	for (; nlu_msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
			continue;
		/* The kernel's dumpers flag a table that changed under them
		 * (inet_dump_ifaddr, ctnetlink's dump_table). */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			*broken = true;
		if (dump_end(nlh, err))
			return 1;
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			fn(ctx, nlh);
	}
	return 0;
}

struct nlmsghdr *nlu_put_nfnl_request(void *buf, uint8_t subsys, uint8_t msg, uint16_t flags,
				      uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (uint16_t)(subsys << 8 | msg);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* ---- sockets ------------------------------------------------------------------ */

int nlu_set_rcvbuf(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		return -errno;
	return 0;
}

int nlu_open(struct mnl_socket **out, int bus, unsigned int groups, int rcvbuf, const char *who,
	     const char *what)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int err;

	if (!nl) {
		err = -errno;
		log_warn_e(err, "%s: cannot open %s socket", who, what);
		return err;
	}
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		log_warn_e(err, "%s: cannot bind %s socket", who, what);
		mnl_socket_close(nl);
		return err;
	}
	/* Not fatal: a smaller buffer only overflows sooner, and overflows
	 * are reported and recovered from. */
	if ((err = nlu_set_rcvbuf(mnl_socket_get_fd(nl), rcvbuf)) < 0)
		log_warn_e(err, "%s: %s socket: cannot set receive buffer to %d bytes", who, what,
			   rcvbuf);
	*out = nl;
	return 0;
}

ssize_t nlu_recv_kernel(struct mnl_socket *nl, void *buf, size_t size)
{
	struct sockaddr_nl sa;
	struct iovec iov = { buf, size };
	struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(mnl_socket_get_fd(nl), &msg, 0);

	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (sa.nl_pid != 0)	/* only the kernel, never another process */
		return 0;
	return n;
}

uint64_t nlu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int nlu_wait_readable(int fd, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t now = nlu_now_ms();

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	if (poll(&pfd, 1, (int)(deadline_ms - now)) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

void nlu_note_malformed(uint64_t *count, const char *what, const char *where)
{
	uint64_t n = ++*count;

	if ((n & (n - 1)) == 0)
		log_warnx("%s on the %s socket (%llu so far)", what, where, (unsigned long long)n);
}
