/*
 * fuzz_mc_get_line.c - libFuzzer harness for the memcached TCP fast path's
 * recognizer of get lines of several keys (proto/mc_get_line.h), which
 * reads untrusted bytes: the input, in a buffer of its exact size, must
 * never be read out of bounds, and whatever line it accepts must be the
 * get or gets mc_parse_line parses from the same line, with the same keys
 * in the same order (mc_get_line_next against mc_next_token), each of 1
 * to MC_KEY_MAX bytes of no byte below 0x21.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_copy.h"
#include "proto/mc_get_line.h"
#include "proto/mc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mc_req req;
	struct mc_get_line gl;
	uint8_t *buf;
	const uint8_t *nl, *pos, *tpos, *tend;
	uint32_t used, n = 0;
	struct mc_tok t;

	if (!(buf = fuzz_copy(data, size)))
		return 0;
	used = mc_get_line_parse(buf, (uint32_t)size, &gl);
	if (used) {
		nl = memchr(buf, '\n', size);
		if (!nl || used != (uint32_t)(nl + 1 - buf) || gl.keys_end > nl ||
		    gl.keys < buf || gl.keys >= gl.keys_end || gl.nkeys == 0)
			abort();
		/* the general parser, on the same line, must read the same get */
		if (!mc_parse_line(buf, (uint32_t)(nl - buf), &req) ||
		    req.cmd != (gl.cas ? MC_GETS : MC_GET) || req.keys.p != gl.keys)
			abort();
		tpos = req.keys.p;
		tend = req.keys.p + req.keys.len;
		for (pos = gl.keys; pos < gl.keys_end; n++) {
			const uint8_t *k = pos;
			uint32_t klen = mc_get_line_next(&gl, &pos);

			if (!mc_next_token(&tpos, tend, &t) || t.p != k || t.len != klen ||
			    klen == 0 || klen > MC_KEY_MAX)
				abort();
			for (uint32_t i = 0; i < klen; i++)
				if (k[i] < 0x21)
					abort();
		}
		if (n != gl.nkeys || mc_next_token(&tpos, tend, &t))
			abort();
	}
	free(buf);
	return 0;
}
