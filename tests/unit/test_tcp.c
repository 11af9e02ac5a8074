/*
 * test_tcp.c - the dataplane's TCP, segment by segment, on a dataplane
 * without a NIC and with a frozen clock: the handshake and its options,
 * request/response with ACKs (delayed and immediate), pipelining,
 * retransmission timeout with back-off, fast retransmit, out-of-order
 * segments held and delivered, flow control both ways (our advertised
 * window, the peer's zero window and its probes), FIN in both directions,
 * TIME_WAIT, RSTs, SYN cookies, the connection limit and the idle timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dp_harness.h"
#include "net/tcp_impl.h"

#define CPORT 40001
#define ISN 1000000u

static struct dp_harness h;

struct sseg {			/* a segment the dataplane sent */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint16_t mss;
	int wscale;
	uint16_t len;
	const uint8_t *data;
	bool sack_ok;
	unsigned nsack;
	uint32_t sack[4][2];
	bool ts;
	uint32_t tsval, tsecr;
};

struct client {
	uint16_t port;
	uint32_t seq;		/* next sequence number we send */
	uint32_t ack;		/* next byte we expect from the node */
};

static void short_idle(struct wc_config *c)
{
	c->tcp_idle_ms = 5000;
	c->request_timeout_ms = 2000;	/* (shorter than the idle timeout) */
	c->max_conns = 64;
	c->memory = 48u << 20;	/* room for a few big values */
}

static int setup(void **state)
{
	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&h, short_idle) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

static struct wc_tcp_stats *st(void)
{
	return &h.lc->tcp->st;
}

static void advance(uint64_t ms)
{
	h.lc->tcp->now_ms += ms;
	h.lc->tcp->now_us += ms * 1000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
}

/* Send one segment from the client. */
static void tx(uint16_t cport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
	       const void *data, size_t len, const uint8_t *opts, uint8_t optlen)
{
	uint8_t f[2048];

	dp_input(&h, f, dp_tcp(f, cport, flags, seq, ack, win, data, len, opts, optlen));
}

static struct sseg rx_seg(unsigned i)
{
	const uint8_t *f;
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;
	struct sseg s = { .wscale = -1 };
	unsigned doff;

	assert_true(i < h.nsent);
	f = rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
	ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
	th = (const struct rte_tcp_hdr *)(ip + 1);
	assert_int_equal(rte_raw_cksum(ip, 20), 0xFFFF);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, th), 0);
	doff = (th->data_off >> 4) * 4u;
	s.flags = th->tcp_flags;
	s.seq = rte_be_to_cpu_32(th->sent_seq);
	s.ack = rte_be_to_cpu_32(th->recv_ack);
	s.win = rte_be_to_cpu_16(th->rx_win);
	s.len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - doff);
	s.data = (const uint8_t *)th + doff;
	for (const uint8_t *o = (const uint8_t *)(th + 1); o < (const uint8_t *)th + doff;) {
		if (*o == 0)
			break;
		if (*o == 1) {
			o++;
			continue;
		}
		if (o[0] == 2)
			s.mss = (uint16_t)(o[2] << 8 | o[3]);
		if (o[0] == 3)
			s.wscale = o[2];
		if (o[0] == 4)
			s.sack_ok = true;
		if (o[0] == 8) {
			s.ts = true;
			s.tsval = (uint32_t)o[2] << 24 | o[3] << 16 | o[4] << 8 | o[5];
			s.tsecr = (uint32_t)o[6] << 24 | o[7] << 16 | o[8] << 8 | o[9];
		}
		if (o[0] == 5)
			for (unsigned b = 0; b < (o[1] - 2u) / 8 && b < 4; b++) {
				s.sack[b][0] = (uint32_t)o[2 + 8 * b] << 24 | o[3 + 8 * b] << 16 |
					       o[4 + 8 * b] << 8 | o[5 + 8 * b];
				s.sack[b][1] = (uint32_t)o[6 + 8 * b] << 24 | o[7 + 8 * b] << 16 |
					       o[8 + 8 * b] << 8 | o[9 + 8 * b];
				s.nsack = b + 1;
			}
		o += o[1];
	}
	return s;
}

static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };	/* MSS 1460, WS 7 */

/* Three-way handshake; returns the client's view. */
static struct client connect_(uint16_t cport)
{
	struct client c = { .port = cport, .seq = ISN };
	struct sseg s;

	dp_clear_sent(&h);
	tx(cport, RTE_TCP_SYN_FLAG, c.seq, 0, 65535, NULL, 0, syn_opts, sizeof(syn_opts));
	assert_int_equal(h.nsent, 1);
	s = rx_seg(0);
	assert_int_equal(s.flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(s.ack, ISN + 1);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.wscale, h.app.tcp_wscale);
	c.seq = ISN + 1;
	c.ack = s.seq + 1;
	dp_clear_sent(&h);
	tx(cport, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 0);
	return c;
}

/* Send a request; collect the reply (acknowledging it) into out. */
static size_t request(struct client *c, const char *text, char *out, size_t cap)
{
	size_t n = 0;

	dp_clear_sent(&h);
	tx(c->port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->seq, c->ack, 65535, text, strlen(text),
	   NULL, 0);
	c->seq += (uint32_t)strlen(text);
	for (unsigned i = 0; i < h.nsent; i++) {
		struct sseg s = rx_seg(i);

		if (s.len && s.seq == c->ack) {
			assert_true(n + s.len < cap);
			memcpy(out + n, s.data, s.len);
			n += s.len;
			c->ack += s.len;
		}
		assert_int_equal(s.ack, c->seq);
	}
	out[n] = 0;
	if (n)
		tx(c->port, RTE_TCP_ACK_FLAG, c->seq, c->ack, 65535, NULL, 0, NULL, 0);
	return n;
}

static void handshake_and_request(void **state)
{
	struct client c;
	char out[512];

	(void)state;
	c = connect_(CPORT);
	assert_int_equal(wc_tcp_active(h.lc), 1);
	assert_int_equal(st()->accepted, 1);
	request(&c, "set k 0 0 2\r\nhi\r\n", out, sizeof(out));
	assert_string_equal(out, "STORED\r\n");
	request(&c, "get k\r\n", out, sizeof(out));
	assert_string_equal(out, "VALUE k 0 2\r\nhi\r\nEND\r\n");
	/* pipelined: several commands in one segment, replies in order */
	request(&c, "get k\r\nset j 0 0 1\r\nx\r\nget j k\r\nmn\r\n", out, sizeof(out));
	assert_string_equal(out, "VALUE k 0 2\r\nhi\r\nEND\r\nSTORED\r\nVALUE j 0 1\r\nx\r\n"
				 "VALUE k 0 2\r\nhi\r\nEND\r\nMN\r\n");
	/* a command split over tiny segments */
	dp_clear_sent(&h);
	const char *cmd = "get k\r\n";
	for (size_t i = 0; i < strlen(cmd); i++) {
		tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, cmd + i, 1, NULL, 0);
		c.seq++;
	}
	size_t n = 0;
	for (unsigned i = 0; i < h.nsent; i++) {
		struct sseg s = rx_seg(i);

		if (s.len) {
			memcpy(out + n, s.data, s.len);
			n += s.len;
			c.ack += s.len;
		}
	}
	out[n] = 0;
	assert_string_equal(out, "VALUE k 0 2\r\nhi\r\nEND\r\n");
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	/* quit: the node closes (FIN), the client closes, TIME_WAIT on the node */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq, c.ack, 65535, "quit\r\n", 6, NULL, 0);
	c.seq += 6;
	struct sseg s = rx_seg(h.nsent - 1);
	assert_true(s.flags & RTE_TCP_FIN_FLAG);
	c.ack = s.seq + 1;
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 1);	/* the ACK of our FIN */
	assert_int_equal(rx_seg(0).ack, c.seq + 1);
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, CPORT, 11211);
	assert_non_null(t);
	assert_int_equal(t->state, TCP_TIME_WAIT);
	advance(WC_TCP_TIME_WAIT_MS + 10);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, CPORT, 11211));
	assert_int_equal(wc_tcp_active(h.lc), 0);
}

