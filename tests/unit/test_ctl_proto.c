// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the control protocol codec (ctl_proto.c): headers and
 * their distinct errors, every request and every record type round-trip,
 * every truncation length, bounds, nested TLVs that overrun their parent,
 * unknown attributes skipped or refused by the mandatory bit, and the one
 * table of result codes.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ctl_proto.h"
#include "testutil.h"

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A request frame from a raw body, header filled by hand. */
static size_t raw_request(uint8_t *buf, uint16_t type, const uint8_t *body, size_t len)
{
	struct ctl_hdr hdr = { .version = CTL_VERSION, .type = type, .len = (uint32_t)len };

	ctl_hdr_put(buf, &hdr);
	if (len)
		memcpy(buf + CTL_HDR_LEN, body, len);
	return CTL_HDR_LEN + len;
}

/* Append a TLV by hand (for bodies the writer would never produce). */
static size_t tlv(uint8_t *p, uint16_t type, uint16_t len, const void *val)
{
	be16(p, type);
	be16(p + 2, len);
	if (val)
		memcpy(p + 4, val, len);
	return 4u + len;
}

/* ---- Headers ---- */

START_TEST(test_hdr_layout)
{
	struct ctl_hdr hdr = { .version = CTL_VERSION, .flags = CTL_F_REPLY | CTL_F_MORE,
			       .type = 0x0104, .result = 7, .len = 0x00012345 };
	static const uint8_t want[CTL_HDR_LEN] = { 0xd1, 0xc7, 1, 3, 0x01, 0x04, 0, 7,
						  0x00, 0x01, 0x23, 0x45 };
	struct ctl_hdr back;
	uint8_t buf[CTL_HDR_LEN];

	ctl_hdr_put(buf, &hdr);
	ck_assert_mem_eq(buf, want, CTL_HDR_LEN);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), true, &back), CTL_OK);
	ck_assert_int_eq(back.flags, hdr.flags);
	ck_assert_int_eq(back.type, hdr.type);
	ck_assert_int_eq(back.result, hdr.result);
	ck_assert_uint_eq(back.len, hdr.len);
}
END_TEST

START_TEST(test_hdr_errors)
{
	struct ctl_hdr hdr = { .version = CTL_VERSION, .type = CTL_T_STATS };
	struct ctl_hdr out;
	uint8_t buf[CTL_HDR_LEN], bad[CTL_HDR_LEN];

	ctl_hdr_put(buf, &hdr);
	ck_assert_int_eq(ctl_hdr_get(buf, CTL_HDR_LEN, false, &out), CTL_OK);
	for (size_t len = 0; len < CTL_HDR_LEN; len++)
		ck_assert_int_eq(ctl_hdr_get(buf, len, false, &out), CTL_E_TRUNCATED);

	memcpy(bad, buf, sizeof(bad));
	bad[1] ^= 1;
	ck_assert_int_eq(ctl_hdr_get(bad, sizeof(bad), false, &out), CTL_E_BAD_MAGIC);
	/* Magic is judged as soon as two bytes are there. */
	ck_assert_int_eq(ctl_hdr_get(bad, 2, false, &out), CTL_E_BAD_MAGIC);

	for (int v = 0; v < 256; v++) {
		memcpy(bad, buf, sizeof(bad));
		bad[2] = (uint8_t)v;
		HOT_ASSERT(ctl_hdr_get(bad, sizeof(bad), false, &out) ==
			   (v == CTL_VERSION ? CTL_OK : CTL_E_VERSION));
	}
	/* The type is known even when the version is not, for the reply. */
	bad[2] = 2;
	ck_assert_int_eq(ctl_hdr_get(bad, sizeof(bad), false, &out), CTL_E_VERSION);
	ck_assert_int_eq(out.type, CTL_T_STATS);
	ck_assert_int_eq(out.version, 2);

	for (int f = 0; f < 256; f++) {
		memcpy(bad, buf, sizeof(bad));
		bad[3] = (uint8_t)f;
		/* A request accepts no flag at all. */
		HOT_ASSERT(ctl_hdr_get(bad, sizeof(bad), false, &out) ==
			   (f == 0 ? CTL_OK : CTL_E_MALFORMED));
		/* A reply needs REPLY and may carry MORE. */
		HOT_ASSERT(ctl_hdr_get(bad, sizeof(bad), true, &out) ==
			   (f == CTL_F_REPLY || f == (CTL_F_REPLY | CTL_F_MORE) ? CTL_OK :
									      CTL_E_MALFORMED));
	}
	memcpy(bad, buf, sizeof(bad));
	bad[7] = 1;	/* a result code in a request */
	ck_assert_int_eq(ctl_hdr_get(bad, sizeof(bad), false, &out), CTL_E_MALFORMED);
}
END_TEST

START_TEST(test_hdr_bounds)
{
	struct ctl_hdr hdr = { .version = CTL_VERSION, .type = CTL_T_STATS };
	struct ctl_hdr out;
	uint8_t buf[CTL_HDR_LEN];

	hdr.len = CTL_REQUEST_BODY_MAX;
	ctl_hdr_put(buf, &hdr);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), false, &out), CTL_OK);
	hdr.len = CTL_REQUEST_BODY_MAX + 1;
	ctl_hdr_put(buf, &hdr);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), false, &out), CTL_E_TOO_BIG);
	hdr.len = UINT32_MAX;
	ctl_hdr_put(buf, &hdr);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), false, &out), CTL_E_TOO_BIG);

	hdr.flags = CTL_F_REPLY;
	hdr.len = CTL_REPLY_BODY_MAX;
	ctl_hdr_put(buf, &hdr);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), true, &out), CTL_OK);
	hdr.len = CTL_REPLY_BODY_MAX + 1;
	ctl_hdr_put(buf, &hdr);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), true, &out), CTL_E_TOO_BIG);
}
END_TEST

START_TEST(test_reply_hdr_only)
{
	uint8_t buf[CTL_HDR_LEN];
	struct ctl_hdr out;

	ck_assert_uint_eq(ctl_reply_hdr_only(buf, CTL_T_SET_LOCATOR, CTL_E_NO_SUCH_HOST),
			  CTL_HDR_LEN);
	ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), true, &out), CTL_OK);
	ck_assert_int_eq(out.type, CTL_T_SET_LOCATOR);
	ck_assert_int_eq(out.result, CTL_E_NO_SUCH_HOST);
	ck_assert_int_eq(out.flags, CTL_F_REPLY);
	ck_assert_uint_eq(out.len, 0);
}
END_TEST

/* ---- Requests ---- */

static const struct ctl_request *all_requests(size_t *n)
{
	static struct ctl_request reqs[16];

	memset(reqs, 0, sizeof(reqs));
	reqs[0].type = CTL_T_VERSION;
	reqs[1].type = CTL_T_STATS;
	reqs[2].type = CTL_T_SHOW_HIDS;
	reqs[3].type = CTL_T_SHOW_FLOWS;
	reqs[9].type = CTL_T_SHOW_ADDRS;
	reqs[10].type = CTL_T_MONITOR;
	for (int i = 4; i < 9; i++)
		reqs[i].type = CTL_T_SET_LOCATOR;
	reqs[4].peer = A("198.51.100.7");
	reqs[4].remote = A("203.0.113.9");
	reqs[5].peer = A("198.51.100.7");
	reqs[5].local = A("192.0.2.1");
	reqs[6].peer = A("2001:db8::7");
	reqs[6].remote = A("2001:db8:1::9");
	reqs[6].local = A("2001:db8:2::1");
	reqs[7].peer = A("2001:db8::7");
	reqs[7].remote = A("203.0.113.9");	/* the other family's locator */
	reqs[8].peer = A("198.51.100.7");
	reqs[8].remote = A("203.0.113.9");
	reqs[8].local = A("2001:db8:2::1");
	reqs[11].type = CTL_T_SHOW_KEYS;
	for (int i = 12; i < 16; i++)
		reqs[i].type = CTL_T_SET_LOCAL_KEY;
	memset(reqs[12].key.seed, 0x5a, CTL_KEY_SEED_LEN);	/* the default key */
	memset(reqs[13].key.seed, 0xa5, CTL_KEY_SEED_LEN);
	reqs[13].key.n = 2;
	reqs[13].key.net[0] = A("192.0.2.0");
	reqs[13].key.len[0] = 24;
	reqs[13].key.net[1] = A("2001:db8::1");
	reqs[13].key.len[1] = 128;
	reqs[14].key.remove = true;
	reqs[15].key.remove = true;
	reqs[15].key.n = CTL_KEY_PREFIXES_MAX;
	for (unsigned int i = 0; i < CTL_KEY_PREFIXES_MAX; i++) {
		reqs[15].key.net[i] = A("198.51.100.0");
		reqs[15].key.net[i].a.u8[3] = (uint8_t)i;
		reqs[15].key.len[i] = 32;
	}
	*n = 16;
	return reqs;
}

