// SPDX-License-Identifier: BSD-2-Clause
/*
 * IHMP signatures: Ed25519 keys through OpenSSL's EVP interface, key files
 * with their permission checks, the public-key text forms, signing while
 * encoding, verifying a decoded message, and the receive policy of
 * docs/ihmp.md section 9 step 4. What is signed is ihmp_wire.c's business
 * (ihmp_sig_input); this file only feeds those bytes to Ed25519.
 *
 * Constant time: Ed25519 signing in OpenSSL is constant time in the private
 * key. Everything this file compares itself is public (key ids, public
 * keys, signatures), but comparisons use CRYPTO_memcmp anyway so that no
 * future caller has to ask. Buffers that held private key material are
 * cleansed before they are released.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dime/ihmp_sign.h"

struct ihmp_key {
	EVP_PKEY *pkey;
	bool priv;
	uint8_t pub[IHMP_PUBKEY_LEN];
	uint8_t id[IHMP_KEY_ID_LEN];
	/* A peer's second public key during a rotation (docs/security.md 5):
	 * a message verifies with either. Owned; never chained further. */
	struct ihmp_key *alt;
};

/* "path: text" into the caller's reason buffer, if it gave one. */
static void reason(char *why, size_t size, const char *path, const char *text)
{
	if (why && size)
		snprintf(why, size, "%s: %s", path, text);
}

/* Take ownership of pkey (Ed25519 checked by the caller) and fill in the
 * cached public key and key id. */
static int key_wrap(EVP_PKEY *pkey, bool priv, struct ihmp_key **out)
{
	struct ihmp_key *k = OPENSSL_zalloc(sizeof(*k));
	size_t len = IHMP_PUBKEY_LEN;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!k) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->pkey = pkey;
	k->priv = priv;
	if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &len) != 1 || len != IHMP_PUBKEY_LEN ||
	    EVP_Digest(k->pub, IHMP_PUBKEY_LEN, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < IHMP_KEY_ID_LEN) {
		ihmp_key_free(k);
		ERR_clear_error();
		return -EIO;
	}
	memcpy(k->id, md, IHMP_KEY_ID_LEN);
	*out = k;
	return 0;
}

void ihmp_key_free(struct ihmp_key *key)
{
	if (!key)
		return;
	ihmp_key_free(key->alt);
	EVP_PKEY_free(key->pkey);
	OPENSSL_clear_free(key, sizeof(*key));
}

int ihmp_key_generate(struct ihmp_key **out)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	int ok;

	if (!out)
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!ctx)
		return -ENOMEM;
	ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return -EIO;
	}
	return key_wrap(pkey, true, out);
}

int ihmp_key_from_raw_public(const uint8_t raw[IHMP_PUBKEY_LEN], struct ihmp_key **out)
{
	EVP_PKEY *pkey;

	if (!raw || !out)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, IHMP_PUBKEY_LEN);
	if (!pkey) {
		ERR_clear_error();
		return -EINVAL;
	}
	return key_wrap(pkey, false, out);
}

int ihmp_key_from_raw_private(const uint8_t seed[IHMP_PRIVKEY_LEN], struct ihmp_key **out)
{
	EVP_PKEY *pkey;

	if (!seed || !out)
		return -EINVAL;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, IHMP_PRIVKEY_LEN);
	if (!pkey) {
		ERR_clear_error();
		return -EINVAL;
	}
	return key_wrap(pkey, true, out);
}

int ihmp_key_raw_private(const struct ihmp_key *key, uint8_t out[IHMP_PRIVKEY_LEN])
{
	size_t len = IHMP_PRIVKEY_LEN;

	if (!key || !key->priv)
		return -EINVAL;
	if (EVP_PKEY_get_raw_private_key(key->pkey, out, &len) != 1 || len != IHMP_PRIVKEY_LEN) {
		ERR_clear_error();
		OPENSSL_cleanse(out, IHMP_PRIVKEY_LEN);
		return -EIO;
	}
	return 0;
}

int ihmp_key_add_alternate(struct ihmp_key *key, struct ihmp_key *alt)
{
	if (!key || !alt || key->alt || alt->alt || key->priv || alt->priv)
		return -EINVAL;
	if (ihmp_key_same_public(key, alt))
		return -EEXIST;
	key->alt = alt;
	return 0;
}

