// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_tables: what a lookup in the StackTrans tables costs at 0, 10k and
 * 1M flows, in one flow table sized for 1M (so only the fill changes), and
 * how many bytes a flow entry takes. Prints, never asserts.
 *
 *   outbound  dime_flow_lookup_out by identifier tuple
 *   inbound   dime_hid_lookup(source) then dime_flow_lookup_in
 *   random    keys in shuffled order over all flows (cache-cold at 1M)
 *   burst     the same keys 32 at a time: hash and prefetch, then look up
 *   hot       1024 flows over and over (a busy host's working set)
 *
 * Usage: bench_tables [lookups-per-case]   (default 4000000)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dime/flow.h"
#include "dime/hid.h"

#define CAPACITY (1u << 20)
#define PEERS 65536u
#define HOT 1024u

static const struct dime_sipkey seed = { 0x5eed5eed5eed5eedull, 0x0ddba11c0ffee000ull };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Flow i: 2001:db8:a::1 port 1024 + i / PEERS to 2001:db8:b::<i % PEERS + 1> port 443. */
static void key_of(uint32_t i, struct dime_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP;
	k->lport = (uint16_t)(1024 + i / PEERS);
	k->rport = 443;
	k->lid.family = AF_INET6;
	k->lid.a.u32[0] = htonl(0x20010db8);
	k->lid.a.u32[1] = htonl(0x000a0000);
	k->lid.a.u32[3] = htonl(1);
	k->rid.family = AF_INET6;
	k->rid.a.u32[0] = htonl(0x20010db8);
	k->rid.a.u32[1] = htonl(0x000b0000);
	k->rid.a.u32[3] = htonl(i % PEERS + 1);
}

struct tables {
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
};

static int tables_fill(struct tables *t, uint32_t n)
{
	struct dime_hid_config hc = { .capacity = PEERS, .max_addrs = 2 * PEERS, .seed = seed };
	struct dime_flow_config fc = { .capacity = CAPACITY, .seed = seed };
	int err;

	dime_flow_timeouts_default(&fc.timeouts);
	err = dime_hid_table_new(&t->hids, &hc);
	if (err)
		return err;
	err = dime_flow_table_new(&t->flows, &fc, t->hids);
	if (err)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		struct dime_flow_key k;
		struct dime_flow *f;
		uint32_t h;

		key_of(i, &k);
		h = dime_hid_lookup(t->hids, &k.rid);
		if (h == DIME_HID_NONE) {
			err = dime_hid_create(t->hids, 0, &h);
			if (!err)
				err = dime_hid_addr_add(t->hids, h, DIME_HID_ACTIVE, &k.rid);
			if (!err)
				err = dime_hid_addr_add(t->hids, h, DIME_HID_LOCAL, &k.lid);
			if (err)
				return err;
		}
		err = dime_flow_insert(t->flows, &k, h, 0, &f);
		if (err)
			return err;
	}
	return 0;
}

static void tables_free(struct tables *t)
{
	dime_flow_table_free(t->flows);
	dime_hid_table_free(t->hids);
}

/* order[i] for i < lookups: flow numbers to look up, within [0, span). */
static void make_order(uint32_t *order, size_t lookups, uint32_t span, bool shuffle)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < lookups; i++) {
		if (shuffle) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			order[i] = (uint32_t)(x % span);
		} else {
			order[i] = (uint32_t)(i % span);
		}
	}
}

static double run_out(const struct tables *t, const uint32_t *order, size_t lookups, size_t *hits)
{
	uint64_t t0 = now_ns();

	*hits = 0;
	for (size_t i = 0; i < lookups; i++) {
		struct dime_flow_key k;

		key_of(order[i], &k);
		*hits += dime_flow_lookup_out(t->flows, &k) != NULL;
	}
	return (double)(now_ns() - t0) / (double)lookups;
}

static double run_in(const struct tables *t, const uint32_t *order, size_t lookups, size_t *hits)
{
	uint64_t t0 = now_ns();

	*hits = 0;
	for (size_t i = 0; i < lookups; i++) {
		struct dime_flow_key k;
		uint32_t h;

		key_of(order[i], &k);
		h = dime_hid_lookup(t->hids, &k.rid);
		/* With no HID the data plane stops here; so does the bench. */
		if (h != DIME_HID_NONE)
			*hits += dime_flow_lookup_in(t->flows, k.proto, AF_INET6, h, k.rport,
						     k.lport, &k.lid) != NULL;
	}
	return (double)(now_ns() - t0) / (double)lookups;
}

#define BURST 32

/* The same lookups in bursts: hash and prefetch the whole burst, then look
 * up, as a data plane draining NFQUEUE in batches would. */
static double run_out_burst(const struct tables *t, const uint32_t *order, size_t lookups,
			    size_t *hits)
{
	uint64_t t0 = now_ns();

	*hits = 0;
	for (size_t i = 0; i + BURST <= lookups; i += BURST) {
		struct dime_flow_key k[BURST];
		uint32_t h[BURST];

		for (int j = 0; j < BURST; j++) {
			key_of(order[i + (size_t)j], &k[j]);
			h[j] = dime_flow_hash_out(t->flows, &k[j]);
			dime_flow_prefetch_out(t->flows, h[j]);
		}
		for (int j = 0; j < BURST; j++)
			dime_flow_prefetch_out_entry(t->flows, h[j]);
		for (int j = 0; j < BURST; j++)
			*hits += dime_flow_lookup_out_hashed(t->flows, &k[j], h[j]) != NULL;
	}
	return (double)(now_ns() - t0) / (double)(lookups / BURST * BURST);
}

