/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control protocol between dimed and dimectl, as pure encode and decode
 * shared by both programs (docs/control-protocol.md is the specification).
 * Nothing here touches a socket or allocates: every function takes a buffer
 * and a length.
 *
 * A message is one frame or, for a long reply, several: a fixed 12-byte
 * big-endian header (magic, version, flags, message type, result code, body
 * length) and a body of TLVs (u16 type, u16 length, value), nested for
 * records. Requests are at most CTL_REQUEST_BODY_MAX bytes of body, reply
 * frames at most CTL_REPLY_BODY_MAX; a table longer than that goes out as
 * several frames with CTL_F_MORE on all but the last. The reply to
 * MONITOR is a stream: an empty first frame, then one frame per event,
 * all with CTL_F_MORE, until a last frame without it ends the stream.
 *
 * Decoders check every length exactly and say what was wrong with a
 * distinct enum ctl_result, which is also the result code carried on the
 * wire: one table of codes and messages for the daemon and the client.
 */
#ifndef DIME_CTL_PROTO_H
#define DIME_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define CTL_MAGIC 0xD1C7u
#define CTL_VERSION 1
#define CTL_HDR_LEN 12
#define CTL_REQUEST_BODY_MAX 4096u
#define CTL_REPLY_BODY_MAX (256u * 1024u)
#define CTL_FRAME_MAX (CTL_HDR_LEN + CTL_REPLY_BODY_MAX)
#define CTL_REQUEST_MAX (CTL_HDR_LEN + CTL_REQUEST_BODY_MAX)

/* Header flags. Every other bit must be zero. */
#define CTL_F_REPLY 0x01	/* sent by dimed */
#define CTL_F_MORE 0x02		/* replies only: another frame of this reply follows */

#define CTL_TLV_HDR_LEN 4
/* Attribute types with this bit set must be understood: a receiver that
 * does not know one rejects the message (CTL_E_UNSUPPORTED). Unknown types
 * without it are skipped, so either side may add optional attributes. */
#define CTL_A_MANDATORY 0x8000u

#define CTL_NAME_MAX 63		/* counter names and version strings, bytes */
#define CTL_TEXT_MAX 255	/* an event's free text, bytes */
#define CTL_ADDR_LIST_MAX 16	/* addresses per set in a HID record */
#define CTL_ADDRS_MAX 256	/* records in a SHOW_ADDRS reply */
#define CTL_KEY_SEED_LEN 32	/* an Ed25519 private key's seed */
#define CTL_KEY_PUB_LEN 32
#define CTL_KEY_ID_LEN 8	/* as IHMP's SIGNATURE names a key */
#define CTL_KEY_PREFIXES_MAX 16	/* addresses or prefixes one key is bound to */

/* Message types. Bit 0x0100 marks requests that change state: only root
 * (or dimed's own user) may send them, group "dime" may read. */
#define CTL_T_CHANGES_STATE 0x0100u
enum ctl_type {
	CTL_T_VERSION = 0x0001,
	CTL_T_STATS = 0x0002,
	CTL_T_SHOW_HIDS = 0x0003,
	CTL_T_SHOW_FLOWS = 0x0004,
	CTL_T_SHOW_ADDRS = 0x0005,
	CTL_T_MONITOR = 0x0006,		/* turns the connection into an event stream */
	CTL_T_SHOW_KEYS = 0x0007,	/* our IHMP keys: ids and bound prefixes */
	CTL_T_SET_LOCATOR = 0x0101,
	CTL_T_RELOAD = 0x0102,		/* re-read the configuration (as SIGHUP) */
	CTL_T_SET_LOCAL_KEY = 0x0103,	/* install or remove one of our IHMP keys; uid 0 only */
};

