/*
 * test_cluster_pubsub.c - PUBLISH across the cluster's nodes (cluster/link.h,
 * link_pub.c) on a NIC-less dataplane with two worker lcores (the harness's,
 * where connections live, and a second one reached through a real mailbox
 * served by hand, its subscribers sessions made on its table directly), the
 * test playing the other node B:
 *  - as B's link into the dataplane: a PUBLISH frame reaches the channel's
 *    subscriber and pattern subscriber on lcore 0 at once and lcore 1 by an
 *    owner call, the link's next frame only after both; nothing answers and
 *    nothing is sent on; a frame whose length is wrong resets the link;
 *  - as the node the dataplane links to: PUBLISH (also a large message, and
 *    inside a transaction) is sent to B in a PUBLISH frame, the reply
 *    counting this node's receivers; SPUBLISH is not sent; with the link
 *    down the message is dropped and counted; INFO shows the counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_link.h"
#include "net/tcp_impl.h"
#include "redis/pubsub_impl.h"
#include "redis/server.h"
#include "store/mailbox.h"
#include "wirecache/slot.h"

#define RPORT 6379
#define CPORT DPL_CPORT
#define SECRET "pubsub-link-secret"

static struct dp_harness h;
static struct rd_server srv;
static struct wc_lcore *lc1;
static char state_dir[64];
static struct wc_cmap_stage *cstage;
static char shard_mine[32];	/* a shard channel of this node's slots */

static uint8_t subbuf[1 << 16], pubbuf[1 << 16], peerbuf[1 << 17], inbuf[1 << 12];
static struct dpc sub, pub, peer, in;	/* a subscriber, a publisher, B's end of our link, B's link */
static struct dpc *conns[4] = { &sub, &pub, &peer, &in };

/* Sessions that listen on lcore 1 only (never connected: they count, get nothing). */
static struct rd_session fake1[2];
static int64_t lc1_receivers;	/* what lcore 1's owner calls for links counted */

static void with_cluster(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = RPORT;
	c->max_conns = 64;
	c->memory = 32u << 20;
	c->cluster = true;
	c->cluster_secret = SECRET;
	app->rd = &srv;
}

static int dp_up(void **state)
{
	struct wc_app *app = &h.app;

	(void)state;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc-lpub-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	if (rd_server_init(&srv, state_dir, RPORT, true, "198.18.0.11", 0, 16u << 20, 1u << 20,
			   NULL, NULL, "test") != 0)
		return -1;
	if (dp_setup(&h, with_cluster) != 0)
		return -1;
	dp_freeze_clock(&h);
	app->mbox = wc_mbox_create(2, 64, &wc_mem_mmap);
	lc1 = rte_zmalloc("lpub_lc1", sizeof(*lc1), 64);
	if (!app->mbox || !lc1)
		return -1;
	app->lc[1] = lc1;
	if (wc_lcore_init(app, lc1, 1, rte_lcore_id()) != 0)
		return -1;
	lc1->ctx.clock = h.lc->ctx.clock;
	app->nworkers = 2;
	h.lc->env.mbox = app->mbox;
	dp_learn_client(&h);
	for (unsigned i = 0;; i++) {
		snprintf(shard_mine, sizeof(shard_mine), "sch%u", i);
		if (wc_key_slot((const uint8_t *)shard_mine, (uint32_t)strlen(shard_mine)) < 8192)
			break;
	}
	return 0;
}

static int dp_down(void **state)
{
	char path[128];

	(void)state;
	for (unsigned i = 0; i < 2; i++)
		rd_pubsub_release(lc1, &fake1[i]);
	wc_cmap_stage_drop(&cstage);
	h.app.nworkers = 1;
	wc_lcore_fini(lc1);
	rte_free(lc1);
	h.app.lc[1] = NULL;
	wc_mbox_destroy(h.app.mbox);
	h.app.mbox = NULL;
	h.lc->env.mbox = NULL;
	dp_teardown(&h);
	rd_server_fini(&srv);
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	unlink(path);
	rmdir(state_dir);
	return 0;
}

static struct wc_link_stats sums(void)
{
	struct wc_link_stats st;

	wc_link_stats_sum(&h.app, &st);
	return st;
}

/* ---- moving bytes: every connection takes its own, lcore 1 served by hand ---- */

