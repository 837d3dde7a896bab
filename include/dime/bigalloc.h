/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Allocation of the big preallocated table arrays (flow pool and indexes,
 * HID entries and index): zeroed, huge-page backed from 2 MiB up, plain
 * calloc below so ASan still watches the small ones.
 */
#ifndef DIME_BIGALLOC_H
#define DIME_BIGALLOC_H

#include <stddef.h>

/* n * size bytes, zeroed; NULL when out of memory. */
void *big_calloc(size_t n, size_t size);
/* Free what big_calloc(n, size) returned (the same n and size). */
void big_free(void *p, size_t n, size_t size);
/* Bytes big_calloc(n, size) really takes, for statistics. */
size_t big_len(size_t n, size_t size);

#endif