START_TEST(test_request_roundtrip)
{
	size_t n;
	const struct ctl_request *reqs = all_requests(&n);

	for (size_t i = 0; i < n; i++) {
		uint8_t buf[CTL_REQUEST_MAX];
		struct ctl_request back;
		size_t len;

		ck_assert_int_eq(ctl_request_encode(&reqs[i], buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(ctl_request_parse(buf, len, &back), CTL_OK);
		ck_assert_mem_eq(&back, &reqs[i], sizeof(back));
		/* Header and body apart, as the server reads them. */
		{
			struct ctl_hdr hdr;

			ck_assert_int_eq(ctl_hdr_get(buf, CTL_HDR_LEN, false, &hdr), CTL_OK);
			ck_assert_uint_eq(hdr.len, len - CTL_HDR_LEN);
			ck_assert_int_eq(ctl_request_decode(&hdr, buf + CTL_HDR_LEN, hdr.len, &back),
					 CTL_OK);
			ck_assert_mem_eq(&back, &reqs[i], sizeof(back));
		}
	}
}
END_TEST

START_TEST(test_request_every_truncation)
{
	size_t n;
	const struct ctl_request *reqs = all_requests(&n);

	for (size_t i = 0; i < n; i++) {
		uint8_t buf[CTL_REQUEST_MAX + 1];
		struct ctl_request back;
		size_t len;

		ck_assert_int_eq(ctl_request_encode(&reqs[i], buf, sizeof(buf), &len), 0);
		for (size_t k = 0; k < len; k++)
			HOT_ASSERT(ctl_request_parse(buf, k, &back) == CTL_E_TRUNCATED);
		/* One byte past the frame is not part of it. */
		buf[len] = 0;
		ck_assert_int_eq(ctl_request_parse(buf, len + 1, &back), CTL_E_MALFORMED);
		/* A body shorter than the header says, given to decode. */
		if (len > CTL_HDR_LEN) {
			struct ctl_hdr hdr;

			ctl_hdr_get(buf, CTL_HDR_LEN, false, &hdr);
			ck_assert_int_eq(ctl_request_decode(&hdr, buf + CTL_HDR_LEN, hdr.len - 1, &back),
					 CTL_E_TRUNCATED);
		}
	}
}
END_TEST

START_TEST(test_request_encode_refuses)
{
	struct ctl_request req = { .type = CTL_T_SET_LOCATOR };
	uint8_t buf[CTL_REQUEST_MAX];
	size_t len;

	ck_assert_int_eq(ctl_request_encode(&req, buf, sizeof(buf), &len), -EINVAL);
	req.peer = A("198.51.100.7");
	ck_assert_int_eq(ctl_request_encode(&req, buf, sizeof(buf), &len), -EINVAL);
	req.remote = A("203.0.113.9");
	ck_assert_int_eq(ctl_request_encode(&req, buf, 8, &len), -ENOSPC);
	ck_assert_int_eq(ctl_request_encode(&req, buf, CTL_HDR_LEN + 4, &len), -ENOSPC);
	ck_assert_int_eq(ctl_request_encode(&req, buf, sizeof(buf), &len), 0);

	static const uint16_t not_v1[] = { 0, 0x0104, 0x7fff, 0xffff };
	for (size_t i = 0; i < sizeof(not_v1) / sizeof(not_v1[0]); i++) {
		struct ctl_request r = { .type = not_v1[i] };

		ck_assert_int_eq(ctl_request_encode(&r, buf, sizeof(buf), &len), -EINVAL);
	}
}
END_TEST

START_TEST(test_request_unknown_command)
{
	static const uint16_t not_v1[] = { 0, 0x0104, 0x0008, 0x7fff, 0xffff };
	uint8_t buf[CTL_REQUEST_MAX];
	struct ctl_request req;

	for (size_t i = 0; i < sizeof(not_v1) / sizeof(not_v1[0]); i++) {
		size_t len = raw_request(buf, not_v1[i], NULL, 0);

		ck_assert_int_eq(ctl_request_parse(buf, len, &req), CTL_E_UNKNOWN_COMMAND);
		ck_assert_int_eq(req.type, not_v1[i]);
		ck_assert_ptr_null(ctl_type_name(not_v1[i]));
	}
	ck_assert_str_eq(ctl_type_name(CTL_T_SHOW_FLOWS), "show-flows");
	ck_assert_str_eq(ctl_type_name(CTL_T_SHOW_ADDRS), "show-addrs");
	ck_assert_str_eq(ctl_type_name(CTL_T_MONITOR), "monitor");
	ck_assert_str_eq(ctl_type_name(CTL_T_RELOAD), "reload");
	/* RELOAD: no arguments, and a state change (root or dimed's user). */
	{
		struct ctl_request r = { .type = CTL_T_RELOAD };
		size_t n;

		ck_assert_int_eq(ctl_request_encode(&r, buf, sizeof(buf), &n), 0);
		ck_assert_int_eq(ctl_request_parse(buf, n, &req), CTL_OK);
		ck_assert_uint_eq(req.type, CTL_T_RELOAD);
		ck_assert(CTL_T_RELOAD & CTL_T_CHANGES_STATE);
		ck_assert_str_eq(ctl_result_name(CTL_E_CONFIG), "config-errors");
	}
}
END_TEST

START_TEST(test_request_bad_bodies)
{
	static const uint8_t v4[4] = { 198, 51, 100, 7 }, v4b[4] = { 203, 0, 113, 9 };
	uint8_t body[256], buf[CTL_REQUEST_MAX];
	struct ctl_request req;
	size_t n;

	/* Peer only: nothing to set. */
	n = tlv(body, CTL_A_PEER, 4, v4);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req),
			 CTL_E_INVALID_ARGUMENT);
	/* No peer. */
	n = tlv(body, CTL_A_REMOTE, 4, v4b);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req),
			 CTL_E_MALFORMED);
	/* A repeated attribute. */
	n = tlv(body, CTL_A_PEER, 4, v4);
	n += tlv(body + n, CTL_A_REMOTE, 4, v4b);
	n += tlv(body + n, CTL_A_REMOTE, 4, v4b);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req),
			 CTL_E_MALFORMED);
	/* Address lengths other than 4 and 16. */
	for (uint16_t alen = 0; alen <= 20; alen++) {
		uint8_t zero[20] = { 0 };

		n = tlv(body, CTL_A_PEER, alen, zero);
		n += tlv(body + n, CTL_A_LOCAL, 4, v4b);
		HOT_ASSERT(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req) ==
			   (alen == 4 || alen == 16 ? CTL_OK : CTL_E_MALFORMED));
	}
	/* A TLV that runs past the body. */
	n = tlv(body, CTL_A_PEER, 4, v4);
	be16(body + n, CTL_A_REMOTE);
	be16(body + n + 2, 5);
	memcpy(body + n + 4, v4b, 4);
	n += 8;
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req),
			 CTL_E_OVERRUN);
	/* One to three stray bytes: a TLV header that does not fit. */
	for (size_t stray = 1; stray < CTL_TLV_HDR_LEN; stray++) {
		n = tlv(body, CTL_A_PEER, 4, v4);
		n += tlv(body + n, CTL_A_REMOTE, 4, v4b);
		memset(body + n, 0, stray);
		ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body,
								     n + stray), &req),
				 CTL_E_OVERRUN);
		ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_STATS, body + n, stray),
						   &req),
				 CTL_E_OVERRUN);
	}
}
END_TEST

