// SPDX-License-Identifier: BSD-2-Clause
/*
 * Control protocol encode and decode (see ctl_proto.h and
 * docs/control-protocol.md). Pure: buffers in, buffers and records out.
 * The result code table lives here so daemon and client print the same
 * words for the same code.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "dime/ctl_proto.h"

static const struct {
	const char *name;
	const char *msg;
} results[CTL_RESULT_COUNT] = {
	[CTL_OK] = { "ok", "success" },
	[CTL_E_MALFORMED] = { "malformed", "malformed control message" },
	[CTL_E_VERSION] = { "version", "unsupported control protocol version" },
	[CTL_E_UNKNOWN_COMMAND] = { "unknown-command", "command not supported by this dimed" },
	[CTL_E_NO_SUCH_HOST] = { "no-such-host", "no such host" },
	[CTL_E_INVALID_ARGUMENT] = { "invalid-argument", "invalid argument" },
	[CTL_E_TABLE_FULL] = { "table-full", "table full" },
	[CTL_E_PERMISSION] = { "permission", "permission denied (state changes need root)" },
	[CTL_E_INTERNAL] = { "internal", "internal error in dimed (see its log)" },
	[CTL_E_TRUNCATED] = { "truncated", "control message truncated" },
	[CTL_E_TOO_BIG] = { "too-big", "control message too big" },
	[CTL_E_BAD_MAGIC] = { "bad-magic", "not a dimed control message" },
	[CTL_E_OVERRUN] = { "overrun", "control message attribute overruns its parent" },
	[CTL_E_UNSUPPORTED] = { "unsupported", "control message needs an attribute this version lacks" },
	[CTL_E_BUSY] = { "busy", "too many control clients, try again" },
	[CTL_E_MONITOR_FULL] = { "monitor-full", "too many monitor clients, try again" },
	[CTL_E_TOO_SLOW] = { "too-slow", "fell behind the event stream and was dropped" },
	[CTL_E_CONFIG] = { "config-errors", "the configuration file has errors; the running "
			   "configuration stays (see dimed's log, or dimed -n)" },
	[CTL_E_NEED_ROOT] = { "need-root", "permission denied: only root (uid 0) may hand dimed a "
			      "private key" },
	[CTL_E_IHMP_OFF] = { "ihmp-off", "IHMP is off in this dimed (ihmp no): it has no keys" },
	[CTL_E_KEY_BOUND] = { "key-bound", "an address or prefix is already bound to another "
			      "key: give that key's whole list, or remove it first" },
	[CTL_E_NO_SUCH_KEY] = { "no-such-key", "no key is bound to exactly that list of "
				"addresses" },
};

const char *ctl_result_str(unsigned int code)
{
	return code < CTL_RESULT_COUNT ? results[code].msg : "unknown result code";
}

const char *ctl_result_name(unsigned int code)
{
	return code < CTL_RESULT_COUNT ? results[code].name : "unknown";
}

enum ctl_result ctl_result_from_errno(int err)
{
	switch (err) {
	case 0:
		return CTL_OK;
	case -ENOENT:
	case -ESTALE:
		return CTL_E_NO_SUCH_HOST;
	case -EINVAL:
	case -EEXIST:
		return CTL_E_INVALID_ARGUMENT;
	case -ENOSPC:
		return CTL_E_TABLE_FULL;
	case -EPERM:
	case -EACCES:
		return CTL_E_PERMISSION;
	default:
		return CTL_E_INTERNAL;
	}
}

const char *ctl_type_name(unsigned int type)
{
	switch (type) {
	case CTL_T_VERSION:
		return "version";
	case CTL_T_STATS:
		return "stats";
	case CTL_T_SHOW_HIDS:
		return "show-hids";
	case CTL_T_SHOW_FLOWS:
		return "show-flows";
	case CTL_T_SHOW_ADDRS:
		return "show-addrs";
	case CTL_T_MONITOR:
		return "monitor";
	case CTL_T_SHOW_KEYS:
		return "show-keys";
	case CTL_T_SET_LOCATOR:
		return "set-locator";
	case CTL_T_RELOAD:
		return "reload";
	case CTL_T_SET_LOCAL_KEY:
		return "set-local-key";
	default:
		return NULL;
	}
}

const char *ctl_event_kind_name(unsigned int kind)
{
	static const char *const names[CTL_EV_KIND_COUNT] = {
		[CTL_EV_ADDR_UP] = "addr-up",
		[CTL_EV_ADDR_DOWN] = "addr-down",
		[CTL_EV_HANDOFF_SENT] = "handoff-sent",
		[CTL_EV_HANDOFF_ACKED] = "handoff-acked",
		[CTL_EV_LOCATORS] = "locators",
		[CTL_EV_PEER_LOST] = "peer-lost",
		[CTL_EV_PIN_ADDED] = "pin-added",
		[CTL_EV_PIN_REMOVED] = "pin-removed",
		[CTL_EV_RELOAD] = "reload",
		[CTL_EV_RELOAD_FAILED] = "reload-failed",
	};

	return kind < CTL_EV_KIND_COUNT ? names[kind] : NULL;
}

/* ---- Byte order ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- Header ---- */

void ctl_hdr_put(uint8_t *out, const struct ctl_hdr *hdr)
{
	put16(out, CTL_MAGIC);
	out[2] = hdr->version;
	out[3] = hdr->flags;
	put16(out + 4, hdr->type);
	put16(out + 6, hdr->result);
	put32(out + 8, hdr->len);
}

/* The magic and version come first and keep their place in every future
 * version, so a peer can always tell "not ours" from "another version". */
enum ctl_result ctl_hdr_get(const uint8_t *buf, size_t len, bool reply, struct ctl_hdr *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	if (len >= 2 && get16(buf) != CTL_MAGIC)
		return CTL_E_BAD_MAGIC;
	if (len < CTL_HDR_LEN)
		return CTL_E_TRUNCATED;
	hdr->version = buf[2];
	hdr->flags = buf[3];
	hdr->type = get16(buf + 4);
	hdr->result = get16(buf + 6);
	hdr->len = get32(buf + 8);
	if (hdr->version != CTL_VERSION)
		return CTL_E_VERSION;
	if (hdr->flags & ~(CTL_F_REPLY | CTL_F_MORE))
		return CTL_E_MALFORMED;
	if (!!(hdr->flags & CTL_F_REPLY) != reply)
		return CTL_E_MALFORMED;
	if (!reply && ((hdr->flags & CTL_F_MORE) || hdr->result != CTL_OK))
		return CTL_E_MALFORMED;
	if (hdr->len > (reply ? CTL_REPLY_BODY_MAX : CTL_REQUEST_BODY_MAX))
		return CTL_E_TOO_BIG;
	return CTL_OK;
}

