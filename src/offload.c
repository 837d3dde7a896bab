// SPDX-License-Identifier: BSD-2-Clause
/*
 * Kernel offload of moved flows (see offload.h): the nft table's text, the
 * nf_tables batches that add and remove one flow's map elements, and the
 * netlink socket they go through. The batches are built by hand with
 * libmnl, as ctnetlink and ipset messages are (nlutil.c): four set
 * element messages do not justify libnftnl.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "dime/log.h"
#include "dime/nlutil.h"
#include "dime/offload.h"
#include "dime/rules.h"
#include "dime/textbuf.h"

/* Map names, by [inbound][family is IPv6][second lookup]. */
static const char *const map_names[2][2][2] = {
	{ { "o4d", "o4s" }, { "o6d", "o6s" } },
	{ { "i4s", "i4d" }, { "i6s", "i6d" } },
};

/* The key: two addresses, then proto and two ports, each field in a
 * 4-byte nf_tables register, zero padded. */
#define KEY_MAX (2 * 16 + 3 * 4)
#define REPLY_TIMEOUT_MS 500

/* ---- the ruleset ------------------------------------------------------------------- */

/* The rewrite rules of one chain and family: TCP, and UDP with a checksum
 * (an IPv4 datagram sent without one keeps going through dimed, which
 * leaves its zero alone). */
static void chain_rules(struct textbuf *t, bool in, bool v6, uint32_t mark)
{
	static const char *const l4[] = { "meta l4proto tcp", "meta l4proto udp udp checksum != 0" };
	const char *ip = v6 ? "ip6" : "ip";
	/* Outbound rewrites the destination first, inbound the source: the
	 * second lookup is keyed by the first's result (offload.h). */
	const char *first = in ? "saddr" : "daddr", *second = in ? "daddr" : "saddr";
	const char *const *names = map_names[in][v6];

	for (size_t i = 0; i < 2; i++)
		textbuf_printf(t,
			"\t\t%s %s %s set %s saddr . %s daddr . meta l4proto . th sport . th dport map @%s"
			" %s %s set %s saddr . %s daddr . meta l4proto . th sport . th dport map @%s"
			" meta mark set meta mark | 0x%x counter name \"%s\"\n",
			l4[i], ip, first, ip, ip, names[0], ip, second, ip, ip, names[1], mark,
			in ? "in" : "out");
}

int offload_render_ruleset(uint32_t mark, char *buf, size_t size)
{
	struct textbuf t = { .buf = buf, .size = size };

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (mark == 0)
		return -EINVAL;
	textbuf_printf(&t, "# dimed: moved flows rewritten in the kernel; dimed deletes this table at exit\n");
	/* Create-then-delete: replaces a crashed run's table, in one transaction. */
	textbuf_printf(&t, "table inet %s { }\ndelete table inet %s\n", OFFLOAD_TABLE, OFFLOAD_TABLE);
	/* Dormant: its chains are on no hook, and cost no packet anything,
	 * until a flow is handed over (offload_flow wakes it). */
	textbuf_printf(&t, "table inet %s {\n\tflags dormant;\n\tcounter out { }\n\tcounter in { }\n",
		       OFFLOAD_TABLE);
	for (int in = 0; in < 2; in++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int k = 0; k < 2; k++) {
				const char *a = v6 ? "ipv6_addr" : "ipv4_addr";

				textbuf_printf(&t, "\tmap %s { type %s . %s . inet_proto . inet_service . inet_service : %s; }\n",
					map_names[in][v6][k], a, a, a);
			}
	textbuf_printf(&t, "\tchain out {\n\t\ttype route hook output priority %d; policy accept;\n",
		OFFLOAD_PRIO_OUT);
	chain_rules(&t, false, false, mark);
	chain_rules(&t, false, true, mark);
	textbuf_printf(&t, "\t}\n\tchain in {\n\t\ttype filter hook prerouting priority %d; policy accept;\n",
		OFFLOAD_PRIO_IN);
	chain_rules(&t, true, false, mark);
	chain_rules(&t, true, true, mark);
	textbuf_printf(&t, "\t}\n}\n");
	return textbuf_result(&t);
}

