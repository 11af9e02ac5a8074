/*
 * test_container.c - hashes and sets in the store (store/container.h):
 * compact containers and their conversion to buckets, linear-hashing
 * splits, deletes down to an empty (deleted) key, snapshots, builds, copy
 * and rename, a reader thread checking every member it should see while the
 * owner grows the container, eviction and expiry as a whole, reclamation of
 * orphaned parts and the memory they held, and the scan guarantee while
 * members are added during the scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "store/container.h"
#include "store/item.h"
#include "store/kv.h"

static struct wc_part *part;
static struct wc_ctx ctx;

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	part = test_part(64u << 20, 0, 10);
	test_ctx(&ctx, 1000);
	ctx.clock.epoch = 1700000000;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_part_destroy(part);
	rcu_unregister_thread();
	return 0;
}

/* ---- helpers ---- */

static uint64_t kh(const char *k)
{
	return wc_hash(k, strlen(k));
}

static size_t mname(char *buf, unsigned i)
{
	return (size_t)snprintf(buf, 32, "member:%u", i);
}

/* The number in a member's name ("member:<n>"), or -1 (names are not NUL-terminated). */
static long member_id(const struct wc_cmember *m)
{
	char buf[32];
	unsigned i;

	if (m->nlen >= sizeof(buf))
		return -1;
	memcpy(buf, m->name, m->nlen);
	buf[m->nlen] = 0;
	return sscanf(buf, "member:%u", &i) == 1 ? (long)i : -1;
}

static size_t mval(char *buf, unsigned i, unsigned gen)
{
	return (size_t)snprintf(buf, 48, "value-%u-%u", i, gen);
}

static enum wc_status hset(struct wc_part *p, struct wc_ctx *c, const char *key, const char *f,
			   size_t flen, const char *v, size_t vlen, struct wc_cupd *res)
{
	struct wc_cbytes n = wc_cbytes_of(f, flen), val = wc_cbytes_of(v, vlen);

	return wc_c_update(p, c, key, (uint32_t)strlen(key), kh(key), WC_TYPE_HASH, WC_COP_SET,
			   &n, &val, res);
}

static enum wc_status sop(struct wc_part *p, struct wc_ctx *c, const char *key, enum wc_cop op,
			  const char *m, size_t mlen, struct wc_cupd *res)
{
	struct wc_cbytes n = wc_cbytes_of(m, mlen);

	return wc_c_update(p, c, key, (uint32_t)strlen(key), kh(key), WC_TYPE_SET, op, &n, NULL,
			   res);
}

static enum wc_status hdel(const char *key, const char *f, size_t flen, struct wc_cupd *res)
{
	struct wc_cbytes n = wc_cbytes_of(f, flen);

	return wc_c_update(part, &ctx, key, (uint32_t)strlen(key), kh(key), WC_TYPE_HASH,
			   WC_COP_DEL, &n, NULL, res);
}

/* The container at key as a reader sees it: false when the key is missing. */
static bool open_c(const struct wc_part *p, struct wc_ctx *c, const char *key, struct wc_chdr *h)
{
	struct wc_view v;

	if (!wc_get(p, c, key, (uint32_t)strlen(key), kh(key),
		    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_STATS | WC_LOOKUP_NO_TOUCH, &v))
		return false;
	assert_true(wc_c_parse(v.type, v.value, v.vlen, h));
	return true;
}

/* A client's read of the key: it makes the container hotter. */
static void touch_c(const struct wc_part *p, struct wc_ctx *c, const char *key)
{
	struct wc_view v;

	assert_true(wc_get(p, c, key, (uint32_t)strlen(key), kh(key),
			   WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_STATS, &v));
}

/* Find a member, retrying as a reader does. */
static int find(const struct wc_part *p, struct wc_ctx *c, const char *key, const char *m,
		size_t mlen, struct wc_cmember *out)
{
	struct wc_cbytes n = wc_cbytes_of(m, mlen);

	for (int i = 0; i < 1000; i++) {
		struct wc_chdr h;
		int r;

		if (!open_c(p, c, key, &h))
			return WC_C_ABSENT;
		r = wc_c_find(p, c, &h, &n, out);
		if (r != WC_C_RETRY)
			return r;
		rcu_quiescent_state();
	}
	return WC_C_RETRY;
}

static void assert_hget(const char *key, unsigned i, unsigned gen)
{
	char f[32], v[48];
	size_t fl = mname(f, i), vl = mval(v, i, gen);
	struct wc_cmember m;

	assert_int_equal(find(part, &ctx, key, f, fl, &m), WC_C_OK);
	assert_int_equal(m.vlen, vl);
	assert_memory_equal(m.val, v, vl);
}

static void *snap_alloc(void *actx, uint64_t n)
{
	void **list = actx;
	void **blk = malloc(sizeof(void *) + n);

	if (!blk)
		return NULL;
	blk[0] = *list;
	*list = blk;
	return blk + 1;
}

static void snap_free(void *actx)
{
	void **list = actx, *b = *list;

	while (b) {
		void *next = *(void **)b;

		free(b);
		b = next;
	}
	*list = NULL;
}

