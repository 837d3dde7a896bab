// SPDX-License-Identifier: BSD-2-Clause
/*
 * NFQUEUE I/O (see nfq.h for the verdict policy): owns the netlink socket
 * of one queue, the receive slots and the verdict batch.
 *
 * Cost is per packet and per byte, so the path is batched both ways. One
 * recvmmsg() reads up to cfg.batch packet messages, each into its own slot
 * big enough for a whole GSO packet; the handler rewrites the payload where
 * it lies. All verdicts of that read then go back in one sendmsg() whose
 * iovec alternates small verdict headers (built in tx_hdr) with pointers
 * to the payloads in the receive slots, so a rewritten payload is never
 * copied in user space. The kernel processes every netlink message of one
 * send in turn, but a batch verdict (NFQNL_MSG_VERDICT_BATCH) cannot carry
 * a payload, hence one NFQNL_MSG_VERDICT per packet. The slots are reused
 * by the next recvmmsg(), so verdicts are always sent before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
/* Before libnetfilter_queue.h: the kernel's header has the longer attribute list. */
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "dime/log.h"
#include "dime/nfq.h"
#include "dime/nlutil.h"

/* A slot holds one message: a 65531-byte copy, its attributes, and room to grow. */
#define NFQIO_SLOT_SIZE (68u * 1024u)
/*
 * Every slot starts on a 4 KiB boundary. The kernel copies a message into
 * its slot with "rep movsb", and some CPUs (AMD Zen 3, where the testbed
 * runs) copy 15-20 times slower when the destination lies 1-31 bytes past
 * the source modulo 4 KiB. A large message (a whole GSO packet) is built
 * at the start of a page-aligned kernel buffer, so a slot at malloc's
 * usual 16-byte offset into a page met exactly that case; page-aligned
 * slots make the distance 0, the fast case.
 */
#define NFQIO_SLOT_ALIGN 4096u
/* One verdict message without its payload: nlmsghdr, nfgenmsg, verdict, payload header. */
#define NFQIO_VHDR_MAX 40u
/* Verdicts per sendmsg(): each takes up to 3 iovecs, and UIO_MAXIOV is 1024. */
#define NFQIO_TX_RECS_MAX 320u
/*
 * Bytes per sendmsg(). The kernel copies a send into one buffer
 * (kvmalloc): a few hundred KiB still come from the page allocator, larger
 * ones fall back to vmalloc, which costs more than a second system call.
 */
#define NFQIO_TX_CHUNK (512u * 1024u)
#define NFQIO_SNDBUF (4u << 20)
#define NFQIO_ACK_TIMEOUT_MS 2000
#define NFQIO_CLOSE_CALLS 16
#define NFQIO_PROC_QUEUE "/proc/net/netfilter/nfnetlink_queue"
#define NFQIO_CFG_FLAGS_OWNED                                                            \
	(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_CONNTRACK | NFQA_CFG_F_GSO | NFQA_CFG_F_UID_GID | \
	 NFQA_CFG_F_SECCTX)

_Static_assert(NFQIO_SLOT_SIZE >= NFQIO_MANGLE_MAX + 2048, "slot must hold a whole copy");
_Static_assert(NFQIO_SLOT_SIZE % NFQIO_SLOT_ALIGN == 0, "every slot must start aligned");

/* What a queued packet's verdict needs, kept away from the handler. */
struct nfqio_pending {
	uint8_t *payload;
	uint32_t cap, id;
};

/* One verdict in the pending send, kept to resend it alone if the batch fails. */
struct nfqio_txrec {
	const uint8_t *payload;	/* NULL: no new payload */
	uint32_t len;
	uint32_t id;
	uint32_t verdict;	/* NF_ACCEPT or NF_DROP */
};

struct nfqio {
	struct mnl_socket *nl;
	int fd;
	uint16_t queue;
	bool bound;
	struct nfqio_config cfg;
	nfqio_handler_fn fn;
	nfqio_batch_fn batch_fn;	/* NULL: packets go to fn one by one */
	void *ctx;

	/* Packets of the current round waiting for the batch handler, with
	 * what the handler must not change (it may scribble on the packet). */
	struct nfqio_packet *pend;
	struct nfqio_pending *pend_keep;
	enum nfqio_verdict_kind *pend_verdict;
	uint32_t npend;

	uint8_t *rx_buf;	/* cfg.batch slots of NFQIO_SLOT_SIZE */
	struct mmsghdr *rx_msgs;
	struct iovec *rx_iov;
	struct sockaddr_nl *rx_addr;

