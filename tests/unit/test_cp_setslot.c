/*
 * test_cp_setslot.c - CLUSTER SETSLOT on the control plane's map
 * (control/cmap.c): cm_setslot's rules and Redis's error texts, the batch
 * form (all or nothing, one epoch), the "migrating"/"importing" JSON (absent
 * = empty, coalesced ranges, refused when wrong), del-node refused while a
 * move names the node, and the CMAP MIGRATING/IMPORTING lines of myself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmap.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccc"
#define ID_R "dddddddddddddddddddddddddddddddddddddddd"
#define ID_X "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static struct cm_map m, back;
static char err[256];

static void node(const char *id, unsigned i, const char *master)
{
	struct cm_node n = { .port = 6379, .cport = 16379, .mcport = 11211, .config_epoch = 1 };

	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.ip, sizeof(n.ip), "198.18.0.%u", 11 + i);
	if (master) {
		n.replica = true;
		snprintf(n.master, sizeof(n.master), "%s", master);
	}
	assert_true(cm_map_add(&m, &n) >= 0);
}

/* A, B, C masters with thirds of the slots (A 0-5461, B 5462-10922, C 10923-16383), R a replica of A. */
static void three(void)
{
	cm_map_init(&m);
	node(ID_A, 0, NULL);
	node(ID_B, 1, NULL);
	node(ID_C, 2, NULL);
	cm_split_even(&m);
	node(ID_R, 3, ID_A);
	m.epoch = 5;
}

static void refused(const char *me, unsigned slot, enum cm_setslot_op op, const char *id,
		    const char *text)
{
	uint64_t e = m.epoch;

	err[0] = 0;
	assert_int_equal(cm_setslot(&m, me, slot, op, id, err, sizeof(err)), -1);
	assert_string_equal(err, text);
	assert_int_equal(m.epoch, e);
}