static void delayed_and_immediate_acks(void **state)
{
	struct client c = connect_(CPORT + 1);

	(void)state;
	/* an incomplete command: no reply, the ACK waits */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "set x 0 0 4\r\n", 13, NULL, 0);
	c.seq += 13;
	assert_int_equal(h.nsent, 0);
	advance(WC_TCP_DELACK_MS + 1);
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).ack, c.seq);
	/* two more segments: the second is acknowledged at once */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "ab", 2, NULL, 0);
	c.seq += 2;
	assert_int_equal(h.nsent, 0);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "c", 1, NULL, 0);
	c.seq += 1;
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).ack, c.seq);
	/* the reply carries the ACK of the command's end */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "d\r\n", 3, NULL, 0);
	c.seq += 3;
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).len, 8);	/* STORED\r\n */
	assert_int_equal(rx_seg(0).ack, c.seq);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

static void retransmission_timeout_and_backoff(void **state)
{
	struct client c = connect_(CPORT + 2);
	struct sseg first, again;
	uint64_t rto_before = st()->rto_timeouts;

	(void)state;
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "version\r\n", 9, NULL, 0);
	c.seq += 9;
	first = rx_seg(0);
	assert_true(first.len > 0);
	/* the reply is lost: after the RTO it comes again, the same bytes */
	dp_clear_sent(&h);
	advance(WC_TCP_RTO_INIT_MS - 10);
	assert_int_equal(h.nsent, 0);
	advance(20);
	assert_int_equal(h.nsent, 1);
	again = rx_seg(0);
	assert_int_equal(again.seq, first.seq);
	assert_int_equal(again.len, first.len);
	assert_memory_equal(again.data, "VERSION ", 8);
	assert_int_equal(st()->rto_timeouts, rto_before + 1);
	/* lost again: the timer doubles */
	dp_clear_sent(&h);
	advance(2 * WC_TCP_RTO_INIT_MS - 10);
	assert_int_equal(h.nsent, 0);
	advance(20);
	assert_int_equal(h.nsent, 1);
	/* acknowledged: the timer stops */
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, first.seq + first.len, 65535, NULL, 0, NULL, 0);
	dp_clear_sent(&h);
	advance(4 * WC_TCP_RTO_INIT_MS);	/* within the idle timeout */
	assert_int_equal(h.nsent, 0);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

static void fast_retransmit_on_three_dup_acks(void **state)
{
	struct client c = connect_(CPORT + 3);
	char cmd[128], big[6000];
	uint64_t fr = st()->fast_retransmits;
	struct sseg s0;

	(void)state;
	memset(big, 'v', sizeof(big));
	/* store a 6000-byte value so the reply spans several segments */
	snprintf(cmd, sizeof(cmd), "set big 0 0 6000\r\n");
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, cmd, strlen(cmd), NULL, 0);
	c.seq += (uint32_t)strlen(cmd);
	for (int off = 0; off < 6000; off += 1000) {
		tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, big + off, 1000, NULL, 0);
		c.seq += 1000;
	}
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "\r\n", 2, NULL, 0);
	c.seq += 2;
	c.ack += 8;	/* STORED\r\n */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "get big\r\n", 9, NULL, 0);
	c.seq += 9;
	assert_true(h.nsent >= 5);
	s0 = rx_seg(0);
	assert_int_equal(s0.seq, c.ack);
	/* the first segment is lost: the client acknowledges what it has, three times */
	dp_clear_sent(&h);
	for (int i = 0; i < 3; i++)
		tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).seq, s0.seq);
	assert_int_equal(rx_seg(0).len, s0.len);
	assert_int_equal(st()->fast_retransmits, fr + 1);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

static void out_of_order_held_then_delivered(void **state)
{
	struct client c = connect_(CPORT + 4);
	const char *a = "get ", *b = "k\r\n";
	uint64_t held = st()->ooo_held;

	(void)state;
	dp_clear_sent(&h);
	/* the second half first: held, a duplicate ACK says where the hole is */
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 4, c.ack, 65535, b, 3, NULL, 0);
	assert_int_equal(st()->ooo_held, held + 1);
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).ack, c.seq);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, a, 4, NULL, 0);
	c.seq += 7;
	assert_true(h.nsent >= 1);
	struct sseg s = rx_seg(h.nsent - 1);
	assert_int_equal(s.ack, c.seq);
	assert_true(s.len > 0);
	assert_memory_equal(s.data, "VALUE k", 7);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

/* SACK: offered in the handshake, and held segments reported, the newest first. */
static void sack_blocks_for_held_segments(void **state)
{
	static const uint8_t sack_syn[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2 };
	struct client c = { .port = CPORT + 9, .seq = ISN };
	struct sseg s;
	char data[600];

	(void)state;
	memset(data, 'd', sizeof(data));
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_SYN_FLAG, c.seq, 0, 65535, NULL, 0, sack_syn, sizeof(sack_syn));
	s = rx_seg(0);
	assert_true(s.sack_ok);
	assert_int_equal(s.wscale, h.app.tcp_wscale);
	c.seq = ISN + 1;
	c.ack = s.seq + 1;
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	/* "set" header first, then pieces of the data block out of order, with holes */
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "set sk 0 0 3000\r\n", 17, NULL, 0);
	c.seq += 17;
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 1000, c.ack, 65535, data, 500, NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.ack, c.seq);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], c.seq + 1000);
	assert_int_equal(s.sack[0][1], c.seq + 1500);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 2000, c.ack, 65535, data, 500, NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.nsack, 2);
	assert_int_equal(s.sack[0][0], c.seq + 2000);	/* the newest first */
	assert_int_equal(s.sack[1][0], c.seq + 1000);
	/* filling between them merges the runs */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 1500, c.ack, 65535, data, 500, NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.nsack, 1);
	assert_int_equal(s.sack[0][0], c.seq + 1000);
	assert_int_equal(s.sack[0][1], c.seq + 2500);
	/* the hole at the front: everything is delivered, no more blocks */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, data, 600, NULL, 0);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 600, c.ack, 65535, data, 400, NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.ack, c.seq + 2500);
	assert_int_equal(s.nsack, 0);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq + 2500, c.ack, 65535, data, 500,
	   NULL, 0);
	tx(c.port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq + 3000, c.ack, 65535, "\r\n", 2,
	   NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.len, 8);
	assert_memory_equal(s.data, "STORED\r\n", 8);
	/* a peer without SACK-permitted gets no blocks */
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
	c = connect_(CPORT + 10);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 100, c.ack, 65535, data, 100, NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.ack, c.seq);
	assert_int_equal(s.nsack, 0);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

