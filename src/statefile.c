// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimed's state file (statefile.h): the text format, its strict parser,
 * the same rules applied to a structure before writing, and the atomic
 * write and careful read of the file.
 *
 * The rules live once, in the "build" functions below: the parser feeds
 * them one line at a time, statefile_check() one structure field at a
 * time in the order the lines would have, so the two can never disagree
 * on what a valid state is. Remote addresses are indexed by owner in a
 * hash table that grows with the file, bounded by STATE_FILE_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dime/hid.h"
#include "dime/statefile.h"

_Static_assert(STATE_SET_MAX == DIME_HID_SET_MAX, "a state set must hold a HID set");
_Static_assert(DIME_AF4 == 0 && DIME_AF6 == 1, "locator slots are indexed like the HID table's");

/* The longest address text: a full IPv6 address with an IPv4 tail. */
#define ADDR_TEXT_MAX (DIME_ADDR_STRLEN - 1)
#define WORDS_MAX 4

/* Per-host lines, in the order they must come. */
enum field { F_ACTIVE, F_UNREACH, F_LOCAL, F_BOUND, F_RLOC, F_LLOC, F_COUNT };

static const char *const field_key[F_COUNT] = {
	"active", "unreach", "local", "bound", "rloc", "lloc",
};

/* The same in messages. */
static const char *const field_words[F_COUNT] = {
	"active address", "unreachable address", "local address", "bound identifier",
	"remote locator", "local locator",
};

static const char *const field_plural[F_COUNT] = {
	"active addresses", "unreachable addresses", "local addresses", "bound identifiers",
	"remote locators", "local locators",
};

void state_free(struct state *st)
{
	free(st->hosts);
	memset(st, 0, sizeof(*st));
}

/* ---- Which host owns each remote address ---- */

struct owner {
	struct dime_addr addr;
	uint32_t host;			/* 0: free slot */
};

struct addr_index {
	struct owner *slot;
	size_t n, cap;			/* cap: a power of two */
};

static int index_grow(struct addr_index *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : 64;
	struct owner *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		size_t j;

		if (!ix->slot[i].host)
			continue;
		j = dime_addr_hash(&ix->slot[i].addr, 0) & (cap - 1);
		while (slot[j].host)
			j = (j + 1) & (cap - 1);
		slot[j] = ix->slot[i];
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return 0;
}

/* a belongs to host from now on: 0 (also when it already did), -EEXIST
 * with *other set when another host has it, -ENOMEM. */
static int index_claim(struct addr_index *ix, const struct dime_addr *a, uint32_t host,
		       uint32_t *other)
{
	size_t j;

	if ((ix->n + 1) * 2 > ix->cap && index_grow(ix))
		return -ENOMEM;
	j = dime_addr_hash(a, 0) & (ix->cap - 1);
	for (; ix->slot[j].host; j = (j + 1) & (ix->cap - 1)) {
		if (!dime_addr_eq(&ix->slot[j].addr, a))
			continue;
		*other = ix->slot[j].host;
		return *other == host ? 0 : -EEXIST;
	}
	ix->slot[j] = (struct owner){ .addr = *a, .host = host };
	ix->n++;
	return 0;
}

/* ---- The rules ---- */

struct build {
	const char *name;		/* the file; NULL when checking a structure */
	unsigned long line;
	char *err;
	size_t errsize;
	struct state *out;		/* parse: receives hosts and pins; check: NULL */
	struct state_host cur;		/* the open host */
	uint32_t host;			/* its number; 0: none open */
	unsigned long host_line;
	int rank;			/* the last field it had */
	uint32_t nhosts, cap_hosts;	/* hosts closed */
	bool pins_begun;
	uint32_t npins;
	struct dime_addr pins[STATE_PINS_MAX];
	struct addr_index index;
};

