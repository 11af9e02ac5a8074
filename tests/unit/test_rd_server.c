/*
 * test_rd_server.c - the Redis server and introspection commands: INFO's
 * text made from given numbers, CONFIG GET's name matching and memory
 * values, COMMAND's entry bytes in RESP2 and RESP3, a CLIENT LIST line;
 * then, over the dataplane's own TCP without a NIC (dp_harness.h), INFO,
 * CONFIG GET/SET/RESETSTAT, COMMAND GETKEYS, CLIENT LIST/KILL (a killed
 * idle connection gets its FIN at once), the slow log's argument cutting
 * and redaction, MEMORY USAGE, and the instantaneous-rate sampler; every
 * served command's key specs against Redis 7.0.15's table, GETKEYSANDFLAGS
 * per key, the encoding parameters and OBJECT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dp_harness.h"
#include "core/stats.h"
#include "net/tcp_impl.h"
#include "redis/clients.h"
#include "redis/cmdinfo.h"
#include "redis/config_cmd.h"
#include "redis/info.h"
#include "redis/server.h"
#include "redis/text.h"

#define RPORT 6379
#define ISN 2000000u

static struct dp_harness h;
static struct rd_server srv;

/* ---- text in malloc'd blocks (freed at the end of each test) ---- */

static void *blocks[256];
static unsigned nblocks;

static void *test_alloc(void *ctx, size_t n)
{
	(void)ctx;
	assert_true(nblocks < 256);
	return blocks[nblocks++] = malloc(n);
}

static void free_blocks(void)
{
	while (nblocks)
		free(blocks[--nblocks]);
}

static char *text_str(struct rd_text *t)
{
	static char buf[1 << 16];

	assert_false(t->failed);
	rd_text_copy(t, buf, sizeof(buf));
	return buf;
}

static struct resp_arg arg(const char *s)
{
	return (struct resp_arg){ .kind = RESP_ARG_PTR, .u.p = (const uint8_t *)s,
				  .len = (uint32_t)strlen(s) };
}

/* ---- INFO from given numbers ---- */

static void fake_cmd_stats(void *a, unsigned id, uint64_t out[4])
{
	struct resp_arg get = arg("get");
	const struct rd_cmd *g = rd_cmd_lookup(&get), *cid = rd_cmd_by_fullname(
						       (const uint8_t *)"client|id", 9);

	(void)a;
	out[0] = out[1] = out[2] = out[3] = 0;
	if (id == g->id) {
		out[0] = 4;
		out[1] = 10;
		out[2] = 1;
	}
	if (id == cid->id) {
		out[0] = 3;
		out[1] = 1;
		out[3] = 2;
	}
}

static void given_info(struct rd_info *in)
{
	memset(in, 0, sizeof(*in));
	in->version = "7.0.15";
	in->wc_version = "wc-test";
	in->run_id = "0123456789012345678901234567890123456789";
	in->replid = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
	in->os = "Linux 6.1 x86_64";
	in->pid = 4242;
	in->now_us = 2000000000123456;
	in->started = 2000000000 - 90061;	/* 1 day, 1 hour, 1 minute, 1 second */
	in->port = 6379;
	in->clients = 3;
	in->maxclients = 16384;
	in->used = 1536 * 1024;
	in->peak = 2 * 1024 * 1024;
	in->index = 1024 * 1024;
	in->dataset = 512 * 1024;
	in->maxmemory = 64u << 20;
	in->policy = "allkeys-s3fifo";
	in->changes = 11;
	in->lastsave = 1999999000;
	in->connections = 5;
	in->commands = 99;
	in->net_in = 1000;
	in->net_out = 2000;
	in->errors = 2;
	in->errstat[RD_ERRSTAT_OOM] = 1;
	in->errstat[RD_ERRSTAT_ERR] = 1;
	in->ops_per_sec = 250;
	in->in_per_sec = 2048;
	in->out_per_sec = 512;
	in->rejected_conns = 1;
	in->expired = 6;
	in->evicted = 8;
	in->hits = 7;
	in->misses = 9;
	in->cpu_sys = 1500000;
	in->cpu_user = 250;
	in->keys = 5;
	in->expires = 2;
	in->cmd_stats = fake_cmd_stats;
}

