// SPDX-License-Identifier: BSD-2-Clause
/* addrwatch: which address events reach IHMP, and when. */
#include <check.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/addrwatch.h"
#include "dime/pin.h"
#include "testutil.h"

#define LO 1
#define ETH 2

static struct addrwatch aw;
static struct {
	enum addrwatch_change change;
	struct dime_addr addr;
} ev[128];
static int nev;

static void record(void *ctx, enum addrwatch_change change, const struct dime_addr *addr)
{
	ck_assert_int_lt(nev, 128);
	ev[nev].change = change;
	ev[nev].addr = *addr;
	nev++;
}

static struct rtnl_addr ra(const char *text, bool deleted)
{
	struct rtnl_addr r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(dime_addr_parse(&r.addr, text), 0);
	r.deleted = deleted;
	r.ifindex = ETH;
	r.scope = RT_SCOPE_UNIVERSE;
	r.preferred_lft = r.valid_lft = UINT32_MAX;
	return r;
}

static void feed(struct rtnl_addr r, uint64_t now)
{
	addrwatch_event(&aw, &r, now, record, NULL);
}

static bool ev_is(int i, enum addrwatch_change c, const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return i < nev && ev[i].change == c && dime_addr_eq(&ev[i].addr, &a);
}

static void setup(void)
{
	addrwatch_init(&aw, LO, ADDRWATCH_DEBOUNCE_MS);
	nev = 0;
}

START_TEST(up_once_despite_repeated_newaddr)
{
	feed(ra("192.0.2.10", false), 0);
	feed(ra("192.0.2.10", false), 5);	/* lifetime update */
	ck_assert_int_eq(nev, 1);
	ck_assert(ev_is(0, ADDRWATCH_UP, "192.0.2.10"));
	ck_assert(addrwatch_is_up(&aw, &ev[0].addr));
}
END_TEST

START_TEST(lo_pins_and_scoped_addresses_are_ignored)
{
	struct rtnl_addr r = ra("192.0.2.20", false);

	r.ifindex = LO;
	feed(r, 0);
	r = ra("192.0.2.21", false);
	r.proto = DIME_IFA_PROTO;
	feed(r, 0);
	r = ra("fe80::1", false);
	r.scope = RT_SCOPE_LINK;
	feed(r, 0);
	r = ra("192.0.2.22", false);
	r.scope = RT_SCOPE_HOST;
	feed(r, 0);
	ck_assert_int_eq(nev, 0);
}
END_TEST

START_TEST(ipv6_waits_for_dad)
{
	struct rtnl_addr r = ra("2001:db8:2::10", false);

	r.flags = IFA_F_TENTATIVE;
	feed(r, 0);
	ck_assert_int_eq(nev, 0);
	r.flags = 0;
	feed(r, 1000);
	ck_assert_int_eq(nev, 1);
	ck_assert(ev_is(0, ADDRWATCH_UP, "2001:db8:2::10"));
	r.flags = IFA_F_DADFAILED;
	feed(r, 1001);
	addrwatch_timer(&aw, 1001 + ADDRWATCH_DEBOUNCE_MS, record, NULL);
	ck_assert(ev_is(1, ADDRWATCH_DOWN, "2001:db8:2::10"));
}
END_TEST

START_TEST(deprecated_address_is_not_announced)
{
	struct rtnl_addr r = ra("2001:db8:2::11", false);

	r.preferred_lft = 0;
	feed(r, 0);
	r.preferred_lft = UINT32_MAX;
	r.flags = IFA_F_DEPRECATED;
	feed(r, 0);
	ck_assert_int_eq(nev, 0);
}
END_TEST

START_TEST(delete_then_readd_is_no_event)
{
	feed(ra("192.0.2.10", false), 0);
	feed(ra("192.0.2.10", true), 100);
	ck_assert(!addrwatch_is_up(&aw, &ev[0].addr));
	ck_assert_uint_eq(addrwatch_next_deadline(&aw), 100 + ADDRWATCH_DEBOUNCE_MS);
	feed(ra("192.0.2.10", false), 120);
	addrwatch_timer(&aw, 1000, record, NULL);
	ck_assert_int_eq(nev, 1);
	ck_assert_uint_eq(addrwatch_next_deadline(&aw), UINT64_MAX);
}
END_TEST

START_TEST(delete_reported_after_debounce)
{
	feed(ra("192.0.2.10", false), 0);
	feed(ra("192.0.2.10", true), 100);
	addrwatch_timer(&aw, 100 + ADDRWATCH_DEBOUNCE_MS - 1, record, NULL);
	ck_assert_int_eq(nev, 1);
	addrwatch_timer(&aw, 100 + ADDRWATCH_DEBOUNCE_MS, record, NULL);
	ck_assert_int_eq(nev, 2);
	ck_assert(ev_is(1, ADDRWATCH_DOWN, "192.0.2.10"));
	/* A delete of something never announced is nothing. */
	feed(ra("198.51.100.10", true), 200);
	ck_assert_uint_eq(addrwatch_next_deadline(&aw), UINT64_MAX);
}
END_TEST

/* Hard hand-off: old address goes, new one comes within the debounce.
 * The down is reported first, then the up. */
START_TEST(pending_down_is_reported_before_a_new_up)
{
	feed(ra("192.0.2.10", false), 0);
	feed(ra("192.0.2.10", true), 100);
	feed(ra("198.51.100.10", false), 110);
	ck_assert_int_eq(nev, 3);
	ck_assert(ev_is(1, ADDRWATCH_DOWN, "192.0.2.10"));
	ck_assert(ev_is(2, ADDRWATCH_UP, "198.51.100.10"));
}
END_TEST

START_TEST(resync_reports_what_the_dump_no_longer_lists)
{
	feed(ra("192.0.2.10", false), 0);
	feed(ra("198.51.100.10", false), 0);
	addrwatch_resync_begin(&aw);
	feed(ra("198.51.100.10", false), 500);		/* dump */
	feed(ra("203.0.113.7", false), 500);		/* dump: new one */
	addrwatch_resync_end(&aw, 500, record, NULL);
	addrwatch_timer(&aw, 500 + ADDRWATCH_DEBOUNCE_MS, record, NULL);
	ck_assert_int_eq(nev, 4);
	ck_assert(ev_is(2, ADDRWATCH_UP, "203.0.113.7"));
	ck_assert(ev_is(3, ADDRWATCH_DOWN, "192.0.2.10"));
}
END_TEST

START_TEST(table_is_bounded)
{
	char text[32];

	for (int i = 0; i < ADDRWATCH_MAX + 5; i++) {
		snprintf(text, sizeof(text), "2001:db8:9::%x", i + 1);
		feed(ra(text, false), 0);
	}
	ck_assert_uint_eq(aw.n, ADDRWATCH_MAX);
	ck_assert_uint_eq(aw.full, 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addrwatch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, up_once_despite_repeated_newaddr);
	tcase_add_test(tc, lo_pins_and_scoped_addresses_are_ignored);
	tcase_add_test(tc, ipv6_waits_for_dad);
	tcase_add_test(tc, deprecated_address_is_not_announced);
	tcase_add_test(tc, delete_then_readd_is_no_event);
	tcase_add_test(tc, delete_reported_after_debounce);
	tcase_add_test(tc, pending_down_is_reported_before_a_new_up);
	tcase_add_test(tc, resync_reports_what_the_dump_no_longer_lists);
	tcase_add_test(tc, table_is_bounded);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