	uint8_t *tx_hdr;	/* verdict headers of the pending send */
	size_t tx_hdr_len, tx_hdr_cap;
	struct iovec *tx_iov;
	unsigned tx_iovcnt, tx_iov_cap;
	struct nfqio_txrec *tx_rec;
	unsigned tx_nrec, tx_rec_cap;
	size_t tx_bytes, tx_limit;

	uint32_t next_seq;
	uint32_t cfg_seq;	/* config request awaiting its ack, 0 for none */
	int cfg_error;
	bool cfg_acked;
	uint32_t last_id;	/* ids start at 1 on a queue we create */

	struct nfqio_stats st;
};

static const uint8_t nfqio_zeros[4];
static const struct sockaddr_nl nfqio_kernel = { .nl_family = AF_NETLINK };

/* Repeated warnings: the 1st, 2nd, 4th, 8th... occurrence is logged. */
static bool log_due(uint64_t count)
{
	return count && (count & (count - 1)) == 0;
}

/* ---- sending verdicts --------------------------------------------------- */

static void tx_reset(struct nfqio *q)
{
	q->tx_hdr_len = 0;
	q->tx_iovcnt = 0;
	q->tx_nrec = 0;
	q->tx_bytes = 0;
}

/* Appends bytes to the iovec, extending the last entry when contiguous. */
static void tx_iov_push(struct nfqio *q, const void *base, size_t len)
{
	struct iovec *last = q->tx_iovcnt ? &q->tx_iov[q->tx_iovcnt - 1] : NULL;

	if (!len)
		return;
	if (last && (const uint8_t *)last->iov_base + last->iov_len == (const uint8_t *)base) {
		last->iov_len += len;
	} else {
		q->tx_iov[q->tx_iovcnt].iov_base = (void *)(uintptr_t)base;
		q->tx_iov[q->tx_iovcnt].iov_len = len;
		q->tx_iovcnt++;
	}
	q->tx_bytes += len;
}

/*
 * Writes the header of one verdict message at buf and returns its length;
 * with a payload, the message's length already counts the payload and its
 * padding, which the caller sends after the header.
 */
static size_t verdict_header(uint8_t *buf, uint16_t queue, const struct nfqio_txrec *r)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_VERDICT, queue);
	struct nlattr *attr;
	size_t hlen;

	nfq_nlmsg_verdict_put(nlh, (int)r->id, (int)r->verdict);
	hlen = nlh->nlmsg_len;
	if (!r->payload)
		return hlen;
	attr = (struct nlattr *)(buf + hlen);
	attr->nla_type = NFQA_PAYLOAD;
	attr->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + r->len);
	hlen += MNL_ATTR_HDRLEN;
	nlh->nlmsg_len = (uint32_t)(hlen + MNL_ALIGN(r->len));
	return hlen;
}