const struct ihmp_key *ihmp_key_alternate(const struct ihmp_key *key)
{
	return key ? key->alt : NULL;
}

bool ihmp_key_has_public(const struct ihmp_key *key, const uint8_t raw[IHMP_PUBKEY_LEN])
{
	for (; key; key = key->alt)
		if (CRYPTO_memcmp(key->pub, raw, IHMP_PUBKEY_LEN) == 0)
			return true;
	return false;
}

/* ---- text forms --------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex_decode(const char *text, uint8_t raw[IHMP_PUBKEY_LEN])
{
	for (size_t i = 0; i < IHMP_PUBKEY_LEN; i++) {
		int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Strict: 43 alphabet characters and one '=', and the 2 bits the last
 * character carries beyond the 32 bytes must be zero, so every key has
 * exactly one text. */
static int b64_decode(const char *text, uint8_t raw[IHMP_PUBKEY_LEN])
{
	uint32_t acc = 0;
	unsigned int bits = 0;
	size_t n = 0;

	if (text[IHMP_PUBKEY_B64_LEN - 1] != '=')
		return -EINVAL;
	for (size_t i = 0; i < IHMP_PUBKEY_B64_LEN - 1; i++) {
		int v = b64_value(text[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)v) & 0xffffffu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (n != IHMP_PUBKEY_LEN || bits != 2 || (acc & 0x3u))
		return -EINVAL;
	return 0;
}

int ihmp_key_from_public_text(const char *text, size_t len, struct ihmp_key **out)
{
	uint8_t raw[IHMP_PUBKEY_LEN];
	int err;

	if (!text || !out)
		return -EINVAL;
	if (len == IHMP_PUBKEY_HEX_LEN)
		err = hex_decode(text, raw);
	else if (len == IHMP_PUBKEY_B64_LEN)
		err = b64_decode(text, raw);
	else
		err = -EINVAL;
	return err ? err : ihmp_key_from_raw_public(raw, out);
}

const char *ihmp_key_public_text(const struct ihmp_key *key, char *buf, size_t size)
{
	const uint8_t *p = key->pub;
	size_t o = 0;

	if (size < IHMP_PUBKEY_TEXT_MAX) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	/* 10 groups of 3 bytes, then 2 bytes and one '='. */
	for (size_t i = 0; i + 3 <= IHMP_PUBKEY_LEN; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		for (int s = 18; s >= 0; s -= 6)
			buf[o++] = b64_alphabet[(v >> s) & 0x3f];
	}
	{
		uint32_t v = (uint32_t)p[30] << 16 | (uint32_t)p[31] << 8;

		buf[o++] = b64_alphabet[(v >> 18) & 0x3f];
		buf[o++] = b64_alphabet[(v >> 12) & 0x3f];
		buf[o++] = b64_alphabet[(v >> 6) & 0x3f];
		buf[o++] = '=';
	}
	buf[o] = '\0';
	return buf;
}

bool ihmp_key_is_private(const struct ihmp_key *key)
{
	return key->priv;
}

void ihmp_key_raw_public(const struct ihmp_key *key, uint8_t out[IHMP_PUBKEY_LEN])
{
	memcpy(out, key->pub, IHMP_PUBKEY_LEN);
}

void ihmp_key_id(const struct ihmp_key *key, uint8_t out[IHMP_KEY_ID_LEN])
{
	memcpy(out, key->id, IHMP_KEY_ID_LEN);
}

bool ihmp_key_same_public(const struct ihmp_key *a, const struct ihmp_key *b)
{
	return CRYPTO_memcmp(a->pub, b->pub, IHMP_PUBKEY_LEN) == 0;
}

/* ---- key files ---------------------------------------------------------- */

/* Never prompt for a passphrase (the default callback reads the terminal):
 * encrypted keys simply fail to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return 0;
}

/* A private key is a secret: refuse any file someone else could read,
 * replace or have replaced, before reading a byte of it. */
static int check_private_mode(const struct stat *st, const char *path, char *why, size_t size)
{
	char text[IHMP_KEY_ERR_MAX];

	if (st->st_uid != geteuid()) {
		reason(why, size, path,
		       "owned by another user: a key file must belong to the daemon's user");
		return -EPERM;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(text, sizeof(text),
			 "mode %04o gives access to group or others: run chmod 600 on it",
			 (unsigned int)(st->st_mode & 07777));
		reason(why, size, path, text);
		return -EPERM;
	}
	return 0;
}

/* A public key is no secret, but whoever can replace the file can make us
 * trust their key: refuse what others than root or us could write. */
static int check_public_mode(const struct stat *st, const char *path, char *why, size_t size)
{
	char text[IHMP_KEY_ERR_MAX];

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		reason(why, size, path, "owned by another user than root: run chown root on it");
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(text, sizeof(text),
			 "mode %04o lets group or others replace it: run chmod go-w on it",
			 (unsigned int)(st->st_mode & 07777));
		reason(why, size, path, text);
		return -EPERM;
	}
	return 0;
}

