// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for IHMP signatures (ihmp_sign.c): a signed message of every
 * kind verifies after decoding, also with NS set in transit; every other
 * tampered bit, a wrong key, a forged key id, a truncated or shifted
 * signature and an unsigned message are refused with their own error; the
 * receive policy gives the documented answer for each mode; key files are
 * refused when anyone but their owner can reach them, when they are links,
 * directories, too large, not PEM, encrypted or not Ed25519; the text forms
 * of a public key parse strictly; and a known RFC 8032 key loads to the
 * public key and id the RFC and SHA-256 say.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dime/ihmp_sign.h"
#include "testutil.h"

/* ---- messages ---- */

static void build_handoff(struct ihmp_msg *m, bool v6)
{
	ihmp_msg_init(m, IHMP_HANDOFF, 0x1234);
	m->host_id = A(v6 ? "2001:db8::1" : "192.0.2.1");
	m->new_addr = A(v6 ? "2001:db8:1::7" : "198.51.100.7");
	m->old_addr = A(v6 ? "2001:db8::1" : "192.0.2.1");
	m->has |= IHMP_HAS_NONCE;
	m->nonce = 0x0102030405060708ull;
}

static void build_hello(struct ihmp_msg *m)
{
	ihmp_msg_init(m, IHMP_HELLO, 7);
	m->host_id = A("192.0.2.1");
	ck_assert_int_eq(ihmp_adv_add(m, AP("192.0.2.1")), 0);
	ck_assert_int_eq(ihmp_adv_add(m, AP("2001:db8::1")), 0);
	ck_assert_int_eq(ihmp_adv_add(m, AP("203.0.113.9")), 0);
}

static void build_ack(struct ihmp_msg *m)
{
	ihmp_msg_init(m, IHMP_ACK, 0xbeef);
	m->acked_type = IHMP_PATH_PROBE;
	m->host_id = A("198.51.100.7");
	m->flags = IHMP_F_ND;
	m->observed = A("203.0.113.5");
	m->observed_port = 40001;
	m->has |= IHMP_HAS_NONCE;
	m->nonce = 42;
}

static struct ihmp_key *gen(void)
{
	struct ihmp_key *k = NULL;

	ck_assert_int_eq(ihmp_key_generate(&k), 0);
	ck_assert_ptr_nonnull(k);
	ck_assert(ihmp_key_is_private(k));
	return k;
}

/* Sign m with k at counter, decode into *out; the length. */
static int sign_decode(struct ihmp_key *k, struct ihmp_msg *m, uint64_t counter, uint8_t *buf,
		       struct ihmp_msg *out)
{
	int n = ihmp_sign_encode(k, m, counter, buf, IHMP_MSG_MAX);

	ck_assert_int_gt(n, IHMP_ED25519_SIG_LEN);
	ck_assert_int_eq(ihmp_decode(buf, (size_t)n, out), 0);
	return n;
}

/* ---- signing and verifying ---- */

START_TEST(test_roundtrip_kinds)
{
	static struct ihmp_msg m, d;
	struct ihmp_key *k = gen();
	uint8_t buf[IHMP_MSG_MAX], id[IHMP_KEY_ID_LEN];
	void (*kinds[])(struct ihmp_msg *) = { build_hello, build_ack };
	int n;

	ihmp_key_id(k, id);
	for (int v6 = 0; v6 < 2; v6++) {
		build_handoff(&m, v6);
		n = sign_decode(k, &m, 1000 + (uint64_t)v6, buf, &d);
		ck_assert(d.has & IHMP_HAS_SIG && d.has & IHMP_HAS_COUNTER);
		ck_assert_uint_eq(d.counter, 1000 + (uint64_t)v6);
		ck_assert_mem_eq(d.sig.key_id, id, IHMP_KEY_ID_LEN);
		ck_assert_mem_eq(d.sig.value, buf + n - IHMP_ED25519_SIG_LEN, IHMP_ED25519_SIG_LEN);
		ck_assert_mem_eq(m.sig.value, d.sig.value, IHMP_ED25519_SIG_LEN);
		ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), 0);
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		kinds[i](&m);
		n = sign_decode(k, &m, UINT64_MAX, buf, &d);
		ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), 0);
	}
	ihmp_key_free(k);
}
END_TEST

/* Ed25519 is deterministic: the same message and key give the same bytes,
 * so a retransmission could even be re-signed identically. */
