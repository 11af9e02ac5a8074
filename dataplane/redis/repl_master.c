/*
 * repl_master.c - replica feeds: their table per lcore, the poll that
 * writes snapshots and streams, acknowledgements, and what WAIT,
 * min-replicas-to-write, INFO and ROLE count (see repl_master.h).
 */
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "core/app.h"
#include "net/tcp.h"
#include "proto/resp_out.h"
#include "redis/push.h"
#include "redis/repl_enc.h"
#include "redis/repl_master.h"
#include "redis/repl_rdb.h"
#include "redis/server.h"
#include "store/repl.h"

static uint64_t getack_seq;		/* bumped by WAIT; each feed answers each round once */

static void add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

int rd_repl_lcore_init(struct wc_lcore *lc)
{
	unsigned np = lc->app->nparts ? lc->app->nparts : 1;
	/* per feed: pos, acked, wc_offs (np each), checkpoints (stream + np offsets each) */
	size_t per = (3 * (size_t)np + RD_REPL_CKPTS + (size_t)RD_REPL_CKPTS * np) *
		     sizeof(uint64_t);
	struct rd_repl_lc *r = rte_zmalloc("rd_repl", sizeof(*r), 64);
	uint64_t *m;

	if (!r)
		return -1;
	m = rte_zmalloc("rd_repl_feeds", per * RD_REPL_FEEDS, 64);
	if (!m) {
		rte_free(r);
		return -1;
	}
	r->mem = m;
	for (unsigned i = 0; i < RD_REPL_FEEDS; i++) {
		struct rd_feed *f = &r->feed[i];

		f->job = -1;
		f->pos = m;
		f->acked = m + np;
		f->wc_offs = m + 2 * np;
		rd_ckpt_init(&f->ck, RD_REPL_CKPTS, np, m + 3 * np, m + 3 * np + RD_REPL_CKPTS);
		m += per / sizeof(uint64_t);
	}
	lc->repl = r;
	return 0;
}

void rd_repl_lcore_fini(struct wc_lcore *lc)
{
	struct rd_repl_lc *r = lc->repl;

	if (!r)
		return;
	for (unsigned i = 0; i < RD_REPL_FEEDS; i++)
		if (r->feed[i].job >= 0)
			rd_repl_rdb_release(r->feed[i].job);
	free(r->buf);
	rte_free(r->mem);
	rte_free(r);
	lc->repl = NULL;
}

/* ---- feeds ---- */

struct rd_feed *rd_repl_feed_of(struct wc_lcore *lc, struct rd_session *s, bool create)
{
	struct rd_repl_lc *r = lc->repl;
	struct rd_feed *free_one = NULL;

	if (!r)
		return NULL;
	for (unsigned i = 0; i < RD_REPL_FEEDS; i++) {
		struct rd_feed *f = &r->feed[i];

		if (f->state != RD_FEED_FREE && f->s == s)
			return f;
		if (f->state == RD_FEED_FREE && !free_one)
			free_one = f;
	}
	if (!create || !free_one)
		return NULL;
	free_one->s = s;
	free_one->ip = s->raddr;
	free_one->port = 0;
	free_one->capa_wc = free_one->capa_psync2 = free_one->capa_eof = false;
	free_one->legacy = false;
	free_one->have_wc_offs = false;
	free_one->job = -1;
	free_one->rdb = NULL;
	free_one->ack_off = 0;
	__atomic_store_n(&free_one->ack_ms, 0, __ATOMIC_RELAXED);
	for (unsigned p = 0; p < free_one->ck.nparts; p++)
		__atomic_store_n(&free_one->acked[p], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&free_one->state, RD_FEED_HANDSHAKE, __ATOMIC_RELEASE);
	s->flags |= RD_C_REPL_FEED;
	r->nlive++;
	return free_one;
}

static void feed_free(struct rd_repl_lc *r, struct rd_feed *f)
{
	if (f->job >= 0)
		rd_repl_rdb_release(f->job);
	f->job = -1;
	f->rdb = NULL;
	if (f->state >= RD_FEED_WAIT_BGSAVE && r->st.replicas)
		add(&r->st.replicas, (uint64_t)-1);
	__atomic_store_n(&f->state, RD_FEED_FREE, __ATOMIC_RELEASE);
	f->s->flags &= ~RD_C_REPL_FEED;
	f->s = NULL;
	r->nlive--;
}