size_t ctl_reply_hdr_only(uint8_t *out, uint16_t type, enum ctl_result result)
{
	struct ctl_hdr hdr = {
		.version = CTL_VERSION, .flags = CTL_F_REPLY, .type = type, .result = (uint16_t)result,
	};

	ctl_hdr_put(out, &hdr);
	return CTL_HDR_LEN;
}

/* ---- TLV writer ---- */

void ctl_writer_init(struct ctl_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
}

int ctl_put(struct ctl_writer *w, uint16_t type, const void *val, size_t len)
{
	if (len > UINT16_MAX)
		return -E2BIG;
	if (w->cap - w->len < CTL_TLV_HDR_LEN + len)
		return -ENOSPC;
	put16(w->buf + w->len, type);
	put16(w->buf + w->len + 2, (uint16_t)len);
	if (len)
		memcpy(w->buf + w->len + CTL_TLV_HDR_LEN, val, len);
	w->len += CTL_TLV_HDR_LEN + len;
	return 0;
}

/* Fixed-size unsigned fields of 1, 2, 4 or 8 bytes, big-endian. */
static int put_uint(struct ctl_writer *w, uint16_t type, uint64_t v, size_t size)
{
	uint8_t b[8];

	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * (size - 1 - i)));
	return ctl_put(w, type, b, size);
}

int ctl_put_u8(struct ctl_writer *w, uint16_t type, uint8_t v)
{
	return put_uint(w, type, v, 1);
}

int ctl_put_u16(struct ctl_writer *w, uint16_t type, uint16_t v)
{
	return put_uint(w, type, v, 2);
}

int ctl_put_u32(struct ctl_writer *w, uint16_t type, uint32_t v)
{
	return put_uint(w, type, v, 4);
}

int ctl_put_u64(struct ctl_writer *w, uint16_t type, uint64_t v)
{
	return put_uint(w, type, v, 8);
}

int ctl_put_addr(struct ctl_writer *w, uint16_t type, const struct dime_addr *addr)
{
	size_t len = dime_addr_len(addr);

	if (!len)
		return -EINVAL;
	return ctl_put(w, type, addr->a.u8, len);
}

int ctl_put_str(struct ctl_writer *w, uint16_t type, const char *s)
{
	size_t len = strnlen(s, CTL_NAME_MAX + 1);

	if (len == 0 || len > CTL_NAME_MAX)
		return -EINVAL;
	return ctl_put(w, type, s, len);
}

int ctl_nest_begin(struct ctl_writer *w, uint16_t type)
{
	if (w->depth == CTL_NEST_MAX)
		return -E2BIG;
	if (w->cap - w->len < CTL_TLV_HDR_LEN)
		return -ENOSPC;
	w->nest[w->depth++] = w->len;
	put16(w->buf + w->len, type);
	put16(w->buf + w->len + 2, 0);
	w->len += CTL_TLV_HDR_LEN;
	return 0;
}

int ctl_nest_end(struct ctl_writer *w)
{
	size_t start, vlen;

	if (w->depth == 0)
		return -EINVAL;
	start = w->nest[--w->depth];
	vlen = w->len - start - CTL_TLV_HDR_LEN;
	if (vlen > UINT16_MAX) {
		w->len = start;
		return -E2BIG;
	}
	put16(w->buf + start + 2, (uint16_t)vlen);
	return 0;
}

/* Writes the fields of one record into the open nest. */
typedef int (*fields_fn)(struct ctl_writer *w, const void *rec);

/* A record is a nest of `type` holding what fields() writes. All or
 * nothing: a record that does not fit leaves no trace (the writer is
 * rolled back and nests opened since are closed). */
static int put_record(struct ctl_writer *w, uint16_t type, fields_fn fields, const void *rec)
{
	size_t len = w->len;
	unsigned int depth = w->depth;
	int err = ctl_nest_begin(w, type);

	if (!err)
		err = fields(w, rec);
	if (!err)
		err = ctl_nest_end(w);
	if (err) {
		w->len = len;
		w->depth = depth;
	}
	return err;
}

/* ---- TLV reader ---- */

void ctl_tlv_iter_init(struct ctl_tlv_iter *it, const uint8_t *buf, size_t len)
{
	it->p = buf;
	it->len = len;
	it->off = 0;
	it->err = CTL_OK;
}

bool ctl_tlv_next(struct ctl_tlv_iter *it, struct ctl_tlv *tlv)
{
	size_t left = it->len - it->off;

	if (it->err != CTL_OK || left == 0)
		return false;
	if (left < CTL_TLV_HDR_LEN) {
		it->err = CTL_E_OVERRUN;
		return false;
	}
	tlv->type = get16(it->p + it->off);
	tlv->len = get16(it->p + it->off + 2);
	if (tlv->len > left - CTL_TLV_HDR_LEN) {
		it->err = CTL_E_OVERRUN;
		return false;
	}
	tlv->val = it->p + it->off + CTL_TLV_HDR_LEN;
	it->off += CTL_TLV_HDR_LEN + tlv->len;
	return true;
}

/* What to do with an attribute the decoder does not know. */
static enum ctl_result unknown_attr(const struct ctl_tlv *tlv)
{
	return tlv->type & CTL_A_MANDATORY ? CTL_E_UNSUPPORTED : CTL_OK;
}

static enum ctl_result get_addr(const struct ctl_tlv *tlv, struct dime_addr *addr)
{
	if (tlv->len == 4)
		dime_addr_from_v4(addr, tlv->val);
	else if (tlv->len == 16)
		dime_addr_from_v6(addr, tlv->val);
	else
		return CTL_E_MALFORMED;
	return CTL_OK;
}

