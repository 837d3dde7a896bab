/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IHMP wire format (paper section III-B to III-D) as pure encode and
 * decode: struct ihmp_msg to bytes and back, nothing else. No sockets, no
 * allocation, no state between calls; docs/ihmp.md is the specification and
 * says what the state machine does with a decoded message.
 *
 * A message is an 8-byte big-endian header (version, type, flags, sequence
 * number, total length) followed by TLVs (u16 type, u16 length, value) in
 * canonical order: ascending type, only ADVERTISED and unknown types repeat,
 * SIGNATURE last. Every accepted message has exactly one encoding, so
 * ihmp_encode(ihmp_decode(bytes)) reproduces the bytes and a signature over
 * them is unambiguous.
 */
#ifndef DIME_IHMP_WIRE_H
#define DIME_IHMP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define IHMP_VERSION 1
#define IHMP_PORT_DEFAULT 5150		/* UDP; the daemon's ihmp_port */

#define IHMP_HDR_LEN 8
#define IHMP_TLV_HDR_LEN 4
/* 1280 (IPv6 minimum MTU) - 40 (IPv6 header) - 8 (UDP): never fragmented. */
#define IHMP_MSG_MAX 1232
#define IHMP_ADDR_MAX 16		/* ADVERTISED addresses per message */
#define IHMP_EXT_MAX 16			/* unknown non-critical TLVs kept per message */

#define IHMP_NONCE_LEN 8
#define IHMP_COUNTER_LEN 8
#define IHMP_KEY_ID_LEN 8
#define IHMP_ED25519_SIG_LEN 64
/* SIGNATURE value: algorithm (1), key id (8), signature (64). */
#define IHMP_SIG_TLV_VALUE_LEN (1 + IHMP_KEY_ID_LEN + IHMP_ED25519_SIG_LEN)
#define IHMP_ED25519_PUB_LEN 32
/* PUBKEY value: algorithm (1), raw public key (32). */
#define IHMP_PUBKEY_TLV_VALUE_LEN (1 + IHMP_ED25519_PUB_LEN)

/* Prefixed to the signed bytes so an IHMP signature can never be taken for
 * a signature in another protocol that uses the same key (16 bytes, no NUL). */
#define IHMP_SIG_CONTEXT "DIME IHMP sig v1"
#define IHMP_SIG_CONTEXT_LEN 16
#define IHMP_SIG_INPUT_MAX (IHMP_SIG_CONTEXT_LEN + IHMP_MSG_MAX)

/* Message types: the paper's control field. 0 and 11..255 are unassigned. */
enum ihmp_type {
	IHMP_HELLO = 1,
	IHMP_PATH_PROBE = 2,
	IHMP_ADDR_UP = 3,
	IHMP_ADDR_UP_UNREACHABLE = 4,
	IHMP_ADDR_DOWN = 5,
	IHMP_ADDR_DOWN_UNREACHABLE = 6,
	IHMP_HANDOFF = 7,
	IHMP_HANDOFF_UNREACHABLE = 8,
	IHMP_ACK = 9,
	IHMP_NAT_ENTRY = 10,
};
#define IHMP_TYPE_MAX IHMP_NAT_ENTRY

/* Header flags (the paper's option bits). Other bits must be zero, and each
 * flag is allowed only in the types docs/ihmp.md lists for it. */
#define IHMP_F_OU 0x0001u	/* HANDOFF*: the old address was unreachable by the receiver */
#define IHMP_F_NS 0x0002u	/* any: set in transit by an IHMP-aware NAT; not signed */
#define IHMP_F_ND 0x0004u	/* ACK: the acknowledged message came through a NAT */
#define IHMP_F_NF 0x0008u	/* HELLO, ACK of HELLO: NAT forced, one-to-one HID */
#define IHMP_F_ALL (IHMP_F_OU | IHMP_F_NS | IHMP_F_ND | IHMP_F_NF)

/* TLV types. A type with IHMP_T_CRITICAL set must be understood: a receiver
 * that does not know it drops the message. Unknown types without it are
 * kept (ext[] below) and otherwise ignored. */
