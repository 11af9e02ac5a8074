/*
 * mc_get_reply.h - the reply to one memcached get or gets ("VALUE <key>
 * <flags> <bytes>[ <cas>]\r\n<data>\r\nEND\r\n", or just END) written
 * straight into a buffer: inline, for the fast paths that answer one get
 * per datagram or segment (net/mc_udp.c, net/mc_tcp.c).
 */
#ifndef WC_PROTO_MC_GET_REPLY_H
#define WC_PROTO_MC_GET_REPLY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proto/mc_out.h"
#include "store/store.h"

/* Decimal digits of v. */
static inline size_t mc_u64_digits(uint64_t v)
{
	size_t n = 1;

	while (v >= 100) {
		v /= 100;
		n += 2;
	}
	return n + (v >= 10);
}

/* The most bytes a VALUE line, and the whole reply, can take for a key of klen and a value of vlen bytes. */
#define MC_VALUE_HEADER_MAX(klen) (6 + (size_t)(klen) + 3 * 21 + 2)
#define MC_GET_REPLY_MAX(klen, vlen) (MC_VALUE_HEADER_MAX(klen) + (size_t)(vlen) + 2 + 5)

/*
 * Copy n bytes, src and dst possibly overlapping: up to 32 bytes as a few
 * loads, all before any store (no call); more through memmove.
 */
static inline void mc_copy_short(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (n > 32) {
		memmove(dst, src, n);
	} else if (n >= 16) {
		struct { uint8_t b[16]; } a, z;

		memcpy(&a, src, 16);
		memcpy(&z, src + n - 16, 16);
		memcpy(dst, &a, 16);
		memcpy(dst + n - 16, &z, 16);
	} else if (n >= 8) {
		uint64_t a, z;

		memcpy(&a, src, 8);
		memcpy(&z, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &z, 8);
	} else if (n >= 4) {
		uint32_t a, z;

		memcpy(&a, src, 4);
		memcpy(&z, src + n - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + n - 4, &z, 4);
	} else if (n) {
		uint8_t a = src[0], m = src[n / 2], z = src[n - 1];

		dst[0] = a;
		dst[n / 2] = m;
		dst[n - 1] = z;
	}
}

/* v in decimal at dst; returns its end (a one-digit number, as flags mostly are, directly). */
static inline uint8_t *mc_put_u64(uint8_t *dst, uint64_t v)
{
	size_t n;

	if (v < 10) {
		*dst = (uint8_t)('0' + v);
		return dst + 1;
	}
	n = mc_u64_digits(v);
	mc_fmt_u64((char *)dst + n, v);
	return dst + n;
}

/*
 * "VALUE <key> <flags> <bytes>[ <cas>]\r\n" at dst, which has
 * MC_VALUE_HEADER_MAX(klen) bytes of room; the key may lie inside that room
 * (a request parsed in the buffer its reply goes to): it is moved first.
 * Returns the header's end.
 */
static inline __attribute__((always_inline)) uint8_t *
mc_value_header_at(uint8_t *dst, const uint8_t *key, uint32_t klen, const struct wc_view *v,
		   bool cas)
{
	mc_copy_short(dst + 6, key, klen);	/* before "VALUE " covers where it may lie */
	memcpy(dst, "VALUE ", 6);
	dst += 6 + klen;
	*dst++ = ' ';
	dst = mc_put_u64(dst, v->flags);
	*dst++ = ' ';
	dst = mc_put_u64(dst, v->vlen);
	if (cas) {
		*dst++ = ' ';
		dst = mc_put_u64(dst, v->cas);
	}
	dst[0] = '\r';
	dst[1] = '\n';
	return dst + 2;
}

/*
 * The whole reply written straight at dst, which has MC_GET_REPLY_MAX bytes
 * of room; the key may lie inside that room, as for mc_value_header_at.
 * Returns the reply's end.
 */
static inline __attribute__((always_inline)) uint8_t *
mc_get_reply_at(uint8_t *dst, const uint8_t *key, uint32_t klen, const struct wc_view *v, bool cas)
{
	if (v) {
		dst = mc_value_header_at(dst, key, klen, v, cas);
		mc_copy_short(dst, v->value, v->vlen);
		dst += v->vlen;
		dst[0] = '\r';
		dst[1] = '\n';
		dst += 2;
	}
	memcpy(dst, "END\r\n", 5);
	return dst + 5;
}

#endif
