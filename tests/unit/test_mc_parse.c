/*
 * test_mc_parse.c - every path of the memcached command-line parser:
 * commands, argument counts, numbers, noreply, meta flags and their errors,
 * base64 keys, and which refusals swallow a data block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto/mc_parse.h"

static struct mc_req req;

static bool parse(const char *line)
{
	return mc_parse_line((const uint8_t *)line, (uint32_t)strlen(line), &req);
}

static void expect_error(const char *line, const char *err, bool swallow)
{
	assert_false(parse(line));
	assert_string_equal(req.error, err);
	assert_int_equal(req.has_data, swallow);
}

static bool tok_eq(const struct mc_tok *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->p, s, t->len) == 0;
}

static void storage_commands(void **state)
{
	(void)state;
	assert_true(parse("set foo 5 100 3"));
	assert_int_equal(req.cmd, MC_SET);
	assert_true(tok_eq(&req.key, "foo"));
	assert_int_equal(req.flags, 5);
	assert_int_equal(req.exptime, 100);
	assert_int_equal(req.vlen, 3);
	assert_true(req.has_data);
	assert_false(req.noreply);
	assert_true(parse("add k 0 -1 0 noreply\r"));
	assert_int_equal(req.cmd, MC_ADD);
	assert_int_equal(req.exptime, -1);
	assert_true(req.noreply);
	assert_true(parse("cas k 4294967295 0 10 18446744073709551615"));
	assert_int_equal(req.cmd, MC_CAS);
	assert_int_equal(req.flags, 4294967295u);
	assert_int_equal(req.cas, UINT64_MAX);
	assert_true(parse("replace k 0 0 1"));
	assert_true(parse("append k 0 0 1"));
	assert_true(parse("prepend k 0 0 1"));
	/* an unknown trailing word is ignored, as memcached does */
	assert_true(parse("set k 0 0 1 foo"));
	assert_false(req.noreply);
}

static void storage_errors(void **state)
{
	char line[400];

	(void)state;
	expect_error("set k 0 0", "ERROR", false);
	expect_error("set k 0 0 1 noreply extra", "ERROR", true);
	expect_error("cas k 0 0 1", "ERROR", true);
	expect_error("set k x 0 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k 0 x 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k 4294967296 0 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k -1 0 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k 0 0 -1", "CLIENT_ERROR bad command line format", false);
	expect_error("set k 0 0 abc", "CLIENT_ERROR bad command line format", false);
	expect_error("cas k 0 0 1 x", "CLIENT_ERROR bad command line format", true);
	/* a 251-byte key: refused, and its data block swallowed */
	memcpy(line, "set ", 4);
	memset(line + 4, 'k', 251);
	strcpy(line + 255, " 0 0 5");
	expect_error(line, "CLIENT_ERROR bad command line format", true);
	assert_int_equal(req.vlen, 5);
	memset(line + 4, 'k', 250);
	strcpy(line + 254, " 0 0 5");
	assert_true(parse(line));
	assert_int_equal(req.key.len, 250);
}

static void retrieval_commands(void **state)
{
	(void)state;
	assert_true(parse("get a b  c"));
	assert_int_equal(req.cmd, MC_GET);
	assert_true(tok_eq(&req.keys, "a b  c"));
	assert_true(parse("gets a"));
	assert_int_equal(req.cmd, MC_GETS);
	assert_true(parse("gat 100 a b"));
	assert_int_equal(req.cmd, MC_GAT);
	assert_int_equal(req.exptime, 100);
	assert_true(tok_eq(&req.keys, "a b"));
	assert_true(parse("gats -1 a"));
	assert_int_equal(req.exptime, -1);
	expect_error("get", "ERROR", false);
	expect_error("get   ", "ERROR", false);
	expect_error("gat 10", "ERROR", false);
	expect_error("gat x a", "CLIENT_ERROR invalid exptime argument", false);
	/* keys walk */
	const uint8_t *p = (const uint8_t *)"  one two ", *end = p + 10;
	struct mc_tok t;
	assert_true(mc_next_token(&p, end, &t));
	assert_true(tok_eq(&t, "one"));
	assert_true(mc_next_token(&p, end, &t));
	assert_true(tok_eq(&t, "two"));
	assert_false(mc_next_token(&p, end, &t));
}

