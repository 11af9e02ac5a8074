/*
 * test_mc_stage.c - large values that arrive slowly: the stage pool on its
 * own (admission, chunk boundaries, release), and the memcached session
 * moving a block into its stage as it arrives (the receive queue empties
 * after every piece), storing it on this lcore or on a remote owner, waiting
 * when the pool is full, and giving everything back when torn down.
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

#define MAX_VALUE (1u << 20)
#define POOL_CHUNKS 40		/* 2.5 MiB: two 1 MiB uploads fit, a third waits */

/* ---- a receive queue the test fills by hand ---- */

struct byte_in {
	struct mc_inq q;
	uint8_t *data;
	uint64_t head, tail, cap;
};

static const uint8_t *bin_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct byte_in *b = (const struct byte_in *)q;
	uint64_t pos = b->head + off, boundary = (pos / 1400 + 1) * 1400;

	*contig = (boundary < b->tail ? boundary : b->tail) - pos;
	return b->data + pos;
}

static void bin_consume(struct mc_inq *q, uint64_t n)
{
	struct byte_in *b = (struct byte_in *)q;

	assert_true(n <= q->len);
	b->head += n;
	q->len -= n;
}

static void bin_init(struct byte_in *b, uint64_t cap)
{
	memset(b, 0, sizeof(*b));
	b->q.peek = bin_peek;
	b->q.consume = bin_consume;
	b->data = malloc(cap);
	b->cap = cap;
}

static void bin_put(struct byte_in *b, const void *p, uint64_t n)
{
	assert_true(b->tail + n <= b->cap);
	memcpy(b->data + b->tail, p, n);
	b->tail += n;
	b->q.len += n;
}

/* ---- replies into one buffer ---- */

static char outbuf[1 << 16];
static struct mc_out out;

static void out_reset(void)
{
	mc_out_init_buf(&out, outbuf, sizeof(outbuf) - 1);
}

static const char *out_str(void)
{
	outbuf[out.p - (uint8_t *)outbuf] = 0;
	return outbuf;
}

/* ---- two partitions, "r..." keys owned by a remote lcore ---- */

static struct wc_part *parts[2];
static const unsigned owners[2] = { 0, 1 };
static struct wc_ctx local_ctx, owner_ctx;
static struct wc_mbox *mbox;
static struct wc_mbox_req pool[8];
static int pool_used[8];
static struct wc_stage_pool stage;
static struct mc_env env;
static const struct mc_settings settings = { .version = "test", .max_value = MAX_VALUE };

static void route(const struct mc_env *e, const uint8_t *key, uint32_t klen, struct mc_route *rt)
{
	bool remote = klen && key[0] == 'r';

	(void)e;
	rt->part = parts[remote];
	rt->owner = owners[remote];
}

static struct wc_mbox_req *req_get(struct mc_env *e)
{
	(void)e;
	for (int i = 0; i < 8; i++)
		if (!pool_used[i]) {
			pool_used[i] = 1;
			return &pool[i];
		}
	return NULL;
}

static void req_put(struct mc_env *e, struct wc_mbox_req *r)
{
	(void)e;
	pool_used[r - pool] = 0;
}

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	parts[0] = test_part(16u << 20, MAX_VALUE, 10);
	parts[1] = test_part(16u << 20, MAX_VALUE, 10);
	test_ctx(&local_ctx, 1000);
	test_ctx(&owner_ctx, 1000);
	mbox = wc_mbox_create(2, 16, &wc_mem_mmap);
	assert_int_equal(wc_stage_pool_init(&stage, POOL_CHUNKS * WC_STAGE_CHUNK, &wc_mem_mmap,
					    "test_stage"), 0);
	env = (struct mc_env){ .ctx = &local_ctx, .self = 0, .mbox = mbox, .set = &settings,
			       .route = route, .nparts = 2, .parts = parts, .part_owner = owners,
			       .req_get = req_get, .req_put = req_put, .stage = &stage };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_stage_pool_fini(&stage);
	wc_part_destroy(parts[0]);
	wc_part_destroy(parts[1]);
	wc_mbox_destroy(mbox);
	rcu_unregister_thread();
	return 0;
}

/* Run the session, serving the remote owner, until it stops needing to. */
static enum mc_run run(struct mc_session *s, struct byte_in *in)
{
	enum mc_run r;

