// SPDX-License-Identifier: BSD-2-Clause
/*
 * IHMP encode and decode (see ihmp_wire.h and docs/ihmp.md). Pure: bytes in,
 * struct out, and back. The decoder accepts only the canonical encoding, and
 * the encoder proves its output canonical by decoding it before handing it
 * over, so the two can never disagree on what a valid message is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dime/ihmp_wire.h"

/* ---- Byte order ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- What each type carries ---- */

#define B(t) (1u << (t))
#define COMMON (B(IHMP_T_HOST_ID) | B(IHMP_T_NONCE) | B(IHMP_T_COUNTER) | B(IHMP_T_SIGNATURE))

static const struct {
	uint32_t allowed, mandatory;
} rules[IHMP_TYPE_MAX + 1] = {
	[IHMP_HELLO] = { COMMON | B(IHMP_T_ADVERTISED) | B(IHMP_T_PUBKEY),
			 B(IHMP_T_HOST_ID) | B(IHMP_T_ADVERTISED) },
	[IHMP_PATH_PROBE] = { COMMON | B(IHMP_T_SOURCE),
			      B(IHMP_T_HOST_ID) | B(IHMP_T_SOURCE) | B(IHMP_T_NONCE) },
	[IHMP_ADDR_UP] = { COMMON | B(IHMP_T_NEW), B(IHMP_T_HOST_ID) | B(IHMP_T_NEW) },
	[IHMP_ADDR_UP_UNREACHABLE] = { COMMON | B(IHMP_T_NEW), B(IHMP_T_HOST_ID) | B(IHMP_T_NEW) },
	[IHMP_ADDR_DOWN] = { COMMON | B(IHMP_T_OLD), B(IHMP_T_HOST_ID) | B(IHMP_T_OLD) },
	[IHMP_ADDR_DOWN_UNREACHABLE] = { COMMON | B(IHMP_T_OLD), B(IHMP_T_HOST_ID) | B(IHMP_T_OLD) },
	[IHMP_HANDOFF] = { COMMON | B(IHMP_T_NEW) | B(IHMP_T_OLD),
			   B(IHMP_T_HOST_ID) | B(IHMP_T_NEW) | B(IHMP_T_OLD) },
	[IHMP_HANDOFF_UNREACHABLE] = { COMMON | B(IHMP_T_NEW) | B(IHMP_T_OLD),
				       B(IHMP_T_HOST_ID) | B(IHMP_T_NEW) | B(IHMP_T_OLD) },
	[IHMP_ACK] = { COMMON | B(IHMP_T_ACKED) | B(IHMP_T_ADVERTISED) | B(IHMP_T_OBSERVED) |
			       B(IHMP_T_PUBKEY),
		       B(IHMP_T_HOST_ID) | B(IHMP_T_ACKED) },
	[IHMP_NAT_ENTRY] = { COMMON | B(IHMP_T_NAT_MAP), B(IHMP_T_HOST_ID) | B(IHMP_T_NAT_MAP) },
};

static bool tlv_known(uint16_t type)
{
	return (type >= IHMP_T_HOST_ID && type <= IHMP_T_PUBKEY) || type == IHMP_T_SIGNATURE;
}

static bool is_handoff(uint8_t type)
{
	return type == IHMP_HANDOFF || type == IHMP_HANDOFF_UNREACHABLE;
}

static bool is_addr_down(uint8_t type)
{
	return type == IHMP_ADDR_DOWN || type == IHMP_ADDR_DOWN_UNREACHABLE;
}

/* NS may appear anywhere because a NAT sets it without knowing the type. */
static uint16_t flags_allowed(const struct ihmp_msg *m)
{
	uint16_t ok = IHMP_F_NS;

	if (is_handoff(m->type))
		ok |= IHMP_F_OU;
	if (m->type == IHMP_HELLO)
		ok |= IHMP_F_NF;
	if (m->type == IHMP_ACK)
		ok |= IHMP_F_ND | (m->acked_type == IHMP_HELLO ? IHMP_F_NF : 0);
	return ok;
}

