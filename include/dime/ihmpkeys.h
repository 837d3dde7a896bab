/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IHMP security from the configuration (docs/security.md section 5): our
 * private key (ihmp-key), the peers' public keys (ihmp-peer-keys, a
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
#include "dime/daemon.h"
#include "dime/ihmp.h"

#define IHMPKEYS_MAX 4096	/* peer key files; more is a configuration error */

struct ihmpkeys;

/*
 * Load the keys cfg names and fill ic's security fields: auth, local_key,
 * peer_key and peer_key_ctx, clock_us and clock_ms (CLOCK_REALTIME and
 * CLOCK_MONOTONIC now), rl. Missing files: no peer keys when the directory
 * is missing; no local key (we send unsigned) when the key file is
 * missing, unless cfg->ihmp_auth is required (-ENOENT). Every other problem
 * (a key file others can read or write, a bad file name, two files for one
 * prefix, a file that holds no key) is logged with the file's name and
 * refuses the whole setup: 0, or -errno with nothing allocated.
 */
int ihmpkeys_setup(const struct dimed_config *cfg, struct ihmp_config *ic, struct ihmpkeys **out);
void ihmpkeys_free(struct ihmpkeys *k);

/* The key bound to host_id, else to src (either may be NULL); NULL: none. */
const struct ihmp_key *ihmpkeys_lookup(const struct ihmpkeys *k, const struct dime_addr *src,
				       const struct dime_addr *host_id);
/* Our private key, or NULL. */
const struct ihmp_key *ihmpkeys_local(const struct ihmpkeys *k);
unsigned int ihmpkeys_count(const struct ihmpkeys *k);

/*
 * A directory entry's name as a prefix: 0 with *net (host bits zero) and
 * *len; -ENOENT for a name that is not a key file (starts with '.', or
 * does not end in ".pub"); -EINVAL for a ".pub" name that is not ADDRESS or
 * ADDRESS_LEN with LEN within the family, or whose host bits are not zero.
 */
int ihmpkeys_parse_name(const char *name, struct dime_addr *net, uint8_t *len);

#endif
