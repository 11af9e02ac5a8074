/*
 * test_resp_get_fast.c - the pieces of the RESP single-GET fast path:
 * resp_single_get takes exactly one whole "GET <key>" (key lengths of one to
 * three digits, no leading zero, 1..250) and nothing else; resp_bulk writes
 * the same bytes whether the reply fits the window at once or goes the
 * piecewise way, for every value length around its short-copy bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "proto/resp.h"
#include "proto/resp_out.h"

static const uint8_t *get_of(const char *s, uint32_t *klen)
{
	return resp_single_get((const uint8_t *)s, (uint32_t)strlen(s), klen);
}

static void single_get_takes_one_whole_get(void **state)
{
	char req[512], key[251];
	uint32_t klen = 0;
	const uint8_t *k;

	(void)state;
	k = get_of("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &klen);	/* the shortest: 20 bytes */
	assert_non_null(k);
	assert_int_equal(klen, 1);
	assert_null(resp_single_get((const uint8_t *)"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 19, &klen));
	k = get_of("*2\r\n$3\r\nget\r\n$3\r\nabc\r\n", &klen);
	assert_non_null(k);
	assert_int_equal(klen, 3);
	assert_memory_equal(k, "abc", 3);
	memset(key, 'x', sizeof(key));
	for (unsigned n = 1; n <= 251; n++) {
		int len = snprintf(req, sizeof(req), "*2\r\n$3\r\nGeT\r\n$%u\r\n%.*s\r\n", n, (int)n,
				   key);

		k = resp_single_get((const uint8_t *)req, (uint32_t)len, &klen);
		if (n <= 250) {
			assert_non_null(k);
			assert_int_equal(klen, n);
			assert_ptr_equal(k, (const uint8_t *)req + len - 2 - n);
		} else {
			assert_null(k);
		}
	}
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$05\r\nabcde\r\n", &klen));	/* leading zero */
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$0\r\n\r\n1234567", &klen));
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$1000\r\nab\r\n", &klen));	/* 4 digits */
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$x\r\nabcdefgh\r\n", &klen));
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$5x\r\nabcde\r\n", &klen));
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$5\r\nabcdef\r\n", &klen));	/* longer */
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$5\r\nabcde\r\n*", &klen));	/* pipelined */
	assert_null(get_of("*2\r\n$3\r\nGET\r\n$5\r\nabcde\n\n", &klen));
	assert_null(get_of("*2\r\n$3\r\nSET\r\n$5\r\nabcde\r\n", &klen));
	assert_null(get_of("*3\r\n$3\r\nGET\r\n$5\r\nabcde\r\n", &klen));
}

/*
 * The parse digit by digit (resp_single_get before it read the key length
 * off the request's length): what it takes and what it refuses.
 */
static const uint8_t *ref_single_get(const uint8_t *t, uint32_t len, uint32_t *klen)
{
	uint32_t n, digits = 0;
	const uint8_t *p;

	if (len < 20 || memcmp(t, "*2\r\n$3\r\n", 8) != 0 ||
	    strncasecmp((const char *)t + 8, "get", 3) != 0 || memcmp(t + 11, "\r\n$", 3) != 0)
		return NULL;
	p = t + 14;
	n = 0;
	while (digits < 3 && p[digits] >= '0' && p[digits] <= '9')
		n = n * 10 + (uint32_t)(p[digits++] - '0');
	p += digits;
	if (digits == 0 || n == 0 || n > 250 || (digits > 1 && t[14] == '0') ||
	    (uint64_t)(t + len - p) != n + 4u || p[0] != '\r' || p[1] != '\n' ||
	    p[n + 2] != '\r' || p[n + 3] != '\n')
		return NULL;
	*klen = n;
	return p + 2;
}

/*
 * Requests of every length around each key length (1..260), and random
 * bytes put into the length digits, the CR LFs and the key: the same answer
 * as the reference, byte position and key length included.
 */
static void single_get_matches_reference(void **state)
{
	static const char alphabet[] = "0123456789\r\n$x*";
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	char req[600], key[300];

	(void)state;
	memset(key, 'k', sizeof(key));
	for (unsigned n = 1; n <= 260; n++) {
		int base = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%u\r\n%.*s\r\n", n,
				    (int)n, key);

		for (int extra = -3; extra <= 3; extra++) {
			for (int round = 0; round < 40; round++) {
				char r[600];
				uint32_t len = (uint32_t)(base + extra), ka = 0, kb = 0;
				const uint8_t *a, *b;

				memcpy(r, req, sizeof(r));
				if (extra > 0)
					memset(r + base, 'k', (size_t)extra);
				if (round) {
					/* one to three bytes changed among the length, its CR LF and the end */
					for (int k = 0; k <= round % 3; k++) {
						uint32_t at;

						seed = seed * 6364136223846793005ull + 1442695040888963407ull;
						at = (uint32_t)(seed >> 33) % 8;
						at = at < 6 ? 14 + at : len - 8 + at;
						if (at < len)
							r[at] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
					}
				}
				a = resp_single_get((const uint8_t *)r, len, &ka);
				b = ref_single_get((const uint8_t *)r, len, &kb);
				assert_ptr_equal(a, b);
				if (a)
					assert_int_equal(ka, kb);
			}
		}
	}
}

