// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for IHMP input as dimed receives it (docs/security.md):
 * ihmp_input() with its rate limit, decoder, signature policy, replay
 * windows and state machine (ihmp.c) over its HID table, over a sequence
 * of datagrams and local address events so that state built by one message
 * is there for the next. Each input starts from fresh state, so a crash
 * replays exactly.
 *
 * Input: one byte of mode (bits 0-1 auth mode, bit 2 we start a HELLO
 * ourselves, bit 3 we sign what we send), then records
 * [ctl][len, 2 bytes big-endian][len bytes]:
 *   ctl & 0x07  packet source: one of eight documentation addresses
 *   ctl & 0x08  packet destination: our second local address
 *   ctl & 0x10  advance the clock 1.5 s and run ihmp_timer first
 *   ctl & 0x20  if the bytes decode, sign them with the peer key (the
 *               fuzzer cannot forge signatures; this lets it reach the
 *               verified path), with a new counter ...
 *   ctl & 0x40  ... or the previous one again (replays)
 *   ctl & 0x80  not a datagram: a local address event, byte 0 choosing
 *               up or down and which address
 *
 * The peer key is configured for the IPv4 sources only, so both "peer has
 * a key" and "no key" paths are reached.
 *
 * Beyond "no crash" it checks:
 *   - everything the state machine asks to send decodes, within 1232
 *     bytes, and verifies with our key when we sign;
 *   - a message the harness signed is never dropped by the signature
 *     policy (unsigned, wrong key, bad signature) in any mode.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: see tests/fuzz/CMakeLists.txt (target fuzz_ihmp_rx); scripts/fuzz.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dime/hid.h"
#include "dime/ihmp.h"
#include "dime/ihmp_sign.h"
#include "dime/ihmp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static const char *const sources[8] = {
	"198.51.100.7", "198.51.100.8", "203.0.113.5", "192.0.2.99",
	"2001:db8:1::7", "2001:db8:1::8", "2001:db8:2::5", "2001:db8::99",
};
static const char *const locals[4] = { "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2" };

struct rx_state {
	struct dime_hid_table *hids;
	struct ihmp *ih;
	struct ihmp_actions *acts;
	bool sign;
	uint64_t now, counter;
	uint64_t rnd;
};

static struct ihmp_key *peer_key, *our_key;

static struct dime_addr addr(const char *text)
{
	struct dime_addr a;

	require(dime_addr_parse(&a, text) == 0);
	return a;
}

static uint64_t fake_random(void *ctx)
{
	struct rx_state *s = ctx;

	s->rnd = s->rnd * 6364136223846793005ull + 1442695040888963407ull;
	return s->rnd;
}

/* The key configured for a peer: only IPv4 peers have one. */
static const struct ihmp_key *key_of(void *ctx, const struct dime_addr *src,
				     const struct dime_addr *host_id)
{
	(void)ctx;
	return src->family == AF_INET || host_id->family == AF_INET ? peer_key : NULL;
}

/* What a daemon would send: it must all be valid IHMP, signed by us when
 * we sign. */
static void drain_actions(struct rx_state *s)
{
	static struct ihmp_msg m;

	for (unsigned int i = 0; i < s->acts->n; i++) {
		const struct ihmp_action *a = &s->acts->a[i];

		if (a->type != IHMP_ACT_SEND)
			continue;
		require(a->len <= IHMP_MSG_MAX);
		require(ihmp_decode(a->buf, a->len, &m) == 0);
		require(!s->sign || ihmp_verify(our_key, a->buf, a->len, &m) == 0);
	}
	s->acts->n = 0;
}

static void local_event(struct rx_state *s, const uint8_t *p, size_t len)
{
	struct dime_addr a;

	if (!len)
		return;
	a = addr(locals[(p[0] >> 1) % 4]);
	if (p[0] & 1)
		ihmp_local_addr_down(s->ih, &a, s->now, s->acts);
	else
		ihmp_local_addr_up(s->ih, &a, s->now, s->acts);
}

/* Re-sign buf in place when it decodes; true when it did. */
static bool sign_copy(struct rx_state *s, uint8_t *buf, size_t *len, bool again)
{
	static struct ihmp_msg m;
	int n;

	if (ihmp_decode(buf, *len, &m) != 0)
		return false;
	if (!again)
		s->counter++;
	n = ihmp_sign_encode(peer_key, &m, s->counter, buf, IHMP_MSG_MAX);
	if (n < 0)
		return false;
	*len = (size_t)n;
	return true;
}

