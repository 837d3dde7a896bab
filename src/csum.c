// SPDX-License-Identifier: BSD-2-Clause
/*
 * The one checksum routine that touches every byte: the ones-complement sum
 * of a buffer (see csum.h for the raw-word convention). It only runs when a
 * checksum must be computed in full (CHECKSUM_PARTIAL packets that are not
 * handed to a segmenter), so it reads 8 bytes at a time into independent
 * 64-bit accumulators with end-around carry; the common path of the data
 * plane never calls it.
 */
#include "dime/csum.h"

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* 64-bit ones-complement addition; the carry out of bit 63 wraps to bit 0,
 * which keeps the sum congruent modulo 0xffff (2^64 = 1 there). */
static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

static uint64_t sum_tail(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;

	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		sum += csum_load(p);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte sits first in memory: the raw word is {byte, 0}. */
		uint16_t w = 0;

		memcpy(&w, p, 1);
		sum += w;
	}
	return sum;
}

uint64_t csum_add(uint64_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t a = 0, b = 0, c = 0, d = 0;

	/* Four chains so the carries of one add do not stall the next. */
	for (; len >= 32; p += 32, len -= 32) {
		a = add_carry(a, load64(p));
		b = add_carry(b, load64(p + 8));
		c = add_carry(c, load64(p + 16));
		d = add_carry(d, load64(p + 24));
	}
	for (; len >= 8; p += 8, len -= 8)
		a = add_carry(a, load64(p));
	a = add_carry(a, b);
	c = add_carry(c, d);
	a = add_carry(a, c);
	a = add_carry(a, sum_tail(p, len));
	return add_carry(sum, a);
}
