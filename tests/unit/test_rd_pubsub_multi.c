/*
 * test_rd_pubsub_multi.c - Pub/Sub across two lcores that both hold
 * connections: the NIC-less harness's lcore 0 and a second worker, lcore 1,
 * that owns partition 1, reached through a real mailbox and the bus. The
 * test serves them by hand in an order the real loop may take (every lcore
 * serves its mailbox, then takes its completions, then drains its bus), so
 * each interleaving is deterministic. Covers PUBLISH inside a transaction
 * that runs on the other lcore or on its own: messages of any size reach
 * every subscriber on both lcores, counted in EXEC's reply, in the
 * publisher's order; SUBSCRIBE and its kin inside a transaction that runs
 * on the other lcore: the replies Redis 7.0 gives, in RESP2 and RESP3, and
 * the subscriptions made on the connection's lcore; a RESP3 client's own
 * keyspace notifications before its write's reply, wherever the key lives,
 * and inside EXEC's reply in a transaction, as redis-server 7.0.15 sends
 * them (and to the other subscribers once).
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
#include "store/mailbox.h"
#include "wirecache/slot.h"

#define NLC 2
#define BIG (1u << 20)

static struct dp_harness h;
static struct wc_lcore *lcs[NLC];
static uint16_t next_port = 35000;

/* A client connection, on lcore lc. */
struct cli {
	struct dpc c;
	unsigned lc;
};

static struct cli *clis[8];
static unsigned nclis;

static void redis_cfg(struct wc_config *c)
{
	c->memory = 64u << 20;
	c->max_conns = 64;
	c->redis_port = 6379;
}

/* The harness talks to lcore i from now on. */
static void on(unsigned i)
{
	h.lc = lcs[i];
}

/* Keys of these slots live in partition 1, on lcore 1. */
static void route_to_remote(const char *key)
{
	uint16_t *slots = (uint16_t *)(uintptr_t)h.app.slot_part;

	slots[wc_key_slot((const uint8_t *)key, strlen(key))] = 1;
}

static int setup(void **state)
{
	struct wc_app *app = &h.app;
	struct wc_part_cfg pc;
	enum wc_status err;
	struct wc_lcore *lc1;

	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&h, redis_cfg) != 0)
		return -1;
	dp_freeze_clock(&h);
	lcs[0] = h.lc;
	wc_part_cfg_default(&pc);
	pc.mem_bytes = 8u << 20;
	pc.max_value = (uint32_t)app->cfg.max_value;
	app->parts[1] = wc_part_create(&pc, &h.mem, &err);
	app->mbox = wc_mbox_create(NLC, 64, &wc_mem_mmap);
	lc1 = rte_zmalloc("rd_psm_lc1", sizeof(*lc1), 64);
	if (!app->parts[1] || !app->mbox || !lc1)
		return -1;
	/* the bus again, for two lcores */
	wc_bus_fini(app);
	app->nparts = 2;
	app->part_owner[1] = 1;
	app->nworkers = NLC;
	app->lc[1] = lc1;
	if (wc_lcore_init(app, lc1, 1, rte_lcore_id()) != 0 || wc_bus_init(app) != 0)
		return -1;
	dp_bus_hold = lcs[0]->bus;
	lc1->part_idx[lc1->nparts++] = 1;
	lc1->ctx.clock = lcs[0]->ctx.clock;
	lcs[0]->env.mbox = app->mbox;
	lcs[0]->env.nparts = 2;
	lcs[1] = lc1;
	on(1);
	dp_freeze_clock(&h);
	on(0);
	route_to_remote("x");
	route_to_remote("y");
	dp_learn_client(&h);
	return 0;
}

static int teardown(void **state)
{
	struct wc_app *app = &h.app;

	(void)state;
	on(0);
	wc_bus_fini(app);
	wc_lcore_fini(lcs[1]);
	rte_free(lcs[1]);
	app->lc[1] = NULL;
	app->nworkers = 1;
	wc_part_destroy(app->parts[1]);
	wc_mbox_destroy(app->mbox);
	app->mbox = NULL;
	lcs[0]->env.mbox = NULL;
	dp_teardown(&h);
	return 0;
}

/* ---- clients ---- */

static void collect(void)
{
	for (unsigned i = 0; i < nclis; i++)
		dpc_take(&h, &clis[i]->c);
	dp_clear_sent(&h);
}

static size_t received(void)
{
	size_t n = 0;

	for (unsigned i = 0; i < nclis; i++)
		n += clis[i]->c.n;
	return n;
}

