/*
 * test_mc_session.c - the memcached protocol engine end to end against real
 * partitions: byte-exact replies for classic and meta commands, errors that
 * keep the stream in sync, long get lines, input split at every possible
 * point, and writes that travel to a partition owned by another lcore.
 *
 * Expected replies may contain '#', which matches one or more digits (CAS
 * uniques, access times).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "proto/mc_session.h"

#define MAX_VALUE 4096

/* ---- a receive queue that delivers bytes in fixed-size pieces ---- */

struct fake_in {
	struct mc_inq q;
	const uint8_t *data;
	uint64_t head;		/* consumed */
	uint64_t arrived;	/* delivered so far */
	uint64_t chunk;		/* receive buffer size */
};

static const uint8_t *fake_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct fake_in *f = (const struct fake_in *)q;
	uint64_t pos = f->head + off;
	uint64_t boundary = (pos / f->chunk + 1) * f->chunk;

	*contig = (boundary < f->arrived ? boundary : f->arrived) - pos;
	return f->data + pos;
}

static void fake_consume(struct mc_inq *q, uint64_t n)
{
	struct fake_in *f = (struct fake_in *)q;

	assert_true(n <= q->len);
	f->head += n;
	q->len -= n;
}

/* ---- a reply sink with small windows ---- */

static char outbuf[1 << 20];
static size_t outlen;

static bool sink_more(struct mc_out *o)
{
	size_t win = 7;

	if (outlen + win > sizeof(outbuf))
		return false;
	o->p = (uint8_t *)outbuf + outlen;
	o->end = o->p + win;
	outlen += win;
	return true;
}

/* Backpressure: when set, every full_every-th question says "the peer has not read yet". */
static unsigned full_every, full_calls, pauses;

static bool sink_full(struct mc_out *o)
{
	(void)o;
	return full_every && ++full_calls % full_every == 0;
}

static void sink_init(struct mc_out *o)
{
	memset(o, 0, sizeof(*o));
	o->more = sink_more;
	o->full = sink_full;
	outlen = 0;
}

static size_t sink_len(const struct mc_out *o)
{
	return o->p ? (size_t)(o->p - (uint8_t *)outbuf) : 0;
}

/* ---- two partitions: "r..." keys live on a remote owner ---- */

static struct wc_part *parts[2];
static const unsigned owners[2] = { 0, 1 };
static struct wc_ctx local_ctx, owner_ctx;
static struct wc_mbox *mbox;
static struct wc_mbox_req pool[8];
static int pool_used[8];
static bool use_remote;

static void route(const struct mc_env *env, const uint8_t *key, uint32_t klen,
		  struct mc_route *out)
{
	bool remote = use_remote && klen > 0 && key[0] == 'r';

	(void)env;
	out->part = parts[remote];
	out->owner = owners[remote];
}

static struct wc_mbox_req *req_get(struct mc_env *env)
{
	(void)env;
	for (int i = 0; i < 8; i++)
		if (!pool_used[i]) {
			pool_used[i] = 1;
			return &pool[i];
		}
	return NULL;
}

static void req_put(struct mc_env *env, struct wc_mbox_req *r)
{
	(void)env;
	pool_used[r - pool] = 0;
}

static bool stats(struct mc_env *env, const struct mc_tok *arg, struct mc_out *out)
{
	(void)env;
	if (arg->len)
		return false;
	mc_out_str(out, "STAT pid 1\r\nEND\r\n");
	return true;
}

static const struct mc_settings settings = {
	.version = "1.6.21-wirecache-test", .max_value = MAX_VALUE, .lcores = 2,
};

static struct mc_env env;

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	parts[0] = test_part(8u << 20, MAX_VALUE, 10);
	parts[1] = test_part(8u << 20, MAX_VALUE, 10);
	test_ctx(&local_ctx, 1000);
	test_ctx(&owner_ctx, 1000);
	mbox = wc_mbox_create(2, 16, &wc_mem_mmap);
	env = (struct mc_env){ .ctx = &local_ctx, .self = 0, .mbox = mbox, .set = &settings,
			       .route = route, .nparts = 2, .parts = parts,
			       .part_owner = owners, .req_get = req_get, .req_put = req_put,
			       .stats = stats };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_part_destroy(parts[0]);
	wc_part_destroy(parts[1]);
	wc_mbox_destroy(mbox);
	rcu_unregister_thread();
	return 0;
}

