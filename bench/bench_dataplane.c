// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_dataplane: the whole per-packet work of StackTrans in process -
 * parse, flow lookup, HID lookup, rewrite, checksum fix-up (dp_packet) - in
 * packets per second on one core, with 1, 10k and 1M flows in the table.
 * Every packet belongs to a moved host and is rewritten. Kernel set
 * operations are no-ops. Prints figures, never asserts.
 *
 *   hot     the same 64 flows over and over (a busy host's working set)
 *   random  packets of flows drawn at random over the whole table
 *
 * Each packet is restored from a pristine copy before it is rewritten; the
 * restore is timed alone too and printed, so it can be subtracted.
 *
 * Usage: bench_dataplane [packets-per-case]   (default 2000000)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dime/dataplane.h"
#include "dime/pkt.h"

#define CAPACITY (1u << 20)
#define PEERS 4096u
#define NPKT 4096u
#define PKTLEN 104	/* IPv4 + TCP + 64 bytes */

static int noop(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Flow i: 192.0.2.10 port 1024 + i / PEERS -> 203.0.113.x / 198.51.100.x peer i % PEERS, port 443. */
static void peer_of(uint32_t p, uint8_t out[4])
{
	out[0] = 10;
	out[1] = (uint8_t)(p >> 8);
	out[2] = (uint8_t)p;
	out[3] = 1;
}

static void key_of(uint32_t i, struct dime_flow_key *k)
{
	static const uint8_t mh1[4] = { 192, 0, 2, 10 };
	uint8_t peer[4];

	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	dime_addr_from_v4(&k->lid, mh1);
	peer_of(i % PEERS, peer);
	dime_addr_from_v4(&k->rid, peer);
	k->lport = (uint16_t)(1024 + i / PEERS);
	k->rport = 443;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	return s;
}

static void build(uint8_t *b, const struct dime_flow_key *k)
{
	uint32_t s;

	memset(b, 0, PKTLEN);
	b[0] = 0x45;
	b[2] = 0;
	b[3] = PKTLEN;
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	memcpy(b + 12, k->lid.a.u8, 4);
	memcpy(b + 16, k->rid.a.u8, 4);
	s = fold(sum16(b, 20, 0));
	b[10] = (uint8_t)(~s >> 8);
	b[11] = (uint8_t)~s;
	b[20] = (uint8_t)(k->lport >> 8);
	b[21] = (uint8_t)k->lport;
	b[22] = (uint8_t)(k->rport >> 8);
	b[23] = (uint8_t)k->rport;
	b[32] = 5 << 4;
	b[33] = 0x10;
	for (int i = 40; i < PKTLEN; i++)
		b[i] = (uint8_t)i;
	s = sum16(b + 12, 8, IPPROTO_TCP + PKTLEN - 20);
	s = fold(sum16(b + 20, PKTLEN - 20, s));
	b[36] = (uint8_t)(~s >> 8);
	b[37] = (uint8_t)~s;
}

static uint8_t pristine[NPKT][PKTLEN];

static double run(struct dataplane *dp, uint64_t n, bool restore_only, uint64_t *rewritten)
{
	uint8_t buf[PKTLEN];
	uint64_t t0 = now_ns(), ok = 0;

	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *src = pristine[i & (NPKT - 1)];

		memcpy(buf, src, PKTLEN);
		if (!restore_only)
			ok += dp_packet(dp, DIME_DIR_OUT, buf, PKTLEN, 0, 1) == DP_ACCEPT_MODIFIED;
		else
			ok += buf[0];
		__asm__ volatile("" : : "r"(buf) : "memory");
	}
	*rewritten = ok;
	return (double)(now_ns() - t0) / (double)n;
}

static void fill(struct dataplane *dp, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		struct dime_flow_key k;

		key_of(i, &k);
		if (dp_flow_learn(dp, &k, 3, 1) < 0) {
			fprintf(stderr, "bench_dataplane: flow %u not inserted\n", i);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	static const uint32_t fills[] = { 64, 10000, 1000000 };
	struct dime_hid_config hc = { .capacity = PEERS * 2, .max_addrs = PEERS * 8, .seed = { 7, 8 } };
	struct dime_flow_config fc = { .capacity = CAPACITY, .seed = { 9, 10 } };
	struct dp_kernel_ops ops = { .set_add = noop, .set_del = noop };
	static const uint8_t mh2[4] = { 198, 51, 100, 10 };
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	struct dataplane *dp;
	struct dime_addr lloc;
	uint32_t filled = 0;
	uint64_t ok;

	dime_flow_timeouts_default(&fc.timeouts);
	if (dime_hid_table_new(&hids, &hc) || dime_flow_table_new(&flows, &fc, hids) ||
	    dp_new(&dp, hids, flows, &ops)) {
		fprintf(stderr, "bench_dataplane: cannot allocate tables\n");
		return 1;
	}
	/* Every peer moved: our side is now reached at 198.51.100.10. */
	dime_addr_from_v4(&lloc, mh2);
	for (uint32_t p = 0; p < PEERS; p++) {
		struct dime_flow_key k;

		key_of(p, &k);
		dp_set_locator(dp, &k.rid, NULL, &lloc, 1);
	}
	printf("bench_dataplane: dp_packet (parse + lookup + rewrite + checksum), IPv4 TCP %d bytes, one core\n",
	       PKTLEN);
	printf("%10s %8s %12s %12s %12s %10s\n", "flows", "pattern", "ns/packet", "restore ns", "net Mpps",
	       "rewritten");
	for (size_t c = 0; c < sizeof(fills) / sizeof(fills[0]); c++) {
		fill(dp, filled, fills[c]);
		filled = fills[c];
		for (int pattern = 0; pattern < 2; pattern++) {
			struct dime_flow_key k;
			double per, base;

			for (uint32_t i = 0; i < NPKT; i++) {
				key_of(pattern == 0 ? i % 64 : rnd() % filled, &k);
				build(pristine[i], &k);
			}
			base = run(dp, n, true, &ok);
			per = run(dp, n, false, &ok);
			printf("%10u %8s %12.1f %12.1f %12.2f %9.1f%%\n", filled, pattern ? "random" : "hot", per,
			       base, 1000.0 / (per - base > 1 ? per - base : 1), 100.0 * (double)ok / (double)n);
		}
	}
	{
		struct dime_flow_stats st;

		dime_flow_stats(flows, &st);
		printf("memory: %.1f bytes per flow entry (%zu bytes for %u flows, capacity %u)\n",
		       (double)st.bytes / st.capacity, st.bytes, st.count, st.capacity);
	}
	dp_free(dp);
	dime_flow_flush(flows);
	dime_flow_table_free(flows);
	dime_hid_table_free(hids);
	return 0;
}
