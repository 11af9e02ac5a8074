/*
 * test_rd_cluster.c - Redis Cluster without a dataplane: the replies of
 * CLUSTER INFO, NODES, SLOTS and SHARDS (byte for byte for a node alone, in
 * RESP2 and RESP3; decoded for a made-up three-master map with replicas,
 * split ranges and moving slots), the hash slot of arguments of every kind
 * (hash tags, keys scattered over receive buffers), the routing decision
 * (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY replicas) and CROSSSLOT
 * detection over the command table's key specs and movable keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/resp_out.h"
#include "redis/cluster.h"
#include "redis/cluster_map.h"
#include "redis/cluster_out.h"
#include "redis/rd.h"
#include "wirecache/slot.h"

#define ID0 "0123456789abcdef0123456789abcdef01234567"
#define ID1 "1111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333"
#define ID4 "4444444444444444444444444444444444444444"

/* ---- a reply sink and a small RESP reader ---- */

static char outbuf[1 << 16];

static void sink(struct mc_out *o)
{
	mc_out_init_buf(o, (uint8_t *)outbuf, sizeof(outbuf));
	o->more = NULL;
}

static size_t sink_len(const struct mc_out *o)
{
	assert_false(o->failed);
	return (size_t)((char *)o->p - outbuf);
}

/*
 * Decode one RESP value at *p into a compact text: arrays [a,b], maps
 * {k:v}, RESP2 flat "maps" stay arrays, bulks and simple strings bare,
 * integers bare, verbatim text as txt(...), nulls as nil.
 */
static void decode(const char **p, char *out, size_t cap)
{
	char type = **p;
	const char *start = *p + 1;
	const char *eol = strstr(start, "\r\n");
	long long n = strtoll(start, NULL, 10);
	size_t used = strlen(out);

	assert_non_null(eol);
	*p = eol + 2;
	switch (type) {
	case '+':
	case ':':
		snprintf(out + used, cap - used, "%.*s", (int)(eol - start), start);
		break;
	case '$':
		if (n < 0) {
			snprintf(out + used, cap - used, "nil");
			break;
		}
		snprintf(out + used, cap - used, "%.*s", (int)n, *p);
		*p += n + 2;
		break;
	case '=':
		snprintf(out + used, cap - used, "txt(%.*s)", (int)n - 4, *p + 4);
		*p += n + 2;
		break;
	case '_':
		snprintf(out + used, cap - used, "nil");
		break;
	case '*':
	case '%':
		strncat(out, type == '*' ? "[" : "{", cap - strlen(out) - 1);
		for (long long i = 0; i < (type == '%' ? 2 * n : n); i++) {
			if (i)
				strncat(out, type == '%' && (i & 1) ? ":" : ",", cap - strlen(out) - 1);
			decode(p, out, cap);
		}
		strncat(out, type == '*' ? "]" : "}", cap - strlen(out) - 1);
		break;
	default:
		fail_msg("unexpected RESP type %c", type);
	}
}

static const char *decoded(const struct mc_out *o)
{
	static char text[1 << 16];
	const char *p = outbuf;

	text[0] = 0;
	outbuf[sink_len(o)] = 0;
	decode(&p, text, sizeof(text));
	assert_ptr_equal(p, outbuf + sink_len(o));	/* exactly one value */
	return text;
}

/* ---- maps ---- */

static struct rd_cluster_map *alone(void)
{
	struct rd_cluster_map *m = rd_cluster_map_single(ID0, "198.18.0.11", 6379, 16379, 0);

	assert_non_null(m);
	return m;
}

/*
 * Three masters: myself (0) 0-5460 but slot 100, node 1 5461-10922 and
 * slot 100, node 2 10923-16383; node 3 replicates me (synced), node 4
 * replicates node 1 and is failing. Myself migrates slot 5 to node 1 and
 * imports slot 6000 from node 1.
 */
static struct rd_cluster_map *three(void)
{
	struct rd_cluster_map *m = rd_cluster_map_new();

