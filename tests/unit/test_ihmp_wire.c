// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the IHMP wire format (ihmp_wire.c): every message type
 * round-trips with IPv4, IPv6 and mixed addresses and every combination of
 * optional parts, re-encoding a decoded message gives back the same bytes,
 * the byte layout matches the examples in docs/ihmp.md, every malformation
 * the specification names is refused with its own error, and a real Ed25519
 * signature made over ihmp_sig_input verifies after decoding, also with the
 * NS flag set in transit.
 */
#include <check.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp_wire.h"

#define HOT_ASSERT(expr) \
	do { \
		if (!(expr)) \
			ck_abort_msg("Assertion '%s' failed", #expr); \
	} while (0)

static struct dime_addr A(const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return a;
}

/* ---- Raw messages built by hand, for what the encoder never produces ---- */

struct raw {
	uint8_t b[4096];
	size_t n;
};

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void raw_hdr(struct raw *r, uint8_t type, uint16_t flags, uint16_t seq)
{
	r->b[0] = IHMP_VERSION;
	r->b[1] = type;
	be16(r->b + 2, flags);
	be16(r->b + 4, seq);
	be16(r->b + 6, 0);
	r->n = IHMP_HDR_LEN;
}

static void raw_tlv(struct raw *r, uint16_t type, const void *val, uint16_t len)
{
	be16(r->b + r->n, type);
	be16(r->b + r->n + 2, len);
	if (len)
		memcpy(r->b + r->n + 4, val, len);
	r->n += 4u + len;
}

static void raw_addr(struct raw *r, uint16_t type, const char *text)
{
	struct dime_addr a = A(text);

	raw_tlv(r, type, a.a.u8, (uint16_t)dime_addr_len(&a));
}

static void raw_u64(struct raw *r, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	raw_tlv(r, type, b, 8);
}

static void raw_sig(struct raw *r, uint8_t alg)
{
	uint8_t v[IHMP_SIG_TLV_VALUE_LEN];

	memset(v, 0x5a, sizeof(v));
	v[0] = alg;
	raw_tlv(r, IHMP_T_SIGNATURE, v, sizeof(v));
}

/* Patch the header's length to the bytes written and decode. */
static int raw_decode(struct raw *r, struct ihmp_msg *m)
{
	be16(r->b + 6, (uint16_t)r->n);
	return ihmp_decode(r->b, r->n, m);
}

/* A valid HELLO to start malformations from. */
static void raw_hello(struct raw *r)
{
	raw_hdr(r, IHMP_HELLO, 0, 7);
	raw_addr(r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(r, IHMP_T_ADVERTISED, "192.0.2.1");
}

/* ---- Sample messages ---- */

enum { FAM_V4, FAM_V6, FAM_MIXED, FAM_COUNT };

#define OPT_NONCE 0x01u
#define OPT_COUNTER 0x02u
#define OPT_SIG 0x04u
#define OPT_EXT 0x08u
#define OPT_FLAGS 0x10u	/* every flag the type allows, OBSERVED in ACKs */
#define OPT_ALL 0x1fu

static struct dime_addr addr_of(int fam, int i)
{
	char text[64];

	if (fam == FAM_V4 || (fam == FAM_MIXED && i % 2 == 0))
		snprintf(text, sizeof(text), "%s.%d", i < 8 ? "192.0.2" : "198.51.100", 1 + i);
	else
		snprintf(text, sizeof(text), "2001:db8:%x::%x", i, 1 + i);
	return A(text);
}

static void add_ext(struct ihmp_msg *m, uint16_t type, const char *val)
{
	struct ihmp_ext_tlv *e = &m->ext[m->n_ext++];
	size_t len = strlen(val);

	e->type = type;
	e->len = (uint16_t)len;
	e->off = m->ext_bytes;
	memcpy(m->ext_data + m->ext_bytes, val, len);
	m->ext_bytes = (uint16_t)(m->ext_bytes + len);
}

static int adv_add(struct ihmp_msg *m, struct dime_addr a)
{
	return ihmp_adv_add(m, &a);
}

static void build_payload(struct ihmp_msg *m, int fam, unsigned int opts)
{
	switch (m->type) {
	case IHMP_ACK:
		if (m->acked_type == IHMP_HELLO)
			for (int i = 0; i < 3; i++)
				HOT_ASSERT(adv_add(m, addr_of(fam, 8 + i)) == 0);
		if (m->acked_type == IHMP_PATH_PROBE)
			m->has |= IHMP_HAS_NONCE;
		if (opts & OPT_FLAGS) {
			m->observed = addr_of(fam, 9);
			m->observed_port = 5150;
		}
		break;
	case IHMP_HELLO:
		for (int i = 0; i < 4; i++)
			HOT_ASSERT(adv_add(m, addr_of(fam, i)) == 0);
		break;
	case IHMP_PATH_PROBE:
		m->source = addr_of(fam, 4);
		m->has |= IHMP_HAS_NONCE;
		break;
	case IHMP_ADDR_UP:
	case IHMP_ADDR_UP_UNREACHABLE:
		m->new_addr = addr_of(fam, 5);
		break;
	case IHMP_ADDR_DOWN:
	case IHMP_ADDR_DOWN_UNREACHABLE:
		m->old_addr = addr_of(fam, 6);
		break;
	case IHMP_HANDOFF:
	case IHMP_HANDOFF_UNREACHABLE:
		m->new_addr = addr_of(fam, 5);
		m->old_addr = addr_of(fam, 6);
		break;
	case IHMP_NAT_ENTRY:
		m->nat.proto = 17;
		m->nat.nat_port = 40001;
		m->nat.host_port = 5150;
		m->nat.nat_addr = addr_of(fam, 7);
		m->nat.host_addr = addr_of(fam == FAM_MIXED ? FAM_V6 : fam, 10);
		break;
	}
}

static uint16_t all_flags(const struct ihmp_msg *m)
{
	uint16_t f = IHMP_F_NS;

	if (m->type == IHMP_HANDOFF || m->type == IHMP_HANDOFF_UNREACHABLE)
		f |= IHMP_F_OU;
	if (m->type == IHMP_HELLO || (m->type == IHMP_ACK && m->acked_type == IHMP_HELLO))
		f |= IHMP_F_NF;
	if (m->type == IHMP_ACK)
		f |= IHMP_F_ND;
	return f;
}

static void build(struct ihmp_msg *m, uint8_t type, uint8_t acked, int fam, unsigned int opts)
{
	ihmp_msg_init(m, type, (uint16_t)(0xfff0u + opts));
	m->acked_type = acked;
	m->host_id = addr_of(fam, 0);
	build_payload(m, fam, opts);
	if (opts & OPT_NONCE)
		m->has |= IHMP_HAS_NONCE;
	if (m->has & IHMP_HAS_NONCE)
		m->nonce = 0x0123456789abcdefull ^ opts;
	if (opts & (OPT_COUNTER | OPT_SIG)) {
		m->has |= IHMP_HAS_COUNTER;
		m->counter = 0x0006123456789abcull + type;
	}
	if (opts & OPT_SIG) {
		m->has |= IHMP_HAS_SIG;
		m->sig.alg = IHMP_SIG_ED25519;
		memset(m->sig.key_id, 0x11, sizeof(m->sig.key_id));
		memset(m->sig.value, 0xee, sizeof(m->sig.value));
	}
	if (opts & OPT_EXT) {
		add_ext(m, 0x0041, "x");
		add_ext(m, 0x0041, "");
		add_ext(m, 0x0100, "extension");
		add_ext(m, 0x7fff, "last");
	}
	if (opts & OPT_FLAGS)
		m->flags = all_flags(m);
}

static void assert_same(const struct ihmp_msg *a, const struct ihmp_msg *b)
{
	HOT_ASSERT(a->version == b->version && a->type == b->type && a->flags == b->flags);
	HOT_ASSERT(a->seq == b->seq && a->has == b->has && a->acked_type == b->acked_type);
	HOT_ASSERT(dime_addr_eq(&a->host_id, &b->host_id));
	HOT_ASSERT(dime_addr_eq(&a->source, &b->source));
	HOT_ASSERT(dime_addr_eq(&a->new_addr, &b->new_addr));
	HOT_ASSERT(dime_addr_eq(&a->old_addr, &b->old_addr));
	HOT_ASSERT(a->adv.n == b->adv.n);
	for (unsigned int i = 0; i < a->adv.n; i++)
		HOT_ASSERT(dime_addr_eq(&a->adv.addr[i], &b->adv.addr[i]));
	HOT_ASSERT(dime_addr_eq(&a->observed, &b->observed) && a->observed_port == b->observed_port);
	HOT_ASSERT(a->nat.proto == b->nat.proto && a->nat.nat_port == b->nat.nat_port &&
		   a->nat.host_port == b->nat.host_port);
	HOT_ASSERT(dime_addr_eq(&a->nat.nat_addr, &b->nat.nat_addr) &&
		   dime_addr_eq(&a->nat.host_addr, &b->nat.host_addr));
	HOT_ASSERT(a->nonce == b->nonce && a->counter == b->counter);
	HOT_ASSERT(memcmp(&a->sig, &b->sig, sizeof(a->sig)) == 0);
	HOT_ASSERT(a->n_ext == b->n_ext && a->ext_bytes == b->ext_bytes);
	HOT_ASSERT(memcmp(a->ext, b->ext, sizeof(a->ext[0]) * a->n_ext) == 0);
	HOT_ASSERT(memcmp(a->ext_data, b->ext_data, a->ext_bytes) == 0);
}

/* Encode, decode, compare, re-encode: the bytes must come back unchanged.
 * Returns the encoded length; the bytes are left in buf. */
static int roundtrip(const struct ihmp_msg *m, uint8_t *buf)
{
	static struct ihmp_msg back;
	uint8_t again[IHMP_MSG_MAX];
	int n, n2;

	n = ihmp_encode(m, buf, IHMP_MSG_MAX);
	HOT_ASSERT(n > IHMP_HDR_LEN);
	HOT_ASSERT(ihmp_decode(buf, (size_t)n, &back) == 0);
	assert_same(m, &back);
	HOT_ASSERT(back.wire.len == n);
	n2 = ihmp_encode(&back, again, sizeof(again));
	HOT_ASSERT(n2 == n && memcmp(buf, again, (size_t)n) == 0);
	if (m->has & IHMP_HAS_SIG) {
		HOT_ASSERT(back.wire.sig_off == n - IHMP_ED25519_SIG_LEN);
		HOT_ASSERT(back.wire.sig_len == IHMP_ED25519_SIG_LEN);
		HOT_ASSERT(back.wire.signed_off == 0 && back.wire.signed_len == back.wire.sig_off);
		HOT_ASSERT(memcmp(buf + back.wire.sig_off, m->sig.value, IHMP_ED25519_SIG_LEN) == 0);
	} else {
		HOT_ASSERT(back.wire.sig_len == 0 && back.wire.signed_len == 0);
	}
	return n;
}

/* Every request type, and an ACK of each of them. */
static const uint8_t kinds[][2] = {
	{ IHMP_HELLO, 0 }, { IHMP_PATH_PROBE, 0 }, { IHMP_ADDR_UP, 0 },
	{ IHMP_ADDR_UP_UNREACHABLE, 0 }, { IHMP_ADDR_DOWN, 0 }, { IHMP_ADDR_DOWN_UNREACHABLE, 0 },
	{ IHMP_HANDOFF, 0 }, { IHMP_HANDOFF_UNREACHABLE, 0 }, { IHMP_NAT_ENTRY, 0 },
	{ IHMP_ACK, IHMP_HELLO }, { IHMP_ACK, IHMP_PATH_PROBE }, { IHMP_ACK, IHMP_ADDR_UP },
	{ IHMP_ACK, IHMP_ADDR_UP_UNREACHABLE }, { IHMP_ACK, IHMP_ADDR_DOWN },
	{ IHMP_ACK, IHMP_ADDR_DOWN_UNREACHABLE }, { IHMP_ACK, IHMP_HANDOFF },
	{ IHMP_ACK, IHMP_HANDOFF_UNREACHABLE }, { IHMP_ACK, IHMP_NAT_ENTRY },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ---- Round trips ---- */

START_TEST(test_roundtrip_every_type)
{
	static struct ihmp_msg m;
	uint8_t buf[IHMP_MSG_MAX];
	unsigned int count = 0;

	for (size_t k = 0; k < N_KINDS; k++)
		for (int fam = 0; fam < FAM_COUNT; fam++)
			for (unsigned int opts = 0; opts <= OPT_ALL; opts++) {
				build(&m, kinds[k][0], kinds[k][1], fam, opts);
				roundtrip(&m, buf);
				count++;
			}
	ck_assert_uint_eq(count, N_KINDS * FAM_COUNT * (OPT_ALL + 1));
}
END_TEST

/* Every prefix of every sample is refused, and so is every prefix whose
 * length field is patched to match: a cut inside a TLV overruns, a cut
 * between TLVs may only succeed if the rest is a canonical message too. */
START_TEST(test_every_truncation)
{
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX], again[IHMP_MSG_MAX];

	for (size_t k = 0; k < N_KINDS; k++)
		for (int fam = 0; fam < FAM_COUNT; fam++) {
			unsigned int opts = (unsigned int)(k + (size_t)fam) & OPT_ALL;
			int n;

			build(&m, kinds[k][0], kinds[k][1], fam, opts | OPT_SIG);
			n = roundtrip(&m, buf);
			for (int len = 0; len < n; len++) {
				int err;

				/* Exactly len bytes on the heap, so ASan sees any overread. */
				uint8_t *p = malloc(len ? (size_t)len : 1);

				memcpy(p, buf, (size_t)len);
				HOT_ASSERT(ihmp_decode(p, (size_t)len, &out) == -EMSGSIZE);
				if (len >= IHMP_HDR_LEN) {
					be16(p + 6, (uint16_t)len);
					err = ihmp_decode(p, (size_t)len, &out);
					HOT_ASSERT(err != -EMSGSIZE);
					if (err == 0) {
						HOT_ASSERT(ihmp_encode(&out, again, sizeof(again)) == len);
						HOT_ASSERT(memcmp(again, p, (size_t)len) == 0);
					}
				}
				free(p);
			}
		}
}
END_TEST

/* ---- Byte layout (the examples in docs/ihmp.md) ---- */

START_TEST(test_layout_hello)
{
	static const uint8_t want[] = {
		0x01, 0x01, 0x00, 0x08, 0x12, 0x34, 0x00, 0x2c,	/* v1 HELLO NF seq len 44 */
		0x00, 0x01, 0x00, 0x04, 192, 0, 2, 1,			/* HOST_ID */
		0x00, 0x06, 0x00, 0x04, 192, 0, 2, 1,			/* ADVERTISED */
		0x00, 0x06, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8,	/* ADVERTISED 2001:db8::1 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX];
	struct dime_addr v4 = A("192.0.2.1"), v6 = A("2001:db8::1");

	ihmp_msg_init(&m, IHMP_HELLO, 0x1234);
	m.flags = IHMP_F_NF;
	m.host_id = v4;
	ck_assert_int_eq(ihmp_adv_add(&m, &v4), 0);
	ck_assert_int_eq(ihmp_adv_add(&m, &v6), 0);
	ck_assert_int_eq(ihmp_adv_add(&m, &v6), -EEXIST);
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), (int)sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_int_eq(ihmp_decode(want, sizeof(want), &out), 0);
	ck_assert_int_eq(out.type, IHMP_HELLO);
	ck_assert_int_eq(out.seq, 0x1234);
	ck_assert_int_eq(out.flags, IHMP_F_NF);
	ck_assert_int_eq(out.adv.n, 2);
	ck_assert(dime_addr_eq(&out.adv.addr[1], &v6));
}
END_TEST

START_TEST(test_layout_signed_ack_and_nat)
{
	static const uint8_t ack_head[] = {
		0x01, 0x09, 0x00, 0x04, 0xbe, 0xef, 0x00, 0x84,	/* v1 ACK ND seq len 132 */
		0x00, 0x01, 0x00, 0x04, 198, 51, 100, 7,		/* HOST_ID */
		0x00, 0x02, 0x00, 0x01, 0x02,				/* ACKED PATH_PROBE */
		0x00, 0x07, 0x00, 0x06, 0x9c, 0x41, 203, 0, 113, 5,	/* OBSERVED 203.0.113.5:40001 */
		0x00, 0x09, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,	/* NONCE */
		0x00, 0x0a, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x01, 0x00,	/* COUNTER 256 */
		0x00, 0x10, 0x00, 0x49, 0x01,				/* SIGNATURE Ed25519 */
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,	/* key id */
	};
	static const uint8_t nat[] = {
		0x01, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x30,	/* v1 NAT_ENTRY seq 1 len 48 */
		0x00, 0x01, 0x00, 0x04, 203, 0, 113, 1,		/* HOST_ID */
		0x00, 0x08, 0x00, 0x1c, 6, 4, 6, 0,			/* NAT_MAP tcp, v4 <-> v6 */
		0x9c, 0x41, 0x00, 0x50, 203, 0, 113, 1,		/* 40001, 80, nat addr */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
	};
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX];
	uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	ihmp_msg_init(&m, IHMP_ACK, 0xbeef);
	m.flags = IHMP_F_ND;
	m.acked_type = IHMP_PATH_PROBE;
	m.host_id = A("198.51.100.7");
	m.observed = A("203.0.113.5");
	m.observed_port = 40001;
	m.has = IHMP_HAS_NONCE | IHMP_HAS_COUNTER | IHMP_HAS_SIG;
	m.nonce = 0x0102030405060708ull;
	m.counter = 256;
	m.sig.alg = IHMP_SIG_ED25519;
	for (int i = 0; i < IHMP_KEY_ID_LEN; i++)
		m.sig.key_id[i] = (uint8_t)(0xa0 + i);
	memset(m.sig.value, 0x77, sizeof(m.sig.value));
	ck_assert_uint_eq(sizeof(ack_head) + IHMP_ED25519_SIG_LEN, 132);
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), 132);
	ck_assert_mem_eq(buf, ack_head, sizeof(ack_head));
	ck_assert_int_eq(ihmp_decode(buf, 132, &out), 0);
	ck_assert(out.nonce == 0x0102030405060708ull);
	ck_assert(out.counter == 256);
	ck_assert_mem_eq(buf + 35, nonce, 8);
	ck_assert_uint_eq(out.wire.sig_off, sizeof(ack_head));
	ck_assert_uint_eq(out.wire.signed_len, sizeof(ack_head));

	ihmp_msg_init(&m, IHMP_NAT_ENTRY, 1);
	m.host_id = A("203.0.113.1");
	m.nat.proto = 6;
	m.nat.nat_port = 40001;
	m.nat.host_port = 80;
	m.nat.nat_addr = A("203.0.113.1");
	m.nat.host_addr = A("2001:db8::10");
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), (int)sizeof(nat));
	ck_assert_mem_eq(buf, nat, sizeof(nat));
}
END_TEST

