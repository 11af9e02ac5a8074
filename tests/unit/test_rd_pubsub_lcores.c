/*
 * test_rd_pubsub_lcores.c - Pub/Sub's node-wide introspection with
 * subscriptions on two lcores: the NIC-less harness (lcore 0, where the
 * test's client connects) plus a second worker lcore reached through a
 * real mailbox served by hand, as in test_redis_mbox.c. Subscriptions on
 * lcore 1 are made on its table directly (sessions that exist only there).
 * A name listened to on both lcores counts once: INFO's pubsub_channels,
 * pubsub_patterns and pubsubshard_channels, PUBSUB NUMPAT, CHANNELS and
 * SHARDCHANNELS; CHANNELS lists thousands of names (many batches per
 * lcore) whole, each once, also when a table grows during the walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_tcpclient.h"
#include "net/tcp_impl.h"
#include "redis/pubsub_impl.h"
#include "store/mailbox.h"

static struct dp_harness h;
static struct wc_lcore *lc1;	/* the second worker */
static uint8_t rbuf[4 << 20];
static uint16_t next_port = 33000;

/* Sessions that listen on one lcore only (never connected). */
#define NFAKE 4
static struct rd_session fake0[NFAKE], fake1[NFAKE];

static void redis_cfg(struct wc_config *c)
{
	c->memory = 32u << 20;
	c->max_conns = 64;
	c->redis_port = 6379;
}

static int setup(void **state)
{
	struct wc_app *app = &h.app;

	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&h, redis_cfg) != 0)
		return -1;
	dp_freeze_clock(&h);
	app->mbox = wc_mbox_create(2, 64, &wc_mem_mmap);
	lc1 = rte_zmalloc("rd_ps_lc1", sizeof(*lc1), 64);
	if (!app->mbox || !lc1)
		return -1;
	app->lc[1] = lc1;
	if (wc_lcore_init(app, lc1, 1, rte_lcore_id()) != 0)
		return -1;
	lc1->ctx.clock = h.lc->ctx.clock;
	app->nworkers = 2;
	h.lc->env.mbox = app->mbox;
	dp_learn_client(&h);
	return 0;
}

static void unsubscribe_fakes(void)
{
	for (unsigned i = 0; i < NFAKE; i++) {
		rd_pubsub_release(h.lc, &fake0[i]);
		rd_pubsub_release(lc1, &fake1[i]);
	}
}

static int teardown(void **state)
{
	(void)state;
	unsubscribe_fakes();
	h.app.nworkers = 1;
	wc_lcore_fini(lc1);
	rte_free(lc1);
	wc_mbox_destroy(h.app.mbox);
	h.app.mbox = NULL;
	h.lc->env.mbox = NULL;
	dp_teardown(&h);
	return 0;
}

static void listen_on(struct wc_lcore *lc, struct rd_session *s, uint8_t kind, const char *name)
{
	assert_int_equal(ps_subscribe(lc->pubsub, s, kind, (const uint8_t *)name,
				      (uint32_t)strlen(name)), 1);
}

/* Where a complete RESP value starting at p ends, or NULL. */
static const uint8_t *resp_end(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *eol;
	long long n;
	uint8_t type;

	if (p >= end)
		return NULL;
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol)
		return NULL;
	n = strtoll((const char *)p + 1, NULL, 10);
	type = *p;
	if (type == '$')
		return n < 0 ? eol + 2 : (eol + 2 + n + 2 <= end ? eol + 2 + n + 2 : NULL);
	if (type == '*') {
		p = eol + 2;
		for (long long i = 0; i < n && p; i++)
			p = resp_end(p, end);
		return p;
	}
	return eol + 2;
}

/* Do the bytes hold whole replies only (one or more)? */
static bool whole(const uint8_t *p, const uint8_t *end)
{
	if (p == end)
		return false;
	while (p && p < end)
		p = resp_end(p, end);
	return p == end;
}

/* Send req; serve lcore 1's mailbox and the connection until whole replies came. */
static size_t request(struct dpc *c, const char *req)
{
	struct wc_mbox_req *done[32];

	c->n = 0;
	dpc_send(&h, c, req, strlen(req), 1400);
	for (int rounds = 0; rounds < 100000; rounds++) {
		unsigned n;

		if (whole(c->buf, c->buf + c->n))
			return c->n;
		wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 64);
		n = wc_mbox_collect(h.app.mbox, 0, done, 32);
		for (unsigned i = 0; i < n; i++)
			wc_rd_tcp_complete(h.lc, done[i]);
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		dpc_drain(&h, c);
		dpc_ack(&h, c);
		dpc_drain(&h, c);
	}
	fail_msg("no whole reply to %s (got %zu bytes)", req, c->n);
	return 0;
}

static bool has(const struct dpc *c, const char *needle)
{
	return memmem(c->buf, c->n, needle, strlen(needle)) != NULL;
}

static void expect(struct dpc *c, const char *req, const char *want)
{
	request(c, req);
	if (c->n != strlen(want) || memcmp(c->buf, want, c->n) != 0)
		fail_msg("for %s\nwanted %s\n   got %.*s", req, want, (int)(c->n > 600 ? 600 : c->n),
			 (const char *)c->buf);
}

