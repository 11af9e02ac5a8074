/*
 * store_bench.c - the store section of `make bench`.
 *
 * Single-core throughput of GET hit, GET miss and SET (16-byte keys, 32 B
 * and 1 KiB values, 1M and 10M keys, uniform and Zipf 0.99), one at a time
 * and through the batched, prefetching wc_get_burst; the same lookups and
 * sets on liburcu's own RCU hash table (rculfhash) as the baseline measured
 * in this run; bytes of overhead per item at 10M items; and the miss ratio
 * of the store's eviction policy on a Zipf 0.99 trace with memory at 10% of
 * the working set, against exact LRU holding as many items, plus the
 * reference policy table the policy was chosen from; and what the
 * replication log (store/repl.h) costs a SET: the same SETs on two
 * identical tables, one with its log on (1 MiB ring per partition, as by
 * default), alternated, best of three each.
 *
 * The thread announces an RCU quiescent state every 32 operations, as a
 * dataplane lcore does once per burst. Results go to stdout (a table, then
 * `name=value` lines) and, with --json FILE, to a JSON file. --miss-only
 * runs the eviction policy's part alone.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "bench_clock.h"
#include "../common/cachesim.h"
#include "../common/workload.h"
#include "store/repl.h"
#include "store/store.h"

#define KEY_LEN 16
#define BURST 32
#define PART_MAX (6ull << 30)

static json_t *results;
static bool quick;

static void record(const char *name, double value)
{
	json_object_set_new(results, name, json_real(value));
}

/* "key:%012u" written without printf: 16 bytes */
static void key_fill(char *k, uint64_t i, char first)
{
	k[0] = first;
	k[1] = 'e';
	k[2] = 'y';
	k[3] = ':';
	for (int d = 15; d >= 4; d--) {
		k[d] = (char)('0' + i % 10);
		i /= 10;
	}
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* ---- a table of partitions (one core may own several) ---- */

struct table {
	struct wc_part *p[8];
	unsigned n;
	uint64_t nkeys;
	char *keys;		/* nkeys * KEY_LEN */
	uint32_t vlen;
};

static struct wc_part *part_of(const struct table *t, uint64_t i)
{
	return t->p[i % t->n];
}

static bool table_make(struct table *t, uint64_t nkeys, uint32_t vlen, uint64_t mem_total,
		       uint32_t hint, uint8_t small_pct)
{
	struct wc_part_cfg cfg;
	enum wc_status err;

	memset(t, 0, sizeof(*t));
	t->nkeys = nkeys;
	t->vlen = vlen;
	t->n = (unsigned)((mem_total + PART_MAX - 1) / PART_MAX);
	if (t->n == 0 || t->n > 8)
		return false;
	for (unsigned i = 0; i < t->n; i++) {
		wc_part_cfg_default(&cfg);
		cfg.mem_bytes = mem_total / t->n;
		cfg.item_size_hint = hint;
		cfg.small_pct = small_pct;
		cfg.id = (uint8_t)i;
		t->p[i] = wc_part_create(&cfg, &wc_mem_mmap, &err);
		if (!t->p[i]) {
			fprintf(stderr, "partition: %s\n", wc_status_name(err));
			return false;
		}
	}
	t->keys = malloc(nkeys * KEY_LEN);
	if (!t->keys)
		return false;
	for (uint64_t i = 0; i < nkeys; i++)
		key_fill(t->keys + i * KEY_LEN, i, 'k');
	return true;
}

static void table_free(struct table *t)
{
	for (unsigned i = 0; i < t->n; i++)
		wc_part_destroy(t->p[i]);
	free(t->keys);
}

static enum wc_status table_set_key(struct table *t, struct wc_ctx *ctx, uint64_t i, const char *k,
				    const char *val)
{
	struct iovec iov = { (void *)(uintptr_t)val, t->vlen };
	struct wc_store_req r = { .mode = WC_SET, .key = k, .klen = KEY_LEN,
				  .hash = wc_hash(k, KEY_LEN), .val = &iov, .val_cnt = 1 };

	return wc_store(part_of(t, i), ctx, &r, NULL);
}

static enum wc_status table_set(struct table *t, struct wc_ctx *ctx, uint64_t i, const char *val)
{
	return table_set_key(t, ctx, i, t->keys + i * KEY_LEN, val);
}

/*
 * The keys of a request sequence laid out one after another, as requests
 * sit in an rx burst: the timed loops read them sequentially, so the cost
 * measured is the table's, not a cache miss on the bench's own key array.
 */
static char *make_stream(const struct table *t, const uint32_t *seq, size_t n, char prefix)
{
	char *s = malloc(n * KEY_LEN);

	if (!s) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(s + i * KEY_LEN, t->keys + (uint64_t)seq[i] * KEY_LEN, KEY_LEN);
		s[i * KEY_LEN] = prefix;
	}
	return s;
}

