// SPDX-License-Identifier: BSD-2-Clause
/*
 * The table allocator (see bigalloc.h), shared by hid.c and flow.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "dime/bigalloc.h"

/*
 * Arrays of 2 MiB and more come from mmap, 2 MiB aligned and marked for
 * transparent huge pages: lookups touch random lines of tens of megabytes,
 * and with 4 KiB pages each of them is also a TLB miss (a nested page walk
 * under KVM). Pages stay lazily zero-filled, so unused capacity costs no
 * RAM. Smaller arrays use calloc, which keeps them under ASan's eye.
 */
#define HUGE_PAGE (2u << 20)

size_t big_len(size_t n, size_t size)
{
	return (n * size + 4095) & ~(size_t)4095;
}

void *big_calloc(size_t n, size_t size)
{
	size_t len = big_len(n, size), head, tail;
	uint8_t *p, *start;

	if (n * size < HUGE_PAGE)
		return calloc(n, size);
	p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	head = (size_t)(start - p);
	tail = HUGE_PAGE - head;
	if (head)
		munmap(p, head);
	if (tail)
		munmap(start + len, tail);
	/* Only a hint: without THP the table works, just slower. */
	madvise(start, len, MADV_HUGEPAGE);
	return start;
}

void big_free(void *p, size_t n, size_t size)
{
	if (!p)
		return;
	if (n * size < HUGE_PAGE)
		free(p);
	else
		munmap(p, big_len(n, size));
}
