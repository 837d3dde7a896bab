/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Small helpers the Check suites share, header-only so that each suite
 * still links only the module it tests: an assertion cheap enough for hot
 * loops, addresses from text, random damage for robustness loops, and the
 * suite runner every main() ends with.
 */
#ifndef DIME_TESTUTIL_H
#define DIME_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dime/addr.h"

/* ck_assert records a mark point on every passing call (a message to
 * the parent process when Check forks); loops of 10^5 iterations use this,
 * which costs nothing until it fails. */
#define HOT_ASSERT(expr) \
	do { \
		if (!(expr)) \
			ck_abort_msg("Assertion '%s' failed", #expr); \
	} while (0)

/* An address from text; a bad literal fails the test. */
static inline struct dime_addr A(const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return a;
}

/* An address to pass by pointer; a few stay valid at once. */
static inline const struct dime_addr *AP(const char *text)
{
	static struct dime_addr ring[8];
	static unsigned int next;
	struct dime_addr *a = &ring[next++ % 8];

	*a = A(text);
	return a;
}

/* Overwrite n random bytes of [p, p + len) (len > 0), drawn from *seed, a
 * linear congruential generator, so a failing iteration can be replayed. */
static inline void scribble(unsigned char *p, size_t len, int n, uint32_t *seed)
{
	for (int k = 0; k < n; k++) {
		*seed = *seed * 1103515245u + 12345u;
		p[(*seed >> 8) % len] = (unsigned char)(*seed >> 24);
	}
}

/* Run a suite as CK_ENV says (CK_FORK, CK_VERBOSITY); the exit status of
 * the test program. */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