static int send_iov(struct nfqio *q, struct iovec *iov, size_t iovcnt)
{
	struct msghdr msg = {
		.msg_name = (void *)(uintptr_t)&nfqio_kernel,
		.msg_namelen = sizeof(nfqio_kernel),
		.msg_iov = iov,
		.msg_iovlen = iovcnt,
	};
	ssize_t n;

	do {
		q->st.send_calls++;
		n = sendmsg(q->fd, &msg, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		q->st.send_errors++;
		return -errno;
	}
	return 0;
}

/* Sends one verdict in a message of its own. */
static int send_one(struct nfqio *q, const struct nfqio_txrec *r)
{
	uint8_t hdr[NFQIO_VHDR_MAX] __attribute__((aligned(4)));
	struct iovec iov[3];
	size_t n = 1;

	iov[0].iov_base = hdr;
	iov[0].iov_len = verdict_header(hdr, q->queue, r);
	if (r->payload) {
		iov[n].iov_base = (void *)(uintptr_t)r->payload;
		iov[n++].iov_len = r->len;
		if (MNL_ALIGN(r->len) != r->len) {
			iov[n].iov_base = (void *)(uintptr_t)nfqio_zeros;
			iov[n++].iov_len = MNL_ALIGN(r->len) - r->len;
		}
	}
	return send_iov(q, iov, n);
}

/*
 * The batch could not be sent (the kernel could not allocate it): each
 * verdict is sent alone, and a rewrite that still fails becomes a drop,
 * which is small. A verdict that cannot be sent at all leaves its packet
 * queued until unbind; it is counted.
 */
static void tx_fallback(struct nfqio *q)
{
	for (unsigned i = 0; i < q->tx_nrec; i++) {
		struct nfqio_txrec r = q->tx_rec[i];

		if (send_one(q, &r) == 0)
			continue;
		if (r.payload) {
			r.payload = NULL;
			r.verdict = NF_DROP;
			if (send_one(q, &r) == 0) {
				q->st.modified--;
				q->st.dropped++;
				continue;
			}
		}
		q->st.lost_verdicts++;
	}
}

static void tx_flush(struct nfqio *q)
{
	int err;

	if (!q->tx_nrec)
		return;
	err = send_iov(q, q->tx_iov, q->tx_iovcnt);
	if (err) {
		if (log_due(q->st.send_errors))
			log_warn_e(err, "queue %u: sending %u verdicts (%zu bytes) at once, "
				   "retrying one by one (%llu failed sends so far)",
				   q->queue, q->tx_nrec, q->tx_bytes,
				   (unsigned long long)q->st.send_errors);
		tx_fallback(q);
	}
	tx_reset(q);
}

/* Queues one verdict for the next flush; payload is NULL for none. */
static void tx_add(struct nfqio *q, uint32_t id, uint32_t verdict, const uint8_t *payload,
		   uint32_t len)
{
	struct nfqio_txrec *r;
	size_t need = NFQIO_VHDR_MAX + (payload ? len : 0), hlen;
	uint8_t *hdr;

	if (q->tx_nrec == q->tx_rec_cap || q->tx_bytes + need > q->tx_limit)
		tx_flush(q);
	r = &q->tx_rec[q->tx_nrec++];
	*r = (struct nfqio_txrec){ .payload = payload, .len = len, .id = id, .verdict = verdict };
	hdr = q->tx_hdr + q->tx_hdr_len;
	hlen = verdict_header(hdr, q->queue, r);
	q->tx_hdr_len += hlen;
	tx_iov_push(q, hdr, hlen);
	if (payload) {
		tx_iov_push(q, payload, len);
		/* From a separate buffer: the next header must stay 4-byte aligned. */
		tx_iov_push(q, nfqio_zeros, MNL_ALIGN(len) - len);
	}
}

/* ---- receiving packets -------------------------------------------------- */

static void note_id(struct nfqio *q, uint32_t id)
{
	uint32_t step = id - q->last_id;

	/* Arrival order is id order; a jump means the unicast to us failed. */
	if (step > 1 && step < (1u << 31))
		q->st.kernel_dropped += step - 1;
	if (step && step < (1u << 31))
		q->last_id = id;
}

static uint32_t attr_u32(const struct nlattr *attr)
{
	return attr ? ntohl(mnl_attr_get_u32(attr)) : 0;
}

/* The attributes read as big-endian u32: absent, or exactly 4 bytes. */
static bool u32_attrs_ok(const struct nlattr *const *attr)
{
	static const int types[] = { NFQA_MARK, NFQA_SKB_INFO, NFQA_IFINDEX_INDEV,
				     NFQA_IFINDEX_OUTDEV, NFQA_CAP_LEN };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (attr[types[i]] && !nlu_attr_is(attr[types[i]], 4))
			return false;
	return true;
}

/* Fills pkt from parsed attributes. */
static void packet_fill(struct nfqio_packet *pkt, const struct nfqnl_msg_packet_hdr *ph,
			const struct nlattr *const *attr, const uint8_t *room_end)
{
	uint32_t cap_len = attr_u32(attr[NFQA_CAP_LEN]);

	*pkt = (struct nfqio_packet){
		.id = ntohl(ph->packet_id),
		.hw_protocol = ntohs(ph->hw_protocol),
		.hook = ph->hook,
		.mark = attr_u32(attr[NFQA_MARK]),
		.skbinfo = attr_u32(attr[NFQA_SKB_INFO]),
		.ifindex_in = attr_u32(attr[NFQA_IFINDEX_INDEV]),
		.ifindex_out = attr_u32(attr[NFQA_IFINDEX_OUTDEV]),
	};
	if (attr[NFQA_PAYLOAD]) {
		pkt->len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
		if (pkt->len)
			pkt->payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	}
	/* The kernel sends CAP_LEN only when it copied less than the packet. */
	pkt->wire_len = cap_len > pkt->len ? cap_len : pkt->len;
	pkt->truncated = !attr[NFQA_PAYLOAD] || pkt->wire_len > pkt->len;
	if (!pkt->truncated && pkt->payload && pkt->len <= NFQIO_MANGLE_MAX) {
		size_t room = (size_t)(room_end - pkt->payload);

		if (room < pkt->len)
			room = pkt->len;
		pkt->cap = room < NFQIO_MANGLE_MAX ? (uint32_t)room : NFQIO_MANGLE_MAX;
	}
}

/*
 * The attributes are indexed with nlutil's strict walker, not with
 * nfq_nlmsg_parse: libmnl lets attributes run on into the alignment
 * padding after nlmsg_len, and the kernel does not pad the payload, so a
 * datagram's last message could have had its packet read past what was
 * received (the fuzzer found a payload 2 bytes longer than its message).
 * The walker fills the table up to a bad attribute, so the packet header,
 * the kernel's first attribute, still names the packet to accept.
 */
int nfqio_packet_parse(struct nlmsghdr *nlh, const uint8_t *room_end, struct nfqio_packet *pkt)
{
	const struct nlattr *attr[NFQA_MAX + 1];	/* every entry set by nlu_msg_table */
	const struct nfqnl_msg_packet_hdr *ph;
	int rc = nlu_msg_table(nlh, sizeof(struct nfgenmsg), attr, NFQA_MAX);

	if (!attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return -ENOENT;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (rc < 0 || !u32_attrs_ok(attr)) {
		*pkt = (struct nfqio_packet){ .id = ntohl(ph->packet_id), .truncated = true };
		return -EBADMSG;
	}
	packet_fill(pkt, ph, attr, room_end);
	return 0;
}

struct nlmsghdr *nfqio_next_message(uint8_t **cursor, int *left, const uint8_t *slot_end,
				    const uint8_t **room_end)
{
	struct nlmsghdr *cur = (struct nlmsghdr *)*cursor, *next;

	if (!nlu_msg_ok(cur, *left))
		return NULL;
	next = mnl_nlmsg_next(cur, left);
	*cursor = (uint8_t *)next;
	/* The payload attribute is the kernel's last: a message other than the
	 * datagram's last may grow to its own end, the last one to the slot's. */
	*room_end = nlu_msg_ok(next, *left) ? (const uint8_t *)cur + cur->nlmsg_len : slot_end;
	return cur;
}

static void refuse(struct nfqio *q, const struct nfqio_packet *pkt, uint32_t cap, int kind)
{
	q->st.refused++;
	if (!log_due(q->st.refused))
		return;
	if (kind != NFQIO_ACCEPT_MODIFIED)
		log_warnx("queue %u: packet %u: handler returned unknown verdict %d, dropped "
			  "(%llu refused so far)", q->queue, pkt->id, kind,
			  (unsigned long long)q->st.refused);
	else if (pkt->truncated)
		log_warnx("queue %u: packet %u: %u bytes long, only %u copied: cannot be "
			  "rewritten, dropped (%llu refused so far)", q->queue, pkt->id,
			  pkt->wire_len, pkt->len, (unsigned long long)q->st.refused);
	else
		log_warnx("queue %u: packet %u: rewritten length %u outside 1..%u, dropped "
			  "(%llu refused so far)", q->queue, pkt->id, pkt->len, cap,
			  (unsigned long long)q->st.refused);
}

/* Queues the verdict the handler chose (or the drop that replaces it). */
static void apply_verdict(struct nfqio *q, struct nfqio_packet *pkt, enum nfqio_verdict_kind kind,
			  const struct nfqio_pending *keep)
{
	switch (kind) {
	case NFQIO_ACCEPT:
		q->st.accepted++;
		tx_add(q, keep->id, NF_ACCEPT, NULL, 0);
		return;
	case NFQIO_HOLD:
		q->st.held++;
		return;
	case NFQIO_ACCEPT_MODIFIED:
		if (keep->cap && pkt->len && pkt->len <= keep->cap) {
			q->st.modified++;
			tx_add(q, keep->id, NF_ACCEPT, keep->payload, pkt->len);
			return;
		}
		break;
	default:
		break;
	}
	if (kind != NFQIO_DROP)
		refuse(q, pkt, keep->cap, (int)kind);
	q->st.dropped++;
	tx_add(q, keep->id, NF_DROP, NULL, 0);
}

/* The batch handler decides for every pending packet; verdicts in order. */
static void pending_flush(struct nfqio *q)
{
	if (q->npend == 0)
		return;
	q->batch_fn(q->ctx, q->pend, q->pend_verdict, q->npend);
	for (uint32_t i = 0; i < q->npend; i++)
		apply_verdict(q, &q->pend[i], q->pend_verdict[i], &q->pend_keep[i]);
	q->npend = 0;
}

/* Asks the handler (now, or with the round's batch) for the packet's verdict. */
static void packet_verdict(struct nfqio *q, struct nfqio_packet *pkt)
{
	/* The handler may scribble on pkt; only its len is taken from it. */
	struct nfqio_pending keep = { .payload = pkt->payload, .cap = pkt->cap, .id = pkt->id };

	if (q->batch_fn) {
		if (q->npend == q->cfg.batch)
			pending_flush(q);
		q->pend[q->npend] = *pkt;
		q->pend_keep[q->npend] = keep;
		q->pend_verdict[q->npend++] = NFQIO_DROP;
		return;
	}
	apply_verdict(q, pkt, q->fn(q->ctx, pkt), &keep);
}

void nfqio_set_batch_handler(struct nfqio *q, nfqio_batch_fn fn)
{
	q->batch_fn = fn;
}

int nfqio_verdict(struct nfqio *q, uint32_t id, enum nfqio_verdict_kind kind,
		  const uint8_t *payload, uint32_t len)
{
	struct nfqio_txrec r = { .id = id, .verdict = NF_ACCEPT };
	int err;

	switch (kind) {
	case NFQIO_ACCEPT:
		break;
	case NFQIO_ACCEPT_MODIFIED:
		if (!payload || len == 0 || len > NFQIO_MANGLE_MAX)
			return -EINVAL;
		r.payload = payload;
		r.len = len;
		break;
	case NFQIO_DROP:
		r.verdict = NF_DROP;
		break;
	default:
		return -EINVAL;
	}
	err = send_one(q, &r);	/* counts the call and its failure */
	if (err < 0) {
		q->st.lost_verdicts++;
		return err;
	}
	if (kind == NFQIO_DROP)
		q->st.dropped++;
	else if (kind == NFQIO_ACCEPT_MODIFIED)
		q->st.modified++;
	else
		q->st.accepted++;
	return 0;
}

static void rx_packet(struct nfqio *q, struct nlmsghdr *nlh, const uint8_t *room_end)
{
	struct nfqio_packet pkt;
	int rc = nfqio_packet_parse(nlh, room_end, &pkt);

	if (rc == -ENOENT) {
		q->st.parse_errors++;
		if (log_due(q->st.parse_errors))
			log_warnx("queue %u: packet message without a packet id, no verdict "
				  "possible (%llu unparsable so far)",
				  q->queue, (unsigned long long)q->st.parse_errors);
		return;
	}
	note_id(q, pkt.id);
	q->st.packets++;
	if (rc < 0) {
		q->st.parse_errors++;
		if (log_due(q->st.parse_errors))
			log_warnx("queue %u: packet %u: attributes do not parse, accepted "
				  "unchanged (%llu unparsable so far)",
				  q->queue, pkt.id, (unsigned long long)q->st.parse_errors);
		q->st.accepted++;
		tx_add(q, pkt.id, NF_ACCEPT, NULL, 0);
		return;
	}
	q->st.bytes += pkt.len;
	q->st.truncated += pkt.truncated;
	q->st.gso += (pkt.skbinfo & NFQA_SKB_GSO) != 0;
	packet_verdict(q, &pkt);
}

static void rx_error(struct nfqio *q, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		q->st.parse_errors++;
		return;
	}
	if (q->cfg_seq && nlh->nlmsg_seq == q->cfg_seq) {
		q->cfg_acked = true;
		q->cfg_error = e->error;
		return;
	}
	if (!e->error)
		return;
	/* Verdicts ask for no ack: only failures come back (ENOENT: id unknown). */
	q->st.verdict_errors++;
	if (log_due(q->st.verdict_errors))
		log_warn_e(e->error, "queue %u: verdict refused by the kernel (%llu so far)",
			   q->queue, (unsigned long long)q->st.verdict_errors);
}

/*
 * A datagram cut short (cannot happen with our slot size, but a packet
 * without a verdict would stay queued): find the id in the first attribute,
 * where the kernel puts it, and accept the packet unchanged.
 */
static void rx_salvage(struct nfqio *q, const uint8_t *buf, size_t len)
{
	const size_t off = NLMSG_HDRLEN + sizeof(struct nfgenmsg);
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct nfqnl_msg_packet_hdr *ph;
	const struct nlattr *attr;

	q->st.parse_errors++;
	if (len < off + MNL_ATTR_HDRLEN + sizeof(*ph) ||
	    nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
		return;
	attr = (const struct nlattr *)(buf + off);
	if ((attr->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR)
		return;
	ph = (const struct nfqnl_msg_packet_hdr *)(buf + off + MNL_ATTR_HDRLEN);
	note_id(q, ntohl(ph->packet_id));
	q->st.packets++;
	q->st.accepted++;
	tx_add(q, ntohl(ph->packet_id), NF_ACCEPT, NULL, 0);
}

static void rx_datagram(struct nfqio *q, uint8_t *buf, int len, bool cut)
{
	const uint8_t *slot_end = buf + NFQIO_SLOT_SIZE, *room_end;
	struct nlmsghdr *nlh;
	uint8_t *cursor = buf;

	if (cut) {
		rx_salvage(q, buf, (size_t)len);
		return;
	}
	while ((nlh = nfqio_next_message(&cursor, &len, slot_end, &room_end))) {
		switch (nlh->nlmsg_type) {
		case NLMSG_ERROR:
			rx_error(q, nlh);
			break;
		case (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
			rx_packet(q, nlh, room_end);
			break;
		case NLMSG_NOOP:
		case NLMSG_DONE:
			break;
		default:
			q->st.parse_errors++;
			break;
		}
	}
}

/*
 * One recvmmsg() and the verdicts for what it read. Returns the number of
 * datagrams, 0 when the socket is empty, -errno on a real error.
 */
static int rx_round(struct nfqio *q)
{
	int n = recvmmsg(q->fd, q->rx_msgs, q->cfg.batch, MSG_DONTWAIT, NULL);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			/* Only if NETLINK_NO_ENOBUFS failed: messages were lost, go on. */
			q->st.enobufs++;
			return (int)q->cfg.batch;
		}
		log_warn("queue %u: receiving", q->queue);
		return -errno;
	}
	q->st.recv_calls++;
	if ((uint32_t)n > q->st.max_batch)
		q->st.max_batch = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &q->rx_msgs[i].msg_hdr;

		/* Only the kernel (port 0) may speak to us; anything else is ignored. */
		if (h->msg_namelen != sizeof(struct sockaddr_nl) || q->rx_addr[i].nl_pid != 0)
			q->st.parse_errors++;
		else
			rx_datagram(q, q->rx_buf + (size_t)i * NFQIO_SLOT_SIZE,
				    (int)q->rx_msgs[i].msg_len, (h->msg_flags & MSG_TRUNC) != 0);
		h->msg_namelen = sizeof(struct sockaddr_nl);
	}
	pending_flush(q);
	tx_flush(q);
	return n;
}

int nfqio_handle_readable(struct nfqio *q)
{
	for (uint32_t r = 0; r < q->cfg.rounds; r++) {
		int n = rx_round(q);

		if (n < 0)
			return n;
		if ((uint32_t)n < q->cfg.batch)
			return 0;
	}
	return 1;
}

/* ---- configuration ------------------------------------------------------ */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Sends one config request and waits for its ack, answering packets that
 * arrive meanwhile. Returns 0 or the kernel's -errno.
 */
static int cfg_request(struct nfqio *q, struct nlmsghdr *nlh)
{
	uint64_t deadline = mono_ms() + NFQIO_ACK_TIMEOUT_MS;
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	int err = 0;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = q->cfg_seq = ++q->next_seq;
	q->cfg_acked = false;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	while (!q->cfg_acked) {
		uint64_t now = mono_ms();

		if (now >= deadline) {
			err = -ETIMEDOUT;
			goto out;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR) {
			err = -errno;
			goto out;
		}
		err = rx_round(q);
		if (err < 0)
			goto out;
		err = 0;
	}
	err = q->cfg_error;
out:
	q->cfg_seq = 0;
	return err;
}

static void bind_error(const struct nfqio *q, int err)
{
	switch (err) {
	case -EPERM:
		log_warn_e(err, "queue %u: bind refused: another process is bound to queue %u, "
			   "or CAP_NET_ADMIN is missing", q->queue, q->queue);
		break;
	case -EBUSY:
		log_warn_e(err, "queue %u: bind refused: this process already holds queue %u",
			   q->queue, q->queue);
		break;
	case -EOPNOTSUPP:
		log_warn_e(err, "queue %u: the kernel refused the queue flags (GSO)", q->queue);
		break;
	case -ETIMEDOUT:
		log_warnx("queue %u: no answer from the kernel to the bind request within %d ms",
			  q->queue, NFQIO_ACK_TIMEOUT_MS);
		break;
	default:
		log_warn_e(err, "queue %u: bind", q->queue);
		break;
	}
}

/*
 * Bind and configure in one message: the kernel creates the queue and then
 * applies copy mode, length and flags, so at most a packet or two can slip
 * in with the defaults (metadata only: seen as truncated, never mangled).
 */
static int cfg_bind(struct nfqio *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);
	int err;

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, q->cfg.maxlen);
	/* Fail-open, conntrack, uid/gid and secctx are switched off explicitly. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQIO_CFG_FLAGS_OWNED));
	err = cfg_request(q, nlh);
	if (err) {
		bind_error(q, err);
		return err;
	}
	q->bound = true;
	return 0;
}

/* No ack awaited: closing the socket unbinds as well. */
static void cfg_unbind(struct nfqio *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue);

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		log_warn("queue %u: unbind", q->queue);
	q->bound = false;
}