	assert_non_null(m);
	assert_int_equal(rd_cluster_map_add_node(m, ID0, "198.18.0.11", 6379, 16379, RD_NODE_MASTER), 0);
	assert_int_equal(rd_cluster_map_add_node(m, ID1, "198.18.0.12", 6380, 16380, RD_NODE_MASTER), 1);
	assert_int_equal(rd_cluster_map_add_node(m, ID2, "198.18.0.13", 6379, 16379, RD_NODE_MASTER), 2);
	assert_int_equal(rd_cluster_map_add_node(m, ID3, "198.18.0.14", 6379, 16379, RD_NODE_REPLICA), 3);
	assert_int_equal(rd_cluster_map_add_node(m, ID4, "198.18.0.15", 6379, 16379,
						 RD_NODE_REPLICA | RD_NODE_FAIL), 4);
	assert_int_equal(rd_cluster_map_add_node(m, "not-an-id", "1.2.3.4", 1, 2, 0), RD_NODE_NONE);
	m->myself = 0;
	m->current_epoch = 9;
	m->node[0].config_epoch = 3;
	m->node[1].config_epoch = 7;
	m->node[2].config_epoch = 9;
	m->node[3].master = 0;
	m->node[3].repl_offset = 1234;
	m->node[4].master = 1;
	m->node[4].repl_offset = 99;
	for (unsigned i = 0; i < 4; i++)
		m->node[i].connected = true;
	m->node[1].ping_sent_ms = 0;
	m->node[1].pong_recv_ms = 1700000000123ull;
	snprintf(m->node[2].hostname, sizeof(m->node[2].hostname), "cache-c");
	rd_cluster_map_assign(m, 0, 5460, 0);
	rd_cluster_map_assign(m, 100, 100, 1);
	rd_cluster_map_assign(m, 5461, 10922, 1);
	rd_cluster_map_assign(m, 10923, 16383, 2);
	m->migrating[5] = 1;
	m->importing[6000] = 1;
	rd_cluster_map_finish(m);
	return m;
}

/* ---- encodings of a node alone, byte for byte ---- */

static void alone_info(void **state)
{
	struct rd_cluster_map *m = alone();
	struct rd_cluster_msgs msgs = { 0, 0 };
	struct mc_out o;
	static const char text[] = "cluster_state:ok\r\n"
				   "cluster_slots_assigned:16384\r\n"
				   "cluster_slots_ok:16384\r\n"
				   "cluster_slots_pfail:0\r\n"
				   "cluster_slots_fail:0\r\n"
				   "cluster_known_nodes:1\r\n"
				   "cluster_size:1\r\n"
				   "cluster_current_epoch:0\r\n"
				   "cluster_my_epoch:0\r\n"
				   "cluster_stats_messages_sent:0\r\n"
				   "cluster_stats_messages_received:0\r\n"
				   "total_cluster_links_buffer_limit_exceeded:0\r\n";
	char want[1024];

	(void)state;
	sink(&o);
	rd_cluster_reply_info(&o, 2, m, &msgs);
	snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(text), text);
	assert_int_equal(sink_len(&o), strlen(want));
	assert_memory_equal(outbuf, want, strlen(want));
	sink(&o);
	rd_cluster_reply_info(&o, 3, m, &msgs);
	snprintf(want, sizeof(want), "=%zu\r\ntxt:%s\r\n", strlen(text) + 4, text);
	assert_int_equal(sink_len(&o), strlen(want));
	assert_memory_equal(outbuf, want, strlen(want));
	rd_cluster_map_free(m);
}

static void alone_nodes(void **state)
{
	struct rd_cluster_map *m = alone();
	struct mc_out o;
	static const char line[] =
		ID0 " 198.18.0.11:6379@16379 myself,master - 0 0 0 connected 0-16383\n";
	char want[512];

	(void)state;
	sink(&o);
	rd_cluster_reply_nodes(&o, 2, m);
	snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(line), line);
	assert_int_equal(sink_len(&o), strlen(want));
	assert_memory_equal(outbuf, want, strlen(want));
	sink(&o);
	rd_cluster_reply_nodes(&o, 3, m);
	snprintf(want, sizeof(want), "=%zu\r\ntxt:%s\r\n", strlen(line) + 4, line);
	assert_int_equal(sink_len(&o), strlen(want));
	assert_memory_equal(outbuf, want, strlen(want));
	rd_cluster_map_free(m);
}

static void alone_slots(void **state)
{
	struct rd_cluster_map *m = alone();
	struct mc_out o;
	static const char r2[] = "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$11\r\n198.18.0.11\r\n:6379\r\n"
				 "$40\r\n" ID0 "\r\n*0\r\n";
	static const char r3[] = "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$11\r\n198.18.0.11\r\n:6379\r\n"
				 "$40\r\n" ID0 "\r\n%0\r\n";

	(void)state;
	sink(&o);
	rd_cluster_reply_slots(&o, 2, m);
	assert_int_equal(sink_len(&o), strlen(r2));
	assert_memory_equal(outbuf, r2, strlen(r2));
	sink(&o);
	rd_cluster_reply_slots(&o, 3, m);
	assert_int_equal(sink_len(&o), strlen(r3));
	assert_memory_equal(outbuf, r3, strlen(r3));
	rd_cluster_map_free(m);
}