static void info_text_from_numbers(void **state)
{
	struct rd_info in;
	struct rd_text t;
	const char *s;

	(void)state;
	given_info(&in);
	rd_text_init(&t, test_alloc, NULL);
	rd_info_render(&t, &in, RD_INFO_DEFAULT);
	s = text_str(&t);
	assert_memory_equal(s, "# Server\r\nredis_version:7.0.15\r\nwirecache_version:wc-test\r\n",
			    59);
	assert_non_null(strstr(s, "\r\nredis_mode:standalone\r\nos:Linux 6.1 x86_64\r\n"));
	assert_non_null(strstr(s, "\r\nprocess_id:4242\r\n"));
	assert_non_null(strstr(s, "\r\nuptime_in_seconds:90061\r\nuptime_in_days:1\r\n"));
	assert_non_null(strstr(s, "\r\n\r\n# Clients\r\nconnected_clients:3\r\n"));
	assert_non_null(strstr(s, "\r\nmaxclients:16384\r\nblocked_clients:0\r\n"));
	assert_non_null(strstr(s, "\r\nused_memory:1572864\r\nused_memory_human:1.50M\r\n"));
	assert_non_null(strstr(s, "\r\nused_memory_peak:2097152\r\nused_memory_peak_human:2.00M\r\n"
				  "used_memory_peak_perc:75.00%\r\n"));
	assert_non_null(strstr(s, "\r\nused_memory_dataset_perc:33.33%\r\n"));
	assert_non_null(strstr(s, "\r\nmaxmemory:67108864\r\nmaxmemory_human:64.00M\r\n"
				  "maxmemory_policy:allkeys-s3fifo\r\n"));
	assert_non_null(strstr(s, "# Persistence\r\nloading:0\r\nasync_loading:0\r\n"));
	assert_non_null(strstr(s, "\r\nrdb_changes_since_last_save:11\r\n"));
	assert_non_null(strstr(s, "\r\nrdb_last_save_time:1999999000\r\n"));
	assert_non_null(strstr(s, "# Stats\r\ntotal_connections_received:5\r\n"
				  "total_commands_processed:99\r\ninstantaneous_ops_per_sec:250\r\n"
				  "total_net_input_bytes:1000\r\ntotal_net_output_bytes:2000\r\n"));
	assert_non_null(strstr(s, "\r\ninstantaneous_input_kbps:2.00\r\n"
				  "instantaneous_output_kbps:0.50\r\n"));
	assert_non_null(strstr(s, "\r\nrejected_connections:1\r\n"));
	assert_non_null(strstr(s, "\r\nexpired_keys:6\r\n"));
	assert_non_null(strstr(s, "\r\nevicted_keys:8\r\n"));
	assert_non_null(strstr(s, "\r\nkeyspace_hits:7\r\nkeyspace_misses:9\r\n"));
	assert_non_null(strstr(s, "\r\ntotal_error_replies:2\r\n"));
	assert_non_null(strstr(s, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"));
	assert_non_null(strstr(s, "\r\nmaster_replid:abcdefabcdefabcdefabcdefabcdefabcdefabcd\r\n"));
	assert_non_null(strstr(s, "\r\nmaster_repl_offset:0\r\n"));
	assert_non_null(strstr(s, "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.000250\r\n"));
	/* errorstats in the default, the words seen in byte order (Redis 7.0's order of sections) */
	assert_non_null(strstr(s, "\r\n\r\n# Modules\r\n\r\n# Errorstats\r\n"
				  "errorstat_ERR:count=1\r\nerrorstat_OOM:count=1\r\n"
				  "\r\n# Cluster\r\ncluster_enabled:0\r\n"));
	/* the last section, and nothing after its line */
	assert_non_null(strstr(s, "\r\n\r\n# Keyspace\r\ndb0:keys=5,expires=2,avg_ttl=0\r\n"));
	{
		static const char tail[] = "\r\ndb0:keys=5,expires=2,avg_ttl=0\r\n";

		assert_string_equal(s + strlen(s) - strlen(tail), tail);
	}
	assert_null(strstr(s, "Commandstats"));
	free_blocks();

	/* one section, and commandstats with a subcommand */
	rd_text_init(&t, test_alloc, NULL);
	rd_info_render(&t, &in, RD_INFO_COMMANDSTATS | RD_INFO_CLUSTER);
	s = text_str(&t);
	assert_string_equal(s, "# Commandstats\r\n"	/* (in the command table's order) */
			    "cmdstat_client|id:calls=3,usec=1,usec_per_call=0.33,rejected_calls=0,"
			    "failed_calls=2\r\n"
			    "cmdstat_get:calls=4,usec=10,usec_per_call=2.50,rejected_calls=1,"
			    "failed_calls=0\r\n"
			    "\r\n# Cluster\r\ncluster_enabled:0\r\n");
	free_blocks();

	/* an empty keyspace: the header alone */
	in.keys = in.expires = 0;
	in.cluster = true;
	rd_text_init(&t, test_alloc, NULL);
	rd_info_render(&t, &in, RD_INFO_KEYSPACE | RD_INFO_CLUSTER);
	assert_string_equal(text_str(&t), "# Cluster\r\ncluster_enabled:1\r\n\r\n# Keyspace\r\n");
	free_blocks();
}

static void info_sections_by_name(void **state)
{
	struct resp_arg a;

	(void)state;
	a = arg("ALL");
	assert_int_equal(rd_info_section(&a), RD_INFO_ALL);
	a = arg("everything");
	assert_int_equal(rd_info_section(&a), RD_INFO_ALL);
	a = arg("default");
	assert_int_equal(rd_info_section(&a), RD_INFO_DEFAULT);
	assert_false(RD_INFO_DEFAULT & RD_INFO_COMMANDSTATS);
	assert_true(RD_INFO_DEFAULT & RD_INFO_PERSISTENCE);	/* ioredis reads loading:0 */
	a = arg("CommandStats");
	assert_int_equal(rd_info_section(&a), RD_INFO_COMMANDSTATS);
	a = arg("module_list");
	assert_int_equal(rd_info_section(&a), RD_INFO_MODULES);
	a = arg("nosuch");
	assert_int_equal(rd_info_section(&a), 0);
}

static void bytes_in_human_form(void **state)
{
	char b[32];

	(void)state;
	rd_bytes_human(b, sizeof(b), 1023);
	assert_string_equal(b, "1023B");
	rd_bytes_human(b, sizeof(b), 1024);
	assert_string_equal(b, "1.00K");
	rd_bytes_human(b, sizeof(b), 1536u << 10);
	assert_string_equal(b, "1.50M");
	rd_bytes_human(b, sizeof(b), 3ull << 40);
	assert_string_equal(b, "3.00T");
}

/* ---- CONFIG names and values ---- */

static unsigned find(const char *pat, const char **names)
{
	return rd_config_find((const uint8_t *)pat, (uint32_t)strlen(pat), names, 32);
}

static void config_patterns(void **state)
{
	const char *n[32];
	uint64_t v;

	(void)state;
	assert_int_equal(find("max*", n), 3);
	assert_string_equal(n[0], "maxmemory");
	assert_string_equal(n[1], "maxmemory-policy");
	assert_string_equal(n[2], "maxclients");
	assert_int_equal(find("MAXMEMORY", n), 1);	/* one name: case-insensitive */
	assert_string_equal(n[0], "maxmemory");
	assert_int_equal(find("maxmemory-", n), 0);	/* ... and whole */
	assert_int_equal(find("SLOWLOG-*", n), 2);
	assert_int_equal(find("[st]*", n), 6);	/* (tracking-table-max-keys too) */
	assert_string_equal(n[0], "timeout");
	assert_string_equal(n[1], "save");
	assert_string_equal(n[4], "tracking-table-max-keys");
	assert_string_equal(n[5], "set-max-intset-entries");
	assert_int_equal(find("?ave", n), 1);
	/* (dir, dbfilename: redis/rdbsave.h; min-replicas-*: redis/repl_master.h; masterauth,
	 * masteruser: redis/replica.h) */
	assert_int_equal(find("*", n), 29);
	assert_int_equal(find("min-replicas-*", n), 2);
	assert_int_equal(find("min-slaves-to-write", n), 1);
	/* an alias is found by its exact name only */
	assert_int_equal(find("hash-max-ziplist-value", n), 1);
	assert_string_equal(n[0], "hash-max-listpack-value");
	assert_int_equal(find("*ziplist*", n), 0);
	assert_int_equal(find("acllog-max-len", n), 1);
	assert_int_equal(find("nosuch", n), 0);
	assert_int_equal(find("*nosuch*", n), 0);

	assert_true(rd_config_memory((const uint8_t *)"1gb", 3, &v));
	assert_true(v == 1ull << 30);
	assert_true(rd_config_memory((const uint8_t *)"100MB", 5, &v));
	assert_true(v == 100ull << 20);
	assert_true(rd_config_memory((const uint8_t *)"5k", 2, &v));
	assert_true(v == 5000);
	assert_true(rd_config_memory((const uint8_t *)"42", 2, &v));
	assert_true(v == 42);
	assert_false(rd_config_memory((const uint8_t *)"-1", 2, &v));
	assert_false(rd_config_memory((const uint8_t *)"1x", 2, &v));
	assert_false(rd_config_memory((const uint8_t *)"99999999999999999999", 20, &v));
}

/* ---- COMMAND's entries ---- */

static const char *entry(const char *name, uint8_t proto, bool docs)
{
	static uint8_t buf[8192];
	const struct rd_cmd *c = rd_cmd_by_fullname((const uint8_t *)name,
						     (uint32_t)strlen(name));
	struct mc_out o;

	assert_non_null(c);
	mc_out_init_buf(&o, buf, sizeof(buf) - 1);
	if (docs)
		rd_cmd_docs_reply(&o, proto, c);
	else
		rd_cmd_info_reply(&o, proto, c);
	assert_false(o.failed);
	*o.p = 0;
	return (const char *)buf;
}

static void command_entries(void **state)
{
	(void)state;
	assert_string_equal(entry("get", 2, false),
		"*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
		"*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n"
		"*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"
		"$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
		"*2\r\n$5\r\nindex\r\n:1\r\n"
		"$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
		"*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"
		"*0\r\n");
	assert_string_equal(entry("mset", 3, false),
		"*10\r\n$4\r\nmset\r\n:-3\r\n~2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n"
		"~3\r\n+@write\r\n+@string\r\n+@slow\r\n~0\r\n"
		"~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+OW\r\n+update\r\n"
		"$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
		"%1\r\n$5\r\nindex\r\n:1\r\n"
		"$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
		"%3\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:2\r\n$5\r\nlimit\r\n:0\r\n"
		"~0\r\n");
	/* a subcommand: its full name, implied categories, tips, no keys */
	assert_string_equal(entry("client|list", 2, false),
		"*10\r\n$11\r\nclient|list\r\n:-2\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n"
		"+stale\r\n:0\r\n:0\r\n:0\r\n*4\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n"
		"+@connection\r\n*1\r\n$23\r\nnondeterministic_output\r\n*0\r\n*0\r\n");
	/* a container lists its subcommands as whole entries */
	assert_non_null(strstr(entry("config", 2, false),
			       "*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n"
			       "+@slow\r\n*0\r\n*0\r\n*4\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n"));
	assert_string_equal(entry("del", 2, true),
		"*8\r\n$7\r\nsummary\r\n$11\r\nDelete keys\r\n"
		"$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$7\r\ngeneric\r\n"
		"$10\r\ncomplexity\r\n$34\r\nO(N) where N is the number of keys\r\n");
	assert_non_null(strstr(entry("slowlog", 3, true),
			       "$11\r\nsubcommands\r\n%4\r\n$11\r\nslowlog|get\r\n%4\r\n"));
	assert_int_equal(rd_cmd_key_flags(rd_cmd_by_fullname((const uint8_t *)"del", 3)),
			 RD_KS_RM | RD_KS_DELETE);
}

/* ---- a CLIENT LIST line ---- */

static void client_line_format(void **state)
{
	struct rd_session *s = calloc(1, sizeof(*s));
	struct resp_arg get = arg("get");
	struct rd_client_view v = { .s = s, .fd = 3, .qbuf = 10, .qbuf_free = 100, .omem = 20,
				    .oll = 1, .writing = true, .idle_ms = 2400 };
	struct rd_text t;
	char want[1024];

	(void)state;
	s->id = 7;
	s->raddr = DP_CLIENT;
	s->rport = 40000;
	s->laddr = DP_IP;
	s->laddr_port = 6379;
	strcpy(s->name, "app");
	strcpy(s->lib_name, "redis-py");
	strcpy(s->lib_ver, "5.0");
	s->created_ms = 1000;
	s->flags = RD_C_MULTI | RD_C_READONLY;
	s->proto = 3;
	s->last_cmd_id = rd_cmd_lookup(&get)->id;
	rd_text_init(&t, test_alloc, NULL);
	rd_client_line(&t, &v, 5500);
	snprintf(want, sizeof(want),
		 "id=7 addr=198.18.0.1:40000 laddr=198.18.0.11:6379 fd=3 name=app age=4 idle=2 "
		 "flags=xr db=0 sub=0 psub=0 ssub=0 multi=0 qbuf=10 qbuf-free=100 argv-mem=0 "
		 "multi-mem=0 rbs=0 rbp=0 obl=0 oll=1 omem=20 tot-mem=%lu events=rw cmd=get "
		 "user=(superuser) redir=-1 resp=3 lib-name=redis-py lib-ver=5.0",
		 (unsigned long)(sizeof(struct rd_session) + 30));
	assert_string_equal(text_str(&t), want);
	free_blocks();
	/* no flags: N; no command yet: NULL */
	s->flags = 0;
	s->last_cmd_id = RD_CMD_ID_PRIVATE;
	s->name[0] = 0;
	rd_text_init(&t, test_alloc, NULL);
	rd_client_line(&t, &v, 5500);
	assert_non_null(strstr(text_str(&t), " name= age=4 idle=2 flags=N db=0 "));
	assert_non_null(strstr(text_str(&t), " multi=-1 "));
	assert_non_null(strstr(text_str(&t), " cmd=NULL "));
	free_blocks();
	free(s);
}

/* ---- over TCP ---- */

struct client {
	uint16_t port;
	uint32_t seq, ack;
	bool fin;
};

struct seg {
	uint16_t dport;
	uint8_t flags;
	uint32_t seq;
	uint16_t len;
	const uint8_t *data;
};

static struct seg seg_at(unsigned i)
{
	const uint8_t *f = rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	unsigned doff = (th->data_off >> 4) * 4u;

	assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
	return (struct seg){ .dport = rte_be_to_cpu_16(th->dst_port), .flags = th->tcp_flags,
			     .seq = rte_be_to_cpu_32(th->sent_seq),
			     .len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - doff),
			     .data = (const uint8_t *)th + doff };
}

static void send_seg(struct client *c, uint8_t flags, const void *data, size_t len)
{
	uint8_t f[4096];

	assert_true(len < 3000);
	dp_input(&h, f, dp_tcp_ports(f, c->port, RPORT, flags, c->seq, c->ack, 65535, data, len,
				     NULL, 0));
}

static struct client connect_(uint16_t port)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4 };	/* MSS 1460 */
	struct client c = { .port = port, .seq = ISN };

	dp_clear_sent(&h);
	send_seg(&c, RTE_TCP_SYN_FLAG, NULL, 0);
	assert_int_equal(h.nsent, 1);
	c.seq = ISN + 1;
	c.ack = seg_at(0).seq + 1;
	dp_clear_sent(&h);
	send_seg(&c, RTE_TCP_ACK_FLAG, NULL, 0);
	(void)opts;
	return c;
}

