/*
 * udp_replay.c - the cost of one memcached UDP GET hit through the whole
 * packet path (eth -> ip -> udp -> protocol -> store -> reply datagram with
 * checksums -> tx), replayed deterministically on a dataplane without a NIC
 * (tests/unit/dp_harness.h). Under callgrind (--callgrind) only the replay
 * loop is counted, so instructions per request are exact and repeatable;
 * without it the loop is timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <valgrind/callgrind.h>

#include "../../tests/unit/dp_harness.h"

#define KEYS 10000
#define REQS 4000

static struct dp_harness h;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	bool callgrind = argc > 1 && strcmp(argv[1], "--callgrind") == 0;
	static uint8_t frame[256];
	static struct rte_mbuf *rx[REQS];
	char cmd[64], val[32];
	uint64_t seed = 42;
	double t0, t;

	if (dp_eal_init() != 0 || dp_setup(&h, NULL) != 0) {
		fprintf(stderr, "udp_replay: cannot set up the dataplane\n");
		return 1;
	}
	dp_learn_client(&h);
	memset(val, 'v', sizeof(val));
	for (int k = 0; k < KEYS; k++) {
		int n = snprintf(cmd, sizeof(cmd), "set key:%012d 0 0 32\r\n", k);

		memcpy(cmd + n, val, 32);
		memcpy(cmd + n + 32, "\r\n", 2);
		dp_input(&h, frame, dp_mc_udp(frame, 1, 0, 1, cmd, (size_t)n + 34, DP_CLIENT));
		dp_clear_sent(&h);
	}
	for (int round = 0; round < 2; round++) {
		/* received frames ready in mbufs, as rx_burst would hand them over */
		for (int i = 0; i < REQS; i++) {
			int n;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			n = snprintf(cmd, sizeof(cmd), "get key:%012d\r\n", (int)((seed >> 33) % KEYS));
			size_t len = dp_mc_udp(frame, (uint16_t)i, 0, 1, cmd, (size_t)n, DP_CLIENT);

			rx[i] = rte_pktmbuf_alloc(h.app.pool);
			memcpy(rte_pktmbuf_append(rx[i], (uint16_t)len), frame, len);
		}
		if (round == 1 && callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		t0 = now_s();
		for (int i = 0; i < REQS; i++) {
			wc_net_input(h.lc, 0, rx[i]);
			if ((i & 31) == 31) {
				wc_net_flush(h.lc);
				if (h.nsent > DP_MAX_SENT - 64)
					dp_clear_sent(&h);
			}
		}
		wc_net_flush(h.lc);
		t = now_s() - t0;
		if (round == 1 && callgrind)
			CALLGRIND_TOGGLE_COLLECT;
		if (h.lc->ns.udp_reply_datagrams == 0) {
			fprintf(stderr, "udp_replay: no replies\n");
			return 1;
		}
		dp_clear_sent(&h);
	}
	if (h.lc->ctx.st.get_hits < REQS) {
		fprintf(stderr, "udp_replay: only %lu hits\n", (unsigned long)h.lc->ctx.st.get_hits);
		return 1;
	}
	printf("udp_replay: %d GET hits, %.0f ns per request on this machine%s\n", REQS,
	       t / REQS * 1e9, callgrind ? " (under callgrind)" : "");
	dp_teardown(&h);
	return 0;
}