static void alone_shards(void **state)
{
	struct rd_cluster_map *m = alone();
	struct mc_out o;
#define NODE_FIELDS "$2\r\nid\r\n$40\r\n" ID0 "\r\n$4\r\nport\r\n:6379\r\n$2\r\nip\r\n" \
	"$11\r\n198.18.0.11\r\n$8\r\nendpoint\r\n$11\r\n198.18.0.11\r\n$4\r\nrole\r\n" \
	"$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
	static const char r2[] = "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n"
				 "*1\r\n*14\r\n" NODE_FIELDS;
	static const char r3[] = "*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n"
				 "*1\r\n%7\r\n" NODE_FIELDS;
#undef NODE_FIELDS

	(void)state;
	sink(&o);
	rd_cluster_reply_shards(&o, 2, m);
	assert_int_equal(sink_len(&o), strlen(r2));
	assert_memory_equal(outbuf, r2, strlen(r2));
	sink(&o);
	rd_cluster_reply_shards(&o, 3, m);
	assert_int_equal(sink_len(&o), strlen(r3));
	assert_memory_equal(outbuf, r3, strlen(r3));
	rd_cluster_map_free(m);
}

/* A reply spread over many small windows comes out the same (the sink's more() path). */
static char small_buf[1 << 16];
static size_t small_used;

static bool small_more(struct mc_out *o)
{
	if (small_used + 7 > sizeof(small_buf))
		return false;
	o->p = (uint8_t *)small_buf + small_used;
	o->end = o->p + 7;
	small_used += 7;
	return true;
}

static void replies_survive_small_windows(void **state)
{
	struct rd_cluster_map *m = three();
	struct mc_out o, big;
	struct rd_cluster_msgs msgs = { 5, 6 };

	(void)state;
	for (int which = 0; which < 4; which++) {
		for (uint8_t proto = 2; proto <= 3; proto++) {
			size_t n, used;

			memset(&o, 0, sizeof(o));
			o.more = small_more;
			small_used = 0;
			sink(&big);
			switch (which) {
			case 0:
				rd_cluster_reply_info(&o, proto, m, &msgs);
				rd_cluster_reply_info(&big, proto, m, &msgs);
				break;
			case 1:
				rd_cluster_reply_nodes(&o, proto, m);
				rd_cluster_reply_nodes(&big, proto, m);
				break;
			case 2:
				rd_cluster_reply_slots(&o, proto, m);
				rd_cluster_reply_slots(&big, proto, m);
				break;
			default:
				rd_cluster_reply_shards(&o, proto, m);
				rd_cluster_reply_shards(&big, proto, m);
				break;
			}
			assert_false(o.failed);
			n = sink_len(&big);
			used = small_used - (size_t)(o.end - o.p);
			assert_int_equal(used, n);
			assert_memory_equal(small_buf, outbuf, n);
		}
	}
	rd_cluster_map_free(m);
}

/* ---- a bigger map, decoded ---- */

static void three_nodes_text(void **state)
{
	struct rd_cluster_map *m = three();
	struct mc_out o;
	static const char want[] =
		ID0 " 198.18.0.11:6379@16379 myself,master - 0 0 3 connected 0-99 101-5460"
		" [5->-" ID1 "] [6000-<-" ID1 "]\n"
		ID1 " 198.18.0.12:6380@16380 master - 0 1700000000123 7 connected 100 5461-10922\n"
		ID2 " 198.18.0.13:6379@16379,cache-c master - 0 0 9 connected 10923-16383\n"
		ID3 " 198.18.0.14:6379@16379 slave " ID0 " 0 0 3 connected\n"
		ID4 " 198.18.0.15:6379@16379 slave,fail " ID1 " 0 0 7 disconnected\n";

	(void)state;
	sink(&o);
	rd_cluster_nodes_text(&o, m);
	outbuf[sink_len(&o)] = 0;
	assert_string_equal(outbuf, want);
	rd_cluster_map_free(m);
}