START_TEST(test_deterministic)
{
	static struct ihmp_msg m1, m2;
	struct ihmp_key *k = gen();
	uint8_t a[IHMP_MSG_MAX], b[IHMP_MSG_MAX];
	int na, nb;

	build_handoff(&m1, false);
	build_handoff(&m2, false);
	na = ihmp_sign_encode(k, &m1, 5, a, sizeof(a));
	nb = ihmp_sign_encode(k, &m2, 5, b, sizeof(b));
	ck_assert_int_eq(na, nb);
	ck_assert_mem_eq(a, b, (size_t)na);
	/* A different counter is a different signature. */
	nb = ihmp_sign_encode(k, &m2, 6, b, sizeof(b));
	ck_assert_mem_ne(a + na - IHMP_ED25519_SIG_LEN, b + nb - IHMP_ED25519_SIG_LEN, 64);
	ihmp_key_free(k);
}
END_TEST

START_TEST(test_tamper_every_bit)
{
	static struct ihmp_msg m, d;
	struct ihmp_key *k = gen();
	uint8_t buf[IHMP_MSG_MAX];
	int n, refused_decode = 0, refused_verify = 0;

	build_hello(&m);
	n = sign_decode(k, &m, 77, buf, &d);
	for (int byte = 0; byte < n; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			int err;

			buf[byte] ^= (uint8_t)(1u << bit);
			if (ihmp_decode(buf, (size_t)n, &d) != 0) {
				refused_decode++;
			} else {
				err = ihmp_verify(k, buf, (size_t)n, &d);
				if (byte == 3 && bit == 1) {
					/* NS: set in transit by NATs, not signed. */
					HOT_ASSERT(err == 0);
				} else {
					/* -ENODATA: the SIGNATURE type turned into an
					 * unknown one, so the message reads as unsigned,
					 * which a bound key refuses just the same. */
					if (err != -EBADMSG && err != -EKEYREJECTED &&
					    err != -ENODATA)
						ck_abort_msg("byte %d bit %d: %d", byte, bit, err);
					refused_verify++;
				}
			}
			buf[byte] ^= (uint8_t)(1u << bit);
		}
	}
	/* Both layers did part of the work: the decoder the structure, the
	 * signature everything the decoder cannot judge. */
	ck_assert_int_gt(refused_decode, 0);
	ck_assert_int_gt(refused_verify, 8 * IHMP_ED25519_SIG_LEN);
	ck_assert_int_eq(ihmp_decode(buf, (size_t)n, &d), 0);
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), 0);
	ihmp_key_free(k);
}
END_TEST

START_TEST(test_wrong_key)
{
	static struct ihmp_msg m, d;
	struct ihmp_key *k = gen(), *other = gen(), *pub = NULL;
	uint8_t buf[IHMP_MSG_MAX], raw[IHMP_PUBKEY_LEN], id[IHMP_KEY_ID_LEN];
	int n;

	build_handoff(&m, false);
	n = sign_decode(k, &m, 9, buf, &d);
	ck_assert_int_eq(ihmp_verify(other, buf, (size_t)n, &d), -EKEYREJECTED);

	/* The signer's public key alone verifies. */
	ihmp_key_raw_public(k, raw);
	ck_assert_int_eq(ihmp_key_from_raw_public(raw, &pub), 0);
	ck_assert(!ihmp_key_is_private(pub));
	ck_assert(ihmp_key_same_public(k, pub));
	ck_assert(!ihmp_key_same_public(k, other));
	ck_assert_int_eq(ihmp_verify(pub, buf, (size_t)n, &d), 0);

	/* An attacker signs with its own key but names the victim's key id:
	 * the id is only a hint, the signature decides. */
	build_handoff(&m, false);
	n = ihmp_sign_encode(other, &m, 10, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ihmp_key_id(k, id);
	memcpy(buf + n - IHMP_ED25519_SIG_LEN - IHMP_KEY_ID_LEN, id, IHMP_KEY_ID_LEN);
	ck_assert_int_eq(ihmp_decode(buf, (size_t)n, &d), 0);
	ck_assert_int_eq(ihmp_verify(pub, buf, (size_t)n, &d), -EBADMSG);

	/* A public-only key cannot sign. */
	build_handoff(&m, false);
	ck_assert_int_eq(ihmp_sign_encode(pub, &m, 11, buf, sizeof(buf)), -EINVAL);
	ihmp_key_free(k);
	ihmp_key_free(other);
	ihmp_key_free(pub);
}
END_TEST

START_TEST(test_truncated_signature)
{
	static struct ihmp_msg m, d, saved;
	struct ihmp_key *k = gen();
	uint8_t buf[IHMP_MSG_MAX], cut[IHMP_MSG_MAX];
	int n;

	build_handoff(&m, true);
	n = sign_decode(k, &m, 3, buf, &d);
	saved = d;

	/* On the wire: a shortened datagram, with or without the header and
	 * TLV lengths fixed up, never decodes. */
	for (int drop = 1; drop <= IHMP_ED25519_SIG_LEN; drop++) {
		memcpy(cut, buf, (size_t)n);
		HOT_ASSERT(ihmp_decode(cut, (size_t)(n - drop), &d) == -EMSGSIZE);
		cut[6] = (uint8_t)((n - drop) >> 8);
		cut[7] = (uint8_t)(n - drop);
		HOT_ASSERT(ihmp_decode(cut, (size_t)(n - drop), &d) != 0);
		cut[n - IHMP_ED25519_SIG_LEN - IHMP_KEY_ID_LEN - 2] =
			(uint8_t)(IHMP_SIG_TLV_VALUE_LEN - drop);
		HOT_ASSERT(ihmp_decode(cut, (size_t)(n - drop), &d) == -EINVAL);
	}
	/* To the verifier: a length or wire info that does not describe the
	 * decoded bytes is refused, never read past. */
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n - 1, &saved), -EBADMSG);
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n + 1, &saved), -EBADMSG);
	d = saved;
	d.wire.sig_off--;
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), -EBADMSG);
	d = saved;
	d.wire.signed_len--;
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), -EBADMSG);
	d = saved;
	d.wire.sig_len = 63;
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), -EBADMSG);
	d = saved;
	d.sig.alg = 2;
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), -EBADMSG);
	/* The last signature byte, and an all-zero signature. */
	buf[n - 1] ^= 0x80;
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &saved), -EBADMSG);
	memset(buf + n - IHMP_ED25519_SIG_LEN, 0, IHMP_ED25519_SIG_LEN);
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &saved), -EBADMSG);
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &saved), -EBADMSG);
	ihmp_key_free(k);
}
END_TEST

