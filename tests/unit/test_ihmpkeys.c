// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for ihmpkeys.c: which directory entries are peer key files
 * and which prefix each names, longest-prefix lookup by HOST_ID then packet
 * source, and ihmpkeys_setup() over real key files in a temporary
 * directory: what it loads, what a missing file means in each mode, and
 * that one bad file refuses the whole set.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dime/conf.h"
#include "dime/ihmpkeys.h"
#include "dime/log.h"
#include "testutil.h"

static char dir[64];

static const char *path_in(const char *name);

static void files_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dime-keys-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(mkdir(path_in("peers"), 0755), 0);
}

static void files_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *path_in(const char *name)
{
	static char p[4][160];
	static int next;
	char *s = p[next++ % 4];

	snprintf(s, 160, "%s/%s", dir, name);
	return s;
}

static void write_text(const char *name, const char *text, mode_t mode)
{
	const char *path = path_in(name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A fresh key: its private half stored at name (if any), its public text
 * written to peers/<pub> (if any). */
static struct ihmp_key *new_key(const char *name, const char *pub)
{
	struct ihmp_key *k;
	char why[IHMP_KEY_ERR_MAX], text[IHMP_PUBKEY_TEXT_MAX + 1], file[96];

	ck_assert_int_eq(ihmp_key_generate(&k), 0);
	if (name)
		ck_assert_int_eq(ihmp_key_store_private(k, path_in(name), why, sizeof(why)), 0);
	if (pub) {
		snprintf(file, sizeof(file), "peers/%s", pub);
		snprintf(text, sizeof(text), "%s\n", ihmp_key_public_text(k, why, sizeof(why)));
		write_text(file, text, 0644);
	}
	return k;
}

static struct dimed_config cfg_for(enum ihmp_auth_mode mode, const char *key)
{
	static char keypath[160], peers[160];
	struct dimed_config c;

	memset(&c, 0, sizeof(c));
	snprintf(keypath, sizeof(keypath), "%s", path_in(key));
	snprintf(peers, sizeof(peers), "%s", path_in("peers"));
	c.ihmp_auth = (uint8_t)mode;
	c.ihmp_key_path = keypath;
	c.ihmp_peer_keys_dir = peers;
	c.ihmp_rate = 50;
	c.ihmp_rate_global = 1000;
	return c;
}

static bool same(const struct ihmp_key *a, const struct ihmp_key *b)
{
	return a && b && ihmp_key_same_public(a, b);
}

/* ---- names ---- */

START_TEST(test_names)
{
	static const struct {
		const char *name;
		int err;
		const char *net;
		uint8_t len;
	} cases[] = {
		{ "198.51.100.7.pub", 0, "198.51.100.7", 32 },
		{ "203.0.113.0_24.pub", 0, "203.0.113.0", 24 },
		{ "0.0.0.0_0.pub", 0, "0.0.0.0", 0 },
		{ "2001:db8:1::_48.pub", 0, "2001:db8:1::", 48 },
		{ "2001:db8::7.pub", 0, "2001:db8::7", 128 },
		{ "2001:db8::_128.pub", 0, "2001:db8::", 128 },
		{ ".hidden.pub", -ENOENT, NULL, 0 },
		{ "README", -ENOENT, NULL, 0 },
		{ "198.51.100.7.key", -ENOENT, NULL, 0 },
		{ "198.51.100.7.pub~", -ENOENT, NULL, 0 },
		{ ".pub", -ENOENT, NULL, 0 },
		{ "pub", -ENOENT, NULL, 0 },
		{ "x.pub", -EINVAL, NULL, 0 },
		{ "203.0.113.1_24.pub", -EINVAL, NULL, 0 },	/* host bits */
		{ "203.0.113.0_33.pub", -EINVAL, NULL, 0 },
		{ "203.0.113.0_024.pub", -EINVAL, NULL, 0 },
		{ "203.0.113.0_.pub", -EINVAL, NULL, 0 },
		{ "203.0.113.0_-1.pub", -EINVAL, NULL, 0 },
		{ "203.0.113.0_24_1.pub", -EINVAL, NULL, 0 },
		{ "203.0.113.0/24.pub", -EINVAL, NULL, 0 },
		{ "2001:db8::1_64.pub", -EINVAL, NULL, 0 },
		{ "2001:db8::_129.pub", -EINVAL, NULL, 0 },
		{ "198.51.100.7 .pub", -EINVAL, NULL, 0 },
		{ "fe80::1%eth0.pub", -EINVAL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dime_addr net;
		uint8_t len = 99;
		int err = ihmpkeys_parse_name(cases[i].name, &net, &len);

		ck_assert_msg(err == cases[i].err, "%s: %d, want %d", cases[i].name, err,
			      cases[i].err);
		if (err)
			continue;
		ck_assert(dime_addr_eq(&net, AP(cases[i].net)));
		ck_assert_uint_eq(len, cases[i].len);
	}
}
END_TEST

/* ---- setup ---- */

START_TEST(test_missing_files)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "none.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ihmpkeys *k = NULL;

	/* No key and no directory: unsigned, no peer keys. */
	ck_assert_int_eq(rmdir(path_in("peers")), 0);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_ptr_null(ihmpkeys_local(k));
	ck_assert_uint_eq(ihmpkeys_count(k), 0);
	ck_assert_ptr_null(ic.local_key);
	ck_assert_ptr_nonnull(ic.local_key_for);
	ck_assert_ptr_null(ic.local_key_for(ic.local_key_ctx, AP("192.0.2.1")));
	ck_assert_int_eq(ic.auth, IHMP_AUTH_OPPORTUNISTIC);
	ck_assert_ptr_nonnull(ic.peer_key);
	ck_assert_ptr_null(ic.peer_key(ic.peer_key_ctx, AP("192.0.2.1"), AP("192.0.2.1")));
	ck_assert_uint_gt(ic.clock_us, 1500000000ull * 1000000);	/* a wall clock */
	ihmpkeys_free(k);
	/* Required: our own key must exist. */
	c = cfg_for(IHMP_AUTH_REQUIRED, "none.key");
	k = NULL;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -ENOENT);
	ck_assert_ptr_null(k);
	/* ... and with it, no peer keys is allowed (with a warning). */
	ihmp_key_free(new_key("host.key", NULL));
	c = cfg_for(IHMP_AUTH_REQUIRED, "host.key");
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_ptr_nonnull(ihmpkeys_local(k));
	ck_assert(ihmp_key_is_private(ic.local_key_for(ic.local_key_ctx, AP("192.0.2.1"))));
	ck_assert_int_eq(ic.auth, IHMP_AUTH_REQUIRED);
	ihmpkeys_free(k);
	c.ihmp_auth = 3;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
}
END_TEST

START_TEST(test_load_and_lookup)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "host.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ihmp_key *me = new_key("host.key", NULL);
	struct ihmp_key *one = new_key(NULL, "198.51.100.7.pub");
	struct ihmp_key *net24 = new_key(NULL, "203.0.113.0_24.pub");
	struct ihmp_key *net25 = new_key(NULL, "203.0.113.128_25.pub");
	struct ihmp_key *v6 = new_key(NULL, "2001:db8:1::_48.pub");
	struct ihmpkeys *k = NULL;
	char pem[512];

	write_text("peers/README", "public keys of our peers\n", 0644);
	write_text("peers/.editor-swap.pub", "garbage", 0644);
	/* A PEM public key as openssl pkey -pubout writes it: RFC 8032 test 1. */
	snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n"
				   "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
				   "-----END PUBLIC KEY-----\n");
	write_text("peers/192.0.2.0_25.pub", pem, 0444);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_uint_eq(ihmpkeys_count(k), 5);
	ck_assert(same(ihmpkeys_local(k), me));
	ck_assert_ptr_eq(ic.local_key_for(ic.local_key_ctx, AP("203.0.113.1")), ihmpkeys_local(k));
	ck_assert_ptr_eq(ihmpkeys_local_for(k, NULL), ihmpkeys_local(k));

	ck_assert(same(ihmpkeys_lookup(k, NULL, AP("198.51.100.7")), one));
	ck_assert_ptr_null(ihmpkeys_lookup(k, NULL, AP("198.51.100.8")));
	ck_assert(same(ihmpkeys_lookup(k, NULL, AP("203.0.113.9")), net24));
	ck_assert(same(ihmpkeys_lookup(k, NULL, AP("203.0.113.200")), net25));	/* longest */
	ck_assert(same(ihmpkeys_lookup(k, NULL, AP("2001:db8:1:ffff::9")), v6));
	ck_assert_ptr_null(ihmpkeys_lookup(k, NULL, AP("2001:db8:2::9")));
	ck_assert_ptr_nonnull(ihmpkeys_lookup(k, NULL, AP("192.0.2.127")));
	ck_assert_ptr_null(ihmpkeys_lookup(k, NULL, AP("192.0.2.128")));
	/* HOST_ID first, the packet source when HOST_ID has none. */
	ck_assert(same(ihmpkeys_lookup(k, AP("203.0.113.9"), AP("198.51.100.7")), one));
	ck_assert(same(ihmpkeys_lookup(k, AP("203.0.113.9"), AP("10.0.0.7")), net24));
	ck_assert(same(ic.peer_key(ic.peer_key_ctx, AP("203.0.113.9"), AP("10.0.0.7")), net24));
	ck_assert_ptr_null(ihmpkeys_lookup(k, AP("10.0.0.8"), AP("10.0.0.7")));
	ck_assert_ptr_null(ihmpkeys_lookup(k, NULL, NULL));
	ck_assert_ptr_null(ihmpkeys_lookup(NULL, NULL, AP("198.51.100.7")));

	/* Rate limits: bursts of twice the rate; 0 turns them off. */
	ck_assert_uint_eq(ic.rl.rate, 50);
	ck_assert_uint_eq(ic.rl.burst, 100);
	ck_assert_uint_eq(ic.rl.global_rate, 1000);
	ck_assert_uint_eq(ic.rl.global_burst, 2000);
	ck_assert_uint_gt(ic.rl.slots, 0);
	ihmpkeys_free(k);
	c.ihmp_rate = 0;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_uint_eq(ic.rl.slots, 0);
	ihmpkeys_free(k);

	ihmp_key_free(me);
	ihmp_key_free(one);
	ihmp_key_free(net24);
	ihmp_key_free(net25);
	ihmp_key_free(v6);
}
END_TEST

