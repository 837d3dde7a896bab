// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the configuration parser (conf.c): conf_parse() on
 * exactly `size` bytes (ASan sees any read past the end), and conf_set()
 * with the input as a command-line value for every directive.
 *
 * Beyond "no crash" it checks:
 *   - a failed parse reports at least one error, each "fuzz.conf:" first,
 *     and leaves the output struct byte for byte as it was;
 *   - a clean parse reports none, and its effective configuration
 *     (conf_print) parses again to the same printout: what `dimed -n -v`
 *     writes is always a valid file meaning the same thing;
 *   - a value conf_set() accepts prints back the same way.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: see tests/fuzz/CMakeLists.txt (target fuzz_conf).
 * Run:   ./fuzz_conf -max_total_time=30 -max_len=4096 CORPUS_DIR
 *        (tests/unit/golden/conf/ makes a good seed corpus)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static char *print(const struct dime_conf *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	require(f != NULL);
	conf_print(c, f);
	require(fclose(f) == 0);
	return buf;
}

/* The printout of c parses clean to a configuration that prints the same. */
static void check_reprint(const struct dime_conf *c)
{
	static struct conf_errors errs;
	struct dime_conf again;
	size_t l1, l2;
	char *first = print(c, &l1), *second;

	require(conf_parse(first, l1, "printed", &again, &errs) == 0);
	for (int k = 0; k < CONF_KEY_COUNT; k++)
		require(conf_is_set(&again, (enum conf_key)k));
	second = print(&again, &l2);
	require(l1 == l2 && memcmp(first, second, l1) == 0);
	free(first);
	free(second);
}

static void check_parse(const char *text, size_t size)
{
	static struct conf_errors errs;
	struct dime_conf c, before;
	unsigned kept;
	int rc;

	memset(&c, 0xa5, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	rc = conf_parse(text, size, "fuzz.conf", &c, &errs);
	if (rc != 0) {
		require(errs.count > 0);
		require(memcmp(&c, &before, sizeof(c)) == 0);
		kept = errs.count < CONF_ERRORS_MAX ? errs.count : CONF_ERRORS_MAX;
		for (unsigned i = 0; i < kept; i++)
			require(strncmp(errs.msg[i], "fuzz.conf:", 10) == 0);
		return;
	}
	require(errs.count == 0);
	check_reprint(&c);
}

static void check_set(const char *value)
{
	static struct conf_errors errs;

	for (int k = 0; k < CONF_KEY_COUNT; k++) {
		struct dime_conf c, before;
		int rc;

		conf_init(&c);
		memcpy(&before, &c, sizeof(c));
		conf_errors_init(&errs);
		rc = conf_set(&c, conf_key_name((enum conf_key)k), value, "-x", &errs);
		if (rc != 0) {
			require(rc == -EINVAL && errs.count == 1);
			require(memcmp(&c, &before, sizeof(c)) == 0);
			continue;
		}
		require(conf_is_set(&c, (enum conf_key)k));
		check_reprint(&c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	/* Exactly size bytes on the heap, so a read past the end is caught. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	check_parse(copy, size);
	free(copy);

	/* As one command-line value: a C string, so up to the first NUL. */
	if (size <= 256) {
		copy = malloc(size + 1);
		if (!copy)
			return 0;
		memcpy(copy, data, size);
		copy[size] = '\0';
		check_set(copy);
		free(copy);
	}
	return 0;
}
