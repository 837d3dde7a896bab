// SPDX-License-Identifier: BSD-2-Clause
/* Address events filtered and debounced for IHMP (see addrwatch.h). */
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "dime/addrwatch.h"
#include "dime/pin.h"

void addrwatch_init(struct addrwatch *aw, int lo_ifindex, uint32_t debounce_ms)
{
	memset(aw, 0, sizeof(*aw));
	aw->lo_ifindex = lo_ifindex;
	aw->debounce_ms = debounce_ms;
}

static struct addrwatch_entry *find(struct addrwatch *aw, const struct dime_addr *addr)
{
	for (uint32_t i = 0; i < aw->n; i++)
		if (dime_addr_eq(&aw->e[i].addr, addr))
			return &aw->e[i];
	return NULL;
}

static void remove_entry(struct addrwatch *aw, struct addrwatch_entry *e)
{
	*e = aw->e[--aw->n];
}

/* Could IHMP advertise this address at all (whatever its DAD state)? */
static bool advertisable(const struct addrwatch *aw, const struct rtnl_addr *ra)
{
	return ra->ifindex != aw->lo_ifindex && ra->proto != DIME_IFA_PROTO &&
	       ra->scope == RT_SCOPE_UNIVERSE &&
	       (ra->addr.family == AF_INET || ra->addr.family == AF_INET6);
}

/* Usable now: DAD done and not deprecated from the start. */
static bool usable(const struct rtnl_addr *ra)
{
	return !(ra->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) && ra->preferred_lft != 0 &&
	       !(ra->flags & IFA_F_DEPRECATED);
}

/* Report every pending down before a later up, so the order of changes
 * is the order they happened in. */
static void flush_pending(struct addrwatch *aw, addrwatch_emit emit, void *ctx)
{
	for (uint32_t i = 0; i < aw->n;) {
		struct addrwatch_entry *e = &aw->e[i];

		if (!e->down_pending) {
			i++;
			continue;
		}
		struct dime_addr gone = e->addr;

		remove_entry(aw, e);
		emit(ctx, ADDRWATCH_DOWN, &gone);
	}
}

static void went_down(struct addrwatch *aw, struct addrwatch_entry *e, uint64_t now)
{
	if (!e->down_pending) {
		e->down_pending = true;
		e->due = now + aw->debounce_ms;
	}
}

void addrwatch_event(struct addrwatch *aw, const struct rtnl_addr *ra, uint64_t now,
		     addrwatch_emit emit, void *ctx)
{
	struct addrwatch_entry *e;

	if (!advertisable(aw, ra))
		return;
	e = find(aw, &ra->addr);
	if (ra->deleted) {
		if (e)
			went_down(aw, e, now);
		return;
	}
	if (!usable(ra)) {
		/* DAD failed or restarted on an address we announced. */
		if (e && !e->down_pending && (ra->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
			went_down(aw, e, now);
		return;
	}
	if (e) {
		e->seen = true;
		e->down_pending = false;	/* re-added in time: no event */
		return;
	}
	flush_pending(aw, emit, ctx);
	if (aw->n >= ADDRWATCH_MAX) {
		aw->full++;
		return;
	}
	e = &aw->e[aw->n++];
	memset(e, 0, sizeof(*e));
	e->addr = ra->addr;
	e->seen = true;
	emit(ctx, ADDRWATCH_UP, &ra->addr);
}

void addrwatch_resync_begin(struct addrwatch *aw)
{
	aw->resyncing = true;
	for (uint32_t i = 0; i < aw->n; i++)
		aw->e[i].seen = false;
}

void addrwatch_resync_end(struct addrwatch *aw, uint64_t now, addrwatch_emit emit, void *ctx)
{
	if (!aw->resyncing)
		return;
	aw->resyncing = false;
	for (uint32_t i = 0; i < aw->n; i++)
		if (!aw->e[i].seen)
			went_down(aw, &aw->e[i], now);
	addrwatch_timer(aw, now, emit, ctx);
}

void addrwatch_timer(struct addrwatch *aw, uint64_t now, addrwatch_emit emit, void *ctx)
{
	for (uint32_t i = 0; i < aw->n;) {
		struct addrwatch_entry *e = &aw->e[i];

		if (!e->down_pending || e->due > now) {
			i++;
			continue;
		}
		struct dime_addr gone = e->addr;

		remove_entry(aw, e);
		emit(ctx, ADDRWATCH_DOWN, &gone);
	}
}

uint64_t addrwatch_next_deadline(const struct addrwatch *aw)
{
	uint64_t t = UINT64_MAX;

	for (uint32_t i = 0; i < aw->n; i++)
		if (aw->e[i].down_pending && aw->e[i].due < t)
			t = aw->e[i].due;
	return t;
}

bool addrwatch_is_up(const struct addrwatch *aw, const struct dime_addr *addr)
{
	for (uint32_t i = 0; i < aw->n; i++)
		if (dime_addr_eq(&aw->e[i].addr, addr))
			return !aw->e[i].down_pending;
	return false;
}