/* Each of these refuses the whole setup, and leaves ic alone. */
START_TEST(test_refusals)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "host.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS, before;
	struct ihmpkeys *k = NULL;

	ihmp_key_free(new_key("host.key", NULL));
	ihmp_key_free(new_key(NULL, "198.51.100.7.pub"));
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ihmpkeys_free(k);
	k = NULL;
	memcpy(&before, &ic, sizeof(ic));

	/* A bad name among good ones. */
	write_text("peers/203.0.113.1_24.pub", "x", 0644);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	ck_assert_int_eq(unlink(path_in("peers/203.0.113.1_24.pub")), 0);
	/* Two files for one prefix. */
	ihmp_key_free(new_key(NULL, "198.51.100.7_32.pub"));
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	ck_assert_int_eq(unlink(path_in("peers/198.51.100.7_32.pub")), 0);
	/* No key in it. */
	write_text("peers/198.51.100.9.pub", "not a key\n", 0644);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	ck_assert_int_eq(unlink(path_in("peers/198.51.100.9.pub")), 0);
	/* Others could replace it. */
	ck_assert_int_eq(chmod(path_in("peers/198.51.100.7.pub"), 0666), 0);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	ck_assert_int_eq(chmod(path_in("peers/198.51.100.7.pub"), 0644), 0);
	/* ... or add files to the directory. */
	ck_assert_int_eq(chmod(path_in("peers"), 0775), 0);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EPERM);
	ck_assert_int_eq(chmod(path_in("peers"), 0755), 0);
	/* A directory that is a file. */
	c.ihmp_peer_keys_dir = path_in("host.key");
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -ENOTDIR);
	c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "host.key");
	/* Our key readable by others: refused in every mode. */
	ck_assert_int_eq(chmod(path_in("host.key"), 0644), 0);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EPERM);
	c.ihmp_auth = IHMP_AUTH_OFF;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EPERM);
	/* Our key is not a private key. */
	write_text("pub.key", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n",
		   0600);
	c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "pub.key");
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);

	ck_assert_ptr_null(k);
	ck_assert_mem_eq(&ic, &before, sizeof(ic));
	/* Back in order: loads again. */
	ck_assert_int_eq(chmod(path_in("host.key"), 0600), 0);
	c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "host.key");
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_uint_eq(ihmpkeys_count(k), 1);
	ihmpkeys_free(k);
}
END_TEST