/*
 * The names of a RESP array of bulk strings, each once: counts how many of
 * want_n names "<prefix><i>..." came and fails on a duplicate or a null.
 */
static void check_names(const struct dpc *c, unsigned want_n, const char *prefix)
{
	const uint8_t *p = c->buf, *end = c->buf + c->n;
	unsigned n;
	uint8_t *seen = calloc(want_n, 1);

	assert_non_null(seen);
	assert_int_equal(*p, '*');
	n = (unsigned)strtoul((const char *)p + 1, NULL, 10);
	assert_int_equal(n, want_n);
	p = (const uint8_t *)memmem(p, (size_t)(end - p), "\r\n", 2) + 2;
	for (unsigned k = 0; k < n; k++) {
		long len;
		unsigned idx;

		assert_int_equal(*p, '$');
		len = strtol((const char *)p + 1, NULL, 10);
		assert_true(len > 0);
		p = (const uint8_t *)memmem(p, (size_t)(end - p), "\r\n", 2) + 2;
		assert_memory_equal(p, prefix, strlen(prefix));
		idx = (unsigned)strtoul((const char *)p + strlen(prefix), NULL, 10);
		assert_true(idx < want_n);
		if (seen[idx])
			fail_msg("%.*s listed twice", (int)len, (const char *)p);
		seen[idx] = 1;
		p += len + 2;
	}
	assert_ptr_equal(p, end);
	free(seen);
}

/* A name on both lcores counts once (INFO, NUMPAT, CHANNELS, SHARDCHANNELS). */
static void distinct_over_lcores(void **state)
{
	struct dpc c, sub;
	static uint8_t sbuf[4096];

	(void)state;
	assert_true(dpc_open(&h, &c, next_port++, 6379, rbuf, sizeof(rbuf)));
	assert_true(dpc_open(&h, &sub, next_port++, 6379, sbuf, sizeof(sbuf)));
	/* lcore 0: a real subscriber (a b c, p*, shard s1) */
	request(&sub, "SUBSCRIBE a b c\r\n");
	request(&sub, "PSUBSCRIBE p*\r\n");
	request(&sub, "SSUBSCRIBE s1\r\n");
	/* lcore 1: b c d, p* and q*, shard s1 and s2 (two sessions, some names twice) */
	listen_on(lc1, &fake1[0], PS_CHANNEL, "b");
	listen_on(lc1, &fake1[0], PS_CHANNEL, "c");
	listen_on(lc1, &fake1[1], PS_CHANNEL, "c");
	listen_on(lc1, &fake1[1], PS_CHANNEL, "d");
	listen_on(lc1, &fake1[0], PS_PATTERN, "p*");
	listen_on(lc1, &fake1[1], PS_PATTERN, "q*");
	listen_on(lc1, &fake1[0], PS_SHARD, "s1");
	listen_on(lc1, &fake1[1], PS_SHARD, "s2");
	assert_true(rd_pubsub_lcore_active(&h.app, 0) && rd_pubsub_lcore_active(&h.app, 1));

	request(&c, "INFO stats\r\n");
	if (!has(&c, "pubsub_channels:4\r\n") || !has(&c, "pubsub_patterns:2\r\n") ||
	    !has(&c, "pubsubshard_channels:2\r\n"))
		fail_msg("INFO: %.*s", (int)c.n, (const char *)c.buf);
	request(&c, "INFO\r\n");	/* (the default sections hold stats too) */
	assert_true(has(&c, "pubsub_channels:4\r\n"));
	expect(&c, "PUBSUB NUMPAT\r\n", ":2\r\n");
	request(&c, "PUBSUB CHANNELS\r\n");
	assert_true(c.n == strlen("*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n") &&
		    has(&c, "*4\r\n") && has(&c, "$1\r\na\r\n") && has(&c, "$1\r\nb\r\n") &&
		    has(&c, "$1\r\nc\r\n") && has(&c, "$1\r\nd\r\n"));
	request(&c, "PUBSUB CHANNELS [cd]\r\n");
	assert_true(c.n == strlen("*2\r\n$1\r\nc\r\n$1\r\nd\r\n") && has(&c, "$1\r\nc\r\n") &&
		    has(&c, "$1\r\nd\r\n"));
	expect(&c, "PUBSUB CHANNELS x*\r\n", "*0\r\n");
	request(&c, "PUBSUB SHARDCHANNELS\r\n");
	assert_true(c.n == strlen("*2\r\n$2\r\ns1\r\n$2\r\ns2\r\n") && has(&c, "$2\r\ns1\r\n") &&
		    has(&c, "$2\r\ns2\r\n"));
	expect(&c, "PUBSUB NUMSUB b d z\r\n", "*6\r\n$1\r\nb\r\n:2\r\n$1\r\nd\r\n:1\r\n$1\r\nz\r\n:0\r\n");
	/* in a transaction no other lcore can be asked: the sums */
	request(&c, "MULTI\r\nINFO stats\r\nEXEC\r\n");
	assert_true(has(&c, "pubsub_channels:6\r\n"));
	/* lcore 0's subscriber goes: lcore 1's names alone */
	dpc_close(&h, &sub);
	request(&c, "INFO stats\r\n");
	assert_true(has(&c, "pubsub_channels:3\r\n") && has(&c, "pubsub_patterns:2\r\n") &&
		    has(&c, "pubsubshard_channels:2\r\n"));
	expect(&c, "PUBSUB NUMPAT\r\n", ":2\r\n");
	unsubscribe_fakes();
	request(&c, "INFO stats\r\n");
	assert_true(has(&c, "pubsub_channels:0\r\n") && has(&c, "pubsub_patterns:0\r\n"));
	expect(&c, "PUBSUB CHANNELS\r\n", "*0\r\n");
	dpc_close(&h, &c);
}

