/*
 * clients.h - the node's Redis connections as CLIENT LIST, INFO and KILL
 * see them (clients.c), and what the transport (net/rd_tcp.c) offers for
 * that: walking an lcore's connections and closing one.
 *
 * Connections live in each lcore's TCP table. Listing reads other lcores'
 * tables and sessions without a lock: a racy snapshot (a connection that
 * opens or closes meanwhile may be missed or shown half-updated, a name
 * being changed may show either value), which is what CLIENT LIST promises
 * anyway. Closing happens only on the connection's own lcore: CLIENT KILL
 * sends an owner call to every lcore, and each closes its own matches.
 */
#ifndef WC_REDIS_CLIENTS_H
#define WC_REDIS_CLIENTS_H

#include "redis/rd.h"
#include "redis/text.h"

struct wc_lcore;

/* One Redis connection, as CLIENT LIST shows it. */
struct rd_client_view {
	const struct rd_session *s;
	uint32_t fd;			/* the connection's slot (lcore * table size + index) */
	uint64_t qbuf;			/* bytes received, not yet parsed */
	uint64_t qbuf_free;		/* room left in the receive buffer */
	uint64_t omem;			/* reply bytes queued and not yet acknowledged */
	uint32_t oll;			/* buffers holding them */
	bool writing;			/* replies waiting for the peer's window */
	int64_t idle_ms;		/* since a request's bytes last arrived, -1: none yet */
};

typedef void (*rd_client_fn)(void *arg, const struct rd_client_view *v);
typedef bool (*rd_client_match)(void *arg, const struct rd_client_view *v);

/* net/rd_tcp.c: each open Redis connection of lc (racy unless lc is the caller's). */
void rd_tcp_clients(struct wc_lcore *lc, rd_client_fn fn, void *arg);

/*
 * net/rd_tcp.c, on lc's own thread only: close every Redis connection of lc
 * that match accepts (replies already queued still go out, then FIN; one
 * in the middle of a command closes once it is answered). Returns how many.
 */
unsigned rd_tcp_kill(struct wc_lcore *lc, rd_client_match match, void *arg);

/* The CLIENT LIST line of v (Redis's fields, no newline), as of now_ms. */
void rd_client_line(struct rd_text *t, const struct rd_client_view *v, int64_t now_ms);

/* CLIENT LIST, INFO, KILL and HELP (rows in conn.c's CLIENT table). */
enum rd_res rd_client_list(struct rd_session *s);
enum rd_res rd_client_info(struct rd_session *s);
enum rd_res rd_client_kill(struct rd_session *s);
enum rd_res rd_client_help(struct rd_session *s);

#endif
