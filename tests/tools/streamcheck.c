// SPDX-License-Identifier: BSD-2-Clause
/*
 * streamcheck: generates and verifies the blocks of a dstream stream (format
 * in streamcheck.h). The verifier keeps the counters and the per-second
 * goodput buckets; it never reads a clock and never touches a socket.
 *
 * Failure policy, written once: TCP must deliver every block exactly once, in
 * order, intact, followed by END, so any corruption, gap or duplicate fails
 * the stream; a corrupt header (or any byte after END) means the framing is
 * lost and parsing stops. UDP may lose, reorder and duplicate: those are
 * counted, and only corruption, a missing END, or loss above the configured
 * maximum fails it.
 */
#include "streamcheck.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

/* ---- byte order and hashing ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* Payload words are little-endian: both common CPU families store them
 * with a plain move, and the bytes do not depend on the host. */
static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* splitmix64's finaliser: cheap, and every input bit affects every output bit. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Word k of a payload. Counter-based (splitmix64 indexed by k), so any
 * offset can be produced without generating what comes before it: TCP
 * reads end anywhere inside a block. */
static uint64_t payload_word(uint64_t seed, uint64_t k)
{
	return mix64(seed + (k + 1) * GOLDEN);
}

/* FNV-1a: each step is an xor then a multiplication by an odd number, both
 * bijections, so changing any single byte always changes the result. */
static uint32_t fnv1a32(const uint8_t *p, size_t len)
{
	uint32_t h = 0x811c9dc5u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x01000193u;
	return h;
}

/* ---- generator ---- */

uint64_t sc_payload_seed(uint64_t stream_id, uint64_t seq)
{
	return mix64(stream_id ^ mix64(seq ^ 0x6473747265616d31ull));
}

/* Partial words at either end go through a scratch word; the run of whole
 * words between them is the loop that has to keep up with the link. */
void sc_payload_fill(uint64_t seed, uint32_t offset, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint8_t w[8];

	while (len > 0) {
		size_t in = offset & 7;
		size_t n = len < 8 - in ? len : 8 - in;

		if (n == 8) {
			size_t words = len / 8;

			for (size_t i = 0; i < words; i++)
				put_le64(p + 8 * i, payload_word(seed, (offset >> 3) + i));
			n = words * 8;
		} else {
			put_le64(w, payload_word(seed, offset >> 3));
			memcpy(p, w + in, n);
		}
		p += n;
		offset += n;
		len -= n;
	}
}

bool sc_payload_check(uint64_t seed, uint32_t offset, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t w[8];

	while (len > 0) {
		size_t in = offset & 7;
		size_t n = len < 8 - in ? len : 8 - in;

		if (n == 8) {
			size_t words = len / 8;
			uint64_t diff = 0;

			/* No early exit inside the run: the loop stays branch-free. */
			for (size_t i = 0; i < words; i++)
				diff |= get_le64(p + 8 * i) ^ payload_word(seed, (offset >> 3) + i);
			if (diff)
				return false;
			n = words * 8;
		} else {
			put_le64(w, payload_word(seed, offset >> 3));
			if (memcmp(p, w + in, n) != 0)
				return false;
		}
		p += n;
		offset += n;
		len -= n;
	}
	return true;
}

void sc_hdr_encode(void *buf, const struct sc_hdr *h)
{
	uint8_t *p = buf;

	put_be32(p, SC_MAGIC);
	p[4] = SC_VERSION;
	p[5] = h->flags;
	p[6] = 0;
	p[7] = 0;
	put_be64(p + 8, h->stream_id);
	put_be64(p + 16, h->seq);
	put_be32(p + 24, h->payload_len);
	put_be32(p + 28, fnv1a32(p, 28));
}

int sc_hdr_decode(const void *buf, struct sc_hdr *h)
{
	const uint8_t *p = buf;

	if (get_be32(p) != SC_MAGIC || p[4] != SC_VERSION || (p[5] & ~SC_FLAG_END) ||
	    p[6] || p[7] || get_be32(p + 28) != fnv1a32(p, 28))
		return -EBADMSG;
	h->flags = p[5];
	h->stream_id = get_be64(p + 8);
	h->seq = get_be64(p + 16);
	h->payload_len = get_be32(p + 24);
	return h->payload_len > SC_MAX_PAYLOAD ? -EBADMSG : 0;
}

