/*
 * fuzz_copy.h - the input of a recognizer's harness copied to a buffer of
 * exactly its size, so that ASan sees any read past the end (libFuzzer's
 * own data may sit in a larger allocation).
 */
#ifndef WC_FUZZ_COPY_H
#define WC_FUZZ_COPY_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* data[0..size) in a malloc'ed buffer of its own (free it); NULL past 1 MiB (skip the input). */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t *buf;

	if (size > 1u << 20)
		return NULL;
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	return buf;
}

#endif