/* A big hole with a window's worth held behind it: filling the hole delivers it all. */
static void a_big_hole_fills(void **state)
{
	enum { SEG = 1400, N = 600 };
	struct client c = connect_(CPORT + 12);
	static char data[SEG];
	char cmd[64];
	struct sseg s;
	uint32_t base;
	int n;

	(void)state;
	memset(data, 'h', sizeof(data));
	n = snprintf(cmd, sizeof(cmd), "set hole 0 0 %d\r\n", SEG * N);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, cmd, (size_t)n, NULL, 0);
	c.seq += (uint32_t)n;
	base = c.seq;
	/* everything but the first segment, in order, beyond the hole */
	for (int k = 1; k < N; k++)
		tx(c.port, RTE_TCP_ACK_FLAG, base + (uint32_t)k * SEG, c.ack, 65535, data, SEG, NULL,
		   0);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, base, c.ack, 65535, data, SEG, NULL, 0);
	s = rx_seg(h.nsent - 1);
	/* whatever could not be held comes again; what was held is delivered at once */
	assert_true(SEQ_GT(s.ack, base + SEG));
	for (uint32_t next = s.ack; SEQ_LT(next, base + (uint32_t)(SEG * N));) {
		dp_clear_sent(&h);
		tx(c.port, RTE_TCP_ACK_FLAG, next, c.ack, 65535, data, SEG, NULL, 0);
		if (h.nsent == 0)
			advance(WC_TCP_DELACK_MS + 1);	/* in order again: the ACK is delayed */
		s = rx_seg(h.nsent - 1);
		assert_true(SEQ_GT(s.ack, next));
		next = s.ack;
	}
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, base + SEG * N, c.ack, 65535, "\r\n", 2,
	   NULL, 0);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.len, 8);
	assert_memory_equal(s.data, "STORED\r\n", 8);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
	dp_clear_sent(&h);
}

/* Timestamps (RFC 7323): offered back, echoed on every segment, and room made for them. */
static void timestamps_echoed(void **state)
{
	static const uint8_t ts_syn[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7,
					  1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0 };
	uint8_t ts_opt[12] = { 1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct client c = { .port = CPORT + 11, .seq = ISN };
	char cmd[64], big[3000];
	struct sseg s;
	uint32_t v;
	int n;

	(void)state;
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_SYN_FLAG, c.seq, 0, 65535, NULL, 0, ts_syn, sizeof(ts_syn));
	s = rx_seg(0);
	assert_true(s.ts);
	assert_int_equal(s.tsecr, 7);
	c.seq = ISN + 1;
	c.ack = s.seq + 1;
	v = rte_cpu_to_be_32(8);
	memcpy(ts_opt + 4, &v, 4);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, ts_opt, 12);
	/* store 3000 bytes, then ask for them: every segment echoes our newest timestamp */
	memset(big, 'b', sizeof(big));
	n = snprintf(cmd, sizeof(cmd), "set tsk 0 0 3000\r\n");
	v = rte_cpu_to_be_32(9);
	memcpy(ts_opt + 4, &v, 4);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, cmd, (size_t)n, ts_opt, 12);
	c.seq += (uint32_t)n;
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, big, 1400, ts_opt, 12);
	c.seq += 1400;
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, big, 1400, ts_opt, 12);
	c.seq += 1400;
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, big, 200, ts_opt, 12);
	c.seq += 200;
	dp_clear_sent(&h);
	v = rte_cpu_to_be_32(10);
	memcpy(ts_opt + 4, &v, 4);
	tx(c.port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq, c.ack, 65535, "\r\nget tsk\r\n", 11,
	   ts_opt, 12);
	c.seq += 11;
	assert_true(h.nsent >= 3);
	for (unsigned i = 0; i < h.nsent; i++) {
		s = rx_seg(i);
		assert_true(s.ts);
		assert_int_equal(s.tsecr, 10);
		assert_true(s.len <= 1460 - 12);	/* the option's 12 bytes come off the MSS */
	}
	/* an older timestamp (a retransmission from before) does not move the echo back */
	v = rte_cpu_to_be_32(5);
	memcpy(ts_opt + 4, &v, 4);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq, c.ack, 65535, "mn\r\n", 4, ts_opt, 12);
	s = rx_seg(h.nsent - 1);
	assert_int_equal(s.tsecr, 10);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
	dp_clear_sent(&h);
}

static void flow_control_both_ways(void **state)
{
	struct client c = connect_(CPORT + 5);
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211);
	uint64_t probes = st()->zero_window_probes;
	char out[512];

	(void)state;
	/* our advertised window is the receive buffer's free space */
	assert_int_equal(wc_tcp_rcv_window(t), h.app.tcp_rcvbuf);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, "set w 0 0", 9, NULL, 0);
	c.seq += 9;
	advance(WC_TCP_DELACK_MS + 1);
	assert_true(h.nsent >= 1);
	assert_int_equal(rx_seg(h.nsent - 1).win, (h.app.tcp_rcvbuf - 9) >> h.app.tcp_wscale);
	/* a large value's line and block leave the receive buffer for a stage at once */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, " 100000\r\n", 9, NULL, 0);
	c.seq += 9;
	advance(WC_TCP_DELACK_MS + 1);
	assert_true(h.nsent >= 1);
	assert_int_equal(rx_seg(h.nsent - 1).win, h.app.tcp_rcvbuf >> h.app.tcp_wscale);
	assert_true(t->sess.staged);
	/* the peer closes its window: the reply waits, probes go out */
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 0, NULL, 0, NULL, 0);
	dp_clear_sent(&h);
	{
		char z[100002];

		memset(z, 'z', 100000);
		memcpy(z + 100000, "\r\n", 2);
		for (int off = 0; off < 100002; off += 1400) {
			int n = 100002 - off < 1400 ? 100002 - off : 1400;

			tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 0, z + off, (size_t)n, NULL, 0);
			c.seq += (uint32_t)n;
		}
	}
	for (unsigned i = 0; i < h.nsent; i++)
		assert_int_equal(rx_seg(i).len, 0);	/* STORED is held back */
	dp_clear_sent(&h);
	advance(WC_TCP_RTO_INIT_MS + 10);
	assert_true(st()->zero_window_probes > probes);
	assert_true(h.nsent >= 1);
	assert_int_equal(rx_seg(0).len, 0);
	/* the window opens: the reply goes out */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).len, 8);
	c.ack += 8;
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
	request(&c, "mg w s\r\n", out, sizeof(out));
	assert_string_equal(out, "HD s100000\r\n");
	/* a window that never opens again: the connection is aborted within the idle timeout */
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 0, NULL, 0, NULL, 0);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 0, "get w\r\n", 7, NULL, 0);
	c.seq += 7;
	for (int i = 0; i < 100 && wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211); i++)
		advance(200);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