static void three_info(void **state)
{
	struct rd_cluster_map *m = three();
	struct rd_cluster_msgs msgs = { 5, 6 };
	struct mc_out o;

	(void)state;
	m->node[2].flags |= RD_NODE_PFAIL;
	rd_cluster_map_finish(m);
	sink(&o);
	rd_cluster_info_text(&o, m, &msgs);
	outbuf[sink_len(&o)] = 0;
	assert_non_null(strstr(outbuf, "cluster_state:ok\r\n"));
	assert_non_null(strstr(outbuf, "cluster_slots_assigned:16384\r\n"));
	assert_non_null(strstr(outbuf, "cluster_slots_ok:10923\r\n"));
	assert_non_null(strstr(outbuf, "cluster_slots_pfail:5461\r\n"));
	assert_non_null(strstr(outbuf, "cluster_known_nodes:5\r\n"));
	assert_non_null(strstr(outbuf, "cluster_size:3\r\n"));
	assert_non_null(strstr(outbuf, "cluster_current_epoch:9\r\n"));
	assert_non_null(strstr(outbuf, "cluster_my_epoch:3\r\n"));
	assert_non_null(strstr(outbuf, "cluster_stats_messages_sent:5\r\n"));
	assert_non_null(strstr(outbuf, "cluster_stats_messages_received:6\r\n"));
	/* a master failing: its slots fail and so does the cluster */
	m->node[2].flags |= RD_NODE_FAIL;
	rd_cluster_map_finish(m);
	sink(&o);
	rd_cluster_info_text(&o, m, &msgs);
	outbuf[sink_len(&o)] = 0;
	assert_non_null(strstr(outbuf, "cluster_state:fail\r\n"));
	assert_non_null(strstr(outbuf, "cluster_slots_fail:5461\r\n"));
	/* a slot nobody serves */
	m->node[2].flags &= (uint16_t)~(RD_NODE_FAIL | RD_NODE_PFAIL);
	m->owner[16000] = RD_NODE_NONE;
	rd_cluster_map_finish(m);
	sink(&o);
	rd_cluster_info_text(&o, m, &msgs);
	outbuf[sink_len(&o)] = 0;
	assert_non_null(strstr(outbuf, "cluster_state:fail\r\n"));
	assert_non_null(strstr(outbuf, "cluster_slots_assigned:16383\r\n"));
	rd_cluster_map_free(m);
}

static void three_slots(void **state)
{
	struct rd_cluster_map *m = three();
	struct mc_out o;
	char want[2048];

	(void)state;
	/* the synced replica 3 follows its master; the failing replica 4 is left out */
	snprintf(want, sizeof(want),
		 "[[0,99,[198.18.0.11,6379,%s,[]],[198.18.0.14,6379,%s,[]]],"
		 "[100,100,[198.18.0.12,6380,%s,[]]],"
		 "[101,5460,[198.18.0.11,6379,%s,[]],[198.18.0.14,6379,%s,[]]],"
		 "[5461,10922,[198.18.0.12,6380,%s,[]]],"
		 "[10923,16383,[198.18.0.13,6379,%s,[hostname,cache-c]]]]",
		 ID0, ID3, ID1, ID0, ID3, ID1, ID2);
	sink(&o);
	rd_cluster_reply_slots(&o, 2, m);
	assert_string_equal(decoded(&o), want);
	snprintf(want, sizeof(want),
		 "[[0,99,[198.18.0.11,6379,%s,{}],[198.18.0.14,6379,%s,{}]],"
		 "[100,100,[198.18.0.12,6380,%s,{}]],"
		 "[101,5460,[198.18.0.11,6379,%s,{}],[198.18.0.14,6379,%s,{}]],"
		 "[5461,10922,[198.18.0.12,6380,%s,{}]],"
		 "[10923,16383,[198.18.0.13,6379,%s,{hostname:cache-c}]]]",
		 ID0, ID3, ID1, ID0, ID3, ID1, ID2);
	sink(&o);
	rd_cluster_reply_slots(&o, 3, m);
	assert_string_equal(decoded(&o), want);
	/* a replica that has not synced anything yet is not listed */
	m->node[3].repl_offset = 0;
	sink(&o);
	rd_cluster_reply_slots(&o, 3, m);
	assert_null(strstr(decoded(&o), ID3));
	rd_cluster_map_free(m);
}

static void three_shards(void **state)
{
	struct rd_cluster_map *m = three();
	struct mc_out o;
	char want[4096];

	(void)state;
	m->node[3].repl_offset = 0;	/* health "loading" */
	snprintf(want, sizeof(want),
		 "[{slots:[0,99,101,5460],nodes:["
		 "{id:%s,port:6379,ip:198.18.0.11,endpoint:198.18.0.11,role:master,"
		 "replication-offset:0,health:online},"
		 "{id:%s,port:6379,ip:198.18.0.14,endpoint:198.18.0.14,role:replica,"
		 "replication-offset:0,health:loading}]},"
		 "{slots:[100,100,5461,10922],nodes:["
		 "{id:%s,port:6380,ip:198.18.0.12,endpoint:198.18.0.12,role:master,"
		 "replication-offset:0,health:online},"
		 "{id:%s,port:6379,ip:198.18.0.15,endpoint:198.18.0.15,role:replica,"
		 "replication-offset:99,health:fail}]},"
		 "{slots:[10923,16383],nodes:["
		 "{id:%s,port:6379,ip:198.18.0.13,endpoint:198.18.0.13,hostname:cache-c,"
		 "role:master,replication-offset:0,health:online}]}]",
		 ID0, ID3, ID1, ID4, ID2);
	sink(&o);
	rd_cluster_reply_shards(&o, 3, m);
	assert_string_equal(decoded(&o), want);
	/* RESP2: the same, maps as flat arrays */
	sink(&o);
	rd_cluster_reply_shards(&o, 2, m);
	assert_non_null(strstr(decoded(&o), "[[slots,[0,99,101,5460],nodes,[[id," ID0 ",port,6379,"));
	rd_cluster_map_free(m);
}