static void rules_and_texts(void **state)
{
	(void)state;
	three();
	/* MIGRATING: only the owner; the target known and a master */
	refused(ID_B, 100, CM_SETSLOT_MIGRATING, ID_C, "ERR I'm not the owner of hash slot 100");
	refused(ID_A, 100, CM_SETSLOT_MIGRATING, ID_X,
		"ERR I don't know about node " ID_X);
	refused(ID_A, 100, CM_SETSLOT_MIGRATING, ID_R, "ERR Target node is not a master");
	/* IMPORTING: not the owner; the source known and a master */
	refused(ID_A, 100, CM_SETSLOT_IMPORTING, ID_B, "ERR I'm already the owner of hash slot 100");
	refused(ID_B, 100, CM_SETSLOT_IMPORTING, ID_X, "ERR I don't know about node " ID_X);
	refused(ID_B, 100, CM_SETSLOT_IMPORTING, ID_R, "ERR Target node is not a master");
	/* to or from itself: no map can hold it (Redis keeps such a state; it means nothing) */
	refused(ID_A, 100, CM_SETSLOT_MIGRATING, ID_A, "ERR Can't migrate hash slot 100 to myself");
	refused(ID_B, 100, CM_SETSLOT_IMPORTING, ID_B, "ERR Can't import hash slot 100 from myself");
	/* NODE: known, a master */
	refused(ID_A, 100, CM_SETSLOT_NODE, ID_X, "ERR Unknown node " ID_X);
	refused(ID_A, 100, CM_SETSLOT_NODE, ID_R, "ERR Target node is not a master");
	refused(ID_A, 16384, CM_SETSLOT_STABLE, NULL, "ERR Invalid or out of range slot");

	/* a move of slot 100 from A to B: importing on B, migrating on A, each one epoch */
	assert_int_equal(cm_setslot(&m, ID_B, 100, CM_SETSLOT_IMPORTING, ID_A, err, sizeof(err)), 1);
	assert_int_equal(m.epoch, 6);
	assert_int_equal(m.imp_dst[100], 1);
	assert_int_equal(m.imp_src[100], 0);
	assert_int_equal(cm_setslot(&m, ID_A, 100, CM_SETSLOT_MIGRATING, ID_B, err, sizeof(err)), 1);
	assert_int_equal(m.epoch, 7);
	assert_int_equal(m.mig_src[100], 0);
	assert_int_equal(m.mig_dst[100], 1);
	/* the same again changes nothing: no new epoch (no transaction) */
	assert_int_equal(cm_setslot(&m, ID_A, 100, CM_SETSLOT_MIGRATING, ID_B, err, sizeof(err)), 0);
	assert_int_equal(cm_setslot(&m, ID_B, 100, CM_SETSLOT_IMPORTING, ID_A, err, sizeof(err)), 0);
	assert_int_equal(m.epoch, 7);
	assert_int_equal(cm_map_open(&m), 1);
	/* the nodes in the move cannot leave the map; C can't either (it has slots) */
	assert_int_equal(cm_map_remove(&m, ID_A), -1);
	assert_int_equal(cm_map_remove(&m, ID_B), -1);
	/* STABLE on C (no entries of its own) changes nothing; on A clears A's migrating only */
	assert_int_equal(cm_setslot(&m, ID_C, 100, CM_SETSLOT_STABLE, NULL, err, sizeof(err)), 0);
	assert_int_equal(cm_setslot(&m, ID_A, 100, CM_SETSLOT_STABLE, NULL, err, sizeof(err)), 1);
	assert_int_equal(m.epoch, 8);
	assert_int_equal(m.mig_src[100], -1);
	assert_int_equal(m.mig_dst[100], -1);
	assert_int_equal(m.imp_dst[100], 1);
	assert_int_equal(cm_setslot(&m, ID_A, 100, CM_SETSLOT_MIGRATING, ID_B, err, sizeof(err)), 1);
	assert_int_equal(m.epoch, 9);

	/* NODE B: B owns it, both entries gone, B's config_epoch is the new epoch */
	assert_int_equal(cm_setslot(&m, ID_C, 100, CM_SETSLOT_NODE, ID_B, err, sizeof(err)), 1);
	assert_int_equal(m.epoch, 10);
	assert_int_equal(m.slot[100], 1);
	assert_int_equal(m.nodes[1].config_epoch, 10);
	assert_int_equal(m.nodes[0].config_epoch, 1);
	assert_int_equal(m.mig_src[100], -1);
	assert_int_equal(m.imp_dst[100], -1);
	assert_int_equal(cm_map_open(&m), 0);
	/* asked again by the other nodes: already so, nothing to write */
	assert_int_equal(cm_setslot(&m, ID_A, 100, CM_SETSLOT_NODE, ID_B, err, sizeof(err)), 0);
	assert_int_equal(cm_setslot(&m, ID_B, 100, CM_SETSLOT_NODE, ID_B, err, sizeof(err)), 0);
	assert_int_equal(m.epoch, 10);
	/* now A is not the owner any more */
	refused(ID_A, 100, CM_SETSLOT_MIGRATING, ID_B, "ERR I'm not the owner of hash slot 100");

	/* a node outside the map: not the owner of anything */
	refused(ID_X, 0, CM_SETSLOT_MIGRATING, ID_B, "ERR I'm not the owner of hash slot 0");

	{
		enum cm_setslot_op op;

		assert_int_equal(cm_setslot_op_parse("importing", &op), 0);
		assert_int_equal(op, CM_SETSLOT_IMPORTING);
		assert_int_equal(cm_setslot_op_parse("Node", &op), 0);
		assert_int_equal(op, CM_SETSLOT_NODE);
		assert_int_equal(cm_setslot_op_parse("move", &op), -1);
	}
}

static void set_bits(uint8_t *bits, unsigned from, unsigned to)
{
	for (unsigned s = from; s <= to; s++)
		bits[s / 8] |= (uint8_t)(1u << (s % 8));
}

