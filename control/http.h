/*
 * http.h - wirecache-cp's HTTP server (libmicrohttpd, a thread per
 * connection): the dashboard and its assets, /metrics, the JSON API, and
 * the two mutating calls, which take the token when one is configured:
 *
 *   GET  /                       the dashboard (static assets under /static/)
 *   GET  /metrics                Prometheus text
 *   GET  /api/status | /api/stats | /api/history | /api/slots | /api/alerts
 *   GET  /api/cluster            the node's cluster state (cpcluster.h)
 *   POST /api/slots/move         {"from": 0, "to": 8191, "partition": 1}
 *                                (or "range": "0-8191")
 *   POST /api/flush              {"delay": 0} (optional body)
 *
 * Errors are JSON {"error": "..."} with a fitting status: 400 bad input,
 * 401 missing or wrong token, 404, 405 (with Allow), 409 a move running,
 * 413 body too large, 503 not attached, 504 a move that did not finish in
 * time. Requests malformed at the HTTP level get libmicrohttpd's 400.
 */
#ifndef WC_CONTROL_HTTP_H
#define WC_CONTROL_HTTP_H

#include <netinet/in.h>

#include "cpcore.h"

struct cp_http;

/* Listen on addr (loopback or the configured admin address). NULL with a reason. */
struct cp_http *cp_http_start(struct cp_core *core, const struct sockaddr_in *addr,
			      const char *token, char *err, size_t errlen);
void cp_http_stop(struct cp_http *h);

#endif
