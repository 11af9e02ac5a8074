/*
 * mc_get_line.h - the TCP fast path's recognizer for one whole memcached
 * "get" or "gets" line of one or more keys (net/mc_tcp.c), within one
 * buffer of untrusted bytes, and the walk over its keys.
 */
#ifndef WC_PROTO_MC_GET_LINE_H
#define WC_PROTO_MC_GET_LINE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A get line as mc_parse_line would parse it. */
struct mc_get_line {
	const uint8_t *keys;	/* the first key, inside the buffer */
	const uint8_t *keys_end;	/* the last key's end (before "\r\n" or "\n") */
	uint32_t nkeys;
	bool cas;		/* gets */
};

/*
 * t[0..len) begins with exactly "get " or "gets " and then keys of 1 to
 * MC_KEY_MAX bytes, none below 0x21, one space between two, and "\r\n" or
 * "\n" after the last, all inside t. Returns the line's length (its
 * newline included) with *out filled, or 0: anything else, including
 * what mc_parse_line parses otherwise or refuses (a key over MC_KEY_MAX,
 * double or trailing spaces, a control byte, no newline in t). Never
 * reads outside t[0..len).
 */
uint32_t mc_get_line_parse(const uint8_t *t, uint32_t len, struct mc_get_line *out);

/*
 * The first byte below 0x21 (a space, CR, LF, a control byte) in
 * [p, end), or end: a word at a time (its lowest such byte is exact).
 */
static inline const uint8_t *mc_find_below_21(const uint8_t *p, const uint8_t *end)
{
	while (end - p >= 8) {
		uint64_t w, m;

		memcpy(&w, p, 8);
		m = (w - 0x2121212121212121ull) & ~w & 0x8080808080808080ull;
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
	while (p < end && *p >= 0x21)
		p++;
	return p;
}

/*
 * The key at *pos of a line mc_get_line_parse took (pos < gl->keys_end):
 * its length, *pos moved past it and its space.
 */
static inline uint32_t mc_get_line_next(const struct mc_get_line *gl, const uint8_t **pos)
{
	const uint8_t *k = *pos, *d = mc_find_below_21(k, gl->keys_end);

	*pos = d == gl->keys_end ? d : d + 1;
	return (uint32_t)(d - k);
}

#endif
