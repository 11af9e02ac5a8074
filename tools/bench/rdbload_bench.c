/*
 * rdbload_bench.c - the RDB loader's rate (redis/rdbload.h): keys/s and
 * MB/s of file loaded into the store, for a file of 1 M small string keys
 * ("key:NNNNNNN" -> "value-N") and one of 100 k 1 KiB values, each built
 * here (the format's plain encodings, CRC64 included), written to a
 * temporary file and loaded with rd_rdb_load_file on a dataplane without a
 * NIC (tests/unit/dp_harness.h): one lcore, so the batches run inline and
 * one core does it all (read, validate, route, decode into the store);
 * with several lcores the owners apply in parallel with the reading.
 * The best of ROUNDS loads of each file (the store flushed in between).
 *
 *   rdbload_bench [--quick] [--json FILE]
 *
 * Prints store.rdbload_<file>_keys_per_s= and _mb_per_s= lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tests/unit/dp_harness.h"
#include "../../tests/unit/rdb_build.h"
#include "redis/rdbload.h"
#include "store/kv.h"

#define ROUNDS 3

static struct dp_harness h;

static void cfg(struct wc_config *c)
{
	c->memory = 256u << 20;
	c->max_value = 1u << 20;
}

/* A file of n string keys with vlen-byte values; its path in path. */
static int build(const char *path, unsigned n, unsigned vlen)
{
	struct rb b = { 0 };
	char k[32], *v = malloc(vlen + 32);
	FILE *f;

	if (!v)
		return -1;
	rb_header(&b, 10);
	rb_aux(&b, "redis-ver", "7.0.15");
	rb_byte(&b, 0xFE);
	rb_len(&b, 0);
	rb_byte(&b, 0xFB);
	rb_len(&b, n);
	rb_len(&b, 0);
	for (unsigned i = 0; i < n; i++) {
		int kl = snprintf(k, sizeof(k), "key:%07u", i);

		if (vlen) {
			memset(v, 'a' + i % 26, vlen);
			memcpy(v, k, (size_t)kl);	/* (not compressible as a run) */
		}
		rb_byte(&b, 0);
		rb_str(&b, k, (size_t)kl);
		if (vlen)
			rb_str(&b, v, vlen);
		else
			rb_str(&b, v, (size_t)snprintf(v, 32, "value-%u", i));
	}
	rb_end(&b, 1);
	f = fopen(path, "wb");
	if (!f || fwrite(b.p, 1, b.n, f) != b.n) {
		if (f)
			fclose(f);
		free(b.p);
		free(v);
		return -1;
	}
	fclose(f);
	free(b.p);
	free(v);
	return 0;
}

struct fig {
	double keys_s, mb_s;
	uint64_t keys, bytes;
};

static int measure(const char *path, unsigned n, struct fig *out)
{
	*out = (struct fig){ 0 };
	for (int r = 0; r < ROUNDS; r++) {
		struct rd_rdb_load_result res;

		wc_kv_flush_sync(h.app.parts[0], &h.lc->ctx);
		if (rd_rdb_load_file(&h.app, path, false, &res) != 0 || res.loaded != n) {
			fprintf(stderr, "rdbload_bench: %s: loaded %llu of %u (%s)\n", path,
				(unsigned long long)res.loaded, n, res.err);
			return -1;
		}
		if ((double)n / res.secs > out->keys_s) {
			out->keys_s = (double)n / res.secs;
			out->mb_s = (double)res.bytes / res.secs / 1e6;
		}
		out->keys = n;
		out->bytes = res.bytes;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	bool quick = false;
	unsigned nsmall = 1000000, nbig = 100000;
	char p1[64], p2[64];
	struct fig small, big;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
	}
	if (quick) {
		nsmall /= 10;
		nbig /= 10;
	}
	if (dp_eal_init() != 0 || dp_setup(&h, cfg) != 0) {
		fprintf(stderr, "rdbload_bench: no harness\n");
		return 1;
	}
	snprintf(p1, sizeof(p1), "/tmp/wc-rdbload-bench-%d-a.rdb", (int)getpid());
	snprintf(p2, sizeof(p2), "/tmp/wc-rdbload-bench-%d-b.rdb", (int)getpid());
	printf("== RDB load into the store (one core; best of %d)\n", ROUNDS);
	if (build(p1, nsmall, 0) != 0 || build(p2, nbig, 1024) != 0) {
		fprintf(stderr, "rdbload_bench: cannot write the files\n");
		goto out;
	}
	if (measure(p1, nsmall, &small) != 0 || measure(p2, nbig, &big) != 0)
		goto out;
	printf("  %u small keys (%.1f MB file): %.0f keys/s, %.1f MB/s\n", nsmall,
	       (double)small.bytes / 1e6, small.keys_s, small.mb_s);
	printf("  %u 1 KiB values (%.1f MB file): %.0f keys/s, %.1f MB/s\n", nbig,
	       (double)big.bytes / 1e6, big.keys_s, big.mb_s);
	printf("store.rdbload_small_keys_per_s=%.0f\nstore.rdbload_small_mb_per_s=%.1f\n",
	       small.keys_s, small.mb_s);
	printf("store.rdbload_1k_keys_per_s=%.0f\nstore.rdbload_1k_mb_per_s=%.1f\n", big.keys_s,
	       big.mb_s);
	if (json) {
		FILE *f = fopen(json, "w");

		if (f) {
			fprintf(f,
				"{\n  \"store.rdbload_small_keys_per_s\": %.0f,\n"
				"  \"store.rdbload_small_mb_per_s\": %.1f,\n"
				"  \"store.rdbload_1k_keys_per_s\": %.0f,\n"
				"  \"store.rdbload_1k_mb_per_s\": %.1f\n}\n",
				small.keys_s, small.mb_s, big.keys_s, big.mb_s);
			fclose(f);
		}
	}
	rc = 0;
out:
	unlink(p1);
	unlink(p2);
	return rc;
}
