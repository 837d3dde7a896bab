/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The HID table (paper Fig. 3(b)): one entry per foreign host, holding its
 * active and unreachable addresses, our local addresses it can reach, an
 * optional host key, the preferred locators the data plane writes on the
 * wire, and an opaque slot for the IHMP state the control plane keeps.
 *
 * A HID is a u32 handle that never leaves the process: the low bits index
 * the entry array, the high bits are a generation bumped on every destroy,
 * so a handle kept after its host was destroyed is detected as stale
 * (dime_hid_get() returns NULL). With the maximum capacity (2^22) there are
 * still 10 generation bits; smaller tables get more.
 *
 * A hash index maps every remote address a HID owns to that HID in O(1):
 * its active and unreachable addresses, and every remote identifier a live
 * flow bound to it (dime_hid_bind), even after that address left both sets.
 * Local addresses are ours, shared by many HIDs, and are not indexed.
 * An address maps to at most one HID: claiming an address another live HID
 * owns fails with -EEXIST and changes nothing; the caller decides (merge,
 * destroy the other, or drop the packet).
 *
 * Everything is preallocated at init: a full table returns -ENOSPC and
 * never evicts; choosing a victim (for example the HID with no flows and the
 * oldest used_ms, found with dime_hid_next) is the caller's policy.
 * Time is always a parameter (milliseconds on any monotonic scale).
 */
#ifndef DIME_HID_H
#define DIME_HID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define DIME_HID_NONE 0u		/* never a valid handle */
#define DIME_HID_CAPACITY_MAX (1u << 22)
#define DIME_HID_SET_MAX 8		/* addresses per set; a full set gives -ENOSPC */
#define DIME_HID_KEY_MAX 32		/* raw Ed25519 public key */

enum dime_hid_set {
	DIME_HID_ACTIVE,	/* theirs, reachable from here */
	DIME_HID_UNREACH,	/* theirs, not reachable from here (yet) */
	DIME_HID_LOCAL,		/* ours, reachable by them */
};

/* Index of the per-family locator arrays. */
enum { DIME_AF4 = 0, DIME_AF6 = 1 };

struct dime_addr_set {
	uint32_t n;
	struct dime_addr addr[DIME_HID_SET_MAX];	/* insertion order */
};

/*
 * One foreign host. The data plane reads the first block per packet; the
 * sets and the key are for the control plane. Change addresses and locators
 * only through the functions below (they keep the index in step); used_ms
 * and ihmp are the caller's to write directly.
 */
struct dime_hid_entry {
	uint32_t hid;			/* own handle (stale once destroyed) */
	uint32_t refs;			/* flows bound (dime_hid_bind) */
	/* Preferred locators per family (DIME_AF4/DIME_AF6), family 0 when
	 * unset. Always a member of active (rloc) or local (lloc). */
	struct dime_addr rloc[2];
	struct dime_addr lloc[2];
	/* Bumped on every locator change, so per-flow cached decisions can be
	 * checked cheaply. */
	uint32_t epoch;
	/* Set when some bound flow may carry identifiers that differ from the
	 * current locators: a locator changed while flows were bound, or a
	 * flow bound identifiers other than the locators. Cleared when the
	 * last flow goes. Clear means no flow of this HID needs rewriting. */
	bool moved;
	/* Our side of this host is between addresses (IHMP: hold, or a
	 * HANDOFF not yet acknowledged): packets of flows whose local
	 * identifier is not the local locator must not leave, since the peer
	 * would not recognise the source yet. Per family (DIME_AF4/DIME_AF6):
	 * each family's HANDOFF is acknowledged on its own. Written by the
	 * control plane. */
	bool out_held[2];
	/*
	 * Path validation (docs/security.md 3.6), per family: the remote
	 * locator rloc[f] has not yet echoed our nonce from itself. Until it
	 * does, the data plane sends it at most three times the bytes it
	 * received from it (pv_rx, pv_tx count them) and holds the rest.
	 * Written by the control plane, which also resets the counters when it
	 * sets the flag (pv_rx starting at the size of the message that
	 * named the locator); the data plane only adds to them.
	 */
	bool rloc_unvalidated[2];
	uint64_t pv_rx[2], pv_tx[2];
	bool has_key;
	uint8_t key_len;
	uint64_t created_ms;
	uint64_t used_ms;
	void *ihmp;			/* control-plane state; never touched here */
	struct dime_addr_set active;
	struct dime_addr_set unreach;
	struct dime_addr_set local;
	uint8_t key[DIME_HID_KEY_MAX];
};

/* 128-bit key of the SipHash-1-3 both tables hash with. */
struct dime_sipkey {
	uint64_t k0, k1;
};

struct dime_hid_config {
	uint32_t capacity;		/* HIDs, 1..DIME_HID_CAPACITY_MAX */
	uint32_t max_addrs;		/* indexed remote addresses, capacity..16*capacity */
	struct dime_sipkey seed;	/* random in the daemon, fixed in tests */
};

struct dime_hid_stats {
	uint32_t count, capacity;
	uint32_t addrs, max_addrs;	/* index entries in use, bound */
	uint32_t slots;			/* index slots (power of two) */
	size_t bytes;			/* everything allocated at init */
};

struct dime_hid_table;

int dime_hid_table_new(struct dime_hid_table **out, const struct dime_hid_config *cfg);
void dime_hid_table_free(struct dime_hid_table *t);

/* New empty HID: 0, -ENOSPC when all capacity entries are live. */
int dime_hid_create(struct dime_hid_table *t, uint64_t now_ms, uint32_t *hid);

