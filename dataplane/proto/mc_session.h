/*
 * mc_session.h - the memcached protocol engine of one client stream: a TCP
 * connection, or one UDP request.
 *
 * The session reads commands from the transport's receive queue (struct
 * mc_inq) without copying: a command line is parsed in place (assembled in
 * the session only when it straddles two receive buffers), a value is copied
 * once, from the receive buffers straight into the store's item. Nothing
 * is consumed from the queue until the command is done, so input may arrive
 * in any pieces: running the session again after more bytes arrive resumes
 * where it stopped.
 *
 * Reads go to any partition directly (lock-free). A write for a partition
 * owned by this lcore runs inline; one owned elsewhere goes through the
 * mailbox and the session waits (MC_RUN_PENDING) until mc_session_complete
 * delivers the result, which keeps replies in request order.
 */
#ifndef WC_PROTO_MC_SESSION_H
#define WC_PROTO_MC_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/mc_out.h"
#include "proto/mc_parse.h"
#include "store/mailbox.h"
#include "store/stage.h"
#include "store/store.h"

/* A data block larger than this that has not all arrived waits in a stage. */
#define MC_STAGE_MIN (16u << 10)

/* The receive queue a session reads from (owned by the transport). */
struct mc_inq {
	uint64_t len;	/* bytes queued */
	/*
	 * Address of the byte at off (< len) and how many bytes follow it
	 * contiguously. Must be safe to call from another lcore for bytes that
	 * are queued and not consumed (the owner of a partition copies a value
	 * this way while the transport keeps receiving).
	 */
	const uint8_t *(*peek)(const struct mc_inq *q, uint64_t off, uint64_t *contig);
	void (*consume)(struct mc_inq *q, uint64_t n);
	void *arg;
};

/* Copy the n queued bytes at off into dst, across the queue's pieces. */
static inline void mc_inq_copy(const struct mc_inq *q, uint64_t off, void *dst, uint64_t n)
{
	uint8_t *d = dst;

	while (n) {
		uint64_t contig;
		const uint8_t *p = q->peek(q, off, &contig);

		if (contig > n)
			contig = n;
		__builtin_memcpy(d, p, contig);
		d += contig;
		off += contig;
		n -= contig;
	}
}

/* Where a key lives. */
struct mc_route {
	struct wc_part *part;
	unsigned owner;		/* mailbox endpoint of the owning lcore */
	/*
	 * NULL: this node serves the key. Else another cluster node does (or
	 * none): the whole reply line to give instead ("SERVER_ERROR moved
	 * ip:port\r\n", core/slots.h), valid until the lcore's next quiescent state
	 */
	const char *redirect;
	uint16_t node;		/* with redirect: 1 + the node's map index (core/slots.h) */
	bool asking;		/* in: the request came with ASKING (a slot imported here is served) */
	bool read;		/* in: a read (a replica may serve it: --mc-read-replicas) */
	bool ask;		/* out: redirect is a moving slot's target; forward with ASKING */
};

struct mc_settings {
	const char *version;	/* "1.6.21-wirecache-0.1" */
	uint64_t max_value;	/* item size limit, for stats settings */
	uint64_t mem_limit;	/* total, for stats */
	unsigned lcores;
	/* a replica (redis/replica.h): writes answer SERVER_ERROR read only replica (atomic) */
	bool read_only;
};

/* Session counters of one lcore (summed for stats). */
struct mc_sess_stats {
	uint64_t http_closed;		/* connections hung up on for sending HTTP (xproto.h) */
};

struct mc_env;
struct mc_session;

/* What the lcore running the session provides. */
struct mc_env {
	struct mc_sess_stats st;	/* this lcore's session counters */
	struct wc_ctx *ctx;		/* this lcore's clock and counters */
	unsigned self;			/* this lcore's mailbox endpoint */
	struct wc_mbox *mbox;		/* NULL when every partition is local */
	const struct mc_settings *set;
	/* key -> partition (the slot table); redirect is NULL unless it sets it */
	void (*route)(const struct mc_env *env, const uint8_t *key, uint32_t klen,
		      struct mc_route *out);
	/* every partition, for flush_all */
	unsigned nparts;
	struct wc_part *const *parts;
	const unsigned *part_owner;
	/* mailbox requests come from a per-lcore pool; NULL when none is free */
	struct wc_mbox_req *(*req_get)(struct mc_env *env);
	void (*req_put)(struct mc_env *env, struct wc_mbox_req *req);
	/* where large values wait while they arrive (store/stage.h); NULL: in rx */
	struct wc_stage_pool *stage;
	/*
	 * NULL, or send s's request for a key another node owns (route rt) to
	 * that node (cluster/link.h): returns an enum mc_exec_result, DONE when
	 * it did not (the command then answers rt->redirect)
	 */
	int (*forward)(struct mc_env *env, struct mc_session *s, struct mc_inq *in,
		       const struct mc_route *rt);
	/* NULL, or send s's command line to every other node, their answers unread */
	void (*broadcast)(struct mc_env *env, const struct mc_session *s);
	/* the "stats" command: write the STAT lines for arg (or false: unknown) */
	bool (*stats)(struct mc_env *env, const struct mc_tok *arg, struct mc_out *out);
	void *arg;
};