/* ---- messages ----------------------------------------------------------------------- */

bool offload_flow_valid(const struct offload_flow *f)
{
	uint8_t fam = f->lid.family;

	if (fam != AF_INET && fam != AF_INET6)
		return false;
	if (f->rid.family != fam || f->lloc.family != fam || f->rloc.family != fam)
		return false;
	return (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) && f->lport && f->rport;
}

static size_t key_put(uint8_t *k, const struct dime_addr *a, const struct dime_addr *b,
		      uint8_t proto, uint16_t sport, uint16_t dport)
{
	size_t al = dime_addr_len(a);
	uint8_t *p = k + 2 * al;

	memcpy(k, a->a.u8, al);
	memcpy(k + al, b->a.u8, al);
	memset(p, 0, 12);
	p[0] = proto;
	p[4] = (uint8_t)(sport >> 8);
	p[5] = (uint8_t)sport;
	p[8] = (uint8_t)(dport >> 8);
	p[9] = (uint8_t)dport;
	return 2 * al + 12;
}

/* Room left for one more message of up to need bytes. */
static bool room(size_t size, size_t len, size_t need)
{
	return len <= size && size - len >= need;
}

static struct nlmsghdr *batch_marker(uint8_t *buf, size_t *len, uint16_t type, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *len);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(NFNL_SUBSYS_NFTABLES);
	*len += nlh->nlmsg_len;
	return nlh;
}

/* One NEWSETELEM/DELSETELEM for map `set` with one element (key, and data
 * when adding), or with none (a flush of the whole map). */
static void elem_msg(uint8_t *buf, size_t *len, uint32_t seq, bool add, const char *set,
		     const uint8_t *key, size_t klen, const struct dime_addr *data)
{
	struct nlmsghdr *nlh = nlu_put_nfnl_request(buf + *len, NFNL_SUBSYS_NFTABLES,
						    add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
						    NLM_F_ACK | (add ? NLM_F_CREATE : 0), NFPROTO_INET);
	struct nlattr *list, *elem, *nest;

	nlh->nlmsg_seq = seq;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, OFFLOAD_TABLE);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	if (key) {
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, key);
		mnl_attr_nest_end(nlh, nest);
		if (data) {
			nest = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_DATA);
			mnl_attr_put(nlh, NFTA_DATA_VALUE, dime_addr_len(data), data->a.u8);
			mnl_attr_nest_end(nlh, nest);
		}
		mnl_attr_nest_end(nlh, elem);
		mnl_attr_nest_end(nlh, list);
	}
	*len += nlh->nlmsg_len;
}

/* Upper bound of one element message: header, names, key and data. */
#define ELEM_MSG_MAX 256

int offload_build_flow(void *buf, size_t size, size_t *len, uint32_t *seq, bool add,
		       const struct offload_flow *f)
{
	const struct dime_addr *data[4] = { &f->rloc, &f->lloc, &f->rid, &f->lid };
	uint8_t keys[4][KEY_MAX];
	size_t klen[4], at = *len;
	bool v6;

	if (!offload_flow_valid(f))
		return -EINVAL;
	if (!room(size, at, 2 * MNL_ALIGN(sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg)) +
				    4 * ELEM_MSG_MAX))
		return -ENOSPC;
	v6 = f->lid.family == AF_INET6;
	klen[0] = key_put(keys[0], &f->lid, &f->rid, f->proto, f->lport, f->rport);
	klen[1] = key_put(keys[1], &f->lid, &f->rloc, f->proto, f->lport, f->rport);
	klen[2] = key_put(keys[2], &f->rloc, &f->lloc, f->proto, f->rport, f->lport);
	klen[3] = key_put(keys[3], &f->rid, &f->lloc, f->proto, f->rport, f->lport);
	batch_marker(buf, &at, NFNL_MSG_BATCH_BEGIN, (*seq)++);
	for (int i = 0; i < 4; i++)
		elem_msg(buf, &at, (*seq)++, add, map_names[i >= 2][v6][i & 1], keys[i], klen[i],
			 add ? data[i] : NULL);
	batch_marker(buf, &at, NFNL_MSG_BATCH_END, (*seq)++);
	*len = at;
	return 0;
}

