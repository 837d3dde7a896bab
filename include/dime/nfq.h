/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NFQUEUE I/O for dimed: one bound queue, turned into calls of a handler
 * that sees one packet at a time and returns its verdict. This module holds
 * no policy and knows no event loop: the caller watches nfqio_fd() and calls
 * nfqio_handle_readable() when it is readable.
 *
 * Every packet message gets exactly one verdict, sent before
 * nfqio_handle_readable() returns, unless the handler holds the packet
 * (NFQIO_HOLD): then the handler owes it one verdict through
 * nfqio_verdict(), later (packets still held at unbind are dropped by the
 * kernel). The verdict is the handler's, except where the module cannot
 * carry it out:
 *   - a message whose attributes do not parse but whose packet id is known
 *     is accepted unchanged and counted (parse_errors): there is nothing the
 *     handler could be shown;
 *   - a message without a packet id cannot get a verdict; it is counted
 *     (parse_errors) and the kernel drops the packet at unbind;
 *   - NFQIO_ACCEPT_MODIFIED for a packet with cap 0 (copied short: the kernel
 *     would cut the packet to the copied length), or with a length of 0 or
 *     above cap, becomes a DROP and is counted (refused). Accepting the
 *     packet un-rewritten instead would let an inbound segment reach TCP
 *     with the wrong addresses, and TCP would reset the connection.
 * The queue never fails open (NFQA_CFG_F_FAIL_OPEN stays off) for the same
 * reason: a full queue drops, and TCP retransmits.
 *
 * The prefix is nfqio_, not nfq_: libnetfilter_queue owns that one (its
 * nfq_open, nfq_fd and nfq_close would clash at compile and link time).
 *
 * The handler may also run inside nfqio_open() (packets that arrive while the
 * configuration is acknowledged) and nfqio_close() (the final drain).
 */
#ifndef DIME_NFQ_H
#define DIME_NFQ_H

#include <stdbool.h>
#include <stdint.h>

struct nfqio;
struct nlmsghdr;

/*
 * Largest payload a verdict can carry: the netlink attribute length is 16
 * bits and includes its 4-byte header. Longer packets cannot be mangled.
 */
#define NFQIO_MANGLE_MAX 65531u

struct nfqio_packet {
	uint32_t id;		/* kernel packet id, for logs */
	uint16_t hw_protocol;	/* host order: ETH_P_IP or ETH_P_IPV6 */
	uint8_t hook;		/* NF_INET_LOCAL_OUT, NF_INET_PRE_ROUTING, ... */
	bool truncated;		/* copy shorter than the packet: cap is 0 */
	uint8_t *payload;	/* network header onwards; NULL when len is 0 */
	uint32_t len;		/* bytes at payload; set the new length when modifying */
	uint32_t cap;		/* bytes writable at payload; 0 = cannot be mangled */
	uint32_t wire_len;	/* length of the packet in the kernel (> len if truncated) */
	uint32_t mark;		/* skb mark (0 when the kernel sent none) */
	uint32_t skbinfo;	/* NFQA_SKB_CSUMNOTREADY, NFQA_SKB_GSO, NFQA_SKB_CSUM_NOTVERIFIED */
	uint32_t ifindex_in;	/* 0 when none */
	uint32_t ifindex_out;	/* 0 when none */
};

enum nfqio_verdict_kind {
	NFQIO_ACCEPT,		/* the packet as it was queued */
	NFQIO_ACCEPT_MODIFIED,	/* payload[0..len) replaces the packet */
	NFQIO_DROP,
	/* No verdict now: the kernel keeps the packet queued, and the handler,
	 * having copied what it needs (the payload pointer dies with the
	 * round), settles it later with nfqio_verdict(). */
	NFQIO_HOLD,
};

/*
 * Called once per packet. May rewrite payload in place (up to cap bytes)
 * and set pkt->len; must not keep the pointer after returning.
 */
typedef enum nfqio_verdict_kind (*nfqio_handler_fn)(void *ctx, struct nfqio_packet *pkt);

/*
 * The batch form: every packet of one nfqio_handle_readable() round at
 * once, so the handler can overlap their table lookups. It sets
 * verdicts[i] for each pkts[i]; as with the single form, only pkts[i].len
 * is read back. Packets stay valid until the handler returns.
 */
typedef void (*nfqio_batch_fn)(void *ctx, struct nfqio_packet *pkts,
			       enum nfqio_verdict_kind *verdicts, uint32_t n);

struct nfqio_config {
	uint32_t maxlen;	/* kernel queue length, packets: 1..NFQIO_MAXLEN_MAX */
	uint32_t rcvbuf;	/* socket receive buffer, bytes: 64 KiB..1 GiB */
	uint32_t batch;		/* messages per recvmmsg(): 1..NFQIO_BATCH_MAX */
	uint32_t rounds;	/* recvmmsg() calls per nfqio_handle_readable(): 1..1024 */
};

#define NFQIO_MAXLEN_DEFAULT 16384u
#define NFQIO_MAXLEN_MAX (1u << 22)
#define NFQIO_RCVBUF_DEFAULT (16u << 20)
#define NFQIO_BATCH_DEFAULT 64u
#define NFQIO_BATCH_MAX 1024u
#define NFQIO_ROUNDS_DEFAULT 4u

