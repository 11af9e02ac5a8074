/*
 * mc_arith_line.h - the TCP fast path's recognizer for one memcached
 * "incr" or "decr" line (net/mc_tcp.c), within a buffer of untrusted bytes.
 */
#ifndef WC_PROTO_MC_ARITH_LINE_H
#define WC_PROTO_MC_ARITH_LINE_H

#include <stdbool.h>
#include <stdint.h>

/* One incr or decr as mc_parse_line would parse it. */
struct mc_arith_line {
	const uint8_t *key;	/* inside the buffer */
	uint32_t klen;
	uint64_t delta;
	bool decr, noreply;
};

/*
 * t[0..len) begins with exactly "incr <key> <delta>\r\n" or
 * "incr <key> <delta> noreply\r\n" ("decr" alike; single spaces, a key of
 * 1..MC_KEY_MAX bytes of 0x21 and up, a delta of 1..19 decimal digits).
 * Returns the line's length with *out filled, or 0: anything else,
 * including what mc_parse_line would read otherwise or refuse (a 20-digit
 * delta, a third word other than noreply, other spacing, a bare "\n", a
 * key too long, another word).
 */
uint32_t mc_arith_line_parse(const uint8_t *t, uint32_t len, struct mc_arith_line *out);

#endif