static void keyed_commands(void **state)
{
	(void)state;
	assert_true(parse("delete k"));
	assert_int_equal(req.cmd, MC_DELETE);
	assert_true(parse("delete k noreply"));
	assert_true(req.noreply);
	assert_true(parse("delete k 0"));
	assert_true(parse("delete k 0 noreply"));
	expect_error("delete k 5", "CLIENT_ERROR bad command line format.  "
				   "Usage: delete <key> [noreply]", false);
	expect_error("delete", "ERROR", false);
	assert_true(parse("incr k 18446744073709551615"));
	assert_int_equal(req.delta, UINT64_MAX);
	assert_true(parse("decr k 1 noreply"));
	assert_true(req.noreply);
	expect_error("incr k -1", "CLIENT_ERROR invalid numeric delta argument", false);
	expect_error("incr k 18446744073709551616", "CLIENT_ERROR invalid numeric delta argument",
		     false);
	expect_error("incr k", "ERROR", false);
	assert_true(parse("touch k 10"));
	assert_int_equal(req.exptime, 10);
	expect_error("touch k x", "CLIENT_ERROR invalid exptime argument", false);
	expect_error("touch k", "ERROR", false);
}

static void misc_commands(void **state)
{
	(void)state;
	assert_true(parse("flush_all"));
	assert_false(req.has_exptime);
	assert_true(parse("flush_all 10"));
	assert_true(req.has_exptime);
	assert_int_equal(req.exptime, 10);
	assert_true(parse("flush_all noreply"));
	assert_true(req.noreply);
	assert_false(req.has_exptime);
	assert_true(parse("flush_all 0 noreply"));
	assert_true(req.has_exptime && req.noreply);
	/* as memcached 1.6 without -A (t/shutdown.t) */
	expect_error("shutdown", "ERROR: shutdown not enabled", false);
	expect_error("shutdown graceful", "ERROR: shutdown not enabled", false);
	/* as memcached 1.6 (t/flush-all.t) */
	expect_error("flush_all x", "CLIENT_ERROR invalid exptime argument", false);
	assert_true(parse("flush_all 7 2"));	/* the second word is ignored */
	assert_true(req.has_exptime && !req.noreply);
	assert_int_equal(req.exptime, 7);
	expect_error("flush_all 1 2 3", "ERROR", false);
	assert_true(parse("version"));
	assert_true(parse("version foo bar"));	/* memcapable sends this */
	assert_int_equal(req.cmd, MC_VERSION);
	assert_true(parse("verbosity 1"));
	assert_true(parse("verbosity 1 noreply"));
	assert_true(req.noreply);
	assert_true(parse("verbosity noreply"));
	assert_true(req.noreply);
	assert_true(parse("verbosity 1 2"));	/* memcached ignores the rest */
	expect_error("verbosity", "ERROR", false);
	expect_error("verbosity foo", "CLIENT_ERROR bad command line format", false);
	expect_error("verbosity foo bar my", "ERROR", false);
	assert_true(parse("quit"));
	assert_true(parse("stats"));
	assert_int_equal(req.arg.len, 0);
	assert_true(parse("stats settings"));
	assert_true(tok_eq(&req.arg, "settings"));
	assert_true(parse("mn"));
	expect_error("", "ERROR", false);
	expect_error("\r", "ERROR", false);
	expect_error("bogus a b", "ERROR", false);
	expect_error("GET a", "ERROR", false);	/* commands are case-sensitive */
	assert_string_equal(mc_cmd_name(MC_MG), "mg");
	assert_string_equal(mc_cmd_name(MC_UNKNOWN), "unknown");
}