static void batch(void **state)
{
	static uint8_t bits[CM_SLOTS / 8];
	uint64_t e;

	(void)state;
	three();
	/* 5400-5500 spans A and B: MIGRATING on A refused as a whole, nothing changed */
	memset(bits, 0, sizeof(bits));
	set_bits(bits, 5400, 5500);
	assert_int_equal(cm_setslot_many(&m, ID_A, bits, CM_SETSLOT_MIGRATING, ID_C, 6, err,
					 sizeof(err)), -1);
	assert_string_equal(err, "ERR I'm not the owner of hash slot 5462");
	assert_int_equal(cm_map_open(&m), 0);

	/* 0-99 and 200-299 from A to C: both states in one write, one epoch */
	memset(bits, 0, sizeof(bits));
	set_bits(bits, 0, 99);
	set_bits(bits, 200, 299);
	e = m.epoch + 1;
	assert_int_equal(cm_setslot_many(&m, ID_C, bits, CM_SETSLOT_IMPORTING, ID_A, e, err,
					 sizeof(err)), 200);
	assert_int_equal(cm_setslot_many(&m, ID_A, bits, CM_SETSLOT_MIGRATING, ID_C, e, err,
					 sizeof(err)), 200);
	assert_int_equal(m.epoch, 5);	/* the caller sets it */
	assert_int_equal(cm_map_open(&m), 200);
	/* again: nothing changes */
	assert_int_equal(cm_setslot_many(&m, ID_A, bits, CM_SETSLOT_MIGRATING, ID_C, e, err,
					 sizeof(err)), 0);
	/* the flip */
	assert_int_equal(cm_setslot_many(&m, NULL, bits, CM_SETSLOT_NODE, ID_C, e + 1, err,
					 sizeof(err)), 200);
	assert_int_equal(cm_map_open(&m), 0);
	assert_int_equal(cm_map_slots_of(&m, 2), 5461 + 200);
	assert_int_equal(cm_map_slots_of(&m, 0), 5462 - 200);
	assert_int_equal(m.nodes[2].config_epoch, e + 1);
	assert_int_equal(m.slot[100], 0);
	assert_int_equal(m.slot[99], 2);
}

