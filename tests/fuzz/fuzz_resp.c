/*
 * fuzz_resp.c - libFuzzer harness for the Redis engine end to end: the
 * input is a byte stream sent to a Redis connection over the dataplane's
 * own TCP (NIC-less harness), cut into segments at sizes the input also
 * chooses, so the RESP parser (multibulk, inline, staged bulks) and every
 * command handler run on whatever arrives. Each input uses a fresh
 * connection that is closed at the end; the keyspace persists across
 * inputs, so later inputs meet earlier state. A second connection listens
 * meanwhile (every pattern, two channels and two shard channels) and never
 * reads or acknowledges: what the input publishes is pushed to it, and a
 * big enough input passes its output bound and has it cut (push.h). The
 * dictionary tests/fuzz/fuzz_resp.dict names the commands, Pub/Sub among
 * them.
 *
 * Input: first byte = segment size (1..256, 0 -> 1400), then the stream.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/dp_tcpclient.h"
#include "net/tcp_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_harness h;
static uint8_t reply[1 << 20];
static void *bus_state;

static void cfg(struct wc_config *c)
{
	c->memory = 32u << 20;
	c->max_conns = 16;
	c->max_value = 256u << 10;
	c->redis_port = 6379;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint16_t port = 2000;
	struct dpc c, l;
	static uint8_t lbuf[1 << 16];
	static const char listen[] = "PSUBSCRIBE *\r\nSUBSCRIBE a news\r\nSSUBSCRIBE a b\r\n";
	size_t seg;

	if (!ready) {
		if (dp_eal_init() != 0 || dp_setup(&h, cfg) != 0)
			abort();
		dp_freeze_clock(&h);
		h.lc->ctx.clock.epoch = 1700000000;
		dp_learn_client(&h);
		/* the lcore lives in DPDK memory, which LeakSanitizer does not scan:
		 * its bus state (malloc'ed) is held here too, so it is not a "leak" */
		bus_state = h.lc->bus;
		ready = 1;
	}
	if (size == 0)
		return 0;
	seg = data[0] ? data[0] : 1400;
	port = (uint16_t)(port >= 60000 ? 2000 : port + 2);
	if (!dpc_open(&h, &l, (uint16_t)(port + 1), 6379, lbuf, sizeof(lbuf)))
		abort();
	dpc_send(&h, &l, listen, sizeof(listen) - 1, 1400);
	if (!dpc_open(&h, &c, port, 6379, reply, sizeof(reply)))
		abort();
	dpc_send(&h, &c, data + 1, size - 1, seg);
	dpc_close(&h, &c);
	{
		/* the listener never read: it goes with a reset, not a FIN its unread data waits on */
		uint8_t f[128];

		dp_input(&h, f, dp_tcp_ports(f, l.cport, l.dport, RTE_TCP_RST_FLAG, l.seq, 0, 0, NULL, 0,
					     NULL, 0));
		dp_clear_sent(&h);
	}
	/* whatever happened, nothing stays borrowed once the connection is gone */
	h.lc->tcp->now_ms += 2000;
	h.lc->tcp->now_us += 2000000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
	dp_clear_sent(&h);
	return 0;
}