/* Attribute types, one number space for the whole protocol. */
enum ctl_attr {
	/* SET_LOCATOR request: 4 or 16 bytes, the family is the length. */
	CTL_A_PEER = 0x0001,
	CTL_A_REMOTE = 0x0002,
	CTL_A_LOCAL = 0x0003,
	/* SET_LOCAL_KEY request. */
	CTL_A_KEY_SEED = 0x0004,	/* 32 bytes: the private key; absent with REMOVE */
	CTL_A_KEY_PREFIX = 0x0005,	/* u8 length + 4 or 16 bytes, host bits zero; repeated */
	CTL_A_KEY_REMOVE = 0x0006,	/* u8, 1: remove the key of this list */
	/* Reply bodies, top level. */
	CTL_A_VERSION = 0x0010,		/* string, 1..CTL_NAME_MAX bytes */
	CTL_A_STAT = 0x0011,		/* nested STAT_* */
	CTL_A_HID = 0x0012,		/* nested HID_* */
	CTL_A_FLOW = 0x0013,		/* nested FLOW_* */
	CTL_A_ADDR = 0x0014,		/* nested ADDR_* */
	CTL_A_EVENT = 0x0015,		/* nested EV_* */
	CTL_A_LKEY = 0x0016,		/* nested LKEY_*: one of our IHMP keys */
	/* Inside CTL_A_STAT. */
	CTL_A_STAT_NAME = 0x0020,	/* string, 1..CTL_NAME_MAX bytes */
	CTL_A_STAT_VALUE = 0x0021,	/* u64 */
	/* Inside CTL_A_HID. */
	CTL_A_HID_ID = 0x0030,		/* u32 */
	CTL_A_HID_REFS = 0x0031,	/* u32 */
	CTL_A_HID_MOVED = 0x0032,	/* u8, 0 or 1 */
	CTL_A_HID_HAS_KEY = 0x0033,	/* u8, 0 or 1 */
	CTL_A_HID_RLOC = 0x0034,	/* address, at most one per family */
	CTL_A_HID_LLOC = 0x0035,	/* address, at most one per family */
	CTL_A_HID_ACTIVE = 0x0036,	/* address, repeated */
	CTL_A_HID_UNREACH = 0x0037,	/* address, repeated */
	CTL_A_HID_LOCAL = 0x0038,	/* address, repeated */
	CTL_A_HID_CREATED_AGE = 0x0039,	/* u64 ms */
	CTL_A_HID_USED_AGE = 0x003a,	/* u64 ms */
	/* Inside CTL_A_FLOW. */
	CTL_A_FLOW_PROTO = 0x0040,	/* u8, IP protocol number */
	CTL_A_FLOW_FAMILY = 0x0041,	/* u8, 4 or 6 */
	CTL_A_FLOW_LID = 0x0042,	/* address */
	CTL_A_FLOW_LPORT = 0x0043,	/* u16 */
	CTL_A_FLOW_RID = 0x0044,	/* address */
	CTL_A_FLOW_RPORT = 0x0045,	/* u16 */
	CTL_A_FLOW_HID = 0x0046,	/* u32 */
	CTL_A_FLOW_TCP_STATE = 0x0047,	/* u8, enum dime_tcp_state */
	CTL_A_FLOW_IDLE = 0x0048,	/* u64 ms */
	CTL_A_FLOW_OFFLOADED = 0x0049,	/* u8, 0 or 1, optional: the kernel rewrites it */
	/* Inside CTL_A_ADDR. */
	CTL_A_ADDR_ADDR = 0x0050,	/* address */
	CTL_A_ADDR_IFINDEX = 0x0051,	/* u32, 0 when unknown */
	CTL_A_ADDR_IFNAME = 0x0052,	/* string, optional */
	CTL_A_ADDR_ADVERTISED = 0x0053,	/* u8, 0 or 1: IHMP advertises it */
	CTL_A_ADDR_PINNED = 0x0054,	/* u8, 0 or 1: dimed keeps it on lo */
	CTL_A_ADDR_FLOWS = 0x0055,	/* u32: flows whose local identifier it is */
	/* Inside CTL_A_EVENT. */
	CTL_A_EV_SEQ = 0x0060,		/* u64, numbers the events sent, from 1 */
	CTL_A_EV_TIME = 0x0061,		/* u64 ms since the Unix epoch (CLOCK_REALTIME) */
	CTL_A_EV_MONO = 0x0062,		/* u64 ms on dimed's monotonic clock */
	CTL_A_EV_KIND = 0x0063,		/* string: "addr-up", ... */
	CTL_A_EV_HID = 0x0064,		/* u32, optional */
	CTL_A_EV_ADDR = 0x0065,		/* address, optional */
	CTL_A_EV_RLOC = 0x0066,		/* address, at most one per family */
	CTL_A_EV_LLOC = 0x0067,		/* address, at most one per family */
	CTL_A_EV_VALUE = 0x0068,	/* u64, optional, meaning by kind */
	CTL_A_EV_IFNAME = 0x0069,	/* string, optional */
	CTL_A_EV_TEXT = 0x006a,		/* text, 1..CTL_TEXT_MAX bytes, optional */
	/* Inside CTL_A_LKEY. */
	CTL_A_LKEY_ID = 0x0070,		/* 8 bytes */
	CTL_A_LKEY_PUB = 0x0071,	/* 32 bytes: the public key */
	CTL_A_LKEY_RUNTIME = 0x0072,	/* u8, 0 or 1: set by dimectl, lost at restart */
	CTL_A_LKEY_PREFIX = 0x0073,	/* as CTL_A_KEY_PREFIX, repeated; none: every address */
};