enum mc_state {
	MC_S_LINE,		/* expecting a command line */
	MC_S_GETKEYS,		/* inside a get line too long to hold: more keys follow */
	MC_S_SWALLOW,		/* discarding a refused data block */
	MC_S_DATA,		/* moving a large data block into its stage as it arrives */
	MC_S_PENDING,		/* waiting for mailbox completions (or mailbox room) */
	MC_S_CLOSE,		/* quit, or a fatal input error */
};

/* Why a session asked its transport to close. */
enum mc_close_reason {
	MC_CLOSE_NONE = 0,
	MC_CLOSE_QUIT,			/* the client said quit */
	MC_CLOSE_LINE_TOO_LONG,		/* a line no command may have */
	MC_CLOSE_HTTP,			/* an HTTP request line (xproto.h) */
};

enum mc_run {
	MC_RUN_MORE,		/* consumed what it could; call again with more input */
	MC_RUN_PENDING,		/* waiting on completions */
	MC_RUN_BUSY,		/* the mailbox was full: call again soon, even without input */
	MC_RUN_CLOSE,		/* the transport should close */
	MC_RUN_FULL,		/* out is full: call again once the peer has read some */
};

/* Where a value being stored sits in the receive queue (wc_copy_fn's argument). */
struct mc_valsrc {
	const struct mc_inq *in;
	uint64_t off;
};

/* which transport a session belongs to (for mailbox completions) */
enum mc_owner_kind { MC_OWNER_UDP = 1, MC_OWNER_TCP = 2, MC_OWNER_REDIS = 3, MC_OWNER_LINK = 4,
		     MC_OWNER_REPL = 5 /* a replica's master link (redis/replica.h) */ };

struct mc_session {
	void *owner;			/* the transport's context (kept by mc_session_init) */
	uint8_t owner_kind;		/* enum mc_owner_kind (kept too) */
	bool datagram;			/* UDP: quit is ignored (kept too) */
	enum mc_state st;
	uint64_t swallow;		/* data bytes still to discard */
	struct mc_req req;		/* the command in progress */
	uint64_t line_bytes;		/* its line length, newline included */
	const uint8_t *cur_line;	/* where that line is (in the input or in line[]) */
	uint32_t pending;		/* mailbox requests outstanding */
	bool busy;			/* a step is waiting for mailbox room */
	uint32_t step;			/* progress of a multi-step command */
	uint32_t cursor;		/* key offset (gat) or partition (flush_all) */
	bool getkeys_cas;		/* MC_S_GETKEYS: the get is a gets */
	bool too_large;			/* the storage command's block is over the value limit */
	bool redirected;		/* the command's key is another node's: answered so */
	bool forwarded;			/* the command's owner node answered it (cluster/link.h) */
	bool no_forward;		/* a request from a link: never forwarded again */
	bool asking;			/* ... sent with ASKING: a slot imported here is served */
	bool fwd_split;			/* a get of several nodes' keys: key by key */
	bool fwd_more;			/* split: the forwarded key's answer ended in END */
	struct mc_tok fwd_key;		/* split: the key being forwarded (else len 0) */
	bool getkeys_skip;		/* MC_S_GETKEYS: the line was answered, discard the rest */
	bool staged;			/* its block is (being) moved into stage, line in line[] */
	bool stage_wait;		/* waiting for room in the stage pool (transport: retry) */
	uint8_t close_reason;		/* enum mc_close_reason, once st is MC_S_CLOSE */
	enum wc_status result;		/* of the last write */
	struct wc_write_res res;
	struct mc_valsrc src;
	struct wc_stage stage;		/* with staged */
	struct wc_stage_src stage_src;
	uint8_t line[MC_LINE_MAX + 8];	/* a line assembled across receive buffers */
};

void mc_session_init(struct mc_session *s);

/*
 * Inside a request: part of a line or of a data block has arrived and the
 * rest has not (the transport times out a peer that goes silent here).
 */
static inline bool mc_session_mid_request(const struct mc_session *s, const struct mc_inq *in)
{
	return s->st == MC_S_DATA || s->st == MC_S_SWALLOW || (s->st == MC_S_LINE && in->len);
}

/*
 * The session is going away: give back what it holds (a stage). Only once
 * no mailbox request of it is in flight (the owner may be reading the stage).
 */
void mc_session_release(struct mc_session *s, struct mc_env *env);

/* Between commands with nothing outstanding: a fast path may take the next one. */
static inline bool mc_session_idle(const struct mc_session *s)
{
	return s->st == MC_S_LINE && !s->pending && !s->busy;
}

/*
 * A transport's fast path answered the first keys of a get line and out
 * filled up before the next value (net/mc_tcp.c): in now starts at that
 * key, and the session carries on with the rest of the line as its own
 * get paused there does (MC_S_GETKEYS).
 */
void mc_session_get_paused(struct mc_session *s, bool cas);

/*
 * Run commands from in, writing replies to out, until input runs out or it
 * blocks. After MC_RUN_BUSY call it again later even if no input arrived.
 */
enum mc_run mc_session_run(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
			   struct mc_env *env);

/*
 * The node the command was forwarded to answered: the transport has written
 * the reply to out; the command is done and the session goes on.
 */
void mc_session_forwarded(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
			  struct mc_env *env);

/* A mailbox request sent for this session completed (req->cookie == s). */
void mc_session_complete(struct mc_session *s, struct wc_mbox_req *req, struct mc_inq *in,
			 struct mc_out *out, struct mc_env *env);

#endif