/*
 * 5,000 channels of 100 bytes, 3,000 on lcore 0 and 3,000 on lcore 1 (1,000
 * on both): every one listed once (dozens of batches), counted once by
 * INFO; a pattern selects its share.
 */
static void thousands_of_channels(void **state)
{
	struct dpc c;
	char name[128];
	unsigned sel = 0;

	(void)state;
	assert_true(dpc_open(&h, &c, next_port++, 6379, rbuf, sizeof(rbuf)));
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "ch:%u:%090u", i, 0u);
		if (i < 3000)
			listen_on(h.lc, &fake0[i % NFAKE], PS_CHANNEL, name);
		if (i >= 2000)
			listen_on(lc1, &fake1[i % NFAKE], PS_CHANNEL, name);
		sel += name[3] == '7';
	}
	request(&c, "PUBSUB CHANNELS\r\n");
	check_names(&c, 5000, "ch:");
	request(&c, "INFO stats\r\n");
	assert_true(has(&c, "pubsub_channels:5000\r\n"));
	request(&c, "PUBSUB CHANNELS ch:7*\r\n");
	assert_int_equal(strtoul((const char *)c.buf + 1, NULL, 10), sel);
	/* shard channels alike */
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "sh:%u:%090u", i, 0u);
		if (i < 3000)
			listen_on(h.lc, &fake0[i % NFAKE], PS_SHARD, name);
		if (i >= 2000)
			listen_on(lc1, &fake1[i % NFAKE], PS_SHARD, name);
	}
	request(&c, "PUBSUB SHARDCHANNELS\r\n");
	check_names(&c, 5000, "sh:");
	request(&c, "INFO stats\r\n");
	assert_true(has(&c, "pubsub_channels:5000\r\n") && has(&c, "pubsubshard_channels:5000\r\n"));
	unsubscribe_fakes();
	dpc_close(&h, &c);
}

/*
 * Lcore 1's table grows while its names are walked (SCAN's cursor rule): a
 * name there for the whole walk is listed once, none twice or missed.
 */
static void table_grows_mid_walk(void **state)
{
	struct dpc c;
	struct wc_mbox_req *done[32];
	char name[128];
	uint32_t buckets0 = ((struct rd_pubsub_lc *)lc1->pubsub)->nbuckets;
	bool grown = false;
	int rounds;

	(void)state;
	assert_true(dpc_open(&h, &c, next_port++, 6379, rbuf, sizeof(rbuf)));
	for (unsigned i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "gr:%u:%090u", i, 0u);
		listen_on(lc1, &fake1[i % NFAKE], PS_CHANNEL, name);
	}
	c.n = 0;
	dpc_send(&h, &c, "PUBSUB CHANNELS\r\n", 17, 1400);
	for (rounds = 0; rounds < 100000 && !whole(c.buf, c.buf + c.n); rounds++) {
		unsigned n = wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 1);

		if (n && !grown) {
			/* after lcore 1's first batch: 8,000 names come and go */
			for (unsigned i = 0; i < 8000; i++) {
				snprintf(name, sizeof(name), "tmp:%u", i);
				listen_on(lc1, &fake1[0], PS_CHANNEL, name);
			}
			for (unsigned i = 0; i < 8000; i++) {
				snprintf(name, sizeof(name), "tmp:%u", i);
				assert_int_equal(ps_unsubscribe(lc1->pubsub, &fake1[0], PS_CHANNEL,
								(const uint8_t *)name,
								(uint32_t)strlen(name)), 1);
			}
			grown = true;
		}
		n = wc_mbox_collect(h.app.mbox, 0, done, 32);
		for (unsigned i = 0; i < n; i++)
			wc_rd_tcp_complete(h.lc, done[i]);
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		dpc_drain(&h, &c);
		dpc_ack(&h, &c);
		dpc_drain(&h, &c);
	}
	assert_true(grown);
	assert_true(((struct rd_pubsub_lc *)lc1->pubsub)->nbuckets > buckets0);
	check_names(&c, 2000, "gr:");
	unsubscribe_fakes();
	dpc_close(&h, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(distinct_over_lcores),
		cmocka_unit_test(thousands_of_channels),
		cmocka_unit_test(table_grows_mid_walk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