static void resets(void **state)
{
	struct sseg s;
	uint64_t before = st()->resets_sent;

	(void)state;
	/* a closed port */
	dp_clear_sent(&h);
	{
		uint8_t f[128];
		size_t n = dp_eth(f, &dp_mac, &dp_client_mac, RTE_ETHER_TYPE_IPV4);
		struct rte_ipv4_hdr *ip = dp_ip(f, IPPROTO_TCP, DP_CLIENT, DP_IP, 20);
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

		memset(th, 0, 20);
		th->src_port = rte_cpu_to_be_16(5555);
		th->dst_port = rte_cpu_to_be_16(9999);
		th->sent_seq = rte_cpu_to_be_32(77);
		th->data_off = 5 << 4;
		th->tcp_flags = RTE_TCP_SYN_FLAG;
		th->rx_win = rte_cpu_to_be_16(1000);
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
		dp_input(&h, f, n + 40);
	}
	assert_int_equal(h.nsent, 1);
	s = rx_seg(0);
	assert_int_equal(s.flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(s.ack, 78);
	/* an ACK for no connection */
	dp_clear_sent(&h);
	tx(CPORT + 6, RTE_TCP_ACK_FLAG, 5, 12345, 1000, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 1);
	s = rx_seg(0);
	assert_int_equal(s.flags, RTE_TCP_RST_FLAG);
	assert_int_equal(s.seq, 12345);
	/* a RST is never answered */
	dp_clear_sent(&h);
	tx(CPORT + 6, RTE_TCP_RST_FLAG, 5, 0, 0, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 0);
	assert_int_equal(st()->resets_sent, before + 2);
	/* a RST at the right sequence closes a connection; a wrong one gets a challenge ACK */
	struct client c = connect_(CPORT + 7);
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_RST_FLAG, c.seq + 100, 0, 0, NULL, 0, NULL, 0);
	assert_int_equal(h.nsent, 1);
	assert_int_equal(rx_seg(0).flags, RTE_TCP_ACK_FLAG);
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
	tx(c.port, RTE_TCP_RST_FLAG, c.seq, 0, 0, NULL, 0, NULL, 0);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

static void syn_cookies_and_limits(void **state)
{
	struct wc_tcp_lc *t = h.lc->tcp;
	unsigned backlog = t->ntcb / 4 > 64 ? t->ntcb / 4 : 64;
	uint64_t sent = st()->syncookies_sent, refused = st()->refused;
	struct sseg s;
	char out[128];

	(void)state;
	/* half-open connections up to the backlog ... */
	for (unsigned i = 0; i < backlog && t->nfree; i++)
		tx((uint16_t)(20000 + i), RTE_TCP_SYN_FLAG, ISN, 0, 65535, NULL, 0, syn_opts, 8);
	dp_clear_sent(&h);
	/* ... then a SYN is answered with a cookie, and its ACK opens a connection */
	tx(30000, RTE_TCP_SYN_FLAG, ISN, 0, 65535, NULL, 0, syn_opts, 8);
	assert_true(t->syn_rcvd >= backlog);
	{
		assert_int_equal(st()->syncookies_sent, sent + 1);
		s = rx_seg(0);
		assert_int_equal(s.flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
		assert_null(wc_tcb_lookup(t, DP_CLIENT, 30000, 11211));
		struct client c = { .port = 30000, .seq = ISN + 1, .ack = s.seq + 1 };
		tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, NULL, 0, NULL, 0);
		assert_non_null(wc_tcb_lookup(t, DP_CLIENT, 30000, 11211));
		request(&c, "version\r\n", out, sizeof(out));
		assert_memory_equal(out, "VERSION ", 8);
		/* a forged cookie does not */
		dp_clear_sent(&h);
		tx(30001, RTE_TCP_ACK_FLAG, ISN + 1, s.seq + 7, 65535, NULL, 0, NULL, 0);
		assert_null(wc_tcb_lookup(t, DP_CLIENT, 30001, 11211));
		assert_int_equal(rx_seg(0).flags, RTE_TCP_RST_FLAG);
		wc_tcb_free(h.lc, wc_tcb_lookup(t, DP_CLIENT, 30000, 11211));
	}
	/* half-open connections are gone after the idle timeout */
	advance(h.app.cfg.tcp_idle_ms + 100);
	for (int i = 0; i < 50 && t->syn_rcvd; i++)
		advance(1000);
	assert_int_equal(t->syn_rcvd, 0);
	/* max-connections established: the next SYN is refused with a RST */
	for (uint16_t p = 41000; h.app.tcp_open < h.app.cfg.max_conns; p++)
		connect_(p);
	dp_clear_sent(&h);
	tx(50000, RTE_TCP_SYN_FLAG, ISN, 0, 65535, NULL, 0, syn_opts, 8);
	assert_int_equal(st()->refused, refused + 1);
	assert_int_equal(rx_seg(0).flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_null(wc_tcb_lookup(t, DP_CLIENT, 50000, 11211));
	/* one closes: a new one is let in */
	wc_tcb_free(h.lc, wc_tcb_lookup(t, DP_CLIENT, 41000, 11211));
	connect_(50001);
	for (uint16_t p = 41001; p < 41000 + h.app.cfg.max_conns; p++) {
		struct wc_tcb *k = wc_tcb_lookup(t, DP_CLIENT, p, 11211);

		if (k)
			wc_tcb_free(h.lc, k);
	}
	wc_tcb_free(h.lc, wc_tcb_lookup(t, DP_CLIENT, 50001, 11211));
}

static void idle_timeout_closes(void **state)
{
	struct client c = connect_(CPORT + 8);
	uint64_t idle = st()->idle_closed;

	(void)state;
	dp_clear_sent(&h);
	advance(h.app.cfg.tcp_idle_ms + 10);
	assert_int_equal(st()->idle_closed, idle + 1);
	assert_true(h.nsent >= 1);
	assert_true(rx_seg(h.nsent - 1).flags & RTE_TCP_FIN_FLAG);
	/* the client answers with its FIN: closed */
	struct sseg s = rx_seg(h.nsent - 1);
	tx(c.port, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, c.seq, s.seq + 1, 65535, NULL, 0, NULL, 0);
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211);
	assert_true(t == NULL || t->state == TCP_TIME_WAIT);
	advance(WC_TCP_TIME_WAIT_MS + 10);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.port, 11211));
}

/* An HTTP request line: the connection is closed without a reply, and counted. */
static void http_gets_hung_up_on(void **state)
{
	static const char *const lines[] = {
		"GET / HTTP/1.0\r\n", "PUT /asdf/asd/fasdfasdf/sadf HTTP/1.1\r\n",
		"DELETE HTTP/1.1\r\n", "POST /x\r\n", "Host: example\r\n",
	};

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		struct client c = connect_((uint16_t)(CPORT + 20 + i));
		uint64_t before = h.lc->env.st.http_closed;
		char out[256];
		bool fin = false;

		assert_int_equal(request(&c, lines[i], out, sizeof(out)), 0);	/* not a word */
		for (unsigned k = 0; k < h.nsent; k++)
			fin |= (rx_seg(k).flags & RTE_TCP_FIN_FLAG) != 0;
		assert_true(fin);
		assert_int_equal(h.lc->env.st.http_closed, before + 1);
	}
	/* a memcached line that merely looks odd is answered as usual */
	{
		struct client c = connect_(CPORT + 26);
		char out[256];

		request(&c, "get /index.html\r\n", out, sizeof(out));
		assert_string_equal(out, "END\r\n");
		request(&c, "GET foo\r\n", out, sizeof(out));
		assert_string_equal(out, "ERROR\r\n");
	}
}

/*
 * Data that arrives after the application closed (here: an HTTP line, hung
 * up on) is answered with a reset, as Linux answers an orphaned socket: a
 * client that keeps writing learns at once instead of stalling on a window
 * that never opens, and the entry is freed. A blind segment outside the
 * advertised window resets nothing.
 */
