/*
 * test_mc_udp_burst.c - the staged rx-burst path for memcached UDP gets
 * (net/mc_udp_burst.c) against the frame-by-frame path: the same frames,
 * fed once through wc_net_input one at a time and once as bursts through
 * wc_net_input_burst, give the same datagrams in the same order (byte for
 * byte but the IP id and so the IP checksum), the same counters, and no
 * request context left taken. The frames mix hits, misses, gets and gets,
 * a get that must see a set earlier in its own burst, a multi-key get, a
 * bad request, non-GET commands, a multi-datagram reply, an amplification
 * refusal, and frames the fast path must not take (bad checksum, another
 * host's MAC, a refused source, a fragment, ARP). Bursts that interleave
 * clients (another MAC, an unresolved one, every request from its own
 * port) give the same too, each reply to its own client. And the in-place
 * reply writer gives the engine's bytes for every short key and value
 * length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dp_harness.h"
#include "proto/mc_exec.h"

static struct dp_harness h;

#define MAX_FRAMES 64
#define BIG 1500		/* a value whose reply takes two datagrams */

struct frame {
	uint8_t b[2048];
	size_t len;
};

static struct frame frames[MAX_FRAMES];
static unsigned nframes;

/* what one way of feeding the frames produced */
struct outcome {
	unsigned nsent;
	uint8_t *sent[MAX_FRAMES * 4];
	uint16_t len[MAX_FRAMES * 4];
	struct wc_netstats ns;
	uint64_t hits, misses, gets;
	unsigned udp_free;
};

static struct outcome single, burst;

static int setup(void **state)
{
	(void)state;
	return dp_eal_init();
}

static void add_text(uint16_t id, const char *text, size_t len)
{
	assert_true(nframes < MAX_FRAMES);
	frames[nframes].len = dp_mc_udp(frames[nframes].b, id, 0, 1, text, len, DP_CLIENT);
	nframes++;
}

static void add(uint16_t id, const char *text)
{
	add_text(id, text, strlen(text));
}

/* The frames: a mix the fast path takes and ones it must leave to the general path. */
static void build_frames(void)
{
	static char padded[400];
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *u;
	int n;

	nframes = 0;
	add(1, "get a\r\n");				/* hit */
	add(2, "gets b\r\n");				/* hit, with its CAS */
	add(3, "get nope\r\n");				/* miss */
	add(4, "get f\n");				/* hit, flags, bare LF */
	add(5, "bogus\r\n");				/* bad command: ERROR */
	add(6, "get a b nope f\r\n");			/* multi-key get */
	add(7, "set c 0 0 1\r\nz\r\n");		/* a write in the burst ... */
	add(8, "get c\r\n");				/* ... seen by the get after it */
	add(9, "delete a\r\n");
	add(10, "get a\r\n");				/* now a miss */
	/* a value over two datagrams, asked for by a request big enough to allow it */
	n = snprintf(padded, sizeof(padded), "get big%*s\r\n", 300, "");
	add_text(11, padded, (size_t)n);
	add(12, "get big\r\n");				/* the amplification bound refuses it */
	add(13, "get \r\n");				/* no key: the general path's error */
	/* a bad UDP checksum: dropped, counted */
	add(14, "get b\r\n");
	u = (struct rte_udp_hdr *)(frames[nframes - 1].b + RTE_ETHER_HDR_LEN + 20);
	u->dgram_cksum ^= 0x0101;
	/* another host's MAC */
	add(15, "get b\r\n");
	frames[nframes - 1].b[0] = 0x02;
	frames[nframes - 1].b[5] = 0x77;
	/* a source outside the allowed prefix */
	frames[nframes].len = dp_mc_udp(frames[nframes].b, 16, 0, 1, "get b\r\n", 7, 0xC6130001u);
	nframes++;
	/* a fragment (more fragments set) */
	add(17, "get b\r\n");
	ip = (struct rte_ipv4_hdr *)(frames[nframes - 1].b + RTE_ETHER_HDR_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	/* an ARP request between gets */
	frames[nframes].len = dp_arp(frames[nframes].b, RTE_ARP_OP_REQUEST, DP_CLIENT, DP_IP);
	nframes++;
	add(18, "gets f b\r\n");
	add(19, "get b\r\n");
	/* a second frame header: not a single-datagram request */
	frames[nframes].len = dp_mc_udp(frames[nframes].b, 20, 0, 2, "get b\r\n", 7, DP_CLIENT);
	nframes++;
	add(21, "get f\r\n");
}

static struct rte_mbuf *to_mbuf(const struct frame *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h.app.pool);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)f->len), f->b, f->len);
	return m;
}

