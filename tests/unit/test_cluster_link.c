/*
 * test_cluster_link.c - node-to-node links (cluster/link.h) on a NIC-less
 * dataplane, the test playing the other node: as a link client to the
 * dataplane's cluster bus port (the handshake with the right secret, a
 * wrong one, frames before authentication, forwarded requests run and
 * answered), and as the owner node the dataplane links to (its handshake,
 * memcached requests for that node's keys forwarded over TCP and UDP with
 * their replies unchanged and in pipeline order, a dead link and an
 * unanswered request answering SERVER_ERROR).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/slots.h"
#include "dp_link.h"
#include "redis/server.h"
#include "wirecache/slot.h"

#define RPORT 6379
#define CPORT DPL_CPORT
#define SECRET "link-test-secret"

static struct dp_harness h;
static struct rd_server srv;
static char state_dir[64];
static struct wc_cmap_stage *cstage;
static char key_mine[32], key_b[32], key_b2[32];
static uint8_t pbuf[1 << 16], cbuf[1 << 16], lbuf[1 << 16];

static void with_cluster(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = RPORT;
	c->max_conns = 64;
	c->cluster = true;
	c->cluster_secret = SECRET;
	app->rd = &srv;
}

static const char *ctl(const char *text)
{
	return dpl_ctl(&h, &cstage, text);
}

static int dp_up(void **state)
{
	(void)state;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc-link-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	if (rd_server_init(&srv, state_dir, RPORT, true, "198.18.0.11", 0, 16u << 20, 1u << 20,
			   NULL, NULL, "test") != 0)
		return -1;
	if (dp_setup(&h, with_cluster) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	dpl_key_in(key_mine, sizeof(key_mine), 0, 8191, 0);
	dpl_key_in(key_b, sizeof(key_b), 8192, 16383, 0);
	dpl_key_in(key_b2, sizeof(key_b2), 8192, 16383, 1000);
	return 0;
}

static int dp_down(void **state)
{
	char path[128];

	(void)state;
	wc_cmap_stage_drop(&cstage);
	dp_teardown(&h);
	rd_server_fini(&srv);
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	unlink(path);
	rmdir(state_dir);
	return 0;
}

static const struct wc_link_stats *lst(void)
{
	return &h.lc->link->st;
}

/* ---- frames ---- */

/* The one whole frame at the front of c's bytes (false if none). */
static bool got_frame(const struct dpc *c, struct wc_link_hdr *hd, const uint8_t **payload)
{
	if (wc_link_hdr_parse(c->buf, c->n, hd) != WC_LINK_OK || c->n < WC_LINK_HDR + hd->len)
		return false;
	*payload = c->buf + WC_LINK_HDR;
	return true;
}

/* Send raw bytes on c alone. */
static void send_on(struct dpc *c, const void *p, size_t n)
{
	c->n = 0;
	dpc_send(&h, c, p, n, 0);
}

/* ---- the dataplane as the owner: the test is a link client ---- */

static bool link_in(struct dpc *c, const char *secret, uint8_t *buf)
{
	uint8_t f[256], nc[WC_LINK_NONCE], mac[WC_LINK_MAC];
	const uint8_t *p = NULL;
	struct wc_link_hdr hd;

	memset(nc, 0x42, sizeof(nc));
	assert_true(dpc_connect(&h, c, CPORT, buf, sizeof(pbuf)));
	memcpy(f + WC_LINK_HDR, WC_LINK_MAGIC, 4);
	memcpy(f + WC_LINK_HDR + 4, nc, WC_LINK_NONCE);
	wc_link_hdr_put(f, &(struct wc_link_hdr){ .len = 4 + WC_LINK_NONCE, .kind = WC_LINK_HELLO });
	send_on(c, f, WC_LINK_HDR + 4 + WC_LINK_NONCE);
	assert_true(got_frame(c, &hd, &p));
	assert_int_equal(hd.kind, WC_LINK_CHALLENGE);
	/* the server proves the secret over our nonce */
	assert_true(wc_link_mac_server(SECRET, nc, p, mac));
	assert_true(wc_link_mac_equal(mac, p + WC_LINK_NONCE));
	assert_true(wc_link_mac_client(secret, p, nc, mac));
	send_on(c, f, dpl_put(f, WC_LINK_AUTH, 0, mac, WC_LINK_MAC));
	return !c->rst;
}

