/*
 * tcp.h - the dataplane's TCP (RFC 9293) for request/response traffic: one
 * instance per lcore, its connections in a table preallocated from
 * hugepages, its timers on a wheel. Connections never move between lcores:
 * symmetric RSS delivers both directions of a flow to the same queue.
 *
 * Above each connection runs an application (struct wc_tcp_app): the
 * memcached server for connections accepted on the listening port, or
 * whatever opened it actively with wc_tcp_connect (the load generator's
 * client). It reads through c->inq and writes through c->out.
 *
 * What it does, and the choices made where the RFCs leave room:
 *  - passive open, and active open for clients (no simultaneous open);
 *    a SYN queue per lcore, and SYN cookies once it is
 *    full (a cookie connection gets the MSS from the cookie, no window
 *    scaling); MSS, window-scale, SACK-permitted and timestamp options (timestamps are
 *    echoed so the peer can time retransmissions; no PAWS check);
 *  - in-order delivery; out-of-order segments are held (up to
 *    WC_TCP_OOO_MAX per connection, within the advertised window) and
 *    reported with SACK blocks when the peer allows them, so a sender
 *    resends only what was lost; beyond the bound they are dropped and
 *    recovered by retransmission. As a sender we take SACK-permitted but
 *    recover with NewReno (SACK blocks from the peer are not used);
 *  - cumulative ACKs, delayed (40 ms, or at once every second full
 *    segment, on out-of-order data, and on a FIN); the advertised window is
 *    the receive buffer's real free space, so big values and pipelines are
 *    flow-controlled;
 *  - RFC 6298 retransmission timeout (Karn's rule, exponential back-off,
 *    200 ms floor), fast retransmit on three duplicate ACKs with NewReno
 *    recovery, RFC 5681 congestion window, the peer's window respected and
 *    a zero window probed;
 *  - FIN both ways; TIME_WAIT lasts WC_TCP_TIME_WAIT_MS (a new SYN on the
 *    same tuple with a higher sequence number reuses it); RST for segments
 *    of unknown connections and for closed ports; an idle timeout; a
 *    connection whose peer keeps a zero window or stops acknowledging is
 *    aborted, so nothing is held forever (a half-open or idle connection
 *    lives at most --idle-timeout, a zero window at most that or 120 s;
 *    the one exemption: an application may keep a quiet connection open,
 *    as Redis keeps a client with subscriptions: wc_tcp_app.keep_idle);
 *  - connection limits per lcore (its table) and overall: a SYN beyond them
 *    is refused with a RST and counted;
 *  - the memcached rule: memcached's text protocol has no authentication,
 *    so while any Redis user needs a password (--requirepass, or users
 *    with passwords: redis/acl.h) a SYN to --tcp-port from a source
 *    outside --mc-allow (none given: every source) is refused with a RST
 *    at once, before any state is kept, and counted (mc_auth_refused,
 *    "memcached_tcp_auth_refused" in stats). Refusing at SYN time rather
 *    than closing after accept gives the client a plain "connection
 *    refused" and spends no connection slot. The rule is read per SYN, so
 *    ACL changes apply to new connections; connections accepted before
 *    authentication was turned on stay open;
 *  - buffer pressure: while half of the mbuf pool is in use, windows shrink
 *    to WC_TCP_PRESSURE_SHARE less what a connection holds (the one case
 *    where we move a right edge back: RFC 9293 3.8.6 lets a receiver drop what
 *    it cannot buffer), and a connection silent for --request-timeout in the
 *    middle of a request is reset. A connection whose large value waits for
 *    room in the stage pool gets the same share whatever the pool: it cannot
 *    finish before it is staged, and what it sent meanwhile sits in NIC
 *    buffers (nor is it invited to send more each time pressure lifts).
 */
#ifndef WC_NET_TCP_H
#define WC_NET_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "cluster/link.h"
#include "proto/mc_session.h"
#include "redis/rd.h"

struct wc_lcore;
struct wc_app;

#define WC_TCP_OOO_MAX 1024		/* out-of-order segments held per connection */
#define WC_TCP_SACK_BLOCKS 4		/* reported in one ACK (no timestamps: 4 fit) */
#define WC_TCP_TIME_WAIT_MS 1000
#define WC_TCP_RTO_MIN_MS 200
#define WC_TCP_RTO_MAX_MS 60000
#define WC_TCP_RTO_INIT_MS 1000
#define WC_TCP_DELACK_MS 40
#define WC_TCP_SYN_RETRIES 5
#define WC_TCP_DATA_RETRIES 12		/* then the connection is aborted */
#define WC_TCP_ZERO_WINDOW_MS 120000	/* a window shut this long aborts */
#define WC_TCP_FIN_WAIT_MS 30000
#define WC_TCP_SND_QUEUE_MAX (1u << 20)	/* queued reply bytes before the session pauses */
#define WC_TCP_POOL_SENDERS 16		/* full send queues per worker the mbuf pool holds
					 * below pressure (dataplane/main.c sizes it) */
