// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the control protocol decoders (ctl_proto.c): the
 * request decoder dimed runs on whatever a local client sends, and the
 * reply decoders dimectl runs on what dimed sends, on exactly `size` bytes
 * so ASan sees any read past the end.
 *
 * Beyond "no crash" it checks:
 *   - the whole-message parse and the server's two-step path (header, then
 *     body) agree on every input;
 *   - a request that decodes re-encodes and decodes to the same request;
 *   - every reply record that decodes re-encodes and decodes to the same
 *     record.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *          tests/fuzz/fuzz_ctl.c src/ctl_proto.c src/addr.c -o fuzz_ctl
 * Run:   ./fuzz_ctl -max_total_time=30 -max_len=8192 CORPUS_DIR
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void check_request(const uint8_t *data, size_t size)
{
	struct ctl_request req, again;
	struct ctl_hdr hdr;
	enum ctl_result whole, split;
	uint8_t buf[CTL_REQUEST_MAX];
	size_t len;

	whole = ctl_request_parse(data, size, &req);

	/* The server's path: header first, then exactly the body it announces. */
	split = ctl_hdr_get(data, size < CTL_HDR_LEN ? size : CTL_HDR_LEN, false, &hdr);
	if (split == CTL_OK) {
		if (size - CTL_HDR_LEN < hdr.len)
			split = CTL_E_TRUNCATED;
		else if (size - CTL_HDR_LEN > hdr.len)
			split = CTL_E_MALFORMED;
		else
			split = ctl_request_decode(&hdr, data + CTL_HDR_LEN, hdr.len, &again);
	}
	require(whole == split);
	if (whole != CTL_OK)
		return;
	require(ctl_request_encode(&req, buf, sizeof(buf), &len) == 0);
	require(ctl_request_parse(buf, len, &again) == CTL_OK);
	require(memcmp(&req, &again, sizeof(req)) == 0);
}

/* Each record the reply decoder hands over must survive a round trip. */
static uint8_t scratch[CTL_REPLY_BODY_MAX];

static void roundtrip(int (*put)(struct ctl_writer *, const void *), const void *rec,
		      void *copy, size_t size,
		      enum ctl_result (*dec)(const struct ctl_tlv *, void *))
{
	struct ctl_writer w;
	struct ctl_tlv_iter it;
	struct ctl_tlv tlv;

	ctl_writer_init(&w, scratch, sizeof(scratch));
	require(put(&w, rec) == 0);
	ctl_tlv_iter_init(&it, scratch, w.len);
	require(ctl_tlv_next(&it, &tlv));
	require(dec(&tlv, copy) == CTL_OK);
	require(memcmp(rec, copy, size) == 0);
	require(!ctl_tlv_next(&it, &tlv) && it.err == CTL_OK);
}

static int put_stat(struct ctl_writer *w, const void *r)
{
	const struct ctl_stat_rec *s = r;

	return ctl_put_stat(w, s->name, s->value);
}

static int put_hid(struct ctl_writer *w, const void *r)
{
	return ctl_put_hid_rec(w, r);
}

static int put_flow(struct ctl_writer *w, const void *r)
{
	return ctl_put_flow_rec(w, r);
}

static int put_addr(struct ctl_writer *w, const void *r)
{
	return ctl_put_addr_rec(w, r);
}

static int put_event(struct ctl_writer *w, const void *r)
{
	return ctl_put_event_rec(w, r);
}

static int put_lkey(struct ctl_writer *w, const void *r)
{
	return ctl_put_lkey_rec(w, r);
}

static enum ctl_result dec_lkey(const struct ctl_tlv *t, void *r)
{
	return ctl_lkey_rec_decode(t, r);
}

static enum ctl_result dec_addr(const struct ctl_tlv *t, void *r)
{
	return ctl_addr_rec_decode(t, r);
}

static enum ctl_result dec_event(const struct ctl_tlv *t, void *r)
{
	return ctl_event_rec_decode(t, r);
}

static enum ctl_result dec_stat(const struct ctl_tlv *t, void *r)
{
	return ctl_stat_rec_decode(t, r);
}

static enum ctl_result dec_hid(const struct ctl_tlv *t, void *r)
{
	return ctl_hid_rec_decode(t, r);
}

static enum ctl_result dec_flow(const struct ctl_tlv *t, void *r)
{
	return ctl_flow_rec_decode(t, r);
}

static void on_version(void *ctx, const struct ctl_version_rec *rec)
{
	require(strlen(rec->version) >= 1 && strlen(rec->version) <= CTL_NAME_MAX);
}

static void on_stat(void *ctx, const struct ctl_stat_rec *rec)
{
	struct ctl_stat_rec copy;

	roundtrip(put_stat, rec, &copy, sizeof(copy), dec_stat);
}

static void on_hid(void *ctx, const struct ctl_hid_rec *rec)
{
	struct ctl_hid_rec copy;

	roundtrip(put_hid, rec, &copy, sizeof(copy), dec_hid);
}

static void on_flow(void *ctx, const struct ctl_flow_rec *rec)
{
	struct ctl_flow_rec copy;

	roundtrip(put_flow, rec, &copy, sizeof(copy), dec_flow);
}

static void on_addr(void *ctx, const struct ctl_addr_rec *rec)
{
	struct ctl_addr_rec copy;

	roundtrip(put_addr, rec, &copy, sizeof(copy), dec_addr);
}

static void on_event(void *ctx, const struct ctl_event_rec *rec)
{
	struct ctl_event_rec copy;

	roundtrip(put_event, rec, &copy, sizeof(copy), dec_event);
}

static void on_lkey(void *ctx, const struct ctl_lkey_rec *rec)
{
	struct ctl_lkey_rec copy;

	roundtrip(put_lkey, rec, &copy, sizeof(copy), dec_lkey);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { CTL_T_VERSION, CTL_T_STATS, CTL_T_SHOW_HIDS,
					  CTL_T_SHOW_FLOWS, CTL_T_SHOW_ADDRS, CTL_T_MONITOR,
					  CTL_T_SET_LOCATOR, CTL_T_SHOW_KEYS,
					  CTL_T_SET_LOCAL_KEY };
	const struct ctl_reply_sink sink = { .version = on_version, .stat = on_stat,
					     .hid = on_hid, .flow = on_flow, .addr = on_addr,
					     .event = on_event, .lkey = on_lkey };
	uint8_t *copy;

	/* Exactly size bytes on the heap, so a read past the end is caught. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	check_request(copy, size);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ctl_reply_decode(types[i], copy, size, &sink);
	free(copy);
	return 0;
}