/* ---- the hash slot of an argument ---- */

/* A receive queue made of 5-byte pieces: keys scattered over many buffers. */
static const uint8_t *rx_bytes;
static uint64_t rx_len;

static const uint8_t *rx_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	(void)q;
	assert_true(off < rx_len);
	*contig = 5 - off % 5;
	if (*contig > rx_len - off)
		*contig = rx_len - off;
	return rx_bytes + off;
}

static uint16_t slot_scattered(const char *key, size_t n)
{
	struct mc_inq in = { .len = n, .peek = rx_peek };
	struct resp_arg a = { .u.off = 0, .len = (uint32_t)n, .kind = RESP_ARG_RX };

	rx_bytes = (const uint8_t *)key;
	rx_len = n;
	return rd_cluster_arg_slot(&a, &in);
}

static uint16_t slot_ptr(const char *key)
{
	struct resp_arg a = { .u.p = (const uint8_t *)key, .len = (uint32_t)strlen(key),
			      .kind = RESP_ARG_PTR };

	return rd_cluster_arg_slot(&a, NULL);
}

static void keyslot_rules(void **state)
{
	static const struct {
		const char *key;
		int slot;		/* -1: that of hashed */
		const char *hashed;
	} cases[] = {
		{ "123456789", 12739, NULL },		/* CRC16-XMODEM check value 0x31C3 */
		{ "somekey", 11058, NULL },		/* Redis's CLUSTER KEYSLOT examples */
		{ "foo{hash_tag}", 2515, NULL },
		{ "hash_tag", 2515, NULL },
		{ "foo{bar}{zap}", -1, "bar" },		/* the first tag only */
		{ "foo{{bar}}zap", -1, "{bar" },	/* from the first '{' to the first '}' */
		{ "foo{}{bar}", -1, "foo{}{bar}" },	/* an empty tag: the whole key */
		{ "foo{bar", -1, "foo{bar" },		/* no '}': the whole key */
		{ "foo}bar{", -1, "foo}bar{" },
		{ "{user1000}.following", -1, "user1000" },
		{ "", 0, NULL },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = cases[i].slot >= 0 ? cases[i].slot
					      : wc_crc16(cases[i].hashed, strlen(cases[i].hashed)) & 16383;

		assert_int_equal(slot_ptr(cases[i].key), want);
		if (cases[i].key[0])
			assert_int_equal(slot_scattered(cases[i].key, strlen(cases[i].key)), want);
	}
}

/* Keys over 16 KiB arrive scattered (or staged): the tag may be anywhere, pieces anywhere. */
static void keyslot_of_long_scattered_keys(void **state)
{
	size_t n = 40000;
	char *k = malloc(n + 1);

	(void)state;
	assert_non_null(k);
	for (size_t i = 0; i < n; i++)
		k[i] = (char)('a' + i % 23);
	k[n] = 0;
	assert_int_equal(slot_scattered(k, n), wc_key_slot(k, n));
	/* a tag straddling pieces and far in */
	memcpy(k + 33331, "{tag-in-the-middle}", 19);
	assert_int_equal(slot_scattered(k, n), wc_crc16("tag-in-the-middle", 17) & 16383);
	assert_int_equal(slot_scattered(k, n), wc_key_slot(k, n));
	/* a '{' early, its '}' only near the end: the whole span between is the tag */
	memset(k + 33331, 'x', 19);
	k[10] = '{';
	k[n - 2] = '}';
	assert_int_equal(slot_scattered(k, n), wc_crc16(k + 11, n - 13) & 16383);
	assert_int_equal(slot_scattered(k, n), wc_key_slot(k, n));
	free(k);
}

/* ---- the routing decision ---- */

static struct rd_slot_query query(int32_t slot)
{
	return (struct rd_slot_query){ .slot = slot };
}

static void alone_serves_everything(void **state)
{
	struct rd_cluster_map *m = alone();
	uint16_t node = RD_NODE_NONE;

	(void)state;
	assert_true(m->state_ok);
	for (int32_t s = -1; s < (int32_t)WC_SLOTS; s++) {
		struct rd_slot_query q = query(s);

		q.write = s & 1;
		q.multiple_keys = s & 2;
		q.asking = s & 4;
		q.readonly = s & 8;
		assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
		assert_false(rd_cluster_slot_open(m, s < 0 ? 0 : (unsigned)s));
	}
	assert_int_equal(node, RD_NODE_NONE);
	rd_cluster_map_free(m);
}