/* ---- Header ---- */

START_TEST(test_header_errors)
{
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX + 8], bad[IHMP_MSG_MAX + 8];
	int n;

	build(&m, IHMP_HELLO, 0, FAM_V4, 0);
	n = ihmp_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);

	ck_assert_int_eq(ihmp_decode(buf, 0, &out), -EMSGSIZE);
	for (int v = 0; v < 256; v++) {
		memcpy(bad, buf, (size_t)n);
		bad[0] = (uint8_t)v;
		HOT_ASSERT(ihmp_decode(bad, (size_t)n, &out) == (v == IHMP_VERSION ? 0 : -EPROTONOSUPPORT));
		/* The version is judged on byte 0 alone. */
		HOT_ASSERT(ihmp_decode(bad, 1, &out) == (v == IHMP_VERSION ? -EMSGSIZE : -EPROTONOSUPPORT));
	}
	for (int t = 0; t < 256; t++) {
		memcpy(bad, buf, (size_t)n);
		bad[1] = (uint8_t)t;
		if (t == 0 || t > IHMP_TYPE_MAX)
			HOT_ASSERT(ihmp_decode(bad, (size_t)n, &out) == -ENOMSG);
		else
			HOT_ASSERT(ihmp_decode(bad, (size_t)n, &out) != -ENOMSG);
	}
	/* Reserved flag bits. */
	for (int bit = 4; bit < 16; bit++) {
		memcpy(bad, buf, (size_t)n);
		be16(bad + 2, (uint16_t)(1u << bit));
		HOT_ASSERT(ihmp_decode(bad, (size_t)n, &out) == -EINVAL);
	}
	/* The length field must be the datagram length, both ways. */
	memcpy(bad, buf, (size_t)n);
	be16(bad + 6, (uint16_t)(n + 1));
	ck_assert_int_eq(ihmp_decode(bad, (size_t)n, &out), -EMSGSIZE);
	be16(bad + 6, (uint16_t)(n - 1));
	ck_assert_int_eq(ihmp_decode(bad, (size_t)n, &out), -EMSGSIZE);
	be16(bad + 6, 0xffff);
	ck_assert_int_eq(ihmp_decode(bad, (size_t)n, &out), -EMSGSIZE);
	bad[n] = 0;
	be16(bad + 6, (uint16_t)n);
	ck_assert_int_eq(ihmp_decode(bad, (size_t)n + 1, &out), -EMSGSIZE);	/* a trailing byte */
	/* Above the bound even when the length field agrees. */
	memset(bad + n, 0, sizeof(bad) - (size_t)n);
	be16(bad + 6, IHMP_MSG_MAX + 1);
	ck_assert_int_eq(ihmp_decode(bad, IHMP_MSG_MAX + 1, &out), -E2BIG);
	/* The header is there for logs even when the message is refused. */
	memcpy(bad, buf, (size_t)n);
	be16(bad + 2, 0x8000);
	ck_assert_int_eq(ihmp_decode(bad, (size_t)n, &out), -EINVAL);
	ck_assert_int_eq(out.type, IHMP_HELLO);
	ck_assert_int_eq(out.seq, m.seq);
}
END_TEST

