/*
 * test_rd_keyev.c - keyspace events end to end over the NIC-less harness:
 * a PSUBSCRIBE client sees __keyspace@0__ / __keyevent@0__ messages with
 * Redis 7.0's event names, in Redis's order, for Redis writes, memcached
 * writes (the documented mapping), expiry found by a read (WC_BUS_EXPIRED
 * to the owner, once) and by the crawler, eviction, key misses; the
 * notify-keyspace-events classes filter them; nothing listening leaves the
 * store hook NULL; the listener API (rd_keyev_listen / rd_keyev_interest)
 * hears changes and flushes with the writer's client id; RESP3 pushes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "net/tcp_impl.h"
#include "redis/keyev.h"
#include "redis/push.h"
#include "redis/server.h"
#include "store/part.h"

static struct dp_harness h;
static uint8_t sbuf[1 << 20], wbuf[1 << 16], mbuf[1 << 16];

/* what the test listener heard */
static struct {
	unsigned n, flushes;
	uint64_t last_client;
	char last[64];
} heard;

static void listener(struct wc_lcore *lc, const struct rd_keyev *ev)
{
	(void)lc;
	if (ev->kind == RD_KEYEV_FLUSH) {
		heard.flushes++;
	} else {
		heard.n++;
		snprintf(heard.last, sizeof(heard.last), "%s %.*s", rd_keyev_name(ev->event, NULL),
			 (int)ev->klen, (const char *)ev->key);
	}
	heard.last_client = ev->client_id;
}

static int setup(void **state)
{
	(void)state;
	if (dp_redis_setup(&h, 32u << 20, 34000) != 0)
		return -1;
	rd_keyev_listen(listener);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

static void collect(struct dpc **cs, unsigned k)
{
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	for (unsigned i = 0; i < k; i++)
		dpc_take(&h, cs[i]);
	dp_clear_sent(&h);
}

/* c sends str; what the node sends to c and to sub is collected and acknowledged. */
static void cmd(struct dpc *c, struct dpc *sub, const char *str)
{
	struct dpc *cs[2] = { c, sub };
	unsigned k = sub ? 2 : 1;
	uint8_t f[2048];
	size_t n = strlen(str);

	c->n = 0;
	for (size_t off = 0; off < n; off += 1400) {
		size_t seg = n - off < 1400 ? n - off : 1400;

		dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->seq, c->ack,
					     65535, str + off, seg, NULL, 0));
		c->seq += (uint32_t)seg;
		collect(cs, k);
	}
	for (unsigned i = 0; i < k; i++) {
		dpc_ack(&h, cs[i]);
		collect(cs, k);
	}
}

static void open_conn(struct dpc *c, uint16_t port, uint8_t *buf, size_t cap)
{
	assert_true(dpc_connect(&h, c, port, buf, cap));
}

/* "ch=msg\n" for each pmessage in what sub received since the last call */
static const char *events(struct dpc *sub)
{
	static char out[1 << 16];
	size_t k = 0, i = 0;
	const char *p = (const char *)sub->buf;

	out[0] = 0;
	while (i < sub->n) {
		long len[4];
		const char *part[4];

		if (strncmp(p + i, "*4\r\n", 4) != 0)
			fail_msg("not a pmessage at %zu: %.*s", i, (int)(sub->n - i), p + i);
		i += 4;
		for (int j = 0; j < 4; j++) {
			char *end;

			assert_true(p[i] == '$');
			len[j] = strtol(p + i + 1, &end, 10);
			i = (size_t)(end - p) + 2;
			part[j] = p + i;
			i += (size_t)len[j] + 2;
		}
		assert_true(i <= sub->n);
		assert_memory_equal(part[0], "pmessage", 8);
		if (k + (size_t)len[2] + (size_t)len[3] + 3 < sizeof(out))
			k += (size_t)snprintf(out + k, sizeof(out) - k, "%.*s=%.*s\n", (int)len[2],
					      part[2], (int)len[3], part[3]);
	}
	sub->n = 0;
	return out;
}

#define EVENTS(sub, want)                                                                     \
	do {                                                                                  \
		const char *got_ = events(sub);                                               \
		if (strcmp(got_, (want)) != 0)                                                \
			fail_msg("wanted\n%s   got\n%s", (want), got_);                       \
	} while (0)