START_TEST(test_request_unknown_attrs)
{
	static const uint8_t v4[4] = { 198, 51, 100, 7 }, v4b[4] = { 203, 0, 113, 9 };
	uint8_t body[256], buf[CTL_REQUEST_MAX];
	struct ctl_request req;
	size_t n;

	/* Optional unknown attributes are skipped, wherever they sit. */
	n = tlv(body, 0x0777, 3, "abc");
	n += tlv(body + n, CTL_A_PEER, 4, v4);
	n += tlv(body + n, 0x0100, 0, NULL);
	n += tlv(body + n, CTL_A_REMOTE, 4, v4b);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req),
			 CTL_OK);
	ck_assert(dime_addr_eq(&req.remote, &(struct dime_addr){ 0 }) == false);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_VERSION, body, 7), &req),
			 CTL_OK);
	/* A mandatory one is refused. */
	n = tlv(body, CTL_A_PEER, 4, v4);
	n += tlv(body + n, CTL_A_REMOTE, 4, v4b);
	n += tlv(body + n, CTL_A_MANDATORY | 0x0004, 1, "x");
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCATOR, body, n), &req),
			 CTL_E_UNSUPPORTED);
	n = tlv(body, CTL_A_MANDATORY | 0x0001, 0, NULL);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SHOW_FLOWS, body, n), &req),
			 CTL_E_UNSUPPORTED);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_MONITOR, body, n), &req),
			 CTL_E_UNSUPPORTED);
	n = tlv(body, 0x0777, 3, "abc");
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_MONITOR, body, n), &req),
			 CTL_OK);
	ck_assert_int_eq(ctl_request_parse(buf, raw_request(buf, CTL_T_SHOW_ADDRS, body, n), &req),
			 CTL_OK);
}
END_TEST

/* ---- Records ---- */

struct got {
	struct ctl_version_rec version[4];
	struct ctl_stat_rec stat[8];
	struct ctl_hid_rec hid[4];
	struct ctl_flow_rec flow[8];
	struct ctl_addr_rec addr[8];
	struct ctl_event_rec event[8];
	size_t nversion, nstat, nhid, nflow, naddr, nevent;
};

static void got_version(void *ctx, const struct ctl_version_rec *r)
{
	struct got *g = ctx;

	if (g->nversion < 4)
		g->version[g->nversion] = *r;
	g->nversion++;
}

static void got_stat(void *ctx, const struct ctl_stat_rec *r)
{
	struct got *g = ctx;

	if (g->nstat < 8)
		g->stat[g->nstat] = *r;
	g->nstat++;
}

static void got_hid(void *ctx, const struct ctl_hid_rec *r)
{
	struct got *g = ctx;

	if (g->nhid < 4)
		g->hid[g->nhid] = *r;
	g->nhid++;
}

static void got_flow(void *ctx, const struct ctl_flow_rec *r)
{
	struct got *g = ctx;

	if (g->nflow < 8)
		g->flow[g->nflow] = *r;
	g->nflow++;
}

static void got_addr(void *ctx, const struct ctl_addr_rec *r)
{
	struct got *g = ctx;

	if (g->naddr < 8)
		g->addr[g->naddr] = *r;
	g->naddr++;
}

static void got_event(void *ctx, const struct ctl_event_rec *r)
{
	struct got *g = ctx;

	if (g->nevent < 8)
		g->event[g->nevent] = *r;
	g->nevent++;
}

static enum ctl_result decode(uint16_t type, const uint8_t *body, size_t len, struct got *g)
{
	struct ctl_reply_sink sink = { .version = got_version, .stat = got_stat, .hid = got_hid,
				       .flow = got_flow, .addr = got_addr, .event = got_event,
				       .ctx = g };

	memset(g, 0, sizeof(*g));
	return ctl_reply_decode(type, body, len, &sink);
}

static void full_hid(struct ctl_hid_rec *h)
{
	char text[64];

	memset(h, 0, sizeof(*h));
	h->hid = 0x00c00003;
	h->refs = 12;
	h->moved = true;
	h->has_key = true;
	h->rloc[CTL_AF4] = A("198.51.100.7");
	h->rloc[CTL_AF6] = A("2001:db8::7");
	h->lloc[CTL_AF4] = A("192.0.2.1");
	h->lloc[CTL_AF6] = A("2001:db8:2::1");
	for (int i = 0; i < CTL_ADDR_LIST_MAX; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x::%x", i, i + 1);
		h->active.addr[i] = A(text);
		snprintf(text, sizeof(text), "2001:db8:1%x::%x", i, i + 1);
		h->unreach.addr[i] = A(text);
		snprintf(text, sizeof(text), "2001:db8:2%x::%x", i, i + 1);
		h->local.addr[i] = A(text);
	}
	h->active.n = h->unreach.n = h->local.n = CTL_ADDR_LIST_MAX;
	h->created_age_ms = 86400000ull * 400;
	h->used_age_ms = UINT64_MAX;
}

static void some_flows(struct ctl_flow_rec f[4])
{
	memset(f, 0, 4 * sizeof(*f));
	f[0] = (struct ctl_flow_rec){ .proto = IPPROTO_TCP, .family = AF_INET, .tcp_state = 3,
				      .lport = 43210, .rport = 5001, .lid = A("192.0.2.1"),
				      .rid = A("203.0.113.9"), .hid = 3, .idle_ms = 1234 };
	f[1] = (struct ctl_flow_rec){ .proto = IPPROTO_UDP, .family = AF_INET6, .lport = 53,
				      .rport = 65535, .lid = A("2001:db8:2::1"),
				      .rid = A("2001:db8::7"), .hid = UINT32_MAX, .idle_ms = 0,
				      .offloaded = true };
	f[2] = (struct ctl_flow_rec){ .proto = IPPROTO_ICMP, .family = AF_INET, .lport = 77,
				      .rport = 77, .lid = A("192.0.2.1"), .rid = A("198.51.100.7"),
				      .hid = 1, .idle_ms = UINT64_MAX };
	f[3] = (struct ctl_flow_rec){ .proto = IPPROTO_ICMPV6, .family = AF_INET6, .lport = 1,
				      .rport = 1, .lid = A("::"), .rid = A("2001:db8::7"), .hid = 2,
				      .tcp_state = 255 };
}

static void some_addrs(struct ctl_addr_rec a[3])
{
	memset(a, 0, 3 * sizeof(*a));
	a[0] = (struct ctl_addr_rec){ .addr = A("192.0.2.1"), .ifindex = 2, .ifname = "eth1",
				      .advertised = true, .flows = 3 };
	a[1] = (struct ctl_addr_rec){ .addr = A("203.0.113.50"), .ifindex = 1, .ifname = "lo",
				      .pinned = true, .flows = UINT32_MAX };
	/* No name: the attribute is left out and comes back empty. */
	a[2] = (struct ctl_addr_rec){ .addr = A("2001:db8::1"), .ifindex = UINT32_MAX };
	memset(a[2].ifname, 0, sizeof(a[2].ifname));
}

/* Every field, at its largest. */
static void full_event(struct ctl_event_rec *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = UINT64_MAX;
	e->time_ms = 1764238503123ull;
	e->mono_ms = 42;
	memset(e->kind, 'k', CTL_NAME_MAX);
	e->hid = UINT32_MAX;
	e->addr = A("2001:db8::9");
	e->rloc[CTL_AF4] = A("203.0.113.10");
	e->rloc[CTL_AF6] = A("2001:db8::10");
	e->lloc[CTL_AF4] = A("198.51.100.1");
	e->lloc[CTL_AF6] = A("2001:db8:2::1");
	e->has_value = true;
	e->value = UINT64_MAX;
	memset(e->ifname, 'i', CTL_NAME_MAX);
	memset(e->text, 't', CTL_TEXT_MAX);
}

