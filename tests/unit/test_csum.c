// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for csum.c/csum.h. Every result is compared with a reference
 * written the other way round from the code under test: one byte at a
 * time, big-endian words, 32-bit sum folded at the end, results compared
 * as big-endian numbers read from the bytes the code stored. A raw/host
 * order mix-up in csum.c therefore shows on a little-endian host.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dime/csum.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* Reference: big-endian 16-bit words, byte by byte, fold at the end. */
static uint32_t ref_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* The big-endian number the code under test would put on the wire. */
static uint16_t wire16(uint16_t raw)
{
	uint8_t b[2];

	csum_store(b, raw);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

START_TEST(rfc1071_example)
{
	/* RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2. */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	ck_assert_uint_eq(wire16(csum_fold(csum_add(0, b, sizeof(b)))), 0xddf2);
	ck_assert_uint_eq(wire16(csum_finish(csum_add(0, b, sizeof(b)))), 0x220d);
	ck_assert_uint_eq(ref_sum(b, sizeof(b)), 0xddf2);
}
END_TEST

START_TEST(sum_matches_reference_every_length_and_alignment)
{
	static uint8_t buf[1024 + 16];

	for (int round = 0; round < 4; round++) {
		rnd_fill(buf, sizeof(buf));
		for (size_t start = 0; start < 16; start++)
			for (size_t n = 0; n <= 1024; n++) {
				uint16_t got = wire16(csum_fold(csum_add(0, buf + start, n)));
				uint16_t want = (uint16_t)ref_sum(buf + start, n);

				ck_assert_msg(got == want, "start %zu len %zu: %04x != %04x", start,
					      n, got, want);
			}
	}
}
END_TEST

START_TEST(sum_carries_on_large_and_saturated_buffers)
{
	size_t n = 65535;
	uint8_t *buf = malloc(n);

	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xff, n);
	ck_assert_uint_eq(wire16(csum_fold(csum_add(0, buf, n))), ref_sum(buf, n));
	memset(buf, 0, n);
	ck_assert_uint_eq(csum_fold(csum_add(0, buf, n)), 0);
	rnd_fill(buf, n);
	ck_assert_uint_eq(wire16(csum_fold(csum_add(0, buf, n))), ref_sum(buf, n));
	/* A huge starting sum must wrap, not overflow. */
	ck_assert_uint_eq(wire16(csum_fold(csum_add(UINT64_MAX - 1, buf, n))),
			  wire16(csum_fold(csum_add64(UINT64_MAX - 1, csum_add(0, buf, n)))));
	free(buf);
}
END_TEST

START_TEST(sum_splits_at_even_offsets)
{
	uint8_t buf[600];

	rnd_fill(buf, sizeof(buf));
	for (size_t k = 0; k <= sizeof(buf); k += 2) {
		uint64_t s = csum_add(csum_add(0, buf, k), buf + k, sizeof(buf) - k);

		ck_assert_uint_eq(wire16(csum_fold(s)), ref_sum(buf, sizeof(buf)));
	}
}
END_TEST

START_TEST(fold_edges)
{
	ck_assert_uint_eq(csum_fold(0), 0);
	ck_assert_uint_eq(csum_fold(0xffff), 0xffff);
	ck_assert_uint_eq(csum_fold(0x10000), 1);
	ck_assert_uint_eq(csum_fold(0xffffffffffffffffull), 0xffff);
	ck_assert_uint_eq(csum_fold(0x0001000000000000ull), 1);
	ck_assert_uint_eq(csum_add64(UINT64_MAX, 1), 1);
	ck_assert_uint_eq(csum_finish(0), 0xffff);
}
END_TEST

/* A 20-byte IPv4-like header with a valid checksum at bytes 10-11. */
static void make_header(uint8_t *h)
{
	uint16_t c;

	rnd_fill(h, 20);
	h[10] = h[11] = 0;
	c = (uint16_t)~ref_sum(h, 20);
	h[10] = (uint8_t)(c >> 8);
	h[11] = (uint8_t)c;
}

