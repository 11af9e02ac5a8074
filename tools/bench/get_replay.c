/*
 * get_replay.c - the cost of one memcached GET hit through the whole packet
 * path, over UDP (eth -> ip -> udp -> protocol -> store -> reply datagram)
 * and over TCP (the same, plus connection lookup, sequence/ACK processing,
 * the byte queues and a reply segment), replayed deterministically on a
 * dataplane without a NIC (tests/unit/dp_harness.h).
 *
 *   get_replay                       time UDP, TCP and RESP rounds, alternating:
 *                                    the best ns per request of each and their
 *                                    ratios (RESP: a Redis GET on :6379, the same
 *                                    keys through the same TCP; RESP tracking: the
 *                                    same GETs from connections with CLIENT
 *                                    TRACKING on, whose reads the node remembers:
 *                                    "new", each round's reads mostly (key,
 *                                    client) pairs not yet in the table, as a
 *                                    caching client reads; "again", the same
 *                                    round every time, pairs already there;
 *                                    their ratios to RESP are the median of
 *                                    each round's ratio to the RESP round run
 *                                    just before it)
 *   get_replay --callgrind udp|tcp|resp|resp_trk|resp_trk_again
 *                                    count only one round's loop under callgrind
 *   get_replay --callgrind udp|tcp|resp --offload
 *                                    the same on a port that checks and sets
 *                                    IPv4/UDP/TCP checksums itself, as most
 *                                    NICs do (memif and tap do not)
 *   get_replay --callgrind udp_burst [--offload]
 *                                    the UDP GETs handed over in rx bursts of
 *                                    32, as the worker loop does
 *                                    (wc_net_input_burst: the staged GET path)
 *   get_replay --callgrind tcp_pipe|resp_pipe [--offload]
 *                                    the TCP and RESP GETs pipelined PIPE to a
 *                                    segment, as a loaded client's segments
 *                                    carry them (netbench: 8 deep per flow):
 *                                    the pipelined fast paths (mc_tcp.c,
 *                                    rd_tcp_pipe.c)
 *   get_replay --callgrind udp_set|tcp_set|resp_set [--offload]
 *                                    a SET of an existing key (the same size)
 *                                    instead, memcached over UDP or TCP, Redis
 *                                    over TCP: the write path's cost
 *   get_replay --callgrind tcp_mix|resp_mix [--offload]
 *                                    pipelines of PIPE to a segment as
 *                                    tcp_pipe and resp_pipe, the fourth of
 *                                    each a SET (netbench's GET:SET 95:5 at
 *                                    its worst: a segment with a SET), per
 *                                    request
 *   get_replay --callgrind resp_setex|resp_del|tcp_delete [--offload]
 *                                    the cache-aside writes, one to a segment:
 *                                    Redis "SET <key> <value> EX 300" of an
 *                                    existing key, Redis "DEL <key>" and
 *                                    memcached "delete <key>" of keys that
 *                                    exist (each round stores its keys again
 *                                    before it is replayed, uncounted)
 *   get_replay --callgrind resp_incr|tcp_incr [--offload]
 *                                    the counters, one to a segment: Redis
 *                                    "INCR <key>" and memcached "incr <key> 1"
 *                                    of keys holding "0" (each round stores
 *                                    them again before it is replayed,
 *                                    uncounted)
 *   get_replay --callgrind tcp_mget|resp_mget [--offload]
 *                                    gets of MGET_KEYS keys, all hits, one
 *                                    to a segment: memcached "get k1 ... k8",
 *                                    Redis MGET (client get_many / mget), per
 *                                    key
 *   get_replay --keyev               the cost of keyspace events while nobody
 *                                    listens: GET and SET rounds (UDP, TCP,
 *                                    RESP GET) with notify-keyspace-events ""
 *                                    (the store hook NULL) and "KEA" without
 *                                    any subscriber (every write calls the hook,
 *                                    which finds no interested lcore),
 *                                    alternating; ns per request and the rates'
 *                                    ratios (on / off); GET_REPLAY_NOTIFY=1 in
 *                                    the environment turns them on for
 *                                    --callgrind
 *
 * TCP requests are spread over CONNS established connections; each request
 * segment acknowledges the previous reply on its connection, as a client
 * doing request/response does, so the node never retransmits or stalls.
 *
 * What --callgrind counts besides the dataplane: the loop handing frames
 * over (the rx driver's share; the request mbufs are filled before the
 * count starts, as a driver's rx ring is), the capture of every tx burst
 * (dp_capture, in place of a driver's descriptor writes) and the freeing of
 * what was sent, in bulk, as a driver frees its completed tx mbufs (about
 * 48 instructions a GET in all; one rte_pktmbuf_free at a time was 36 more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <valgrind/callgrind.h>

#include "../../tests/unit/dp_harness.h"
#include "net/tcp_impl.h"
#if __has_include("redis/keyev.h")
#include "redis/keyev.h"
#include "redis/server.h"
#define HAVE_KEYEV 1
#endif
#include "redis/tracking.h"

#define ROUNDS 25	/* the first of each kind warms up */
#define KEYS 10000
#define REQS 4000
#define CONNS 64
#define VALUE 32