START_TEST(test_records_roundtrip)
{
	static uint8_t body[CTL_REPLY_BODY_MAX];
	struct ctl_writer w;
	struct ctl_hid_rec h, h2 = { 0 };
	struct ctl_flow_rec f[4];
	struct got g;

	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_version(&w, "0.1.0"), 0);
	ck_assert_int_eq(decode(CTL_T_VERSION, body, w.len, &g), CTL_OK);
	ck_assert_uint_eq(g.nversion, 1);
	ck_assert_str_eq(g.version[0].version, "0.1.0");

	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_stat(&w, "nfq_accepted", 0), 0);
	ck_assert_int_eq(ctl_put_stat(&w, "x", UINT64_MAX), 0);
	ck_assert_int_eq(ctl_put_stat(&w, "a23456789012345678901234567890123456789012345678901234567890123",
				      42), 0);
	ck_assert_int_eq(decode(CTL_T_STATS, body, w.len, &g), CTL_OK);
	ck_assert_uint_eq(g.nstat, 3);
	ck_assert_str_eq(g.stat[0].name, "nfq_accepted");
	ck_assert_uint_eq(g.stat[1].value, UINT64_MAX);
	ck_assert_uint_eq(strlen(g.stat[2].name), CTL_NAME_MAX);

	full_hid(&h);
	h2.hid = 1;	/* and a minimal one: no locators, empty sets */
	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h), 0);
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h2), 0);
	ck_assert_int_eq(decode(CTL_T_SHOW_HIDS, body, w.len, &g), CTL_OK);
	ck_assert_uint_eq(g.nhid, 2);
	ck_assert_mem_eq(&g.hid[0], &h, sizeof(h));
	ck_assert_mem_eq(&g.hid[1], &h2, sizeof(h2));

	some_flows(f);
	ctl_writer_init(&w, body, sizeof(body));
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(ctl_put_flow_rec(&w, &f[i]), 0);
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_OK);
	ck_assert_uint_eq(g.nflow, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_mem_eq(&g.flow[i], &f[i], sizeof(f[i]));

	/* Empty bodies are empty listings. */
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, 0, &g), CTL_OK);
	ck_assert_uint_eq(g.nflow, 0);

	{
		struct ctl_addr_rec a[3];

		some_addrs(a);
		ctl_writer_init(&w, body, sizeof(body));
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(ctl_put_addr_rec(&w, &a[i]), 0);
		ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, w.len, &g), CTL_OK);
		ck_assert_uint_eq(g.naddr, 3);
		for (int i = 0; i < 3; i++)
			ck_assert_mem_eq(&g.addr[i], &a[i], sizeof(a[i]));
	}
	{
		struct ctl_event_rec e[2];

		full_event(&e[0]);
		/* The least an event carries. */
		memset(&e[1], 0, sizeof(e[1]));
		snprintf(e[1].kind, sizeof(e[1].kind), "reload");
		ctl_writer_init(&w, body, sizeof(body));
		ck_assert_int_eq(ctl_put_event_rec(&w, &e[0]), 0);
		ck_assert_int_eq(ctl_put_event_rec(&w, &e[1]), 0);
		ck_assert_int_eq(decode(CTL_T_MONITOR, body, w.len, &g), CTL_OK);
		ck_assert_uint_eq(g.nevent, 2);
		ck_assert_mem_eq(&g.event[0], &e[0], sizeof(e[0]));
		ck_assert_mem_eq(&g.event[1], &e[1], sizeof(e[1]));
		ck_assert_str_eq(ctl_event_kind_name(CTL_EV_HANDOFF_ACKED), "handoff-acked");
		ck_assert_ptr_null(ctl_event_kind_name(CTL_EV_KIND_COUNT));
		for (unsigned int k = 0; k < CTL_EV_KIND_COUNT; k++)
			ck_assert_ptr_nonnull(ctl_event_kind_name(k));
	}
}
END_TEST

START_TEST(test_records_encode_refuses)
{
	uint8_t body[4096];
	struct ctl_writer w;
	struct ctl_hid_rec h;
	struct ctl_flow_rec f[4];
	char name[CTL_NAME_MAX + 2];

	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_stat(&w, "", 1), -EINVAL);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(ctl_put_stat(&w, name, 1), -EINVAL);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_uint_eq(w.depth, 0);

	full_hid(&h);
	h.active.n = CTL_ADDR_LIST_MAX + 1;
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h), -EINVAL);
	full_hid(&h);
	h.rloc[CTL_AF4] = A("2001:db8::1");	/* wrong family for the slot */
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h), -EINVAL);
	some_flows(f);
	f[0].rid = A("2001:db8::1");
	ck_assert_int_eq(ctl_put_flow_rec(&w, &f[0]), -EINVAL);
	f[1].family = 0;
	ck_assert_int_eq(ctl_put_flow_rec(&w, &f[1]), -EINVAL);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_uint_eq(w.depth, 0);

	{
		struct ctl_addr_rec a[3];
		struct ctl_event_rec e;

		some_addrs(a);
		a[0].addr = (struct dime_addr){ 0 };
		ck_assert_int_eq(ctl_put_addr_rec(&w, &a[0]), -EINVAL);
		memset(a[1].ifname, 'x', sizeof(a[1].ifname));	/* no NUL */
		ck_assert_int_eq(ctl_put_addr_rec(&w, &a[1]), -EINVAL);
		full_event(&e);
		e.kind[0] = '\0';
		ck_assert_int_eq(ctl_put_event_rec(&w, &e), -EINVAL);
		full_event(&e);
		memset(e.text, 't', sizeof(e.text));		/* no NUL */
		ck_assert_int_eq(ctl_put_event_rec(&w, &e), -EINVAL);
		full_event(&e);
		e.lloc[CTL_AF6] = A("192.0.2.1");		/* wrong family for the slot */
		ck_assert_int_eq(ctl_put_event_rec(&w, &e), -EINVAL);
		ck_assert_uint_eq(w.len, 0);
		ck_assert_uint_eq(w.depth, 0);
	}
}
END_TEST

/* A record that does not fit leaves the writer as it was, at every size. */
START_TEST(test_records_enospc_every_cap)
{
	static uint8_t full[8192], body[8192];
	struct ctl_writer w;
	struct ctl_hid_rec h;
	size_t need;

	full_hid(&h);
	ctl_writer_init(&w, full, sizeof(full));
	ck_assert_int_eq(ctl_put_stat(&w, "before", 1), 0);
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h), 0);
	need = w.len;
	for (size_t cap = 0; cap <= need; cap++) {
		int err1, err2;
		size_t before;

		ctl_writer_init(&w, body, cap);
		err1 = ctl_put_stat(&w, "before", 1);
		before = w.len;
		err2 = err1 ? -ENOSPC : ctl_put_hid_rec(&w, &h);
		HOT_ASSERT(w.depth == 0);
		if (cap == need) {
			HOT_ASSERT(!err1 && !err2 && w.len == need);
			HOT_ASSERT(memcmp(body, full, need) == 0);
		} else {
			HOT_ASSERT(err1 == -ENOSPC || err2 == -ENOSPC);
			HOT_ASSERT(w.len == (err1 ? 0 : before));
		}
	}
}
END_TEST

START_TEST(test_writer_limits)
{
	static uint8_t body[70000];
	struct ctl_writer w;
	uint8_t big[300];

	ctl_writer_init(&w, body, sizeof(body));
	for (int i = 0; i < CTL_NEST_MAX; i++)
		ck_assert_int_eq(ctl_nest_begin(&w, CTL_A_HID), 0);
	ck_assert_int_eq(ctl_nest_begin(&w, CTL_A_HID), -E2BIG);
	for (int i = 0; i < CTL_NEST_MAX; i++)
		ck_assert_int_eq(ctl_nest_end(&w), 0);
	ck_assert_int_eq(ctl_nest_end(&w), -EINVAL);

	/* A nested value above 65535 bytes cannot be described. */
	ctl_writer_init(&w, body, sizeof(body));
	memset(big, 0, sizeof(big));
	ck_assert_int_eq(ctl_nest_begin(&w, CTL_A_HID), 0);
	while (w.len < 66000)
		ck_assert_int_eq(ctl_put(&w, 0x0777, big, sizeof(big)), 0);
	ck_assert_int_eq(ctl_nest_end(&w), -E2BIG);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_int_eq(ctl_put(&w, 1, big, 65536), -E2BIG);
	ck_assert_int_eq(ctl_put_addr(&w, 1, &(struct dime_addr){ 0 }), -EINVAL);
}
END_TEST