/* Read a whole key file (at most IHMP_KEY_FILE_MAX bytes) into buf. */
static int read_key_file(const char *path, bool secret, uint8_t *buf, size_t *len, char *why,
			 size_t size)
{
	struct stat st;
	size_t n = 0;
	int fd, err = 0;

	/* O_NONBLOCK: a FIFO put where the key belongs must not hang the
	 * daemon in open(); it is refused as not a regular file below. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		reason(why, size, path, err == -ELOOP ? "is a symbolic link" : strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		reason(why, size, path, strerror(-err));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		reason(why, size, path, "not a regular file");
		goto out;
	}
	err = secret ? check_private_mode(&st, path, why, size)
		     : check_public_mode(&st, path, why, size);
	if (err)
		goto out;
	for (;;) {
		ssize_t r = read(fd, buf + n, IHMP_KEY_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			reason(why, size, path, strerror(-err));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > IHMP_KEY_FILE_MAX) {
			err = -EFBIG;
			reason(why, size, path, "too large for a key file");
			goto out;
		}
	}
	*len = n;
out:
	close(fd);
	return err;
}

/* One PEM key from bio; it must be Ed25519. */
static int read_pem(BIO *bio, bool secret, const char *path, struct ihmp_key **out, char *why,
		    size_t size)
{
	EVP_PKEY *pkey;

	if (secret)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	ERR_clear_error();
	if (!pkey) {
		reason(why, size, path,
		       secret ? "not an unencrypted PEM private key (BEGIN PRIVATE KEY)"
			      : "not a PEM public key (BEGIN PUBLIC KEY)");
		return -EINVAL;
	}
	if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		reason(why, size, path, "not an Ed25519 key");
		return -EOPNOTSUPP;
	}
	return key_wrap(pkey, secret, out);
}

/* Two keys of one peer file (a rotation): distinct, and no third. */
static int chain_second(struct ihmp_key *first, struct ihmp_key *second, const char *path,
			char *why, size_t size)
{
	int err = ihmp_key_add_alternate(first, second);

	if (err) {
		ihmp_key_free(second);
		reason(why, size, path, "the same public key twice");
	}
	return err;
}

static bool only_blanks(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

/* Parse PEM buf[0..len): one key, or for a public key file two (the old
 * and the new one of a rotation) and nothing else after them. */
static int parse_pem(const uint8_t *buf, size_t len, bool secret, const char *path,
		     struct ihmp_key **out, char *why, size_t size)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	struct ihmp_key *first = NULL, *second = NULL;
	int err;

	if (!bio)
		return -ENOMEM;
	err = read_pem(bio, secret, path, &first, why, size);
	if (!err && !secret && !only_blanks(buf + (len - (size_t)BIO_pending(bio)),
					    (size_t)BIO_pending(bio))) {
		err = read_pem(bio, false, path, &second, why, size);
		if (!err)
			err = chain_second(first, second, path, why, size);
		if (!err && !only_blanks(buf + (len - (size_t)BIO_pending(bio)),
					 (size_t)BIO_pending(bio))) {
			reason(why, size, path, "more than two public keys");
			err = -EINVAL;
		}
	}
	BIO_free(bio);
	if (err)
		ihmp_key_free(first);
	else
		*out = first;
	return err;
}

static size_t trim_end(const uint8_t *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	return len;
}

/* A public key file holding the text form: the key, then at most blanks
 * and line ends (what `echo KEY > file` or an editor leaves); during a
 * rotation a second key on the next line, the same way. */