size_t sc_block_fill(void *buf, size_t cap, uint64_t stream_id, uint64_t seq,
		     uint32_t payload_len, uint8_t flags)
{
	struct sc_hdr h = {
		.stream_id = stream_id, .seq = seq, .payload_len = payload_len, .flags = flags,
	};
	size_t total = (size_t)SC_HDR_LEN + payload_len;

	if (payload_len > SC_MAX_PAYLOAD || cap < total)
		return 0;
	sc_hdr_encode(buf, &h);
	sc_payload_fill(sc_payload_seed(stream_id, seq), 0, (uint8_t *)buf + SC_HDR_LEN,
			payload_len);
	return total;
}

/* ---- verifier: time and goodput ---- */

void sc_init(struct streamcheck *sc, enum sc_proto proto)
{
	memset(sc, 0, sizeof(*sc));
	sc->proto = proto;
	sc->max_loss_pct = 100.0;
}

void sc_set_max_loss(struct streamcheck *sc, double pct)
{
	sc->max_loss_pct = pct;
}

static void note_arrival(struct streamcheck *sc, uint64_t now_ns)
{
	if (sc->st.started)
		return;
	sc->st.started = true;
	sc->st.first_ns = now_ns;
	sc->st.last_ns = now_ns;
}

static uint64_t second_of(const struct streamcheck *sc, uint64_t now_ns)
{
	return now_ns > sc->st.first_ns ? (now_ns - sc->st.first_ns) / SC_NS_PER_SEC : 0;
}

/* Count verified bytes, in the bucket of the second they arrived in. */
static void count_bytes(struct streamcheck *sc, uint64_t n, uint64_t now_ns)
{
	uint64_t sec = second_of(sc, now_ns);

	/* Moving to a later second recycles the slots of the seconds skipped. */
	for (uint64_t s = sc->bucket_sec + 1; s <= sec && s <= sc->bucket_sec + SC_BUCKETS; s++)
		sc->bucket[s % SC_BUCKETS] = 0;
	if (sec > sc->bucket_sec)
		sc->bucket_sec = sec;
	if (sc->bucket_sec - sec < SC_BUCKETS)
		sc->bucket[sec % SC_BUCKETS] += n;
	sc->st.bytes += n;
	if (now_ns > sc->st.last_ns)
		sc->st.last_ns = now_ns;
}

uint64_t sc_second_bytes(const struct streamcheck *sc, uint64_t second)
{
	if (!sc->st.started || second > sc->bucket_sec || sc->bucket_sec - second >= SC_BUCKETS)
		return 0;
	return sc->bucket[second % SC_BUCKETS];
}

/* ---- verifier: TCP ---- */

/* The framing is gone: nothing after this point can be located. */
static void tcp_lose_framing(struct streamcheck *sc)
{
	sc->st.corrupt++;
	sc->st.failed = true;
}

/* Sequence accounting, done when a header arrives. In a byte stream a seq
 * that jumps ahead is a gap and one that goes back is a duplicate; END must
 * not claim fewer blocks than already arrived. */
static void tcp_sequence(struct streamcheck *sc, const struct sc_hdr *h)
{
	sc->cur_counts = false;
	if (h->flags & SC_FLAG_END) {
		if (h->seq < sc->next_seq) {
			tcp_lose_framing(sc);
			return;
		}
		sc->st.gaps += h->seq - sc->next_seq;
		sc->next_seq = h->seq;
		sc->st.end_seen = true;
		sc->st.end_total = h->seq;
		return;
	}
	if (h->seq < sc->next_seq) {
		sc->st.dups++;
		return;
	}
	sc->st.gaps += h->seq - sc->next_seq;
	sc->next_seq = h->seq + 1;
	sc->cur_counts = true;
}

static void tcp_block_done(struct streamcheck *sc)
{
	sc->in_payload = false;
	if (sc->cur_bad)
		sc->st.corrupt++;
	else if (sc->cur_counts)
		sc->st.blocks++;
}