/* Result codes: the wire value of a reply header, and what every decoder
 * returns. Numbers are stable; add at the end. */
enum ctl_result {
	CTL_OK = 0,
	CTL_E_MALFORMED = 1,		/* bad flags, field length or value, missing or repeated attribute */
	CTL_E_VERSION = 2,
	CTL_E_UNKNOWN_COMMAND = 3,
	CTL_E_NO_SUCH_HOST = 4,
	CTL_E_INVALID_ARGUMENT = 5,
	CTL_E_TABLE_FULL = 6,
	CTL_E_PERMISSION = 7,
	CTL_E_INTERNAL = 8,
	CTL_E_TRUNCATED = 9,		/* fewer bytes than the header announces */
	CTL_E_TOO_BIG = 10,		/* body length above the bound */
	CTL_E_BAD_MAGIC = 11,
	CTL_E_OVERRUN = 12,		/* a TLV runs past its parent */
	CTL_E_UNSUPPORTED = 13,		/* an unknown mandatory attribute */
	CTL_E_BUSY = 14,		/* too many control clients */
	CTL_E_MONITOR_FULL = 15,	/* too many monitor clients */
	CTL_E_TOO_SLOW = 16,		/* a monitor fell behind its event stream */
	CTL_E_CONFIG = 17,		/* RELOAD: the file has errors, nothing changed */
	CTL_E_NEED_ROOT = 18,		/* SET_LOCAL_KEY from a client whose uid is not 0 */
	CTL_E_IHMP_OFF = 19,		/* a key request while IHMP is off */
	CTL_E_KEY_BOUND = 20,		/* SET_LOCAL_KEY: a prefix is bound to another list */
	CTL_E_NO_SUCH_KEY = 21,		/* SET_LOCAL_KEY remove: no key for that list */
	CTL_RESULT_COUNT
};

/* The message for a code ("no such host"); never NULL. */
const char *ctl_result_str(unsigned int code);
/* A short stable token ("no-such-host") for logs and scripts. */
const char *ctl_result_name(unsigned int code);
/* From a backend's -errno: -ENOENT/-ESTALE no such host, -EINVAL and
 * -EEXIST invalid argument, -ENOSPC table full, -EPERM/-EACCES
 * permission, anything else internal. 0 is CTL_OK. */
enum ctl_result ctl_result_from_errno(int err);

/* Name of a message type ("show-flows"), or NULL when not in version 1. */
const char *ctl_type_name(unsigned int type);

struct ctl_hdr {
	uint8_t version;
	uint8_t flags;
	uint16_t type;
	uint16_t result;
	uint32_t len;		/* body bytes after the header */
};

/* Write the 12 header bytes (magic and hdr->version included). */
void ctl_hdr_put(uint8_t *out, const struct ctl_hdr *hdr);

