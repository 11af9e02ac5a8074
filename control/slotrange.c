/*
 * slotrange.c - parsing slot ranges, folding slot tables (see slotrange.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slotrange.h"
#include "wirecache/cpshm.h"

int cp_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int cp_parse_slot_range(const char *s, unsigned *from, unsigned *to, char *err, size_t errlen)
{
	char a[16], *dash;
	unsigned long f, t;

	if (!s || !*s || strlen(s) >= sizeof(a)) {
		snprintf(err, errlen, "invalid slot range '%.40s': want FROM-TO, e.g. 0-8191",
			 s ? s : "");
		return -1;
	}
	strcpy(a, s);
	dash = strchr(a, '-');
	if (dash)
		*dash = 0;
	if (cp_parse_uint(a, ~0ul, &f) != 0 || (dash && cp_parse_uint(dash + 1, ~0ul, &t) != 0)) {
		snprintf(err, errlen, "invalid slot range '%s': want FROM-TO with whole numbers, "
			 "e.g. 0-8191", s);
		return -1;
	}
	if (!dash)
		t = f;
	if (f >= WC_SLOTS || t >= WC_SLOTS) {
		snprintf(err, errlen, "invalid slot range '%s': slots are 0-%u", s, WC_SLOTS - 1);
		return -1;
	}
	if (f > t) {
		snprintf(err, errlen, "invalid slot range '%s': FROM is after TO", s);
		return -1;
	}
	*from = (unsigned)f;
	*to = (unsigned)t;
	return 0;
}

unsigned cp_slot_runs(const uint16_t *part, const uint16_t *node, struct cp_slot_run *out,
		      unsigned max)
{
	struct cp_slot_run cur = { 0 };
	unsigned n = 0;

	for (unsigned s = 0; s < WC_SLOTS; s++) {
		unsigned p = part[s] & WC_SLOT_PART_MASK, nd = node ? node[s] : 0;
		int mv = (part[s] & WC_SLOT_MOVING) != 0;

		if (n && cur.to + 1 == s && cur.part == p && cur.node == nd && cur.moving == mv) {
			cur.to = s;
		} else {
			cur = (struct cp_slot_run){ s, s, p, nd, mv };
			n++;
		}
		if (n <= max)
			out[n - 1] = cur;
	}
	return n;
}