static uint64_t part_items(void)
{
	struct wc_part_stats ps;

	wc_part_get_stats(part, &ps);
	return ps.items;
}

static void maintain_all(void)
{
	for (int i = 0; i < 64; i++)
		wc_part_maintain(part, &ctx, 1u << 16);
}

/* ---- compact ---- */

static void compact_basics(void **state)
{
	struct wc_cupd r;
	struct wc_chdr h;
	struct wc_cmember m;
	struct wc_part_stats ps;

	(void)state;
	assert_int_equal(hset(part, &ctx, "h1", "a", 1, "1", 1, &r), WC_OK);
	assert_int_equal(r.outcome, WC_COUT_ADDED);
	assert_int_equal(hset(part, &ctx, "h1", "b", 1, "2", 1, &r), WC_OK);
	assert_int_equal(hset(part, &ctx, "h1", "a", 1, "one", 3, &r), WC_OK);
	assert_int_equal(r.outcome, WC_COUT_UPDATED);
	assert_int_equal(r.count, 2);
	assert_true(open_c(part, &ctx, "h1", &h));
	assert_int_equal(h.enc, WC_CENC_COMPACT);
	assert_int_equal(h.count, 2);
	assert_int_equal(find(part, &ctx, "h1", "a", 1, &m), WC_C_OK);
	assert_int_equal(m.vlen, 3);
	assert_memory_equal(m.val, "one", 3);
	assert_int_equal(find(part, &ctx, "h1", "zz", 2, &m), WC_C_ABSENT);
	/* set if absent */
	{
		struct wc_cbytes n = wc_cbytes_of("a", 1), v = wc_cbytes_of("x", 1);

		assert_int_equal(wc_c_update(part, &ctx, "h1", 2, kh("h1"), WC_TYPE_HASH,
					     WC_COP_SETNX, &n, &v, &r), WC_OK);
		assert_int_equal(r.outcome, WC_COUT_NONE);
	}
	/* wrong type */
	assert_int_equal(sop(part, &ctx, "h1", WC_COP_SET, "a", 1, &r), WC_ERR_ARG);
	assert_int_equal(set_str(part, &ctx, "str", "x"), WC_OK);
	assert_int_equal(hset(part, &ctx, "str", "a", 1, "1", 1, &r), WC_ERR_ARG);
	/* deleting down to nothing removes the key */
	assert_int_equal(hdel("h1", "nope", 4, &r), WC_OK);
	assert_int_equal(r.outcome, WC_COUT_NONE);
	assert_int_equal(hdel("h1", "a", 1, &r), WC_OK);
	assert_int_equal(r.outcome, WC_COUT_DELETED);
	assert_false(r.key_removed);
	assert_int_equal(hdel("h1", "b", 1, &r), WC_OK);
	assert_true(r.key_removed);
	assert_false(open_c(part, &ctx, "h1", &h));
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.keys, 1);	/* "str" */
	/* a delete on a missing key changes nothing */
	assert_int_equal(hdel("h1", "a", 1, &r), WC_OK);
	assert_int_equal(r.outcome, WC_COUT_NONE);
	assert_false(open_c(part, &ctx, "h1", &h));
}

