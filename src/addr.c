// SPDX-License-Identifier: BSD-2-Clause
/*
 * struct dime_addr helpers: construction from wire bytes, text parsing and
 * formatting, hashing. No allocation, no global state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dime/addr.h"

void dime_addr_from_v4(struct dime_addr *addr, const void *four_bytes)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = AF_INET;
	memcpy(addr->a.u8, four_bytes, 4);
}

bool dime_addr_unmap(struct dime_addr *addr)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t v4[4];

	if (addr->family != AF_INET6 || memcmp(addr->a.u8, prefix, sizeof(prefix)) != 0)
		return false;
	memcpy(v4, addr->a.u8 + 12, 4);
	dime_addr_from_v4(addr, v4);
	return true;
}

void dime_addr_from_v6(struct dime_addr *addr, const void *sixteen_bytes)
{
	memset(addr, 0, sizeof(*addr));
	addr->family = AF_INET6;
	memcpy(addr->a.u8, sixteen_bytes, 16);
}

int dime_addr_parse(struct dime_addr *addr, const char *text)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, text, buf) == 1) {
		dime_addr_from_v4(addr, buf);
		return 0;
	}
	if (inet_pton(AF_INET6, text, buf) == 1) {
		dime_addr_from_v6(addr, buf);
		return 0;
	}
	return -EINVAL;
}

const char *dime_addr_fmt(const struct dime_addr *addr, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if (dime_addr_is_set(addr) && inet_ntop(addr->family, addr->a.u8, buf, (socklen_t)size))
		return buf;
	snprintf(buf, size, "-");
	return buf;
}

/* A 32-bit finaliser (murmur3 fmix) over the four words: cheap, and good
 * enough that sequential addresses spread over the buckets. */
static inline uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

uint32_t dime_addr_hash(const struct dime_addr *addr, uint32_t seed)
{
	uint32_t h = seed ^ addr->family;

	for (int i = 0; i < 4; i++)
		h = mix32(h ^ addr->a.u32[i]) + 0x9e3779b9u;
	return h;
}

unsigned int dime_addr_to_sockaddr(const struct dime_addr *addr, uint16_t port,
				   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (addr->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr->a.u8, 4);
		return sizeof(*sin);
	}
	if (addr->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->a.u8, 16);
		return sizeof(*sin6);
	}
	return 0;
}
