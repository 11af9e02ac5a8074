/*
 * mc_set_line.h - the TCP fast path's recognizer for one whole memcached
 * "set" (net/mc_tcp.c): its command line, data block and the block's CRLF,
 * all within one buffer of untrusted bytes.
 */
#ifndef WC_PROTO_MC_SET_LINE_H
#define WC_PROTO_MC_SET_LINE_H

#include <stdbool.h>
#include <stdint.h>

/* One set as mc_parse_line would parse it, with its data block. */
struct mc_set_line {
	const uint8_t *key;	/* inside the buffer */
	uint32_t klen;
	uint32_t flags;
	int64_t exptime;	/* as the client sent it (the store converts it) */
	const uint8_t *val;	/* the data block, inside the buffer */
	uint32_t vlen;
	bool noreply;
};

/*
 * t[0..len) begins with exactly "set <key> <flags> <exptime> <bytes>" and
 * optionally " noreply", single spaces, "\r\n", then <bytes> bytes and
 * "\r\n", all inside t. Returns the bytes the set takes (line, block and
 * CRLF) with *out filled, or 0: anything else, including whatever
 * mc_parse_line would refuse or read otherwise (a key over MC_KEY_MAX or
 * with a byte below 0x21, a number it would not take, other spacing, a
 * bare "\n", a fifth word other than noreply), a block not all in t, or one
 * not ending in "\r\n". Numbers follow mc_parse_u32 / mc_parse_i64 /
 * mc_parse_u64 (a length of at most INT32_MAX - 2), as mc_parse_line does.
 */
uint32_t mc_set_line_parse(const uint8_t *t, uint32_t len, struct mc_set_line *out);

#endif
