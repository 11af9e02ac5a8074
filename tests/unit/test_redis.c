/*
 * test_redis.c - the Redis engine end to end over the dataplane's own TCP
 * (the NIC-less harness): byte-exact RESP2 and RESP3 replies for the
 * string, key, transaction and connection commands, Redis's errors, inline
 * commands, a pipeline cut at every segment size, protocol errors that
 * close, cross-protocol hang-ups, and a large value that arrives slowly.
 *
 * Expected replies may contain '#', which matches one or more digits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "net/tcp_impl.h"

static struct dp_harness h;
static uint8_t rbuf[4 << 20];

static int setup(void **state)
{
	(void)state;
	return dp_redis_setup(&h, 48u << 20, 30000);
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

/* One conversation on a new connection: send, cut into seg-byte segments. */
static struct dpc talk_seg(const char *req, size_t len, size_t seg)
{
	struct dpc c;

	assert_true(dp_redis_open(&h, &c, rbuf, sizeof(rbuf) - 1));
	dpc_send(&h, &c, req, len, seg);
	rbuf[c.n] = 0;
	return c;
}

/* printable, for failure messages */
static const char *esc(const uint8_t *p, size_t n)
{
	static char out[8192];
	size_t k = 0;

	for (size_t i = 0; i < n && k < sizeof(out) - 5; i++) {
		if (p[i] == '\r') {
			out[k++] = '\\';
			out[k++] = 'r';
		} else if (p[i] == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else if (p[i] < 32 || p[i] > 126) {
			k += (size_t)sprintf(out + k, "\\x%02x", p[i]);
		} else {
			out[k++] = (char)p[i];
		}
	}
	out[k] = 0;
	return out;
}

#define EXPECT(req, want)                                                                     \
	do {                                                                                  \
		struct dpc c_ = talk_seg((req), strlen(req), 1400);                          \
		if (!dpc_matches((want), rbuf, c_.n))                                        \
			fail_msg("for %s\nwanted %s\n   got %s", (req), (want), esc(rbuf, c_.n)); \
		dpc_close(&h, &c_);                                                           \
	} while (0)

static void flush(void)
{
	EXPECT("FLUSHALL\r\n", "+OK\r\n");
}

static void strings(void **state)
{
	(void)state;
	flush();
	EXPECT("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n", "+PONG\r\n$2\r\nhi\r\n");
	EXPECT("SET foo bar\r\nGET foo\r\nGET nope\r\n", "+OK\r\n$3\r\nbar\r\n$-1\r\n");
	EXPECT("SET foo x NX\r\nSET new y NX\r\nSET nope z XX\r\nSET foo 2 XX GET\r\n",
	       "$-1\r\n+OK\r\n$-1\r\n$3\r\nbar\r\n");
	EXPECT("SET foo x NX XX\r\nSET foo x EX 0\r\nSET foo x PX -1\r\nSET foo x EX abc\r\n"
	       "SET foo x EX 10 PX 10\r\nSET foo x KEEPTTL EX 1\r\nSET foo x BOGUS\r\n",
	       "-ERR syntax error\r\n-ERR invalid expire time in 'set' command\r\n"
	       "-ERR invalid expire time in 'set' command\r\n"
	       "-ERR value is not an integer or out of range\r\n-ERR syntax error\r\n"
	       "-ERR syntax error\r\n-ERR syntax error\r\n");
	EXPECT("SETNX foo 1\r\nSETNX fresh 1\r\nGETSET fresh 2\r\nGETSET none 1\r\nGETDEL fresh\r\n"
	       "GETDEL fresh\r\n",
	       ":0\r\n:1\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$-1\r\n");
	EXPECT("MSET a 1 b 2 c 3\r\nMGET a b nope c\r\nMSETNX a 9 z 9\r\nMSETNX y 1 z 2\r\nMGET y z\r\n"
	       "MSET a\r\n",
	       "+OK\r\n*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n:0\r\n:1\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
	       "-ERR wrong number of arguments for 'mset' command\r\n");
	EXPECT("SET s hello\r\nAPPEND s _world\r\nSTRLEN s\r\nAPPEND fresh2 ab\r\nGETRANGE s 0 4\r\n"
	       "GETRANGE s -5 -1\r\nGETRANGE s 20 30\r\nGETRANGE nope 0 1\r\nSETRANGE s 6 W\r\n"
	       "GET s\r\nSETRANGE pad 3 x\r\nSETRANGE s -1 x\r\nSETRANGE s 1 \"\"\r\n",
	       "+OK\r\n:11\r\n:11\r\n:2\r\n$5\r\nhello\r\n$5\r\nworld\r\n$0\r\n\r\n$0\r\n\r\n:11\r\n"
	       "$11\r\nhello_World\r\n:4\r\n-ERR offset is out of range\r\n:11\r\n");
	{
		struct dpc c = talk_seg("GET pad\r\n", 9, 1400);

		assert_int_equal(c.n, 10);
		assert_memory_equal(rbuf, "$4\r\n\0\0\0x\r\n", 10);
		dpc_close(&h, &c);
	}
	EXPECT("SET n 10\r\nINCR n\r\nDECR n\r\nINCRBY n 5\r\nDECRBY n 20\r\nINCR nn\r\nINCR s\r\n"
	       "INCRBY n x\r\nSET big 9223372036854775807\r\nINCR big\r\nDECRBY n -9223372036854775808\r\n",
	       "+OK\r\n:11\r\n:10\r\n:15\r\n:-5\r\n:1\r\n"
	       "-ERR value is not an integer or out of range\r\n"
	       "-ERR value is not an integer or out of range\r\n+OK\r\n"
	       "-ERR increment or decrement would overflow\r\n-ERR decrement would overflow\r\n");
	EXPECT("SET f 10.5\r\nINCRBYFLOAT f 0.1\r\nINCRBYFLOAT f -5\r\nINCRBYFLOAT f 1e3\r\n"
	       "INCRBYFLOAT s 1\r\nINCRBYFLOAT f x\r\nSET g 1\r\nINCRBYFLOAT g 2\r\n",
	       "+OK\r\n$4\r\n10.6\r\n$3\r\n5.6\r\n$22\r\n1005.59999999999999998\r\n-ERR value is not a valid float\r\n"
	       "-ERR value is not a valid float\r\n+OK\r\n$1\r\n3\r\n");
}

static void expiry(void **state)
{
	struct wc_clock *clk = &h.lc->ctx.clock;

	(void)state;
	flush();
	clk->ms = 0;
	EXPECT("SET k v PX 300\r\nPTTL k\r\nTTL k\r\nSET e v EX 100\r\nTTL e\r\nPERSIST e\r\nTTL e\r\n"
	       "PERSIST e\r\nTTL nope\r\nPTTL nope\r\n",
	       "+OK\r\n:300\r\n:0\r\n+OK\r\n:100\r\n:1\r\n:-1\r\n:0\r\n:-2\r\n:-2\r\n");
	/* gone at 300 ms, not at the next second */
	clk->ms = 299;
	EXPECT("GET k\r\n", "$1\r\nv\r\n");
	clk->ms = 300;
	EXPECT("GET k\r\nEXISTS k\r\n", "$-1\r\n:0\r\n");
	clk->ms = 0;
	EXPECT("SET x 1\r\nEXPIRE x 100 NX\r\nEXPIRE x 50 NX\r\nEXPIRE x 200 GT\r\nEXPIRE x 100 GT\r\n"
	       "EXPIRE x 10 LT\r\nTTL x\r\nEXPIRE x 5 XX\r\nEXPIRE nope 5\r\nEXPIRE x 5 NX XX\r\n"
	       "EXPIRE x 5 GT LT\r\nEXPIRE x 5 BOGUS\r\n",
	       "+OK\r\n:1\r\n:0\r\n:1\r\n:0\r\n:1\r\n:10\r\n:1\r\n:0\r\n"
	       "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
	       "-ERR GT and LT options at the same time are not compatible\r\n"
	       "-ERR Unsupported option BOGUS\r\n");
	EXPECT("SET at 1\r\nPEXPIREAT at 1700001100500\r\nPEXPIRETIME at\r\nEXPIRETIME at\r\n"
	       "EXPIREAT at 1000\r\nEXISTS at\r\n",
	       "+OK\r\n:1\r\n:1700001100500\r\n:1700001100\r\n:1\r\n:0\r\n");
	EXPECT("SET g v EX 100\r\nGETEX g PX 5000\r\nPTTL g\r\nGETEX g PERSIST\r\nTTL g\r\nGETEX g\r\n"
	       "GETEX g EX 0\r\n",
	       "+OK\r\n$1\r\nv\r\n:5000\r\n$1\r\nv\r\n:-1\r\n$1\r\nv\r\n"
	       "-ERR invalid expire time in 'getex' command\r\n");
	EXPECT("SET kt v EX 100\r\nSET kt w KEEPTTL\r\nTTL kt\r\nSET kt z\r\nTTL kt\r\n",
	       "+OK\r\n+OK\r\n:100\r\n+OK\r\n:-1\r\n");
}

static void keys(void **state)
{
	(void)state;
	flush();
	EXPECT("MSET k1 a k2 b k3 c other d\r\nDEL k1 nope k2\r\nEXISTS k1 k3 k3\r\nTYPE k3\r\n"
	       "TYPE nope\r\nTOUCH k3 nope\r\nDBSIZE\r\n",
	       "+OK\r\n:2\r\n:2\r\n+string\r\n+none\r\n:1\r\n:2\r\n");
	EXPECT("RENAME k3 k4\r\nGET k4\r\nRENAME nope x\r\nRENAMENX k4 other\r\nRENAMENX k4 k5\r\n"
	       "RENAME k5 k5\r\nCOPY k5 k6\r\nCOPY k5 k6\r\nCOPY k5 k6 REPLACE\r\nCOPY k5 k7 DB 1\r\n"
	       "GET k6\r\n",
	       "+OK\r\n$1\r\nc\r\n-ERR no such key\r\n:0\r\n:1\r\n+OK\r\n:1\r\n:0\r\n:1\r\n"
	       "-ERR DB index is out of range\r\n$1\r\nc\r\n");
	EXPECT("KEYS k*\r\n", "*2\r\n$2\r\nk#\r\n$2\r\nk#\r\n");
	EXPECT("KEYS nomatch*\r\n", "*0\r\n");
	{
		struct dpc c = talk_seg("RANDOMKEY\r\n", 11, 1400);

		assert_true(c.n > 4 && rbuf[0] == '$' && rbuf[1] != '-');
		dpc_close(&h, &c);
	}
	flush();
	EXPECT("RANDOMKEY\r\nSCAN 0\r\nDBSIZE\r\nSCAN abc\r\n",
	       "$-1\r\n*2\r\n$1\r\n0\r\n*0\r\n:0\r\n-ERR invalid cursor\r\n");	/* (empty: done at once) */
}

/* SCAN returns every key present for the whole iteration, at least once. */
static void scan_all(void **state)
{
	char req[256], seen[300] = { 0 };
	unsigned long long cursor = 0;
	int calls = 0;

	(void)state;
	flush();
	for (int i = 0; i < 300; i += 10) {
		int n = 0;

		n += sprintf(req + n, "MSET");
		for (int j = i; j < i + 10; j++)
			n += sprintf(req + n, " sk%d v", j);
		sprintf(req + n, "\r\n");
		EXPECT(req, "+OK\r\n");
	}
	do {
		struct dpc c;
		const uint8_t *p;

		snprintf(req, sizeof(req), "SCAN %llu COUNT 50 MATCH sk*\r\n", cursor);
		c = talk_seg(req, strlen(req), 1400);
		assert_true(c.n > 0);
		assert_int_equal(sscanf((const char *)rbuf, "*2\r\n$%*d\r\n%llu", &cursor), 1);
		/* walk the keys */
		p = (const uint8_t *)strstr((const char *)rbuf + 4, "\r\n*");
		assert_non_null(p);
		while ((p = (const uint8_t *)strstr((const char *)p, "$")) != NULL) {
			int len, k;

			if (sscanf((const char *)p, "$%d\r\nsk%d", &len, &k) == 2 && k >= 0 && k < 300)
				seen[k] = 1;
			p++;
		}
		dpc_close(&h, &c);
		calls++;
	} while (cursor != 0 && calls < 10000);
	for (int i = 0; i < 300; i++)
		if (!seen[i])
			fail_msg("SCAN missed sk%d", i);
}

static void transactions(void **state)
{
	(void)state;
	flush();
	EXPECT("MULTI\r\nSET x 1\r\nINCR x\r\nGET x\r\nEXEC\r\n",
	       "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
	EXPECT("EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nDISCARD\r\n",
	       "-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n"
	       "-ERR MULTI calls can not be nested\r\n+OK\r\n");
	EXPECT("MULTI\r\nSET a\r\nNOSUCH\r\nSET a 1\r\nEXEC\r\nGET a\r\n",
	       "+OK\r\n-ERR wrong number of arguments for 'set' command\r\n"
	       "-ERR unknown command 'NOSUCH', with args beginning with: \r\n+QUEUED\r\n"
	       "-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n");
	/* a runtime error inside EXEC does not stop the others */
	EXPECT("SET s str\r\nMULTI\r\nINCR s\r\nSET t 1\r\nEXEC\r\n",
	       "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n"
	       "-ERR value is not an integer or out of range\r\n+OK\r\n");
	/* WATCH: an untouched key lets EXEC run, a changed one makes it answer null */
	EXPECT("SET w 1\r\nWATCH w\r\nMULTI\r\nINCR w\r\nEXEC\r\n",
	       "+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:2\r\n");
	{
		struct dpc a, b;

		assert_true(dp_redis_open(&h, &a, rbuf, sizeof(rbuf)));
		dpc_send(&h, &a, "WATCH w\r\nMULTI\r\nINCR w\r\n", 24, 1400);
		assert_true(dpc_matches("+OK\r\n+OK\r\n+QUEUED\r\n", rbuf, a.n));
		{
			static uint8_t other[256];

			assert_true(dp_redis_open(&h, &b, other, sizeof(other)));
			dpc_send(&h, &b, "SET w 100\r\n", 11, 1400);
			assert_true(dpc_matches("+OK\r\n", other, b.n));
			dpc_close(&h, &b);
		}
		a.n = 0;
		dpc_send(&h, &a, "EXEC\r\nGET w\r\nWATCH\r\nUNWATCH\r\nMULTI\r\nWATCH x\r\n", 45, 1400);
		assert_true(dpc_matches("*-1\r\n$3\r\n100\r\n-ERR wrong number of arguments for 'watch' "
				    "command\r\n+OK\r\n+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n",
				    rbuf, a.n));
		dpc_close(&h, &a);
	}
}

static void resp3_and_connection(void **state)
{
	(void)state;
	flush();
	EXPECT("HELLO 3\r\n",
	       "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n"
	       ":3\r\n$2\r\nid\r\n:#\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
	       "$7\r\nmodules\r\n*0\r\n");
	/* RESP3 nulls; RESP2's in the same places */
	EXPECT("HELLO 3\r\nGET nope\r\nSET n 1 NX\r\nSET n 1 NX\r\nMGET nope\r\nHELLO 2\r\nGET nope\r\n",
	       "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n"
	       ":3\r\n$2\r\nid\r\n:#\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
	       "$7\r\nmodules\r\n*0\r\n_\r\n+OK\r\n_\r\n*1\r\n_\r\n"
	       "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n"
	       ":2\r\n$2\r\nid\r\n:#\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
	       "$7\r\nmodules\r\n*0\r\n$-1\r\n");
	EXPECT("HELLO 4\r\nHELLO x\r\nHELLO 3 BOGUS\r\n",
	       "-NOPROTO unsupported protocol version\r\n"
	       "-ERR Protocol version is not an integer or out of range\r\n"
	       "-ERR Syntax error in HELLO option 'BOGUS'\r\n");
	EXPECT("ECHO\r\nECHO a b\r\nSELECT 0\r\nSELECT 1\r\nSELECT x\r\n",
	       "-ERR wrong number of arguments for 'echo' command\r\n"
	       "-ERR wrong number of arguments for 'echo' command\r\n+OK\r\n"
	       "-ERR DB index is out of range\r\n-ERR value is not an integer or out of range\r\n");
	EXPECT("CLIENT SETNAME conn1\r\nCLIENT GETNAME\r\nCLIENT SETNAME 'a b'\r\nCLIENT ID\r\n"
	       "CLIENT BOGUS\r\nCLIENT\r\n",
	       "+OK\r\n$5\r\nconn1\r\n-ERR Client names cannot contain spaces, newlines or special "
	       "characters.\r\n:#\r\n-ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.\r\n"
	       "-ERR wrong number of arguments for 'client' command\r\n");
	EXPECT("CLIENT REPLY OFF\r\nPING\r\nSET q 1\r\nCLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nPING\r\n"
	       "GET q\r\n",
	       "+OK\r\n$1\r\n1\r\n");
	EXPECT("AUTH x\r\nAUTH a b\r\n",
	       "-ERR AUTH <password> called without any password configured for the default user. "
	       "Are you sure your configuration is correct?\r\n"
	       "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	EXPECT("bogus 1 2\r\nGET\r\nGET a b\r\n",
	       "-ERR unknown command 'bogus', with args beginning with: '1' '2' \r\n"
	       "-ERR wrong number of arguments for 'get' command\r\n"
	       "-ERR wrong number of arguments for 'get' command\r\n");
	EXPECT("RESET\r\n", "+RESET\r\n");
}

static void inline_and_protocol_errors(void **state)
{
	struct dpc c;

	(void)state;
	EXPECT("SET \"a b\" \"x\\ty\\x41\"\r\nGET \"a b\"\r\nSET 'q' 'it\\'s'\r\nGET q\r\n\r\n   \r\n",
	       "+OK\r\n$4\r\nx\tyA\r\n+OK\r\n$4\r\nit's\r\n");
	/* each of these closes the connection after its error */
	c = talk_seg("SET \"a b\r\n", 10, 1400);
	assert_true(dpc_matches("-ERR Protocol error: unbalanced quotes in request\r\n", rbuf, c.n));
	assert_true(c.fin);
	dpc_close(&h, &c);
	c = talk_seg("*2\r\n$3\r\nGET\r\n%3\r\n", 17, 1400);
	assert_true(dpc_matches("-ERR Protocol error: expected '$', got '%'\r\n", rbuf, c.n));
	assert_true(c.fin);
	dpc_close(&h, &c);
	c = talk_seg("*2\r\n$3\r\nGET\r\n$03\r\nfoo\r\n", 22, 1400);
	assert_true(dpc_matches("-ERR Protocol error: invalid bulk length\r\n", rbuf, c.n));
	dpc_close(&h, &c);
	c = talk_seg("*02\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", 22, 1400);
	assert_true(dpc_matches("-ERR Protocol error: invalid multibulk length\r\n", rbuf, c.n));
	dpc_close(&h, &c);
	c = talk_seg("*x\r\n", 4, 1400);
	assert_true(dpc_matches("-ERR Protocol error: invalid multibulk length\r\n", rbuf, c.n));
	dpc_close(&h, &c);
	c = talk_seg("*1\r\n$-5\r\n", 9, 1400);
	assert_true(dpc_matches("-ERR Protocol error: invalid bulk length\r\n", rbuf, c.n));
	dpc_close(&h, &c);
	/* an inline line over 64 KiB */
	{
		static char big[70000];

		memset(big, 'a', sizeof(big));
		c = talk_seg(big, sizeof(big), 1400);
		assert_true(dpc_matches("-ERR Protocol error: too big inline request\r\n", rbuf, c.n));
		assert_true(c.fin);
		dpc_close(&h, &c);
	}
	/* cross-protocol: hung up in silence */
	c = talk_seg("POST / HTTP/1.1\r\nHost: x\r\n\r\n", 28, 1400);
	assert_int_equal(c.n, 0);
	assert_true(c.fin);
	dpc_close(&h, &c);
	c = talk_seg("*1\r\n$5\r\nHost:\r\n", 15, 1400);
	assert_int_equal(c.n, 0);
	assert_true(c.fin);
	dpc_close(&h, &c);
	c = talk_seg("GET / HTTP/1.1\r\n", 16, 1400);
	assert_int_equal(c.n, 0);
	assert_true(c.fin);
	dpc_close(&h, &c);
	c = talk_seg("QUIT\r\nPING\r\n", 12, 1400);
	assert_true(dpc_matches("+OK\r\n", rbuf, c.n));
	assert_true(c.fin);
	dpc_close(&h, &c);
}

/*
 * A new connection starts as a new client: nothing of an earlier connection's
 * (whose session memory it may reuse) shows, its name above all.
 */
static void fresh_connection_state(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		EXPECT("CLIENT GETNAME\r\n", "$-1\r\n");
		EXPECT("CLIENT SETNAME old-name\r\nCLIENT SETINFO LIB-NAME oldlib\r\n"
		       "CLIENT SETINFO LIB-VER 9.9\r\nHELLO 3 SETNAME hello-name\r\n"
		       "CLIENT GETNAME\r\n",
		       "+OK\r\n+OK\r\n+OK\r\n%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\n"
		       "version\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:#\r\n"
		       "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\n"
		       "modules\r\n*0\r\n$10\r\nhello-name\r\n");
		EXPECT("CLIENT GETNAME\r\nGET nope\r\n", "$-1\r\n$-1\r\n");
	}
}

/* A lone GET per segment takes the transport's fast path: the same replies, counted alike. */
static void single_get_fast_path(void **state)
{
	static const struct {
		const char *req, *want;
	} steps[] = {
		{ "*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n", "+OK\r\n" },
		{ "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", "$3\r\nbar\r\n" },
		{ "*2\r\n$3\r\nget\r\n$3\r\nfoo\r\n", "$3\r\nbar\r\n" },
		{ "*2\r\n$3\r\ngEt\r\n$4\r\nnope\r\n", "$-1\r\n" },
		{ "HELLO 3\r\n", NULL },
		{ "*2\r\n$3\r\nGET\r\n$4\r\nnope\r\n", "_\r\n" },
		{ "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "_\r\n" },	/* (an empty key: general path) */
	};
	struct dpc c;
	uint64_t calls0 = h.lc->rdst.calls[rd_get_cmd_id];

	(void)state;
	flush();
	assert_true(dp_redis_open(&h, &c, rbuf, sizeof(rbuf)));
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		c.n = 0;
		dpc_send(&h, &c, steps[i].req, strlen(steps[i].req), 1400);
		if (steps[i].want && !dpc_matches(steps[i].want, rbuf, c.n))
			fail_msg("step %u: wanted %s got %s", i, steps[i].want, esc(rbuf, c.n));
	}
	dpc_close(&h, &c);
	assert_int_equal(h.lc->rdst.calls[rd_get_cmd_id] - calls0, 5);
}

/* The same pipeline cut at every segment size gives the same bytes. */
static void pipeline_any_cut(void **state)
{
	static const char req[] =
		"*3\r\n$3\r\nSET\r\n$2\r\npk\r\n$5\r\nhello\r\nGET pk\r\n*2\r\n$4\r\nINCR\r\n$2\r\npn\r\n"
		"MGET pk pn nope\r\nPING\r\n*1\r\n$4\r\nPING\r\nDEL pk pn\r\n";
	static const char want[] =
		"+OK\r\n$5\r\nhello\r\n:1\r\n*3\r\n$5\r\nhello\r\n$1\r\n1\r\n$-1\r\n+PONG\r\n+PONG\r\n:2\r\n";

	(void)state;
	for (size_t seg = 1; seg <= sizeof(req); seg += (seg < 20 ? 1 : 37)) {
		struct dpc c = talk_seg(req, sizeof(req) - 1, seg);

		if (c.n != sizeof(want) - 1 || memcmp(rbuf, want, c.n) != 0)
			fail_msg("segments of %zu: got %.*s", seg, (int)c.n, rbuf);
		dpc_close(&h, &c);
	}
}

/* A 600 KB value sent slowly: staged, stored whole, read back; the stage pool is whole again. */
static void large_value(void **state)
{
	static char req[700000];
	size_t vlen = 600000, n;
	struct dpc c;

	(void)state;
	n = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vlen);
	for (size_t i = 0; i < vlen; i++)
		req[n + i] = (char)('a' + i % 26);
	n += vlen;
	memcpy(req + n, "\r\nSTRLEN big\r\nGETRANGE big 599990 -1\r\n", 38);
	n += 38;
	c = talk_seg(req, n, 1000);
	{
		char want[64];
		int w = sprintf(want, "+OK\r\n:600000\r\n$10\r\n");

		for (size_t i = 599990; i < 600000; i++)
			want[w++] = (char)('a' + i % 26);
		memcpy(want + w, "\r\n", 3);
		assert_int_equal(c.n, strlen(want));
		assert_memory_equal(rbuf, want, c.n);
	}
	dpc_close(&h, &c);
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
	assert_true(h.lc->stage.admitted >= 1);
}

