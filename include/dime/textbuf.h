/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Text into a fixed buffer, for the scripts dimed hands to the xtables
 * tools and nft (rules.c, offload.c): append freely, check once. Once a
 * piece does not fit, nothing more is appended and the result is -ENOSPC,
 * so a cut script is never run.
 */
#ifndef DIME_TEXTBUF_H
#define DIME_TEXTBUF_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct textbuf {
	char *buf;
	size_t size, len;
	bool overflow;
};

static inline void __attribute__((format(printf, 2, 3)))
textbuf_printf(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len) {
		t->overflow = true;
		return;
	}
	t->len += (size_t)n;
}

static inline void textbuf_put(struct textbuf *t, const char *s, size_t len)
{
	if (t->overflow || len >= t->size - t->len) {
		t->overflow = true;
		return;
	}
	memcpy(t->buf + t->len, s, len);
	t->len += len;
	t->buf[t->len] = '\0';
}

/* The text's length, or -ENOSPC when some of it did not fit. */
static inline int textbuf_result(const struct textbuf *t)
{
	return t->overflow ? -ENOSPC : (int)t->len;
}

#endif
