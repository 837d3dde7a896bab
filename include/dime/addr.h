/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One IP address, IPv4 or IPv6, in a fixed-size value type shared by every
 * table and the packet core. IPv4 sits in the first four bytes of a.u8 and
 * the rest is zero, so equality and hashing never look at the family twice.
 */
#ifndef DIME_ADDR_H
#define DIME_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct dime_addr {
	uint8_t family;	/* AF_INET, AF_INET6, or 0 for "no address" */
	uint8_t pad[3];
	union {
		uint8_t u8[16];
		uint16_t u16[8];
		uint32_t u32[4];
	} a;		/* network byte order, as on the wire */
};

/* Longest text form: a full IPv6 address plus NUL (INET6_ADDRSTRLEN). */
#define DIME_ADDR_STRLEN 46

static inline size_t dime_addr_len(const struct dime_addr *addr)
{
	return addr->family == AF_INET6 ? 16 : addr->family == AF_INET ? 4 : 0;
}

static inline bool dime_addr_is_set(const struct dime_addr *addr)
{
	return addr->family != 0;
}

static inline bool dime_addr_eq(const struct dime_addr *x, const struct dime_addr *y)
{
	return x->family == y->family && memcmp(x->a.u8, y->a.u8, 16) == 0;
}

/* Build from raw wire bytes (4 or 16 of them). */
void dime_addr_from_v4(struct dime_addr *addr, const void *four_bytes);
void dime_addr_from_v6(struct dime_addr *addr, const void *sixteen_bytes);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d), as a dual-stack socket
 * talking IPv4 reports itself, becomes that IPv4 address: true. Any
 * other address is left as it is: false. */
bool dime_addr_unmap(struct dime_addr *addr);

/* Parse text ("192.0.2.1", "2001:db8::1"); 0 or -EINVAL. */
int dime_addr_parse(struct dime_addr *addr, const char *text);

/* Format into buf (at least DIME_ADDR_STRLEN bytes); returns buf. "-" when unset. */
const char *dime_addr_fmt(const struct dime_addr *addr, char *buf, size_t size);

/* addr and port (host order) as a socket address; returns its length, 0
 * for an address of no family. */
struct sockaddr_storage;
unsigned int dime_addr_to_sockaddr(const struct dime_addr *addr, uint16_t port,
				   struct sockaddr_storage *ss);

/* 32-bit hash of the address mixed with seed; stable within one process. */
uint32_t dime_addr_hash(const struct dime_addr *addr, uint32_t seed);

#endif
