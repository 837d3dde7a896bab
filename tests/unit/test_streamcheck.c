// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for streamcheck, dstream's verifier core: streams are built
 * with the module's own generator, damaged on purpose, and fed with a fake
 * clock. Every test starts from sc_init on the shared state, so the suite
 * runs without fork (CK_FORK=no).
 */
#include "streamcheck.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SID	0x0123456789abcdefull
#define T0	(1000 * SC_NS_PER_SEC)		/* fake clock: any start works */
#define NBLK	40

static struct streamcheck sc;			/* 33 KiB: kept off the stack */
static uint8_t sbuf[512 * 1024];		/* a TCP stream under test */
static size_t blk_at[NBLK + 2];			/* where block i starts in sbuf */

/* Payload sizes vary, 0 included, so blocks straddle every kind of boundary. */
static uint32_t plen_of(uint64_t seq)
{
	return (uint32_t)((seq * 337) % 3000);
}

static size_t put_block(uint8_t *at, uint64_t seq, uint32_t plen, uint8_t flags)
{
	size_t n = sc_block_fill(at, SC_MAX_BLOCK, SID, seq, plen, flags);

	ck_assert_uint_eq(n, SC_HDR_LEN + plen);
	return n;
}

/* Blocks 0..NBLK-1 except `skip`, with `twice` sent twice, then END unless
 * end_total is 0. Returns the length; blk_at[] indexes the blocks written. */