/*
 * Read and check a header from len bytes: CTL_E_TRUNCATED (len < 12),
 * CTL_E_BAD_MAGIC, CTL_E_VERSION, CTL_E_MALFORMED (unknown flag bits, the
 * reply bit not matching `reply`, MORE or a result in a request),
 * CTL_E_TOO_BIG (body above the bound for the direction). hdr is filled
 * as far as the bytes allow, so an error reply can echo the type.
 */
enum ctl_result ctl_hdr_get(const uint8_t *buf, size_t len, bool reply, struct ctl_hdr *hdr);

/* A header-only reply frame (an error, or an empty OK). Returns CTL_HDR_LEN. */
size_t ctl_reply_hdr_only(uint8_t *out, uint16_t type, enum ctl_result result);

/* ---- Writing TLVs ---- */

#define CTL_NEST_MAX 4

/* A TLV writer over a caller's buffer. A put that does not fit returns
 * -ENOSPC and writes nothing, so a caller can end a frame cleanly. */
struct ctl_writer {
	uint8_t *buf;
	size_t cap, len;
	size_t nest[CTL_NEST_MAX];	/* offsets of open nested TLVs */
	unsigned int depth;
};

void ctl_writer_init(struct ctl_writer *w, uint8_t *buf, size_t cap);
int ctl_put(struct ctl_writer *w, uint16_t type, const void *val, size_t len);
int ctl_put_u8(struct ctl_writer *w, uint16_t type, uint8_t v);
int ctl_put_u16(struct ctl_writer *w, uint16_t type, uint16_t v);
int ctl_put_u32(struct ctl_writer *w, uint16_t type, uint32_t v);
int ctl_put_u64(struct ctl_writer *w, uint16_t type, uint64_t v);
/* 4 or 16 bytes by family; -EINVAL when unset. */
int ctl_put_addr(struct ctl_writer *w, uint16_t type, const struct dime_addr *addr);
/* 1..CTL_NAME_MAX bytes without NUL, else -EINVAL. */
int ctl_put_str(struct ctl_writer *w, uint16_t type, const char *s);
/* Open and close a nested TLV: 0, -ENOSPC, or -E2BIG (nesting too deep,
 * or a value above 65535 bytes at close). */
int ctl_nest_begin(struct ctl_writer *w, uint16_t type);
int ctl_nest_end(struct ctl_writer *w);

/* ---- Reading TLVs ---- */

struct ctl_tlv {
	uint16_t type;
	uint16_t len;
	const uint8_t *val;
};

/* Walks the TLVs of one body or one nested value. ctl_tlv_next returns
 * false at the end and on an error; err then tells which (CTL_OK at a
 * clean end, CTL_E_OVERRUN when a TLV runs past its parent). */
struct ctl_tlv_iter {
	const uint8_t *p;
	size_t len, off;
	enum ctl_result err;
};

void ctl_tlv_iter_init(struct ctl_tlv_iter *it, const uint8_t *buf, size_t len);
bool ctl_tlv_next(struct ctl_tlv_iter *it, struct ctl_tlv *tlv);

/* ---- Requests ---- */

/* SET_LOCAL_KEY: the key for the addresses or prefixes net[i]/len[i]
 * (n 0: every local address, the default key). Exactly one of a seed and
 * remove. The seed is a secret: whoever holds a copy cleanses it. */
struct ctl_set_local_key {
	bool remove;
	uint8_t seed[CTL_KEY_SEED_LEN];
	uint8_t n;
	struct dime_addr net[CTL_KEY_PREFIXES_MAX];
	uint8_t len[CTL_KEY_PREFIXES_MAX];
};

struct ctl_request {
	uint16_t type;
	/* SET_LOCATOR: peer is required; remote and local are optional
	 * (family 0 when absent) but at least one is given. */
	struct dime_addr peer, remote, local;
	struct ctl_set_local_key key;	/* SET_LOCAL_KEY */
};

/* Encode a whole request (header and body) into buf: 0 with *len set,
 * -EINVAL (a request this version cannot send or a missing field),
 * -ENOSPC (cap too small; CTL_REQUEST_MAX always suffices). */
