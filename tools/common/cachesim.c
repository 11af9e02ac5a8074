/*
 * cachesim.c - reference policy simulators (see cachesim.h). Keys are dense
 * integers, so every structure is a plain array indexed by key.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cachesim.h"

static const char *const names[WC_SIM_COUNT] = {
	"LRU", "FIFO", "CLOCK-1bit", "CLOCK-2bit", "SLRU(20/80)", "S3-FIFO",
};

const char *wc_sim_name(enum wc_sim_policy p)
{
	return (unsigned)p < WC_SIM_COUNT ? names[p] : "?";
}

/* ---- exact LRU and SLRU: doubly linked lists over key arrays ---- */

struct dlist {
	int32_t head, tail;
	uint32_t n;
};

static void dl_push_front(struct dlist *l, int32_t *prev, int32_t *next, int32_t k)
{
	prev[k] = -1;
	next[k] = l->head;
	if (l->head >= 0)
		prev[l->head] = k;
	l->head = k;
	if (l->tail < 0)
		l->tail = k;
	l->n++;
}

static void dl_remove(struct dlist *l, int32_t *prev, int32_t *next, int32_t k)
{
	if (prev[k] >= 0)
		next[prev[k]] = next[k];
	else
		l->head = next[k];
	if (next[k] >= 0)
		prev[next[k]] = prev[k];
	else
		l->tail = prev[k];
	l->n--;
}

static double sim_lru(const uint32_t *tr, size_t n, uint32_t nkeys, uint32_t cap, double prot)
{
	int32_t *prev = malloc(nkeys * sizeof(int32_t)), *next = malloc(nkeys * sizeof(int32_t));
	uint8_t *seg = calloc(nkeys, 1);	/* 0 absent, 1 probation, 2 protected */
	struct dlist lp = { -1, -1, 0 }, lq = { -1, -1, 0 };
	uint32_t prot_cap = (uint32_t)(cap * prot);
	size_t miss = 0;

	if (!prev || !next || !seg) {
		free(prev);
		free(next);
		free(seg);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int32_t k = (int32_t)tr[i];

		if (seg[k]) {
			dl_remove(seg[k] == 1 ? &lp : &lq, prev, next, k);
			if (prot_cap == 0) {
				dl_push_front(&lp, prev, next, k);	/* plain LRU */
				continue;
			}
			/* SLRU: a hit goes to protected; protected overflow drops to probation */
			dl_push_front(&lq, prev, next, k);
			seg[k] = 2;
			if (lq.n > prot_cap) {
				int32_t v = lq.tail;

				dl_remove(&lq, prev, next, v);
				dl_push_front(&lp, prev, next, v);
				seg[v] = 1;
			}
			continue;
		}
		miss++;
		if (lp.n + lq.n >= cap) {
			struct dlist *from = lp.n ? &lp : &lq;
			int32_t v = from->tail;

			dl_remove(from, prev, next, v);
			seg[v] = 0;
		}
		dl_push_front(&lp, prev, next, k);
		seg[k] = 1;
	}
	free(prev);
	free(next);
	free(seg);
	return (double)miss / (double)n;
}

/* ---- FIFO and CLOCK (FIFO with reinsertion while the counter is non-zero) ---- */

static double sim_clock(const uint32_t *tr, size_t n, uint32_t nkeys, uint32_t cap, int bits)
{
	uint32_t *q = malloc((size_t)cap * sizeof(uint32_t));
	uint8_t *freq = calloc(nkeys, 1), *in = calloc(nkeys, 1);
	uint64_t head = 0, used = 0;
	uint8_t max = (uint8_t)((1u << bits) - 1);
	size_t miss = 0;

	if (!q || !freq || !in) {
		free(q);
		free(freq);
		free(in);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t k = tr[i];

		if (in[k]) {
			if (freq[k] < max)
				freq[k]++;
			continue;
		}
		miss++;
		while (used == cap) {
			uint32_t v = q[head % cap];

			head++;
			if (freq[v]) {
				freq[v]--;
				q[(head + used - 1) % cap] = v;
			} else {
				in[v] = 0;
				used--;
			}
		}
		q[(head + used) % cap] = k;
		used++;
		in[k] = 1;
		freq[k] = 0;
	}
	free(q);
	free(freq);
	free(in);
	return (double)miss / (double)n;
}

