/*
 * rd_tcp_pipe.c - Redis GETs pipelined in one segment, answered on the
 * fast path one after another as rd_tcp.c answers a lone one (rd_tcp_get.h);
 * apart from it so that each keeps its one GET's code inline.
 */
#include "net/rd_tcp_get.h"

bool wc_rd_tcp_pipelined_gets(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *start,
			      const uint8_t *end)
{
	const uint8_t *p = start, *key;
	uint32_t klen, used;

	while (p < end && (key = resp_get_at(p, (uint32_t)(end - p), &klen, &used)) != NULL &&
	       !mc_out_full(&c->out)) {
		wc_rd_tcp_get_one(lc, c, key, klen, used);
		lc->tcp->fast_pipelined++;
		p += used;
	}
	if (p == end) {
		wc_tcp_rx_answered(lc, c);
		return true;
	}
	if (p != start)
		c->inq.consume(&c->inq, (uint64_t)(p - start));
	return false;
}
