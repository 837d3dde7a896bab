/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IHMP signatures (docs/ihmp.md section 7, docs/security.md): Ed25519 keys
 * through OpenSSL, signing an IHMP message as it is encoded, verifying a
 * decoded one, and the receive-side policy of docs/ihmp.md section 9 step 4
 * (off, opportunistic, required) as one pure decision.
 *
 * Key files: a private key is a PEM PKCS#8 file ("BEGIN PRIVATE KEY") that
 * must be a regular file owned by the daemon's user with no group or other
 * permission bits (0600 or stricter); anything else is refused before a
 * byte is read. A peer's public key is a file (ihmpkeys.c reads them from
 * the ihmp-peer-keys directory) holding the raw 32 bytes as 64 hex digits or
 * as 44 characters of standard base64 (the form ihmp_key_public_text
 * prints), or a PEM public key ("BEGIN PUBLIC KEY").
 *
 * Everything here except the file functions is pure: no logs, no clock, no
 * global state. Functions return 0 (or a length) or -errno; the file
 * functions also write a one-line reason into a caller's buffer, because
 * only they know which check refused the file.
 */
#ifndef DIME_IHMP_SIGN_H
#define DIME_IHMP_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/ihmp_wire.h"

#define IHMP_PUBKEY_LEN 32		/* raw Ed25519 public key */
#define IHMP_PRIVKEY_LEN 32		/* raw Ed25519 private key (the seed) */
#define IHMP_PUBKEY_HEX_LEN 64
#define IHMP_PUBKEY_B64_LEN 44		/* with one '=' of padding */
#define IHMP_PUBKEY_TEXT_MAX (IHMP_PUBKEY_B64_LEN + 1)
#define IHMP_KEY_FILE_MAX 4096		/* a PEM Ed25519 key is about 120 bytes */
#define IHMP_KEY_ERR_MAX 256		/* reason buffers: this always suffices */

/* An Ed25519 key: a private key (which can sign and verify) or a public key
 * (verify only). Opaque; released with ihmp_key_free. */
struct ihmp_key;

/* A fresh private key from OpenSSL's random source. 0, -ENOMEM, -EIO. */
int ihmp_key_generate(struct ihmp_key **out);

/*
 * Load a private key from path. Refused before reading: not a regular file,
 * a symlink (O_NOFOLLOW), owned by another user than the caller's effective
 * one, or any group or other permission bit set (-EPERM). Then: above
 * IHMP_KEY_FILE_MAX bytes (-EFBIG), not a PEM private key (-EINVAL), not
 * Ed25519 (-EOPNOTSUPP); open/read errors as -errno. why (at least
 * IHMP_KEY_ERR_MAX bytes, may be NULL) receives "path: reason" on failure.
 */
int ihmp_key_load_private(const char *path, struct ihmp_key **out, char *why, size_t why_size);

/*
 * Write key's private part as PEM PKCS#8 to a new file path, mode 0600
 * whatever the umask. Never overwrites: -EEXIST when path exists. -EINVAL
 * for a public-only key. On failure nothing is left at path.
 */
int ihmp_key_store_private(const struct ihmp_key *key, const char *path, char *why,
			   size_t why_size);

/*
 * Load a peer's public key from a file, which may be world-readable but
 * must not be writable by group or others, and must belong to root or to
 * us (-EPERM otherwise: whoever can replace it decides whom we trust). The
 * file holds a PEM public key ("BEGIN PUBLIC KEY", as `openssl pkey
 * -pubout` writes it), or the text form (64 hex digits or 44 base64
 * characters) followed by nothing but blanks and line ends. During a
 * rotation it may hold two keys (two PEM blocks, or two text lines): the
 * result is a pair (ihmp_key_add_alternate). Other errors as for
 * ihmp_key_load_private.
 */
int ihmp_key_load_public(const char *path, struct ihmp_key **out, char *why, size_t why_size);

/* A peer's public key from text[0..len): 64 hex digits or 44 base64
 * characters (exactly; no whitespace). 0, -EINVAL, -ENOMEM. */
int ihmp_key_from_public_text(const char *text, size_t len, struct ihmp_key **out);
/* ... from the raw 32 bytes. 0, -EINVAL (not a valid key), -ENOMEM. */
int ihmp_key_from_raw_public(const uint8_t raw[IHMP_PUBKEY_LEN], struct ihmp_key **out);
/* A private key from its raw 32-byte seed (RFC 8032), as dimectl
 * set-local-key hands it over. 0, -EINVAL, -ENOMEM. */
int ihmp_key_from_raw_private(const uint8_t seed[IHMP_PRIVKEY_LEN], struct ihmp_key **out);
/* The seed of a private key (the caller cleanses it): 0, -EINVAL (public
 * key), -EIO. */