START_TEST(test_records_every_truncation)
{
	static uint8_t body[8192];
	struct ctl_writer w;
	struct ctl_hid_rec h;
	struct ctl_flow_rec f[4];
	struct got g;
	size_t ends[8], nends = 0;

	full_hid(&h);
	some_flows(f);
	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h), 0);
	ends[nends++] = w.len;
	ck_assert_int_eq(ctl_put_hid_rec(&w, &h), 0);
	ends[nends++] = w.len;
	for (size_t k = 0; k <= w.len; k++) {
		enum ctl_result r = decode(CTL_T_SHOW_HIDS, body, k, &g);
		bool boundary = k == 0 || k == ends[0] || k == ends[1];

		HOT_ASSERT(r == (boundary ? CTL_OK : CTL_E_OVERRUN));
		HOT_ASSERT(g.nhid == (k >= ends[1] ? 2u : k >= ends[0] ? 1u : 0u));
	}
	ctl_writer_init(&w, body, sizeof(body));
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(ctl_put_flow_rec(&w, &f[i]), 0);
		ends[i] = w.len;
	}
	for (size_t k = 0; k <= w.len; k++) {
		enum ctl_result r = decode(CTL_T_SHOW_FLOWS, body, k, &g);
		bool boundary = k == 0;

		for (int i = 0; i < 4; i++)
			boundary |= k == ends[i];
		HOT_ASSERT(r == (boundary ? CTL_OK : CTL_E_OVERRUN));
	}
}
END_TEST

/* A TLV inside a record that runs past the record, though not past the
 * body, is an overrun of its parent, not a licence to read the next one. */
START_TEST(test_nested_overrun)
{
	static uint8_t body[4096];
	struct ctl_writer w;
	struct ctl_flow_rec f[4];
	struct got g;
	size_t first;

	some_flows(f);
	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_flow_rec(&w, &f[0]), 0);
	first = w.len;
	ck_assert_int_eq(ctl_put_flow_rec(&w, &f[1]), 0);
	/* The last attribute of the first record claims 8 more bytes. */
	be16(body + first - 8 - 2, 16);
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_E_OVERRUN);
	ck_assert_uint_eq(g.nflow, 0);
	be16(body + first - 8 - 2, 8);
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_OK);

	/* The record itself claims one byte beyond the body. */
	be16(body + 2, (uint16_t)(w.len - 4 + 1));
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_E_OVERRUN);
	/* Shrunk by one, the record now cuts its last attribute in two. */
	be16(body + 2, (uint16_t)(first - 4 - 1));
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_E_OVERRUN);
}
END_TEST

/* FLOW_OFFLOADED is optional: written only when set, so a record without
 * it (every record of a dimed from before offload) reads as false; when
 * present it is a strict boolean. */
START_TEST(test_flow_offloaded)
{
	static uint8_t body[4096], rec[1024];
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	uint8_t u64[8] = { 0 }, u32[4] = { 0 }, four = 4, val;
	struct ctl_flow_rec f[4];
	struct ctl_writer w;
	struct got g;
	size_t n, r, base, plain;

	some_flows(f);
	for (int set = 0; set < 2; set++) {
		f[0].offloaded = set;
		ctl_writer_init(&w, body, sizeof(body));
		ck_assert_int_eq(ctl_put_flow_rec(&w, &f[0]), 0);
		if (!set)
			plain = w.len;
		else
			ck_assert_uint_eq(w.len, plain + 5);	/* one u8 TLV more */
		ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_OK);
		ck_assert_uint_eq(g.nflow, 1);
		ck_assert_int_eq(g.flow[0].offloaded, set);
		ck_assert_mem_eq(&g.flow[0], &f[0], sizeof(f[0]));
	}
	/* Cut short anywhere, the longer record still leaves the writer clean. */
	for (size_t cap = 0; cap < plain + 5; cap++) {
		ctl_writer_init(&w, body, cap);
		HOT_ASSERT(ctl_put_flow_rec(&w, &f[0]) == -ENOSPC);
		HOT_ASSERT(w.len == 0 && w.depth == 0);
	}

	/* By hand: the required attributes, then OFFLOADED in every shape. */
	r = tlv(rec, CTL_A_FLOW_PROTO, 1, &four);
	r += tlv(rec + r, CTL_A_FLOW_FAMILY, 1, &four);
	r += tlv(rec + r, CTL_A_FLOW_LID, 4, v4);
	r += tlv(rec + r, CTL_A_FLOW_LPORT, 2, u32);
	r += tlv(rec + r, CTL_A_FLOW_RID, 4, v4);
	r += tlv(rec + r, CTL_A_FLOW_RPORT, 2, u32);
	r += tlv(rec + r, CTL_A_FLOW_HID, 4, u32);
	r += tlv(rec + r, CTL_A_FLOW_TCP_STATE, 1, u32);
	r += tlv(rec + r, CTL_A_FLOW_IDLE, 8, u64);
	base = r;
#define FLOW_DECODE() (n = tlv(body, CTL_A_FLOW, (uint16_t)r, rec), decode(CTL_T_SHOW_FLOWS, body, n, &g))
	g.flow[0].offloaded = true;
	ck_assert_int_eq(FLOW_DECODE(), CTL_OK);			/* absent */
	ck_assert(!g.flow[0].offloaded);
	val = 0;
	r = base + tlv(rec + base, CTL_A_FLOW_OFFLOADED, 1, &val);
	ck_assert_int_eq(FLOW_DECODE(), CTL_OK);
	ck_assert(!g.flow[0].offloaded);
	val = 1;
	r = base + tlv(rec + base, CTL_A_FLOW_OFFLOADED, 1, &val);
	ck_assert_int_eq(FLOW_DECODE(), CTL_OK);
	ck_assert(g.flow[0].offloaded);
	r += tlv(rec + r, CTL_A_FLOW_OFFLOADED, 1, &val);		/* repeated */
	ck_assert_int_eq(FLOW_DECODE(), CTL_E_MALFORMED);
	for (int i = 0; i < 3; i++) {
		static const uint8_t bad[3] = { 2, 0x80, 0xff };

		r = base + tlv(rec + base, CTL_A_FLOW_OFFLOADED, 1, &bad[i]);
		ck_assert_int_eq(FLOW_DECODE(), CTL_E_MALFORMED);
	}
	r = base + tlv(rec + base, CTL_A_FLOW_OFFLOADED, 0, NULL);	/* empty */
	ck_assert_int_eq(FLOW_DECODE(), CTL_E_MALFORMED);
	r = base + tlv(rec + base, CTL_A_FLOW_OFFLOADED, 2, u32);	/* two bytes */
	ck_assert_int_eq(FLOW_DECODE(), CTL_E_MALFORMED);
	/* The next flow attribute, still unknown, is skipped as any other. */
	r = base + tlv(rec + base, CTL_A_FLOW_OFFLOADED + 1, 3, u32);
	ck_assert_int_eq(FLOW_DECODE(), CTL_OK);
	ck_assert(!g.flow[0].offloaded);
#undef FLOW_DECODE
}
END_TEST

