/*
 * link.h - node-to-node links (DESIGN.md, ## Cluster) and memcached
 * forwarding over them.
 *
 * Each worker lcore keeps one link to each other node of the published
 * cluster map (rd_server.cmap): a TCP connection of the dataplane's own
 * stack, opened actively to the node's cluster bus port (cport) from a
 * local port of this lcore, authenticated in both directions with the
 * cluster secret (frame.h) before anything else. Links come up when a map
 * names other nodes, reconnect with back-off (WC_LINK_BACKOFF_MIN_MS
 * doubling to WC_LINK_BACKOFF_MAX_MS) and go when their node leaves the
 * map. The same dataplane listens on its own cport for the links of the
 * others (link_srv.c); without a secret nothing listens there (a SYN gets a
 * RST), nothing is forwarded and PUBLISH stays on its node.
 *
 * Forwarding (link_cli.c): a memcached request (TCP or UDP, classic or
 * meta) for one key whose slot another node owns is sent, line and data
 * block as the client sent them, in an MC_REQ frame over this lcore's link
 * to the owner, which runs it as if its own client had sent it and returns
 * the reply bytes in an MC_REP frame. The client's session waits meanwhile
 * (MC_S_PENDING, as for a write on another lcore), so the reply takes its
 * place among the connection's other replies unchanged and in order. A link
 * that is not up answers the key's "SERVER_ERROR moved ip:port" line; a
 * request unanswered for WC_LINK_REPLY_MS answers "SERVER_ERROR forwarding
 * timed out" and resets the link (its other waiting requests answer the
 * moved line). A multi-key get is not forwarded (its first foreign key
 * answers the moved line, as without forwarding).
 *
 * PUBLISH (link_pub.c), as Redis Cluster's bus carries it: a Redis PUBLISH
 * (not SPUBLISH: a shard channel stays within its shard, and keyspace
 * notifications stay on their node) is delivered here first, then sent by
 * the publisher's lcore in a PUBLISH frame over each of its links that is
 * up, to every other node of the map, masters and replicas alike. The
 * receiving node delivers it to its subscribers and pattern subscribers
 * on all its lcores exactly as a local PUBLISH would (the link's lcore
 * inline, the others by owner calls that read the frame in place), and
 * never sends it on. It takes the next frame of that link only once every
 * lcore has it, so one connection's messages (one lcore, one link to each
 * node, TCP) reach each node in the order published; a transaction's go
 * from the connection's lcore after it ran. PUBLISH's reply counts this
 * node's receivers only, as in Redis Cluster. Delivery is best-effort, as
 * Redis Cluster's bus is: a link that is down (connecting, backing off,
 * reset) or whose send buffers are full, and a message too large for a
 * frame, are not sent to that node (counted: publish_dropped, one per node
 * missed); nothing is queued for later.
 *
 * Per packet nothing allocates or locks: link state is preallocated per
 * lcore at start (WC_SLOT_PEERS_MAX peers, WC_LINK_WAITS requests in flight
 * each), frames are written into the connection's send buffers like any
 * reply. The handshake (once per connection) uses libcrypto's HMAC.
 */
#ifndef WC_CLUSTER_LINK_H
#define WC_CLUSTER_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "cluster/frame.h"
#include "proto/mc_session.h"

struct wc_lcore;
struct wc_app;
struct wc_tcb;

#define WC_LINK_WAITS 256		/* forwarded requests in flight per link */
#define WC_LINK_REPLY_MS 2000		/* a forwarded request's reply is due within this */
#define WC_LINK_BACKOFF_MIN_MS 100
#define WC_LINK_BACKOFF_MAX_MS 5000
#define WC_LINK_SYNC_MS 20		/* how often an lcore looks at the map and its links */
#define WC_LINK_STATE_MS 1000		/* how often a node tells the others its state */
#define WC_LINK_LPORT_BASE 32768	/* local ports of links: a range per lcore */
#define WC_LINK_LPORT_SPAN 1024