/* One turn of both lcores: mailboxes served, then completions taken, then the bus drained. */
static unsigned turn(void)
{
	struct wc_mbox_req *done[32];
	unsigned work = 0;

	for (unsigned i = 0; i < NLC; i++)
		work += wc_mbox_serve(h.app.mbox, i, &lcs[i]->ctx, 64);
	for (unsigned i = 0; i < NLC; i++) {
		unsigned n = wc_mbox_collect(h.app.mbox, i, done, 32);

		for (unsigned j = 0; j < n; j++)
			wc_rd_tcp_complete(lcs[i], done[j]);
		work += n;
	}
	for (unsigned i = 0; i < NLC; i++)
		work += wc_bus_drain(lcs[i], 64);
	for (unsigned i = 0; i < NLC; i++) {
		rd_push_output(lcs[i]);
		wc_net_flush(lcs[i]);
	}
	collect();
	return work;
}

/* Run both lcores and acknowledge what every client got, until nothing moves. */
static void settle(void)
{
	for (int r = 0; r < 20000; r++) {
		size_t before = received();
		unsigned work = turn();

		for (unsigned i = 0; i < nclis; i++) {
			on(clis[i]->lc);
			dpc_ack(&h, &clis[i]->c);
			collect();
		}
		on(0);
		if (!work && received() == before)
			return;
	}
	fail_msg("the lcores never settled");
}

static void open_cli(struct cli *c, unsigned lc, uint8_t *buf, size_t cap)
{
	c->lc = lc;
	on(lc);
	assert_true(dpc_open(&h, &c->c, next_port++, 6379, buf, cap));
	on(0);
	clis[nclis++] = c;
}

static void close_cli(struct cli *c)
{
	on(c->lc);
	dpc_close(&h, &c->c);
	on(0);
	for (unsigned i = 0; i < nclis; i++) {
		if (clis[i] == c) {
			clis[i] = clis[--nclis];
			break;
		}
	}
	settle();
}

/* c sends n bytes (in segments); both lcores run until everything is answered. */
static void send_n(struct cli *c, const void *data, size_t n)
{
	uint8_t f[2048];
	const uint8_t *p = data;

	on(c->lc);
	for (size_t off = 0; off < n; off += 1400) {
		size_t seg = n - off < 1400 ? n - off : 1400;

		dp_input(&h, f, dp_tcp_ports(f, c->c.cport, c->c.dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->c.seq, c->c.ack,
					     65535, p + off, seg, NULL, 0));
		c->c.seq += (uint32_t)seg;
		collect();
		if ((off / 1400) % 16 == 15) {
			on(0);
			settle();
			on(c->lc);
		}
	}
	on(0);
	settle();
}

static void send_str(struct cli *c, const char *str)
{
	send_n(c, str, strlen(str));
}

static void clear(void)
{
	for (unsigned i = 0; i < nclis; i++)
		clis[i]->c.n = 0;
}

/* Where got and want first differ (for the message of a failure). */
static size_t first_diff(const char *want, const uint8_t *got, size_t n)
{
	size_t i = 0;

	while (want[i] && i < n && (uint8_t)want[i] == got[i])
		i++;
	return i;
}

#define ASSERT_GOT(cl, want)                                                                  \
	do {                                                                                  \
		if (!dpc_matches((want), (cl)->c.buf, (cl)->c.n)) {                           \
			size_t d_ = first_diff((want), (cl)->c.buf, (cl)->c.n);               \
			size_t from_ = d_ > 80 ? d_ - 80 : 0;                                 \
			fail_msg("got %zu bytes, %zu wanted; from byte %zu, wanted %.300s\n"   \
				 "   got %.*s", (cl)->c.n, strlen(want), from_, (want) + from_,    \
				 (int)((cl)->c.n - from_ > 300 ? 300 : (cl)->c.n - from_),     \
				 (const char *)(cl)->c.buf + from_);                          \
		}                                                                             \
	} while (0)

/* ---- messages ---- */

static uint8_t payload[BIG + 64];	/* (messages start a few bytes in) */

/* A PUBLISH of n bytes of the payload (starting at byte `from`) into buf; its length. */
static size_t publish_cmd(uint8_t *buf, const char *ch, size_t from, size_t n)
{
	size_t k = (size_t)sprintf((char *)buf, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n",
				   strlen(ch), ch, n);

	memcpy(buf + k, payload + from, n);
	memcpy(buf + k + n, "\r\n", 2);
	return k + n + 2;
}

