/*
 * fuzz_packet.c - libFuzzer harness for the whole packet path: frames go
 * through eth -> arp | ipv4 -> icmp | udp -> memcached over UDP on a
 * dataplane without a NIC (tests/unit/dp_harness.h). The input is a series
 * of frames, each prefixed by a length byte pair; a frame whose first byte
 * is odd is wrapped as a well-formed memcached UDP request (checksums
 * right) around the fuzzed text, so the fuzzer reaches the protocol too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/dp_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_harness h;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t frame[2048];

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
		dp_input(&h, frame, n);
		dp_clear_sent(&h);
		data = p + len;
		size -= len;
		h.lc->ctx.clock.now++;
	}
	wc_part_maintain(h.app.parts[0], &h.lc->ctx, 64);
	rcu_quiescent_state();
	return 0;
}
