/*
 * api.h - the JSON documents of the HTTP API (jansson):
 *
 *   /api/status   attachment and the dataplane's identity
 *   /api/stats    memcached-compatible totals, rates, latency, per lcore,
 *                 per partition, alerts (what the dashboard and
 *                 `wirecachectl stats|top|status` show)
 *   /api/history  the sampled series for the dashboard's charts
 *   /api/slots    the slot table as runs, and the last slot move
 *   /api/alerts   every rule's state and thresholds
 *
 * now is a fresh snapshot or NULL when detached; call with s->mu held.
 */
#ifndef WC_CONTROL_API_H
#define WC_CONTROL_API_H

#include <jansson.h>

#include "sampler.h"
#include "wirecache/cpshm.h"

struct cp_api_ctx {
	const char *node;
	const char *socket;
	const char *attach_error;	/* why not attached, or "" */
	int64_t attached_since_ms;
	uint64_t reattaches;		/* attachments after the first */
};

json_t *cp_api_status(const struct cp_api_ctx *c, const struct wc_cp_shm *now,
		      const struct sampler *s);
json_t *cp_api_stats(const struct cp_api_ctx *c, const struct wc_cp_shm *now,
		     const struct sampler *s);
json_t *cp_api_history(const struct sampler *s, unsigned max_points);
json_t *cp_api_slots(const struct wc_cp_shm *now);
json_t *cp_api_alerts(const struct sampler *s, bool attached);
json_t *cp_api_move(const struct wc_cp_move_snap *m);

/* {"error": msg} */
json_t *cp_api_error(const char *msg);

#endif