/* A string field: 1..max bytes, no NUL inside; out holds max + 1. */
static enum ctl_result get_text(const struct ctl_tlv *tlv, char *out, size_t max)
{
	if (tlv->len == 0 || tlv->len > max || memchr(tlv->val, 0, tlv->len))
		return CTL_E_MALFORMED;
	memcpy(out, tlv->val, tlv->len);
	out[tlv->len] = '\0';
	return CTL_OK;
}

static enum ctl_result get_str(const struct ctl_tlv *tlv, char *out)
{
	return get_text(tlv, out, CTL_NAME_MAX);
}

static enum ctl_result get_bool(const struct ctl_tlv *tlv, bool *out)
{
	if (tlv->len != 1 || tlv->val[0] > 1)
		return CTL_E_MALFORMED;
	*out = tlv->val[0];
	return CTL_OK;
}

/* Fixed-size unsigned fields of 1, 2, 4 or 8 bytes. */
static enum ctl_result get_uint(const struct ctl_tlv *tlv, size_t size, uint64_t *out)
{
	if (tlv->len != size)
		return CTL_E_MALFORMED;
	switch (size) {
	case 1:
		*out = tlv->val[0];
		break;
	case 2:
		*out = get16(tlv->val);
		break;
	case 4:
		*out = get32(tlv->val);
		break;
	default:
		*out = get64(tlv->val);
		break;
	}
	return CTL_OK;
}

/* Record decoders note each attribute seen in a bit mask, indexed by its
 * offset from the record's first attribute number, to reject repeats and
 * find missing required ones. */
static enum ctl_result seen_once(uint32_t *seen, uint16_t type, uint16_t base)
{
	uint32_t bit = 1u << (type - base);

	if (*seen & bit)
		return CTL_E_MALFORMED;
	*seen |= bit;
	return CTL_OK;
}

#define ATTR_BIT(type, base) (1u << ((type) - (base)))

/* Takes one attribute into out, noting it in *seen when it counts. */
typedef enum ctl_result (*attr_fn)(const struct ctl_tlv *a, void *out, uint32_t *seen);

/*
 * Walk the attributes of [buf, buf + len) through attr(), stopping at the
 * first error; then the walk's own error (an overrun), then the required
 * attributes that were not seen. *seen tells the caller what was.
 */
static enum ctl_result walk_attrs(const uint8_t *buf, size_t len, attr_fn attr, void *out,
				  uint32_t required, uint32_t *seen)
{
	struct ctl_tlv_iter it;
	struct ctl_tlv a;
	enum ctl_result r = CTL_OK;

	*seen = 0;
	ctl_tlv_iter_init(&it, buf, len);
	while (r == CTL_OK && ctl_tlv_next(&it, &a))
		r = attr(&a, out, seen);
	if (r == CTL_OK)
		r = it.err;
	if (r == CTL_OK && (*seen & required) != required)
		r = CTL_E_MALFORMED;
	return r;
}

/* ---- Requests ---- */

static int put_set_locator(struct ctl_writer *w, const struct ctl_request *req)
{
	int err;

	if (!dime_addr_is_set(&req->peer) ||
	    (!dime_addr_is_set(&req->remote) && !dime_addr_is_set(&req->local)))
		return -EINVAL;
	err = ctl_put_addr(w, CTL_A_PEER, &req->peer);
	if (!err && dime_addr_is_set(&req->remote))
		err = ctl_put_addr(w, CTL_A_REMOTE, &req->remote);
	if (!err && dime_addr_is_set(&req->local))
		err = ctl_put_addr(w, CTL_A_LOCAL, &req->local);
	return err;
}

/* A prefix: its length, then 4 or 16 address bytes. */
static int put_prefix(struct ctl_writer *w, uint16_t type, const struct dime_addr *net,
		      uint8_t len)
{
	uint8_t v[1 + 16];
	size_t alen = dime_addr_len(net);

	if (!alen || len > 8 * alen)
		return -EINVAL;
	v[0] = len;
	memcpy(v + 1, net->a.u8, alen);
	return ctl_put(w, type, v, 1 + alen);
}

static int put_prefixes(struct ctl_writer *w, uint16_t type, const struct dime_addr *net,
			const uint8_t *len, unsigned int n)
{
	int err = 0;

	if (n > CTL_KEY_PREFIXES_MAX)
		return -EINVAL;
	for (unsigned int i = 0; i < n && !err; i++)
		err = put_prefix(w, type, &net[i], len[i]);
	return err;
}

static int put_set_local_key(struct ctl_writer *w, const struct ctl_request *req)
{
	const struct ctl_set_local_key *k = &req->key;
	int err = put_prefixes(w, CTL_A_KEY_PREFIX, k->net, k->len, k->n);

	if (!err && k->remove)
		err = ctl_put_u8(w, CTL_A_KEY_REMOVE, 1);
	if (!err && !k->remove)
		err = ctl_put(w, CTL_A_KEY_SEED, k->seed, CTL_KEY_SEED_LEN);
	return err;
}

int ctl_request_encode(const struct ctl_request *req, uint8_t *buf, size_t cap, size_t *len)
{
	struct ctl_hdr hdr = { .version = CTL_VERSION, .type = req->type };
	struct ctl_writer w;
	int err = 0;

	if (cap < CTL_HDR_LEN)
		return -ENOSPC;
	ctl_writer_init(&w, buf + CTL_HDR_LEN,
			cap - CTL_HDR_LEN < CTL_REQUEST_BODY_MAX ? cap - CTL_HDR_LEN : CTL_REQUEST_BODY_MAX);
	switch (req->type) {
	case CTL_T_VERSION:
	case CTL_T_STATS:
	case CTL_T_SHOW_HIDS:
	case CTL_T_SHOW_FLOWS:
	case CTL_T_SHOW_ADDRS:
	case CTL_T_MONITOR:
	case CTL_T_SHOW_KEYS:
	case CTL_T_RELOAD:
		break;
	case CTL_T_SET_LOCATOR:
		err = put_set_locator(&w, req);
		break;
	case CTL_T_SET_LOCAL_KEY:
		err = put_set_local_key(&w, req);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	hdr.len = (uint32_t)w.len;
	ctl_hdr_put(buf, &hdr);
	*len = CTL_HDR_LEN + w.len;
	return 0;
}

static enum ctl_result set_locator_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_request *req = out;
	enum ctl_result r;

	switch (a->type) {
	case CTL_A_PEER:
	case CTL_A_REMOTE:
	case CTL_A_LOCAL:
		r = seen_once(seen, a->type, CTL_A_PEER);
		if (r == CTL_OK)
			r = get_addr(a, a->type == CTL_A_PEER ? &req->peer :
					a->type == CTL_A_REMOTE ? &req->remote : &req->local);
		return r;
	default:
		return unknown_attr(a);
	}
}

