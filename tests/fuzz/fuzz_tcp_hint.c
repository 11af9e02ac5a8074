/*
 * fuzz_tcp_hint.c - libFuzzer harness for the rx burst's pre-pass over TCP
 * GETs (net/tcp_hint.h), which reads untrusted frames before anything has
 * checked them: wc_tcp_hint_payload on the input as a payload (in a buffer
 * of its exact size; every key found must lie inside it), then the input
 * as a burst of frames through wc_tcp_hint_burst, raw or wrapped as a TCP
 * segment to the memcached or Redis port (the first byte says which).
 * Nothing is served: the pre-pass alone must neither crash nor read out of
 * bounds, whatever the frames say of their own lengths. The RESP fast
 * path's pipeline recognizers, resp_get_at, resp_set_at and resp_mget_at,
 * get the payload too, and resp_flat_argv (the slow log's view of a fast
 * command) must give what they found.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/dp_harness.h"
#include "net/tcp_hint.h"
#include "proto/resp.h"

#define FUZZ_REDIS_PORT 6379

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_harness h;

static void with_redis(struct wc_config *c)
{
	c->redis_port = FUZZ_REDIS_PORT;
	c->max_conns = 64;
}

static void payload(bool resp, const uint8_t *data, size_t size)
{
	struct wc_tcp_hint_key keys[WC_TCP_HINT_MAX];
	uint8_t *buf = malloc(size ? size : 1);
	unsigned n;

	if (!buf)
		return;
	memcpy(buf, data, size);
	n = wc_tcp_hint_payload(resp, buf, (uint32_t)size, keys, WC_TCP_HINT_MAX);
	for (unsigned i = 0; i < n; i++)
		if (keys[i].key < buf || keys[i].klen == 0 || keys[i].klen > 250 ||
		    keys[i].key + keys[i].klen > buf + size)
			abort();
	/* the RESP fast path's pipeline recognizers (proto/resp.h) on the same bytes */
	{
		uint32_t klen, used, lens[4], argc;
		const uint8_t *argv[4];
		const uint8_t *k = resp_get_at(buf, (uint32_t)size, &klen, &used);
		struct resp_set rs;

		if (k && (used > size || k < buf || k + klen > buf + used))
			abort();
		if (k && (resp_flat_argv(buf, used, argv, lens, 4) != 2 || argv[1] != k ||
			  lens[1] != klen))
			abort();
		used = resp_set_at(buf, (uint32_t)size, &rs);
		if (used && (used > size || rs.klen == 0 || rs.klen > 250 || rs.key < buf ||
			     rs.key + rs.klen > rs.val || rs.val + rs.vlen + 2 != buf + used ||
			     memcmp(rs.val + rs.vlen, "\r\n", 2) != 0))
			abort();
		if (used && (resp_flat_argv(buf, used, argv, lens, 4) != 3 || argv[1] != rs.key ||
			     lens[1] != rs.klen || argv[2] != rs.val || lens[2] != rs.vlen))
			abort();
		/* on anything: arguments inside the buffer */
		argc = resp_flat_argv(buf, (uint32_t)size, argv, lens, 4);
		for (uint32_t i = 0; i < argc && i < 4; i++)
			if (argv[i] < buf || argv[i] + lens[i] > buf + size)
				abort();
		{
			static struct resp_mget mg;
			const uint8_t *after = buf;

			used = resp_mget_at(buf, (uint32_t)size, &mg);
			if (used && (used > size || mg.nkeys == 0 || mg.nkeys > RESP_MGET_FAST_MAX))
				abort();
			/* each key inside, in order, after its length line and before its CRLF */
			for (uint32_t i = 0; used && i < mg.nkeys; i++) {
				if (mg.key[i] <= after || mg.klen[i] == 0 || mg.klen[i] > 250 ||
				    mg.key[i] + mg.klen[i] + 2 > buf + used ||
				    memcmp(mg.key[i] + mg.klen[i], "\r\n", 2) != 0 ||
				    memcmp(mg.key[i] - 2, "\r\n", 2) != 0)
					abort();
				after = mg.key[i] + mg.klen[i] + 1;
			}
			if (used && after + 1 != buf + used)
				abort();
		}
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t frame[2048];
	struct rte_mbuf *pkts[WC_RX_BURST];
	unsigned npkts = 0;

	if (!ready) {
		if (dp_eal_init() != 0 || dp_setup(&h, with_redis) != 0)
			abort();
		ready = 1;
	}
	if (size == 0)
		return 0;
	payload(data[0] & 1, data + 1, size - 1);
	/* frames: a length byte pair, then its bytes (the first says raw or wrapped, and where) */
	while (size >= 3 && npkts < WC_RX_BURST) {
		size_t len = (size_t)data[0] << 8 | data[1], n;
		const uint8_t *p = data + 2;

		size -= 2;
		if (len > size)
			len = size;
		if (len && (p[0] & 1)) {
			size_t text = len - 1 > 1400 ? 1400 : len - 1;

			n = dp_tcp_ports(frame, (uint16_t)(30000 + (p[0] >> 2)),
					 (p[0] & 2) ? FUZZ_REDIS_PORT : 11211,
					 RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 1, 1, 65535, p + 1, text,
					 NULL, 0);
		} else {
			n = len > sizeof(frame) ? sizeof(frame) : len;
			memcpy(frame, p, n);
		}
		if ((pkts[npkts] = rte_pktmbuf_alloc(h.app.pool)) != NULL) {
			if (n > rte_pktmbuf_tailroom(pkts[npkts]))
				n = rte_pktmbuf_tailroom(pkts[npkts]);
			memcpy(rte_pktmbuf_append(pkts[npkts], (uint16_t)n), frame, n);
			npkts++;
		}
		data = p + len;
		size -= len;
	}
	if (npkts && wc_tcp_hint_burst(h.lc, 0, pkts, npkts) > WC_TCP_HINT_MAX)
		abort();
	rte_pktmbuf_free_bulk(pkts, npkts);
	return 0;
}
