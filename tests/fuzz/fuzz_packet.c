/*
 * fuzz_packet.c - libFuzzer harness for the whole packet path: frames go
 * through eth -> arp | ipv4 -> icmp | udp -> memcached over UDP on a
 * dataplane without a NIC (tests/unit/dp_harness.h). The input is a series
 * of frames, each prefixed by a length byte pair; a frame whose first byte
 * is odd is wrapped as a well-formed memcached UDP request (checksums
 * right) around the fuzzed text, so the fuzzer reaches the protocol too.
 * Frames go in as rx bursts of up to WC_RX_BURST, as the worker loop hands
 * them over (wc_net_input_burst: the staged GET path for plain gets, the
 * rest frame by frame).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/dp_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_harness h;

/* One rx burst through the packet path, and everything that follows from it (as dp_input). */
static void input_burst(struct rte_mbuf **pkts, unsigned n)
{
	wc_net_input_burst(h.lc, 0, pkts, n, NULL);
	wc_mc_udp_poll(h.lc);
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	if (wc_bus_drain(h.lc, 64)) {
		rd_push_output(h.lc);
		wc_net_flush(h.lc);
	}
	dp_clear_sent(&h);
	h.lc->ctx.clock.now++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t frame[2048];
	struct rte_mbuf *pkts[WC_RX_BURST];
	unsigned npkts = 0;

	if (!ready) {
		if (dp_eal_init() != 0 || dp_setup(&h, NULL) != 0)
			abort();
		dp_learn_client(&h);
		ready = 1;
	}
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1], n;
		const uint8_t *p = data + 2;

		size -= 2;
		if (len > size)
			len = size;
		if (len && (p[0] & 1)) {
			size_t text = len - 1 > 1400 ? 1400 : len - 1;

			n = dp_mc_udp(frame, (uint16_t)len, 0, 1, p + 1, text, DP_CLIENT);
		} else {
			n = len > sizeof(frame) ? sizeof(frame) : len;
			memcpy(frame, p, n);
		}
		if ((pkts[npkts] = rte_pktmbuf_alloc(h.app.pool)) != NULL) {
			if (n > rte_pktmbuf_tailroom(pkts[npkts]))
				n = rte_pktmbuf_tailroom(pkts[npkts]);
			memcpy(rte_pktmbuf_append(pkts[npkts], (uint16_t)n), frame, n);
			if (++npkts == WC_RX_BURST) {
				input_burst(pkts, npkts);
				npkts = 0;
			}
		}
		data = p + len;
		size -= len;
	}
	if (npkts)
		input_burst(pkts, npkts);
	wc_part_maintain(h.app.parts[0], &h.lc->ctx, 64);
	rcu_quiescent_state();
	return 0;
}
