/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Which of the host's addresses IHMP may advertise, from rtnetlink's
 * address events (docs/ihmp.md 10.3, 10.4; NOTES.md on address events):
 *  - only global addresses on real interfaces: never lo, never dimed's own
 *    pinned identifiers, never link-local or host scope;
 *  - an IPv6 address only once duplicate address detection has finished
 *    (not TENTATIVE, not DADFAILED), and not when it is already deprecated;
 *  - a delete followed within the debounce time by a re-add of the same
 *    address (ip addr replace, a DHCP renewal, IPv4 promoting a secondary)
 *    is no event at all;
 *  - the kernel repeats NEWADDR for every lifetime or flag change: only the
 *    first one counts;
 *  - after lost events (ENOBUFS) a dump resynchronises: what it no longer
 *    lists went down.
 * Pure: events and the clock in, up/down calls out, in the order they
 * happened (a pending down is reported before any later up).
 */
#ifndef DIME_ADDRWATCH_H
#define DIME_ADDRWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "dime/addr.h"
#include "dime/rtnl.h"

#define ADDRWATCH_MAX 64		/* addresses tracked */
#define ADDRWATCH_DEBOUNCE_MS 50	/* delete then re-add within this: nothing */

enum addrwatch_change { ADDRWATCH_UP, ADDRWATCH_DOWN };

typedef void (*addrwatch_emit)(void *ctx, enum addrwatch_change change,
			       const struct dime_addr *addr);

struct addrwatch_entry {
	struct dime_addr addr;
	bool down_pending;	/* deleted; reported at due unless re-added */
	bool seen;		/* listed by the resynchronising dump */
	uint64_t due;
};

struct addrwatch {
	int lo_ifindex;
	uint32_t debounce_ms;
	bool resyncing;
	uint32_t n;
	uint64_t full;		/* usable addresses ignored: table full */
	struct addrwatch_entry e[ADDRWATCH_MAX];
};

void addrwatch_init(struct addrwatch *aw, int lo_ifindex, uint32_t debounce_ms);

/* One address event, or one entry of a dump. */
void addrwatch_event(struct addrwatch *aw, const struct rtnl_addr *ra, uint64_t now,
		     addrwatch_emit emit, void *ctx);

/* Events were lost: a dump follows. Then every address it did not list
 * goes down at addrwatch_resync_end(). */
void addrwatch_resync_begin(struct addrwatch *aw);
void addrwatch_resync_end(struct addrwatch *aw, uint64_t now, addrwatch_emit emit, void *ctx);

/* Debounced deletes that are due. */
void addrwatch_timer(struct addrwatch *aw, uint64_t now, addrwatch_emit emit, void *ctx);
uint64_t addrwatch_next_deadline(const struct addrwatch *aw);

/* Is addr advertised (up and not pending down)? */
bool addrwatch_is_up(const struct addrwatch *aw, const struct dime_addr *addr);

#endif
