/*
 * fuzz_tcp.c - libFuzzer harness for the dataplane's TCP: each input opens
 * a connection with a real handshake, then plays a series of segments whose
 * flags, sequence and acknowledgement offsets (relative to what the
 * connection expects), window, options and payload come from the fuzzer,
 * with clock jumps in between so timers (retransmission, persist, delayed
 * ACK, idle, TIME_WAIT) fire too. Payloads are memcached text, so the
 * session above TCP is driven through reordering, overlap and loss.
 *
 * Input: a series of records
 *   op (1) | flags (1) | seq offset (2, signed) | ack offset (2, signed) |
 *   window (2) | payload length (1) | payload
 * op bit 0: advance the clock by (op >> 1) * 8 ms first; bit 7: SYN options.
 * Every connection is torn down at the end of the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/dp_harness.h"
#include "net/tcp_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_harness h;

static void short_timers(struct wc_config *c)
{
	c->tcp_idle_ms = 3000;
	c->max_conns = 16;
}

/* The node's sequence number from the newest segment it sent, if any. */
static bool last_seq(uint32_t *seq)
{
	const uint8_t *f;
	const struct rte_ipv4_hdr *ip;

	if (!h.nsent)
		return false;
	f = rte_pktmbuf_mtod(h.sent[h.nsent - 1], const uint8_t *);
	ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	if (ip->next_proto_id != IPPROTO_TCP)
		return false;
	*seq = rte_be_to_cpu_32(((const struct rte_tcp_hdr *)(ip + 1))->sent_seq);
	return true;
}

static void advance(uint64_t ms)
{
	h.lc->tcp->now_ms += ms;
	h.lc->tcp->now_us += ms * 1000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* MSS 536, window scale 2, SACK permitted */
	static const uint8_t syn_opts[] = { 2, 4, 0x02, 0x18, 1, 3, 3, 2, 1, 1, 4, 2 };
	static int ready;
	static uint16_t port = 1024;
	static uint8_t frame[2048];
	uint32_t seq = 5000, ack = 0, node;

	if (!ready) {
		if (dp_eal_init() != 0 || dp_setup(&h, short_timers) != 0)
			abort();
		dp_freeze_clock(&h);
		dp_learn_client(&h);
		ready = 1;
	}
	port = (uint16_t)(port == 65535 ? 1024 : port + 1);
	dp_input(&h, frame, dp_tcp(frame, port, RTE_TCP_SYN_FLAG, seq, 0, 65535, NULL, 0, syn_opts,
				   sizeof(syn_opts)));
	if (last_seq(&node))
		ack = node + 1;
	seq++;
	dp_input(&h, frame, dp_tcp(frame, port, RTE_TCP_ACK_FLAG, seq, ack, 65535, NULL, 0, NULL, 0));
	dp_clear_sent(&h);
	while (size >= 9) {
		uint8_t op = data[0], flags = data[1], len = data[8];
		int16_t dseq = (int16_t)(data[2] << 8 | data[3]), dack = (int16_t)(data[4] << 8 | data[5]);
		uint16_t win = (uint16_t)(data[6] << 8 | data[7]);

		data += 9;
		size -= 9;
		if (len > size)
			len = (uint8_t)size;
		if (op & 1)
			advance((uint64_t)(op >> 1) * 8);
		dp_input(&h, frame, dp_tcp(frame, port, flags, seq + (uint32_t)(int32_t)dseq,
					   ack + (uint32_t)(int32_t)dack, win, data, len,
					   (op & 0x80) ? syn_opts : NULL,
					   (op & 0x80) ? (uint8_t)sizeof(syn_opts) : 0));
		/* a well-behaved client moves on: next bytes, and acknowledges what came */
		if (dseq == 0 && (flags & RTE_TCP_ACK_FLAG))
			seq += len;
		if (last_seq(&node) && (int32_t)(node - ack) > 0)
			ack = node;
		dp_clear_sent(&h);
		data += len;
		size -= len;
	}
	/* tear down: every connection of this input goes */
	for (unsigned i = 0; i < h.lc->tcp->ntcb; i++) {
		struct wc_tcb *c = &h.lc->tcp->tcbs[i];

		if (c->state != TCP_FREE)
			wc_tcb_free(h.lc, c);
	}
	dp_clear_sent(&h);
	wc_part_maintain(h.app.parts[0], &h.lc->ctx, 64);
	rcu_quiescent_state();
	return 0;
}
