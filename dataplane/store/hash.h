/*
 * hash.h - wc_hash (store.h: XXH3, 64 bits) inline, for a loop that hashes
 * a whole burst of keys (net/mc_udp_burst.c): the same function, no call.
 */
#ifndef WC_STORE_HASH_H
#define WC_STORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t wc_hash_inline(const void *key, size_t klen)
{
	return XXH3_64bits(key, klen);
}

#endif
