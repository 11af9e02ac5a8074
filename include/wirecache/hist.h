/*
 * hist.h - log-linear latency histograms (HdrHistogram's bucketing): exact
 * below 64, then 32 linear buckets per power of two, so any recorded value
 * is known to within 1/32 (about 3%) up to 2^40 (18 minutes in ns).
 * Recording is a few instructions and never allocates; histograms from
 * several cores merge by adding buckets. Shared by the dataplane (service
 * latency), the control plane (percentiles) and the load generator.
 */
#ifndef WIRECACHE_HIST_H
#define WIRECACHE_HIST_H

#include <stdint.h>

#define WC_HIST_SUB_BITS 5
#define WC_HIST_SUB (1u << WC_HIST_SUB_BITS)		/* linear buckets per octave */
#define WC_HIST_MAX_BITS 40				/* values at or above 2^40 are clamped */
#define WC_HIST_BUCKETS ((WC_HIST_MAX_BITS - WC_HIST_SUB_BITS + 1) * WC_HIST_SUB)

struct wc_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min, max;
	uint64_t b[WC_HIST_BUCKETS];
};

static inline unsigned wc_hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * WC_HIST_SUB)
		return (unsigned)v;
	if (v >= (1ull << WC_HIST_MAX_BITS))
		v = (1ull << WC_HIST_MAX_BITS) - 1;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - WC_HIST_SUB_BITS;
	return (shift + 1) * WC_HIST_SUB + (unsigned)(v >> shift) - WC_HIST_SUB;
}

static inline void wc_hist_record(struct wc_hist *h, uint64_t v)
{
	h->b[wc_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	if (v < h->min || h->count == 1)
		h->min = v;
}

void wc_hist_reset(struct wc_hist *h);
/* dst += src */
void wc_hist_merge(struct wc_hist *dst, const struct wc_hist *src);
/* The smallest and largest value that fall in bucket i. */
uint64_t wc_hist_low(unsigned i);
uint64_t wc_hist_high(unsigned i);
/*
 * The value at or below which a fraction q (0..1) of the recorded values
 * lie, reported as the top of its bucket (never under the truth), capped at
 * the largest value recorded; 0 when empty.
 */
uint64_t wc_hist_quantile(const struct wc_hist *h, double q);

#endif
