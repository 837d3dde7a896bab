// SPDX-License-Identifier: BSD-2-Clause
/*
 * IHMP keys and limits from the configuration (include/dime/ihmpkeys.h):
 * our private keys (a default one and ones bound to some local prefixes),
 * a table of peer prefixes with their public keys, and the ihmp_config
 * fields that point at them. Loading happens once, before dimed drops
 * root, so key files may be root's alone; dimectl set-local-key hands
 * later keys over as bytes (dimed can no longer read such files). Every
 * problem found
 * is logged with its file name, and any problem refuses the whole set: a
 * half-read key directory would silently trust fewer peers than intended,
 * or accept unsigned messages from a peer whose key file had a typo.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dime/conf.h"
#include "dime/ihmpkeys.h"
#include "dime/log.h"

struct peer_key {
	struct dime_addr net;	/* host bits zero */
	uint8_t len;
	struct ihmp_key *key;
};

/* One of our keys: n 0 is the default key (every local address). */
struct local_key {
	struct ihmp_key *key;
	bool runtime;		/* from dimectl set-local-key: lost at restart */
	uint8_t n;
	struct dime_addr net[IHMPKEYS_PREFIXES_MAX];	/* host bits zero */
	uint8_t len[IHMPKEYS_PREFIXES_MAX];
};

struct ihmpkeys {
	unsigned int nlocal;
	struct local_key local[IHMPKEYS_LOCAL_MAX];
	unsigned int n, cap;
	struct peer_key *peers;
	unsigned int errors;	/* while loading */
};

/* ---- names and prefixes ----------------------------------------------- */

