/*
 * keys.c - the load generator's keys and values. Key id n is "k<n>" padded
 * with 'x' to its size; its value's length and bytes are functions of n
 * alone, so every SET of a key writes the same value and any GET reply can
 * be checked byte for byte. Sizes come from a distribution: fixed,
 * uniform, or the fits to Facebook's ETC pool (Atikoglu et al., SIGMETRICS
 * 2012): key sizes GEV(30.7984, 8.20449, 0.078688), value sizes generalized
 * Pareto(0, 214.476, 0.348238). With --slots the ids are renamed: id n is
 * called after the n-th name k<m> whose Redis Cluster slot is in the set
 * (so a run can aim at the slots one cluster node owns); values still
 * follow the id.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg.h"
#include "wirecache/slot.h"

static uint8_t *pattern;
static uint32_t pattern_len;

void lg_dist_fixed(struct lg_dist *d, uint32_t n)
{
	*d = (struct lg_dist){ .kind = LG_DIST_FIXED, .a = n, .min = n, .max = n };
}

int lg_dist_parse(struct lg_dist *d, const char *s, bool is_key)
{
	char *end;
	uint32_t lo = is_key ? 8 : 1, hi = is_key ? LG_KEY_MAX : (1u << 20);

	memset(d, 0, sizeof(*d));
	d->min = lo;
	d->max = hi;
	if (strcmp(s, "etc") == 0) {
		d->kind = is_key ? LG_DIST_GEV : LG_DIST_PARETO;
		if (is_key) {
			d->a = 30.7984;
			d->b = 8.20449;
			d->c = 0.078688;
		} else {
			d->a = 0;
			d->b = 214.476;
			d->c = 0.348238;
		}
		return 0;
	}
	if (strncmp(s, "gev:", 4) == 0 || strncmp(s, "pareto:", 7) == 0) {
		d->kind = s[0] == 'g' ? LG_DIST_GEV : LG_DIST_PARETO;
		if (sscanf(strchr(s, ':') + 1, "%lf,%lf,%lf", &d->a, &d->b, &d->c) != 3 || d->b <= 0)
			return -1;
		return 0;
	}
	d->a = strtod(s, &end);
	if (end == s || d->a < lo || d->a > hi)
		return -1;
	if (*end == 0) {
		lg_dist_fixed(d, (uint32_t)d->a);
		return 0;
	}
	if (*end != '-')
		return -1;
	d->b = strtod(end + 1, &end);
	if (*end || d->b < d->a || d->b > hi)
		return -1;
	d->kind = LG_DIST_UNIFORM;
	d->min = (uint32_t)d->a;
	d->max = (uint32_t)d->b;
	return 0;
}

uint32_t lg_dist_draw(const struct lg_dist *d, struct wc_rng *r)
{
	double x, u;

	switch (d->kind) {
	case LG_DIST_FIXED:
		return (uint32_t)d->a;
	case LG_DIST_UNIFORM:
		return (uint32_t)d->a + (uint32_t)(wc_rng_next(r) % ((uint64_t)(d->b - d->a) + 1));
	case LG_DIST_GEV:
		u = wc_rng_unit(r);
		if (u <= 0)
			u = 1e-12;
		x = d->a + d->b * (pow(-log(u), -d->c) - 1) / d->c;
		break;
	case LG_DIST_PARETO:
	default:
		u = wc_rng_unit(r);
		if (u <= 0)
			u = 1e-12;
		x = d->a + d->b * (pow(u, -d->c) - 1) / d->c;
		break;
	}
	if (x < d->min)
		return d->min;
	if (x > d->max)
		return d->max;
	return (uint32_t)x;
}

/* A generator seeded by the key id and what is drawn, so draws are per key. */
static struct wc_rng key_rng(uint64_t id, uint64_t what)
{
	return (struct wc_rng){ .s = id * 0x9E3779B97F4A7C15ull ^ what };
}

