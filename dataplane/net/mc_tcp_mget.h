/*
 * mc_tcp_mget.h - a memcached get or gets of several keys answered on the
 * TCP fast path (mc_tcp_mget.c), for mc_tcp.c's pipelined loop.
 */
#ifndef WC_NET_MC_TCP_MGET_H
#define WC_NET_MC_TCP_MGET_H

#include <stdbool.h>
#include <stdint.h>

struct wc_lcore;
struct wc_tcb;

/*
 * A whole "get"/"gets" line of any number of keys at p, up to end
 * (mc_get_line_parse), answered into c's output as the session's exec_get
 * answers it: the keys looked up in bursts as its get_values does (counted
 * as there), a VALUE line per hit in key order, one END. Left to the
 * session (0, nothing looked up) when a key is another node's. When the
 * output fills up before a value that is not the line's first, as the
 * session's get does: what was written stays, and the session goes on
 * with the rest of the line from the next key (mc_session_get_paused: no
 * longer idle). Returns the bytes taken, the line's or those before that
 * key; 0 when it is left to the session.
 */
uint32_t wc_mc_tcp_multi_get(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *p,
			     const uint8_t *end);

#endif
