/*
 * mc_delete_line.c - the TCP fast path's "delete" line recognizer (see
 * mc_delete_line.h). Strict: it takes only the plain spelling, with the
 * key rules mc_set_line.c applies; the rest is left to the general session.
 */
#include <string.h>

#include "proto/mc_delete_line.h"
#include "proto/mc_parse.h"

uint32_t mc_delete_line_parse(const uint8_t *t, uint32_t len, struct mc_delete_line *out)
{
	const uint8_t *p = t + 7, *end = t + len, *key;

	if (len < 10 || memcmp(t, "delete ", 7) != 0)
		return 0;
	key = p;
	while (p < end && *p > 0x20)
		p++;
	if (p == key || p - key > MC_KEY_MAX || end - p < 2)
		return 0;
	out->key = key;
	out->klen = (uint32_t)(p - key);
	return mc_line_end(t, p, end, &out->noreply);
}