void rd_repl_session_ended(struct wc_lcore *lc, struct rd_session *s)
{
	struct rd_feed *f = rd_repl_feed_of(lc, s, false);

	if (f)
		feed_free(lc->repl, f);
	s->flags &= ~RD_C_REPL_FEED;
}

/* Drop the replica: its connection is reset (rd_repl_session_ended frees the feed). */
static void drop(struct wc_lcore *lc, struct rd_feed *f)
{
	struct rd_session *s = f->s;

	add(&lc->repl->st.dropped, 1);
	if (!rd_tcp_push_reset(lc, s) && f->state != RD_FEED_FREE)
		feed_free(lc->repl, f);
}

/* Room for the largest entry any partition's log holds (at sync setup). */
bool rd_repl_buf_ready(struct wc_lcore *lc)
{
	struct rd_repl_lc *r = lc->repl;
	size_t need = RD_REPL_READ_CHUNK;

	for (unsigned i = 0; i < lc->app->nparts; i++) {
		const struct wc_rlog *rl = wc_repl_log(lc->app->parts[i]);

		if (rl && rl->max_entry + 64 > need)
			need = (size_t)rl->max_entry + 64;
	}
	if (r->buf_cap >= need)
		return true;
	free(r->buf);
	r->buf = malloc(need);
	r->buf_cap = r->buf ? need : 0;
	return r->buf != NULL;
}

static void online_count(struct rd_repl_lc *r, struct rd_feed *f, uint8_t state)
{
	if (f->state < RD_FEED_WAIT_BGSAVE)
		add(&r->st.replicas, 1);
	__atomic_store_n(&f->state, state, __ATOMIC_RELEASE);
}

bool rd_repl_feed_start_full(struct wc_lcore *lc, struct rd_feed *f, uint64_t *base)
{
	struct rd_repl_lc *r = lc->repl;
	int job;

	if (!rd_repl_buf_ready(lc))
		return false;
	/*
	 * The offsets first, then the snapshot (the job is published after
	 * them): a write is in the walk's view or at or after these offsets,
	 * so replaying from here over the snapshot converges.
	 */
	*base = rd_repl_tails(lc->app, f->pos);
	job = rd_repl_rdb_request(&lc->ctx.clock);
	if (job < 0)
		return false;
	f->job = job;
	f->base = f->stream_off = *base;
	f->rr = 0;
	f->io_ms = wc_clock_unix_ms(&lc->ctx.clock);
	f->getack_seen = __atomic_load_n(&getack_seq, __ATOMIC_RELAXED);
	rd_ckpt_reset(&f->ck);
	rd_ckpt_push(&f->ck, f->stream_off, f->pos, f->io_ms, 0);
	add(&r->st.syncs_full, 1);
	online_count(r, f, RD_FEED_WAIT_BGSAVE);
	return true;
}

/* The stream begins: SELECT 0, and to a wirecache replica each partition's offset. */
static void stream_begin(struct wc_lcore *lc, struct rd_feed *f, struct mc_out *o, bool marks)
{
	uint64_t before = o->written;

	rd_repl_enc_select0(o);
	for (unsigned p = 0; marks && f->capa_wc && p < lc->app->nparts; p++)
		rd_repl_enc_mark(o, p, f->pos[p]);
	f->stream_off += o->written - before;
	rd_ckpt_push(&f->ck, f->stream_off, f->pos, wc_clock_unix_ms(&lc->ctx.clock), 0);
}