static struct dp_harness h;
static bool offload;	/* the port verifies received checksums and fills in sent ones */

struct conn {
	uint16_t port;
	uint32_t seq, ack;
};

enum { T_UDP, T_TCP, T_RESP, T_RESP_TRK, T_RESP_TRK_AGAIN, T_UDP_SET, T_TCP_SET, T_RESP_SET,
       T_UDP_BURST, T_TCP_PIPE, T_RESP_PIPE, T_TCP_MIX, T_RESP_MIX,
       T_RESP_SETEX, T_RESP_DEL, T_TCP_DELETE, T_TCP_MGET, T_RESP_MGET, T_RESP_INCR, T_TCP_INCR,
       T_COUNT };
#define T_TIMED T_UDP_SET	/* the GETs before it are timed; the rest only counted (--callgrind) */
#define BURST 32		/* udp_burst: frames per rx burst */
#define PIPE 8			/* tcp_pipe, resp_pipe, *_mix: requests per segment */
#define MIX_SET 3		/* tcp_mix, resp_mix: the request of a segment that is a SET */
#define MGET_KEYS 8		/* tcp_mget, resp_mget: keys per get */
static const char *const tname[T_COUNT] = { "udp", "tcp", "resp", "resp_trk", "resp_trk_again",
					    "udp_set", "tcp_set", "resp_set", "udp_burst",
					    "tcp_pipe", "resp_pipe", "tcp_mix", "resp_mix",
					    "resp_setex", "resp_del", "tcp_delete", "tcp_mget",
					    "resp_mget", "resp_incr", "tcp_incr" };

static struct conn conns[CONNS], rconns[CONNS], tconns[CONNS];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct rte_mbuf *to_mbuf(const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h.app.pool);

	if (!m) {
		fprintf(stderr, "get_replay: out of mbufs\n");
		exit(1);
	}
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	if (offload)
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return m;
}

/* The node's first sequence number, from its SYN-ACK. */
static uint32_t synack_seq(void)
{
	const uint8_t *f;
	const struct rte_tcp_hdr *th;

	if (h.nsent != 1)
		return 0;
	f = rte_pktmbuf_mtod(h.sent[0], const uint8_t *);
	th = (const struct rte_tcp_hdr *)(f + RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr));
	return rte_be_to_cpu_32(th->sent_seq);
}

static void tcp_connect_all(struct conn *cs, uint16_t first_port, uint16_t dport)
{
	static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	uint8_t f[256];

	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &cs[i];

		c->port = (uint16_t)(first_port + i);
		c->seq = 1000;
		dp_clear_sent(&h);
		dp_input(&h, f, dp_tcp_ports(f, c->port, dport, RTE_TCP_SYN_FLAG, c->seq, 0, 65535,
					     NULL, 0, syn_opts, sizeof(syn_opts)));
		c->ack = synack_seq() + 1;
		c->seq++;
		dp_input(&h, f, dp_tcp_ports(f, c->port, dport, RTE_TCP_ACK_FLAG, c->seq, c->ack,
					     65535, NULL, 0, NULL, 0));
	}
	dp_clear_sent(&h);
}

/* Turn tracking on for each of the connections (RESP2 default mode: the node remembers reads). */
static void tracking_on(struct conn *cs)
{
	static const char cmd[] = "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n";
	uint8_t f[256];

	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &cs[i];

		dp_input(&h, f, dp_tcp_ports(f, c->port, 6379, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
					     c->seq, c->ack, 65535, cmd, sizeof(cmd) - 1, NULL, 0));
		c->seq += (uint32_t)(sizeof(cmd) - 1);
		c->ack += 5;	/* "+OK\r\n" */
	}
	wc_net_flush(h.lc);
	dp_clear_sent(&h);
}

