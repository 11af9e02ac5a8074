/*
 * test_rd_tracking.c - client tracking (redis/tracking.h): the per-lcore
 * table on its own (readers, the key bound and the memory bound, both
 * taking out the oldest keys first, a model check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "redis/trk_table.h"
#include "store/store.h"

/* ---- the table ---- */

struct seen {
	unsigned n;
	char keys[64][64];
	uint64_t ids[64];
};

static void note(void *arg, const uint8_t *key, uint32_t klen, struct rd_session *s, uint64_t id)
{
	struct seen *w = arg;

	(void)s;
	if (w->n < 64) {
		snprintf(w->keys[w->n], sizeof(w->keys[0]), "%.*s", (int)klen, (const char *)key);
		w->ids[w->n] = id;
	}
	w->n++;
}

static bool add(struct trk_table *t, const char *k, uintptr_t client, uint64_t max, struct seen *w)
{
	return trk_table_add(t, (const uint8_t *)k, (uint32_t)strlen(k), wc_hash(k, strlen(k)),
			     (struct rd_session *)client, client, max, note, w);
}

static unsigned take(struct trk_table *t, const char *k, struct seen *w)
{
	return trk_table_take(t, (const uint8_t *)k, (uint32_t)strlen(k), wc_hash(k, strlen(k)),
			      note, w);
}

static bool has(struct trk_table *t, const char *k, uintptr_t client)
{
	return trk_table_has(t, (const uint8_t *)k, (uint32_t)strlen(k), wc_hash(k, strlen(k)),
			     (struct rd_session *)client, client);
}

static void table_readers(void **state)
{
	struct trk_table t;
	struct seen w = { 0 };

	(void)state;
	assert_int_equal(trk_table_init(&t, 4, 8), 0);
	assert_true(add(&t, "a", 1, 0, &w));
	assert_true(add(&t, "a", 1, 0, &w));	/* the same reader again: one record */
	assert_true(add(&t, "a", 2, 0, &w));
	assert_true(add(&t, "b", 2, 0, &w));
	assert_int_equal(t.keys, 2);
	assert_int_equal(t.items, 3);
	assert_true(has(&t, "a", 1) && has(&t, "a", 2) && has(&t, "b", 2) && !has(&t, "b", 1));
	assert_int_equal(take(&t, "a", &w), 2);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.keys[0], "a");
	assert_true((w.ids[0] == 1 && w.ids[1] == 2) || (w.ids[0] == 2 && w.ids[1] == 1));
	assert_int_equal(t.keys, 1);
	assert_int_equal(t.items, 1);
	/* taken once: a second change tells nobody */
	assert_int_equal(take(&t, "a", &w), 0);
	assert_int_equal(take(&t, "nope", &w), 0);
	assert_false(has(&t, "a", 1));
	trk_table_clear(&t);
	assert_int_equal(t.keys, 0);
	assert_int_equal(t.items, 0);
	assert_false(has(&t, "b", 2));
	assert_int_equal(take(&t, "b", &w), 0);
	assert_int_equal(w.n, 2);
	trk_table_fini(&t);
}

static void table_key_bound_takes_oldest(void **state)
{
	struct trk_table t;
	struct seen w = { 0 };
	char k[16];

	(void)state;
	assert_int_equal(trk_table_init(&t, 4, 8), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		assert_true(add(&t, k, 7, 3, &w));
	}
	assert_int_equal(t.keys, 3);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.keys[0], "key0");
	assert_string_equal(w.keys[1], "key1");
	assert_int_equal(w.ids[0], 7);
	/* a key already there is no new key: nothing taken */
	assert_true(add(&t, "key2", 8, 3, &w));
	assert_int_equal(w.n, 2);
	assert_int_equal(t.keys, 3);
	assert_int_equal(t.items, 4);
	/* the bound lowered: the oldest go, with every reader of each */
	trk_table_trim(&t, 1, note, &w);
	assert_int_equal(t.keys, 1);
	assert_int_equal(w.n, 5);
	assert_string_equal(w.keys[2], "key2");
	assert_string_equal(w.keys[3], "key2");
	assert_string_equal(w.keys[4], "key3");
	assert_true(has(&t, "key4", 7));
	assert_int_equal(t.evicted, 4);
	trk_table_fini(&t);
}

static void table_memory_bound_takes_oldest(void **state)
{
	struct trk_table t;
	struct seen w = { 0 };
	char k[256];
	unsigned n = 0;

	(void)state;
	/* two chunks of log: far fewer 200-byte keys than we add */
	assert_int_equal(trk_table_init(&t, 2, 6), 0);
	for (unsigned i = 0; i < 2000; i++) {
		memset(k, 'x', 200);
		snprintf(k + 200, sizeof(k) - 200, "%u", i);
		assert_true(add(&t, k, 1 + i % 3, 0, &w));
		assert_true(has(&t, k, 1 + i % 3));
	}
	/* what is left is the newest, in one unbroken run */
	for (unsigned i = 2000; i-- > 0;) {
		memset(k, 'x', 200);
		snprintf(k + 200, sizeof(k) - 200, "%u", i);
		if (!has(&t, k, 1 + i % 3))
			break;
		n++;
	}
	assert_int_equal(n, t.keys);
	assert_true(n > 100 && n < 2 * (TRK_CHUNK_BYTES / 232));
	assert_int_equal(w.n, 2000 - n);
	assert_int_equal(t.items, t.keys);
	trk_table_fini(&t);
}