bool rd_repl_feed_start_partial(struct wc_lcore *lc, struct rd_feed *f, uint64_t base)
{
	struct rd_repl_lc *r = lc->repl;
	struct rd_push_conn v;

	if (!rd_repl_buf_ready(lc))
		return false;
	memcpy(f->pos, f->wc_offs, lc->app->nparts * sizeof(uint64_t));
	f->base = f->stream_off = base;
	f->rr = 0;
	f->io_ms = wc_clock_unix_ms(&lc->ctx.clock);
	f->getack_seen = __atomic_load_n(&getack_seq, __ATOMIC_RELAXED);
	rd_ckpt_reset(&f->ck);
	rd_ckpt_push(&f->ck, f->stream_off, f->pos, f->io_ms, 0);
	for (unsigned p = 0; p < lc->app->nparts; p++)
		__atomic_store_n(&f->acked[p], f->pos[p], __ATOMIC_RELAXED);
	add(&r->st.syncs_partial_ok, 1);
	online_count(r, f, RD_FEED_ONLINE);
	/* (the session's +CONTINUE is already in the stream: these follow it) */
	if (rd_tcp_push_conn(f->s, &v))
		stream_begin(lc, f, v.out, false);
	return true;
}

void rd_repl_feed_ack(struct wc_lcore *lc, struct rd_feed *f, uint64_t off)
{
	(void)lc;
	f->ack_off = off;
	rd_ckpt_ack(&f->ck, off, f->acked);
	__atomic_store_n(&f->ack_ms, wc_clock_unix_ms(&lc->ctx.clock), __ATOMIC_RELAXED);
}

/* ---- the poll ---- */

/* Stream log entries while there is room (false: the replica was dropped). */
static bool stream(struct wc_lcore *lc, struct rd_feed *f, struct mc_out *o, uint64_t room,
		   int64_t now)
{
	struct rd_repl_lc *r = lc->repl;
	const struct wc_app *app = lc->app;
	uint64_t start = o->written, seq = __atomic_load_n(&getack_seq, __ATOMIC_RELAXED);
	uint64_t budget = room < RD_REPL_POLL_BUDGET ? room : RD_REPL_POLL_BUDGET;
	bool any = false;

	for (unsigned k = 0; k < app->nparts && o->written - start < budget; k++) {
		unsigned p = (f->rr + k) % app->nparts;
		const struct wc_rlog *rl = wc_repl_log(app->parts[p]);
		uint64_t from = f->pos[p], before;
		size_t got = 0, at = 0;
		struct wc_rent e;
		enum wc_rread rr;

		if (!rl || from == wc_rlog_last(rl))
			continue;
		rr = wc_rlog_read(rl, &from, r->buf, RD_REPL_READ_CHUNK, &got);
		if (rr == WC_RREAD_SMALL)
			rr = wc_rlog_read(rl, &from, r->buf, r->buf_cap, &got);
		if (rr == WC_RREAD_NOT_YET)
			continue;
		if (rr != WC_RREAD_OK)
			return false;	/* out of the backlog (or worse): a full sync again */
		before = o->written;
		while (wc_rent_next(r->buf, got, &at, &e)) {
			if (!rd_repl_enc_entry(o, &e, f->capa_wc))
				return false;	/* RESYNC: the replica must full-sync */
			r->st.entries_out++;
		}
		if (f->capa_wc)
			rd_repl_enc_mark(o, p, from);
		f->stream_off += o->written - before;
		f->pos[p] = from;
		any = true;
	}
	f->rr = (f->rr + 1) % (app->nparts ? app->nparts : 1);
	if (seq != f->getack_seen) {
		uint64_t before = o->written;

		/*
		 * The answer to GETACK is the offset before it (a Redis replica
		 * counts a command once it ran): a checkpoint of its own right
		 * there, so that answer covers everything streamed so far.
		 */
		f->getack_seen = seq;
		rd_ckpt_push(&f->ck, f->stream_off, f->pos, now, 0);
		rd_repl_enc_getack(o);
		f->stream_off += o->written - before;
		return true;
	}
	if (!any && now - f->io_ms >= RD_REPL_PING_MS) {
		uint64_t before = o->written;

		rd_repl_enc_ping(o);
		f->stream_off += o->written - before;
		any = true;
	}
	if (any)
		rd_ckpt_push(&f->ck, f->stream_off, f->pos, now, RD_REPL_CKPT_GAP_MS);
	return true;
}

