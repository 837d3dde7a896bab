// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the state file (statefile.c): the exact text of a known
 * state, round trips of small, full and empty states, every rejection of
 * the parser with its "name:line: message", every prefix of a good file
 * and every single-byte change of one (refused, or accepted and then
 * stable through another round trip), the bounds (hosts, pins, sets,
 * line length), the rules on a structure before writing, and the file
 * helpers in a temporary directory: mode 0600, atomic replacement, no
 * temporary left behind, and the refusals of statefile_read (missing,
 * symbolic link, not a file, writable by others, too large).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dime/statefile.h"
#include "testutil.h"

static char err[STATE_ERR_MAX];

static void set_of(struct state_set *s, const char *const *addrs)
{
	memset(s, 0, sizeof(*s));
	for (; *addrs; addrs++)
		s->addr[s->n++] = A(*addrs);
}

/* Two hosts and two pins: every kind of line once or more. */
static void small_state(struct state *st, struct state_host *h)
{
	memset(st, 0, sizeof(*st));
	memset(h, 0, 2 * sizeof(*h));
	h[0].ihmp = true;
	set_of(&h[0].active, (const char *const[]){ "198.51.100.7", "2001:db8::7", NULL });
	set_of(&h[0].unreach, (const char *const[]){ "203.0.113.9", NULL });
	set_of(&h[0].local, (const char *const[]){ "192.0.2.1", "2001:db8:2::1", NULL });
	h[0].bound[0] = A("203.0.113.9");	/* its own unreachable address: allowed */
	h[0].bound[1] = A("203.0.113.8");
	h[0].nbound = 2;
	h[0].rloc[0] = A("198.51.100.7");
	h[0].rloc[1] = A("2001:db8::7");
	h[0].lloc[0] = A("192.0.2.1");
	/* A peer known only by the address its flows bound. */
	h[1].bound[0] = A("2001:db8:5::5");
	h[1].nbound = 1;
	st->time_ms = 1764238503123ull;
	st->hosts = h;
	st->nhosts = 2;
	st->pins[0] = A("192.0.2.9");
	st->pins[1] = A("2001:db8:2::9");
	st->npins = 2;
}

static const char small_text[] =
	"dime-state 1\n"
	"time 1764238503123\n"
	"host 1 ihmp 1\n"
	"active 198.51.100.7\n"
	"active 2001:db8::7\n"
	"unreach 203.0.113.9\n"
	"local 192.0.2.1\n"
	"local 2001:db8:2::1\n"
	"bound 203.0.113.9\n"
	"bound 203.0.113.8\n"
	"rloc 198.51.100.7\n"
	"rloc 2001:db8::7\n"
	"lloc 192.0.2.1\n"
	"host 2 ihmp 0\n"
	"bound 2001:db8:5::5\n"
	"pin 192.0.2.9\n"
	"pin 2001:db8:2::9\n"
	"end 2 2\n";

static void assert_same(const struct state *a, const struct state *b)
{
	ck_assert_uint_eq(a->time_ms, b->time_ms);
	ck_assert_uint_eq(a->nhosts, b->nhosts);
	ck_assert_uint_eq(a->npins, b->npins);
	for (uint32_t i = 0; i < a->nhosts; i++)
		ck_assert_mem_eq(&a->hosts[i], &b->hosts[i], sizeof(a->hosts[i]));
	ck_assert_mem_eq(a->pins, b->pins, a->npins * sizeof(a->pins[0]));
}

