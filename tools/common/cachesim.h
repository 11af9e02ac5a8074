/*
 * cachesim.h - reference eviction policies simulated over a key trace,
 * counting objects (all the same size): exact LRU, FIFO, CLOCK with 1 or 2
 * bit frequencies, segmented LRU and S3-FIFO. The store's policy is chosen
 * by comparing these, and its measured miss ratio is checked against exact
 * LRU given the same number of items.
 */
#ifndef WC_TOOLS_CACHESIM_H
#define WC_TOOLS_CACHESIM_H

#include <stddef.h>
#include <stdint.h>

enum wc_sim_policy {
	WC_SIM_LRU,
	WC_SIM_FIFO,
	WC_SIM_CLOCK1,
	WC_SIM_CLOCK2,
	WC_SIM_SLRU,
	WC_SIM_S3FIFO,
	WC_SIM_COUNT
};

const char *wc_sim_name(enum wc_sim_policy p);

/*
 * Miss ratio of policy p with room for capacity objects, replaying trace
 * (keys < nkeys) as cache-aside: a miss inserts the key. Returns -1 when
 * memory for the simulation cannot be had.
 */
double wc_sim_miss_ratio(enum wc_sim_policy p, const uint32_t *trace, size_t n, uint32_t nkeys,
			 uint32_t capacity);

#endif