#define REPLY(c, want)                                                                        \
	do {                                                                                  \
		if ((c)->n != strlen(want) || memcmp((c)->buf, (want), (c)->n) != 0)          \
			fail_msg("wanted %s got %.*s", (want), (int)(c)->n,                   \
				 (const char *)(c)->buf);                                     \
	} while (0)

static void notify(struct dpc *w, const char *flags)
{
	char req[128];

	snprintf(req, sizeof(req), "CONFIG SET notify-keyspace-events %s\r\n", flags);
	cmd(w, NULL, req);
	REPLY(w, "+OK\r\n");
}

/* a subscriber to every keyspace channel, a Redis writer */
static void start(struct dpc *sub, struct dpc *w)
{
	open_conn(w, 6379, wbuf, sizeof(wbuf));
	open_conn(sub, 6379, sbuf, sizeof(sbuf));
	cmd(w, NULL, "FLUSHALL\r\n");
	cmd(sub, NULL, "PSUBSCRIBE __key*\r\n");
	REPLY(sub, "*3\r\n$10\r\npsubscribe\r\n$6\r\n__key*\r\n:1\r\n");
	sub->n = 0;
}

static void stop(struct dpc *sub, struct dpc *w)
{
	notify(w, "\"\"");
	dpc_close(&h, sub);
	dpc_close(&h, w);
}

#define KS(k, ev) "__keyspace@0__:" k "=" ev "\n"
#define KE(ev, k) "__keyevent@0__:" ev "=" k "\n"
#define BOTH(k, ev) KS(k, ev) KE(ev, k)

/* Strings and generic commands: Redis 7.0's names, its order, per key. */
static void redis_strings_and_keys(void **state)
{
	struct dpc sub, w;

	(void)state;
	start(&sub, &w);
	assert_null(h.lc->ctx.keyev);	/* nothing asked for: the store hook is off */
	notify(&w, "KEA");
	assert_non_null(h.lc->ctx.keyev);
	cmd(&w, &sub, "SET foo bar\r\n");
	EVENTS(&sub, BOTH("foo", "set"));
	cmd(&w, &sub, "SET foo bar EX 100\r\n");
	EVENTS(&sub, BOTH("foo", "set") BOTH("foo", "expire"));
	cmd(&w, &sub, "SET foo bar NX\r\n");
	EVENTS(&sub, "");
	cmd(&w, &sub, "PERSIST foo\r\n");
	EVENTS(&sub, BOTH("foo", "persist"));
	cmd(&w, &sub, "PERSIST foo\r\n");	/* no ttl: nothing changed */
	EVENTS(&sub, "");
	cmd(&w, &sub, "EXPIRE foo 50\r\n");
	EVENTS(&sub, BOTH("foo", "expire"));
	cmd(&w, &sub, "APPEND foo x\r\n");
	EVENTS(&sub, BOTH("foo", "append"));
	cmd(&w, &sub, "SETRANGE foo 1 yy\r\n");
	EVENTS(&sub, BOTH("foo", "setrange"));
	cmd(&w, &sub, "MSET a 1 b 2\r\n");
	EVENTS(&sub, BOTH("a", "set") BOTH("b", "set"));
	cmd(&w, &sub, "INCR a\r\n");
	EVENTS(&sub, BOTH("a", "incrby"));
	cmd(&w, &sub, "DECRBY a 5\r\n");
	EVENTS(&sub, BOTH("a", "incrby"));
	cmd(&w, &sub, "INCRBYFLOAT a 1.5\r\n");
	EVENTS(&sub, BOTH("a", "incrbyfloat"));
	cmd(&w, &sub, "GETSET a 7\r\n");
	EVENTS(&sub, BOTH("a", "set"));
	cmd(&w, &sub, "GETEX a PX 100000\r\n");
	EVENTS(&sub, BOTH("a", "expire"));
	cmd(&w, &sub, "GETDEL a\r\n");
	EVENTS(&sub, BOTH("a", "del"));
	cmd(&w, &sub, "RENAME b c\r\n");
	EVENTS(&sub, BOTH("b", "rename_from") BOTH("c", "rename_to"));
	cmd(&w, &sub, "COPY c d\r\n");
	EVENTS(&sub, BOTH("d", "copy_to"));
	cmd(&w, &sub, "DEL c d nothing\r\n");
	EVENTS(&sub, BOTH("c", "del") BOTH("d", "del"));
	cmd(&w, &sub, "EXPIRE foo -1\r\n");	/* a past time deletes */
	EVENTS(&sub, BOTH("foo", "del"));
	/* n: a key created */
	notify(&w, "KEAn");
	cmd(&w, &sub, "SET fresh 1\r\n");
	EVENTS(&sub, BOTH("fresh", "new") BOTH("fresh", "set"));
	cmd(&w, &sub, "SET fresh 2\r\n");
	EVENTS(&sub, BOTH("fresh", "set"));
	/* classes and K/E apart */
	notify(&w, "K$");
	cmd(&w, &sub, "SET fresh 3\r\n");
	cmd(&w, &sub, "DEL fresh\r\n");
	EVENTS(&sub, KS("fresh", "set"));
	notify(&w, "Eg");
	cmd(&w, &sub, "SET fresh 3\r\n");
	cmd(&w, &sub, "DEL fresh\r\n");
	EVENTS(&sub, KE("del", "fresh"));
	stop(&sub, &w);
	assert_null(h.lc->ctx.keyev);
}

