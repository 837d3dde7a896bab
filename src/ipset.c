// SPDX-License-Identifier: BSD-2-Clause
/*
 * ipset over netlink (see ipset.h). Messages are built by hand with libmnl
 * the way the kernel's ip_set_core.c parses them: every request carries
 * IPSET_ATTR_PROTOCOL, element data sits in a nested IPSET_ATTR_DATA, an
 * address is a nested IPSET_ATTR_IP holding IPSET_ATTR_IPADDR_IPV4/IPV6 with
 * NLA_F_NET_BYTEORDER (the kernel refuses it otherwise), and 32-bit create
 * parameters are big-endian with that flag too.
 *
 * Requests are numbered by sequence; one exchange sends a buffer of one or
 * more requests and waits (bounded) for the ack of each. The kernel runs
 * every request of a multi-message sendmsg even after one fails, and acks
 * each one, so a batch needs no special framing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/ipset/ip_set_hash.h>

#include "dime/ipset.h"
#include "dime/log.h"
#include "dime/nlutil.h"

#define TX_SIZE 8192		/* one sendmsg: about 80 element requests */
#define RX_SIZE 16384
#define MSG_MAX 128		/* upper bound of one element request (92 bytes) */
#define REV_CACHE 4

struct rev_entry {
	char type[IPSET_NAME_MAX + 1];
	uint8_t family;
	uint8_t revision;
};

struct ipset {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	struct rev_entry revs[REV_CACHE];
	unsigned nrevs;
	bool keep_contents;	/* reuse existing sets as they are (ipset_keep_contents) */
	/* Netlink messages are built and parsed in place: 4-byte aligned. */
	char tx[TX_SIZE] __attribute__((aligned(8)));
	char rx[RX_SIZE] __attribute__((aligned(8)));
};

/* Data replies (TYPE, HEADER) go to a callback before their ack arrives. */
typedef void (*reply_fn)(const struct nlmsghdr *nlh, void *arg);

/* One exchange: requests numbered first_seq .. first_seq + n - 1. */
struct exchange {
	uint32_t first_seq;
	size_t n;
	int *results;		/* n entries, kernel codes as -errno or -IPSET_ERR_* */
	size_t pending;
	reply_fn on_reply;
	void *arg;
};

/* ---- errors ------------------------------------------------------------------ */

struct err_map {
	int code;	/* positive kernel code */
	int err;	/* positive errno we return */
	const char *text;
};

static const struct err_map err_table[] = {
	{ IPSET_ERR_PROTOCOL, EPROTO, "kernel rejected the ipset message (protocol mismatch)" },
	{ IPSET_ERR_FIND_TYPE, EOPNOTSUPP, "set type not supported by this kernel" },
	{ IPSET_ERR_MAX_SETS, ENOSPC, "kernel limit of sets reached" },
	{ IPSET_ERR_BUSY, EBUSY, "set is in use by a kernel component (an iptables rule)" },
	{ IPSET_ERR_EXIST_SETNAME2, EEXIST, "second set already exists" },
	{ IPSET_ERR_TYPE_MISMATCH, EINVAL, "set type mismatch" },
	{ IPSET_ERR_EXIST, EEXIST, "already exists" },
	{ IPSET_ERR_INVALID_CIDR, EINVAL, "invalid prefix length" },
	{ IPSET_ERR_INVALID_NETMASK, EINVAL, "invalid netmask" },
	{ IPSET_ERR_INVALID_FAMILY, EAFNOSUPPORT, "address family does not match the set" },
	{ IPSET_ERR_TIMEOUT, EINVAL, "set has no timeout support" },
	{ IPSET_ERR_REFERENCED, EBUSY, "set is referenced by another set" },
	{ IPSET_ERR_IPADDR_IPV4, EAFNOSUPPORT, "an IPv4 address was expected" },
	{ IPSET_ERR_IPADDR_IPV6, EAFNOSUPPORT, "an IPv6 address was expected" },
	{ IPSET_ERR_HASH_FULL, ENOSPC, "set is full (maxelem reached)" },
	{ IPSET_ERR_HASH_ELEM, EINVAL, "invalid element for this set type" },
};

static const struct err_map *err_lookup(int code)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == code)
			return &err_table[i];
	return NULL;
}