static enum ctl_result decode_set_locator(const uint8_t *body, size_t len, struct ctl_request *req)
{
	const uint32_t peer = ATTR_BIT(CTL_A_PEER, CTL_A_PEER);
	uint32_t seen;
	enum ctl_result r = walk_attrs(body, len, set_locator_attr, req, peer, &seen);

	if (r == CTL_OK && !(seen & ~peer))
		r = CTL_E_INVALID_ARGUMENT;
	return r;
}

/* A prefix value: length byte and 4 or 16 address bytes, the length
 * within the family and the host bits zero (one encoding per prefix). */
static enum ctl_result get_prefix(const struct ctl_tlv *tlv, struct dime_addr *net, uint8_t *len)
{
	struct ctl_tlv a;
	unsigned int bits;

	if (tlv->len != 1 + 4 && tlv->len != 1 + 16)
		return CTL_E_MALFORMED;
	a.len = (uint16_t)(tlv->len - 1);
	a.val = tlv->val + 1;
	get_addr(&a, net);
	bits = 8u * (tlv->len - 1u);
	if (tlv->val[0] > bits)
		return CTL_E_MALFORMED;
	for (unsigned int b = tlv->val[0]; b < bits; b++)
		if (net->a.u8[b / 8] & (0x80 >> (b % 8)))
			return CTL_E_MALFORMED;
	*len = tlv->val[0];
	return CTL_OK;
}

/* One more prefix for a list of at most CTL_KEY_PREFIXES_MAX, none twice. */
static enum ctl_result add_prefix(const struct ctl_tlv *tlv, struct dime_addr *net, uint8_t *len,
				  uint8_t *n)
{
	enum ctl_result r;

	if (*n == CTL_KEY_PREFIXES_MAX)
		return CTL_E_MALFORMED;
	r = get_prefix(tlv, &net[*n], &len[*n]);
	for (unsigned int i = 0; r == CTL_OK && i < *n; i++)
		if (len[i] == len[*n] && dime_addr_eq(&net[i], &net[*n]))
			r = CTL_E_MALFORMED;
	if (r == CTL_OK)
		(*n)++;
	else
		memset(&net[*n], 0, sizeof(net[*n]));
	return r;
}

static enum ctl_result set_local_key_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_set_local_key *k = out;
	enum ctl_result r;

	switch (a->type) {
	case CTL_A_KEY_SEED:
		r = seen_once(seen, a->type, CTL_A_KEY_SEED);
		if (r == CTL_OK && a->len != CTL_KEY_SEED_LEN)
			r = CTL_E_MALFORMED;
		if (r == CTL_OK)
			memcpy(k->seed, a->val, CTL_KEY_SEED_LEN);
		return r;
	case CTL_A_KEY_PREFIX:
		return add_prefix(a, k->net, k->len, &k->n);
	case CTL_A_KEY_REMOVE:
		r = seen_once(seen, a->type, CTL_A_KEY_SEED);
		if (r == CTL_OK && (a->len != 1 || a->val[0] != 1))
			r = CTL_E_MALFORMED;
		k->remove = r == CTL_OK;
		return r;
	default:
		return unknown_attr(a);
	}
}

/* Exactly one of a seed and REMOVE. */
static enum ctl_result decode_set_local_key(const uint8_t *body, size_t len,
					    struct ctl_request *req)
{
	const uint32_t seed = ATTR_BIT(CTL_A_KEY_SEED, CTL_A_KEY_SEED);
	uint32_t seen;
	enum ctl_result r = walk_attrs(body, len, set_local_key_attr, &req->key, 0, &seen);

	if (r == CTL_OK && !!(seen & seed) == req->key.remove)
		r = CTL_E_MALFORMED;
	return r;
}

static enum ctl_result no_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	return unknown_attr(a);
}

/* Requests without arguments still walk their body: optional attributes
 * a newer client adds are skipped, mandatory ones refused. */
static enum ctl_result decode_no_args(const uint8_t *body, size_t len)
{
	uint32_t seen;

	return walk_attrs(body, len, no_attr, NULL, 0, &seen);
}

enum ctl_result ctl_request_decode(const struct ctl_hdr *hdr, const uint8_t *body, size_t len,
				   struct ctl_request *req)
{
	memset(req, 0, sizeof(*req));
	req->type = hdr->type;
	if (len != hdr->len)
		return len < hdr->len ? CTL_E_TRUNCATED : CTL_E_MALFORMED;
	switch (hdr->type) {
	case CTL_T_VERSION:
	case CTL_T_STATS:
	case CTL_T_SHOW_HIDS:
	case CTL_T_SHOW_FLOWS:
	case CTL_T_SHOW_ADDRS:
	case CTL_T_MONITOR:
	case CTL_T_SHOW_KEYS:
	case CTL_T_RELOAD:
		return decode_no_args(body, len);
	case CTL_T_SET_LOCATOR:
		return decode_set_locator(body, len, req);
	case CTL_T_SET_LOCAL_KEY:
		return decode_set_local_key(body, len, req);
	default:
		return CTL_E_UNKNOWN_COMMAND;
	}
}

enum ctl_result ctl_request_parse(const uint8_t *buf, size_t len, struct ctl_request *req)
{
	struct ctl_hdr hdr;
	enum ctl_result r = ctl_hdr_get(buf, len, false, &hdr);

	memset(req, 0, sizeof(*req));
	req->type = hdr.type;
	if (r != CTL_OK)
		return r;
	if (len - CTL_HDR_LEN < hdr.len)
		return CTL_E_TRUNCATED;
	if (len - CTL_HDR_LEN > hdr.len)
		return CTL_E_MALFORMED;
	return ctl_request_decode(&hdr, buf + CTL_HDR_LEN, hdr.len, req);
}

/* ---- Reply records: encode ---- */

int ctl_put_version(struct ctl_writer *w, const char *version)
{
	return ctl_put_str(w, CTL_A_VERSION, version);
}

