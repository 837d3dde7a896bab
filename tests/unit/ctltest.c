// SPDX-License-Identifier: BSD-2-Clause
/*
 * The control suites' stand-in loop and table helper (see ctltest.h).
 */
#include <poll.h>

#include "ctltest.h"
#include "testutil.h"

/* The server's pollfd first (idx -1), then one per client. */
static nfds_t fill_pollfds(const struct ctl_pump *p, struct pollfd *pfd, int *idx)
{
	nfds_t n = 0;

	pfd[n] = (struct pollfd){ .fd = ctl_server_fd(p->srv), .events = POLLIN };
	idx[n++] = -1;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (!p->c[i])
			continue;
		pfd[n] = (struct pollfd){ .fd = ctl_client_fd(p->c[i]),
					  .events = p->w[i] == CTL_WAIT_READ ? POLLIN : POLLOUT };
		idx[n++] = i;
	}
	return n;
}

/* What dimed's loop does on wake: watch the client for writing. */
static void pump_wake(void *loop_ctx, struct ctl_client *c)
{
	struct ctl_pump *p = loop_ctx;

	for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (p->c[i] == c) {
			p->w[i] = CTL_WAIT_WRITE;
			p->wakes++;
			return;
		}
	}
	HOT_ASSERT(!"wake for a client the loop does not know");
}

static void accept_client(struct ctl_pump *p)
{
	struct ctl_client *c;
	int i;

	HOT_ASSERT(ctl_server_accept(p->srv, &c) == 0);
	if (!c)
		return;
	for (i = 0; p->c[i]; i++)
		;
	p->c[i] = c;
	p->w[i] = CTL_WAIT_READ;
}

static void serve_client(struct ctl_pump *p, int i, short revents)
{
	p->w[i] = ctl_client_io(p->c[i], revents & (POLLIN | POLLHUP | POLLERR), revents & POLLOUT);
	if (ctl_client_pending(p->c[i]) > p->max_pending)
		p->max_pending = ctl_client_pending(p->c[i]);
	if (p->w[i] == CTL_WAIT_CLOSE) {
		ctl_client_close(p->c[i]);
		p->c[i] = NULL;
	}
}

void ctl_pump_once(struct ctl_pump *p, int timeout_ms)
{
	struct pollfd pfd[1 + CTL_CLIENTS_MAX];
	int idx[1 + CTL_CLIENTS_MAX];
	nfds_t n;

	if (!p->srv) {
		poll(NULL, 0, timeout_ms);
		return;
	}
	if (p->woken_by != p->srv) {
		ctl_server_set_wake(p->srv, p->no_wake ? NULL : pump_wake, p);
		p->woken_by = p->srv;
	}
	n = fill_pollfds(p, pfd, idx);
	if (poll(pfd, n, timeout_ms) <= 0)
		return;
	for (nfds_t k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		if (idx[k] < 0)
			accept_client(p);
		else
			serve_client(p, idx[k], pfd[k].revents);
	}
}

void ctl_test_add_flow(struct dime_flow_table *t, uint32_t h, uint8_t proto, const char *lid,
		       uint16_t lport, const char *rid, uint16_t rport, uint64_t now)
{
	struct dime_flow_key k = { .proto = proto, .lport = lport, .rport = rport,
				   .lid = A(lid), .rid = A(rid) };
	struct dime_flow *fl;

	HOT_ASSERT(dime_flow_insert(t, &k, h, now, &fl) == 0);
}