/* FORCE goes past net.core.{r,w}mem_max; it needs CAP_NET_ADMIN, as binding does. */
static void sock_buffer(struct nfqio *q, int force, int plain, uint32_t bytes, const char *what)
{
	int size = (int)bytes;

	if (setsockopt(q->fd, SOL_SOCKET, force, &size, sizeof(size)) < 0 &&
	    setsockopt(q->fd, SOL_SOCKET, plain, &size, sizeof(size)) < 0)
		log_warn("queue %u: %s buffer of %u bytes", q->queue, what, bytes);
}

static int sock_open(struct nfqio *q)
{
	int one = 1, sndbuf = 0;
	socklen_t sl = sizeof(sndbuf);

	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!q->nl) {
		log_warn("queue %u: netlink socket", q->queue);
		return -errno;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("queue %u: netlink bind", q->queue);
		return -errno;
	}
	q->fd = mnl_socket_get_fd(q->nl);
	sock_buffer(q, SO_RCVBUFFORCE, SO_RCVBUF, q->cfg.rcvbuf, "receive");
	sock_buffer(q, SO_SNDBUFFORCE, SO_SNDBUF, NFQIO_SNDBUF, "send");
	/* An overrun shows up as id gaps (kernel_dropped), not as a receive error. */
	if (setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) < 0)
		log_warn("queue %u: NETLINK_NO_ENOBUFS", q->queue);
	/* A refused verdict would otherwise come back with its whole payload. */
	if (setsockopt(q->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		log_warn("queue %u: NETLINK_CAP_ACK", q->queue);
	/* The kernel refuses a send above its send buffer less 32 bytes. */
	if (getsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) < 0) {
		log_warn("queue %u: reading the send buffer size", q->queue);
		return -errno;
	}
	q->tx_limit = (size_t)sndbuf > 64 ? (size_t)sndbuf - 64 : 0;
	if (q->tx_limit > NFQIO_TX_CHUNK)
		q->tx_limit = NFQIO_TX_CHUNK;
	if (q->tx_limit < NFQIO_VHDR_MAX + NFQIO_MANGLE_MAX) {
		log_warnx("queue %u: send buffer of %d bytes cannot carry one whole packet",
			  q->queue, sndbuf);
		return -ENOBUFS;
	}
	return 0;
}

