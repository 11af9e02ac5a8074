/*
 * call.c - owner calls (see rd.h): a Redis command's write part runs on the
 * lcore that owns the key's partition, inline or through the mailbox; a
 * reply written there travels back in a chain of mbufs from the node's pool
 * and is copied into the connection's reply stream on completion.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "core/app.h"
#include "redis/keyev.h"
#include "redis/pubsub.h"
#include "redis/rd.h"
#include "redis/rdutil.h"

/* A reply sink over a chain of mbufs (on the owner lcore). */
struct chain_out {
	struct mc_out out;
	struct rte_mempool *pool;
	struct rte_mbuf *head, *tail;
};

static bool chain_more(struct mc_out *o)
{
	struct chain_out *c = (struct chain_out *)o;
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->pool);

	if (c->tail)
		c->tail->data_len = (uint16_t)(o->p - rte_pktmbuf_mtod(c->tail, uint8_t *));
	if (!m)
		return false;
	m->next = NULL;
	m->data_off = 0;
	m->data_len = 0;
	if (c->tail)
		c->tail->next = m;
	else
		c->head = m;
	c->tail = m;
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = o->p + m->buf_len;
	return true;
}

/*
 * Run an owner function. A subscribing writer's own keyspace notifications
 * go into the reply sink, where the function raises them (pubsub.h); the
 * test costs a branch while nothing listens (the store hook is NULL).
 */
static void run(rd_owner_fn fn, struct rd_owner *o)
{
	struct rd_session *s = (struct rd_session *)(uintptr_t)o->s;

	if (__builtin_expect(rd_keyev_on(o->ctx), 0) && s && o->out && rd_pubsub_own_in_reply(s)) {
		struct wc_lcore *lc = rd_owner_lcore(o);
		struct rd_pubsub_writer prev = rd_pubsub_writer_enter(lc, s, o->out);

		fn(o);
		rd_pubsub_writer_leave(lc, prev);
		return;
	}
	fn(o);
}

/* A guarded write whose key is gone answers ASK instead (rd_cluster_ask_instead). */
static bool guarded(const struct rd_session *s, const struct rd_owner *o, const uint8_t *key,
		    uint32_t klen)
{
	return __builtin_expect(s && (s->flags & RD_C_ASK_GUARD), 0) && o->out && key &&
	       rd_cluster_ask_instead(s, o->part, o->ctx, key, klen, o->out);
}

static void owner_run(struct wc_mbox_req *req, struct wc_ctx *ctx)
{
	struct wc_call *call = &req->u.call;
	struct chain_out co = { .out = { .more = chain_more }, .pool = call->pool };
	struct rd_owner o = { .part = req->part, .ctx = ctx, .s = req->cookie,
			      .out = call->reply ? &co.out : NULL, .arg0 = call->arg0 };

	if (!guarded(o.s, &o, call->key, call->klen))
		run((rd_owner_fn)call->arg, &o);
	if (co.tail)
		co.tail->data_len = (uint16_t)(co.out.p - rte_pktmbuf_mtod(co.tail, uint8_t *));
	call->reply_head = co.head;
	call->failed = co.out.failed;
	call->acc = o.acc;
	call->acc2 = o.acc2;
}

/* An error an owner answered (word: its first word): the command's, as Redis counts one. */
static void owner_error(struct rd_session *s, const char *word)
{
	s->failed = true;
	rd_lcore(s)->rdst.errstat[rd_errstat_of(word)]++;
}

/*
 * An owner's reply through the mailbox (p[0..n), its start) that is an
 * error ("-WORD ..."): owner_error; the OOM refusal, a rejected call
 * (rdutil.h).
 */
static void note_owner_reply(struct rd_session *s, const uint8_t *p, size_t n)
{
	char word[16];
	size_t k;

	if (__builtin_expect(n < 2 || p[0] != '-', 1))
		return;
	if (rd_reply_is_oom(p, (uint32_t)(n < UINT32_MAX ? n : UINT32_MAX))) {
		s->oom_refused = true;
		return;
	}
	for (k = 0; k + 1 < n && k + 1 < sizeof(word) && p[k + 1] != ' ' && p[k + 1] != '\r'; k++)
		word[k] = (char)p[k + 1];
	word[k] = 0;
	owner_error(s, word);
}

enum rd_res rd_call(struct rd_session *s, const struct rd_route *rt, rd_owner_fn fn, bool reply,
		    uint32_t arg0, const uint8_t *key, uint32_t klen)
{
	struct mc_env *env = rd_env(s);
	struct wc_mbox_req *r;

	if (!env->mbox || rt->owner == env->self) {
		struct rd_owner o = { .part = rt->part, .ctx = env->ctx, .s = s,
				      .out = reply ? rd_out(s) : NULL, .arg0 = arg0 };

		rd_oom_answered = false;
		resp_error_seen = false;
		if (!guarded(s, &o, key, klen))
			run(fn, &o);
		/* what it answered in place: a refusal for memory (rdutil.h), another error */
		if (__builtin_expect(rd_oom_answered, 0))
			s->oom_refused = true;
		else if (__builtin_expect(resp_error_seen && o.out, 0))
			owner_error(s, resp_error_word);
		s->acc += o.acc;
		s->acc2 += o.acc2;
		return RD_DONE;
	}
	r = env->req_get(env);
	if (!r)
		return RD_BUSY;
	memset(r, 0, offsetof(struct wc_mbox_req, status));
	r->op = WC_MB_CALL;
	r->part = rt->part;
	r->origin = (uint16_t)env->self;
	r->cookie = s;
	r->u.call = (struct wc_call){ .fn = owner_run, .arg = (void *)fn, .key = key, .klen = klen,
				      .arg0 = arg0, .reply = reply,
				      .pool = rd_lcore(s)->pool };
	if (!wc_mbox_send(env->mbox, rt->owner, r)) {
		env->req_put(env, r);
		return RD_BUSY;
	}
	s->pending++;
	return RD_PENDING;
}

void rd_call_complete(struct rd_session *s, struct wc_mbox_req *req)
{
	struct wc_call *call = &req->u.call;
	struct rte_mbuf *m = call->reply_head, *next;

	s->acc += call->acc;
	s->acc2 += call->acc2;
	if (call->failed)
		s->call_failed = true;
	/* an error the owner answered; one for memory, a rejected call (rdutil.h) */
	if (m)
		note_owner_reply(s, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		mc_out_put(rd_out(s), rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		rte_pktmbuf_free_seg(m);
	}
	rd_env(s)->req_put(rd_env(s), req);
	if (s->pending)
		s->pending--;
}