int ctl_request_encode(const struct ctl_request *req, uint8_t *buf, size_t cap, size_t *len);

/* Decode the body of a request whose header ctl_hdr_get accepted.
 * CTL_E_UNKNOWN_COMMAND for types this version does not serve. */
enum ctl_result ctl_request_decode(const struct ctl_hdr *hdr, const uint8_t *body, size_t len,
				   struct ctl_request *req);

/* Header and body from exactly len bytes: CTL_E_TRUNCATED when the body
 * is shorter than announced, CTL_E_MALFORMED when bytes follow it. */
enum ctl_result ctl_request_parse(const uint8_t *buf, size_t len, struct ctl_request *req);

/* ---- Reply records ---- */

struct ctl_version_rec {
	char version[CTL_NAME_MAX + 1];
};

struct ctl_stat_rec {
	char name[CTL_NAME_MAX + 1];
	uint64_t value;
};

struct ctl_addr_list {
	uint32_t n;
	struct dime_addr addr[CTL_ADDR_LIST_MAX];
};

/* Index of the per-family locators. */
enum { CTL_AF4 = 0, CTL_AF6 = 1 };

struct ctl_hid_rec {
	uint32_t hid;
	uint32_t refs;			/* flows bound */
	bool moved, has_key;
	struct dime_addr rloc[2];	/* CTL_AF4, CTL_AF6; family 0 when unset */
	struct dime_addr lloc[2];
	struct ctl_addr_list active, unreach, local;
	uint64_t created_age_ms, used_age_ms;
};

/* One of the host's own addresses (SHOW_ADDRS). An address on several
 * interfaces, or on one and pinned on lo, is one record per place. */
struct ctl_addr_rec {
	struct dime_addr addr;
	uint32_t ifindex;		/* 0 when unknown */
	char ifname[CTL_NAME_MAX + 1];	/* "" when unknown */
	bool advertised;		/* IHMP advertises it to peers (up) */
	bool pinned;			/* dimed keeps it on lo for flows that outlived it */
	uint32_t flows;			/* flows whose local identifier it is */
};

/*
 * The kinds of event MONITOR streams. On the wire an event carries its
 * kind's name, so a client prints kinds it does not know by name too.
 * Which optional fields each kind carries: docs/control-protocol.md.
 */
enum ctl_event_kind {
	CTL_EV_ADDR_UP,			/* addr, ifname: IHMP advertises it now */
	CTL_EV_ADDR_DOWN,		/* addr, ifname: no longer advertised */
	CTL_EV_HANDOFF_SENT,		/* hid, addr (peer), lloc, value = try */
	CTL_EV_HANDOFF_ACKED,		/* hid, addr (peer), value = ms since the first try */
	CTL_EV_LOCATORS,		/* hid, rloc, lloc: the locators now in use */
	CTL_EV_PEER_LOST,		/* hid, addr, text */
	CTL_EV_PIN_ADDED,		/* addr, value = flows using it */
	CTL_EV_PIN_REMOVED,		/* addr, text */
	CTL_EV_RELOAD,			/* text: the configuration was applied */
	CTL_EV_RELOAD_FAILED,		/* text: why; the old configuration stays */
	CTL_EV_KIND_COUNT
};

/* "addr-up", ...; NULL for a value outside the enum. */
const char *ctl_event_kind_name(unsigned int kind);

/* One event as it travels: what the daemon reported plus the server's
 * sequence number and clocks. Empty strings and family 0 mean absent. */
struct ctl_event_rec {
	uint64_t seq;
	uint64_t time_ms;		/* CLOCK_REALTIME, ms since the epoch */
	uint64_t mono_ms;		/* dimed's monotonic clock */
	char kind[CTL_NAME_MAX + 1];
	uint32_t hid;			/* 0: none */
	struct dime_addr addr;
	struct dime_addr rloc[2];	/* CTL_AF4, CTL_AF6 */
	struct dime_addr lloc[2];
	bool has_value;
	uint64_t value;
	char ifname[CTL_NAME_MAX + 1];
	char text[CTL_TEXT_MAX + 1];
};

