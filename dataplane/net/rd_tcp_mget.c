/*
 * rd_tcp_mget.c - a Redis MGET answered on the TCP fast path (rd_tcp_get.h:
 * wc_rd_tcp_mget), as t_string.c's mget answers it: its keys looked up in
 * one burst, the reply written straight into the send queue. Apart from
 * rd_tcp_pipe.c so that its GET's reply writer stays inline there.
 */
#include "net/rd_tcp_get.h"

uint32_t wc_rd_tcp_mget(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *p,
			const uint8_t *end)
{
	const struct wc_app *app = lc->app;
	uint64_t t0 = rte_rdtsc();
	struct resp_mget mg;
	struct wc_get_req reqs[RESP_MGET_FAST_MAX];
	const uint16_t *table;
	uint32_t used;

	if (!c->rd.fast_mget || !(used = resp_mget_at(p, (uint32_t)(end - p), &mg)))
		return 0;
	table = rcu_dereference(app->slot_part);
	for (uint32_t i = 0; i < mg.nkeys; i++) {
		struct wc_part *part;
		unsigned owner;

		wc_slot_key_route(app, table, mg.key[i], mg.klen[i], &part, &owner);
		reqs[i] = (struct wc_get_req){ .part = part, .key = mg.key[i], .klen = mg.klen[i],
					       .hash = wc_hash(mg.key[i], mg.klen[i]) };
	}
	lc->rdst.net_in += used;
	wc_get_burst(reqs, mg.nkeys, &lc->ctx, WC_LOOKUP_ANY_TYPE);
	resp_array(&c->out, mg.nkeys);
	for (uint32_t i = 0; i < mg.nkeys; i++) {
		if (reqs[i].hit && reqs[i].view.type == WC_TYPE_STRING)
			resp_bulk(&c->out, reqs[i].view.value, reqs[i].view.vlen);
		else
			resp_null(&c->out, c->rd.proto);
	}
	/* a tracking client's reads are remembered here as the general path would */
	if (rd_trk_flags(&c->rd.trk) & RD_TRK_ON)
		for (uint32_t i = 0; i < mg.nkeys; i++)
			rd_tracking_fast_read(lc, &c->rd, mg.key[i], mg.klen[i], reqs[i].hash);
	wc_rd_tcp_counted(lc, c, rd_mget_cmd_id, t0, p, used);
	return used;
}

