// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the IHMP decoder (ihmp_wire.c), which dimed runs on
 * every UDP datagram that reaches its IHMP port, on exactly `size` bytes so
 * ASan sees any read past the end.
 *
 * Beyond "no crash" it checks what signing relies on:
 *   - a message that decodes re-encodes to exactly the same bytes;
 *   - the re-encoded bytes decode again;
 *   - a signed message's wire info points at its last 64 bytes and the
 *     signed region before them, and ihmp_sig_input accepts that region;
 *   - the error is one of the documented classes.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: cmake -S . -B build-fuzz -DDIME_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *        cmake --build build-fuzz --target fuzz_ihmp
 * Run:   build-fuzz/tests/fuzz/fuzz_ihmp -max_total_time=60 -max_len=1300 CORPUS_DIR
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static bool documented(int err)
{
	switch (err) {
	case -EMSGSIZE:
	case -EPROTONOSUPPORT:
	case -E2BIG:
	case -ENOMSG:
	case -EBADMSG:
	case -EILSEQ:
	case -EOPNOTSUPP:
	case -EINVAL:
	case -ENOENT:
		return true;
	default:
		return false;
	}
}

static void check_signed(const uint8_t *msg, size_t size, const struct ihmp_msg *m)
{
	static uint8_t in[IHMP_SIG_INPUT_MAX];

	require(m->wire.sig_len == IHMP_ED25519_SIG_LEN);
	require(m->wire.sig_off + (size_t)IHMP_ED25519_SIG_LEN == size);
	require(m->wire.signed_off == 0 && m->wire.signed_len == m->wire.sig_off);
	require(memcmp(msg + m->wire.sig_off, m->sig.value, IHMP_ED25519_SIG_LEN) == 0);
	require(ihmp_sig_input(msg, m->wire.signed_len, in, sizeof(in)) ==
		(int)(IHMP_SIG_CONTEXT_LEN + m->wire.signed_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ihmp_msg m, again;
	static uint8_t out[IHMP_MSG_MAX];
	uint8_t *copy;
	char flags[32];
	int err, n;

	/* Exactly size bytes on the heap, so a read past the end is caught. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	err = ihmp_decode(copy, size, &m);
	require(err == 0 || documented(err));
	ihmp_type_name(m.type);
	ihmp_flags_fmt(m.flags, flags, sizeof(flags));
	if (err == 0) {
		require(m.wire.len == size);
		n = ihmp_encode(&m, out, sizeof(out));
		require(n >= 0 && (size_t)n == size && memcmp(out, copy, size) == 0);
		require(ihmp_decode(out, (size_t)n, &again) == 0);
		if (m.has & IHMP_HAS_SIG)
			check_signed(copy, size, &m);
		else
			require(m.wire.sig_len == 0);
	}
	free(copy);
	return 0;
}
