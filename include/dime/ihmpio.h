/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IHMP's sockets: one UDP socket per family bound to the IHMP port on
 * every address. Each datagram is handed over with the local address it
 * arrived at (IP_PKTINFO / IPV6_PKTINFO), because the state machine files
 * that address in the peer's local set; each is sent from the address the
 * state machine chose, whatever the routing table would pick. Packets
 * dimed sends carry its fwmark, so its own rules never queue them.
 *
 * No parsing happens here: bytes go to ihmp_input() as they came.
 */
#ifndef DIME_IHMPIO_H
#define DIME_IHMPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

struct ihmpio_config {
	uint16_t port;		/* host byte order */
	uint32_t mark;		/* SO_MARK of every packet sent */
	bool ipv6;		/* open the IPv6 socket as well */
};

/* One datagram: src:sport sent it to dst (one of our addresses). */
typedef void (*ihmpio_rx_cb)(void *ctx, const uint8_t *buf, size_t len,
			     const struct dime_addr *src, uint16_t sport,
			     const struct dime_addr *dst);

struct ihmpio_stats {
	uint64_t received;	/* datagrams handed over */
	uint64_t recv_calls;
	uint64_t truncated;	/* longer than any IHMP message: dropped */
	uint64_t no_pktinfo;	/* arrived without a destination: dropped */
	uint64_t recv_errors;
	uint64_t sent;
	uint64_t send_errors;
	uint64_t send_retried;	/* kept sends that went out on a retry */
	uint64_t send_given_up;	/* ... that never did (or found no room) */
};

struct ihmpio;

/* 0 or -errno (already logged with the port). */
int ihmpio_open(struct ihmpio **out, const struct ihmpio_config *cfg, ihmpio_rx_cb cb,
		void *ctx);
void ihmpio_close(struct ihmpio *io);

/* The socket of a family (AF_INET, AF_INET6), -1 when not open. */
int ihmpio_fd(const struct ihmpio *io, int family);

/* Read a bounded batch. > 0: more may be waiting; 0: drained; -errno. */
int ihmpio_handle_readable(struct ihmpio *io, int family);

/*
 * Send buf from src (port cfg.port) to dst:dport at time now. 0 or -errno;
 * failures are counted and logged at debug level only (the state machine
 * retransmits). A new address often comes up a moment before its route:
 * a send that fails for want of a route (or of the address itself) is
 * kept and tried again after 25, 50, 100, 200 and 400 ms, so a HANDOFF
 * leaves as soon as the path exists instead of a full retransmission
 * timeout later.
 */
int ihmpio_send(struct ihmpio *io, const struct dime_addr *src, const struct dime_addr *dst,
		uint16_t dport, const uint8_t *buf, size_t len, uint64_t now);

/* A route appeared: retry every kept send now (those still failing keep
 * their place in the backoff). */
void ihmpio_retry_now(struct ihmpio *io);

/* When the next kept send is due (UINT64_MAX: none), and retry those due. */
uint64_t ihmpio_next_deadline(const struct ihmpio *io);
void ihmpio_timer(struct ihmpio *io, uint64_t now);

const struct ihmpio_stats *ihmpio_stats(const struct ihmpio *io);

#endif
