/*
 * fuzz_mc_session.c - libFuzzer harness for the memcached text/meta parser
 * and session engine: the input is a client byte stream, delivered in
 * pieces whose size the first byte chooses, against two partitions, one of
 * them owned by a "remote" lcore reached through the mailbox. Anything may
 * come in; the engine must neither crash nor stall, and every reply must
 * fit the bound the transport sets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "proto/mc_session.h"
#include "store/mailbox.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wc_part *parts[2];
static const unsigned owners[2] = { 0, 1 };
static struct wc_ctx lctx, octx;
static struct wc_mbox *mbox;
static struct wc_mbox_req pool[4];
static int used[4];
static struct mc_env env;
static const struct mc_settings set = { .version = "fuzz", .max_value = 8192, .lcores = 2 };

static void route(const struct mc_env *e, const uint8_t *key, uint32_t klen, struct mc_route *o)
{
	unsigned r = klen && (key[0] & 1);

	(void)e;
	o->part = parts[r];
	o->owner = owners[r];
}

static struct wc_mbox_req *get(struct mc_env *e)
{
	(void)e;
	for (int i = 0; i < 4; i++)
		if (!used[i]) {
			used[i] = 1;
			return &pool[i];
		}
	return NULL;
}

static void put(struct mc_env *e, struct wc_mbox_req *r)
{
	(void)e;
	used[r - pool] = 0;
}

static bool stats(struct mc_env *e, const struct mc_tok *a, struct mc_out *o)
{
	(void)e;
	if (a->len)
		return false;
	mc_out_str(o, "STAT x 1\r\nEND\r\n");
	return true;
}

static void init(void)
{
	struct wc_part_cfg cfg;
	enum wc_status err;

	rcu_register_thread();
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 1u << 20;
	cfg.max_value = 8192;
	parts[0] = wc_part_create(&cfg, &wc_mem_mmap, &err);
	parts[1] = wc_part_create(&cfg, &wc_mem_mmap, &err);
	wc_ctx_init(&lctx);
	wc_ctx_init(&octx);
	mbox = wc_mbox_create(2, 8, &wc_mem_mmap);
	env = (struct mc_env){ .ctx = &lctx, .self = 0, .mbox = mbox, .set = &set, .route = route,
			       .nparts = 2, .parts = parts, .part_owner = owners, .req_get = get,
			       .req_put = put, .stats = stats };
	if (!parts[0] || !parts[1] || !mbox)
		abort();
}

struct in {
	struct mc_inq q;
	const uint8_t *data;
	uint64_t head, arrived, chunk;
};

static const uint8_t *peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct in *f = (const struct in *)q;
	uint64_t pos = f->head + off, boundary = (pos / f->chunk + 1) * f->chunk;

	*contig = (boundary < f->arrived ? boundary : f->arrived) - pos;
	return f->data + pos;
}

static void consume(struct mc_inq *q, uint64_t n)
{
	struct in *f = (struct in *)q;

	if (n > q->len)
		abort();
	f->head += n;
	q->len -= n;
}

static uint8_t outbuf[1 << 16];

static bool more(struct mc_out *o)
{
	o->p = outbuf;	/* replies are discarded: reuse one window */
	o->end = outbuf + sizeof(outbuf);
	return true;
}

/* Backpressure on a schedule the input picks: the session must pause and resume cleanly. */
static unsigned full_mask, full_calls;

static bool full(struct mc_out *o)
{
	(void)o;
	return full_mask && (++full_calls & full_mask) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct mc_session s;
	struct in in;
	struct mc_out out = { .more = more, .limit = 1u << 22, .full = full };
	enum mc_run r = MC_RUN_MORE;

	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	in = (struct in){ .q = { .peek = peek, .consume = consume }, .data = data + 1,
			  .chunk = 1 + (data[0] & 63) };
	size--;
	mc_session_init(&s);
	lctx.clock.now += data[0] >> 6;
	full_mask = (data[0] >> 6) & 3;	/* 0: never full; else every 2nd or 4th look */
	full_calls = 0;
	for (int guard = 0; guard < 100000; guard++) {
		if (in.arrived < size && r != MC_RUN_PENDING && r != MC_RUN_BUSY) {
			uint64_t n = size - in.arrived < in.chunk ? size - in.arrived : in.chunk;

			in.arrived += n;
			in.q.len += n;
		}
		r = mc_session_run(&s, &in.q, &out, &env);
		if (r == MC_RUN_CLOSE)
			break;
		if (r == MC_RUN_FULL)
			continue;	/* the peer read: run again */
		if (r == MC_RUN_PENDING || r == MC_RUN_BUSY) {
			struct wc_mbox_req *done[4];
			unsigned n;

			wc_mbox_serve(mbox, 1, &octx, 8);
			n = wc_mbox_collect(mbox, 0, done, 4);
			for (unsigned i = 0; i < n; i++)
				mc_session_complete(done[i]->cookie, done[i], &in.q, &out, &env);
			continue;
		}
		if (in.arrived == size)
			break;
	}
	/* a pending write must still complete before the next input */
	for (int guard = 0; guard < 100 && s.pending; guard++) {
		struct wc_mbox_req *done[4];
		unsigned n;

		wc_mbox_serve(mbox, 1, &octx, 8);
		n = wc_mbox_collect(mbox, 0, done, 4);
		for (unsigned i = 0; i < n; i++)
			mc_session_complete(done[i]->cookie, done[i], &in.q, &out, &env);
	}
	if (s.pending)
		abort();	/* a lost completion */
	wc_part_maintain(parts[0], &lctx, 64);
	wc_part_maintain(parts[1], &octx, 64);
	rcu_quiescent_state();
	return 0;
}