/* Has a partition's backlog moved past what f still has to stream? */
static bool fell_behind(const struct wc_app *app, const struct rd_feed *f)
{
	for (unsigned p = 0; p < app->nparts; p++) {
		const struct wc_rlog *rl = wc_repl_log(app->parts[p]);

		if (rl && f->pos[p] < wc_rlog_first(rl))
			return true;
	}
	return false;
}

/* One feed's turn: false when it was dropped. */
static bool feed_run(struct wc_lcore *lc, struct rd_feed *f, int64_t now)
{
	struct rd_push_conn v;
	uint64_t limit, before, room;
	const uint8_t *map;
	uint64_t len;
	bool ok = true;

	if (!rd_tcp_push_conn(f->s, &v))
		return true;	/* closing: the session's end frees the feed */
	/* (at once, even while it reads nothing: it needs a full sync whatever it does) */
	if (fell_behind(lc->app, f)) {
		drop(lc, f);
		return false;
	}
	limit = v.pool_low ? WC_TCP_SND_QUEUE_LOW / 2 : WC_TCP_SND_QUEUE_MAX / 2;
	if (v.queued >= limit)
		return true;
	room = limit - v.queued;
	before = v.out->written;
	if (f->state == RD_FEED_WAIT_BGSAVE) {
		enum rd_rdb_job_state js = rd_repl_rdb_poll(f->job, &map, &len);

		if (js == RD_RJ_FAILED) {
			drop(lc, f);
			return false;
		}
		if (js != RD_RJ_DONE) {
			if (!f->legacy && now - f->io_ms >= RD_REPL_KEEPALIVE_MS) {
				mc_out_put(v.out, "\n", 1);
				f->io_ms = now;
			}
		} else {
			f->rdb = map;
			f->rdb_len = len;
			f->rdb_sent = 0;
			resp_header(v.out, '$', (int64_t)len);
			online_count(lc->repl, f, RD_FEED_SEND_BULK);
		}
	}
	if (f->state == RD_FEED_SEND_BULK) {
		while (f->rdb_sent < f->rdb_len && v.out->written - before < room &&
		       v.out->written - before < RD_REPL_POLL_BUDGET && !v.out->failed) {
			uint64_t n = f->rdb_len - f->rdb_sent;

			if (n > RD_REPL_READ_CHUNK)
				n = RD_REPL_READ_CHUNK;
			mc_out_put(v.out, f->rdb + f->rdb_sent, n);
			f->rdb_sent += n;
		}
		if (f->rdb_sent == f->rdb_len) {
			rd_repl_rdb_release(f->job);
			f->job = -1;
			f->rdb = NULL;
			online_count(lc->repl, f, RD_FEED_ONLINE);
			stream_begin(lc, f, v.out, true);
			f->io_ms = now;
		}
	} else if (f->state == RD_FEED_ONLINE) {
		ok = stream(lc, f, v.out, room, now);
	}
	if (!ok || v.out->failed) {
		drop(lc, f);
		return false;
	}
	if (v.out->written != before) {
		add(&lc->repl->st.bytes_out, v.out->written - before);
		if (f->state == RD_FEED_ONLINE)
			f->io_ms = now;
		rd_tcp_push_send(lc, f->s);
		return true;
	}
	return true;
}

unsigned rd_repl_poll(struct wc_lcore *lc)
{
	struct rd_repl_lc *r = lc->repl;
	unsigned work = 0;
	int64_t now;

	if (!r || !r->nlive)
		return 0;
	now = wc_clock_unix_ms(&lc->ctx.clock);
	for (unsigned i = 0; i < RD_REPL_FEEDS; i++) {
		struct rd_feed *f = &r->feed[i];
		uint64_t before = f->stream_off + f->rdb_sent;

		if (f->state < RD_FEED_WAIT_BGSAVE)
			continue;
		if (!feed_run(lc, f, now) || f->stream_off + f->rdb_sent != before)
			work++;
	}
	return work;
}

/* ---- what other lcores count ---- */

bool rd_repl_logs_on(const struct wc_app *app)
{
	for (unsigned i = 0; i < app->nparts; i++)
		if (!wc_repl_log(app->parts[i]))
			return false;
	return app->nparts > 0;
}