/* Segments sent to another client while we talked: FIN seen by port. */
static uint16_t fin_to[8];
static unsigned nfin_to;

/* Send a command, collect its whole reply (acknowledging as it streams) into out. */
static size_t rq(struct client *c, const char *text, char *out, size_t cap)
{
	size_t n = 0;

	dp_clear_sent(&h);
	send_seg(c, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, text, strlen(text));
	c->seq += (uint32_t)strlen(text);
	for (unsigned round = 0; round < 256; round++) {
		unsigned got = 0;

		for (unsigned i = 0; i < h.nsent; i++) {
			struct seg s = seg_at(i);

			if (s.dport != c->port) {
				if ((s.flags & RTE_TCP_FIN_FLAG) && nfin_to < 8)
					fin_to[nfin_to++] = s.dport;
				continue;
			}
			if (s.len && s.seq == c->ack) {
				assert_true(n + s.len < cap);
				memcpy(out + n, s.data, s.len);
				n += s.len;
				c->ack += s.len;
				got++;
			}
			if (s.flags & RTE_TCP_FIN_FLAG)
				c->fin = true;
		}
		dp_clear_sent(&h);
		if (!got)
			break;
		send_seg(c, RTE_TCP_ACK_FLAG, NULL, 0);
	}
	out[n] = 0;
	return n;
}