/* A forwarded request on link c; the reply's payload (NUL-ended), or NULL. */
static const char *link_ask(struct dpc *c, uint32_t id, const char *req)
{
	static char reply[4096];
	uint8_t f[4096];
	const uint8_t *p = NULL;
	struct wc_link_hdr hd;

	send_on(c, f, dpl_put(f, WC_LINK_MC_REQ, id, req, (uint32_t)strlen(req)));
	if (!got_frame(c, &hd, &p))
		return NULL;
	assert_int_equal(hd.kind, WC_LINK_MC_REP);
	assert_int_equal(hd.id, id);
	memcpy(reply, p, hd.len);
	reply[hd.len] = 0;
	return reply;
}

static void owner_runs_forwarded_requests(void **state)
{
	struct dpc c;
	uint64_t served = lst()->fwd_served;

	(void)state;
	assert_true(link_in(&c, SECRET, pbuf));
	assert_string_equal(link_ask(&c, 7, "set lk 5 0 3\r\nabc\r\n"), "STORED\r\n");
	assert_string_equal(link_ask(&c, 8, "get lk\r\n"), "VALUE lk 5 3\r\nabc\r\nEND\r\n");
	assert_string_equal(link_ask(&c, 9, "mg lk v f\r\n"), "VA 3 f5\r\nabc\r\n");
	assert_string_equal(link_ask(&c, 10, "set lk 0 0 1 noreply\r\nz\r\n"), "");
	assert_string_equal(link_ask(&c, 11, "delete lk\r\n"), "DELETED\r\n");
	assert_string_equal(link_ask(&c, 12, "delete lk\r\n"), "NOT_FOUND\r\n");
	assert_int_equal(lst()->fwd_served, served + 6);
	dpc_close(&h, &c);
}

static void wrong_secret_gets_nothing(void **state)
{
	struct dpc c;
	uint64_t failed = lst()->link_auth_failed;

	(void)state;
	assert_false(link_in(&c, "not-the-secret", pbuf));
	assert_true(c.rst);
	assert_int_equal(lst()->link_auth_failed, failed + 1);
}

static void request_before_auth_gets_nothing(void **state)
{
	struct dpc c;
	uint8_t f[256];
	const char *req = "get x\r\n";

	(void)state;
	assert_true(dpc_connect(&h, &c, CPORT, pbuf, sizeof(pbuf)));
	send_on(&c, f, dpl_put(f, WC_LINK_MC_REQ, 1, req, (uint32_t)strlen(req)));
	assert_true(c.rst);
	assert_int_equal(c.n, 0);
	/* and a frame that is no frame at all */
	assert_true(dpc_connect(&h, &c, CPORT, pbuf, sizeof(pbuf)));
	send_on(&c, "get x\r\nget y\r\n", 14);
	assert_true(c.rst);
	assert_int_equal(c.n, 0);
}

/* ---- the dataplane as the requester: the test is node B at 198.18.0.1 ---- */

static struct dpc peer, cli;
static uint8_t pnc[WC_LINK_NONCE];

static void link_poll(unsigned ms)
{
	dpl_poll(&h, ms);
}

/* Take what the dataplane sent to the peer and to the client; ack both. */
static void collect(void)
{
	for (int i = 0; i < 3; i++) {
		dpc_take(&h, &peer);
		dpc_drain(&h, &cli);
		if (peer.dport)
			dpc_ack(&h, &peer);
		if (cli.dport)
			dpc_ack(&h, &cli);
	}
}

static void peer_send(const void *p, size_t n)
{
	uint8_t f[2048];

	dp_input(&h, f, dp_tcp_ports(f, CPORT, peer.dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     peer.seq, peer.ack, 65535, p, n, NULL, 0));
	peer.seq += (uint32_t)n;
	collect();
}

static void cli_send(const char *text)
{
	uint8_t f[2048];
	size_t n = strlen(text);

	cli.n = 0;
	dp_input(&h, f, dp_tcp_ports(f, cli.cport, 11211, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     cli.seq, cli.ack, 65535, text, n, NULL, 0));
	cli.seq += (uint32_t)n;
	collect();
}

