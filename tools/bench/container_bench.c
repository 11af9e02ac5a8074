/*
 * container_bench.c - the cost of one hash or set change against the size of
 * the container (store/container.h): HSET, HDEL, SADD and SREM on a
 * container of 1 member and on one of 1,000,000 members, single core,
 * straight on the store (no protocol), printing both rates and their ratio.
 *
 * Each round adds a new member and removes the one added `size` rounds
 * before (or one of the initial members), so the container keeps its size
 * (1 <-> 2, 1M <-> 1M + 1) while adds and deletes land on any bucket; both
 * are timed (TSC, per operation); every case
 * runs in one 1 GiB partition whose memory was touched beforehand, best of
 * three runs. Fields are
 * 12-16 bytes, hash values 16 bytes. The thread announces an RCU quiescent
 * state every 32 operations, as a dataplane lcore does once per burst.
 * Results go to stdout (a table, then `name=value` lines) and, with
 * --json FILE, to a JSON file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/uio.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <urcu-qsbr.h>

#include "bench_clock.h"
#include "store/container.h"
#include "store/kv.h"

#define BIG 1000000u

static json_t *results;

/* TSC ticks per second, measured against the monotonic clock. */
static double tsc_hz(void)
{
	double t0 = bench_now_s();
	uint64_t c0 = rte_rdtsc();

	while (bench_now_s() - t0 < 0.2)
		;
	return (double)(rte_rdtsc() - c0) / (bench_now_s() - t0);
}

static size_t name_of(char *buf, char kind, uint64_t i)
{
	return (size_t)snprintf(buf, 24, "%c:%llu", kind, (unsigned long long)i);
}

static enum wc_status change(struct wc_part *p, struct wc_ctx *ctx, const char *key, uint8_t type,
			     enum wc_cop op, const char *name, size_t nlen)
{
	static const char value[] = "0123456789abcdef";
	struct wc_cbytes n = wc_cbytes_of(name, nlen), v = wc_cbytes_of(value, 16);
	struct wc_cupd res;

	return wc_c_update(p, ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)), type, op,
			   &n, &v, &res);
}

struct rates {
	double add, del;	/* operations per second */
};

static struct wc_part *part;
static struct wc_ctx ctx;

/* One partition for every case, its memory touched once before anything is timed. */
static void part_setup(void)
{
	struct wc_part_cfg cfg;
	enum wc_status err;
	static char big[4096];

	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 1ull << 30;
	cfg.item_size_hint = 256;
	part = wc_part_create(&cfg, &wc_mem_mmap, &err);
	if (!part) {
		fprintf(stderr, "partition: %s\n", wc_status_name(err));
		exit(1);
	}
	wc_ctx_init(&ctx);
	for (uint64_t i = 0; i < (cfg.mem_bytes + cfg.mem_bytes / 4) / sizeof(big); i++) {
		char k[24];
		struct iovec iov = { big, sizeof(big) };
		struct wc_store_req r = { .mode = WC_SET, .key = k, .klen = (uint32_t)name_of(k, 'w', i),
					  .val = &iov, .val_cnt = 1 };

		r.hash = wc_hash(k, r.klen);
		wc_store(part, &ctx, &r, NULL);
		if (i % 32 == 0)
			rcu_quiescent_state();
	}
	wc_kv_flush_sync(part, &ctx);
}

/*
 * A container of size members, then rounds of add-new + delete-it, each
 * timed; the best of reps runs (the machine may be shared).
 */
static struct rates measure(uint8_t type, uint64_t size, uint64_t rounds, int reps, double hz)
{
	const char *key = type == WC_TYPE_HASH ? "bench:hash" : "bench:set";
	struct rates best = { 0, 0 };
	char name[24];

	for (uint64_t i = 0; i < size; i++) {
		if (change(part, &ctx, key, type, WC_COP_SET, name, name_of(name, 'm', i)) != WC_OK) {
			fprintf(stderr, "prefill failed at %llu\n", (unsigned long long)i);
			exit(1);
		}
		if (i % 32 == 0)
			rcu_quiescent_state();
	}
	for (int rep = 0; rep < reps; rep++) {
		uint64_t t_add = 0, t_del = 0, base = (uint64_t)rep * rounds;

		for (uint64_t i = base; i < base + rounds; i++) {
			char old[24];
			size_t n = name_of(name, 'x', i), on;
			uint64_t c0, c1, c2;

			/* the member added size rounds ago goes: the size stays, both touch any bucket */
			on = i < size ? name_of(old, 'm', i) : name_of(old, 'x', i - size);
			c0 = rte_rdtsc();
			if (change(part, &ctx, key, type, WC_COP_SET, name, n) != WC_OK)
				exit(1);
			c1 = rte_rdtsc();
			if (change(part, &ctx, key, type, WC_COP_DEL, old, on) != WC_OK)
				exit(1);
			c2 = rte_rdtsc();
			t_add += c1 - c0;
			t_del += c2 - c1;
			if (i % 16 == 0) {
				rcu_quiescent_state();
				wc_clock_tick(&ctx.clock);
			}
		}
		if ((double)rounds * hz / (double)t_add > best.add)
			best.add = (double)rounds * hz / (double)t_add;
		if ((double)rounds * hz / (double)t_del > best.del)
			best.del = (double)rounds * hz / (double)t_del;
	}
	wc_kv_delete(part, &ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)));
	wc_kv_flush_sync(part, &ctx);
	return best;
}

