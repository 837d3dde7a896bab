/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * From the kernel's socket table to dimed's flow table (pure).
 *
 * dimed learns flows from sock_diag dumps (sockdiag.h), not only from
 * conntrack, so that it never has to turn connection tracking on: on a
 * host that tracks nothing, tracking costs a busy flow about a tenth of its
 * goodput (docs/dataplane.md, "Learning flows"). A socket is the paper's
 * socket-table entry itself: its bound local address is the local
 * identifier, its connected remote address the remote identifier.
 *
 * learn_socket() classifies one reported socket:
 *  - LEARN_FLOW: a connected TCP or UDP socket between a local address and
 *    a remote one: *key is the flow as the socket sees it, *opened whether
 *    this host opened it (TCP: no listener on the local port; connected
 *    UDP: always), which decides who says HELLO;
 *  - LEARN_LISTENER: a listening TCP socket: note its port with
 *    learn_ports_add() before the dump's connected sockets are classified
 *    (a dump lists a family's listeners first);
 *  - LEARN_UNBOUND_UDP: an unconnected UDP socket: it may exchange
 *    datagrams with anyone, so its flows are learnt from queued packets
 *    and kept alive while its port is open (learn_ports_*);
 *  - LEARN_IGNORE: loopback, local to local, not a local address (a
 *    forwarded or stale entry), dimed's own IHMP port, other protocols.
 * An IPv4-mapped IPv6 socket (a dual-stack socket talking IPv4) is
 * reported as the IPv4 flow its packets carry.
 */
#ifndef DIME_LEARN_H
#define DIME_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#include "dime/addr.h"
#include "dime/flow.h"
#include "dime/sockdiag.h"

enum learn_kind {
	LEARN_IGNORE,
	LEARN_FLOW,
	LEARN_LISTENER,
	LEARN_UNBOUND_UDP,
};

/* A set of ports (one bit each, 8 KiB). */
struct learn_ports {
	uint64_t bits[65536 / 64];
};

void learn_ports_clear(struct learn_ports *p);
void learn_ports_add(struct learn_ports *p, uint16_t port);
bool learn_ports_has(const struct learn_ports *p, uint16_t port);

struct learn_ctx {
	/* Is addr one of this host's addresses (pins included)? */
	bool (*is_local)(void *ctx, const struct dime_addr *addr);
	void *ctx;
	uint16_t ihmp_port;		/* dimed's own signalling: never a flow */
	/* TCP ports with a listener, in this dump or the last complete one. */
	const struct learn_ports *listen_now, *listen_last;
};

enum learn_kind learn_socket(const struct learn_ctx *c, const struct sockdiag_sock *s,
			     struct dime_flow_key *key, bool *opened);

/* A kernel TCP_* socket state as the flow table's DIME_TCP_* state. */
uint8_t learn_tcp_state(uint8_t kernel_state);

#endif