/* Hashes and sets, with `del` when a change empties the key. */
static void redis_hashes_and_sets(void **state)
{
	struct dpc sub, w;

	(void)state;
	start(&sub, &w);
	notify(&w, "KEA");
	cmd(&w, &sub, "HSET h f 1 g 2\r\n");
	EVENTS(&sub, BOTH("h", "hset"));
	cmd(&w, &sub, "HSETNX h f 1\r\n");
	EVENTS(&sub, "");
	cmd(&w, &sub, "HINCRBY h f 2\r\n");
	EVENTS(&sub, BOTH("h", "hincrby"));
	cmd(&w, &sub, "HINCRBYFLOAT h f 0.5\r\n");
	EVENTS(&sub, BOTH("h", "hincrbyfloat"));
	cmd(&w, &sub, "HDEL h f\r\n");
	EVENTS(&sub, BOTH("h", "hdel"));
	cmd(&w, &sub, "HDEL h g zz\r\n");
	EVENTS(&sub, BOTH("h", "hdel") BOTH("h", "del"));
	cmd(&w, &sub, "SADD s a b c\r\n");
	EVENTS(&sub, BOTH("s", "sadd"));
	cmd(&w, &sub, "SADD s a\r\n");
	EVENTS(&sub, "");
	cmd(&w, &sub, "SREM s a\r\n");
	EVENTS(&sub, BOTH("s", "srem"));
	cmd(&w, &sub, "SMOVE s t b\r\n");
	EVENTS(&sub, BOTH("s", "srem") BOTH("t", "sadd"));
	cmd(&w, &sub, "SPOP s\r\n");
	EVENTS(&sub, BOTH("s", "spop") BOTH("s", "del"));
	cmd(&w, &sub, "SADD u b x\r\n");
	sub.n = 0;
	cmd(&w, &sub, "SINTERSTORE v t u\r\n");
	EVENTS(&sub, BOTH("v", "sinterstore"));
	cmd(&w, &sub, "SUNIONSTORE v t u\r\n");
	EVENTS(&sub, BOTH("v", "sunionstore"));
	cmd(&w, &sub, "SDIFFSTORE v t u\r\n");	/* empty: the destination goes */
	EVENTS(&sub, BOTH("v", "del"));
	notify(&w, "Ks");
	cmd(&w, &sub, "HSET h2 a 1\r\n");
	cmd(&w, &sub, "SADD s2 a\r\n");
	EVENTS(&sub, KS("s2", "sadd"));
	stop(&sub, &w);
}