START_TEST(test_unsigned_and_encode_errors)
{
	static struct ihmp_msg m, d;
	struct ihmp_key *k = gen();
	uint8_t buf[IHMP_MSG_MAX];
	int n;

	build_handoff(&m, false);
	n = ihmp_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ihmp_decode(buf, (size_t)n, &d), 0);
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), -ENODATA);

	/* Too small a buffer, an invalid message: nothing signed. */
	build_handoff(&m, false);
	ck_assert_int_eq(ihmp_sign_encode(k, &m, 1, buf, 40), -ENOSPC);
	build_handoff(&m, false);
	m.new_addr = m.old_addr;
	ck_assert_int_eq(ihmp_sign_encode(k, &m, 1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(ihmp_sign_encode(NULL, &m, 1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(ihmp_verify(NULL, buf, (size_t)n, &d), -EINVAL);
	ihmp_key_free(k);
}
END_TEST

/* ---- the receive policy ---- */

START_TEST(test_auth_policy)
{
	static struct ihmp_msg m, d_signed, d_plain, d_other;
	struct ihmp_key *k = gen(), *other = gen();
	uint8_t s[IHMP_MSG_MAX], p[IHMP_MSG_MAX], o[IHMP_MSG_MAX];
	int ns, np, no;
	bool v;

	build_handoff(&m, false);
	ns = sign_decode(k, &m, 50, s, &d_signed);
	build_handoff(&m, false);
	no = sign_decode(other, &m, 50, o, &d_other);
	build_handoff(&m, false);
	np = ihmp_encode(&m, p, sizeof(p));
	ck_assert_int_eq(ihmp_decode(p, (size_t)np, &d_plain), 0);

	/* off: nothing is checked, nothing is verified. */
	ck_assert_int_eq(ihmp_auth_check(IHMP_AUTH_OFF, k, o, (size_t)no, &d_other, &v), 0);
	ck_assert(!v);
	ck_assert_int_eq(ihmp_auth_check(IHMP_AUTH_OFF, NULL, p, (size_t)np, &d_plain, &v), 0);
	ck_assert(!v);

	for (int mode = IHMP_AUTH_OPPORTUNISTIC; mode <= IHMP_AUTH_REQUIRED; mode++) {
		/* With a bound key both modes demand its signature. */
		ck_assert_int_eq(ihmp_auth_check(mode, k, s, (size_t)ns, &d_signed, &v), 0);
		ck_assert(v);
		ck_assert_int_eq(ihmp_auth_check(mode, k, p, (size_t)np, &d_plain, &v), -ENODATA);
		ck_assert(!v);
		ck_assert_int_eq(ihmp_auth_check(mode, k, o, (size_t)no, &d_other, &v),
				 -EKEYREJECTED);
		ck_assert(!v);
		s[20] ^= 1;
		ck_assert_int_eq(ihmp_auth_check(mode, k, s, (size_t)ns, &d_signed, &v), -EBADMSG);
		ck_assert(!v);
		s[20] ^= 1;
	}
	/* Without one: opportunistic accepts unverified, required refuses. */
	ck_assert_int_eq(ihmp_auth_check(IHMP_AUTH_OPPORTUNISTIC, NULL, p, (size_t)np, &d_plain,
					 &v), 0);
	ck_assert(!v);
	ck_assert_int_eq(ihmp_auth_check(IHMP_AUTH_OPPORTUNISTIC, NULL, s, (size_t)ns, &d_signed,
					 &v), 0);
	ck_assert(!v);
	ck_assert_int_eq(ihmp_auth_check(IHMP_AUTH_REQUIRED, NULL, s, (size_t)ns, &d_signed, &v),
			 -ENOKEY);
	ck_assert(!v);

	ck_assert_str_eq(ihmp_auth_err_name(0), "ok");
	ck_assert_str_eq(ihmp_auth_err_name(-ENODATA), "unsigned");
	ck_assert_str_eq(ihmp_auth_err_name(-EKEYREJECTED), "wrong-key");
	ck_assert_str_eq(ihmp_auth_err_name(-EBADMSG), "bad-signature");
	ck_assert_str_eq(ihmp_auth_err_name(-ENOKEY), "no-key");
	ck_assert_str_eq(ihmp_auth_err_name(-ENOMEM), "error");
	ihmp_key_free(k);
	ihmp_key_free(other);
}
END_TEST

START_TEST(test_mode_names)
{
	enum ihmp_auth_mode mode = IHMP_AUTH_OFF;

	ck_assert_int_eq(ihmp_auth_mode_parse("required", &mode), 0);
	ck_assert_int_eq(mode, IHMP_AUTH_REQUIRED);
	ck_assert_int_eq(ihmp_auth_mode_parse("opportunistic", &mode), 0);
	ck_assert_int_eq(mode, IHMP_AUTH_OPPORTUNISTIC);
	ck_assert_int_eq(ihmp_auth_mode_parse("off", &mode), 0);
	ck_assert_int_eq(mode, IHMP_AUTH_OFF);
	ck_assert_int_eq(ihmp_auth_mode_parse("Required", &mode), -EINVAL);
	ck_assert_int_eq(ihmp_auth_mode_parse("", &mode), -EINVAL);
	ck_assert_int_eq(ihmp_auth_mode_parse(NULL, &mode), -EINVAL);
	ck_assert_str_eq(ihmp_auth_mode_name(IHMP_AUTH_OPPORTUNISTIC), "opportunistic");
	ck_assert_str_eq(ihmp_auth_mode_name((enum ihmp_auth_mode)7), "?");
}
END_TEST

/* ---- public key text ---- */

START_TEST(test_public_text)
{
	struct ihmp_key *k = gen(), *back = NULL;
	uint8_t raw[IHMP_PUBKEY_LEN];
	char text[IHMP_PUBKEY_TEXT_MAX], hex[IHMP_PUBKEY_HEX_LEN + 1], bad[IHMP_PUBKEY_TEXT_MAX];

	ihmp_key_public_text(k, text, sizeof(text));
	ck_assert_uint_eq(strlen(text), IHMP_PUBKEY_B64_LEN);
	ck_assert_int_eq(ihmp_key_from_public_text(text, strlen(text), &back), 0);
	ck_assert(ihmp_key_same_public(k, back));
	ihmp_key_free(back);

	ihmp_key_raw_public(k, raw);
	for (int i = 0; i < IHMP_PUBKEY_LEN; i++)
		snprintf(hex + 2 * i, 3, i % 2 ? "%02X" : "%02x", raw[i]);
	ck_assert_int_eq(ihmp_key_from_public_text(hex, IHMP_PUBKEY_HEX_LEN, &back), 0);
	ck_assert(ihmp_key_same_public(k, back));
	ihmp_key_free(back);
	back = NULL;

	/* Wrong lengths, a stray character, a missing '=', non-zero spare bits. */
	ck_assert_int_eq(ihmp_key_from_public_text(text, IHMP_PUBKEY_B64_LEN - 1, &back), -EINVAL);
	ck_assert_int_eq(ihmp_key_from_public_text(hex, IHMP_PUBKEY_HEX_LEN - 1, &back), -EINVAL);
	ck_assert_int_eq(ihmp_key_from_public_text("", 0, &back), -EINVAL);
	hex[17] = 'g';
	ck_assert_int_eq(ihmp_key_from_public_text(hex, IHMP_PUBKEY_HEX_LEN, &back), -EINVAL);
	memcpy(bad, text, sizeof(bad));
	bad[5] = '*';
	ck_assert_int_eq(ihmp_key_from_public_text(bad, IHMP_PUBKEY_B64_LEN, &back), -EINVAL);
	memcpy(bad, text, sizeof(bad));
	bad[IHMP_PUBKEY_B64_LEN - 1] = 'A';
	ck_assert_int_eq(ihmp_key_from_public_text(bad, IHMP_PUBKEY_B64_LEN, &back), -EINVAL);
	memcpy(bad, text, sizeof(bad));
	bad[10] = '=';
	ck_assert_int_eq(ihmp_key_from_public_text(bad, IHMP_PUBKEY_B64_LEN, &back), -EINVAL);
	/* The 43rd character carries 4 key bits and 2 spare ones, which must be
	 * zero so that a key has one spelling: "...AE=" parses, "...AB=" not. */
	memset(bad, 'A', IHMP_PUBKEY_B64_LEN - 2);
	bad[IHMP_PUBKEY_B64_LEN - 2] = 'E';
	bad[IHMP_PUBKEY_B64_LEN - 1] = '=';
	ck_assert_int_eq(ihmp_key_from_public_text(bad, IHMP_PUBKEY_B64_LEN, &back), 0);
	ihmp_key_free(back);
	back = NULL;
	bad[IHMP_PUBKEY_B64_LEN - 2] = 'B';
	ck_assert_int_eq(ihmp_key_from_public_text(bad, IHMP_PUBKEY_B64_LEN, &back), -EINVAL);
	ck_assert_ptr_null(back);

	/* Too small a buffer gives an empty string, never a partial key. */
	ck_assert_str_eq(ihmp_key_public_text(k, text, IHMP_PUBKEY_TEXT_MAX - 1), "");
	ihmp_key_free(k);
}
END_TEST

/* ---- key files ---- */

static char dir[64];

static void files_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dime-sign-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void files_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *path_in(const char *name)
{
	static char p[4][128];
	static int next;
	char *s = p[next++ % 4];

	snprintf(s, 128, "%s/%s", dir, name);
	return s;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void write_pkey(const char *path, EVP_PKEY *pkey, bool priv, const EVP_CIPHER *enc)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	if (priv)
		ck_assert_int_eq(PEM_write_PrivateKey(f, pkey, enc, (unsigned char *)"pw", enc ? 2 : 0,
						      NULL, NULL), 1);
	else
		ck_assert_int_eq(PEM_write_PUBKEY(f, pkey), 1);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

START_TEST(test_store_load_private)
{
	struct ihmp_key *k = gen(), *back = NULL;
	char why[IHMP_KEY_ERR_MAX] = "";
	const char *p = path_in("key.pem");
	struct stat st;
	mode_t old = umask(0);
	static struct ihmp_msg m, d;
	uint8_t buf[IHMP_MSG_MAX];
	int n;

	ck_assert_int_eq(ihmp_key_store_private(k, p, why, sizeof(why)), 0);
	umask(old);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(ihmp_key_load_private(p, &back, why, sizeof(why)), 0);
	ck_assert(ihmp_key_is_private(back));
	ck_assert(ihmp_key_same_public(k, back));
	/* The loaded key signs what the original verifies. */
	build_handoff(&m, false);
	n = sign_decode(back, &m, 1, buf, &d);
	ck_assert_int_eq(ihmp_verify(k, buf, (size_t)n, &d), 0);
	ihmp_key_free(back);

	/* Never overwrites; a public key has nothing to store. */
	ck_assert_int_eq(ihmp_key_store_private(k, p, why, sizeof(why)), -EEXIST);
	ck_assert_ptr_nonnull(strstr(why, p));
	ck_assert_int_eq(ihmp_key_store_private(k, path_in("nodir/key.pem"), why, sizeof(why)),
			 -ENOENT);
	ihmp_key_free(k);
}
END_TEST

START_TEST(test_private_permissions)
{
	static const mode_t refused[] = { 0640, 0604, 0644, 0660, 0602, 0610, 0601, 0666 };
	struct ihmp_key *k = gen(), *back = NULL;
	char why[IHMP_KEY_ERR_MAX];
	const char *p = path_in("key.pem");

	ck_assert_int_eq(ihmp_key_store_private(k, p, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_int_eq(chmod(p, refused[i]), 0);
		why[0] = '\0';
		ck_assert_int_eq(ihmp_key_load_private(p, &back, why, sizeof(why)), -EPERM);
		ck_assert_ptr_null(back);
		ck_assert_ptr_nonnull(strstr(why, "chmod 600"));
		ck_assert_ptr_nonnull(strstr(why, p));
	}
	/* Stricter than 0600 is fine (root reads a 0400 file). */
	ck_assert_int_eq(chmod(p, 0400), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(ihmp_key_load_private(p, &back, why, sizeof(why)), 0);
		ihmp_key_free(back);
		back = NULL;
		/* Owned by someone else: they could chmod it. */
		ck_assert_int_eq(chown(p, 65534, 65534), 0);
		ck_assert_int_eq(ihmp_key_load_private(p, &back, why, sizeof(why)), -EPERM);
		ck_assert_ptr_nonnull(strstr(why, "another user"));
	}
	ck_assert_int_eq(ihmp_key_load_private(path_in("missing.pem"), &back, why, sizeof(why)),
			 -ENOENT);
	ck_assert_ptr_null(back);
	ihmp_key_free(k);
}
END_TEST

START_TEST(test_private_refusals)
{
	struct ihmp_key *k = gen(), *back = NULL;
	char why[IHMP_KEY_ERR_MAX], big[IHMP_KEY_FILE_MAX + 2];
	const char *good = path_in("key.pem"), *link = path_in("link.pem");
	EVP_PKEY *rsa_like = NULL, *ed = NULL;
	EVP_PKEY_CTX *ctx;
	uint8_t raw[IHMP_PUBKEY_LEN];
	size_t rawlen = sizeof(raw);

	ck_assert_int_eq(ihmp_key_store_private(k, good, NULL, 0), 0);
	/* A symlink to a good key: refused (O_NOFOLLOW). */
	ck_assert_int_eq(symlink(good, link), 0);
	ck_assert_int_eq(ihmp_key_load_private(link, &back, why, sizeof(why)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(why, "symbolic link"));
	/* A directory. */
	ck_assert_int_eq(mkdir(path_in("d"), 0700), 0);
	ck_assert_int_eq(ihmp_key_load_private(path_in("d"), &back, why, sizeof(why)), -EINVAL);
	/* A FIFO: refused at once, never waited on. */
	ck_assert_int_eq(mkfifo(path_in("fifo"), 0600), 0);
	ck_assert_int_eq(ihmp_key_load_private(path_in("fifo"), &back, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
	/* Too large, even if it were a key. */
	memset(big, 'A', sizeof(big));
	write_file(path_in("big.pem"), big, sizeof(big), 0600);
	ck_assert_int_eq(ihmp_key_load_private(path_in("big.pem"), &back, why, sizeof(why)),
			 -EFBIG);
	/* Not PEM, empty, a public key where a private one belongs. */
	write_file(path_in("junk.pem"), "hello\n", 6, 0600);
	ck_assert_int_eq(ihmp_key_load_private(path_in("junk.pem"), &back, why, sizeof(why)),
			 -EINVAL);
	write_file(path_in("empty.pem"), "", 0, 0600);
	ck_assert_int_eq(ihmp_key_load_private(path_in("empty.pem"), &back, why, sizeof(why)),
			 -EINVAL);
	ihmp_key_raw_public(k, raw);
	ed = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, rawlen);
	write_pkey(path_in("pub.pem"), ed, false, NULL);
	ck_assert_int_eq(ihmp_key_load_private(path_in("pub.pem"), &back, why, sizeof(why)),
			 -EINVAL);
	EVP_PKEY_free(ed);
	/* Encrypted: refused without prompting for a passphrase. */
	ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, rawlen);
	ck_assert_ptr_nonnull(ed);
	write_pkey(path_in("enc.pem"), ed, true, EVP_aes_256_cbc());
	ck_assert_int_eq(ihmp_key_load_private(path_in("enc.pem"), &back, why, sizeof(why)),
			 -EINVAL);
	EVP_PKEY_free(ed);
	/* Another algorithm (X25519 is the same size, so only the type says). */
	ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(ctx, &rsa_like), 1);
	EVP_PKEY_CTX_free(ctx);
	write_pkey(path_in("x25519.pem"), rsa_like, true, NULL);
	ck_assert_int_eq(ihmp_key_load_private(path_in("x25519.pem"), &back, why, sizeof(why)),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "Ed25519"));
	write_pkey(path_in("x25519.pub"), rsa_like, false, NULL);
	ck_assert_int_eq(ihmp_key_load_public(path_in("x25519.pub"), &back, why, sizeof(why)),
			 -EOPNOTSUPP);
	EVP_PKEY_free(rsa_like);
	ck_assert_ptr_null(back);
	ihmp_key_free(k);
}
END_TEST

/* RFC 8032 section 7.1, TEST 1. */
static const uint8_t rfc_secret[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec,
	0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
	0x1c, 0xae, 0x7f, 0x60,
};
static const char rfc_public_hex[] =
	"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

START_TEST(test_known_key_and_public_files)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, rfc_secret, 32);
	struct ihmp_key *priv = NULL, *pub = NULL, *text = NULL;
	uint8_t id[IHMP_KEY_ID_LEN], raw[IHMP_PUBKEY_LEN], md[32];
	unsigned int mdlen = 0;
	char why[IHMP_KEY_ERR_MAX];

	ck_assert_ptr_nonnull(pkey);
	write_pkey(path_in("rfc.pem"), pkey, true, NULL);
	write_pkey(path_in("rfc.pub"), pkey, false, NULL);
	ck_assert_int_eq(chmod(path_in("rfc.pub"), 0644), 0);
	EVP_PKEY_free(pkey);

	ck_assert_int_eq(ihmp_key_load_private(path_in("rfc.pem"), &priv, why, sizeof(why)), 0);
	ck_assert_int_eq(ihmp_key_load_public(path_in("rfc.pub"), &pub, why, sizeof(why)), 0);
	ck_assert(!ihmp_key_is_private(pub));
	ck_assert_int_eq(ihmp_key_from_public_text(rfc_public_hex, IHMP_PUBKEY_HEX_LEN, &text), 0);
	ck_assert(ihmp_key_same_public(priv, text));
	ck_assert(ihmp_key_same_public(pub, text));

	/* The key id is SHA-256 of the raw public key, cut to 8 bytes. */
	ihmp_key_raw_public(pub, raw);
	ck_assert_int_eq(EVP_Digest(raw, sizeof(raw), md, &mdlen, EVP_sha256(), NULL), 1);
	ihmp_key_id(text, id);
	ck_assert_mem_eq(id, md, IHMP_KEY_ID_LEN);

	/* A private key file is not a public key file. */
	ck_assert_int_eq(ihmp_key_load_public(path_in("rfc.pem"), &pub, why, sizeof(why)),
			 -EINVAL);
	ihmp_key_free(priv);
	ihmp_key_free(pub);
	ihmp_key_free(text);
}
END_TEST

/* Public key files in text form, as an operator pastes them, and the
 * checks that keep others from replacing them. */
START_TEST(test_public_text_files)
{
	static const char b64_pem[] =
		"-----BEGIN PUBLIC KEY-----\n"
		"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
		"-----END PUBLIC KEY-----\n";
	struct ihmp_key *want = NULL, *got = NULL;
	char why[IHMP_KEY_ERR_MAX], text[2 * IHMP_PUBKEY_HEX_LEN + 8];

	ck_assert_int_eq(ihmp_key_from_public_text(rfc_public_hex, IHMP_PUBKEY_HEX_LEN, &want), 0);
	/* base64 with a newline, as `echo` writes it */
	snprintf(text, sizeof(text), "%s\n", ihmp_key_public_text(want, why, sizeof(why)));
	write_file(path_in("b64.pub"), text, strlen(text), 0644);
	ck_assert_int_eq(ihmp_key_load_public(path_in("b64.pub"), &got, why, sizeof(why)), 0);
	ck_assert(ihmp_key_same_public(want, got));
	ihmp_key_free(got);
	/* hex with CR LF and trailing blanks */
	snprintf(text, sizeof(text), "%s \t\r\n", rfc_public_hex);
	write_file(path_in("hex.pub"), text, strlen(text), 0444);
	ck_assert_int_eq(ihmp_key_load_public(path_in("hex.pub"), &got, why, sizeof(why)), 0);
	ck_assert(ihmp_key_same_public(want, got));
	ihmp_key_free(got);
	/* the PEM `openssl pkey -pubout` prints for the same key */
	write_file(path_in("pem.pub"), b64_pem, strlen(b64_pem), 0644);
	ck_assert_int_eq(ihmp_key_load_public(path_in("pem.pub"), &got, why, sizeof(why)), 0);
	ck_assert(ihmp_key_same_public(want, got));
	ihmp_key_free(got);
	got = NULL;
	/* leading blanks, two keys, a truncated key, nothing: refused */
	static const char *const bad[] = { " d75a", "", "\n", "d75a980182b10ab7d54bfed3c964073a",
					   "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo= x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path_in("bad.pub"), bad[i], strlen(bad[i]), 0644);
		ck_assert_int_eq(ihmp_key_load_public(path_in("bad.pub"), &got, why, sizeof(why)),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "not a public key"));
	}
	snprintf(text, sizeof(text), "%s %s", rfc_public_hex, rfc_public_hex);
	write_file(path_in("bad.pub"), text, strlen(text), 0644);
	ck_assert_int_eq(ihmp_key_load_public(path_in("bad.pub"), &got, why, sizeof(why)), -EINVAL);
	/* writable by group or others: refused before reading */
	write_file(path_in("open.pub"), rfc_public_hex, IHMP_PUBKEY_HEX_LEN, 0664);
	ck_assert_int_eq(ihmp_key_load_public(path_in("open.pub"), &got, why, sizeof(why)), -EPERM);
	ck_assert_ptr_nonnull(strstr(why, "chmod go-w"));
	ck_assert_int_eq(chmod(path_in("open.pub"), 0646), 0);
	ck_assert_int_eq(ihmp_key_load_public(path_in("open.pub"), &got, why, sizeof(why)), -EPERM);
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(path_in("open.pub"), 0644), 0);
		ck_assert_int_eq(chown(path_in("open.pub"), 12345, 12345), 0);
		ck_assert_int_eq(ihmp_key_load_public(path_in("open.pub"), &got, why, sizeof(why)),
				 -EPERM);
	}
	ck_assert_ptr_null(got);
	ihmp_key_free(want);
}
END_TEST

