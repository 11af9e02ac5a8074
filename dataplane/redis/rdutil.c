/*
 * rdutil.c - helpers shared by the command families (see rdutil.h).
 */
#include <stddef.h>
#include <string.h>

#include "core/app.h"
#include "redis/rdutil.h"

void rd_fill_arg(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct rd_value_src *src = arg;

	(void)old;
	resp_arg_read(rd_arg(src->s, src->arg), src->s->in, 0, dst, vlen);
}

void rd_fill_bytes(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct rd_bytes *b = arg;

	(void)old;
	memcpy(dst, b->p, vlen < b->n ? vlen : b->n);
}

void rd_reply_item(struct mc_out *o, uint8_t proto, const struct wc_item *it)
{
	if (!it)
		resp_null(o, proto);
	else
		resp_bulk(o, wc_item_value(it), wc_item_vlen(it));
}

#define OOM_TEXT "OOM command not allowed when used memory > 'maxmemory'."

__thread bool rd_oom_answered;

void rd_reply_store_error(struct mc_out *o, enum wc_status st)
{
	if (st == WC_ERR_TOO_LARGE)
		resp_error(o, "ERR value too large for the cache (over --max-value or a "
			      "partition's item limit)");
	else if (st == WC_ERR_KEY)
		resp_error(o, "ERR invalid key length (1 to 250 bytes)");
	else {
		resp_error(o, OOM_TEXT);
		rd_oom_answered = true;
	}
}

bool rd_reply_is_oom(const uint8_t *p, uint32_t n)
{
	return n >= 5 && memcmp(p, "-OOM ", 5) == 0;
}

bool rd_keys_one_partition(const struct rd_session *s, uint32_t first, uint32_t step,
			   struct rd_route *rt)
{
	for (uint32_t i = first; i < rd_argc(s); i += step) {
		struct rd_route r;

		rd_route_key(s, rd_argp(s, i), rd_arg(s, i)->len, &r);
		if (i == first)
			*rt = r;
		else if (r.part_idx != rt->part_idx)
			return false;
	}
	return true;
}

enum rd_res rd_fanout(struct rd_session *s, uint32_t first, uint32_t step, rd_owner_fn fn)
{
	const struct wc_app *app = rd_lcore(s)->app;

	if (s->step == 0) {
		s->step = 1;
		s->cursor = 0;
	}
	/* cursor: the next partition to consider; WC_MAX_PARTS once every call is out */
	while (s->cursor < app->nparts) {
		uint32_t p = s->cursor;
		const uint8_t *key = NULL;
		uint32_t klen = 0;
		struct rd_route rt;
		enum rd_res r;

		for (uint32_t i = first; i < rd_argc(s); i += step) {
			rd_route_key(s, rd_argp(s, i), rd_arg(s, i)->len, &rt);
			if (rt.part_idx == p) {
				key = rd_argp(s, i);
				klen = rd_arg(s, i)->len;
				break;
			}
		}
		if (!key) {
			s->cursor++;
			continue;
		}
		r = rd_call(s, &rt, fn, false, p, key, klen);
		if (r == RD_BUSY)
			return RD_BUSY;
		s->cursor++;
	}
	return rd_calls_out(s) ? RD_PENDING : RD_DONE;
}

enum rd_res rd_fanout_lcores(struct rd_session *s, rd_owner_fn fn,
			     bool (*want)(const struct wc_app *app, unsigned i))
{
	const struct wc_app *app = rd_lcore(s)->app;

	if (s->step == 0) {
		s->step = 1;
		s->cursor = 0;
	}
	while (s->cursor < app->nworkers) {
		unsigned i = s->cursor;
		const struct wc_lcore *lc = app->lc[i];
		struct rd_route rt = { .owner = i };

		if (want && !want(app, i)) {
			s->cursor++;
			continue;
		}
		/* (a partition it owns, for the request's form; the call concerns the lcore) */
		if (lc->nparts) {
			rt.part_idx = (uint16_t)lc->part_idx[0];
			rt.part = app->parts[rt.part_idx];
		}
		if (rd_call(s, &rt, fn, false, i, NULL, 0) == RD_BUSY)
			return RD_BUSY;
		s->cursor++;
	}
	return rd_calls_out(s) ? RD_PENDING : RD_DONE;
}

struct wc_lcore *rd_owner_lcore(const struct rd_owner *o)
{
	return (struct wc_lcore *)(void *)((char *)o->ctx - offsetof(struct wc_lcore, ctx));
}