/*
 * Keys with more readers than a key record holds (pair records), under a
 * memory bound: room for a pair may take out its own key, which then
 * comes back with the new reader alone. Every (key, client) pair is
 * either still in the table or was reported, once.
 */
static void table_memory_bound_with_pairs(void **state)
{
	enum { KEYS = 3000, READERS = 7 };
	struct trk_table t;
	struct seen w = { 0 };
	char k[256];
	uint64_t present = 0;

	(void)state;
	assert_int_equal(trk_table_init(&t, 2, 6), 0);
	for (unsigned i = 0; i < KEYS; i++) {
		memset(k, 'x', 200);
		snprintf(k + 200, sizeof(k) - 200, "%u", i);
		for (uintptr_t c = 1; c <= READERS; c++) {
			assert_true(add(&t, k, c, 0, &w));
			assert_true(has(&t, k, c));
			assert_true(add(&t, k, c, 0, &w));	/* (a re-read adds nothing) */
		}
	}
	for (unsigned i = 0; i < KEYS; i++) {
		memset(k, 'x', 200);
		snprintf(k + 200, sizeof(k) - 200, "%u", i);
		for (uintptr_t c = 1; c <= READERS; c++)
			present += has(&t, k, c);
	}
	assert_int_equal(present, t.items);
	assert_int_equal(w.n + t.items, (uint64_t)KEYS * READERS);
	assert_true(t.keys > 10 && t.items > t.keys);
	/* the newest key has all its readers, and a change reports them all */
	memset(k, 'x', 200);
	snprintf(k + 200, sizeof(k) - 200, "%u", KEYS - 1);
	w.n = 0;
	assert_int_equal(take(&t, k, &w), READERS);
	assert_int_equal(w.n, READERS);
	trk_table_fini(&t);
}

/* A key read again after it changed, was evicted or the table was cleared is recorded again. */
static void table_reread_after_change(void **state)
{
	struct trk_table t;
	struct seen w = { 0 };

	(void)state;
	assert_int_equal(trk_table_init(&t, 4, 8), 0);
	/* read, re-read (no second record), changed, read again: recorded again */
	assert_true(add(&t, "a", 1, 0, &w));
	assert_true(add(&t, "a", 1, 0, &w));
	assert_int_equal(t.items, 1);
	assert_int_equal(take(&t, "a", &w), 1);
	assert_true(add(&t, "a", 1, 0, &w));
	assert_true(has(&t, "a", 1));
	assert_int_equal(take(&t, "a", &w), 1);
	/* evicted by the key bound, then read again: recorded again */
	assert_true(add(&t, "x", 1, 1, &w));
	assert_true(add(&t, "y", 1, 1, &w));	/* takes x out */
	assert_false(has(&t, "x", 1));
	assert_true(add(&t, "x", 1, 1, &w));	/* takes y out, x is back */
	assert_true(has(&t, "x", 1));
	assert_int_equal(take(&t, "x", &w), 1);
	/* the table cleared (a flush), then read again: recorded again */
	assert_true(add(&t, "b", 2, 0, &w));
	trk_table_clear(&t);
	assert_true(add(&t, "b", 2, 0, &w));
	assert_true(has(&t, "b", 2));
	assert_int_equal(t.items, 1);
	/* another client's re-read is its own */
	assert_true(add(&t, "b", 3, 0, &w));
	assert_int_equal(t.items, 2);
	assert_int_equal(take(&t, "b", &w), 2);
	trk_table_fini(&t);
}

/* Random reads and changes against a plain model of (key, client) pairs. */
static void table_model(void **state)
{
	enum { K = 40, C = 6 };
	static bool model[K][C];
	struct trk_table t;
	uint64_t seed = 7;

	(void)state;
	assert_int_equal(trk_table_init(&t, 8, 4), 0);
	for (int op = 0; op < 20000; op++) {
		char key[16];
		int k, c;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		k = (int)((seed >> 33) % K);
		c = (int)((seed >> 20) % C);
		snprintf(key, sizeof(key), "k%d", k);
		if ((seed >> 40) % 3) {
			assert_true(add(&t, key, (uintptr_t)c + 1, 0, NULL));
			model[k][c] = true;
		} else {
			struct seen w = { 0 };
			unsigned want = 0;

			for (int j = 0; j < C; j++)
				want += model[k][j];
			assert_int_equal(take(&t, key, &w), want);
			for (unsigned i = 0; i < w.n; i++) {
				assert_string_equal(w.keys[i], key);
				assert_true(model[k][w.ids[i] - 1]);
				model[k][w.ids[i] - 1] = false;
			}
		}
	}
	{
		uint64_t items = 0, keys = 0;

		for (int k = 0; k < K; k++) {
			bool any = false;

			for (int c = 0; c < C; c++) {
				char key[16];

				snprintf(key, sizeof(key), "k%d", k);
				assert_int_equal(has(&t, key, (uintptr_t)c + 1), model[k][c]);
				items += model[k][c];
				any |= model[k][c];
			}
			keys += any;
		}
		assert_int_equal(t.items, items);
		assert_int_equal(t.keys, keys);
	}
	trk_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_readers),
		cmocka_unit_test(table_key_bound_takes_oldest),
		cmocka_unit_test(table_memory_bound_takes_oldest),
		cmocka_unit_test(table_memory_bound_with_pairs),
		cmocka_unit_test(table_reread_after_change),
		cmocka_unit_test(table_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