static char out[1 << 17];

static const char *cmd(struct client *c, const char *text)
{
	rq(c, text, out, sizeof(out));
	return out;
}

static void redis_port(struct wc_config *c)
{
	c->redis_port = RPORT;
	c->max_conns = 64;
}

static int setup(void **state)
{
	(void)state;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	if (dp_setup(&h, redis_port) != 0)
		return -1;
	if (rd_server_init(&srv, NULL, RPORT, false, NULL, 0, 16u << 20, 1u << 20, NULL, NULL,
			   "wc-test") != 0)
		return -1;
	rd_server_set_limits(&srv, 64, h.app.cfg.small_pct);
	h.app.rd = &srv;
	if (rd_lcore_init(h.lc) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	rd_server_fini(&srv);
	return 0;
}

static void info_over_tcp(void **state)
{
	struct client c = connect_(41001);
	struct wc_totals t;
	char want[128];

	(void)state;
	assert_string_equal(cmd(&c, "SET k v\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "GET k\r\n"), "$1\r\nv\r\n");
	assert_string_equal(cmd(&c, "GET nokey\r\n"), "$-1\r\n");
	cmd(&c, "INFO\r\n");
	assert_memory_equal(out, "$", 1);
	assert_non_null(strstr(out, "\r\n# Server\r\nredis_version:7.0.15\r\n"));
	assert_non_null(strstr(out, "loading:0\r\n"));
	assert_non_null(strstr(out, "connected_clients:1\r\n"));
	assert_non_null(strstr(out, "db0:keys=1,expires=0,avg_ttl=0\r\n"));
	assert_null(strstr(out, "# Commandstats"));
	/* the same sources as memcached's stats */
	wc_stats_collect(&h.app, &t);
	snprintf(want, sizeof(want), "\r\nkeyspace_hits:%lu\r\nkeyspace_misses:%lu\r\n",
		 (unsigned long)t.op.get_hits, (unsigned long)t.op.get_misses);
	assert_non_null(strstr(out, want));
	assert_true(t.op.get_hits >= 1 && t.op.get_misses >= 1);
	snprintf(want, sizeof(want), "\r\nused_memory:%lu\r\n",
		 (unsigned long)rd_used_memory(&h.app, NULL, NULL));
	assert_non_null(strstr(out, want));
	cmd(&c, "INFO commandstats CPU\r\n");
	assert_non_null(strstr(out, "# CPU\r\nused_cpu_sys:"));
	assert_non_null(strstr(out, "\r\ncmdstat_get:calls=2,"));
	assert_non_null(strstr(out, "\r\ncmdstat_set:calls=1,"));
	assert_null(strstr(out, "# Server"));
	/* RESP3: a verbatim string */
	cmd(&c, "HELLO 3\r\n");
	cmd(&c, "INFO cluster\r\n");
	assert_string_equal(out, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");
	cmd(&c, "HELLO 2\r\n");
	/* CONFIG RESETSTAT: commands and memcached's hits start again */
	assert_string_equal(cmd(&c, "CONFIG RESETSTAT\r\n"), "+OK\r\n");
	cmd(&c, "INFO stats commandstats\r\n");
	assert_non_null(strstr(out, "\r\ntotal_commands_processed:1\r\n"));	/* RESETSTAT */
	assert_non_null(strstr(out, "\r\nkeyspace_hits:0\r\n"));
	assert_null(strstr(out, "cmdstat_get"));
	assert_non_null(strstr(out, "cmdstat_config|resetstat:calls=1,"));
	wc_stats_collect(&h.app, &t);
	assert_int_equal(t.op.get_hits, 0);
}

static void config_over_tcp(void **state)
{
	struct client c = connect_(41002);
	uint32_t idle = h.app.cfg.tcp_idle_ms;

	(void)state;
	/* what redis-benchmark asks */
	assert_string_equal(cmd(&c, "CONFIG GET save\r\n"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET appendonly\r\n"),
			    "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET MAXMEMORY maxmemory-p*\r\n"),
			    "*4\r\n$9\r\nMAXMEMORY\r\n$8\r\n16777216\r\n$16\r\nmaxmemory-policy\r\n"
			    "$14\r\nallkeys-s3fifo\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET nosuch\r\n"), "*0\r\n");
	/* settable, together */
	assert_string_equal(cmd(&c, "CONFIG SET timeout 77 slowlog-max-len 5 "
				    "notify-keyspace-events KEA\r\n"), "+OK\r\n");
	assert_int_equal(h.app.cfg.tcp_idle_ms, 77000);
	assert_string_equal(cmd(&c, "CONFIG GET notify-keyspace-events\r\n"),
			    "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n");
	/* all or nothing: a refused pair leaves the others as they were */
	assert_string_equal(cmd(&c, "CONFIG SET timeout 50 maxmemory-policy allkeys-lru\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument "
			    "'maxmemory-policy') - argument(s) must be one of the following: "
			    "allkeys-s3fifo\r\n");
	assert_int_equal(h.app.cfg.tcp_idle_ms, 77000);
	assert_string_equal(cmd(&c, "CONFIG SET foo bar timeout 1\r\n"),
			    "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET timeout 1 TIMEOUT 2\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - "
			    "duplicate parameter\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET cluster-enabled yes\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument "
			    "'cluster-enabled') - can't set immutable config\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET timeout x\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument 'timeout') - "
			    "argument couldn't be parsed into an integer\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET slowlog-max-len 2000\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument "
			    "'slowlog-max-len') - argument must be between 0 and 1024 inclusive\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET appendonly maybe\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
			    "argument must be 'yes' or 'no'\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET save \"3600 1 300\"\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument 'save') - "
			    "Invalid save parameters\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET save \"\" appendonly no maxmemory 16mb\r\n"),
			    "+OK\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET timeout 1 save\r\n"), "-ERR syntax error\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET timeout\r\n"),
			    "-ERR wrong number of arguments for 'config|set' command\r\n");
	assert_string_equal(cmd(&c, "CONFIG NOSUCH\r\n"),
			    "-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.\r\n");
	/* RESP3: a map */
	cmd(&c, "HELLO 3\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET maxclients\r\n"),
			    "%1\r\n$10\r\nmaxclients\r\n$2\r\n64\r\n");
	cmd(&c, "HELLO 2\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET timeout 300 slowlog-max-len 128 "
				    "notify-keyspace-events \"\"\r\n"), "+OK\r\n");
	h.app.cfg.tcp_idle_ms = idle;
}