static void json_roundtrip(void **state)
{
	char *a, *b;
	json_t *o;
	struct cm_move_run runs[8];

	(void)state;
	three();
	/* no entries: the keys are left out, and a map without them parses */
	a = cm_map_dumps(&m);
	assert_null(strstr(a, "migrating"));
	assert_null(strstr(a, "importing"));
	assert_int_equal(cm_map_parse(a, strlen(a), &back, err, sizeof(err)), 0);
	assert_int_equal(cm_map_open(&back), 0);
	free(a);

	/* A sends 10-12 and 20 to B, 30 to C; B imports 10-12 from A; C imports 30 */
	for (unsigned s = 10; s <= 12; s++) {
		assert_int_equal(cm_setslot(&m, ID_A, s, CM_SETSLOT_MIGRATING, ID_B, err,
					    sizeof(err)), 1);
		assert_int_equal(cm_setslot(&m, ID_B, s, CM_SETSLOT_IMPORTING, ID_A, err,
					    sizeof(err)), 1);
	}
	assert_int_equal(cm_setslot(&m, ID_A, 20, CM_SETSLOT_MIGRATING, ID_B, err, sizeof(err)), 1);
	assert_int_equal(cm_setslot(&m, ID_A, 30, CM_SETSLOT_MIGRATING, ID_C, err, sizeof(err)), 1);
	assert_int_equal(cm_setslot(&m, ID_C, 30, CM_SETSLOT_IMPORTING, ID_A, err, sizeof(err)), 1);
	assert_int_equal(cm_map_move_runs(&m, 'M', runs, 8), 3);
	assert_int_equal(runs[0].from, 10);
	assert_int_equal(runs[0].to, 12);
	assert_int_equal(runs[1].from, 20);
	assert_int_equal(runs[2].b, 2);
	a = cm_map_dumps(&m);
	o = json_loads(a, 0, NULL);
	b = json_dumps(json_object_get(o, "migrating"), JSON_COMPACT);
	assert_string_equal(b, "[[10,12,\"" ID_A "\",\"" ID_B "\"],[20,20,\"" ID_A "\",\"" ID_B
			    "\"],[30,30,\"" ID_A "\",\"" ID_C "\"]]");
	free(b);
	b = json_dumps(json_object_get(o, "importing"), JSON_COMPACT);
	assert_string_equal(b, "[[10,12,\"" ID_B "\",\"" ID_A "\"],[30,30,\"" ID_C "\",\"" ID_A
			    "\"]]");
	free(b);
	json_decref(o);
	assert_int_equal(cm_map_parse(a, strlen(a), &back, err, sizeof(err)), 0);
	assert_memory_equal(back.mig_src, m.mig_src, sizeof(m.mig_src));
	assert_memory_equal(back.mig_dst, m.mig_dst, sizeof(m.mig_dst));
	assert_memory_equal(back.imp_dst, m.imp_dst, sizeof(m.imp_dst));
	assert_memory_equal(back.imp_src, m.imp_src, sizeof(m.imp_src));
	b = cm_map_dumps(&back);
	assert_string_equal(a, b);
	free(a);
	free(b);

	/* what the parser refuses */
	{
		static const char *const bad[] = {
			"\"migrating\":{}",
			"\"migrating\":[[1,2,\"" ID_A "\"]]",
			"\"migrating\":[[5,2,\"" ID_A "\",\"" ID_B "\"]]",
			"\"migrating\":[[1,16384,\"" ID_A "\",\"" ID_B "\"]]",
			"\"importing\":[[1,2,\"" ID_X "\",\"" ID_A "\"]]",
			"\"importing\":[[1,2,\"" ID_A "\",\"" ID_A "\"]]",
			"\"importing\":[[1,5,\"" ID_B "\",\"" ID_A "\"],[5,6,\"" ID_C "\",\"" ID_A
			"\"]]",
		};
		char text[1024];

		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text), "{\"epoch\":1,\"nodes\":{\"" ID_A "\":{\"id\":"
				 "\"" ID_A "\",\"ip\":\"1.2.3.4\",\"port\":1,\"cport\":2,\"mcport\":"
				 "0,\"role\":\"master\",\"master\":null},\"" ID_B "\":{\"id\":\""
				 ID_B "\",\"ip\":\"1.2.3.5\",\"port\":1,\"cport\":2,\"mcport\":0,"
				 "\"role\":\"master\",\"master\":null},\"" ID_C "\":{\"id\":\"" ID_C
				 "\",\"ip\":\"1.2.3.6\",\"port\":1,\"cport\":2,\"mcport\":0,\"role\":"
				 "\"master\",\"master\":null}},\"slots\":[],%s}", bad[i]);
			err[0] = 0;
			if (cm_map_parse(text, strlen(text), &back, err, sizeof(err)) != -1)
				fail_msg("accepted %s", bad[i]);
			assert_true(err[0] != 0);
		}
		/* and the same map with good ones parses */
		snprintf(text, sizeof(text), "{\"epoch\":1,\"nodes\":{\"" ID_A "\":{\"id\":\"" ID_A
			 "\",\"ip\":\"1.2.3.4\",\"port\":1,\"cport\":2,\"mcport\":0,\"role\":"
			 "\"master\",\"master\":null},\"" ID_B "\":{\"id\":\"" ID_B "\",\"ip\":"
			 "\"1.2.3.5\",\"port\":1,\"cport\":2,\"mcport\":0,\"role\":\"master\","
			 "\"master\":null}},\"slots\":[[0,16383,\"" ID_A "\"]],\"migrating\":[[7,9,"
			 "\"" ID_A "\",\"" ID_B "\"]],\"importing\":null}");
		assert_int_equal(cm_map_parse(text, strlen(text), &back, err, sizeof(err)), 0);
		assert_int_equal(back.mig_dst[8], 1);
		assert_int_equal(cm_map_open(&back), 3);
	}
}