static void decide_moved_and_down(void **state)
{
	struct rd_cluster_map *m = three();
	struct rd_slot_query q;
	uint16_t node = RD_NODE_NONE;
	char text[128];

	(void)state;
	q = query(50);
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	q = query(100);		/* the odd slot node 1 holds inside my range */
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	assert_int_equal(node, 1);
	rd_cluster_redirect_text(m, RD_REDIR_MOVED, 100, node, text, sizeof(text));
	assert_string_equal(text, "MOVED 100 198.18.0.12:6380");
	q = query(12182);
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	assert_int_equal(node, 2);
	rd_cluster_redirect_text(m, RD_REDIR_MOVED, 12182, node, text, sizeof(text));
	assert_string_equal(text, "MOVED 12182 198.18.0.13:6379");
	/* keys in two slots */
	q = query(50);
	q.cross_slot = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_CROSS_SLOT);
	rd_cluster_redirect_text(m, RD_REDIR_CROSS_SLOT, 50, node, text, sizeof(text));
	assert_string_equal(text, "CROSSSLOT Keys in request don't hash to the same slot");
	/* a slot nobody serves, and then the whole cluster down */
	m->owner[16000] = RD_NODE_NONE;
	rd_cluster_map_finish(m);
	q = query(16000);
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_DOWN_UNBOUND);
	rd_cluster_redirect_text(m, RD_REDIR_DOWN_UNBOUND, 16000, node, text, sizeof(text));
	assert_string_equal(text, "CLUSTERDOWN Hash slot not served");
	q = query(50);
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_DOWN_STATE);
	rd_cluster_redirect_text(m, RD_REDIR_DOWN_STATE, 50, node, text, sizeof(text));
	assert_string_equal(text, "CLUSTERDOWN The cluster is down");
	/* shard channels are served while the cluster is down (Redis's default) */
	q.shard_pubsub = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	q = query(12182);
	q.shard_pubsub = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	/* commands without keys go on regardless */
	q = query(-1);
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	rd_cluster_map_free(m);
}

static void decide_migrating_and_importing(void **state)
{
	struct rd_cluster_map *m = three();
	struct rd_slot_query q;
	uint16_t node = RD_NODE_NONE;
	char text[128];

	(void)state;
	assert_true(rd_cluster_slot_open(m, 5));
	assert_true(rd_cluster_slot_open(m, 6000));
	assert_false(rd_cluster_slot_open(m, 6));
	/* slot 5 moves from me to node 1: keys still here are served, gone ones ASK */
	q = query(5);
	q.existing = 2;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	q = query(5);
	q.missing = 1;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_ASK);
	assert_int_equal(node, 1);
	rd_cluster_redirect_text(m, RD_REDIR_ASK, 5, node, text, sizeof(text));
	assert_string_equal(text, "ASK 5 198.18.0.12:6380");
	q = query(5);
	q.missing = 1;
	q.existing = 1;
	q.multiple_keys = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_TRYAGAIN);
	rd_cluster_redirect_text(m, RD_REDIR_TRYAGAIN, 5, node, text, sizeof(text));
	assert_string_equal(text, "TRYAGAIN Multiple keys request during rehashing of slot");
	/* slot 6000 moves from node 1 to me: only ASKING clients are served here */
	q = query(6000);
	q.missing = 1;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	assert_int_equal(node, 1);
	q.asking = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	q.multiple_keys = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_TRYAGAIN);
	q.missing = 0;
	q.existing = 2;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	rd_cluster_map_free(m);
}

static void decide_readonly_replica(void **state)
{
	struct rd_cluster_map *m = three();
	struct rd_slot_query q;
	uint16_t node = RD_NODE_NONE;

	(void)state;
	m->myself = 3;		/* now I am node 3, replica of node 0 */
	m->migrating[5] = RD_NODE_NONE;
	q = query(50);
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	assert_int_equal(node, 0);
	q.readonly = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	q.write = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	/* shard channels of my master's slots are served here without READONLY */
	q = query(50);
	q.shard_pubsub = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_NONE);
	/* READONLY reads of another master's slots still move */
	q = query(12182);
	q.readonly = true;
	assert_int_equal(rd_cluster_decide(m, &q, &node), RD_REDIR_MOVED);
	assert_int_equal(node, 2);
	rd_cluster_map_free(m);
}

/* ---- CROSSSLOT detection over commands' keys ---- */

static struct resp_cmd make_cmd(const char *const *argv, unsigned argc)
{
	struct resp_cmd c;

