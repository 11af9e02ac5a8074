/*
 * test_rd_tracking.c - client tracking (redis/tracking.h): the per-lcore
 * table on its own (readers, the key bound and the memory bound, both
 * taking out the oldest keys first, readers in several slot groups, slots
 * left and given out again only after the scrub, model checks).
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

#define SEEN 512

struct seen {
	unsigned n;
	char keys[SEEN][64];
	uint64_t ids[SEEN];
};

static void note(void *arg, const uint8_t *key, uint32_t klen, struct rd_session *s, uint64_t id)
{
	struct seen *w = arg;

	(void)s;
	if (w->n < SEEN) {
		snprintf(w->keys[w->n], sizeof(w->keys[0]), "%.*s", (int)klen, (const char *)key);
		w->ids[w->n] = id;
	}
	w->n++;
}

/* Clients 1..CLIENTS, joined in order: client c reads under slot c - 1 (slot groups of 64). */
#define CLIENTS 300u

static int open_table(struct trk_table *t, uint32_t chunks, unsigned buckets_log2)
{
	if (trk_table_init(t, chunks, buckets_log2) != 0)
		return -1;
	for (uintptr_t c = 1; c <= CLIENTS; c++)
		if (trk_table_join(t, (struct rd_session *)c, c) != (int32_t)(c - 1))
			return -1;
	return 0;
}

static bool add(struct trk_table *t, const char *k, uintptr_t client, uint64_t max, struct seen *w)
{
	return trk_table_add(t, (const uint8_t *)k, (uint32_t)strlen(k), wc_hash(k, strlen(k)),
			     (uint32_t)(client - 1), max, note, w);
}

static unsigned take(struct trk_table *t, const char *k, struct seen *w)
{
	return trk_table_take(t, (const uint8_t *)k, (uint32_t)strlen(k), wc_hash(k, strlen(k)),
			      note, w);
}

static bool has(struct trk_table *t, const char *k, uintptr_t client)
{
	return trk_table_has(t, (const uint8_t *)k, (uint32_t)strlen(k), wc_hash(k, strlen(k)),
			     (uint32_t)(client - 1));
}