/* Store key k's value over UDP (the store is the same whichever way it came). */
static void store_key(int k)
{
	static uint8_t frame[256];
	char cmd[96];
	int n = snprintf(cmd, sizeof(cmd), "set key:%012d 0 0 %d\r\n", k, VALUE);

	memset(cmd + n, 'v', VALUE);
	memcpy(cmd + n + VALUE, "\r\n", 2);
	dp_input(&h, frame, dp_mc_udp(frame, 1, 0, 1, cmd, (size_t)n + VALUE + 2, DP_CLIENT));
	dp_clear_sent(&h);
}

/* Store "0" under counter k (over UDP, as store_key). */
static void store_counter(int k)
{
	static uint8_t frame[128];
	char cmd[64];
	int n = snprintf(cmd, sizeof(cmd), "set ctr:%012d 0 0 1\r\n0\r\n", k);

	dp_input(&h, frame, dp_mc_udp(frame, 1, 0, 1, cmd, (size_t)n, DP_CLIENT));
	dp_clear_sent(&h);
}

/* Load KEYS values. */
static void load(void)
{
	for (int k = 0; k < KEYS; k++)
		store_key(k);
}

/* Build one round of requests over one transport, as rx_burst would hand them over; the frames. */
static int build_round(int t, struct rte_mbuf **rx, uint64_t *seed)
{
	/*
	 * "VALUE key:000000000000 0 32\r\n" + value + "\r\nEND\r\n"; RESP: "$32\r\n" + value +
	 * "\r\n"; a SET: "STORED\r\n", RESP "+OK\r\n"
	 */
	const bool all_set = t == T_UDP_SET || t == T_TCP_SET || t == T_RESP_SET || t == T_RESP_SETEX;
	const bool del = t == T_RESP_DEL || t == T_TCP_DELETE;
	const bool ctr = t == T_RESP_INCR || t == T_TCP_INCR;
	const bool mix = t == T_TCP_MIX || t == T_RESP_MIX;
	const bool mget = t == T_TCP_MGET || t == T_RESP_MGET;
	const bool resp = t == T_RESP || t == T_RESP_TRK || t == T_RESP_TRK_AGAIN ||
			  t == T_RESP_PIPE || t == T_RESP_SET || t == T_RESP_MIX || t == T_RESP_SETEX ||
			  t == T_RESP_DEL || t == T_RESP_MGET || t == T_RESP_INCR;
	const int per = t == T_TCP_PIPE || t == T_RESP_PIPE || mix ? PIPE : mget ? MGET_KEYS : 1;
	static uint8_t frame[128 + PIPE * 96];
	char cmd[PIPE * 96];
	int nf = 0;

	for (int i = 0; i < REQS; i += per) {
		uint32_t reply_len = 0;
		int n = 0;
		size_t len;

		for (int j = 0; j < per; j++) {
			bool set = all_set || (mix && j == MIX_SET);
			int k;

			*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
			k = (int)((*seed >> 33) % KEYS);
			if (del) {
				/* keys of their own in a round, each there (again) to be deleted */
				k = i + j;
				store_key(k);
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, resp ?
					      "*2\r\n$3\r\nDEL\r\n$16\r\nkey:%012d\r\n" :
					      "delete key:%012d\r\n", k);
				reply_len += resp ? 4 : 9;	/* ":1\r\n", "DELETED\r\n" */
				continue;
			}
			if (ctr) {
				/* counters of their own in a round, each "0" (again) to be added to */
				k = i + j;
				store_counter(k);
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, resp ?
					      "*2\r\n$4\r\nINCR\r\n$16\r\nctr:%012d\r\n" :
					      "incr ctr:%012d 1\r\n", k);
				reply_len += resp ? 4 : 3;	/* ":1\r\n", "1\r\n" */
				continue;
			}
			if (mget) {
				/* one get of per keys: its head, a key each, memcached's line end */
				if (j == 0)
					n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, resp ?
						      "*%d\r\n$4\r\nMGET\r\n" : "get", per + 1);
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, resp ?
					      "$16\r\nkey:%012d\r\n" : " key:%012d", k);
				if (!resp && j == per - 1)
					n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "\r\n");
				/* "*8\r\n" and "$32\r\n" + value + "\r\n" each; VALUE lines and END */
				reply_len += resp ? 5 + VALUE + 2 + (j == 0 ? 4 : 0) :
						    29 + VALUE + 2 + (j == per - 1 ? 5 : 0);
				continue;
			}
			if (resp && set) {
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
					      "*%d\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n",
					      t == T_RESP_SETEX ? 5 : 3, k, VALUE);
			} else if (resp) {
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
					      "*2\r\n$3\r\nGET\r\n$16\r\nkey:%012d\r\n", k);
			} else if (set) {
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
					      "set key:%012d 0 0 %d\r\n", k, VALUE);
			} else {
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "get key:%012d\r\n", k);
			}
			if (set) {
				memset(cmd + n, 'w', VALUE);
				memcpy(cmd + n + VALUE, "\r\n", 2);
				n += VALUE + 2;
			}
			if (t == T_RESP_SETEX)
				n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
					      "$2\r\nEX\r\n$3\r\n300\r\n");
			reply_len += set ? (resp ? 5 : 8) : resp ? 5 + VALUE + 2 : 29 + VALUE + 7;
		}
		if (t != T_UDP && t != T_UDP_SET && t != T_UDP_BURST) {
			int ci = (i / per) % CONNS;
			struct conn *c = resp && t != T_RESP_TRK && t != T_RESP_TRK_AGAIN ? &rconns[ci] :
					 t == T_RESP_TRK || t == T_RESP_TRK_AGAIN ? &tconns[ci] :
					 &conns[ci];

			len = dp_tcp_ports(frame, c->port, resp ? 6379 : 11211,
					   RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->seq, c->ack, 65535,
					   cmd, (size_t)n, NULL, 0);
			c->seq += (uint32_t)n;
			c->ack += reply_len;
		} else {
			len = dp_mc_udp(frame, (uint16_t)i, 0, 1, cmd, (size_t)n, DP_CLIENT);
		}
		rx[nf++] = to_mbuf(frame, len);
	}
	return nf;
}

