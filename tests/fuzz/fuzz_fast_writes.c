/*
 * fuzz_fast_writes.c - libFuzzer harness for the TCP fast paths'
 * cache-aside write and counter recognizers, which read untrusted bytes:
 * memcached's delete line (proto/mc_delete_line.h) and incr/decr line
 * (proto/mc_arith_line.h), and RESP's SET EX/PX, SETEX,
 * PSETEX, DEL and the counters INCR, DECR, INCRBY, DECRBY (proto/resp.h
 * resp_write_at). The input, in a buffer of
 * its exact size, must never be read out of bounds; a delete or incr/decr
 * it accepts must be the one mc_parse_line parses from the same line
 * (key, delta, noreply), and a RESP
 * write the command the input spells, argument for argument (written out
 * again from what was recognized: names and options in any case, key,
 * value and number byte for byte: a counter's delta written back as the
 * one number it is, so its digits are the canonical ones the session's
 * rd_parse_ll reads to the same value).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_copy.h"
#include "proto/mc_arith_line.h"
#include "proto/mc_delete_line.h"
#include "proto/mc_parse.h"
#include "proto/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_delete(const uint8_t *buf, size_t size)
{
	static struct mc_req req;
	struct mc_delete_line dl;
	uint32_t used = mc_delete_line_parse(buf, (uint32_t)size, &dl);
	const uint8_t *nl;

	if (!used)
		return;
	nl = memchr(buf, '\n', size);
	if (used > size || !nl || (size_t)(nl + 1 - buf) != used || nl[-1] != '\r')
		abort();
	if (!mc_parse_line(buf, (uint32_t)(nl - buf), &req) || req.cmd != MC_DELETE ||
	    req.key.p != dl.key || req.key.len != dl.klen || req.noreply != dl.noreply ||
	    dl.klen == 0 || dl.klen > MC_KEY_MAX)
		abort();
	for (uint32_t i = 0; i < dl.klen; i++)
		if (dl.key[i] < 0x21)
			abort();
}

static void check_arith(const uint8_t *buf, size_t size)
{
	static struct mc_req req;
	struct mc_arith_line al;
	uint32_t used = mc_arith_line_parse(buf, (uint32_t)size, &al);
	const uint8_t *nl;

	if (!used)
		return;
	nl = memchr(buf, '\n', size);
	if (used > size || !nl || (size_t)(nl + 1 - buf) != used || nl[-1] != '\r')
		abort();
	if (!mc_parse_line(buf, (uint32_t)(nl - buf), &req) ||
	    req.cmd != (al.decr ? MC_DECR : MC_INCR) || req.key.p != al.key ||
	    req.key.len != al.klen || req.noreply != al.noreply || req.delta != al.delta ||
	    al.klen == 0 || al.klen > MC_KEY_MAX)
		abort();
	for (uint32_t i = 0; i < al.klen; i++)
		if (al.key[i] < 0x21)
			abort();
}

/* One argument "$<n>\r\n<bytes>\r\n" at *p: the same bytes (icase: any case). */
static void same_arg(const uint8_t **p, const uint8_t *end, const void *arg, size_t n, bool icase)
{
	char head[24];
	int h = snprintf(head, sizeof(head), "$%zu\r\n", n);

	if (end - *p < (ptrdiff_t)(h + n + 2) || memcmp(*p, head, (size_t)h) != 0 ||
	    (icase ? strncasecmp((const char *)*p + h, arg, n) : memcmp(*p + h, arg, n)) != 0 ||
	    (*p)[h + n] != '\r' || (*p)[h + n + 1] != '\n')
		abort();
	*p += h + n + 2;
}

static void check_resp(const uint8_t *buf, size_t size)
{
	struct resp_write w;
	uint32_t used = resp_write_at(buf, (uint32_t)size, &w);
	const uint8_t *p = buf + 4, *end = buf + size;
	char num[24];
	int nlen;

	if (!used)
		return;
	if (used > size || w.klen == 0 || w.klen > 250 || w.key < buf || w.key + w.klen > end)
		abort();
	if (w.cmd >= RESP_W_INCR) {
		if (w.ttl_ms != 0 || w.val != NULL || w.vlen != 0)
			abort();
	} else if (w.cmd != RESP_W_DEL &&
		   (w.ttl_ms <= 0 || w.val < buf || w.val + w.vlen > end || w.delta != 0)) {
		abort();
	}
	switch (w.cmd) {
	case RESP_W_INCR:
	case RESP_W_DECR:
		if (memcmp(buf, "*2\r\n", 4) != 0 || w.delta != (w.cmd == RESP_W_INCR ? 1 : -1))
			abort();
		same_arg(&p, end, w.cmd == RESP_W_INCR ? "incr" : "decr", 4, true);
		same_arg(&p, end, w.key, w.klen, false);
		break;
	case RESP_W_INCRBY:
	case RESP_W_DECRBY:
		/* (a delta of 1..18 digits: within int64 either way, negated or not) */
		if (memcmp(buf, "*3\r\n", 4) != 0 || w.delta > 999999999999999999ll ||
		    w.delta < -999999999999999999ll)
			abort();
		same_arg(&p, end, w.cmd == RESP_W_INCRBY ? "incrby" : "decrby", 6, true);
		same_arg(&p, end, w.key, w.klen, false);
		nlen = snprintf(num, sizeof(num), "%lld",
				(long long)(w.cmd == RESP_W_INCRBY ? w.delta : -w.delta));
		same_arg(&p, end, num, (size_t)nlen, false);
		break;
	case RESP_W_DEL:
		if (memcmp(buf, "*2\r\n", 4) != 0 || w.delta != 0)
			abort();
		same_arg(&p, end, "del", 3, true);
		same_arg(&p, end, w.key, w.klen, false);
		break;
	case RESP_W_SETEX:
	case RESP_W_PSETEX:
		if (w.cmd == RESP_W_SETEX && w.ttl_ms % 1000)
			abort();
		nlen = snprintf(num, sizeof(num), "%lld", (long long)(w.cmd == RESP_W_SETEX ?
								       w.ttl_ms / 1000 : w.ttl_ms));
		if (memcmp(buf, "*4\r\n", 4) != 0)
			abort();
		same_arg(&p, end, w.cmd == RESP_W_SETEX ? "setex" : "psetex",
			 w.cmd == RESP_W_SETEX ? 5 : 6, true);
		same_arg(&p, end, w.key, w.klen, false);
		same_arg(&p, end, num, (size_t)nlen, false);
		same_arg(&p, end, w.val, w.vlen, false);
		break;
	case RESP_W_SET: {
		/* EX or PX: which one the input says decides how the number reads */
		const uint8_t *q;
		bool px;

		if (memcmp(buf, "*5\r\n", 4) != 0)
			abort();
		same_arg(&p, end, "set", 3, true);
		same_arg(&p, end, w.key, w.klen, false);
		same_arg(&p, end, w.val, w.vlen, false);
		q = p;
		px = end - q > 5 && (q[4] | 0x20) == 'p';
		if (!px && w.ttl_ms % 1000)
			abort();
		same_arg(&p, end, px ? "px" : "ex", 2, true);
		nlen = snprintf(num, sizeof(num), "%lld", (long long)(px ? w.ttl_ms : w.ttl_ms / 1000));
		same_arg(&p, end, num, (size_t)nlen, false);
		break;
	}
	default:
		abort();
	}
	if ((size_t)(p - buf) != used)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;

	if (!(buf = fuzz_copy(data, size)))
		return 0;
	check_delete(buf, size);
	check_arith(buf, size);
	check_resp(buf, size);
	free(buf);
	return 0;
}