struct stat_fields {
	const char *name;
	uint64_t value;
};

static int put_stat_fields(struct ctl_writer *w, const void *rec)
{
	const struct stat_fields *st = rec;
	int err = ctl_put_str(w, CTL_A_STAT_NAME, st->name);

	if (!err)
		err = ctl_put_u64(w, CTL_A_STAT_VALUE, st->value);
	return err;
}

int ctl_put_stat(struct ctl_writer *w, const char *name, uint64_t value)
{
	const struct stat_fields st = { name, value };

	return put_record(w, CTL_A_STAT, put_stat_fields, &st);
}

static int put_addr_list(struct ctl_writer *w, uint16_t type, const struct ctl_addr_list *list)
{
	int err = 0;

	if (list->n > CTL_ADDR_LIST_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < list->n && !err; i++)
		err = ctl_put_addr(w, type, &list->addr[i]);
	return err;
}

static int put_locators(struct ctl_writer *w, uint16_t type, const struct dime_addr loc[2])
{
	int err = 0;

	for (int i = CTL_AF4; i <= CTL_AF6 && !err; i++) {
		if (!dime_addr_is_set(&loc[i]))
			continue;
		if (loc[i].family != (i == CTL_AF4 ? AF_INET : AF_INET6))
			return -EINVAL;
		err = ctl_put_addr(w, type, &loc[i]);
	}
	return err;
}

static int put_hid_fields(struct ctl_writer *w, const void *arg)
{
	const struct ctl_hid_rec *rec = arg;
	int err;

	err = ctl_put_u32(w, CTL_A_HID_ID, rec->hid);
	if (!err)
		err = ctl_put_u32(w, CTL_A_HID_REFS, rec->refs);
	if (!err)
		err = ctl_put_u8(w, CTL_A_HID_MOVED, rec->moved);
	if (!err)
		err = ctl_put_u8(w, CTL_A_HID_HAS_KEY, rec->has_key);
	if (!err)
		err = put_locators(w, CTL_A_HID_RLOC, rec->rloc);
	if (!err)
		err = put_locators(w, CTL_A_HID_LLOC, rec->lloc);
	if (!err)
		err = put_addr_list(w, CTL_A_HID_ACTIVE, &rec->active);
	if (!err)
		err = put_addr_list(w, CTL_A_HID_UNREACH, &rec->unreach);
	if (!err)
		err = put_addr_list(w, CTL_A_HID_LOCAL, &rec->local);
	if (!err)
		err = ctl_put_u64(w, CTL_A_HID_CREATED_AGE, rec->created_age_ms);
	if (!err)
		err = ctl_put_u64(w, CTL_A_HID_USED_AGE, rec->used_age_ms);
	return err;
}

int ctl_put_hid_rec(struct ctl_writer *w, const struct ctl_hid_rec *rec)
{
	return put_record(w, CTL_A_HID, put_hid_fields, rec);
}

static int put_flow_fields(struct ctl_writer *w, const void *arg)
{
	const struct ctl_flow_rec *rec = arg;
	int err;

	if ((rec->family != AF_INET && rec->family != AF_INET6) ||
	    rec->lid.family != rec->family || rec->rid.family != rec->family)
		return -EINVAL;
	err = ctl_put_u8(w, CTL_A_FLOW_PROTO, rec->proto);
	if (!err)
		err = ctl_put_u8(w, CTL_A_FLOW_FAMILY, rec->family == AF_INET ? 4 : 6);
	if (!err)
		err = ctl_put_addr(w, CTL_A_FLOW_LID, &rec->lid);
	if (!err)
		err = ctl_put_u16(w, CTL_A_FLOW_LPORT, rec->lport);
	if (!err)
		err = ctl_put_addr(w, CTL_A_FLOW_RID, &rec->rid);
	if (!err)
		err = ctl_put_u16(w, CTL_A_FLOW_RPORT, rec->rport);
	if (!err)
		err = ctl_put_u32(w, CTL_A_FLOW_HID, rec->hid);
	if (!err)
		err = ctl_put_u8(w, CTL_A_FLOW_TCP_STATE, rec->tcp_state);
	if (!err)
		err = ctl_put_u64(w, CTL_A_FLOW_IDLE, rec->idle_ms);
	/* Only when set: absent reads as false, which is also what a dimed
	 * from before offload means, and most flows never are offloaded. */
	if (!err && rec->offloaded)
		err = ctl_put_u8(w, CTL_A_FLOW_OFFLOADED, 1);
	return err;
}

int ctl_put_flow_rec(struct ctl_writer *w, const struct ctl_flow_rec *rec)
{
	return put_record(w, CTL_A_FLOW, put_flow_fields, rec);
}

/* An optional string: left out when empty. */
static int put_opt_str(struct ctl_writer *w, uint16_t type, const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len == 0)
		return 0;
	if (len > max)
		return -EINVAL;
	return ctl_put(w, type, s, len);
}

static int put_addr_fields(struct ctl_writer *w, const void *arg)
{
	const struct ctl_addr_rec *rec = arg;
	int err;

	err = ctl_put_addr(w, CTL_A_ADDR_ADDR, &rec->addr);
	if (!err)
		err = ctl_put_u32(w, CTL_A_ADDR_IFINDEX, rec->ifindex);
	if (!err)
		err = put_opt_str(w, CTL_A_ADDR_IFNAME, rec->ifname, CTL_NAME_MAX);
	if (!err)
		err = ctl_put_u8(w, CTL_A_ADDR_ADVERTISED, rec->advertised);
	if (!err)
		err = ctl_put_u8(w, CTL_A_ADDR_PINNED, rec->pinned);
	if (!err)
		err = ctl_put_u32(w, CTL_A_ADDR_FLOWS, rec->flows);
	return err;
}

int ctl_put_addr_rec(struct ctl_writer *w, const struct ctl_addr_rec *rec)
{
	return put_record(w, CTL_A_ADDR, put_addr_fields, rec);
}

