/*
 * lg.h - wirecache-loadgen: what its pieces share. The load generator
 * drives memcached (text) or Redis (RESP) servers with a defined workload,
 * closed loop (N outstanding per flow) or open loop (Poisson arrivals at a
 * rate), and measures service latency into log-linear histograms.
 *
 * Transports: memcached over UDP or TCP from DPDK ports (the project's own
 * network stack, its TCP in client mode), an echo mode against
 * dpdk-testpmd's macswap (the link's ceiling), and kernel sockets (epoll)
 * for memcached and Redis baselines over loopback.
 *
 * Pieces: options.c (the command line), keys.c (keys, values, sizes),
 * reply.c (incremental reply parsers), engine.c (what to send next, and the
 * accounting of what came back), report.c (progress, summary, JSON),
 * dpdk.c (DPDK ports and transports), sock.c (kernel sockets).
 */
#ifndef WC_LOADGEN_LG_H
#define WC_LOADGEN_LG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/workload.h"
#include "proto/mc_out.h"
#include "wirecache/hist.h"

#define LG_MAX_WORKERS 32
#define LG_MAX_DEPTH 256		/* outstanding requests per flow */
#define LG_KEY_MAX 250

/*
 * Which flow sends next, in both transports' workers: a ring of flow
 * indexes, one entry per request a flow may still send. The ring holds a
 * power of two entries, enough for every flow at full depth.
 */
struct lg_credits {
	uint32_t *slot;
	uint32_t mask, head, tail;
};

static inline uint32_t lg_credit_ring_size(unsigned flows, unsigned depth)
{
	uint32_t ring = 1;

	while (ring < flows * depth + LG_MAX_DEPTH)
		ring <<= 1;
	return ring;
}

static inline void lg_credit_put(struct lg_credits *c, uint32_t flow)
{
	c->slot[c->tail++ & c->mask] = flow;
}

static inline bool lg_credit_take(struct lg_credits *c, uint32_t *flow)
{
	if (c->head == c->tail)
		return false;
	*flow = c->slot[c->head++ & c->mask];
	return true;
}
#define LG_LINE_MAX 512

enum lg_transport { LG_UDP, LG_TCP, LG_ECHO, LG_SOCKET };
enum lg_proto { LG_MEMCACHED, LG_REDIS };
enum lg_op { LG_GET, LG_SET };

/* A size distribution: fixed, uniform, or the generalized extreme value / Pareto fits. */
enum lg_dist_kind { LG_DIST_FIXED, LG_DIST_UNIFORM, LG_DIST_GEV, LG_DIST_PARETO };
struct lg_dist {
	enum lg_dist_kind kind;
	double a, b, c;		/* fixed: a; uniform: [a, b]; gev/pareto: mu, sigma, xi */
	uint32_t min, max;	/* clamp */
};

struct lg_cfg {
	enum lg_transport transport;
	enum lg_proto proto;
	/* DPDK side */
	uint32_t my_ip;			/* host order */
	uint8_t my_prefix;
	uint32_t server_ip;
	uint16_t server_port;
	uint16_t base_port;		/* first local port */
	/* socket side */
	char sock_host[64];
	unsigned threads;
	/* workload */
	uint64_t keys;
	const uint64_t *key_names;	/* --slots: key id n is named after key_names[n] */
	double zipf;			/* 0: uniform */
	unsigned get_pct;		/* GETs per 100 requests */
	struct lg_dist key_size, value_size;
	unsigned flows;			/* connections, or UDP source ports; all workers together */
	unsigned depth;			/* outstanding per flow */
	double rate;			/* requests/s over all workers; 0: closed loop */
	double duration;		/* seconds measured */
	double warmup;			/* seconds run before measuring */
	bool preload;			/* SET every key before the run */
	unsigned verify_every;		/* check the value of 1 reply in this many (0: never) */
	unsigned timeout_ms;		/* a UDP request unanswered this long is lost */
	uint64_t seed;
	const char *json_path;
	const char *label;
	bool quiet;
};

/* One request in flight. */
struct lg_req {
	uint64_t t0;			/* tsc it was due (open loop) or sent */
	uint64_t key;
	uint8_t op;
	bool verify;
	bool live;
	bool preload;			/* one of the preload SETs */
	uint16_t gen;			/* UDP: request id generation */
	uint16_t got, total;		/* UDP: datagrams of a multi-datagram reply */
};

/* Counters of one worker; the progress line reads them while it runs. */
struct lg_counters {
	uint64_t sent, done, gets, sets, hits, misses;
	uint64_t errors;		/* error replies, protocol violations */
	uint64_t timeouts;		/* UDP requests never answered */
	uint64_t verified, verify_failed;
	uint64_t backlog;		/* open loop: sends that found every flow full */
	uint64_t conn_failed;
	uint64_t tx_bytes, rx_bytes;
};

/* ---- the reply parsers (reply.c) ---- */