/* The frame a RESP2 subscriber of ch gets for that message. */
static size_t message_frame(uint8_t *buf, const char *pat, const char *ch, size_t from, size_t n)
{
	size_t k;

	if (pat)
		k = (size_t)sprintf((char *)buf, "*4\r\n$8\r\npmessage\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n$%zu\r\n",
				    strlen(pat), pat, strlen(ch), ch, n);
	else
		k = (size_t)sprintf((char *)buf, "*3\r\n$7\r\nmessage\r\n$%zu\r\n%s\r\n$%zu\r\n",
				    strlen(ch), ch, n);
	memcpy(buf + k, payload + from, n);
	memcpy(buf + k + n, "\r\n", 2);
	return k + n + 2;
}

static uint8_t buf_a[BIG + (BIG / 2)], buf_b[BIG + (BIG / 2)], buf_p[BIG + (BIG / 2)];
static uint8_t buf_pub[1 << 16], reqs[3 * BIG], want[3 * BIG];

/*
 * A transaction that runs on lcore 1 (its key lives there), sent from lcore
 * 0, publishes messages of 100 KB, 1 MB and a few bytes: subscribers on
 * both lcores (a channel on each, a pattern on lcore 1) get all of them
 * whole, in order, between the publisher's plain PUBLISHes before and
 * after, and EXEC counts 3 receivers for each.
 */
