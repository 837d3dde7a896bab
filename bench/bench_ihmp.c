// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_ihmp: what IHMP costs per message, with and without signatures
 * (issue #6's benchmark), in one run so the figures compare:
 *  - encoding a HANDOFF, unsigned and signed (Ed25519);
 *  - decoding one, and decoding plus verifying;
 *  - ihmp_input() on a stream of HANDOFFs from one established peer, each
 *    applied and acknowledged (the whole receive path: rate limiter off,
 *    decode, peer lookup, replay window and signature check when signed,
 *    the state change, the ACK, signed too when signed): messages/s/core.
 * A hand-off costs one HANDOFF and one ACK per peer and family, so the
 * per-hand-off cost is one encode+sign, one verify, on each side.
 *
 *   bench_ihmp [N]     N messages per measurement (default 20000)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dime/hid.h"
#include "dime/ihmp.h"
#include "dime/ihmp_sign.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct dime_addr A(const char *s)
{
	struct dime_addr a;

	if (dime_addr_parse(&a, s) < 0)
		abort();
	return a;
}

struct wire {
	uint8_t buf[IHMP_MSG_MAX];
	size_t len;
	struct dime_addr src;
};

static const struct ihmp_key *peer_key_cb(void *ctx, const struct dime_addr *src,
					  const struct dime_addr *host_id)
{
	return ctx;
}

/* HANDOFF number i from A: alternately to .2 and back to .1. */
static void handoff_msg(struct ihmp_msg *m, unsigned int i)
{
	const char *addr[2] = { "192.0.2.1", "192.0.2.2" };

	ihmp_msg_init(m, IHMP_HANDOFF, (uint16_t)(100 + i));
	m->new_addr = A(addr[(i + 1) % 2]);
	m->old_addr = A(addr[i % 2]);
	m->host_id = m->old_addr;
	m->has |= IHMP_HAS_NONCE;
	m->nonce = 0x9e3779b97f4a7c15ull * (i + 1);
}

static int encode(const struct ihmp_key *key, struct ihmp_msg *m, uint64_t counter, uint8_t *buf)
{
	return key ? ihmp_sign_encode(key, m, counter, buf, IHMP_MSG_MAX)
		   : ihmp_encode(m, buf, IHMP_MSG_MAX);
}

static double bench_encode(const struct ihmp_key *key, unsigned int n)
{
	uint8_t buf[IHMP_MSG_MAX];
	struct ihmp_msg m;
	double t0 = now_s();

	for (unsigned int i = 0; i < n; i++) {
		handoff_msg(&m, i);
		if (encode(key, &m, 1000 + i, buf) < 0)
			abort();
	}
	return n / (now_s() - t0);
}

static double bench_decode(const struct ihmp_key *key, unsigned int n)
{
	uint8_t buf[IHMP_MSG_MAX];
	struct ihmp_msg m, d;
	int len;
	double t0;

	handoff_msg(&m, 0);
	len = encode(key, &m, 1000, buf);
	t0 = now_s();
	for (unsigned int i = 0; i < n; i++) {
		if (ihmp_decode(buf, (size_t)len, &d) < 0)
			abort();
		if (key && ihmp_verify(key, buf, (size_t)len, &d) < 0)
			abort();
	}
	return n / (now_s() - t0);
}

/* B receives n HANDOFFs from an established peer A and answers each. */
static double bench_input(struct ihmp_key *ka, struct ihmp_key *kb, unsigned int n)
{
	struct ihmp_config cfg = IHMP_CONFIG_DEFAULTS;
	struct dime_hid_config hc = { .capacity = 64, .max_addrs = 256 };
	struct dime_hid_table *t;
	struct ihmp_actions *acts = calloc(1, sizeof(*acts));
	struct wire *w = calloc(n, sizeof(*w));
	struct ihmp *ih;
	struct ihmp_msg m;
	struct dime_addr b = A("198.51.100.1");
	uint8_t buf[IHMP_MSG_MAX];
	int len;
	double t0, rate;

	if (!acts || !w || dime_hid_table_new(&t, &hc) < 0)
		abort();
	cfg.rl.slots = 0;
	cfg.auth = ka ? IHMP_AUTH_REQUIRED : IHMP_AUTH_OFF;
	cfg.local_key = kb;
	cfg.peer_key = ka ? peer_key_cb : NULL;
	cfg.peer_key_ctx = ka;
	cfg.clock_us = 1000000;
	cfg.clock_ms = 1;
	if (ihmp_new(&ih, t, &cfg) < 0)
		abort();
	ihmp_local_addr_up(ih, &b, 1, acts);
	acts->n = 0;
	/* A's HELLO makes it an established peer. */
	ihmp_msg_init(&m, IHMP_HELLO, 99);
	m.host_id = A("192.0.2.1");
	ihmp_adv_add(&m, &m.host_id);
	m.has |= IHMP_HAS_NONCE;
	m.nonce = 7;
	len = encode(ka, &m, 999, buf);
	ihmp_input(ih, buf, (size_t)len, &m.host_id, 5150, &b, 2, acts);
	acts->n = 0;
	for (unsigned int i = 0; i < n; i++) {
		handoff_msg(&m, i);
		len = encode(ka, &m, 1000 + i, w[i].buf);
		if (len < 0)
			abort();
		w[i].len = (size_t)len;
		w[i].src = m.new_addr;
	}
	t0 = now_s();
	for (unsigned int i = 0; i < n; i++) {
		ihmp_input(ih, w[i].buf, w[i].len, &w[i].src, 5150, &b, 3 + i, acts);
		acts->n = 0;
	}
	rate = n / (now_s() - t0);
	if (ihmp_stats(ih)->received[IHMP_HANDOFF] != n || ihmp_stats(ih)->sent[IHMP_ACK] < n) {
		fprintf(stderr, "bench_ihmp: only %llu of %u HANDOFFs answered\n",
			(unsigned long long)ihmp_stats(ih)->sent[IHMP_ACK], n);
		exit(1);
	}
	ihmp_free(ih);
	dime_hid_table_free(t);
	free(acts);
	free(w);
	return rate;
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 20000;
	unsigned int ns = n / 10 ? n / 10 : 1;	/* signatures are ~300x slower */
	struct ihmp_key *ka, *kb;
	double e0, e1, d0, d1, i0, i1;

	if (ihmp_key_generate(&ka) < 0 || ihmp_key_generate(&kb) < 0) {
		fprintf(stderr, "bench_ihmp: cannot generate keys\n");
		return 1;
	}
	e0 = bench_encode(NULL, n);
	e1 = bench_encode(ka, ns);
	d0 = bench_decode(NULL, n);
	d1 = bench_decode(ka, ns);
	i0 = bench_input(NULL, NULL, n);
	i1 = bench_input(ka, kb, ns);
	printf("IHMP cost per message, one core (HANDOFF, %u unsigned / %u signed)\n", n, ns);
	printf("%-34s %14s %14s %8s\n", "", "unsigned/s", "signed/s", "ratio");
	printf("%-34s %14.0f %14.0f %8.4f\n", "encode (sign)", e0, e1, e1 / e0);
	printf("%-34s %14.0f %14.0f %8.4f\n", "decode (verify)", d0, d1, d1 / d0);
	printf("%-34s %14.0f %14.0f %8.4f\n", "ihmp_input: apply + ACK", i0, i1, i1 / i0);
	printf("per hand-off and side (one HANDOFF or ACK signed, one verified): %.0f us unsigned, "
	       "%.0f us signed\n", 1e6 / e0 + 1e6 / d0, 1e6 / e1 + 1e6 / d1);
	ihmp_key_free(ka);
	ihmp_key_free(kb);
	return 0;
}