static size_t build_tcp(long skip, long twice, uint64_t end_total)
{
	size_t len = 0, k = 0;

	for (uint64_t seq = 0; seq < NBLK; seq++) {
		if ((long)seq == skip)
			continue;
		for (int copy = 0; copy < ((long)seq == twice ? 2 : 1); copy++) {
			blk_at[k++] = len;
			len += put_block(sbuf + len, seq, plen_of(seq), 0);
		}
	}
	if (end_total) {
		blk_at[k++] = len;
		len += put_block(sbuf + len, end_total, 0, SC_FLAG_END);
	}
	return len;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Feed a TCP stream in pseudo-random chunks of 1..max_chunk bytes. */
static void feed_chunks(const uint8_t *p, size_t len, uint64_t rng, size_t max_chunk)
{
	size_t off = 0;

	while (off < len) {
		size_t n = 1 + xorshift(&rng) % max_chunk;

		if (n > len - off)
			n = len - off;
		sc_feed(&sc, p + off, n, T0);
		off += n;
	}
}

/* ---- generator ---- */

START_TEST(test_generator)
{
	static uint8_t whole[5000], parts[5000], other[5000];
	uint64_t seed = sc_payload_seed(SID, 7);
	struct sc_hdr h;

	sc_payload_fill(seed, 0, whole, sizeof(whole));
	/* Any split gives the same bytes: TCP reads end anywhere. */
	for (size_t off = 0, n = 1; off < sizeof(parts); off += n, n = n % 13 + 1) {
		if (n > sizeof(parts) - off)
			n = sizeof(parts) - off;
		sc_payload_fill(seed, (uint32_t)off, parts + off, n);
		ck_assert(sc_payload_check(seed, (uint32_t)off, whole + off, n));
	}
	ck_assert_mem_eq(whole, parts, sizeof(whole));
	sc_payload_fill(sc_payload_seed(SID, 8), 0, other, sizeof(other));
	ck_assert(memcmp(whole, other, sizeof(whole)) != 0);
	sc_payload_fill(sc_payload_seed(SID ^ 1, 7), 0, other, sizeof(other));
	ck_assert(memcmp(whole, other, sizeof(whole)) != 0);
	whole[4999] ^= 0x80;
	ck_assert(!sc_payload_check(seed, 0, whole, sizeof(whole)));

	ck_assert_uint_eq(sc_block_fill(sbuf, SC_HDR_LEN + 99, SID, 1, 100, 0), 0);
	ck_assert_uint_eq(sc_block_fill(sbuf, sizeof(sbuf), SID, 1, SC_MAX_PAYLOAD + 1, 0), 0);
	ck_assert_uint_eq(sc_block_fill(sbuf, sizeof(sbuf), SID, 42, 100, SC_FLAG_END), 132);
	ck_assert_int_eq(sc_hdr_decode(sbuf, &h), 0);
	ck_assert_uint_eq(h.stream_id, SID);
	ck_assert_uint_eq(h.seq, 42);
	ck_assert_uint_eq(h.payload_len, 100);
	ck_assert_uint_eq(h.flags, SC_FLAG_END);
	sbuf[17] ^= 1;
	ck_assert_int_eq(sc_hdr_decode(sbuf, &h), -EBADMSG);
}
END_TEST

/* ---- TCP ---- */

START_TEST(test_tcp_clean_chunks)
{
	size_t len = build_tcp(-1, -1, NBLK);
	static const size_t max_chunk[] = { 1, 7, 31, 33, 1000, 5000, 100000 };

	for (size_t i = 0; i < sizeof(max_chunk) / sizeof(max_chunk[0]); i++) {
		sc_init(&sc, SC_TCP);
		feed_chunks(sbuf, len, 0x9e3779b97f4a7c15ull + i, max_chunk[i]);
		ck_assert_int_eq(sc_result(&sc), SC_OK);
		ck_assert_str_eq(sc_reason_name(sc_result(&sc)), "OK");
		ck_assert_uint_eq(sc.st.bytes, len);
		ck_assert_uint_eq(sc.st.blocks, NBLK);
		ck_assert_uint_eq(sc.st.gaps + sc.st.dups + sc.st.corrupt, 0);
		ck_assert(sc.st.end_seen);
		ck_assert_uint_eq(sc.st.end_total, NBLK);
		ck_assert(sc_complete(&sc));
		ck_assert_uint_eq(sc_lost(&sc), 0);
	}
}
END_TEST

START_TEST(test_tcp_payload_flip)
{
	size_t len = build_tcp(-1, -1, NBLK);
	/* First, a middle and the last payload byte of block 5. */
	size_t first = blk_at[5] + SC_HDR_LEN, last = blk_at[6] - 1;
	size_t where[] = { first, (first + last) / 2, last };

	for (size_t i = 0; i < 3; i++) {
		sbuf[where[i]] ^= 0x10;
		sc_init(&sc, SC_TCP);
		feed_chunks(sbuf, len, 12345 + i, 700);
		sbuf[where[i]] ^= 0x10;
		ck_assert_uint_eq(sc.st.corrupt, 1);
		ck_assert_uint_eq(sc.st.blocks, NBLK - 1);
		ck_assert(!sc.st.failed);		/* framing intact: parsing went on */
		ck_assert(sc.st.end_seen);
		/* Only the chunk holding the bad byte goes uncounted. */
		ck_assert_uint_lt(sc.st.bytes, len);
		ck_assert_uint_ge(sc.st.bytes, len - (last - first + 1));
		ck_assert_int_eq(sc_result(&sc), SC_CORRUPT);
		ck_assert_str_eq(sc_reason_name(sc_result(&sc)), "corrupt");
	}
}
END_TEST

START_TEST(test_tcp_header_flip)
{
	size_t len = build_tcp(-1, -1, NBLK);

	/* Every byte of block 3's header, one bit each. */
	for (size_t b = 0; b < SC_HDR_LEN; b++) {
		size_t at = blk_at[3] + b;

		sbuf[at] ^= (uint8_t)(1u << (b % 8));
		sc_init(&sc, SC_TCP);
		feed_chunks(sbuf, len, 777 + b, 64);
		sbuf[at] ^= (uint8_t)(1u << (b % 8));
		ck_assert_msg(sc.st.failed, "flip in header byte %zu not caught", b);
		ck_assert_uint_eq(sc.st.corrupt, 1);
		ck_assert_uint_eq(sc.st.blocks, 3);
		ck_assert(!sc.st.end_seen);
		ck_assert_int_eq(sc_result(&sc), SC_CORRUPT);
		ck_assert_int_eq(sc_feed(&sc, sbuf, 1, T0), -EPROTO);
	}
}
END_TEST

START_TEST(test_tcp_gap)
{
	size_t len = build_tcp(7, -1, NBLK);

	sc_init(&sc, SC_TCP);
	ck_assert_int_eq(sc_feed(&sc, sbuf, len, T0), 0);
	ck_assert_uint_eq(sc.st.gaps, 1);
	ck_assert_uint_eq(sc.st.blocks, NBLK - 1);
	ck_assert_uint_eq(sc.st.corrupt, 0);
	ck_assert_uint_eq(sc_lost(&sc), 1);
	ck_assert_int_eq(sc_result(&sc), SC_GAP);
	ck_assert_str_eq(sc_reason_name(sc_result(&sc)), "gap");
}
END_TEST

START_TEST(test_tcp_tail_gap)
{
	/* END says 42 blocks, only 40 came: the last two are gaps. */
	size_t len = build_tcp(-1, -1, NBLK + 2);

	sc_init(&sc, SC_TCP);
	sc_feed(&sc, sbuf, len, T0);
	ck_assert_uint_eq(sc.st.gaps, 2);
	ck_assert_uint_eq(sc_lost(&sc), 2);
	ck_assert_int_eq(sc_result(&sc), SC_GAP);
}
END_TEST

START_TEST(test_tcp_dup)
{
	size_t len = build_tcp(-1, 7, NBLK);

	sc_init(&sc, SC_TCP);
	feed_chunks(sbuf, len, 99, 4000);
	ck_assert_uint_eq(sc.st.dups, 1);
	ck_assert_uint_eq(sc.st.gaps, 0);
	ck_assert_uint_eq(sc.st.blocks, NBLK);
	ck_assert_int_eq(sc_result(&sc), SC_DUP);
	ck_assert_str_eq(sc_reason_name(sc_result(&sc)), "duplicate");
}
END_TEST

START_TEST(test_tcp_missing_end)
{
	size_t len = build_tcp(-1, -1, 0);

	sc_init(&sc, SC_TCP);
	sc_feed(&sc, sbuf, len, T0);
	ck_assert_uint_eq(sc.st.blocks, NBLK);
	ck_assert(!sc.st.end_seen);
	ck_assert(!sc_complete(&sc));
	ck_assert_int_eq(sc_result(&sc), SC_INCOMPLETE);
	ck_assert_str_eq(sc_reason_name(sc_result(&sc)), "incomplete");

	/* Cut inside a block: the partial block is not counted. */
	sc_init(&sc, SC_TCP);
	sc_feed(&sc, sbuf, blk_at[10] + SC_HDR_LEN + 5, T0);
	ck_assert_uint_eq(sc.st.blocks, 10);
	ck_assert_int_eq(sc_result(&sc), SC_INCOMPLETE);
}
END_TEST

START_TEST(test_tcp_after_end)
{
	size_t len = build_tcp(-1, -1, NBLK);

	sc_init(&sc, SC_TCP);
	ck_assert_int_eq(sc_feed(&sc, sbuf, len, T0), 0);
	ck_assert_int_eq(sc_result(&sc), SC_OK);
	ck_assert_int_eq(sc_feed(&sc, sbuf, 1, T0), -EPROTO);
	ck_assert(sc.st.failed);
	ck_assert_int_eq(sc_result(&sc), SC_CORRUPT);
}
END_TEST

START_TEST(test_tcp_foreign_stream)
{
	size_t len = build_tcp(-1, -1, 0);

	len += sc_block_fill(sbuf + len, SC_MAX_BLOCK, SID + 1, NBLK, 10, 0);
	sc_init(&sc, SC_TCP);
	ck_assert_int_eq(sc_feed(&sc, sbuf, len, T0), -EPROTO);
	ck_assert_uint_eq(sc.st.blocks, NBLK);
	ck_assert_int_eq(sc_result(&sc), SC_CORRUPT);
}
END_TEST

/* ---- UDP ---- */

static uint8_t dgram[SC_MAX_BLOCK];

static int udp_send(uint64_t seq, uint64_t now)
{
	size_t n = put_block(dgram, seq, plen_of(seq) % 1168, 0);

	return sc_feed_datagram(&sc, dgram, n, now);
}

static int udp_end(uint64_t total)
{
	size_t n = put_block(dgram, total, 0, SC_FLAG_END);

	return sc_feed_datagram(&sc, dgram, n, T0);
}

START_TEST(test_udp_loss)
{
	static const double max[] = { 100, 5, 4.9, 0 };
	static const enum sc_reason want[] = { SC_OK, SC_OK, SC_LOSS, SC_LOSS };

	for (int m = 0; m < 4; m++) {
		sc_init(&sc, SC_UDP);
		if (max[m] != 100)
			sc_set_max_loss(&sc, max[m]);
		for (uint64_t seq = 0; seq < 100; seq++)
			if (seq != 10 && seq != 20 && seq != 21 && seq < 98)
				ck_assert_int_eq(udp_send(seq, T0), 0);
		ck_assert_uint_eq(sc.st.gaps, 3);
		ck_assert_int_eq(sc_result(&sc), SC_INCOMPLETE);
		for (int copy = 0; copy < 3; copy++)
			ck_assert_int_eq(udp_end(100), 0);
		ck_assert(sc.st.end_seen);
		ck_assert_uint_eq(sc.st.end_total, 100);
		ck_assert_uint_eq(sc.st.blocks, 95);
		ck_assert_uint_eq(sc.st.gaps, 3);
		ck_assert_uint_eq(sc_lost(&sc), 5);		/* 3 gaps + 2 at the tail */
		ck_assert_double_eq_tol(sc_loss_pct(&sc), 5.0, 1e-9);
		ck_assert(!sc_complete(&sc));
		ck_assert_uint_eq(sc.st.corrupt + sc.st.dups + sc.st.reordered, 0);
		ck_assert_int_eq(sc_result(&sc), want[m]);
	}
	ck_assert_str_eq(sc_reason_name(SC_LOSS), "loss");
}
END_TEST

START_TEST(test_udp_reorder)
{
	sc_init(&sc, SC_UDP);
	udp_send(0, T0);
	udp_send(1, T0);
	udp_send(3, T0);
	ck_assert_uint_eq(sc.st.gaps, 1);
	udp_send(2, T0);
	ck_assert_uint_eq(sc.st.gaps, 0);
	ck_assert_uint_eq(sc.st.reordered, 1);
	udp_send(4, T0);
	udp_end(5);
	ck_assert_uint_eq(sc.st.blocks, 5);
	ck_assert_uint_eq(sc.st.dups, 0);
	ck_assert_uint_eq(sc_lost(&sc), 0);
	ck_assert(sc_complete(&sc));
	ck_assert_int_eq(sc_result(&sc), SC_OK);

	/* A late block may even arrive after END. */
	sc_init(&sc, SC_UDP);
	udp_send(0, T0);
	udp_send(2, T0);
	udp_end(3);
	ck_assert_uint_eq(sc_lost(&sc), 1);
	ck_assert(!sc_complete(&sc));
	udp_send(1, T0);
	ck_assert_uint_eq(sc_lost(&sc), 0);
	ck_assert_uint_eq(sc.st.reordered, 1);
	ck_assert(sc_complete(&sc));
}
END_TEST

START_TEST(test_udp_window)
{
	sc_init(&sc, SC_UDP);
	udp_send(0, T0);
	udp_send(SC_UDP_WINDOW + 5, T0);
	ck_assert_uint_eq(sc.st.gaps, SC_UDP_WINDOW + 4);
	/* Seq 1 is W + 5 behind: too old to place, ignored and still lost. */
	udp_send(1, T0);
	ck_assert_uint_eq(sc.st.ignored, 1);
	ck_assert_uint_eq(sc.st.reordered, 0);
	ck_assert_uint_eq(sc.st.gaps, SC_UDP_WINDOW + 4);
	/* Seq 10 is W - 4 behind: inside the window, fills its gap. */
	udp_send(10, T0);
	ck_assert_uint_eq(sc.st.reordered, 1);
	ck_assert_uint_eq(sc.st.gaps, SC_UDP_WINDOW + 3);
	udp_send(10, T0);
	ck_assert_uint_eq(sc.st.dups, 1);
}
END_TEST

START_TEST(test_udp_dup)
{
	sc_init(&sc, SC_UDP);
	udp_send(0, T0);
	udp_send(1, T0);
	udp_send(1, T0);
	udp_send(2, T0);
	udp_end(3);
	ck_assert_uint_eq(sc.st.dups, 1);
	ck_assert_uint_eq(sc.st.blocks, 3);
	ck_assert_uint_eq(sc.st.gaps, 0);
	/* The network may duplicate datagrams: counted, not a failure. */
	ck_assert_int_eq(sc_result(&sc), SC_OK);
}
END_TEST

START_TEST(test_udp_corrupt)
{
	size_t n;

	sc_init(&sc, SC_UDP);
	udp_send(0, T0);
	/* Payload bit flipped: rejected, and seq 1 is not marked as seen. */
	n = put_block(dgram, 1, 500, 0);
	dgram[SC_HDR_LEN + 250] ^= 4;
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, n, T0), -EBADMSG);
	ck_assert_uint_eq(sc.st.corrupt, 1);
	ck_assert_uint_eq(sc.st.blocks, 1);
	ck_assert_int_eq(udp_send(1, T0), 0);
	ck_assert_uint_eq(sc.st.dups, 0);
	ck_assert_uint_eq(sc.st.blocks, 2);
	/* Header bit flipped. */
	n = put_block(dgram, 2, 500, 0);
	dgram[20] ^= 1;
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, n, T0), -EBADMSG);
	/* Truncated and too long. */
	n = put_block(dgram, 2, 500, 0);
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, n - 1, T0), -EBADMSG);
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, n + 1, T0), -EBADMSG);
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, 5, T0), -EBADMSG);
	ck_assert_uint_eq(sc.st.corrupt, 5);
	udp_send(2, T0);
	udp_end(3);
	ck_assert_uint_eq(sc_lost(&sc), 0);
	ck_assert_int_eq(sc_result(&sc), SC_CORRUPT);
}
END_TEST

