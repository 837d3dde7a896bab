// SPDX-License-Identifier: BSD-2-Clause
/*
 * The host's own addresses (see localaddr.h): a small array, because a host
 * has a handful of addresses and they change on human time scales.
 */
#include <errno.h>

#include "dime/localaddr.h"

static int find(const struct localaddrs *la, const struct dime_addr *addr, int ifindex)
{
	for (uint32_t i = 0; i < la->n; i++)
		if (la->e[i].ifindex == ifindex && dime_addr_eq(&la->e[i].addr, addr))
			return (int)i;
	return -1;
}

int localaddr_add(struct localaddrs *la, const struct dime_addr *addr, int ifindex, bool pin)
{
	int i = find(la, addr, ifindex);

	if (i >= 0) {
		la->e[i].pin = pin;
		return 0;
	}
	if (la->n == LOCALADDR_MAX)
		return -ENOSPC;
	la->e[la->n].addr = *addr;
	la->e[la->n].ifindex = ifindex;
	la->e[la->n].pin = pin;
	la->n++;
	return 0;
}

void localaddr_del(struct localaddrs *la, const struct dime_addr *addr, int ifindex)
{
	int i = find(la, addr, ifindex);

	if (i >= 0)
		la->e[i] = la->e[--la->n];
}

void localaddr_clear(struct localaddrs *la)
{
	la->n = 0;
}

static bool any(const struct localaddrs *la, const struct dime_addr *addr, int want_pin)
{
	for (uint32_t i = 0; i < la->n; i++)
		if (dime_addr_eq(&la->e[i].addr, addr) && (want_pin < 0 || la->e[i].pin == want_pin))
			return true;
	return false;
}

bool localaddr_is_local(const struct localaddrs *la, const struct dime_addr *addr)
{
	return any(la, addr, -1);
}

bool localaddr_is_real(const struct localaddrs *la, const struct dime_addr *addr)
{
	return any(la, addr, 0);
}

bool localaddr_is_pin(const struct localaddrs *la, const struct dime_addr *addr)
{
	return any(la, addr, 1);
}

bool localaddr_iface_has(const struct localaddrs *la, int ifindex, uint8_t family)
{
	for (uint32_t i = 0; i < la->n; i++)
		if (la->e[i].ifindex == ifindex && la->e[i].addr.family == family && !la->e[i].pin)
			return true;
	return false;
}