/* ---- life cycle ----------------------------------------------------------- */

void nfqio_config_default(struct nfqio_config *cfg)
{
	*cfg = (struct nfqio_config){
		.maxlen = NFQIO_MAXLEN_DEFAULT,
		.rcvbuf = NFQIO_RCVBUF_DEFAULT,
		.batch = NFQIO_BATCH_DEFAULT,
		.rounds = NFQIO_ROUNDS_DEFAULT,
	};
}

static int cfg_check(uint16_t queue, const struct nfqio_config *c)
{
	if (c->maxlen < 1 || c->maxlen > NFQIO_MAXLEN_MAX) {
		log_warnx("queue %u: queue length %u out of range 1..%u", queue, c->maxlen,
			  NFQIO_MAXLEN_MAX);
		return -EINVAL;
	}
	if (c->rcvbuf < (64u << 10) || c->rcvbuf > (1u << 30)) {
		log_warnx("queue %u: receive buffer %u out of range 65536..1073741824", queue,
			  c->rcvbuf);
		return -EINVAL;
	}
	if (c->batch < 1 || c->batch > NFQIO_BATCH_MAX) {
		log_warnx("queue %u: batch %u out of range 1..%u", queue, c->batch, NFQIO_BATCH_MAX);
		return -EINVAL;
	}
	if (c->rounds < 1 || c->rounds > 1024) {
		log_warnx("queue %u: rounds %u out of range 1..1024", queue, c->rounds);
		return -EINVAL;
	}
	return 0;
}