static void requirepass_live(void **state)
{
	struct client c = connect_(41003), d;

	(void)state;
	assert_string_equal(cmd(&c, "CONFIG SET requirepass s3cret\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "PING\r\n"), "+PONG\r\n");	/* still authenticated */
	assert_string_equal(cmd(&c, "CONFIG GET requirepass\r\n"),
			    "*2\r\n$11\r\nrequirepass\r\n$6\r\ns3cret\r\n");
	d = connect_(41004);
	assert_string_equal(cmd(&d, "PING\r\n"), "-NOAUTH Authentication required.\r\n");
	assert_string_equal(cmd(&d, "AUTH wrong\r\n"),
			    "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	assert_string_equal(cmd(&d, "AUTH s3cret\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&d, "CONFIG SET requirepass \"\"\r\n"), "+OK\r\n");
	d = connect_(41005);
	assert_string_equal(cmd(&d, "PING\r\n"), "+PONG\r\n");
}

static void command_over_tcp(void **state)
{
	struct client c = connect_(41006);
	unsigned ntop;
	char want[32];

	(void)state;
	rd_cmd_tops(&ntop);
	snprintf(want, sizeof(want), ":%u\r\n", ntop);
	assert_string_equal(cmd(&c, "COMMAND COUNT\r\n"), want);
	cmd(&c, "COMMAND\r\n");
	snprintf(want, sizeof(want), "*%u\r\n*10\r\n", ntop);
	assert_memory_equal(out, want, strlen(want));
	assert_string_equal(cmd(&c, "COMMAND INFO nosuch\r\n"), "*1\r\n$-1\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYS mset a 1 b 2\r\n"),
			    "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYS memory usage k\r\n"), "*1\r\n$1\r\nk\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS del a\r\n"),
			    "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RM\r\n+delete\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYS ping hello\r\n"),
			    "-ERR The command has no key arguments\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYS nosuch a\r\n"),
			    "-ERR Invalid command specified\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYS get a b\r\n"),
			    "-ERR Invalid number of arguments specified for command\r\n");
	assert_string_equal(cmd(&c, "COMMAND LIST FILTERBY PATTERN slowlog*\r\n"),
			    "*5\r\n$7\r\nslowlog\r\n$11\r\nslowlog|get\r\n$11\r\nslowlog|len\r\n"
			    "$13\r\nslowlog|reset\r\n$12\r\nslowlog|help\r\n");
	assert_string_equal(cmd(&c, "COMMAND LIST FILTERBY MODULE x\r\n"), "*0\r\n");
	assert_string_equal(cmd(&c, "COMMAND LIST FILTERBY aclcat nosuch\r\n"), "*0\r\n");
	cmd(&c, "COMMAND LIST FILTERBY ACLCAT transaction\r\n");
	assert_non_null(strstr(out, "$5\r\nmulti\r\n"));
	assert_null(strstr(out, "$3\r\nget\r\n"));
	assert_string_equal(cmd(&c, "COMMAND LIST FILTERBY\r\n"), "-ERR syntax error\r\n");
	cmd(&c, "COMMAND DOCS get nosuch client|kill\r\n");
	assert_memory_equal(out, "*4\r\n$3\r\nget\r\n*8\r\n", 17);
	assert_non_null(strstr(out, "$11\r\nclient|kill\r\n"));
	cmd(&c, "COMMAND HELP\r\n");
	{
		static const char head[] = "*18\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. "
					   "Subcommands are:\r\n+(no subcommand)\r\n";

		assert_memory_equal(out, head, strlen(head));
		assert_non_null(strstr(out, "+HELP\r\n+    Prints this help.\r\n"));
	}
}

static void client_list_and_kill(void **state)
{
	struct client a = connect_(41010), b = connect_(41011), d = connect_(41012);
	int64_t bid, aid;
	char text[128];

	(void)state;
	cmd(&a, "CLIENT ID\r\n");
	aid = strtoll(out + 1, NULL, 10);
	cmd(&b, "CLIENT SETNAME bee\r\n");
	cmd(&b, "CLIENT ID\r\n");
	bid = strtoll(out + 1, NULL, 10);
	cmd(&a, "CLIENT LIST\r\n");
	assert_non_null(strstr(out, "name=bee "));
	snprintf(text, sizeof(text), "id=%ld addr=198.18.0.1:41010 laddr=198.18.0.11:6379 ",
		 (long)aid);
	assert_non_null(strstr(out, text));
	assert_non_null(strstr(out, "cmd=client|list user=default"));
	assert_non_null(strstr(out, "cmd=client|id user=default"));
	snprintf(text, sizeof(text), "CLIENT LIST ID %ld 999\r\n", (long)bid);
	cmd(&a, text);
	assert_non_null(strstr(out, "name=bee "));
	assert_null(strstr(out, "41010"));
	assert_string_equal(cmd(&a, "CLIENT LIST TYPE pubsub\r\n"), "$0\r\n\r\n");
	assert_string_equal(cmd(&a, "CLIENT LIST TYPE x\r\n"), "-ERR Unknown client type 'x'\r\n");
	assert_string_equal(cmd(&a, "CLIENT LIST ID x\r\n"), "-ERR Invalid client ID\r\n");
	cmd(&a, "CLIENT INFO\r\n");
	assert_non_null(strstr(out, "addr=198.18.0.1:41010 "));
	assert_null(strstr(out, "41011"));
	/* filters: errors, nothing matching */
	assert_string_equal(cmd(&a, "CLIENT KILL ID 0\r\n"),
			    "-ERR client-id should be greater than 0\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL USER nobody\r\n"),
			    "-ERR No such user 'nobody'\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL MAXAGE 0\r\n"),
			    "-ERR maxage should be greater than 0\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL ID\r\n"), "-ERR No such client\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL ADDR 198.18.0.9:1 SKIPME\r\n"),
			    "-ERR syntax error\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL ADDR 198.18.0.9:1\r\n"), ":0\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL MAXAGE 1000\r\n"), ":0\r\n");
	/* the idle connection b is closed at once: FIN, and it is no longer a client */
	nfin_to = 0;
	snprintf(text, sizeof(text), "CLIENT KILL ID %ld\r\n", (long)bid);
	{
		uint64_t before = h.lc->rdst.open;

		assert_string_equal(cmd(&a, text), ":1\r\n");
		assert_int_equal(h.lc->rdst.open, before - 1);
	}
	assert_int_equal(nfin_to, 1);
	assert_int_equal(fin_to[0], 41011);
	cmd(&a, "CLIENT LIST\r\n");
	assert_null(strstr(out, "name=bee"));
	/* the old form, by address */
	nfin_to = 0;
	assert_string_equal(cmd(&a, "CLIENT KILL 198.18.0.1:41012\r\n"), "+OK\r\n");
	assert_int_equal(nfin_to, 1);
	assert_string_equal(cmd(&a, "CLIENT KILL 198.18.0.1:41012\r\n"), "-ERR No such client\r\n");
	(void)d;
	/* not inside a transaction (its lcore cannot wait for the others) */
	assert_string_equal(cmd(&a, "MULTI\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&a, "CLIENT KILL ID 12345\r\n"), "+QUEUED\r\n");
	assert_string_equal(cmd(&a, "EXEC\r\n"),
			    "*1\r\n-ERR CLIENT KILL cannot run inside a transaction here\r\n");
	/* oneself, only with SKIPME no: answered, then closed */
	snprintf(text, sizeof(text), "CLIENT KILL ID %ld\r\n", (long)aid);
	assert_string_equal(cmd(&a, text), ":0\r\n");
	assert_false(a.fin);
	snprintf(text, sizeof(text), "CLIENT KILL ID %ld SKIPME no\r\n", (long)aid);
	assert_string_equal(cmd(&a, text), ":1\r\n");
	assert_true(a.fin);
}

static void slowlog_cuts_and_redacts(void **state)
{
	struct client c = connect_(41020);
	char big[400], want[256];

	(void)state;
	assert_string_equal(cmd(&c, "SLOWLOG RESET\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET slowlog-log-slower-than 0\r\n"), "+OK\r\n");
	memset(want, 0, sizeof(want));
	snprintf(big, sizeof(big), "SET k %0200d\r\n", 7);
	assert_string_equal(cmd(&c, big), "+OK\r\n");
	cmd(&c, "CONFIG SET requirepass hunter2 slowlog-max-len 128\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET requirepass \"\"\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET slowlog-log-slower-than 10000\r\n"), "+OK\r\n");
	cmd(&c, "SLOWLOG GET 3\r\n");
	/* newest first: the last CONFIG SET, the redacted password, the long value */
	assert_memory_equal(out, "*3\r\n*6\r\n", 8);
	assert_non_null(strstr(out, "$10\r\n(redacted)\r\n"));
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "$16\r\n198.18.0.1:41020\r\n$0\r\n\r\n"));
	memset(want, '0', 128);
	memcpy(want, "$147\r\n", 6);
	memset(want + 6, '0', 128);
	strcpy(want + 134, "... (72 more bytes)\r\n");
	assert_non_null(strstr(out, want));
	assert_string_equal(cmd(&c, "SLOWLOG LEN\r\n"), ":4\r\n");
	assert_string_equal(cmd(&c, "SLOWLOG GET -2\r\n"),
			    "-ERR count should be greater than or equal to -1\r\n");
	assert_string_equal(cmd(&c, "SLOWLOG GET 1 2\r\n"),
			    "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try "
			    "SLOWLOG HELP.\r\n");
	assert_string_equal(cmd(&c, "SLOWLOG RESET\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SLOWLOG GET\r\n"), "*0\r\n");
}