/*
 * For scale: string SETs over as many distinct keys as the big container
 * has members (each touches a random place in the index and the log, as a
 * change of a random member of the big container does).
 */
static double measure_strings(uint64_t nkeys, uint64_t rounds, double hz)
{
	static const char value[] = "0123456789abcdef";
	struct iovec iov = { (void *)(uintptr_t)value, 16 };
	uint64_t t = 0, rs = 0x1234567;
	char k[24];

	for (uint64_t i = 0; i <= nkeys + rounds; i++) {
		uint64_t c0, id = i < nkeys ? i : wc_c_rand(&rs) % nkeys;
		struct wc_store_req r = { .mode = WC_SET, .key = k,
					  .klen = (uint32_t)name_of(k, 's', id), .val = &iov,
					  .val_cnt = 1 };

		r.hash = wc_hash(k, r.klen);
		c0 = rte_rdtsc();
		if (wc_store(part, &ctx, &r, NULL) != WC_OK)
			exit(1);
		if (i >= nkeys)
			t += rte_rdtsc() - c0;
		if (i % 32 == 0)
			rcu_quiescent_state();
	}
	wc_kv_flush_sync(part, &ctx);
	return (double)rounds * hz / (double)t;
}

static void row(const char *op, double one, double mid, double big)
{
	printf("  %-5s %12.0f %12.0f %12.0f %9.2f\n", op, one, mid, big, big / one);
}

static void record(const char *name, double v)
{
	json_object_set_new(results, name, json_real(v));
	printf("%s=%.*f\n", name, v < 100 ? 2 : 0, v);
}

static void record_op(const char *op, double one, double mid, double big)
{
	char name[96];

	snprintf(name, sizeof(name), "store.container_%s_1_ops", op);
	record(name, one);
	snprintf(name, sizeof(name), "store.container_%s_1k_ops", op);
	record(name, mid);
	snprintf(name, sizeof(name), "store.container_%s_1m_ops", op);
	record(name, big);
	snprintf(name, sizeof(name), "ratio.container_%s_1m_vs_1", op);
	record(name, big / one);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json_path = NULL;
	uint64_t rounds = 1000000;
	int reps = 3;
	struct rates h1, hk, hb, s1, sk, sb;
	double hz, ref;
	int c;

	while ((c = getopt_long(argc, argv, "qj:", opts, NULL)) != -1) {
		if (c == 'q') {
			rounds = 200000;
			reps = 2;
		} else if (c == 'j') {
			json_path = optarg;
		} else {
			fprintf(stderr, "usage: %s [--quick] [--json FILE]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	results = json_object();
	rcu_register_thread();
	hz = tsc_hz();
	printf("== store: hash and set changes against the container's size (one core, ops/s)\n");
	part_setup();
	h1 = measure(WC_TYPE_HASH, 1, rounds, reps, hz);
	hk = measure(WC_TYPE_HASH, 1000, rounds, reps, hz);
	hb = measure(WC_TYPE_HASH, BIG, rounds, reps, hz);
	s1 = measure(WC_TYPE_SET, 1, rounds, reps, hz);
	sk = measure(WC_TYPE_SET, 1000, rounds, reps, hz);
	sb = measure(WC_TYPE_SET, BIG, rounds, reps, hz);
	ref = measure_strings(BIG, rounds, hz);
	printf("  %-5s %12s %12s %12s %9s\n", "op", "1 member", "1K members", "1M members",
	       "1M / 1");
	row("HSET", h1.add, hk.add, hb.add);
	row("HDEL", h1.del, hk.del, hb.del);
	row("SADD", s1.add, sk.add, sb.add);
	row("SREM", s1.del, sk.del, sb.del);
	printf("  for scale: a string SET of a random key among 1M keys: %.0f ops/s\n", ref);
	record_op("hset", h1.add, hk.add, hb.add);
	record_op("hdel", h1.del, hk.del, hb.del);
	record_op("sadd", s1.add, sk.add, sb.add);
	record_op("srem", s1.del, sk.del, sb.del);
	record("store.container_ref_string_set_1m_keys_ops", ref);
	if (json_path && json_dump_file(results, json_path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		fprintf(stderr, "cannot write %s\n", json_path);
		return 1;
	}
	json_decref(results);
	wc_part_destroy(part);
	rcu_unregister_thread();
	return 0;
}