static int put_event_fields(struct ctl_writer *w, const void *arg)
{
	const struct ctl_event_rec *rec = arg;
	int err;

	err = ctl_put_u64(w, CTL_A_EV_SEQ, rec->seq);
	if (!err)
		err = ctl_put_u64(w, CTL_A_EV_TIME, rec->time_ms);
	if (!err)
		err = ctl_put_u64(w, CTL_A_EV_MONO, rec->mono_ms);
	if (!err)
		err = ctl_put_str(w, CTL_A_EV_KIND, rec->kind);
	if (!err && rec->hid)
		err = ctl_put_u32(w, CTL_A_EV_HID, rec->hid);
	if (!err && dime_addr_is_set(&rec->addr))
		err = ctl_put_addr(w, CTL_A_EV_ADDR, &rec->addr);
	if (!err)
		err = put_locators(w, CTL_A_EV_RLOC, rec->rloc);
	if (!err)
		err = put_locators(w, CTL_A_EV_LLOC, rec->lloc);
	if (!err && rec->has_value)
		err = ctl_put_u64(w, CTL_A_EV_VALUE, rec->value);
	if (!err)
		err = put_opt_str(w, CTL_A_EV_IFNAME, rec->ifname, CTL_NAME_MAX);
	if (!err)
		err = put_opt_str(w, CTL_A_EV_TEXT, rec->text, CTL_TEXT_MAX);
	return err;
}

int ctl_put_event_rec(struct ctl_writer *w, const struct ctl_event_rec *rec)
{
	return put_record(w, CTL_A_EVENT, put_event_fields, rec);
}

static int put_lkey_fields(struct ctl_writer *w, const void *arg)
{
	const struct ctl_lkey_rec *rec = arg;
	int err;

	err = ctl_put(w, CTL_A_LKEY_ID, rec->id, CTL_KEY_ID_LEN);
	if (!err)
		err = ctl_put(w, CTL_A_LKEY_PUB, rec->pub, CTL_KEY_PUB_LEN);
	if (!err)
		err = ctl_put_u8(w, CTL_A_LKEY_RUNTIME, rec->runtime);
	if (!err)
		err = put_prefixes(w, CTL_A_LKEY_PREFIX, rec->net, rec->len, rec->n);
	return err;
}

int ctl_put_lkey_rec(struct ctl_writer *w, const struct ctl_lkey_rec *rec)
{
	return put_record(w, CTL_A_LKEY, put_lkey_fields, rec);
}

/* ---- Reply records: decode ---- */

enum ctl_result ctl_version_rec_decode(const struct ctl_tlv *tlv, struct ctl_version_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	return get_str(tlv, rec->version);
}

static enum ctl_result stat_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_stat_rec *rec = out;
	enum ctl_result r;

	if (a->type != CTL_A_STAT_NAME && a->type != CTL_A_STAT_VALUE)
		return unknown_attr(a);
	r = seen_once(seen, a->type, CTL_A_STAT_NAME);
	if (r != CTL_OK)
		return r;
	if (a->type == CTL_A_STAT_NAME)
		return get_str(a, rec->name);
	return get_uint(a, 8, &rec->value);
}

enum ctl_result ctl_stat_rec_decode(const struct ctl_tlv *tlv, struct ctl_stat_rec *rec)
{
	const uint32_t required = ATTR_BIT(CTL_A_STAT_NAME, CTL_A_STAT_NAME) |
				  ATTR_BIT(CTL_A_STAT_VALUE, CTL_A_STAT_NAME);
	uint32_t seen;

	memset(rec, 0, sizeof(*rec));
	return walk_attrs(tlv->val, tlv->len, stat_attr, rec, required, &seen);
}

static enum ctl_result add_to_list(const struct ctl_tlv *tlv, struct ctl_addr_list *list)
{
	if (list->n == CTL_ADDR_LIST_MAX)
		return CTL_E_MALFORMED;
	return get_addr(tlv, &list->addr[list->n++]);
}

static enum ctl_result set_locator_field(const struct ctl_tlv *tlv, struct dime_addr loc[2])
{
	struct dime_addr a;
	enum ctl_result r = get_addr(tlv, &a);
	int i = a.family == AF_INET6 ? CTL_AF6 : CTL_AF4;

	if (r != CTL_OK)
		return r;
	if (dime_addr_is_set(&loc[i]))
		return CTL_E_MALFORMED;
	loc[i] = a;
	return CTL_OK;
}

static enum ctl_result hid_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_hid_rec *rec = out;
	enum ctl_result r = CTL_OK;
	uint64_t v = 0;

	switch (a->type) {
	case CTL_A_HID_ID:
	case CTL_A_HID_REFS:
	case CTL_A_HID_MOVED:
	case CTL_A_HID_HAS_KEY:
	case CTL_A_HID_CREATED_AGE:
	case CTL_A_HID_USED_AGE:
		r = seen_once(seen, a->type, CTL_A_HID_ID);
		break;
	default:
		break;
	}
	if (r != CTL_OK)
		return r;
	switch (a->type) {
	case CTL_A_HID_ID:
	case CTL_A_HID_REFS:
		r = get_uint(a, 4, &v);
		*(a->type == CTL_A_HID_ID ? &rec->hid : &rec->refs) = (uint32_t)v;
		return r;
	case CTL_A_HID_MOVED:
		return get_bool(a, &rec->moved);
	case CTL_A_HID_HAS_KEY:
		return get_bool(a, &rec->has_key);
	case CTL_A_HID_RLOC:
		return set_locator_field(a, rec->rloc);
	case CTL_A_HID_LLOC:
		return set_locator_field(a, rec->lloc);
	case CTL_A_HID_ACTIVE:
		return add_to_list(a, &rec->active);
	case CTL_A_HID_UNREACH:
		return add_to_list(a, &rec->unreach);
	case CTL_A_HID_LOCAL:
		return add_to_list(a, &rec->local);
	case CTL_A_HID_CREATED_AGE:
		return get_uint(a, 8, &rec->created_age_ms);
	case CTL_A_HID_USED_AGE:
		return get_uint(a, 8, &rec->used_age_ms);
	default:
		return unknown_attr(a);
	}
}