int ihmp_key_raw_private(const struct ihmp_key *key, uint8_t out[IHMP_PRIVKEY_LEN]);

/*
 * A peer's second public key, for a rotation: alt becomes part of key (and
 * is freed with it), and ihmp_verify accepts a message signed by either,
 * chosen by the key id it names. Public keys only, two at most: -EINVAL;
 * -EEXIST when alt is key; on error alt stays the caller's.
 * ihmp_key_load_public builds such a pair from a file that holds two keys.
 */
int ihmp_key_add_alternate(struct ihmp_key *key, struct ihmp_key *alt);
/* The second key of a pair, or NULL. */
const struct ihmp_key *ihmp_key_alternate(const struct ihmp_key *key);
/* raw is key's public key or its alternate's. */
bool ihmp_key_has_public(const struct ihmp_key *key, const uint8_t raw[IHMP_PUBKEY_LEN]);

void ihmp_key_free(struct ihmp_key *key);

bool ihmp_key_is_private(const struct ihmp_key *key);
/* The raw public key of a private or public key. */
void ihmp_key_raw_public(const struct ihmp_key *key, uint8_t out[IHMP_PUBKEY_LEN]);
/* The SIGNATURE TLV's key id: the first 8 bytes of SHA-256(raw public key). */
void ihmp_key_id(const struct ihmp_key *key, uint8_t out[IHMP_KEY_ID_LEN]);
/* The base64 text form (44 characters and a NUL). Returns buf, or "" when
 * size is below IHMP_PUBKEY_TEXT_MAX. */
const char *ihmp_key_public_text(const struct ihmp_key *key, char *buf, size_t size);
/* Same public key (constant time over the 32 bytes). */
bool ihmp_key_same_public(const struct ihmp_key *a, const struct ihmp_key *b);

/*
 * Encode *m signed with key: sets the SIGNATURE (algorithm, key id) and the
 * COUNTER (counter) in *m, encodes into buf and writes the signature over
 * the docs/ihmp.md section 7 input into the last 64 bytes of buf and into
 * m->sig.value. Returns the length, -EINVAL (public-only key, or anything
 * ihmp_encode refuses), -ENOSPC (cap), -EIO (OpenSSL failed). buf holds
 * nothing usable on error.
 */
int ihmp_sign_encode(const struct ihmp_key *key, struct ihmp_msg *m, uint64_t counter,
		     uint8_t *buf, size_t cap);

/*
 * Verify msg[0..len), already decoded into *m by ihmp_decode, against key:
 *   0          signed by key and the signature verifies
 *   -ENODATA   no SIGNATURE TLV               ("unsigned")
 *   -EKEYREJECTED  key id is not key's (nor its alternate's) ("wrong-key")
 *   -EBADMSG   the signature does not verify, or m's wire info does not
 *              describe msg (truncated, other length)  ("bad-signature")
 *   -ENOMEM    OpenSSL could not allocate     ("error")
 * The NS flag is excluded from the signed bytes, as section 7 says.
 */
int ihmp_verify(const struct ihmp_key *key, const uint8_t *msg, size_t len,
		const struct ihmp_msg *m);

/* docs/security.md: what a receiver demands of a message. */
enum ihmp_auth_mode {
	IHMP_AUTH_OFF = 0,		/* never verify; signatures are ignored */
	IHMP_AUTH_OPPORTUNISTIC,	/* verify when the peer has a key */
	IHMP_AUTH_REQUIRED,		/* every message signed by the peer's key */
};

/*
 * Section 9 step 4 for one decoded message msg/len/m from a peer whose
 * bound key is peer_key (NULL: none bound, nor configured a priori):
 *   mode off                       0, *verified false
 *   a key, whatever the mode but off   ihmp_verify's result; on 0 *verified
 *   no key, opportunistic          0, *verified false (signed or not: a
 *                                  signature no key vouches for proves nothing)
 *   no key, required               -ENOKEY ("no-key")
 * Only a 0 with *verified true may advance the replay window (replay.h).
 */
int ihmp_auth_check(enum ihmp_auth_mode mode, const struct ihmp_key *peer_key,
		    const uint8_t *msg, size_t len, const struct ihmp_msg *m, bool *verified);

/* Drop counter token of ihmp_verify / ihmp_auth_check results: "ok",
 * "unsigned", "wrong-key", "bad-signature", "no-key", "error". */
const char *ihmp_auth_err_name(int err);
/* "off", "opportunistic", "required"; and back: 0 or -EINVAL. */
const char *ihmp_auth_mode_name(enum ihmp_auth_mode mode);
int ihmp_auth_mode_parse(const char *text, enum ihmp_auth_mode *out);

#endif
