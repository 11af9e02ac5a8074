/*
 * pubsub_replay.c - the dataplane's cost of PUBLISH fan-out on one core,
 * without a NIC (tests/unit/dp_harness.h): SUBS subscriber connections
 * listen to one channel; a publisher connection sends segments of BATCH
 * pipelined PUBLISH commands; after each segment every connection
 * acknowledges what it was sent (as clients that read do), so windows never
 * close. Prints messages delivered per second and ns per delivery for 1, 10,
 * 50 and 200 subscribers, after checking that every subscriber was sent
 * exactly the bytes of every message.
 *
 * This is the node's side alone (TCP in and out, RESP, Pub/Sub, push
 * output, frame building): pubsubbench.py measures the whole path with real
 * clients beside redis-server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_clock.h"
#include "../../tests/unit/dp_tcpclient.h"
#include "net/tcp_impl.h"

#define MAX_SUBS 200
#define BATCH 28		/* PUBLISH commands per segment (49 bytes each) */
#define ROUNDS 4000

static struct dp_harness h;
static struct dpc subs[MAX_SUBS], pub;
static uint8_t sbuf[MAX_SUBS][256], pbuf[1 << 16];

static void cfg(struct wc_config *c)
{
	c->memory = 32u << 20;
	c->max_conns = 512;
	c->redis_port = 6379;
}

static struct wc_tcb *tcb(const struct dpc *c)
{
	return wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport);
}

static void drop_sent(void)
{
	for (unsigned i = 0; i < h.nsent; i++)
		rte_pktmbuf_free(h.sent[i]);
	h.nsent = 0;
}

/* c acknowledges everything the node sent it */
static void ack_all(struct dpc *c)
{
	uint8_t f[128];

	c->ack = tcb(c)->snd_nxt;
	dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_ACK_FLAG, c->seq, c->ack,
				     65535, NULL, 0, NULL, 0));
}

static int run(unsigned nsub)
{
	static const char one[] = "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$16\r\nmmmmmmmmmmmmmmmm\r\n";
	static const char frame[] = "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$16\r\nmmmmmmmmmmmmmmmm\r\n";
	char batch[BATCH * sizeof(one)];
	uint32_t start[MAX_SUBS];
	size_t bl = 0;
	uint8_t f[2048];
	double t0, dt;
	static uint16_t port = 2000;

	for (unsigned i = 0; i < BATCH; i++) {
		memcpy(batch + bl, one, sizeof(one) - 1);
		bl += sizeof(one) - 1;
	}
	for (unsigned i = 0; i < nsub; i++) {
		if (!dpc_open(&h, &subs[i], port++, 6379, sbuf[i], sizeof(sbuf[i])))
			return -1;
		dpc_send(&h, &subs[i], "SUBSCRIBE bench\r\n", 17, 1400);
		start[i] = tcb(&subs[i])->snd_nxt;
	}
	if (!dpc_open(&h, &pub, port++, 6379, pbuf, sizeof(pbuf)))
		return -1;
	t0 = bench_now_s();
	for (unsigned r = 0; r < ROUNDS; r++) {
		dp_input(&h, f, dp_tcp_ports(f, pub.cport, pub.dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, pub.seq, pub.ack,
					     65535, batch, bl, NULL, 0));
		pub.seq += (uint32_t)bl;
		drop_sent();
		ack_all(&pub);
		for (unsigned i = 0; i < nsub; i++)
			ack_all(&subs[i]);
		drop_sent();
	}
	dt = bench_now_s() - t0;
	for (unsigned i = 0; i < nsub; i++) {
		uint32_t got = tcb(&subs[i])->snd_nxt - start[i];

		if (got != (uint32_t)ROUNDS * BATCH * (sizeof(frame) - 1)) {
			fprintf(stderr, "subscriber %u was sent %u bytes, not %zu\n", i, got,
				(size_t)ROUNDS * BATCH * (sizeof(frame) - 1));
			return -1;
		}
	}
	printf("%-12u %14.0f %14.0f %10.1f\n", nsub, ROUNDS * BATCH / dt,
	       (double)ROUNDS * BATCH * nsub / dt, dt * 1e9 / ((double)ROUNDS * BATCH * nsub));
	for (unsigned i = 0; i < nsub; i++)
		dpc_close(&h, &subs[i]);
	dpc_close(&h, &pub);
	h.lc->tcp->now_ms += 300000;	/* past TIME_WAIT: the connections' slots come back */
	h.lc->tcp->now_us += 300000000ull;
	wc_tcp_poll(h.lc);
	drop_sent();
	return 0;
}

int main(void)
{
	static const unsigned counts[] = { 1, 10, 50, 200 };

	if (dp_eal_init() != 0 || dp_setup(&h, cfg) != 0) {
		fprintf(stderr, "pubsub_replay: no dataplane\n");
		return 1;
	}
	h.lc->tcp->frozen_clock = true;
	h.lc->tcp->now_ms = 1000000;
	h.lc->tcp->now_us = 1000000000;
	h.lc->tcp->wheel_done = h.lc->tcp->now_ms;
	dp_learn_client(&h);
	printf("== PUBLISH fan-out on one core, the dataplane alone (16-byte messages, %d "
	       "PUBLISH per segment, every connection acknowledging)\n", BATCH);
	printf("%-12s %14s %14s %10s\n", "subscribers", "publishes/s", "delivered/s", "ns/deliv");
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (run(counts[i]) != 0)
			return 1;
	dp_teardown(&h);
	return 0;
}