/* ---- Addresses ---- */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* One encoding per address: IPv4 is never sent as ::ffff:a.b.c.d, and the
 * unspecified address names no host. */
static int addr_check(const struct dime_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET)
		return memcmp(a->a.u8, zero, 4) ? 0 : -EINVAL;
	if (a->family == AF_INET6) {
		if (!memcmp(a->a.u8, zero, 16) || !memcmp(a->a.u8, v4mapped_prefix, 12))
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static int get_addr(const uint8_t *v, size_t len, struct dime_addr *a)
{
	if (len == 4)
		dime_addr_from_v4(a, v);
	else if (len == 16)
		dime_addr_from_v6(a, v);
	else
		return -EINVAL;
	return addr_check(a);
}

static bool adv_has(const struct ihmp_addr_list *l, const struct dime_addr *a)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (dime_addr_eq(&l->addr[i], a))
			return true;
	return false;
}

/* ---- Decoding TLV values ---- */

static int take_acked(struct ihmp_msg *m, const uint8_t *v, size_t len)
{
	if (len != 1 || v[0] == 0 || v[0] > IHMP_TYPE_MAX || v[0] == IHMP_ACK)
		return -EINVAL;
	m->acked_type = v[0];
	return 0;
}

static int take_adv(struct ihmp_msg *m, const uint8_t *v, size_t len)
{
	struct dime_addr a;
	int err;

	if (m->adv.n == IHMP_ADDR_MAX)
		return -E2BIG;
	err = get_addr(v, len, &a);
	if (err)
		return err;
	if (adv_has(&m->adv, &a))
		return -EINVAL;
	m->adv.addr[m->adv.n++] = a;
	return 0;
}

static int take_observed(struct ihmp_msg *m, const uint8_t *v, size_t len)
{
	if (len != 2 + 4 && len != 2 + 16)
		return -EINVAL;
	m->observed_port = get16(v);
	if (m->observed_port == 0)
		return -EINVAL;
	return get_addr(v + 2, len - 2, &m->observed);
}

static size_t ipver_len(uint8_t ver)
{
	return ver == 4 ? 4 : ver == 6 ? 16 : 0;
}

/* proto, nat IP version, host IP version, reserved, nat port, host port,
 * nat address, host address. */
static int take_nat(struct ihmp_msg *m, const uint8_t *v, size_t len)
{
	struct ihmp_nat_entry *n = &m->nat;
	size_t nlen, hlen;
	int err;

	if (len < 8)
		return -EINVAL;
	nlen = ipver_len(v[1]);
	hlen = ipver_len(v[2]);
	if (v[0] == 0 || !nlen || !hlen || v[3] != 0 || len != 8 + nlen + hlen)
		return -EINVAL;
	n->nat_port = get16(v + 4);
	n->host_port = get16(v + 6);
	if (n->nat_port == 0 || n->host_port == 0)
		return -EINVAL;
	err = get_addr(v + 8, nlen, &n->nat_addr);
	if (!err)
		err = get_addr(v + 8 + nlen, hlen, &n->host_addr);
	if (err)
		return err;
	n->proto = v[0];
	return 0;
}

static int take_u64(uint64_t *out, const uint8_t *v, size_t len)
{
	if (len != 8)
		return -EINVAL;
	*out = get64(v);
	return 0;
}

/* Algorithm and raw key, with SIGNATURE's algorithm numbers: exactly 33
 * bytes for Ed25519. */
static int take_pubkey(struct ihmp_msg *m, const uint8_t *v, size_t len)
{
	if (len == 0 || v[0] == 0)
		return -EINVAL;
	if (v[0] != IHMP_SIG_ED25519)
		return -EOPNOTSUPP;
	if (len != IHMP_PUBKEY_TLV_VALUE_LEN)
		return -EINVAL;
	m->pubkey_alg = v[0];
	memcpy(m->pubkey, v + 1, IHMP_ED25519_PUB_LEN);
	m->has |= IHMP_HAS_PUBKEY;
	return 0;
}