static int buffers_alloc(struct nfqio *q)
{
	uint32_t n = q->cfg.batch;

	q->rx_buf = aligned_alloc(NFQIO_SLOT_ALIGN, (size_t)n * NFQIO_SLOT_SIZE);
	q->rx_msgs = calloc(n, sizeof(*q->rx_msgs));
	q->rx_iov = calloc(n, sizeof(*q->rx_iov));
	q->rx_addr = calloc(n, sizeof(*q->rx_addr));
	q->tx_rec_cap = n < NFQIO_TX_RECS_MAX ? n : NFQIO_TX_RECS_MAX;
	q->tx_iov_cap = 3 * q->tx_rec_cap;
	q->tx_hdr_cap = (size_t)q->tx_rec_cap * NFQIO_VHDR_MAX;
	q->tx_rec = calloc(q->tx_rec_cap, sizeof(*q->tx_rec));
	q->tx_iov = calloc(q->tx_iov_cap, sizeof(*q->tx_iov));
	q->tx_hdr = aligned_alloc(8, q->tx_hdr_cap);
	q->pend = calloc(n, sizeof(*q->pend));
	q->pend_keep = calloc(n, sizeof(*q->pend_keep));
	q->pend_verdict = calloc(n, sizeof(*q->pend_verdict));
	if (!q->rx_buf || !q->rx_msgs || !q->rx_iov || !q->rx_addr || !q->tx_rec ||
	    !q->tx_iov || !q->tx_hdr || !q->pend || !q->pend_keep || !q->pend_verdict)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct msghdr *h = &q->rx_msgs[i].msg_hdr;

		q->rx_iov[i].iov_base = q->rx_buf + (size_t)i * NFQIO_SLOT_SIZE;
		q->rx_iov[i].iov_len = NFQIO_SLOT_SIZE;
		h->msg_iov = &q->rx_iov[i];
		h->msg_iovlen = 1;
		h->msg_name = &q->rx_addr[i];
		h->msg_namelen = sizeof(q->rx_addr[i]);
	}
	return 0;
}