#define CLIENT2 0xC6120002u		/* 198.18.0.2, resolved, its own MAC */
#define CLIENT3 0xC6120003u		/* 198.18.0.3, never resolved */
static const struct rte_ether_addr client2_mac = { { 0x02, 0, 0, 0, 0, 0x02 } };
static bool learn_client2;
static unsigned waiting;		/* requests still waiting for ARP at the end */

/* A fresh node holding a, b, f (flags 7) and big; the client resolved. */
static void fresh_node(void)
{
	static char cmd[BIG + 64];
	uint8_t f[2048];
	int n;

	assert_int_equal(dp_setup(&h, NULL), 0);
	dp_learn_client(&h);
	if (learn_client2) {
		struct rte_arp_hdr *a = (struct rte_arp_hdr *)(f + RTE_ETHER_HDR_LEN);
		size_t len = dp_arp(f, RTE_ARP_OP_REQUEST, CLIENT2, DP_IP);

		((struct rte_ether_hdr *)f)->src_addr = client2_mac;
		a->arp_data.arp_sha = client2_mac;
		dp_input(&h, f, len);
		dp_clear_sent(&h);
	}
	dp_input(&h, f, dp_mc_udp(f, 100, 0, 1, "set a 0 0 3\r\nAAA\r\n", 18, DP_CLIENT));
	dp_input(&h, f, dp_mc_udp(f, 101, 0, 1, "set b 0 0 2\r\nBB\r\n", 17, DP_CLIENT));
	dp_input(&h, f, dp_mc_udp(f, 102, 0, 1, "set f 7 0 1\r\nF\r\n", 16, DP_CLIENT));
	n = snprintf(cmd, sizeof(cmd), "set big 0 0 %d\r\n", BIG);
	memset(cmd + n, 'x', BIG);
	memcpy(cmd + n + BIG, "\r\n", 2);
	dp_input(&h, f, dp_mc_udp(f, 103, 0, 1, cmd, (size_t)n + BIG + 2, DP_CLIENT));
	dp_clear_sent(&h);
	memset(&h.lc->ns, 0, sizeof(h.lc->ns));
}

static void record(struct outcome *o)
{
	wc_mc_udp_poll(h.lc);
	wc_net_flush(h.lc);
	assert_true(h.nsent <= MAX_FRAMES * 4);
	o->nsent = h.nsent;
	for (unsigned i = 0; i < h.nsent; i++) {
		o->len[i] = h.sent[i]->data_len;
		o->sent[i] = malloc(o->len[i]);
		assert_non_null(o->sent[i]);
		memcpy(o->sent[i], rte_pktmbuf_mtod(h.sent[i], const uint8_t *), o->len[i]);
	}
	memcpy(&o->ns, &h.lc->ns, sizeof(o->ns));
	o->hits = h.lc->ctx.st.get_hits;
	o->misses = h.lc->ctx.st.get_misses;
	o->gets = h.lc->ctx.st.ops[WC_OP_GET];
	o->udp_free = h.lc->nudp_free;
	dp_teardown(&h);
}

static void forget(struct outcome *o)
{
	for (unsigned i = 0; i < o->nsent; i++)
		free(o->sent[i]);
	memset(o, 0, sizeof(*o));
}

/* Feed the frames one by one, as before the burst path. */
static void run_single(void)
{
	fresh_node();
	for (unsigned i = 0; i < nframes; i++)
		wc_net_input(h.lc, 0, to_mbuf(&frames[i]));
	record(&single);
}

/* Feed them as rx bursts of at most per_burst frames. */
static void run_burst(unsigned per_burst)
{
	struct rte_mbuf *pkts[MAX_FRAMES];

	fresh_node();
	for (unsigned i = 0; i < nframes; i++)
		pkts[i] = to_mbuf(&frames[i]);
	for (unsigned i = 0; i < nframes; i += per_burst)
		wc_net_input_burst(h.lc, 0, pkts + i,
				   nframes - i < per_burst ? nframes - i : per_burst, NULL);
	record(&burst);
}