/* Collect header bytes; returns how many of data it consumed. */
static size_t tcp_header(struct streamcheck *sc, const uint8_t *data, size_t len, uint64_t now_ns)
{
	size_t n = SC_HDR_LEN - sc->hlen;
	struct sc_hdr h;

	if (sc->st.end_seen) {
		/* END is the last thing on the connection. */
		tcp_lose_framing(sc);
		return 0;
	}
	if (n > len)
		n = len;
	memcpy(sc->hbuf + sc->hlen, data, n);
	sc->hlen += n;
	if (sc->hlen < SC_HDR_LEN)
		return n;
	sc->hlen = 0;

	if (sc_hdr_decode(sc->hbuf, &h) != 0 || (sc->have_stream && h.stream_id != sc->stream_id)) {
		tcp_lose_framing(sc);
		return n;
	}
	sc->have_stream = true;
	sc->stream_id = h.stream_id;
	tcp_sequence(sc, &h);
	if (sc->st.failed)
		return n;
	count_bytes(sc, SC_HDR_LEN, now_ns);

	sc->cur = h;
	sc->cur_seed = sc_payload_seed(h.stream_id, h.seq);
	sc->cur_off = 0;
	sc->cur_bad = false;
	sc->in_payload = true;
	if (h.payload_len == 0)
		tcp_block_done(sc);
	return n;
}

/* Check payload bytes of the current block; returns how many it consumed. */
static size_t tcp_payload(struct streamcheck *sc, const uint8_t *data, size_t len, uint64_t now_ns)
{
	size_t n = sc->cur.payload_len - sc->cur_off;

	if (n > len)
		n = len;
	if (sc_payload_check(sc->cur_seed, sc->cur_off, data, n))
		count_bytes(sc, n, now_ns);
	else
		sc->cur_bad = true;
	sc->cur_off += n;
	if (sc->cur_off == sc->cur.payload_len)
		tcp_block_done(sc);
	return n;
}

int sc_feed(struct streamcheck *sc, const void *data, size_t len, uint64_t now_ns)
{
	const uint8_t *p = data;

	if (sc->st.failed)
		return -EPROTO;
	if (len == 0)
		return 0;
	note_arrival(sc, now_ns);
	/* Bounded: every pass consumes at least one byte or sets failed. */
	while (len > 0 && !sc->st.failed) {
		size_t used = sc->in_payload ? tcp_payload(sc, p, len, now_ns)
					     : tcp_header(sc, p, len, now_ns);
		p += used;
		len -= used;
	}
	return sc->st.failed ? -EPROTO : 0;
}

/* ---- verifier: UDP ---- */

static bool win_test(const struct streamcheck *sc, uint64_t seq)
{
	uint64_t bit = seq % SC_UDP_WINDOW;

	return sc->seen[bit / 64] >> (bit % 64) & 1;
}

static void win_set(struct streamcheck *sc, uint64_t seq)
{
	uint64_t bit = seq % SC_UDP_WINDOW;

	sc->seen[bit / 64] |= 1ull << (bit % 64);
}

static void win_clear(struct streamcheck *sc, uint64_t seq)
{
	uint64_t bit = seq % SC_UDP_WINDOW;

	sc->seen[bit / 64] &= ~(1ull << (bit % 64));
}

/* Move next_seq forward. The window holds seqs [next_seq - W, next_seq), so
 * the slots of the new seqs still hold stale bits from W seqs ago. */
static void win_advance(struct streamcheck *sc, uint64_t new_next)
{
	if (new_next - sc->next_seq >= SC_UDP_WINDOW)
		memset(sc->seen, 0, sizeof(sc->seen));
	else
		for (uint64_t s = sc->next_seq; s < new_next; s++)
			win_clear(sc, s);
	sc->next_seq = new_next;
}

static int udp_corrupt(struct streamcheck *sc)
{
	sc->st.corrupt++;
	return -EBADMSG;
}

