/*
 * test_lg_reply.c - the load generator's pieces that decide whether a run
 * is right: keys and values (unique, stable per key, sizes within their
 * distributions), request encodings, and the reply parsers for memcached
 * and RESP fed in every split, with value checks that catch a wrong byte;
 * --slots key selection (every key in the set, none twice, bad sets refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../tools/loadgen/lg.h"
#include "wirecache/slot.h"

static struct lg_cfg cfg(enum lg_proto proto, const char *ks, const char *vs)
{
	struct lg_cfg c = { .proto = proto, .keys = 1000 };

	assert_int_equal(lg_dist_parse(&c.key_size, ks, true), 0);
	assert_int_equal(lg_dist_parse(&c.value_size, vs, false), 0);
	lg_values_init(lg_value_max(&c));
	return c;
}

static void keys_and_values(void **state)
{
	struct lg_cfg c = cfg(LG_MEMCACHED, "16", "etc");
	char a[LG_KEY_MAX + 1], b[LG_KEY_MAX + 1];
	struct lg_dist d;
	struct wc_rng r = { 5 };
	double sum = 0;

	(void)state;
	assert_int_equal(lg_key(&c, 7, a), 16);
	assert_string_equal(a, "k7xxxxxxxxxxxxxx");
	assert_int_equal(lg_key(&c, 70, b), 16);
	assert_string_not_equal(a, b);
	assert_int_equal(lg_key(&c, 1234567890123456789ull, a), 20);	/* never truncated */
	/* a key's value length is the same every time, and inside the clamp */
	for (uint64_t id = 0; id < 1000; id++) {
		uint32_t n = lg_value_len(&c, id);

		assert_int_equal(n, lg_value_len(&c, id));
		assert_true(n >= 1 && n <= c.value_size.max);
		sum += n;
	}
	/* ETC values: mostly small, a few hundred bytes on average */
	assert_true(sum / 1000 > 100 && sum / 1000 < 2000);
	assert_true(lg_value_check(3, 10, lg_value(3) + 10, 100));
	assert_false(lg_value_check(3, 0, lg_value(4), 100));
	/* distributions */
	assert_int_equal(lg_dist_parse(&d, "16-64", true), 0);
	for (int i = 0; i < 1000; i++) {
		uint32_t n = lg_dist_draw(&d, &r);

		assert_true(n >= 16 && n <= 64);
	}
	assert_int_equal(lg_dist_parse(&d, "etc", true), 0);
	for (int i = 0; i < 1000; i++) {
		uint32_t n = lg_dist_draw(&d, &r);

		assert_true(n >= 8 && n <= LG_KEY_MAX);
	}
	assert_int_not_equal(lg_dist_parse(&d, "4", true), 0);		/* keys under 8 bytes */
	assert_int_not_equal(lg_dist_parse(&d, "64-16", false), 0);
	assert_int_not_equal(lg_dist_parse(&d, "gev:1,0,1", false), 0);
	assert_int_not_equal(lg_dist_parse(&d, "lots", false), 0);
}

static void slot_selection(void **state)
{
	struct lg_cfg c = cfg(LG_MEMCACHED, "16", "32");
	char a[LG_KEY_MAX + 1], b[LG_KEY_MAX + 1];
	const char *bad[] = { "", "a", "5-3", "16384", "1,", "1-", "0-16384", "3,x", ",1" };
	unsigned in_range[3] = { 0 };

	(void)state;
	c.keys = 3000;
	assert_int_equal(lg_slots_select(&c, "100-5560,10000-10099"), 0);
	assert_non_null(c.key_names);
	for (uint64_t id = 0; id < c.keys; id++) {
		unsigned len = lg_key(&c, id, a);
		uint16_t slot = wc_key_slot(a, len);

		assert_true((slot >= 100 && slot <= 5560) || (slot >= 10000 && slot <= 10099));
		in_range[slot >= 10000]++;
		if (id)
			assert_true(c.key_names[id] > c.key_names[id - 1]);	/* no name twice */
	}
	/* both ranges are drawn from, about as often as their sizes say */
	assert_true(in_range[1] > 0 && in_range[1] < in_range[0] / 20);
	/* the id still picks the value; the name is k<m> with m from the map */
	lg_key(&c, 5, a);
	snprintf(b, sizeof(b), "k%lu", (unsigned long)c.key_names[5]);
	assert_memory_equal(a, b, strlen(b));
	free((void *)c.key_names);

	c.keys = 4;			/* one slot: still found */
	assert_int_equal(lg_slots_select(&c, "7"), 0);
	for (uint64_t id = 0; id < c.keys; id++)
		assert_int_equal(wc_key_slot(a, lg_key(&c, id, a)), 7);
	free((void *)c.key_names);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lg_slots_select(&c, bad[i]), -1);
}