static void meta_flags(void **state)
{
	const struct mc_meta *m = &req.meta;

	(void)state;
	assert_true(parse("mg foo v c f k Oab12 T30 N15 R5 s t h l u q"));
	assert_int_equal(req.cmd, MC_MG);
	assert_true(tok_eq(&req.key, "foo"));
	assert_true(mc_meta_has(m, 'v') && mc_meta_has(m, 'q') && mc_meta_has(m, 'T'));
	assert_false(mc_meta_has(m, 'E'));
	assert_int_equal(m->ttl, 30);
	assert_int_equal(m->vivify, 15);
	assert_int_equal(m->recache, 5);
	assert_true(tok_eq(&m->opaque, "Oab12"));
	assert_int_equal(m->nflags, 14);
	assert_memory_equal(m->order, "vcfkOTNRsthluq", 14);
	assert_true(req.noreply);
	assert_true(parse("mg foo"));
	assert_int_equal(m->nflags, 0);
	assert_true(parse("ms foo 12 T0 F7 C99 E100 I MA N20 c k s O1"));
	assert_int_equal(req.cmd, MC_MS);
	assert_int_equal(req.vlen, 12);
	assert_true(req.has_data);
	assert_int_equal(m->client_flags, 7);
	assert_int_equal(m->cas_cmp, 99);
	assert_int_equal(m->cas_new, 100);
	assert_int_equal(m->mode, 'A');
	assert_true(parse("md foo I T10 x C1 q"));
	assert_int_equal(req.cmd, MC_MD);
	assert_true(parse("ma foo D5 J10 N0 MD v t c"));
	assert_int_equal(m->delta, 5);
	assert_int_equal(m->initial, 10);
	assert_int_equal(m->mode, 'D');
	assert_true(parse("ma foo"));
	assert_int_equal(m->delta, 1);
	assert_true(parse("me foo"));
	assert_true(parse("mg foo Pproxy Lpath v"));	/* P and L are ignored */
}

static void meta_errors(void **state)
{
	char line[400];

	(void)state;
	expect_error("mg", "CLIENT_ERROR bad command line format", false);
	expect_error("mg foo v v", "CLIENT_ERROR duplicate flag", false);
	expect_error("mg foo !", "CLIENT_ERROR invalid flag", false);
	expect_error("mg foo y", "CLIENT_ERROR invalid flag", false);
	expect_error("mg foo Tx", "CLIENT_ERROR bad token in command line format", false);
	expect_error("mg foo T99999999999", "CLIENT_ERROR bad token in command line format", false);
	expect_error("mg foo C-1", "CLIENT_ERROR bad token in command line format", false);
	expect_error("mg foo O123456789012345678901234567890123",
		     "CLIENT_ERROR opaque token too long", false);
	assert_true(parse("mg foo O12345678901234567890123456789012"));
	expect_error("ms foo", "CLIENT_ERROR bad command line format", false);
	expect_error("ms foo x", "CLIENT_ERROR bad command line format", false);
	expect_error("ms foo 5 MX", "CLIENT_ERROR invalid mode for ms M token", true);
	expect_error("ms foo 5 v v", "CLIENT_ERROR duplicate flag", true);
	expect_error("ma foo MX", "CLIENT_ERROR invalid mode for ma M token", false);
	expect_error("ma foo Dx", "CLIENT_ERROR invalid or duplicate flag", false);
	expect_error("ma foo v v", "CLIENT_ERROR invalid or duplicate flag", false);
	expect_error("md foo Fabc", "CLIENT_ERROR bad command line format", false);
	/* too many flags */
	strcpy(line, "mg foo");
	for (char c = 'a'; c <= 'z'; c++)
		if (strchr("bcfhklqstuvx", c))
			sprintf(line + strlen(line), " %c", c);
	for (char c = 'A'; c <= 'Z'; c++)
		if (strchr("CDEFIJLMNOPRT", c))
			sprintf(line + strlen(line), " %c1", c);
	expect_error(line, "CLIENT_ERROR options flags are too long", false);
	/* key too long */
	memcpy(line, "mg ", 3);
	memset(line + 3, 'x', 251);
	line[254] = 0;
	expect_error(line, "CLIENT_ERROR bad command line format", false);
}