static void memory_usage_of_a_key(void **state)
{
	struct client c = connect_(41021);
	long v;

	(void)state;
	assert_string_equal(cmd(&c, "SET mu 0123456789\r\n"), "+OK\r\n");
	cmd(&c, "MEMORY USAGE mu\r\n");
	v = strtol(out + 1, NULL, 10);
	assert_true(out[0] == ':' && v >= 12 + 2 + 10 && v < 12 + 2 + 10 + 64);
	assert_string_equal(cmd(&c, "MEMORY USAGE nokey\r\n"), "$-1\r\n");
	assert_string_equal(cmd(&c, "MEMORY USAGE mu SAMPLES -1\r\n"), "-ERR syntax error\r\n");
	assert_string_equal(cmd(&c, "MEMORY USAGE mu SAMPLES x\r\n"),
			    "-ERR value is not an integer or out of range\r\n");
	cmd(&c, "MEMORY STATS\r\n");
	assert_memory_equal(out, "*34\r\n$14\r\npeak.allocated\r\n", 26);

	/* a hash far past the compact form: its member buckets count, sampled or whole */
	{
		static char text[8192];
		long whole, sampled, small;

		assert_string_equal(cmd(&c, "HSET mh a b\r\n"), ":1\r\n");
		cmd(&c, "MEMORY USAGE mh\r\n");
		small = strtol(out + 1, NULL, 10);
		for (int batch = 0; batch < 40; batch++) {
			int n = snprintf(text, sizeof(text), "HSET mh");

			for (int i = 0; i < 50; i++)
				n += snprintf(text + n, sizeof(text) - (size_t)n,
					      " field-%05d value-of-twenty-b", batch * 50 + i);
			snprintf(text + n, sizeof(text) - (size_t)n, "\r\n");
			assert_string_equal(cmd(&c, text), ":50\r\n");
		}
		cmd(&c, "MEMORY USAGE mh SAMPLES 0\r\n");
		whole = strtol(out + 1, NULL, 10);
		cmd(&c, "MEMORY USAGE mh\r\n");
		sampled = strtol(out + 1, NULL, 10);
		/* 2001 members of 11 + 20 bytes (and their lengths) are all in it */
		assert_true(whole > 2001 * 31 && whole < 2001 * 31 * 3);
		assert_true(sampled > whole / 2 && sampled < whole * 2);
		assert_true(small < 200);
	}
}

static void instantaneous_rates(void **state)
{
	struct rd_lcore_stats *st = &h.lc->rdst;
	struct rd_inst saved = st->inst;

	(void)state;
	memset(&st->inst, 0, sizeof(st->inst));
	rd_lcore_sample(h.lc, 10000);	/* the first sample only starts the clock */
	for (int i = 1; i <= RD_INST_SAMPLES; i++) {
		st->commands += 50;	/* 500 a second */
		st->net_in += 1024;
		rd_lcore_sample(h.lc, 10000 + 100 * i);
		rd_lcore_sample(h.lc, 10000 + 100 * i + 50);	/* too soon: no sample */
	}
	assert_int_equal(rd_inst_rate(&h.app, RD_INST_OPS), 500);
	assert_int_equal(rd_inst_rate(&h.app, RD_INST_NET_IN), 10240);
	assert_int_equal(rd_inst_rate(&h.app, RD_INST_NET_OUT), 0);
	st->inst = saved;
}

/*
 * Every key spec of the commands served, as Redis 7.0.15's command table
 * (src/commands/ JSON files) has it: flags, begin index, last key and step.
 */