int offload_build_flush(void *buf, size_t size, size_t *len, uint32_t *seq)
{
	size_t at = *len;

	if (!room(size, at, 2 * MNL_ALIGN(sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg)) +
				    8 * ELEM_MSG_MAX))
		return -ENOSPC;
	batch_marker(buf, &at, NFNL_MSG_BATCH_BEGIN, (*seq)++);
	for (int in = 0; in < 2; in++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int k = 0; k < 2; k++)
				elem_msg(buf, &at, (*seq)++, false, map_names[in][v6][k], NULL, 0, NULL);
	batch_marker(buf, &at, NFNL_MSG_BATCH_END, (*seq)++);
	*len = at;
	return 0;
}

/* A batch of one table message: DELTABLE, or NEWTABLE with flags. */
static int table_batch(void *buf, size_t size, size_t *len, uint32_t *seq, uint16_t type,
		       const uint32_t *flags)
{
	size_t at = *len;
	struct nlmsghdr *nlh;

	if (!room(size, at, 2 * MNL_ALIGN(sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg)) +
				    ELEM_MSG_MAX))
		return -ENOSPC;
	batch_marker(buf, &at, NFNL_MSG_BATCH_BEGIN, (*seq)++);
	nlh = nlu_put_nfnl_request((uint8_t *)buf + at, NFNL_SUBSYS_NFTABLES, type, NLM_F_ACK,
				   NFPROTO_INET);
	nlh->nlmsg_seq = (*seq)++;
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, OFFLOAD_TABLE);
	if (flags)
		mnl_attr_put_u32(nlh, NFTA_TABLE_FLAGS, htonl(*flags));
	at += nlh->nlmsg_len;
	batch_marker(buf, &at, NFNL_MSG_BATCH_END, (*seq)++);
	*len = at;
	return 0;
}

int offload_build_table_dormant(void *buf, size_t size, size_t *len, uint32_t *seq, bool dormant)
{
	uint32_t flags = dormant ? NFT_TABLE_F_DORMANT : 0;

	/* NEWTABLE without NLM_F_EXCL on a table that exists updates its flags. */
	return table_batch(buf, size, len, seq, NFT_MSG_NEWTABLE, &flags);
}

int offload_build_table_delete(void *buf, size_t size, size_t *len, uint32_t *seq)
{
	return table_batch(buf, size, len, seq, NFT_MSG_DELTABLE, NULL);
}

/* ---- the socket -------------------------------------------------------------------- */

struct offload {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	uint32_t flows;			/* handed over and not taken back */
	bool awake;			/* the table is not dormant */
	uint64_t quiet_since;		/* offload_idle: nothing steered since; 0: not quiet */
	uint8_t buf[8 * ELEM_MSG_MAX + 256] __attribute__((aligned(8)));
	uint8_t rx[16384] __attribute__((aligned(8)));
};

static int socket_open(struct offload *o)
{
	int err = nlu_open(&o->nl, NETLINK_NETFILTER, 0, 1 << 20, "offload", "nf_tables");

	if (err < 0)
		return err;
	o->portid = mnl_socket_get_portid(o->nl);
	o->seq = (uint32_t)nlu_now_ms();
	return 0;
}

/* The next datagram from the kernel into o->rx: its length, -ETIMEDOUT
 * once deadline passes, or -errno. */