START_TEST(test_flags_per_type)
{
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX];

	for (size_t k = 0; k < N_KINDS; k++) {
		int n;

		build(&m, kinds[k][0], kinds[k][1], FAM_V6, 0);
		n = ihmp_encode(&m, buf, sizeof(buf));
		HOT_ASSERT(n > 0);
		for (uint16_t f = 0; f <= IHMP_F_ALL; f++) {
			bool ok = (f & ~all_flags(&m)) == 0;

			be16(buf + 2, f);
			HOT_ASSERT(ihmp_decode(buf, (size_t)n, &out) == (ok ? 0 : -EINVAL));
			m.flags = f;
			HOT_ASSERT(ihmp_encode(&m, buf, sizeof(buf)) == (ok ? n : -EINVAL));
			be16(buf + 2, f);	/* a failed encode leaves buf alone */
		}
	}
}
END_TEST

/* ---- TLV structure ---- */

START_TEST(test_tlv_overrun)
{
	static struct ihmp_msg out;
	struct raw r;

	/* A value running past the end. */
	raw_hello(&r);
	raw_tlv(&r, IHMP_T_NONCE, "12345678", 8);
	be16(r.b + r.n - 10, 9);
	ck_assert_int_eq(raw_decode(&r, &out), -EBADMSG);
	be16(r.b + r.n - 10, 0xffff);
	ck_assert_int_eq(raw_decode(&r, &out), -EBADMSG);
	/* One to three bytes left: no room for a TLV header. */
	for (int extra = 1; extra < IHMP_TLV_HDR_LEN; extra++) {
		raw_hello(&r);
		memset(r.b + r.n, 0, (size_t)extra);
		r.n += (size_t)extra;
		ck_assert_int_eq(raw_decode(&r, &out), -EBADMSG);
	}
}
END_TEST