static void base64_keys(void **state)
{
	uint8_t out[64];

	(void)state;
	assert_true(parse("mg Zm9vAGJhcg== b v"));	/* "foo\0bar" */
	assert_int_equal(req.key.len, 7);
	assert_memory_equal(req.key.p, "foo\0bar", 7);
	assert_true(req.meta.binary_key);
	expect_error("mg Zm9v* b", "CLIENT_ERROR error decoding key", false);
	expect_error("mg Zm9 b", "CLIENT_ERROR error decoding key", false);
	assert_int_equal(mc_base64_encode((const uint8_t *)"foo\0bar", 7, out, sizeof(out)), 12);
	assert_memory_equal(out, "Zm9vAGJhcg==", 12);
	assert_int_equal(mc_base64_encode((const uint8_t *)"ab", 2, out, sizeof(out)), 4);
	assert_memory_equal(out, "YWI=", 4);
	assert_int_equal(mc_base64_decode((const uint8_t *)"YWI=", 4, out, sizeof(out)), 2);
	assert_int_equal(mc_base64_decode((const uint8_t *)"Y=I=", 4, out, sizeof(out)), 0);
	assert_int_equal(mc_base64_decode((const uint8_t *)"YWJj", 4, out, 2), 0);	/* no room */
	assert_int_equal(mc_base64_encode((const uint8_t *)"abcd", 4, out, 4), 0);
}

static void numbers(void **state)
{
	struct mc_tok t;
	uint64_t u;
	int64_t i;
	uint32_t w;

	(void)state;
	t = (struct mc_tok){ (const uint8_t *)"18446744073709551615", 20 };
	assert_true(mc_parse_u64(&t, &u) && u == UINT64_MAX);
	t = (struct mc_tok){ (const uint8_t *)"18446744073709551616", 20 };
	assert_false(mc_parse_u64(&t, &u));
	t = (struct mc_tok){ (const uint8_t *)"", 0 };
	assert_false(mc_parse_u64(&t, &u));
	t = (struct mc_tok){ (const uint8_t *)"+1", 2 };
	assert_false(mc_parse_u64(&t, &u));
	t = (struct mc_tok){ (const uint8_t *)"-9223372036854775807", 20 };
	assert_true(mc_parse_i64(&t, &i) && i == -INT64_MAX);
	t = (struct mc_tok){ (const uint8_t *)"-", 1 };
	assert_false(mc_parse_i64(&t, &i));
	t = (struct mc_tok){ (const uint8_t *)"4294967296", 10 };
	assert_false(mc_parse_u32(&t, &w));
}

/* Every command by its name (mc_cmd_name's table); near names are not commands. */
static void command_names(void **state)
{
	static const char *const near[] = {
		"g", "ge", "gett", "sets", "se", "SET", "Set", "m", "mx", "mG", "mgg", "md5",
		"gets2", "adds", "cas_", "incrr", "dec", "touc", "stat", "statss", "delet",
		"deletes", "appen", "prepen", "replac", "replaces", "versio", "flush_al",
		"flush_alll", "verbosit", "verbosityy", "shutdow", "shutdownn", "qui", "quitt",
		"get\t", "\tget", "get\x01", "flush-all", "xxxxxxxxxx",
	};
	char line[64];

	(void)state;
	for (int c = MC_GET; c < MC_CMD_COUNT; c++) {
		snprintf(line, sizeof(line), "%s", mc_cmd_name((enum mc_cmd)c));
		(void)parse(line);
		assert_int_equal(req.cmd, c);
		/* and the same with arguments and a trailing \r */
		snprintf(line, sizeof(line), "%s k 0 0 1\r", mc_cmd_name((enum mc_cmd)c));
		(void)parse(line);
		assert_int_equal(req.cmd, c);
	}
	for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
		snprintf(line, sizeof(line), "%s k 0 0 1", near[i]);
		expect_error(line, "ERROR", false);
		assert_int_equal(req.cmd, MC_UNKNOWN);
	}
	expect_error("   ", "ERROR", false);
	assert_true(parse("  set  k 0 0 1"));	/* leading spaces before the name */
	assert_int_equal(req.cmd, MC_SET);
}