static int fail(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct build *b, const char *fmt, ...)
{
	size_t len = 0;
	va_list ap;

	if (!b->errsize)
		return -EINVAL;
	if (b->name)
		len = (size_t)snprintf(b->err, b->errsize, "%s:%lu: ", b->name, b->line);
	if (len < b->errsize) {
		va_start(ap, fmt);
		vsnprintf(b->err + len, b->errsize - len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int out_of_memory(struct build *b)
{
	if (b->errsize)
		snprintf(b->err, b->errsize, "%s: out of memory", b->name ? b->name : "state");
	return -ENOMEM;
}

static bool usable(const struct dime_addr *a)
{
	static const uint8_t zero[16];

	if (a->family != AF_INET && a->family != AF_INET6)
		return false;
	return memcmp(a->a.u8, zero, sizeof(zero)) != 0;
}

static bool in_list(const struct dime_addr *list, uint32_t n, const struct dime_addr *a)
{
	for (uint32_t i = 0; i < n; i++)
		if (dime_addr_eq(&list[i], a))
			return true;
	return false;
}

static int b_host_begin(struct build *b, uint32_t number, bool ihmp)
{
	if (b->pins_begun)
		return fail(b, "host %" PRIu32 " after the pins: hosts come first", number);
	if (b->nhosts == STATE_HOSTS_MAX)
		return fail(b, "more than %d hosts", STATE_HOSTS_MAX);
	if (number != b->nhosts + 1)
		return fail(b, "host %" PRIu32 " where host %" PRIu32 " was due", number,
			    b->nhosts + 1);
	memset(&b->cur, 0, sizeof(b->cur));
	b->cur.ihmp = ihmp;
	b->host = number;
	b->host_line = b->line;
	b->rank = -1;
	return 0;
}

static int add_to_set(struct build *b, enum field f, struct dime_addr *list, uint32_t *n,
		      uint32_t max, const struct dime_addr *a)
{
	char t[DIME_ADDR_STRLEN];

	dime_addr_fmt(a, t, sizeof(t));
	if (*n == max)
		return fail(b, "host %" PRIu32 ": more than %" PRIu32 " %s", b->host, max,
			    field_plural[f]);
	if (in_list(list, *n, a))
		return fail(b, "host %" PRIu32 ": %s %s given twice", b->host, field_words[f], t);
	if (f == F_UNREACH && in_list(b->cur.active.addr, b->cur.active.n, a))
		return fail(b, "host %" PRIu32 ": %s is both active and unreachable", b->host, t);
	list[(*n)++] = *a;
	return 0;
}

/* Remote addresses map to one host, as in the HID table's index. */
static int claim(struct build *b, const struct dime_addr *a)
{
	char t[DIME_ADDR_STRLEN];
	uint32_t other = 0;
	int err = index_claim(&b->index, a, b->host, &other);

	if (err == -ENOMEM)
		return out_of_memory(b);
	if (err)
		return fail(b, "host %" PRIu32 ": %s belongs to host %" PRIu32 " already", b->host,
			    dime_addr_fmt(a, t, sizeof(t)), other);
	return 0;
}

static int set_locator(struct build *b, enum field f, struct dime_addr loc[2],
		       const struct state_set *members, const struct dime_addr *a)
{
	int i = a->family == AF_INET6 ? DIME_AF6 : DIME_AF4;
	char t[DIME_ADDR_STRLEN];

	dime_addr_fmt(a, t, sizeof(t));
	if (dime_addr_is_set(&loc[i]))
		return fail(b, "host %" PRIu32 ": a second IPv%d %s", b->host, i ? 6 : 4,
			    field_words[f]);
	if (!in_list(members->addr, members->n, a))
		return fail(b, "host %" PRIu32 ": %s %s is not an %s", b->host, field_words[f], t,
			    f == F_RLOC ? "active address" : "address of the local set");
	loc[i] = *a;
	return 0;
}

static int b_field(struct build *b, enum field f, const struct dime_addr *a)
{
	struct state_host *h = &b->cur;
	int err;

	if (!b->host)
		return fail(b, "\"%s\" outside a host", field_key[f]);
	if ((int)f < b->rank)
		return fail(b, "host %" PRIu32 ": \"%s\" after \"%s\"; the order is active, unreach, "
			    "local, bound, rloc, lloc", b->host, field_key[f], field_key[b->rank]);
	b->rank = (int)f;
	if (!usable(a))
		return fail(b, "host %" PRIu32 ": an unspecified or empty %s", b->host,
			    field_words[f]);
	switch (f) {
	case F_ACTIVE:
		err = add_to_set(b, f, h->active.addr, &h->active.n, STATE_SET_MAX, a);
		return err ? err : claim(b, a);
	case F_UNREACH:
		err = add_to_set(b, f, h->unreach.addr, &h->unreach.n, STATE_SET_MAX, a);
		return err ? err : claim(b, a);
	case F_LOCAL:
		return add_to_set(b, f, h->local.addr, &h->local.n, STATE_SET_MAX, a);
	case F_BOUND:
		err = add_to_set(b, f, h->bound, &h->nbound, STATE_BOUND_MAX, a);
		return err ? err : claim(b, a);
	case F_RLOC:
		return set_locator(b, f, h->rloc, &h->active, a);
	default:
		return set_locator(b, f, h->lloc, &h->local, a);
	}
}

/* Close the open host, if any; the parser keeps it. */
static int b_host_end(struct build *b)
{
	struct state_host *h = &b->cur;

	if (!b->host)
		return 0;
	if (!h->active.n && !h->unreach.n && !h->nbound) {
		b->line = b->host_line;
		return fail(b, "host %" PRIu32 " has no remote address (active, unreach or bound)",
			    b->host);
	}
	if (b->out && b->nhosts == b->cap_hosts) {
		uint32_t cap = b->cap_hosts ? b->cap_hosts * 2 : 16;
		struct state_host *hosts;

		if (cap > STATE_HOSTS_MAX)
			cap = STATE_HOSTS_MAX;
		hosts = realloc(b->out->hosts, cap * sizeof(*hosts));
		if (!hosts)
			return out_of_memory(b);
		b->out->hosts = hosts;
		b->cap_hosts = cap;
	}
	if (b->out)
		b->out->hosts[b->nhosts] = *h;
	b->nhosts++;
	b->host = 0;
	return 0;
}

static int b_pin(struct build *b, const struct dime_addr *a)
{
	char t[DIME_ADDR_STRLEN];
	int err = b_host_end(b);

	if (err)
		return err;
	b->pins_begun = true;
	dime_addr_fmt(a, t, sizeof(t));
	if (!usable(a))
		return fail(b, "an unspecified or empty pin");
	if (b->npins == STATE_PINS_MAX)
		return fail(b, "more than %d pins", STATE_PINS_MAX);
	if (in_list(b->pins, b->npins, a))
		return fail(b, "pin %s given twice", t);
	b->pins[b->npins++] = *a;
	return 0;
}

static void b_free(struct build *b)
{
	free(b->index.slot);
	b->index.slot = NULL;
}

/* ---- Checking a structure ---- */

static int check_counts(struct build *b, const struct state_host *h)
{
	if (h->active.n > STATE_SET_MAX || h->unreach.n > STATE_SET_MAX ||
	    h->local.n > STATE_SET_MAX || h->nbound > STATE_BOUND_MAX)
		return fail(b, "host %" PRIu32 ": a set holds more than its bound", b->host);
	return 0;
}

static int check_locators(struct build *b, enum field f, const struct dime_addr loc[2])
{
	int err = 0;

	for (int i = DIME_AF4; i <= DIME_AF6 && !err; i++) {
		if (!dime_addr_is_set(&loc[i]))
			continue;
		if (loc[i].family != (i == DIME_AF4 ? AF_INET : AF_INET6))
			return fail(b, "host %" PRIu32 ": a %s in the IPv%d slot of the other family",
				    b->host, field_words[f], i == DIME_AF4 ? 4 : 6);
		err = b_field(b, f, &loc[i]);
	}
	return err;
}

/* The host's fields in the order its lines would come. */
static int check_host(struct build *b, const struct state_host *h)
{
	int err = check_counts(b, h);

	for (uint32_t i = 0; i < h->active.n && !err; i++)
		err = b_field(b, F_ACTIVE, &h->active.addr[i]);
	for (uint32_t i = 0; i < h->unreach.n && !err; i++)
		err = b_field(b, F_UNREACH, &h->unreach.addr[i]);
	for (uint32_t i = 0; i < h->local.n && !err; i++)
		err = b_field(b, F_LOCAL, &h->local.addr[i]);
	for (uint32_t i = 0; i < h->nbound && !err; i++)
		err = b_field(b, F_BOUND, &h->bound[i]);
	if (!err)
		err = check_locators(b, F_RLOC, h->rloc);
	if (!err)
		err = check_locators(b, F_LLOC, h->lloc);
	return err;
}

int statefile_check(const struct state *st, char *err, size_t errsize)
{
	struct build b = { .err = err, .errsize = errsize };
	int rc = 0;

	if (st->nhosts > STATE_HOSTS_MAX || (st->nhosts && !st->hosts))
		return fail(&b, "%" PRIu32 " hosts: at most %d, in an array", st->nhosts,
			    STATE_HOSTS_MAX);
	if (st->npins > STATE_PINS_MAX)
		return fail(&b, "%" PRIu32 " pins: at most %d", st->npins, STATE_PINS_MAX);
	for (uint32_t i = 0; i < st->nhosts && !rc; i++) {
		rc = b_host_begin(&b, i + 1, st->hosts[i].ihmp);
		if (!rc)
			rc = check_host(&b, &st->hosts[i]);
		if (!rc)
			rc = b_host_end(&b);
	}
	for (uint32_t i = 0; i < st->npins && !rc; i++)
		rc = b_pin(&b, &st->pins[i]);
	b_free(&b);
	return rc;
}

/* ---- Writing the text ---- */

struct text {
	char *buf;
	size_t len, cap;
	int err;
};

static void put_line(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_line(struct text *t, const char *fmt, ...)
{
	char line[STATE_LINE_MAX + 1];
	va_list ap;
	int n;

	if (t->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Every line the format has fits; the bound is for the reader. */
	if (n < 0 || (size_t)n + 1 > STATE_LINE_MAX) {
		t->err = -EINVAL;
		return;
	}
	if (t->len + (size_t)n + 1 > STATE_FILE_MAX) {
		t->err = -EFBIG;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		char *buf = realloc(t->buf, cap);

		if (!buf) {
			t->err = -ENOMEM;
			return;
		}
		t->buf = buf;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, line, (size_t)n);
	t->buf[t->len + (size_t)n] = '\n';
	t->len += (size_t)n + 1;
}

static void put_addrs(struct text *t, enum field f, const struct dime_addr *a, uint32_t n)
{
	char s[DIME_ADDR_STRLEN];

	for (uint32_t i = 0; i < n; i++)
		if (dime_addr_is_set(&a[i]))
			put_line(t, "%s %s", field_key[f], dime_addr_fmt(&a[i], s, sizeof(s)));
}

static void put_host(struct text *t, uint32_t number, const struct state_host *h)
{
	put_line(t, "host %" PRIu32 " ihmp %d", number, h->ihmp ? 1 : 0);
	put_addrs(t, F_ACTIVE, h->active.addr, h->active.n);
	put_addrs(t, F_UNREACH, h->unreach.addr, h->unreach.n);
	put_addrs(t, F_LOCAL, h->local.addr, h->local.n);
	put_addrs(t, F_BOUND, h->bound, h->nbound);
	put_addrs(t, F_RLOC, h->rloc, 2);
	put_addrs(t, F_LLOC, h->lloc, 2);
}

int statefile_format(const struct state *st, char **out, size_t *len, char *err,
		     size_t errsize)
{
	struct text t = { 0 };
	int rc = statefile_check(st, err, errsize);

	if (rc)
		return rc;
	put_line(&t, "dime-state %d", STATE_VERSION);
	put_line(&t, "time %" PRIu64, st->time_ms);
	for (uint32_t i = 0; i < st->nhosts; i++)
		put_host(&t, i + 1, &st->hosts[i]);
	for (uint32_t i = 0; i < st->npins; i++) {
		char a[DIME_ADDR_STRLEN];

		put_line(&t, "pin %s", dime_addr_fmt(&st->pins[i], a, sizeof(a)));
	}
	put_line(&t, "end %" PRIu32 " %" PRIu32, st->nhosts, st->npins);
	if (t.err) {
		if (errsize)
			snprintf(err, errsize, "state: %s", t.err == -EFBIG ?
				 "larger than the state file bound" : strerror(-t.err));
		free(t.buf);
		return t.err;
	}
	*out = t.buf;
	*len = t.len;
	return 0;
}

/* ---- Parsing ---- */

enum stage { STAGE_HEADER, STAGE_TIME, STAGE_BODY, STAGE_ENDED };

struct words {
	unsigned int n;
	const char *w[WORDS_MAX];
	size_t len[WORDS_MAX];
};

static bool word_is(const struct words *ws, unsigned int i, const char *s)
{
	return ws->len[i] == strlen(s) && memcmp(ws->w[i], s, ws->len[i]) == 0;
}

/* Split a line: printable ASCII words separated by single spaces. */
static int split(struct build *b, const char *line, size_t len, struct words *ws)
{
	size_t start = 0;

	ws->n = 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)line[i] : ' ';

		if (c != ' ' && (c < 0x21 || c > 0x7e))
			return fail(b, "a byte 0x%02x in column %zu: only printable text belongs here",
				    c, i + 1);
		if (c != ' ')
			continue;
		if (i == start)
			return fail(b, "%s", len == 0 ? "an empty line" :
				    "a space at the start or end of the line, or two in a row");
		if (ws->n == WORDS_MAX)
			return fail(b, "too many words on the line");
		ws->w[ws->n] = line + start;
		ws->len[ws->n++] = i - start;
		start = i + 1;
	}
	return 0;
}

/* A decimal number without sign or leading zeros, at most max. */
static int get_number(struct build *b, const struct words *ws, unsigned int i, uint64_t max,
		      uint64_t *out)
{
	const char *p = ws->w[i];
	uint64_t v = 0;

	if (ws->len[i] > 20 || (ws->len[i] > 1 && p[0] == '0'))
		return fail(b, "\"%.*s\" is not a number up to %" PRIu64, (int)ws->len[i], p, max);
	for (size_t k = 0; k < ws->len[i]; k++) {
		unsigned int d = (unsigned char)p[k] - '0';

		if (d > 9 || d > max || v > (max - d) / 10)
			return fail(b, "\"%.*s\" is not a number up to %" PRIu64, (int)ws->len[i], p,
				    max);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int get_addr(struct build *b, const struct words *ws, unsigned int i, struct dime_addr *a)
{
	char text[ADDR_TEXT_MAX + 1];

	if (ws->len[i] <= ADDR_TEXT_MAX) {
		memcpy(text, ws->w[i], ws->len[i]);
		text[ws->len[i]] = '\0';
		if (dime_addr_parse(a, text) == 0)
			return 0;
	}
	return fail(b, "\"%.*s\" is not an IPv4 or IPv6 address", (int)ws->len[i], ws->w[i]);
}

static int parse_header(struct build *b, const struct words *ws)
{
	uint64_t v;

	if (ws->n != 2 || !word_is(ws, 0, "dime-state"))
		return fail(b, "not a dimed state file (it starts with \"dime-state %d\")",
			    STATE_VERSION);
	if (get_number(b, ws, 1, UINT32_MAX, &v))
		return -EINVAL;
	if (v != STATE_VERSION)
		return fail(b, "state file version %" PRIu64 "; this dimed reads version %d", v,
			    STATE_VERSION);
	return 0;
}

static int parse_host(struct build *b, const struct words *ws)
{
	uint64_t number, ihmp;
	int err;

	if (ws->n != 4 || !word_is(ws, 2, "ihmp"))
		return fail(b, "expected \"host NUMBER ihmp 0|1\"");
	if (get_number(b, ws, 1, STATE_HOSTS_MAX, &number) || get_number(b, ws, 3, 1, &ihmp))
		return -EINVAL;
	err = b_host_end(b);
	return err ? err : b_host_begin(b, (uint32_t)number, ihmp == 1);
}

static int parse_end(struct build *b, const struct words *ws)
{
	uint64_t hosts, pins;
	int err;

	if (ws->n != 3)
		return fail(b, "expected \"end HOSTS PINS\"");
	if (get_number(b, ws, 1, UINT32_MAX, &hosts) || get_number(b, ws, 2, UINT32_MAX, &pins))
		return -EINVAL;
	err = b_host_end(b);
	if (err)
		return err;
	if (hosts != b->nhosts || pins != b->npins)
		return fail(b, "the end line counts %" PRIu64 " hosts and %" PRIu64 " pins, the file "
			    "has %" PRIu32 " and %" PRIu32, hosts, pins, b->nhosts, b->npins);
	return 0;
}

/* An address line: a host's field or a pin. */
static int parse_addr_line(struct build *b, const struct words *ws)
{
	struct dime_addr a;

	for (int f = 0; f < F_COUNT; f++) {
		if (!word_is(ws, 0, field_key[f]))
			continue;
		if (ws->n != 2)
			return fail(b, "expected \"%s ADDRESS\"", field_key[f]);
		return get_addr(b, ws, 1, &a) ? -EINVAL : b_field(b, (enum field)f, &a);
	}
	if (!word_is(ws, 0, "pin"))
		return fail(b, "unknown keyword \"%.*s\"", (int)ws->len[0], ws->w[0]);
	if (ws->n != 2)
		return fail(b, "expected \"pin ADDRESS\"");
	return get_addr(b, ws, 1, &a) ? -EINVAL : b_pin(b, &a);
}

static int parse_line(struct build *b, enum stage *stage, const char *line, size_t len,
		      uint64_t *time_ms)
{
	struct words ws;
	int err = split(b, line, len, &ws);

	if (err)
		return err;
	switch (*stage) {
	case STAGE_HEADER:
		*stage = STAGE_TIME;
		return parse_header(b, &ws);
	case STAGE_TIME:
		*stage = STAGE_BODY;
		if (ws.n != 2 || !word_is(&ws, 0, "time"))
			return fail(b, "expected \"time MILLISECONDS\"");
		return get_number(b, &ws, 1, UINT64_MAX, time_ms);
	default:
		break;
	}
	if (word_is(&ws, 0, "host"))
		return parse_host(b, &ws);
	if (word_is(&ws, 0, "end")) {
		*stage = STAGE_ENDED;
		return parse_end(b, &ws);
	}
	return parse_addr_line(b, &ws);
}

/* Walk the lines; the caller frees what b holds. */
static int parse_lines(struct build *b, const char *buf, size_t len, uint64_t *time_ms)
{
	enum stage stage = STAGE_HEADER;
	size_t pos = 0;

	if (len > STATE_FILE_MAX)
		return fail(b, "larger than %u bytes", STATE_FILE_MAX);
	while (pos < len) {
		size_t room = len - pos < STATE_LINE_MAX ? len - pos : STATE_LINE_MAX;
		const char *nl = memchr(buf + pos, '\n', room);
		int err;

		b->line++;
		if (stage == STAGE_ENDED)
			return fail(b, "text after the end line");
		if (!nl && room == STATE_LINE_MAX)
			return fail(b, "a line longer than %d bytes", STATE_LINE_MAX - 1);
		if (!nl)
			return fail(b, "the last line has no newline: the file is cut short");
		err = parse_line(b, &stage, buf + pos, (size_t)(nl - (buf + pos)), time_ms);
		if (err)
			return err;
		pos = (size_t)(nl - buf) + 1;
	}
	if (stage != STAGE_ENDED) {
		b->line++;
		return fail(b, "no end line: the file is cut short");
	}
	return 0;
}

int statefile_parse(const char *buf, size_t len, const char *name, struct state *st, char *err,
		    size_t errsize)
{
	struct build b = { .name = name ? name : "state", .err = err, .errsize = errsize,
			   .out = st };
	int rc;

	memset(st, 0, sizeof(*st));
	rc = parse_lines(&b, buf, len, &st->time_ms);
	b_free(&b);
	if (rc) {
		state_free(st);
		return rc;
	}
	st->nhosts = b.nhosts;
	st->npins = b.npins;
	memcpy(st->pins, b.pins, b.npins * sizeof(b.pins[0]));
	return 0;
}

/* ---- Files ---- */

static int file_error(char *err, size_t errsize, const char *path, const char *what, int e)
{
	if (errsize)
		snprintf(err, errsize, "%s: %s: %s", path, what, strerror(e));
	return -e;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory entry of the rename must reach the disk too. */
static int sync_dir(const char *path)
{
	char dir[4096];
	char *slash;
	int fd, rc = 0;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Write the text to tmp and sync it: 0 or -errno with err set. */
static int write_tmp(const char *tmp, const char *text, size_t len, char *err, size_t errsize)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc;

	if (fd < 0)
		return file_error(err, errsize, tmp, "cannot create", errno);
	/* It may have existed with another mode. */
	rc = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (!rc)
		rc = write_all(fd, text, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc ? file_error(err, errsize, tmp, "cannot write", -rc) : 0;
}

int statefile_write(const char *path, const struct state *st, char *err, size_t errsize)
{
	char tmp[4096];
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return file_error(err, errsize, path, "path", ENAMETOOLONG);
	rc = statefile_format(st, &text, &len, err, errsize);
	if (rc)
		return rc;
	rc = write_tmp(tmp, text, len, err, errsize);
	free(text);
	if (!rc && rename(tmp, path) < 0)
		rc = file_error(err, errsize, path, "cannot replace", errno);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	rc = sync_dir(path);
	return rc ? file_error(err, errsize, path, "cannot sync its directory", -rc) : 0;
}

/* The whole file into a new buffer, with the checks statefile_read names. */
static int slurp(const char *path, char **out, size_t *len, char *err, size_t errsize)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;

	if (fd < 0)
		return file_error(err, errsize, path, errno == ELOOP ? "is a symbolic link" :
				  "cannot open", errno);
	if (fstat(fd, &sb) < 0)
		rc = file_error(err, errsize, path, "cannot stat", errno);
	else if (!S_ISREG(sb.st_mode))
		rc = file_error(err, errsize, path, "not a regular file", EINVAL);
	else if (sb.st_mode & (S_IWGRP | S_IWOTH))
		rc = file_error(err, errsize, path, "writable by group or others; not trusted",
				EPERM);
	else if ((uint64_t)sb.st_size > STATE_FILE_MAX)
		rc = file_error(err, errsize, path, "larger than the state file bound", EFBIG);
	else if (!(buf = malloc((size_t)sb.st_size + 1)))
		rc = file_error(err, errsize, path, "reading", ENOMEM);
	/* Read to the end, one byte past the size: a file that grew since
	 * fstat is cut short or too long, and the parser says so. */
	while (!rc) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = file_error(err, errsize, path, "cannot read", errno);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == (size_t)sb.st_size + 1)
			rc = file_error(err, errsize, path, "it grew while being read", EAGAIN);
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = got;
	return 0;
}

int statefile_read(const char *path, struct state *st, char *err, size_t errsize)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = slurp(path, &buf, &len, err, errsize);
	if (rc)
		return rc;
	rc = statefile_parse(buf, len, path, st, err, errsize);
	free(buf);
	return rc;
}