static void commit_two(unsigned epoch)
{
	dpl_commit_two(&h, &cstage, srv.node_id, epoch);
}

/* The dataplane opens its link to B: accept it; the handshake with B's secret. */
static void peer_accepts(const char *secret)
{
	uint8_t f[256], ch[WC_LINK_NONCE + WC_LINK_MAC];
	struct wc_link_hdr hd;
	const uint8_t *p = NULL;

	dpl_accept(&h, &peer, pbuf, sizeof(pbuf));
	collect();
	/* HELLO: the magic and the requester's nonce */
	assert_true(got_frame(&peer, &hd, &p));
	assert_int_equal(hd.kind, WC_LINK_HELLO);
	assert_memory_equal(p, WC_LINK_MAGIC, 4);
	memcpy(pnc, p + 4, WC_LINK_NONCE);
	memset(ch, 0x33, WC_LINK_NONCE);
	assert_true(wc_link_mac_server(secret, pnc, ch, ch + WC_LINK_NONCE));
	peer.n = 0;
	peer_send(f, dpl_put(f, WC_LINK_CHALLENGE, 0, ch, sizeof(ch)));
}

/* The requester's AUTH proves the secret over B's nonce. */
static void peer_checks_auth(void)
{
	uint8_t ns[WC_LINK_NONCE], mac[WC_LINK_MAC];
	struct wc_link_hdr hd;
	const uint8_t *p = NULL;

	memset(ns, 0x33, sizeof(ns));
	assert_true(got_frame(&peer, &hd, &p));
	assert_int_equal(hd.kind, WC_LINK_AUTH);
	assert_true(wc_link_mac_client(SECRET, ns, pnc, mac));
	assert_true(wc_link_mac_equal(mac, p));
	peer.n = 0;
}

/* The frame B received (a forwarded request): its id, and its payload checked. */
static uint32_t peer_got_request(const char *want)
{
	struct wc_link_hdr hd;
	const uint8_t *p = NULL;
	size_t n = strlen(want);

	assert_true(got_frame(&peer, &hd, &p));
	assert_int_equal(hd.kind, WC_LINK_MC_REQ);
	assert_int_equal(hd.len, n);
	assert_memory_equal(p, want, n);
	memmove(peer.buf, peer.buf + WC_LINK_HDR + n, peer.n - WC_LINK_HDR - n);
	peer.n -= WC_LINK_HDR + n;
	return hd.id;
}

static void peer_replies(uint32_t id, const char *reply)
{
	uint8_t f[2048];

	peer_send(f, dpl_put(f, WC_LINK_MC_REP, id, reply, (uint32_t)strlen(reply)));
}

static const char *cli_text(void)
{
	static char t[4096];

	memcpy(t, cli.buf, cli.n);
	t[cli.n] = 0;
	return t;
}

static void requester_authenticates_and_forwards(void **state)
{
	char req[256], want[256];
	uint32_t id;
	uint64_t fwd = lst()->fwd_requests;

	(void)state;
	commit_two(1);
	peer_accepts(SECRET);
	peer_checks_auth();
	assert_int_equal(h.lc->link->peer[1].state, WC_LINK_UP);
	assert_true(dpc_connect(&h, &cli, 11211, cbuf, sizeof(cbuf)));

	/* set: the request goes to B byte for byte, B's reply comes back unchanged */
	snprintf(req, sizeof(req), "set %s 3 0 5\r\nhello\r\n", key_b);
	cli_send(req);
	assert_int_equal(cli.n, 0);	/* waiting for B */
	id = peer_got_request(req);
	peer_replies(id, "STORED\r\n");
	assert_string_equal(cli_text(), "STORED\r\n");

	/* get (the single-get fast path must not answer it here) */
	snprintf(req, sizeof(req), "get %s\r\n", key_b);
	cli_send(req);
	id = peer_got_request(req);
	snprintf(want, sizeof(want), "VALUE %s 3 5\r\nhello\r\nEND\r\n", key_b);
	peer_replies(id, want);
	assert_string_equal(cli_text(), want);

	/* meta, and delete */
	snprintf(req, sizeof(req), "mg %s v t\r\n", key_b);
	cli_send(req);
	peer_replies(peer_got_request(req), "VA 5 t-1\r\nhello\r\n");
	assert_string_equal(cli_text(), "VA 5 t-1\r\nhello\r\n");
	snprintf(req, sizeof(req), "delete %s\r\n", key_b);
	cli_send(req);
	peer_replies(peer_got_request(req), "DELETED\r\n");
	assert_string_equal(cli_text(), "DELETED\r\n");
	assert_int_equal(lst()->fwd_requests, fwd + 4);
	assert_true(lst()->fwd_answered >= 4);
}