START_TEST(test_zero_length)
{
	static const uint16_t known[] = { IHMP_T_HOST_ID, IHMP_T_ADVERTISED, IHMP_T_NONCE,
					  IHMP_T_COUNTER };
	static struct ihmp_msg out;
	struct raw r;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		raw_hdr(&r, IHMP_HELLO, 0, 1);
		if (known[i] != IHMP_T_HOST_ID)
			raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
		raw_tlv(&r, known[i], NULL, 0);
		ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	}
	raw_hello(&r);
	raw_tlv(&r, IHMP_T_SIGNATURE, NULL, 0);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	/* Unknown non-critical types may be empty: kept, and re-encoded. */
	raw_hello(&r);
	raw_tlv(&r, 0x0042, NULL, 0);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	ck_assert_int_eq(out.n_ext, 1);
	ck_assert_int_eq(out.ext[0].type, 0x0042);
	ck_assert_int_eq(out.ext[0].len, 0);
	/* Type 0 is reserved. */
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_tlv(&r, 0, NULL, 0);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
}
END_TEST

START_TEST(test_order)
{
	static struct ihmp_msg out;
	struct raw r;

	/* Duplicate singletons. */
	raw_hello(&r);
	raw_u64(&r, IHMP_T_NONCE, 1);
	raw_u64(&r, IHMP_T_NONCE, 2);
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.2");
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	raw_hdr(&r, IHMP_HANDOFF, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_NEW, "192.0.2.2");
	raw_addr(&r, IHMP_T_NEW, "192.0.2.3");
	raw_addr(&r, IHMP_T_OLD, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	/* Descending types. */
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_u64(&r, IHMP_T_NONCE, 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	/* An unknown type out of order is refused like a known one. */
	raw_hello(&r);
	raw_tlv(&r, 0x0100, "a", 1);
	raw_tlv(&r, 0x0041, "b", 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	/* SIGNATURE last: nothing after it, not even another one. */
	raw_hello(&r);
	raw_sig(&r, IHMP_SIG_ED25519);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_sig(&r, IHMP_SIG_ED25519);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	raw_sig(&r, IHMP_SIG_ED25519);
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_sig(&r, IHMP_SIG_ED25519);
	raw_tlv(&r, 0x0100, "a", 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EILSEQ);
	/* ...but SIGNATURE may follow types numbered above it. */
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_tlv(&r, 0x0100, "a", 1);
	raw_sig(&r, IHMP_SIG_ED25519);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	ck_assert_int_eq(out.wire.sig_off, r.n - IHMP_ED25519_SIG_LEN);
}
END_TEST

START_TEST(test_unknown_tlvs)
{
	static struct ihmp_msg out;
	uint8_t again[IHMP_MSG_MAX];
	struct raw r;

	/* Non-critical ones are skipped, kept in order, and re-encoded where they were. */
	raw_hdr(&r, IHMP_ADDR_UP, 0, 9);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_NEW, "2001:db8::5");
	raw_u64(&r, IHMP_T_NONCE, 5);
	raw_tlv(&r, 0x0043, "one", 3);
	raw_tlv(&r, 0x0043, "two", 3);
	raw_tlv(&r, 0x0400, "three", 5);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	ck_assert_int_eq(out.n_ext, 3);
	ck_assert_int_eq(out.ext[1].type, 0x0043);
	ck_assert_mem_eq(out.ext_data + out.ext[1].off, "two", 3);
	ck_assert_int_eq(ihmp_encode(&out, again, sizeof(again)), (int)r.n);
	ck_assert_mem_eq(again, r.b, r.n);

	/* Critical ones are refused. */
	raw_hello(&r);
	raw_tlv(&r, 0x8001, "x", 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EOPNOTSUPP);
	raw_hello(&r);
	raw_tlv(&r, 0xffff, NULL, 0);
	ck_assert_int_eq(raw_decode(&r, &out), -EOPNOTSUPP);

	/* At most IHMP_EXT_MAX of them. */
	raw_hello(&r);
	for (int i = 0; i < IHMP_EXT_MAX; i++)
		raw_tlv(&r, 0x0020, NULL, 0);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	raw_tlv(&r, 0x0020, NULL, 0);
	ck_assert_int_eq(raw_decode(&r, &out), -E2BIG);
}
END_TEST

START_TEST(test_size_bound)
{
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX];
	uint8_t pad[IHMP_MSG_MAX];
	struct raw r;
	size_t fill;

	/* Exactly IHMP_MSG_MAX bytes is fine, one more is not. */
	raw_hello(&r);
	fill = IHMP_MSG_MAX - r.n - IHMP_TLV_HDR_LEN;
	memset(pad, 0xab, sizeof(pad));
	raw_tlv(&r, 0x0030, pad, (uint16_t)fill);
	ck_assert_uint_eq(r.n, IHMP_MSG_MAX);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	ck_assert_int_eq(ihmp_encode(&out, buf, sizeof(buf)), IHMP_MSG_MAX);
	ck_assert_mem_eq(buf, r.b, IHMP_MSG_MAX);
	out.ext[0].len++;
	out.ext_bytes++;
	ck_assert_int_eq(ihmp_encode(&out, buf, sizeof(buf)), -EINVAL);
	r.b[r.n] = 0xab;
	be16(r.b + r.n - fill - 2, (uint16_t)(fill + 1));
	r.n++;
	ck_assert_int_eq(raw_decode(&r, &out), -E2BIG);

	/* IHMP_ADDR_MAX addresses and no more. */
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "2001:db8::1");
	ihmp_msg_init(&m, IHMP_HELLO, 1);
	m.host_id = A("2001:db8::1");
	for (int i = 0; i < IHMP_ADDR_MAX; i++) {
		struct dime_addr a = addr_of(FAM_V6, i);

		raw_tlv(&r, IHMP_T_ADVERTISED, a.a.u8, 16);
		ck_assert_int_eq(ihmp_adv_add(&m, &a), 0);
	}
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	ck_assert_int_eq(out.adv.n, IHMP_ADDR_MAX);
	ck_assert_int_gt(ihmp_encode(&m, buf, sizeof(buf)), 0);
	{
		struct dime_addr a = addr_of(FAM_V6, IHMP_ADDR_MAX);

		raw_tlv(&r, IHMP_T_ADVERTISED, a.a.u8, 16);
		ck_assert_int_eq(ihmp_adv_add(&m, &a), -E2BIG);
	}
	ck_assert_int_eq(raw_decode(&r, &out), -E2BIG);
	m.adv.n = IHMP_ADDR_MAX + 1;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* ---- Values ---- */

START_TEST(test_bad_addresses)
{
	static const char *const bad[] = { "0.0.0.0", "::", "::ffff:192.0.2.1" };
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX];
	struct raw r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dime_addr a = A(bad[i]);

		raw_hdr(&r, IHMP_HELLO, 0, 1);
		raw_addr(&r, IHMP_T_HOST_ID, bad[i]);
		raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
		ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
		raw_hello(&r);
		raw_addr(&r, IHMP_T_ADVERTISED, bad[i]);
		ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
		build(&m, IHMP_HELLO, 0, FAM_V4, 0);
		ck_assert_int_eq(ihmp_adv_add(&m, &a), -EINVAL);
		m.host_id = a;
		ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	}
	/* Lengths other than 4 and 16. */
	for (uint16_t len = 1; len <= 20; len++) {
		uint8_t v[20];

		if (len == 4 || len == 16)
			continue;
		memset(v, 1, sizeof(v));
		raw_hdr(&r, IHMP_ADDR_UP, 0, 1);
		raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
		raw_tlv(&r, IHMP_T_NEW, v, len);
		HOT_ASSERT(raw_decode(&r, &out) == -EINVAL);
	}
	/* The same address advertised twice. */
	raw_hello(&r);
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	/* A bad family in the struct. */
	build(&m, IHMP_ADDR_UP, 0, FAM_V4, 0);
	m.new_addr.family = 99;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_contradictions)
{
	static struct ihmp_msg m, out;
	uint8_t buf[IHMP_MSG_MAX];
	struct raw r;

	build(&m, IHMP_HANDOFF, 0, FAM_V4, 0);
	m.new_addr = m.old_addr;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	/* A single-address host hands off with its only known address as Host ID. */
	build(&m, IHMP_HANDOFF, 0, FAM_V4, 0);
	m.old_addr = m.host_id;
	ck_assert_int_gt(ihmp_encode(&m, buf, sizeof(buf)), 0);
	/* ADDR_DOWN must name itself by an address it still has. */
	build(&m, IHMP_ADDR_DOWN_UNREACHABLE, 0, FAM_V6, 0);
	m.old_addr = m.host_id;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);

	raw_hdr(&r, IHMP_ADDR_DOWN, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_OLD, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
}
END_TEST