static int reset(void **state)
{
	(void)state;
	wc_flush(parts[0], &local_ctx, 0);
	wc_flush(parts[1], &owner_ctx, 0);
	use_remote = false;
	return 0;
}

/*
 * Feed input step bytes at a time in receive buffers of chunk bytes, running
 * the session (and the remote owner) until everything is answered. Returns
 * the final run state; the replies are in outbuf.
 */
static enum mc_run converse(const char *input, size_t len, uint64_t chunk, uint64_t step)
{
	struct fake_in in = { .q = { .peek = fake_peek, .consume = fake_consume },
			      .data = (const uint8_t *)input, .chunk = chunk };
	struct mc_session *s = calloc(1, sizeof(*s));
	struct mc_out out;
	enum mc_run r = MC_RUN_MORE;

	sink_init(&out);
	mc_session_init(s);
	for (int guard = 0; guard < 1000000; guard++) {
		if (in.arrived < len && r != MC_RUN_PENDING && r != MC_RUN_BUSY) {
			uint64_t n = len - in.arrived < step ? len - in.arrived : step;

			in.arrived += n;
			in.q.len += n;
		}
		r = mc_session_run(s, &in.q, &out, &env);
		if (r == MC_RUN_CLOSE)
			break;
		if (r == MC_RUN_FULL) {
			pauses++;	/* the peer reads; run again */
			continue;
		}
		if (r == MC_RUN_PENDING || r == MC_RUN_BUSY) {
			struct wc_mbox_req *done[8];
			unsigned n;

			wc_mbox_serve(mbox, 1, &owner_ctx, 64);
			n = wc_mbox_collect(mbox, 0, done, 8);
			for (unsigned i = 0; i < n; i++)
				mc_session_complete(done[i]->cookie, done[i], &in.q, &out, &env);
			continue;
		}
		if (in.arrived == len && in.q.len == 0)
			break;
		if (in.arrived == len && r == MC_RUN_MORE)
			break;	/* an incomplete command at the end of input */
	}
	outlen = sink_len(&out);
	outbuf[outlen] = 0;
	free(s);
	return r;
}

static enum mc_run talk(const char *input)
{
	return converse(input, strlen(input), 1u << 20, 1u << 20);
}

/* '#' in want matches one or more digits */
static bool matches(const char *want, const char *got)
{
	while (*want) {
		if (*want == '#') {
			if (*got < '0' || *got > '9')
				return false;
			while (*got >= '0' && *got <= '9')
				got++;
			want++;
			continue;
		}
		if (*want++ != *got++)
			return false;
	}
	return *got == 0;
}

#define EXPECT(input, want)                                                           \
	do {                                                                          \
		talk(input);                                                          \
		if (!matches(want, outbuf))                                           \
			fail_msg("for %s\nwanted %s\n   got %s", input, want, outbuf); \
	} while (0)

static void classic_storage_and_retrieval(void **state)
{
	(void)state;
	EXPECT("set foo 5 0 3\r\nbar\r\nget foo\r\n", "STORED\r\nVALUE foo 5 3\r\nbar\r\nEND\r\n");
	EXPECT("gets nope foo\r\n", "VALUE foo 5 3 #\r\nbar\r\nEND\r\n");
	EXPECT("add foo 0 0 1\r\nx\r\nadd new 0 0 1\r\nx\r\n", "NOT_STORED\r\nSTORED\r\n");
	EXPECT("replace nope 0 0 1\r\nx\r\nreplace new 0 0 2\r\nyy\r\n",
	       "NOT_STORED\r\nSTORED\r\n");
	EXPECT("append foo 0 0 2\r\n++\r\nprepend foo 0 0 2\r\n--\r\nget foo\r\n",
	       "STORED\r\nSTORED\r\nVALUE foo 5 7\r\n--bar++\r\nEND\r\n");
	EXPECT("append nope 0 0 1\r\nx\r\n", "NOT_STORED\r\n");
	EXPECT("set empty 0 0 0\r\n\r\nget empty\r\n", "STORED\r\nVALUE empty 0 0\r\n\r\nEND\r\n");
	/* a bare \n ends lines too */
	EXPECT("set lf 0 0 1\nz\r\nget lf\n", "STORED\r\nVALUE lf 0 1\r\nz\r\nEND\r\n");
	/* binary-safe values */
	converse("set bin 0 0 4\r\n\r\n\0\n\r\n", 21, 1 << 20, 1 << 20);
	assert_true(matches("STORED\r\n", outbuf));
	converse("get bin\r\n", 9, 1 << 20, 1 << 20);
	assert_int_equal(outlen, strlen("VALUE bin 0 4\r\n") + 4 + 2 + 5);
	assert_memory_equal(outbuf + 15, "\r\n\0\n", 4);
}

