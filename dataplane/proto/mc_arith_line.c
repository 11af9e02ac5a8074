/*
 * mc_arith_line.c - the TCP fast path's "incr"/"decr" line recognizer (see
 * mc_arith_line.h). Strict: it takes only the plain spelling, with the key
 * rules mc_delete_line.c applies; the rest is left to the general session.
 */
#include <string.h>

#include "proto/mc_arith_line.h"
#include "proto/mc_parse.h"

uint32_t mc_arith_line_parse(const uint8_t *t, uint32_t len, struct mc_arith_line *out)
{
	const uint8_t *p = t + 5, *end = t + len, *key, *num;
	uint64_t v = 0;

	/* "incr k 1\r\n" is 10 bytes */
	if (len < 10 || (memcmp(t, "incr ", 5) != 0 && memcmp(t, "decr ", 5) != 0))
		return 0;
	key = p;
	while (p < end && *p > 0x20)
		p++;
	if (p == key || p - key > MC_KEY_MAX || end - p < 4 || *p != ' ')
		return 0;
	num = ++p;
	while (p < end && p - num < 20 && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (p == num || p - num > 19 || end - p < 2)
		return 0;
	out->key = key;
	out->klen = (uint32_t)(num - 1 - key);
	out->delta = v;
	out->decr = t[0] == 'd';
	return mc_line_end(t, p, end, &out->noreply);
}
