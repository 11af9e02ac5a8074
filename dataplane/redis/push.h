/*
 * push.h - frames the node sends a Redis connection without a request:
 * Pub/Sub messages, keyspace notifications, client-tracking invalidations
 * (RESP3 push frames, or RESP2 arrays in subscribed mode).
 *
 * Everything here runs on the connection's own lcore. A frame is written
 * whole between rd_push_begin and rd_push_end, into one of two places:
 *
 *  - straight into the connection's reply stream, when the command now
 *    running (if any) has written no reply bytes yet, so a frame never
 *    lands inside a reply (a session lent to another lcore for EXEC writes
 *    its reply there, into a buffer of its own: the stream is still free);
 *  - else into the session's backlog (a chain of mbufs), which goes into
 *    the stream right after the current reply (session.c calls
 *    rd_push_cmd_done when a command finishes).
 *
 * Bound: Redis's client-output-buffer-limit for the pubsub class (CONFIG
 * SET/GET, default 32mb 8mb 60) applies to the bytes queued for every
 * connection that receives pushes: unsent and unacknowledged replies plus
 * the backlog. Past the hard limit, or past the soft limit for longer than
 * its seconds, the connection is cut: nothing more is written to it and it
 * is reset at the lcore's next output point (never under a handler that
 * may be walking a subscriber list), and counted
 * (client_output_buffer_limit_disconnections). While the lcore's mbuf pool
 * runs low (under a quarter free) a connection already holding more than
 * RD_PUSH_LOW_POOL_SHARE is cut the same way, so a crowd of slow readers
 * cannot take every buffer. The writer never waits for a reader.
 *
 * Output: frames written while no session of the connection runs (owner
 * calls, bus messages) are sent at the lcore's output point
 * (rd_push_output, before each tx flush of the loop), so a burst of
 * messages to one connection leaves in full segments.
 */
#ifndef WC_REDIS_PUSH_H
#define WC_REDIS_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/mc_out.h"

struct rd_session;
struct rd_server;
struct wc_lcore;
struct rte_mbuf;

/* While the mbuf pool is low: the most a push receiver may hold queued. */
#define RD_PUSH_LOW_POOL_SHARE (64u << 10)

/* A session's push state (in struct rd_session; zeroed with it). */
struct rd_push_sess {
	struct rte_mbuf *bl_head, *bl_tail;	/* the backlog */
	uint32_t bl_bytes;
	uint32_t soft_since;		/* second (node clock) the soft limit was first passed; 0: under */
	uint32_t mark;			/* the stream's bytes (low 32 bits) when the command
					 * started, plus pushes since: a reply has begun when
					 * they differ (a command writes under 4 GiB) */
	uint8_t home;			/* the lcore the connection lives on */
	uint8_t flags;			/* RD_PUSH_* */
};

enum {
	RD_PUSH_LISTED = 1u << 0,	/* on its lcore's output list */
	RD_PUSH_CUT = 1u << 1,		/* over a bound: reset at the next output point */
	RD_PUSH_IN_BACKLOG = 1u << 2,	/* the frame being written goes to the backlog */
	RD_PUSH_OPEN = 1u << 3,		/* between rd_push_begin and rd_push_end */
};

/* client-output-buffer-limit (CONFIG): classes normal, replica, pubsub. */
enum { RD_OBUF_NORMAL, RD_OBUF_REPLICA, RD_OBUF_PUBSUB, RD_OBUF_CLASSES };

struct rd_obuf_limit {
	uint64_t hard, soft;		/* bytes, 0: none */
	uint64_t soft_seconds;
};

/* The node's push settings (in struct rd_server). */
struct rd_push_srv {
	struct rd_obuf_limit obuf[RD_OBUF_CLASSES];	/* read lock-free; set under admin_lock */
};

/* ---- the API (K's keyspace events, T's tracking, Pub/Sub) ---- */

/*
 * Start a frame for s (on s's own lcore). NULL: the connection is closing,
 * gone or cut; write nothing then. Otherwise write the whole frame to the
 * sink returned and call rd_push_end.
 */
struct mc_out *rd_push_begin(struct rd_session *s);

/* The frame is complete: bound check, and it leaves at the next output point. */
void rd_push_end(struct rd_session *s);

/* ---- the engine's side ---- */

/* Defaults into srv (rd_server_init). */
void rd_push_srv_init(struct rd_push_srv *p);

/* A command starts on s (session.c): what the stream holds now, and s's lcore. */
static inline void rd_push_cmd_start(struct rd_push_sess *p, uint64_t stream_bytes,
				     unsigned lcore)
{
	p->mark = (uint32_t)stream_bytes;
	p->home = (uint8_t)lcore;
}

/* The command is answered whole (session.c): the backlog goes into the stream now. */
void rd_push_cmd_done(struct rd_session *s);

/* The connection is going away: the backlog is freed (on its lcore). */
void rd_push_release(struct rd_session *s);

/* Bytes waiting in the backlog (CLIENT LIST omem; racy from another lcore). */
static inline uint64_t rd_push_backlog_bytes(const struct rd_push_sess *p)
{
	return __atomic_load_n(&p->bl_bytes, __ATOMIC_RELAXED);
}

/* Per lcore: the output list (rd_lcore_init / fini). */
int rd_push_lcore_init(struct wc_lcore *lc, unsigned max_conns);
void rd_push_lcore_fini(struct wc_lcore *lc);

/* The output point: send what pushes wrote, reset cut connections (lcore.c, tests). */
void rd_push_output(struct wc_lcore *lc);


/* ---- what the transport (net/rd_tcp.c) offers push.c ---- */

struct rd_push_conn {
	struct wc_lcore *lc;		/* the connection's lcore */
	struct mc_out *out;		/* the connection's reply stream */
	uint64_t queued;		/* unsent + unacknowledged bytes */
	bool pool_low;			/* the lcore's mbuf pool is under a quarter free */
};

/* The connection of s, if it is open for output (false: closing, gone). */
bool rd_tcp_push_conn(struct rd_session *s, struct rd_push_conn *c);
/* Account what was written to the stream and send it (as far as windows allow). */
void rd_tcp_push_send(struct wc_lcore *lc, struct rd_session *s);
/* Reset the connection of s now (a bound was passed); false if it was already gone. */
bool rd_tcp_push_reset(struct wc_lcore *lc, struct rd_session *s);

#endif