/* Completions on lcore 0, each to its session's transport (as core/lcore.c does). */
static void complete_on_0(void)
{
	struct wc_mbox_req *done[32];
	unsigned n = wc_mbox_collect(h.app.mbox, 0, done, 32);

	for (unsigned i = 0; i < n; i++) {
		const struct mc_session *s = done[i]->cookie;

		if (s->owner_kind == MC_OWNER_LINK) {
			lc1_receivers += done[i]->u.call.acc;
			wc_link_srv_complete(h.lc, done[i]);
		} else {
			wc_rd_tcp_complete(h.lc, done[i]);
		}
	}
}

/* Run the node (lcore 1's mailbox too when serve_lc1) and hand every connection its bytes. */
static void pump(bool serve_lc1)
{
	for (int r = 0; r < 8; r++) {
		if (serve_lc1)
			wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 64);
		complete_on_0();
		wc_tcp_poll(h.lc);
		rd_push_output(h.lc);
		wc_net_flush(h.lc);
		for (unsigned i = 0; i < 4; i++)
			if (conns[i]->dport)
				dpc_take(&h, conns[i]);
		dp_clear_sent(&h);
		for (unsigned i = 0; i < 4; i++)
			if (conns[i]->dport && !conns[i]->rst)
				dpc_ack(&h, conns[i]);
	}
}

/* Send bytes on c (any size), then pump. */
static void send_raw(struct dpc *c, const void *data, size_t n, bool serve_lc1)
{
	uint8_t f[2048];
	const uint8_t *p = data;

	while (n) {
		size_t k = n < 1400 ? n : 1400;

		dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->seq, c->ack,
					     65535, p, k, NULL, 0));
		c->seq += (uint32_t)k;
		p += k;
		n -= k;
		pump(serve_lc1);
	}
}

/* A Redis command on c; what came back since (NUL-ended). */
static const char *redis(struct dpc *c, const char *cmd)
{
	static char out[8192];

	c->n = 0;
	send_raw(c, cmd, strlen(cmd), true);
	memcpy(out, c->buf, c->n < sizeof(out) - 1 ? c->n : sizeof(out) - 1);
	out[c->n < sizeof(out) - 1 ? c->n : sizeof(out) - 1] = 0;
	return out;
}

static bool has(const struct dpc *c, const char *needle)
{
	return memmem(c->buf, c->n, needle, strlen(needle)) != NULL;
}

/* ---- frames ---- */

/* A PUBLISH frame (channel, message) at b; its size. */
static size_t put_pub(uint8_t *b, const char *ch, const void *msg, size_t mlen)
{
	uint32_t cl = (uint32_t)strlen(ch), len = 4 + cl + (uint32_t)mlen;

	wc_link_hdr_put(b, &(struct wc_link_hdr){ .len = len, .kind = WC_LINK_PUBLISH });
	b[WC_LINK_HDR] = (uint8_t)(cl >> 24);
	b[WC_LINK_HDR + 1] = (uint8_t)(cl >> 16);
	b[WC_LINK_HDR + 2] = (uint8_t)(cl >> 8);
	b[WC_LINK_HDR + 3] = (uint8_t)cl;
	memcpy(b + WC_LINK_HDR + 4, ch, cl);
	memcpy(b + WC_LINK_HDR + 4 + cl, msg, mlen);
	return WC_LINK_HDR + len;
}

/* The PUBLISH frame at the front of B's bytes: its channel and message checked, then gone. */
static void peer_got_publish(const char *ch, const void *msg, size_t mlen)
{
	struct wc_link_hdr hd;
	const uint8_t *p;
	size_t cl = strlen(ch);

	assert_int_equal(wc_link_hdr_parse(peer.buf, peer.n, &hd), WC_LINK_OK);
	assert_int_equal(hd.kind, WC_LINK_PUBLISH);
	assert_int_equal(hd.id, 0);
	assert_int_equal(hd.len, 4 + cl + mlen);
	assert_true(peer.n >= WC_LINK_HDR + hd.len);
	p = peer.buf + WC_LINK_HDR;
	assert_int_equal((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3],
			 cl);
	assert_memory_equal(p + 4, ch, cl);
	assert_memory_equal(p + 4 + cl, msg, mlen);
	memmove(peer.buf, peer.buf + WC_LINK_HDR + hd.len, peer.n - WC_LINK_HDR - hd.len);
	peer.n -= WC_LINK_HDR + hd.len;
}

/* ---- B links into the dataplane ---- */

