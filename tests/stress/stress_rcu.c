/*
 * stress_rcu.c - one writer, N lock-free readers, a few seconds (bounded in
 * time and in operations), meant for the ASan+UBSan build.
 *
 * The writer owns a small partition and churns it: sets of random sizes,
 * deletes, touches, invalidations, flushes and crawler runs, so items are
 * constantly evicted, moved forward and their memory reused after grace
 * periods. Every value embeds its key, length, a sequence number and a
 * checksum of the rest; readers on other threads check each value they get
 * is one written whole, for the key asked. Reads of reclaimed memory hit
 * poisoned log memory and stop the run under ASan.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu-qsbr.h>

#include "store/store.h"

#define KEYS 4000
#define VALUE_MAX 3000
#define READERS 2
#define SECONDS 3
#define WRITER_OPS_MAX 5000000u

struct run {
	struct wc_part *part;
	int stop;
	uint64_t writes, reads, hits, wins, bad;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t key_of(char *buf, unsigned id)
{
	return (size_t)snprintf(buf, 24, "stress:%u", id);
}

/* [u32 key id][u32 len][u64 seq][payload][u64 checksum of everything before] */
static size_t make_value(uint8_t *v, unsigned id, uint64_t seq, size_t len, uint64_t *rs)
{
	uint32_t id32 = id, len32 = (uint32_t)len;
	uint64_t sum;

	memcpy(v, &id32, 4);
	memcpy(v + 4, &len32, 4);
	memcpy(v + 8, &seq, 8);
	for (size_t i = 16; i < len - 8; i++)
		v[i] = (uint8_t)rnd(rs);
	sum = wc_hash(v, len - 8);
	memcpy(v + len - 8, &sum, 8);
	return len;
}

static int check_value(const struct wc_view *v, unsigned id)
{
	uint32_t id32, len32;
	uint64_t sum;

	if (v->vlen < 24)
		return 0;
	memcpy(&id32, v->value, 4);
	memcpy(&len32, v->value + 4, 4);
	memcpy(&sum, v->value + v->vlen - 8, 8);
	return id32 == id && len32 == v->vlen && sum == wc_hash(v->value, v->vlen - 8);
}

static void *reader(void *arg)
{
	struct run *r = arg;
	struct wc_ctx ctx;
	uint64_t seed = (uint64_t)(uintptr_t)&ctx | 1;
	uint64_t reads = 0, hits = 0, wins = 0, bad = 0;
	char keys[8][24];
	struct wc_get_req reqs[8];

	rcu_register_thread();
	wc_ctx_init(&ctx);
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		unsigned n = 1 + (unsigned)(rnd(&seed) % 8);

		for (unsigned i = 0; i < n; i++) {
			unsigned id = (unsigned)(rnd(&seed) % KEYS);
			size_t kl = key_of(keys[i], id);

			reqs[i] = (struct wc_get_req){ .part = r->part, .key = keys[i],
						       .klen = (uint32_t)kl,
						       .hash = wc_hash(keys[i], kl) };
		}
		wc_get_burst(reqs, n, &ctx, (rnd(&seed) & 1) ? WC_LOOKUP_CAS : 0);
		for (unsigned i = 0; i < n; i++) {
			reads++;
			if (!reqs[i].hit)
				continue;
			hits++;
			if (!check_value(&reqs[i].view, (unsigned)atoi(keys[i] + 7))) {
				bad++;
				fprintf(stderr, "reader: torn or foreign value for %s\n", keys[i]);
			}
			if ((reqs[i].view.state_before & 0x10) &&
			    wc_claim_win(r->part, &reqs[i].view, keys[i], reqs[i].hash))
				wins++;
		}
		rcu_quiescent_state();
		if ((reads & 4095) < 8) {
			/* like a dataplane backing off when idle: offline while yielding */
			rcu_thread_offline();
			sched_yield();
			rcu_thread_online();
		}
	}
	__atomic_fetch_add(&r->reads, reads, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->hits, hits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->wins, wins, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->bad, bad, __ATOMIC_RELAXED);
	rcu_unregister_thread();
	return NULL;
}

static void writer(struct run *r)
{
	struct wc_ctx ctx;
	uint64_t seed = 0x9E3779B97F4A7C15ull, seq = 0;
	uint8_t *v = malloc(VALUE_MAX);
	double end = now_s() + SECONDS;
	char key[24];

	wc_ctx_init(&ctx);
	while (r->writes < WRITER_OPS_MAX && ((r->writes & 255) || now_s() < end)) {
		unsigned id = (unsigned)(rnd(&seed) % KEYS);
		size_t kl = key_of(key, id);
		uint64_t h = wc_hash(key, kl);
		unsigned op = (unsigned)(rnd(&seed) % 100);

		if (op < 80) {
			size_t len = 24 + (size_t)(rnd(&seed) % (VALUE_MAX - 24));
			struct iovec iov = { v, make_value(v, id, ++seq, len, &seed) };
			struct wc_store_req req = { .mode = WC_SET, .key = key, .klen = (uint32_t)kl,
						    .hash = h, .val = &iov, .val_cnt = 1,
						    .exptime = (op % 7) ? 0 : 2 };

			if (wc_store(r->part, &ctx, &req, NULL) != WC_OK)
				r->bad++;
		} else if (op < 90) {
			(void)wc_delete(r->part, &ctx, key, (uint32_t)kl, h, 0);
		} else if (op < 95) {
			(void)wc_touch(r->part, &ctx, key, (uint32_t)kl, h, (int64_t)(op % 3));
		} else if (op < 99) {
			struct wc_modify_req m = { .key = key, .klen = (uint32_t)kl, .hash = h,
						   .opts = WC_MOD_STALE };

			(void)wc_modify(r->part, &ctx, &m, NULL);
		} else if (rnd(&seed) % 500 == 0) {
			wc_flush(r->part, &ctx, 0);
		} else {
			wc_part_maintain(r->part, &ctx, 256);
		}
		r->writes++;
		if ((r->writes & 1023) == 0)
			wc_clock_tick(&ctx.clock);
		rcu_quiescent_state();
	}
	free(v);
}

int main(void)
{
	struct wc_part_cfg cfg;
	struct wc_part_stats ps;
	enum wc_status err;
	struct run r = { 0 };
	pthread_t th[READERS];

	rcu_register_thread();
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 2u << 20;	/* small: constant eviction and reuse */
	cfg.max_value = VALUE_MAX;
	r.part = wc_part_create(&cfg, &wc_mem_mmap, &err);
	if (!r.part) {
		fprintf(stderr, "cannot create partition: %s\n", wc_status_name(err));
		return 1;
	}
	for (int i = 0; i < READERS; i++)
		pthread_create(&th[i], NULL, reader, &r);
	writer(&r);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	rcu_thread_offline();
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	rcu_thread_online();
	wc_part_get_stats(r.part, &ps);
	printf("stress: %lu writes, %lu reads (%lu hits, %lu win claims) by %d readers; "
	       "%lu evictions, %lu relocations, %lu grace waits, %lu bad\n",
	       (unsigned long)r.writes, (unsigned long)r.reads, (unsigned long)r.hits,
	       (unsigned long)r.wins, READERS, (unsigned long)ps.evictions,
	       (unsigned long)ps.relocations, (unsigned long)ps.grace_waits,
	       (unsigned long)r.bad);
	wc_part_destroy(r.part);
	rcu_unregister_thread();
	if (r.bad || r.hits == 0 || ps.evictions == 0) {
		fprintf(stderr, "stress: FAILED\n");
		return 1;
	}
	return 0;
}
