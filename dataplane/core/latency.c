/*
 * latency.c - the per-lcore latency hooks' state (see latency.h).
 */
#include <string.h>

#include "core/latency.h"

struct wc_lat *wc_lat_lcores[WC_MAX_WORKERS];

void wc_lat_init(struct wc_lat *lat, struct wc_hist *h, uint64_t tsc_hz)
{
	memset(lat, 0, sizeof(*lat));
	lat->h = h;
	h->min = UINT64_MAX;	/* so recording needs no "first sample" test */
	lat->mult = tsc_hz ? (1000000000ull << WC_LAT_SHIFT) / tsc_hz : 1ull << WC_LAT_SHIFT;
}