/* Kernel code (negative, errno or IPSET_ERR_*) -> -errno. */
static int map_err(int kcode)
{
	const struct err_map *m = err_lookup(-kcode);

	if (kcode >= 0)
		return 0;
	if (m)
		return -m->err;
	return -kcode < IPSET_ERR_PRIVATE ? kcode : -EPROTO;
}

/* Clear text for a kernel code, in ipset's own terms where it has any. */
static const char *kernel_text(int kcode)
{
	const struct err_map *m = err_lookup(-kcode);

	if (m)
		return m->text;
	if (kcode == -ENOENT)
		return "set does not exist";
	if (kcode == -ETIMEDOUT)
		return "no answer from the kernel";
	return -kcode < IPSET_ERR_PRIVATE ? strerror(-kcode) : "unknown ipset error";
}

const char *ipset_strerror(int err)
{
	switch (err) {
	case -ENOENT: return "set does not exist";
	case -EEXIST: return "set exists with another type or family";
	case -EBUSY: return "set is in use by a kernel component (an iptables rule)";
	case -ENOSPC: return "set is full (maxelem reached) or the kernel's set limit is reached";
	case -EOPNOTSUPP: return "set type not supported by this kernel";
	case -EAFNOSUPPORT: return "address family does not match the set";
	case -ETIMEDOUT: return "no answer from the kernel";
	case -EPROTO: return "kernel rejected the ipset message";
	default: return strerror(err < 0 ? -err : err);
	}
}

/* ---- socket -------------------------------------------------------------------- */

int ipset_open(struct ipset **out)
{
	struct ipset *s = calloc(1, sizeof(*s));
	int one = 1, rcvbuf = 1 << 20, err;

	if (!s)
		return -ENOMEM;
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!s->nl) {
		err = -errno;
		goto fail;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	/* Acks of failed requests would otherwise quote each whole request. */
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Room for the acks of a full batch; FORCE needs CAP_NET_ADMIN, which
	 * ipset itself needs too, so the plain call is only the fallback. */
	nlu_set_rcvbuf(mnl_socket_get_fd(s->nl), rcvbuf);
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	*out = s;
	return 0;
fail:
	log_warn_e(err, "ipset: netfilter netlink socket");
	if (s->nl)
		mnl_socket_close(s->nl);
	free(s);
	return err;
}

void ipset_close(struct ipset *s)
{
	if (!s)
		return;
	mnl_socket_close(s->nl);
	free(s);
}

/* ---- message building ------------------------------------------------------------ */

static struct nlmsghdr *put_request(struct ipset *s, void *buf, uint8_t cmd, uint16_t flags)
{
	/* ipset(8) always says AF_INET here; the set's family is an attribute. */
	struct nlmsghdr *nlh = nlu_put_nfnl_request(buf, NFNL_SUBSYS_IPSET, cmd, NLM_F_ACK | flags,
						    AF_INET);

	nlh->nlmsg_seq = ++s->seq;
	mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
	return nlh;
}

static void put_addr(struct nlmsghdr *nlh, const struct dime_addr *addr)
{
	struct nlattr *data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
	struct nlattr *ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);

	if (addr->family == AF_INET)
		mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, 4, addr->a.u8);
	else
		mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, 16, addr->a.u8);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, data);
}

static int check_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return -EINVAL;
	return len > IPSET_NAME_MAX ? -ENAMETOOLONG : 0;
}

static int check_addr(const struct dime_addr *addr)
{
	return addr->family == AF_INET || addr->family == AF_INET6 ? 0 : -EAFNOSUPPORT;
}

/* ---- exchange ---------------------------------------------------------------------- */

static void take_message(struct exchange *x, const struct nlmsghdr *nlh)
{
	uint32_t idx = nlh->nlmsg_seq - x->first_seq;

	/* Anything outside this exchange is a late answer to an earlier one
	 * that timed out: drop it. */
	if (idx >= x->n || x->results[idx] != 1)
		return;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		x->results[idx] = nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) ? -EPROTO : e->error;
		x->pending--;
	} else if (nlh->nlmsg_type != NLMSG_DONE && nlh->nlmsg_type != NLMSG_NOOP && x->on_reply) {
		x->on_reply(nlh, x->arg);
	}
}