static int parse_public_text(const uint8_t *buf, size_t len, const char *path,
			     struct ihmp_key **out, char *why, size_t size)
{
	const uint8_t *nl;
	struct ihmp_key *first = NULL, *second = NULL;
	size_t first_len;

	len = trim_end(buf, len);
	nl = memchr(buf, '\n', len);
	first_len = trim_end(buf, nl ? (size_t)(nl - buf) : len);
	if (ihmp_key_from_public_text((const char *)buf, first_len, &first) != 0)
		goto bad;
	if (!nl) {
		*out = first;
		return 0;
	}
	if (ihmp_key_from_public_text((const char *)nl + 1, len - (size_t)(nl + 1 - buf),
				      &second) != 0) {
		ihmp_key_free(first);
		goto bad;
	}
	if (chain_second(first, second, path, why, size)) {
		ihmp_key_free(first);
		return -EINVAL;
	}
	*out = first;
	return 0;
bad:
	reason(why, size, path,
	       "not a public key: expected a PEM public key (BEGIN PUBLIC KEY), 44 base64 "
	       "characters or 64 hex digits, or two of them (one per line) during a rotation");
	return -EINVAL;
}

static bool is_pem(const uint8_t *buf, size_t len)
{
	static const char begin[] = "-----BEGIN ";

	return len >= sizeof(begin) - 1 && memcmp(buf, begin, sizeof(begin) - 1) == 0;
}

static int load_key(const char *path, bool secret, struct ihmp_key **out, char *why, size_t size)
{
	uint8_t buf[IHMP_KEY_FILE_MAX + 1];
	size_t len = 0;
	int err;

	if (!path || !out)
		return -EINVAL;
	err = read_key_file(path, secret, buf, &len, why, size);
	if (!err && (secret || is_pem(buf, len)))
		err = parse_pem(buf, len, secret, path, out, why, size);
	else if (!err)
		err = parse_public_text(buf, len, path, out, why, size);
	OPENSSL_cleanse(buf, sizeof(buf));
	return err;
}

int ihmp_key_load_private(const char *path, struct ihmp_key **out, char *why, size_t why_size)
{
	return load_key(path, true, out, why, why_size);
}

int ihmp_key_load_public(const char *path, struct ihmp_key **out, char *why, size_t why_size)
{
	return load_key(path, false, out, why, why_size);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int ihmp_key_store_private(const struct ihmp_key *key, const char *path, char *why,
			   size_t why_size)
{
	BIO *bio;
	char *pem = NULL;
	long pem_len;
	int fd, err = 0;

	if (!key || !path || !key->priv)
		return -EINVAL;
	/* secmem: the PEM text is cleared when the BIO is freed. */
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return -ENOMEM;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (pem_len = BIO_get_mem_data(bio, &pem)) <= 0) {
		ERR_clear_error();
		BIO_free(bio);
		return -EIO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		err = -errno;
		reason(why, why_size, path, strerror(-err));
		BIO_free(bio);
		return err;
	}
	/* The umask may have taken bits away, never added them; be exact. */
	if (fchmod(fd, 0600) < 0 || (err = write_all(fd, pem, (size_t)pem_len)) || fsync(fd) < 0)
		err = err ? err : -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	BIO_free(bio);
	if (err) {
		reason(why, why_size, path, strerror(-err));
		unlink(path);
	}
	return err;
}

/* ---- signing and verifying ---------------------------------------------- */

