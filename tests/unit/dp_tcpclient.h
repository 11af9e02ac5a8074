/*
 * dp_tcpclient.h - a minimal TCP client over the NIC-less harness
 * (dp_harness.h): open a connection to a port of the node, send bytes cut
 * into segments, and collect every byte the node sends back (acknowledged
 * as it arrives), with FIN and RST noticed. For protocol tests above TCP.
 */
#ifndef WC_TEST_DP_TCPCLIENT_H
#define WC_TEST_DP_TCPCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dp_harness.h"

struct dpc {
	uint16_t cport, dport;
	uint32_t seq, ack;	/* next byte we send / expect */
	bool fin, rst;		/* the node closed / reset */
	size_t n;		/* bytes received so far */
	size_t cap;
	uint8_t *buf;
};

/* Take every segment the node sent to this connection: data in order, FIN, RST. */
static inline void dpc_drain(struct dp_harness *h, struct dpc *c)
{
	for (unsigned i = 0; i < h->nsent; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(h->sent[i], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		const struct rte_tcp_hdr *th;
		uint32_t seq;
		uint16_t len;

		if (ip->next_proto_id != IPPROTO_TCP)
			continue;
		th = (const struct rte_tcp_hdr *)(ip + 1);
		if (rte_be_to_cpu_16(th->dst_port) != c->cport)
			continue;
		if (th->tcp_flags & RTE_TCP_RST_FLAG)
			c->rst = true;
		seq = rte_be_to_cpu_32(th->sent_seq);
		len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - (th->data_off >> 4) * 4u);
		if (len && seq == c->ack && c->n + len <= c->cap) {
			memcpy(c->buf + c->n, (const uint8_t *)th + (th->data_off >> 4) * 4u, len);
			c->n += len;
			c->ack += len;
		}
		if ((th->tcp_flags & RTE_TCP_FIN_FLAG) && seq + len == c->ack) {
			c->fin = true;
			c->ack++;
		}
	}
	dp_clear_sent(h);
}

/*
 * dpc_drain for one of several clients: what the node sent to c is taken,
 * and every segment stays for the others (dpc_drain frees what it looked
 * at, so it gets references of its own).
 */
static inline void dpc_take(struct dp_harness *h, struct dpc *c)
{
	struct rte_mbuf *copy[DP_MAX_SENT];
	unsigned n = h->nsent;

	memcpy(copy, h->sent, n * sizeof(copy[0]));
	for (unsigned i = 0; i < n; i++)
		rte_mbuf_refcnt_update(copy[i], 1);
	dpc_drain(h, c);
	memcpy(h->sent, copy, n * sizeof(copy[0]));
	h->nsent = n;
}

static inline void dpc_ack(struct dp_harness *h, struct dpc *c)
{
	uint8_t f[128];

	dp_input(h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_ACK_FLAG, c->seq, c->ack,
				    65535, NULL, 0, NULL, 0));
}

/* Handshake (MSS 1460, window scale 7); false if the node did not answer. */
static inline bool dpc_open(struct dp_harness *h, struct dpc *c, uint16_t cport, uint16_t dport,
			    uint8_t *buf, size_t cap)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	uint8_t f[256];
	const uint8_t *fr;
	const struct rte_tcp_hdr *th;

	memset(c, 0, sizeof(*c));
	c->cport = cport;
	c->dport = dport;
	c->seq = 1000;
	c->buf = buf;
	c->cap = cap;
	dp_clear_sent(h);
	dp_input(h, f, dp_tcp_ports(f, cport, dport, RTE_TCP_SYN_FLAG, c->seq, 0, 65535, NULL, 0,
				    opts, sizeof(opts)));
	if (h->nsent != 1)
		return false;
	fr = rte_pktmbuf_mtod(h->sent[0], const uint8_t *);
	th = (const struct rte_tcp_hdr *)(fr + RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr));
	if (th->tcp_flags != (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG))
		return false;
	c->ack = rte_be_to_cpu_32(th->sent_seq) + 1;
	c->seq++;
	dp_clear_sent(h);
	dpc_ack(h, c);
	dpc_drain(h, c);
	return true;
}

/* The client port dpc_connect uses next (each connection a new one). */
static uint16_t dpc_next_port __attribute__((unused)) = 20000;

/* dpc_open from the next client port. */
static inline bool dpc_connect(struct dp_harness *h, struct dpc *c, uint16_t dport, uint8_t *buf,
			       size_t cap)
{
	return dpc_open(h, c, dpc_next_port++, dport, buf, cap);
}

/* Send n bytes in segments of at most seg bytes, collecting what comes back. */
static inline void dpc_send(struct dp_harness *h, struct dpc *c, const void *data, size_t n,
			    size_t seg)
{
	uint8_t f[2048];
	const uint8_t *p = data;

	if (seg == 0 || seg > 1400)
		seg = 1400;
	while (n) {
		size_t k = n < seg ? n : seg;

		dp_input(h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
					    c->seq, c->ack, 65535, p, k, NULL, 0));
		c->seq += (uint32_t)k;
		p += k;
		n -= k;
		dpc_drain(h, c);
		dpc_ack(h, c);
		dpc_drain(h, c);
	}
}

/* Close from our side (FIN) and let the node finish. */
static inline void dpc_close(struct dp_harness *h, struct dpc *c)
{
	uint8_t f[128];

	dp_input(h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG,
				    c->seq, c->ack, 65535, NULL, 0, NULL, 0));
	c->seq++;
	dpc_drain(h, c);
	dpc_ack(h, c);
	dp_clear_sent(h);
}

/* Does got[0..n) equal want, where each '#' in want stands for a run of digits? */
static inline bool dpc_matches(const char *want, const uint8_t *got, size_t n)
{
	size_t i = 0;

	while (*want) {
		if (*want == '#') {
			if (i >= n || got[i] < '0' || got[i] > '9')
				return false;
			while (i < n && got[i] >= '0' && got[i] <= '9')
				i++;
			want++;
			continue;
		}
		if (i >= n || (uint8_t)*want++ != got[i++])
			return false;
	}
	return i == n;
}

#endif