/*
 * Free the entry and bump its generation. Addresses only the sets held
 * leave the index; identifiers that live flows still bind stay indexed
 * under the now stale handle (lookups ignore them) until the last of those
 * flows unbinds or another HID claims the address. ihmp is not freed:
 * release it first. 0 or -ESTALE.
 */
int dime_hid_destroy(struct dime_hid_table *t, uint32_t hid);

/* The entry, or NULL when the handle is stale or DIME_HID_NONE. */
struct dime_hid_entry *dime_hid_get(struct dime_hid_table *t, uint32_t hid);

/* The live HID owning addr (active, unreachable or bound), or DIME_HID_NONE. */
uint32_t dime_hid_lookup(const struct dime_hid_table *t, const struct dime_addr *addr);

/*
 * Put addr in one set. Already there: 0, no change. Errors, none of which
 * change anything: -EINVAL (no family), -ESTALE, -EEXIST (a remote address
 * owned by another live HID, or already in this HID's other remote set: use
 * dime_hid_addr_move), -ENOSPC (set full or index full). The first address
 * of a family added to active (local) becomes the remote (local) locator.
 */
int dime_hid_addr_add(struct dime_hid_table *t, uint32_t hid, enum dime_hid_set set,
		      const struct dime_addr *addr);

/*
 * Take addr out of a set: 0, -ESTALE or -ENOENT. If it was the preferred
 * locator, the first remaining address of the same family in that set
 * takes over (none: the locator becomes unset).
 */
int dime_hid_addr_del(struct dime_hid_table *t, uint32_t hid, enum dime_hid_set set,
		      const struct dime_addr *addr);

/* Move addr between active and unreachable: 0, -EINVAL (other sets),
 * -ESTALE, -ENOENT (not in from), -ENOSPC (to full). Locators follow the
 * rules of add and del. */
int dime_hid_addr_move(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr,
		       enum dime_hid_set from, enum dime_hid_set to);

/* Set the preferred remote (must be active) or local (must be local)
 * locator of addr's family: 0, -ESTALE, -ENOENT. */
int dime_hid_set_rloc(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr);
int dime_hid_set_lloc(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *addr);

/* Host key: 0, -ESTALE, -EINVAL (len 0 or above DIME_HID_KEY_MAX). */
int dime_hid_set_key(struct dime_hid_table *t, uint32_t hid, const uint8_t *key, size_t len);
int dime_hid_clear_key(struct dime_hid_table *t, uint32_t hid);

/*
 * A flow bound rid (remote identifier) and lid (local identifier) to hid:
 * rid joins the index (so inbound packets from it find the HID even after
 * it leaves both sets) and refs grows by one. 0, -ESTALE, -EINVAL, -EEXIST
 * (rid owned by another live HID), -ENOSPC (index full).
 */
int dime_hid_bind(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *rid,
		  const struct dime_addr *lid, uint64_t now_ms);

/* Undo one bind. A stale hid only releases the index entry it kept. */
void dime_hid_unbind(struct dime_hid_table *t, uint32_t hid, const struct dime_addr *rid);

/* Iterate live HIDs in index order: start with DIME_HID_NONE, stop at
 * DIME_HID_NONE. Destroying the current HID while iterating is safe. */
uint32_t dime_hid_next(const struct dime_hid_table *t, uint32_t hid);

uint32_t dime_hid_count(const struct dime_hid_table *t);
void dime_hid_stats(const struct dime_hid_table *t, struct dime_hid_stats *st);

/* Hash of addr as the index uses it (tests force collisions with it). For
 * bursts: hash and prefetch every packet's address first, then look them
 * up with the hashes, so their cache misses overlap. */
uint32_t dime_hid_addr_hash(const struct dime_hid_table *t, const struct dime_addr *addr);
void dime_hid_prefetch(const struct dime_hid_table *t, uint32_t hash);
uint32_t dime_hid_lookup_hashed(const struct dime_hid_table *t, const struct dime_addr *addr,
				uint32_t hash);

bool dime_addr_set_has(const struct dime_addr_set *set, const struct dime_addr *addr);

static inline int dime_af_index(uint8_t family)
{
	return family == AF_INET6 ? DIME_AF6 : DIME_AF4;
}

/*
 * SipHash-1-3 of n 64-bit words (the same as over the 8n bytes they hold in
 * memory). Keyed, so remote parties who choose addresses and ports cannot
 * aim them at one bucket. Inline: the flow table hashes with it per packet.
 */
static inline uint64_t dime_sip_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void dime_sip_round(uint64_t v[4])
{
	v[0] += v[1]; v[1] = dime_sip_rotl(v[1], 13); v[1] ^= v[0]; v[0] = dime_sip_rotl(v[0], 32);
	v[2] += v[3]; v[3] = dime_sip_rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = dime_sip_rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = dime_sip_rotl(v[1], 17); v[1] ^= v[2]; v[2] = dime_sip_rotl(v[2], 32);
}

static inline uint64_t dime_siphash13(const struct dime_sipkey *k, const uint64_t *w, size_t n)
{
	uint64_t v[4] = {
		k->k0 ^ 0x736f6d6570736575ull, k->k1 ^ 0x646f72616e646f6dull,
		k->k0 ^ 0x6c7967656e657261ull, k->k1 ^ 0x7465646279746573ull,
	};
	uint64_t b = (uint64_t)(n * 8) << 56;

	for (size_t i = 0; i < n; i++) {
		v[3] ^= w[i];
		dime_sip_round(v);
		v[0] ^= w[i];
	}
	v[3] ^= b;
	dime_sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	dime_sip_round(v);
	dime_sip_round(v);
	dime_sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

#endif