/* The memcached text of a sent datagram (after the frame header), NUL-terminated. */
static const char *text_of(const struct outcome *o, unsigned i, char *buf, size_t cap)
{
	size_t n = o->len[i] - WC_UDP_HDRS - 8;

	assert_true(n < cap);
	memcpy(buf, o->sent[i] + WC_UDP_HDRS + 8, n);
	buf[n] = 0;
	return buf;
}

static void same_outcome(void)
{
	assert_int_equal(burst.nsent, single.nsent);
	for (unsigned i = 0; i < single.nsent; i++) {
		const uint8_t *a = single.sent[i], *b = burst.sent[i];
		const struct rte_ipv4_hdr *ip =
			(const struct rte_ipv4_hdr *)(b + RTE_ETHER_HDR_LEN);

		assert_int_equal(burst.len[i], single.len[i]);
		/* all but the IP id (a per-thread counter) and the IP checksum it changes */
		assert_memory_equal(a, b, RTE_ETHER_HDR_LEN + 4);
		assert_memory_equal(a + RTE_ETHER_HDR_LEN + 6, b + RTE_ETHER_HDR_LEN + 6, 4);
		assert_memory_equal(a + RTE_ETHER_HDR_LEN + 12, b + RTE_ETHER_HDR_LEN + 12,
				    single.len[i] - RTE_ETHER_HDR_LEN - 12);
		if (ip->next_proto_id == IPPROTO_UDP) {
			assert_int_equal(rte_raw_cksum(ip, 20), 0xFFFF);
			assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
		}
	}
	assert_memory_equal(&burst.ns, &single.ns, sizeof(single.ns));
	assert_int_equal(burst.hits, single.hits);
	assert_int_equal(burst.misses, single.misses);
	assert_int_equal(burst.gets, single.gets);
	assert_int_equal(single.udp_free, WC_UDP_CTX - waiting);
	assert_int_equal(burst.udp_free, WC_UDP_CTX - waiting);
}

/* The replies themselves are what memcached gives (so "the same" means right). */
static void replies_are_right(void)
{
	static char buf[2048];
	const struct outcome *o = &burst;
	unsigned i = 0;

	/* a few in order: the first frames each give one datagram */
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "VALUE a 0 3\r\nAAA\r\nEND\r\n");
	assert_memory_equal(text_of(o, i++, buf, sizeof(buf)), "VALUE b 0 2 ", 12);
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "END\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "VALUE f 7 1\r\nF\r\nEND\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "ERROR\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)),
			    "VALUE a 0 3\r\nAAA\r\nVALUE b 0 2\r\nBB\r\n"
			    "VALUE f 7 1\r\nF\r\nEND\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "STORED\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "VALUE c 0 1\r\nz\r\nEND\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "DELETED\r\n");
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "END\r\n");
	/* the big value over two datagrams, then the refusal */
	assert_memory_equal(text_of(o, i++, buf, sizeof(buf)), "VALUE big 0 1500\r\n", 18);
	i++;
	assert_string_equal(text_of(o, i++, buf, sizeof(buf)), "SERVER_ERROR reply larger than "
			    "the UDP amplification bound allows\r\n");
	i++;	/* "get " without a key: whatever the session engine says, the same both ways */
	/* counted drops of the frames the fast path left alone */
	assert_int_equal(o->ns.drops[WC_DROP_UDP_CKSUM], 1);
	assert_int_equal(o->ns.drops[WC_DROP_ETH_OTHER_HOST], 1);
	assert_int_equal(o->ns.drops[WC_DROP_MC_SOURCE], 1);
	assert_int_equal(o->ns.drops[WC_DROP_IP_FRAGMENT], 1);
	assert_int_equal(o->ns.drops[WC_DROP_MC_FRAME], 1);
	assert_int_equal(o->ns.drops[WC_DROP_MC_AMPLIFICATION], 1);
}

static void burst_matches_single(void **state)
{
	/* one rx burst holding everything, bursts of 32 as the worker loop takes them, tiny ones */
	static const unsigned sizes[] = { MAX_FRAMES, 32, 5, 1 };

	(void)state;
	build_frames();
	run_single();

	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		run_burst(sizes[s]);
		same_outcome();
		replies_are_right();
		forget(&burst);
	}
	forget(&single);
}