static void link_in(void)
{
	uint8_t f[256], nc[WC_LINK_NONCE], mac[WC_LINK_MAC];
	struct wc_link_hdr hd;

	memset(nc, 0x5a, sizeof(nc));
	assert_true(dpc_connect(&h, &in, CPORT, inbuf, sizeof(inbuf)));
	memcpy(f + WC_LINK_HDR, WC_LINK_MAGIC, 4);
	memcpy(f + WC_LINK_HDR + 4, nc, WC_LINK_NONCE);
	wc_link_hdr_put(f, &(struct wc_link_hdr){ .len = 4 + WC_LINK_NONCE, .kind = WC_LINK_HELLO });
	send_raw(&in, f, WC_LINK_HDR + 4 + WC_LINK_NONCE, true);
	assert_int_equal(wc_link_hdr_parse(in.buf, in.n, &hd), WC_LINK_OK);
	assert_int_equal(hd.kind, WC_LINK_CHALLENGE);
	assert_true(wc_link_mac_client(SECRET, in.buf + WC_LINK_HDR, nc, mac));
	in.n = 0;
	send_raw(&in, f, dpl_put(f, WC_LINK_AUTH, 0, mac, WC_LINK_MAC), true);
	assert_false(in.rst);
	assert_int_equal(in.n, 0);
}

/* ---- the dataplane links to B (198.18.0.1) ---- */

/* The dataplane opens its link to B: B accepts and proves the secret; the AUTH comes back. */
static void peer_accepts(void)
{
	uint8_t f[256], ch[WC_LINK_NONCE + WC_LINK_MAC], nc[WC_LINK_NONCE], mac[WC_LINK_MAC];
	struct wc_link_hdr hd;

	dpl_accept(&h, &peer, peerbuf, sizeof(peerbuf));
	pump(true);
	assert_int_equal(wc_link_hdr_parse(peer.buf, peer.n, &hd), WC_LINK_OK);
	assert_int_equal(hd.kind, WC_LINK_HELLO);
	memcpy(nc, peer.buf + WC_LINK_HDR + 4, WC_LINK_NONCE);
	memset(ch, 0x33, WC_LINK_NONCE);
	assert_true(wc_link_mac_server(SECRET, nc, ch, ch + WC_LINK_NONCE));
	peer.n = 0;
	send_raw(&peer, f, dpl_put(f, WC_LINK_CHALLENGE, 0, ch, sizeof(ch)), true);
	assert_int_equal(wc_link_hdr_parse(peer.buf, peer.n, &hd), WC_LINK_OK);
	assert_int_equal(hd.kind, WC_LINK_AUTH);
	assert_true(wc_link_mac_client(SECRET, ch, nc, mac));
	assert_true(wc_link_mac_equal(mac, peer.buf + WC_LINK_HDR));
	peer.n = 0;
	assert_int_equal(h.lc->link->peer[1].state, WC_LINK_UP);
}

/* ---- the tests ---- */

static void frame_lengths(void **state)
{
	(void)state;
	assert_false(wc_link_len_ok(WC_LINK_PUBLISH, 0));
	assert_false(wc_link_len_ok(WC_LINK_PUBLISH, 3));
	assert_true(wc_link_len_ok(WC_LINK_PUBLISH, 4));	/* an empty channel and message */
	assert_true(wc_link_len_ok(WC_LINK_PUBLISH, WC_LINK_FRAME_MAX));
	assert_false(wc_link_len_ok(WC_LINK_PUBLISH, WC_LINK_FRAME_MAX + 1));
	/* STATE frames (link_state.c): exactly a node id and an offset */
	assert_true(wc_link_len_ok(WC_LINK_STATE, WC_LINK_STATE_LEN));
	assert_false(wc_link_len_ok(WC_LINK_STATE, WC_LINK_STATE_LEN - 1));
	assert_false(wc_link_len_ok(WC_LINK_STATE, WC_LINK_STATE_LEN + 1));
}