static void classic_cas(void **state)
{
	char cmd[128];
	unsigned long long cas;

	(void)state;
	EXPECT("cas c 0 0 1 5\r\nx\r\n", "NOT_FOUND\r\n");
	talk("set c 0 0 1\r\nx\r\ngets c\r\n");
	assert_int_equal(sscanf(outbuf, "STORED\r\nVALUE c 0 1 %llu", &cas), 1);
	snprintf(cmd, sizeof(cmd), "cas c 0 0 1 %llu\r\ny\r\ncas c 0 0 1 %llu\r\nz\r\nget c\r\n",
		 cas + 1, cas);
	EXPECT(cmd, "EXISTS\r\nSTORED\r\nVALUE c 0 1\r\nz\r\nEND\r\n");
	EXPECT(cmd, "EXISTS\r\nEXISTS\r\nVALUE c 0 1\r\nz\r\nEND\r\n");
}

static void classic_keyed(void **state)
{
	(void)state;
	EXPECT("set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr nope 1\r\n",
	       "STORED\r\n15\r\n0\r\nNOT_FOUND\r\n");
	EXPECT("set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\n", "STORED\r\n1\r\n");
	EXPECT("set t 0 0 1\r\nx\r\nincr t 1\r\n",
	       "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	EXPECT("delete n\r\ndelete n\r\ndelete t 0\r\n", "DELETED\r\nNOT_FOUND\r\nDELETED\r\n");
	EXPECT("set t 0 0 1\r\nx\r\ntouch t 10\r\ntouch nope 10\r\n",
	       "STORED\r\nTOUCHED\r\nNOT_FOUND\r\n");
	EXPECT("gat 100 t nope\r\ngats 100 t\r\n",
	       "VALUE t 0 1\r\nx\r\nEND\r\nVALUE t 0 1 #\r\nx\r\nEND\r\n");
	EXPECT("gat -1 t\r\nget t\r\n", "VALUE t 0 1\r\nx\r\nEND\r\nEND\r\n");
}

static void classic_misc(void **state)
{
	(void)state;
	EXPECT("version\r\n", "VERSION 1.6.21-wirecache-test\r\n");
	EXPECT("verbosity 1\r\nverbosity 1 noreply\r\n", "OK\r\n");
	EXPECT("stats\r\n", "STAT pid 1\r\nEND\r\n");
	EXPECT("stats bogus\r\n", "ERROR\r\n");
	EXPECT("set f 0 0 1\r\nx\r\nflush_all\r\nget f\r\n", "STORED\r\nOK\r\nEND\r\n");
	EXPECT("flush_all noreply\r\nmn\r\n", "MN\r\n");
	/* delayed flush: items stay until the deadline */
	EXPECT("set f 0 0 1\r\nx\r\nflush_all 10\r\nget f\r\n",
	       "STORED\r\nOK\r\nVALUE f 0 1\r\nx\r\nEND\r\n");
	local_ctx.clock.now += 10;
	owner_ctx.clock.now += 10;
	EXPECT("get f\r\n", "END\r\n");
	assert_int_equal(talk("quit\r\nget f\r\n"), MC_RUN_CLOSE);
	assert_string_equal(outbuf, "");
}

static void noreply_everywhere(void **state)
{
	(void)state;
	EXPECT("set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\n"
	       "append a 0 0 1 noreply\r\nz\r\nincr a 1 noreply\r\n"
	       "touch a 10 noreply\r\ndelete nope noreply\r\nget a\r\n",
	       "VALUE a 0 2\r\nxz\r\nEND\r\n");
	/*
	 * as memcached: a classic command whose noreply was understood gets no
	 * error either (memcached's t/issue_3.t), its data block still skipped
	 */
	EXPECT("set a 0 x 1 noreply\r\nx\r\nget a\r\n", "VALUE a 0 2\r\nxz\r\nEND\r\n");
	EXPECT("delete a 10 noreply\r\nadd a 0 0 1\r\nx\r\n", "NOT_STORED\r\n");
	EXPECT("incr a abc noreply\r\ntouch a y noreply\r\nflush_all x noreply\r\n"
	       "verbosity x noreply\r\ncas a 0 0 1 x noreply\r\nx\r\nmn\r\n", "MN\r\n");
	EXPECT("set b 0 0 1 noreply\r\nxy\r\nmn\r\n", "ERROR\r\nMN\r\n");	/* bad chunk: silent */
	/* without noreply, or when it cannot be told apart, the error is answered */
	EXPECT("delete a 10\r\n",
	       "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
	EXPECT("set a 0 0 1 noreply extra\r\n", "ERROR\r\n");
	EXPECT("set b 0 0 1\r\nxy\r\nmn\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n");
	/* meta commands have no noreply: their errors always go out */
	EXPECT("ma a q Jx\r\nmn\r\n", "CLIENT_ERROR invalid or duplicate flag\r\nMN\r\n");
}

static void errors_keep_stream_in_sync(void **state)
{
	char line[600];

	(void)state;
	EXPECT("bogus\r\n\r\nGET a\r\n", "ERROR\r\nERROR\r\nERROR\r\n");
	EXPECT("set k 0 0 3\r\nabcde\r\nget k\r\n",
	       "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
	/* too large: refused, its data block skipped */
	snprintf(line, sizeof(line), "set big 0 0 %u\r\n", MAX_VALUE + 1);
	{
		size_t n = strlen(line);
		char *in = calloc(1, n + MAX_VALUE + 1 + 2 + 16);

		memcpy(in, line, n);
		memset(in + n, 'v', MAX_VALUE + 1);
		memcpy(in + n + MAX_VALUE + 1, "\r\nget big\r\n", 11);
		converse(in, n + MAX_VALUE + 1 + 11, 100, 37);
		assert_string_equal(outbuf, "SERVER_ERROR object too large for cache\r\nEND\r\n");
		free(in);
	}
	/* a 251-byte key: refused, data swallowed */
	memcpy(line, "set ", 4);
	memset(line + 4, 'k', 251);
	strcpy(line + 255, " 0 0 3\r\nabc\r\nget x\r\n");
	EXPECT(line, "CLIENT_ERROR bad command line format\r\nEND\r\n");
	memcpy(line, "get ", 4);
	memset(line + 4, 'k', 251);
	strcpy(line + 255, "\r\nmn\r\n");
	EXPECT(line, "CLIENT_ERROR bad command line format\r\nMN\r\n");
	/* a get with one key too long is answered with the error alone (t/issue_152.t) */
	EXPECT("set a 1 0 1\r\na\r\n", "STORED\r\n");
	memcpy(line, "get a ", 6);
	memset(line + 6, 'k', 251);
	strcpy(line + 257, " a\r\nmn\r\n");
	EXPECT(line, "CLIENT_ERROR bad command line format\r\nMN\r\n");
	memcpy(line, "gat 0 a ", 8);
	memset(line + 8, 'k', 251);
	strcpy(line + 259, "\r\nmn\r\n");
	EXPECT(line, "CLIENT_ERROR bad command line format\r\nMN\r\n");
	/* numbers */
	EXPECT("incr x abc\r\ntouch x y\r\n",
	       "CLIENT_ERROR invalid numeric delta argument\r\n"
	       "CLIENT_ERROR invalid exptime argument\r\n");
}

/* Feed "<line>" + a block of vlen bytes + tail, pieces of step bytes. */
static void talk_block(const char *line, uint32_t vlen, const char *tail, uint64_t step)
{
	size_t n = strlen(line), t = strlen(tail);
	char *in = calloc(1, n + vlen + 2 + t + 1);

	memcpy(in, line, n);
	memset(in + n, 'v', vlen);
	memcpy(in + n + vlen, "\r\n", 2);
	memcpy(in + n + vlen + 2, tail, t);
	converse(in, n + vlen + 2 + t, 1400, step);
	free(in);
}

/*
 * memcached: a store refused for its size leaves no stale value behind, for
 * a plain set and for any meta set (t/getset.t); a refused add, replace,
 * append, prepend or cas keeps the value. The same when the key's partition
 * is owned by another lcore, and whether the block arrives at once or slowly.
 */
static void refused_store_drops_old_value(void **state)
{
	char line[128];
	static const char *const keepers[] = { "add", "replace", "append", "prepend" };

	(void)state;
	for (int remote = 0; remote < 2; remote++) {
		const char *k = remote ? "rk" : "lk";

		use_remote = remote;
		for (uint64_t step = 1400; step <= (1u << 20); step *= 700) {
			snprintf(line, sizeof(line), "set %s 0 0 3\r\nMOO\r\n", k);
			talk(line);
			snprintf(line, sizeof(line), "set %s 0 0 %u\r\n", k, MAX_VALUE + 1);
			snprintf(line + 64, 64, "get %s\r\n", k);
			talk_block(line, MAX_VALUE + 1, line + 64, step);
			assert_string_equal(outbuf, "SERVER_ERROR object too large for cache\r\nEND\r\n");

			snprintf(line, sizeof(line), "set %s 0 0 3\r\nMOO\r\n", k);
			talk(line);
			snprintf(line, sizeof(line), "ms %s %u MR\r\n", k, MAX_VALUE + 1);
			snprintf(line + 64, 64, "mg %s v\r\n", k);
			talk_block(line, MAX_VALUE + 1, line + 64, step);
			assert_string_equal(outbuf, "SERVER_ERROR object too large for cache\r\nEN\r\n");
		}
		for (unsigned i = 0; i < 4; i++) {
			snprintf(line, sizeof(line), "set %s 0 0 3\r\nMOO\r\n", k);
			talk(line);
			snprintf(line, sizeof(line), "%s %s 0 0 %u\r\n", keepers[i], k, MAX_VALUE + 1);
			snprintf(line + 64, 64, "get %s\r\n", k);
			talk_block(line, MAX_VALUE + 1, line + 64, 1u << 20);
			snprintf(line, sizeof(line),
				 "SERVER_ERROR object too large for cache\r\nVALUE %s 0 3\r\nMOO\r\n"
				 "END\r\n", k);
			if (strcmp(outbuf, line) != 0)
				fail_msg("%s too large: %s", keepers[i], outbuf);
		}
		/* noreply: nothing said, the value is still gone */
		snprintf(line, sizeof(line), "set %s 0 0 3\r\nMOO\r\n", k);
		talk(line);
		snprintf(line, sizeof(line), "set %s 0 0 %u noreply\r\n", k, MAX_VALUE + 1);
		snprintf(line + 64, 64, "get %s\r\n", k);
		talk_block(line, MAX_VALUE + 1, line + 64, 1u << 20);
		assert_string_equal(outbuf, "END\r\n");
	}
	assert_true(local_ctx.st.refused_too_large + owner_ctx.st.refused_too_large >= 8);
}

static void long_lines(void **state)
{
	static char in[40000];
	static char want[40000];
	size_t n = 0, w = 0;

	(void)state;
	/* a line of 2048 bytes without a newline closes, unless it is a get */
	memset(in, 'x', 3000);
	assert_int_equal(converse(in, 3000, 512, 512), MC_RUN_CLOSE);
	/* a 10 KB multi-get split over many receive buffers */
	talk("set key_7 0 0 1\r\n7\r\nset key_777 0 0 3\r\n777\r\n");
	n = (size_t)sprintf(in, "get");
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(in + n, " key_%d", i);
	n += (size_t)sprintf(in + n, "\r\nmn\r\n");
	w = (size_t)sprintf(want, "VALUE key_7 0 1\r\n7\r\nVALUE key_777 0 3\r\n777\r\nEND\r\nMN\r\n");
	for (uint64_t chunk = 100; chunk <= 5000; chunk += 1633) {
		converse(in, n, chunk, 1 + chunk / 3);
		assert_int_equal(outlen, w);
		assert_string_equal(outbuf, want);
	}
}

static void meta_basics(void **state)
{
	(void)state;
	EXPECT("ms m1 2 T0 F3\r\nhi\r\n", "HD\r\n");
	EXPECT("mg m1 v f s k\r\n", "VA 2 f3 s2 km1\r\nhi\r\n");
	EXPECT("mg m1\r\n", "HD\r\n");
	EXPECT("mg m1 Oop t c\r\n", "HD Oop t-1 c#\r\n");
	EXPECT("mg missing v Oxyz k\r\n", "EN Oxyz kmissing\r\n");
	EXPECT("mg missing v q\r\nmn\r\n", "MN\r\n");
	EXPECT("ms m1 3 MA\r\nend\r\nmg m1 v\r\n", "HD\r\nVA 5\r\nhiend\r\n");
	EXPECT("ms m1 3 MP c\r\nbeg\r\n", "HD c#\r\n");
	EXPECT("ms new 1 ME\r\nz\r\nms new 1 ME\r\nz\r\n", "HD\r\nNS\r\n");
	EXPECT("ms zz 1 MR\r\nz\r\nms zz 1 MA\r\nz\r\n", "NS\r\nNS\r\n");
	EXPECT("ms zz 1 MA N30\r\nz\r\nmg zz v t\r\n", "HD\r\nVA 1 t30\r\nz\r\n");
	EXPECT("ms q1 1 q\r\nx\r\nms q1 1 q ME\r\ny\r\nmn\r\n", "NS\r\nMN\r\n");
	EXPECT("ms k 1 s k Oab\r\nx\r\n", "HD s1 kk Oab\r\n");
	EXPECT("ms m2 1 MX\r\nx\r\nmn\r\n", "CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n");
	EXPECT("ms m2 2 I\r\nxxx\r\nmn\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n");
	EXPECT("mn\r\n", "MN\r\n");
	EXPECT("me m1\r\n", "ME m1 exp=-1 la=# cas=# fetch=no cls=1 size=#\r\n");
	EXPECT("mg m1\r\nme m1\r\n", "HD\r\nME m1 exp=-1 la=# cas=# fetch=yes cls=1 size=#\r\n");
	EXPECT("me nope\r\n", "EN\r\n");
	/* mg C: no value when the CAS matches */
	talk("mg m1 c\r\n");
	{
		char cmd[64];
		unsigned long long cas;

		assert_int_equal(sscanf(outbuf, "HD c%llu", &cas), 1);
		snprintf(cmd, sizeof(cmd), "mg m1 v C%llu\r\nmg m1 v C1\r\n", cas);
		EXPECT(cmd, "HD\r\nVA 8\r\nbeghiend\r\n");
		snprintf(cmd, sizeof(cmd), "ms m1 1 C%llu\r\nZ\r\nms m1 1 C%llu\r\nZ\r\n", cas, cas);
		EXPECT(cmd, "HD\r\nEX\r\n");
		EXPECT("ms nope 1 C5\r\nZ\r\n", "NF\r\n");
	}
	/* base64 keys */
	EXPECT("ms Zm9v 3 b\r\nbar\r\nget foo\r\n", "HD\r\nVALUE foo 0 3\r\nbar\r\nEND\r\n");
	EXPECT("mg Zm9v b k v\r\n", "VA 3 kZm9v b\r\nbar\r\n");
	EXPECT("mg Zm9v* b\r\n", "CLIENT_ERROR error decoding key\r\n");
}

static void meta_delete_and_arith(void **state)
{
	(void)state;
	EXPECT("md nope\r\nmd nope q\r\n", "NF\r\nNF\r\n");
	EXPECT("ms d 1\r\nx\r\nmd d q\r\nmd d Oo k\r\n", "HD\r\nNF Oo kd\r\n");
	EXPECT("ms d 3\r\nabc\r\nmd d x\r\nmg d v s\r\n", "HD\r\nHD\r\nVA 0 s0\r\n\r\n");
	EXPECT("md d C1\r\n", "EX\r\n");
	EXPECT("ma cnt\r\nma cnt N0 J5 v\r\nma cnt v\r\nma cnt MD D10 v\r\n",
	       "NF\r\nVA 1\r\n5\r\nVA 1\r\n6\r\nVA 1\r\n0\r\n");
	EXPECT("ma cnt q\r\nma cnt D3 v t c k\r\nma cnt T60 t\r\n",
	       "VA 1 t-1 c# kcnt\r\n4\r\nHD t60\r\n");
	EXPECT("ms s 1\r\nx\r\nma s\r\n",
	       "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	EXPECT("ma cnt C1\r\n", "EX\r\n");
	EXPECT("ma cnt MX\r\nma cnt v v\r\n",
	       "CLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid or duplicate flag\r\n");
}

/* The stampede patterns a cache tier needs: vivify, early recache, stale-while-revalidate. */
static void meta_stampede(void **state)
{
	(void)state;
	/* N: the first client to miss wins, later ones see Z */
	EXPECT("mg viv N30 v c\r\n", "VA 0 c# W\r\n\r\n");
	EXPECT("mg viv N30 v\r\nmg viv N30 v t\r\n", "VA 0 Z\r\n\r\nVA 0 t30 Z\r\n\r\n");
	EXPECT("ms viv 4\r\nreal\r\nmg viv N30 v\r\n", "HD\r\nVA 4\r\nreal\r\n");
	/* R: a TTL under the threshold wins one recache */
	EXPECT("ms r1 1 T10\r\nx\r\nmg r1 R30 v t\r\nmg r1 R30 v t\r\nmg r1 R5 v\r\n",
	       "HD\r\nVA 1 t10 W\r\nx\r\nVA 1 t10 Z\r\nx\r\nVA 1 Z\r\nx\r\n");
	/* md I: stale, served with X, one W */
	EXPECT("ms s1 3 T100\r\nold\r\nmd s1 I T30\r\nmg s1 v t\r\nmg s1 v\r\n",
	       "HD\r\nHD\r\nVA 3 t30 X W\r\nold\r\nVA 3 Z X\r\nold\r\n");
	/* the winner writes the new value: fresh again */
	EXPECT("ms s1 3\r\nnew\r\nmg s1 v\r\n", "HD\r\nVA 3\r\nnew\r\n");
	/* ms I with an older CAS: stored, but stale */
	EXPECT("ms s1 3 C1 I\r\nold\r\nmg s1 v\r\n", "HD\r\nVA 3 X W\r\nold\r\n");
	/* T on a hit updates the TTL; u leaves hit and access time alone */
	EXPECT("ms h 1\r\nx\r\nmg h u h\r\nmg h h T50 t\r\nmg h h\r\n",
	       "HD\r\nHD h0\r\nHD h0 t50\r\nHD h1\r\n");
}

/* Splitting the input anywhere, and delivering it in any step, changes nothing. */
static void chunking_invariance(void **state)
{
	static const char script[] =
		"set alpha 1 0 5\r\nhello\r\nget alpha beta\r\nappend alpha 0 0 6\r\n world\r\n"
		"mg alpha v f s\r\nincr nope 1\r\nset n 0 0 1\r\n9\r\nincr n 1\r\n"
		"bogus command\r\nms beta 3 T0 F2\r\nxyz\r\nmg beta v k Oq\r\nmn\r\n"
		"set k 0 0 2\r\nabcd\r\nma n v D5\r\nmd beta q\r\nmg beta\r\nversion\r\n";
	static char reference[4096];

	(void)state;
	converse(script, strlen(script), 1 << 20, 1 << 20);
	memcpy(reference, outbuf, outlen + 1);
	for (uint64_t chunk = 1; chunk <= 64; chunk = chunk * 2 + 1) {
		for (uint64_t step = 1; step <= 70; step += 23) {
			reset(state);
			converse(script, strlen(script), chunk, step);
			if (strcmp(reference, outbuf) != 0)
				fail_msg("chunk %lu step %lu\nwanted %s\n   got %s",
					 (unsigned long)chunk, (unsigned long)step, reference, outbuf);
		}
	}
}

/* Writes for keys owned by another lcore go through the mailbox; replies stay in order. */
static void remote_owner_writes(void **state)
{
	static const char script[] =
		"set rkey 3 0 2\r\nhi\r\nset lkey 0 0 1\r\nx\r\nget rkey lkey\r\n"
		"incr rnum 1\r\nset rnum 0 0 1\r\n5\r\nincr rnum 2\r\ntouch rkey 100\r\n"
		"gat 50 lkey rkey\r\nms rm 1 T0\r\nz\r\nmg rm v t\r\nmg rviv N10 v\r\n"
		"md rkey I\r\nmg rkey v\r\nma rnum v\r\nappend rkey 0 0 1\r\n!\r\nget rkey\r\n"
		"flush_all\r\nget rkey lkey\r\nmn\r\n";
	static char local_only[4096];

	(void)state;
	talk(script);
	memcpy(local_only, outbuf, outlen + 1);
	reset(state);
	use_remote = true;
	for (uint64_t chunk = 5; chunk <= 1000; chunk += 331) {
		reset(state);
		use_remote = true;
		converse(script, strlen(script), chunk, chunk);
		assert_string_equal(outbuf, local_only);
	}
	/* the remote partition really holds the remote keys */
	reset(state);
	use_remote = true;
	talk("set rx 0 0 1\r\n1\r\n");
	struct wc_view v;
	assert_true(wc_get(parts[1], &local_ctx, "rx", 2, wc_hash("rx", 2), 0, &v));
	assert_false(wc_get(parts[0], &local_ctx, "rx", 2, wc_hash("rx", 2), 0, &v));
}

/* A full mailbox delays a write; it goes out when room comes back, nothing lost. */
static void mailbox_backpressure(void **state)
{
	(void)state;
	use_remote = true;
	for (int i = 0; i < 8; i++)
		pool_used[i] = 1;	/* no request objects */
	{
		struct fake_in in = { .q = { .peek = fake_peek, .consume = fake_consume },
				      .data = (const uint8_t *)"set rb 0 0 1\r\nq\r\n", .chunk = 64 };
		struct mc_session s;
		struct mc_out out;

		in.arrived = in.q.len = 17;
		sink_init(&out);
		memset(&s, 0, sizeof(s));
		mc_session_init(&s);
		assert_int_equal(mc_session_run(&s, &in.q, &out, &env), MC_RUN_BUSY);
		assert_int_equal(mc_session_run(&s, &in.q, &out, &env), MC_RUN_BUSY);
		for (int i = 0; i < 8; i++)
			pool_used[i] = 0;
		assert_int_equal(mc_session_run(&s, &in.q, &out, &env), MC_RUN_PENDING);
		wc_mbox_serve(mbox, 1, &owner_ctx, 64);
		struct wc_mbox_req *done[2];
		assert_int_equal(wc_mbox_collect(mbox, 0, done, 2), 1);
		mc_session_complete(&s, done[0], &in.q, &out, &env);
		assert_int_equal(mc_session_run(&s, &in.q, &out, &env), MC_RUN_MORE);
		outbuf[sink_len(&out)] = 0;
		assert_string_equal(outbuf, "STORED\r\n");
	}
}

/* Backpressure cuts replies only between commands and between values, never inside one. */
static void backpressure_pauses_between_values(void **state)
{
	static char input[16384], plain[65536];
	size_t n = 0, plain_len;

	(void)state;
	for (int k = 0; k < 30; k++)
		n += (size_t)snprintf(input + n, sizeof(input) - n, "set bp%d 0 0 %d\r\n%0*d\r\n", k,
				      100 + k, 100 + k, k);
	n += (size_t)snprintf(input + n, sizeof(input) - n, "get");
	for (int k = 0; k < 30; k++)
		n += (size_t)snprintf(input + n, sizeof(input) - n, " bp%d nobp%d", k, k);
	n += (size_t)snprintf(input + n, sizeof(input) - n,
			      "\r\nget bp1 bp2 bp3\r\nget bp4\r\nversion\r\n");
	/* the reference: no pressure */
	full_every = 0;
	converse(input, n, 1u << 20, 1u << 20);
	plain_len = outlen;
	memcpy(plain, outbuf, outlen);
	assert_true(plain_len > 30 * 100);
	/* under pressure, whole and in pieces: the same bytes, after many pauses */
	for (unsigned every = 2; every <= 5; every++)
		for (uint64_t chunk = 7; chunk <= (1u << 20); chunk *= 64) {
			assert_int_equal(talk("flush_all\r\n"), MC_RUN_MORE);
			full_every = every;
			full_calls = pauses = 0;
			converse(input, n, chunk, chunk);
			full_every = 0;
			assert_true(pauses > 3);
			assert_int_equal(outlen, plain_len);
			assert_memory_equal(outbuf, plain, plain_len);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(backpressure_pauses_between_values, reset),
		cmocka_unit_test_setup(classic_storage_and_retrieval, reset),
		cmocka_unit_test_setup(classic_cas, reset),
		cmocka_unit_test_setup(classic_keyed, reset),
		cmocka_unit_test_setup(classic_misc, reset),
		cmocka_unit_test_setup(noreply_everywhere, reset),
		cmocka_unit_test_setup(errors_keep_stream_in_sync, reset),
		cmocka_unit_test_setup(refused_store_drops_old_value, reset),
		cmocka_unit_test_setup(long_lines, reset),
		cmocka_unit_test_setup(meta_basics, reset),
		cmocka_unit_test_setup(meta_delete_and_arith, reset),
		cmocka_unit_test_setup(meta_stampede, reset),
		cmocka_unit_test_setup(chunking_invariance, reset),
		cmocka_unit_test_setup(remote_owner_writes, reset),
		cmocka_unit_test_setup(mailbox_backpressure, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