enum ctl_result ctl_hid_rec_decode(const struct ctl_tlv *tlv, struct ctl_hid_rec *rec)
{
	const uint32_t required =
		ATTR_BIT(CTL_A_HID_ID, CTL_A_HID_ID) | ATTR_BIT(CTL_A_HID_REFS, CTL_A_HID_ID) |
		ATTR_BIT(CTL_A_HID_MOVED, CTL_A_HID_ID) | ATTR_BIT(CTL_A_HID_HAS_KEY, CTL_A_HID_ID) |
		ATTR_BIT(CTL_A_HID_CREATED_AGE, CTL_A_HID_ID) |
		ATTR_BIT(CTL_A_HID_USED_AGE, CTL_A_HID_ID);
	uint32_t seen;

	memset(rec, 0, sizeof(*rec));
	return walk_attrs(tlv->val, tlv->len, hid_attr, rec, required, &seen);
}

static enum ctl_result flow_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_flow_rec *rec = out;
	enum ctl_result r;
	uint64_t v = 0;

	if (a->type < CTL_A_FLOW_PROTO || a->type > CTL_A_FLOW_OFFLOADED)
		return unknown_attr(a);
	r = seen_once(seen, a->type, CTL_A_FLOW_PROTO);
	if (r != CTL_OK)
		return r;
	switch (a->type) {
	case CTL_A_FLOW_PROTO:
		r = get_uint(a, 1, &v);
		rec->proto = (uint8_t)v;
		return r;
	case CTL_A_FLOW_FAMILY:
		r = get_uint(a, 1, &v);
		if (r == CTL_OK && v != 4 && v != 6)
			r = CTL_E_MALFORMED;
		rec->family = v == 4 ? AF_INET : AF_INET6;
		return r;
	case CTL_A_FLOW_LID:
		return get_addr(a, &rec->lid);
	case CTL_A_FLOW_RID:
		return get_addr(a, &rec->rid);
	case CTL_A_FLOW_LPORT:
	case CTL_A_FLOW_RPORT:
		r = get_uint(a, 2, &v);
		*(a->type == CTL_A_FLOW_LPORT ? &rec->lport : &rec->rport) = (uint16_t)v;
		return r;
	case CTL_A_FLOW_HID:
		r = get_uint(a, 4, &v);
		rec->hid = (uint32_t)v;
		return r;
	case CTL_A_FLOW_TCP_STATE:
		r = get_uint(a, 1, &v);
		rec->tcp_state = (uint8_t)v;
		return r;
	case CTL_A_FLOW_OFFLOADED:
		return get_bool(a, &rec->offloaded);
	default:
		return get_uint(a, 8, &rec->idle_ms);
	}
}

enum ctl_result ctl_flow_rec_decode(const struct ctl_tlv *tlv, struct ctl_flow_rec *rec)
{
	/* Every flow attribute up to IDLE is required; OFFLOADED is optional. */
	const uint32_t required = ATTR_BIT(CTL_A_FLOW_IDLE + 1, CTL_A_FLOW_PROTO) - 1;
	uint32_t seen;
	enum ctl_result r;

	memset(rec, 0, sizeof(*rec));
	r = walk_attrs(tlv->val, tlv->len, flow_attr, rec, required, &seen);
	if (r == CTL_OK && (rec->lid.family != rec->family || rec->rid.family != rec->family))
		r = CTL_E_MALFORMED;
	return r;
}

static enum ctl_result addr_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_addr_rec *rec = out;
	enum ctl_result r;
	uint64_t v = 0;

	if (a->type < CTL_A_ADDR_ADDR || a->type > CTL_A_ADDR_FLOWS)
		return unknown_attr(a);
	r = seen_once(seen, a->type, CTL_A_ADDR_ADDR);
	if (r != CTL_OK)
		return r;
	switch (a->type) {
	case CTL_A_ADDR_ADDR:
		return get_addr(a, &rec->addr);
	case CTL_A_ADDR_IFINDEX:
	case CTL_A_ADDR_FLOWS:
		r = get_uint(a, 4, &v);
		*(a->type == CTL_A_ADDR_IFINDEX ? &rec->ifindex : &rec->flows) = (uint32_t)v;
		return r;
	case CTL_A_ADDR_IFNAME:
		return get_str(a, rec->ifname);
	case CTL_A_ADDR_ADVERTISED:
		return get_bool(a, &rec->advertised);
	default:
		return get_bool(a, &rec->pinned);
	}
}

enum ctl_result ctl_addr_rec_decode(const struct ctl_tlv *tlv, struct ctl_addr_rec *rec)
{
	/* Every attribute but the interface name is required. */
	const uint32_t required = (ATTR_BIT(CTL_A_ADDR_FLOWS + 1, CTL_A_ADDR_ADDR) - 1) &
				  ~ATTR_BIT(CTL_A_ADDR_IFNAME, CTL_A_ADDR_ADDR);
	uint32_t seen;

	memset(rec, 0, sizeof(*rec));
	return walk_attrs(tlv->val, tlv->len, addr_attr, rec, required, &seen);
}

/* The attributes of an event that may repeat (one locator per family). */
static bool event_attr_repeats(uint16_t type)
{
	return type == CTL_A_EV_RLOC || type == CTL_A_EV_LLOC;
}

static enum ctl_result event_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_event_rec *rec = out;
	enum ctl_result r = CTL_OK;
	uint64_t v = 0;

	if (a->type < CTL_A_EV_SEQ || a->type > CTL_A_EV_TEXT)
		return unknown_attr(a);
	if (!event_attr_repeats(a->type))
		r = seen_once(seen, a->type, CTL_A_EV_SEQ);
	if (r != CTL_OK)
		return r;
	switch (a->type) {
	case CTL_A_EV_SEQ:
		return get_uint(a, 8, &rec->seq);
	case CTL_A_EV_TIME:
		return get_uint(a, 8, &rec->time_ms);
	case CTL_A_EV_MONO:
		return get_uint(a, 8, &rec->mono_ms);
	case CTL_A_EV_KIND:
		return get_str(a, rec->kind);
	case CTL_A_EV_HID:
		r = get_uint(a, 4, &v);
		rec->hid = (uint32_t)v;
		/* 0 means "none": sent, it would not come back the same. */
		return r == CTL_OK && v == 0 ? CTL_E_MALFORMED : r;
	case CTL_A_EV_ADDR:
		return get_addr(a, &rec->addr);
	case CTL_A_EV_RLOC:
		return set_locator_field(a, rec->rloc);
	case CTL_A_EV_LLOC:
		return set_locator_field(a, rec->lloc);
	case CTL_A_EV_VALUE:
		rec->has_value = true;
		return get_uint(a, 8, &rec->value);
	case CTL_A_EV_IFNAME:
		return get_str(a, rec->ifname);
	default:
		return get_text(a, rec->text, CTL_TEXT_MAX);
	}
}