	memset(&c, 0, sizeof(c));
	assert_true(argc <= RESP_ARGV_EMBED);
	c.argc = argc;
	for (unsigned i = 0; i < argc; i++)
		c.embed[i] = (struct resp_arg){ .u.p = (const uint8_t *)argv[i],
						.len = (uint32_t)strlen(argv[i]),
						.kind = RESP_ARG_PTR };
	return c;
}

static const struct rd_cmd *cmd_named(const char *name)
{
	struct resp_arg a = { .u.p = (const uint8_t *)name, .len = (uint32_t)strlen(name),
			      .kind = RESP_ARG_PTR };
	const struct rd_cmd *c = rd_cmd_lookup(&a);

	assert_non_null(c);
	return c;
}

static struct rd_keyfold fold_of(const char *name, const char *const *argv, unsigned argc)
{
	struct rd_keyfold f;
	struct resp_cmd c = make_cmd(argv, argc);
	uint32_t pos[RESP_ARGV_EMBED];

	rd_keyfold_init(&f, NULL);
	rd_keyfold_add(&f, cmd_named(name), &c, NULL, pos, RESP_ARGV_EMBED);
	return f;
}

#define FOLD(name, ...) ({ \
	static const char *const argv_[] = { name, __VA_ARGS__ }; \
	fold_of(name, argv_, sizeof(argv_) / sizeof(argv_[0])); })

static void crossslot_by_key_specs(void **state)
{
	struct rd_keyfold f;

	(void)state;
	rd_cmds_init();
	f = FOLD("get", "foo");
	assert_false(f.q.cross_slot);
	assert_int_equal(f.q.slot, 12182);
	assert_false(f.q.multiple_keys);
	assert_false(f.q.write);
	/* MSET: keys every second argument; the values' slots do not matter */
	f = FOLD("mset", "{u1}a", "x", "{u1}b", "y");
	assert_false(f.q.cross_slot);
	assert_true(f.q.multiple_keys);
	assert_true(f.q.write);
	assert_int_equal(f.q.slot, wc_key_slot("u1", 2));
	f = FOLD("mset", "a", "1", "b", "2");
	assert_true(f.q.cross_slot);
	f = FOLD("mget", "{t}1", "{t}2", "{t}3", "other");
	assert_true(f.q.cross_slot);
	f = FOLD("del", "{t}1", "{t}2", "{t}3");
	assert_false(f.q.cross_slot);
	/* the same key twice is one key */
	f = FOLD("exists", "k", "k", "k");
	assert_false(f.q.cross_slot);
	assert_false(f.q.multiple_keys);
	f = FOLD("rename", "a", "b");
	assert_true(f.q.cross_slot);
	f = FOLD("rename", "{x}a", "{x}b");
	assert_false(f.q.cross_slot);
	f = FOLD("watch", "a", "b");
	assert_true(f.q.cross_slot);
	/* no keys at all */
	f = FOLD("ping", "a");
	assert_int_equal(f.q.slot, -1);
	assert_false(f.q.cross_slot);
}

/* Movable keys (SINTERCARD numkeys key ... [LIMIT n]): positions come from getkeys. */
static unsigned numkeys_getkeys(const struct resp_cmd *cmd, uint32_t *pos, unsigned max)
{
	const struct resp_arg *nk = resp_argv(cmd, 1);
	unsigned n = 0, want = (unsigned)strtoul((const char *)nk->u.p, NULL, 10);

	for (unsigned i = 0; i < want && 2 + i < cmd->argc && n < max; i++)
		pos[n++] = 2 + i;
	return n;
}

static void crossslot_by_movable_keys(void **state)
{
	struct rd_cmd movable = { .name = "sintercard", .arity = -3,
				  .flags = RD_F_READONLY | RD_F_MOVABLE_KEYS,
				  .getkeys = numkeys_getkeys };
	static const char *const same[] = { "sintercard", "2", "{s}1", "{s}2", "LIMIT", "5" };
	static const char *const cross[] = { "sintercard", "2", "{s}1", "other", "LIMIT", "5" };
	/* LIMIT's argument is not a key even though it hashes elsewhere */
	static const char *const limit[] = { "sintercard", "1", "{s}1", "LIMIT", "zzz" };
	struct rd_keyfold f;
	struct resp_cmd c;
	uint32_t pos[16];

	(void)state;
	rd_keyfold_init(&f, NULL);
	c = make_cmd(same, 6);
	assert_true(rd_keyfold_add(&f, &movable, &c, NULL, pos, 16));
	assert_false(f.q.cross_slot);
	assert_true(f.q.multiple_keys);
	rd_keyfold_init(&f, NULL);
	c = make_cmd(cross, 6);
	assert_false(rd_keyfold_add(&f, &movable, &c, NULL, pos, 16));
	assert_true(f.q.cross_slot);
	rd_keyfold_init(&f, NULL);
	c = make_cmd(limit, 5);
	assert_true(rd_keyfold_add(&f, &movable, &c, NULL, pos, 16));
	assert_false(f.q.cross_slot);
	assert_false(f.q.multiple_keys);
}