/* ---- our keys: per source, longest prefix, default ---- */

static struct conf_bound_key bound(const char *file, unsigned line, const char *p1,
				   unsigned l1, const char *p2, unsigned l2)
{
	struct conf_bound_key b = { .line = line };

	snprintf(b.path, sizeof(b.path), "%s", path_in(file));
	b.net[b.n] = A(p1);
	b.len[b.n++] = (uint8_t)l1;
	if (p2) {
		b.net[b.n] = A(p2);
		b.len[b.n++] = (uint8_t)l2;
	}
	return b;
}

START_TEST(test_local_selection)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "host.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ihmp_key *def = new_key("host.key", NULL), *lab = new_key("lab.key", NULL);
	struct ihmp_key *srv = new_key("srv.key", NULL);
	struct conf_bound_key b[2] = {
		bound("lab.key", 7, "192.0.2.0", 24, "2001:db8::", 32),
		bound("srv.key", 8, "192.0.2.10", 32, NULL, 0),
	};
	struct ihmpkeys *k = NULL;

	c.ihmp_bound_keys = b;
	c.ihmp_bound_keys_n = 2;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_uint_eq(ihmpkeys_local_count(k), 3);
	/* The longest prefix holding the address wins; else the default. */
	ck_assert(same(ihmpkeys_local_for(k, AP("192.0.2.9")), lab));
	ck_assert(same(ihmpkeys_local_for(k, AP("192.0.2.10")), srv));
	ck_assert(same(ihmpkeys_local_for(k, AP("2001:db8:5::1")), lab));
	ck_assert(same(ihmpkeys_local_for(k, AP("198.51.100.1")), def));
	ck_assert(same(ihmpkeys_local_for(k, AP("2001:db9::1")), def));
	ck_assert(same(ihmpkeys_local_for(k, NULL), def));
	ck_assert(same(ic.local_key_for(ic.local_key_ctx, AP("192.0.2.10")), srv));
	ihmpkeys_free(k);

	/* Without a default key, uncovered addresses go out unsigned. */
	c = cfg_for(IHMP_AUTH_REQUIRED, "none.key");
	c.ihmp_bound_keys = b;
	c.ihmp_bound_keys_n = 1;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);	/* required: one key is enough */
	ck_assert(same(ihmpkeys_local_for(k, AP("192.0.2.10")), lab));
	ck_assert_ptr_null(ihmpkeys_local_for(k, AP("198.51.100.1")));
	ck_assert_ptr_null(ihmpkeys_local(k));
	ihmpkeys_free(k);
	k = NULL;

	/* A bound key file must exist, and be ours alone. */
	b[1] = bound("gone.key", 9, "198.51.100.0", 24, NULL, 0);
	c.ihmp_bound_keys_n = 2;
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -ENOENT);
	b[1] = bound("srv.key", 9, "198.51.100.0", 24, NULL, 0);
	ck_assert_int_eq(chmod(path_in("srv.key"), 0640), 0);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EPERM);
	ck_assert_int_eq(chmod(path_in("srv.key"), 0600), 0);
	/* One prefix on two lines. */
	b[1] = bound("srv.key", 9, "2001:db8::", 32, NULL, 0);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EEXIST);
	ck_assert_ptr_null(k);

	ihmp_key_free(def);
	ihmp_key_free(lab);
	ihmp_key_free(srv);
}
END_TEST