/* The seed dimectl set-local-key sends, and a rotation's key pair. */
START_TEST(test_raw_private_and_pairs)
{
	struct ihmp_key *k, *back, *pub, *pub2, *other;
	uint8_t seed[IHMP_PRIVKEY_LEN], raw[IHMP_PUBKEY_LEN];

	ck_assert_int_eq(ihmp_key_generate(&k), 0);
	ck_assert_int_eq(ihmp_key_raw_private(k, seed), 0);
	ck_assert_int_eq(ihmp_key_from_raw_private(seed, &back), 0);
	ck_assert(ihmp_key_is_private(back));
	ck_assert(ihmp_key_same_public(k, back));
	ihmp_key_raw_public(k, raw);
	ck_assert_int_eq(ihmp_key_from_raw_public(raw, &pub), 0);
	ck_assert_int_eq(ihmp_key_raw_private(pub, seed), -EINVAL);
	ck_assert_int_eq(ihmp_key_from_raw_private(NULL, &back), -EINVAL);
	/* Pairs: public keys only, distinct, two at most. */
	ck_assert_int_eq(ihmp_key_add_alternate(k, pub), -EINVAL);
	ck_assert_int_eq(ihmp_key_from_raw_public(raw, &pub2), 0);
	ck_assert_int_eq(ihmp_key_add_alternate(pub, pub2), -EEXIST);
	ihmp_key_free(pub2);
	ck_assert_int_eq(ihmp_key_generate(&other), 0);
	ihmp_key_raw_public(other, raw);
	ck_assert_int_eq(ihmp_key_from_raw_public(raw, &pub2), 0);
	ck_assert_int_eq(ihmp_key_add_alternate(pub, pub2), 0);
	ck_assert_ptr_eq(ihmp_key_alternate(pub), pub2);
	ck_assert(ihmp_key_has_public(pub, raw));
	ck_assert_int_eq(ihmp_key_add_alternate(pub, other), -EINVAL);
	ihmp_key_free(pub);	/* frees pub2 */
	ihmp_key_free(other);
	ihmp_key_free(back);
	ihmp_key_free(k);
}
END_TEST

static Suite *ihmp_sign_suite(void)
{
	Suite *s = suite_create("ihmp_sign");
	TCase *tc = tcase_create("sign");
	TCase *files = tcase_create("files");

	tcase_add_test(tc, test_roundtrip_kinds);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_tamper_every_bit);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_truncated_signature);
	tcase_add_test(tc, test_unsigned_and_encode_errors);
	tcase_add_test(tc, test_auth_policy);
	tcase_add_test(tc, test_mode_names);
	tcase_add_test(tc, test_public_text);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(files, files_setup, files_teardown);
	tcase_add_test(files, test_store_load_private);
	tcase_add_test(files, test_private_permissions);
	tcase_add_test(files, test_private_refusals);
	tcase_add_test(files, test_known_key_and_public_files);
	tcase_add_test(files, test_public_text_files);
	tcase_add_test(files, test_raw_private_and_pairs);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	return run_suite(ihmp_sign_suite());
}