static void tx_publish_any_size(void **state)
{
	struct cli a, b, p, pub;
	size_t n = 0, w;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)('a' + (i * 7 + i / 251) % 26);
	open_cli(&a, 0, buf_a, sizeof(buf_a));
	open_cli(&b, 1, buf_b, sizeof(buf_b));
	open_cli(&p, 1, buf_p, sizeof(buf_p));
	open_cli(&pub, 0, buf_pub, sizeof(buf_pub));
	send_str(&a, "SUBSCRIBE ch\r\n");
	send_str(&b, "SUBSCRIBE ch\r\n");
	send_str(&p, "PSUBSCRIBE c?\r\n");
	ASSERT_GOT(&a, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
	ASSERT_GOT(&b, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
	ASSERT_GOT(&p, "*3\r\n$10\r\npsubscribe\r\n$2\r\nc?\r\n:1\r\n");
	clear();

	n += publish_cmd(reqs + n, "ch", 0, 10);
	n += (size_t)sprintf((char *)reqs + n, "MULTI\r\nSET x 1\r\n");
	n += publish_cmd(reqs + n, "ch", 1, 100 * 1024);
	n += publish_cmd(reqs + n, "ch", 2, BIG);
	n += publish_cmd(reqs + n, "ch", 3, 5);
	n += (size_t)sprintf((char *)reqs + n, "EXEC\r\n");
	n += publish_cmd(reqs + n, "ch", 4, 10);
	send_n(&pub, reqs, n);
	ASSERT_GOT(&pub, ":3\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
			 "*4\r\n+OK\r\n:3\r\n:3\r\n:3\r\n:3\r\n");

	for (unsigned k = 0; k < 3; k++) {
		struct cli *c = k == 0 ? &a : k == 1 ? &b : &p;
		const char *pat = k == 2 ? "c?" : NULL;

		w = message_frame(want, pat, "ch", 0, 10);
		w += message_frame(want + w, pat, "ch", 1, 100 * 1024);
		w += message_frame(want + w, pat, "ch", 2, BIG);
		w += message_frame(want + w, pat, "ch", 3, 5);
		w += message_frame(want + w, pat, "ch", 4, 10);
		assert_int_equal(c->c.n, w);
		assert_memory_equal(c->c.buf, want, w);
	}
	clear();

	/* from lcore 1, a transaction that runs on lcore 0; then one with no key (it runs at home) */
	close_cli(&pub);
	open_cli(&pub, 1, buf_pub, sizeof(buf_pub));
	n = (size_t)sprintf((char *)reqs, "MULTI\r\nSET k0 1\r\n");
	n += publish_cmd(reqs + n, "ch", 5, 100 * 1024);
	n += (size_t)sprintf((char *)reqs + n, "GET k0\r\nEXEC\r\nMULTI\r\n");
	n += publish_cmd(reqs + n, "ch", 6, 3);
	n += (size_t)sprintf((char *)reqs + n, "PING\r\nEXEC\r\n");
	send_n(&pub, reqs, n);
	ASSERT_GOT(&pub, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:3\r\n$1\r\n1\r\n"
			 "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n+PONG\r\n");
	w = message_frame(want, NULL, "ch", 5, 100 * 1024);
	w += message_frame(want + w, NULL, "ch", 6, 3);
	assert_int_equal(a.c.n, w);
	assert_memory_equal(a.c.buf, want, w);
	assert_int_equal(b.c.n, w);
	assert_memory_equal(b.c.buf, want, w);
	close_cli(&a);
	close_cli(&b);
	close_cli(&p);
	close_cli(&pub);
}

/*
 * SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE inside a transaction that
 * runs on the other lcore: EXEC's reply holds their confirmations in their
 * places (as redis-server 7.0.15 answers, RESP2 and RESP3), the
 * subscriptions live on the connection's lcore and get messages.
 */
static void tx_subscribe_elsewhere(void **state)
{
	struct cli s2, s3, pub;

	(void)state;
	open_cli(&s2, 0, buf_a, sizeof(buf_a));
	open_cli(&s3, 1, buf_b, sizeof(buf_b));
	open_cli(&pub, 0, buf_pub, sizeof(buf_pub));
	/* RESP2, lcore 0, the transaction on lcore 1 */
	send_str(&s2, "MULTI\r\nSUBSCRIBE a b\r\nPSUBSCRIBE p*\r\nSET x 1\r\nEXEC\r\n");
	ASSERT_GOT(&s2, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n"
			"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
			"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
			"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n+OK\r\n");
	/* RESP3, lcore 1, the transaction on lcore 0 */
	send_str(&s3, "HELLO 3\r\n");
	clear();
	send_str(&s3, "MULTI\r\nSET k0 1\r\nSUBSCRIBE a\r\nPSUBSCRIBE p*\r\nSSUBSCRIBE s\r\nEXEC\r\n");
	ASSERT_GOT(&s3, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n"
			">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
			">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n"
			"-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n");
	/* subscribed where they live: both get messages, counted over both lcores */
	clear();
	send_str(&pub, "PUBLISH a 1\r\nPUBLISH b 2\r\nPUBLISH p1 3\r\n");
	ASSERT_GOT(&pub, ":2\r\n:1\r\n:2\r\n");
	ASSERT_GOT(&s2, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\n1\r\n"
			"*3\r\n$7\r\nmessage\r\n$1\r\nb\r\n$1\r\n2\r\n"
			"*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\np1\r\n$1\r\n3\r\n");
	ASSERT_GOT(&s3, ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\n1\r\n"
			">4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\np1\r\n$1\r\n3\r\n");
	/* and the unsubscribes, again on the other lcore */
	clear();
	send_str(&s3, "MULTI\r\nSET k0 2\r\nUNSUBSCRIBE a\r\nPUNSUBSCRIBE\r\nUNSUBSCRIBE\r\n"
		      "GET k0\r\nEXEC\r\n");
	ASSERT_GOT(&s3, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*5\r\n"
			"+OK\r\n>3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
			">3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n"
			">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n$1\r\n2\r\n");
	clear();
	send_str(&pub, "PUBLISH a 4\r\n");
	ASSERT_GOT(&pub, ":1\r\n");
	assert_int_equal(s3.c.n, 0);
	close_cli(&s2);
	close_cli(&s3);
	close_cli(&pub);
}

/* The pair of notifications of one event, as a subscriber of __key*@0__:* gets them. */
static size_t notes(char *buf, char t, const char *key, const char *ev)
{
	return (size_t)sprintf(buf,
			       "%c4\r\n$8\r\npmessage\r\n$12\r\n__key*@0__:*\r\n$%zu\r\n__keyspace@0__:%s\r\n"
			       "$%zu\r\n%s\r\n"
			       "%c4\r\n$8\r\npmessage\r\n$12\r\n__key*@0__:*\r\n$%zu\r\n__keyevent@0__:%s\r\n"
			       "$%zu\r\n%s\r\n",
			       t, 15 + strlen(key), key, strlen(ev), ev, t, 15 + strlen(ev), ev,
			       strlen(key), key);
}

/*
 * A RESP3 client subscribed to keyspace notifications that writes: its own
 * notification comes before its write's reply, whether the key lives on
 * its lcore or the other (the owner's bus message is handled before the
 * completion, or the owner writes it into the reply it sends back); after
 * the reply where Redis replies first (HSET); in a transaction, inside
 * EXEC's reply before each command's reply (redis-server 7.0.15 does so),
 * whether the transaction runs here or there, with a PUBLISH to itself
 * likewise; with its replies silenced (CLIENT REPLY OFF) it still gets
 * them. Another subscriber gets each notification once.
 */
static void own_notifications_first(void **state)
{
	struct cli w, o, c;
	static char exp_w[8192], exp_o[8192];
	size_t nw = 0, no = 0;

	(void)state;
	open_cli(&w, 0, buf_a, sizeof(buf_a));
	open_cli(&o, 1, buf_b, sizeof(buf_b));
	open_cli(&c, 0, buf_pub, sizeof(buf_pub));
	send_str(&c, "CONFIG SET notify-keyspace-events KEA\r\n");
	ASSERT_GOT(&c, "+OK\r\n");
	send_str(&w, "HELLO 3\r\n");
	send_str(&w, "PSUBSCRIBE __key*@0__:*\r\n");
	send_str(&o, "PSUBSCRIBE __key*@0__:*\r\n");
	clear();

	/* plain writes: on its own lcore, then on the other */
	send_str(&w, "SET k0 a\r\n");
	nw += notes(exp_w + nw, '>', "k0", "set");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n");
	ASSERT_GOT(&w, exp_w);
	send_str(&w, "SET x a\r\n");
	nw += notes(exp_w + nw, '>', "x", "set");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n");
	ASSERT_GOT(&w, exp_w);
	/* where Redis replies first (HSET), the notification follows, there too */
	route_to_remote("rh");
	send_str(&w, "HSET rh f v\r\nHDEL rh f\r\n");
	nw += (size_t)sprintf(exp_w + nw, ":1\r\n");
	nw += notes(exp_w + nw, '>', "rh", "hset");
	nw += notes(exp_w + nw, '>', "rh", "hdel");
	nw += notes(exp_w + nw, '>', "rh", "del");
	nw += (size_t)sprintf(exp_w + nw, ":1\r\n");
	ASSERT_GOT(&w, exp_w);

	/* a transaction on the other lcore, then one on its own */
	send_str(&w, "MULTI\r\nSET x b\r\nINCR y\r\nEXEC\r\n");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n");
	nw += notes(exp_w + nw, '>', "x", "set");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n");
	nw += notes(exp_w + nw, '>', "y", "incrby");
	nw += (size_t)sprintf(exp_w + nw, ":1\r\n");
	ASSERT_GOT(&w, exp_w);
	send_str(&w, "MULTI\r\nDEL k0\r\nGET k0\r\nEXEC\r\n");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n");
	nw += notes(exp_w + nw, '>', "k0", "del");
	nw += (size_t)sprintf(exp_w + nw, ":1\r\n_\r\n");
	ASSERT_GOT(&w, exp_w);

	/* a PUBLISH to itself in a transaction on the other lcore */
	send_str(&w, "SUBSCRIBE z\r\n");
	nw += (size_t)sprintf(exp_w + nw, ">3\r\n$9\r\nsubscribe\r\n$1\r\nz\r\n:2\r\n");
	send_str(&w, "MULTI\r\nSET x c\r\nPUBLISH z hi\r\nEXEC\r\n");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n");
	nw += notes(exp_w + nw, '>', "x", "set");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n>3\r\n$7\r\nmessage\r\n$1\r\nz\r\n$2\r\nhi\r\n:1\r\n");
	ASSERT_GOT(&w, exp_w);
	/* replies silenced: its notifications still come (as Redis sends them) */
	send_str(&w, "CLIENT REPLY OFF\r\nSET k0 s\r\n");
	send_str(&w, "SET x s\r\nCLIENT REPLY ON\r\n");
	nw += notes(exp_w + nw, '>', "k0", "set");
	nw += notes(exp_w + nw, '>', "x", "set");
	nw += (size_t)sprintf(exp_w + nw, "+OK\r\n");
	ASSERT_GOT(&w, exp_w);
	assert_int_equal(w.c.n, nw);

	/* the other subscriber: every notification, once, in order */
	no += notes(exp_o + no, '*', "k0", "set");
	no += notes(exp_o + no, '*', "x", "set");
	no += notes(exp_o + no, '*', "rh", "hset");
	no += notes(exp_o + no, '*', "rh", "hdel");
	no += notes(exp_o + no, '*', "rh", "del");
	no += notes(exp_o + no, '*', "x", "set");
	no += notes(exp_o + no, '*', "y", "incrby");
	no += notes(exp_o + no, '*', "k0", "del");
	no += notes(exp_o + no, '*', "x", "set");
	no += notes(exp_o + no, '*', "k0", "set");
	no += notes(exp_o + no, '*', "x", "set");
	ASSERT_GOT(&o, exp_o);
	assert_int_equal(o.c.n, no);
	send_str(&c, "CONFIG SET notify-keyspace-events \"\"\r\n");
	close_cli(&w);
	close_cli(&o);
	close_cli(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tx_publish_any_size),
		cmocka_unit_test(tx_subscribe_elsewhere),
		cmocka_unit_test(own_notifications_first),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
