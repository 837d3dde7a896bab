/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internet checksum arithmetic (RFC 1071, RFC 1624) for the packet core:
 * buffer sums, folding, incremental updates and pseudo-header sums.
 *
 * Every function works on "raw" 16-bit words: two bytes loaded from the
 * packet in host order, never passed through ntohs(). The ones-complement
 * sum is byte-order independent (RFC 1071 section 2(B)), so a raw result
 * stored back with memcpy (csum_store) is right on any host. Mixing in
 * ntohs()/htons() values is the bug NOTES.md records from the prototype:
 * it corrupted IPv4 header checksums and routers dropped the packets
 * silently. Values here that look like numbers (proto, length) are
 * converted to network order before they join a sum, and nowhere else.
 *
 * Sums travel unfolded in a uint64_t ("csum accumulator"); fold only when a
 * 16-bit field is written. All buffers must start at an even offset of the
 * region they are part of (IP and L4 headers always do).
 */
#ifndef DIME_CSUM_H
#define DIME_CSUM_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Add the raw words of buf[0..len) to sum. An odd final byte counts as the
 * high-order byte of a word whose low byte is zero, as RFC 1071 pads. */
uint64_t csum_add(uint64_t sum, const void *buf, size_t len);

/* Ones-complement addition of two accumulators (end-around carry). */
static inline uint64_t csum_add64(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;

	return r + (r < a);
}

/* Fold an accumulator to 16 bits, not complemented. Non-zero input never
 * folds to 0 (it may fold to 0xffff, "negative zero"). */
static inline uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* The value a checksum field holds for a region whose words sum to sum. */
static inline uint16_t csum_finish(uint64_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

/* Raw 16-bit load and store at any alignment. */
static inline uint16_t csum_load(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void csum_store(void *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Add an address (alen a multiple of 4: 4 or 16), inline for the fast path. */
static inline uint64_t csum_add_addr(uint64_t sum, const void *addr, size_t alen)
{
	const uint8_t *p = addr;

	for (size_t i = 0; i + 4 <= alen; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		sum += w;
	}
	return sum;
}

/*
 * The change to a sum when the bytes from[0..len) are replaced by
 * to[0..len), added to sum: sum + ~from + to (RFC 1624 eqn 3 terms). len
 * must be even; 4 and 16 (addresses) are the cases that matter and unroll.
 */
static inline uint64_t csum_diff(uint64_t sum, const void *from, const void *to, size_t len)
{
	const uint8_t *f = from, *t = to;
	size_t i = 0;

	for (; i + 4 <= len; i += 4) {
		uint32_t a, b;

		memcpy(&a, f + i, 4);
		memcpy(&b, t + i, 4);
		sum += (uint32_t)~a;
		sum += b;
	}
	if (i < len)
		sum += (uint16_t)~csum_load(f + i) + (uint32_t)csum_load(t + i);
	return sum;
}

/*
 * RFC 1624 eqn 3 on a complemented checksum field: HC' = ~(~HC + diff),
 * diff from csum_diff. Gives the same representation a full recomputation
 * would whenever the covered data is not all zero (every IP packet).
 */
static inline uint16_t csum_update(uint16_t check, uint64_t diff)
{
	return csum_finish(csum_add64((uint16_t)~check, diff));
}

/*
 * The same for an un-complemented folded sum, the state of a
 * CHECKSUM_PARTIAL L4 field (it holds the pseudo-header sum only).
 */
static inline uint16_t csum_update_sum(uint16_t sum16, uint64_t diff)
{
	return csum_fold(csum_add64(sum16, diff));
}

/* Replace len bytes (even) covered by the checksum check; returns new check. */
static inline uint16_t csum_replace(uint16_t check, const void *from, const void *to, size_t len)
{
	return csum_update(check, csum_diff(0, from, to, len));
}

/*
 * Pseudo-header sum (RFC 793 / RFC 8200 section 8.1): source and
 * destination address (alen 4 or 16 bytes each, wire order), protocol and
 * upper-layer length (host order in, converted here). For IPv4 the 16-bit
 * length and for IPv6 the 32-bit length give the same sum up to 65535.
 */
static inline uint64_t csum_pseudo(const void *src, const void *dst, size_t alen,
				   uint8_t proto, uint32_t len)
{
	uint64_t sum = htons(proto);

	sum += htonl(len);
	sum = csum_add_addr(sum, src, alen);
	return csum_add_addr(sum, dst, alen);
}

#endif