static const struct {
	const char *name;
	unsigned n;
	struct rd_kspec_view spec[2];
} redis_specs[] = {
	{ "append", 1, { { RD_KS_RW | RD_KS_INSERT, 1, 0, 1, false } } },
	{ "copy", 2, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false },
				{ RD_KS_OW | RD_KS_UPDATE, 2, 0, 1, false } } },
	{ "decr", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "decrby", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "del", 1, { { RD_KS_RM | RD_KS_DELETE, 1, -1, 1, false } } },
	{ "exists", 1, { { RD_KS_RO, 1, -1, 1, false } } },
	{ "expire", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "expireat", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "expiretime", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "get", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "getdel", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, 1, 0, 1, false } } },
	{ "getex", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "getrange", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "getset", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "hdel", 1, { { RD_KS_RW | RD_KS_DELETE, 1, 0, 1, false } } },
	{ "hexists", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "hget", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "hgetall", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "hincrby", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "hincrbyfloat", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "hkeys", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "hlen", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "hmget", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "hmset", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "hrandfield", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "hscan", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "hset", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "hsetnx", 1, { { RD_KS_RW | RD_KS_INSERT, 1, 0, 1, false } } },
	{ "hstrlen", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "hvals", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "incr", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "incrby", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "incrbyfloat", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "mget", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, -1, 1, false } } },
	{ "mset", 1, { { RD_KS_OW | RD_KS_UPDATE, 1, -1, 2, false } } },
	{ "msetnx", 1, { { RD_KS_OW | RD_KS_INSERT, 1, -1, 2, false } } },
	{ "persist", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "pexpire", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "pexpireat", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "pexpiretime", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "psetex", 1, { { RD_KS_OW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "pttl", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "rename", 2, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, 1, 0, 1, false },
				{ RD_KS_OW | RD_KS_UPDATE, 2, 0, 1, false } } },
	{ "renamenx", 2, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, 1, 0, 1, false },
				{ RD_KS_OW | RD_KS_INSERT, 2, 0, 1, false } } },
	{ "sadd", 1, { { RD_KS_RW | RD_KS_INSERT, 1, 0, 1, false } } },
	{ "scard", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "sdiff", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, -1, 1, false } } },
	{ "sdiffstore", 2, { { RD_KS_OW | RD_KS_UPDATE, 1, 0, 1, false },
				{ RD_KS_RO | RD_KS_ACCESS, 2, -1, 1, false } } },
	{ "set", 1,
	  { { RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE | RD_KS_VARIABLE_FLAGS, 1, 0, 1, false } } },
	{ "setex", 1, { { RD_KS_OW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "setnx", 1, { { RD_KS_OW | RD_KS_INSERT, 1, 0, 1, false } } },
	{ "setrange", 1, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false } } },
	{ "sinter", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, -1, 1, false } } },
	{ "sinterstore", 2, { { RD_KS_RW | RD_KS_UPDATE, 1, 0, 1, false },
				{ RD_KS_RO | RD_KS_ACCESS, 2, -1, 1, false } } },
	{ "sismember", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "smembers", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "smismember", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "smove", 2, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, 1, 0, 1, false },
				{ RD_KS_RW | RD_KS_INSERT, 2, 0, 1, false } } },
	{ "spop", 1, { { RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, 1, 0, 1, false } } },
	{ "srandmember", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "srem", 1, { { RD_KS_RW | RD_KS_DELETE, 1, 0, 1, false } } },
	{ "sscan", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "strlen", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "sunion", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, -1, 1, false } } },
	{ "sunionstore", 2, { { RD_KS_OW | RD_KS_UPDATE, 1, 0, 1, false },
				{ RD_KS_RO | RD_KS_ACCESS, 2, -1, 1, false } } },
	{ "touch", 1, { { RD_KS_RO, 1, -1, 1, false } } },
	{ "ttl", 1, { { RD_KS_RO | RD_KS_ACCESS, 1, 0, 1, false } } },
	{ "type", 1, { { RD_KS_RO, 1, 0, 1, false } } },
	{ "unlink", 1, { { RD_KS_RM | RD_KS_DELETE, 1, -1, 1, false } } },
	{ "watch", 1, { { RD_KS_RO, 1, -1, 1, false } } },
	{ "memory|usage", 1, { { RD_KS_RO, 2, 0, 1, false } } },
	{ "object|encoding", 1, { { RD_KS_RO, 2, 0, 1, false } } },
	{ "object|freq", 1, { { RD_KS_RO, 2, 0, 1, false } } },
	{ "object|idletime", 1, { { RD_KS_RO, 2, 0, 1, false } } },
	{ "object|refcount", 1, { { RD_KS_RO, 2, 0, 1, false } } },

};

static void key_specs_as_redis(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(redis_specs) / sizeof(redis_specs[0]); i++) {
		const char *nm = redis_specs[i].name;
		const struct rd_cmd *c = rd_cmd_by_fullname((const uint8_t *)nm,
							    (uint32_t)strlen(nm));
		struct rd_kspec_view v[2];
		unsigned n;

		if (!c)
			fail_msg("%s is not served", nm);
		n = rd_cmd_key_specs(c, v);
		if (n != redis_specs[i].n)
			fail_msg("%s: %u key specs, Redis has %u", nm, n, redis_specs[i].n);
		for (unsigned k = 0; k < n; k++) {
			const struct rd_kspec_view *w = &redis_specs[i].spec[k];

			if (v[k].flags != w->flags || v[k].index != w->index ||
			    v[k].lastkey != w->lastkey || v[k].step != w->step)
				fail_msg("%s spec %u: flags %#x index %d last %d step %d, "
					 "Redis: %#x %d %d %d", nm, k, v[k].flags, v[k].index,
					 v[k].lastkey, v[k].step, w->flags, w->index, w->lastkey,
					 w->step);
		}
	}
}

/* SINTERCARD's keynum spec: begin at 1, the count there, keys right after it. */
static void keynum_spec(void **state)
{
	const struct rd_cmd *c = rd_cmd_by_fullname((const uint8_t *)"sintercard", 10);
	struct rd_kspec_view v[2];

	(void)state;
	assert_non_null(c);
	assert_int_equal(rd_cmd_key_specs(c, v), 1);
	assert_true(v[0].keynum);
	assert_int_equal(v[0].index, 1);
	assert_int_equal(v[0].flags, RD_KS_RO | RD_KS_ACCESS);
}

/* GETKEYSANDFLAGS: SET's variable flags and the two-spec commands, per key. */
static void getkeysandflags_per_key(void **state)
{
	struct client c = connect_(41030);

	(void)state;
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS set k1 v1\r\n"),
			    "*1\r\n*2\r\n$2\r\nk1\r\n*2\r\n+OW\r\n+update\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS set k1 v1 NX GeT\r\n"),
			    "*1\r\n*2\r\n$2\r\nk1\r\n*3\r\n+RW\r\n+access\r\n+update\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS smove a b m\r\n"),
			    "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"
			    "*2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS sunionstore d x y\r\n"),
			    "*3\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n"
			    "*2\r\n$1\r\nx\r\n*2\r\n+RO\r\n+access\r\n"
			    "*2\r\n$1\r\ny\r\n*2\r\n+RO\r\n+access\r\n");
	/* COMMAND INFO shows both of COPY's specs */
	cmd(&c, "COMMAND INFO copy\r\n");
	assert_non_null(strstr(out, "*2\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"));
	assert_non_null(strstr(out, "*6\r\n$5\r\nflags\r\n*2\r\n+OW\r\n+update\r\n"
				    "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n"
				    "$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n"));
}

