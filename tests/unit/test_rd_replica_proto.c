/*
 * test_rd_replica_proto.c - the replica's wire helpers (redis/replica.h):
 * PSYNC answers (FULLRESYNC with its replid and offset, CONTINUE with and
 * without a new replid, try-later errors, garbage), the RDB bulk header in
 * both forms ("$<len>" and diskless "$EOF:<40 bytes>", absurd and broken
 * lengths refused), the end marker, which handshake replies let the next
 * step go, and commands formatted as RESP arrays (and refused when they do
 * not fit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "redis/replica.h"

#define ID40 "0123456789abcdef0123456789abcdef01234567"

static enum rd_psync_reply psync(const char *line, char id[41], uint64_t *off)
{
	return rd_replica_parse_psync(line, strlen(line), id, off);
}

static void psync_answers(void **state)
{
	char id[41];
	uint64_t off = 7;

	(void)state;
	assert_int_equal(psync("+FULLRESYNC " ID40 " 12345", id, &off), RD_PSYNC_FULL);
	assert_string_equal(id, ID40);
	assert_int_equal(off, 12345);
	assert_int_equal(psync("+FULLRESYNC " ID40 " 0", id, &off), RD_PSYNC_FULL);
	assert_int_equal(off, 0);
	assert_int_equal(psync("+CONTINUE", id, &off), RD_PSYNC_CONTINUE);
	assert_string_equal(id, "");
	assert_int_equal(psync("+CONTINUE " ID40, id, &off), RD_PSYNC_CONTINUE);
	assert_string_equal(id, ID40);
	assert_int_equal(psync("-NOMASTERLINK Can't SYNC while not connected with my master", id,
			       &off), RD_PSYNC_TRYLATER);
	assert_int_equal(psync("-LOADING Redis is loading the dataset in memory", id, &off),
			 RD_PSYNC_TRYLATER);
	assert_int_equal(psync("-ERR unknown command 'PSYNC'", id, &off), RD_PSYNC_ERR);
	/* broken: short replid, non-hex, no offset, negative or huge offset, other lines */
	assert_int_equal(psync("+FULLRESYNC 0123 5", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+FULLRESYNC " "g123456789abcdef0123456789abcdef01234567" " 5", id,
			       &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+FULLRESYNC " ID40, id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+FULLRESYNC " ID40 " ", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+FULLRESYNC " ID40 " -1", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+FULLRESYNC " ID40 " 99999999999999999999", id, &off),
			 RD_PSYNC_BAD);
	assert_int_equal(psync("+CONTINUEX", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+CONTINUE abc", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("+OK", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("", id, &off), RD_PSYNC_BAD);
	assert_int_equal(psync("$5", id, &off), RD_PSYNC_BAD);
}

static int bulk(const char *line, uint64_t *len, bool *eof, uint8_t mark[40])
{
	return rd_replica_parse_bulk(line, strlen(line), len, eof, mark);
}

static void bulk_headers(void **state)
{
	uint64_t len = 99;
	bool eof = true;
	uint8_t mark[40];

	(void)state;
	assert_int_equal(bulk("$175", &len, &eof, mark), 0);
	assert_int_equal(len, 175);
	assert_false(eof);
	assert_int_equal(bulk("$EOF:" ID40, &len, &eof, mark), 0);
	assert_true(eof);
	assert_memory_equal(mark, ID40, 40);
	/* the marker is any 40 bytes, not only hex */
	assert_int_equal(bulk("$EOF:!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", &len, &eof, mark), 0);
	assert_true(eof);
	assert_int_equal(mark[0], '!');
	assert_int_equal(bulk("$0", &len, &eof, mark), 0);	/* (the link refuses it) */
	assert_int_equal(len, 0);
	assert_int_equal(bulk("$", &len, &eof, mark), -1);
	assert_int_equal(bulk("$-1", &len, &eof, mark), -1);
	assert_int_equal(bulk("$12a", &len, &eof, mark), -1);
	assert_int_equal(bulk("$99999999999999", &len, &eof, mark), -1);	/* past 1 TiB */
	assert_int_equal(bulk("$EOF:short", &len, &eof, mark), -1);
	assert_int_equal(bulk("+OK", &len, &eof, mark), -1);
	assert_int_equal(bulk("", &len, &eof, mark), -1);
}

static void end_marker(void **state)
{
	uint8_t buf[100], mark[40];

	(void)state;
	memcpy(mark, ID40, 40);
	memset(buf, 'r', sizeof(buf));
	assert_false(rd_replica_ends_with_mark(buf, sizeof(buf), mark));
	memcpy(buf + 60, mark, 40);
	assert_true(rd_replica_ends_with_mark(buf, 100, mark));
	assert_false(rd_replica_ends_with_mark(buf, 99, mark));
	assert_true(rd_replica_ends_with_mark(buf + 60, 40, mark));
	assert_false(rd_replica_ends_with_mark(buf + 61, 39, mark));
	assert_false(rd_replica_ends_with_mark(buf, 0, mark));
}

static bool ok(const char *line, bool ping)
{
	return rd_replica_reply_ok(line, strlen(line), ping);
}

static void handshake_replies(void **state)
{
	(void)state;
	assert_true(ok("+PONG", true));
	assert_true(ok("-NOAUTH Authentication required.", true));	/* AUTH follows */
	assert_true(ok("-NOPERM this user has no permissions", true));
	assert_false(ok("-ERR operation not permitted", true));
	assert_false(ok("-NOAUTH Authentication required.", false));
	assert_true(ok("+OK", false));
	assert_false(ok("-WRONGPASS invalid username-password pair", false));
	assert_false(ok(":1", false));
	assert_false(ok("", true));
}

static void commands_formatted(void **state)
{
	char buf[64];
	size_t n;

	(void)state;
	n = rd_replica_format(buf, sizeof(buf), 3,
			   (const char *const[]){ "REPLCONF", "ACK", "12345" });
	assert_int_equal(n, strlen("*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$5\r\n12345\r\n"));
	assert_memory_equal(buf, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$5\r\n12345\r\n", n);
	n = rd_replica_format(buf, sizeof(buf), 1, (const char *const[]){ "" });
	assert_memory_equal(buf, "*1\r\n$0\r\n\r\n", n);
	/* what does not fit is refused whole */
	assert_int_equal(rd_replica_format(buf, 20, 3,
					(const char *const[]){ "REPLCONF", "ACK", "12345" }),
			 0);
	assert_int_equal(rd_replica_format(buf, 3, 1, (const char *const[]){ "PING" }), 0);
	n = rd_replica_format(buf, 14 + 2, 1, (const char *const[]){ "PING" });
	assert_int_equal(n, 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(psync_answers),
		cmocka_unit_test(bulk_headers),
		cmocka_unit_test(end_marker),
		cmocka_unit_test(handshake_replies),
		cmocka_unit_test(commands_formatted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
