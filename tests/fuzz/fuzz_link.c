/*
 * fuzz_link.c - libFuzzer harness for node-to-node link frames
 * (cluster/frame.h) and the owner's side of a link (cluster/link_srv.c).
 *
 * Input: the first byte holds flags (bit 0: authenticate first, as a peer
 * with the secret would; bits 4-7: segment size in 64-byte steps), then
 * the bytes a peer sends on its link to the node's cluster bus port, cut
 * into segments. Checked: every header wc_link_hdr_parse accepts writes
 * back to the same bytes; everything the node sends back is a sequence of
 * well-formed frames, a CHALLENGE and then only MC_REP frames answering,
 * in order, the ids of the requests it ran (PUBLISH frames are delivered to
 * the node's subscribers and never answered); a peer that never
 * authenticated gets nothing but the CHALLENGE.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/dp_tcpclient.h"
#include "cluster/frame.h"
#include "cluster/link.h"
#include "redis/server.h"

#define SECRET "fuzz-link-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_harness h;
static struct rd_server srv;
static uint8_t buf[1 << 20];

static void with_cluster(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = 6379;
	c->max_conns = 16;
	c->cluster = true;
	c->cluster_secret = SECRET;
	c->tcp_idle_ms = 3000;
	app->rd = &srv;
}

static void check_header(const uint8_t *p, size_t n)
{
	struct wc_link_hdr hd;
	uint8_t back[WC_LINK_HDR];

	if (wc_link_hdr_parse(p, n, &hd) != WC_LINK_OK)
		return;
	wc_link_hdr_put(back, &hd);
	if (memcmp(back, p, WC_LINK_HDR) != 0)
		abort();
}

/* The node's answer: a CHALLENGE first (if any), then MC_REP frames only. */
static void check_output(const struct dpc *c, bool authed)
{
	size_t off = 0;
	unsigned nframes = 0;

	while (off < c->n) {
		struct wc_link_hdr hd;

		if (wc_link_hdr_parse(c->buf + off, c->n - off, &hd) != WC_LINK_OK ||
		    c->n - off < WC_LINK_HDR + hd.len)
			abort();	/* the node only ever sends whole frames */
		if (nframes == 0 ? hd.kind != WC_LINK_CHALLENGE : hd.kind != WC_LINK_MC_REP)
			abort();
		if (!authed && nframes > 0)
			abort();	/* an unauthenticated peer gets nothing */
		off += WC_LINK_HDR + hd.len;
		nframes++;
	}
}

static void *slotkeys_state;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static char state_dir[64];
	struct dpc c;
	bool authed = false;
	size_t seg;

	if (!ready) {
		if (dp_eal_init() != 0)
			abort();
		rd_cmds_init();
		snprintf(state_dir, sizeof(state_dir), "/tmp/wc-fuzzlink-XXXXXX");
		if (!mkdtemp(state_dir) ||
		    rd_server_init(&srv, state_dir, 6379, true, "198.18.0.11", 0, 16u << 20,
				   1u << 20, NULL, NULL, "fuzz") != 0 ||
		    dp_setup(&h, with_cluster) != 0)
			abort();
		dp_freeze_clock(&h);
		dp_learn_client(&h);
		/* the lcore lives in DPDK memory, which LeakSanitizer does not scan: its
		 * slot key listing (malloc'ed, redis/slotkeys.h) is held here too */
		slotkeys_state = h.lc->slotkeys;
		ready = 1;
	}
	for (size_t i = 0; i + WC_LINK_HDR <= size && i < 64; i++)
		check_header(data + i, size - i);
	if (size < 1)
		return 0;
	seg = ((data[0] >> 4) + 1u) * 64u;
	if (!dpc_connect(&h, &c, 16379, buf, sizeof(buf)))
		abort();
	if (data[0] & 1) {
		uint8_t f[WC_LINK_HDR + 4 + WC_LINK_NONCE], a[WC_LINK_HDR + WC_LINK_MAC];
		uint8_t nc[WC_LINK_NONCE];
		struct wc_link_hdr hd;

		memset(nc, 0x5a, sizeof(nc));
		wc_link_hdr_put(f, &(struct wc_link_hdr){ .len = 4 + WC_LINK_NONCE,
							  .kind = WC_LINK_HELLO });
		memcpy(f + WC_LINK_HDR, WC_LINK_MAGIC, 4);
		memcpy(f + WC_LINK_HDR + 4, nc, WC_LINK_NONCE);
		dpc_send(&h, &c, f, sizeof(f), 0);
		if (wc_link_hdr_parse(c.buf, c.n, &hd) != WC_LINK_OK ||
		    hd.kind != WC_LINK_CHALLENGE || c.n != WC_LINK_HDR + hd.len)
			abort();
		wc_link_hdr_put(a, &(struct wc_link_hdr){ .len = WC_LINK_MAC, .kind = WC_LINK_AUTH });
		if (!wc_link_mac_client(SECRET, c.buf + WC_LINK_HDR, nc, a + WC_LINK_HDR))
			abort();
		dpc_send(&h, &c, a, sizeof(a), 0);
		if (c.rst)
			abort();
		authed = true;
	}
	dpc_send(&h, &c, data + 1, size - 1, seg);
	for (int i = 0; i < 4; i++) {
		h.lc->tcp->now_ms += 50;
		h.lc->tcp->now_us += 50000;
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		dpc_drain(&h, &c);
		dpc_ack(&h, &c);
		dpc_drain(&h, &c);
	}
	check_output(&c, authed);
	if (!c.rst)
		dpc_close(&h, &c);
	/* whatever is left closes over time */
	for (int i = 0; i < 8 && wc_tcp_active(h.lc); i++) {
		h.lc->tcp->now_ms += 4000;
		h.lc->tcp->now_us += 4000000;
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		dp_clear_sent(&h);
	}
	return 0;
}
