/*
 * fuzz_mc_set_line.c - libFuzzer harness for the memcached TCP fast path's
 * set recognizer (proto/mc_set_line.h), which reads untrusted bytes: the
 * input, in a buffer of its exact size, must never be read out of bounds,
 * and whatever set it accepts must be the one mc_parse_line parses from the
 * same line (command, key, flags, exptime, length, noreply), its block
 * inside the input and ended by CRLF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_copy.h"
#include "proto/mc_parse.h"
#include "proto/mc_set_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mc_req req;
	struct mc_set_line sl;
	uint8_t *buf;
	const uint8_t *nl;
	uint32_t used;

	if (!(buf = fuzz_copy(data, size)))
		return 0;
	used = mc_set_line_parse(buf, (uint32_t)size, &sl);
	if (used) {
		nl = memchr(buf, '\n', size);
		if (used > size || !nl || nl[-1] != '\r')
			abort();
		/* the general parser, on the same line, must read the same set */
		if (!mc_parse_line(buf, (uint32_t)(nl - buf), &req) || req.cmd != MC_SET ||
		    !req.has_data || req.key.p != sl.key || req.key.len != sl.klen ||
		    req.flags != sl.flags || req.exptime != sl.exptime || req.vlen != sl.vlen ||
		    req.noreply != sl.noreply)
			abort();
		if (sl.val != nl + 1 || (size_t)(nl + 1 - buf) + sl.vlen + 2 != used ||
		    buf[used - 2] != '\r' || buf[used - 1] != '\n')
			abort();
		for (uint32_t i = 0; i < sl.klen; i++)
			if (sl.key[i] < 0x21)
				abort();
	}
	free(buf);
	return 0;
}
