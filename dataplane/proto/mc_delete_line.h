/*
 * mc_delete_line.h - the TCP fast path's recognizer for one memcached
 * "delete" line (net/mc_tcp.c), within a buffer of untrusted bytes.
 */
#ifndef WC_PROTO_MC_DELETE_LINE_H
#define WC_PROTO_MC_DELETE_LINE_H

#include <stdbool.h>
#include <stdint.h>

/* One delete as mc_parse_line would parse it. */
struct mc_delete_line {
	const uint8_t *key;	/* inside the buffer */
	uint32_t klen;
	bool noreply;
};

/*
 * t[0..len) begins with exactly "delete <key>\r\n" or
 * "delete <key> noreply\r\n" (single spaces, a key of 1..MC_KEY_MAX bytes
 * of 0x21 and up). Returns the line's length with *out filled, or 0:
 * anything else, including what mc_parse_line would read otherwise or
 * refuse ("delete <key> 0", other spacing, a bare "\n", a key too long,
 * another word).
 */
uint32_t mc_delete_line_parse(const uint8_t *t, uint32_t len, struct mc_delete_line *out);

#endif