/* The sender repeats END: only the first copy counts. */
static int udp_end(struct streamcheck *sc, const struct sc_hdr *h, size_t len, uint64_t now_ns)
{
	if (sc->st.end_seen)
		return 0;
	if (h->seq < sc->next_seq)
		return udp_corrupt(sc);
	sc->st.end_seen = true;
	sc->st.end_total = h->seq;
	count_bytes(sc, len, now_ns);
	return 0;
}

static int udp_data(struct streamcheck *sc, const struct sc_hdr *h, size_t len, uint64_t now_ns)
{
	uint64_t seq = h->seq;

	if (sc->st.end_seen && seq >= sc->st.end_total)
		return udp_corrupt(sc);
	if (seq >= sc->next_seq) {
		sc->st.gaps += seq - sc->next_seq;
		win_advance(sc, seq + 1);
	} else if (sc->next_seq - seq > SC_UDP_WINDOW) {
		sc->st.ignored++;
		return 0;
	} else if (win_test(sc, seq)) {
		sc->st.dups++;
		return 0;
	} else {
		/* Below next_seq and never seen: it was counted as a gap. */
		sc->st.gaps--;
		sc->st.reordered++;
	}
	win_set(sc, seq);
	sc->st.blocks++;
	count_bytes(sc, len, now_ns);
	return 0;
}

/* Which stream to follow: the first data block decides. An END that comes
 * first is most likely a late copy from the previous run on this port. */
static bool udp_our_stream(struct streamcheck *sc, const struct sc_hdr *h)
{
	if (sc->have_stream)
		return h->stream_id == sc->stream_id;
	if (h->flags & SC_FLAG_END)
		return false;
	sc->have_stream = true;
	sc->stream_id = h->stream_id;
	return true;
}

int sc_feed_datagram(struct streamcheck *sc, const void *buf, size_t len, uint64_t now_ns)
{
	const uint8_t *p = buf;
	struct sc_hdr h;

	note_arrival(sc, now_ns);
	if (len < SC_HDR_LEN || sc_hdr_decode(p, &h) != 0 || len != SC_HDR_LEN + (size_t)h.payload_len ||
	    !sc_payload_check(sc_payload_seed(h.stream_id, h.seq), 0, p + SC_HDR_LEN, h.payload_len))
		return udp_corrupt(sc);
	if (!udp_our_stream(sc, &h)) {
		sc->st.ignored++;
		return 0;
	}
	if (h.flags & SC_FLAG_END)
		return udp_end(sc, &h, len, now_ns);
	return udp_data(sc, &h, len, now_ns);
}

/* ---- results ---- */

uint64_t sc_lost(const struct streamcheck *sc)
{
	uint64_t tail = 0;

	if (sc->st.end_seen && sc->st.end_total > sc->next_seq)
		tail = sc->st.end_total - sc->next_seq;
	return sc->st.gaps + tail;
}

double sc_loss_pct(const struct streamcheck *sc)
{
	if (!sc->st.end_seen || sc->st.end_total == 0)
		return 0.0;
	return 100.0 * (double)sc_lost(sc) / (double)sc->st.end_total;
}

bool sc_complete(const struct streamcheck *sc)
{
	if (!sc->st.end_seen)
		return false;
	return sc->proto == SC_TCP || sc_lost(sc) == 0;
}

enum sc_reason sc_result(const struct streamcheck *sc)
{
	const struct sc_stats *st = &sc->st;

	if (st->corrupt || st->failed)
		return SC_CORRUPT;
	if (sc->proto == SC_TCP && st->gaps)
		return SC_GAP;
	if (sc->proto == SC_TCP && st->dups)
		return SC_DUP;
	if (!st->end_seen)
		return SC_INCOMPLETE;
	if (sc->proto == SC_UDP && sc_loss_pct(sc) > sc->max_loss_pct)
		return SC_LOSS;
	return SC_OK;
}

const char *sc_reason_name(enum sc_reason reason)
{
	switch (reason) {
	case SC_OK:		return "OK";
	case SC_CORRUPT:	return "corrupt";
	case SC_GAP:		return "gap";
	case SC_DUP:		return "duplicate";
	case SC_INCOMPLETE:	return "incomplete";
	case SC_LOSS:		return "loss";
	}
	return "unknown";
}