#define IHMP_T_CRITICAL 0x8000u
enum ihmp_tlv {
	IHMP_T_HOST_ID = 0x0001,	/* address */
	IHMP_T_ACKED = 0x0002,		/* u8: type of the acknowledged message */
	IHMP_T_SOURCE = 0x0003,		/* address: the IP source the sender used */
	IHMP_T_NEW = 0x0004,		/* address */
	IHMP_T_OLD = 0x0005,		/* address */
	IHMP_T_ADVERTISED = 0x0006,	/* address, repeated */
	IHMP_T_OBSERVED = 0x0007,	/* port, address: source seen by the ACK's sender */
	IHMP_T_NAT_MAP = 0x0008,	/* NAT port mapping */
	IHMP_T_NONCE = 0x0009,		/* 8 random bytes */
	IHMP_T_COUNTER = 0x000a,	/* u64, strictly increasing per sender */
	IHMP_T_PUBKEY = 0x000b,		/* algorithm, raw public key: HELLO, ACK of HELLO */
	IHMP_T_SIGNATURE = 0x0010,	/* always last */
};

enum ihmp_sig_alg {
	IHMP_SIG_ED25519 = 1,
};

/* Optional parts that have no other "absent" value (struct ihmp_msg.has). */
#define IHMP_HAS_NONCE 0x01u
#define IHMP_HAS_COUNTER 0x02u
#define IHMP_HAS_SIG 0x04u
#define IHMP_HAS_PUBKEY 0x08u	/* only with IHMP_HAS_SIG */
#define IHMP_HAS_ALL (IHMP_HAS_NONCE | IHMP_HAS_COUNTER | IHMP_HAS_SIG | IHMP_HAS_PUBKEY)

struct ihmp_addr_list {
	uint8_t n;
	struct dime_addr addr[IHMP_ADDR_MAX];	/* wire order, no duplicates */
};

/* nat_addr:nat_port <-> host_addr:host_port for IP protocol proto. */
struct ihmp_nat_entry {
	uint8_t proto;			/* nonzero; 0 means "no NAT_MAP" */
	uint16_t nat_port, host_port;	/* host byte order, nonzero */
	struct dime_addr nat_addr, host_addr;
};

struct ihmp_sig {
	uint8_t alg;			/* enum ihmp_sig_alg */
	uint8_t key_id[IHMP_KEY_ID_LEN];
	uint8_t value[IHMP_ED25519_SIG_LEN];
};

/* An unknown non-critical TLV, kept so re-encoding is exact. Its value is
 * ext_data[off .. off + len). */
struct ihmp_ext_tlv {
	uint16_t type, len, off;
};

/* Where things sit in the decoded bytes, for the verifier. Filled by
 * ihmp_decode, ignored by ihmp_encode. Without a signature only len is set. */
struct ihmp_wire_info {
	uint16_t len;			/* whole message */
	uint16_t signed_off, signed_len;	/* always 0 and sig_off */
	uint16_t sig_off, sig_len;	/* the 64 signature bytes: the last ones */
};

/*
 * One message. Optional addresses are absent when their family is 0,
 * acked_type when 0, the NAT entry when nat.proto is 0, nonce, counter and
 * signature when their IHMP_HAS_ bit is clear. Which parts a type needs or
 * may carry is in docs/ihmp.md; both functions below enforce it.
 */
struct ihmp_msg {
	uint8_t version;		/* IHMP_VERSION */
	uint8_t type;			/* enum ihmp_type */
	uint16_t flags;			/* IHMP_F_* */
	uint16_t seq;			/* an ACK carries the acknowledged seq */
	uint8_t has;			/* IHMP_HAS_* */
	uint8_t acked_type;		/* ACK only */
	struct dime_addr host_id;	/* always present */
	struct dime_addr source;	/* PATH_PROBE */
	struct dime_addr new_addr;	/* ADDR_UP*, HANDOFF* */
	struct dime_addr old_addr;	/* ADDR_DOWN*, HANDOFF* */
	struct ihmp_addr_list adv;	/* HELLO, ACK of HELLO */
	struct dime_addr observed;	/* ACK, optional */
	uint16_t observed_port;		/* host byte order, nonzero with observed */
	struct ihmp_nat_entry nat;	/* NAT_ENTRY */
	uint64_t nonce;
	uint64_t counter;
	/* The sender's public key (trust on first use, docs/security.md 5):
	 * HELLO and ACK of HELLO, signed messages only. */
	uint8_t pubkey_alg;		/* enum ihmp_sig_alg */
	uint8_t pubkey[IHMP_ED25519_PUB_LEN];
	struct ihmp_sig sig;
	uint8_t n_ext;
	uint16_t ext_bytes;
	struct ihmp_ext_tlv ext[IHMP_EXT_MAX];	/* ascending type */
	uint8_t ext_data[IHMP_MSG_MAX];
	struct ihmp_wire_info wire;
};