static void data_after_close_resets(void **state)
{
	struct client c = connect_(CPORT + 60);
	static const char junk[1000] = { 'x' };
	uint64_t before = st()->data_after_close;
	bool rst = false;
	char out[64];

	(void)state;
	assert_int_equal(request(&c, "POST /upload HTTP/1.1\r\n", out, sizeof(out)), 0);
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, CPORT + 60, 11211));
	assert_true(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, CPORT + 60, 11211)->app_closed);
	/* far outside the window: ignored (at most an ACK), the entry lives */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq + 0x40000000u, c.ack, 65535, junk, sizeof(junk), NULL, 0);
	for (unsigned k = 0; k < h.nsent; k++)
		assert_false(rx_seg(k).flags & RTE_TCP_RST_FLAG);
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, CPORT + 60, 11211));
	/* in the window: reset, counted, gone */
	dp_clear_sent(&h);
	tx(c.port, RTE_TCP_ACK_FLAG, c.seq, c.ack, 65535, junk, sizeof(junk), NULL, 0);
	for (unsigned k = 0; k < h.nsent; k++)
		rst |= (rx_seg(k).flags & RTE_TCP_RST_FLAG) != 0;
	assert_true(rst);
	assert_int_equal(st()->data_after_close, before + 1);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, CPORT + 60, 11211));
}

/*
 * A peer that stops in the middle of a request (a partial line, a value
 * half sent) is reset after --request-timeout; one idle between requests
 * is not.
 */
static void request_timeout_resets_silent_uploads(void **state)
{
	struct client a = connect_(CPORT + 30), b = connect_(CPORT + 31), d = connect_(CPORT + 32);
	uint64_t before = st()->request_timeouts;
	uint32_t ms = h.app.cfg.request_timeout_ms;
	char big[40000];

	(void)state;
	assert_true(ms > 0);
	memset(big, 'u', sizeof(big));
	tx(a.port, RTE_TCP_ACK_FLAG, a.seq, a.ack, 65535, "set half 0 0 1000", 17, NULL, 0);
	tx(b.port, RTE_TCP_ACK_FLAG, b.seq, b.ack, 65535, "set up 0 0 100000\r\n", 19, NULL, 0);
	b.seq += 19;
	for (int i = 0; i < 20; i++, b.seq += 1400)
		tx(b.port, RTE_TCP_ACK_FLAG, b.seq, b.ack, 65535, big, 1400, NULL, 0);
	for (uint32_t t = 0; t < ms / 2; t += 50)
		advance(50);	/* (the wheel turns slot by slot, as on a live lcore) */
	/* still trickling: b sends a little more, and lives on past a's deadline */
	tx(b.port, RTE_TCP_ACK_FLAG, b.seq, b.ack, 65535, big, 1400, NULL, 0);
	b.seq += 1400;
	for (uint32_t t = 0; t < ms / 2 + 100; t += 50)
		advance(50);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, a.port, 11211));
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, b.port, 11211));
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, d.port, 11211));	/* idle, not mid-request */
	for (uint32_t t = 0; t < ms; t += 50)
		advance(50);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, b.port, 11211));
	assert_non_null(wc_tcb_lookup(h.lc->tcp, DP_CLIENT, d.port, 11211));
	assert_int_equal(st()->request_timeouts, before + 2);
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);	/* b's stage came back */
}

/*
 * Buffer pressure: an upload that finds the stage pool full waits in its
 * receive buffer; with half the mbuf pool taken, that connection's window
 * shrinks to its share and further data is refused, while a connection
 * holding nothing is still served. When the pressure ends the waiting
 * upload's window stays at its share (it cannot finish before it is
 * staged); when the stage has room again the upload moves into it, hears
 * that its window is open again, and completes.
 */
static void send_bytes(struct client *c, size_t n)
{
	static char chunk[1400];

	memset(chunk, 'p', sizeof(chunk));
	while (n) {
		size_t k = n < 1400 ? n : 1400;

		tx(c->port, RTE_TCP_ACK_FLAG, c->seq, c->ack, 65535, chunk, k, NULL, 0);
		c->seq += (uint32_t)k;
		n -= k;
	}
}

static void buffer_pressure_shrinks_windows(void **state)
{
	struct client hog = connect_(CPORT + 41), good = connect_(CPORT + 42);
	struct rte_mempool *mp = h.lc->pool;
	unsigned n = rte_mempool_avail_count(mp) - mp->size / 2 + 64;
	struct rte_mbuf **held = calloc(n, sizeof(*held));
	struct wc_stage *others = calloc(h.lc->stage.nchunks, sizeof(*others));
	unsigned nothers = 0;
	char out[256], line[64];
	uint64_t refused = st()->pressure_refused;
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, hog.port, 11211);
	size_t vlen = 200000;
	uint32_t block_start;

	(void)state;
	/* other uploads hold all but two chunks of the stage pool */
	while (h.lc->stage.nfree > 2)
		assert_true(wc_stage_admit(&h.lc->stage, &others[nothers++], 1000));
	snprintf(line, sizeof(line), "set hog 0 0 %zu\r\n", vlen);
	tx(hog.port, RTE_TCP_ACK_FLAG, hog.seq, hog.ack, 65535, line, strlen(line), NULL, 0);
	hog.seq += (uint32_t)strlen(line);
	block_start = hog.seq;
	send_bytes(&hog, 8 * 1400);
	assert_true(t->stage_listed);		/* waiting for stage room ... */
	assert_true(t->rx.len > 8 * 1400);	/* ... with its bytes in the receive buffer */
	assert_int_equal(rte_pktmbuf_alloc_bulk(mp, held, n), 0);
	advance(2);
	assert_true(h.lc->tcp->rx_pressure);
	assert_true(wc_tcp_rcv_window(t) <= WC_TCP_PRESSURE_SHARE - 8 * 1400);
	/* more than its share: refused (the peer resends later) */
	send_bytes(&hog, 6 * 1400);
	assert_true(st()->pressure_refused > refused);
	assert_true(t->rx.len <= WC_TCP_PRESSURE_SHARE);
	hog.seq = t->rcv_nxt;
	/* the well-behaved client still gets its answers */
	request(&good, "set g 0 0 2\r\nok\r\n", out, sizeof(out));
	assert_string_equal(out, "STORED\r\n");
	request(&good, "get g\r\n", out, sizeof(out));
	assert_string_equal(out, "VALUE g 0 2\r\nok\r\nEND\r\n");
	/* pressure over: the hog still waits for stage room, so it keeps to its share */
	rte_pktmbuf_free_bulk(held, n);
	free(held);
	dp_clear_sent(&h);
	advance(2);
	assert_false(h.lc->tcp->rx_pressure);
	assert_true(t->upload_wait);
	assert_true(wc_tcp_rcv_window(t) <= WC_TCP_PRESSURE_SHARE);
	/* the other uploads finish: the waiting one moves into the stage, its window opens */
	while (nothers)
		wc_stage_release(&h.lc->stage, &others[--nothers]);
	free(others);
	dp_clear_sent(&h);
	advance(1);
	assert_true(t->sess.staged);
	assert_false(t->upload_wait);
	assert_int_equal(t->rx.len, 0);
	{
		bool update = false;

		for (unsigned i = 0; i < h.nsent; i++) {
			struct sseg s = rx_seg(i);

			update |= s.ack == hog.seq &&
				  ((uint32_t)s.win << h.app.tcp_wscale) > WC_TCP_PRESSURE_SHARE;
		}
		assert_true(update);
	}
	send_bytes(&hog, vlen - (hog.seq - block_start));
	dp_clear_sent(&h);
	tx(hog.port, RTE_TCP_ACK_FLAG, hog.seq, hog.ack, 65535, "\r\n", 2, NULL, 0);
	hog.seq += 2;
	advance(1);
	{
		bool stored = false;

		for (unsigned i = 0; i < h.nsent; i++) {
			struct sseg s = rx_seg(i);

			stored |= s.len == 8 && memcmp(s.data, "STORED\r\n", 8) == 0;
		}
		assert_true(stored);
	}
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
}

