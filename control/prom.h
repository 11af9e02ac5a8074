/*
 * prom.h - the /metrics page: Prometheus text exposition format 0.0.4.
 * Names follow the Prometheus conventions: a wirecache_ prefix, base units
 * (seconds, bytes), counters ending in _total, one HELP and TYPE per family.
 * Counters carry the same numbers as memcached's "stats" (a "stats reset"
 * is a counter reset to Prometheus). Latency is a summary whose quantiles
 * cover the alert window; its _sum and _count cover the dataplane's life.
 */
#ifndef WC_CONTROL_PROM_H
#define WC_CONTROL_PROM_H

#include "buf.h"
#include "sampler.h"
#include "wirecache/cpshm.h"

/* now: a fresh snapshot, or NULL when detached; call with s->mu held. */
void cp_prom_render(struct buf *b, const struct wc_cp_shm *now, const struct sampler *s,
		    const char *node);

#endif