static ssize_t recv_reply(struct offload *o, uint64_t deadline)
{
	for (;;) {
		ssize_t n = nlu_recv_kernel(o->nl, o->rx, sizeof(o->rx));

		if (n != -EAGAIN)
			return n;
		if (nlu_wait_readable(mnl_socket_get_fd(o->nl), deadline) < 0)
			return -ETIMEDOUT;
	}
}

/*
 * Send a batch built in o->buf[0..len) whose messages from seq `first` on
 * ask for an ACK, and collect the answers: the kernel processes a batch
 * inside sendmsg, so they are all queued when it returns; a short wait
 * covers a kernel that defers. The first error, or 0 once `acks` ACKs came.
 */
static int batch_run(struct offload *o, size_t len, uint32_t first, unsigned acks)
{
	uint64_t deadline = nlu_now_ms() + REPLY_TIMEOUT_MS;
	int result = 0;

	if (mnl_socket_sendto(o->nl, o->buf, len) < 0)
		return -errno;
	while (acks > 0) {
		ssize_t n = recv_reply(o, deadline);

		if (n == -ETIMEDOUT)
			return result ? result : -ETIMEDOUT;
		if (n < 0)
			return (int)n;
		for (const struct nlmsghdr *nlh = (const void *)o->rx; nlu_msg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			if (e->error && !result)
				result = e->error;
			if (acks)
				acks--;
		}
	}
	return result;
}

/* Wake the table (its chains join their hooks) or put it to sleep. */
static int table_set_awake(struct offload *o, bool awake)
{
	size_t len = 0;
	uint32_t first = o->seq;
	int err = offload_build_table_dormant(o->buf, sizeof(o->buf), &len, &o->seq, !awake);

	if (err == 0)
		err = batch_run(o, len, first, 1);
	if (err == 0)
		o->awake = awake;
	return err;
}

void offload_idle(struct offload *o, bool steering, uint64_t now_ms)
{
	int err;

	if (!o || !o->awake || o->flows > 0 || steering) {
		if (o)
			o->quiet_since = 0;
		return;
	}
	if (!o->quiet_since) {
		o->quiet_since = now_ms;
		return;
	}
	if (now_ms - o->quiet_since < OFFLOAD_SLEEP_AFTER_MS)
		return;
	o->quiet_since = 0;
	if ((err = table_set_awake(o, false)) < 0)
		log_debug("offload: table inet %s stays awake: %s", OFFLOAD_TABLE, strerror(-err));
	else
		log_debug("offload: nothing moved for %u ms: table inet %s asleep", OFFLOAD_SLEEP_AFTER_MS,
			  OFFLOAD_TABLE);
}

int offload_flow(struct offload *o, bool add, const struct offload_flow *f)
{
	size_t len = 0;
	uint32_t first;
	int err;

	if (add && !o->awake && (err = table_set_awake(o, true)) < 0)
		return err;
	first = o->seq;
	err = offload_build_flow(o->buf, sizeof(o->buf), &len, &o->seq, add, f);
	if (err == 0)
		err = batch_run(o, len, first, 4);
	if (err == 0 && add)
		o->flows++;
	else if (err == 0 && o->flows > 0)
		o->flows--;
	return err;
}

int offload_flush(struct offload *o)
{
	size_t len = 0;
	uint32_t first = o->seq;
	int err = offload_build_flush(o->buf, sizeof(o->buf), &len, &o->seq);

	if (err == 0)
		err = batch_run(o, len, first, 8);
	if (err < 0) {
		log_warnx("offload: emptying the maps of table inet %s: %s", OFFLOAD_TABLE, strerror(-err));
		return err;
	}
	o->flows = 0;
	return 0;
}

static int table_delete(struct offload *o)
{
	size_t len = 0;
	uint32_t first = o->seq;
	int err = offload_build_table_delete(o->buf, sizeof(o->buf), &len, &o->seq);

	return err < 0 ? err : batch_run(o, len, first, 1);
}

