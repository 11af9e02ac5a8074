/*
 * test_rd_repl_enc.c - the master's replication stream: log entries
 * (written to a real ring with wc_rlog_put and read back) become the exact
 * RESP commands of the wire contract (SET [PXAT], WCREPL.SET only for a
 * capa-wc replica and nonzero flags, DEL, PEXPIREAT, PERSIST, HSET, HDEL,
 * SADD, SREM, FLUSHALL; RESYNC refused), the stream's own commands, and the
 * checkpoint ring that turns an acknowledged stream offset into
 * per-partition log offsets (coarser when full or too frequent, never
 * ahead of the truth).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "redis/repl_ckpt.h"
#include "redis/repl_enc.h"

struct ring {
	struct wc_rlog rl;
	uint8_t *mem;
	uint64_t from;
};

static void ring_open(struct ring *r)
{
	r->mem = malloc(WC_REPL_MIN_BYTES);
	assert_non_null(r->mem);
	wc_rlog_init(&r->rl, r->mem, WC_REPL_MIN_BYTES);
	r->from = 0;
}

static void put(struct ring *r, uint8_t op, const char *key, uint32_t flags, int64_t exp,
		const char *a, const char *b)
{
	struct wc_rpiece pa = { .p = a, .len = a ? strlen(a) : 0 };
	struct wc_rpiece pb = { .p = b, .len = b ? strlen(b) : 0 };

	wc_rlog_put(&r->rl, op, key, key ? (uint32_t)strlen(key) : 0, flags, exp, a ? &pa : NULL,
		    b ? &pb : NULL);
}

/* Read the next entry back and encode it: the RESP text (false when refused). */
static bool next_as_resp(struct ring *r, bool capa_wc, char *out, size_t cap)
{
	static uint8_t buf[WC_REPL_MIN_BYTES];
	struct wc_rent e;
	struct mc_out o;
	size_t got = 0, at = 0;
	uint64_t from = r->from;
	bool ok;

	/* one entry at a time: a read of all would advance past every one */
	assert_int_equal(wc_rlog_read(&r->rl, &from, buf, sizeof(buf), &got), WC_RREAD_OK);
	assert_true(wc_rent_next(buf, got, &at, &e));
	{
		/* the offset of the entry after e: its own length, rounded to 8 */
		size_t pos2 = at;
		struct wc_rent e2;

		r->from = wc_rent_next(buf, got, &pos2, &e2) ? e2.off : from;
	}
	mc_out_init_buf(&o, out, cap - 1);
	ok = rd_repl_enc_entry(&o, &e, capa_wc);
	out[o.p - (uint8_t *)out] = 0;
	assert_false(o.failed);
	return ok;
}