static void encodings(void **state)
{
	struct lg_cfg mc = cfg(LG_MEMCACHED, "16", "5"), rd = cfg(LG_REDIS, "16", "5");
	struct lg_req get = { .key = 1, .op = LG_GET }, set = { .key = 1, .op = LG_SET };
	uint8_t buf[256];
	struct mc_out o;
	char want[256];

	(void)state;
	mc_out_init_buf(&o, buf, sizeof(buf));
	assert_true(lg_encode(&mc, &get, &o));
	assert_int_equal(o.written, strlen("get k1xxxxxxxxxxxxxx\r\n"));
	assert_memory_equal(buf, "get k1xxxxxxxxxxxxxx\r\n", o.written);
	mc_out_init_buf(&o, buf, sizeof(buf));
	assert_true(lg_encode(&mc, &set, &o));
	snprintf(want, sizeof(want), "set k1xxxxxxxxxxxxxx 0 0 5\r\n%.5s\r\n",
		 (const char *)lg_value(1));
	assert_memory_equal(buf, want, strlen(want));
	mc_out_init_buf(&o, buf, sizeof(buf));
	assert_true(lg_encode(&rd, &set, &o));
	snprintf(want, sizeof(want), "*3\r\n$3\r\nSET\r\n$16\r\nk1xxxxxxxxxxxxxx\r\n$5\r\n%.5s\r\n",
		 (const char *)lg_value(1));
	assert_memory_equal(buf, want, strlen(want));
	/* a request that does not fit reports it */
	mc_out_init_buf(&o, buf, 10);
	assert_false(lg_encode(&mc, &set, &o));
}

/* Feed text in pieces of step bytes; returns the outcome and value check. */
static enum lg_result feed(struct lg_parser *p, const struct lg_req *r, const char *text,
			   size_t step, bool *ok, size_t *used_total)
{
	size_t len = strlen(text), off = 0;
	enum lg_result res = LG_R_MORE;

	lg_parser_expect(p, r);
	*ok = false;
	while (off < len && res == LG_R_MORE) {
		size_t n = len - off < step ? len - off : step;

		off += lg_parser_feed(p, (const uint8_t *)text + off, n, &res, ok);
	}
	*used_total = off;
	return res;
}

static void memcached_replies(void **state)
{
	struct lg_cfg c = cfg(LG_MEMCACHED, "16", "40");
	struct lg_parser p;
	struct lg_req get = { .key = 9, .op = LG_GET, .verify = true };
	struct lg_req set = { .key = 9, .op = LG_SET };
	char hit[256], bad[256], two[512];
	bool ok;
	size_t used;

	(void)state;
	lg_parser_init(&p, &c);
	snprintf(hit, sizeof(hit), "VALUE k9xxxxxxxxxxxxxx 0 40\r\n%.40s\r\nEND\r\n",
		 (const char *)lg_value(9));
	for (size_t step = 1; step <= strlen(hit); step++) {
		assert_int_equal(feed(&p, &get, hit, step, &ok, &used), LG_R_HIT);
		assert_true(ok);
		assert_int_equal(used, strlen(hit));
	}
	/* one wrong byte, or the wrong length, is caught */
	strcpy(bad, hit);
	bad[40] ^= 1;
	assert_int_equal(feed(&p, &get, bad, 7, &ok, &used), LG_R_HIT);
	assert_false(ok);
	snprintf(bad, sizeof(bad), "VALUE k9xxxxxxxxxxxxxx 0 39 77\r\n%.39s\r\nEND\r\n",
		 (const char *)lg_value(9));
	assert_int_equal(feed(&p, &get, bad, 64, &ok, &used), LG_R_HIT);
	assert_false(ok);
	assert_int_equal(feed(&p, &get, "END\r\n", 2, &ok, &used), LG_R_MISS);
	assert_int_equal(feed(&p, &set, "STORED\r\n", 3, &ok, &used), LG_R_STORED);
	assert_int_equal(feed(&p, &set, "SERVER_ERROR out of memory\r\n", 100, &ok, &used),
			 LG_R_ERROR);
	assert_int_equal(feed(&p, &get, "VALUE k 0 x\r\n", 100, &ok, &used), LG_R_ERROR);
	/* two replies back to back: the first stops where it ends */
	snprintf(two, sizeof(two), "%sSTORED\r\n", hit);
	assert_int_equal(feed(&p, &get, two, 1000, &ok, &used), LG_R_HIT);
	assert_int_equal(used, strlen(hit));
	assert_int_equal(feed(&p, &set, two + used, 1000, &ok, &used), LG_R_STORED);
}