/* Token boundaries: keys of every length around the word-at-a-time scan, bytes that are not spaces. */
static void storage_tokens(void **state)
{
	char line[400];

	(void)state;
	for (unsigned klen = 1; klen <= 251; klen++) {
		bool ok;

		memcpy(line, "set ", 4);
		memset(line + 4, 'a' + klen % 26, klen);
		snprintf(line + 4 + klen, sizeof(line) - 4 - klen, " %u 0 7 noreply", klen);
		ok = parse(line);
		assert_int_equal(req.vlen, 7);
		assert_true(req.has_data);
		if (klen > MC_KEY_MAX) {
			assert_false(ok);
			assert_string_equal(req.error, "CLIENT_ERROR bad command line format");
			continue;
		}
		assert_true(ok);
		assert_int_equal(req.key.len, klen);
		assert_ptr_equal(req.key.p, line + 4);
		assert_int_equal(req.flags, klen);
		assert_true(req.noreply);
	}
	/* tabs and control bytes are key bytes: only spaces separate */
	assert_true(parse("set a\tb\x01\x7f\xff 0 0 1"));
	assert_true(tok_eq(&req.key, "a\tb\x01\x7f\xff"));
	assert_true(parse("set k\t0 0 1 2"));	/* "k\t0" is the key */
	assert_true(tok_eq(&req.key, "k\t0"));
	assert_int_equal(req.vlen, 2);
	expect_error("set k 0 0\t1", "ERROR", false);	/* "0\t1": three words */
	expect_error("set k 0\t0 1", "ERROR", false);
	expect_error("set k 0 0 1\t", "CLIENT_ERROR bad command line format", false);
	/* trailing and repeated spaces; a \r only ends the line at its end */
	assert_true(parse("set k 0 0 1   "));
	assert_false(req.noreply);
	assert_true(parse("set   k   0   0   1   noreply   \r"));
	assert_true(req.noreply && tok_eq(&req.key, "k") && req.vlen == 1);
	assert_true(parse("set k 0 0 1 noreply\r"));
	assert_true(req.noreply);
	assert_true(parse("set k 0 0 1 noreply\r\r"));	/* "noreply\r": an unknown word */
	assert_false(req.noreply);
	expect_error("set k 0 0 1\r\r", "CLIENT_ERROR bad command line format", false);
	assert_true(parse("set k 0 0 1 noreplyx"));
	assert_false(req.noreply);
	assert_true(parse("set k 0 0 1 norepl"));
	assert_false(req.noreply);
	assert_true(parse("set k\r 0 0 1"));	/* a \r inside the line is a key byte */
	assert_true(tok_eq(&req.key, "k\r"));
}