/* Redis 7.0's encoding parameters: names, aliases, ranges, what they do. */
static void encoding_parameters(void **state)
{
	struct client c = connect_(41031);

	(void)state;
	assert_string_equal(cmd(&c, "CONFIG GET hash-max-ziplist-entries\r\n"),
			    "*2\r\n$24\r\nhash-max-ziplist-entries\r\n$2\r\n64\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET set-max-intset-entries\r\n"),
			    "*2\r\n$22\r\nset-max-intset-entries\r\n$3\r\n512\r\n");
	/* the store keeps at most 64 members compact: a larger value reads back as 64 */
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-listpack-entries 1000\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET hash-max-listpack-entries\r\n"),
			    "*2\r\n$25\r\nhash-max-listpack-entries\r\n$2\r\n64\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-ziplist-value 1kb\r\n"), "+OK\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET hash-max-listpack-value\r\n"),
			    "*2\r\n$23\r\nhash-max-listpack-value\r\n$4\r\n1024\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-listpack-value 10 "
				    "hash-max-ziplist-value 11\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument "
			    "'hash-max-ziplist-value') - duplicate parameter\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET set-max-intset-entries -1\r\n"),
			    "-ERR CONFIG SET failed (possibly related to argument "
			    "'set-max-intset-entries') - argument must be between 0 and "
			    "9223372036854775807 inclusive\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET zset-max-ziplist-entries 7 "
				    "list-max-ziplist-size -3 list-compress-depth 1\r\n"),
			    "+OK\r\n");
	assert_string_equal(cmd(&c, "CONFIG GET zset-max-listpack-entries "
				    "list-max-listpack-size\r\n"),
			    "*4\r\n$25\r\nzset-max-listpack-entries\r\n$1\r\n7\r\n"
			    "$22\r\nlist-max-listpack-size\r\n$2\r\n-3\r\n");
	/* a glob finds the names, not the aliases */
	cmd(&c, "CONFIG GET hash-max-*\r\n");
	assert_memory_equal(out, "*4\r\n", 4);
	assert_null(strstr(out, "ziplist"));
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-listpack-entries 64 "
				    "hash-max-listpack-value 64\r\n"), "+OK\r\n");
}

/* OBJECT: encodings from the real layout, and what else the store knows. */
static void object_subcommands(void **state)
{
	struct client c = connect_(41032);
	char buf[128];

	(void)state;
	cmd(&c, "MSET s1 12345 s2 abc s3 0123\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING s1\r\n"), "$3\r\nint\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING s2\r\n"), "$6\r\nembstr\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING s3\r\n"), "$6\r\nembstr\r\n");
	cmd(&c, "SET s4 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING s4\r\n"), "$3\r\nraw\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING nokey\r\n"), "$-1\r\n");
	/* a hash: compact within the thresholds, bucketed past them, for good */
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-listpack-value 8\r\n"), "+OK\r\n");
	cmd(&c, "HSET h1 f 0\r\n");
	cmd(&c, "HSET h2 f 0\r\n");
	cmd(&c, "HINCRBYFLOAT h1 f 0.000005\r\n");
	cmd(&c, "HINCRBYFLOAT h2 f 0.0000005\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING h1\r\n"), "$8\r\nlistpack\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING h2\r\n"), "$9\r\nhashtable\r\n");
	cmd(&c, "HSET h2 f 1\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING h2\r\n"), "$9\r\nhashtable\r\n");
	assert_string_equal(cmd(&c, "HGET h2 f\r\n"), "$1\r\n1\r\n");
	cmd(&c, "HSET h3 abcdefghi 1\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING h3\r\n"), "$9\r\nhashtable\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-listpack-value 64 "
				    "hash-max-listpack-entries 4\r\n"), "+OK\r\n");
	cmd(&c, "HSET h4 a 1 b 2 c 3 d 4\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING h4\r\n"), "$8\r\nlistpack\r\n");
	cmd(&c, "HSET h4 e 5\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING h4\r\n"), "$9\r\nhashtable\r\n");
	assert_string_equal(cmd(&c, "HLEN h4\r\n"), ":5\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET hash-max-listpack-entries 64\r\n"), "+OK\r\n");
	/* a set: intset while it has held only integers, within set-max-intset-entries */
	cmd(&c, "SADD i1 1 2 3\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING i1\r\n"), "$6\r\nintset\r\n");
	cmd(&c, "SADD i1 a\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING i1\r\n"), "$9\r\nhashtable\r\n");
	cmd(&c, "SREM i1 a\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING i1\r\n"), "$9\r\nhashtable\r\n");
	cmd(&c, "SADD i2 -0\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING i2\r\n"), "$9\r\nhashtable\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET set-max-intset-entries 100\r\n"), "+OK\r\n");
	for (unsigned i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "SADD i3 %u\r\n", i * 7);
		cmd(&c, buf);
	}
	/* 100 members: past the compact limit, still an intset by Redis's rule */
	assert_string_equal(cmd(&c, "OBJECT ENCODING i3\r\n"), "$6\r\nintset\r\n");
	cmd(&c, "SADD i3 1\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING i3\r\n"), "$9\r\nhashtable\r\n");
	cmd(&c, "SUNIONSTORE i4 i1\r\n");
	assert_string_equal(cmd(&c, "OBJECT ENCODING i4\r\n"), "$6\r\nintset\r\n");
	assert_string_equal(cmd(&c, "CONFIG SET set-max-intset-entries 512\r\n"), "+OK\r\n");
	/* the rest */
	assert_string_equal(cmd(&c, "OBJECT REFCOUNT s1\r\n"), ":1\r\n");
	assert_string_equal(cmd(&c, "OBJECT IDLETIME s1\r\n"), ":0\r\n");
	assert_string_equal(cmd(&c, "OBJECT FREQ s1\r\n"),
			    "-ERR An LFU maxmemory policy is not selected, access frequency not "
			    "tracked. Please note that when switching between policies at runtime "
			    "LRU and LFU data will take some time to adjust.\r\n");
	assert_string_equal(cmd(&c, "OBJECT FREQ nokey\r\n"), "$-1\r\n");
	cmd(&c, "OBJECT HELP\r\n");
	assert_memory_equal(out, "*11\r\n+OBJECT <subcommand>", 25);
	assert_string_equal(cmd(&c, "OBJECT NOSUCH k\r\n"),
			    "-ERR unknown subcommand 'NOSUCH'. Try OBJECT HELP.\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS object encoding k\r\n"),
			    "*1\r\n*2\r\n$1\r\nk\r\n*1\r\n+RO\r\n");
	cmd(&c, "DEL s1 s2 s3 s4 h1 h2 h3 h4 i1 i2 i3 i4\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(info_text_from_numbers),
		cmocka_unit_test(info_sections_by_name),
		cmocka_unit_test(bytes_in_human_form),
		cmocka_unit_test(config_patterns),
		cmocka_unit_test(command_entries),
		cmocka_unit_test(client_line_format),
		cmocka_unit_test(info_over_tcp),
		cmocka_unit_test(config_over_tcp),
		cmocka_unit_test(requirepass_live),
		cmocka_unit_test(command_over_tcp),
		cmocka_unit_test(key_specs_as_redis),
		cmocka_unit_test(keynum_spec),
		cmocka_unit_test(getkeysandflags_per_key),
		cmocka_unit_test(encoding_parameters),
		cmocka_unit_test(object_subcommands),
		cmocka_unit_test(client_list_and_kill),
		cmocka_unit_test(slowlog_cuts_and_redacts),
		cmocka_unit_test(memory_usage_of_a_key),
		cmocka_unit_test(instantaneous_rates),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