static void nfqio_free(struct nfqio *q)
{
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q->rx_buf);
	free(q->rx_msgs);
	free(q->rx_iov);
	free(q->rx_addr);
	free(q->tx_rec);
	free(q->tx_iov);
	free(q->tx_hdr);
	free(q->pend);
	free(q->pend_keep);
	free(q->pend_verdict);
	free(q);
}

int nfqio_open(struct nfqio **out, uint16_t queue_num, const struct nfqio_config *cfg,
	     nfqio_handler_fn fn, void *ctx)
{
	struct nfqio *q;
	int err;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = -1;
	q->queue = queue_num;
	q->fn = fn;
	q->ctx = ctx;
	if (cfg)
		q->cfg = *cfg;
	else
		nfqio_config_default(&q->cfg);
	err = cfg_check(queue_num, &q->cfg);
	if (err)
		goto fail;
	err = buffers_alloc(q);
	if (err) {
		log_warn_e(err, "queue %u: buffers for %u messages", queue_num, q->cfg.batch);
		goto fail;
	}
	err = sock_open(q);
	if (!err)
		err = cfg_bind(q);
	if (err)
		goto fail;
	*out = q;
	return 0;
fail:
	nfqio_free(q);
	return err;
}

void nfqio_close(struct nfqio *q)
{
	if (!q)
		return;
	if (q->bound) {
		for (int i = 0; i < NFQIO_CLOSE_CALLS; i++)
			if (nfqio_handle_readable(q) <= 0)
				break;
		cfg_unbind(q);
	}
	nfqio_free(q);
}

