/*
 * creq.h - slot changes Redis clients asked for (CLUSTER SETSLOT), on their
 * way to the control plane and back: a fixed table of RD_CREQ_MAX requests
 * shared by the lcores (the sessions that ask and wait) and the control
 * thread (which hands them out on "CREQ NEXT" and records the answers of
 * "CREQ DONE", core/cpif_creq.h). Nothing is allocated per request.
 *
 * Each entry's state word is the only thing both sides change, always by
 * compare-and-swap; whoever moves an entry into a state owns its other
 * fields until it moves it on:
 *
 *   FREE --session--> FILLING --session--> QUEUED --control--> TAKEN
 *   TAKEN --control (DONE)--> OK | ERR --session (replied)--> FREE
 *   QUEUED --session (nobody took it in RD_CREQ_TAKE_MS)--> FREE
 *
 * A session that goes away (its connection closed, or it gave up waiting)
 * withdraws a QUEUED entry (the control plane never saw it: nothing is
 * made), sets RD_CREQ_GONE on a TAKEN one, or frees an OK/ERR one. A
 * TAKEN|GONE request is still made (Redis finishes a command whose client
 * left); when its DONE comes the control thread frees the entry instead of
 * answering, and it frees a TAKEN|GONE entry no DONE came for within
 * RD_CREQ_ORPHAN_MS (a control plane that died). A request id is
 * (sequence << 6 | index): a late DONE for an entry freed and used again
 * meanwhile does not match.
 */
#ifndef WC_REDIS_CREQ_H
#define WC_REDIS_CREQ_H

#include <stdbool.h>
#include <stdint.h>

#define RD_CREQ_MAX 64
#define RD_CREQ_TAKE_MS 5000		/* queued this long untaken: no control plane */
#define RD_CREQ_WAIT_MS 10000		/* a client waits this long for its map at most */
#define RD_CREQ_ORPHAN_MS 30000		/* taken, its client gone, no DONE: freed */
#define RD_CREQ_ERR_MAX 200		/* the text of a refusal */

/* FAILOVER (CLUSTER FAILOVER on a replica): node holds the mode, "" FORCE or TAKEOVER */
enum rd_creq_op { RD_CREQ_MIGRATING, RD_CREQ_IMPORTING, RD_CREQ_STABLE, RD_CREQ_NODE,
		  RD_CREQ_FAILOVER };

enum rd_creq_state {
	RD_CREQ_FREE = 0,
	RD_CREQ_FILLING,	/* a session is writing it */
	RD_CREQ_QUEUED,		/* waiting for CREQ NEXT */
	RD_CREQ_TAKEN,		/* sent to the control plane, waiting for DONE */
	RD_CREQ_OK,		/* DONE OK <epoch> */
	RD_CREQ_ERR,		/* DONE ERR <text> */
};
#define RD_CREQ_GONE 0x100u		/* or'ed in: the client is not waiting any more */
#define RD_CREQ_STATE_MASK 0xFFu

struct rd_creq {
	uint32_t state;			/* enum rd_creq_state | RD_CREQ_GONE (atomic) */
	uint8_t op;			/* enum rd_creq_op */
	uint16_t slot;
	char node[41];			/* "" for STABLE */
	uint64_t id;
	int64_t queued_ms;		/* the session's clock */
	int64_t taken_ms;		/* the control thread's clock */
	uint64_t epoch;			/* OK: the map epoch the change is in */
	char err[RD_CREQ_ERR_MAX];	/* ERR: the reply, without the '-' */
};

struct rd_creq_table {
	struct rd_creq r[RD_CREQ_MAX];
	uint64_t seq;			/* the last sequence handed out (atomic) */
	int wake_fd;			/* the control thread's eventfd; -1: no control thread */
};

/* An empty table, with no control thread yet. */
void rd_creq_init(struct rd_creq_table *t);

/* The control thread that serves the table is (wake_fd >= 0) or is no longer (-1) there. */
void rd_creq_attach(struct rd_creq_table *t, int wake_fd);
bool rd_creq_attached(const struct rd_creq_table *t);

/* ---- the session's side ---- */

/*
 * Queue a request (node: 40 bytes without spaces, or "" for STABLE) at
 * now_ms and wake the control thread. Returns the entry's index, -1 when
 * all RD_CREQ_MAX are in use; *id is its request id.
 */
int rd_creq_submit(struct rd_creq_table *t, enum rd_creq_op op, unsigned slot, const char *node,
		   int64_t now_ms, uint64_t *id);

enum rd_creq_check {
	RD_CREQ_WAITING,	/* queued or taken: ask again later */
	RD_CREQ_ANSWERED_OK,	/* *epoch: the map epoch to wait for */
	RD_CREQ_ANSWERED_ERR,	/* *err: the text (valid until rd_creq_release) */
	RD_CREQ_NOBODY,		/* not taken within RD_CREQ_TAKE_MS: withdrawn (entry freed) */
};

/* Where request i stands at now_ms (the session's clock, as at submit). */
enum rd_creq_check rd_creq_check(struct rd_creq_table *t, int i, int64_t now_ms,
				 uint64_t *epoch, const char **err);

/* The session has its answer (after ANSWERED_*): the entry is free again. */
void rd_creq_release(struct rd_creq_table *t, int i);

/* The session is not waiting any more (closed, timed out): see the header comment. */
void rd_creq_abandon(struct rd_creq_table *t, int i);

/* ---- the control thread's side ---- */

/* The oldest queued request, now TAKEN at now_ms; NULL when none. */
const struct rd_creq *rd_creq_take(struct rd_creq_table *t, int64_t now_ms);

/*
 * The control plane's answer for id: ok with epoch, or err. 0 when
 * recorded (or the entry freed: its client had gone), -1 when no taken
 * request has that id.
 */
int rd_creq_done(struct rd_creq_table *t, uint64_t id, bool ok, uint64_t epoch, const char *err);

/*
 * The request handed out as id never reached the control plane (the reply
 * to its connection failed): queued again, or freed when its client is gone.
 */
void rd_creq_untake(struct rd_creq_table *t, uint64_t id);

/* Free TAKEN|GONE entries older than RD_CREQ_ORPHAN_MS; returns how many. */
unsigned rd_creq_sweep(struct rd_creq_table *t, int64_t now_ms);

/* Entries not FREE (tests, statistics). */
unsigned rd_creq_in_use(const struct rd_creq_table *t);

/* "MIGRATING" ... */
const char *rd_creq_op_name(enum rd_creq_op op);

#endif