START_TEST(update_equals_recomputation)
{
	uint8_t h[20], r[20], repl[16];

	for (int i = 0; i < 20000; i++) {
		/* Replace 2, 4 or 8 bytes at an even offset that is not the
		 * checksum field, as an address rewrite does. */
		size_t n = (size_t)2 << (rnd() % 3), at;
		uint16_t want;

		make_header(h);
		do
			at = 2 * (rnd() % ((20 - n) / 2 + 1));
		while (at <= 10 && at + n > 10);
		rnd_fill(repl, n);
		if (i % 50 == 0)
			memcpy(repl, h + at, n);	/* no change */
		csum_store(h + 10, csum_replace(csum_load(h + 10), h + at, repl, n));
		memcpy(h + at, repl, n);

		memcpy(r, h, 20);
		r[10] = r[11] = 0;
		want = (uint16_t)~ref_sum(r, 20);
		ck_assert_msg(be16(h + 10) == want, "iter %d at %zu len %zu: %04x != %04x", i, at,
			      n, be16(h + 10), want);
	}
}
END_TEST

START_TEST(update_composes)
{
	uint8_t h[20], a[4], b[4];
	uint64_t d;

	/* Two changes folded into one diff equal two updates in a row. */
	for (int i = 0; i < 5000; i++) {
		uint16_t one, two;

		make_header(h);
		rnd_fill(a, 4);
		rnd_fill(b, 4);
		d = csum_diff(csum_diff(0, h + 12, a, 4), h + 16, b, 4);
		one = csum_update(csum_load(h + 10), d);
		two = csum_replace(csum_replace(csum_load(h + 10), h + 12, a, 4), h + 16, b, 4);
		ck_assert_uint_eq(one, two);
	}
}
END_TEST

static uint32_t ref_pseudo(const uint8_t *s, const uint8_t *d, size_t alen, uint8_t proto,
			   uint32_t len)
{
	uint32_t x = ref_sum(s, alen) + ref_sum(d, alen) + proto + (len >> 16) + (len & 0xffff);

	while (x > 0xffff)
		x = (x & 0xffff) + (x >> 16);
	return x;
}

START_TEST(pseudo_header_matches_reference)
{
	uint8_t s[16], d[16];

	for (int i = 0; i < 5000; i++) {
		size_t alen = i % 2 ? 16 : 4;
		uint32_t len = i % 7 == 0 ? rnd() % 200000 : rnd() % 65536;
		uint8_t proto = (uint8_t)rnd();

		rnd_fill(s, sizeof(s));
		rnd_fill(d, sizeof(d));
		ck_assert_uint_eq(wire16(csum_fold(csum_pseudo(s, d, alen, proto, len))),
				  ref_pseudo(s, d, alen, proto, len));
	}
}
END_TEST

START_TEST(update_sum_tracks_pseudo_header)
{
	uint8_t s[16], d[16], ns[16];

	/* CHECKSUM_PARTIAL: the field is the folded pseudo sum; after an
	 * address change it must be the folded sum of the new pseudo-header. */
	for (int i = 0; i < 5000; i++) {
		size_t alen = i % 2 ? 16 : 4;
		uint16_t field, want;

		rnd_fill(s, 16);
		rnd_fill(d, 16);
		rnd_fill(ns, 16);
		field = csum_fold(csum_pseudo(s, d, alen, 6, 1480));
		field = csum_update_sum(field, csum_diff(0, s, ns, alen));
		want = (uint16_t)ref_pseudo(ns, d, alen, 6, 1480);
		ck_assert_uint_eq(wire16(field), want);
	}
}
END_TEST

static Suite *csum_suite(void)
{
	Suite *s = suite_create("csum");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rfc1071_example);
	tcase_add_test(tc, sum_matches_reference_every_length_and_alignment);
	tcase_add_test(tc, sum_carries_on_large_and_saturated_buffers);
	tcase_add_test(tc, sum_splits_at_even_offsets);
	tcase_add_test(tc, fold_edges);
	tcase_add_test(tc, update_equals_recomputation);
	tcase_add_test(tc, update_composes);
	tcase_add_test(tc, pseudo_header_matches_reference);
	tcase_add_test(tc, update_sum_tracks_pseudo_header);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(csum_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