/* EXEC folds every queued command: keys in one slot across commands, or CROSSSLOT. */
static void crossslot_across_a_transaction(void **state)
{
	static const char *const set_a[] = { "set", "{acct}:1", "10" };
	static const char *const incr_b[] = { "incr", "{acct}:2" };
	static const char *const get_c[] = { "get", "c" };
	struct rd_keyfold f;
	struct resp_cmd c;
	uint32_t pos[16];

	(void)state;
	rd_cmds_init();
	rd_keyfold_init(&f, NULL);
	c = make_cmd(set_a, 3);
	assert_true(rd_keyfold_add(&f, cmd_named("set"), &c, NULL, pos, 16));
	c = make_cmd(incr_b, 2);
	assert_true(rd_keyfold_add(&f, cmd_named("incr"), &c, NULL, pos, 16));
	assert_false(f.q.cross_slot);
	assert_true(f.q.write);
	c = make_cmd(get_c, 2);
	assert_false(rd_keyfold_add(&f, cmd_named("get"), &c, NULL, pos, 16));
	assert_true(f.q.cross_slot);
}

/* Keys of a slot being moved are looked up, and counted present or missing. */
static bool exists_if_odd(void *arg, const struct resp_arg *k)
{
	(*(unsigned *)arg)++;
	return (k->u.p[k->len - 1] - '0') & 1;
}

static void presence_counted_only_in_open_slots(void **state)
{
	struct rd_cluster_map *m = three();
	unsigned lookups = 0;
	struct rd_keyfold f;
	struct resp_cmd c;
	uint32_t pos[16];
	char k1[32], k2[32], k3[32], tag[16];
	const char *argv[4] = { "mget", k1, k2, k3 };
	uint16_t node = RD_NODE_NONE;

	(void)state;
	rd_cmds_init();
	/* a hash tag of slot 5 (migrating from me) */
	for (unsigned i = 0;; i++) {
		snprintf(tag, sizeof(tag), "t%u", i);
		if (wc_key_slot(tag, strlen(tag)) == 5)
			break;
	}
	snprintf(k1, sizeof(k1), "{%s}1", tag);
	snprintf(k2, sizeof(k2), "{%s}3", tag);
	snprintf(k3, sizeof(k3), "{%s}2", tag);
	rd_keyfold_init(&f, m);
	f.exists = exists_if_odd;
	f.exists_arg = &lookups;
	c = make_cmd(argv, 4);
	assert_true(rd_keyfold_add(&f, cmd_named("mget"), &c, NULL, pos, 16));
	assert_int_equal(f.q.slot, 5);
	assert_int_equal(lookups, 3);
	assert_int_equal(f.q.existing, 2);
	assert_int_equal(f.q.missing, 1);
	assert_int_equal(rd_cluster_decide(m, &f.q, &node), RD_REDIR_TRYAGAIN);
	/* a stable slot: nothing looked up */
	lookups = 0;
	rd_keyfold_init(&f, m);
	f.exists = exists_if_odd;
	f.exists_arg = &lookups;
	argv[1] = "{x}1";
	argv[2] = "{x}2";
	argv[3] = "{x}3";
	c = make_cmd(argv, 4);
	assert_true(rd_keyfold_add(&f, cmd_named("mget"), &c, NULL, pos, 16));
	assert_int_equal(lookups, 0);
	assert_int_equal(f.q.missing + f.q.existing, 0);
	rd_cluster_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alone_info),
		cmocka_unit_test(alone_nodes),
		cmocka_unit_test(alone_slots),
		cmocka_unit_test(alone_shards),
		cmocka_unit_test(replies_survive_small_windows),
		cmocka_unit_test(three_nodes_text),
		cmocka_unit_test(three_info),
		cmocka_unit_test(three_slots),
		cmocka_unit_test(three_shards),
		cmocka_unit_test(keyslot_rules),
		cmocka_unit_test(keyslot_of_long_scattered_keys),
		cmocka_unit_test(alone_serves_everything),
		cmocka_unit_test(decide_moved_and_down),
		cmocka_unit_test(decide_migrating_and_importing),
		cmocka_unit_test(decide_readonly_replica),
		cmocka_unit_test(crossslot_by_key_specs),
		cmocka_unit_test(crossslot_by_movable_keys),
		cmocka_unit_test(crossslot_across_a_transaction),
		cmocka_unit_test(presence_counted_only_in_open_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