/* Zero *m and set version, type and seq. */
void ihmp_msg_init(struct ihmp_msg *m, uint8_t type, uint16_t seq);

/* Append to m->adv: 0, -EINVAL (unset, unspecified or v4-mapped address),
 * -EEXIST (already listed), -E2BIG (IHMP_ADDR_MAX reached). */
int ihmp_adv_add(struct ihmp_msg *m, const struct dime_addr *addr);

/*
 * Decode exactly len bytes into *out (zeroed first). Reads nothing outside
 * buf[0 .. len). Returns 0 or the first failure found (the order of the
 * checks is in docs/ihmp.md, section 9). out is filled as far as decoding
 * got, for logs, but is only valid on 0:
 *   -EMSGSIZE         len is 0, below the header, or not the header's length
 *   -EPROTONOSUPPORT  version is not IHMP_VERSION (checked on byte 0 alone)
 *   -E2BIG            len above IHMP_MSG_MAX; more than IHMP_ADDR_MAX
 *                     addresses or IHMP_EXT_MAX unknown TLVs
 *   -ENOMSG           unknown message type
 *   -EBADMSG          a TLV header or value runs past the end
 *   -EILSEQ           TLVs out of order: descending type, a singleton
 *                     repeated, anything after SIGNATURE
 *   -EOPNOTSUPP       unknown critical TLV, unknown signature algorithm
 *   -EINVAL           bad value or length (zero-length included), reserved
 *                     bit or byte set, flag or TLV not allowed for the type
 *                     (PUBKEY outside HELLO and ACK of HELLO, or without a
 *                     SIGNATURE), duplicate address, contradictory addresses
 *   -ENOENT           a mandatory TLV is missing
 * A message that fails must be dropped, counted and never answered.
 */
int ihmp_decode(const uint8_t *buf, size_t len, struct ihmp_msg *out);

/*
 * Encode *m (wire info ignored) into buf. Returns the length, or -EINVAL
 * (anything ihmp_decode would refuse, or longer than IHMP_MSG_MAX) or
 * -ENOSPC (cap too small; IHMP_MSG_MAX always suffices). buf is untouched
 * on error. With IHMP_HAS_SIG the signature value goes out as given and is
 * the last IHMP_ED25519_SIG_LEN bytes: sign afterwards, see ihmp_sig_input.
 */
int ihmp_encode(const struct ihmp_msg *m, uint8_t *buf, size_t cap);

/*
 * The bytes an Ed25519 signature covers: IHMP_SIG_CONTEXT, then msg[0 ..
 * signed_len) with the NS flag cleared (NATs set it in transit). signed_len
 * is wire.signed_len after decoding, or (encoded length - 64) when signing.
 * Returns the input length, -EINVAL (signed_len below the header or above
 * IHMP_MSG_MAX) or -ENOSPC (cap below IHMP_SIG_CONTEXT_LEN + signed_len).
 */
int ihmp_sig_input(const uint8_t *msg, size_t signed_len, uint8_t *out, size_t cap);

/* "HELLO", "PATH_PROBE", ...; "UNKNOWN" otherwise. Never NULL. */
const char *ihmp_type_name(unsigned int type);
/* "OU", "NS", "ND", "NF" for one flag bit; "?" otherwise. */
const char *ihmp_flag_name(unsigned int flag);
/* "OU,ND", "-" when none, unknown bits as hex. Returns buf. */
const char *ihmp_flags_fmt(unsigned int flags, char *buf, size_t size);
/* "HOST_ID", ...; "UNKNOWN" otherwise. */
const char *ihmp_tlv_name(unsigned int type);
/* Stable token for a decode error, for drop counters: "length", "version",
 * "too-big", "unknown-type", "overrun", "order", "unsupported", "invalid",
 * "missing"; "ok" for 0, "error" otherwise. */
const char *ihmp_err_name(int err);

#endif