/* format, parse, format: the same text and the same structure. */
static void roundtrip(const struct state *st)
{
	struct state back;
	char *text, *again;
	size_t len, len2;

	ck_assert_msg(statefile_format(st, &text, &len, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(statefile_parse(text, len, "t", &back, err, sizeof(err)) == 0, "%s", err);
	assert_same(st, &back);
	ck_assert_int_eq(statefile_format(&back, &again, &len2, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(text, again, len);
	free(text);
	free(again);
	state_free(&back);
}

START_TEST(test_text_and_roundtrip)
{
	struct state_host h[2];
	struct state st, back;
	char *text;
	size_t len;

	small_state(&st, h);
	ck_assert_int_eq(statefile_format(&st, &text, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, strlen(small_text));
	ck_assert_mem_eq(text, small_text, len);
	free(text);
	roundtrip(&st);
	ck_assert_int_eq(statefile_parse(small_text, strlen(small_text), "t", &back, err,
					 sizeof(err)), 0);
	assert_same(&st, &back);
	state_free(&back);
	ck_assert_uint_eq(back.nhosts, 0);
	ck_assert_ptr_null(back.hosts);
}
END_TEST

START_TEST(test_empty_and_full)
{
	static const char empty[] = "dime-state 1\ntime 0\nend 0 0\n";
	struct state st = { 0 }, back;
	struct state_host *h;
	char t[64];
	char *text;
	size_t len;

	ck_assert_int_eq(statefile_format(&st, &text, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, strlen(empty));
	ck_assert_mem_eq(text, empty, len);
	free(text);
	ck_assert_int_eq(statefile_parse(empty, strlen(empty), "t", &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.nhosts + back.npins, 0);
	state_free(&back);

	/* Every set and the pins at their bound, full IPv6 texts. */
	h = calloc(3, sizeof(*h));
	for (uint32_t k = 0; k < 3; k++) {
		h[k].ihmp = k == 1;
		for (int i = 0; i < STATE_SET_MAX; i++) {
			snprintf(t, sizeof(t), "2001:db8:%x:ffff:ffff:ffff:a%x:%x", k, i, i + 1);
			h[k].active.addr[i] = A(t);
			snprintf(t, sizeof(t), "2001:db8:%x:eeee:eeee:eeee:b%x:%x", k, i, i + 1);
			h[k].unreach.addr[i] = A(t);
			snprintf(t, sizeof(t), "::ffff:198.51.%u.%d", k, 200 + i);
			h[k].local.addr[i] = A(t);
		}
		h[k].active.n = h[k].unreach.n = h[k].local.n = STATE_SET_MAX;
		for (int i = 0; i < STATE_BOUND_MAX; i++) {
			snprintf(t, sizeof(t), "203.0.%u.%d", 100 + k, i + 1);
			h[k].bound[i] = A(t);
		}
		h[k].nbound = STATE_BOUND_MAX;
		h[k].rloc[1] = h[k].active.addr[STATE_SET_MAX - 1];
		h[k].lloc[1] = h[k].local.addr[0];
	}
	st.hosts = h;
	st.nhosts = 3;
	for (int i = 0; i < STATE_PINS_MAX; i++) {
		snprintf(t, sizeof(t), "2001:db8:ffff::%x", i + 1);
		st.pins[i] = A(t);
	}
	st.npins = STATE_PINS_MAX;
	st.time_ms = UINT64_MAX;
	roundtrip(&st);
	free(h);
}
END_TEST

/* ---- Rejections ---- */

struct bad {
	const char *text;
	const char *msg;		/* the whole message, "t:LINE: ..." */
};

#define HEAD "dime-state 1\ntime 5\n"
#define H1 "host 1 ihmp 1\nactive 198.51.100.7\n"

static const struct bad bad_files[] = {
	{ "", "t:1: no end line: the file is cut short" },
	{ "dime-state 1", "t:1: the last line has no newline: the file is cut short" },
	{ "dime-state 1\n", "t:2: no end line: the file is cut short" },
	{ "hello\n", "t:1: not a dimed state file (it starts with \"dime-state 1\")" },
	{ "dime-state 2\ntime 5\nend 0 0\n", "t:1: state file version 2; this dimed reads version 1" },
	{ "dime-state 01\n", "t:1: \"01\" is not a number up to 4294967295" },
	{ "dime-state 1 x\n", "t:1: not a dimed state file (it starts with \"dime-state 1\")" },
	{ "dime-state 1\ntime\n", "t:2: expected \"time MILLISECONDS\"" },
	{ "dime-state 1\ntime 18446744073709551616\n",
	  "t:2: \"18446744073709551616\" is not a number up to 18446744073709551615" },
	{ "dime-state 1\ntime -1\n", "t:2: \"-1\" is not a number up to 18446744073709551615" },
	{ "dime-state 1\nend 0 0\n", "t:2: expected \"time MILLISECONDS\"" },
	{ HEAD "\n", "t:3: an empty line" },
	{ HEAD " end 0 0\n", "t:3: a space at the start or end of the line, or two in a row" },
	{ HEAD "end 0 0 \n", "t:3: a space at the start or end of the line, or two in a row" },
	{ HEAD "end  0 0\n", "t:3: a space at the start or end of the line, or two in a row" },
	{ HEAD "end\t0 0\n", "t:3: a byte 0x09 in column 4: only printable text belongs here" },
	{ HEAD "end 0 0\r\n", "t:3: a byte 0x0d in column 8: only printable text belongs here" },
	{ HEAD "end \xc3\xa9 0\n", "t:3: a byte 0xc3 in column 5: only printable text belongs here" },
	{ HEAD "a b c d e\n", "t:3: too many words on the line" },
	{ HEAD "hosts 1 ihmp 1\n", "t:3: unknown keyword \"hosts\"" },
	{ HEAD "host 1\n", "t:3: expected \"host NUMBER ihmp 0|1\"" },
	{ HEAD "host 1 ihmq 1\n", "t:3: expected \"host NUMBER ihmp 0|1\"" },
	{ HEAD "host 1 ihmp 2\n", "t:3: \"2\" is not a number up to 1" },
	{ HEAD "host 2 ihmp 0\n", "t:3: host 2 where host 1 was due" },
	{ HEAD "host 0 ihmp 0\n", "t:3: host 0 where host 1 was due" },
	{ HEAD "host 65537 ihmp 0\n", "t:3: \"65537\" is not a number up to 65536" },
	{ HEAD H1 "host 1 ihmp 0\n", "t:5: host 1 where host 2 was due" },
	{ HEAD "active 198.51.100.7\n", "t:3: \"active\" outside a host" },
	{ HEAD H1 "active\n", "t:5: expected \"active ADDRESS\"" },
	{ HEAD H1 "active 198.51.100.300\n", "t:5: \"198.51.100.300\" is not an IPv4 or IPv6 address" },
	{ HEAD H1 "active 2001:db8:ffff:ffff:ffff:ffff:255.255.255.2550\n",
	  "t:5: \"2001:db8:ffff:ffff:ffff:ffff:255.255.255.2550\" is not an IPv4 or IPv6 address" },
	{ HEAD H1 "active 0.0.0.0\n", "t:5: host 1: an unspecified or empty active address" },
	{ HEAD H1 "bound ::\n", "t:5: host 1: an unspecified or empty bound identifier" },
	{ HEAD H1 "active 198.51.100.7\n", "t:5: host 1: active address 198.51.100.7 given twice" },
	{ HEAD H1 "unreach 198.51.100.7\n", "t:5: host 1: 198.51.100.7 is both active and unreachable" },
	{ HEAD H1 "bound 203.0.113.1\nbound 203.0.113.1\n",
	  "t:6: host 1: bound identifier 203.0.113.1 given twice" },
	{ HEAD H1 "local 192.0.2.1\nactive 198.51.100.8\n",
	  "t:6: host 1: \"active\" after \"local\"; the order is active, unreach, local, bound, rloc, lloc" },
	{ HEAD H1 "lloc 192.0.2.1\n",
	  "t:5: host 1: local locator 192.0.2.1 is not an address of the local set" },
	{ HEAD H1 "rloc 198.51.100.8\n",
	  "t:5: host 1: remote locator 198.51.100.8 is not an active address" },
	{ HEAD H1 "active 198.51.100.8\nrloc 198.51.100.7\nrloc 198.51.100.8\n",
	  "t:7: host 1: a second IPv4 remote locator" },
	{ HEAD "host 1 ihmp 0\nlocal 192.0.2.1\nhost 2 ihmp 0\n",
	  "t:3: host 1 has no remote address (active, unreach or bound)" },
	{ HEAD "host 1 ihmp 0\nend 1 0\n",
	  "t:3: host 1 has no remote address (active, unreach or bound)" },
	{ HEAD H1 "host 2 ihmp 0\nbound 198.51.100.7\n",
	  "t:6: host 2: 198.51.100.7 belongs to host 1 already" },
	{ HEAD H1 "pin 192.0.2.9\nhost 2 ihmp 0\n", "t:6: host 2 after the pins: hosts come first" },
	{ HEAD "pin 192.0.2.9\npin 192.0.2.9\n", "t:4: pin 192.0.2.9 given twice" },
	{ HEAD "pin 0.0.0.0\n", "t:3: an unspecified or empty pin" },
	{ HEAD "pin\n", "t:3: expected \"pin ADDRESS\"" },
	{ HEAD "end 1 0\n", "t:3: the end line counts 1 hosts and 0 pins, the file has 0 and 0" },
	{ HEAD H1 "end 1 1\n", "t:5: the end line counts 1 hosts and 1 pins, the file has 1 and 0" },
	{ HEAD "end 0\n", "t:3: expected \"end HOSTS PINS\"" },
	{ HEAD "end 0 0\nend 0 0\n", "t:4: text after the end line" },
	{ HEAD "end 0 0\n\n", "t:4: text after the end line" },
	{ HEAD H1, "t:5: no end line: the file is cut short" },
};

static void rejected(const char *text, size_t len, const char *msg, size_t i)
{
	struct state st;
	char *copy = malloc(len + 1);

	/* Exactly len bytes count, so a read past them is caught. */
	memcpy(copy, text, len);
	memset(err, 0, sizeof(err));
	ck_assert_msg(statefile_parse(copy, len, "t", &st, err, sizeof(err)) == -EINVAL,
		      "case %zu accepted", i);
	ck_assert_msg(strcmp(err, msg) == 0, "case %zu:\n want %s\n got  %s", i, msg, err);
	ck_assert_uint_eq(st.nhosts + st.npins, 0);
	ck_assert_ptr_null(st.hosts);
	free(copy);
}

START_TEST(test_rejections)
{
	static const char nul[] = HEAD "end 0\0 0\n";

	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++)
		rejected(bad_files[i].text, strlen(bad_files[i].text), bad_files[i].msg, i);
	rejected(nul, sizeof(nul) - 1, "t:3: a byte 0x00 in column 6: only printable text belongs here",
		 999);
}
END_TEST

/* Every prefix of a good file is refused; so is a line one byte too long. */
START_TEST(test_prefixes_and_line_length)
{
	size_t len = strlen(small_text);
	char line[STATE_LINE_MAX + 32];
	struct state st;

	for (size_t k = 0; k < len; k++) {
		char *copy = malloc(k + 1);

		memcpy(copy, small_text, k);
		HOT_ASSERT(statefile_parse(copy, k, "t", &st, err, sizeof(err)) == -EINVAL);
		HOT_ASSERT(st.hosts == NULL);
		free(copy);
	}
	/* 127 bytes and a newline: read as a line (and refused as a keyword). */
	snprintf(line, sizeof(line), HEAD "%0127d\n", 0);
	ck_assert_int_eq(statefile_parse(line, strlen(line), "t", &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t:3: unknown keyword \"00000000000000000000000000000000000000000000000"
			      "000000000000000000000000000000000000000000000000000000000000000000000"
			      "00000000000\"");
	snprintf(line, sizeof(line), HEAD "%0128d\n", 0);
	ck_assert_int_eq(statefile_parse(line, strlen(line), "t", &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t:3: a line longer than 127 bytes");
}
END_TEST

/* Any one byte changed: refused, or accepted and then stable. */
START_TEST(test_every_byte_changed)
{
	static const char subst[] = { 'X', '0', '9', ' ', '\n', ':', '.', '\0', (char)0xff };
	size_t len = strlen(small_text);
	unsigned int accepted = 0;

	for (size_t k = 0; k < len; k++) {
		for (size_t s = 0; s < sizeof(subst); s++) {
			char *copy = malloc(len);
			struct state st;

			memcpy(copy, small_text, len);
			if (copy[k] == subst[s]) {
				free(copy);
				continue;
			}
			copy[k] = subst[s];
			if (statefile_parse(copy, len, "t", &st, err, sizeof(err)) == 0) {
				accepted++;
				roundtrip(&st);
				state_free(&st);
			} else {
				HOT_ASSERT(strncmp(err, "t:", 2) == 0);
			}
			free(copy);
		}
	}
	/* Some changes are still valid files ("ihmp 0", another address). */
	ck_assert_uint_gt(accepted, 0);
}
END_TEST

/* ---- Bounds ---- */

/* A file of n minimal hosts and p pins. */
static char *many(uint32_t n, uint32_t p, size_t *len)
{
	size_t cap = 64 + (size_t)n * 48 + (size_t)p * 32;
	char *buf = malloc(cap);
	size_t k = (size_t)snprintf(buf, cap, HEAD);

	for (uint32_t i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, cap - k, "host %u ihmp 0\nactive 10.%u.%u.%u\n", i + 1,
				      (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
	for (uint32_t i = 0; i < p; i++)
		k += (size_t)snprintf(buf + k, cap - k, "pin 2001:db8::%x\n", i + 1);
	k += (size_t)snprintf(buf + k, cap - k, "end %u %u\n", n, p);
	*len = k;
	return buf;
}

START_TEST(test_bounds)
{
	struct state st;
	size_t len;
	char *text;

	text = many(STATE_HOSTS_MAX, STATE_PINS_MAX, &len);
	ck_assert_msg(statefile_parse(text, len, "t", &st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(st.nhosts, STATE_HOSTS_MAX);
	ck_assert_uint_eq(st.npins, STATE_PINS_MAX);
	ck_assert(dime_addr_eq(&st.hosts[STATE_HOSTS_MAX - 1].active.addr[0], AP("10.0.255.255")));
	free(text);
	state_free(&st);

	text = many(STATE_HOSTS_MAX + 1, 0, &len);
	ck_assert_int_eq(statefile_parse(text, len, "t", &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t:131075: \"65537\" is not a number up to 65536");
	free(text);

	text = many(0, STATE_PINS_MAX + 1, &len);
	ck_assert_int_eq(statefile_parse(text, len, "t", &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t:259: more than 256 pins");
	free(text);

	/* Sets one past their bound. */
	{
		char buf[2048];
		size_t k = (size_t)snprintf(buf, sizeof(buf), HEAD "host 1 ihmp 0\n");

		for (int i = 0; i <= STATE_SET_MAX; i++)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "unreach 203.0.113.%d\n", i + 1);
		ck_assert_int_eq(statefile_parse(buf, k, "t", &st, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, "t:12: host 1: more than 8 unreachable addresses");
		k = (size_t)snprintf(buf, sizeof(buf), HEAD "host 1 ihmp 0\n");
		for (int i = 0; i <= STATE_BOUND_MAX; i++)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "bound 203.0.113.%d\n", i + 1);
		ck_assert_int_eq(statefile_parse(buf, k, "t", &st, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, "t:20: host 1: more than 16 bound identifiers");
	}
	/* A buffer above the file bound is refused before it is read. */
	ck_assert_int_eq(statefile_parse(small_text, (size_t)STATE_FILE_MAX + 1, "t", &st, err,
					 sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "t:0: larger than 67108864 bytes");
}
END_TEST

/* ---- The rules on a structure ---- */

static const char *const spoilt[] = {
	"host 1: remote locator 198.51.100.99 is not an active address",
	"host 1: a remote locator in the IPv4 slot of the other family",
	"host 1: local locator 2001:db8:9::1 is not an address of the local set",
	"host 2: 198.51.100.7 belongs to host 1 already",
	"host 2 has no remote address (active, unreach or bound)",
	"host 1: a set holds more than its bound",
	"host 1: a set holds more than its bound",
	"host 1: an unspecified or empty local address",
	"host 1: 198.51.100.7 is both active and unreachable",
	"pin 192.0.2.9 given twice",
	"257 pins: at most 256",
	"65537 hosts: at most 65536, in an array",
	"2 hosts: at most 65536, in an array",
};

/* Break one rule of the small state; spoilt[i] says which. */
static void spoil(struct state *st, struct state_host *h, size_t i)
{
	switch (i) {
	case 0: h[0].rloc[0] = A("198.51.100.99"); break;
	case 1: h[0].rloc[0] = A("2001:db8::7"); break;
	case 2: h[0].lloc[1] = A("2001:db8:9::1"); break;
	case 3: h[1].bound[0] = A("198.51.100.7"); break;
	case 4: h[1].nbound = 0; break;
	case 5: h[0].active.n = STATE_SET_MAX + 1; break;
	case 6: h[0].nbound = STATE_BOUND_MAX + 1; break;
	case 7: h[0].local.addr[1] = (struct dime_addr){ 0 }; break;
	case 8: h[0].unreach.addr[0] = A("198.51.100.7"); break;
	case 9: st->pins[1] = st->pins[0]; break;
	case 10: st->npins = STATE_PINS_MAX + 1; break;
	case 11: st->nhosts = STATE_HOSTS_MAX + 1; break;
	default: st->hosts = NULL; break;
	}
}

START_TEST(test_check_refuses)
{
	for (size_t i = 0; i < sizeof(spoilt) / sizeof(spoilt[0]); i++) {
		struct state_host h[2];
		struct state st;
		char *text = NULL;
		size_t len;

		small_state(&st, h);
		spoil(&st, h, i);
		memset(err, 0, sizeof(err));
		ck_assert_msg(statefile_format(&st, &text, &len, err, sizeof(err)) == -EINVAL,
			      "case %zu formatted", i);
		ck_assert_msg(strcmp(err, spoilt[i]) == 0, "case %zu:\n want %s\n got  %s", i,
			      spoilt[i], err);
		ck_assert_ptr_null(text);
		ck_assert_int_eq(statefile_check(&st, err, sizeof(err)), -EINVAL);
	}
}
END_TEST

/* ---- Files ---- */

static char dir[64], path[128];

static void dir_open(void)
{
	snprintf(dir, sizeof(dir), "/tmp/dime-state-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
}

static void dir_close(void)
{
	char p[160];

	snprintf(p, sizeof(p), "%s.tmp", path);
	unlink(p);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}

static char *file_text(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf = calloc(1, 65536);

	ck_assert_ptr_nonnull(f);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

START_TEST(test_write_and_read)
{
	struct state_host h[2];
	struct state st, back;
	struct stat sb;
	char tmp[160], *text;
	size_t len;
	int fd;

	dir_open();
	small_state(&st, h);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));

	/* A leftover temporary file of a crash, with a loose mode. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_CREAT | O_WRONLY, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "junk junk junk junk junk junk junk junk junk junk\n", 50), 50);
	close(fd);

	ck_assert_msg(statefile_write(path, &st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	text = file_text(path, &len);
	ck_assert_uint_eq(len, strlen(small_text));
	ck_assert_str_eq(text, small_text);
	free(text);
	ck_assert_msg(statefile_read(path, &back, err, sizeof(err)) == 0, "%s", err);
	assert_same(&st, &back);
	state_free(&back);

	/* Replaced whole by the next state. */
	st.nhosts = 1;
	st.npins = 0;
	ck_assert_int_eq(statefile_write(path, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.nhosts, 1);
	ck_assert_uint_eq(back.npins, 0);
	state_free(&back);

	/* A state that breaks the rules is not written; the old file stays. */
	h[0].rloc[0] = A("198.51.100.99");
	ck_assert_int_eq(statefile_write(path, &st, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.nhosts, 1);
	state_free(&back);
	dir_close();
}
END_TEST

START_TEST(test_read_refuses)
{
	struct state_host h[2];
	struct state st, back;
	char other[160], tmp[160];
	int fd;

	dir_open();
	small_state(&st, h);
	ck_assert_int_eq(statefile_write(path, &st, err, sizeof(err)), 0);

	/* Writable by the group: anyone there could plant locators. */
	ck_assert_int_eq(chmod(path, 0620), 0);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "writable by group or others"));
	ck_assert_int_eq(chmod(path, 0600), 0);

	/* A symbolic link is not followed, reading or writing. */
	snprintf(other, sizeof(other), "%s/other", dir);
	ck_assert_int_eq(rename(path, other), 0);
	ck_assert_int_eq(symlink(other, path), 0);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "is a symbolic link"));
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(symlink(other, tmp), 0);
	ck_assert_int_eq(statefile_write(path, &st, err, sizeof(err)), -ELOOP);
	ck_assert_int_eq(access(tmp, F_OK), -1);	/* the link is removed, */
	ck_assert_int_eq(access(other, F_OK), 0);	/* its target is not */
	unlink(other);

	/* Not a regular file. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert_int_eq(rmdir(path), 0);

	/* Larger than the bound (sparse: costs nothing). */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)STATE_FILE_MAX + 1), 0);
	close(fd);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), -EFBIG);

	/* Damaged content: the parser's message, with the path. */
	fd = open(path, O_TRUNC | O_WRONLY);
	ck_assert_int_eq(write(fd, "dime-state 1\ntime 1\n", 20), 20);
	close(fd);
	ck_assert_int_eq(statefile_read(path, &back, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "/state:3: no end line"));
	ck_assert_ptr_null(back.hosts);

	/* A directory that does not exist: nothing written anywhere. */
	snprintf(other, sizeof(other), "%s/missing/state", dir);
	ck_assert_int_eq(statefile_write(other, &st, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	dir_close();
}
END_TEST

static Suite *statefile_suite(void)
{
	Suite *s = suite_create("statefile");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_text_and_roundtrip);
	tcase_add_test(tc, test_empty_and_full);
	tcase_add_test(tc, test_rejections);
	tcase_add_test(tc, test_prefixes_and_line_length);
	tcase_add_test(tc, test_every_byte_changed);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_check_refuses);
	tcase_add_test(tc, test_write_and_read);
	tcase_add_test(tc, test_read_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(statefile_suite());
}