/* Growing past the compact limits converts to buckets, by count or by bytes. */
static void conversion_and_splits(void **state)
{
	struct wc_cupd r;
	struct wc_chdr h;
	char f[32], v[48];
	unsigned n = 20000;
	uint64_t items_before;

	(void)state;
	items_before = part_items();
	for (unsigned i = 0; i < WC_C_COMPACT_MAX; i++)
		assert_int_equal(hset(part, &ctx, "big", f, mname(f, i), v, mval(v, i, 0), &r),
				 WC_OK);
	assert_true(open_c(part, &ctx, "big", &h));
	assert_int_equal(h.enc, WC_CENC_COMPACT);
	assert_int_equal(hset(part, &ctx, "big", f, mname(f, 64), v, mval(v, 64, 0), &r), WC_OK);
	assert_true(open_c(part, &ctx, "big", &h));
	assert_int_equal(h.enc, WC_CENC_BUCKETS);
	assert_int_equal(h.count, 65);
	for (unsigned i = 0; i <= 64; i++)
		assert_hget("big", i, 0);
	for (unsigned i = 65; i < n; i++) {
		assert_int_equal(hset(part, &ctx, "big", f, mname(f, i), v, mval(v, i, 0), &r),
				 WC_OK);
		assert_int_equal(r.outcome, WC_COUT_ADDED);
	}
	assert_true(open_c(part, &ctx, "big", &h));
	assert_int_equal(h.count, n);
	/* splits kept the load near WC_C_LOAD per bucket */
	assert_true(h.nb >= n / WC_C_LOAD);
	assert_true(h.nb <= 2 * (n / WC_C_LOAD));
	for (unsigned i = 0; i < n; i++)
		assert_hget("big", i, 0);
	/* updates in place, then deletes of every other member */
	for (unsigned i = 0; i < n; i += 3) {
		assert_int_equal(hset(part, &ctx, "big", f, mname(f, i), v, mval(v, i, 1), &r),
				 WC_OK);
		assert_int_equal(r.outcome, WC_COUT_UPDATED);
	}
	for (unsigned i = 1; i < n; i += 2) {
		assert_int_equal(hdel("big", f, mname(f, i), &r), WC_OK);
		assert_int_equal(r.outcome, WC_COUT_DELETED);
	}
	assert_true(open_c(part, &ctx, "big", &h));
	assert_int_equal(h.count, n / 2);
	for (unsigned i = 0; i < n; i++) {
		struct wc_cmember m;

		if (i % 2)
			assert_int_equal(find(part, &ctx, "big", f, mname(f, i), &m), WC_C_ABSENT);
		else
			assert_hget("big", i, i % 3 == 0 ? 1 : 0);
	}
	/* everything goes: the key is deleted with its last member */
	for (unsigned i = 0; i < n; i += 2)
		assert_int_equal(hdel("big", f, mname(f, i), &r), WC_OK);
	assert_true(r.key_removed);
	assert_false(open_c(part, &ctx, "big", &h));
	/* its buckets and anchor are orphans, reclaimed in idle time */
	maintain_all();
	assert_int_equal(part_items(), items_before);

	/* one member larger than a compact container: buckets from the start */
	{
		static char huge[5000];

		memset(huge, 'z', sizeof(huge));
		assert_int_equal(hset(part, &ctx, "fat", "f", 1, huge, sizeof(huge), &r), WC_OK);
		assert_true(open_c(part, &ctx, "fat", &h));
		assert_int_equal(h.enc, WC_CENC_BUCKETS);
		assert_int_equal(hset(part, &ctx, "fat", "g", 1, "1", 1, &r), WC_OK);
		assert_int_equal(r.count, 2);
		assert_int_equal(hdel("fat", "f", 1, &r), WC_OK);
		assert_int_equal(hdel("fat", "g", 1, &r), WC_OK);
		assert_true(r.key_removed);
	}
	/* by bytes: 30 members of 100 bytes */
	{
		char big[100];

		memset(big, 'q', sizeof(big));
		for (unsigned i = 0; i < 30; i++) {
			big[0] = (char)('A' + i);
			assert_int_equal(sop(part, &ctx, "bytes", WC_COP_SET, big, sizeof(big), &r),
					 WC_OK);
		}
		assert_true(open_c(part, &ctx, "bytes", &h));
		assert_int_equal(h.enc, WC_CENC_BUCKETS);
		assert_int_equal(h.count, 30);
	}
}

static void sets_and_snapshots(void **state)
{
	struct wc_cupd r;
	struct wc_chdr h;
	struct wc_csnap s;
	struct wc_csnap_it it = { 0 };
	struct wc_cmember m;
	void *mem = NULL;
	unsigned n = 5000;
	uint8_t *seen = calloc(n, 1);
	char f[32];
	unsigned got = 0;

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(sop(part, &ctx, "set", WC_COP_SET, f, mname(f, i), &r), WC_OK);
		assert_int_equal(sop(part, &ctx, "set", WC_COP_SET, f, mname(f, i), &r), WC_OK);
		assert_int_equal(r.outcome, WC_COUT_NONE);	/* already a member */
	}
	assert_true(open_c(part, &ctx, "set", &h));
	assert_int_equal(wc_c_snap(part, &ctx, "set", 3, &h, snap_alloc, &mem, &s), WC_C_OK);
	assert_int_equal(s.count, n);
	while (wc_csnap_next(&s, &it, &m)) {
		long i = member_id(&m);

		assert_true(i >= 0 && i < (long)n);
		assert_false(seen[i]);
		seen[i] = 1;
		got++;
		assert_true(wc_csnap_find(&s, &(struct wc_cbytes){ .p = m.name, .len = m.nlen }, &m));
	}
	assert_int_equal(got, n);
	assert_false(wc_csnap_find(&s, &(struct wc_cbytes){ .p = (const uint8_t *)"x", .len = 1 },
				   &m));
	snap_free(&mem);
	/* random members are members */
	{
		uint64_t rs = 42;

		for (int k = 0; k < 100; k++) {
			long i;

			assert_int_equal(wc_c_random(part, &ctx, &h, &rs, &m), WC_C_OK);
			i = member_id(&m);
			assert_true(i >= 0 && i < (long)n);
		}
	}
	free(seen);
}