static void pipeline_keeps_order(void **state)
{
	char req[512], own[64], fwd1[64], fwd2[96], want[512];
	uint32_t id;

	(void)state;
	snprintf(own, sizeof(own), "set %s 0 0 2\r\nme\r\n", key_mine);
	cli_send(own);
	assert_string_equal(cli_text(), "STORED\r\n");
	snprintf(fwd1, sizeof(fwd1), "get %s\r\n", key_b);
	snprintf(fwd2, sizeof(fwd2), "get %s %s\r\n", key_b, key_b2);
	/* own, foreign, own, foreign (two keys of B: one request), own */
	snprintf(req, sizeof(req), "get %s\r\n%sget %s\r\n%sversion\r\n", key_mine, fwd1, key_mine,
		 fwd2);
	cli_send(req);
	snprintf(want, sizeof(want), "VALUE %s 0 2\r\nme\r\nEND\r\n", key_mine);
	assert_string_equal(cli_text(), want);	/* the rest waits behind B's answer */
	id = peer_got_request(fwd1);
	assert_int_equal(peer.n, 0);	/* one forwarded request of a connection at a time */
	peer_replies(id, "VALUE b 0 1\r\n1\r\nEND\r\n");
	id = peer_got_request(fwd2);
	peer_replies(id, "VALUE b 0 1\r\n2\r\nEND\r\n");
	snprintf(want, sizeof(want),
		 "VALUE %s 0 2\r\nme\r\nEND\r\nVALUE b 0 1\r\n1\r\nEND\r\n"
		 "VALUE %s 0 2\r\nme\r\nEND\r\nVALUE b 0 1\r\n2\r\nEND\r\nVERSION ",
		 key_mine, key_mine);
	/* (the client's buffer holds everything since the command was sent) */
	assert_int_equal(strncmp(cli_text(), want, strlen(want)), 0);
	/* a get mixing this node's keys and B's: key by key, in order, one END */
	snprintf(req, sizeof(req), "gets %s %s %s\r\n", key_b, key_mine, key_b2);
	cli_send(req);
	assert_int_equal(cli.n, 0);
	snprintf(fwd1, sizeof(fwd1), "gets %s\r\n", key_b);
	peer_replies(peer_got_request(fwd1), "VALUE b 0 1 77\r\n1\r\nEND\r\n");
	snprintf(fwd2, sizeof(fwd2), "gets %s\r\n", key_b2);
	peer_replies(peer_got_request(fwd2), "END\r\n");	/* a miss */
	snprintf(want, sizeof(want), "VALUE b 0 1 77\r\n1\r\nVALUE %s 0 2 #\r\nme\r\nEND\r\n",
		 key_mine);
	if (!dpc_matches(want, cli.buf, cli.n))
		fail_msg("got '%s'", cli_text());
	/* the same with B's answer an error: it ends the get there */
	snprintf(req, sizeof(req), "get %s %s %s\r\n", key_mine, key_b, key_b2);
	cli_send(req);
	snprintf(fwd1, sizeof(fwd1), "get %s\r\n", key_b);
	peer_replies(peer_got_request(fwd1), "SERVER_ERROR out of memory\r\n");
	assert_int_equal(peer.n, 0);	/* key_b2 is not asked for */
	snprintf(want, sizeof(want), "VALUE %s 0 2\r\nme\r\nSERVER_ERROR out of memory\r\n",
		 key_mine);
	assert_string_equal(cli_text(), want);
}