struct nfqio_stats {
	uint64_t packets;	/* packet messages with an id */
	uint64_t bytes;		/* payload bytes copied to us */
	uint64_t accepted;	/* unchanged ACCEPT verdicts */
	uint64_t modified;	/* ACCEPT verdicts with a new payload */
	uint64_t dropped;	/* DROP verdicts, refused ones included */
	uint64_t held;		/* packets the handler held (NFQIO_HOLD) */
	uint64_t refused;	/* handler verdicts turned into DROP (see the top) */
	uint64_t truncated;	/* packets copied short (cap 0) */
	uint64_t gso;		/* packets flagged NFQA_SKB_GSO */
	uint64_t parse_errors;	/* messages that did not parse */
	uint64_t recv_calls;	/* recvmmsg() calls that returned messages */
	uint64_t send_calls;	/* sendmsg() calls for verdicts */
	uint64_t send_errors;	/* failed sendmsg() calls */
	uint64_t lost_verdicts;	/* verdicts never delivered: packet held until unbind */
	uint64_t verdict_errors;	/* verdicts the kernel refused (NLMSG_ERROR) */
	uint64_t enobufs;	/* receive overruns reported as ENOBUFS */
	uint64_t kernel_dropped;	/* ids skipped: numbered by the kernel, never delivered */
	uint32_t max_batch;	/* most packets read by one recvmmsg() */
};

/* Counters the kernel keeps for the queue (/proc/net/netfilter/nfnetlink_queue). */
struct nfqio_kernel_stats {
	uint32_t queue_total;	/* packets waiting for a verdict now */
	uint32_t queue_dropped;	/* dropped because the queue was full */
	uint32_t user_dropped;	/* dropped because our socket was full */
	uint32_t id_sequence;	/* last id the kernel gave out */
};

/* Fills in the defaults above. */
void nfqio_config_default(struct nfqio_config *cfg);

/*
 * Binds queue_num (cfg NULL: defaults) and configures it: whole packets
 * (copy range 0xffff), GSO packets unsegmented with their checksum state
 * (NFQA_CFG_F_GSO), never fail-open. Blocks for the kernel's acknowledgement
 * (at most 2 s): call before the event loop starts. Returns 0 or -errno,
 * logged with the queue number; -EPERM usually means another process holds
 * the queue.
 */
int nfqio_open(struct nfqio **out, uint16_t queue_num, const struct nfqio_config *cfg,
	     nfqio_handler_fn fn, void *ctx);
/* Hand packets to fn in batches from now on instead of one by one. */
void nfqio_set_batch_handler(struct nfqio *q, nfqio_batch_fn fn);

/*
 * The verdict for a packet held earlier (NFQIO_HOLD), sent at once in a
 * message of its own: NFQIO_ACCEPT, NFQIO_ACCEPT_MODIFIED with
 * payload[0..len) (1..NFQIO_MANGLE_MAX bytes) replacing the packet, or
 * NFQIO_DROP. 0 or -errno (-EINVAL for another kind or a bad length).
 */
int nfqio_verdict(struct nfqio *q, uint32_t id, enum nfqio_verdict_kind kind,
		  const uint8_t *payload, uint32_t len);

/* The descriptor to watch for readability. */
int nfqio_fd(const struct nfqio *q);

uint16_t nfqio_queue_num(const struct nfqio *q);

/*
 * Reads and answers queued packets: up to cfg.rounds recvmmsg() calls of
 * cfg.batch messages, and after each call one sendmsg() per 512 KiB of
 * its verdicts (rewritten payloads included). Returns 0 when the socket is
 * empty, 1 when the bound was reached and more may be pending, -errno on
 * an error that leaves the socket unusable (logged).
 */
int nfqio_handle_readable(struct nfqio *q);

const struct nfqio_stats *nfqio_stats(const struct nfqio *q);

/* Reads the kernel's counters for this queue. Returns 0 or -errno. */
int nfqio_kernel_stats(const struct nfqio *q, struct nfqio_kernel_stats *ks);

/*
 * Parses the text of /proc/net/netfilter/nfnetlink_queue for queue_num.
 * Returns 0, -ENOENT when the queue is not listed, -EINVAL on a bad line.
 */
int nfqio_kernel_stats_parse(const char *text, uint16_t queue_num, struct nfqio_kernel_stats *ks);

/* ---- pure: the receive path's parsing, for tests and fuzzing ---- */

/*
 * The next whole message of a received datagram: *cursor starts at the
 * datagram and *left at its length, both advanced by each call; NULL at
 * the end. *room_end is how far a handler may write the message's packet:
 * the message's end, or, for the datagram's last message, slot_end (the
 * end of the buffer it was received into).
 */
struct nlmsghdr *nfqio_next_message(uint8_t **cursor, int *left, const uint8_t *slot_end,
				    const uint8_t **room_end);

/*
 * The packet of one NFQNL_MSG_PACKET message (nlmsg_len bytes readable),
 * with cap set so that payload + cap <= room_end (never below len) and
 * cap <= NFQIO_MANGLE_MAX, or 0 when the packet cannot be mangled. 0;
 * -EBADMSG when its attributes do not parse (only id is set: the packet
 * is accepted unchanged); -ENOENT when it has no packet header, so no id
 * and no verdict.
 */
int nfqio_packet_parse(struct nlmsghdr *nlh, const uint8_t *room_end, struct nfqio_packet *pkt);

/*
 * Answers what is still in the socket (handler called), unbinds and closes.
 * Remove the rules that feed the queue first. NULL is allowed.
 */
void nfqio_close(struct nfqio *q);

#endif
