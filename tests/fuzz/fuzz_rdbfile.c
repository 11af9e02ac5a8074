/*
 * fuzz_rdbfile.c - libFuzzer harness for the RDB file reader
 * (redis/rdb_read.h), the parser every snapshot load runs on untrusted
 * files.
 *
 * Input: first byte = mode, then the file. Mode bit 0 set: the bytes are a
 * file without its 8-byte CRC, and the harness appends a zero one ("not
 * computed"), so the parser proper runs on anything; clear: the bytes are
 * the whole file, CRC check included. Bit 1: strings over 100 bytes are
 * refused (the store's max_value). Bit 2: the file is read through a read
 * callback instead of contiguous bytes. Every entry the reader hands out is
 * decoded again, as the loader's owners do, with every member's bytes read;
 * the reader's counts and offsets must stay inside the file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/rdb_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rdbr rd;
static struct rdbv_dec dec;
static uint8_t buf[1 << 20], tmp[1 << 16];

static void src_read(const void *arg, uint64_t off, void *dst, uint64_t n)
{
	memcpy(dst, (const uint8_t *)arg + off, n);
}

static void touch(const struct rdbv_bytes *b)
{
	uint64_t n = b->len < sizeof(tmp) ? b->len : sizeof(tmp);

	if (!b->p)
		b->read(b->src, 0, tmp, n);
	else if (n)
		memcpy(tmp, b->p, n);
}

static int member(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	(*(uint64_t *)arg)++;
	touch(name);
	if (val)
		touch(val);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdbv_src in;
	struct rdbr_entry e;
	uint8_t mode;
	size_t n;
	int r;

	if (size < 1 || size - 1 + 8 > sizeof(buf))
		return 0;
	mode = data[0];
	n = size - 1;
	memcpy(buf, data + 1, n);
	if (mode & 1) {
		memset(buf + n, 0, 8);
		n += 8;
	}
	in = (struct rdbv_src){ .len = n };
	if (mode & 4) {
		in.read = src_read;
		in.arg = buf;
	} else {
		in.p = buf;
	}
	if (rdbr_open(&rd, &in, mode & 2 ? 100 : 0) != 0)
		return 0;
	while ((r = rdbr_next(&rd, &e)) == RDBR_KEY || r == RDBR_SKIPPED) {
		struct rdbv_info info;
		uint64_t next, count = 0;

		if (rd.pos > n)
			abort();
		if (r != RDBR_KEY)
			continue;
		if (e.off > e.end || e.end > n || e.klen == 0 || e.klen > RDBR_KEY_MAX)
			abort();
		if (rdbv_decode_obj(&dec, &in, e.type, e.off, e.end, member, &count, &info,
				    &next) != RDBV_OK || next != e.end || count != e.count ||
		    info.kind != e.kind)
			abort();	/* the reader validated it: it must decode the same */
	}
	if (r != RDBR_END && r != RDBR_ERR)
		abort();
	return 0;
}