struct ctl_flow_rec {
	uint8_t proto;
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t tcp_state;		/* enum dime_tcp_state */
	uint16_t lport, rport;		/* host order */
	struct dime_addr lid, rid;
	uint32_t hid;
	uint64_t idle_ms;
	bool offloaded;			/* the kernel rewrites its packets, not dimed */
};

/* One of our IHMP keys (SHOW_KEYS, and the reply to SET_LOCAL_KEY). */
struct ctl_lkey_rec {
	uint8_t id[CTL_KEY_ID_LEN];
	uint8_t pub[CTL_KEY_PUB_LEN];
	bool runtime;			/* set by dimectl set-local-key */
	uint8_t n;			/* 0: the default key, every local address */
	struct dime_addr net[CTL_KEY_PREFIXES_MAX];
	uint8_t len[CTL_KEY_PREFIXES_MAX];
};

/* Append one record as a nested TLV. 0, -ENOSPC (nothing written: end
 * the frame here), -EINVAL (a field the protocol cannot carry). */
int ctl_put_version(struct ctl_writer *w, const char *version);
int ctl_put_stat(struct ctl_writer *w, const char *name, uint64_t value);
int ctl_put_hid_rec(struct ctl_writer *w, const struct ctl_hid_rec *rec);
int ctl_put_flow_rec(struct ctl_writer *w, const struct ctl_flow_rec *rec);
int ctl_put_addr_rec(struct ctl_writer *w, const struct ctl_addr_rec *rec);
/* kind and text are required to be 1..CTL_NAME_MAX and at most
 * CTL_TEXT_MAX bytes; empty optional strings are left out. */
int ctl_put_event_rec(struct ctl_writer *w, const struct ctl_event_rec *rec);
int ctl_put_lkey_rec(struct ctl_writer *w, const struct ctl_lkey_rec *rec);

/* Decode the value of one record TLV. Unknown optional attributes are
 * skipped; missing required ones, repeats, bad lengths and bad values are
 * CTL_E_MALFORMED. */
enum ctl_result ctl_version_rec_decode(const struct ctl_tlv *tlv, struct ctl_version_rec *rec);
enum ctl_result ctl_stat_rec_decode(const struct ctl_tlv *tlv, struct ctl_stat_rec *rec);
enum ctl_result ctl_hid_rec_decode(const struct ctl_tlv *tlv, struct ctl_hid_rec *rec);
enum ctl_result ctl_flow_rec_decode(const struct ctl_tlv *tlv, struct ctl_flow_rec *rec);
enum ctl_result ctl_addr_rec_decode(const struct ctl_tlv *tlv, struct ctl_addr_rec *rec);
enum ctl_result ctl_event_rec_decode(const struct ctl_tlv *tlv, struct ctl_event_rec *rec);
enum ctl_result ctl_lkey_rec_decode(const struct ctl_tlv *tlv, struct ctl_lkey_rec *rec);

/* Where a decoded reply body's records go; callbacks may be NULL. */
struct ctl_reply_sink {
	void (*version)(void *ctx, const struct ctl_version_rec *rec);
	void (*stat)(void *ctx, const struct ctl_stat_rec *rec);
	void (*hid)(void *ctx, const struct ctl_hid_rec *rec);
	void (*flow)(void *ctx, const struct ctl_flow_rec *rec);
	void (*addr)(void *ctx, const struct ctl_addr_rec *rec);
	void (*event)(void *ctx, const struct ctl_event_rec *rec);
	void (*lkey)(void *ctx, const struct ctl_lkey_rec *rec);
	void *ctx;
};

/*
 * Decode one reply frame's body for a request of `type`, handing each
 * record to the sink in order. Records that do not belong to that reply
 * are CTL_E_MALFORMED; unknown optional top-level attributes are skipped.
 * Records before an error have already been handed over.
 */
enum ctl_result ctl_reply_decode(uint16_t type, const uint8_t *body, size_t len,
				 const struct ctl_reply_sink *sink);

#endif