/* A build dedupes, stays compact while small, and replaces what the key held. */
static void builds(void **state)
{
	struct wc_cbuild b;
	struct wc_chdr h;
	struct wc_cmember m;
	char f[32];
	bool added;

	(void)state;
	assert_int_equal(set_str(part, &ctx, "dst", "a string first"), WC_OK);
	wc_cb_begin(&b, part, &ctx, WC_TYPE_SET, "dst", 3, 10);
	for (unsigned i = 0; i < 10; i++) {
		struct wc_cbytes n = wc_cbytes_of(f, mname(f, i % 5));

		assert_int_equal(wc_cb_add(&b, &n, NULL, false, &added), WC_OK);
		assert_int_equal(added, i < 5);
	}
	assert_int_equal(wc_cb_publish(&b, 0, 0), WC_OK);
	assert_true(open_c(part, &ctx, "dst", &h));
	assert_int_equal(h.type, WC_TYPE_SET);
	assert_int_equal(h.enc, WC_CENC_COMPACT);
	assert_int_equal(h.count, 5);

	wc_cb_begin(&b, part, &ctx, WC_TYPE_SET, "dst", 3, 100);
	for (unsigned i = 0; i < 3000; i++) {
		struct wc_cbytes n = wc_cbytes_of(f, mname(f, i % 1000));

		assert_int_equal(wc_cb_add(&b, &n, NULL, false, &added), WC_OK);
		assert_int_equal(added, i < 1000);
	}
	/* not visible before it is published */
	assert_true(open_c(part, &ctx, "dst", &h));
	assert_int_equal(h.count, 5);
	assert_int_equal(wc_cb_publish(&b, ctx.clock.now + 100, 0), WC_OK);
	assert_true(open_c(part, &ctx, "dst", &h));
	assert_int_equal(h.enc, WC_CENC_BUCKETS);
	assert_int_equal(h.count, 1000);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(find(part, &ctx, "dst", f, mname(f, i), &m), WC_C_OK);
	/* an empty build deletes the key */
	wc_cb_begin(&b, part, &ctx, WC_TYPE_SET, "dst", 3, 0);
	assert_int_equal(wc_cb_publish(&b, 0, 0), WC_OK);
	assert_false(open_c(part, &ctx, "dst", &h));
	maintain_all();
}

/* COPY is deep (a new cid); RENAME moves the header and keeps the buckets. */
static void copy_and_rename(void **state)
{
	struct wc_cupd r;
	struct wc_chdr h, h2;
	struct wc_cmember m;
	char f[32], v[48];
	unsigned n = 3000;
	uint64_t items0;
	struct wc_part_stats ps;

	(void)state;
	maintain_all();
	items0 = part_items();
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(hset(part, &ctx, "src", f, mname(f, i), v, mval(v, i, 0), &r),
				 WC_OK);
	assert_int_equal(wc_kv_expire(part, &ctx, "src", 3, kh("src"), ctx.clock.now + 500, 10,
				      &(bool){ false }), WC_OK);
	assert_int_equal(wc_c_copy(part, &ctx, "src", 3, "cp", 2), WC_OK);
	assert_true(open_c(part, &ctx, "src", &h));
	assert_true(open_c(part, &ctx, "cp", &h2));
	assert_int_not_equal(h.cid, h2.cid);
	assert_int_equal(h2.count, n);
	assert_int_equal(h2.nb, h.nb);
	for (unsigned i = 0; i < n; i++)
		assert_hget("cp", i, 0);
	/* independent copies */
	assert_int_equal(hset(part, &ctx, "cp", f, mname(f, 7), v, mval(v, 7, 9), &r), WC_OK);
	assert_hget("src", 7, 0);
	assert_hget("cp", 7, 9);
	{
		struct wc_view vw;

		assert_true(wc_get(part, &ctx, "cp", 2, kh("cp"), WC_LOOKUP_ANY_TYPE, &vw));
		assert_int_equal(vw.exptime, ctx.clock.now + 500);
		assert_int_equal(vw.exp_ms, 10);
	}
	/* rename onto the copy: the copy's buckets become orphans, src's stay */
	assert_int_equal(wc_c_rename(part, &ctx, "src", 3, "cp", 2), WC_OK);
	assert_false(open_c(part, &ctx, "src", &h2));
	assert_true(open_c(part, &ctx, "cp", &h2));
	assert_int_equal(h2.cid, h.cid);
	maintain_all();
	for (unsigned i = 0; i < n; i++)
		assert_hget("cp", i, 0);
	/* the renamed container is still whole and owned: a change works, a delete reclaims it */
	assert_int_equal(hset(part, &ctx, "cp", f, mname(f, 1), v, mval(v, 1, 5), &r), WC_OK);
	assert_hget("cp", 1, 5);
	wc_part_get_stats(part, &ps);
	assert_true(ps.orphans > 0);
	assert_int_equal(wc_kv_delete(part, &ctx, "cp", 2, kh("cp")), WC_OK);
	maintain_all();
	assert_int_equal(part_items(), items0);
	assert_int_equal(find(part, &ctx, "cp", "member:1", 8, &m), WC_C_ABSENT);
}

/*
 * Each member change is one store operation (a SET, or a DELETE for a
 * removal), refusals too, as a string's wc_kv_put and wc_kv_delete count:
 * never the header, bucket and anchor versions written for it. A build's
 * publish and a bucketed copy are one SET each.
 */