struct lines {
	char l[64][256];
	unsigned n;
};

static void collect(void *arg, const char *line)
{
	struct lines *ls = arg;

	assert_true(ls->n < 64);
	snprintf(ls->l[ls->n++], sizeof(ls->l[0]), "%s", line);
}

static void lines(void **state)
{
	static struct lines ls;

	(void)state;
	three();
	for (unsigned s = 0; s <= 3; s++)
		assert_int_equal(cm_setslot(&m, ID_A, s, CM_SETSLOT_MIGRATING, s < 2 ? ID_B : ID_C,
					    err, sizeof(err)), 1);
	for (unsigned s = 0; s <= 1; s++)
		assert_int_equal(cm_setslot(&m, ID_B, s, CM_SETSLOT_IMPORTING, ID_A, err,
					    sizeof(err)), 1);
	/* B gives 6000 to A: A has both kinds */
	assert_int_equal(cm_setslot(&m, ID_A, 6000, CM_SETSLOT_IMPORTING, ID_B, err, sizeof(err)), 1);

	/* A: BEGIN, 4 NODE, 3 SLOTS runs, its two migrating runs, its importing run, COMMIT */
	ls.n = 0;
	assert_int_equal(cm_map_lines(&m, ID_A, collect, &ls), 12);
	assert_string_equal(ls.l[8], "CMAP MIGRATING 0 1 " ID_B);
	assert_string_equal(ls.l[9], "CMAP MIGRATING 2 3 " ID_C);
	assert_string_equal(ls.l[10], "CMAP IMPORTING 6000 6000 " ID_B);
	assert_string_equal(ls.l[11], "CMAP COMMIT");
	/* B: only its importing entry */
	ls.n = 0;
	assert_int_equal(cm_map_lines(&m, ID_B, collect, &ls), 10);
	assert_string_equal(ls.l[8], "CMAP IMPORTING 0 1 " ID_A);
	/* C: none (it is the target of A's migrating entry, but imports nothing) */
	ls.n = 0;
	assert_int_equal(cm_map_lines(&m, ID_C, collect, &ls), 9);
	assert_string_equal(ls.l[8], "CMAP COMMIT");
}

static void remove_renumbers(void **state)
{
	(void)state;
	three();
	/* a node without slots in front of a move: removing it shifts the entries' indexes */
	cm_map_init(&m);
	node(ID_X, 0, NULL);
	node(ID_A, 1, NULL);
	node(ID_B, 2, NULL);
	for (unsigned s = 0; s < CM_SLOTS; s++)
		m.slot[s] = (int16_t)(s < 8192 ? 1 : 2);
	assert_int_equal(cm_setslot(&m, ID_A, 5, CM_SETSLOT_MIGRATING, ID_B, err, sizeof(err)), 1);
	assert_int_equal(cm_setslot(&m, ID_B, 5, CM_SETSLOT_IMPORTING, ID_A, err, sizeof(err)), 1);
	assert_int_equal(cm_map_remove(&m, ID_X), 0);
	assert_int_equal(m.mig_src[5], 0);
	assert_int_equal(m.mig_dst[5], 1);
	assert_int_equal(m.imp_dst[5], 1);
	assert_int_equal(m.imp_src[5], 0);
	assert_int_equal(m.slot[5], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_and_texts),
		cmocka_unit_test(batch),
		cmocka_unit_test(json_roundtrip),
		cmocka_unit_test(lines),
		cmocka_unit_test(remove_renumbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