START_TEST(test_udp_streams_and_end)
{
	size_t n;

	sc_init(&sc, SC_UDP);
	/* A late END of an earlier run on this port arrives first: ignored. */
	n = sc_block_fill(dgram, sizeof(dgram), SID + 1, 500, 0, SC_FLAG_END);
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, n, T0), 0);
	ck_assert_uint_eq(sc.st.ignored, 1);
	ck_assert(!sc.st.end_seen);
	udp_send(0, T0);
	udp_send(1, T0);
	/* Another stream's data once ours is chosen: ignored too. */
	n = sc_block_fill(dgram, sizeof(dgram), SID + 1, 2, 100, 0);
	ck_assert_int_eq(sc_feed_datagram(&sc, dgram, n, T0), 0);
	ck_assert_uint_eq(sc.st.ignored, 2);
	ck_assert_uint_eq(sc.st.blocks, 2);
	/* END three times, counted once; its bytes once. */
	udp_end(2);
	ck_assert_uint_eq(sc.st.bytes, 2 * SC_HDR_LEN + plen_of(0) + plen_of(1) + SC_HDR_LEN);
	udp_end(2);
	udp_end(2);
	ck_assert_uint_eq(sc.st.bytes, 2 * SC_HDR_LEN + plen_of(0) + plen_of(1) + SC_HDR_LEN);
	ck_assert_uint_eq(sc.st.dups, 0);
	ck_assert_int_eq(sc_result(&sc), SC_OK);
	/* A block beyond what END announced contradicts it. */
	ck_assert_int_eq(udp_send(2, T0), -EBADMSG);
	ck_assert_int_eq(sc_result(&sc), SC_CORRUPT);
}
END_TEST

