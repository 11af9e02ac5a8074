/*
 * rdbsave_bench.c - the RDB snapshot writer's rate (redis/rdb_write.h):
 * keys/s and MB/s of the file for 1,000,000 small string keys (9-byte
 * names, 14-byte values) and for 100,000 values of 1 KiB, spread over two
 * partitions as a two-worker node holds them. One thread walks and writes
 * (as the node's writer thread does: quiescent states between slices, the
 * file written, fsynced) into a file in $TMPDIR (default /tmp), best of
 * three. Results go to stdout (`name=value` lines) and, with --json FILE,
 * to a JSON file. --quick: a tenth of the keys, one run.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/uio.h>

#include <jansson.h>
#include <urcu-qsbr.h>

#include "bench_clock.h"
#include "core/app.h"
#include "redis/rdb_write.h"
#include "store/store.h"

#define NPARTS 2

static json_t *results;
static struct wc_app app;
static struct wc_ctx ctx;

static void parts_setup(uint64_t bytes)
{
	for (unsigned i = 0; i < NPARTS; i++) {
		struct wc_part_cfg cfg;
		enum wc_status err;

		wc_part_cfg_default(&cfg);
		cfg.mem_bytes = bytes;
		cfg.item_size_hint = 64;
		app.parts[i] = wc_part_create(&cfg, &wc_mem_mmap, &err);
		if (!app.parts[i]) {
			fprintf(stderr, "partition: %s\n", wc_status_name(err));
			exit(1);
		}
	}
	app.nparts = NPARTS;
	wc_ctx_init(&ctx);
	wc_clock_init(&ctx.clock, wc_clock_default_epoch());
	wc_clock_tick(&ctx.clock);
}

static void parts_free(void)
{
	for (unsigned i = 0; i < NPARTS; i++)
		wc_part_destroy(app.parts[i]);
	app.nparts = 0;
}

static void fill(uint64_t n, size_t vlen)
{
	static char val[1024];

	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (char)('a' + i % 26);
	for (uint64_t i = 0; i < n; i++) {
		char k[24];
		uint32_t kl = (uint32_t)snprintf(k, sizeof(k), "k:%07llu", (unsigned long long)i);
		struct iovec iov = { val, vlen };
		uint64_t h = wc_hash(k, kl);
		struct wc_store_req r = { .mode = WC_SET, .key = k, .klen = kl, .hash = h,
					  .val = &iov, .val_cnt = 1 };

		if (vlen == 14)
			snprintf(val, sizeof(val), "value-%08llu", (unsigned long long)i);
		if (wc_store(app.parts[h % NPARTS], &ctx, &r, NULL) != WC_OK) {
			fprintf(stderr, "store failed at key %llu\n", (unsigned long long)i);
			exit(1);
		}
		if (i % 64 == 0)
			rcu_quiescent_state();
	}
}

static void record(const char *name, double v)
{
	printf(strstr(name, "_mb_") ? "%s=%.1f\n" : "%s=%.0f\n", name, v);
	json_object_set_new(results, name, json_real(v));
}

static void measure(const char *what, const char *tag, uint64_t n, size_t vlen, int reps)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	double best = 1e30;
	struct rdbw_stats st = { 0 };
	char path[512], name[96];

	snprintf(path, sizeof(path), "%s/wc-rdbsave-bench-%d.rdb", tmp, (int)getpid());
	parts_setup(n * vlen * 2 / NPARTS + (64ull << 20));
	fill(n, vlen);
	for (int r = 0; r < reps; r++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		double t0 = bench_now_s(), t;

		if (fd < 0 || rdb_write_store(&app, fd, &ctx.clock, (int64_t)time(NULL), &st) != 0) {
			perror(path);
			exit(1);
		}
		t = bench_now_s() - t0;
		close(fd);
		if (t < best)
			best = t;
		if (st.keys != n) {
			fprintf(stderr, "%s: wrote %llu keys of %llu\n", what,
				(unsigned long long)st.keys, (unsigned long long)n);
			exit(1);
		}
	}
	unlink(path);
	parts_free();
	printf("  %-34s %8llu keys %8.1f MB in %6.3f s: %10.0f keys/s %7.1f MB/s\n", what,
	       (unsigned long long)n, st.bytes / 1e6, best, n / best, st.bytes / 1e6 / best);
	snprintf(name, sizeof(name), "store.rdb_save_%s_keys_per_s", tag);
	record(name, n / best);
	snprintf(name, sizeof(name), "store.rdb_save_%s_mb_per_s", tag);
	record(name, st.bytes / 1e6 / best);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json_path = NULL;
	uint64_t scale = 1;
	int reps = 3, c;

	while ((c = getopt_long(argc, argv, "qj:", opts, NULL)) != -1) {
		if (c == 'q') {
			scale = 10;
			reps = 1;
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
	printf("== RDB snapshot save (one writer thread, %d partitions, file in $TMPDIR, fsync)\n",
	       NPARTS);
	measure("small strings (9 B keys, 14 B values)", "small", 1000000 / scale, 14, reps);
	measure("1 KiB values", "1k", 100000 / scale, 1024, reps);
	rcu_unregister_thread();
	if (json_path && json_dump_file(results, json_path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		fprintf(stderr, "cannot write %s\n", json_path);
		return 1;
	}
	json_decref(results);
	return 0;
}