static void entries_become_the_contracts_commands(void **state)
{
	struct ring r;
	char s[512];

	(void)state;
	ring_open(&r);
	put(&r, WC_ROP_SET, "k", 0, -1, "v1", NULL);
	put(&r, WC_ROP_SET, "ttl", 0, 1700000000123, "xyz", NULL);
	put(&r, WC_ROP_SET, "mc", 42, -1, "hello", NULL);
	put(&r, WC_ROP_SET, "mc", 42, 1700000000123, "hello", NULL);
	put(&r, WC_ROP_DEL, "gone", 0, -1, NULL, NULL);
	put(&r, WC_ROP_PEXPIREAT, "k", 0, 1800000000000, NULL, NULL);
	put(&r, WC_ROP_PERSIST, "k", 0, -1, NULL, NULL);
	put(&r, WC_ROP_HSET, "h", 0, -1, "f", "val");
	put(&r, WC_ROP_HDEL, "h", 0, -1, "f", NULL);
	put(&r, WC_ROP_SADD, "s", 0, -1, "m1", NULL);
	put(&r, WC_ROP_SREM, "s", 0, -1, "m1", NULL);
	put(&r, WC_ROP_FLUSH, NULL, 0, -1, NULL, NULL);
	put(&r, WC_ROP_SET, "", 0, -1, "", NULL);	/* empty key and value are bytes too */

	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*5\r\n$3\r\nSET\r\n$3\r\nttl\r\n$3\r\nxyz\r\n$4\r\nPXAT\r\n"
			       "$13\r\n1700000000123\r\n");
	/* a real Redis replica never sees memcached flags; a wirecache one (capa wc) does */
	r.from = 0;
	assert_true(next_as_resp(&r, true, s, sizeof(s)));	/* flags 0: plain SET even to wc */
	assert_string_equal(s, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n");
	assert_true(next_as_resp(&r, true, s, sizeof(s)));
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$3\r\nSET\r\n$2\r\nmc\r\n$5\r\nhello\r\n");
	{
		uint64_t at = r.from;

		assert_true(next_as_resp(&r, false, s, sizeof(s)));
		assert_string_equal(s, "*5\r\n$3\r\nSET\r\n$2\r\nmc\r\n$5\r\nhello\r\n$4\r\nPXAT\r\n"
				       "$13\r\n1700000000123\r\n");
		r.from = at;
		assert_true(next_as_resp(&r, true, s, sizeof(s)));
		assert_string_equal(s, "*5\r\n$10\r\nWCREPL.SET\r\n$2\r\nmc\r\n$5\r\nhello\r\n"
				       "$2\r\n42\r\n$13\r\n1700000000123\r\n");
	}
	{
		/* and without an expiry: -1 */
		struct ring r2;

		ring_open(&r2);
		put(&r2, WC_ROP_SET, "mc", 7, -1, "x", NULL);
		assert_true(next_as_resp(&r2, true, s, sizeof(s)));
		assert_string_equal(s, "*5\r\n$10\r\nWCREPL.SET\r\n$2\r\nmc\r\n$1\r\nx\r\n$1\r\n7\r\n"
				       "$2\r\n-1\r\n");
		free(r2.mem);
	}
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$13\r\n1800000000000\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*2\r\n$7\r\nPERSIST\r\n$1\r\nk\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$3\r\nval\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$4\r\nHDEL\r\n$1\r\nh\r\n$1\r\nf\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$2\r\nm1\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$4\r\nSREM\r\n$1\r\ns\r\n$2\r\nm1\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*1\r\n$8\r\nFLUSHALL\r\n");
	assert_true(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");
	free(r.mem);
}

static void a_resync_marker_is_refused(void **state)
{
	struct ring r;
	char s[256];
	static char big[WC_REPL_MIN_BYTES];

	(void)state;
	ring_open(&r);
	/* a value over half the ring becomes a RESYNC marker: the replica must full-sync */
	memset(big, 'x', sizeof(big) - 1);
	put(&r, WC_ROP_SET, "huge", 0, -1, big, NULL);
	assert_false(next_as_resp(&r, false, s, sizeof(s)));
	assert_string_equal(s, "");
	free(r.mem);
}

static void the_streams_own_commands(void **state)
{
	char buf[256];
	struct mc_out o;

	(void)state;
	mc_out_init_buf(&o, buf, sizeof(buf));
	rd_repl_enc_select0(&o);
	rd_repl_enc_ping(&o);
	rd_repl_enc_getack(&o);
	rd_repl_enc_mark(&o, 3, 123456);
	*o.p = 0;
	assert_string_equal(buf, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
				 "*1\r\n$4\r\nPING\r\n"
				 "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
				 "*3\r\n$11\r\nWCREPL.MARK\r\n$1\r\n3\r\n$6\r\n123456\r\n");
}

#define NP 3

static void checkpoints_map_acks_to_log_offsets(void **state)
{
	uint64_t stream[4], offs[4 * NP], acked[NP] = { 0 };
	struct rd_ckpt_ring r;

	(void)state;
	rd_ckpt_init(&r, 4, NP, stream, offs);
	/* the sync's start: stream offset 1000 = the snapshot's log offsets */
	rd_ckpt_push(&r, 1000, (uint64_t[NP]){ 10, 20, 30 }, 0, 0);
	rd_ckpt_push(&r, 1100, (uint64_t[NP]){ 50, 20, 30 }, 100, 10);
	rd_ckpt_push(&r, 1250, (uint64_t[NP]){ 50, 90, 30 }, 200, 10);
	/* nothing acknowledged yet */
	assert_false(rd_ckpt_ack(&r, 999, acked));
	assert_int_equal(acked[0], 0);
	/* the RDB is loaded: the start offsets */
	assert_true(rd_ckpt_ack(&r, 1000, acked));
	assert_int_equal(acked[0], 10);
	assert_int_equal(acked[1], 20);
	assert_int_equal(acked[2], 30);
	/* between two checkpoints: the older one only (the replica may be mid-batch) */
	assert_true(rd_ckpt_ack(&r, 1249, acked));
	assert_int_equal(acked[0], 50);
	assert_int_equal(acked[1], 20);
	assert_false(rd_ckpt_ack(&r, 1249, acked));	/* (used checkpoints are gone) */
	assert_true(rd_ckpt_ack(&r, 5000, acked));
	assert_int_equal(acked[1], 90);
	assert_int_equal(r.n, 0);
	/* an older ack changes nothing: offsets never go back */
	assert_false(rd_ckpt_ack(&r, 1000, acked));
	assert_int_equal(acked[0], 50);
}

static void checkpoints_coalesce_later_never_earlier(void **state)
{
	uint64_t stream[2], offs[2 * NP], acked[NP] = { 0 };
	struct rd_ckpt_ring r;

	(void)state;
	rd_ckpt_init(&r, 2, NP, stream, offs);
	rd_ckpt_push(&r, 100, (uint64_t[NP]){ 1, 1, 1 }, 0, 10);
	/* too soon after the last: it moves the newest forward */
	rd_ckpt_push(&r, 200, (uint64_t[NP]){ 2, 1, 1 }, 5, 10);
	assert_int_equal(r.n, 1);
	/* the ack of 100 no longer proves anything: the checkpoint says 200 now */
	assert_false(rd_ckpt_ack(&r, 150, acked));
	assert_int_equal(acked[0], 0);
	rd_ckpt_push(&r, 300, (uint64_t[NP]){ 3, 1, 1 }, 50, 10);
	assert_int_equal(r.n, 2);
	/* full: the newest moves forward (the ring keeps its oldest) */
	rd_ckpt_push(&r, 400, (uint64_t[NP]){ 4, 4, 4 }, 100, 10);
	assert_int_equal(r.n, 2);
	assert_true(rd_ckpt_ack(&r, 399, acked));
	assert_int_equal(acked[0], 2);
	assert_int_equal(acked[1], 1);
	assert_true(rd_ckpt_ack(&r, 400, acked));
	assert_int_equal(acked[0], 4);
	assert_int_equal(acked[2], 4);
	/* reset: a new sync starts empty; the ring wraps around its slots */
	rd_ckpt_reset(&r);
	for (uint64_t i = 1; i <= 7; i++) {
		uint64_t o[NP] = { 10 * i, 10 * i, 10 * i };

		rd_ckpt_push(&r, 1000 * i, o, (int64_t)(100 * i), 10);
		assert_true(rd_ckpt_ack(&r, 1000 * i, acked));
		assert_int_equal(acked[1], 10 * i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entries_become_the_contracts_commands),
		cmocka_unit_test(a_resync_marker_is_refused),
		cmocka_unit_test(the_streams_own_commands),
		cmocka_unit_test(checkpoints_map_acks_to_log_offsets),
		cmocka_unit_test(checkpoints_coalesce_later_never_earlier),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