/* What the server side of a link keeps (in the connection's session union, net/tcp.h). */
struct wc_link_srv {
	struct mc_session sess;		/* runs each request as a client's would run */
	uint8_t hs;			/* enum in link_srv.c: hello, auth, up */
	bool in_req;			/* a request is running */
	uint32_t req_id;
	uint32_t req_len;		/* its payload (in the receive queue, after the header) */
	uint8_t req_flags;
	uint8_t nc[WC_LINK_NONCE], ns[WC_LINK_NONCE];
	struct mc_inq sub;		/* the request's bytes */
	struct mc_out rout;		/* its reply, into rq */
	struct rte_mbuf *rq_head, *rq_tail;	/* the reply so far (single-segment mbufs) */
	uint64_t rq_len;
	/* a PUBLISH frame being delivered (at the front of the receive queue; link_pub.c) */
	bool in_pub;
	uint16_t pub_next;		/* the next lcore to send it to */
	uint32_t pub_len;		/* its payload */
	uint32_t pub_chlen;		/* its channel's length */
};

enum wc_link_state { WC_LINK_NONE = 0, WC_LINK_DOWN, WC_LINK_CONNECTING, WC_LINK_UP };

struct wc_link_wait {
	struct mc_session *s;
	uint32_t id;
	bool quiet;			/* noreply: a failure says nothing either */
	bool split;			/* one key of a get of several nodes: answer without END */
	uint64_t sent_us;
};

/* This lcore's link to one node (index k of the cluster map). */
struct wc_link_peer {
	uint8_t state;			/* enum wc_link_state */
	uint8_t hs;			/* handshake step (link_cli.c) */
	uint16_t idx;			/* the node's index in the map */
	uint32_t ip;			/* host byte order */
	uint16_t cport;
	struct wc_tcb *c;
	bool broken;			/* a send failed: the poll resets the link */
	uint64_t next_try_ms;
	uint64_t since_ms;		/* when the connection was opened */
	uint32_t backoff_ms;
	uint32_t next_id;
	uint8_t nc[WC_LINK_NONCE];
	unsigned whead, nwait;		/* FIFO of waiting requests */
	struct wc_link_wait wait[WC_LINK_WAITS];
};

/* Counters (summed over lcores for stats and the control plane). */
struct wc_link_stats {
	uint64_t fwd_requests;		/* memcached requests sent to their owner */
	uint64_t fwd_failed;		/* ... answered with an error: link down, reset, timeout */
	uint64_t fwd_timeouts;		/* ... of which unanswered in time */
	uint64_t fwd_latency_us;	/* sum of the round trips of answered ones */
	uint64_t fwd_answered;		/* answered ones (the sum's count) */
	uint64_t fwd_lat_hist[8];	/* <100us <250 <500 <1ms <2.5 <10 <100 >=100ms */
	uint64_t fwd_served;		/* requests run here for other nodes */
	uint64_t link_connects;		/* links opened (attempts) */
	uint64_t link_up;		/* links authenticated (both directions, as client) */
	uint64_t link_auth_failed;	/* a peer that failed the handshake (either side) */
	uint64_t link_resets;		/* links dropped (reset, error, timeout, map change) */
	uint64_t links_open;		/* gauge: links up from this lcore */
	uint64_t publish_sent;		/* PUBLISH frames sent (one per node) */
	uint64_t publish_received;	/* PUBLISH frames received and delivered here */
	uint64_t publish_dropped;	/* ... not sent to a node: link down or full, too large */
	uint64_t state_sent;		/* STATE frames sent (link_state.c) */
	uint64_t state_received;	/* ... received */
};

struct wc_link_lc {
	uint64_t epoch;			/* the map epoch the peers were taken from */
	uint64_t last_sync_ms;
	uint64_t last_state_ms;		/* the last STATE frames (link_state.c) */
	bool any;			/* some peer is set */
	bool closing;			/* the lcore stops: waiting sessions are gone too */
	uint16_t lport_next;
	struct wc_link_stats st;
	struct wc_link_peer peer[];	/* WC_SLOT_PEERS_MAX */
};

