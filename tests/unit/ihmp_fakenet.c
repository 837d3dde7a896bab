// SPDX-License-Identifier: BSD-2-Clause
/*
 * The fake network the IHMP state machine suites share (ihmp_fakenet.h):
 * a clock, HOSTS instances each with a HID table, and a queue that carries
 * their SEND actions to whichever instance has the destination up.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ihmp_fakenet.h"
#include "testutil.h"

struct host H[HOSTS];
struct pkt *Q;
unsigned int qhead, qtail;
struct logrec *LOG;
unsigned int nlog;
uint64_t now;
struct ihmp_actions *ACTS;
bool (*drop_fn)(const struct pkt *p);
void (*nat_fn)(struct pkt *p);
uint64_t rnd_state;

uint64_t fake_random(void *ctx)
{
	(void)ctx;
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return rnd_state;
}

void fakenet_alloc(void)
{
	Q = calloc(QMAX, sizeof(*Q));
	LOG = calloc(LOGMAX, sizeof(*LOG));
	ACTS = calloc(1, sizeof(*ACTS));
	ck_assert(Q && LOG && ACTS);
	qhead = qtail = nlog = 0;
	now = 1000000;
	drop_fn = NULL;
	nat_fn = NULL;
}

void fakenet_free(void)
{
	free(Q);
	free(LOG);
	free(ACTS);
	Q = NULL;
	LOG = NULL;
	ACTS = NULL;
}

/* Execute host i's actions: SENDs join the network queue and the log. */
void collect(int i)
{
	for (unsigned int k = 0; k < ACTS->n; k++) {
		const struct ihmp_action *a = &ACTS->a[k];

		if (a->type == IHMP_ACT_LOCATORS_CHANGED) {
			H[i].changed++;
			H[i].changed_hid = a->hid;
			continue;
		}
		if (a->type == IHMP_ACT_PEER_LOST) {
			H[i].lost++;
			H[i].lost_hid = a->hid;
			continue;
		}
		ck_assert_int_eq(a->type, IHMP_ACT_SEND);
		ck_assert_uint_le(a->len, IHMP_MSG_MAX);
		ck_assert_uint_lt(nlog, LOGMAX);
		LOG[nlog].from = i;
		LOG[nlog].at = now;
		LOG[nlog].src = a->src;
		LOG[nlog].dst = a->dst;
		LOG[nlog].dport = a->dport;
		ck_assert_int_eq(ihmp_decode(a->buf, a->len, &LOG[nlog].m), 0);
		if (getenv("IHMP_TRACE")) {
			char x[64], y[64];
			fprintf(stderr, "%llu host%d %s -> %s %s acked=%s seq=%u\n", (unsigned long long)now, i,
				dime_addr_fmt(&a->src, x, sizeof(x)), dime_addr_fmt(&a->dst, y, sizeof(y)),
				ihmp_type_name(LOG[nlog].m.type), LOG[nlog].m.type == IHMP_ACK ? ihmp_type_name(LOG[nlog].m.acked_type) : "-", LOG[nlog].m.seq);
		}
		nlog++;
		ck_assert_uint_lt(qtail, QMAX);
		Q[qtail].from = i;
		Q[qtail].src = a->src;
		Q[qtail].dst = a->dst;
		Q[qtail].sport = IHMP_PORT_DEFAULT;
		Q[qtail].dport = a->dport;
		Q[qtail].len = a->len;
		memcpy(Q[qtail].buf, a->buf, a->len);
		qtail++;
	}
	ACTS->n = 0;
}

int owner(const struct dime_addr *a)
{
	for (int i = 0; i < HOSTS; i++)
		for (unsigned int k = 0; k < H[i].nup; k++)
			if (dime_addr_eq(&H[i].up[k], a))
				return i;
	return -1;
}

/* Deliver up to n queued datagrams, in order. */
void deliver_n(unsigned int n)
{
	while (n-- && qhead < qtail) {
		struct pkt *p = &Q[qhead++];
		int to;

		if (owner(&p->src) != p->from || (drop_fn && drop_fn(p)))
			continue;
		if (nat_fn)
			nat_fn(p);
		to = owner(&p->dst);
		if (to < 0)
			continue;
		ck_assert_int_eq(ihmp_input(H[to].ih, p->buf, p->len, &p->src, p->sport, &p->dst,
					    now, ACTS), 0);
		collect(to);
	}
}