static double run_in_burst(const struct tables *t, const uint32_t *order, size_t lookups,
			   size_t *hits)
{
	uint64_t t0 = now_ns();

	*hits = 0;
	for (size_t i = 0; i + BURST <= lookups; i += BURST) {
		struct dime_flow_key k[BURST];
		uint32_t h[BURST], hid[BURST];

		for (int j = 0; j < BURST; j++) {
			key_of(order[i + (size_t)j], &k[j]);
			h[j] = dime_hid_addr_hash(t->hids, &k[j].rid);
			dime_hid_prefetch(t->hids, h[j]);
		}
		for (int j = 0; j < BURST; j++) {
			hid[j] = dime_hid_lookup_hashed(t->hids, &k[j].rid, h[j]);
			h[j] = dime_flow_hash_in(t->flows, k[j].proto, AF_INET6, hid[j], k[j].rport,
						 k[j].lport);
			dime_flow_prefetch_in(t->flows, h[j]);
		}
		for (int j = 0; j < BURST; j++)
			dime_flow_prefetch_in_entry(t->flows, h[j]);
		for (int j = 0; j < BURST; j++)
			if (hid[j] != DIME_HID_NONE)
				*hits += dime_flow_lookup_in_hashed(t->flows, h[j], k[j].proto, AF_INET6,
								    hid[j], k[j].rport, k[j].lport,
								    &k[j].lid) != NULL;
	}
	return (double)(now_ns() - t0) / (double)(lookups / BURST * BURST);
}

static double run_keys(const uint32_t *order, size_t lookups)
{
	uint64_t t0 = now_ns();
	volatile uint32_t sink = 0;

	for (size_t i = 0; i < lookups; i++) {
		struct dime_flow_key k;

		key_of(order[i], &k);
		sink += k.rid.a.u32[3];
	}
	(void)sink;
	return (double)(now_ns() - t0) / (double)lookups;
}

static void line(const char *what, uint32_t n, const char *order, double ns, size_t hits,
		 size_t lookups)
{
	printf("%-9s %8u  %-6s %8.1f ns %8.2f M/s  hits %3.0f%%\n", what, n, order, ns,
	       1000.0 / ns, 100.0 * (double)hits / (double)lookups);
}

int main(int argc, char **argv)
{
	const uint32_t sizes[] = { 0, 10000, 1000000 };
	size_t lookups = argc > 1 ? strtoul(argv[1], NULL, 10) : 4000000;
	uint32_t *order = malloc(lookups * sizeof(*order));

	if (!order || lookups == 0) {
		fprintf(stderr, "bench_tables: usage: bench_tables [lookups-per-case]\n");
		return 1;
	}
	printf("flow table capacity %u, %zu lookups per case\n", CAPACITY, lookups);
	printf("%-9s %8s  %-6s %11s %12s\n", "lookup", "flows", "order", "per lookup", "rate");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];
		/* At 0 flows look up the 1M keys that are absent: all misses. */
		uint32_t span = n ? n : 1000000;
		struct tables t = { 0 };
		size_t hits;
		double ns;
		int err = tables_fill(&t, n);

		if (err) {
			fprintf(stderr, "bench_tables: filling %u flows: %s\n", n, strerror(-err));
			return 1;
		}
		make_order(order, lookups, span, true);
		ns = run_out(&t, order, lookups, &hits);
		line("outbound", n, "random", ns, hits, lookups);
		ns = run_in(&t, order, lookups, &hits);
		line("inbound", n, "random", ns, hits, lookups);
		ns = run_out_burst(&t, order, lookups, &hits);
		line("outbound", n, "burst", ns, hits, lookups);
		ns = run_in_burst(&t, order, lookups, &hits);
		line("inbound", n, "burst", ns, hits, lookups);
		make_order(order, lookups, span < HOT ? span : HOT, true);
		ns = run_out(&t, order, lookups, &hits);
		line("outbound", n, "hot", ns, hits, lookups);
		ns = run_in(&t, order, lookups, &hits);
		line("inbound", n, "hot", ns, hits, lookups);
		tables_free(&t);
	}
	make_order(order, lookups, 1000000, true);
	printf("(building the key from its number costs %.1f ns of each figure)\n",
	       run_keys(order, lookups));

	struct dime_flow_stats fs;
	struct dime_hid_stats hs;
	struct tables t = { 0 };

	if (tables_fill(&t, 1000000) == 0) {
		dime_flow_stats(t.flows, &fs);
		dime_hid_stats(t.hids, &hs);
		printf("flow entry %zu bytes; table %zu bytes for capacity %u (%u buckets per index): "
		       "%.1f bytes per flow at capacity, %.1f per flow at %u flows\n",
		       sizeof(struct dime_flow), fs.bytes, fs.capacity, fs.buckets,
		       (double)fs.bytes / fs.capacity, (double)fs.bytes / fs.count, fs.count);
		printf("hid entry %zu bytes; hid table %zu bytes for %u HIDs, %u index slots: "
		       "%.1f bytes per HID\n",
		       sizeof(struct dime_hid_entry), hs.bytes, hs.capacity, hs.slots,
		       (double)hs.bytes / hs.capacity);
	}
	tables_free(&t);
	free(order);
	return 0;
}
