/*
 * glob.h - Redis's glob-style patterns (KEYS, SCAN MATCH, PSUBSCRIBE, ACL key
 * patterns): '*' any run, '?' one byte, '[abc]', '[^a]', '[a-z]', and '\'
 * to take the next byte literally.
 */
#ifndef WC_REDIS_GLOB_H
#define WC_REDIS_GLOB_H

#include <stdbool.h>
#include <stdint.h>

bool rd_glob_match(const uint8_t *pat, uint32_t plen, const uint8_t *s, uint32_t slen,
		   bool nocase);

#endif