/* memcached writes raise the mapped events; a Redis subscriber sees them. */
static void memcached_writes(void **state)
{
	struct dpc sub, w, m;

	(void)state;
	start(&sub, &w);
	open_conn(&m, 11211, mbuf, sizeof(mbuf));
	notify(&w, "KEA");
	cmd(&m, &sub, "set mk 0 0 1\r\nx\r\n");
	REPLY(&m, "STORED\r\n");
	EVENTS(&sub, BOTH("mk", "set"));
	cmd(&m, &sub, "append mk 0 0 1\r\ny\r\n");
	EVENTS(&sub, BOTH("mk", "append"));
	cmd(&m, &sub, "set mk 0 0 1\r\n5\r\n");
	sub.n = 0;
	cmd(&m, &sub, "incr mk 3\r\n");
	REPLY(&m, "8\r\n");
	EVENTS(&sub, BOTH("mk", "incrby"));
	cmd(&m, &sub, "decr mk 1\r\n");
	EVENTS(&sub, BOTH("mk", "decrby"));
	cmd(&m, &sub, "touch mk 100\r\n");
	EVENTS(&sub, BOTH("mk", "expire"));
	cmd(&m, &sub, "delete mk\r\n");
	REPLY(&m, "DELETED\r\n");
	EVENTS(&sub, BOTH("mk", "del"));
	cmd(&m, &sub, "delete mk\r\n");	/* a miss changes nothing */
	EVENTS(&sub, "");
	cmd(&m, &sub, "add mk 0 0 1\r\nz\r\n");
	EVENTS(&sub, BOTH("mk", "set"));
	notify(&w, "KEAn");
	cmd(&m, &sub, "ms mk2 1\r\nq\r\n");
	EVENTS(&sub, BOTH("mk2", "new") BOTH("mk2", "set"));
	cmd(&m, &sub, "md mk2\r\n");
	EVENTS(&sub, BOTH("mk2", "del"));
	dpc_close(&h, &m);
	stop(&sub, &w);
}

/* A read finding a key expired: its owner removes it and raises `expired` once. */
static void expiry_by_read_and_crawler(void **state)
{
	struct dpc sub, w;
	struct rd_keyev_lc kt;

	(void)state;
	start(&sub, &w);
	notify(&w, "KEx");
	cmd(&w, &sub, "SET e1 v PX 1500\r\n");
	cmd(&w, &sub, "SET e2 v EX 2\r\n");
	EVENTS(&sub, "");
	h.lc->ctx.clock.now += 5;
	rd_keyev_totals(&h.app, &kt);
	cmd(&w, &sub, "GET e1\r\n");
	REPLY(&w, "$-1\r\n");
	EVENTS(&sub, BOTH("e1", "expired"));
	cmd(&w, &sub, "GET e1\r\n");	/* gone: no second event */
	EVENTS(&sub, "");
	{
		struct rd_keyev_lc k2;

		rd_keyev_totals(&h.app, &k2);
		assert_int_equal(k2.expired_asks, kt.expired_asks + 1);
	}
	/* the crawler finds e2 */
	for (int i = 0; i < 64; i++)
		wc_part_maintain(h.app.parts[0], &h.lc->ctx, 4096);
	{
		struct dpc *cs[1] = { &sub };

		collect(cs, 1);
	}
	EVENTS(&sub, BOTH("e2", "expired"));
	stop(&sub, &w);
}

/* Eviction raises `evicted` (class e); a read miss raises `keymiss` (m, not in A). */
static void eviction_and_keymiss(void **state)
{
	static char big[70000];
	struct dpc sub, w, m;
	const char *ev;
	unsigned evicted = 0;

	(void)state;
	start(&sub, &w);
	open_conn(&m, 11211, mbuf, sizeof(mbuf));
	notify(&w, "Ee");
	for (int i = 0; i < 800 && !evicted; i++) {
		int n = snprintf(big, sizeof(big), "set big%d 0 0 60000\r\n", i);

		memset(big + n, 'v', 60000);
		memcpy(big + n + 60000, "\r\n", 3);
		cmd(&m, &sub, big);
		ev = events(&sub);
		for (const char *p = ev; (p = strstr(p, "__keyevent@0__:evicted=big")); p++)
			evicted++;
	}
	assert_true(evicted > 0);
	notify(&w, "KEA");
	cmd(&w, &sub, "GET nothing\r\n");
	EVENTS(&sub, "");
	notify(&w, "Km");
	cmd(&w, &sub, "GET nothing\r\n");
	EVENTS(&sub, KS("nothing", "keymiss"));
	dpc_close(&h, &m);
	stop(&sub, &w);
}