START_TEST(test_fixed_values)
{
	static struct ihmp_msg out;
	struct raw r;
	uint8_t v[IHMP_SIG_TLV_VALUE_LEN + 1];

	for (uint16_t len = 1; len <= 16; len++) {
		memset(v, 0, sizeof(v));
		if (len == 8)
			continue;
		raw_hello(&r);
		raw_tlv(&r, IHMP_T_NONCE, v, len);
		HOT_ASSERT(raw_decode(&r, &out) == -EINVAL);
		raw_hello(&r);
		raw_tlv(&r, IHMP_T_COUNTER, v, len);
		HOT_ASSERT(raw_decode(&r, &out) == -EINVAL);
	}
	/* ACKED: one byte, a request type. */
	for (int t = 0; t < 256; t++) {
		bool ok = t >= 1 && t <= IHMP_TYPE_MAX && t != IHMP_ACK;
		uint8_t b = (uint8_t)t;

		raw_hdr(&r, IHMP_ACK, 0, 1);
		raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
		raw_tlv(&r, IHMP_T_ACKED, &b, 1);
		if (t == IHMP_HELLO)
			raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
		if (t == IHMP_PATH_PROBE)
			raw_u64(&r, IHMP_T_NONCE, 1);
		HOT_ASSERT(raw_decode(&r, &out) == (ok ? 0 : -EINVAL));
	}
	raw_hdr(&r, IHMP_ACK, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_tlv(&r, IHMP_T_ACKED, "\x03\x03", 2);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	/* OBSERVED: port 0 and odd lengths. */
	raw_hdr(&r, IHMP_ACK, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_tlv(&r, IHMP_T_ACKED, "\x03", 1);
	raw_tlv(&r, IHMP_T_OBSERVED, "\x00\x00\xcb\x00\x71\x05", 6);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	r.b[r.n - 6 + 1] = 1;
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	raw_hdr(&r, IHMP_ACK, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_tlv(&r, IHMP_T_ACKED, "\x03", 1);
	raw_tlv(&r, IHMP_T_OBSERVED, "\x00\x01\xcb\x00\x71", 5);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	/* Signature: algorithm 0 is invalid, others unsupported, length exact. */
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_sig(&r, 0);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	for (int alg = 2; alg < 256; alg++) {
		r.b[r.n - IHMP_SIG_TLV_VALUE_LEN] = (uint8_t)alg;
		HOT_ASSERT(raw_decode(&r, &out) == -EOPNOTSUPP);
	}
	memset(v, 0, sizeof(v));
	v[0] = IHMP_SIG_ED25519;
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_tlv(&r, IHMP_T_SIGNATURE, v, IHMP_SIG_TLV_VALUE_LEN + 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 1);
	raw_tlv(&r, IHMP_T_SIGNATURE, v, IHMP_SIG_TLV_VALUE_LEN - 1);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
}
END_TEST

static void raw_nat(struct raw *r, const uint8_t *v, uint16_t len)
{
	raw_hdr(r, IHMP_NAT_ENTRY, 0, 1);
	raw_addr(r, IHMP_T_HOST_ID, "203.0.113.1");
	raw_tlv(r, IHMP_T_NAT_MAP, v, len);
}

START_TEST(test_nat_map)
{
	static const uint8_t good[16] = { 17, 4, 4, 0, 0x9c, 0x41, 0x14, 0x1e,
					  203, 0, 113, 1, 192, 0, 2, 9 };
	static struct ihmp_msg out;
	uint8_t v[48];
	struct raw r;

	raw_nat(&r, good, 16);
	ck_assert_int_eq(raw_decode(&r, &out), 0);
	ck_assert_int_eq(out.nat.proto, 17);
	ck_assert_int_eq(out.nat.nat_port, 40001);
	ck_assert_int_eq(out.nat.host_port, 5150);
	{
		struct dime_addr want = A("192.0.2.9");

		ck_assert(dime_addr_eq(&out.nat.host_addr, &want));
	}
	for (int i = 0; i < 8; i++) {
		memcpy(v, good, 16);
		switch (i) {
		case 0: v[0] = 0; break;		/* protocol 0 */
		case 1: v[1] = 5; break;		/* IP version 5 */
		case 2: v[2] = 6; break;		/* says v6, carries 4 bytes */
		case 3: v[3] = 1; break;		/* reserved byte */
		case 4: v[4] = v[5] = 0; break;		/* nat port 0 */
		case 5: v[6] = v[7] = 0; break;		/* host port 0 */
		case 6: memset(v + 8, 0, 4); break;	/* nat address 0.0.0.0 */
		default: memset(v + 12, 0, 4); break;	/* host address 0.0.0.0 */
		}
		raw_nat(&r, v, 16);
		HOT_ASSERT(raw_decode(&r, &out) == -EINVAL);
	}
	for (uint16_t len = 0; len < 48; len++) {
		memset(v, 0, sizeof(v));
		memcpy(v, good, 16);
		if (len == 16)
			continue;
		raw_nat(&r, v, len);
		HOT_ASSERT(raw_decode(&r, &out) == -EINVAL);
	}
	/* NAT_MAP only in NAT_ENTRY, and mandatory there. */
	raw_hello(&r);
	raw_tlv(&r, IHMP_T_NAT_MAP, good, 16);
	ck_assert_int_eq(raw_decode(&r, &out), -EINVAL);
	raw_hdr(&r, IHMP_NAT_ENTRY, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "203.0.113.1");
	ck_assert_int_eq(raw_decode(&r, &out), -ENOENT);
}
END_TEST

/* ---- Which TLVs each type needs ---- */

START_TEST(test_mandatory)
{
	static struct ihmp_msg m;
	uint8_t buf[IHMP_MSG_MAX];
	struct raw r;

	/* Each part the encoder leaves out makes the message refused. */
	build(&m, IHMP_HELLO, 0, FAM_V4, 0);
	m.adv.n = 0;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_PATH_PROBE, 0, FAM_V4, 0);
	m.has = 0;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HANDOFF_UNREACHABLE, 0, FAM_V4, 0);
	memset(&m.old_addr, 0, sizeof(m.old_addr));
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_ACK, IHMP_HELLO, FAM_V4, 0);
	m.adv.n = 0;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_ACK, IHMP_PATH_PROBE, FAM_V4, 0);
	m.has = 0;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);

	/* And the decoder says which class of error it is. */
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* no HOST_ID */
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* no ADVERTISED */
	raw_hdr(&r, IHMP_PATH_PROBE, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_SOURCE, "192.0.2.2");
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* no NONCE */
	raw_u64(&r, IHMP_T_NONCE, 3);
	ck_assert_int_eq(raw_decode(&r, &m), 0);
	raw_hdr(&r, IHMP_HANDOFF, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_NEW, "192.0.2.2");
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* no OLD */
	raw_hdr(&r, IHMP_ACK, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* no ACKED */
	raw_tlv(&r, IHMP_T_ACKED, "\x02", 1);
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* ACK of a probe, no NONCE */
	raw_hdr(&r, IHMP_ACK, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_tlv(&r, IHMP_T_ACKED, "\x01", 1);
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);		/* ACK of HELLO, no ADVERTISED */
	/* A signature needs a counter. */
	raw_hello(&r);
	raw_sig(&r, IHMP_SIG_ED25519);
	ck_assert_int_eq(raw_decode(&r, &m), -ENOENT);
	build(&m, IHMP_ADDR_UP, 0, FAM_V4, OPT_SIG);
	m.has &= (uint8_t)~IHMP_HAS_COUNTER;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_not_allowed)
{
	static struct ihmp_msg m;
	uint8_t buf[IHMP_MSG_MAX];
	struct raw r;

	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_addr(&r, IHMP_T_NEW, "192.0.2.2");
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &m), -EINVAL);
	/* ADVERTISED only in ACKs of HELLO. */
	raw_hdr(&r, IHMP_ACK, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_tlv(&r, IHMP_T_ACKED, "\x03", 1);
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &m), -EINVAL);
	/* ACKED only in ACKs. */
	raw_hdr(&r, IHMP_HELLO, 0, 1);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	raw_tlv(&r, IHMP_T_ACKED, "\x03", 1);
	raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	ck_assert_int_eq(raw_decode(&r, &m), -EINVAL);
	/* Every optional struct part, set on a type that cannot carry it. */
	build(&m, IHMP_ADDR_UP, 0, FAM_V4, 0);
	m.source = A("192.0.2.99");
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_ADDR_DOWN, 0, FAM_V4, 0);
	m.observed = A("192.0.2.99");
	m.observed_port = 1;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HELLO, 0, FAM_V4, 0);
	m.nat.proto = 6;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HELLO, 0, FAM_V4, 0);
	m.acked_type = IHMP_HELLO;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_ACK, IHMP_ADDR_UP, FAM_V4, 0);
	m.old_addr = A("192.0.2.99");
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* ---- Encoder ---- */