/* ---- S3-FIFO: small FIFO (10%), main CLOCK-2bit, ghost FIFO of main's size ---- */

struct fifo {
	uint32_t *q;
	uint64_t head, used, cap;
};

static uint32_t fifo_pop(struct fifo *f)
{
	uint32_t v = f->q[f->head % f->cap];

	f->head++;
	f->used--;
	return v;
}

static void fifo_push(struct fifo *f, uint32_t v)
{
	f->q[(f->head + f->used) % f->cap] = v;
	f->used++;
}

static double sim_s3fifo(const uint32_t *tr, size_t n, uint32_t nkeys, uint32_t cap)
{
	uint32_t scap = cap / 10 ? cap / 10 : 1, mcap = cap - scap ? cap - scap : 1;
	struct fifo s = { malloc(scap * sizeof(uint32_t)), 0, 0, scap };
	struct fifo m = { malloc(mcap * sizeof(uint32_t)), 0, 0, mcap };
	uint8_t *freq = calloc(nkeys, 1), *where = calloc(nkeys, 1);	/* 1 small, 2 main */
	uint64_t *ghost_at = calloc(nkeys, sizeof(uint64_t)), ghost_clock = 0;
	size_t miss = 0;
	double ret = -1;

	if (!s.q || !m.q || !freq || !where || !ghost_at)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint32_t k = tr[i];
		bool to_main;

		if (where[k]) {
			if (freq[k] < 3)
				freq[k]++;
			continue;
		}
		miss++;
		to_main = ghost_at[k] && ghost_clock - ghost_at[k] < mcap;
		if (!to_main) {
			while (s.used == s.cap) {
				uint32_t v = fifo_pop(&s);

				if (freq[v] > 0) {
					/* accessed while in small: promote to main */
					while (m.used == m.cap) {
						uint32_t w = fifo_pop(&m);

						if (freq[w]) {
							freq[w]--;
							fifo_push(&m, w);
						} else {
							where[w] = 0;
						}
					}
					fifo_push(&m, v);
					where[v] = 2;
					freq[v] = 0;
				} else {
					where[v] = 0;
					ghost_at[v] = ++ghost_clock;
				}
			}
			fifo_push(&s, k);
			where[k] = 1;
		} else {
			while (m.used == m.cap) {
				uint32_t w = fifo_pop(&m);

				if (freq[w]) {
					freq[w]--;
					fifo_push(&m, w);
				} else {
					where[w] = 0;
				}
			}
			fifo_push(&m, k);
			where[k] = 2;
		}
		freq[k] = 0;
	}
	ret = (double)miss / (double)n;
out:
	free(s.q);
	free(m.q);
	free(freq);
	free(where);
	free(ghost_at);
	return ret;
}

double wc_sim_miss_ratio(enum wc_sim_policy p, const uint32_t *trace, size_t n, uint32_t nkeys,
			 uint32_t capacity)
{
	if (n == 0 || nkeys == 0 || capacity == 0)
		return -1;
	switch (p) {
	case WC_SIM_LRU:
		return sim_lru(trace, n, nkeys, capacity, 0);
	case WC_SIM_SLRU:
		return sim_lru(trace, n, nkeys, capacity, 0.8);
	case WC_SIM_FIFO:
		return sim_clock(trace, n, nkeys, capacity, 0);
	case WC_SIM_CLOCK1:
		return sim_clock(trace, n, nkeys, capacity, 1);
	case WC_SIM_CLOCK2:
		return sim_clock(trace, n, nkeys, capacity, 2);
	case WC_SIM_S3FIFO:
		return sim_s3fifo(trace, n, nkeys, capacity);
	default:
		return -1;
	}
}