	for (;;) {
		r = mc_session_run(s, &in->q, &out, &env);
		if (r != MC_RUN_PENDING && r != MC_RUN_BUSY)
			return r;
		{
			struct wc_mbox_req *done[8];
			unsigned n;

			wc_mbox_serve(mbox, 1, &owner_ctx, 64);
			n = wc_mbox_collect(mbox, 0, done, 8);
			for (unsigned i = 0; i < n; i++)
				mc_session_complete(done[i]->cookie, done[i], &in->q, &out, &env);
		}
		if (s->st != MC_S_PENDING)
			return MC_RUN_MORE;
	}
}

static void fill_value(uint8_t *v, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		v[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

/* The stage pool alone: admission by whole values, bytes across chunk boundaries. */
static void stage_pool_basics(void **state)
{
	struct wc_stage a, b, c;
	uint8_t *v = malloc(MAX_VALUE + 2), *back = malloc(MAX_VALUE + 2);
	uint32_t total = stage.nfree;

	(void)state;
	fill_value(v, MAX_VALUE + 2, 3);
	assert_true(wc_stage_admit(&stage, &a, MAX_VALUE + 2));
	assert_true(wc_stage_admit(&stage, &b, MAX_VALUE + 2));
	assert_false(wc_stage_admit(&stage, &c, MAX_VALUE + 2));	/* no room for a third */
	assert_true(stage.refused >= 1);
	/* odd piece sizes straddle every chunk boundary */
	for (uint64_t off = 0, step = 1; off < MAX_VALUE + 2; off += step, step = step * 3 % 70001 + 1) {
		uint64_t n = MAX_VALUE + 2 - off < step ? MAX_VALUE + 2 - off : step;

		wc_stage_put(&a, v + off, n);
	}
	assert_int_equal(a.len, MAX_VALUE + 2);
	wc_stage_read(&a, 0, back, MAX_VALUE + 2);
	assert_memory_equal(back, v, MAX_VALUE + 2);
	wc_stage_read(&a, 65000, back, 70000);
	assert_memory_equal(back, v + 65000, 70000);
	wc_stage_release(&stage, &a);
	wc_stage_release(&stage, &b);
	assert_int_equal(stage.nfree, total);
	assert_true(wc_stage_admit(&stage, &c, 0));	/* an empty value still takes a chunk */
	wc_stage_release(&stage, &c);
	assert_int_equal(stage.nfree, total);
	free(v);
	free(back);
}

/*
 * A 1 MiB set arriving 1400 bytes at a time: after every piece the receive
 * queue is empty again (the block went into the stage), the value stored is
 * byte for byte what was sent, locally and on a remote owner, and the
 * stage goes back to the pool.
 */
static void staged_set_empties_receive_queue(void **state)
{
	uint8_t *v = malloc(MAX_VALUE + 2);
	uint32_t total = stage.nfree;

	(void)state;
	for (int remote = 0; remote < 2; remote++) {
		const char *key = remote ? "rbig" : "lbig";
		struct mc_session *s = calloc(1, sizeof(*s));
		struct byte_in in;
		char line[64];
		struct wc_view view;
		int n = snprintf(line, sizeof(line), "set %s 7 0 %u\r\n", key, MAX_VALUE);

		bin_init(&in, MAX_VALUE + 256);
		mc_session_init(s);
		out_reset();
		fill_value(v, MAX_VALUE, (uint32_t)remote + 1);
		v[MAX_VALUE] = '\r';
		v[MAX_VALUE + 1] = '\n';
		bin_put(&in, line, (uint64_t)n);
		for (uint64_t off = 0; off < MAX_VALUE + 2; off += 1400) {
			uint64_t k = MAX_VALUE + 2 - off < 1400 ? MAX_VALUE + 2 - off : 1400;

			bin_put(&in, v + off, k);
			run(s, &in);
			assert_int_equal(in.q.len, 0);
			if (off + k < MAX_VALUE + 2)
				assert_int_equal(s->st, MC_S_DATA);
		}
		assert_string_equal(out_str(), "STORED\r\n");
		assert_false(s->staged);
		assert_int_equal(stage.nfree, total);
		assert_true(wc_get(parts[remote], &local_ctx, key, (uint32_t)strlen(key),
				   wc_hash(key, strlen(key)), WC_LOOKUP_NO_STATS, &view));
		assert_int_equal(view.vlen, MAX_VALUE);
		assert_int_equal(view.flags, 7);
		assert_memory_equal(view.value, v, MAX_VALUE);
		/* the stream goes on in sync */
		out_reset();
		bin_put(&in, "mn\r\n", 4);
		run(s, &in);
		assert_string_equal(out_str(), "MN\r\n");
		free(in.data);
		free(s);
	}
	assert_true(stage.admitted >= 2);
	free(v);
}

/* A staged block whose end is not \r\n: memcached's bad data chunk, nothing stored. */
static void staged_bad_chunk(void **state)
{
	struct mc_session *s = calloc(1, sizeof(*s));
	struct byte_in in;
	uint8_t *v = calloc(1, 40000);
	struct wc_view view;

	(void)state;
	bin_init(&in, 50000);
	mc_session_init(s);
	out_reset();
	bin_put(&in, "ms lbad 39998 T0\r\n", 18);
	bin_put(&in, v, 1000);
	run(s, &in);
	assert_int_equal(s->st, MC_S_DATA);
	memset(v, 'x', 40000);
	bin_put(&in, v, 39000);	/* no \r\n where the block ends */
	bin_put(&in, "mn\r\n", 4);
	run(s, &in);
	assert_string_equal(out_str(), "CLIENT_ERROR bad data chunk\r\nMN\r\n");
	assert_false(wc_get(parts[0], &local_ctx, "lbad", 4, wc_hash("lbad", 4),
			    WC_LOOKUP_NO_STATS, &view));
	assert_int_equal(stage.nfree, stage.nchunks);
	free(in.data);
	free(v);
	free(s);
}

/*
 * Two uploads take the pool; a third waits with its bytes in the receive
 * queue (stage_wait), and goes on once an upload finishes. A session torn
 * down in the middle of a block gives its chunks back.
 */
static void full_pool_waits_then_proceeds(void **state)
{
	struct mc_session *s[3];
	struct byte_in in[3];
	uint8_t *v = malloc(MAX_VALUE + 2);
	char line[64];

	(void)state;
	fill_value(v, MAX_VALUE, 9);
	v[MAX_VALUE] = '\r';
	v[MAX_VALUE + 1] = '\n';
	for (int i = 0; i < 3; i++) {
		int n = snprintf(line, sizeof(line), "set lw%d 0 0 %u\r\n", i, MAX_VALUE);

		s[i] = calloc(1, sizeof(*s[i]));
		mc_session_init(s[i]);
		bin_init(&in[i], MAX_VALUE + 256);
		bin_put(&in[i], line, (uint64_t)n);
		bin_put(&in[i], v, 100000);
		out_reset();
		run(s[i], &in[i]);
		assert_string_equal(out_str(), "");
	}
	assert_true(s[0]->staged && s[1]->staged);
	assert_false(s[2]->staged);
	assert_true(s[2]->stage_wait);
	assert_true(in[2].q.len > 100000);	/* still in the receive queue */
	/* the first finishes, the second is torn down half-way: room for the third */
	out_reset();
	bin_put(&in[0], v + 100000, MAX_VALUE + 2 - 100000);
	run(s[0], &in[0]);
	assert_string_equal(out_str(), "STORED\r\n");
	mc_session_release(s[1], &env);
	assert_false(s[1]->staged);
	s[2]->stage_wait = false;
	out_reset();
	run(s[2], &in[2]);	/* the transport's retry */
	assert_true(s[2]->staged);
	assert_int_equal(in[2].q.len, 0);
	bin_put(&in[2], v + 100000, MAX_VALUE + 2 - 100000);
	run(s[2], &in[2]);
	assert_string_equal(out_str(), "STORED\r\n");
	assert_int_equal(stage.nfree, stage.nchunks);
	for (int i = 0; i < 3; i++) {
		free(in[i].data);
		free(s[i]);
	}
	free(v);
}

/* Small blocks and datagrams are never staged; oversize ones are refused unread. */
static void what_is_not_staged(void **state)
{
	struct mc_session *s = calloc(1, sizeof(*s));
	struct byte_in in;
	char line[64];

	(void)state;
	bin_init(&in, 1 << 16);
	mc_session_init(s);
	out_reset();
	bin_put(&in, "set lsmall 0 0 10000\r\n", 22);
	run(s, &in);
	assert_false(s->staged);
	assert_int_equal(in.q.len, 22);
	mc_session_init(s);
	in.head = in.tail = in.q.len = 0;
	snprintf(line, sizeof(line), "set lhuge 0 0 %u\r\n", MAX_VALUE + 1);
	bin_put(&in, line, strlen(line));
	run(s, &in);
	assert_false(s->staged);
	assert_string_equal(out_str(), "SERVER_ERROR object too large for cache\r\n");
	assert_int_equal(s->st, MC_S_SWALLOW);
	assert_int_equal(stage.nfree, stage.nchunks);
	free(in.data);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stage_pool_basics),
		cmocka_unit_test(staged_set_empties_receive_queue),
		cmocka_unit_test(staged_bad_chunk),
		cmocka_unit_test(full_pool_waits_then_proceeds),
		cmocka_unit_test(what_is_not_staged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