START_TEST(test_record_bad_fields)
{
	static uint8_t body[4096], rec[1024];
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t u64[8] = { 0 }, u32[4] = { 0 }, one = 1;
	struct got g;
	size_t n, r;

	/* The minimal valid HID record, then one change at a time. */
#define HID_BASE()                                                        \
	(r = 0, r += tlv(rec + r, CTL_A_HID_ID, 4, u32),                  \
	 r += tlv(rec + r, CTL_A_HID_REFS, 4, u32),                       \
	 r += tlv(rec + r, CTL_A_HID_MOVED, 1, &one),                     \
	 r += tlv(rec + r, CTL_A_HID_HAS_KEY, 1, &one),                   \
	 r += tlv(rec + r, CTL_A_HID_CREATED_AGE, 8, u64),                \
	 r += tlv(rec + r, CTL_A_HID_USED_AGE, 8, u64))
#define HID_DECODE() (n = tlv(body, CTL_A_HID, (uint16_t)r, rec), decode(CTL_T_SHOW_HIDS, body, n, &g))

	HID_BASE();
	ck_assert_int_eq(HID_DECODE(), CTL_OK);
	ck_assert(g.hid[0].moved && g.hid[0].has_key);
	/* Each required attribute missing. */
	for (int drop = 0; drop < 6; drop++) {
		static const uint16_t req[6] = { CTL_A_HID_ID, CTL_A_HID_REFS, CTL_A_HID_MOVED,
						 CTL_A_HID_HAS_KEY, CTL_A_HID_CREATED_AGE,
						 CTL_A_HID_USED_AGE };
		static const uint16_t len[6] = { 4, 4, 1, 1, 8, 8 };

		r = 0;
		for (int i = 0; i < 6; i++)
			if (i != drop)
				r += tlv(rec + r, req[i], len[i], u64);
		ck_assert_int_eq(HID_DECODE(), CTL_E_MALFORMED);
	}
	HID_BASE();
	r += tlv(rec + r, CTL_A_HID_REFS, 4, u32);	/* repeated */
	ck_assert_int_eq(HID_DECODE(), CTL_E_MALFORMED);
	HID_BASE();
	rec[4 + 4 + 4 + 4 + 4] = 2;			/* moved = 2 */
	ck_assert_int_eq(HID_DECODE(), CTL_E_MALFORMED);
	HID_BASE();
	be16(rec + 2, 5);				/* u32 of 5 bytes, rest shifted */
	ck_assert_int_ne(HID_DECODE(), CTL_OK);
	HID_BASE();
	r += tlv(rec + r, CTL_A_HID_RLOC, 4, v4);
	r += tlv(rec + r, CTL_A_HID_RLOC, 16, v6);
	ck_assert_int_eq(HID_DECODE(), CTL_OK);
	r += tlv(rec + r, CTL_A_HID_RLOC, 4, v4);	/* second IPv4 locator */
	ck_assert_int_eq(HID_DECODE(), CTL_E_MALFORMED);
	HID_BASE();
	for (int i = 0; i < CTL_ADDR_LIST_MAX; i++)
		r += tlv(rec + r, CTL_A_HID_ACTIVE, 4, v4);
	ck_assert_int_eq(HID_DECODE(), CTL_OK);
	ck_assert_uint_eq(g.hid[0].active.n, CTL_ADDR_LIST_MAX);
	r += tlv(rec + r, CTL_A_HID_ACTIVE, 4, v4);	/* one too many */
	ck_assert_int_eq(HID_DECODE(), CTL_E_MALFORMED);
	HID_BASE();
	r += tlv(rec + r, CTL_A_HID_LOCAL, 6, u64);	/* address of 6 bytes */
	ck_assert_int_eq(HID_DECODE(), CTL_E_MALFORMED);
	/* Unknown attributes inside a record: optional skipped, mandatory refused. */
	HID_BASE();
	r += tlv(rec + r, 0x003f, 2, u32);
	ck_assert_int_eq(HID_DECODE(), CTL_OK);
	r += tlv(rec + r, CTL_A_MANDATORY | 0x003f, 2, u32);
	ck_assert_int_eq(HID_DECODE(), CTL_E_UNSUPPORTED);
#undef HID_BASE
#undef HID_DECODE

	/* Stats: names of 0 and 64 bytes, NUL inside, value of 4 bytes. */
	{
		char name[CTL_NAME_MAX + 1];

		memset(name, 'n', sizeof(name));
		r = tlv(rec, CTL_A_STAT_NAME, CTL_NAME_MAX + 1, name);
		r += tlv(rec + r, CTL_A_STAT_VALUE, 8, u64);
		n = tlv(body, CTL_A_STAT, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_STATS, body, n, &g), CTL_E_MALFORMED);
		r = tlv(rec, CTL_A_STAT_NAME, 0, NULL);
		r += tlv(rec + r, CTL_A_STAT_VALUE, 8, u64);
		n = tlv(body, CTL_A_STAT, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_STATS, body, n, &g), CTL_E_MALFORMED);
		r = tlv(rec, CTL_A_STAT_NAME, 3, "a\0b");
		r += tlv(rec + r, CTL_A_STAT_VALUE, 8, u64);
		n = tlv(body, CTL_A_STAT, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_STATS, body, n, &g), CTL_E_MALFORMED);
		r = tlv(rec, CTL_A_STAT_NAME, 3, "abc");
		r += tlv(rec + r, CTL_A_STAT_VALUE, 4, u64);
		n = tlv(body, CTL_A_STAT, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_STATS, body, n, &g), CTL_E_MALFORMED);
		r = tlv(rec, CTL_A_STAT_NAME, 3, "abc");
		n = tlv(body, CTL_A_STAT, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_STATS, body, n, &g), CTL_E_MALFORMED);
	}
	/* Flows: family 5, family not matching the addresses. */
	{
		uint8_t fam = 5, four = 4;

		r = tlv(rec, CTL_A_FLOW_PROTO, 1, &one);
		r += tlv(rec + r, CTL_A_FLOW_FAMILY, 1, &fam);
		r += tlv(rec + r, CTL_A_FLOW_LID, 4, v4);
		r += tlv(rec + r, CTL_A_FLOW_LPORT, 2, u32);
		r += tlv(rec + r, CTL_A_FLOW_RID, 4, v4);
		r += tlv(rec + r, CTL_A_FLOW_RPORT, 2, u32);
		r += tlv(rec + r, CTL_A_FLOW_HID, 4, u32);
		r += tlv(rec + r, CTL_A_FLOW_TCP_STATE, 1, &one);
		r += tlv(rec + r, CTL_A_FLOW_IDLE, 8, u64);
		n = tlv(body, CTL_A_FLOW, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, n, &g), CTL_E_MALFORMED);
		rec[4 + 1 + 4] = four;
		n = tlv(body, CTL_A_FLOW, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, n, &g), CTL_OK);
		rec[4 + 1 + 4] = 6;
		n = tlv(body, CTL_A_FLOW, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, n, &g), CTL_E_MALFORMED);
		/* Without its last attribute. */
		rec[4 + 1 + 4] = four;
		n = tlv(body, CTL_A_FLOW, (uint16_t)(r - 12), rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, n, &g), CTL_E_MALFORMED);
	}
	/* Addresses: each required attribute missing, repeats, bad values. */
	{
		static const uint16_t req[5] = { CTL_A_ADDR_ADDR, CTL_A_ADDR_IFINDEX,
						 CTL_A_ADDR_ADVERTISED, CTL_A_ADDR_PINNED,
						 CTL_A_ADDR_FLOWS };
		static const uint16_t len[5] = { 4, 4, 1, 1, 4 };
		uint8_t two = 2;

		for (int drop = -1; drop < 5; drop++) {
			r = 0;
			for (int i = 0; i < 5; i++)
				if (i != drop)
					r += tlv(rec + r, req[i], len[i], i ? (const void *)u64 : v4);
			n = tlv(body, CTL_A_ADDR, (uint16_t)r, rec);
			ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, n, &g),
					 drop < 0 ? CTL_OK : CTL_E_MALFORMED);
		}
		r = 0;
		for (int i = 0; i < 5; i++)
			r += tlv(rec + r, req[i], len[i], i ? (const void *)u64 : v4);
		r += tlv(rec + r, CTL_A_ADDR_IFNAME, 4, "eth0");
		n = tlv(body, CTL_A_ADDR, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, n, &g), CTL_OK);
		ck_assert_str_eq(g.addr[0].ifname, "eth0");
		r += tlv(rec + r, CTL_A_ADDR_IFNAME, 4, "eth1");	/* repeated */
		n = tlv(body, CTL_A_ADDR, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, n, &g), CTL_E_MALFORMED);
		r = tlv(rec, CTL_A_ADDR_ADDR, 4, v4);
		r += tlv(rec + r, CTL_A_ADDR_IFINDEX, 4, u32);
		r += tlv(rec + r, CTL_A_ADDR_ADVERTISED, 1, &two);	/* bool of 2 */
		r += tlv(rec + r, CTL_A_ADDR_PINNED, 1, &one);
		r += tlv(rec + r, CTL_A_ADDR_FLOWS, 4, u32);
		n = tlv(body, CTL_A_ADDR, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, n, &g), CTL_E_MALFORMED);
		r = tlv(rec, CTL_A_ADDR_ADDR, 5, v6);			/* address of 5 */
		n = tlv(body, CTL_A_ADDR, (uint16_t)r, rec);
		ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, n, &g), CTL_E_MALFORMED);
	}
	/* Events: the four required ones, then each optional one wrong. */
	{
		static const uint16_t req[4] = { CTL_A_EV_SEQ, CTL_A_EV_TIME, CTL_A_EV_MONO,
						 CTL_A_EV_KIND };
		char text[CTL_TEXT_MAX + 1];
		size_t base;

		for (int drop = -1; drop < 4; drop++) {
			r = 0;
			for (int i = 0; i < 4; i++)
				if (i != drop)
					r += i == 3 ? tlv(rec + r, req[i], 7, "addr-up") :
						      tlv(rec + r, req[i], 8, u64);
			n = tlv(body, CTL_A_EVENT, (uint16_t)r, rec);
			ck_assert_int_eq(decode(CTL_T_MONITOR, body, n, &g),
					 drop < 0 ? CTL_OK : CTL_E_MALFORMED);
		}
		r = 0;
		for (int i = 0; i < 4; i++)
			r += i == 3 ? tlv(rec + r, req[i], 7, "addr-up") : tlv(rec + r, req[i], 8, u64);
		base = r;
#define EV_DECODE() (n = tlv(body, CTL_A_EVENT, (uint16_t)r, rec), decode(CTL_T_MONITOR, body, n, &g))
		r = base + tlv(rec + base, CTL_A_EV_SEQ, 8, u64);		/* repeated */
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		r = base + tlv(rec + base, CTL_A_EV_HID, 4, u32);		/* hid 0 */
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		r = base + tlv(rec + base, CTL_A_EV_VALUE, 4, u32);		/* u64 of 4 */
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		r = base + tlv(rec + base, CTL_A_EV_ADDR, 6, u64);		/* address of 6 */
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		r = base + tlv(rec + base, CTL_A_EV_IFNAME, 0, NULL);	/* empty string */
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		r = base + tlv(rec + base, CTL_A_EV_LLOC, 4, v4);
		r += tlv(rec + r, CTL_A_EV_LLOC, 16, v6);
		ck_assert_int_eq(EV_DECODE(), CTL_OK);
		r += tlv(rec + r, CTL_A_EV_LLOC, 16, v6);		/* second IPv6 locator */
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		memset(text, 't', sizeof(text));
		r = base + tlv(rec + base, CTL_A_EV_TEXT, CTL_TEXT_MAX, text);
		ck_assert_int_eq(EV_DECODE(), CTL_OK);
		ck_assert_uint_eq(strlen(g.event[0].text), CTL_TEXT_MAX);
		r = base + tlv(rec + base, CTL_A_EV_TEXT, CTL_TEXT_MAX + 1, text);
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		r = base + tlv(rec + base, CTL_A_EV_TEXT, 3, "a\0b");
		ck_assert_int_eq(EV_DECODE(), CTL_E_MALFORMED);
		/* Unknown attributes: optional skipped, mandatory refused. */
		r = base + tlv(rec + base, 0x006f, 1, "x");
		ck_assert_int_eq(EV_DECODE(), CTL_OK);
		r = base + tlv(rec + base, CTL_A_MANDATORY | 0x006f, 1, "x");
		ck_assert_int_eq(EV_DECODE(), CTL_E_UNSUPPORTED);
#undef EV_DECODE
	}
}
END_TEST

