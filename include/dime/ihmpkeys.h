/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IHMP security from the configuration (docs/security.md section 5): our
 * private keys (ihmp-key, one default key for every local address and keys
 * bound to some local addresses or prefixes; dimectl set-local-key adds
 * and replaces them at run time), the peers' public keys (ihmp-peer-keys, a
 * directory with one file per peer address or prefix), the receive mode
 * (ihmp-auth) and the input rate limits (ihmp-rate-limit*), turned into the
 * fields of struct ihmp_config that ihmp.c uses. The keys live here, and
 * the ihmp instance only points at them: free this after ihmp_free().
 *
 * Peer key files are named by the address or prefix they are bound to:
 *   198.51.100.7.pub        one address
 *   203.0.113.0_24.pub      a prefix ('_' stands for '/'; host bits zero)
 *   2001:db8:1::_48.pub
 * and hold a PEM public key or the 44-character base64 (or 64 hex digit)
 * text form. Names starting with '.' and names not ending in ".pub" are
 * skipped. A peer's key is the longest prefix holding its HOST_ID, else the
 * longest holding the packet source (include/dime/ihmp.h, peer_key).
 *
 * Reading files is not pure; the decisions (file names, prefixes, lookup)
 * are functions of their arguments and unit-tested alone.
 */
#ifndef DIME_IHMPKEYS_H
#define DIME_IHMPKEYS_H

#include <stdint.h>

#include "dime/addr.h"
#include "dime/control.h"
#include "dime/daemon.h"
#include "dime/ihmp.h"

#define IHMPKEYS_MAX 4096	/* peer key files; more is a configuration error */
#define IHMPKEYS_LOCAL_MAX 16	/* our keys: the default one and bound ones */
#define IHMPKEYS_PREFIXES_MAX 16	/* addresses or prefixes one key is bound to */

struct ihmpkeys;

/*
 * Load the keys cfg names and fill ic's security fields: auth, tofu,
 * local_key_for and local_key_ctx, peer_key and peer_key_ctx, clock_us and
 * clock_ms (CLOCK_REALTIME and CLOCK_MONOTONIC now), rl. Missing files: no
 * peer keys when the directory is missing; no default key (messages from
 * addresses no bound key covers go out unsigned) when the default key file
 * is missing, unless cfg->ihmp_auth is required and no key at all is left
 * (-ENOENT). Every other problem (a key file others can read or write, a
 * bound key file that is missing, a bad file name, two files for one
 * prefix, a file that holds no key) is logged with the file's name (and
 * dime.conf line) and refuses the whole setup: 0, or -errno with nothing
 * allocated.
 */
int ihmpkeys_setup(const struct dimed_config *cfg, struct ihmp_config *ic, struct ihmpkeys **out);
void ihmpkeys_free(struct ihmpkeys *k);

/* The key bound to host_id, else to src (either may be NULL); NULL: none. */
const struct ihmp_key *ihmpkeys_lookup(const struct ihmpkeys *k, const struct dime_addr *src,
				       const struct dime_addr *host_id);
/* Our default private key (bound to every local address), or NULL. */
const struct ihmp_key *ihmpkeys_local(const struct ihmpkeys *k);
/* The key that signs a message with this HOST_ID (our address): the key
 * bound to the longest prefix holding it, else the default key; NULL:
 * none (the message goes out unsigned). addr NULL: the default key. */
const struct ihmp_key *ihmpkeys_local_for(const struct ihmpkeys *k, const struct dime_addr *addr);
unsigned int ihmpkeys_count(const struct ihmpkeys *k);
unsigned int ihmpkeys_local_count(const struct ihmpkeys *k);

/*
 * Install key (a private key; ihmpkeys takes it over, also on error) for
 * the n addresses or prefixes net[i]/len[i] (n 0: the default key, every
 * local address). An entry with the same list (in any order) is replaced
 * and its key freed; messages signed from now on use the new key, since
 * ihmp asks for the key of every message it signs and keeps none. 0,
 * -EINVAL (a public key, a length beyond the family, host bits set, a
 * prefix twice, n above IHMPKEYS_PREFIXES_MAX), -EEXIST (a prefix already
 * bound to another list: replace or remove that list first), -ENOSPC
 * (IHMPKEYS_LOCAL_MAX entries). *replaced says whether an entry was.
 */
int ihmpkeys_set_local(struct ihmpkeys *k, struct ihmp_key *key, const struct dime_addr *net,
		       const uint8_t *len, unsigned int n, bool *replaced);
/* Remove the entry with exactly this list (n 0: the default key). 0 or
 * -ENOENT. */
int ihmpkeys_remove_local(struct ihmpkeys *k, const struct dime_addr *net, const uint8_t *len,
			  unsigned int n);

/*
 * The control socket's SET_LOCAL_KEY and SHOW_KEYS (ctl_backend, control.h),
 * for the daemon to wire up as they are: ctx is the struct ihmpkeys (NULL
 * when IHMP is off: -EOPNOTSUPP). set_local builds a private key from the
 * seed, installs or removes it as above, logs the change at info and
 * writes the key's id (zeros for a removal) and, when pub is not NULL, its
 * raw public key (IHMP_PUBKEY_LEN bytes) for the reply's record.
 */
int ihmpkeys_ctl_set_local(struct ihmpkeys *k, const struct ctl_set_local_key *req,
			   uint8_t key_id[IHMP_KEY_ID_LEN], uint8_t *pub);
int ihmpkeys_ctl_list(const struct ihmpkeys *k, ctl_lkey_fn emit, void *emit_ctx);

/*
 * A directory entry's name as a prefix: 0 with *net (host bits zero) and
 * *len; -ENOENT for a name that is not a key file (starts with '.', or
 * does not end in ".pub"); -EINVAL for a ".pub" name that is not ADDRESS or
 * ADDRESS_LEN with LEN within the family, or whose host bits are not zero.
 */
int ihmpkeys_parse_name(const char *name, struct dime_addr *net, uint8_t *len);

#endif
