/*
 * buf.h - a growable text buffer for responses (Prometheus text, tables).
 * Out of memory makes it "failed": further appends are dropped and the
 * caller answers with an error instead of half a page.
 */
#ifndef WC_CONTROL_BUF_H
#define WC_CONTROL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put(struct buf *b, const char *s, size_t n);
/* Hand the text over (NUL-terminated; the caller frees it); the buffer is empty after. */
char *buf_take(struct buf *b, size_t *len);

#endif