START_TEST(test_encode_refuses)
{
	static struct ihmp_msg m;
	uint8_t buf[IHMP_MSG_MAX], ref[IHMP_MSG_MAX];
	int n;

	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, OPT_ALL);
	n = ihmp_encode(&m, ref, sizeof(ref));
	ck_assert_int_gt(n, 0);
	/* Every capacity short of the length: -ENOSPC, buffer untouched. */
	for (int cap = 0; cap < n; cap++) {
		memset(buf, 0xcc, sizeof(buf));
		HOT_ASSERT(ihmp_encode(&m, buf, (size_t)cap) == -ENOSPC);
		for (size_t i = 0; i < sizeof(buf); i++)
			HOT_ASSERT(buf[i] == 0xcc);
	}
	ck_assert_int_eq(ihmp_encode(&m, buf, (size_t)n), n);
	ck_assert_mem_eq(buf, ref, (size_t)n);
	/* An invalid message is -EINVAL even when the buffer is too small. */
	m.version = 2;
	ck_assert_int_eq(ihmp_encode(&m, buf, 0), -EINVAL);
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, 0);
	m.type = 0;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.type = IHMP_TYPE_MAX + 1;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, 0);
	m.has = 0x80;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, 0);
	memset(&m.host_id, 0, sizeof(m.host_id));
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, OPT_SIG);
	m.sig.alg = 2;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	/* Kept TLVs must be unknown, non-critical, sorted and inside ext_data. */
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, OPT_EXT);
	ck_assert_int_gt(ihmp_encode(&m, buf, sizeof(buf)), 0);
	m.ext[0].type = IHMP_T_NONCE;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].type = 0x8001;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].type = 0x0200;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.ext[0].type = 0;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, OPT_EXT);
	m.ext[3].off = m.ext_bytes;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	build(&m, IHMP_HANDOFF, 0, FAM_MIXED, OPT_EXT);
	m.n_ext = IHMP_EXT_MAX + 1;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* ---- Signatures ---- */