START_TEST(test_udp_incomplete)
{
	sc_init(&sc, SC_UDP);
	udp_send(0, T0);
	udp_send(1, T0);
	ck_assert_int_eq(sc_result(&sc), SC_INCOMPLETE);
	ck_assert_double_eq_tol(sc_loss_pct(&sc), 0.0, 1e-12);
}
END_TEST

/* ---- per-second goodput ---- */

START_TEST(test_buckets)
{
	const uint64_t s = SC_NS_PER_SEC;
	size_t a, b, c, d, e, split;

	sc_init(&sc, SC_TCP);
	ck_assert_uint_eq(sc_second_bytes(&sc, 0), 0);
	a = put_block(sbuf, 0, 1000, 0);
	b = put_block(sbuf + a, 1, 2000, 0);
	c = put_block(sbuf + a + b, 2, 3000, 0);
	d = put_block(sbuf + a + b + c, 3, 500, 0);
	sc_feed(&sc, sbuf, a, T0);
	sc_feed(&sc, sbuf + a, b, T0 + s / 2);
	sc_feed(&sc, sbuf + a + b, c, T0 + 12 * s / 10);
	sc_feed(&sc, sbuf + a + b + c, d, T0 + 39 * s / 10);
	ck_assert_uint_eq(sc.st.first_ns, T0);
	ck_assert_uint_eq(sc.st.last_ns, T0 + 39 * s / 10);
	ck_assert_uint_eq(sc_second_bytes(&sc, 0), a + b);
	ck_assert_uint_eq(sc_second_bytes(&sc, 1), c);
	ck_assert_uint_eq(sc_second_bytes(&sc, 2), 0);
	ck_assert_uint_eq(sc_second_bytes(&sc, 3), d);
	ck_assert_uint_eq(sc_second_bytes(&sc, 4), 0);

	/* One block split across a second boundary: each part where it landed. */
	e = put_block(sbuf, 4, 4000, 0);
	split = 1500;
	sc_feed(&sc, sbuf, split, T0 + 39 * s / 10 + s / 20);
	sc_feed(&sc, sbuf + split, e - split, T0 + 4 * s + 1);
	ck_assert_uint_eq(sc_second_bytes(&sc, 3), d + split);
	ck_assert_uint_eq(sc_second_bytes(&sc, 4), e - split);

	/* Far later: old seconds leave the ring, skipped ones read 0. */
	e = put_block(sbuf, 5, 64, 0);
	sc_feed(&sc, sbuf, e, T0 + 100 * s + 7);
	ck_assert_uint_eq(sc_second_bytes(&sc, 100), e);
	ck_assert_uint_eq(sc_second_bytes(&sc, 3), 0);
	ck_assert_uint_eq(sc_second_bytes(&sc, 40), 0);
	ck_assert_uint_eq(sc_second_bytes(&sc, 99), 0);
	ck_assert_uint_eq(sc.st.bytes, a + b + c + d + (SC_HDR_LEN + 4000) + e);
	ck_assert_uint_eq(sc.st.blocks, 6);
}
END_TEST