/*
 * Without any buffer pressure, an upload that finds the stage pool full is
 * held to WC_TCP_PRESSURE_SHARE of receive buffer: what it sends beyond is
 * refused (and counted), so a crowd of waiting uploads cannot take the NIC
 * buffers, nor each be invited to send a whole value's worth whenever
 * pressure lifts. A connection that is not waiting keeps its whole window.
 */
static void stage_wait_holds_window_to_share(void **state)
{
	struct client hog = connect_(CPORT + 43), other = connect_(CPORT + 44);
	struct wc_stage *all = calloc(h.lc->stage.nchunks, sizeof(*all));
	unsigned nall = 0;
	uint64_t refused = st()->pressure_refused;
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, hog.port, 11211);
	struct wc_tcb *o = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, other.port, 11211);
	const char *line = "set wait 0 0 300000\r\n";

	(void)state;
	while (h.lc->stage.nfree)
		assert_true(wc_stage_admit(&h.lc->stage, &all[nall++], 1000));
	tx(hog.port, RTE_TCP_ACK_FLAG, hog.seq, hog.ack, 65535, line, strlen(line), NULL, 0);
	hog.seq += (uint32_t)strlen(line);
	send_bytes(&hog, 30 * 1400);		/* 42,000 bytes, far more than a share */
	advance(1);
	assert_false(h.lc->tcp->rx_pressure);
	assert_true(t->upload_wait && t->stage_listed);
	assert_true(t->rx.len <= WC_TCP_PRESSURE_SHARE);
	assert_true(wc_tcp_rcv_window(t) <= WC_TCP_PRESSURE_SHARE - (t->rx.len - strlen(line)));
	assert_true(st()->pressure_refused > refused);
	assert_true(wc_tcp_rcv_window(o) > WC_TCP_PRESSURE_SHARE);
	/* room again: staged, its window whole */
	while (nall)
		wc_stage_release(&h.lc->stage, &all[--nall]);
	free(all);
	advance(1);
	assert_true(t->sess.staged);
	assert_false(t->upload_wait);
	assert_true(wc_tcp_rcv_window(t) > WC_TCP_PRESSURE_SHARE);
	wc_tcb_free(h.lc, t);
	wc_tcb_free(h.lc, o);
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
}

/* ---- client mode: the node's TCP opening connections to its own server ---- */

struct client_app_state {
	bool opened, closed;
	enum wc_tcp_state state_at_close;
	const char *request;
	char got[4096];
	size_t ngot;
};

static void capp_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct client_app_state *a = c->user;

	a->opened = true;
	mc_out_put(&c->out, a->request, strlen(a->request));
	wc_tcp_flush(lc, c);
}

/* Hand everything received to take(), piece by piece, and consume it. */
static void drain(struct wc_tcb *c, void (*take)(void *arg, const uint8_t *p, uint64_t n),
		  void *arg)
{
	while (c->inq.len) {
		uint64_t contig;
		const uint8_t *p = c->inq.peek(&c->inq, 0, &contig);

		if (contig > c->inq.len)
			contig = c->inq.len;
		take(arg, p, contig);
		c->inq.consume(&c->inq, contig);
	}
}

static void capp_take(void *arg, const uint8_t *p, uint64_t n)
{
	struct client_app_state *a = arg;

	if (a->ngot + n < sizeof(a->got)) {
		memcpy(a->got + a->ngot, p, n);
		a->ngot += n;
	}
}

static void capp_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	drain(c, capp_take, c->user);
	if (c->state == TCP_CLOSE_WAIT)
		wc_tcp_close(lc, c);
}

static void capp_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct client_app_state *a = c->user;

	(void)lc;
	a->closed = true;
	a->state_at_close = (enum wc_tcp_state)c->state;
}

static const struct wc_tcp_app client_app = {
	.open = capp_open, .run = capp_run, .close = capp_close,
};

/*
 * Loop what the node sends back into it, dropping every drop_every-th
 * frame (0: none), with time passing when nothing is in flight, until
 * done() or the budget of simulated time runs out.
 */
static void shuttle(unsigned drop_every, bool (*done)(void), uint64_t budget_ms)
{
	static struct rte_mbuf *batch[DP_MAX_SENT];
	unsigned n = 0;

	for (uint64_t spent = 0; !done() && spent < budget_ms;) {
		unsigned k = h.nsent;

		if (k == 0) {
			advance(50);
			spent += 50;
			continue;
		}
		memcpy(batch, h.sent, k * sizeof(batch[0]));
		h.nsent = 0;
		for (unsigned i = 0; i < k; i++) {
			if (drop_every && ++n % drop_every == 0) {
				rte_pktmbuf_free(batch[i]);
				continue;
			}
			batch[i]->ol_flags = 0;
			wc_net_input(h.lc, 0, batch[i]);
		}
		wc_net_flush(h.lc);
	}
}

static struct client_app_state *cur;

static bool reply_complete(void)
{
	return cur->ngot >= 5 && memcmp(cur->got + cur->ngot - 5, "END\r\n", 5) == 0;
}

static bool reply_complete_version(void)
{
	return cur->ngot >= 2 && memcmp(cur->got + cur->ngot - 2, "\r\n", 2) == 0;
}

static bool client_closed(void)
{
	return cur->closed;
}

static void self_neighbour(void)
{
	wc_neigh_learn(h.app.neigh, DP_IP, &dp_mac, h.lc->ctx.clock.now);
}

static void client_mode_round_trip(void **state, unsigned drop_every)
{
	static char value[3000];
	static char request[3200];
	static char want[3200];
	struct client_app_state a = { 0 };
	struct wc_tcb *c;
	uint64_t failed = st()->connect_failed;

	(void)state;
	self_neighbour();
	memset(value, 'q', sizeof(value) - 1);
	snprintf(request, sizeof(request), "set cm 0 0 %zu\r\n%s\r\nget cm\r\n",
		 sizeof(value) - 1, value);
	snprintf(want, sizeof(want), "STORED\r\nVALUE cm 0 %zu\r\n%s\r\nEND\r\n", sizeof(value) - 1,
		 value);
	a.request = request;
	cur = &a;
	dp_clear_sent(&h);
	c = wc_tcp_connect(h.lc, 0, DP_IP, 11211, (uint16_t)(60000 + drop_every), &client_app, &a);
	assert_non_null(c);
	assert_null(wc_tcp_connect(h.lc, 0, DP_IP, 11211, (uint16_t)(60000 + drop_every),
				   &client_app, &a));	/* the tuple is taken */
	shuttle(drop_every, reply_complete, 60000);
	assert_true(a.opened);
	assert_int_equal(a.ngot, strlen(want));
	assert_memory_equal(a.got, want, a.ngot);
	/* the client closes; both ends go away */
	wc_tcp_close(h.lc, c);
	shuttle(drop_every, client_closed, 60000);
	assert_true(a.closed);
	advance(WC_TCP_TIME_WAIT_MS + 10);
	shuttle(drop_every, client_closed, 2000);
	assert_int_equal(st()->connect_failed, failed);
	for (int i = 0; i < 100 && wc_tcp_active(h.lc); i++) {
		advance(1000);
		shuttle(drop_every, client_closed, 1000);
	}
	assert_int_equal(wc_tcp_active(h.lc), 0);
}