/* Names looked at before --slots gives up (a set of one slot needs 16384 per key). */
#define LG_SLOT_SEARCH_MAX 400000000ull

static int slots_parse(const char *spec, uint8_t *in)
{
	const char *p = spec;
	char *end;
	int any = 0;

	memset(in, 0, WC_SLOTS / 8);
	while (*p) {
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || lo >= WC_SLOTS)
			return -1;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || hi >= WC_SLOTS || hi < lo)
				return -1;
		}
		for (unsigned long s = lo; s <= hi; s++)
			in[s / 8] |= (uint8_t)(1u << (s % 8));
		any = 1;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -1;
		p = end;
	}
	return any ? 0 : -1;
}

int lg_slots_select(struct lg_cfg *c, const char *spec)
{
	uint8_t in[WC_SLOTS / 8];
	char name[LG_KEY_MAX + 1];
	uint64_t *names, n = 0, m;

	if (slots_parse(spec, in) != 0) {
		fprintf(stderr, "wirecache-loadgen: bad value for --slots: '%s' (LO-HI[,LO-HI...], "
			"slots 0-%u)\n", spec, WC_SLOTS - 1);
		return -1;
	}
	names = malloc(c->keys * sizeof(*names));
	if (!names) {
		fprintf(stderr, "wirecache-loadgen: no memory for %lu key names\n",
			(unsigned long)c->keys);
		return -1;
	}
	c->key_names = NULL;		/* lg_key below names ids as themselves */
	for (m = 0; n < c->keys && m < LG_SLOT_SEARCH_MAX; m++) {
		unsigned len = lg_key(c, m, name);
		uint16_t slot = wc_key_slot(name, len);

		if (in[slot / 8] & (1u << (slot % 8)))
			names[n++] = m;
	}
	if (n < c->keys) {
		fprintf(stderr, "wirecache-loadgen: --slots %s: only %lu of %lu keys among the "
			"first %llu names\n", spec, (unsigned long)n, (unsigned long)c->keys,
			LG_SLOT_SEARCH_MAX);
		free(names);
		return -1;
	}
	c->key_names = names;
	return 0;
}

unsigned lg_key(const struct lg_cfg *c, uint64_t id, char *out)
{
	struct wc_rng r;
	unsigned len;

	if (c->key_names)
		id = c->key_names[id];
	r = key_rng(id, 0x6b6579);
	len = lg_dist_draw(&c->key_size, &r);
	int n = snprintf(out, LG_KEY_MAX + 1, "k%lu", (unsigned long)id);

	if ((unsigned)n > len)
		len = (unsigned)n;	/* never shorter than the id itself */
	memset(out + n, 'x', len - (unsigned)n);
	out[len] = 0;
	return len;
}

uint32_t lg_value_len(const struct lg_cfg *c, uint64_t id)
{
	struct wc_rng r = key_rng(id, 0x76616c);

	if (c->value_size.kind == LG_DIST_FIXED)
		return (uint32_t)c->value_size.a;
	return lg_dist_draw(&c->value_size, &r);
}

uint32_t lg_value_max(const struct lg_cfg *c)
{
	return c->value_size.kind == LG_DIST_FIXED ? (uint32_t)c->value_size.a : c->value_size.max;
}

void lg_values_init(uint32_t max_len)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

	if (pattern && pattern_len >= max_len + 64)
		return;
	free(pattern);
	pattern_len = max_len + 64;
	pattern = malloc(pattern_len);
	if (!pattern) {
		fprintf(stderr, "wirecache-loadgen: out of memory\n");
		exit(1);
	}
	for (uint32_t i = 0; i < pattern_len; i++)
		pattern[i] = (uint8_t)alphabet[i % 64];
}

const uint8_t *lg_value(uint64_t id)
{
	return pattern + id % 61;
}

bool lg_value_check(uint64_t id, uint64_t off, const uint8_t *p, size_t n)
{
	return memcmp(lg_value(id) + off, p, n) == 0;
}