START_TEST(test_reply_record_placement)
{
	static uint8_t body[4096];
	struct ctl_writer w;
	struct ctl_flow_rec f[4];
	struct got g;

	some_flows(f);
	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_flow_rec(&w, &f[0]), 0);
	/* A flow record in the reply to SHOW_HIDS. */
	ck_assert_int_eq(decode(CTL_T_SHOW_HIDS, body, w.len, &g), CTL_E_MALFORMED);
	ck_assert_int_eq(decode(CTL_T_SET_LOCATOR, body, w.len, &g), CTL_E_MALFORMED);
	ck_assert_int_eq(decode(CTL_T_SHOW_ADDRS, body, w.len, &g), CTL_E_MALFORMED);
	ck_assert_int_eq(decode(CTL_T_MONITOR, body, w.len, &g), CTL_E_MALFORMED);
	/* Type 0 is no record anywhere, even where no record is expected. */
	{
		uint8_t zero[CTL_TLV_HDR_LEN] = { 0 };

		ck_assert_int_eq(decode(CTL_T_SET_LOCATOR, zero, sizeof(zero), &g), CTL_OK);
	}
	/* Unknown optional top-level attributes are skipped; mandatory refused. */
	ck_assert_int_eq(ctl_put(&w, 0x0fff, "zz", 2), 0);
	ck_assert_int_eq(ctl_put_flow_rec(&w, &f[1]), 0);
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_OK);
	ck_assert_uint_eq(g.nflow, 2);
	ck_assert_int_eq(ctl_put(&w, CTL_A_MANDATORY | 0x0fff, "zz", 2), 0);
	ck_assert_int_eq(decode(CTL_T_SHOW_FLOWS, body, w.len, &g), CTL_E_UNSUPPORTED);
	ck_assert_uint_eq(g.nflow, 2);	/* records before the error were handed over */
}
END_TEST

/* ---- SET_LOCAL_KEY: exact lengths and bounds ---- */

/* A SET_LOCAL_KEY request from a hand-made body. */
static enum ctl_result set_key_parse(const uint8_t *body, size_t len, struct ctl_request *req)
{
	uint8_t buf[CTL_REQUEST_MAX];

	return ctl_request_parse(buf, raw_request(buf, CTL_T_SET_LOCAL_KEY, body, len), req);
}

START_TEST(test_set_local_key_bodies)
{
	static const uint8_t seed[CTL_KEY_SEED_LEN + 1] = { 1, 2, 3 };
	static const uint8_t v4[] = { 24, 192, 0, 2, 0 }, v4host[] = { 24, 192, 0, 2, 1 };
	static const uint8_t v4long[] = { 33, 192, 0, 2, 0 }, one = 1, two = 2;
	uint8_t body[2048], v6[20] = { 128, 0x20, 0x01, 0x0d, 0xb8, [16] = 1 };
	struct ctl_request req;
	size_t n;

	/* A seed alone: the default key. */
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN, seed);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_OK);
	ck_assert_uint_eq(req.key.n, 0);
	ck_assert(!req.key.remove);
	ck_assert_mem_eq(req.key.seed, seed, CTL_KEY_SEED_LEN);
	/* Bad key lengths. */
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN - 1, seed);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN + 1, seed);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_SEED, 0, NULL);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	/* Neither a seed nor REMOVE, both, a seed twice. */
	ck_assert_int_eq(set_key_parse(body, 0, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN, seed);
	n += tlv(body + n, CTL_A_KEY_REMOVE, 1, &one);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN, seed);
	n += tlv(body + n, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN, seed);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_REMOVE, 1, &two);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_REMOVE, 2, "\x01\x01");
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	/* Prefixes: 1 + 4 or 1 + 16 bytes, length within the family, host
	 * bits zero, none twice. */
	n = tlv(body, CTL_A_KEY_REMOVE, 1, &one);
	n += tlv(body + n, CTL_A_KEY_PREFIX, sizeof(v4), v4);
	n += tlv(body + n, CTL_A_KEY_PREFIX, 17, v6);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_OK);
	ck_assert_uint_eq(req.key.n, 2);
	ck_assert(dime_addr_eq(&req.key.net[1], AP("2001:db8::1")));
	ck_assert_uint_eq(req.key.len[1], 128);
	n = tlv(body, CTL_A_KEY_REMOVE, 1, &one);
	n += tlv(body + n, CTL_A_KEY_PREFIX, sizeof(v4host), v4host);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	n = tlv(body, CTL_A_KEY_REMOVE, 1, &one);
	n += tlv(body + n, CTL_A_KEY_PREFIX, sizeof(v4long), v4long);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	for (size_t len = 0; len < 20; len++) {
		if (len == 5 || len == 17)
			continue;
		n = tlv(body, CTL_A_KEY_REMOVE, 1, &one);
		n += tlv(body + n, CTL_A_KEY_PREFIX, (uint16_t)len, v6);
		ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	}
	n = tlv(body, CTL_A_KEY_REMOVE, 1, &one);
	n += tlv(body + n, CTL_A_KEY_PREFIX, sizeof(v4), v4);
	n += tlv(body + n, CTL_A_KEY_PREFIX, sizeof(v4), v4);
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_MALFORMED);
	/* At most CTL_KEY_PREFIXES_MAX prefixes. */
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN, seed);
	for (unsigned int i = 0; i <= CTL_KEY_PREFIXES_MAX; i++) {
		uint8_t p[5] = { 32, 198, 51, 100, (uint8_t)i };

		n += tlv(body + n, CTL_A_KEY_PREFIX, sizeof(p), p);
		ck_assert_int_eq(set_key_parse(body, n, &req),
				 i < CTL_KEY_PREFIXES_MAX ? CTL_OK : CTL_E_MALFORMED);
	}
	/* Unknown optional attributes are skipped, mandatory ones refused. */
	n = tlv(body, CTL_A_KEY_SEED, CTL_KEY_SEED_LEN, seed);
	n += tlv(body + n, 0x0777, 2, "zz");
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_OK);
	n += tlv(body + n, CTL_A_MANDATORY | 0x0777, 2, "zz");
	ck_assert_int_eq(set_key_parse(body, n, &req), CTL_E_UNSUPPORTED);
	/* Oversized: a body above the request bound never gets decoded. */
	{
		uint8_t buf[CTL_HDR_LEN];
		struct ctl_hdr hdr = { .version = CTL_VERSION, .type = CTL_T_SET_LOCAL_KEY,
				       .len = CTL_REQUEST_BODY_MAX + 1 };
		struct ctl_hdr out;

		ctl_hdr_put(buf, &hdr);
		ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), false, &out), CTL_E_TOO_BIG);
		hdr.version = CTL_VERSION + 1;
		hdr.len = 36;
		ctl_hdr_put(buf, &hdr);
		ck_assert_int_eq(ctl_hdr_get(buf, sizeof(buf), false, &out), CTL_E_VERSION);
	}
	/* The encoder refuses what the decoder would. */
	memset(&req, 0, sizeof(req));
	req.type = CTL_T_SET_LOCAL_KEY;
	req.key.n = CTL_KEY_PREFIXES_MAX + 1;
	ck_assert_int_eq(ctl_request_encode(&req, body, sizeof(body), &n), -EINVAL);
	req.key.n = 1;
	ck_assert_int_eq(ctl_request_encode(&req, body, sizeof(body), &n), -EINVAL);	/* family 0 */
	ck_assert_str_eq(ctl_type_name(CTL_T_SET_LOCAL_KEY), "set-local-key");
	ck_assert_str_eq(ctl_type_name(CTL_T_SHOW_KEYS), "show-keys");
}
END_TEST