static int ed25519_sign(EVP_PKEY *pkey, const uint8_t *in, size_t len,
			uint8_t sig[IHMP_ED25519_SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = IHMP_ED25519_SIG_LEN;
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1 &&
	     EVP_DigestSign(md, sig, &siglen, in, len) == 1 && siglen == IHMP_ED25519_SIG_LEN;
	EVP_MD_CTX_free(md);
	if (!ok) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

int ihmp_sign_encode(const struct ihmp_key *key, struct ihmp_msg *m, uint64_t counter,
		     uint8_t *buf, size_t cap)
{
	uint8_t in[IHMP_SIG_INPUT_MAX], sig[IHMP_ED25519_SIG_LEN];
	int n, in_len, err;

	if (!key || !m || !buf || !key->priv)
		return -EINVAL;
	m->has |= IHMP_HAS_SIG | IHMP_HAS_COUNTER;
	m->counter = counter;
	m->sig.alg = IHMP_SIG_ED25519;
	memcpy(m->sig.key_id, key->id, IHMP_KEY_ID_LEN);
	memset(m->sig.value, 0, sizeof(m->sig.value));
	n = ihmp_encode(m, buf, cap);
	if (n < 0)
		return n;
	in_len = ihmp_sig_input(buf, (size_t)n - IHMP_ED25519_SIG_LEN, in, sizeof(in));
	err = in_len < 0 ? in_len : ed25519_sign(key->pkey, in, (size_t)in_len, sig);
	if (err) {
		memset(buf, 0, (size_t)n);
		return err;
	}
	memcpy(buf + n - IHMP_ED25519_SIG_LEN, sig, IHMP_ED25519_SIG_LEN);
	memcpy(m->sig.value, sig, IHMP_ED25519_SIG_LEN);
	return n;
}

/* m's wire info must describe exactly msg[0..len), with the signature in
 * its last 64 bytes, or the bytes verified would not be the bytes decoded. */
static bool wire_consistent(const struct ihmp_msg *m, size_t len)
{
	const struct ihmp_wire_info *w = &m->wire;

	return len >= IHMP_HDR_LEN + IHMP_ED25519_SIG_LEN && len <= IHMP_MSG_MAX &&
	       w->len == len && w->sig_len == IHMP_ED25519_SIG_LEN &&
	       (size_t)w->sig_off + IHMP_ED25519_SIG_LEN == len && w->signed_off == 0 &&
	       w->signed_len == w->sig_off;
}

int ihmp_verify(const struct ihmp_key *key, const uint8_t *msg, size_t len,
		const struct ihmp_msg *m)
{
	uint8_t in[IHMP_SIG_INPUT_MAX];
	EVP_MD_CTX *md;
	int in_len, ok;

	if (!key || !msg || !m)
		return -EINVAL;
	if (!(m->has & IHMP_HAS_SIG))
		return -ENODATA;
	/* A rotation's second key is chosen by the id the message names,
	 * among the keys bound to the peer only. */
	if (key->alt && CRYPTO_memcmp(m->sig.key_id, key->id, IHMP_KEY_ID_LEN) != 0)
		key = key->alt;
	if (CRYPTO_memcmp(m->sig.key_id, key->id, IHMP_KEY_ID_LEN) != 0)
		return -EKEYREJECTED;
	if (m->sig.alg != IHMP_SIG_ED25519 || !wire_consistent(m, len))
		return -EBADMSG;
	in_len = ihmp_sig_input(msg, m->wire.signed_len, in, sizeof(in));
	if (in_len < 0)
		return -EBADMSG;
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
	     EVP_DigestVerify(md, msg + m->wire.sig_off, IHMP_ED25519_SIG_LEN, in,
			      (size_t)in_len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? 0 : -EBADMSG;
}

int ihmp_auth_check(enum ihmp_auth_mode mode, const struct ihmp_key *peer_key,
		    const uint8_t *msg, size_t len, const struct ihmp_msg *m, bool *verified)
{
	int err;

	if (!m || !verified)
		return -EINVAL;
	*verified = false;
	if (mode == IHMP_AUTH_OFF)
		return 0;
	if (!peer_key)
		return mode == IHMP_AUTH_REQUIRED ? -ENOKEY : 0;
	err = ihmp_verify(peer_key, msg, len, m);
	*verified = err == 0;
	return err;
}

const char *ihmp_auth_err_name(int err)
{
	switch (err) {
	case 0: return "ok";
	case -ENODATA: return "unsigned";
	case -EKEYREJECTED: return "wrong-key";
	case -EBADMSG: return "bad-signature";
	case -ENOKEY: return "no-key";
	default: return "error";
	}
}

static const char *const mode_names[] = {
	[IHMP_AUTH_OFF] = "off",
	[IHMP_AUTH_OPPORTUNISTIC] = "opportunistic",
	[IHMP_AUTH_REQUIRED] = "required",
};

const char *ihmp_auth_mode_name(enum ihmp_auth_mode mode)
{
	return (unsigned int)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode]
									       : "?";
}

int ihmp_auth_mode_parse(const char *text, enum ihmp_auth_mode *out)
{
	for (unsigned int i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (text && strcmp(text, mode_names[i]) == 0) {
			*out = (enum ihmp_auth_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}
