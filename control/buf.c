/*
 * buf.c - growable text buffer (see buf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

static bool reserve(struct buf *b, size_t more)
{
	size_t want = b->len + more + 1;
	char *p;

	if (b->failed)
		return false;
	if (want <= b->cap)
		return true;
	if (want < 2 * b->cap)
		want = 2 * b->cap;
	if (want < 256)
		want = 256;
	p = realloc(b->p, want);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = want;
	return true;
}

void buf_put(struct buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *buf_take(struct buf *b, size_t *len)
{
	char *p;

	if (!b->p && !b->failed)
		reserve(b, 0);
	if (b->failed) {
		buf_free(b);
		return NULL;
	}
	p = b->p;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}