static void got_lkey(void *ctx, const struct ctl_lkey_rec *rec)
{
	*(struct ctl_lkey_rec *)ctx = *rec;
}

START_TEST(test_lkey_record)
{
	struct ctl_lkey_rec rec = { .id = { 1, 2, 3, 4, 5, 6, 7, 8 }, .runtime = true, .n = 2 },
			    back;
	struct ctl_reply_sink sink = { .lkey = got_lkey, .ctx = &back };
	static uint8_t body[1024];
	struct ctl_writer w;
	struct ctl_tlv_iter it;
	struct ctl_tlv t;

	memset(rec.pub, 0x33, sizeof(rec.pub));
	rec.net[0] = A("192.0.2.0");
	rec.len[0] = 24;
	rec.net[1] = A("2001:db8::");
	rec.len[1] = 32;
	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_lkey_rec(&w, &rec), 0);
	ck_assert_int_eq(ctl_reply_decode(CTL_T_SHOW_KEYS, body, w.len, &sink), CTL_OK);
	ck_assert_mem_eq(&back, &rec, sizeof(rec));
	ck_assert_int_eq(ctl_reply_decode(CTL_T_SET_LOCAL_KEY, body, w.len, &sink), CTL_OK);
	ck_assert_int_eq(ctl_reply_decode(CTL_T_SHOW_HIDS, body, w.len, &sink), CTL_E_MALFORMED);
	/* Every truncation of the record's value is refused, but where it
	 * leaves the required attributes and whole prefixes (fewer of them):
	 * id 12, public key 36, runtime 5 bytes, then prefixes of 9 and 21. */
	ctl_tlv_iter_init(&it, body, w.len);
	ck_assert(ctl_tlv_next(&it, &t));
	ck_assert_uint_eq(t.len, 12 + 36 + 5 + 9 + 21);
	for (uint16_t len = 0; len < t.len; len++) {
		struct ctl_tlv cut = { .type = t.type, .len = len, .val = t.val };
		bool whole = len == 12 + 36 + 5 || len == 12 + 36 + 5 + 9;

		ck_assert_int_eq(ctl_lkey_rec_decode(&cut, &back) == CTL_OK, whole);
	}
	/* Without prefixes (the default key) it still round-trips. */
	rec.n = 0;
	memset(rec.net, 0, sizeof(rec.net));
	memset(rec.len, 0, sizeof(rec.len));
	ctl_writer_init(&w, body, sizeof(body));
	ck_assert_int_eq(ctl_put_lkey_rec(&w, &rec), 0);
	ck_assert_int_eq(ctl_reply_decode(CTL_T_SHOW_KEYS, body, w.len, &sink), CTL_OK);
	ck_assert_mem_eq(&back, &rec, sizeof(rec));
}
END_TEST

/* ---- Result codes ---- */

START_TEST(test_result_table)
{
	for (unsigned int i = 0; i < CTL_RESULT_COUNT; i++) {
		ck_assert_ptr_nonnull(ctl_result_str(i));
		ck_assert_uint_gt(strlen(ctl_result_str(i)), 0);
		ck_assert_uint_gt(strlen(ctl_result_name(i)), 0);
		for (unsigned int j = 0; j < i; j++) {
			ck_assert_str_ne(ctl_result_str(i), ctl_result_str(j));
			ck_assert_str_ne(ctl_result_name(i), ctl_result_name(j));
		}
	}
	ck_assert_str_eq(ctl_result_str(CTL_RESULT_COUNT), "unknown result code");
	ck_assert_str_eq(ctl_result_str(65535), "unknown result code");
	ck_assert_str_eq(ctl_result_str(CTL_E_NO_SUCH_HOST), "no such host");
	ck_assert_int_eq(ctl_result_from_errno(0), CTL_OK);
	ck_assert_int_eq(ctl_result_from_errno(-ENOENT), CTL_E_NO_SUCH_HOST);
	ck_assert_int_eq(ctl_result_from_errno(-ESTALE), CTL_E_NO_SUCH_HOST);
	ck_assert_int_eq(ctl_result_from_errno(-EINVAL), CTL_E_INVALID_ARGUMENT);
	ck_assert_int_eq(ctl_result_from_errno(-EEXIST), CTL_E_INVALID_ARGUMENT);
	ck_assert_int_eq(ctl_result_from_errno(-ENOSPC), CTL_E_TABLE_FULL);
	ck_assert_int_eq(ctl_result_from_errno(-EPERM), CTL_E_PERMISSION);
	ck_assert_int_eq(ctl_result_from_errno(-EIO), CTL_E_INTERNAL);
}
END_TEST

static Suite *ctl_proto_suite(void)
{
	Suite *s = suite_create("ctl_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hdr_layout);
	tcase_add_test(tc, test_hdr_errors);
	tcase_add_test(tc, test_hdr_bounds);
	tcase_add_test(tc, test_reply_hdr_only);
	tcase_add_test(tc, test_request_roundtrip);
	tcase_add_test(tc, test_request_every_truncation);
	tcase_add_test(tc, test_request_encode_refuses);
	tcase_add_test(tc, test_request_unknown_command);
	tcase_add_test(tc, test_request_bad_bodies);
	tcase_add_test(tc, test_request_unknown_attrs);
	tcase_add_test(tc, test_records_roundtrip);
	tcase_add_test(tc, test_records_encode_refuses);
	tcase_add_test(tc, test_records_enospc_every_cap);
	tcase_add_test(tc, test_writer_limits);
	tcase_add_test(tc, test_records_every_truncation);
	tcase_add_test(tc, test_nested_overrun);
	tcase_add_test(tc, test_flow_offloaded);
	tcase_add_test(tc, test_record_bad_fields);
	tcase_add_test(tc, test_reply_record_placement);
	tcase_add_test(tc, test_result_table);
	tcase_add_test(tc, test_set_local_key_bodies);
	tcase_add_test(tc, test_lkey_record);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(ctl_proto_suite());
}