/* Subscribers on both lcores: sub (channel and pattern) on 0, two fakes on 1. */
static void subscribers(void **state)
{
	(void)state;
	assert_true(dpc_connect(&h, &sub, RPORT, subbuf, sizeof(subbuf)));
	assert_true(dpc_connect(&h, &pub, RPORT, pubbuf, sizeof(pubbuf)));
	assert_string_equal(redis(&sub, "SUBSCRIBE news\r\n"),
			    "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
	assert_string_equal(redis(&sub, "PSUBSCRIBE n*\r\n"),
			    "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n");
	assert_int_equal(ps_subscribe(lc1->pubsub, &fake1[0], PS_CHANNEL,
				      (const uint8_t *)"news", 4), 1);
	assert_int_equal(ps_subscribe(lc1->pubsub, &fake1[1], PS_PATTERN,
				      (const uint8_t *)"n*", 2), 1);
}

static const char msg_hello[] = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
				"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n";

/* PUBLISH here: this node's subscribers, then B in a PUBLISH frame; the reply counts ours. */
static void publish_goes_to_the_other_node(void **state)
{
	struct wc_link_stats before;

	(void)state;
	dpl_commit_two(&h, &cstage, srv.node_id, 1);
	peer_accepts();
	before = sums();
	sub.n = 0;
	assert_string_equal(redis(&pub, "PUBLISH news hello\r\n"), ":4\r\n");
	peer_got_publish("news", "hello", 5);
	assert_int_equal(peer.n, 0);
	assert_int_equal(sums().publish_sent, before.publish_sent + 1);
	assert_int_equal(sums().publish_dropped, before.publish_dropped);
	assert_int_equal(sub.n, strlen(msg_hello));
	assert_memory_equal(sub.buf, msg_hello, sub.n);
	/* nobody listens here: still sent (B's subscribers may) */
	assert_string_equal(redis(&pub, "PUBLISH elsewhere x\r\n"), ":0\r\n");
	peer_got_publish("elsewhere", "x", 1);
}

/* A message larger than a receive buffer's piece (not contiguous) goes whole, in order. */
static void large_message_is_sent_whole(void **state)
{
	static const char tail[] = "\r\n*3\r\n$7\r\nPUBLISH\r\n$5\r\nsmall\r\n$1\r\nz\r\n";
	static char cmd[40100], msg[40000];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	n = (size_t)snprintf(cmd, sizeof(cmd), "*3\r\n$7\r\nPUBLISH\r\n$5\r\nlarge\r\n$%zu\r\n",
			     sizeof(msg));
	memcpy(cmd + n, msg, sizeof(msg));
	memcpy(cmd + n + sizeof(msg), tail, strlen(tail));
	pub.n = 0;
	send_raw(&pub, cmd, n + sizeof(msg) + strlen(tail), true);
	assert_int_equal(pub.n, 8);
	assert_memory_equal(pub.buf, ":0\r\n:0\r\n", 8);
	peer_got_publish("large", msg, sizeof(msg));
	peer_got_publish("small", "z", 1);
	assert_int_equal(peer.n, 0);
}

/* SPUBLISH stays within the shard: this node's subscribers only, nothing to B. */
static void spublish_is_not_sent(void **state)
{
	char cmd[128];
	uint64_t sent = sums().publish_sent, dropped = sums().publish_dropped;

	(void)state;
	snprintf(cmd, sizeof(cmd), "SPUBLISH %s hi\r\n", shard_mine);
	assert_string_equal(redis(&pub, cmd), ":0\r\n");
	assert_int_equal(peer.n, 0);
	assert_int_equal(sums().publish_sent, sent);
	assert_int_equal(sums().publish_dropped, dropped);
}

/* A transaction's PUBLISHes go to B after it ran, in order; its SPUBLISH does not. */
static void transaction_publishes_are_sent_in_order(void **state)
{
	char cmd[256];

	(void)state;
	assert_string_equal(redis(&pub, "MULTI\r\n"), "+OK\r\n");
	assert_string_equal(redis(&pub, "PUBLISH news t1\r\n"), "+QUEUED\r\n");
	snprintf(cmd, sizeof(cmd), "SPUBLISH %s t2\r\n", shard_mine);
	assert_string_equal(redis(&pub, cmd), "+QUEUED\r\n");
	assert_string_equal(redis(&pub, "PUBLISH other t3\r\n"), "+QUEUED\r\n");
	assert_int_equal(peer.n, 0);
	assert_string_equal(redis(&pub, "EXEC\r\n"), "*3\r\n:4\r\n:0\r\n:0\r\n");
	peer_got_publish("news", "t1", 2);
	peer_got_publish("other", "t3", 2);
	assert_int_equal(peer.n, 0);
}

/* B's PUBLISH: lcore 0's subscribers at once, lcore 1's by an owner call; nothing answers. */
static void publish_from_the_other_node_reaches_every_lcore(void **state)
{
	uint8_t f[512];
	size_t n;
	uint64_t received = sums().publish_received, sent = sums().publish_sent;

	(void)state;
	link_in();
	sub.n = 0;
	lc1_receivers = 0;
	/* two frames at once: the second waits until lcore 1 has the first */
	n = put_pub(f, "news", "hello", 5);
	n += put_pub(f + n, "news", "again", 5);
	send_raw(&in, f, n, false);
	assert_int_equal(sub.n, strlen(msg_hello));
	assert_memory_equal(sub.buf, msg_hello, sub.n);
	assert_int_equal(sums().publish_received, received + 1);
	assert_int_equal(lc1_receivers, 0);
	/* lcore 1 delivers (its channel and pattern subscriber) and the link goes on */
	assert_int_equal(wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 64), 1);
	pump(true);
	assert_int_equal(lc1_receivers, 4);
	assert_int_equal(sums().publish_received, received + 2);
	assert_true(has(&sub, "$5\r\nagain\r\n*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n"
			      "$5\r\nagain\r\n"));
	/* one-way: no answer on the link, and nothing sent on to other nodes */
	assert_int_equal(in.n, 0);
	assert_false(in.rst);
	assert_int_equal(peer.n, 0);
	assert_int_equal(sums().publish_sent, sent);
	/* a channel nobody here listens to, an empty message: received, delivered to none */
	sub.n = 0;
	send_raw(&in, f, put_pub(f, "quiet", "", 0), true);
	assert_int_equal(sub.n, 0);
	assert_int_equal(sums().publish_received, received + 3);
	/* a shard channel's name is just a channel here: SSUBSCRIBE'd names are not reached */
	assert_false(in.rst);
}