/* Read until every request of X is acked or the deadline passes. */
static int collect(struct ipset *s, struct exchange *x)
{
	int fd = mnl_socket_get_fd(s->nl);
	uint64_t deadline = nlu_now_ms() + IPSET_TIMEOUT_MS;

	while (x->pending > 0) {
		int err = nlu_wait_readable(fd, deadline);
		ssize_t got;
		int len;

		if (err < 0)
			return err;
		got = recv(fd, s->rx, sizeof(s->rx), MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;	/* ENOBUFS: acks were lost */
		}
		len = (int)got;
		for (const struct nlmsghdr *nlh = (const void *)s->rx; nlu_msg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_pid == s->portid || nlh->nlmsg_pid == 0)
				take_message(x, nlh);
	}
	return 0;
}

/*
 * Send LEN bytes holding N requests numbered from FIRST_SEQ and wait for
 * their acks. results[] gets the kernel's code per request (0 or negative);
 * requests left without an ack get -ETIMEDOUT (or the socket error).
 */
static int exchange(struct ipset *s, size_t len, uint32_t first_seq, size_t n, int *results,
		    reply_fn on_reply, void *arg)
{
	struct exchange x = {
		.first_seq = first_seq, .n = n, .results = results, .pending = n,
		.on_reply = on_reply, .arg = arg,
	};
	int err = 0;

	for (size_t i = 0; i < n; i++)
		results[i] = 1;	/* 1: not answered yet */
	if (mnl_socket_sendto(s->nl, s->tx, len) < 0)
		err = -errno;
	else
		err = collect(s, &x);
	for (size_t i = 0; i < n; i++)
		if (results[i] == 1)
			results[i] = err ? err : -ETIMEDOUT;
	return err;
}

/* One request in s->tx: its kernel code (0 or negative). */
static int exchange_one(struct ipset *s, const struct nlmsghdr *nlh, reply_fn on_reply, void *arg)
{
	int result;

	exchange(s, nlh->nlmsg_len, nlh->nlmsg_seq, 1, &result, on_reply, arg);
	return result;
}

/* ---- set type revision ------------------------------------------------------------- */

static int parse_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= IPSET_ATTR_CMD_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static void parse_top(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * (IPSET_ATTR_CMD_MAX + 1));
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), parse_attr_cb, tb);
}

static void type_reply(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1];
	int *revision = arg;

	parse_top(nlh, tb);
	if (tb[IPSET_ATTR_REVISION] && mnl_attr_get_payload_len(tb[IPSET_ATTR_REVISION]) >= 1)
		*revision = mnl_attr_get_u8(tb[IPSET_ATTR_REVISION]);
}

/*
 * The newest revision of TYPE the kernel implements. Every revision takes
 * the maxelem and hashsize we send; newer ones only add options we do not
 * use, so the newest is always acceptable.
 */
static int type_revision(struct ipset *s, const char *type, int family)
{
	struct rev_entry *e;
	struct nlmsghdr *nlh;
	int revision = -1, kcode;

	for (unsigned i = 0; i < s->nrevs; i++)
		if (s->revs[i].family == family && strcmp(s->revs[i].type, type) == 0)
			return s->revs[i].revision;
	nlh = put_request(s, s->tx, IPSET_CMD_TYPE, 0);
	mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, type);
	mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, (uint8_t)family);
	kcode = exchange_one(s, nlh, type_reply, &revision);
	if (kcode < 0)
		return kcode;
	if (revision < 0)
		return -EPROTO;
	e = &s->revs[s->nrevs < REV_CACHE ? s->nrevs++ : REV_CACHE - 1];
	snprintf(e->type, sizeof(e->type), "%s", type);
	e->family = (uint8_t)family;
	e->revision = (uint8_t)revision;
	return revision;
}

/* ---- set commands -------------------------------------------------------------------- */

static void header_reply(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1];
	struct ipset_info *info = arg;

	parse_top(nlh, tb);
	if (tb[IPSET_ATTR_TYPENAME] && mnl_attr_validate(tb[IPSET_ATTR_TYPENAME], MNL_TYPE_NUL_STRING) == 0)
		snprintf(info->type, sizeof(info->type), "%s", mnl_attr_get_str(tb[IPSET_ATTR_TYPENAME]));
	if (tb[IPSET_ATTR_FAMILY] && mnl_attr_get_payload_len(tb[IPSET_ATTR_FAMILY]) >= 1)
		info->family = mnl_attr_get_u8(tb[IPSET_ATTR_FAMILY]);
	if (tb[IPSET_ATTR_REVISION] && mnl_attr_get_payload_len(tb[IPSET_ATTR_REVISION]) >= 1)
		info->revision = mnl_attr_get_u8(tb[IPSET_ATTR_REVISION]);
}

