/*
 * link_pub.c - Redis PUBLISH across the cluster's nodes over the node links
 * (see link.h): the publisher's side (a PUBLISH frame to every node a link
 * of its lcore is up to) and the receiver's (the frame delivered to the
 * node's subscribers on every lcore, in place in the link's receive queue,
 * before the link's next frame is taken).
 */
#include <stddef.h>
#include <string.h>

#include "cluster/link.h"
#include "core/app.h"
#include "core/slots.h"
#include "net/tcp_impl.h"
#include "proto/resp.h"
#include "redis/pubsub.h"
#include "store/mailbox.h"

/* ---- the publisher's side ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The message's bytes into o (contiguous, or read piece by piece). */
static void put_msg(struct mc_out *o, const struct resp_arg *msg, const struct mc_inq *in)
{
	uint8_t buf[2048];

	if (msg->kind == RESP_ARG_PTR) {
		mc_out_put(o, msg->u.p, msg->len);
		return;
	}
	for (uint64_t off = 0; off < msg->len; off += sizeof(buf)) {
		uint64_t n = msg->len - off < sizeof(buf) ? msg->len - off : sizeof(buf);

		resp_arg_read(msg, in, off, buf, n);
		mc_out_put(o, buf, n);
	}
}

void wc_link_publish(struct wc_lcore *lc, const uint8_t *ch, uint32_t chlen,
		     const struct resp_arg *msg, const struct mc_inq *in)
{
	struct wc_link_lc *L = lc->link;
	uint64_t len = 4ull + chlen + msg->len;

	if (!L || !L->any)
		return;	/* no other node */
	for (unsigned k = 0; k < WC_SLOT_PEERS_MAX; k++) {
		struct wc_link_peer *P = &L->peer[k];
		struct wc_tcb *c = P->c;
		uint8_t h[WC_LINK_HDR + 4];

		if (P->state == WC_LINK_NONE)
			continue;
		if (len > WC_LINK_FRAME_MAX || P->state != WC_LINK_UP || !c || P->broken ||
		    wc_tcp_out_full(&c->out)) {
			L->st.publish_dropped++;	/* best-effort, as Redis Cluster's bus */
			continue;
		}
		wc_link_hdr_put(h, &(struct wc_link_hdr){ .len = (uint32_t)len,
							  .kind = WC_LINK_PUBLISH });
		put_be32(h + WC_LINK_HDR, chlen);
		mc_out_put(&c->out, h, sizeof(h));
		mc_out_put(&c->out, ch, chlen);
		put_msg(&c->out, msg, in);
		wc_tcp_out_commit(c);
		if (c->out.failed) {
			/* no buffers: a frame cut short, the poll resets the link */
			P->broken = true;
			L->st.publish_dropped++;
			continue;
		}
		L->st.publish_sent++;
		wc_tcp_output(lc, c);
	}
}

/* ---- the receiver's side ---- */

/* Deliver the frame at the front of c's receive queue to lc's subscribers (any lcore). */
static unsigned deliver(struct wc_lcore *lc, const struct wc_tcb *c)
{
	const struct wc_link_srv *L = &c->link;
	uint64_t choff = WC_LINK_HDR + 4;

	return rd_pubsub_deliver_in(lc, &c->inq, choff, L->pub_chlen, choff + L->pub_chlen,
				    L->pub_len - 4 - L->pub_chlen);
}

/*
 * An owner call on another lcore: the frame there, read where it is (its
 * link waits); the receivers it had go back in acc (nobody adds them up:
 * the publisher's node counts its own).
 */
static void pub_owner(struct wc_mbox_req *req, struct wc_ctx *ctx)
{
	struct wc_lcore *lc = (struct wc_lcore *)(void *)((char *)ctx -
							   offsetof(struct wc_lcore, ctx));

	req->u.call.acc = deliver(lc, req->u.call.arg);
}

bool wc_link_pub_begin(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_link_hdr *h)
{
	struct wc_link_srv *L = &c->link;
	uint8_t b[4];
	uint32_t chlen;

	mc_inq_copy(&c->inq, WC_LINK_HDR, b, sizeof(b));
	chlen = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	if (chlen > h->len - 4)
		return false;	/* a channel longer than its frame */
	L->in_pub = true;
	L->pub_next = 0;
	L->pub_len = h->len;
	L->pub_chlen = chlen;
	lc->link->st.publish_received++;
	(void)deliver(lc, c);
	return true;
}

bool wc_link_pub_step(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_srv *L = &c->link;
	const struct wc_app *app = lc->app;

	while (L->pub_next < app->nworkers) {
		unsigned i = L->pub_next;
		const struct wc_lcore *to = app->lc[i];
		struct wc_mbox_req *req;

		if (i == lc->id || !lc->env.mbox || !to || !rd_pubsub_lcore_active(app, i)) {
			L->pub_next++;
			continue;
		}
		req = lc->env.req_get(&lc->env);
		if (!req) {
			wc_tcp_retry_add(lc->tcp, c);
			return false;
		}
		memset(req, 0, offsetof(struct wc_mbox_req, status));
		req->op = WC_MB_CALL;
		/* (a partition the lcore owns, for the request's form; the call concerns the lcore) */
		req->part = to->nparts ? app->parts[to->part_idx[0]] : NULL;
		req->origin = (uint16_t)lc->env.self;
		req->cookie = &L->sess;	/* completes to wc_link_srv_complete */
		req->u.call = (struct wc_call){ .fn = pub_owner, .arg = c };
		if (!wc_mbox_send(lc->env.mbox, i, req)) {
			lc->env.req_put(&lc->env, req);
			wc_tcp_retry_add(lc->tcp, c);
			return false;
		}
		L->sess.pending++;
		L->pub_next++;
	}
	return L->sess.pending == 0;
}
