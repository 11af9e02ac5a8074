/*
 * derive.c - figures computed from a snapshot (see derive.h).
 */
#include <stdio.h>
#include <string.h>

#include "derive.h"

int cp_counter_index(const struct wc_cp_shm *s, const char *name)
{
	for (unsigned i = 0; i < s->ncounters && i < WC_CP_MAX_COUNTERS; i++)
		if (strncmp(s->counters[i].name, name, WC_CP_NAME_LEN) == 0)
			return (int)i;
	return -1;
}

static uint64_t sum_at(const struct wc_cp_shm *s, int k)
{
	uint64_t v = 0;

	if (k < 0)
		return 0;
	for (unsigned i = 0; i < s->nworkers && i < WC_CP_MAX_LCORES; i++)
		v += s->lc[i].v[k];
	return v;
}

static uint64_t total_at(const struct wc_cp_shm *s, int k)
{
	uint64_t v = sum_at(s, k);

	if (k >= 0 && s->counters[k].resettable)
		v -= s->base[k];
	return v;
}

uint64_t cp_total(const struct wc_cp_shm *s, const char *name)
{
	return total_at(s, cp_counter_index(s, name));
}

uint64_t cp_total_raw(const struct wc_cp_shm *s, const char *name)
{
	return sum_at(s, cp_counter_index(s, name));
}

uint64_t cp_lcore(const struct wc_cp_shm *s, unsigned lc, const char *name)
{
	int k = cp_counter_index(s, name);

	return k >= 0 && lc < WC_CP_MAX_LCORES ? s->lc[lc].v[k] : 0;
}

uint64_t cp_ops_raw(const struct wc_cp_shm *s, int lc)
{
	uint64_t v = 0;

	for (unsigned k = 0; k < s->ncounters && k < WC_CP_MAX_COUNTERS; k++) {
		if (strncmp(s->counters[k].name, "op_", 3) != 0)
			continue;
		if (lc >= 0)
			v += lc < (int)WC_CP_MAX_LCORES ? s->lc[lc].v[k] : 0;
		else
			v += sum_at(s, (int)k);
	}
	return v;
}

void cp_store_totals(const struct wc_cp_shm *s, int lc, struct cp_store_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < s->nparts && i < WC_CP_MAX_PARTS; i++) {
		const struct wc_cp_part_snap *p = &s->part[i];

		if (lc >= 0 && p->owner != (unsigned)lc)
			continue;
		t->items += p->items;
		t->bytes += p->bytes;
		t->limit += p->limit_bytes;
		t->total_items += p->total_items;
		t->evictions += p->evictions;
		t->evicted_unfetched += p->evicted_unfetched;
		t->expirations += p->expirations;
		t->reclaimed += p->reclaimed;
		t->relocations += p->relocations;
		t->index += p->index_bytes;
	}
}

/* The sum of every counter whose name starts with prefix (after "stats reset"). */
static uint64_t prefix_total(const struct wc_cp_shm *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	uint64_t v = 0;

	for (unsigned k = 0; k < s->ncounters && k < WC_CP_MAX_COUNTERS; k++)
		if (strncmp(s->counters[k].name, prefix, pl) == 0)
			v += total_at(s, (int)k);
	return v;
}

static void put(struct cp_stat *out, unsigned max, unsigned *n, const char *name, uint64_t v)
{
	if (*n >= max)
		return;
	snprintf(out[*n].name, sizeof(out[*n].name), "%s", name);
	out[*n].value = v;
	(*n)++;
}

unsigned cp_memcached_stats(const struct wc_cp_shm *s, struct cp_stat *out, unsigned max)
{
	struct cp_store_totals st;
	unsigned n = 0;
	uint64_t nparts = s->nparts ? s->nparts : 1;

	cp_store_totals(s, -1, &st);
	/* memcached's aggregates, as stats.c forms them */
	put(out, max, &n, "cmd_get", cp_total(s, "op_get") + cp_total(s, "op_gat"));
	put(out, max, &n, "cmd_set", cp_total(s, "op_set") + cp_total(s, "op_add") +
				     cp_total(s, "op_replace") + cp_total(s, "op_append") +
				     cp_total(s, "op_prepend") + cp_total(s, "op_cas"));
	put(out, max, &n, "cmd_flush", cp_total(s, "op_flush") / nparts);
	put(out, max, &n, "cmd_touch", cp_total(s, "op_touch") + cp_total(s, "op_gat"));
	put(out, max, &n, "bytes_read", cp_total(s, "rx_bytes"));
	put(out, max, &n, "bytes_written", cp_total(s, "tx_bytes"));
	put(out, max, &n, "limit_maxbytes", st.limit);
	put(out, max, &n, "bytes", st.bytes);
	put(out, max, &n, "curr_items", st.items);
	put(out, max, &n, "total_items", st.total_items);
	put(out, max, &n, "evictions", st.evictions);
	put(out, max, &n, "evicted_unfetched", st.evicted_unfetched);
	put(out, max, &n, "reclaimed", st.reclaimed);
	put(out, max, &n, "expirations", st.expirations);
	put(out, max, &n, "relocations", st.relocations);
	put(out, max, &n, "max_connections", s->max_conns);
	put(out, max, &n, "threads", s->nworkers);
	/* frames not taken, as stats.c sums them: real drops, and those not for this node */
	put(out, max, &n, "drops", prefix_total(s, "drop_"));
	put(out, max, &n, "ignored", prefix_total(s, "ignored_"));
	/* everything else under its own (memcached-style) name */
	for (unsigned k = 0; k < s->ncounters && k < WC_CP_MAX_COUNTERS; k++) {
		if (strncmp(s->counters[k].name, "op_", 3) == 0)
			continue;
		put(out, max, &n, s->counters[k].name, total_at(s, (int)k));
	}
	return n;
}

void cp_hist(const struct wc_cp_shm *s, int lc, struct wc_hist *out)
{
	wc_hist_reset(out);
	for (unsigned i = 0; i < s->nworkers && i < WC_CP_MAX_LCORES; i++)
		if (lc < 0 || (unsigned)lc == i)
			wc_hist_merge(out, &s->lat[i].h);
}

void cp_hist_delta(const struct wc_hist *now, const struct wc_hist *then, struct wc_hist *out)
{
	wc_hist_reset(out);
	for (unsigned i = 0; i < WC_HIST_BUCKETS; i++) {
		out->b[i] = now->b[i] >= then->b[i] ? now->b[i] - then->b[i] : 0;
		out->count += out->b[i];
	}
	out->sum = now->sum >= then->sum ? now->sum - then->sum : 0;
	out->min = 0;
	out->max = now->max;	/* only a cap for quantiles */
}

double cp_hist_us(const struct wc_hist *h, double q)
{
	return (double)wc_hist_quantile(h, q) / 1000.0;
}

double cp_busy_ratio(const struct wc_cp_lcore_snap *now, const struct wc_cp_lcore_snap *then)
{
	uint64_t busy, total;

	if (now->total_tsc <= then->total_tsc || now->busy_tsc < then->busy_tsc)
		return -1;
	total = now->total_tsc - then->total_tsc;
	busy = now->busy_tsc - then->busy_tsc;
	return busy >= total ? 1.0 : (double)busy / (double)total;
}

double cp_busy_seconds(const struct wc_cp_shm *s, unsigned lc)
{
	return s->tsc_hz ? (double)s->lc[lc].busy_tsc / (double)s->tsc_hz : 0;
}
