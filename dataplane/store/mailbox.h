/*
 * mailbox.h - cross-partition writes between lcores.
 *
 * Every lcore has an endpoint with two lockless rte_rings (multi-producer,
 * single-consumer): "in" carries write requests for the partitions it owns,
 * "done" carries completions of the requests it sent. A requester fills a
 * struct wc_mbox_req from its own preallocated pool (value bytes stay in its
 * receive buffers until the completion arrives), sends it to the owner,
 * and later collects it back with the status and results filled in.
 *
 * The rings are placed with rte_ring_init in memory from a wc_mem_ops
 * backend, so the same code runs with EAL (hugepage memzones) and without it
 * (unit tests). A completion ring always has room: an endpoint never has more
 * requests in flight than its ring holds (its pool is no larger), so the
 * owner never drops or waits on a completion.
 */
#ifndef WC_STORE_MAILBOX_H
#define WC_STORE_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct wc_mbox_req;

enum wc_mbox_op {
	WC_MB_STORE,		/* wc_store */
	WC_MB_MODIFY,		/* wc_modify (delete, meta delete) */
	WC_MB_ARITH,		/* wc_arith */
	WC_MB_TOUCH,		/* wc_touch: u.touch.key/klen/hash/exptime */
	WC_MB_META_TOUCH,	/* wc_touch_ex */
	WC_MB_FLUSH,		/* wc_flush: u.flush_delay */
	WC_MB_CALL,		/* u.call.fn(req, ctx): a whole operation of a protocol engine */
	WC_MB_OP_COUNT
};

/*
 * A call: a protocol engine's own operation (a Redis command's write part),
 * run on the partition's owner. fn reads the request's arguments through
 * arg and records what the requester needs in the rest of the struct.
 */
struct wc_call {
	void (*fn)(struct wc_mbox_req *req, struct wc_ctx *ctx);
	void *arg;			/* the engine's own function */
	const void *key;		/* the key it concerns (live slot moves re-route by it) */
	uint32_t klen;
	uint32_t arg0;
	bool reply;			/* fn writes a reply into reply_head */
	bool failed;			/* (the reply did not fit the buffers) */
	void *pool;			/* where reply buffers come from */
	void *reply_head;		/* the reply, as the engine keeps it */
	int64_t acc, acc2;
};

struct wc_mbox_req {
	/* request */
	struct wc_part *part;		/* owned by the receiving endpoint */
	uint8_t op;			/* enum wc_mbox_op */
	uint16_t origin;		/* sender's endpoint */
	void *cookie;			/* sender's own context */
	union {
		struct wc_store_req store;
		struct wc_modify_req modify;
		struct wc_arith_req arith;
		struct wc_touch_req touch;
		int64_t flush_delay;
		struct wc_call call;
	} u;
	/* completion */
	enum wc_status status;
	struct wc_write_res res;
};

struct wc_mbox;

/* ring_size: a power of two, the most requests one endpoint has in flight + 1. */
struct wc_mbox *wc_mbox_create(unsigned endpoints, unsigned ring_size,
			       const struct wc_mem_ops *mem);
void wc_mbox_destroy(struct wc_mbox *mb);
unsigned wc_mbox_endpoints(const struct wc_mbox *mb);

/* Run a request on the calling (owner) thread; the result goes into req. */
void wc_mbox_execute(struct wc_mbox_req *req, struct wc_ctx *ctx);

/* Queue req for endpoint to (which owns req->part). false when its ring is full. */
bool wc_mbox_send(struct wc_mbox *mb, unsigned to, struct wc_mbox_req *req);

/* Owner: run up to max queued requests for endpoint self and post completions. */
unsigned wc_mbox_serve(struct wc_mbox *mb, unsigned self, struct wc_ctx *ctx, unsigned max);

/* Requester: take up to n completed requests of endpoint self. */
unsigned wc_mbox_collect(struct wc_mbox *mb, unsigned self, struct wc_mbox_req **out, unsigned n);

/*
 * ---- parking and draining (live slot migration, core/migrate.c) ----
 *
 * An endpoint no lcore serves can park requests: its owner thread takes
 * them out unexecuted (wc_mbox_take) and later forwards each one to the
 * endpoint that really owns its partition (wc_mbox_forward). A forwarded
 * request completes to its origin as usual; the origin's in-flight count
 * was taken when it was first sent, so forwarding does not touch it.
 */
unsigned wc_mbox_take(struct wc_mbox *mb, unsigned ep, struct wc_mbox_req **out, unsigned n);
bool wc_mbox_forward(struct wc_mbox *mb, unsigned to, struct wc_mbox_req *req);

/*
 * A mark of everything queued so far on endpoint ep's request ring, and
 * whether its owner has dequeued all of it. Once it has, and the owner
 * then passed a quiescent state, every request queued before the mark has
 * run (wc_mbox_serve runs what it dequeues before returning).
 */
uint32_t wc_mbox_in_mark(const struct wc_mbox *mb, unsigned ep);
bool wc_mbox_in_consumed(const struct wc_mbox *mb, unsigned ep, uint32_t mark);

#endif