int offload_open(struct offload **out, uint32_t mark)
{
	char script[8192];
	struct offload *o;
	int err;

	*out = NULL;
	err = offload_render_ruleset(mark, script, sizeof(script));
	if (err < 0)
		return err;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	if ((err = rules_run_nft(script)) < 0 || (err = socket_open(o)) < 0) {
		log_warnx("offload: table inet %s not installed (%s): moved flows stay in user space",
			  OFFLOAD_TABLE, strerror(-err));
		if (o->nl)
			(void)table_delete(o);
		offload_close(o);
		return err;
	}
	log_info("offload: table inet %s installed: steady moved flows are rewritten in the kernel",
		 OFFLOAD_TABLE);
	*out = o;
	return 0;
}

void offload_close(struct offload *o)
{
	int err;

	if (!o)
		return;
	if (o->nl) {
		if ((err = table_delete(o)) < 0 && err != -ENOENT)
			log_warnx("offload: deleting table inet %s: %s", OFFLOAD_TABLE, strerror(-err));
		mnl_socket_close(o->nl);
	}
	free(o);
}

int offload_remove_stale(void)
{
	struct offload *o = calloc(1, sizeof(*o));
	int err;

	if (!o)
		return -ENOMEM;
	err = socket_open(o);
	if (err == 0) {
		err = table_delete(o);
		if (err == 0)
			log_notice("offload: removed table inet %s of an earlier run", OFFLOAD_TABLE);
		else if (err == -ENOENT || err == -EOPNOTSUPP || err == -EAFNOSUPPORT)
			err = 0;
		mnl_socket_close(o->nl);
	}
	free(o);
	return err;
}

/* ---- counters ---------------------------------------------------------------------- */

static int counter_get(struct offload *o, const char *name, uint64_t *packets, uint64_t *bytes)
{
	uint64_t deadline = nlu_now_ms() + REPLY_TIMEOUT_MS;
	struct nlmsghdr *nlh = nlu_put_nfnl_request(o->buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETOBJ,
						    NLM_F_ACK, NFPROTO_INET);
	uint32_t seq = o->seq++;
	bool got = false;

	nlh->nlmsg_seq = seq;
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, OFFLOAD_TABLE);
	mnl_attr_put_strz(nlh, NFTA_OBJ_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
	if (mnl_socket_sendto(o->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv_reply(o, deadline);

		if (n < 0)
			return (int)n;
		for (const struct nlmsghdr *m = (const void *)o->rx; nlu_msg_ok(m, (int)n);
		     m = mnl_nlmsg_next(m, (int *)&n)) {
			const struct nlattr *tb[NFTA_OBJ_MAX + 1] = { 0 }, *cb[NFTA_COUNTER_MAX + 1] = { 0 };

			if (m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (m->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
					return -EBADMSG;
				return e->error ? e->error : (got ? 0 : -ENODATA);
			}
			if (nlu_msg_table(m, sizeof(struct nfgenmsg), tb, NFTA_OBJ_MAX) < 0 ||
			    !tb[NFTA_OBJ_DATA] || nlu_nested_table(tb[NFTA_OBJ_DATA], cb, NFTA_COUNTER_MAX) < 0 ||
			    !nlu_attr_is(cb[NFTA_COUNTER_PACKETS], 8) || !nlu_attr_is(cb[NFTA_COUNTER_BYTES], 8))
				return -EBADMSG;
			*packets = be64toh(mnl_attr_get_u64(cb[NFTA_COUNTER_PACKETS]));
			*bytes = be64toh(mnl_attr_get_u64(cb[NFTA_COUNTER_BYTES]));
			got = true;
		}
	}
}

int offload_read_stats(struct offload *o, struct offload_stats *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	if ((err = counter_get(o, "out", &st->out_packets, &st->out_bytes)) < 0)
		return err;
	return counter_get(o, "in", &st->in_packets, &st->in_bytes);
}
