/*
 * test_cp_cluster.c - the cluster map's pure parts: node records and maps
 * to JSON and back (and what the parser refuses), the even slot split, runs,
 * the I1 lines a map becomes, and etcd's base64 and prefix range ends.
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
#include "cpfailover.h"
#include "etcd.h"

static void make_node(struct cm_node *n, unsigned i)
{
	memset(n, 0, sizeof(*n));
	for (unsigned k = 0; k < CM_ID_LEN; k++)
		n->id[k] = "0123456789abcdef"[(i * 7 + k) % 16];
	n->id[0] = "0123456789abcdef"[i % 16];
	n->id[1] = "0123456789abcdef"[(i / 16) % 16];
	snprintf(n->ip, sizeof(n->ip), "198.18.0.%u", 11 + i % 200);
	n->port = 6379;
	n->cport = 16379;
	n->mcport = 11211;
	snprintf(n->http, sizeof(n->http), "127.0.0.1:%u", 8180 + i);
	n->config_epoch = 1;
}

static void node_roundtrip(void **state)
{
	struct cm_node a, b;
	char err[200], *s;

	(void)state;
	make_node(&a, 3);
	s = cm_node_dumps(&a);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"role\":\"master\""));
	assert_non_null(strstr(s, "\"master\":null"));
	assert_null(strstr(s, "config_epoch"));	/* a registry record has none */
	assert_int_equal(cm_node_parse(s, strlen(s), &b, err, sizeof(err)), 0);
	assert_string_equal(b.id, a.id);
	assert_string_equal(b.ip, a.ip);
	assert_int_equal(b.port, 6379);
	assert_int_equal(b.cport, 16379);
	assert_int_equal(b.mcport, 11211);
	assert_string_equal(b.http, a.http);
	assert_false(b.replica);
	free(s);
}

static void node_refused(void **state)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "[]", "not a JSON object" },
		{ "{\"id\":\"abc\",\"ip\":\"1.2.3.4\",\"port\":1,\"cport\":2,\"mcport\":3,"
		  "\"role\":\"master\",\"master\":null}", "40 lowercase hex" },
		{ "{\"id\":\"ABCDEF0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":1,\"cport\":2,\"mcport\":3,\"role\":\"master\"}", "40 lowercase hex" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3\","
		  "\"port\":1,\"cport\":2,\"mcport\":3,\"role\":\"master\"}", "IPv4" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":0,\"cport\":2,\"mcport\":3,\"role\":\"master\"}", "65535" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":1,\"cport\":65536,\"mcport\":3,\"role\":\"master\"}", "65535" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":\"1\",\"cport\":2,\"mcport\":3,\"role\":\"master\"}", "65535" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":1,\"cport\":2,\"mcport\":3,\"role\":\"boss\"}", "role" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":1,\"cport\":2,\"mcport\":3,\"role\":\"replica\",\"master\":null}",
		  "master's id" },
		{ "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\",\"ip\":\"1.2.3.4\","
		  "\"port\":1,\"cport\":2,\"mcport\":3,\"role\":\"master\",\"config_epoch\":-1}",
		  "config_epoch" },
		{ "{\"id\":", "not JSON" },
	};
	struct cm_node n;
	char err[200];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (cm_node_parse(bad[i].json, strlen(bad[i].json), &n, err, sizeof(err)) == 0)
			fail_msg("accepted %s", bad[i].json);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: error '%s' does not say '%s'", bad[i].json, err, bad[i].why);
	}
	/* a replica with its master's id is fine */
	{
		static const char ok[] = "{\"id\":\"abcdef0123456789abcdef0123456789abcdef01\","
			"\"ip\":\"1.2.3.4\",\"port\":1,\"cport\":2,\"mcport\":0,"
			"\"role\":\"replica\",\"master\":"
			"\"0000000000000000000000000000000000000001\"}";

		assert_int_equal(cm_node_parse(ok, strlen(ok), &n, err, sizeof(err)), 0);
	}
	assert_true(n.replica);
	assert_string_equal(n.master, "0000000000000000000000000000000000000001");
}

