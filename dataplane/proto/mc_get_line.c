/*
 * mc_get_line.c - the fast path's strict recognizer for a whole
 * "get"/"gets" line of one or more keys (see mc_get_line.h).
 */
#include "proto/mc_get_line.h"
#include "proto/mc_parse.h"

uint32_t mc_get_line_parse(const uint8_t *t, uint32_t len, struct mc_get_line *out)
{
	const uint8_t *k, *end, *nl;
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
	for (;;) {
		const uint8_t *d = mc_find_below_21(k, end);

		/* a key ends: 1..MC_KEY_MAX bytes, then the end or one space and a key */
		if (d == k || d - k > MC_KEY_MAX)
			return 0;
		n++;
		if (d == end)
			break;
		if (*d != ' ')
			return 0;
		k = d + 1;
	}
	out->keys_end = end;
	out->nkeys = n;
	return (uint32_t)(nl + 1 - t);
}