enum lg_result { LG_R_MORE = 0, LG_R_HIT, LG_R_MISS, LG_R_STORED, LG_R_ERROR };

struct lg_parser {
	enum lg_proto proto;
	int st;
	char line[LG_LINE_MAX];
	unsigned nline;
	uint64_t need;			/* value bytes still to come */
	uint64_t vlen;			/* of the value being read */
	uint64_t voff;
	bool got_value;
	bool bad_value;
	/* what the value should be (set before feeding a GET's reply) */
	bool verify;
	uint64_t key;
	uint32_t expect_len;
	const struct lg_cfg *cfg;
};

void lg_parser_init(struct lg_parser *p, const struct lg_cfg *cfg);
/* Expect the reply to one request next. */
void lg_parser_expect(struct lg_parser *p, const struct lg_req *r);
/*
 * Feed bytes; returns how many were used and sets *res to the reply's
 * outcome once one is complete (LG_R_MORE: need more bytes). When verify
 * was asked, *value_ok says whether the value matched.
 */
size_t lg_parser_feed(struct lg_parser *p, const uint8_t *buf, size_t len, enum lg_result *res,
		      bool *value_ok);

/* ---- keys and values (keys.c) ---- */

void lg_dist_fixed(struct lg_dist *d, uint32_t n);
/* "32", "16-128" (uniform), "gev:mu,sigma,xi", "pareto:mu,sigma,xi", "etc" (see keys.c) */
int lg_dist_parse(struct lg_dist *d, const char *s, bool is_key);
uint32_t lg_dist_draw(const struct lg_dist *d, struct wc_rng *r);
/* --slots "LO-HI[,LO-HI...]": key ids 0..keys-1 take the first names whose
 * Redis Cluster slot is in the set (c->key_names, malloc'd); 0 or -1 (bad spec,
 * no slot, or too few names within a bounded search: says why on stderr). */
int lg_slots_select(struct lg_cfg *c, const char *spec);
/* The key of id, its length. */
unsigned lg_key(const struct lg_cfg *c, uint64_t id, char *out);
/* The value length for key id (always the same for one key). */
uint32_t lg_value_len(const struct lg_cfg *c, uint64_t id);
/* The value bytes for key id: a window into a fixed pattern. */
const uint8_t *lg_value(uint64_t id);
bool lg_value_check(uint64_t id, uint64_t off, const uint8_t *p, size_t n);
void lg_values_init(uint32_t max_len);
uint32_t lg_value_max(const struct lg_cfg *c);

/* ---- requests (engine.c) ---- */

/* Encode a request into o; false if it did not fit. */
bool lg_encode(const struct lg_cfg *c, const struct lg_req *r, struct mc_out *o);

struct lg_worker;
/* Pick the next request: its key and operation (and whether to verify it). */
void lg_next(struct lg_worker *w, struct lg_req *r, uint64_t t0);
/* Undo lg_next for a request that could not be sent (a preload key goes again). */
void lg_unnext(struct lg_worker *w, struct lg_req *r);
/* Account a finished request. */
void lg_complete(struct lg_worker *w, struct lg_req *r, enum lg_result res, bool value_ok,
		 uint64_t now);

/* What every transport's worker has. */
struct lg_worker {
	unsigned id;
	const struct lg_cfg *cfg;
	struct wc_rng rng;
	struct wc_keydist *kd;
	uint64_t tsc_hz;
	uint64_t ns_mult;		/* ns per tick << 32 (engine.c) */
	bool measuring;			/* past warm-up: latencies count */
	bool preloading;		/* SET key ids id, id + n, ... in order */
	bool holding;			/* preload done: send nothing until the run starts */
	uint64_t preload_next, preload_step, preload_left;
	/* open loop */
	double per_tsc_rate;		/* requests per tsc tick for this worker */
	uint64_t next_due;
	struct lg_counters cnt;
	struct wc_hist hist;		/* service latency, ns */
	volatile bool stop;
	void *transport;
};

/* Open loop: the next arrival after the previous one (exponential gaps). */
uint64_t lg_next_arrival(struct lg_worker *w, uint64_t prev);

/* ---- reporting (report.c) ---- */

struct lg_run;
/* A live line: ops/s, errors and p99 so far, over all workers. */
void lg_progress(struct lg_run *run, double t);
int lg_summary(struct lg_run *run, double seconds);

struct lg_run {
	struct lg_cfg cfg;
	unsigned nworkers;
	struct lg_worker *w[LG_MAX_WORKERS];
	struct lg_counters last;	/* for rates in the progress line */
	double last_t;
};

/* ---- options (options.c) ---- */

int lg_options(int argc, char **argv, struct lg_cfg *c);
void lg_usage(void);

/* ---- transports ---- */

int lg_dpdk_main(int argc, char **argv, struct lg_run *run);
int lg_sock_main(struct lg_run *run);

/* Sum the counters of all workers. */
void lg_totals(struct lg_run *run, struct lg_counters *t, struct wc_hist *h);

#endif
