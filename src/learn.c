// SPDX-License-Identifier: BSD-2-Clause
/* From the kernel's socket table to the flow table (see learn.h). */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "dime/learn.h"

#define KERNEL_TCP_NEW_SYN_RECV 12	/* not in <netinet/tcp.h> */

void learn_ports_clear(struct learn_ports *p)
{
	memset(p->bits, 0, sizeof(p->bits));
}

void learn_ports_add(struct learn_ports *p, uint16_t port)
{
	p->bits[port / 64] |= 1ull << (port % 64);
}

bool learn_ports_has(const struct learn_ports *p, uint16_t port)
{
	return p && (p->bits[port / 64] >> (port % 64)) & 1;
}

uint8_t learn_tcp_state(uint8_t kernel_state)
{
	switch (kernel_state) {
	case TCP_ESTABLISHED:
		return DIME_TCP_ESTABLISHED;
	case TCP_SYN_SENT:
		return DIME_TCP_SYN_SENT;
	case TCP_SYN_RECV:
	case KERNEL_TCP_NEW_SYN_RECV:
		return DIME_TCP_SYN_RECV;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		return DIME_TCP_FIN_OUT;
	case TCP_CLOSE_WAIT:
		return DIME_TCP_FIN_IN;
	case TCP_LAST_ACK:
	case TCP_CLOSING:
	case TCP_TIME_WAIT:
		return DIME_TCP_CLOSING;
	case TCP_CLOSE:
		return DIME_TCP_CLOSED;
	default:
		return DIME_TCP_NONE;
	}
}

static bool is_unspecified(const struct dime_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->a.u8, zero, sizeof(zero)) == 0;
}

static bool is_loopback(const struct dime_addr *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->a.u8[0] == 127;
	return memcmp(a->a.u8, lo6, sizeof(lo6)) == 0;
}

/* A connected socket between one of our addresses and a remote one. */
static enum learn_kind connected(const struct learn_ctx *c, const struct sockdiag_sock *s,
				 struct dime_flow_key *key, bool *opened)
{
	struct dime_addr src = s->src, dst = s->dst;

	dime_addr_unmap(&src);
	dime_addr_unmap(&dst);
	if (src.family != dst.family || is_unspecified(&src) || is_loopback(&src) ||
	    is_loopback(&dst) || !c->is_local(c->ctx, &src) || c->is_local(c->ctx, &dst))
		return LEARN_IGNORE;
	memset(key, 0, sizeof(*key));
	key->proto = s->proto;
	key->lid = src;
	key->rid = dst;
	key->lport = s->sport;
	key->rport = s->dport;
	*opened = s->proto == IPPROTO_UDP ||
		  !(learn_ports_has(c->listen_now, s->sport) || learn_ports_has(c->listen_last, s->sport));
	return LEARN_FLOW;
}

enum learn_kind learn_socket(const struct learn_ctx *c, const struct sockdiag_sock *s,
			     struct dime_flow_key *key, bool *opened)
{
	if ((s->family != AF_INET && s->family != AF_INET6) ||
	    (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP) || s->sport == 0)
		return LEARN_IGNORE;
	/* IHMP's own sockets are signalling, not a flow of the peer: as a flow
	 * they would claim a moving host's new address for a new HID. */
	if (s->proto == IPPROTO_UDP && (s->sport == c->ihmp_port || s->dport == c->ihmp_port))
		return LEARN_IGNORE;
	if (s->proto == IPPROTO_TCP && s->state == TCP_LISTEN)
		return LEARN_LISTENER;
	if (s->dport == 0 || is_unspecified(&s->dst))
		return s->proto == IPPROTO_UDP ? LEARN_UNBOUND_UDP : LEARN_IGNORE;
	return connected(c, s, key, opened);
}
