/*
 * hist.c - log-linear histograms (see wirecache/hist.h): bucket bounds,
 * merging and quantiles. Recording is inline in the header.
 */
#include <string.h>

#include "wirecache/hist.h"

void wc_hist_reset(struct wc_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void wc_hist_merge(struct wc_hist *dst, const struct wc_hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
}

uint64_t wc_hist_low(unsigned i)
{
	unsigned shift;

	if (i < 2 * WC_HIST_SUB)
		return i;
	shift = i / WC_HIST_SUB - 1;
	return (uint64_t)(i % WC_HIST_SUB + WC_HIST_SUB) << shift;
}

uint64_t wc_hist_high(unsigned i)
{
	return i + 1 < WC_HIST_BUCKETS ? wc_hist_low(i + 1) - 1 : (1ull << WC_HIST_MAX_BITS) - 1;
}

uint64_t wc_hist_quantile(const struct wc_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q > 1)
		q = 1;
	/* the rank-th smallest value, 1-based */
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = wc_hist_high(i);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