static void table_readers(void **state)
{
	struct trk_table t;
	struct seen w = { 0 };

	(void)state;
	assert_int_equal(open_table(&t, 4, 8), 0);
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
	assert_int_equal(open_table(&t, 4, 8), 0);
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
	assert_int_equal(open_table(&t, 2, 6), 0);
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

/* The i-th of a key's readers in the tests below: clients 45 slots apart, in five groups. */
static uintptr_t spread(uintptr_t i)
{
	return 1 + (i - 1) * 45;
}

/*
 * Keys read from more slot groups than a key record holds (group
 * records), under a memory bound: room for a group record may take out
 * its own key, which then comes back with the new reader alone. Every
 * (key, client) pair is either still in the table or was reported, once.
 */
static void table_memory_bound_with_groups(void **state)
{
	enum { KEYS = 3000, READERS = 7 };
	struct trk_table t;
	struct seen w = { 0 };
	char k[256];
	uint64_t present = 0;

	(void)state;
	assert_int_equal(open_table(&t, 2, 6), 0);
	for (unsigned i = 0; i < KEYS; i++) {
		memset(k, 'x', 200);
		snprintf(k + 200, sizeof(k) - 200, "%u", i);
		for (uintptr_t c = 1; c <= READERS; c++) {
			assert_true(add(&t, k, spread(c), 0, &w));
			assert_true(has(&t, k, spread(c)));
			assert_true(add(&t, k, spread(c), 0, &w));	/* (a re-read adds nothing) */
		}
	}
	for (unsigned i = 0; i < KEYS; i++) {
		memset(k, 'x', 200);
		snprintf(k + 200, sizeof(k) - 200, "%u", i);
		for (uintptr_t c = 1; c <= READERS; c++)
			present += has(&t, k, spread(c));
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
	assert_int_equal(open_table(&t, 4, 8), 0);
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
	enum { K = 40, C = 8 };	/* client j is 1 + 37 j: slots in five groups */
	static bool model[K][C];
	struct trk_table t;
	uint64_t seed = 7;

	(void)state;
	assert_int_equal(open_table(&t, 8, 4), 0);
	for (int op = 0; op < 20000; op++) {
		char key[16];
		int k, c;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		k = (int)((seed >> 33) % K);
		c = (int)((seed >> 20) % C);
		snprintf(key, sizeof(key), "k%d", k);
		if ((seed >> 40) % 3) {
			assert_true(add(&t, key, 1 + (uintptr_t)c * 37, 0, NULL));
			model[k][c] = true;
		} else {
			struct seen w = { 0 };
			unsigned want = 0;

			for (int j = 0; j < C; j++)
				want += model[k][j];
			assert_int_equal(take(&t, key, &w), want);
			for (unsigned i = 0; i < w.n; i++) {
				assert_string_equal(w.keys[i], key);
				assert_int_equal((w.ids[i] - 1) % 37, 0);
				assert_true(model[k][(w.ids[i] - 1) / 37]);
				model[k][(w.ids[i] - 1) / 37] = false;
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
				assert_int_equal(has(&t, key, 1 + (uintptr_t)c * 37), model[k][c]);
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

/* Run the scrub to its end (false when it never ends). */
static bool scrub_all(struct trk_table *t)
{
	for (int i = 0; i < 1000000; i++)
		if (!trk_table_scrub_step(t, 1))
			return true;
	return false;
}

/*
 * A slot left is not given out while a record may hold its bit; the scrub
 * clears those bits, and the next client there hears nothing of what the
 * last one read.
 */
static void table_slot_reused_after_scrub(void **state)
{
	struct trk_table t;
	struct seen w = { 0 };
	char k[16];

	(void)state;
	assert_int_equal(trk_table_init(&t, 4, 8), 0);
	assert_int_equal(trk_table_join(&t, (struct rd_session *)1, 101), 0);
	assert_int_equal(trk_table_join(&t, (struct rd_session *)2, 102), 1);
	/* no key yet: a slot left is free at once */
	trk_table_leave(&t, 1);
	assert_false(trk_table_scrub_step(&t, 1));
	assert_int_equal(trk_table_join(&t, (struct rd_session *)2, 102), 1);
	for (int i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_true(trk_table_add(&t, (const uint8_t *)k, (uint32_t)strlen(k),
					  wc_hash(k, strlen(k)), 0, 0, note, &w));
		if (i % 2 == 0)
			assert_true(trk_table_add(&t, (const uint8_t *)k, (uint32_t)strlen(k),
						  wc_hash(k, strlen(k)), 1, 0, note, &w));
	}
	assert_int_equal(t.items, 300);
	trk_table_leave(&t, 0);
	/* while the scrub runs, slot 0 waits: the next client gets slot 2 */
	assert_true(trk_table_scrub_step(&t, 10));
	assert_int_equal(trk_table_join(&t, (struct rd_session *)3, 103), 2);
	assert_true(scrub_all(&t));
	assert_int_equal(t.items, 100);
	assert_int_equal(t.scrubs, 1);
	/* slot 0 is free again, and its new client was told of nothing */
	assert_int_equal(trk_table_join(&t, (struct rd_session *)4, 104), 0);
	assert_false(has(&t, "k1", 1));
	assert_int_equal(take(&t, "k1", &w), 0);
	assert_int_equal(take(&t, "k2", &w), 1);
	assert_int_equal(w.ids[0], 102);
	/* the key whose readers all left is read by the new client: its record is reused */
	assert_true(add(&t, "k3", 3, 0, &w));
	assert_true(has(&t, "k3", 3));
	assert_int_equal(take(&t, "k3", &w), 1);
	assert_int_equal(w.ids[1], 103);
	trk_table_fini(&t);
}

/* Slots left before a flush are free after it (no record left to hold a bit); the slots run out. */
static void table_clear_frees_left_slots(void **state)
{
	struct trk_table t;

	(void)state;
	assert_int_equal(open_table(&t, 4, 8), 0);
	assert_true(add(&t, "a", 1, 0, NULL));
	trk_table_leave(&t, 0);
	assert_int_equal(trk_table_join(&t, (struct rd_session *)999, 999), (int32_t)CLIENTS);
	trk_table_clear(&t);
	assert_false(trk_table_scrub_step(&t, 1));
	assert_int_equal(trk_table_join(&t, (struct rd_session *)998, 998), 0);
	/* every slot taken: the next client is refused, and one leaving makes room */
	for (uint32_t i = CLIENTS + 1; i < TRK_SLOTS; i++)
		assert_int_equal(trk_table_join(&t, NULL, 1000 + i), (int32_t)i);
	assert_int_equal(trk_table_join(&t, NULL, 1), -1);
	trk_table_leave(&t, 77);
	assert_int_equal(trk_table_join(&t, NULL, 2), 77);
	assert_int_equal(t.joined, TRK_SLOTS);
	trk_table_fini(&t);
}

/*
 * Clients that come and go, reads, changes and a memory bound, against a
 * model of (key, client id) pairs: every pair of a client still there is
 * reported exactly once, when its key changes or is taken out; a client
 * is never told of a key it did not read (clients that left may be:
 * tracking.c drops those, as trk_alive does here).
 */
struct churn {
	uint64_t slot_id[64];		/* the client in each slot now (0: none) */
	bool model[60][64];		/* [key][slot]: its client read the key */
	uint64_t told;
};

static void churn_told(void *arg, const uint8_t *key, uint32_t klen, struct rd_session *s,
		       uint64_t id)
{
	struct churn *c = arg;
	uint32_t slot = (uint32_t)(uintptr_t)s - 1;
	int k = atoi((const char *)key + 1);

	assert_true(klen > 1 && k >= 0 && k < 60 && slot < 64);
	if (c->slot_id[slot] != id)
		return;		/* (a client that left) */
	assert_true(c->model[k][slot]);
	c->model[k][slot] = false;
	c->told++;
}

/* Key k of the churn model: "k<k>" padded to 20..219 bytes. */
static uint32_t churn_key(char *buf, int k)
{
	int n = snprintf(buf, 16, "k%d.", k);
	int len = 20 + (k * 37) % 200;

	memset(buf + n, 'p', (size_t)(len - n));
	return (uint32_t)len;
}

static void table_churn_model(void **state)
{
	static struct churn c;
	struct trk_table t;
	uint64_t seed = 11, next_id = 1, joins = 0;
	char key[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	/* one chunk and a bound of 40 keys: both take keys out as it runs */
	assert_int_equal(trk_table_init(&t, 1, 6), 0);
	for (int op = 0; op < 300000; op++) {
		int k, slot;
		uint32_t klen;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		k = (int)((seed >> 33) % 60);
		klen = churn_key(key, k);
		slot = (int)((seed >> 20) % 64);
		switch ((seed >> 40) % 16) {
		case 0:	/* the slot's client leaves (its pairs no longer matter) */
			if (c.slot_id[slot]) {
				trk_table_leave(&t, (uint32_t)slot);
				c.slot_id[slot] = 0;
				for (int j = 0; j < 60; j++)
					c.model[j][slot] = false;
			}
			break;
		case 1: {	/* a client joins: the lowest slot free and clean */
			int32_t got = trk_table_join(&t, NULL, next_id);

			assert_true(got >= 0);
			if (got < 64) {
				assert_int_equal(c.slot_id[got], 0);
				/* (the session pointer carries the slot for churn_told) */
				t.clients[got].s = (struct rd_session *)(uintptr_t)(got + 1);
				c.slot_id[got] = next_id++;
				joins++;
			} else {
				trk_table_leave(&t, (uint32_t)got);	/* (past the model's slots) */
			}
			break;
		}
		case 2:
		case 3: {	/* the key changes: each of its readers still here is told */
			uint64_t before = c.told;
			unsigned want = 0;

			for (int j = 0; j < 64; j++)
				want += c.model[k][j];
			trk_table_take(&t, (const uint8_t *)key, klen, wc_hash(key, klen),
				       churn_told, &c);
			assert_int_equal(c.told - before, want);
			break;
		}
		case 4:
			trk_table_scrub_step(&t, (unsigned)(seed >> 56) % 8);
			break;
		default:
			if (c.slot_id[slot]) {
				assert_true(trk_table_add(&t, (const uint8_t *)key, klen,
							  wc_hash(key, klen), (uint32_t)slot, 40,
							  churn_told, &c));
				c.model[k][slot] = true;
				assert_true(trk_table_has(&t, (const uint8_t *)key, klen,
							  wc_hash(key, klen), (uint32_t)slot));
			}
			break;
		}
	}
	/* what is left is what the model has */
	for (int k = 0; k < 60; k++) {
		uint32_t klen = churn_key(key, k);

		for (int j = 0; j < 64; j++)
			if (c.slot_id[j])
				assert_int_equal(trk_table_has(&t, (const uint8_t *)key, klen,
							       wc_hash(key, klen), (uint32_t)j),
						 c.model[k][j]);
	}
	assert_true(joins > 1000 && t.scrubs > 100 && t.evicted > 1000);
	trk_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_readers),
		cmocka_unit_test(table_key_bound_takes_oldest),
		cmocka_unit_test(table_memory_bound_takes_oldest),
		cmocka_unit_test(table_memory_bound_with_groups),
		cmocka_unit_test(table_reread_after_change),
		cmocka_unit_test(table_model),
		cmocka_unit_test(table_slot_reused_after_scrub),
		cmocka_unit_test(table_clear_frees_left_slots),
		cmocka_unit_test(table_churn_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
