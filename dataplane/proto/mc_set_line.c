/*
 * mc_set_line.c - the TCP fast path's whole-"set" recognizer (see
 * mc_set_line.h). Strict: it takes only the plain spelling of a set, and
 * uses mc_parse.c's own number parsers, so that anything it accepts
 * mc_parse_line would parse to the same request; the rest is left to the
 * general session.
 */
#include <string.h>

#include "proto/mc_parse.h"
#include "proto/mc_set_line.h"

/*
 * A decimal at *p ended by sep, as mc_parse_u64 reads it: its value, with
 * *p past sep (unmoved when false). Up to ten digits are read here (no
 * overflow); a longer word goes to mc_parse_u64 itself.
 */
static inline __attribute__((always_inline)) bool digits(const uint8_t **p, const uint8_t *end,
							 uint8_t sep, uint64_t *v)
{
	const uint8_t *q = *p, *stop = end - q > 10 ? q + 10 : end;
	uint64_t x = 0;
	unsigned d;

	/* the usual numbers first: one or two digits */
	if (end - q >= 3) {
		unsigned d0 = (unsigned)q[0] - '0', d1 = (unsigned)q[1] - '0';

		if (d0 <= 9 && q[1] == sep) {
			*v = d0;
			*p = q + 2;
			return true;
		}
		if (d0 <= 9 && d1 <= 9 && q[2] == sep) {
			*v = d0 * 10 + d1;
			*p = q + 3;
			return true;
		}
	}
	while (q < stop && (d = (unsigned)*q - '0') <= 9) {
		x = x * 10 + d;
		q++;
	}
	if (q == *p || q == end)
		return false;
	if (*q != sep) {
		/* ten digits or more: the whole word, to the general parser */
		struct mc_tok t = { *p, 0 };

		if ((unsigned)*q - '0' > 9)
			return false;
		while (q < end && *q > 0x20)
			q++;
		if (q == end || *q != sep)
			return false;
		t.len = (uint32_t)(q - t.p);
		if (!mc_parse_u64(&t, &x))
			return false;
	}
	*v = x;
	*p = q + 1;
	return true;
}

uint32_t mc_set_line_parse(const uint8_t *t, uint32_t len, struct mc_set_line *out)
{
	const uint8_t *p = t + 4, *end = t + len, *key;
	uint64_t flags, exptime, vlen, used;
	bool neg;

	if (len < 15 || memcmp(t, "set ", 4) != 0)
		return 0;
	/* the key: bytes of 0x21 and up, a word at a time while 8 remain */
	key = p;
	for (; end - p >= 8; p += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		if (mc_has_byte_below_21(w))
			break;
	}
	while (p < end && *p > 0x20)
		p++;
	if (p == key || p == end || *p != ' ' || p - key > MC_KEY_MAX)
		return 0;
	out->key = key;
	out->klen = (uint32_t)(p - key);
	p++;
	if (!digits(&p, end, ' ', &flags) || flags > UINT32_MAX)
		return 0;
	neg = p < end && *p == '-';
	p += neg;
	if (!digits(&p, end, ' ', &exptime) || exptime > (uint64_t)INT64_MAX)
		return 0;
	/* <bytes>, then "\r\n" or " noreply\r\n" */
	if (digits(&p, end, '\r', &vlen)) {
		out->noreply = false;
	} else if (digits(&p, end, ' ', &vlen) && end - p >= 8 &&
		   memcmp(p, "noreply\r", 8) == 0) {
		out->noreply = true;
		p += 8;
	} else {
		return 0;
	}
	if (p == end || *p != '\n' || vlen > INT32_MAX - 2)
		return 0;
	p++;
	/* the block and its CRLF, all in t */
	used = (uint64_t)(p - t) + vlen + 2;
	if (used > len || t[used - 2] != '\r' || t[used - 1] != '\n')
		return 0;
	out->flags = (uint32_t)flags;
	out->exptime = neg ? -(int64_t)exptime : (int64_t)exptime;
	out->val = p;
	out->vlen = (uint32_t)vlen;
	return (uint32_t)used;
}