static void member_changes_are_operations(void **state)
{
	struct wc_cupd r;
	struct wc_cbuild b;
	char f[32], v[48];
	bool added;
	uint64_t sets = ctx.st.ops[WC_OP_SET], dels = ctx.st.ops[WC_OP_DELETE];
	uint64_t others = 0;

	(void)state;
	for (unsigned i = 0; i < WC_OP_COUNT; i++)
		if (i != WC_OP_SET && i != WC_OP_DELETE)
			others += ctx.st.ops[i];
	/* 2000 members: the container converts to buckets and splits on the way */
	for (unsigned i = 0; i < 2000; i++)
		assert_int_equal(hset(part, &ctx, "ops", f, mname(f, i), v, mval(v, i, 0), &r),
				 WC_OK);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2000);
	assert_int_equal(hset(part, &ctx, "ops", f, mname(f, 3), v, mval(v, 3, 1), &r), WC_OK);
	assert_int_equal(r.outcome, WC_COUT_UPDATED);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2001);
	/* removals, a missing member's included */
	assert_int_equal(hdel("ops", f, mname(f, 5), &r), WC_OK);
	assert_int_equal(hdel("ops", "nope", 4, &r), WC_OK);
	assert_int_equal(ctx.st.ops[WC_OP_DELETE], dels + 2);
	/* sets, and a refusal (wrong type) */
	assert_int_equal(sop(part, &ctx, "ops-s", WC_COP_SET, "m", 1, &r), WC_OK);
	assert_int_equal(sop(part, &ctx, "ops-s", WC_COP_DEL, "m", 1, &r), WC_OK);
	assert_int_equal(sop(part, &ctx, "ops", WC_COP_SET, "m", 1, &r), WC_ERR_ARG);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2003);
	assert_int_equal(ctx.st.ops[WC_OP_DELETE], dels + 3);
	/* a build of 500 members: one operation when published */
	wc_cb_begin(&b, part, &ctx, WC_TYPE_SET, "ops-b", 5, 500);
	for (unsigned i = 0; i < 500; i++) {
		struct wc_cbytes n = wc_cbytes_of(f, mname(f, i));

		assert_int_equal(wc_cb_add(&b, &n, NULL, true, &added), WC_OK);
	}
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2003);
	assert_int_equal(wc_cb_publish(&b, 0, 0), WC_OK);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2004);
	/* a bucketed copy is one SET, whatever it writes */
	assert_int_equal(wc_c_copy(part, &ctx, "ops", 3, "ops-c", 5), WC_OK);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2005);
	for (unsigned i = 0; i < WC_OP_COUNT; i++)
		if (i != WC_OP_SET && i != WC_OP_DELETE)
			others -= ctx.st.ops[i];
	assert_int_equal(others, 0);	/* nothing else was counted */
	assert_int_equal(wc_kv_delete(part, &ctx, "ops", 3, kh("ops")), WC_OK);
	assert_int_equal(wc_kv_delete(part, &ctx, "ops-b", 5, kh("ops-b")), WC_OK);
	assert_int_equal(wc_kv_delete(part, &ctx, "ops-c", 5, kh("ops-c")), WC_OK);
	maintain_all();
}

/* ---- a reader on another thread while the owner grows the container ---- */

struct race {
	unsigned n;
	unsigned published;		/* members 0 .. published-1 are in */
	int stop;
	uint64_t reads, snaps, bad;
};