START_TEST(test_buckets_udp)
{
	const uint64_t s = SC_NS_PER_SEC;

	sc_init(&sc, SC_UDP);
	udp_send(0, T0 + 5);
	udp_send(1, T0 + s + 5);	/* just past second 0 */
	udp_send(1, T0 + s + 6);	/* duplicate: not goodput */
	ck_assert_uint_eq(sc_second_bytes(&sc, 0), SC_HDR_LEN + plen_of(0));
	ck_assert_uint_eq(sc_second_bytes(&sc, 1), SC_HDR_LEN + plen_of(1));
}
END_TEST

static Suite *streamcheck_suite(void)
{
	Suite *s = suite_create("streamcheck");
	TCase *gen = tcase_create("generator");
	TCase *tcp = tcase_create("tcp");
	TCase *udp = tcase_create("udp");
	TCase *time = tcase_create("goodput");

	tcase_add_test(gen, test_generator);
	tcase_add_test(tcp, test_tcp_clean_chunks);
	tcase_add_test(tcp, test_tcp_payload_flip);
	tcase_add_test(tcp, test_tcp_header_flip);
	tcase_add_test(tcp, test_tcp_gap);
	tcase_add_test(tcp, test_tcp_tail_gap);
	tcase_add_test(tcp, test_tcp_dup);
	tcase_add_test(tcp, test_tcp_missing_end);
	tcase_add_test(tcp, test_tcp_after_end);
	tcase_add_test(tcp, test_tcp_foreign_stream);
	tcase_add_test(udp, test_udp_loss);
	tcase_add_test(udp, test_udp_reorder);
	tcase_add_test(udp, test_udp_window);
	tcase_add_test(udp, test_udp_dup);
	tcase_add_test(udp, test_udp_corrupt);
	tcase_add_test(udp, test_udp_streams_and_end);
	tcase_add_test(udp, test_udp_incomplete);
	tcase_add_test(time, test_buckets);
	tcase_add_test(time, test_buckets_udp);
	suite_add_tcase(s, gen);
	suite_add_tcase(s, tcp);
	suite_add_tcase(s, udp);
	suite_add_tcase(s, time);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(streamcheck_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