static void udp_is_forwarded(void **state)
{
	static const char reply[] = "VALUE u 0 1\r\nx\r\nEND\r\n";
	uint8_t f[2048], rf[256];
	char req[128];
	uint32_t id;
	unsigned found = 0;

	(void)state;
	snprintf(req, sizeof(req), "get %s\r\n", key_b);
	dp_clear_sent(&h);
	dp_input(&h, f, dp_mc_udp(f, 9, 0, 1, req, strlen(req), DP_CLIENT));
	dpc_take(&h, &peer);
	id = peer_got_request(req);
	/* B answers; the datagram to the client carries its reply unchanged */
	dp_clear_sent(&h);
	dp_input(&h, f, dp_tcp_ports(f, CPORT, peer.dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     peer.seq, peer.ack, 65535, rf,
				     dpl_put(rf, WC_LINK_MC_REP, id, reply, sizeof(reply) - 1), NULL, 0));
	peer.seq += (uint32_t)(WC_LINK_HDR + sizeof(reply) - 1);
	for (unsigned k = 0; k < h.nsent; k++) {
		const uint8_t *p = rte_pktmbuf_mtod(h.sent[k], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
		const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(ip + 1);
		uint16_t hdr[4];

		if (ip->next_proto_id != IPPROTO_UDP)
			continue;
		memcpy(hdr, u + 1, sizeof(hdr));
		assert_int_equal(rte_be_to_cpu_16(hdr[0]), 9);	/* the request's id */
		assert_int_equal(rte_be_to_cpu_16(u->dgram_len) - 16u, sizeof(reply) - 1);
		assert_memory_equal((const uint8_t *)(u + 1) + 8, reply, sizeof(reply) - 1);
		found++;
	}
	assert_int_equal(found, 1);
	collect();
}

static void no_secret_no_listener(void **state)
{
	struct dpc c;
	const char *secret = h.app.cfg.cluster_secret;

	(void)state;
	h.app.cfg.cluster_secret = NULL;
	assert_false(dpc_connect(&h, &c, CPORT, pbuf, sizeof(pbuf)));	/* a RST */
	h.app.cfg.cluster_secret = secret;
	assert_true(dpc_connect(&h, &c, CPORT, pbuf, sizeof(pbuf)));
	dpc_close(&h, &c);
}

static void forward_off_answers_moved(void **state)
{
	int (*fwd)(struct mc_env *, struct mc_session *, struct mc_inq *,
		   const struct mc_route *) = h.lc->env.forward;
	uint64_t n = lst()->fwd_requests;
	char req[128];

	(void)state;
	/* --mc-forward off leaves the hook unset (core/lcore.c) */
	h.lc->env.forward = NULL;
	snprintf(req, sizeof(req), "get %s\r\n", key_b);
	cli_send(req);
	assert_string_equal(cli_text(), "SERVER_ERROR moved 198.18.0.1:11211\r\n");
	assert_int_equal(peer.n, 0);
	assert_int_equal(lst()->fwd_requests, n);
	h.lc->env.forward = fwd;
}

static void flush_all_reaches_every_node(void **state)
{
	char req[128], want[128];

	(void)state;
	/* flush_all here flushes B too: sent on, answered here, B's answer dropped */
	cli_send("flush_all\r\n");
	assert_string_equal(cli_text(), "OK\r\n");
	(void)peer_got_request("flush_all\r\n");
	cli.n = 0;
	peer_replies(h.lc->link->peer[1].wait[h.lc->link->peer[1].whead].id, "OK\r\n");
	assert_int_equal(cli.n, 0);
	assert_int_equal(h.lc->link->peer[1].nwait, 0);
	/* and in order with what follows on the link */
	snprintf(req, sizeof(req), "flush_all noreply\r\nget %s\r\n", key_b);
	cli_send(req);
	(void)peer_got_request("flush_all noreply\r\n");
	snprintf(want, sizeof(want), "get %s\r\n", key_b);
	(void)peer_got_request(want);
	assert_int_equal(cli.n, 0);
	peer_replies(h.lc->link->peer[1].wait[h.lc->link->peer[1].whead].id, "");
	peer_replies(h.lc->link->peer[1].wait[h.lc->link->peer[1].whead].id, "END\r\n");
	assert_string_equal(cli_text(), "END\r\n");
}

/*
 * A slot moving from this node to B (memcached's ASK, core/slots.h): a key
 * still here is served here; one already gone goes to B with ASKING, also
 * when the request came over a link (sent on once more); B's requests with
 * ASKING for a slot this node imports from B are served here, without it
 * they get B's moved line.
 */
static void moving_slots_ask_over_links(void **state)
{
	char here[64], gone[64], imp[64], req[256], mig_line[128], imp_line[128], want[256];
	const char *more[] = { mig_line, imp_line, NULL };
	uint8_t f[1024];
	const uint8_t *p = NULL;
	struct wc_link_hdr hd;
	struct dpc c;
	uint32_t id;

	(void)state;
	snprintf(here, sizeof(here), "{%s}here", key_mine);
	snprintf(gone, sizeof(gone), "{%s}gone", key_mine);
	snprintf(imp, sizeof(imp), "{%s}imp", key_b);
	snprintf(req, sizeof(req), "set %s 0 0 1\r\nh\r\n", here);
	cli_send(req);
	assert_string_equal(cli_text(), "STORED\r\n");
	snprintf(mig_line, sizeof(mig_line), "CMAP MIGRATING %u %u " DPL_ID_B,
		 wc_key_slot((const uint8_t *)here, (uint32_t)strlen(here)),
		 wc_key_slot((const uint8_t *)here, (uint32_t)strlen(here)));
	snprintf(imp_line, sizeof(imp_line), "CMAP IMPORTING %u %u " DPL_ID_B,
		 wc_key_slot((const uint8_t *)imp, (uint32_t)strlen(imp)),
		 wc_key_slot((const uint8_t *)imp, (uint32_t)strlen(imp)));
	dpl_commit_two_with(&h, &cstage, srv.node_id, 5, more);
	link_poll(WC_LINK_SYNC_MS + 1);
	assert_int_equal(h.lc->link->peer[1].state, WC_LINK_UP);

	/* here: served here (a write too) */
	snprintf(req, sizeof(req), "get %s\r\n", here);
	cli_send(req);
	snprintf(want, sizeof(want), "VALUE %s 0 1\r\nh\r\nEND\r\n", here);
	assert_string_equal(cli_text(), want);
	/* gone: to B, with ASKING */
	snprintf(req, sizeof(req), "set %s 9 0 2\r\ngg\r\n", gone);
	cli_send(req);
	assert_int_equal(cli.n, 0);
	assert_true(got_frame(&peer, &hd, &p));
	assert_int_equal(hd.flags & WC_LINK_F_ASKING, WC_LINK_F_ASKING);
	id = peer_got_request(req);
	peer_replies(id, "STORED\r\n");
	assert_string_equal(cli_text(), "STORED\r\n");

	/* over a link (a third node's request for a key it thinks is ours) */
	assert_true(link_in(&c, SECRET, lbuf));
	snprintf(req, sizeof(req), "get %s\r\n", gone);
	{
		/* sent without draining what goes to B meanwhile (send_on would) */
		uint8_t pkt[2048];
		size_t n = dpl_put(f, WC_LINK_MC_REQ, 31, req, (uint32_t)strlen(req));

		c.n = 0;
		dp_input(&h, pkt, dp_tcp_ports(pkt, c.cport, c.dport,
					       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq, c.ack,
					       65535, f, n, NULL, 0));
		c.seq += (uint32_t)n;
		dpc_take(&h, &c);
		collect();
	}
	assert_int_equal(c.n, 0);	/* waiting for B */
	assert_true(got_frame(&peer, &hd, &p));
	assert_int_equal(hd.flags & WC_LINK_F_ASKING, WC_LINK_F_ASKING);
	id = peer_got_request(req);
	snprintf(want, sizeof(want), "VALUE %s 9 2\r\ngg\r\nEND\r\n", gone);
	{
		/* B answers; what the dataplane sends c on is taken before collect drains it */
		uint8_t pkt[2048];
		size_t n = dpl_put(f, WC_LINK_MC_REP, id, want, (uint32_t)strlen(want));

		dp_input(&h, pkt, dp_tcp_ports(pkt, CPORT, peer.dport,
					       RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, peer.seq,
					       peer.ack, 65535, f, n, NULL, 0));
		peer.seq += (uint32_t)n;
		c.n = 0;
		dpc_take(&h, &c);
		collect();
	}
	assert_true(got_frame(&c, &hd, &p));
	assert_int_equal(hd.kind, WC_LINK_MC_REP);
	assert_int_equal(hd.id, 31);
	assert_int_equal(hd.len, strlen(want));
	assert_memory_equal(p, want, hd.len);

	/* the slot imported from B: B's ASKING requests are served here */
	snprintf(req, sizeof(req), "set %s 0 0 3\r\nimp\r\n", imp);
	wc_link_hdr_put(f, &(struct wc_link_hdr){ .len = (uint32_t)strlen(req), .id = 32,
						   .kind = WC_LINK_MC_REQ,
						   .flags = WC_LINK_F_ASKING });
	memcpy(f + WC_LINK_HDR, req, strlen(req));
	send_on(&c, f, WC_LINK_HDR + strlen(req));
	assert_true(got_frame(&c, &hd, &p));
	assert_int_equal(hd.id, 32);
	assert_memory_equal(p, "STORED\r\n", 8);
	snprintf(req, sizeof(req), "get %s\r\n", imp);
	send_on(&c, f, dpl_put(f, WC_LINK_MC_REQ, 33, req, (uint32_t)strlen(req)));
	assert_true(got_frame(&c, &hd, &p));
	assert_int_equal(hd.id, 33);
	assert_memory_equal(p, "SERVER_ERROR moved 198.18.0.1:11211\r\n", hd.len);
	dpc_close(&h, &c);
	commit_two(6);	/* the move is over */
}

static void unanswered_request_times_out_then_moved(void **state)
{
	char req[128];
	uint64_t timeouts = lst()->fwd_timeouts;

	(void)state;
	snprintf(req, sizeof(req), "get %s\r\n", key_b);
	cli_send(req);
	(void)peer_got_request(req);
	assert_int_equal(cli.n, 0);
	link_poll(WC_LINK_REPLY_MS + 50);
	collect();
	assert_string_equal(cli_text(), "SERVER_ERROR forwarding timed out\r\n");
	assert_int_equal(lst()->fwd_timeouts, timeouts + 1);
	assert_true(peer.rst);	/* the link was reset */
	assert_int_not_equal(h.lc->link->peer[1].state, WC_LINK_UP);
	/* the link is down: the moved line, at once */
	cli_send(req);
	assert_string_equal(cli_text(), "SERVER_ERROR moved 198.18.0.1:11211\r\n");
}

static void peer_with_wrong_secret_is_dropped(void **state)
{
	char req[128];
	uint64_t failed = lst()->link_auth_failed;

	(void)state;
	/* the link comes back (back-off); B proves a different secret */
	peer_accepts("some-other-secret");
	assert_true(peer.rst);
	assert_int_equal(peer.n, 0);	/* no AUTH, nothing */
	assert_int_equal(lst()->link_auth_failed, failed + 1);
	snprintf(req, sizeof(req), "get %s\r\n", key_b);
	cli_send(req);
	assert_string_equal(cli_text(), "SERVER_ERROR moved 198.18.0.1:11211\r\n");
	/* the node leaves the map: its link is not tried again */
	{
		char text[256];

		assert_string_equal(ctl("CMAP BEGIN 7"), "OK\n");
		snprintf(text, sizeof(text),
			 "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself", srv.node_id);
		assert_string_equal(ctl(text), "OK\n");
		snprintf(text, sizeof(text), "CMAP SLOTS 0 16383 %s", srv.node_id);
		assert_string_equal(ctl(text), "OK\n");
		assert_int_equal(ctl("CMAP COMMIT")[0], 'O');
	}
	link_poll(WC_LINK_BACKOFF_MAX_MS + 100);
	assert_int_equal(h.lc->link->peer[1].state, WC_LINK_NONE);
	dpc_close(&h, &cli);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(owner_runs_forwarded_requests),
		cmocka_unit_test(wrong_secret_gets_nothing),
		cmocka_unit_test(request_before_auth_gets_nothing),
		cmocka_unit_test(no_secret_no_listener),
		cmocka_unit_test(requester_authenticates_and_forwards),
		cmocka_unit_test(pipeline_keeps_order),
		cmocka_unit_test(udp_is_forwarded),
		cmocka_unit_test(forward_off_answers_moved),
		cmocka_unit_test(flush_all_reaches_every_node),
		cmocka_unit_test(moving_slots_ask_over_links),
		cmocka_unit_test(unanswered_request_times_out_then_moved),
		cmocka_unit_test(peer_with_wrong_secret_is_dropped),
	};

	return cmocka_run_group_tests(tests, dp_up, dp_down);
}