/*
 * resp_get_at: the first command of a pipeline when it is a GET that
 * resp_single_get takes, its length told; anything else (cut short, a
 * leading zero, four digits, another command) NULL.
 */
static void get_at_takes_the_first_of_a_pipeline(void **state)
{
	static const char *const tails[] = { "", "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n", "PING\r\n",
					     "*", "\r\n" };
	char req[700], key[300];
	uint32_t klen, used;
	const uint8_t *k;

	(void)state;
	memset(key, 'q', sizeof(key));
	for (unsigned n = 1; n <= 252; n++) {
		for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			int base = snprintf(req, sizeof(req), "*2\r\n$3\r\nGeT\r\n$%u\r\n%.*s\r\n", n,
					    (int)n, key);
			int len = base + snprintf(req + base, sizeof(req) - (size_t)base, "%s", tails[t]);

			k = resp_get_at((const uint8_t *)req, (uint32_t)len, &klen, &used);
			if (n <= 250) {
				assert_non_null(k);
				assert_int_equal(klen, n);
				assert_int_equal(used, base);
				assert_ptr_equal(k, (const uint8_t *)req + base - 2 - n);
			} else {
				assert_null(k);
			}
			/* cut anywhere short of its end: nothing */
			for (int cut = 0; cut < base; cut += 1 + cut / 8)
				assert_null(resp_get_at((const uint8_t *)req, (uint32_t)cut, &klen, &used));
		}
	}
	k = (const uint8_t *)"*2\r\n$3\r\nGET\r\n$02\r\nab\r\n*2\r\n";
	assert_null(resp_get_at(k, (uint32_t)strlen((const char *)k), &klen, &used));
	k = (const uint8_t *)"*2\r\n$3\r\nGET\r\n$1000\r\nab\r\n*2\r\n";
	assert_null(resp_get_at(k, (uint32_t)strlen((const char *)k), &klen, &used));
	k = (const uint8_t *)"*2\r\n$3\r\nSET\r\n$2\r\nab\r\n*2\r\n";
	assert_null(resp_get_at(k, (uint32_t)strlen((const char *)k), &klen, &used));
	k = (const uint8_t *)"*2\r\n$3\r\nGET\r\n$2\r\nab\n\n*2\r\n";
	assert_null(resp_get_at(k, (uint32_t)strlen((const char *)k), &klen, &used));
}

/* resp_bulk's reply, written whole (room) and piece by piece (a window too small). */
static void bulk_same_bytes_either_way(void **state)
{
	static uint8_t val[70000], whole[70100], piece[70100];

	(void)state;
	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)('a' + i % 26);
	for (size_t n = 0; n < sizeof(val); n = n < 80 ? n + 1 : n * 3 + 7) {
		struct mc_out a, b;
		char want[32];
		int hl = snprintf(want, sizeof(want), "$%zu\r\n", n);

		mc_out_init_buf(&a, whole, sizeof(whole));
		resp_bulk(&a, val, n);
		mc_out_init_buf(&b, piece, (size_t)hl + n + 2);	/* exactly: the piecewise way */
		resp_bulk(&b, val, n);
		assert_false(a.failed || b.failed);
		assert_int_equal(a.written, hl + n + 2);
		assert_int_equal(b.written, a.written);
		assert_memory_equal(whole, want, hl);
		assert_memory_equal(whole + hl, val, n);
		assert_memory_equal(whole + hl + n, "\r\n", 2);
		assert_memory_equal(piece, whole, a.written);
	}
	{
		/* over a limit: failed the same way as before */
		struct mc_out o;

		mc_out_init_buf(&o, whole, sizeof(whole));
		o.limit = 20;
		resp_bulk(&o, val, 32);
		assert_true(o.failed && o.over_limit);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_get_takes_one_whole_get),
		cmocka_unit_test(single_get_matches_reference),
		cmocka_unit_test(get_at_takes_the_first_of_a_pipeline),
		cmocka_unit_test(bulk_same_bytes_either_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