static EVP_PKEY *ed25519_key(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *key = NULL;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(ctx, &key), 1);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static void ed25519_sign(EVP_PKEY *key, const uint8_t *in, size_t len, uint8_t *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = IHMP_ED25519_SIG_LEN;

	ck_assert_int_eq(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
	ck_assert_int_eq(EVP_DigestSign(md, sig, &siglen, in, len), 1);
	ck_assert_uint_eq(siglen, IHMP_ED25519_SIG_LEN);
	EVP_MD_CTX_free(md);
}

/* The receiver's path: decode, then verify over what ihmp_sig_input gives. */
static bool ed25519_verify(EVP_PKEY *key, const uint8_t *msg, size_t len)
{
	static struct ihmp_msg m;
	uint8_t in[IHMP_SIG_INPUT_MAX];
	EVP_MD_CTX *md;
	int n, ok;

	if (ihmp_decode(msg, len, &m) || !(m.has & IHMP_HAS_SIG))
		return false;
	n = ihmp_sig_input(msg, m.wire.signed_len, in, sizeof(in));
	ck_assert_int_gt(n, 0);
	md = EVP_MD_CTX_new();
	ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, NULL, NULL, key), 1);
	ok = EVP_DigestVerify(md, msg + m.wire.sig_off, m.wire.sig_len, in, (size_t)n);
	EVP_MD_CTX_free(md);
	return ok == 1;
}

START_TEST(test_signature_flow)
{
	static struct ihmp_msg m;
	EVP_PKEY *key = ed25519_key(), *other = ed25519_key();
	uint8_t buf[IHMP_MSG_MAX], in[IHMP_SIG_INPUT_MAX], sig[IHMP_ED25519_SIG_LEN];
	int n, k;

	for (size_t i = 0; i < N_KINDS; i++) {
		build(&m, kinds[i][0], kinds[i][1], (int)(i % FAM_COUNT), OPT_SIG | OPT_EXT);
		/* The signer's path: encode, sign what precedes the value, fill it in. */
		n = ihmp_encode(&m, buf, sizeof(buf));
		ck_assert_int_gt(n, 0);
		k = ihmp_sig_input(buf, (size_t)n - IHMP_ED25519_SIG_LEN, in, sizeof(in));
		ck_assert_int_eq(k, IHMP_SIG_CONTEXT_LEN + n - IHMP_ED25519_SIG_LEN);
		ck_assert_mem_eq(in, IHMP_SIG_CONTEXT, IHMP_SIG_CONTEXT_LEN);
		ed25519_sign(key, in, (size_t)k, sig);
		memcpy(buf + n - IHMP_ED25519_SIG_LEN, sig, sizeof(sig));

		ck_assert(ed25519_verify(key, buf, (size_t)n));
		ck_assert(!ed25519_verify(other, buf, (size_t)n));
		/* A NAT sets NS in transit: still valid. */
		buf[3] |= IHMP_F_NS;
		ck_assert(ed25519_verify(key, buf, (size_t)n));
		/* Any other bit flipped in the signed part breaks it (or the decode). */
		for (int byte = 0; byte < n - IHMP_ED25519_SIG_LEN; byte++) {
			buf[byte] ^= 0x10;
			HOT_ASSERT(!ed25519_verify(key, buf, (size_t)n));
			buf[byte] ^= 0x10;
		}
		buf[n - 1] ^= 1;
		ck_assert(!ed25519_verify(key, buf, (size_t)n));
	}
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}
END_TEST

