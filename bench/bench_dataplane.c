// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_dataplane: the whole per-packet work of StackTrans in process -
 * parse, flow lookup, HID lookup, rewrite, checksum fix-up - in packets per
 * second on one core, with 64, 10k and 1M flows in the table, one packet
 * at a time (dp_packet) and in bursts of 32 and 64 (dp_packet_burst; NFQUEUE
 * hands dimed up to 64 packets per recvmmsg). Every packet belongs to a
 * moved host and is rewritten, outbound (source) and inbound (destination).
 * Kernel set operations are no-ops. Prints figures, never asserts.
 *
 *   hot     the same 64 flows over and over (a busy host's working set),
 *           from HOT_NPKT pristine packets, which stay in cache
 *   random  packets of flows drawn at random over the whole table: NPKT
 *           of them in turn, more than the caches hold, so that with 1M
 *           flows a lookup really goes to memory
 *
 * Each packet is restored from a pristine copy before it is handled; the
 * restore is timed alone too and subtracted ("net"). Times are the
 * thread's CPU time, so other load on the machine skews them less.
 *
 * Usage: bench_dataplane [packets-per-case [flows]]   (default 2000000;
 * flows: only the table of that size, for profiling)
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
#define NPKT 65536u	/* pristine packets: 6.8 MB */
#define HOT_NPKT 4096u
#define PKTLEN 104	/* IPv4 + TCP + 64 bytes */
#define NAPI 3
#define BURST_MAX 64

/* Packets per dp_packet_burst call; 1 is dp_packet itself. */
static const unsigned api_burst[NAPI] = { 1, 32, 64 };

static int noop(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	(void)ctx, (void)set, (void)a, (void)b;
	return 0;
}

/* CPU time of this thread: on a shared machine, time spent preempted is
 * not the data plane's. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* Flow i: 192.0.2.10 port 1024 + i / PEERS -> peer i % PEERS, port 443,
 * peers in 198.18.0.0/15 (RFC 2544's benchmarking range). Our side moved to
 * 198.51.100.10, so outbound sources and inbound destinations are
 * rewritten. */
static const uint8_t lid4[4] = { 192, 0, 2, 10 };
static const uint8_t lloc4[4] = { 198, 51, 100, 10 };

static void peer_of(uint32_t p, uint8_t out[4])
{
	out[0] = 198;
	out[1] = 18;
	out[2] = (uint8_t)(p >> 8);
	out[3] = (uint8_t)p;
}

static void key_of(uint32_t i, struct dime_flow_key *k)
{
	uint8_t peer[4];

	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	dime_addr_from_v4(&k->lid, lid4);
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

/* A TCP ACK of flow k: as the socket sends it, or as the peer sends it to
 * our new locator. */
static void build(uint8_t *b, const struct dime_flow_key *k, bool inbound)
{
	uint16_t sport = inbound ? k->rport : k->lport, dport = inbound ? k->lport : k->rport;
	uint32_t s;

	memset(b, 0, PKTLEN);
	b[0] = 0x45;
	b[2] = 0;
	b[3] = PKTLEN;
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	memcpy(b + 12, inbound ? k->rid.a.u8 : k->lid.a.u8, 4);
	memcpy(b + 16, inbound ? lloc4 : k->rid.a.u8, 4);
	s = fold(sum16(b, 20, 0));
	b[10] = (uint8_t)(~s >> 8);
	b[11] = (uint8_t)~s;
	b[20] = (uint8_t)(sport >> 8);
	b[21] = (uint8_t)sport;
	b[22] = (uint8_t)(dport >> 8);
	b[23] = (uint8_t)dport;
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

/* The data plane's clock at packet i: 1 ms per 8192 packets (8 Mpps), so
 * hot flows see many packets per millisecond and random ones do not. */
static uint64_t clock_ms(uint64_t i)
{
	return 2 + i / 8192;
}

/* ns per packet for n packets (a multiple of 64) in bursts of `burst`,
 * from the first npkt (a power of two) pristine packets; restore_only
 * times the copies alone. */
static double run(struct dataplane *dp, enum dime_dir dir, uint64_t n, uint32_t npkt,
		  unsigned burst, bool restore_only, uint64_t *rewritten)
{
	static uint8_t buf[BURST_MAX][PKTLEN];
	struct dp_burst_item items[BURST_MAX];
	uint64_t t0 = now_ns(), ok = 0;

	for (unsigned j = 0; j < burst; j++)
		items[j] = (struct dp_burst_item){ .buf = buf[j], .len = PKTLEN };
	for (uint64_t i = 0; i < n; i += burst) {
		for (unsigned j = 0; j < burst; j++)
			memcpy(buf[j], pristine[(i + j) & (npkt - 1)], PKTLEN);
		if (restore_only) {
			ok += buf[0][0];
		} else if (burst == 1) {
			ok += dp_packet(dp, dir, buf[0], PKTLEN, 0, clock_ms(i)) == DP_ACCEPT_MODIFIED;
		} else {
			dp_packet_burst(dp, dir, items, burst, clock_ms(i));
			for (unsigned j = 0; j < burst; j++)
				ok += items[j].verdict == DP_ACCEPT_MODIFIED;
		}
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

/* One table size, pattern and direction: a row of figures. */
static void bench_case(struct dataplane *dp, uint32_t filled, int pattern, enum dime_dir dir,
		       uint64_t n)
{
	uint32_t npkt = pattern == 0 ? HOT_NPKT : NPKT;
	double per[NAPI], net[NAPI];
	uint64_t ok, worst = n;

	for (uint32_t i = 0; i < npkt; i++) {
		struct dime_flow_key k;

		key_of(pattern == 0 ? i % 64 : rnd() % filled, &k);
		build(pristine[i], &k, dir == DIME_DIR_IN);
	}
	for (int a = 0; a < NAPI; a++) {
		double base = run(dp, dir, n, npkt, api_burst[a], true, &ok);

		per[a] = run(dp, dir, n, npkt, api_burst[a], false, &ok);
		net[a] = per[a] - base > 1 ? per[a] - base : 1;
		if (ok < worst)
			worst = ok;
	}
	printf("%8u %7s %4s %9.1f %9.2f %9.1f %9.2f %9.1f %9.2f %9.1f%%\n", filled,
	       pattern ? "random" : "hot", dir == DIME_DIR_IN ? "in" : "out", net[0],
	       1000.0 / net[0], net[1], 1000.0 / net[1], net[2], 1000.0 / net[2],
	       100.0 * (double)worst / (double)n);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	uint32_t only = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
	static const uint32_t fills[] = { 64, 10000, 1000000 };
	struct dime_hid_config hc = { .capacity = PEERS * 2, .max_addrs = PEERS * 8, .seed = { 7, 8 } };
	struct dime_flow_config fc = { .capacity = CAPACITY, .seed = { 9, 10 } };
	struct dp_kernel_ops ops = { .set_add = noop, .set_del = noop };
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	struct dataplane *dp;
	struct dime_addr lloc;
	uint32_t filled = 0;

	n = (n + BURST_MAX - 1) / BURST_MAX * BURST_MAX;
	dime_flow_timeouts_default(&fc.timeouts);
	if (dime_hid_table_new(&hids, &hc) || dime_flow_table_new(&flows, &fc, hids) ||
	    dp_new(&dp, hids, flows, &ops)) {
		fprintf(stderr, "bench_dataplane: cannot allocate tables\n");
		return 1;
	}
	/* Every peer moved: our side is now reached at 198.51.100.10. */
	dime_addr_from_v4(&lloc, lloc4);
	for (uint32_t p = 0; p < PEERS; p++) {
		struct dime_flow_key k;

		key_of(p, &k);
		dp_set_locator(dp, &k.rid, NULL, &lloc, 1);
	}
	printf("bench_dataplane: parse + lookup + rewrite + checksum, IPv4 TCP %d bytes, one core\n",
	       PKTLEN);
	printf("net ns/packet and Mpps (restore subtracted); rewritten: the worst of the three\n");
	printf("%8s %7s %4s %9s %9s %9s %9s %9s %9s %10s\n", "flows", "pattern", "dir", "single",
	       "Mpps", "burst32", "Mpps", "burst64", "Mpps", "rewritten");
	for (size_t c = 0; c < sizeof(fills) / sizeof(fills[0]); c++) {
		if (only && fills[c] > only)
			break;
		fill(dp, filled, fills[c]);
		filled = fills[c];
		if (only && filled != only)
			continue;
		for (int pattern = 0; pattern < 2; pattern++) {
			bench_case(dp, filled, pattern, DIME_DIR_OUT, n);
			bench_case(dp, filled, pattern, DIME_DIR_IN, n);
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