static void resp_replies(void **state)
{
	struct lg_cfg c = cfg(LG_REDIS, "16", "12");
	struct lg_parser p;
	struct lg_req get = { .key = 4, .op = LG_GET, .verify = true };
	struct lg_req set = { .key = 4, .op = LG_SET };
	char hit[128];
	bool ok;
	size_t used;

	(void)state;
	lg_parser_init(&p, &c);
	snprintf(hit, sizeof(hit), "$12\r\n%.12s\r\n", (const char *)lg_value(4));
	for (size_t step = 1; step <= strlen(hit); step++) {
		assert_int_equal(feed(&p, &get, hit, step, &ok, &used), LG_R_HIT);
		assert_true(ok);
	}
	hit[6] ^= 2;
	assert_int_equal(feed(&p, &get, hit, 3, &ok, &used), LG_R_HIT);
	assert_false(ok);
	assert_int_equal(feed(&p, &get, "$-1\r\n", 2, &ok, &used), LG_R_MISS);
	assert_int_equal(feed(&p, &get, "_\r\n", 2, &ok, &used), LG_R_MISS);
	assert_int_equal(feed(&p, &set, "+OK\r\n", 1, &ok, &used), LG_R_STORED);
	assert_int_equal(feed(&p, &set, "-ERR wrong\r\n", 4, &ok, &used), LG_R_ERROR);
}

static void accounting(void **state)
{
	struct lg_cfg c = cfg(LG_MEMCACHED, "16", "8");
	struct wc_keydist kd;
	struct lg_worker w = { .cfg = &c, .kd = &kd, .tsc_hz = 1000000000ull, .measuring = true };
	struct lg_req r;
	uint64_t gets = 0;

	(void)state;
	c.get_pct = 90;
	c.verify_every = 4;
	wc_keydist_init(&kd, c.keys, 0.99);
	w.rng.s = 3;
	/* preload walks this worker's share of the keys in order, then the mix begins */
	w.preloading = true;
	w.preload_next = 1;
	w.preload_step = 2;
	w.preload_left = 3;
	for (uint64_t k = 1; k <= 5; k += 2) {
		lg_next(&w, &r, 0);
		assert_int_equal(r.op, LG_SET);
		assert_int_equal(r.key, k);
	}
	assert_false(w.preloading);
	/* the last preload SET could not be sent: it goes again, and only it */
	lg_unnext(&w, &r);
	assert_true(w.preloading);
	lg_next(&w, &r, 0);
	assert_int_equal(r.key, 5);
	assert_false(w.preloading);
	for (int i = 0; i < 10000; i++) {
		lg_next(&w, &r, 100);
		assert_true(r.key < c.keys);
		gets += r.op == LG_GET;
		lg_complete(&w, &r, r.op == LG_GET ? LG_R_HIT : LG_R_STORED, true, 100 + 5000);
		if (i == 0) {
			lg_unnext(&w, &r);	/* not a preload request: nothing to roll back */
			assert_false(w.preloading);
		}
	}
	assert_true(gets > 8700 && gets < 9300);
	assert_int_equal(w.cnt.done, 10000);
	assert_int_equal(w.cnt.errors, 0);
	assert_true(w.cnt.verified > gets / 5 && w.cnt.verified < gets / 3);
	assert_int_equal(w.hist.count, 10000);
	assert_int_equal(wc_hist_quantile(&w.hist, 0.5) / 100, 5000 / 100);	/* 5 us */
	/* a SET answered like a GET is an error */
	lg_next(&w, &r, 0);
	r.op = LG_SET;
	lg_complete(&w, &r, LG_R_HIT, true, 1);
	assert_int_equal(w.cnt.errors, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_and_values), cmocka_unit_test(slot_selection),
		cmocka_unit_test(encodings),
		cmocka_unit_test(memcached_replies), cmocka_unit_test(resp_replies),
		cmocka_unit_test(accounting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
