/*
 * workload.h - key popularity for benchmarks and the load generator: a
 * fast PRNG, uniform and Zipf(theta) key choice (YCSB's rejection-free
 * method, Gray et al. 1994), with ranks scattered over the key space by a
 * fixed permutation so hot keys are not neighbours.
 */
#ifndef WC_TOOLS_WORKLOAD_H
#define WC_TOOLS_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

struct wc_rng {
	uint64_t s;
};

/* splitmix64: tiny state, good enough for workloads */
static inline uint64_t wc_rng_next(struct wc_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform double in [0, 1) */
static inline double wc_rng_unit(struct wc_rng *r)
{
	return (double)(wc_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

struct wc_keydist {
	uint64_t n;		/* keys 0..n-1 */
	bool zipf;
	double theta, zetan, alpha, eta, half_pow;
	uint64_t perm_mul;	/* rank -> key permutation */
};

/* theta <= 0 means uniform. Zipf set-up costs O(n) once. */
void wc_keydist_init(struct wc_keydist *d, uint64_t n, double theta);
uint64_t wc_keydist_next(const struct wc_keydist *d, struct wc_rng *r);

#endif