/* A get from src on UDP port sport (the checksum made again). */
static void add_from(uint16_t id, const char *text, uint32_t src, uint16_t sport)
{
	struct frame *f = &frames[nframes];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f->b + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

	assert_true(nframes < MAX_FRAMES);
	f->len = dp_mc_udp(f->b, id, 0, 1, text, strlen(text), src);
	u->src_port = rte_cpu_to_be_16(sport);
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	nframes++;
}

/*
 * Gets from three clients interleaved in one burst, each from its own UDP
 * port: the same datagrams as frame by frame, every reply to the MAC, IP
 * and port its request came from; the unresolved client's wait for ARP.
 */
static void clients_interleaved(void **state)
{
	static const uint32_t src[] = { DP_CLIENT, CLIENT2, CLIENT2, DP_CLIENT, CLIENT3, CLIENT2 };
	static const unsigned sizes[] = { 32, 3, 1 };
	unsigned udp_replies = 0;

	(void)state;
	nframes = 0;
	for (unsigned i = 0; i < 30; i++)
		add_from((uint16_t)(200 + i), i % 4 == 3 ? "get nope\r\n" : i & 1 ? "gets b\r\n" : "get a\r\n",
			 src[i % 6], (uint16_t)(41000 + i));
	learn_client2 = true;
	waiting = 5;	/* CLIENT3's */
	run_single();
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		run_burst(sizes[s]);
		same_outcome();
		forget(&burst);
	}
	learn_client2 = false;
	waiting = 0;
	for (unsigned i = 0; i < single.nsent; i++) {
		const struct rte_ether_hdr *e = (const struct rte_ether_hdr *)single.sent[i];
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(e + 1);
		const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(ip + 1);
		uint16_t id, sport;
		uint32_t dst;

		if (e->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
			continue;	/* the ARP probes for the unresolved client */
		dst = rte_be_to_cpu_32(ip->dst_addr);
		memcpy(&id, u + 1, 2);
		id = rte_be_to_cpu_16(id);
		sport = rte_be_to_cpu_16(u->dst_port);
		assert_true(id >= 200 && id < 230);
		assert_int_equal(dst, src[(id - 200) % 6]);
		assert_int_equal(sport, 41000 + (id - 200));
		assert_memory_equal(&e->dst_addr, dst == CLIENT2 ? &client2_mac : &dp_client_mac, 6);
		assert_true(dst != CLIENT3);
		udp_replies++;
	}
	assert_int_equal(udp_replies, 25);	/* all but CLIENT3's five */
	forget(&single);
}

/* A burst of 32 plain gets: every one answered in place, in order, with valid checksums. */
static void full_burst_of_gets(void **state)
{
	struct rte_mbuf *pkts[32];
	char cmd[32];
	uint64_t hits;

	(void)state;
	fresh_node();
	hits = h.lc->ctx.st.get_hits;
	for (unsigned i = 0; i < 32; i++) {
		struct frame f;
		int n = snprintf(cmd, sizeof(cmd), "%s %s\r\n", i % 3 ? "get" : "gets",
				 i % 4 == 3 ? "missing" : i % 2 ? "a" : "b");

		f.len = dp_mc_udp(f.b, (uint16_t)(200 + i), 0, 1, cmd, (size_t)n, DP_CLIENT);
		pkts[i] = to_mbuf(&f);
	}
	wc_net_input_burst(h.lc, 0, pkts, 32, NULL);
	wc_net_flush(h.lc);
	assert_int_equal(h.nsent, 32);
	assert_int_equal(h.lc->ns.udp_requests, 32);
	assert_int_equal(h.lc->ns.udp_reply_datagrams, 32);
	assert_int_equal(h.lc->ctx.st.get_hits - hits, 24);
	for (unsigned i = 0; i < 32; i++) {
		const uint8_t *b = rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
		const struct rte_ipv4_hdr *ip =
			(const struct rte_ipv4_hdr *)(b + RTE_ETHER_HDR_LEN);
		uint16_t hdr[4];

		assert_int_equal(rte_raw_cksum(ip, 20), 0xFFFF);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, ip + 1), 0);
		memcpy(hdr, b + WC_UDP_HDRS, 8);
		assert_int_equal(rte_be_to_cpu_16(hdr[0]), 200 + i);
		assert_int_equal(rte_be_to_cpu_16(hdr[2]), 1);
		assert_int_equal(hdr[3], 0);
	}
	assert_int_equal(h.lc->nudp_free, WC_UDP_CTX);
	dp_teardown(&h);
}