/* off is where the TLV starts in the message: the verifier needs to know
 * where the signed bytes end and the signature begins. */
static int take_sig(struct ihmp_msg *m, const uint8_t *v, size_t len, size_t off)
{
	if (len == 0 || v[0] == 0)
		return -EINVAL;
	if (v[0] != IHMP_SIG_ED25519)
		return -EOPNOTSUPP;
	if (len != IHMP_SIG_TLV_VALUE_LEN)
		return -EINVAL;
	m->sig.alg = v[0];
	memcpy(m->sig.key_id, v + 1, IHMP_KEY_ID_LEN);
	memcpy(m->sig.value, v + 1 + IHMP_KEY_ID_LEN, IHMP_ED25519_SIG_LEN);
	m->has |= IHMP_HAS_SIG;
	m->wire.sig_off = (uint16_t)(off + IHMP_TLV_HDR_LEN + 1 + IHMP_KEY_ID_LEN);
	m->wire.sig_len = IHMP_ED25519_SIG_LEN;
	m->wire.signed_off = 0;
	m->wire.signed_len = m->wire.sig_off;
	return 0;
}

static int take_ext(struct ihmp_msg *m, uint16_t type, const uint8_t *v, size_t len)
{
	struct ihmp_ext_tlv *e;

	if (type == 0)
		return -EINVAL;
	if (type & IHMP_T_CRITICAL)
		return -EOPNOTSUPP;
	if (m->n_ext == IHMP_EXT_MAX)
		return -E2BIG;
	/* Values are disjoint slices of one message of at most IHMP_MSG_MAX
	 * bytes, so ext_data cannot overflow. */
	e = &m->ext[m->n_ext++];
	e->type = type;
	e->len = (uint16_t)len;
	e->off = m->ext_bytes;
	memcpy(m->ext_data + m->ext_bytes, v, len);
	m->ext_bytes = (uint16_t)(m->ext_bytes + len);
	return 0;
}

static int take_known(struct ihmp_msg *m, uint16_t type, const uint8_t *v, size_t len, size_t off)
{
	switch (type) {
	case IHMP_T_HOST_ID:
		return get_addr(v, len, &m->host_id);
	case IHMP_T_ACKED:
		return take_acked(m, v, len);
	case IHMP_T_SOURCE:
		return get_addr(v, len, &m->source);
	case IHMP_T_NEW:
		return get_addr(v, len, &m->new_addr);
	case IHMP_T_OLD:
		return get_addr(v, len, &m->old_addr);
	case IHMP_T_ADVERTISED:
		return take_adv(m, v, len);
	case IHMP_T_OBSERVED:
		return take_observed(m, v, len);
	case IHMP_T_NAT_MAP:
		return take_nat(m, v, len);
	case IHMP_T_NONCE:
		m->has |= IHMP_HAS_NONCE;
		return take_u64(&m->nonce, v, len);
	case IHMP_T_COUNTER:
		m->has |= IHMP_HAS_COUNTER;
		return take_u64(&m->counter, v, len);
	case IHMP_T_PUBKEY:
		return take_pubkey(m, v, len);
	default:
		return take_sig(m, v, len, off);
	}
}

/* ---- Decoding the message ---- */

static int decode_hdr(const uint8_t *buf, size_t len, struct ihmp_msg *m)
{
	if (len == 0)
		return -EMSGSIZE;
	/* The version alone is checked first: a later version may change
	 * everything after byte 0, its length included. */
	if (buf[0] != IHMP_VERSION)
		return -EPROTONOSUPPORT;
	if (len < IHMP_HDR_LEN)
		return -EMSGSIZE;
	if (len > IHMP_MSG_MAX)
		return -E2BIG;
	if (get16(buf + 6) != len)
		return -EMSGSIZE;
	m->version = buf[0];
	m->type = buf[1];
	m->flags = get16(buf + 2);
	m->seq = get16(buf + 4);
	m->wire.len = (uint16_t)len;
	if (m->type == 0 || m->type > IHMP_TYPE_MAX)
		return -ENOMSG;
	if (m->flags & ~IHMP_F_ALL)
		return -EINVAL;
	return 0;
}