static unsigned int family_bits(const struct dime_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

/* a's first len bits equal net's. */
static bool in_prefix(const struct dime_addr *a, const struct dime_addr *net, unsigned int len)
{
	unsigned int full = len / 8, rest = len % 8;

	if (a->family != net->family)
		return false;
	if (memcmp(a->a.u8, net->a.u8, full) != 0)
		return false;
	return !rest || ((a->a.u8[full] ^ net->a.u8[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool host_bits_zero(const struct dime_addr *net, unsigned int len)
{
	for (unsigned int bit = len; bit < family_bits(net); bit++)
		if (net->a.u8[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* "0".."128" without sign, blanks or leading zeros. */
static int parse_len(const char *s, unsigned int *out)
{
	unsigned int v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	if (i == 0 || s[i] || (s[0] == '0' && i > 1))
		return -EINVAL;
	*out = v;
	return 0;
}

int ihmpkeys_parse_name(const char *name, struct dime_addr *net, uint8_t *len)
{
	static const char suffix[] = ".pub";
	char text[64], *sep;
	size_t n = strlen(name);
	unsigned int bits;

	if (name[0] == '.' || n < sizeof(suffix) ||
	    strcmp(name + n - (sizeof(suffix) - 1), suffix) != 0)
		return -ENOENT;
	n -= sizeof(suffix) - 1;
	if (n >= sizeof(text))
		return -EINVAL;
	memcpy(text, name, n);
	text[n] = '\0';
	sep = strchr(text, '_');
	if (sep)
		*sep = '\0';
	if (dime_addr_parse(net, text) < 0)
		return -EINVAL;
	bits = family_bits(net);
	if (sep && (parse_len(sep + 1, &bits) < 0 || bits > family_bits(net)))
		return -EINVAL;
	if (!host_bits_zero(net, bits))
		return -EINVAL;
	*len = (uint8_t)bits;
	return 0;
}

/* The longest prefix holding a. */
static const struct peer_key *longest(const struct ihmpkeys *k, const struct dime_addr *a)
{
	const struct peer_key *best = NULL;

	if (!a || !dime_addr_is_set(a))
		return NULL;
	for (unsigned int i = 0; i < k->n; i++) {
		const struct peer_key *p = &k->peers[i];

		if ((!best || p->len > best->len) && in_prefix(a, &p->net, p->len))
			best = p;
	}
	return best;
}

const struct ihmp_key *ihmpkeys_lookup(const struct ihmpkeys *k, const struct dime_addr *src,
				       const struct dime_addr *host_id)
{
	const struct peer_key *p;

	if (!k)
		return NULL;
	p = longest(k, host_id);
	if (!p)
		p = longest(k, src);
	return p ? p->key : NULL;
}

static const struct ihmp_key *lookup_cb(void *ctx, const struct dime_addr *src,
					const struct dime_addr *host_id)
{
	return ihmpkeys_lookup(ctx, src, host_id);
}

unsigned int ihmpkeys_count(const struct ihmpkeys *k)
{
	return k ? k->n : 0;
}

/* ---- our keys ------------------------------------------------------------ */

static const struct local_key *default_entry(const struct ihmpkeys *k)
{
	for (unsigned int i = 0; i < k->nlocal; i++)
		if (!k->local[i].n)
			return &k->local[i];
	return NULL;
}

const struct ihmp_key *ihmpkeys_local(const struct ihmpkeys *k)
{
	const struct local_key *l = k ? default_entry(k) : NULL;

	return l ? l->key : NULL;
}

unsigned int ihmpkeys_local_count(const struct ihmpkeys *k)
{
	return k ? k->nlocal : 0;
}

const struct ihmp_key *ihmpkeys_local_for(const struct ihmpkeys *k, const struct dime_addr *addr)
{
	const struct local_key *best = NULL;
	int best_len = -1;

	if (!k)
		return NULL;
	for (unsigned int i = 0; addr && dime_addr_is_set(addr) && i < k->nlocal; i++)
		for (unsigned int j = 0; j < k->local[i].n; j++)
			if ((int)k->local[i].len[j] > best_len &&
			    in_prefix(addr, &k->local[i].net[j], k->local[i].len[j])) {
				best = &k->local[i];
				best_len = k->local[i].len[j];
			}
	return best ? best->key : ihmpkeys_local(k);
}

static const struct ihmp_key *local_cb(void *ctx, const struct dime_addr *host_id)
{
	return ihmpkeys_local_for(ctx, host_id);
}

static bool list_has(const struct dime_addr *net, const uint8_t *len, unsigned int n,
		     const struct dime_addr *a, uint8_t l)
{
	for (unsigned int i = 0; i < n; i++)
		if (len[i] == l && dime_addr_eq(&net[i], a))
			return true;
	return false;
}

/* Valid prefixes, none twice. */
static int check_list(const struct dime_addr *net, const uint8_t *len, unsigned int n)
{
	if (n > IHMPKEYS_PREFIXES_MAX || (n && (!net || !len)))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if ((net[i].family != AF_INET && net[i].family != AF_INET6) ||
		    len[i] > family_bits(&net[i]) || !host_bits_zero(&net[i], len[i]) ||
		    list_has(net, len, i, &net[i], len[i]))
			return -EINVAL;
	}
	return 0;
}

/* The entry with the same list in any order, or NULL. */
static struct local_key *same_list(struct ihmpkeys *k, const struct dime_addr *net,
				   const uint8_t *len, unsigned int n)
{
	for (unsigned int i = 0; i < k->nlocal; i++) {
		struct local_key *l = &k->local[i];
		unsigned int j;

		if (l->n != n)
			continue;
		for (j = 0; j < n && list_has(l->net, l->len, l->n, &net[j], len[j]); j++)
			;
		if (j == n)
			return l;
	}
	return NULL;
}

/* A prefix of the list that another entry (not self) binds already. */
static bool bound_elsewhere(const struct ihmpkeys *k, const struct local_key *self,
			    const struct dime_addr *net, const uint8_t *len, unsigned int n)
{
	for (unsigned int i = 0; i < k->nlocal; i++)
		for (unsigned int j = 0; &k->local[i] != self && j < n; j++)
			if (list_has(k->local[i].net, k->local[i].len, k->local[i].n, &net[j], len[j]))
				return true;
	return false;
}

int ihmpkeys_set_local(struct ihmpkeys *k, struct ihmp_key *key, const struct dime_addr *net,
		       const uint8_t *len, unsigned int n, bool *replaced)
{
	struct local_key *l;
	int err = 0;

	if (replaced)
		*replaced = false;
	if (!k || !key || !ihmp_key_is_private(key))
		err = -EINVAL;
	if (!err)
		err = check_list(net, len, n);
	l = err ? NULL : same_list(k, net, len, n);
	if (!err && bound_elsewhere(k, l, net, len, n))
		err = -EEXIST;
	if (!err && !l && k->nlocal == IHMPKEYS_LOCAL_MAX)
		err = -ENOSPC;
	if (err) {
		ihmp_key_free(key);
		return err;
	}
	if (l) {
		ihmp_key_free(l->key);
		if (replaced)
			*replaced = true;
	} else {
		l = &k->local[k->nlocal++];
		memset(l, 0, sizeof(*l));
		l->n = (uint8_t)n;
		if (n) {
			memcpy(l->net, net, n * sizeof(*net));
			memcpy(l->len, len, n);
		}
	}
	l->key = key;
	return 0;
}

int ihmpkeys_remove_local(struct ihmpkeys *k, const struct dime_addr *net, const uint8_t *len,
			  unsigned int n)
{
	struct local_key *l;

	if (!k || check_list(net, len, n))
		return -ENOENT;
	l = same_list(k, net, len, n);
	if (!l)
		return -ENOENT;
	ihmp_key_free(l->key);
	*l = k->local[--k->nlocal];
	return 0;
}

/* ---- the peer key directory ---------------------------------------------- */

static int add_peer(struct ihmpkeys *k, const struct dime_addr *net, uint8_t len,
		    struct ihmp_key *key)
{
	if (k->n == k->cap) {
		unsigned int cap = k->cap ? 2 * k->cap : 16;
		struct peer_key *p = realloc(k->peers, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		k->peers = p;
		k->cap = cap;
	}
	k->peers[k->n].net = *net;
	k->peers[k->n].len = len;
	k->peers[k->n++].key = key;
	return 0;
}

static const struct peer_key *same_prefix(const struct ihmpkeys *k, const struct dime_addr *net,
					  uint8_t len)
{
	for (unsigned int i = 0; i < k->n; i++)
		if (k->peers[i].len == len && dime_addr_eq(&k->peers[i].net, net))
			return &k->peers[i];
	return NULL;
}

/* One directory entry. Problems are logged and counted in k->errors;
 * the return value is only for running out of memory. */
static int load_peer(struct ihmpkeys *k, const char *dir, const char *name)
{
	char path[PATH_MAX], why[IHMP_KEY_ERR_MAX], text[IHMP_PUBKEY_TEXT_MAX];
	struct ihmp_key *key = NULL;
	struct dime_addr net;
	uint8_t len;
	int err = ihmpkeys_parse_name(name, &net, &len);

	if (err == -ENOENT) {
		if (name[0] != '.')
			log_notice("%s/%s: skipped: peer key files are named ADDRESS.pub or "
				   "ADDRESS_PREFIXLEN.pub", dir, name);
		return 0;
	}
	if (err < 0) {
		log_errx("%s/%s: not a peer key file name: expected ADDRESS.pub or "
			 "ADDRESS_PREFIXLEN.pub ('_' for '/', host bits zero, e.g. "
			 "203.0.113.0_24.pub)", dir, name);
		k->errors++;
		return 0;
	}
	if (same_prefix(k, &net, len)) {
		log_errx("%s/%s: a second key for the same prefix", dir, name);
		k->errors++;
		return 0;
	}
	if (k->n >= IHMPKEYS_MAX) {
		log_errx("%s/%s: more than %u peer key files", dir, name, IHMPKEYS_MAX);
		k->errors++;
		return 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		log_errx("%s/%s: path too long", dir, name);
		k->errors++;
		return 0;
	}
	err = ihmp_key_load_public(path, &key, why, sizeof(why));
	if (err < 0) {
		log_errx("IHMP peer key %s", why);
		k->errors++;
		return 0;
	}
	if (add_peer(k, &net, len, key) < 0) {
		ihmp_key_free(key);
		return -ENOMEM;
	}
	log_debug("IHMP peer key %s: %s", path, ihmp_key_public_text(key, text, sizeof(text)));
	return 0;
}

/* The directory decides whom we trust, like the files in it. */
static int check_dir(int fd, const char *dir)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_errx("%s: refusing a peer key directory that others than root can write "
			 "(owner uid %u, mode %04o): chown root and chmod go-w it",
			 dir, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int load_peers(struct ihmpkeys *k, const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd, err;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		log_info("%s: no such directory: no IHMP peer keys", dir);
		return 0;
	}
	if (fd < 0) {
		err = -errno;
		log_err_e(err, "%s: cannot open the IHMP peer key directory", dir);
		return err;
	}
	err = check_dir(fd, dir);
	if (err < 0) {
		if (err != -EPERM)
			log_err_e(err, "%s: cannot stat", dir);
		close(fd);
		return err;
	}
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		log_err_e(err, "%s: cannot read", dir);
		return err;
	}
	while (!err && (de = readdir(d)))
		err = load_peer(k, dir, de->d_name);
	closedir(d);
	if (err < 0)
		log_err_e(err, "%s: cannot load the IHMP peer keys", dir);
	return err;
}

/* ---- our key --------------------------------------------------------------- */

/* "192.0.2.0/24 2001:db8::/48", or "all local addresses". */
static const char *list_text(const struct dime_addr *net, const uint8_t *len, unsigned int n,
			     char *buf, size_t size)
{
	size_t o = 0;

	snprintf(buf, size, "all local addresses");
	for (unsigned int i = 0; i < n && o < size; i++) {
		char a[DIME_ADDR_STRLEN];
		int w = snprintf(buf + o, size - o, "%s%s/%u", i ? " " : "",
				 dime_addr_fmt(&net[i], a, sizeof(a)), len[i]);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	return buf;
}

static const char *id_text(const struct ihmp_key *key, char buf[2 * IHMP_KEY_ID_LEN + 1])
{
	uint8_t id[IHMP_KEY_ID_LEN];

	ihmp_key_id(key, id);
	for (unsigned int i = 0; i < IHMP_KEY_ID_LEN; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return buf;
}

static void log_installed(const struct ihmp_key *key, const char *from,
			  const struct dime_addr *net, const uint8_t *len, unsigned int n,
			  bool replaced)
{
	char text[IHMP_PUBKEY_TEXT_MAX], id[2 * IHMP_KEY_ID_LEN + 1], list[1024];

	log_info("IHMP key %s%s: key id %s signs for %s (public key %s)", from,
		 replaced ? " replaces the key" : "", id_text(key, id),
		 list_text(net, len, n, list, sizeof(list)),
		 ihmp_key_public_text(key, text, sizeof(text)));
}

/* The default key (ihmp-key PATH). A missing file is no error: we sign
 * with bound keys only, or not at all (required mode checks later). */
static int load_default(struct ihmpkeys *k, const char *path)
{
	char why[IHMP_KEY_ERR_MAX];
	struct ihmp_key *key = NULL;
	int err;

	err = ihmp_key_load_private(path, &key, why, sizeof(why));
	if (err == -ENOENT) {
		log_notice("%s: no such file: no default IHMP key", path);
		return 0;
	}
	if (err < 0) {
		log_errx("IHMP key %s", why);
		return err;
	}
	err = ihmpkeys_set_local(k, key, NULL, NULL, 0, NULL);
	if (!err)
		log_installed(ihmpkeys_local(k), path, NULL, NULL, 0, false);
	return err;
}

/* ihmp-key PATH ADDR|PREFIX... on dime.conf line b->line: the file must
 * be there (the operator named these addresses on purpose). */
static int load_bound(struct ihmpkeys *k, const struct conf_bound_key *b)
{
	char why[IHMP_KEY_ERR_MAX];
	struct ihmp_key *key = NULL;
	int err;

	err = ihmp_key_load_private(b->path, &key, why, sizeof(why));
	if (err < 0) {
		log_errx("dime.conf line %u: ihmp-key %s", b->line, why);
		return err;
	}
	err = ihmpkeys_set_local(k, key, b->net, b->len, b->n, NULL);
	if (err < 0) {
		log_errx("dime.conf line %u: ihmp-key %s: %s", b->line, b->path,
			 err == -EEXIST ? "an address or prefix is bound twice"
					: err == -ENOSPC ? "too many IHMP keys"
							 : "bad address or prefix");
		return err;
	}
	log_installed(k->local[k->nlocal - 1].key, b->path, b->net, b->len, b->n, false);
	return 0;
}

static int load_local(struct ihmpkeys *k, const struct dimed_config *cfg,
		      enum ihmp_auth_mode mode)
{
	int err = load_default(k, cfg->ihmp_key_path);

	for (unsigned int i = 0; !err && i < cfg->ihmp_bound_keys_n; i++)
		err = load_bound(k, &cfg->ihmp_bound_keys[i]);
	if (err)
		return err;
	if (!k->nlocal && mode == IHMP_AUTH_REQUIRED) {
		log_errx("%s: no such file: ihmp-auth required needs our own key (openssl genpkey "
			 "-algorithm ed25519 -out %s)", cfg->ihmp_key_path, cfg->ihmp_key_path);
		return -ENOENT;
	}
	if (!k->nlocal)
		log_notice("no IHMP key: IHMP messages go out unsigned");
	else if (!ihmpkeys_local(k))
		log_notice("no default IHMP key: messages from addresses no ihmp-key line covers "
			   "go out unsigned");
	return 0;
}

/* ---- the control socket ---------------------------------------------------- */

int ihmpkeys_ctl_set_local(struct ihmpkeys *k, const struct ctl_set_local_key *req,
			   uint8_t key_id[IHMP_KEY_ID_LEN], uint8_t *pub)
{
	char list[1024];
	struct ihmp_key *key = NULL;
	struct local_key *l;
	bool replaced;
	int err;

	memset(key_id, 0, IHMP_KEY_ID_LEN);
	if (!k)
		return -EOPNOTSUPP;
	if (req->remove) {
		err = ihmpkeys_remove_local(k, req->net, req->len, req->n);
		if (!err)
			log_info("IHMP key for %s removed by dimectl: messages from there go out "
				 "%s", list_text(req->net, req->len, req->n, list, sizeof(list)),
				 req->n && ihmpkeys_local(k) ? "signed by the default key" : "unsigned");
		return err;
	}
	err = ihmp_key_from_raw_private(req->seed, &key);
	if (!err)
		err = ihmpkeys_set_local(k, key, req->net, req->len, req->n, &replaced);
	if (err) {
		log_warn_e(err, "IHMP key from dimectl for %s refused",
			   list_text(req->net, req->len, req->n, list, sizeof(list)));
		return err;
	}
	l = same_list(k, req->net, req->len, req->n);
	l->runtime = true;
	ihmp_key_id(l->key, key_id);
	if (pub)
		ihmp_key_raw_public(l->key, pub);
	log_installed(l->key, "from dimectl", req->net, req->len, req->n, replaced);
	return 0;
}

int ihmpkeys_ctl_list(const struct ihmpkeys *k, ctl_lkey_fn emit, void *emit_ctx)
{
	int err = 0;

	if (!k)
		return -EOPNOTSUPP;
	for (unsigned int i = 0; i < k->nlocal && !err; i++) {
		const struct local_key *l = &k->local[i];
		struct ctl_lkey_rec rec = { .runtime = l->runtime, .n = l->n };

		ihmp_key_id(l->key, rec.id);
		ihmp_key_raw_public(l->key, rec.pub);
		memcpy(rec.net, l->net, sizeof(rec.net));
		memcpy(rec.len, l->len, sizeof(rec.len));
		err = emit(emit_ctx, &rec);
	}
	return err;
}

/* ---- setup ----------------------------------------------------------------- */

static uint64_t clock_now(clockid_t id, uint64_t div)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * (1000000000 / div) + (uint64_t)ts.tv_nsec / div;
}

/* Bursts of twice the rate: IHMP is bursty (a hand-off to many peers). */
static void rate_limits(const struct dimed_config *cfg, struct ratelimit_config *rl)
{
	if (!cfg->ihmp_rate) {
		rl->slots = 0;
		return;
	}
	rl->rate = cfg->ihmp_rate;
	rl->burst = 2 * cfg->ihmp_rate;
	rl->global_rate = cfg->ihmp_rate_global;
	rl->global_burst = 2 * cfg->ihmp_rate_global;
	if (!rl->slots)
		rl->slots = 4096;
}

void ihmpkeys_free(struct ihmpkeys *k)
{
	if (!k)
		return;
	for (unsigned int i = 0; i < k->n; i++)
		ihmp_key_free(k->peers[i].key);
	free(k->peers);
	for (unsigned int i = 0; i < k->nlocal; i++)
		ihmp_key_free(k->local[i].key);
	free(k);
}

static void log_summary(const struct ihmpkeys *k, enum ihmp_auth_mode mode, const char *dir,
			bool tofu)
{
	if (mode == IHMP_AUTH_REQUIRED && !k->n && !tofu)
		log_warnx("ihmp-auth required, and no peer key in %s: every IHMP message will be "
			  "dropped (no-key)", dir);
	else if (mode == IHMP_AUTH_OFF && k->n)
		log_notice("ihmp-auth off: the %u peer keys in %s are not checked", k->n, dir);
	log_info("IHMP authentication %s: %u peer keys, %u keys of ours, trust on first use %s",
		 ihmp_auth_mode_name(mode), k->n, k->nlocal, tofu ? "on" : "off");
}

int ihmpkeys_setup(const struct dimed_config *cfg, struct ihmp_config *ic, struct ihmpkeys **out)
{
	enum ihmp_auth_mode mode = (enum ihmp_auth_mode)cfg->ihmp_auth;
	struct ihmpkeys *k;
	int err;

	if (mode > IHMP_AUTH_REQUIRED || !cfg->ihmp_key_path || !cfg->ihmp_peer_keys_dir)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	err = load_local(k, cfg, mode);
	if (!err)
		err = load_peers(k, cfg->ihmp_peer_keys_dir);
	if (!err && k->errors) {
		log_errx("%s: %u peer key files refused", cfg->ihmp_peer_keys_dir, k->errors);
		err = -EINVAL;
	}
	if (err < 0) {
		ihmpkeys_free(k);
		return err;
	}
	log_summary(k, mode, cfg->ihmp_peer_keys_dir, cfg->ihmp_tofu);
	ic->auth = mode;
	ic->tofu = cfg->ihmp_tofu;
	ic->local_key = NULL;
	ic->local_key_for = local_cb;
	ic->local_key_ctx = k;
	ic->peer_key = lookup_cb;
	ic->peer_key_ctx = k;
	ic->clock_us = clock_now(CLOCK_REALTIME, 1000);
	ic->clock_ms = clock_now(CLOCK_MONOTONIC, 1000000);
	rate_limits(cfg, &ic->rl);
	*out = k;
	return 0;
}