static struct ihmp_key *gen(void)
{
	struct ihmp_key *key;

	ck_assert_int_eq(ihmp_key_generate(&key), 0);
	return key;
}

START_TEST(test_set_local)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "none.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ihmpkeys *k = NULL;
	struct dime_addr net[2] = { A("192.0.2.0"), A("198.51.100.7") };
	uint8_t len[2] = { 24, 32 }, rlen[2] = { 32, 24 }, bad_len = 33;
	struct dime_addr rnet[2] = { A("198.51.100.7"), A("192.0.2.0") }, host = A("192.0.2.1");
	const struct ihmp_key *first;
	struct ihmp_key *pub;
	uint8_t raw[IHMP_PUBKEY_LEN];
	bool replaced;

	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_ptr_null(ihmpkeys_local_for(k, AP("192.0.2.1")));
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), net, len, 2, &replaced), 0);
	ck_assert(!replaced);
	first = ihmpkeys_local_for(k, AP("192.0.2.1"));
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_eq(ihmpkeys_local_for(k, AP("198.51.100.7")), first);
	ck_assert_ptr_null(ihmpkeys_local_for(k, AP("198.51.100.8")));
	/* The same list in another order replaces it. */
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), rnet, rlen, 2, &replaced), 0);
	ck_assert(replaced);
	ck_assert_uint_eq(ihmpkeys_local_count(k), 1);
	/* A prefix bound to another list, bad prefixes, public keys. */
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), net, len, 1, NULL), -EEXIST);
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), &host, len, 1, NULL), -EINVAL);
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), &host, &bad_len, 1, NULL), -EINVAL);
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), (struct dime_addr[]){ A("192.0.2.0"),
		A("192.0.2.0") }, (uint8_t[]){ 24, 24 }, 2, NULL), -EINVAL);
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), net, len, IHMPKEYS_PREFIXES_MAX + 1, NULL),
			 -EINVAL);
	ihmp_key_raw_public(ihmpkeys_local_for(k, AP("192.0.2.1")), raw);	/* first is gone */
	ck_assert_int_eq(ihmp_key_from_raw_public(raw, &pub), 0);
	ck_assert_int_eq(ihmpkeys_set_local(k, pub, NULL, NULL, 0, NULL), -EINVAL);
	/* A default key: every other address. */
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), NULL, NULL, 0, &replaced), 0);
	ck_assert(!replaced);
	ck_assert_ptr_nonnull(ihmpkeys_local_for(k, AP("198.51.100.8")));
	ck_assert_ptr_ne(ihmpkeys_local_for(k, AP("198.51.100.8")),
			 ihmpkeys_local_for(k, AP("192.0.2.1")));
	/* Removal by the same list. */
	ck_assert_int_eq(ihmpkeys_remove_local(k, net, len, 1), -ENOENT);
	ck_assert_int_eq(ihmpkeys_remove_local(k, rnet, rlen, 2), 0);
	ck_assert_ptr_eq(ihmpkeys_local_for(k, AP("192.0.2.1")), ihmpkeys_local(k));
	ck_assert_int_eq(ihmpkeys_remove_local(k, NULL, NULL, 0), 0);
	ck_assert_uint_eq(ihmpkeys_local_count(k), 0);
	/* Full. */
	for (unsigned int i = 0; i < IHMPKEYS_LOCAL_MAX; i++) {
		struct dime_addr a = A("203.0.113.0");
		uint8_t l = 32;

		a.a.u8[3] = (uint8_t)i;
		ck_assert_int_eq(ihmpkeys_set_local(k, gen(), &a, &l, 1, NULL), 0);
	}
	ck_assert_int_eq(ihmpkeys_set_local(k, gen(), NULL, NULL, 0, NULL), -ENOSPC);
	ihmpkeys_free(k);
}
END_TEST