/* Deliver everything queued, and what that causes. */
void deliver(void)
{
	deliver_n(UINT32_MAX);
}

/* Run timers and the network up to time t. */
void run_until(uint64_t t)
{
	for (int guard = 0; guard < 10000; guard++) {
		uint64_t next = UINT64_MAX;

		deliver();
		for (int i = 0; i < HOSTS; i++) {
			uint64_t d = ihmp_next_deadline(H[i].ih);

			if (d < next)
				next = d;
		}
		if (next > t)
			break;
		if (next > now)
			now = next;
		for (int i = 0; i < HOSTS; i++) {
			ck_assert_int_eq(ihmp_timer(H[i].ih, now, ACTS), 0);
			collect(i);
		}
	}
	deliver();
	now = t;
}

void up(int i, const char *text)
{
	ck_assert_uint_lt(H[i].nup, sizeof(H[i].up) / sizeof(H[i].up[0]));
	H[i].up[H[i].nup++] = A(text);
	ck_assert_int_eq(ihmp_local_addr_up(H[i].ih, AP(text), now, ACTS), 0);
	collect(i);
}

void down(int i, const char *text)
{
	struct dime_addr a = A(text);

	for (unsigned int k = 0; k < H[i].nup; k++)
		if (dime_addr_eq(&H[i].up[k], &a))
			H[i].up[k] = H[i].up[--H[i].nup];
	ck_assert_int_eq(ihmp_local_addr_down(H[i].ih, &a, now, ACTS), 0);
	collect(i);
}

/* As StackTrans does for an outbound flow lid -> rid: a HID with active
 * {rid}, local {lid}, then IHMP starts. */
uint32_t flow(int i, const char *lid, const char *rid)
{
	uint32_t hid;

	ck_assert_int_eq(dime_hid_create(H[i].t, now, &hid), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[i].t, hid, DIME_HID_ACTIVE, AP(rid)), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[i].t, hid, DIME_HID_LOCAL, AP(lid)), 0);
	ck_assert_int_eq(ihmp_hid_created(H[i].ih, hid, now, ACTS), 0);
	collect(i);
	return hid;
}

struct dime_hid_entry *hid_of(int i, const char *addr)
{
	uint32_t hid = dime_hid_lookup(H[i].t, AP(addr));

	return dime_hid_get(H[i].t, hid);
}

bool has(const struct dime_addr_set *s, const char *text)
{
	return dime_addr_set_has(s, AP(text));
}

bool set_eq(const struct dime_addr_set *x, const struct dime_addr_set *y)
{
	if (x->n != y->n)
		return false;
	for (unsigned int i = 0; i < x->n; i++)
		if (!dime_addr_set_has(y, &x->addr[i]))
			return false;
	return true;
}

/* Datagrams of a type sent since log index from (acked: type acknowledged,
 * 0 for requests). */
unsigned int count(unsigned int from, int host, uint8_t type, uint8_t acked)
{
	unsigned int n = 0;

	for (unsigned int k = from; k < nlog; k++)
		if ((host < 0 || LOG[k].from == host) && LOG[k].m.type == type &&
		    (!acked || LOG[k].m.acked_type == acked))
			n++;
	return n;
}

const struct logrec *find(unsigned int from, int host, uint8_t type, unsigned int nth)
{
	for (unsigned int k = from; k < nlog; k++)
		if ((host < 0 || LOG[k].from == host) && LOG[k].m.type == type && nth-- == 0)
			return &LOG[k];
	return NULL;
}

/* Hand a message to host i as if it came from src:5150 to dst; its length. */
size_t inject(int i, struct ihmp_msg *m, const char *src, const char *dst)
{
	uint8_t buf[IHMP_MSG_MAX];
	int len = ihmp_encode(m, buf, sizeof(buf));

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(ihmp_input(H[i].ih, buf, (size_t)len, AP(src), IHMP_PORT_DEFAULT, AP(dst),
				    now, ACTS), 0);
	collect(i);
	return (size_t)len;
}

/* A and B, one IPv4 address each, after the HELLO exchange. */
void pair_v4(void)
{
	up(0, "192.0.2.1");
	up(1, "198.51.100.1");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 100);
}