enum ctl_result ctl_event_rec_decode(const struct ctl_tlv *tlv, struct ctl_event_rec *rec)
{
	const uint32_t required =
		ATTR_BIT(CTL_A_EV_SEQ, CTL_A_EV_SEQ) | ATTR_BIT(CTL_A_EV_TIME, CTL_A_EV_SEQ) |
		ATTR_BIT(CTL_A_EV_MONO, CTL_A_EV_SEQ) | ATTR_BIT(CTL_A_EV_KIND, CTL_A_EV_SEQ);
	uint32_t seen;

	memset(rec, 0, sizeof(*rec));
	return walk_attrs(tlv->val, tlv->len, event_attr, rec, required, &seen);
}

static enum ctl_result lkey_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	struct ctl_lkey_rec *rec = out;
	enum ctl_result r;

	if (a->type == CTL_A_LKEY_PREFIX)
		return add_prefix(a, rec->net, rec->len, &rec->n);
	if (a->type < CTL_A_LKEY_ID || a->type > CTL_A_LKEY_RUNTIME)
		return unknown_attr(a);
	r = seen_once(seen, a->type, CTL_A_LKEY_ID);
	if (r != CTL_OK)
		return r;
	switch (a->type) {
	case CTL_A_LKEY_ID:
		if (a->len != CTL_KEY_ID_LEN)
			return CTL_E_MALFORMED;
		memcpy(rec->id, a->val, CTL_KEY_ID_LEN);
		return CTL_OK;
	case CTL_A_LKEY_PUB:
		if (a->len != CTL_KEY_PUB_LEN)
			return CTL_E_MALFORMED;
		memcpy(rec->pub, a->val, CTL_KEY_PUB_LEN);
		return CTL_OK;
	default:
		return get_bool(a, &rec->runtime);
	}
}

enum ctl_result ctl_lkey_rec_decode(const struct ctl_tlv *tlv, struct ctl_lkey_rec *rec)
{
	const uint32_t required = ATTR_BIT(CTL_A_LKEY_RUNTIME + 1, CTL_A_LKEY_ID) - 1;
	uint32_t seen;

	memset(rec, 0, sizeof(*rec));
	return walk_attrs(tlv->val, tlv->len, lkey_attr, rec, required, &seen);
}

/* The one record type each reply may carry. */
static uint16_t reply_record_type(uint16_t type)
{
	switch (type) {
	case CTL_T_VERSION:
		return CTL_A_VERSION;
	case CTL_T_STATS:
		return CTL_A_STAT;
	case CTL_T_SHOW_HIDS:
		return CTL_A_HID;
	case CTL_T_SHOW_FLOWS:
		return CTL_A_FLOW;
	case CTL_T_SHOW_ADDRS:
		return CTL_A_ADDR;
	case CTL_T_MONITOR:
		return CTL_A_EVENT;
	case CTL_T_SHOW_KEYS:
	case CTL_T_SET_LOCAL_KEY:
		return CTL_A_LKEY;
	default:
		return 0;
	}
}

static enum ctl_result reply_record(const struct ctl_tlv *tlv, const struct ctl_reply_sink *sink)
{
	union {
		struct ctl_version_rec version;
		struct ctl_stat_rec stat;
		struct ctl_hid_rec hid;
		struct ctl_flow_rec flow;
		struct ctl_addr_rec addr;
		struct ctl_event_rec event;
		struct ctl_lkey_rec lkey;
	} u;
	enum ctl_result r;

	switch (tlv->type) {
	case CTL_A_VERSION:
		r = ctl_version_rec_decode(tlv, &u.version);
		if (r == CTL_OK && sink->version)
			sink->version(sink->ctx, &u.version);
		return r;
	case CTL_A_STAT:
		r = ctl_stat_rec_decode(tlv, &u.stat);
		if (r == CTL_OK && sink->stat)
			sink->stat(sink->ctx, &u.stat);
		return r;
	case CTL_A_HID:
		r = ctl_hid_rec_decode(tlv, &u.hid);
		if (r == CTL_OK && sink->hid)
			sink->hid(sink->ctx, &u.hid);
		return r;
	case CTL_A_FLOW:
		r = ctl_flow_rec_decode(tlv, &u.flow);
		if (r == CTL_OK && sink->flow)
			sink->flow(sink->ctx, &u.flow);
		return r;
	case CTL_A_ADDR:
		r = ctl_addr_rec_decode(tlv, &u.addr);
		if (r == CTL_OK && sink->addr)
			sink->addr(sink->ctx, &u.addr);
		return r;
	case CTL_A_LKEY:
		r = ctl_lkey_rec_decode(tlv, &u.lkey);
		if (r == CTL_OK && sink->lkey)
			sink->lkey(sink->ctx, &u.lkey);
		return r;
	default:
		r = ctl_event_rec_decode(tlv, &u.event);
		if (r == CTL_OK && sink->event)
			sink->event(sink->ctx, &u.event);
		return r;
	}
}

static bool is_record_type(uint16_t type)
{
	return type == CTL_A_VERSION || type == CTL_A_STAT || type == CTL_A_HID ||
	       type == CTL_A_FLOW || type == CTL_A_ADDR || type == CTL_A_EVENT ||
	       type == CTL_A_LKEY;
}

struct reply_walk {
	uint16_t want;		/* the record type this reply carries */
	const struct ctl_reply_sink *sink;
};

static enum ctl_result reply_attr(const struct ctl_tlv *a, void *out, uint32_t *seen)
{
	const struct reply_walk *rw = out;

	if (rw->want && a->type == rw->want)
		return reply_record(a, rw->sink);
	if (is_record_type(a->type))
		return CTL_E_MALFORMED;
	return unknown_attr(a);
}

enum ctl_result ctl_reply_decode(uint16_t type, const uint8_t *body, size_t len,
				 const struct ctl_reply_sink *sink)
{
	struct reply_walk rw = { reply_record_type(type), sink };
	uint32_t seen;

	return walk_attrs(body, len, reply_attr, &rw, 0, &seen);
}