/* Canonical order: ascending type, equal types only for repeatable ones.
 * SIGNATURE is outside the order; the caller makes sure it is last. */
static int check_order(uint16_t type, uint16_t *last)
{
	if (type == IHMP_T_SIGNATURE)
		return 0;
	if (type < *last)
		return -EILSEQ;
	if (type == *last && tlv_known(type) && type != IHMP_T_ADVERTISED)
		return -EILSEQ;
	*last = type;
	return 0;
}

static int take_tlv(struct ihmp_msg *m, uint16_t type, const uint8_t *v, size_t len, size_t off,
		    uint32_t *seen)
{
	if (!tlv_known(type))
		return take_ext(m, type, v, len);
	if (!(rules[m->type].allowed & B(type)))
		return -EINVAL;
	*seen |= B(type);
	return take_known(m, type, v, len, off);
}

static int decode_tlvs(const uint8_t *buf, size_t len, struct ihmp_msg *m, uint32_t *seen)
{
	size_t off = IHMP_HDR_LEN;
	uint16_t last = 0;
	int err;

	while (off < len) {
		uint16_t type, vlen;

		if (*seen & B(IHMP_T_SIGNATURE))
			return -EILSEQ;
		if (len - off < IHMP_TLV_HDR_LEN)
			return -EBADMSG;
		type = get16(buf + off);
		vlen = get16(buf + off + 2);
		if (vlen > len - off - IHMP_TLV_HDR_LEN)
			return -EBADMSG;
		err = check_order(type, &last);
		if (!err)
			err = take_tlv(m, type, buf + off + IHMP_TLV_HDR_LEN, vlen, off, seen);
		if (err)
			return err;
		off += IHMP_TLV_HDR_LEN + vlen;
	}
	return 0;
}

/* Rules that need the whole message: what is mandatory, which flags apply,
 * and addresses that contradict each other. */
static int check_msg(const struct ihmp_msg *m, uint32_t seen)
{
	uint32_t need = rules[m->type].mandatory;

	if (m->type == IHMP_ACK && m->acked_type == IHMP_HELLO)
		need |= B(IHMP_T_ADVERTISED);
	if (m->type == IHMP_ACK && m->acked_type == IHMP_PATH_PROBE)
		need |= B(IHMP_T_NONCE);
	/* A signature without a counter could be replayed forever. */
	if (seen & B(IHMP_T_SIGNATURE))
		need |= B(IHMP_T_COUNTER);
	if ((seen & need) != need)
		return -ENOENT;
	if (m->type == IHMP_ACK && m->adv.n && m->acked_type != IHMP_HELLO)
		return -EINVAL;
	/* A key only means something next to a signature it verifies, and
	 * only where a peer's key gets pinned. */
	if ((seen & B(IHMP_T_PUBKEY)) &&
	    (!(seen & B(IHMP_T_SIGNATURE)) ||
	     (m->type == IHMP_ACK && m->acked_type != IHMP_HELLO)))
		return -EINVAL;
	if (m->flags & ~flags_allowed(m))
		return -EINVAL;
	if (is_handoff(m->type) && dime_addr_eq(&m->new_addr, &m->old_addr))
		return -EINVAL;
	if (is_addr_down(m->type) && dime_addr_eq(&m->host_id, &m->old_addr))
		return -EINVAL;
	return 0;
}

int ihmp_decode(const uint8_t *buf, size_t len, struct ihmp_msg *out)
{
	uint32_t seen = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = decode_hdr(buf, len, out);
	if (!err)
		err = decode_tlvs(buf, len, out, &seen);
	if (!err)
		err = check_msg(out, seen);
	return err;
}

/* ---- Encoding ---- */

/* Writes when buf is set, only counts when it is NULL: the first pass sizes
 * the message, the second writes it into a buffer known to be big enough. */
struct wr {
	uint8_t *buf;
	size_t len;
};

