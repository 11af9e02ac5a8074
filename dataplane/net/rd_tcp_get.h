/*
 * rd_tcp_get.h - one Redis GET answered on the fast path (net/rd_tcp.c:
 * a lone GET in a segment; net/rd_tcp_pipe.c: a pipeline of them), the
 * same reply and bookkeeping the session's GET gives. Inline in each,
 * where it is called once: each keeps the reply writer inline.
 */
#ifndef WC_NET_RD_TCP_GET_H
#define WC_NET_RD_TCP_GET_H

/* rcu_dereference inline (a load), not a call into liburcu */
#define URCU_INLINE_SMALL_FUNCTIONS
#include <rte_cycles.h>
#include <urcu-qsbr.h>

#include "core/slots.h"
#include "net/tcp_impl.h"
#include "proto/resp.h"
#include "proto/resp_out.h"
#include "redis/server.h"
#include "redis/tracking.h"
#include "store/item.h"

/*
 * A command a fast path answered took cycles, at least the slow log's
 * threshold: into the slow log with its arguments as sent (req[0..len),
 * the whole command). Out of line: rare.
 */
void wc_rd_tcp_slowlog(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *req, uint32_t len,
		       uint64_t cycles);

/*
 * The bookkeeping of a command a fast path answered (id: its command
 * table id), begun at t0, as the session's admit and count_command keep
 * it: counted with its time, CLIENT LIST's cmd=, the slow log when it took
 * that long. (CLIENT LIST's idle= is the connection's, net/rd_tcp.c
 * view_of: nothing to keep per command.)
 */
static inline __attribute__((always_inline)) void wc_rd_tcp_counted(struct wc_lcore *lc,
								      struct wc_tcb *c,
								      unsigned id,
								      uint64_t t0,
								      const uint8_t *req,
								      uint32_t len)
{
	uint64_t cycles = rte_rdtsc() - t0;

	lc->rdst.commands++;
	lc->rdst.calls[id]++;
	lc->rdst.cycles[id] += cycles;
	c->rd.last_cmd_id = (uint16_t)id;
	if (__builtin_expect(cycles >= __atomic_load_n(&rd_slowlog_cycles, __ATOMIC_RELAXED), 0))
		wc_rd_tcp_slowlog(lc, c, req, len, cycles);
}

/* A GET of a key that holds no string: the session's error, counted as a failed call. */
static inline void wc_rd_tcp_wrongtype(struct wc_lcore *lc, struct wc_tcb *c)
{
	resp_error(&c->out, "WRONGTYPE Operation against a key holding the wrong kind of value");
	lc->rdst.failed++;
	lc->rdst.cmd_failed[rd_get_cmd_id]++;
	lc->rdst.errstat[RD_ERRSTAT_WRONGTYPE]++;
}

/*
 * One GET answered as the session would (req[0..cmd_len): the command on
 * the wire): the reply, a tracking client's read remembered, the command
 * counted (wc_rd_tcp_counted).
 */
static inline __attribute__((always_inline)) void wc_rd_tcp_get_one(struct wc_lcore *lc,
								      struct wc_tcb *c,
								      const uint8_t *req,
								      const uint8_t *key,
								      uint32_t klen, uint32_t cmd_len)
{
	const struct wc_app *app = lc->app;
	uint64_t t0 = rte_rdtsc();
	struct wc_part *part;
	unsigned owner;
	struct wc_view v;
	uint64_t hash = wc_hash(key, klen);
	const uint16_t *table = rcu_dereference(app->slot_part);

	lc->rdst.net_in += cmd_len;
	wc_slot_key_route(app, table, key, klen, &part, &owner);
	if (!wc_get(part, &lc->ctx, key, klen, hash, WC_LOOKUP_ANY_TYPE, &v))
		resp_null(&c->out, c->rd.proto);
	else if (__builtin_expect(v.type != WC_TYPE_STRING, 0))
		wc_rd_tcp_wrongtype(lc, c);
	else
		resp_bulk(&c->out, v.value, v.vlen);
	/* a tracking client's read is remembered here as the general path would */
	if (rd_trk_flags(&c->rd.trk) & RD_TRK_ON)
		rd_tracking_fast_read(lc, &c->rd, key, klen, hash);
	wc_rd_tcp_counted(lc, c, rd_get_cmd_id, t0, req, cmd_len);
}

/*
 * One whole "MGET <key> ..." at p, up to end (resp_mget_at), answered as
 * t_string.c's mget does when the user may MGET any key: an array of the
 * values, a null for a key missing or holding no string; the keys looked
 * up in one burst (counted as the session's lookups are), a tracking
 * client's reads remembered as wc_rd_tcp_get_one's, the command counted
 * as the session counts it. Returns its length, 0 when it is left to the
 * session (rd_tcp_mget.c).
 */
uint32_t wc_rd_tcp_mget(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *p,
			const uint8_t *end);

/*
 * The GETs, plain SETs and MGETs of a pipeline in one segment,
 * start[0..end), answered in order while each is a whole GET
 * (resp_get_at), a SET the fast path may take (rd_tcp_pipe.c) or an MGET
 * it may take (wc_rd_tcp_mget) and the output has room (the session stops
 * before a command when it has none); true when all of it was answered,
 * else what was is consumed and the rest left to the session.
 */
bool wc_rd_tcp_pipelined_gets(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *start,
			      const uint8_t *end);

#endif
