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
 *     same text again (the format is a fixed point after one round).
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