static uint64_t auth_drops(const struct ihmp_stats *st)
{
	return st->drop_unsigned_msg + st->drop_wrong_key + st->drop_bad_signature;
}

/* The whole receive path on exactly len bytes on the heap, so that ASan
 * sees any read past the datagram. */
static void receive(struct rx_state *s, const struct dime_addr *src, const struct dime_addr *dst,
		    const uint8_t *buf, size_t len, bool signed_here)
{
	const struct ihmp_stats *st = ihmp_stats(s->ih);
	uint64_t before = auth_drops(st);

	require(ihmp_input(s->ih, buf, len, src, 5150, dst, s->now, s->acts) == 0);
	require(!signed_here || auth_drops(st) == before);
}

static void datagram(struct rx_state *s, uint8_t ctl, uint8_t *buf, size_t len)
{
	struct dime_addr src = addr(sources[ctl & 7]);
	struct dime_addr dst = addr(locals[(src.family == AF_INET6 ? 2 : 0) + !!(ctl & 0x08)]);
	bool signed_here = false;
	uint8_t *copy;

	if (ctl & 0x20)
		signed_here = sign_copy(s, buf, &len, ctl & 0x40);
	copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, buf, len);
	receive(s, &src, &dst, copy, len, signed_here);
	free(copy);
}

static bool setup(struct rx_state *s, uint8_t mode)
{
	struct dime_hid_config hc = { .capacity = 16, .max_addrs = 256, .seed = { 1, 2 } };
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;

	memset(s, 0, sizeof(*s));
	s->now = 1000000;
	s->rnd = 42;
	/* Counters the state machine's window takes as fresh at first. */
	s->counter = 1000;
	s->sign = mode & 8;
	ic.random = fake_random;
	ic.random_ctx = s;
	ic.auth = (enum ihmp_auth_mode)((mode & 3) % 3);
	ic.local_key = s->sign ? our_key : NULL;
	ic.peer_key = key_of;
	ic.rl.slots = 64;
	ic.rl.rate = 20;
	ic.rl.burst = 40;
	s->acts = calloc(1, sizeof(*s->acts));
	if (!s->acts || dime_hid_table_new(&s->hids, &hc) || ihmp_new(&s->ih, s->hids, &ic))
		return false;
	for (unsigned int i = 0; i < 4; i++) {
		struct dime_addr a = addr(locals[i]);

		ihmp_local_addr_up(s->ih, &a, s->now, s->acts);
	}
	drain_actions(s);
	return true;
}

/* Mode bit 2: we are the active side of a flow to 198.51.100.7 (HELLO out),
 * so ACKs have a request to match. */
static void start_peer(struct rx_state *s)
{
	struct dime_addr peer = addr(sources[0]), local = addr(locals[0]);
	uint32_t hid;

	if (dime_hid_create(s->hids, s->now, &hid) != 0 ||
	    dime_hid_addr_add(s->hids, hid, DIME_HID_ACTIVE, &peer) != 0 ||
	    dime_hid_addr_add(s->hids, hid, DIME_HID_LOCAL, &local) != 0)
		return;
	ihmp_hid_created(s->ih, hid, s->now, s->acts);
	drain_actions(s);
}

static void teardown(struct rx_state *s)
{
	if (s->ih)
		ihmp_free(s->ih);
	if (s->hids)
		dime_hid_table_free(s->hids);
	free(s->acts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[IHMP_MSG_MAX + 64];
	static struct rx_state s;
	size_t off = 1;

	if (!peer_key)
		require(ihmp_key_generate(&peer_key) == 0 && ihmp_key_generate(&our_key) == 0);
	if (size < 1)
		return 0;
	if (setup(&s, data[0])) {
		if (data[0] & 4)
			start_peer(&s);
		while (off + 3 <= size) {
			uint8_t ctl = data[off];
			size_t len = (size_t)data[off + 1] << 8 | data[off + 2];

			off += 3;
			if (len > size - off)
				len = size - off;
			if (len > IHMP_MSG_MAX + 8)
				len = IHMP_MSG_MAX + 8;
			memcpy(buf, data + off, len);
			off += len;
			if (ctl & 0x10) {
				s.now += 1500;
				ihmp_timer(s.ih, s.now, s.acts);
				drain_actions(&s);
			}
			if (ctl & 0x80)
				local_event(&s, buf, len);
			else
				datagram(&s, ctl, buf, len);
			drain_actions(&s);
		}
	}
	teardown(&s);
	return 0;
}