static int count_lkey(void *ctx, const struct ctl_lkey_rec *rec)
{
	struct ctl_lkey_rec *last = ctx;

	*last = *rec;
	last->n += 100;		/* count the calls in the high part */
	return 0;
}

/* What dimectl set-local-key sends: a seed and a list. */
START_TEST(test_ctl_set_local)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_OPPORTUNISTIC, "none.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ctl_set_local_key req = { .n = 1, .net = { A("192.0.2.0") }, .len = { 24 } };
	struct ihmp_key *key = gen();
	struct ctl_lkey_rec rec;
	struct ihmpkeys *k = NULL;
	uint8_t id[IHMP_KEY_ID_LEN], want[IHMP_KEY_ID_LEN];

	ck_assert_int_eq(ihmp_key_raw_private(key, req.seed), 0);
	ihmp_key_id(key, want);
	ck_assert_int_eq(ihmpkeys_ctl_set_local(NULL, &req, id, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	ck_assert_int_eq(ihmpkeys_ctl_set_local(k, &req, id, NULL), 0);
	ck_assert_mem_eq(id, want, IHMP_KEY_ID_LEN);
	ck_assert(same(ic.local_key_for(ic.local_key_ctx, AP("192.0.2.77")), key));
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(ihmpkeys_ctl_list(k, count_lkey, &rec), 0);
	ck_assert_uint_eq(rec.n, 101);
	ck_assert(rec.runtime);
	ck_assert_mem_eq(rec.id, want, IHMP_KEY_ID_LEN);
	ck_assert_uint_eq(rec.len[0], 24);
	/* Host bits set: refused, and nothing changes. */
	req.len[0] = 20;
	ck_assert_int_eq(ihmpkeys_ctl_set_local(k, &req, id, NULL), -EINVAL);
	req.len[0] = 24;
	req.remove = true;
	ck_assert_int_eq(ihmpkeys_ctl_set_local(k, &req, id, NULL), 0);
	ck_assert_int_eq(ihmpkeys_ctl_set_local(k, &req, id, NULL), -ENOENT);
	ck_assert_ptr_null(ic.local_key_for(ic.local_key_ctx, AP("192.0.2.77")));
	ihmpkeys_free(k);
	ihmp_key_free(key);
}
END_TEST

/* A peer file with the old and the new key of a rotation: either verifies,
 * a third key does not. */
START_TEST(test_peer_rotation_pair)
{
	struct dimed_config c = cfg_for(IHMP_AUTH_REQUIRED, "host.key");
	struct ihmp_config ic = IHMP_CONFIG_DEFAULTS;
	struct ihmp_key *me = new_key("host.key", NULL), *old = gen(), *new = gen(), *other = gen();
	struct ihmp_key *keys[3] = { old, new, other };
	char text[3 * IHMP_PUBKEY_TEXT_MAX + 8], a[IHMP_PUBKEY_TEXT_MAX], b[IHMP_PUBKEY_TEXT_MAX];
	const struct ihmp_key *peer;
	struct ihmpkeys *k = NULL;
	uint8_t raw[IHMP_PUBKEY_LEN];

	snprintf(text, sizeof(text), "%s\n%s\n", ihmp_key_public_text(old, a, sizeof(a)),
		 ihmp_key_public_text(new, b, sizeof(b)));
	write_text("peers/198.51.100.7.pub", text, 0644);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
	peer = ihmpkeys_lookup(k, NULL, AP("198.51.100.7"));
	ck_assert_ptr_nonnull(ihmp_key_alternate(peer));
	for (int i = 0; i < 3; i++) {
		uint8_t buf[IHMP_MSG_MAX];
		struct ihmp_msg m, d;
		int len;

		ihmp_msg_init(&m, IHMP_ADDR_UP, 5);
		m.host_id = A("198.51.100.7");
		m.new_addr = A("198.51.100.8");
		len = ihmp_sign_encode(keys[i], &m, 99, buf, sizeof(buf));
		ck_assert_int_gt(len, 0);
		ck_assert_int_eq(ihmp_decode(buf, (size_t)len, &d), 0);
		ck_assert_int_eq(ihmp_verify(peer, buf, (size_t)len, &d), i < 2 ? 0 : -EKEYREJECTED);
	}
	ihmp_key_raw_public(new, raw);
	ck_assert(ihmp_key_has_public(peer, raw));
	ihmp_key_raw_public(other, raw);
	ck_assert(!ihmp_key_has_public(peer, raw));
	ihmpkeys_free(k);
	k = NULL;
	/* Three keys, or one twice, are refused. */
	snprintf(text, sizeof(text), "%s\n%s\n", a, a);
	write_text("peers/198.51.100.7.pub", text, 0644);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	snprintf(text, sizeof(text), "%s\n%s\n%s\n", a, b, a);
	write_text("peers/198.51.100.7.pub", text, 0644);
	ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	ck_assert_ptr_null(k);
	/* Two PEM blocks (RFC 8032 tests 1 and 2) make a pair; a third is too many. */
	{
		static const char pem1[] = "-----BEGIN PUBLIC KEY-----\n"
			"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
			"-----END PUBLIC KEY-----\n";
		static const char pem2[] = "-----BEGIN PUBLIC KEY-----\n"
			"MCowBQYDK2VwAyEAPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=\n"
			"-----END PUBLIC KEY-----\n";
		char two[512], three[768];

		snprintf(two, sizeof(two), "%s%s\n", pem1, pem2);
		write_text("peers/198.51.100.7.pub", two, 0644);
		ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), 0);
		ck_assert_ptr_nonnull(ihmp_key_alternate(ihmpkeys_lookup(k, NULL,
									 AP("198.51.100.7"))));
		ihmpkeys_free(k);
		k = NULL;
		snprintf(three, sizeof(three), "%s%s%s", pem1, pem2, pem1);
		write_text("peers/198.51.100.7.pub", three, 0644);
		ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
		snprintf(two, sizeof(two), "%sgarbage\n", pem1);
		write_text("peers/198.51.100.7.pub", two, 0644);
		ck_assert_int_eq(ihmpkeys_setup(&c, &ic, &k), -EINVAL);
	}
	ihmp_key_free(me);
	ihmp_key_free(old);
	ihmp_key_free(new);
	ihmp_key_free(other);
}
END_TEST

static Suite *ihmpkeys_suite(void)
{
	Suite *s = suite_create("ihmpkeys");
	TCase *names = tcase_create("names");
	TCase *files = tcase_create("files");

	tcase_add_test(names, test_names);
	suite_add_tcase(s, names);
	tcase_add_checked_fixture(files, files_setup, files_teardown);
	tcase_add_test(files, test_missing_files);
	tcase_add_test(files, test_load_and_lookup);
	tcase_add_test(files, test_refusals);
	tcase_add_test(files, test_local_selection);
	tcase_add_test(files, test_set_local);
	tcase_add_test(files, test_ctl_set_local);
	tcase_add_test(files, test_peer_rotation_pair);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	log_init("test_ihmpkeys", LOG_LEVEL_ERR);
	return run_suite(ihmpkeys_suite());
}