/* Set up / tear down an lcore's links (at start and stop; allocation here only). */
int wc_link_lc_init(struct wc_lcore *lc);
void wc_link_lc_fini(struct wc_lcore *lc);

/* Per loop: follow the map, open and retry links, time out requests. */
unsigned wc_link_poll(struct wc_lcore *lc);

/* Is lport this node's cluster bus port (links are accepted there)? */
bool wc_link_listens(const struct wc_app *app, uint16_t lport);

/*
 * The mc_env.forward hook: send s's request (its key's route is rt) to its
 * owner. MC_EXEC_PENDING: sent, the reply will complete the session;
 * MC_EXEC_BUSY: no room now, try again; MC_EXEC_DONE: not forwarded (the
 * link is not up): answer as without forwarding.
 */
int wc_link_forward(struct mc_env *env, struct mc_session *s, struct mc_inq *in,
		    const struct mc_route *rt);

/*
 * The mc_env.broadcast hook: s's command line (flush_all) to every node a
 * link is up to, in order with this lcore's forwarded requests; their
 * answers are dropped.
 */
void wc_link_broadcast(struct mc_env *env, const struct mc_session *s);

/* The applications of link connections: the server side on cport, the client side. */
extern const struct wc_tcp_app wc_link_srv_app;
extern const struct wc_tcp_app wc_link_cli_app;

/* A mailbox completion for a request a link runs here (owner_kind MC_OWNER_LINK). */
void wc_link_srv_complete(struct wc_lcore *lc, struct wc_mbox_req *req);

/*
 * A request a link runs here was sent on (a key of a slot moving away that
 * is no longer here goes to the slot's target, with ASKING) and answered.
 */
void wc_link_srv_forwarded(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
			   uint64_t len, const char *line);

/* Write a forwarded request's reply into out: len bytes of src, or line. */
void wc_link_reply_copy(struct mc_out *out, const struct mc_inq *src, uint64_t len,
			const char *line);

/* The transports' side: a forwarded request of session s was answered (reply or line). */
void wc_mc_tcp_forwarded(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
			 uint64_t len, const char *line);
void wc_mc_udp_forwarded(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
			 uint64_t len, const char *line);

/*
 * PUBLISH to the other nodes (Redis Cluster's bus; see above): channel ch
 * and message msg (an argument of a command, its bytes read through in
 * when they are in a receive queue) in a PUBLISH frame over each of this
 * lcore's links. Nothing waits for the other nodes; no answer comes back.
 */
struct resp_arg;
void wc_link_publish(struct wc_lcore *lc, const uint8_t *ch, uint32_t chlen,
		     const struct resp_arg *msg, const struct mc_inq *in);

/*
 * The receiving side (link_srv.c calls these): a PUBLISH frame (header h)
 * is whole at the front of c's receive queue. Begin: check it (false: the
 * link must go) and deliver it on this lcore. Step: go on with the other
 * lcores; true once every one has it and the frame may be consumed (false:
 * calls are out, or the mailbox was full and c is on the retry list).
 */
bool wc_link_pub_begin(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_link_hdr *h);
bool wc_link_pub_step(struct wc_lcore *lc, struct wc_tcb *c);

/*
 * The node's state to the others (link_state.c): the first lcore's poll
 * sends it every WC_LINK_STATE_MS; a STATE frame (header h, whole in c's
 * receive queue) is taken in and consumed (false: a bad frame, the link
 * must go).
 */
void wc_link_state_poll(struct wc_lcore *lc, uint64_t now_ms);
bool wc_link_state_recv(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_link_hdr *h);

/* Sum of the lcores' link counters. */
void wc_link_stats_sum(const struct wc_app *app, struct wc_link_stats *out);

#endif
