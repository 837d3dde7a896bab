// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the state file parser (statefile.c), which dimed
 * runs at start on whatever /run/dime/state holds after a crash. Exactly
 * `size` bytes on the heap, so ASan sees any read past the end.
 *
 * Beyond "no crash, no leak" it checks:
 *   - a refusal leaves the state empty and says "name:line: ...";
 *   - whatever parses passes the structure rules (statefile_check), and
 *     formats to a text that parses to the same state and formats to the
 *     same text again (the format is a fixed point after one round);
 *   - the sysctl journal (sysctl.h), the other file a crash leaves: a
 *     refusal returns no entry, an acceptance only paths that stay under
 *     /proc/sys and fields without separators.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: cmake -S . -B build-fuzz -DDIME_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *        cmake --build build-fuzz --target fuzz_state
 * Run:   build-fuzz/tests/fuzz/fuzz_state -max_total_time=30 tests/fuzz/corpus/fuzz_state
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dime/statefile.h"
#include "dime/sysctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static bool same(const struct state *a, const struct state *b)
{
	if (a->time_ms != b->time_ms || a->nhosts != b->nhosts || a->npins != b->npins)
		return false;
	for (uint32_t i = 0; i < a->nhosts; i++)
		if (memcmp(&a->hosts[i], &b->hosts[i], sizeof(a->hosts[i])) != 0)
			return false;
	return memcmp(a->pins, b->pins, a->npins * sizeof(a->pins[0])) == 0;
}

static void roundtrip(const struct state *st)
{
	char err[STATE_ERR_MAX];
	struct state back;
	char *text, *again;
	size_t len, len2;

	require(statefile_check(st, err, sizeof(err)) == 0);
	require(statefile_format(st, &text, &len, err, sizeof(err)) == 0);
	require(statefile_parse(text, len, "again", &back, err, sizeof(err)) == 0);
	require(same(st, &back));
	require(statefile_format(&back, &again, &len2, err, sizeof(err)) == 0);
	require(len == len2 && memcmp(text, again, len) == 0);
	free(text);
	free(again);
	state_free(&back);
}

/* No component of path is "..": it cannot leave /proc/sys. */
static bool stays_inside(const char *path)
{
	size_t len = strlen(path);

	return strcmp(path, "..") != 0 && strncmp(path, "../", 3) != 0 && !strstr(path, "/../") &&
	       !(len >= 3 && strcmp(path + len - 3, "/..") == 0);
}

static void journal(const char *buf, size_t size)
{
	static struct sysctl_saved recs[8];
	size_t n = 99;
	int rc = sysctl_journal_parse(buf, size, recs, 8, &n);

	require(rc == 0 || rc == -EINVAL || rc == -ENOSPC);
	require(rc == 0 ? n <= 8 : n == 0);
	for (size_t i = 0; i < n; i++) {
		require(recs[i].path[0] && recs[i].path[0] != '/' && stays_inside(recs[i].path));
		require(!strpbrk(recs[i].path, "\t\n") && !strpbrk(recs[i].old, "\t\n") &&
			!strpbrk(recs[i].set, "\t\n"));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[STATE_ERR_MAX];
	struct state st;
	char *copy = malloc(size ? size : 1);
	int rc;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	journal(copy, size);
	rc = statefile_parse(copy, size, "fuzz", &st, err, sizeof(err));
	if (rc == 0) {
		roundtrip(&st);
		state_free(&st);
	} else {
		require(rc == -EINVAL || rc == -ENOMEM);
		require(st.hosts == NULL && st.nhosts == 0 && st.npins == 0);
		require(rc == -ENOMEM || strncmp(err, "fuzz:", 5) == 0);
	}
	free(copy);
	return 0;
}
