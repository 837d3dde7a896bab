// SPDX-License-Identifier: BSD-2-Clause
/*
 * movsb_align: how fast "rep movsb" copies 64 KiB as a function of the
 * distance from source to destination modulo 4 KiB. The kernel copies a
 * queued packet into dimed's receive slot this way (copy_to_user with FSRM),
 * and on AMD Zen 3 a destination 1-31 bytes past the source is 15-20 times
 * slower than any other distance; nfq.c therefore starts every slot on a
 * page (see NFQIO_SLOT_ALIGN). Run it to see whether a machine has the slow
 * case:
 *
 *     cc -O2 -o /tmp/movsb_align bench/movsb_align.c && /tmp/movsb_align
 *
 * x86-64 only; not part of the build. Prints GB/s per distance, asserts
 * nothing, and is bounded (a few hundred milliseconds per line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPY_LEN 65000u		/* a whole GSO packet, as nfq.c receives it */
#define AREA (1u << 20)
#define REPEATS 4000

static void movsb(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GB/s for copies whose destination is dist bytes past the source (mod 4 KiB). */
static double rate(unsigned char *src, unsigned char *dst, int dist)
{
	size_t soff = dist < 0 ? (size_t)-dist : 0, doff = dist < 0 ? 0 : (size_t)dist;
	double t0 = now_s(), t;

	for (int i = 0; i < REPEATS; i++) {
		size_t slot = (size_t)(i & 3) * 65536u;	/* four buffers, all in L2 */

		movsb(dst + slot + doff, src + slot + soff, COPY_LEN);
	}
	t = now_s() - t0;
	return t > 0 ? (double)REPEATS * COPY_LEN / t / 1e9 : 0;
}

int main(void)
{
	static const int dists[] = { -64, -16, 0, 1, 4, 16, 20, 31, 32, 64, 96, 128, 2048, 4096 + 16 };
	unsigned char *src = aligned_alloc(4096, AREA), *dst = aligned_alloc(4096, AREA);

	if (!src || !dst) {
		fprintf(stderr, "movsb_align: out of memory\n");
		return 1;
	}
	memset(src, 1, AREA);
	memset(dst, 2, AREA);
	printf("rep movsb, %u bytes, source and destination page-aligned plus an offset\n", COPY_LEN);
	for (size_t i = 0; i < sizeof(dists) / sizeof(dists[0]); i++)
		printf("  dst - src = %5d: %6.2f GB/s\n", dists[i], rate(src, dst, dists[i]));
	free(src);
	free(dst);
	return 0;
}
