/*
 * slot.h - key to slot hashing shared by the dataplane and the control plane.
 *
 * wirecache uses Redis Cluster's scheme for both protocols: 16384 slots,
 * slot = CRC16-XMODEM(key) mod 16384, where a key containing "{...}" with a
 * non-empty body hashes only that body (the hash tag), so related keys can be
 * forced onto one slot.
 */
#ifndef WIRECACHE_SLOT_H
#define WIRECACHE_SLOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WC_SLOTS 16384u
/* Other nodes a slot route may name (1..this; a node map holds at most this many). */
#define WC_SLOT_PEERS_MAX 128u

/* CRC16-XMODEM: polynomial 0x1021, initial value 0, no reflection. */
uint16_t wc_crc16(const void *data, size_t len);
/* Go on from crc over more bytes: wc_crc16(ab) == wc_crc16_update(wc_crc16(a), b). */
uint16_t wc_crc16_update(uint16_t crc, const void *data, size_t len);

/* The part of the key that is hashed, following the hash-tag rule. */
static inline void wc_slot_hashed_part(const uint8_t *key, size_t len,
				       const uint8_t **out, size_t *out_len)
{
	const uint8_t *open = memchr(key, '{', len), *close;

	if (open) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close && close > open + 1) {
			*out = open + 1;
			*out_len = (size_t)(close - open - 1);
			return;
		}
	}
	*out = key;
	*out_len = len;
}

static inline uint16_t wc_key_slot(const void *key, size_t len)
{
	const uint8_t *part;
	size_t part_len;

	wc_slot_hashed_part(key, len, &part, &part_len);
	return wc_crc16(part, part_len) & (WC_SLOTS - 1);
}

#endif