/* A PUBLISH frame with a wrong length resets the link; the subscribers get nothing. */
static void bad_publish_frame_resets_the_link(void **state)
{
	uint8_t f[64];

	(void)state;
	sub.n = 0;
	/* shorter than its channel's length field */
	wc_link_hdr_put(f, &(struct wc_link_hdr){ .len = 3, .kind = WC_LINK_PUBLISH });
	memcpy(f + WC_LINK_HDR, "abc", 3);
	send_raw(&in, f, WC_LINK_HDR + 3, true);
	assert_true(in.rst);
	/* a channel longer than the frame */
	link_in();
	put_pub(f, "news", "hello", 5);
	f[WC_LINK_HDR + 3] = 40;
	send_raw(&in, f, WC_LINK_HDR + 13, true);
	assert_true(in.rst);
	assert_int_equal(sub.n, 0);
	/* a PUBLISH before authentication gets nothing either */
	assert_true(dpc_connect(&h, &in, CPORT, inbuf, sizeof(inbuf)));
	send_raw(&in, f, put_pub(f, "news", "hello", 5), true);
	assert_true(in.rst);
	assert_int_equal(in.n, 0);
	assert_int_equal(sub.n, 0);
}

/* With the link down the message is published here, dropped for B and counted. */
static void down_link_drops_and_counts(void **state)
{
	uint8_t f[128];
	struct wc_link_stats before;

	(void)state;
	/* B resets its end */
	dp_input(&h, f, dp_tcp_ports(f, CPORT, peer.dport, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
				     peer.seq, peer.ack, 0, NULL, 0, NULL, 0));
	peer.rst = true;
	pump(true);
	assert_int_not_equal(h.lc->link->peer[1].state, WC_LINK_UP);
	before = sums();
	peer.n = 0;
	sub.n = 0;
	assert_string_equal(redis(&pub, "PUBLISH news hello\r\n"), ":4\r\n");
	assert_int_equal(sub.n, strlen(msg_hello));
	assert_int_equal(peer.n, 0);
	assert_int_equal(sums().publish_sent, before.publish_sent);
	assert_int_equal(sums().publish_dropped, before.publish_dropped + 1);
	/* the counters, in INFO's stats (cluster mode) */
	{
		char want[96];

		snprintf(want, sizeof(want), "cluster_bus_publish_dropped:%llu\r\n",
			 (unsigned long long)sums().publish_dropped);
		redis(&pub, "INFO stats\r\n");
		assert_true(has(&pub, want));
		snprintf(want, sizeof(want), "cluster_bus_publish_sent:%llu\r\n",
			 (unsigned long long)sums().publish_sent);
		assert_true(has(&pub, want));
		assert_true(has(&pub, "cluster_bus_publish_received:"));
	}
	/* and the link comes back: B gets what is published from then on */
	peer_accepts();
	assert_string_equal(redis(&pub, "PUBLISH news back\r\n"), ":4\r\n");
	peer_got_publish("news", "back", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_lengths),
		cmocka_unit_test(subscribers),
		cmocka_unit_test(publish_goes_to_the_other_node),
		cmocka_unit_test(large_message_is_sent_whole),
		cmocka_unit_test(spublish_is_not_sent),
		cmocka_unit_test(transaction_publishes_are_sent_in_order),
		cmocka_unit_test(publish_from_the_other_node_reaches_every_lcore),
		cmocka_unit_test(bad_publish_frame_resets_the_link),
		cmocka_unit_test(down_link_drops_and_counts),
	};

	return cmocka_run_group_tests(tests, dp_up, dp_down);
}
