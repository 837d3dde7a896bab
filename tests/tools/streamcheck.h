/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * streamcheck: the byte-verified stream format every network test and
 * benchmark of dimed relies on, with its generator and its verifier.
 *
 * A stream is a run of blocks. Each block is a fixed 32-byte header and a
 * payload whose bytes are a pure function of (stream id, block seq, offset),
 * so the receiver can regenerate and compare every byte: one flipped bit
 * anywhere is caught. Over TCP the blocks sit back to back in the byte
 * stream; over UDP each datagram is exactly one block. The last block has
 * the END flag, no payload, and as its seq the number of data blocks sent.
 *
 * Header, all fields big-endian:
 *   0  u32 magic "DSTR"      4  u8 version (1)     5  u8 flags (END = 1)
 *   6  u16 reserved (0)      8  u64 stream id      16 u64 seq
 *   24 u32 payload length    28 u32 check: FNV-1a over bytes 0..27
 *
 * The verifier is pure: no sockets, no clock. Callers pass the bytes and
 * the time they arrived; tests drive it with byte arrays and a fake clock.
 */
#ifndef DIME_STREAMCHECK_H
#define DIME_STREAMCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_MAGIC	0x44535452u	/* "DSTR" */
#define SC_VERSION	1
#define SC_FLAG_END	0x01
#define SC_HDR_LEN	32
#define SC_MAX_BLOCK	65536
#define SC_MAX_PAYLOAD	(SC_MAX_BLOCK - SC_HDR_LEN)

/* Per-second goodput is kept for the last SC_BUCKETS seconds only: callers
 * read each second out shortly after it ends. */
#define SC_BUCKETS	64

/* UDP reordering is tracked this many blocks behind the highest seq seen
 * (a power of two). A block older than that cannot be told apart from a
 * duplicate; it is ignored and stays counted as lost. */
#define SC_UDP_WINDOW	262144

#define SC_NS_PER_SEC	1000000000ull

enum sc_proto { SC_TCP, SC_UDP };

enum sc_reason {
	SC_OK = 0,
	SC_CORRUPT,	/* payload or header mismatch */
	SC_GAP,		/* TCP: a block never arrived */
	SC_DUP,		/* TCP: a block arrived twice */
	SC_INCOMPLETE,	/* no END block (yet) */
	SC_LOSS,	/* UDP: loss above the configured maximum */
};

struct sc_hdr {
	uint64_t stream_id;
	uint64_t seq;
	uint32_t payload_len;
	uint8_t flags;
};

/* Counters; callers read them, only streamcheck.c writes them. */
struct sc_stats {
	uint64_t bytes;		/* verified header + payload bytes */
	uint64_t blocks;	/* data blocks verified (UDP: distinct ones) */
	uint64_t gaps;		/* seqs missing (UDP: missing right now) */
	uint64_t dups;
	uint64_t corrupt;	/* blocks (or datagrams) that failed a check */
	uint64_t reordered;	/* UDP: late blocks that filled a gap */
	uint64_t ignored;	/* UDP: other streams, too late to place */
	bool end_seen;
	uint64_t end_total;	/* data blocks the sender says it sent */
	bool failed;		/* TCP: framing lost, parsing stopped */
	bool started;		/* some byte arrived */
	uint64_t first_ns;	/* when the first byte arrived */
	uint64_t last_ns;	/* when the last verified byte arrived */
};

/*
 * Verifier state. Caller-allocated (about 33 KiB: mind small stacks);
 * everything but `st` is private to streamcheck.c.
 */
struct streamcheck {
	struct sc_stats st;

	enum sc_proto proto;
	double max_loss_pct;
	bool have_stream;
	uint64_t stream_id;
	uint64_t next_seq;	/* one past the highest data seq seen */

	/* TCP parser: a header being collected, or a payload being checked. */
	uint8_t hbuf[SC_HDR_LEN];
	size_t hlen;
	bool in_payload;
	struct sc_hdr cur;
	uint64_t cur_seed;
	uint32_t cur_off;
	bool cur_bad;
	bool cur_counts;

	uint64_t bucket[SC_BUCKETS];
	uint64_t bucket_sec;	/* newest second with a bucket */

	uint64_t seen[SC_UDP_WINDOW / 64];	/* UDP: bit per seq below next_seq */
};

/* ---- generator ---- */

/* Seed of a block's payload; sc_payload_fill/check take it. */
uint64_t sc_payload_seed(uint64_t stream_id, uint64_t seq);

/* The payload bytes [offset, offset + len) of the block with this seed. */
void sc_payload_fill(uint64_t seed, uint32_t offset, void *buf, size_t len);

/* Whether buf holds exactly those bytes. */
bool sc_payload_check(uint64_t seed, uint32_t offset, const void *buf, size_t len);

/* Encode a header (check included) into SC_HDR_LEN bytes. */
void sc_hdr_encode(void *buf, const struct sc_hdr *h);

/* Decode and validate a header; 0 or -EBADMSG. */
int sc_hdr_decode(const void *buf, struct sc_hdr *h);

/*
 * Write block `seq` (header and payload) into buf; returns its length, or
 * 0 if it does not fit in cap or payload_len exceeds SC_MAX_PAYLOAD.
 */
size_t sc_block_fill(void *buf, size_t cap, uint64_t stream_id, uint64_t seq,
		     uint32_t payload_len, uint8_t flags);

/* ---- verifier ---- */

void sc_init(struct streamcheck *sc, enum sc_proto proto);

/* UDP: fail when more than pct percent of the blocks are lost (default 100). */
void sc_set_max_loss(struct streamcheck *sc, double pct);

/* TCP: the next bytes of the stream, split anywhere. 0, or -EPROTO once the
 * framing is lost (corrupt header, bytes after END): stop feeding then. */
int sc_feed(struct streamcheck *sc, const void *data, size_t len, uint64_t now_ns);

/* UDP: one datagram. 0 if verified (or ignored), -EBADMSG if corrupt. */
int sc_feed_datagram(struct streamcheck *sc, const void *buf, size_t len, uint64_t now_ns);

/* Blocks lost: gaps, plus (after END) blocks never seen at the tail. */
uint64_t sc_lost(const struct streamcheck *sc);

/* Lost blocks as a percentage of the sender's total; 0 before END. */
double sc_loss_pct(const struct streamcheck *sc);

/* END seen and nothing left to wait for (UDP: no block missing). */
bool sc_complete(const struct streamcheck *sc);

/* Verified bytes that arrived in second `second` after the first byte;
 * 0 for seconds not reached yet or older than SC_BUCKETS. */
uint64_t sc_second_bytes(const struct streamcheck *sc, uint64_t second);

/* The verdict: SC_OK, or why the stream fails. */
enum sc_reason sc_result(const struct streamcheck *sc);

/* "OK", "corrupt", "gap", "duplicate", "incomplete", "loss". */
const char *sc_reason_name(enum sc_reason reason);

#endif