/* Feed one round's n frames through the dataplane (one by one, or in rx bursts); its seconds. */
static double replay_round(struct rte_mbuf **rx, int n, bool count, bool burst)
{
	double t0;

	if (count)
		CALLGRIND_TOGGLE_COLLECT;
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (burst && i % BURST == 0)
			wc_net_input_burst(h.lc, 0, rx + i, n - i < BURST ? n - i : BURST, NULL);
		else if (!burst)
			wc_net_input(h.lc, 0, rx[i]);
		if ((i & 31) == 31) {
			wc_net_flush(h.lc);
			if (h.nsent > DP_MAX_SENT - 64)
				dp_clear_sent(&h);
		}
	}
	wc_net_flush(h.lc);
	t0 = now_s() - t0;
	if (count)
		CALLGRIND_TOGGLE_COLLECT;
	dp_clear_sent(&h);
	return t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The median over the rounds (the first aside) of base's seconds over
 * t's in the same round: rounds a millisecond apart see the same machine,
 * which the best of each, taken apart, need not.
 */
static double paired_ratio(double took[][T_COUNT], int rounds, int base, int t)
{
	double r[ROUNDS];
	int n = 0;

	for (int i = 1; i < rounds; i++)
		r[n++] = took[i][base] / took[i][t];
	qsort(r, (size_t)n, sizeof(r[0]), by_value);
	return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

/* notify-keyspace-events as CONFIG SET would have it (no subscriber anywhere) */
static void set_notify(uint32_t flags)
{
#ifdef HAVE_KEYEV
	h.app.rd->notify_flags = flags;
	rd_keyev_settings_changed(&h.app);
#else
	(void)flags;
#endif
}

/* --keyev: every transport with notifications off and on, rounds alternating. */
static int keyev_rounds(void)
{
	static struct rte_mbuf *rx[REQS];
	double best[2][T_COUNT];
	uint64_t seed = 42;

	for (int m = 0; m < 2; m++)
		for (int t = 0; t < T_COUNT; t++)
			best[m][t] = 1e9;
	for (int round = 0; round < 15; round++) {
		for (int t = 0; t < T_COUNT; t++) {
			if (t == T_RESP_TRK || t == T_RESP_TRK_AGAIN || t >= T_RESP_SET)
				continue;	/* (tracking has its own rounds; bursts, pipes: --callgrind) */
			for (int m = 0; m < 2; m++) {
				double secs;

#ifdef HAVE_KEYEV
				set_notify(m ? RD_NOTIFY_KEYSPACE | RD_NOTIFY_KEYEVENT | RD_NOTIFY_ALL : 0);
				if ((h.lc->ctx.keyev != NULL) != (m == 1))
					return 1;
#endif
				secs = replay_round(rx, build_round(t, rx, &seed), false, false);
				if (round > 0 && secs < best[m][t])
					best[m][t] = secs;
			}
		}
	}
	set_notify(0);
	printf("get_replay: ns per request, notifications off / on with nobody listening, "
	       "best of 14 rounds of %d:\n", REQS);
	for (int t = 0; t < T_COUNT; t++)
		if (t != T_RESP_TRK && t != T_RESP_TRK_AGAIN && t < T_RESP_SET)
			printf("  %-8s %6.1f / %6.1f\n", tname[t], best[0][t] / REQS * 1e9,
			       best[1][t] / REQS * 1e9);
	for (int t = 0; t < T_COUNT; t++)
		if (t != T_RESP_TRK && t != T_RESP_TRK_AGAIN && t < T_RESP_SET)
			printf("ratio.keyev_idle_vs_off_%s=%.3f\n", tname[t],
			       best[0][t] / best[1][t]);
	return 0;
}

int main(int argc, char **argv)
{
	static struct rte_mbuf *rx[REQS];
	const char *only = argc > 2 && strcmp(argv[1], "--callgrind") == 0 ? argv[2] : NULL;
	uint64_t seed = 42, hits0, sets0, dels0, dhits0, incrs0, hits = 0, sets = 0, dels = 0;
	uint64_t incrs = 0;
	double best[T_COUNT];
	static double took[ROUNDS][T_COUNT];	/* each round's seconds, for the paired ratios */
	int rounds = only ? 2 : ROUNDS;

	bool kev = argc == 2 && strcmp(argv[1], "--keyev") == 0;

	offload = only && argc == 4 && strcmp(argv[3], "--offload") == 0;
	if ((argc > 1 && !only && !kev) || argc > 4 || (argc == 4 && !offload)) {
		fprintf(stderr, "usage: get_replay [--callgrind udp|tcp|resp|resp_trk|"
			"resp_trk_again|udp_set|tcp_set|resp_set|udp_burst|tcp_pipe|resp_pipe|"
			"tcp_mix|resp_mix|resp_setex|resp_del|tcp_delete|tcp_mget|resp_mget|resp_incr|"
			"tcp_incr [--offload]] | "
			"--keyev\n");
		return 2;
	}
	if (dp_eal_init() != 0 || dp_setup(&h, NULL) != 0) {
		fprintf(stderr, "get_replay: cannot set up the dataplane\n");
		return 1;
	}
	h.app.ports[0].tx_ip_cksum = h.app.ports[0].tx_l4_cksum = offload;
	dp_learn_client(&h);
	load();
	tcp_connect_all(conns, 30000, 11211);
	tcp_connect_all(rconns, 40000, 6379);
	if (!kev) {
		/* (tracking clients would keep the key-event hook on: not for --keyev) */
		tcp_connect_all(tconns, 50000, 6379);
		tracking_on(tconns);
	}
	if (wc_tcp_active(h.lc) != (kev ? 2 : 3) * CONNS) {
		fprintf(stderr, "get_replay: connections not established\n");
		return 1;
	}
#ifdef HAVE_KEYEV
	/* (for --callgrind: GET_REPLAY_NOTIFY=1 counts with notifications on, nobody listening) */
	if (getenv("GET_REPLAY_NOTIFY") && strcmp(getenv("GET_REPLAY_NOTIFY"), "1") == 0)
		set_notify(RD_NOTIFY_KEYSPACE | RD_NOTIFY_KEYEVENT | RD_NOTIFY_ALL);
#endif
	if (kev) {
		int rc = keyev_rounds();

		if (rc || h.lc->tcp->st.retransmits || wc_tcp_active(h.lc) != 2 * CONNS) {
			fprintf(stderr, "get_replay: the keyev replay went wrong\n");
			return 1;
		}
		dp_teardown(&h);
		return 0;
	}
	for (int t = 0; t < T_COUNT; t++)
		best[t] = 1e9;
	hits0 = h.lc->ctx.st.get_hits;
	sets0 = h.lc->ctx.st.ops[WC_OP_SET];
	dels0 = h.lc->ctx.st.ops[WC_OP_DELETE];
	dhits0 = h.lc->ctx.st.delete_hits;
	incrs0 = h.lc->ctx.st.ops[WC_OP_INCR];
	/* the transports' rounds alternate, so all see the same machine; the first of each warms up */
	for (int round = 0; round < rounds; round++) {
		for (int t = 0; t < T_COUNT; t++) {
			double secs;
			int n;

			if (only ? strcmp(only, tname[t]) != 0 : t >= T_TIMED)
				continue;
			if (t == T_RESP_TRK_AGAIN) {
				uint64_t again = 7;	/* the same requests every round */

				n = build_round(t, rx, &again);
			} else {
				n = build_round(t, rx, &seed);
			}
			secs = replay_round(rx, n, only && round == 1, t == T_UDP_BURST);
			if (t == T_RESP_DEL || t == T_TCP_DELETE) {
				sets += REQS;	/* (the keys stored again before the round) */
				dels += REQS;
			} else if (t == T_RESP_INCR) {
				sets += 2 * REQS;	/* the "0"s stored, then each sum (a put) */
			} else if (t == T_TCP_INCR) {
				sets += REQS;	/* (the "0"s stored; memcached's incr is an incr) */
				incrs += REQS;
			} else if (t == T_TCP_MIX || t == T_RESP_MIX) {
				sets += REQS / PIPE;
				hits += REQS - REQS / PIPE;
			} else if (t < T_TIMED || (t >= T_UDP_BURST && t <= T_RESP_PIPE) ||
				   t == T_TCP_MGET || t == T_RESP_MGET) {
				hits += REQS;
			} else {
				sets += REQS;
			}
			if (round > 0 && secs < best[t])
				best[t] = secs;
			took[round][t] = secs;
		}
	}
	if (h.lc->ctx.st.get_hits - hits0 != hits) {
		fprintf(stderr, "get_replay: %lu hits of %lu GETs\n",
			(unsigned long)(h.lc->ctx.st.get_hits - hits0), (unsigned long)hits);
		return 1;
	}
	if (h.lc->ctx.st.ops[WC_OP_SET] - sets0 != sets) {
		fprintf(stderr, "get_replay: %lu sets of %lu SETs\n",
			(unsigned long)(h.lc->ctx.st.ops[WC_OP_SET] - sets0), (unsigned long)sets);
		return 1;
	}
	if (h.lc->ctx.st.ops[WC_OP_DELETE] - dels0 != dels ||
	    h.lc->ctx.st.delete_hits - dhits0 != dels) {
		fprintf(stderr, "get_replay: %lu deletes (%lu hits) of %lu\n",
			(unsigned long)(h.lc->ctx.st.ops[WC_OP_DELETE] - dels0),
			(unsigned long)(h.lc->ctx.st.delete_hits - dhits0), (unsigned long)dels);
		return 1;
	}
	if (h.lc->ctx.st.ops[WC_OP_INCR] - incrs0 != incrs) {
		fprintf(stderr, "get_replay: %lu incrs of %lu\n",
			(unsigned long)(h.lc->ctx.st.ops[WC_OP_INCR] - incrs0), (unsigned long)incrs);
		return 1;
	}
	if (h.lc->tcp->st.retransmits || wc_tcp_active(h.lc) != 3 * CONNS) {
		fprintf(stderr, "get_replay: the TCP replay went wrong (retransmits %lu)\n",
			(unsigned long)h.lc->tcp->st.retransmits);
		return 1;
	}
	if (!only) {
		struct rd_trk_totals tt;

		rd_tracking_totals(&h.app, &tt);
		printf("get_replay: ns per GET hit, best of %d rounds of %d: udp %.1f, tcp %.1f, "
		       "resp %.1f, resp with tracking %.1f (new reads) %.1f (read again)\n",
		       rounds - 1, REQS, best[T_UDP] / REQS * 1e9, best[T_TCP] / REQS * 1e9,
		       best[T_RESP] / REQS * 1e9, best[T_RESP_TRK] / REQS * 1e9,
		       best[T_RESP_TRK_AGAIN] / REQS * 1e9);
		printf("get_replay: tracking table after the rounds: %lu keys, %lu (key, client) "
		       "items, %lu clients\n", (unsigned long)tt.keys, (unsigned long)tt.items,
		       (unsigned long)tt.clients);
		printf("ratio.tcp_vs_udp_get=%.3f\n", best[T_UDP] / best[T_TCP]);
		printf("ratio.resp_vs_tcp_get=%.3f\n", best[T_TCP] / best[T_RESP]);
		/* (tracking: the median of each round's ratio to the RESP round just before it) */
		printf("ratio.resp_tracking_vs_off_get=%.3f\n",
		       paired_ratio(took, rounds, T_RESP, T_RESP_TRK));
		printf("ratio.resp_tracking_again_vs_off_get=%.3f\n",
		       paired_ratio(took, rounds, T_RESP, T_RESP_TRK_AGAIN));
	}
	dp_teardown(&h);
	return 0;
}
