/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The host's own addresses, as rtnetlink reports them: what decides which
 * end of a conntrack entry is local, and which of our addresses are pins
 * (identifiers dimed keeps on lo for flows that outlived their address).
 * Pure and bounded; an address may sit on several interfaces at once.
 */
#ifndef DIME_LOCALADDR_H
#define DIME_LOCALADDR_H

#include <stdbool.h>
#include <stdint.h>

#include "dime/addr.h"

#define LOCALADDR_MAX 256

struct localaddr {
	struct dime_addr addr;
	int ifindex;
	bool pin;		/* dimed's own, on lo (IFA_PROTO DIME_IFA_PROTO) */
};

struct localaddrs {
	uint32_t n;
	struct localaddr e[LOCALADDR_MAX];
};

/* 0, or -ENOSPC when full (the address is then not known as local). */
int localaddr_add(struct localaddrs *la, const struct dime_addr *addr, int ifindex, bool pin);
void localaddr_del(struct localaddrs *la, const struct dime_addr *addr, int ifindex);
void localaddr_clear(struct localaddrs *la);

/* On any interface, pin or not. */
bool localaddr_is_local(const struct localaddrs *la, const struct dime_addr *addr);
/* On an interface as a real address (not only as our pin). */
bool localaddr_is_real(const struct localaddrs *la, const struct dime_addr *addr);
bool localaddr_is_pin(const struct localaddrs *la, const struct dime_addr *addr);
/* Does interface ifindex hold a real address (not a pin) of family? */
bool localaddr_iface_has(const struct localaddrs *la, int ifindex, uint8_t family);

#endif
