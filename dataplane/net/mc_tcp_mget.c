/*
 * mc_tcp_mget.c - memcached gets of several keys on the TCP fast path
 * (mc_tcp_mget.h): the keys of a whole get line looked up together, the
 * reply the session would give written straight into the send queue.
 * Apart from mc_tcp.c so that its one-get code keeps its registers.
 */
/* rcu_dereference inline (a load), not a call into liburcu */
#define URCU_INLINE_SMALL_FUNCTIONS
#include <string.h>

#include <urcu-qsbr.h>

#include "core/slots.h"
#include "net/mc_tcp_mget.h"
#include "net/tcp_impl.h"
#include "proto/mc_get_line.h"
#include "proto/mc_get_reply.h"

/* Keys looked up together (mc_exec.c's get_values takes as many at a time). */
#define MULTI_GET_BURST (WC_GET_BURST_MAX / 2)

/* One VALUE line (what mc_exec.c's value_line writes): in place when it fits the window. */
static inline void put_value(struct mc_out *out, const uint8_t *key, uint32_t klen,
			     const struct wc_view *v, bool cas)
{
	uint8_t hdr[MC_VALUE_HEADER_MAX(MC_KEY_MAX)], *e;

	if (MC_VALUE_HEADER_MAX(klen) + v->vlen + 2 <= (size_t)(out->end - out->p) &&
	    !out->failed && !out->limit) {
		e = mc_value_header_at(out->p, key, klen, v, cas);
		memcpy(e, v->value, v->vlen);
		e += v->vlen;
		e[0] = '\r';
		e[1] = '\n';
		e += 2;
		out->written += (uint64_t)(e - out->p);
		out->p = e;
		return;
	}
	e = mc_value_header_at(hdr, key, klen, v, cas);
	mc_out_put(out, hdr, (size_t)(e - hdr));
	mc_out_put(out, v->value, v->vlen);
	mc_out_put(out, "\r\n", 2);
}

uint32_t wc_mc_tcp_multi_get(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *p,
			     const uint8_t *end)
{
	const struct wc_app *app = lc->app;
	struct mc_out *out = &c->out;
	struct wc_get_req reqs[MULTI_GET_BURST];
	struct mc_get_line gl;
	struct wc_part *only;
	const uint8_t *pos;
	unsigned lflags, served = 0;
	uint64_t calm_until;
	uint32_t used = mc_get_line_parse(p, (uint32_t)(end - p), &gl);

	if (!used)
		return 0;
	only = wc_slot_read_part(app, rcu_dereference(app->slot_part));
	/* (no partition for every key: each is routed, and all must be this node's) */
	for (pos = gl.keys; !only && pos < gl.keys_end;) {
		struct mc_route rt = { .read = true };
		const uint8_t *k = pos;
		uint32_t klen = mc_get_line_next(&gl, &pos);

		lc->env.route(&lc->env, k, klen, &rt);
		if (rt.redirect)
			return 0;
	}
	lflags = WC_LOOKUP_REPLY_ONLY | (gl.cas ? WC_LOOKUP_CAS : 0);
	/*
	 * The send queue cannot be full (wc_tcp_tx_full: over WC_TCP_SND_QUEUE_LOW
	 * at the least) while what was written since stays under calm_until:
	 * the output's own test is asked only past it
	 */
	wc_tcp_out_commit(c);
	calm_until = c->tx.len < WC_TCP_SND_QUEUE_LOW ?
		     out->written + (WC_TCP_SND_QUEUE_LOW - c->tx.len) : 0;
	for (pos = gl.keys; pos < gl.keys_end;) {
		unsigned n = 0;

		while (n < MULTI_GET_BURST && pos < gl.keys_end) {
			struct mc_route rt = { .read = true, .part = only };
			const uint8_t *k = pos;
			uint32_t klen = mc_get_line_next(&gl, &pos);

			if (!only)
				lc->env.route(&lc->env, k, klen, &rt);
			reqs[n++] = (struct wc_get_req){ .part = rt.part, .key = k, .klen = klen,
							 .hash = wc_hash(k, klen) };
		}
		if (n == 1)
			reqs[0].hit = wc_get(reqs[0].part, lc->env.ctx, reqs[0].key, reqs[0].klen,
					     reqs[0].hash, lflags, &reqs[0].view);
		else
			wc_get_burst(reqs, n, lc->env.ctx, lflags);
		for (unsigned i = 0; i < n; i++) {
			if (!reqs[i].hit)
				continue;
			/* (the session asks before every value but the first) */
			if (served && out->written > calm_until && mc_out_full(out)) {
				/* the rest when the peer has read */
				mc_session_get_paused(&c->sess, gl.cas);
				return (uint32_t)((const uint8_t *)reqs[i].key - p);
			}
			put_value(out, reqs[i].key, reqs[i].klen, &reqs[i].view, gl.cas);
			served++;
		}
	}
	mc_out_put(out, "END\r\n", 5);
	return used;
}