int ipset_header(struct ipset *s, const char *name, struct ipset_info *info)
{
	struct nlmsghdr *nlh;
	int err = check_name(name), kcode;

	if (err < 0)
		return err;
	memset(info, 0, sizeof(*info));
	nlh = put_request(s, s->tx, IPSET_CMD_HEADER, 0);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name);
	kcode = exchange_one(s, nlh, header_reply, info);
	if (kcode == -ENOENT)
		return -ENOENT;
	if (kcode < 0) {
		log_warnx("ipset %s: header: %s", name, kernel_text(kcode));
		return map_err(kcode);
	}
	return info->type[0] ? 0 : -EPROTO;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "inet" : family == AF_INET6 ? "inet6" : "other";
}

/* A set by that name exists: reuse it when it is what we would create. */
static int reuse_existing(struct ipset *s, const char *name, const char *type, int family)
{
	struct ipset_info info;
	int err = ipset_header(s, name, &info);

	if (err < 0)
		return err;
	if (strcmp(info.type, type) != 0 || info.family != family) {
		log_warnx("ipset %s: exists as %s family %s, not %s family %s; destroy it (ipset destroy %s)",
			  name, info.type, family_name(info.family), type, family_name(family), name);
		return -EEXIST;
	}
	if (s->keep_contents) {
		log_debug("ipset %s: exists, reused with its members", name);
		return 0;
	}
	log_debug("ipset %s: exists, flushed and reused", name);
	return ipset_flush(s, name);
}

void ipset_keep_contents(struct ipset *s, bool keep)
{
	s->keep_contents = keep;
}

int ipset_create(struct ipset *s, const char *name, const char *type, int family, uint32_t maxelem)
{
	struct nlmsghdr *nlh;
	struct nlattr *data;
	int err = check_name(name), revision, kcode;

	if (err < 0)
		return err;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	revision = type_revision(s, type, family);
	if (revision < 0) {
		log_warnx("ipset %s: type %s: %s", name, type, kernel_text(revision));
		return map_err(revision);
	}
	/* EXCL: learn that the set exists instead of the kernel silently
	 * accepting an identical one, so an old set is always flushed. */
	nlh = put_request(s, s->tx, IPSET_CMD_CREATE, NLM_F_CREATE | NLM_F_EXCL);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name);
	mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, type);
	mnl_attr_put_u8(nlh, IPSET_ATTR_REVISION, (uint8_t)revision);
	mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, (uint8_t)family);
	data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
	mnl_attr_put_u32(nlh, IPSET_ATTR_MAXELEM | NLA_F_NET_BYTEORDER, htonl(maxelem));
	mnl_attr_nest_end(nlh, data);
	kcode = exchange_one(s, nlh, NULL, NULL);
	if (kcode == -EEXIST || kcode == -IPSET_ERR_EXIST)
		return reuse_existing(s, name, type, family);
	if (kcode < 0) {
		log_warnx("ipset %s: create %s revision %d: %s", name, type, revision, kernel_text(kcode));
		return map_err(kcode);
	}
	log_debug("ipset %s: created (%s revision %d, maxelem %u)", name, type, revision, maxelem);
	return 0;
}

static int simple_command(struct ipset *s, uint8_t cmd, const char *name, int *kcode)
{
	struct nlmsghdr *nlh;
	int err = check_name(name);

	if (err < 0)
		return err;
	nlh = put_request(s, s->tx, cmd, 0);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name);
	*kcode = exchange_one(s, nlh, NULL, NULL);
	return 0;
}

int ipset_destroy(struct ipset *s, const char *name)
{
	int kcode, err = simple_command(s, IPSET_CMD_DESTROY, name, &kcode);

	if (err < 0)
		return err;
	if (kcode == -ENOENT)
		return 0;
	if (kcode < 0 && map_err(kcode) != -EBUSY)
		log_warnx("ipset %s: destroy: %s", name, kernel_text(kcode));
	return map_err(kcode);
}

int ipset_flush(struct ipset *s, const char *name)
{
	int kcode, err = simple_command(s, IPSET_CMD_FLUSH, name, &kcode);

	if (err < 0)
		return err;
	if (kcode < 0)
		log_warnx("ipset %s: flush: %s", name, kernel_text(kcode));
	return map_err(kcode);
}