static void client_mode_against_own_server(void **state)
{
	client_mode_round_trip(state, 0);
}

static void client_mode_under_loss(void **state)
{
	uint64_t rtx = st()->retransmits;

	client_mode_round_trip(state, 4);	/* a quarter of all segments lost */
	assert_true(st()->retransmits > rtx);
}

static void client_connect_refused_and_unanswered(void **state)
{
	struct client_app_state a = { .request = "version\r\n" };
	uint64_t failed = st()->connect_failed;

	(void)state;
	self_neighbour();
	cur = &a;
	/* a closed port: RST, the application hears of it */
	dp_clear_sent(&h);
	assert_non_null(wc_tcp_connect(h.lc, 0, DP_IP, 9999, 61000, &client_app, &a));
	shuttle(0, client_closed, 1000);
	assert_true(a.closed);
	assert_false(a.opened);
	assert_int_equal(a.state_at_close, TCP_SYN_SENT);
	assert_int_equal(st()->connect_failed, failed + 1);
	/* nobody answers: the SYN is retried, then given up */
	memset(&a, 0, sizeof(a));
	a.request = "version\r\n";
	dp_clear_sent(&h);
	assert_non_null(wc_tcp_connect(h.lc, 0, DP_IP, 11211, 61001, &client_app, &a));
	shuttle(1, client_closed, 300000);	/* every segment lost */
	assert_true(a.closed);
	assert_false(a.opened);
	assert_int_equal(st()->connect_failed, failed + 2);
	assert_null(wc_tcb_lookup(h.lc->tcp, DP_IP, 11211, 61001));
}

/* The client's handshake against a peer whose sequence numbers are near the wrap. */
static void client_handshake_window(void **state)
{
	struct client_app_state a = { .request = "version\r\n" };
	uint8_t f[1024];
	struct sseg syn, ack;
	uint32_t want;

	(void)state;
	cur = &a;
	dp_clear_sent(&h);
	assert_non_null(wc_tcp_connect(h.lc, 0, DP_CLIENT, 11211, 63000, &client_app, &a));
	wc_net_flush(h.lc);
	assert_int_equal(h.nsent, 1);
	syn = rx_seg(0);
	assert_int_equal(syn.flags, RTE_TCP_SYN_FLAG);
	assert_int_equal(syn.mss, 1460);
	assert_int_equal(syn.wscale, h.app.tcp_wscale);
	dp_clear_sent(&h);
	dp_input(&h, f, dp_tcp_ports(f, 11211, 63000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
				      0xFFFFFF00u, syn.seq + 1, 65535, NULL, 0, syn_opts,
				      sizeof(syn_opts)));
	assert_true(a.opened);
	assert_true(h.nsent >= 1);
	ack = rx_seg(h.nsent - 1);
	assert_int_equal(ack.ack, 0xFFFFFF01u);
	want = h.app.tcp_rcvbuf >> h.app.tcp_wscale;
	assert_int_equal(ack.win, want > 0xFFFF ? 0xFFFF : want);
	/* the request went with (or before) it; the reply crosses the sequence wrap */
	dp_clear_sent(&h);
	dp_input(&h, f, dp_tcp_ports(f, 11211, 63000, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				      0xFFFFFF01u, syn.seq + 1 + 9, 65535,
				      "VERSION 1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
				      "22.23.24.25.26.27.28.29.30.31.32.33.34.35.36.37.38.39.40.41.42."
				      "43.44.45.46.47.48.49.50.51.52.53.54.55.56.57.58.59.60.61.62.63."
				      "64.65.66.67.68.69.70.71.72.73.74.75.76.77.78.79.80.81.82.83.84."
				      "85.86.87.88.89.90.91.92.93.94.95.96.97.98.99.100\r\n", 301,
				      NULL, 0));
	assert_int_equal(a.ngot, 301);
	advance(WC_TCP_DELACK_MS + 1);
	ack = rx_seg(h.nsent - 1);
	assert_int_equal(ack.ack, 0xFFFFFF01u + 301);
	assert_int_equal(ack.win, want > 0xFFFF ? 0xFFFF : want);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_CLIENT, 11211, 63000));
	dp_clear_sent(&h);
}

/* ---- many pipelined client connections, closed loop ---- */

#define PIPE_CONNS 16
#define PIPE_DEPTH 8

struct pipe_conn {
	struct wc_tcb *c;
	unsigned outstanding, done, next_key;
	size_t partial;			/* bytes of the current reply seen */
	char line[64];
};

static struct pipe_conn pconns[PIPE_CONNS];

static void pipe_send(struct wc_lcore *lc, struct pipe_conn *p)
{
	char req[128];

	while (p->outstanding < PIPE_DEPTH) {
		unsigned k = p->next_key++ % 50;
		int n = (p->next_key % 5) ?
			snprintf(req, sizeof(req), "get pk%u\r\n", k) :
			snprintf(req, sizeof(req), "set pk%u 0 0 32\r\n%032u\r\n", k, k);

		mc_out_put(&p->c->out, req, (size_t)n);
		p->outstanding++;
	}
	wc_tcp_flush(lc, p->c);
}

static void pipe_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	pipe_send(lc, c->user);
}

/* Count replies: each ends with "END\r\n" or "STORED\r\n". */
static void pipe_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct pipe_conn *p = c->user;

	while (c->inq.len) {
		uint64_t contig;
		const uint8_t *b = c->inq.peek(&c->inq, 0, &contig);

		if (contig > c->inq.len)
			contig = c->inq.len;
		for (uint64_t i = 0; i < contig; i++) {
			memmove(p->line, p->line + 1, sizeof(p->line) - 1);
			p->line[sizeof(p->line) - 1] = (char)b[i];
			if (memcmp(p->line + sizeof(p->line) - 5, "END\r\n", 5) == 0 ||
			    memcmp(p->line + sizeof(p->line) - 8, "STORED\r\n", 8) == 0) {
				p->outstanding--;
				p->done++;
			}
		}
		c->inq.consume(&c->inq, contig);
	}
	pipe_send(lc, p);
}

static void pipe_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	(void)lc;
	((struct pipe_conn *)c->user)->c = NULL;
}

static const struct wc_tcp_app pipe_app = {
	.open = pipe_open, .run = pipe_run, .close = pipe_close,
};

static bool never(void)
{
	return false;
}