int nfqio_fd(const struct nfqio *q)
{
	return q->fd;
}

uint16_t nfqio_queue_num(const struct nfqio *q)
{
	return q->queue;
}

const struct nfqio_stats *nfqio_stats(const struct nfqio *q)
{
	return &q->st;
}

/* ---- kernel counters ------------------------------------------------------ */

/*
 * The first n unsigned decimal fields of the line [p, end), separated by
 * blanks, each at most UINT32_MAX; what follows them is not looked at.
 * Written by hand because sscanf("%u") takes a newline for a blank (a
 * short line would borrow the next line's numbers), a minus sign for a
 * number and an overflow for anything.
 */
static bool line_u32_fields(const char *p, const char *end, uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = 0;
		const char *digits;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
			x = x * 10 + (uint64_t)(*p - '0');
			if (x > UINT32_MAX)
				return false;
		}
		if (p == digits || (p < end && *p != ' ' && *p != '\t'))
			return false;
		v[i] = (uint32_t)x;
	}
	return true;
}

/*
 * One line per queue: number, peer port id, queued now, copy mode, copy
 * range, dropped (queue full), user dropped (socket full), last id, 1.
 */
int nfqio_kernel_stats_parse(const char *text, uint16_t queue_num, struct nfqio_kernel_stats *ks)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		uint32_t f[8];	/* num, portid, total, mode, range, dropped, udropped, idseq */

		if (!line_u32_fields(line, end, f, 8))
			return -EINVAL;
		if (f[0] == queue_num) {
			*ks = (struct nfqio_kernel_stats){
				.queue_total = f[2],
				.queue_dropped = f[5],
				.user_dropped = f[6],
				.id_sequence = f[7],
			};
			return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int nfqio_kernel_stats(const struct nfqio *q, struct nfqio_kernel_stats *ks)
{
	char text[8192];
	size_t len = 0;
	ssize_t n;
	int fd = open(NFQIO_PROC_QUEUE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* The file is produced in pieces: read to the end. */
	while (len < sizeof(text) - 1 &&
	       (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	text[len] = '\0';
	return nfqio_kernel_stats_parse(text, q->queue, ks);
}
