// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the parsers of text that other programs and the
 * kernel print for dimed: iptables-save output (rules_render_remove, which
 * derives the removal of dimed's rules from it), `nft list chain` output
 * (rules_chain_prunable) and /proc/net/netfilter/nfnetlink_queue
 * (nfqio_kernel_stats_parse). The input, cut at its first NUL, is given to
 * all three on an exactly sized copy, so ASan sees any read past the end.
 *
 * Beyond "no crash" it checks:
 *   - the removal text fits in RULES_REMOVE_SIZE(strlen(save)), is no
 *     longer than the function says, and is made of whole tables: a "*"
 *     line, then only "-D" lines and the flush and delete lines of our two
 *     chains, then COMMIT; with a smaller buffer it is either -ENOSPC or
 *     the same text;
 *   - a chain called prunable stops being so when a rule line is added to
 *     it (a rule, whatever else the listing says, means "keep");
 *   - the queue counters parse to 0, -ENOENT or -EINVAL and are written
 *     only on success.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Seeds: real iptables-save, ip6tables-save and nft listings from a
 * namespace where dimed ran, and a /proc queue listing, in
 * tests/fuzz/corpus/fuzz_tooltext.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dime/nfq.h"
#include "dime/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static bool line_is(const char *p, size_t len, const char *text)
{
	return len == strlen(text) && memcmp(p, text, len) == 0;
}

/* Whole tables only, and in them nothing but what removal needs. */
static void check_removal_shape(const char *text)
{
	bool in_table = false;

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len;

		require(nl != NULL);	/* every line is ended */
		len = (size_t)(nl - text);
		if (!in_table) {
			require(len >= 1 && text[0] == '*');
			in_table = true;
		} else if (line_is(text, len, "COMMIT")) {
			in_table = false;
		} else {
			require((len >= 3 && text[0] == '-' && text[1] == 'D' &&
				 (text[2] == ' ' || text[2] == '\t')) ||
				line_is(text, len, "-F " RULES_CHAIN_IN) ||
				line_is(text, len, "-F " RULES_CHAIN_OUT) ||
				line_is(text, len, "-X " RULES_CHAIN_IN) ||
				line_is(text, len, "-X " RULES_CHAIN_OUT));
		}
		text = nl + 1;
	}
	require(!in_table);
}

static void check_removal(const char *save, size_t save_len, size_t small)
{
	size_t size = RULES_REMOVE_SIZE(save_len);
	char *full = malloc(size), *part;
	int len, rc;

	if (!full)
		return;
	len = rules_render_remove(save, full, size);
	require(len >= 0 && (size_t)len == strlen(full) && (size_t)len < size);
	check_removal_shape(full);
	require(rules_render_remove(save, full, 0) == -ENOSPC);
	small = small % size;
	part = malloc(small ? small : 1);
	if (part) {
		rc = rules_render_remove(save, part, small);
		require(rc == -ENOSPC || (rc == len && memcmp(part, full, (size_t)len + 1) == 0));
		require(rc == -ENOSPC || (size_t)len < small);
		free(part);
	}
	free(full);
}

static void check_prunable(const char *listing, size_t len)
{
	static const char rule[] = "\n\t\tcounter packets 0 bytes 0 accept\n";
	char *with_rule;

	if (!rules_chain_prunable(listing))
		return;
	with_rule = malloc(len + sizeof(rule));
	if (!with_rule)
		return;
	memcpy(with_rule, listing, len);
	memcpy(with_rule + len, rule, sizeof(rule));
	require(!rules_chain_prunable(with_rule));
	free(with_rule);
}

static void check_queue_stats(const char *text, uint16_t queue)
{
	struct nfqio_kernel_stats ks, untouched;
	int rc;

	memset(&ks, 0xa5, sizeof(ks));
	untouched = ks;
	rc = nfqio_kernel_stats_parse(text, queue, &ks);
	require(rc == 0 || rc == -ENOENT || rc == -EINVAL);
	if (rc != 0)
		require(memcmp(&ks, &untouched, sizeof(ks)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	char *text = malloc(len + 1);
	size_t small = 0;
	uint16_t queue = 0;

	if (!text)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	/* Bytes after the NUL, if any, choose the small buffer and the queue. */
	if (size - len > 4) {
		small = data[len + 1] | (size_t)data[len + 2] << 8;
		queue = (uint16_t)(data[len + 3] | data[len + 4] << 8);
	}
	check_removal(text, len, small);
	check_prunable(text, len);
	check_queue_stats(text, queue);
	free(text);
	return 0;
}