/* every slot owned, each node one consecutive range, shares differing by at most 1 */
static void check_split(unsigned nodes)
{
	static struct cm_map m;
	struct cm_run runs[CM_NODES_MAX + 1];
	unsigned min = CM_SLOTS, max = 0, nr;

	cm_map_init(&m);
	for (unsigned i = 0; i < nodes; i++) {
		struct cm_node n;

		make_node(&n, i);
		assert_int_equal(cm_map_add(&m, &n), (int)i);
	}
	cm_split_even(&m);
	assert_int_equal(cm_map_assigned(&m), CM_SLOTS);
	nr = cm_map_runs(&m, runs, CM_NODES_MAX + 1);
	assert_int_equal(nr, nodes);
	for (unsigned i = 0; i < nodes; i++) {
		unsigned k = cm_map_slots_of(&m, (int)i);

		assert_int_equal(runs[i].node, (int)i);
		assert_int_equal(runs[i].to - runs[i].from + 1, k);
		if (i)
			assert_int_equal(runs[i].from, runs[i - 1].to + 1);
		min = k < min ? k : min;
		max = k > max ? k : max;
		/* the larger shares come first */
		if (i)
			assert_true(k <= cm_map_slots_of(&m, (int)i - 1));
	}
	assert_int_equal(runs[0].from, 0);
	assert_int_equal(runs[nodes - 1].to, CM_SLOTS - 1);
	assert_true(max - min <= 1);
}

static void split_even(void **state)
{
	static const unsigned ns[] = { 1, 2, 3, 5, 7, 64, 127, 128 };
	static struct cm_map m;

	(void)state;
	for (unsigned i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		check_split(ns[i]);
	/* three nodes: 5462 + 5461 + 5461 */
	cm_map_init(&m);
	for (unsigned i = 0; i < 3; i++) {
		struct cm_node n;

		make_node(&n, i);
		cm_map_add(&m, &n);
	}
	cm_split_even(&m);
	assert_int_equal(cm_map_slots_of(&m, 0), 5462);
	assert_int_equal(m.slot[5461], 0);
	assert_int_equal(m.slot[5462], 1);
	assert_int_equal(m.slot[10922], 1);
	assert_int_equal(m.slot[10923], 2);
	/* no nodes: nothing assigned */
	cm_map_init(&m);
	cm_split_even(&m);
	assert_int_equal(cm_map_assigned(&m), 0);
}

/* create --replicas 1 over 6 nodes, then a failover and the old master back as a replica */
static void replicas_and_failover(void **state)
{
	static struct cm_map m, back;
	char err[160], *text;

	(void)state;
	cm_map_init(&m);
	for (unsigned i = 0; i < 6; i++) {
		struct cm_node n;

		make_node(&n, i);
		n.config_epoch = 1;
		cm_map_add(&m, &n);
	}
	m.epoch = 1;
	assert_int_equal(cm_assign_replicas(&m, 4), -1);	/* 6 nodes are not masters of 4 */
	assert_int_equal(cm_assign_replicas(&m, 1), 0);
	cm_split_even(&m);
	/* nodes 0..2 masters with every slot, 3..5 replicas of 0, 1, 2 */
	for (unsigned i = 0; i < 3; i++) {
		assert_false(m.nodes[i].replica);
		assert_true(m.nodes[i + 3].replica);
		assert_string_equal(m.nodes[i + 3].master, m.nodes[i].id);
		assert_int_equal(cm_map_slots_of(&m, (int)i + 3), 0);
	}
	assert_int_equal(cm_map_slots_of(&m, 0), 5462);
	assert_int_equal(cm_map_assigned(&m), CM_SLOTS);
	/* a master and a node of another shard are not replicas that can take over */
	assert_int_equal(cm_failover(&m, m.nodes[0].id, err, sizeof(err)), -1);
	assert_int_equal(cm_failover(&m, "0123456789012345678901234567890123456789", err,
				     sizeof(err)), -1);
	/* node 4 takes node 1's place */
	assert_int_equal(cm_failover(&m, m.nodes[4].id, err, sizeof(err)), 0);
	assert_int_equal(m.epoch, 2);
	assert_false(m.nodes[4].replica);
	assert_int_equal(m.nodes[4].config_epoch, 2);
	assert_int_equal(cm_map_slots_of(&m, 4), 5461);
	assert_int_equal(cm_map_slots_of(&m, 1), 0);
	assert_true(m.nodes[1].replica);
	assert_string_equal(m.nodes[1].master, m.nodes[4].id);
	/* the other shards are untouched */
	assert_int_equal(cm_map_slots_of(&m, 0), 5462);
	assert_string_equal(m.nodes[3].master, m.nodes[0].id);
	/* the map is valid and round-trips */
	text = cm_map_dumps_valid(&m, err, sizeof(err));
	assert_non_null(text);
	assert_int_equal(cm_map_parse(text, strlen(text), &back, err, sizeof(err)), 0);
	free(text);
	assert_true(back.nodes[1].replica);
	/* and back: node 1 takes over again */
	assert_int_equal(cm_failover(&m, m.nodes[1].id, err, sizeof(err)), 0);
	assert_int_equal(cm_map_slots_of(&m, 1), 5461);
	assert_string_equal(m.nodes[4].master, m.nodes[1].id);
	assert_int_equal(m.epoch, 3);
}

/* the replica offset in a dataplane's REPLSTATE reply (cpfailover.h) */
static void replstate_offset(void **state)
{
	uint64_t off = 0;

	(void)state;
	assert_true(cp_replstate_offset("role=replica master=1.2.3.4:6379 link=up state=connected "
					"offset=4242 last_io=0", &off));
	assert_int_equal(off, 4242);
	assert_false(cp_replstate_offset("role=master", &off));
	assert_false(cp_replstate_offset("role=replica read_offset=7", &off));
}

static void map_roundtrip(void **state)
{
	static struct cm_map a, b;
	char err[200], *s;

	(void)state;
	cm_map_init(&a);
	for (unsigned i = 0; i < 4; i++) {
		struct cm_node n;

		make_node(&n, i);
		n.config_epoch = i + 1;
		cm_map_add(&a, &n);
	}
	cm_split_even(&a);
	a.slot[100] = -1;	/* a hole */
	a.slot[16383] = 0;	/* and a run of node 0 at the end */
	a.epoch = 42;
	s = cm_map_dumps(&a);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"epoch\":42"));
	assert_non_null(strstr(s, "[[0,99,"));
	assert_int_equal(cm_map_parse(s, strlen(s), &b, err, sizeof(err)), 0);
	assert_int_equal(b.epoch, 42);
	assert_int_equal(b.nnodes, 4);
	for (unsigned i = 0; i < 4; i++) {
		int k = cm_map_find(&b, a.nodes[i].id);

		assert_true(k >= 0);
		assert_int_equal(b.nodes[k].config_epoch, i + 1);
		assert_string_equal(b.nodes[k].ip, a.nodes[i].ip);
	}
	for (unsigned s2 = 0; s2 < CM_SLOTS; s2++) {
		if (a.slot[s2] < 0)
			assert_int_equal(b.slot[s2], -1);
		else
			assert_string_equal(b.nodes[b.slot[s2]].id, a.nodes[a.slot[s2]].id);
	}
	assert_int_equal(cm_map_assigned(&b), CM_SLOTS - 1);
	free(s);
}