static void many_pipelined_connections(void **state)
{
	unsigned total = 0;

	(void)state;
	self_neighbour();
	dp_clear_sent(&h);
	memset(pconns, 0, sizeof(pconns));
	for (unsigned i = 0; i < PIPE_CONNS; i++) {
		pconns[i].c = wc_tcp_connect(h.lc, 0, DP_IP, 11211, (uint16_t)(62000 + i), &pipe_app,
					     &pconns[i]);
		assert_non_null(pconns[i].c);
	}
	/* traffic for a while: every connection keeps going */
	for (int round = 0; round < 200; round++) {
		static struct rte_mbuf *batch[DP_MAX_SENT];
		unsigned k = h.nsent;

		memcpy(batch, h.sent, k * sizeof(batch[0]));
		h.nsent = 0;
		for (unsigned j = 0; j < k; j++) {
			batch[j]->ol_flags = 0;
			wc_net_input(h.lc, 0, batch[j]);
		}
		wc_net_flush(h.lc);
		if (k == 0)
			advance(50);
	}
	for (unsigned i = 0; i < PIPE_CONNS; i++) {
		assert_non_null(pconns[i].c);
		assert_true(pconns[i].done > 100);
		total += pconns[i].done;
	}
	assert_true(total > 16 * 100);
	shuttle(0, never, 0);
	for (unsigned i = 0; i < PIPE_CONNS; i++)
		if (pconns[i].c)
			wc_tcb_free(h.lc, pconns[i].c);
	for (int i = 0; i < 100 && wc_tcp_active(h.lc); i++)
		advance(1000);
	dp_clear_sent(&h);
}

/* ---- big replies stream under backpressure; idle connections hold no buffers ---- */

struct bulk_state {
	const char *req;
	size_t req_len;
	uint64_t got;
	uint64_t want;
	char tail[16];
	bool closed;
};

static void bulk_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct bulk_state *b = c->user;

	mc_out_put(&c->out, b->req, b->req_len);
	wc_tcp_flush(lc, c);
}

static void bulk_take(void *arg, const uint8_t *p, uint64_t n)
{
	struct bulk_state *b = arg;

	b->got += n;
	for (uint64_t i = 0; i < n; i++) {
		memmove(b->tail, b->tail + 1, sizeof(b->tail) - 1);
		b->tail[sizeof(b->tail) - 1] = (char)p[i];
	}
}

static void bulk_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	(void)lc;
	drain(c, bulk_take, c->user);
}

static void bulk_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	(void)lc;
	((struct bulk_state *)c->user)->closed = true;
}

static const struct wc_tcp_app bulk_app = {
	.open = bulk_open, .run = bulk_run, .close = bulk_close,
};

static struct bulk_state *bulk_cur;

static bool bulk_done(void)
{
	return bulk_cur->got >= bulk_cur->want || bulk_cur->closed;
}

static void big_replies_stream(void **state)
{
	enum { VLEN = 500000, GETS = 40 };
	static char set_req[VLEN + 64], req[GETS * 16];
	struct client_app_state a = { 0 };
	struct bulk_state b = { 0 };
	uint64_t resets = st()->resets_sent;
	struct wc_tcb *c;
	int n;

	(void)state;
	self_neighbour();
	/* store the value */
	n = snprintf(set_req, sizeof(set_req), "set half 0 0 %d\r\n", VLEN);
	memset(set_req + n, 'h', VLEN);
	memcpy(set_req + n + VLEN, "\r\nget nothing\r\n", 15);
	a.request = set_req;
	cur = &a;
	dp_clear_sent(&h);
	assert_non_null(wc_tcp_connect(h.lc, 0, DP_IP, 11211, 64000, &client_app, &a));
	shuttle(0, reply_complete, 60000);
	assert_memory_equal(a.got, "STORED\r\nEND\r\n", 13);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_IP, 11211, 64000));
	/* 40 pipelined gets of it: 20 MB of replies, more than all the mbufs there are */
	for (int i = 0; i < GETS; i++)
		strcat(req, "get half\r\n");
	b.req = req;
	b.req_len = strlen(req);
	b.want = (uint64_t)GETS * (strlen("VALUE half 0 500000\r\n") + VLEN + strlen("\r\nEND\r\n"));
	bulk_cur = &b;
	c = wc_tcp_connect(h.lc, 0, DP_IP, 11211, 64001, &bulk_app, &b);
	assert_non_null(c);
	shuttle(0, bulk_done, 600000);
	assert_false(b.closed);
	assert_int_equal(b.got, b.want);
	assert_memory_equal(b.tail + sizeof(b.tail) - 7, "\r\nEND\r\n", 7);
	assert_int_equal(st()->resets_sent, resets);
	wc_tcb_free(h.lc, c);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_IP, 64001, 11211));
	dp_clear_sent(&h);
}

/* While buffers run short, a connection whose replies are all acknowledged holds none. */
static void idle_connections_give_buffers_back(void **state)
{
	static struct rte_mbuf *hog[16384];
	struct client_app_state a = { .request = "version\r\n" };
	unsigned nhog = 0;
	struct wc_tcb *srv;

	(void)state;
	self_neighbour();
	cur = &a;
	while (rte_mempool_avail_count(h.app.pool) > h.app.pool->size / 5 && nhog < 16384)
		hog[nhog++] = rte_pktmbuf_alloc(h.app.pool);
	advance(2);	/* the lcore notices */
	assert_true(h.lc->tcp->pool_low);
	dp_clear_sent(&h);
	assert_non_null(wc_tcp_connect(h.lc, 0, DP_IP, 11211, 64002, &client_app, &a));
	shuttle(0, reply_complete_version, 10000);
	assert_memory_equal(a.got, "VERSION ", 8);
	advance(WC_TCP_DELACK_MS + 5);	/* the client's delayed ACK of the reply */
	shuttle(0, never, 200);
	srv = wc_tcb_lookup(h.lc->tcp, DP_IP, 64002, 11211);
	assert_non_null(srv);
	assert_int_equal(srv->tx.len, 0);
	assert_null(srv->tx.head);
	/* the pool recovers: back to normal */
	while (nhog)
		rte_pktmbuf_free(hog[--nhog]);
	advance(2);
	assert_false(h.lc->tcp->pool_low);
	wc_tcb_free(h.lc, srv);
	wc_tcb_free(h.lc, wc_tcb_lookup(h.lc->tcp, DP_IP, 11211, 64002));
	dp_clear_sent(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handshake_and_request),
		cmocka_unit_test(delayed_and_immediate_acks),
		cmocka_unit_test(retransmission_timeout_and_backoff),
		cmocka_unit_test(fast_retransmit_on_three_dup_acks),
		cmocka_unit_test(out_of_order_held_then_delivered),
		cmocka_unit_test(sack_blocks_for_held_segments),
		cmocka_unit_test(timestamps_echoed),
		cmocka_unit_test(a_big_hole_fills),
		cmocka_unit_test(flow_control_both_ways),
		cmocka_unit_test(resets),
		cmocka_unit_test(idle_timeout_closes),
		cmocka_unit_test(http_gets_hung_up_on),
		cmocka_unit_test(data_after_close_resets),
		cmocka_unit_test(request_timeout_resets_silent_uploads),
		cmocka_unit_test(buffer_pressure_shrinks_windows),
		cmocka_unit_test(stage_wait_holds_window_to_share),
		cmocka_unit_test(client_mode_against_own_server),
		cmocka_unit_test(client_mode_under_loss),
		cmocka_unit_test(client_connect_refused_and_unanswered),
		cmocka_unit_test(client_handshake_window),
		cmocka_unit_test(many_pipelined_connections),
		cmocka_unit_test(big_replies_stream),
		cmocka_unit_test(idle_connections_give_buffers_back),
		cmocka_unit_test(syn_cookies_and_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
