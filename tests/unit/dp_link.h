/*
 * dp_link.h - what the tests of node-to-node links (cluster/link.h) share
 * over the NIC-less harness: a cluster map of two nodes set through the
 * control socket's CMAP commands (this node with slots 0-8191, node B at the
 * test client's address 198.18.0.1 with the rest, both with cluster bus port
 * DPL_CPORT), keys chosen by slot, link frames built by hand, the link poll run with time moved
 * on, and the test accepting, as B, the link the dataplane opens to it.
 * Included (static functions) by the tests that need it.
 */
#ifndef WC_TEST_DP_LINK_H
#define WC_TEST_DP_LINK_H

#include <stdio.h>
#include <string.h>

#include "cluster/frame.h"
#include "cluster/link.h"
#include "core/cpif_cmap.h"
#include "dp_tcpclient.h"
#include "wirecache/slot.h"

#define DPL_CPORT 16379
#define DPL_ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* One control command on h (a staged map kept in *stage); its reply. */
static inline const char *dpl_ctl(struct dp_harness *h, struct wc_cmap_stage **stage,
				  const char *text)
{
	static char reply[512];
	char buf[512], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	reply[0] = 0;
	assert_true(wc_cmap_command(&h->app, NULL, stage, argc, argv, reply, sizeof(reply)));
	return reply;
}

/* A key named "key<i>" (i from start on) whose slot is in [from, to]. */
static inline void dpl_key_in(char *k, size_t cap, unsigned from, unsigned to, unsigned start)
{
	for (unsigned i = start;; i++) {
		unsigned s;

		snprintf(k, cap, "key%u", i);
		s = wc_key_slot((const uint8_t *)k, (uint32_t)strlen(k));
		if (s >= from && s <= to)
			return;
	}
}

/* The two-node map at epoch: this node (id my_id, 198.18.0.11) and B (198.18.0.1). */
/* The same, with more CMAP lines (NULL-ended: MIGRATING, IMPORTING) before COMMIT. */
static inline void dpl_commit_two_with(struct dp_harness *h, struct wc_cmap_stage **stage,
				       const char *my_id, unsigned epoch, const char *const *more)
{
	char text[256];

	snprintf(text, sizeof(text), "CMAP BEGIN %u", epoch);
	assert_string_equal(dpl_ctl(h, stage, text), "OK\n");
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.0.11 6379 %u master 1 - myself", my_id,
		 DPL_CPORT);
	assert_string_equal(dpl_ctl(h, stage, text), "OK\n");
	snprintf(text, sizeof(text), "CMAP NODE " DPL_ID_B " 198.18.0.1 6379 %u master 2 -",
		 DPL_CPORT);
	assert_string_equal(dpl_ctl(h, stage, text), "OK\n");
	snprintf(text, sizeof(text), "CMAP SLOTS 0 8191 %s", my_id);
	assert_string_equal(dpl_ctl(h, stage, text), "OK\n");
	assert_string_equal(dpl_ctl(h, stage, "CMAP SLOTS 8192 16383 " DPL_ID_B), "OK\n");
	for (; more && *more; more++)
		assert_string_equal(dpl_ctl(h, stage, *more), "OK\n");
	assert_int_equal(dpl_ctl(h, stage, "CMAP COMMIT")[0], 'O');
}

static inline void dpl_commit_two(struct dp_harness *h, struct wc_cmap_stage **stage,
				  const char *my_id, unsigned epoch)
{
	dpl_commit_two_with(h, stage, my_id, epoch, NULL);
}

/* A frame (header and len bytes of p) at b; its size. */
static inline size_t dpl_put(uint8_t *b, uint8_t kind, uint32_t id, const void *p, uint32_t len)
{
	wc_link_hdr_put(b, &(struct wc_link_hdr){ .len = len, .id = id, .kind = kind });
	memcpy(b + WC_LINK_HDR, p, len);
	return WC_LINK_HDR + len;
}

/* Time moves on by ms; the links are looked after. */
static inline void dpl_poll(struct dp_harness *h, unsigned ms)
{
	h->lc->tcp->now_ms += ms;
	h->lc->tcp->now_us += ms * 1000ull;
	wc_link_poll(h->lc);
	wc_tcp_poll(h->lc);
	wc_net_flush(h->lc);
}

/*
 * The dataplane opens its link to B (the link poll, time moving on until it
 * tries): B answers its SYN. peer is B's end (buf of cap bytes); the
 * handshake's first frame (HELLO) is the caller's to collect.
 */
static inline void dpl_accept(struct dp_harness *h, struct dpc *peer, uint8_t *buf, size_t cap)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	const struct rte_tcp_hdr *syn = NULL;
	uint8_t f[256];

	dp_clear_sent(h);
	for (int i = 0; i < 400 && !syn; i++) {
		dpl_poll(h, 25);
		for (unsigned k = 0; k < h->nsent && !syn; k++) {
			const uint8_t *fr = rte_pktmbuf_mtod(h->sent[k], const uint8_t *);
			const struct rte_ipv4_hdr *ip =
				(const struct rte_ipv4_hdr *)(fr + RTE_ETHER_HDR_LEN);
			const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);

			if (ip->next_proto_id == IPPROTO_TCP && th->tcp_flags == RTE_TCP_SYN_FLAG &&
			    rte_be_to_cpu_16(th->dst_port) == DPL_CPORT &&
			    rte_be_to_cpu_32(ip->dst_addr) == DP_CLIENT)
				syn = th;
		}
		if (!syn)
			dp_clear_sent(h);
	}
	assert_non_null(syn);
	memset(peer, 0, sizeof(*peer));
	peer->cport = DPL_CPORT;
	peer->dport = rte_be_to_cpu_16(syn->src_port);
	peer->ack = rte_be_to_cpu_32(syn->sent_seq) + 1;
	peer->seq = 5000;
	peer->buf = buf;
	peer->cap = cap;
	dp_clear_sent(h);
	dp_input(h, f, dp_tcp_ports(f, DPL_CPORT, peer->dport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
				    peer->seq, peer->ack, 65535, NULL, 0, opts, sizeof(opts)));
	peer->seq++;
}

#endif
