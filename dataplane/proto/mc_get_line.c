/*
 * mc_get_line.c - the fast path's strict recognizer for a whole
 * "get"/"gets" line of one or more keys (see mc_get_line.h).
 */
#include "proto/mc_get_line.h"
#include "proto/mc_parse.h"

uint32_t mc_get_line_parse(const uint8_t *t, uint32_t len, struct mc_get_line *out)
{
	const uint8_t *p, *k, *end, *nl;
	uint32_t n = 0;

	if (len < 6 || memcmp(t, "get", 3) != 0)
		return 0;
	if (t[3] == ' ')
		out->cas = false;
	else if (t[3] == 's' && t[4] == ' ')
		out->cas = true;
	else
		return 0;
	k = t + 4 + out->cas;
	nl = memchr(k, '\n', len - (uint32_t)(k - t));
	if (!nl)
		return 0;
	end = (nl > k && nl[-1] == '\r') ? nl - 1 : nl;
	if (end <= k)
		return 0;
	out->keys = k;
	for (p = k;; p++) {
		if (p == end || *p == ' ') {
			/* a key ends: 1..MC_KEY_MAX bytes, then the end or one space and a key */
			if (p == k || p - k > MC_KEY_MAX)
				return 0;
			n++;
			if (p == end)
				break;
			k = p + 1;
			continue;
		}
		if (*p < 0x21)
			return 0;
		/* whole words of key bytes at once */
		while (end - p >= 9) {
			uint64_t w;

			memcpy(&w, p + 1, 8);
			if (mc_has_byte_below_21(w))
				break;
			p += 8;
		}
	}
	out->keys_end = end;
	out->nkeys = n;
	return (uint32_t)(nl + 1 - t);
}