static void put_tlv_hdr(struct wr *w, uint16_t type, size_t vlen)
{
	if (w->buf) {
		put16(w->buf + w->len, type);
		put16(w->buf + w->len + 2, (uint16_t)vlen);
	}
	w->len += IHMP_TLV_HDR_LEN;
}

static void put_bytes(struct wr *w, const void *p, size_t len)
{
	if (w->buf && len)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
}

static void put_tlv(struct wr *w, uint16_t type, const void *val, size_t len)
{
	put_tlv_hdr(w, type, len);
	put_bytes(w, val, len);
}

/* An address with a bad family goes out with length 0, which the check
 * decode refuses: no separate validation needed here. */
static void put_addr_tlv(struct wr *w, uint16_t type, const struct dime_addr *a)
{
	if (dime_addr_is_set(a))
		put_tlv(w, type, a->a.u8, dime_addr_len(a));
}

static void put_u64_tlv(struct wr *w, uint16_t type, uint64_t v)
{
	uint8_t b[8];

	put64(b, v);
	put_tlv(w, type, b, sizeof(b));
}

static uint8_t ipver(const struct dime_addr *a)
{
	return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 6 : 0;
}

static void put_nat(struct wr *w, const struct ihmp_nat_entry *n)
{
	uint8_t h[8];
	size_t nlen = dime_addr_len(&n->nat_addr), hlen = dime_addr_len(&n->host_addr);

	h[0] = n->proto;
	h[1] = ipver(&n->nat_addr);
	h[2] = ipver(&n->host_addr);
	h[3] = 0;
	put16(h + 4, n->nat_port);
	put16(h + 6, n->host_port);
	put_tlv_hdr(w, IHMP_T_NAT_MAP, sizeof(h) + nlen + hlen);
	put_bytes(w, h, sizeof(h));
	put_bytes(w, n->nat_addr.a.u8, nlen);
	put_bytes(w, n->host_addr.a.u8, hlen);
}

static void put_observed(struct wr *w, const struct ihmp_msg *m)
{
	uint8_t port[2];
	size_t alen = dime_addr_len(&m->observed);

	put16(port, m->observed_port);
	put_tlv_hdr(w, IHMP_T_OBSERVED, sizeof(port) + alen);
	put_bytes(w, port, sizeof(port));
	put_bytes(w, m->observed.a.u8, alen);
}

static void put_sig(struct wr *w, const struct ihmp_sig *s)
{
	put_tlv_hdr(w, IHMP_T_SIGNATURE, IHMP_SIG_TLV_VALUE_LEN);
	put_bytes(w, &s->alg, 1);
	put_bytes(w, s->key_id, IHMP_KEY_ID_LEN);
	put_bytes(w, s->value, IHMP_ED25519_SIG_LEN);
}

static void put_known(struct wr *w, const struct ihmp_msg *m, uint16_t type)
{
	switch (type) {
	case IHMP_T_HOST_ID:
		put_addr_tlv(w, type, &m->host_id);
		break;
	case IHMP_T_ACKED:
		if (m->acked_type)
			put_tlv(w, type, &m->acked_type, 1);
		break;
	case IHMP_T_SOURCE:
		put_addr_tlv(w, type, &m->source);
		break;
	case IHMP_T_NEW:
		put_addr_tlv(w, type, &m->new_addr);
		break;
	case IHMP_T_OLD:
		put_addr_tlv(w, type, &m->old_addr);
		break;
	case IHMP_T_ADVERTISED:
		for (unsigned int i = 0; i < m->adv.n; i++)
			put_addr_tlv(w, type, &m->adv.addr[i]);
		break;
	case IHMP_T_OBSERVED:
		if (dime_addr_is_set(&m->observed))
			put_observed(w, m);
		break;
	case IHMP_T_NAT_MAP:
		if (m->nat.proto)
			put_nat(w, &m->nat);
		break;
	case IHMP_T_NONCE:
		if (m->has & IHMP_HAS_NONCE)
			put_u64_tlv(w, type, m->nonce);
		break;
	case IHMP_T_COUNTER:
		if (m->has & IHMP_HAS_COUNTER)
			put_u64_tlv(w, type, m->counter);
		break;
	case IHMP_T_PUBKEY:
		if (m->has & IHMP_HAS_PUBKEY) {
			put_tlv_hdr(w, type, IHMP_PUBKEY_TLV_VALUE_LEN);
			put_bytes(w, &m->pubkey_alg, 1);
			put_bytes(w, m->pubkey, IHMP_ED25519_PUB_LEN);
		}
		break;
	}
}