START_TEST(test_sig_input_bounds)
{
	uint8_t msg[IHMP_MSG_MAX], out[IHMP_SIG_INPUT_MAX];

	memset(msg, 0xff, sizeof(msg));
	ck_assert_int_eq(ihmp_sig_input(msg, IHMP_HDR_LEN - 1, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(ihmp_sig_input(msg, IHMP_MSG_MAX + 1, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(ihmp_sig_input(msg, 100, out, IHMP_SIG_CONTEXT_LEN + 99), -ENOSPC);
	ck_assert_int_eq(ihmp_sig_input(msg, 100, out, IHMP_SIG_CONTEXT_LEN + 100),
			 IHMP_SIG_CONTEXT_LEN + 100);
	/* Only the NS bit is cleared. */
	ck_assert_int_eq(out[IHMP_SIG_CONTEXT_LEN + 2], 0xff);
	ck_assert_int_eq(out[IHMP_SIG_CONTEXT_LEN + 3], 0xff & ~IHMP_F_NS);
	ck_assert_int_eq(out[IHMP_SIG_CONTEXT_LEN + 99], 0xff);
	ck_assert_int_eq(msg[3], 0xff);
}
END_TEST

/* ---- Names ---- */

START_TEST(test_names)
{
	char buf[64];

	ck_assert_str_eq(ihmp_type_name(IHMP_HELLO), "HELLO");
	ck_assert_str_eq(ihmp_type_name(IHMP_HANDOFF_UNREACHABLE), "HANDOFF_UNREACHABLE");
	ck_assert_str_eq(ihmp_type_name(IHMP_NAT_ENTRY), "NAT_ENTRY");
	ck_assert_str_eq(ihmp_type_name(0), "UNKNOWN");
	ck_assert_str_eq(ihmp_type_name(11), "UNKNOWN");
	for (unsigned int t = 1; t <= IHMP_TYPE_MAX; t++)
		for (unsigned int u = 1; u < t; u++)
			ck_assert_str_ne(ihmp_type_name(t), ihmp_type_name(u));
	ck_assert_str_eq(ihmp_flag_name(IHMP_F_OU), "OU");
	ck_assert_str_eq(ihmp_flag_name(IHMP_F_NF), "NF");
	ck_assert_str_eq(ihmp_flag_name(IHMP_F_OU | IHMP_F_NS), "?");
	ck_assert_str_eq(ihmp_flags_fmt(0, buf, sizeof(buf)), "-");
	ck_assert_str_eq(ihmp_flags_fmt(IHMP_F_OU | IHMP_F_ND, buf, sizeof(buf)), "OU,ND");
	ck_assert_str_eq(ihmp_flags_fmt(IHMP_F_ALL, buf, sizeof(buf)), "OU,NS,ND,NF");
	ck_assert_str_eq(ihmp_flags_fmt(IHMP_F_NS | 0x8000, buf, sizeof(buf)), "NS,0x8000");
	ck_assert_str_eq(ihmp_flags_fmt(0x0100, buf, sizeof(buf)), "0x100");
	ck_assert_str_eq(ihmp_flags_fmt(IHMP_F_ALL, buf, 6), "OU,NS");
	ck_assert_str_eq(ihmp_tlv_name(IHMP_T_SIGNATURE), "SIGNATURE");
	ck_assert_str_eq(ihmp_tlv_name(IHMP_T_NAT_MAP), "NAT_MAP");
	ck_assert_str_eq(ihmp_tlv_name(0x0041), "UNKNOWN");
	ck_assert_str_eq(ihmp_tlv_name(0xffff), "UNKNOWN");
	{
		static const int errs[] = { 0, -EMSGSIZE, -EPROTONOSUPPORT, -E2BIG, -ENOMSG,
					    -EBADMSG, -EILSEQ, -EOPNOTSUPP, -EINVAL, -ENOENT, -EIO };
		const size_t n = sizeof(errs) / sizeof(errs[0]);

		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < i; j++)
				ck_assert_str_ne(ihmp_err_name(errs[i]), ihmp_err_name(errs[j]));
		ck_assert_str_eq(ihmp_err_name(-EILSEQ), "order");
		ck_assert_str_eq(ihmp_err_name(-EIO), "error");
	}
}
END_TEST

/* ---- PUBKEY (trust on first use) ---- */

static void raw_pubkey(struct raw *r, uint8_t alg, uint16_t len)
{
	uint8_t v[64];

	memset(v, 0x77, sizeof(v));
	v[0] = alg;
	raw_tlv(r, IHMP_T_PUBKEY, v, len);
}

/* A signed HELLO or ACK of HELLO with a PUBKEY of len bytes. */
static int pubkey_msg(uint8_t type, uint8_t acked, uint8_t alg, uint16_t len, bool sig,
		      struct ihmp_msg *m)
{
	struct raw r;

	raw_hdr(&r, type, 0, 7);
	raw_addr(&r, IHMP_T_HOST_ID, "192.0.2.1");
	if (acked)
		raw_tlv(&r, IHMP_T_ACKED, &acked, 1);
	if (type == IHMP_HELLO || acked == IHMP_HELLO)
		raw_addr(&r, IHMP_T_ADVERTISED, "192.0.2.1");
	if (type == IHMP_ADDR_UP)
		raw_addr(&r, IHMP_T_NEW, "192.0.2.2");
	raw_u64(&r, IHMP_T_COUNTER, 5);
	raw_pubkey(&r, alg, len);
	if (sig)
		raw_sig(&r, IHMP_SIG_ED25519);
	return raw_decode(&r, m);
}

START_TEST(test_pubkey)
{
	struct ihmp_msg m, back;
	uint8_t buf[IHMP_MSG_MAX];
	struct raw r;

	/* HELLO and ACK of HELLO, signed: exactly 33 bytes of algorithm 1. */
	ck_assert_int_eq(pubkey_msg(IHMP_HELLO, 0, 1, 33, true, &m), 0);
	ck_assert(m.has & IHMP_HAS_PUBKEY);
	ck_assert_uint_eq(m.pubkey_alg, IHMP_SIG_ED25519);
	ck_assert_uint_eq(m.pubkey[31], 0x77);
	ck_assert_int_eq(pubkey_msg(IHMP_ACK, IHMP_HELLO, 1, 33, true, &m), 0);
	/* It re-encodes to the same bytes, between COUNTER and SIGNATURE. */
	ck_assert_int_eq(pubkey_msg(IHMP_HELLO, 0, 1, 33, true, &m), 0);
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), m.wire.len);
	ck_assert_int_eq(ihmp_decode(buf, m.wire.len, &back), 0);
	ck_assert_mem_eq(back.pubkey, m.pubkey, sizeof(m.pubkey));
	/* Exact length; algorithm 0 invalid, others unsupported. */
	for (uint16_t len = 0; len < 40; len++)
		if (len != 33)
			ck_assert_int_eq(pubkey_msg(IHMP_HELLO, 0, 1, len, true, &m),
					 -EINVAL);
	ck_assert_int_eq(pubkey_msg(IHMP_HELLO, 0, 0, 33, true, &m), -EINVAL);
	ck_assert_int_eq(pubkey_msg(IHMP_HELLO, 0, 2, 33, true, &m), -EOPNOTSUPP);
	/* Only where a key gets pinned, and only next to a signature. */
	ck_assert_int_eq(pubkey_msg(IHMP_ACK, IHMP_ADDR_UP, 1, 33, true, &m), -EINVAL);
	ck_assert_int_eq(pubkey_msg(IHMP_ADDR_UP, 0, 1, 33, true, &m), -EINVAL);
	ck_assert_int_eq(pubkey_msg(IHMP_HELLO, 0, 1, 33, false, &m), -EINVAL);
	/* Canonical order: after COUNTER, before SIGNATURE, once. */
	raw_hello(&r);
	raw_pubkey(&r, 1, 33);
	raw_u64(&r, IHMP_T_COUNTER, 5);
	raw_sig(&r, IHMP_SIG_ED25519);
	ck_assert_int_eq(raw_decode(&r, &m), -EILSEQ);
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 5);
	raw_pubkey(&r, 1, 33);
	raw_pubkey(&r, 1, 33);
	raw_sig(&r, IHMP_SIG_ED25519);
	ck_assert_int_eq(raw_decode(&r, &m), -EILSEQ);
	raw_hello(&r);
	raw_u64(&r, IHMP_T_COUNTER, 5);
	raw_sig(&r, IHMP_SIG_ED25519);
	raw_pubkey(&r, 1, 33);
	ck_assert_int_eq(raw_decode(&r, &m), -EILSEQ);
	/* The encoder refuses what the decoder would. */
	ihmp_msg_init(&m, IHMP_ADDR_UP, 1);
	m.host_id = A("192.0.2.1");
	m.new_addr = A("192.0.2.2");
	m.has = IHMP_HAS_PUBKEY;
	m.pubkey_alg = IHMP_SIG_ED25519;
	ck_assert_int_eq(ihmp_encode(&m, buf, sizeof(buf)), -EINVAL);
	ck_assert_str_eq(ihmp_tlv_name(IHMP_T_PUBKEY), "PUBKEY");
}
END_TEST

static Suite *ihmp_wire_suite(void)
{
	Suite *s = suite_create("ihmp_wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip_every_type);
	tcase_add_test(tc, test_every_truncation);
	tcase_add_test(tc, test_layout_hello);
	tcase_add_test(tc, test_layout_signed_ack_and_nat);
	tcase_add_test(tc, test_header_errors);
	tcase_add_test(tc, test_flags_per_type);
	tcase_add_test(tc, test_tlv_overrun);
	tcase_add_test(tc, test_zero_length);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_unknown_tlvs);
	tcase_add_test(tc, test_size_bound);
	tcase_add_test(tc, test_bad_addresses);
	tcase_add_test(tc, test_contradictions);
	tcase_add_test(tc, test_fixed_values);
	tcase_add_test(tc, test_nat_map);
	tcase_add_test(tc, test_mandatory);
	tcase_add_test(tc, test_not_allowed);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_signature_flow);
	tcase_add_test(tc, test_sig_input_bounds);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_pubkey);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ihmp_wire_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