uint64_t rd_repl_tails(const struct wc_app *app, uint64_t *tails)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < app->nparts; i++) {
		const struct wc_rlog *rl = wc_repl_log(app->parts[i]);
		uint64_t t = rl ? wc_rlog_last(rl) : 0;

		if (tails)
			tails[i] = t;
		sum += t;
	}
	return sum;
}

static bool reaches(const struct wc_app *app, const struct rd_feed *f, const uint64_t *tails)
{
	for (unsigned p = 0; p < app->nparts; p++)
		if (__atomic_load_n(&f->acked[p], __ATOMIC_RELAXED) < tails[p])
			return false;
	return true;
}

unsigned rd_repl_count_acked(const struct wc_app *app, const uint64_t *tails)
{
	unsigned n = 0;

	for (unsigned w = 0; w < app->nworkers; w++) {
		const struct rd_repl_lc *r = app->lc[w]->repl;

		for (unsigned i = 0; r && i < RD_REPL_FEEDS; i++) {
			const struct rd_feed *f = &r->feed[i];

			if (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) == RD_FEED_ONLINE &&
			    reaches(app, f, tails))
				n++;
		}
	}
	return n;
}

unsigned rd_repl_good(const struct wc_app *app, int64_t now_ms, int64_t max_lag_s)
{
	unsigned n = 0;

	for (unsigned w = 0; w < app->nworkers; w++) {
		const struct rd_repl_lc *r = app->lc[w]->repl;

		for (unsigned i = 0; r && i < RD_REPL_FEEDS; i++) {
			const struct rd_feed *f = &r->feed[i];
			int64_t at = __atomic_load_n(&f->ack_ms, __ATOMIC_RELAXED);

			if (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) == RD_FEED_ONLINE && at &&
			    now_ms - at <= max_lag_s * 1000)
				n++;
		}
	}
	return n;
}

void rd_repl_getack(void)
{
	__atomic_add_fetch(&getack_seq, 1, __ATOMIC_RELAXED);
}

unsigned rd_repl_list(const struct wc_app *app, struct rd_repl_view *views, unsigned max)
{
	unsigned n = 0;

	for (unsigned w = 0; w < app->nworkers; w++) {
		const struct rd_repl_lc *r = app->lc[w]->repl;
		/* (the clock that stamped the ACKs; read racily: a second off at worst) */
		int64_t now_ms = wc_clock_unix_ms(&app->lc[w]->ctx.clock);

		for (unsigned i = 0; r && i < RD_REPL_FEEDS; i++) {
			const struct rd_feed *f = &r->feed[i];
			uint8_t st = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
			int64_t at = __atomic_load_n(&f->ack_ms, __ATOMIC_RELAXED);
			uint64_t off = 0;

			if (st < RD_FEED_WAIT_BGSAVE)
				continue;
			if (n < max) {
				for (unsigned p = 0; p < app->nparts; p++)
					off += __atomic_load_n(&f->acked[p], __ATOMIC_RELAXED);
				views[n] = (struct rd_repl_view){
					.ip = f->ip, .port = f->port, .state = st, .offset = off,
					.lag_s = at ? (now_ms - at) / 1000 : -1,
				};
			}
			n++;
		}
	}
	return n;
}

void rd_repl_totals(const struct wc_app *app, struct rd_repl_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned w = 0; w < app->nworkers; w++) {
		const struct rd_repl_lc *r = app->lc[w]->repl;
		const uint64_t *src = r ? (const uint64_t *)(const void *)&r->st : NULL;
		uint64_t *dst = (uint64_t *)(void *)t;

		for (unsigned i = 0; src && i < sizeof(*t) / sizeof(uint64_t); i++)
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

bool rd_repl_writes_refused(const struct rd_session *s)
{
	const struct rd_server *srv = rd_server(s);
	uint32_t need = __atomic_load_n(&srv->min_replicas_to_write, __ATOMIC_RELAXED);

	if (!need)
		return false;
	return rd_repl_good(rd_lcore(s)->app, wc_clock_unix_ms(&rd_env(s)->ctx->clock),
			    __atomic_load_n(&srv->min_replicas_max_lag, __ATOMIC_RELAXED)) < need;
}
