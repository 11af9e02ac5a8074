/*
 * workload.c - Zipf and uniform key choice (see workload.h).
 */
#include <math.h>

#include "workload.h"

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

void wc_keydist_init(struct wc_keydist *d, uint64_t n, double theta)
{
	double zeta2 = 0;

	d->n = n ? n : 1;
	d->zipf = theta > 0;
	d->theta = theta;
	d->perm_mul = 0x9E3779B97F4A7C15ull % d->n;
	while (d->n > 1 && (d->perm_mul == 0 || gcd(d->perm_mul, d->n) != 1))
		d->perm_mul++;
	if (!d->zipf)
		return;
	d->zetan = 0;
	for (uint64_t i = 1; i <= d->n; i++)
		d->zetan += 1.0 / pow((double)i, theta);
	zeta2 = 1.0 + 1.0 / pow(2.0, theta);
	d->alpha = 1.0 / (1.0 - theta);
	d->eta = (1.0 - pow(2.0 / (double)d->n, 1.0 - theta)) / (1.0 - zeta2 / d->zetan);
	d->half_pow = 1.0 + pow(0.5, theta);
}

uint64_t wc_keydist_next(const struct wc_keydist *d, struct wc_rng *r)
{
	double u = wc_rng_unit(r), uz;
	uint64_t rank;

	if (!d->zipf)
		return wc_rng_next(r) % d->n;
	uz = u * d->zetan;
	if (uz < 1.0)
		rank = 0;
	else if (uz < d->half_pow)
		rank = 1;
	else
		rank = (uint64_t)((double)d->n * pow(d->eta * u - d->eta + 1.0, d->alpha));
	if (rank >= d->n)
		rank = d->n - 1;
	/* a fixed permutation scatters popular ranks over the key space */
	return (uint64_t)(((unsigned __int128)rank * d->perm_mul) % d->n);
}