#define WC_TCP_SND_QUEUE_LOW (64u << 10)	/* the same while mbufs run short */
#define WC_TCP_WSCALE 7			/* our window scale */
/*
 * Receive buffers under pressure: once half of the lcore's mbuf pool is in
 * use, a connection may hold at most this much unread input (in order and
 * out of order), and its window shrinks to what is left of it, so the
 * connections holding the most stop taking buffers and everyone else can
 * still be served. Values on their way into a stage leave the buffers at once;
 * a connection whose value waits for stage room is held to this share always.
 */
#define WC_TCP_PRESSURE_SHARE (16u << 10)

enum wc_tcp_state {
	TCP_FREE = 0, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_LAST_ACK,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSING, TCP_TIME_WAIT,
};

/* A byte queue over single-segment mbufs chained through next. */
struct wc_bytes {
	struct rte_mbuf *head, *tail;
	uint32_t head_off;	/* bytes of head already consumed / acknowledged */
	uint64_t len;		/* bytes queued (from head_off on) */
};

struct wc_tcb;

/* A connection's header template (tcp_out.c); len 0: not built yet. */
#define WC_TCP_TMPL_MAX (RTE_ETHER_HDR_LEN + 20 + 20 + 12)
struct wc_tcp_tmpl {
	uint8_t hdr[WC_TCP_TMPL_MAX];	/* Ethernet (no destination), IPv4, TCP, timestamp layout */
	uint8_t len;			/* 54, or 66 with the timestamp option */
	uint64_t ip_sum;		/* IPv4 words that never change (not length, id, checksum) */
	uint64_t ph_sum;		/* the pseudo-header's addresses and protocol */
	uint64_t l4_sum;		/* ports, urgent pointer, the timestamp option's kind bytes */
};

/* The application above a connection; each hook runs on the connection's lcore. */
struct wc_tcp_app {
	/* established: c->inq and c->out are ready */
	void (*open)(struct wc_lcore *lc, struct wc_tcb *c);
	/* new bytes in c->rx, the peer's FIN (state CLOSE_WAIT), or a retry */
	void (*run)(struct wc_lcore *lc, struct wc_tcb *c);
	/* the connection is going away (reset, timed out, closed, refused) */
	void (*close)(struct wc_lcore *lc, struct wc_tcb *c);
	/* writes of the session still out on other lcores (the connection waits for them) */
	uint32_t (*pending)(const struct wc_tcb *c);
	/* the lcores are gone: forget what was in flight (shutdown) */
	void (*forget_pending)(struct wc_tcb *c);
	/*
	 * The idle timeout found c (established) quiet: true keeps it open for
	 * another --idle-timeout (a Redis subscriber); NULL: never.
	 */
	bool (*keep_idle)(const struct wc_tcb *c);
};

struct wc_tcb {
	/* identity (host byte order) */
	uint32_t rip;
	uint16_t rport, lport;
	uint8_t port;			/* port index */
	uint8_t state;
	bool cookie;			/* opened by a SYN cookie: no window scaling */
	uint32_t hnext;			/* hash chain (index + 1, 0 = end) */
	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, snd_wl1, snd_wl2;
	uint16_t mss;			/* peer's MSS, for what we send */
	uint8_t snd_wscale, rcv_wscale;
	uint32_t cwnd, ssthresh, recover;
	uint8_t dupacks;
	bool in_recovery;
	/* round-trip estimation (microseconds) */
	bool rtt_active;
	uint32_t rtt_seq;
	uint64_t rtt_start;
	uint32_t srtt, rttvar, rto_ms;
	uint8_t retries;
	/* receive sequence space */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;		/* right edge we last advertised */
	uint32_t rcv_cap;		/* receive buffer size */
	uint8_t unacked_segs;		/* received since our last ACK */
	bool ack_now;
	/* data */
	struct wc_bytes rx;		/* in order, not yet consumed by the session */
	struct wc_bytes tx;		/* unacknowledged + unsent reply bytes, from snd_una */
	struct rte_mbuf *ooo;		/* held out-of-order segments, by seq (chained by next) */
	struct rte_mbuf *ooo_tail;	/* the highest: arrivals usually go after it */
	uint16_t nooo;
	uint32_t ooo_bytes;		/* payload held: comes off the window */
	uint32_t ooo_mem;		/* buffers held: at most the receive buffer's size */
	uint32_t ooo_last;		/* seq of the newest out-of-order arrival */
	bool sack_ok;			/* the peer takes SACK blocks (RFC 2018) */
	bool ts_ok;			/* timestamps on every segment (RFC 7323) */
	uint32_t ts_recent;		/* the peer's timestamp we echo */
	bool sack_dirty;		/* an ACK with new SACK blocks is owed */
	bool fin_wanted;		/* close once tx is sent */
	bool fin_sent;
	bool app_closed;		/* the session is done (quit, error, close) */
	bool busy_listed;		/* on the lcore's retry list */
	bool stage_listed;		/* waiting for room in the lcore's stage pool */
	bool mid_request;		/* the session holds part of a request (request timeout) */
	bool upload_wait;		/* its upload waits for stage room: window held to a share */
	bool zombie;			/* closed, but a write of its session is still out */
	bool admitted;			/* counted against max-connections */
	bool app_notified;		/* app->close has run */
	bool app_opened;		/* app->open has run (close may come without it) */
	const struct wc_tcp_app *app;
	void *user;			/* the application's own state */
	struct rte_mempool *pool;	/* where reply buffers come from */
	struct wc_lcore *lc;		/* the lcore it lives on */
	/* timers (ms on the lcore's clock, 0 = off) */
	uint64_t t_rto, t_delack, t_persist, t_idle, t_end;
	uint64_t zero_since;		/* when the peer's window went to zero */
	uint64_t rx_last_ms;		/* when in-order data last arrived */
	uint64_t tx_last_ms;		/* when new data last went out (retransmissions not) */
	uint64_t deadline;		/* earliest of the above, as filed in the wheel */
	uint32_t wnext, wprev;		/* wheel slot list (index + 1) */
	/*
	 * The headers of every segment the connection sends after the handshake
	 * (tcp_out.c): Ethernet, IPv4 and TCP prefilled once, and the sums of
	 * their fixed words, so a segment only writes and sums what changes.
	 */
	struct wc_tcp_tmpl tmpl;
	/* the application's views of rx and tx (tcp_io.c) */
	struct mc_inq inq;
	struct mc_out out;
	/* the session of a server connection: memcached, Redis or a link, by port */
	union {
		struct mc_session sess;
		struct rd_session rd;
		struct wc_link_srv link;	/* a node-to-node link on the cluster bus port */
	};
};

