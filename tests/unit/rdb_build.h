/*
 * rdb_build.h - building RDB files by hand for the loader's tests: a byte
 * buffer with the format's length and string encodings, opcodes, and the
 * EOF + CRC64 trailer. Included (static functions) by the tests.
 */
#ifndef WC_TEST_RDB_BUILD_H
#define WC_TEST_RDB_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/rdbval.h"

struct rb {
	uint8_t *p;
	size_t n, cap;
};

static inline void rb_put(struct rb *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static inline void rb_byte(struct rb *b, uint8_t v)
{
	rb_put(b, &v, 1);
}

static inline void rb_le(struct rb *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rb_byte(b, (uint8_t)(v >> (8 * i)));
}

static inline void rb_len(struct rb *b, uint64_t len)
{
	if (len < 64) {
		rb_byte(b, (uint8_t)len);
	} else if (len < 16384) {
		rb_byte(b, (uint8_t)(0x40 | len >> 8));
		rb_byte(b, (uint8_t)len);
	} else {
		rb_byte(b, 0x80);
		for (int i = 3; i >= 0; i--)
			rb_byte(b, (uint8_t)(len >> (8 * i)));
	}
}

static inline void rb_str(struct rb *b, const void *p, size_t n)
{
	rb_len(b, n);
	rb_put(b, p, n);
}

static inline void rb_s(struct rb *b, const char *s)
{
	rb_str(b, s, strlen(s));
}

static inline void rb_header(struct rb *b, unsigned version)
{
	char h[16];

	snprintf(h, sizeof(h), "REDIS%04u", version);
	rb_put(b, h, 9);
}

static inline void rb_aux(struct rb *b, const char *k, const char *v)
{
	rb_byte(b, 0xFA);
	rb_s(b, k);
	rb_s(b, v);
}

/* A string key: type 0, key, value. */
static inline void rb_kv(struct rb *b, const char *k, const char *v)
{
	rb_byte(b, 0);
	rb_s(b, k);
	rb_s(b, v);
}

/* EOF and the CRC64 (crc false: zero, "not computed"). */
static inline void rb_end(struct rb *b, int crc)
{
	rb_byte(b, 0xFF);
	rb_le(b, crc ? rdbv_crc64(0, b->p, b->n) : 0, 8);
}

/* A whole file from disk, or NULL. */
static inline uint8_t *rb_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long sz;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)sz + 1);
	if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*n = (size_t)sz;
	return p;
}

#endif