/* Unknown TLVs kept from a decode go back between the known ones by type. */
static unsigned int put_ext_below(struct wr *w, const struct ihmp_msg *m, unsigned int i,
				  uint32_t limit)
{
	for (; i < m->n_ext && m->ext[i].type < limit; i++)
		put_tlv(w, m->ext[i].type, m->ext_data + m->ext[i].off, m->ext[i].len);
	return i;
}

static void put_msg(struct wr *w, const struct ihmp_msg *m, size_t total)
{
	unsigned int e = 0;

	if (w->buf) {
		w->buf[0] = m->version;
		w->buf[1] = m->type;
		put16(w->buf + 2, m->flags);
		put16(w->buf + 4, m->seq);
		put16(w->buf + 6, (uint16_t)total);
	}
	w->len = IHMP_HDR_LEN;
	for (uint16_t t = IHMP_T_HOST_ID; t <= IHMP_T_PUBKEY; t++) {
		e = put_ext_below(w, m, e, t);
		put_known(w, m, t);
	}
	put_ext_below(w, m, e, UINT32_MAX);
	if (m->has & IHMP_HAS_SIG)
		put_sig(w, &m->sig);
}

/* What the writer relies on before it copies anything: counts within their
 * arrays and kept TLVs that really are unknown, non-critical and sorted. */
static int check_encodable(const struct ihmp_msg *m)
{
	uint16_t last = 0;

	if (m->version != IHMP_VERSION || (m->has & ~IHMP_HAS_ALL) || m->adv.n > IHMP_ADDR_MAX ||
	    m->n_ext > IHMP_EXT_MAX || m->ext_bytes > sizeof(m->ext_data))
		return -EINVAL;
	for (unsigned int i = 0; i < m->n_ext; i++) {
		const struct ihmp_ext_tlv *e = &m->ext[i];

		if (e->type == 0 || tlv_known(e->type) || (e->type & IHMP_T_CRITICAL) ||
		    e->type < last || (size_t)e->off + e->len > m->ext_bytes)
			return -EINVAL;
		last = e->type;
	}
	return 0;
}

int ihmp_encode(const struct ihmp_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t tmp[IHMP_MSG_MAX];
	struct ihmp_msg check;
	struct wr w = { NULL, 0 };
	size_t total;

	if (check_encodable(m))
		return -EINVAL;
	put_msg(&w, m, 0);
	total = w.len;
	if (total > IHMP_MSG_MAX)
		return -EINVAL;
	w.buf = tmp;
	put_msg(&w, m, total);
	if (ihmp_decode(tmp, total, &check))
		return -EINVAL;
	if (total > cap)
		return -ENOSPC;
	memcpy(buf, tmp, total);
	return (int)total;
}

/* ---- Helpers ---- */

void ihmp_msg_init(struct ihmp_msg *m, uint8_t type, uint16_t seq)
{
	memset(m, 0, sizeof(*m));
	m->version = IHMP_VERSION;
	m->type = type;
	m->seq = seq;
}

int ihmp_adv_add(struct ihmp_msg *m, const struct dime_addr *addr)
{
	if (addr_check(addr))
		return -EINVAL;
	if (adv_has(&m->adv, addr))
		return -EEXIST;
	if (m->adv.n >= IHMP_ADDR_MAX)
		return -E2BIG;
	m->adv.addr[m->adv.n++] = *addr;
	return 0;
}