static void map_refused(void **state)
{
	static const char id1[] = "1111111111111111111111111111111111111111";
	static const struct {
		const char *slots, *why;
	} bad[] = {
		{ "[[0,10,\"%s\"],[10,20,\"%s\"]]", "two ranges" },
		{ "[[0,16384,\"%s\"]]", "outside" },
		{ "[[5,4,\"%s\"]]", "reversed" },
		{ "[[-1,4,\"%s\"]]", "outside" },
		{ "[[0,4]]", "[from, to, id]" },
		{ "[[0,\"4\",\"%s\"]]", "[from, to, id]" },
		{ "[[0,4,\"2222222222222222222222222222222222222222\"]]", "not in the map" },
	};
	static struct cm_map m;
	char text[1024], slots[256], err[200];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(slots, sizeof(slots), bad[i].slots, id1, id1);
		snprintf(text, sizeof(text), "{\"epoch\":3,\"nodes\":{\"%s\":{\"id\":\"%s\","
			 "\"ip\":\"198.18.0.11\",\"port\":6379,\"cport\":16379,\"mcport\":11211,"
			 "\"http\":\"127.0.0.1:8180\",\"role\":\"master\",\"master\":null}},"
			 "\"slots\":%s}", id1, id1, slots);
		err[0] = 0;
		if (cm_map_parse(text, strlen(text), &m, err, sizeof(err)) == 0)
			fail_msg("accepted %s", text);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: error '%s' does not say '%s'", slots, err, bad[i].why);
		assert_int_equal(m.nnodes, 0);	/* nothing half-parsed is left */
	}
	/* a node keyed by another id; no epoch; a negative epoch */
	snprintf(text, sizeof(text), "{\"epoch\":1,\"nodes\":{\"%s\":{\"id\":\"%s\",\"ip\":"
		 "\"1.2.3.4\",\"port\":1,\"cport\":2,\"mcport\":3,\"role\":\"master\"}},\"slots\":[]}",
		 "2222222222222222222222222222222222222222", id1);
	assert_int_equal(cm_map_parse(text, strlen(text), &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has id"));
	assert_int_equal(cm_map_parse("{\"nodes\":{},\"slots\":[]}", 23, &m, err, sizeof(err)), -1);
	assert_int_equal(cm_map_parse("{\"epoch\":-1,\"nodes\":{},\"slots\":[]}", 34, &m, err,
				      sizeof(err)), -1);
	/* the empty map is fine */
	assert_int_equal(cm_map_parse("{\"epoch\":0,\"nodes\":{},\"slots\":[]}", 33, &m, err,
				      sizeof(err)), 0);
}

static void add_remove(void **state)
{
	static struct cm_map m;
	struct cm_node a, b, c;

	(void)state;
	cm_map_init(&m);
	make_node(&a, 0);
	make_node(&b, 1);
	make_node(&c, 2);
	assert_int_equal(cm_map_add(&m, &a), 0);
	assert_int_equal(cm_map_add(&m, &a), -1);	/* twice */
	assert_int_equal(cm_map_add(&m, &b), 1);
	cm_split_even(&m);
	assert_int_equal(cm_map_add(&m, &c), 2);	/* joins with no slots */
	assert_int_equal(cm_map_slots_of(&m, 2), 0);
	assert_int_equal(cm_map_remove(&m, a.id), -1);	/* has slots */
	assert_int_equal(cm_map_remove(&m, "ffffffffffffffffffffffffffffffffffffffff"), -1);
	/* remove a node before others: the slots keep pointing at the right nodes */
	for (unsigned s = 0; s < CM_SLOTS; s++)
		if (m.slot[s] == 0)
			m.slot[s] = 2;
	assert_int_equal(cm_map_remove(&m, a.id), 0);
	assert_int_equal(m.nnodes, 2);
	assert_string_equal(m.nodes[m.slot[0]].id, c.id);
	assert_string_equal(m.nodes[m.slot[CM_SLOTS - 1]].id, b.id);
	/* a full map takes no more */
	cm_map_init(&m);
	for (unsigned i = 0; i < CM_NODES_MAX; i++) {
		make_node(&a, i);
		assert_int_equal(cm_map_add(&m, &a), (int)i);
	}
	make_node(&a, CM_NODES_MAX);
	assert_int_equal(cm_map_add(&m, &a), -1);
}

struct lines {
	char l[CM_NODES_MAX + 16][300];
	unsigned n;
};

static void collect(void *arg, const char *line)
{
	struct lines *ls = arg;

	assert_true(strlen(line) < 256);	/* WC_CP_LINE_MAX with the newline */
	assert_true(ls->n < CM_NODES_MAX + 16);
	snprintf(ls->l[ls->n++], sizeof(ls->l[0]), "%s", line);
}

static void i1_lines(void **state)
{
	static struct cm_map m;
	static struct lines ls;
	struct cm_node n;
	char want[300];

	(void)state;
	cm_map_init(&m);
	for (unsigned i = 0; i < 3; i++) {
		make_node(&n, i);
		n.mcport = 11211 + i;
		cm_map_add(&m, &n);
	}
	cm_split_even(&m);
	m.epoch = 7;
	m.nodes[2].config_epoch = 7;
	ls.n = 0;
	assert_int_equal(cm_map_lines(&m, m.nodes[1].id, collect, &ls), 8);
	assert_int_equal(ls.n, 8);
	assert_string_equal(ls.l[0], "CMAP BEGIN 7");
	snprintf(want, sizeof(want), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - mc=11211",
		 m.nodes[0].id);
	assert_string_equal(ls.l[1], want);
	snprintf(want, sizeof(want), "CMAP NODE %s 198.18.0.12 6379 16379 master 1 - myself "
		 "mc=11212", m.nodes[1].id);
	assert_string_equal(ls.l[2], want);
	snprintf(want, sizeof(want), "CMAP NODE %s 198.18.0.13 6379 16379 master 7 - mc=11213",
		 m.nodes[2].id);
	assert_string_equal(ls.l[3], want);
	snprintf(want, sizeof(want), "CMAP SLOTS 0 5461 %s", m.nodes[0].id);
	assert_string_equal(ls.l[4], want);
	snprintf(want, sizeof(want), "CMAP SLOTS 5462 10922 %s", m.nodes[1].id);
	assert_string_equal(ls.l[5], want);
	snprintf(want, sizeof(want), "CMAP SLOTS 10923 16383 %s", m.nodes[2].id);
	assert_string_equal(ls.l[6], want);
	assert_string_equal(ls.l[7], "CMAP COMMIT");
	/* unassigned slots are left out; a node not in the map cannot push it */
	for (unsigned s = 0; s < 100; s++)
		m.slot[s] = -1;
	ls.n = 0;
	assert_int_equal(cm_map_lines(&m, m.nodes[0].id, collect, &ls), 8);
	snprintf(want, sizeof(want), "CMAP SLOTS 100 5461 %s", m.nodes[0].id);
	assert_string_equal(ls.l[4], want);
	ls.n = 0;
	assert_int_equal(cm_map_lines(&m, "ffffffffffffffffffffffffffffffffffffffff", collect,
				      &ls), -1);
	assert_int_equal(ls.n, 0);
	/* a replica names its master */
	m.nodes[2].replica = true;
	strcpy(m.nodes[2].master, m.nodes[0].id);
	ls.n = 0;
	cm_map_lines(&m, m.nodes[0].id, collect, &ls);
	snprintf(want, sizeof(want), "CMAP NODE %s 198.18.0.13 6379 16379 replica 7 %s mc=11213",
		 m.nodes[2].id, m.nodes[0].id);
	assert_string_equal(ls.l[3], want);
}

static void base64_and_prefix(void **state)
{
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar",
				       "/wirecache/c1/nodes/" };
	static const char *coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
				       "Zm9vYmFy", "L3dpcmVjYWNoZS9jMS9ub2Rlcy8=" };
	char *s, *e;
	size_t n;

	(void)state;
	for (unsigned i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		s = etcd_b64_encode(plain[i], strlen(plain[i]));
		assert_string_equal(s, coded[i]);
		free(s);
		s = etcd_b64_decode(coded[i], &n);
		assert_non_null(s);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(s, plain[i], n);
		free(s);
	}
	/* binary bytes survive */
	s = etcd_b64_encode("\0\xff\x01", 3);
	e = etcd_b64_decode(s, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(e, "\0\xff\x01", 3);
	free(s);
	free(e);
	assert_null(etcd_b64_decode("abc", &n));	/* not a multiple of 4 */
	assert_null(etcd_b64_decode("a!c=", &n));
	s = etcd_prefix_end("/wirecache/c1/");
	assert_string_equal(s, "/wirecache/c10");
	free(s);
	s = etcd_prefix_end("a\xff");
	assert_string_equal(s, "b");
	free(s);
}

static void endpoints(void **state)
{
	struct etcd e;

	(void)state;
	assert_int_equal(etcd_init(&e, "http://127.0.0.1:2379/,http://127.0.0.1:2381", 500), 0);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.endpoints[0], "http://127.0.0.1:2379");
	assert_string_equal(e.endpoints[1], "http://127.0.0.1:2381");
	etcd_free(&e);
	assert_int_equal(etcd_init(&e, "127.0.0.1:2379", 500), -1);
	assert_non_null(strstr(e.err, "http://"));
	assert_int_equal(etcd_init(&e, "", 500), -1);
	assert_int_equal(etcd_init(&e, "http://a:1,http://a:2,http://a:3,http://a:4,http://a:5,"
				   "http://a:6,http://a:7,http://a:8,http://a:9", 500), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(node_roundtrip),
		cmocka_unit_test(node_refused),
		cmocka_unit_test(split_even),
		cmocka_unit_test(replicas_and_failover),
		cmocka_unit_test(replstate_offset),
		cmocka_unit_test(map_roundtrip),
		cmocka_unit_test(map_refused),
		cmocka_unit_test(add_remove),
		cmocka_unit_test(i1_lines),
		cmocka_unit_test(base64_and_prefix),
		cmocka_unit_test(endpoints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