/* The listener API: tracking interest turns the hook on without notifications. */
static void listeners_and_flush(void **state)
{
	struct dpc sub, w, m;
	uint64_t id;

	(void)state;
	start(&sub, &w);
	open_conn(&m, 11211, mbuf, sizeof(mbuf));
	cmd(&w, NULL, "CLIENT ID\r\n");
	id = strtoull((const char *)w.buf + 1, NULL, 10);
	memset(&heard, 0, sizeof(heard));
	cmd(&w, NULL, "SET lk 1\r\n");
	assert_int_equal(heard.n, 0);	/* nothing listens: off */
	rd_keyev_interest(h.lc, RD_KEYEV_WANT_TRACKING, 1);
	assert_non_null(h.lc->ctx.keyev);
	cmd(&w, &sub, "SET lk 2\r\n");
	assert_int_equal(heard.n, 1);
	assert_string_equal(heard.last, "set lk");
	assert_int_equal(heard.last_client, id);
	EVENTS(&sub, "");	/* notifications are off */
	cmd(&m, NULL, "set lk 0 0 1\r\n3\r\n");
	assert_int_equal(heard.n, 2);
	assert_int_equal(heard.last_client, 0);
	cmd(&w, NULL, "GET nothing\r\n");	/* misses are no change */
	assert_int_equal(heard.n, 2);
	cmd(&w, NULL, "FLUSHALL\r\n");
	assert_int_equal(heard.flushes, 1);
	assert_int_equal(heard.last_client, id);
	cmd(&m, NULL, "flush_all\r\n");
	assert_int_equal(heard.flushes, 2);
	assert_int_equal(heard.last_client, 0);
	rd_keyev_interest(h.lc, RD_KEYEV_WANT_TRACKING, -1);
	assert_null(h.lc->ctx.keyev);
	cmd(&w, NULL, "SET lk 4\r\n");
	assert_int_equal(heard.n, 2);
	dpc_close(&h, &m);
	stop(&sub, &w);
}

/* A RESP3 subscriber gets push frames, and may write meanwhile. */
static void resp3_subscriber(void **state)
{
	static const char want[] =
		">4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n$17\r\n__keyspace@0__:r3\r\n"
		"$4\r\nsadd\r\n"
		">4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n$19\r\n__keyevent@0__:sadd\r\n"
		"$2\r\nr3\r\n";
	struct dpc sub, w;

	(void)state;
	open_conn(&w, 6379, wbuf, sizeof(wbuf));
	open_conn(&sub, 6379, sbuf, sizeof(sbuf));
	cmd(&sub, NULL, "HELLO 3\r\n");
	cmd(&sub, NULL, "PSUBSCRIBE __key*\r\n");
	REPLY(&sub, ">3\r\n$10\r\npsubscribe\r\n$6\r\n__key*\r\n:1\r\n");
	notify(&w, "KEs");
	sub.n = 0;
	cmd(&w, &sub, "SADD r3 a\r\n");
	REPLY(&w, ":1\r\n");
	REPLY(&sub, want);
	cmd(&sub, NULL, "GET r3\r\n");	/* RESP3: commands run while subscribed */
	REPLY(&sub, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	notify(&w, "\"\"");
	dpc_close(&h, &sub);
	dpc_close(&h, &w);
}

/* CONFIG GET gives the flags back in Redis's form; a bad letter is refused. */
static void config_flags(void **state)
{
	struct dpc w;

	(void)state;
	open_conn(&w, 6379, wbuf, sizeof(wbuf));
	notify(&w, "KEA");
	cmd(&w, NULL, "CONFIG GET notify-keyspace-events\r\n");
	REPLY(&w, "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n");
	notify(&w, "Kgx");
	cmd(&w, NULL, "CONFIG GET notify-keyspace-events\r\n");
	REPLY(&w, "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\ngxK\r\n");
	cmd(&w, NULL, "CONFIG SET notify-keyspace-events KEQ\r\n");
	assert_memory_equal(w.buf, "-ERR CONFIG SET failed", 22);
	notify(&w, "\"\"");
	assert_null(h.lc->ctx.keyev);
	dpc_close(&h, &w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redis_strings_and_keys),
		cmocka_unit_test(redis_hashes_and_sets),
		cmocka_unit_test(memcached_writes),
		cmocka_unit_test(expiry_by_read_and_crawler),
		cmocka_unit_test(eviction_and_keymiss),
		cmocka_unit_test(listeners_and_flush),
		cmocka_unit_test(resp3_subscriber),
		cmocka_unit_test(config_flags),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