static void advance(uint64_t ms)
{
	h.lc->tcp->now_ms += ms;
	h.lc->tcp->now_us += ms * 1000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
}

/*
 * A client silent in the middle of a request is reset after --request-timeout,
 * also when what it sent of a large bulk went into a stage (and so no longer
 * waits in the input queue); a client idle between commands is not.
 */
static void request_timeout_resets_silent_uploads(void **state)
{
	static char part[40000];
	static const char head[] = "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\n";
	uint32_t ms = h.app.cfg.request_timeout_ms;
	uint64_t before = h.lc->tcp->st.request_timeouts;
	struct dpc staged, line, idle;
	static uint8_t b1[256], b2[256], b3[256];

	(void)state;
	flush();
	assert_true(ms > 0);
	memset(part, 'u', sizeof(part));
	assert_true(dp_redis_open(&h, &staged, b1, sizeof(b1)));
	assert_true(dp_redis_open(&h, &line, b2, sizeof(b2)));
	assert_true(dp_redis_open(&h, &idle, b3, sizeof(b3)));
	dpc_send(&h, &staged, head, sizeof(head) - 1, 1400);
	dpc_send(&h, &staged, part, sizeof(part), 1400);
	assert_true(h.lc->stage.nfree < h.lc->stage.nchunks);	/* the bulk went into a stage */
	dpc_send(&h, &line, "SET x", 5, 1400);
	dpc_send(&h, &idle, "PING\r\n", 6, 1400);
	for (uint32_t t = 0; t < ms + 200; t += 50)
		advance(50);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, staged.cport, DP_REDIS_PORT));
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, line.cport, DP_REDIS_PORT));
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, idle.cport, DP_REDIS_PORT));
	assert_int_equal(h.lc->tcp->st.request_timeouts, before + 2);
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);	/* the stage came back */
	dpc_close(&h, &idle);
	EXPECT("EXISTS half\r\n", ":0\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strings),
		cmocka_unit_test(expiry),
		cmocka_unit_test(keys),
		cmocka_unit_test(scan_all),
		cmocka_unit_test(transactions),
		cmocka_unit_test(resp3_and_connection),
		cmocka_unit_test(inline_and_protocol_errors),
		cmocka_unit_test(fresh_connection_state),
		cmocka_unit_test(single_get_fast_path),
		cmocka_unit_test(pipeline_any_cut),
		cmocka_unit_test(large_value),
		cmocka_unit_test(request_timeout_resets_silent_uploads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