static void *reader(void *arg)
{
	struct race *rc = arg;
	struct wc_ctx rctx;
	uint64_t rs = 7;

	rcu_register_thread();
	test_ctx(&rctx, 1000);
	while (!__atomic_load_n(&rc->stop, __ATOMIC_ACQUIRE)) {
		unsigned have = __atomic_load_n(&rc->published, __ATOMIC_ACQUIRE);
		struct wc_cmember m;
		char f[32], v[48];

		if (have == 0) {
			rcu_quiescent_state();
			continue;
		}
		/* a member added before we looked is always found, with a whole value */
		for (int k = 0; k < 32; k++) {
			unsigned i = (unsigned)(wc_c_rand(&rs) % have);
			size_t fl = mname(f, i), vl = mval(v, i, 0);
			int r = find(part, &rctx, "race", f, fl, &m);

			if (r != WC_C_OK || m.vlen != vl || memcmp(m.val, v, vl) != 0)
				__atomic_fetch_add(&rc->bad, 1, __ATOMIC_RELAXED);
			rc->reads++;
		}
		/* a snapshot holds each member at most once, and every one added before it */
		if (rc->snaps < 200) {
			void *mem = NULL;
			struct wc_chdr h;
			struct wc_csnap s;
			struct wc_csnap_it it = { 0 };
			uint8_t *seen = calloc(rc->n, 1);
			unsigned i, dup = 0, got = 0;
			int r = WC_C_RETRY;

			for (int t = 0; t < 100 && r == WC_C_RETRY; t++) {
				if (open_c(part, &rctx, "race", &h))
					r = wc_c_snap(part, &rctx, "race", 4, &h, snap_alloc, &mem,
						      &s);
				if (r == WC_C_RETRY) {
					snap_free(&mem);
					rcu_quiescent_state();
				}
			}
			if (r != WC_C_OK) {
				__atomic_fetch_add(&rc->bad, 1, __ATOMIC_RELAXED);
			} else {
				while (wc_csnap_next(&s, &it, &m)) {
					long id = member_id(&m);

					if (id < 0 || id >= (long)rc->n || seen[id]++)
						dup++;
					got++;
				}
				for (i = 0; i < have; i++)
					if (!seen[i])
						dup++;
				if (dup || got != s.count)
					__atomic_fetch_add(&rc->bad, 1, __ATOMIC_RELAXED);
			}
			free(seen);
			snap_free(&mem);
			rc->snaps++;
		}
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void *writer(void *arg)
{
	struct race *rc = arg;
	struct wc_ctx wctx;
	char f[32], v[48];
	struct wc_cupd r;

	rcu_register_thread();
	test_ctx(&wctx, 1000);
	for (unsigned i = 0; i < rc->n; i++) {
		if (hset(part, &wctx, "race", f, mname(f, i), v, mval(v, i, 0), &r) != WC_OK)
			__atomic_fetch_add(&rc->bad, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&rc->published, i + 1, __ATOMIC_RELEASE);
		if (i % 16 == 0)
			rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void readers_during_growth(void **state)
{
	struct race rc = { .n = 60000 };
	pthread_t w, rd;

	(void)state;
	/* this thread is neither: let the others' grace periods pass */
	rcu_thread_offline();
	assert_int_equal(pthread_create(&rd, NULL, reader, &rc), 0);
	assert_int_equal(pthread_create(&w, NULL, writer, &rc), 0);
	pthread_join(w, NULL);
	__atomic_store_n(&rc.stop, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	rcu_thread_online();
	printf("reader: %lu member reads, %lu snapshots, %lu bad\n", (unsigned long)rc.reads,
	       (unsigned long)rc.snaps, (unsigned long)rc.bad);
	assert_int_equal(rc.bad, 0);
	assert_true(rc.reads > 0);
	wc_kv_delete(part, &ctx, "race", 4, kh("race"));
	maintain_all();
}

/* ---- scans: cursor = bucket; every member present throughout is met ---- */

static void scan_during_inserts(void **state)
{
	struct wc_cupd r;
	char f[32];
	unsigned n0 = 2000, added = 0;
	uint8_t *seen = calloc(100000, 1);
	uint32_t cursor = 0;

	(void)state;
	for (unsigned i = 0; i < n0; i++)
		assert_int_equal(sop(part, &ctx, "scan", WC_COP_SET, f, mname(f, i), &r), WC_OK);
	do {
		struct wc_chdr h;
		struct wc_clist l;
		struct wc_cmember m;
		uint32_t pos = 0;

		assert_true(open_c(part, &ctx, "scan", &h));
		assert_int_equal(wc_c_bucket(part, &ctx, &h, cursor, false, &l), WC_C_OK);
		while (wc_clist_next(&l, &pos, &m)) {
			long i = member_id(&m);

			assert_true(i >= 0 && i < 100000);
			seen[i] = 1;
		}
		cursor = cursor + 1 < h.nb ? cursor + 1 : 0;
		/*
		 * members keep arriving (4 per bucket scanned: the scan still
		 * overtakes the growth), splitting buckets behind and ahead of it
		 */
		for (int k = 0; k < 4 && n0 + added < 100000; k++, added++)
			assert_int_equal(sop(part, &ctx, "scan", WC_COP_SET, f,
					     mname(f, n0 + added), &r), WC_OK);
	} while (cursor != 0);
	for (unsigned i = 0; i < n0; i++)
		assert_true(seen[i]);
	free(seen);
	wc_kv_delete(part, &ctx, "scan", 4, kh("scan"));
	maintain_all();
}

/* ---- eviction and expiry as a whole ---- */

/* The container is either whole or gone, never partly there. */
static void check_whole(struct wc_part *p, struct wc_ctx *c, const char *key, unsigned n,
			bool *gone)
{
	struct wc_chdr h;
	char f[32];
	unsigned found = 0;

	if (!open_c(p, c, key, &h)) {
		*gone = true;
		return;
	}
	assert_int_equal(h.count, n);
	for (unsigned i = 0; i < n; i++) {
		struct wc_cmember m;

		if (find(p, c, key, f, mname(f, i), &m) == WC_C_OK)
			found++;
	}
	assert_int_equal(found, n);
}

static void eviction_as_a_whole(void **state)
{
	struct wc_part *p = test_part(4u << 20, 0, 10);
	struct wc_ctx c;
	struct wc_cupd r;
	struct wc_part_stats ps;
	char f[32], v[48], k[32];
	unsigned n = 8000;
	bool gone = false;
	unsigned rounds = 0;

	(void)state;
	test_ctx(&c, 1000);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(hset(p, &c, "victim", f, mname(f, i), v, mval(v, i, 0), &r), WC_OK);
	check_whole(p, &c, "victim", n, &gone);
	assert_false(gone);
	/*
	 * other keys, written and read once (so S3-FIFO takes them into its
	 * main queue, where the container is), push it out: never a member
	 * missing while the key is there
	 */
	while (!gone && rounds < 400) {
		char val[512];
		struct wc_view gv;

		memset(val, 'x', sizeof(val));
		for (unsigned i = 0; i < 200; i++) {
			snprintf(k, sizeof(k), "filler:%u:%u", rounds, i);
			assert_int_equal(store_mode(p, &c, WC_SET, k, val, sizeof(val), 0, 0, 0,
						    NULL), WC_OK);
			get_str(p, &c, k, &gv);
		}
		check_whole(p, &c, "victim", n, &gone);
		rounds++;
	}
	assert_true(gone);
	wc_part_get_stats(p, &ps);
	assert_true(ps.evictions > 0);
	/* what is left of it is reclaimed, never visible */
	for (int i = 0; i < 64; i++)
		wc_part_maintain(p, &c, 1u << 16);
	wc_part_get_stats(p, &ps);
	assert_true(ps.orphans > 0);
	{
		/* every live item is now a filler string */
		uint64_t keys = ps.keys, items = ps.items;

		assert_int_equal(keys, items);
	}
	/* the key can be used again, from scratch */
	assert_int_equal(hset(p, &c, "victim", "a", 1, "b", 1, &r), WC_OK);
	assert_int_equal(r.count, 1);
	wc_part_destroy(p);
}

/* A hot container survives pressure that evicts cold strings. */
static void hot_container_kept(void **state)
{
	struct wc_part *p = test_part(4u << 20, 0, 10);
	struct wc_ctx c;
	struct wc_cupd r;
	char f[32], v[48], k[32], val[256];
	unsigned n = 3000;
	bool gone = false;

	(void)state;
	test_ctx(&c, 1000);
	memset(val, 'y', sizeof(val));
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(hset(p, &c, "hot", f, mname(f, i), v, mval(v, i, 0), &r), WC_OK);
	for (unsigned round = 0; round < 100; round++) {
		struct wc_chdr h;

		/* clients read it (touching the header) */
		touch_c(p, &c, "hot");
		assert_true(open_c(p, &c, "hot", &h));
		for (unsigned i = 0; i < 200; i++) {
			snprintf(k, sizeof(k), "cold:%u:%u", round, i);
			assert_int_equal(store_mode(p, &c, WC_SET, k, val, sizeof(val), 0, 0, 0, NULL),
					 WC_OK);
		}
	}
	check_whole(p, &c, "hot", n, &gone);
	assert_false(gone);
	wc_part_destroy(p);
}

static void expiry_as_a_whole(void **state)
{
	struct wc_cupd r;
	struct wc_chdr h;
	struct wc_cmember m;
	struct wc_part_stats ps;
	char f[32];
	unsigned n = 4000;
	uint64_t items0, bytes0;
	bool gone;

	(void)state;
	maintain_all();
	wc_part_get_stats(part, &ps);
	items0 = ps.items;
	bytes0 = ps.bytes;
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(sop(part, &ctx, "ttl", WC_COP_SET, f, mname(f, i), &r), WC_OK);
	wc_part_get_stats(part, &ps);
	assert_true(ps.bytes > bytes0 + n * 10);	/* it counts against the memory */
	assert_int_equal(ps.expiring, 0);
	assert_int_equal(wc_kv_expire(part, &ctx, "ttl", 3, kh("ttl"), ctx.clock.now + 2, 0, &gone),
			 WC_OK);
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.expiring, 1);
	/* changes keep the TTL */
	assert_int_equal(sop(part, &ctx, "ttl", WC_COP_SET, "new", 3, &r), WC_OK);
	assert_int_equal(sop(part, &ctx, "ttl", WC_COP_DEL, "new", 3, &r), WC_OK);
	assert_true(open_c(part, &ctx, "ttl", &h));
	assert_int_equal(find(part, &ctx, "ttl", "member:5", 8, &m), WC_C_OK);
	ctx.clock.now += 2;
	assert_false(open_c(part, &ctx, "ttl", &h));
	maintain_all();
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.items, items0);
	assert_int_equal(ps.bytes, bytes0);
	assert_int_equal(ps.expiring, 0);
	/* a write after expiry starts a new container */
	assert_int_equal(sop(part, &ctx, "ttl", WC_COP_SET, "x", 1, &r), WC_OK);
	assert_int_equal(r.count, 1);
	assert_int_equal(sop(part, &ctx, "ttl", WC_COP_DEL, "x", 1, &r), WC_OK);
}

/* A client cannot remove a container's part with a memcached delete. */
static void parts_are_not_keys(void **state)
{
	struct wc_cupd r;
	struct wc_chdr h;
	char f[32];
	uint8_t bk[16] = { 0xFF, 'W', 'C', 'B' };

	(void)state;
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(sop(part, &ctx, "pk", WC_COP_SET, f, mname(f, i), &r), WC_OK);
	assert_true(open_c(part, &ctx, "pk", &h));
	memcpy(bk + 4, &h.cid, 8);
	assert_int_equal(wc_delete(part, &ctx, bk, 16, wc_hash(bk, 16), 0), WC_NOT_FOUND);
	{
		struct wc_view v;

		assert_false(wc_get(part, &ctx, bk, 16, wc_hash(bk, 16), 0, &v));
	}
	for (unsigned i = 0; i < 100; i++) {
		struct wc_cmember m;

		assert_int_equal(find(part, &ctx, "pk", f, mname(f, i), &m), WC_C_OK);
	}
	wc_kv_delete(part, &ctx, "pk", 2, kh("pk"));
}

/*
 * Random changes checked against a model: 3 containers, members drawn from
 * 3000 names (so they grow into buckets, split, and shrink back to nothing),
 * every outcome and, now and then, every member and value compared.
 */
static void model_random_ops(void **state)
{
	enum { KEYS = 3, NAMES = 3000, OPS = 60000 };
	static uint16_t model[KEYS][NAMES];	/* 0: absent, else value generation + 1 */
	static const char *const keys[KEYS] = { "mh0", "mh1", "ms" };
	uint64_t rs = 99, count[KEYS] = { 0 };
	void *mem = NULL;

	(void)state;
	for (unsigned op = 0; op < OPS; op++) {
		unsigned k = (unsigned)(wc_c_rand(&rs) % KEYS), i;
		uint8_t type = k < 2 ? WC_TYPE_HASH : WC_TYPE_SET;
		char f[32], v[48];
		size_t fl;
		struct wc_cupd r;
		bool del;
		/* drift: some phases add, some remove, so containers also empty out */
		unsigned phase = (op / 7000) % 3;

		i = (unsigned)(wc_c_rand(&rs) % NAMES);
		fl = mname(f, i);
		del = wc_c_rand(&rs) % 100 < (phase == 0 ? 20u : phase == 1 ? 50u : 85u);
		if (del) {
			struct wc_cbytes n = wc_cbytes_of(f, fl);

			assert_int_equal(wc_c_update(part, &ctx, keys[k], (uint32_t)strlen(keys[k]),
						     kh(keys[k]), type, WC_COP_DEL, &n, NULL, &r), WC_OK);
			assert_int_equal(r.outcome, model[k][i] ? WC_COUT_DELETED : WC_COUT_NONE);
			if (model[k][i])
				count[k]--;
			model[k][i] = 0;
			assert_int_equal(r.key_removed, count[k] == 0 && r.outcome == WC_COUT_DELETED);
		} else if (type == WC_TYPE_HASH) {
			unsigned gen = (unsigned)(wc_c_rand(&rs) % 1000);

			assert_int_equal(hset(part, &ctx, keys[k], f, fl, v, mval(v, i, gen), &r), WC_OK);
			assert_int_equal(r.outcome, model[k][i] ? WC_COUT_UPDATED : WC_COUT_ADDED);
			count[k] += !model[k][i];
			model[k][i] = (uint16_t)(gen + 1);
		} else {
			assert_int_equal(sop(part, &ctx, keys[k], WC_COP_SET, f, fl, &r), WC_OK);
			assert_int_equal(r.outcome, model[k][i] ? WC_COUT_NONE : WC_COUT_ADDED);
			count[k] += !model[k][i];
			model[k][i] = 1;
		}
		assert_int_equal(r.count, count[k]);
		if (op % 5000 == 4999) {
			for (unsigned kk = 0; kk < KEYS; kk++) {
				struct wc_chdr h;
				struct wc_csnap sn;
				struct wc_csnap_it it = { 0 };
				struct wc_cmember m;
				uint64_t seen = 0;

				if (!open_c(part, &ctx, keys[kk], &h)) {
					assert_int_equal(count[kk], 0);
					continue;
				}
				assert_int_equal(h.count, count[kk]);
				assert_int_equal(wc_c_snap(part, &ctx, keys[kk],
							   (uint32_t)strlen(keys[kk]), &h, snap_alloc, &mem,
							   &sn), WC_C_OK);
				while (wc_csnap_next(&sn, &it, &m)) {
					long id = member_id(&m);

					assert_true(id >= 0 && id < NAMES && model[kk][id]);
					if (kk < 2) {
						char want[48];
						size_t wl = mval(want, (unsigned)id, model[kk][id] - 1u);

						assert_int_equal(m.vlen, wl);
						assert_memory_equal(m.val, want, wl);
					}
					seen++;
				}
				assert_int_equal(seen, count[kk]);
				snap_free(&mem);
			}
		}
	}
	for (unsigned kk = 0; kk < KEYS; kk++)
		wc_kv_delete(part, &ctx, keys[kk], (uint32_t)strlen(keys[kk]), kh(keys[kk]));
	maintain_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compact_basics),
		cmocka_unit_test(conversion_and_splits),
		cmocka_unit_test(sets_and_snapshots),
		cmocka_unit_test(builds),
		cmocka_unit_test(copy_and_rename),
		cmocka_unit_test(member_changes_are_operations),
		cmocka_unit_test(readers_during_growth),
		cmocka_unit_test(scan_during_inserts),
		cmocka_unit_test(eviction_as_a_whole),
		cmocka_unit_test(hot_container_kept),
		cmocka_unit_test(expiry_as_a_whole),
		cmocka_unit_test(parts_are_not_keys),
		cmocka_unit_test(model_random_ops),
	};

	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