/*
 * The context pool runs dry inside a burst: gets from a client not resolved
 * yet each hold a context while they wait for ARP, and a burst takes them
 * all while contexts are left. The one that finds none is dropped as busy
 * and, as frame by frame, counted as a drop and not as a request.
 */
static void pool_dry_inside_a_burst(void **state)
{
	uint64_t requests[2], busy[2];

	(void)state;
	for (int in_burst = 0; in_burst < 2; in_burst++) {
		struct rte_mbuf *pkts[4];

		fresh_node();
		h.lc->nudp_free = 2;	/* two contexts left */
		for (unsigned i = 0; i < 4; i++) {
			struct frame f;

			f.len = dp_mc_udp(f.b, (uint16_t)(300 + i), 0, 1, "get a\r\n", 7, CLIENT3);
			pkts[i] = to_mbuf(&f);
		}
		if (in_burst)
			wc_net_input_burst(h.lc, 0, pkts, 4, NULL);
		else
			for (unsigned i = 0; i < 4; i++)
				wc_net_input(h.lc, 0, pkts[i]);
		requests[in_burst] = h.lc->ns.udp_requests;
		busy[in_burst] = h.lc->ns.drops[WC_DROP_MC_BUSY];
		assert_int_equal(h.lc->nudp_free, 0);
		dp_teardown(&h);
	}
	assert_int_equal(requests[0], 2);
	assert_int_equal(busy[0], 2);
	assert_int_equal(requests[1], requests[0]);
	assert_int_equal(busy[1], busy[0]);
}

/*
 * The in-place reply writer against the engine's (mc_exec_get_reply through
 * an mc_out) and the format itself, for every short key and value length
 * (the short copies' cases) and both get and gets, the key read from where
 * a request holds it in the same buffer.
 */
static void reply_at_matches_engine(void **state)
{
	static uint8_t buf[1024], engine[1024], value[128];
	static char want[1024];

	(void)state;
	for (unsigned i = 0; i < sizeof(value); i++)
		value[i] = (uint8_t)('A' + i % 26);
	for (uint32_t klen = 1; klen <= 40; klen++) {
		for (uint32_t vlen = 0; vlen <= 70; vlen++) {
			for (int cas = 0; cas < 2; cas++) {
				struct wc_view v = { .value = value, .vlen = vlen,
						     .flags = vlen * 37u, .cas = 1234567ull * klen };
				struct mc_out o = { .p = engine, .end = engine + sizeof(engine) };
				uint8_t *key = buf + 4 + cas, *end;
				int n;

				memcpy(buf, cas ? "gets " : "get ", 4 + (size_t)cas);
				for (uint32_t k = 0; k < klen; k++)
					key[k] = (uint8_t)('a' + (k * 7) % 26);
				memcpy(want, key, klen);	/* the key, before it moves */
				mc_exec_get_reply(&o, key, klen, &v, cas);
				end = mc_get_reply_at(buf, key, klen, &v, cas);
				assert_int_equal(end - buf, o.p - engine);
				assert_memory_equal(buf, engine, (size_t)(end - buf));
				n = cas ? snprintf(want + klen, sizeof(want) - klen, " %u %u %llu\r\n",
						   v.flags, vlen, (unsigned long long)v.cas)
					: snprintf(want + klen, sizeof(want) - klen, " %u %u\r\n",
						   v.flags, vlen);
				assert_memory_equal(buf, "VALUE ", 6);
				assert_memory_equal(buf + 6, want, klen + (size_t)n);
				assert_memory_equal(buf + 6 + klen + n, value, vlen);
				assert_memory_equal(buf + 6 + klen + n + vlen, "\r\nEND\r\n", 7);
			}
		}
	}
	/* a miss: END alone */
	assert_int_equal(mc_get_reply_at(buf, buf + 4, 3, NULL, false) - buf, 5);
	assert_memory_equal(buf, "END\r\n", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_matches_single),
		cmocka_unit_test(clients_interleaved),
		cmocka_unit_test(full_burst_of_gets),
		cmocka_unit_test(pool_dry_inside_a_burst),
		cmocka_unit_test(reply_at_matches_engine),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