/* ---- throughput ---- */

struct mops {
	double set, hit1, hitb, miss1, missb;
};

static double run_sets(struct table *t, struct wc_ctx *ctx, const uint32_t *seq,
		       const char *stream, size_t n, const char *val)
{
	double t0 = bench_now_s();

	for (size_t i = 0; i < n; i++) {
		if (table_set_key(t, ctx, seq[i], stream + i * KEY_LEN, val) != WC_OK) {
			fprintf(stderr, "set failed\n");
			exit(1);
		}
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	return n / (bench_now_s() - t0) / 1e6;
}

static double run_gets_single(struct table *t, struct wc_ctx *ctx, const uint32_t *seq,
			      const char *stream, size_t n, uint64_t *hits)
{
	struct wc_view v;
	uint64_t h = 0, sum = 0;
	double t0 = bench_now_s();

	for (size_t i = 0; i < n; i++) {
		const char *k = stream + i * KEY_LEN;

		if (wc_get(part_of(t, seq[i]), ctx, k, KEY_LEN, wc_hash(k, KEY_LEN), 0, &v)) {
			h++;
			sum += v.value[0];
		}
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	*hits = h + (sum == 1);	/* keep the value read from being optimised away */
	return n / (bench_now_s() - t0) / 1e6;
}

static double run_gets_burst(struct table *t, struct wc_ctx *ctx, const uint32_t *seq,
			     const char *stream, size_t n, uint64_t *hits)
{
	struct wc_get_req reqs[BURST];
	uint64_t h = 0, sum = 0;
	double t0 = bench_now_s();

	for (size_t i = 0; i + BURST <= n; i += BURST) {
		for (unsigned j = 0; j < BURST; j++) {
			const char *k = stream + (i + j) * KEY_LEN;

			reqs[j].part = part_of(t, seq[i + j]);
			reqs[j].key = k;
			reqs[j].klen = KEY_LEN;
			reqs[j].hash = wc_hash(k, KEY_LEN);
		}
		wc_get_burst(reqs, BURST, ctx, 0);
		for (unsigned j = 0; j < BURST; j++) {
			if (reqs[j].hit) {
				h++;
				sum += reqs[j].view.value[0];
			}
		}
		rcu_quiescent_state();
	}
	*hits = h + (sum == 1);
	return (n / BURST * BURST) / (bench_now_s() - t0) / 1e6;
}

static uint32_t *make_seq(uint64_t nkeys, double theta, size_t n, uint64_t seed)
{
	struct wc_keydist d;
	struct wc_rng r = { seed };
	uint32_t *s = malloc(n * sizeof(uint32_t));

	wc_keydist_init(&d, nkeys, theta);
	for (size_t i = 0; i < n; i++)
		s[i] = (uint32_t)wc_keydist_next(&d, &r);
	return s;
}

static void throughput(uint64_t nkeys, uint32_t vlen, struct wc_ctx *ctx)
{
	size_t ops = quick ? 1000000 : 4000000;
	uint32_t rec = 12 + KEY_LEN + vlen;
	uint64_t mem = (uint64_t)((double)nkeys * (rec + 8) * 1.4) + (64u << 20);
	char *val = malloc(vlen);
	struct table t;
	double t0, load;

	if (mem * 1.2 > (double)mem_available()) {
		printf("  %4luM keys x %4u B: skipped (needs %.1f GiB, not available)\n",
		       (unsigned long)(nkeys / 1000000), vlen, mem / 1073741824.0);
		free(val);
		return;
	}
	memset(val, 'v', vlen);
	if (!table_make(&t, nkeys, vlen, mem, rec, 10)) {
		fprintf(stderr, "cannot build table\n");
		exit(1);
	}
	t0 = bench_now_s();
	for (uint64_t i = 0; i < nkeys; i++) {
		if (table_set(&t, ctx, i, val) != WC_OK) {
			fprintf(stderr, "load failed at %lu\n", (unsigned long)i);
			exit(1);
		}
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	load = nkeys / (bench_now_s() - t0) / 1e6;

	for (int z = 0; z < 2; z++) {
		uint32_t *seq = make_seq(nkeys, z ? 0.99 : 0, ops, 42 + z);
		struct mops m;
		uint64_t hits;
		char name[128];

		char *hit_keys = make_stream(&t, seq, ops, 'k');
		char *miss_keys = make_stream(&t, seq, ops, 'm');

		m.hit1 = run_gets_single(&t, ctx, seq, hit_keys, ops, &hits);
		if (hits < ops)
			printf("    (unexpected: %lu of %zu hit)\n", (unsigned long)hits, ops);
		m.hitb = run_gets_burst(&t, ctx, seq, hit_keys, ops, &hits);
		m.miss1 = run_gets_single(&t, ctx, seq, miss_keys, ops, &hits);
		m.missb = run_gets_burst(&t, ctx, seq, miss_keys, ops, &hits);
		m.set = run_sets(&t, ctx, seq, hit_keys, ops / 2, val);
		free(hit_keys);
		free(miss_keys);
		printf("  %4luM keys x %4u B %-8s  GET hit %6.2f / batched %6.2f   GET miss %6.2f / "
		       "batched %6.2f   SET %6.2f Mops/s\n",
		       (unsigned long)(nkeys / 1000000), vlen, z ? "zipf.99" : "uniform", m.hit1,
		       m.hitb, m.miss1, m.missb, m.set);
		snprintf(name, sizeof(name), "store.%luM_%uB_%s", (unsigned long)(nkeys / 1000000),
			 vlen, z ? "zipf" : "uniform");
		char full[200];
#define REC(field, suffix) \
	snprintf(full, sizeof(full), "%s.%s_mops", name, suffix); \
	record(full, m.field)
		REC(hit1, "get_hit");
		REC(hitb, "get_hit_batched");
		REC(miss1, "get_miss");
		REC(missb, "get_miss_batched");
		REC(set, "set");
#undef REC
		free(seq);
	}
	printf("  %4luM keys x %4u B load (sequential SET) %.2f Mops/s\n",
	       (unsigned long)(nkeys / 1000000), vlen, load);
	table_free(&t);
	free(val);
}

/* ---- the replication log's cost ---- */

static void repl_cost(uint64_t nkeys, uint32_t vlen, struct wc_ctx *ctx, double *ratio)
{
	size_t ops = quick ? 1000000 : 4000000;
	uint32_t rec = 12 + KEY_LEN + vlen;
	uint64_t mem = (uint64_t)((double)nkeys * (rec + 8) * 1.4) + (64u << 20);
	char *val = malloc(vlen);
	struct table t[2];
	double best[2] = { 0, 0 };
	uint32_t *seq = make_seq(nkeys, 0.99, ops, 7);
	char *keys;
	char name[128];

	if (2.4 * mem > (double)mem_available()) {
		printf("  %4luM keys x %4u B: skipped (needs %.1f GiB, not available)\n",
		       (unsigned long)(nkeys / 1000000), vlen, 2 * mem / 1073741824.0);
		free(val);
		free(seq);
		return;
	}
	memset(val, 'v', vlen);
	for (int on = 0; on < 2; on++) {
		if (!table_make(&t[on], nkeys, vlen, mem, rec, 10)) {
			fprintf(stderr, "cannot build table\n");
			exit(1);
		}
		for (uint64_t i = 0; i < nkeys; i++) {
			if (table_set(&t[on], ctx, i, val) != WC_OK) {
				fprintf(stderr, "load failed at %lu\n", (unsigned long)i);
				exit(1);
			}
			if ((i & 31) == 31)
				rcu_quiescent_state();
		}
		for (unsigned i = 0; on && i < t[on].n; i++)
			if (!wc_repl_enable(t[on].p[i], 1u << 20)) {
				fprintf(stderr, "cannot enable the replication log\n");
				exit(1);
			}
	}
	keys = make_stream(&t[0], seq, ops, 'k');
	for (int round = 0; round < 3; round++)
		for (int on = 0; on < 2; on++) {
			double r = run_sets(&t[on], ctx, seq, keys, ops / 2, val);

			if (r > best[on])
				best[on] = r;
		}
	*ratio = best[1] / best[0];
	printf("  %4luM keys x %4u B zipf.99 SET: log off %.2f, on %.2f Mops/s (on/off %.3f)\n",
	       (unsigned long)(nkeys / 1000000), vlen, best[0], best[1], *ratio);
	snprintf(name, sizeof(name), "store.repl_%luM_%uB.set_off_mops",
		 (unsigned long)(nkeys / 1000000), vlen);
	record(name, best[0]);
	snprintf(name, sizeof(name), "store.repl_%luM_%uB.set_on_mops",
		 (unsigned long)(nkeys / 1000000), vlen);
	record(name, best[1]);
	free(keys);
	free(seq);
	free(val);
	table_free(&t[0]);
	table_free(&t[1]);
}

/* ---- baseline: liburcu's rculfhash, same keys, same hash ---- */

struct bnode {
	struct cds_lfht_node node;
	struct rcu_head rh;
	uint32_t vlen;
	char key[KEY_LEN];
	char val[];
};

static int bmatch(struct cds_lfht_node *node, const void *key)
{
	return memcmp(caa_container_of(node, struct bnode, node)->key, key, KEY_LEN) == 0;
}

static void bfree(struct rcu_head *rh)
{
	free(caa_container_of(rh, struct bnode, rh));
}

static struct bnode *bnode_new(const char *k, const char *val, uint32_t vlen)
{
	struct bnode *n = malloc(sizeof(*n) + vlen);

	cds_lfht_node_init(&n->node);
	memcpy(n->key, k, KEY_LEN);
	memcpy(n->val, val, vlen);
	n->vlen = vlen;
	return n;
}

static void baseline(uint64_t nkeys, uint32_t vlen, struct wc_ctx *ctx, double *ratio_get,
		     double *ratio_set)
{
	size_t ops = quick ? 1000000 : 4000000;
	unsigned long buckets = 1;
	struct cds_lfht *ht;
	uint32_t *seq = make_seq(nkeys, 0.99, ops, 7);
	char *val = malloc(vlen), *stream;
	struct table t;
	uint64_t sum = 0, hits;
	double t0, b_get, b_set, s_get, s_set;

	while (buckets < nkeys)
		buckets <<= 1;	/* rculfhash wants powers of two; pre-sized like the store */
	ht = cds_lfht_new(buckets, buckets, 0, 0, NULL);
	if (!ht) {
		fprintf(stderr, "cds_lfht_new failed\n");
		exit(1);
	}
	memset(val, 'b', vlen);
	if (!table_make(&t, nkeys, vlen, (uint64_t)(nkeys * (12 + KEY_LEN + vlen + 8) * 1.25) +
				     (64u << 20), 12 + KEY_LEN + vlen, 10)) {
		fprintf(stderr, "cannot build table\n");
		exit(1);
	}
	for (uint64_t i = 0; i < nkeys; i++) {
		const char *key = t.keys + i * KEY_LEN;

		cds_lfht_add(ht, wc_hash(key, KEY_LEN), &bnode_new(key, val, vlen)->node);
		(void)table_set(&t, ctx, i, val);
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	stream = make_stream(&t, seq, ops, 'k');
	t0 = bench_now_s();
	for (size_t i = 0; i < ops; i++) {
		struct cds_lfht_iter it;
		struct cds_lfht_node *node;
		const char *k = stream + i * KEY_LEN;

		cds_lfht_lookup(ht, wc_hash(k, KEY_LEN), bmatch, k, &it);
		node = cds_lfht_iter_get_node(&it);
		if (node)
			sum += caa_container_of(node, struct bnode, node)->val[0];
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	b_get = ops / (bench_now_s() - t0) / 1e6;
	t0 = bench_now_s();
	for (size_t i = 0; i < ops / 2; i++) {
		const char *key = stream + i * KEY_LEN;
		struct cds_lfht_node *old;

		old = cds_lfht_add_replace(ht, wc_hash(key, KEY_LEN), bmatch, key,
					   &bnode_new(key, val, vlen)->node);
		if (old)
			call_rcu(&caa_container_of(old, struct bnode, node)->rh, bfree);
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	b_set = (ops / 2) / (bench_now_s() - t0) / 1e6;
	s_get = run_gets_single(&t, ctx, seq, stream, ops, &hits);
	s_set = run_sets(&t, ctx, seq, stream, ops / 2, val);
	printf("  %luM keys x %u B zipf.99: rculfhash GET %.2f SET %.2f Mops/s | wirecache GET "
	       "%.2f SET %.2f Mops/s%s\n",
	       (unsigned long)(nkeys / 1000000), vlen, b_get, b_set, s_get, s_set,
	       sum == 1 ? " " : "");
	*ratio_get = s_get / b_get;
	*ratio_set = s_set / b_set;
	record("baseline.rculfhash_get_mops", b_get);
	record("baseline.rculfhash_set_mops", b_set);

	/* tear the baseline down */
	struct cds_lfht_iter it;
	struct cds_lfht_node *node;

	cds_lfht_for_each(ht, &it, node) {
		if (!cds_lfht_del(ht, node))
			call_rcu(&caa_container_of(node, struct bnode, node)->rh, bfree);
	}
	rcu_barrier();
	cds_lfht_destroy(ht, NULL);
	table_free(&t);
	free(stream);
	free(seq);
	free(val);
}

/* ---- memory overhead ---- */

static double overhead(uint64_t nkeys, struct wc_ctx *ctx)
{
	uint32_t vlen = 32, rec = 12 + KEY_LEN + vlen;
	/* sized as an operator would: the expected item size as the hint, 8% slack */
	uint64_t mem = (uint64_t)((double)nkeys * (rec + 8) * 1.08);
	char val[32];
	struct table t;
	struct wc_part_stats ps;
	uint64_t items = 0, used = 0, limit = 0, evicted = 0, index = 0;

	memset(val, 'o', sizeof(val));
	if (!table_make(&t, nkeys, vlen, mem, rec, 10)) {
		fprintf(stderr, "cannot build table\n");
		exit(1);
	}
	for (uint64_t i = 0; i < nkeys; i++) {
		(void)table_set(&t, ctx, i, val);
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	for (unsigned i = 0; i < t.n; i++) {
		wc_part_get_stats(t.p[i], &ps);
		items += ps.items;
		used += ps.bytes;
		index += ps.index_bytes;
		limit += ps.limit_bytes;
		evicted += ps.evictions;
	}
	double per_item = (double)(used + index) / items - (KEY_LEN + vlen);
	double per_limit = (double)limit / items - (KEY_LEN + vlen);

	printf("  %.2fM items of 16 B key + 32 B value in %.0f MiB: %.1f bytes/item overhead "
	       "(8 B header + %.1f B index); %.1f B/item counting all memory; %lu evicted\n",
	       items / 1e6, limit / 1048576.0, per_item,
	       (double)index / items, per_limit, (unsigned long)evicted);
	printf("  (memcached 1.6: 48-56 B item header plus slab-class rounding)\n");
	record("store.overhead_bytes_per_item", per_item);
	record("store.overhead_bytes_per_item_all_memory", per_limit);
	table_free(&t);
	return per_item;
}

/* ---- miss ratio ---- */

struct missrun {
	double miss;
	double avg_items;
};

static struct missrun store_miss(const uint32_t *trace, size_t n, uint64_t nkeys, uint64_t mem,
				 uint8_t small_pct, struct wc_ctx *ctx)
{
	struct table t;
	char val[32];
	uint64_t misses = 0, samples = 0;
	double items = 0;
	struct missrun r;
	struct wc_view v;

	memset(val, 'z', sizeof(val));
	if (!table_make(&t, nkeys, 32, mem, 12 + KEY_LEN + 32, small_pct)) {
		fprintf(stderr, "cannot build table\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = t.keys + (uint64_t)trace[i] * KEY_LEN;

		if (!wc_get(t.p[0], ctx, k, KEY_LEN, wc_hash(k, KEY_LEN), 0, &v)) {
			misses++;
			(void)table_set(&t, ctx, trace[i], val);
		}
		if ((i & 31) == 31)
			rcu_quiescent_state();
		if ((i & 4095) == 0 && i > n / 10) {
			struct wc_part_stats ps;

			wc_part_get_stats(t.p[0], &ps);
			items += (double)ps.items;
			samples++;
		}
	}
	r.miss = (double)misses / (double)n;
	r.avg_items = samples ? items / samples : 0;
	table_free(&t);
	return r;
}

static double miss_ratio(struct wc_ctx *ctx)
{
	uint32_t nkeys = quick ? 200000 : 1000000;
	size_t n = quick ? 4000000 : 20000000;
	uint32_t *trace = make_seq(nkeys, 0.99, n, 99);
	uint64_t ws = (uint64_t)nkeys * (KEY_LEN + 32);
	uint64_t mem = ws / 10;
	struct missrun s3, clk;
	double lru_same, ratio;

	if (mem < WC_PART_MEM_MIN)
		mem = WC_PART_MEM_MIN;
	printf("  trace: %zu requests, Zipf 0.99 over %u keys (16 B keys, 32 B values); "
	       "memory %.1f MiB = 10%% of the %.1f MiB working set\n",
	       n, nkeys, mem / 1048576.0, ws / 1048576.0);
	printf("  reference policies, capacity 10%% of the keys (%u objects):\n", nkeys / 10);
	for (int p = 0; p < WC_SIM_COUNT; p++) {
		double m = wc_sim_miss_ratio((enum wc_sim_policy)p, trace, n, nkeys, nkeys / 10);
		char name[64];

		printf("    %-12s miss ratio %.4f\n", wc_sim_name((enum wc_sim_policy)p), m);
		snprintf(name, sizeof(name), "policy_sim.%s", wc_sim_name((enum wc_sim_policy)p));
		record(name, m);
	}
	s3 = store_miss(trace, n, nkeys, mem, 10, ctx);
	clk = store_miss(trace, n, nkeys, mem, 0, ctx);
	lru_same = wc_sim_miss_ratio(WC_SIM_LRU, trace, n, nkeys, (uint32_t)s3.avg_items);
	double s3_same = wc_sim_miss_ratio(WC_SIM_S3FIFO, trace, n, nkeys, (uint32_t)s3.avg_items);
	printf("  wirecache store, S3-FIFO:    miss ratio %.4f holding %.0f items on average\n",
	       s3.miss, s3.avg_items);
	printf("  wirecache store, CLOCK-2bit: miss ratio %.4f holding %.0f items on average\n",
	       clk.miss, clk.avg_items);
	printf("  exact LRU holding %.0f items:        miss ratio %.4f\n", s3.avg_items, lru_same);
	printf("  reference S3-FIFO holding %.0f items: miss ratio %.4f\n", s3.avg_items, s3_same);
	record("store.miss_ratio_s3fifo_reference_same_items", s3_same);
	ratio = s3.miss / lru_same;
	record("store.miss_ratio_s3fifo", s3.miss);
	record("store.miss_ratio_clock", clk.miss);
	record("store.miss_ratio_lru_same_items", lru_same);
	free(trace);
	return ratio;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "miss-only", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json_path = NULL;
	struct wc_ctx ctx;
	double r_get = 0, r_set = 0, over, mr, r_repl32 = 0, r_repl1k = 0;
	bool miss_only = false;
	int c;

	while ((c = getopt_long(argc, argv, "qj:m", opts, NULL)) != -1) {
		if (c == 'q')
			quick = true;
		else if (c == 'm')
			miss_only = true;
		else if (c == 'j')
			json_path = optarg;
		else {
			fprintf(stderr, "usage: %s [--quick] [--json FILE] [--miss-only]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	results = json_object();
	rcu_register_thread();
	wc_ctx_init(&ctx);

	if (miss_only) {	/* the eviction policy's part alone, for before/after checks */
		printf("== store: eviction policy miss ratio\n");
		mr = miss_ratio(&ctx);
		printf("ratio.store_miss_s3fifo_vs_lru=%.3f\n", mr);
		json_decref(results);
		rcu_unregister_thread();
		return 0;
	}
	printf("== store: single-core throughput (16 B keys)\n");
	throughput(1000000, 32, &ctx);
	throughput(1000000, 1024, &ctx);
	if (!quick) {
		throughput(10000000, 32, &ctx);
		throughput(10000000, 1024, &ctx);
	}
	printf("== store: baseline in this run (liburcu rculfhash, same keys and hash)\n");
	baseline(1000000, 32, &ctx, &r_get, &r_set);
	printf("== store: replication log cost (SET, log off vs on, this run)\n");
	repl_cost(1000000, 32, &ctx, &r_repl32);
	repl_cost(1000000, 1024, &ctx, &r_repl1k);
	printf("== store: memory overhead\n");
	over = overhead(quick ? 1000000 : 10000000, &ctx);
	printf("== store: eviction policy miss ratio\n");
	mr = miss_ratio(&ctx);

	printf("ratio.store_get_vs_rculfhash=%.2f\n", r_get);
	printf("ratio.store_set_vs_rculfhash=%.2f\n", r_set);
	printf("ratio.store_miss_s3fifo_vs_lru=%.3f\n", mr);
	printf("store.overhead_bytes_per_item=%.1f\n", over);
	printf("ratio.store_set_repl_on_vs_off_32B=%.3f\n", r_repl32);
	printf("ratio.store_set_repl_on_vs_off_1KiB=%.3f\n", r_repl1k);
	record("ratio.store_set_repl_on_vs_off_32B", r_repl32);
	record("ratio.store_set_repl_on_vs_off_1KiB", r_repl1k);
	record("ratio.store_get_vs_rculfhash", r_get);
	record("ratio.store_set_vs_rculfhash", r_set);
	record("ratio.store_miss_s3fifo_vs_lru", mr);
	if (json_path && json_dump_file(results, json_path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		fprintf(stderr, "cannot write %s\n", json_path);
		return 1;
	}
	json_decref(results);
	rcu_unregister_thread();
	return 0;
}