struct wc_tcp_stats {
	uint64_t active, syn_rcvd;	/* gauges: table entries, half-open */
	uint64_t open;			/* gauge: accepted and not yet closed (curr_connections) */
	uint64_t accepted, refused, syncookies_sent, syncookies_ok, syncookies_bad;
	uint64_t segs_in, segs_out, retransmits, fast_retransmits, rto_timeouts;
	uint64_t ooo_held, ooo_dropped, dup_acks, zero_window_probes;
	uint64_t resets_sent, resets_rcvd, idle_closed, aborted, closed;
	uint64_t request_timeouts;	/* reset: silent too long in the middle of a request */
	uint64_t pressure_refused;	/* segments refused beyond a share (pressure, stage wait) */
	uint64_t data_after_close;	/* reset: data arrived after the application closed */
	uint64_t mc_auth_refused;	/* memcached SYNs refused: Redis auth on, not --mc-allow */
	uint64_t connects, connect_failed;
	uint64_t bad_segments, out_of_window;
};

int wc_tcp_init(struct wc_lcore *lc, unsigned max_conns);
void wc_tcp_fini(struct wc_lcore *lc);

/* A TCP segment for one of our addresses (IPv4 header checked, no options). */
void wc_tcp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		  const struct rte_ipv4_hdr *ip, uint16_t l4_len);

/* Per loop: timers, connections waiting for mailbox room or send space. */
unsigned wc_tcp_poll(struct wc_lcore *lc);

/* A mailbox completion for a session of one of this lcore's connections. */
void wc_tcp_complete(struct wc_lcore *lc, struct wc_mbox_req *req);

/* Connections open on this lcore. */
unsigned wc_tcp_active(const struct wc_lcore *lc);

/* The memcached server, the application of accepted connections on --tcp-port. */
extern const struct wc_tcp_app wc_mc_tcp_app;

/*
 * Is a connection from rip to lport refused by the memcached rule (see the
 * top of this file)? Only --tcp-port is concerned; lock-free.
 */
bool wc_mc_tcp_refused(const struct wc_app *app, uint16_t lport, uint32_t rip);
/* The Redis server, on --redis-port. */
extern const struct wc_tcp_app wc_rd_tcp_app;

/* A mailbox completion for a Redis session of one of this lcore's connections. */
void wc_rd_tcp_complete(struct wc_lcore *lc, struct wc_mbox_req *req);

/*
 * Something a Redis session of this lcore waited for outside the mailbox
 * (a MIGRATE's replies: redis/migrate_conn.h) is over: one call in flight
 * fewer, and the session goes on (or, its connection gone, is released).
 */
void wc_rd_tcp_resume(struct wc_lcore *lc, struct rd_session *s);

/*
 * Active open from our address on port, local port lport, to rip:rport;
 * app->open runs once established, app->close if it never is. The tuple
 * must be free on this lcore; NULL when it is not or the table is full.
 */
struct wc_tcb *wc_tcp_connect(struct wc_lcore *lc, unsigned port, uint32_t rip, uint16_t rport,
			      uint16_t lport, const struct wc_tcp_app *app, void *user);

/* Send what the application wrote to c->out (as far as the windows allow). */
void wc_tcp_flush(struct wc_lcore *lc, struct wc_tcb *c);

/* The application is done: FIN once everything written is sent. */
void wc_tcp_close(struct wc_lcore *lc, struct wc_tcb *c);

#endif