/* Flags, exptime, length and CAS at their limits, through whole lines. */
static void storage_numbers(void **state)
{
	(void)state;
	assert_true(parse("set k 4294967295 0 1"));
	assert_int_equal(req.flags, UINT32_MAX);
	assert_true(parse("set k 0004294967295 0 1"));	/* leading zeros */
	assert_int_equal(req.flags, UINT32_MAX);
	expect_error("set k 4294967296 0 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k 99999999999999999999 0 1", "CLIENT_ERROR bad command line format",
		     true);
	assert_true(parse("set k 0 9223372036854775807 1"));
	assert_int_equal(req.exptime, INT64_MAX);
	assert_true(parse("set k 0 -9223372036854775807 1"));
	assert_int_equal(req.exptime, -INT64_MAX);
	expect_error("set k 0 9223372036854775808 1", "CLIENT_ERROR bad command line format",
		     true);
	expect_error("set k 0 -9223372036854775808 1", "CLIENT_ERROR bad command line format",
		     true);
	expect_error("set k 0 -0x1 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k 0 --1 1", "CLIENT_ERROR bad command line format", true);
	expect_error("set k 0 +1 1", "CLIENT_ERROR bad command line format", true);
	assert_true(parse("set k 0 -0 1"));
	assert_int_equal(req.exptime, 0);
	assert_true(parse("set k 0 -2592001 1"));	/* negative: stored expired (the store's rule) */
	assert_int_equal(req.exptime, -2592001);
	assert_true(parse("set k 0 0 2147483645"));	/* the longest data block taken */
	assert_int_equal(req.vlen, 2147483645);
	expect_error("set k 0 0 2147483646", "CLIENT_ERROR bad command line format", false);
	expect_error("set k 0 0 18446744073709551616", "CLIENT_ERROR bad command line format",
		     false);
	assert_true(parse("cas k 0 0 1 9999999999999999999"));	/* 19 digits */
	assert_int_equal(req.cas, 9999999999999999999ull);
	assert_true(parse("cas k 0 0 1 00000000000000000001"));	/* 20 digits */
	assert_int_equal(req.cas, 1);
	expect_error("cas k 0 0 1 000000000000000000001", "CLIENT_ERROR bad command line format",
		     true);	/* 21 digits */
	expect_error("cas k 0 0 1 18446744073709551616", "CLIENT_ERROR bad command line format",
		     true);
	expect_error("cas k 0 0 1 28446744073709551615", "CLIENT_ERROR bad command line format",
		     true);
	expect_error("cas k 0 0 1 1844674407370955161a", "CLIENT_ERROR bad command line format",
		     true);
	assert_true(parse("incr k 1844674407370955161"));
	assert_int_equal(req.delta, 1844674407370955161ull);
	expect_error("touch k 9223372036854775808", "CLIENT_ERROR invalid exptime argument", false);
}

static const char *single(const char *text, uint32_t *klen, bool *cas)
{
	return (const char *)mc_single_get((const uint8_t *)text, (uint32_t)strlen(text), klen, cas);
}

/* The fast path's recognizer takes exactly one plain get and leaves the rest to the parser. */
static void single_get_recognizer(void **state)
{
	char longkey[300];
	uint32_t klen;
	bool cas;
	const char *k;

	(void)state;
	k = single("get key:1\r\n", &klen, &cas);
	assert_non_null(k);
	assert_int_equal(klen, 5);
	assert_memory_equal(k, "key:1", 5);
	assert_false(cas);
	k = single("gets abcdefghijklmnopqrstu\n", &klen, &cas);
	assert_non_null(k);
	assert_int_equal(klen, 21);
	assert_true(cas);
	assert_null(single("get a b\r\n", &klen, &cas));		/* two keys */
	assert_null(single("get  a\r\n", &klen, &cas));		/* empty key first */
	assert_null(single("get a \r\n", &klen, &cas));		/* trailing space */
	assert_null(single("get a\r\nget b\r\n", &klen, &cas));	/* two lines */
	assert_null(single("get a", &klen, &cas));			/* no newline yet */
	assert_null(single("get \r\n", &klen, &cas));
	assert_null(single("getx a\r\n", &klen, &cas));
	assert_null(single("gat 1 a\r\n", &klen, &cas));
	assert_null(single("get a\x01b\r\n", &klen, &cas));	/* control byte: general path */
	assert_null(single("get abcdefgh\tijk\r\n", &klen, &cas));	/* in the word loop */
	memcpy(longkey, "get ", 4);
	memset(longkey + 4, 'k', 251);
	memcpy(longkey + 255, "\r\n", 3);
	assert_null(single(longkey, &klen, &cas));			/* 251 bytes: too long */
	longkey[4 + 250] = '\r';
	longkey[4 + 251] = '\n';
	longkey[4 + 252] = 0;
	k = single(longkey, &klen, &cas);
	assert_non_null(k);
	assert_int_equal(klen, 250);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(storage_commands), cmocka_unit_test(storage_errors),
		cmocka_unit_test(retrieval_commands), cmocka_unit_test(keyed_commands),
		cmocka_unit_test(misc_commands), cmocka_unit_test(meta_flags),
		cmocka_unit_test(meta_errors), cmocka_unit_test(base64_keys),
		cmocka_unit_test(numbers), cmocka_unit_test(single_get_recognizer),
		cmocka_unit_test(command_names), cmocka_unit_test(storage_tokens),
		cmocka_unit_test(storage_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