/* ---- elements ---------------------------------------------------------------------- */

static const char *cmd_name(uint8_t cmd)
{
	return cmd == IPSET_CMD_ADD ? "add" : cmd == IPSET_CMD_DEL ? "del" : "test";
}

static void log_element_error(const char *set, uint8_t cmd, const struct dime_addr *addr, int kcode)
{
	char text[DIME_ADDR_STRLEN];

	log_warnx("ipset %s: %s %s: %s", set, cmd_name(cmd), dime_addr_fmt(addr, text, sizeof(text)),
		  kernel_text(kcode));
}

static int element_command(struct ipset *s, uint8_t cmd, const char *name, const struct dime_addr *addr)
{
	struct nlmsghdr *nlh;
	int err = check_name(name);

	if (err == 0)
		err = check_addr(addr);
	if (err < 0)
		return err;
	nlh = put_request(s, s->tx, cmd, 0);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name);
	put_addr(nlh, addr);
	return exchange_one(s, nlh, NULL, NULL);
}

/* Add or delete: 0 or -errno, failures logged. */
static int element_change(struct ipset *s, uint8_t cmd, const char *name,
			  const struct dime_addr *addr)
{
	int kcode = element_command(s, cmd, name, addr);

	if (kcode < 0)
		log_element_error(name, cmd, addr, kcode);
	return map_err(kcode);
}

int ipset_add_ip(struct ipset *s, const char *name, const struct dime_addr *addr)
{
	return element_change(s, IPSET_CMD_ADD, name, addr);
}

int ipset_del_ip(struct ipset *s, const char *name, const struct dime_addr *addr)
{
	return element_change(s, IPSET_CMD_DEL, name, addr);
}

int ipset_test_ip(struct ipset *s, const char *name, const struct dime_addr *addr)
{
	int kcode = element_command(s, IPSET_CMD_TEST, name, addr);

	/* The kernel answers "absent" with IPSET_ERR_EXIST. */
	if (kcode == -IPSET_ERR_EXIST)
		return 0;
	if (kcode < 0) {
		log_element_error(name, IPSET_CMD_TEST, addr, kcode);
		return map_err(kcode);
	}
	return 1;
}

/* Send ops[0..n) (all valid) in one buffer and store their results. */
static void apply_chunk(struct ipset *s, struct ipset_op *ops, size_t n)
{
	int results[TX_SIZE / MSG_MAX];
	uint32_t first_seq = s->seq + 1;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t cmd = ops[i].del ? IPSET_CMD_DEL : IPSET_CMD_ADD;
		struct nlmsghdr *nlh = put_request(s, s->tx + len, cmd, 0);

		mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, ops[i].set);
		put_addr(nlh, &ops[i].addr);
		len += nlh->nlmsg_len;
	}
	exchange(s, len, first_seq, n, results, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		ops[i].result = results[i];	/* kernel codes; mapped by the caller */
}

/* Send the longest run of valid ops at the head of OPS that fits one
 * buffer; an invalid op at the head is failed alone. Returns how many ops
 * were consumed. */
static size_t apply_next_chunk(struct ipset *s, struct ipset_op *ops, size_t n)
{
	size_t count = 0;

	while (count < n && (count + 1) * MSG_MAX <= TX_SIZE) {
		int err = check_name(ops[count].set);

		if (err == 0)
			err = check_addr(&ops[count].addr);
		if (err < 0) {
			if (count == 0) {
				ops[0].result = err;
				return 1;
			}
			break;
		}
		count++;
	}
	apply_chunk(s, ops, count);
	return count;
}

int ipset_apply(struct ipset *s, struct ipset_op *ops, size_t n)
{
	size_t done = 0, failed = 0;
	int first = 0;

	while (done < n) {
		size_t start = done;

		done += apply_next_chunk(s, ops + done, n - done);
		for (size_t i = start; i < done; i++) {
			int kcode = ops[i].result;

			ops[i].result = map_err(kcode);
			if (kcode >= 0)
				continue;
			if (failed++ == 0) {
				first = ops[i].result;
				log_element_error(ops[i].set, ops[i].del ? IPSET_CMD_DEL : IPSET_CMD_ADD,
						  &ops[i].addr, kcode);
			}
		}
	}
	if (failed > 1)
		log_warnx("ipset: %zu more of %zu element operations failed", failed - 1, n);
	return first;
}
