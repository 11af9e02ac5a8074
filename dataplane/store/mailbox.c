/*
 * mailbox.c - request and completion rings between lcores (see mailbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_pause.h>
#include <rte_ring.h>

#include "mailbox.h"

#define SERVE_BURST 32

struct wc_mbox_endpoint {
	struct rte_ring *in;
	struct rte_ring *done;
	unsigned in_flight;	/* sent and not yet collected; touched by the sender only */
};

struct wc_mbox {
	const struct wc_mem_ops *mem;
	unsigned n;
	size_t ring_bytes;
	struct wc_mbox_endpoint ep[];
};

static struct rte_ring *ring_make(struct wc_mbox *mb, const char *kind, unsigned i, unsigned size)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), "wc_mb%u_%s", i, kind);
	r = mb->mem->alloc(mb->mem->opaque, name, mb->ring_bytes);
	if (!r)
		return NULL;
	if (rte_ring_init(r, name, size, RING_F_SC_DEQ) != 0) {
		mb->mem->free(mb->mem->opaque, r, mb->ring_bytes);
		return NULL;
	}
	return r;
}

struct wc_mbox *wc_mbox_create(unsigned endpoints, unsigned ring_size,
			       const struct wc_mem_ops *mem)
{
	struct wc_mbox *mb;
	ssize_t bytes;

	if (endpoints == 0 || endpoints > UINT16_MAX || !mem)
		return NULL;
	bytes = rte_ring_get_memsize(ring_size);
	if (bytes < 0)
		return NULL;
	mb = calloc(1, sizeof(*mb) + endpoints * sizeof(mb->ep[0]));
	if (!mb)
		return NULL;
	mb->mem = mem;
	mb->n = endpoints;
	mb->ring_bytes = (size_t)bytes;
	for (unsigned i = 0; i < endpoints; i++) {
		mb->ep[i].in = ring_make(mb, "in", i, ring_size);
		mb->ep[i].done = ring_make(mb, "done", i, ring_size);
		if (!mb->ep[i].in || !mb->ep[i].done) {
			wc_mbox_destroy(mb);
			return NULL;
		}
	}
	return mb;
}

void wc_mbox_destroy(struct wc_mbox *mb)
{
	if (!mb)
		return;
	for (unsigned i = 0; i < mb->n; i++) {
		if (mb->ep[i].in)
			mb->mem->free(mb->mem->opaque, mb->ep[i].in, mb->ring_bytes);
		if (mb->ep[i].done)
			mb->mem->free(mb->mem->opaque, mb->ep[i].done, mb->ring_bytes);
	}
	free(mb);
}

unsigned wc_mbox_endpoints(const struct wc_mbox *mb)
{
	return mb->n;
}

void wc_mbox_execute(struct wc_mbox_req *req, struct wc_ctx *ctx)
{
	memset(&req->res, 0, sizeof(req->res));
	switch ((enum wc_mbox_op)req->op) {
	case WC_MB_STORE:
		req->status = wc_store(req->part, ctx, &req->u.store, &req->res);
		break;
	case WC_MB_MODIFY:
		req->status = wc_modify(req->part, ctx, &req->u.modify, &req->res);
		break;
	case WC_MB_ARITH:
		req->status = wc_arith(req->part, ctx, &req->u.arith, &req->res);
		break;
	case WC_MB_TOUCH:
		req->status = wc_touch(req->part, ctx, req->u.touch.key, req->u.touch.klen,
				       req->u.touch.hash, req->u.touch.exptime);
		break;
	case WC_MB_META_TOUCH:
		req->status = wc_touch_ex(req->part, ctx, &req->u.touch, &req->res);
		break;
	case WC_MB_FLUSH:
		wc_flush(req->part, ctx, req->u.flush_delay);
		req->status = WC_OK;
		break;
	case WC_MB_CALL:
		req->u.call.fn(req, ctx);
		req->status = WC_OK;
		break;
	default:
		req->status = WC_ERR_ARG;
		break;
	}
}

bool wc_mbox_send(struct wc_mbox *mb, unsigned to, struct wc_mbox_req *req)
{
	struct wc_mbox_endpoint *self;

	if (to >= mb->n || req->origin >= mb->n)
		return false;
	self = &mb->ep[req->origin];
	/* keep the completion ring from ever overflowing */
	if (self->in_flight >= rte_ring_get_capacity(self->done))
		return false;
	if (rte_ring_mp_enqueue(mb->ep[to].in, req) != 0)
		return false;
	self->in_flight++;
	return true;
}

unsigned wc_mbox_serve(struct wc_mbox *mb, unsigned self, struct wc_ctx *ctx, unsigned max)
{
	void *burst[SERVE_BURST];
	unsigned total = 0;

	while (total < max) {
		unsigned want = max - total < SERVE_BURST ? max - total : SERVE_BURST;
		unsigned n = rte_ring_sc_dequeue_burst(mb->ep[self].in, burst, want, NULL);

		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			struct wc_mbox_req *req = burst[i];

			wc_mbox_execute(req, ctx);
			if (ctx->before_complete)
				ctx->before_complete(ctx);
			/* room is guaranteed by the sender's in-flight bound */
			while (rte_ring_mp_enqueue(mb->ep[req->origin].done, req) != 0)
				rte_pause();
		}
		total += n;
	}
	return total;
}

unsigned wc_mbox_collect(struct wc_mbox *mb, unsigned self, struct wc_mbox_req **out, unsigned n)
{
	unsigned got = rte_ring_sc_dequeue_burst(mb->ep[self].done, (void **)out, n, NULL);

	mb->ep[self].in_flight -= got;
	return got;
}

/* ---- parking and draining ---- */

unsigned wc_mbox_take(struct wc_mbox *mb, unsigned ep, struct wc_mbox_req **out, unsigned n)
{
	if (ep >= mb->n)
		return 0;
	return rte_ring_sc_dequeue_burst(mb->ep[ep].in, (void **)out, n, NULL);
}

bool wc_mbox_forward(struct wc_mbox *mb, unsigned to, struct wc_mbox_req *req)
{
	if (to >= mb->n || req->origin >= mb->n)
		return false;
	return rte_ring_mp_enqueue(mb->ep[to].in, req) == 0;
}

uint32_t wc_mbox_in_mark(const struct wc_mbox *mb, unsigned ep)
{
	return __atomic_load_n(&mb->ep[ep].in->prod.tail, __ATOMIC_ACQUIRE);
}

bool wc_mbox_in_consumed(const struct wc_mbox *mb, unsigned ep, uint32_t mark)
{
	uint32_t cons = __atomic_load_n(&mb->ep[ep].in->cons.tail, __ATOMIC_ACQUIRE);

	return (int32_t)(cons - mark) >= 0;
}