int ihmp_sig_input(const uint8_t *msg, size_t signed_len, uint8_t *out, size_t cap)
{
	uint8_t *copy = out + IHMP_SIG_CONTEXT_LEN;

	if (signed_len < IHMP_HDR_LEN || signed_len > IHMP_MSG_MAX)
		return -EINVAL;
	if (cap < IHMP_SIG_CONTEXT_LEN + signed_len)
		return -ENOSPC;
	memcpy(out, IHMP_SIG_CONTEXT, IHMP_SIG_CONTEXT_LEN);
	memcpy(copy, msg, signed_len);
	put16(copy + 2, (uint16_t)(get16(copy + 2) & ~IHMP_F_NS));
	return (int)(IHMP_SIG_CONTEXT_LEN + signed_len);
}

const char *ihmp_type_name(unsigned int type)
{
	static const char *const names[IHMP_TYPE_MAX + 1] = {
		[IHMP_HELLO] = "HELLO",
		[IHMP_PATH_PROBE] = "PATH_PROBE",
		[IHMP_ADDR_UP] = "ADDR_UP",
		[IHMP_ADDR_UP_UNREACHABLE] = "ADDR_UP_UNREACHABLE",
		[IHMP_ADDR_DOWN] = "ADDR_DOWN",
		[IHMP_ADDR_DOWN_UNREACHABLE] = "ADDR_DOWN_UNREACHABLE",
		[IHMP_HANDOFF] = "HANDOFF",
		[IHMP_HANDOFF_UNREACHABLE] = "HANDOFF_UNREACHABLE",
		[IHMP_ACK] = "ACK",
		[IHMP_NAT_ENTRY] = "NAT_ENTRY",
	};

	return type >= 1 && type <= IHMP_TYPE_MAX ? names[type] : "UNKNOWN";
}

const char *ihmp_flag_name(unsigned int flag)
{
	switch (flag) {
	case IHMP_F_OU:
		return "OU";
	case IHMP_F_NS:
		return "NS";
	case IHMP_F_ND:
		return "ND";
	case IHMP_F_NF:
		return "NF";
	default:
		return "?";
	}
}

const char *ihmp_flags_fmt(unsigned int flags, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (unsigned int bit = 1; bit <= IHMP_F_ALL; bit <<= 1) {
		int n;

		if (!(flags & bit))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", ihmp_flag_name(bit));
		if (n < 0 || (size_t)n >= size - used)
			return buf;
		used += (size_t)n;
	}
	if (flags & ~IHMP_F_ALL)
		snprintf(buf + used, size - used, "%s0x%x", used ? "," : "", flags & ~IHMP_F_ALL);
	else if (!used)
		snprintf(buf, size, "-");
	return buf;
}

const char *ihmp_tlv_name(unsigned int type)
{
	static const char *const names[IHMP_T_SIGNATURE + 1] = {
		[IHMP_T_HOST_ID] = "HOST_ID",
		[IHMP_T_ACKED] = "ACKED",
		[IHMP_T_SOURCE] = "SOURCE",
		[IHMP_T_NEW] = "NEW",
		[IHMP_T_OLD] = "OLD",
		[IHMP_T_ADVERTISED] = "ADVERTISED",
		[IHMP_T_OBSERVED] = "OBSERVED",
		[IHMP_T_NAT_MAP] = "NAT_MAP",
		[IHMP_T_NONCE] = "NONCE",
		[IHMP_T_COUNTER] = "COUNTER",
		[IHMP_T_PUBKEY] = "PUBKEY",
		[IHMP_T_SIGNATURE] = "SIGNATURE",
	};

	return type <= IHMP_T_SIGNATURE && names[type] ? names[type] : "UNKNOWN";
}

const char *ihmp_err_name(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EMSGSIZE:
		return "length";
	case -EPROTONOSUPPORT:
		return "version";
	case -E2BIG:
		return "too-big";
	case -ENOMSG:
		return "unknown-type";
	case -EBADMSG:
		return "overrun";
	case -EILSEQ:
		return "order";
	case -EOPNOTSUPP:
		return "unsupported";
	case -EINVAL:
		return "invalid";
	case -ENOENT:
		return "missing";
	default:
		return "error";
	}
}
