/*
 * migrate_conn.h - the client side of MIGRATE (migrate_cmd.c): RESP
 * connections of the dataplane's own TCP from an lcore to a target node's
 * Redis port, and the reading of the target's one-line replies.
 *
 * Each worker lcore keeps a small cache of them (WC_MIG_CONNS), keyed by
 * target ip:port, as Redis caches its MIGRATE sockets: a connection is
 * reused by the next MIGRATE to the same target and closed once it has
 * been unused for WC_MIG_IDLE_MS (10 s, Redis's MIGRATE_SOCKET_CACHE_TTL).
 * Local ports come from a range of this lcore (WC_MIG_LPORT_BASE +
 * WC_MIG_LPORT_SPAN * lcore), below the node links' range (cluster/link.h),
 * chosen so the target's segments come back to this lcore's queue (RSS).
 * A target whose MAC is not known yet is asked for it (ARP) first, and the
 * SYN leaves when the reply is in, not after TCP's 1 s retransmission.
 *
 * A session that writes commands on a connection then waits for their
 * replies without holding the lcore: it counts one call in flight
 * (s->pending) and is resumed (wc_rd_tcp_resume) when the last reply came,
 * the connection failed, or the deadline passed. The reader takes simple
 * strings (+...), errors (-...) and integers (:..., DEL's), lines cut
 * anywhere by segments; any other reply, a reply nobody waits for, the peer's FIN or a deadline
 * passed closes the connection. Per packet nothing is allocated: the cache
 * is preallocated per lcore at start, replies are noted in the waiter's
 * own array.
 */
#ifndef WC_REDIS_MIGRATE_CONN_H
#define WC_REDIS_MIGRATE_CONN_H

#include <stdbool.h>
#include <stdint.h>

struct wc_lcore;
struct wc_tcb;
struct rd_session;
struct mc_out;

#define WC_MIG_CONNS 8			/* cached connections per lcore */
#define WC_MIG_IDLE_MS 10000		/* an unused one closes after this */
#define WC_MIG_LPORT_BASE 24576		/* local ports: a range per lcore, below 32768 */
#define WC_MIG_LPORT_SPAN 256
#define WC_MIG_ERR_MAX 256		/* the first error line kept (bytes) */

/* RESOLVING: the target's MAC is being asked for (ARP); the SYN follows. */
enum wc_mig_state { WC_MIG_NONE = 0, WC_MIG_RESOLVING, WC_MIG_CONNECTING, WC_MIG_UP };

/* What ended a wait. */
enum wc_mig_io {
	WC_MIG_IO_OK = 0,		/* every reply came (or, waiting for none: connected) */
	WC_MIG_IO_CONNECT,		/* the connection never came up */
	WC_MIG_IO_READ,			/* it failed or timed out while replies were due */
	WC_MIG_IO_WRITE,		/* what was written could not be queued */
};

/* Replies, as wc_mig_conn.res notes them. */
enum { WC_MIG_R_NONE = 0, WC_MIG_R_OK, WC_MIG_R_ERR };

struct wc_mig_conn {
	uint8_t state;			/* enum wc_mig_state */
	uint32_t ip;			/* host byte order */
	uint16_t port;
	struct wc_tcb *c;
	int64_t last_db;		/* the db SELECTed on it, -1: not known */
	uint64_t last_use_ms;
	/* the wait in progress */
	struct rd_session *s;		/* the waiting session, or NULL */
	uint64_t deadline_ms;
	uint32_t timeout_ms;
	uint32_t want, got;		/* replies awaited, received */
	uint8_t *res;			/* res[i]: reply i (WC_MIG_R_*) */
	uint8_t io;			/* enum wc_mig_io: why the last wait ended */
	bool timed_out;
	bool proto_err;			/* a reply that was no status line */
	bool have_err;
	uint64_t scanned;		/* bytes of the current line looked at */
	char err[WC_MIG_ERR_MAX];	/* the first error line (without '-' and CRLF) */
};

/* Counters (summed over lcores for INFO and the control plane). */
struct wc_mig_stats {
	uint64_t calls;			/* MIGRATE commands run */
	uint64_t keys;			/* keys the target accepted */
	uint64_t bytes;			/* RESTORE payload bytes sent */
	uint64_t errors;		/* MIGRATEs answered with an error */
};

struct wc_mig_lc {
	bool closing;			/* the lcore stops: waiting sessions are gone too */
	uint16_t lport_next;
	struct wc_mig_stats st;
	struct wc_mig_conn conn[WC_MIG_CONNS];
};

int wc_mig_lc_init(struct wc_lcore *lc);
void wc_mig_lc_fini(struct wc_lcore *lc);

/* Per loop: deadlines and idle connections. */
unsigned wc_mig_poll(struct wc_lcore *lc);

/*
 * A connection to ip:port for a new MIGRATE: a cached one (up or still
 * connecting) nobody waits on, else a new one (connecting). NULL when
 * none can be opened (no free entry, no local port, the table full).
 */
struct wc_mig_conn *wc_mig_get(struct wc_lcore *lc, uint32_t ip, uint16_t port,
			       uint32_t timeout_ms);

/* Where to write commands (the connection is up). */
struct mc_out *wc_mig_out(struct wc_mig_conn *m);

/*
 * Send what was written and wait for want replies, noted in res[0..want);
 * want 0 waits for the connection to come up. s counts a call in flight
 * until it is resumed. False (nothing waits, m->io says why) when the
 * bytes could not be queued.
 */
bool wc_mig_wait(struct wc_lcore *lc, struct wc_mig_conn *m, struct rd_session *s, uint32_t want,
		 uint8_t *res, uint32_t timeout_ms);

/*
 * The reader: take the next reply line of in for m's wait (a status, an
 * error or an integer; the first error's text is kept in m->err), noting
 * it in m->res[m->got++] and consuming it. MORE: no whole line yet (what
 * was looked at is remembered in m->scanned); BAD: a line nobody waits for
 * or that is no one-line reply (the caller resets the connection).
 */
struct mc_inq;
enum wc_mig_line { WC_MIG_LINE_MORE = 0, WC_MIG_LINE_TAKEN, WC_MIG_LINE_BAD };
enum wc_mig_line wc_mig_take_line(struct wc_mig_conn *m, struct mc_inq *in);

/* Close m's connection now (after an error: the next MIGRATE opens a new one). */
void wc_mig_close(struct wc_lcore *lc, struct wc_mig_conn *m);

/* Sum of the lcores' counters. */
struct wc_app;
void wc_mig_stats_sum(const struct wc_app *app, struct wc_mig_stats *out);

#endif
