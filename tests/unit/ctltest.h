/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the control suites that run a real server (test_ctl_server,
 * test_ctl_dimectl) share: a poll() loop standing in for dimed's libev
 * loop, which accepts clients and serves them as ctl_client_io asks, and
 * a flow insert that fails the test instead of returning an error.
 */
#ifndef DIME_CTLTEST_H
#define DIME_CTLTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/control.h"
#include "dime/flow.h"

struct ctl_pump {
	struct ctl_server *srv;		/* NULL: no server, a round only waits */
	struct ctl_client *c[CTL_CLIENTS_MAX];
	enum ctl_wait w[CTL_CLIENTS_MAX];
	size_t max_pending;		/* largest ctl_client_pending seen */
	/* Like dimed's loop, the pump gives the server a wake function that
	 * re-arms a client for writing; no_wake leaves it out, to test the
	 * server's fallback. */
	bool no_wake;
	struct ctl_server *woken_by;	/* the server the wake function was given to */
	unsigned int wakes;
};

/* One round: wait up to timeout_ms for the server or a client, then
 * accept, serve, and close the clients that are done. */
void ctl_pump_once(struct ctl_pump *p, int timeout_ms);

void ctl_test_add_flow(struct dime_flow_table *t, uint32_t h, uint8_t proto, const char *lid,
		       uint16_t lport, const char *rid, uint16_t rport, uint64_t now);

#endif
