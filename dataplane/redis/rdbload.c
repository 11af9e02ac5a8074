/*
 * rdbload.c - loading an RDB file into the store (rdbload.h): the loader
 * thread, its batches to the partitions' owners, and the node's "loading"
 * state.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "core/app.h"
#include "core/slots.h"
#include "wirecache/cpshm.h"
#include "redis/dump.h"
#include "redis/keyev.h"
#include "redis/rdbload.h"
#include "store/kv.h"

#define LD_BATCH 64			/* keys per request to an owner */
#define LD_BATCH_BYTES (256u << 10)	/* value bytes per request (a larger value goes alone) */

/* A batch of keys for one partition: one mailbox request. */
struct ld_batch {
	struct wc_mbox_req req;		/* (first: a completion points here) */
	const struct rdbv_src *in;
	unsigned part;
	bool busy;			/* sent, not yet collected */
	unsigned n;
	uint64_t bytes;
	/* the owner's tallies */
	uint64_t loaded, expired, failed;
	struct rdbr_entry ent[LD_BATCH];
};

struct ld_part {
	struct ld_batch *b[2];		/* one filling, one in flight */
	unsigned fill;			/* which b is filling */
};

struct loader {
	struct wc_app *app;
	const struct rdbv_src *in;
	struct rd_rdb_load_result *res;
	bool inline_mode;
	unsigned ep;			/* the loader's mailbox endpoint */
	unsigned inflight;
	struct ld_part parts[WC_MAX_PARTS];
	struct rdbr rd;
};

/* ---- the node's state ---- */

static struct {
	pthread_mutex_t mu;
	bool loading, running, any;
	int64_t start;
	uint64_t total, pos, keys;
	struct rd_rdb_load_result last;	/* the last finished load (or the runtime one so far) */
} G = { .mu = PTHREAD_MUTEX_INITIALIZER };

bool rd_rdb_loading(void)
{
	return __atomic_load_n(&G.loading, __ATOMIC_ACQUIRE);
}

void rd_rdb_load_info(struct rd_rdb_load_info *i)
{
	pthread_mutex_lock(&G.mu);
	*i = (struct rd_rdb_load_info){ .loading = G.loading, .start_time = G.start,
					.total_bytes = G.total, .loaded_keys = G.keys,
					.last_loaded = G.last.loaded, .last_expired = G.last.expired };
	memcpy(i->last_skipped, G.last.skipped, sizeof(i->last_skipped));
	i->loaded_bytes = __atomic_load_n(&G.pos, __ATOMIC_RELAXED);
	if (G.loading && i->total_bytes) {
		int64_t el = time(NULL) - G.start;

		i->perc = 100.0 * (double)i->loaded_bytes / (double)i->total_bytes;
		/* (Redis's estimate: 1 until something is loaded) */
		i->eta_seconds = i->loaded_bytes ? el * (int64_t)(i->total_bytes - i->loaded_bytes) /
							   (int64_t)(i->loaded_bytes + 1)
						 : 1;
	}
	pthread_mutex_unlock(&G.mu);
}

void rd_rdb_load_format(const struct rd_rdb_load_result *r, char *buf, size_t n)
{
	size_t w;

	w = (size_t)snprintf(buf, n,
			     "loaded=%llu expired=%llu failed=%llu unserved=%llu funcs=%llu "
			     "bytes=%llu secs=%.3f crc=%s",
			     (unsigned long long)r->loaded, (unsigned long long)r->expired,
			     (unsigned long long)r->failed, (unsigned long long)r->unserved,
			     (unsigned long long)r->functions, (unsigned long long)r->bytes,
			     r->secs, r->crc_checked ? "checked" : "none");
	for (unsigned k = 0; k < RDBR_SK_N && w < n; k++)
		w += (size_t)snprintf(buf + w, n - w, " skip_%s=%llu", rdbr_skip_name(k),
				      (unsigned long long)r->skipped[k]);
}

/* ---- the owner's side ---- */

static void apply_batch(struct ld_batch *b, struct wc_part *p, struct wc_ctx *ctx)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct rdbr_entry *e = &b->ent[i];
		struct rd_rdbval v = { .in = b->in, .rdbtype = e->type, .off = e->off,
				       .end = e->end, .kind = e->kind, .count = e->count };
		uint32_t exptime = 0, ms = 0;
		enum wc_status st;

		if (e->expire_ms && !wc_expiry_from_unix_ms(&ctx->clock, e->expire_ms, &exptime,
							    &ms)) {
			b->expired++;
			continue;
		}
		if (rd_rdbval_apply(p, ctx, e->key, e->klen, wc_hash(e->key, e->klen), &v,
				    e->mcflags, exptime, ms, &st) == RD_APPLY_OK)
			b->loaded++;
		else
			b->failed++;
	}
}

static void owner_batch(struct wc_mbox_req *req, struct wc_ctx *ctx)
{
	apply_batch(req->u.call.arg, req->part, ctx);
}

static void owner_flush(struct wc_mbox_req *req, struct wc_ctx *ctx)
{
	wc_kv_flush_sync(req->part, ctx);
}

/* The load is over: clients tracking keys forget them all (its keys were written unheard). */
static void owner_loaded(struct wc_mbox_req *req, struct wc_ctx *ctx)
{
	(void)req;
	rd_keyev_raise_flush(ctx);
}

/* ---- the loader's side ---- */

static void pause_us(long us)
{
	nanosleep(&(struct timespec){ 0, us * 1000 }, NULL);
}

static void take(struct loader *L, struct ld_batch *b)
{
	L->res->loaded += b->loaded;
	L->res->expired += b->expired;
	L->res->failed += b->failed;
	b->loaded = b->expired = b->failed = 0;
	b->n = 0;
	b->bytes = 0;
	b->busy = false;
}

/* Collect completions; wait: until at least one came (when any is in flight). */
static void collect(struct loader *L, bool wait)
{
	struct wc_mbox_req *done[64];
	unsigned got;

	for (;;) {
		got = wc_mbox_collect(L->app->mbox, L->ep, done, 64);
		for (unsigned i = 0; i < got; i++) {
			if (done[i]->u.call.fn == owner_batch)
				take(L, (struct ld_batch *)done[i]);
			else
				free(done[i]);	/* a flush or the end's request */
			L->inflight--;
		}
		if (got || !wait || !L->inflight)
			return;
		rcu_quiescent_state();
		pause_us(20);
	}
}

static void ld_send(struct loader *L, struct wc_mbox_req *r, unsigned part,
		 void (*fn)(struct wc_mbox_req *, struct wc_ctx *), void *arg)
{
	struct wc_app *app = L->app;

	memset(r, 0, sizeof(*r));
	r->part = app->parts[part];
	r->op = WC_MB_CALL;
	r->origin = (uint16_t)L->ep;
	r->u.call.fn = fn;
	r->u.call.arg = arg;
	while (!wc_mbox_send(app->mbox, app->part_owner[part], r))
		collect(L, false);
	L->inflight++;
}

static struct wc_ctx *owner_ctx(struct loader *L, unsigned part)
{
	return &L->app->lc[L->app->part_owner[part]]->ctx;
}

static void dispatch(struct loader *L, struct ld_part *lp)
{
	struct ld_batch *b = lp->b[lp->fill];

	if (!b->n)
		return;
	if (L->inline_mode) {
		apply_batch(b, L->app->parts[b->part], owner_ctx(L, b->part));
		take(L, b);
		return;
	}
	b->busy = true;
	ld_send(L, &b->req, b->part, owner_batch, b);
	lp->fill ^= 1;
}

/* The batch filling for partition part (waiting for the other to come back). */
static struct ld_batch *batch_for(struct loader *L, unsigned part)
{
	struct ld_part *lp = &L->parts[part];
	struct ld_batch *b;

	for (unsigned i = 0; i < 2; i++) {
		if (lp->b[i])
			continue;
		lp->b[i] = calloc(1, sizeof(*lp->b[i]));
		if (!lp->b[i])
			return NULL;
		lp->b[i]->in = L->in;
		lp->b[i]->part = part;
	}
	b = lp->b[lp->fill];
	while (b->busy)
		collect(L, true);
	return b;
}

/* fn on every partition's owner (flush: the partition flushed; else what fn does). */
static int each_owner(struct loader *L, void (*fn)(struct wc_mbox_req *, struct wc_ctx *))
{
	struct wc_app *app = L->app;

	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_mbox_req *r = calloc(1, sizeof(*r));

		if (!r)
			return -1;
		if (L->inline_mode) {
			r->part = app->parts[i];
			fn(r, owner_ctx(L, i));
			free(r);
			continue;
		}
		ld_send(L, r, i, fn, NULL);
	}
	while (L->inflight)
		collect(L, true);
	return 0;
}

static int run(struct loader *L, bool flush)
{
	struct wc_app *app = L->app;
	struct rd_rdb_load_result *res = L->res;
	struct rdbr_entry e;
	uint64_t n = 0;
	int r;

	if (rdbr_open(&L->rd, L->in, app->cfg.max_value) != 0) {
		snprintf(res->err, sizeof(res->err), "%s", L->rd.err);
		return -1;
	}
	res->crc_checked = L->rd.crc_checked;
	if (flush && each_owner(L, owner_flush) != 0) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		return -1;
	}
	while ((r = rdbr_next(&L->rd, &e)) == RDBR_KEY || r == RDBR_SKIPPED) {
		const uint16_t *table;
		struct ld_batch *b;
		uint16_t slot;
		unsigned idx;

		if ((++n & 1023) == 0) {
			__atomic_store_n(&G.pos, L->rd.pos, __ATOMIC_RELAXED);
			__atomic_store_n(&G.keys, res->loaded, __ATOMIC_RELAXED);
			if (!L->inline_mode)
				rcu_quiescent_state();
		}
		if (r == RDBR_SKIPPED)
			continue;
		/* (expiries are checked by the owners, by the store's clock) */
		slot = wc_key_slot(e.key, e.klen);
		table = rcu_dereference(app->slot_part);
		while (!L->inline_mode && (table[slot] & WC_SLOT_MOVING)) {
			/* a live move of the slot between partitions (core/migrate.c): its
			 * writes wait for the new owner, as parked ones do */
			collect(L, false);
			rcu_quiescent_state();
			pause_us(1000);
			table = rcu_dereference(app->slot_part);
		}
		/* (a replica keeps its master's slots: they are what a full sync brings) */
		if (wc_slot_redirect(table, slot) &&
		    wc_slot_table_of(table)->node[slot] != wc_slot_table_of(table)->master) {
			res->unserved++;
			continue;
		}
		idx = table[slot] & WC_SLOT_PART_MASK;
		if (idx >= app->nparts) {
			snprintf(res->err, sizeof(res->err), "slot %u maps to no partition", slot);
			break;
		}
		if (!(b = batch_for(L, idx))) {
			snprintf(res->err, sizeof(res->err), "out of memory");
			break;
		}
		b->ent[b->n++] = e;
		b->bytes += e.end - e.off;
		if (b->n == LD_BATCH || b->bytes >= LD_BATCH_BYTES) {
			dispatch(L, &L->parts[idx]);
			if (!L->inline_mode)
				rcu_quiescent_state();
		}
	}
	for (unsigned i = 0; i < app->nparts; i++)
		if (L->parts[i].b[0])
			dispatch(L, &L->parts[i]);
	while (L->inflight)
		collect(L, true);
	if (res->loaded)
		each_owner(L, owner_loaded);
	memcpy(res->skipped, L->rd.skipped, sizeof(res->skipped));
	res->functions = L->rd.functions;
	if (r == RDBR_ERR && !res->err[0])
		snprintf(res->err, sizeof(res->err), "%s", L->rd.err);
	return res->err[0] ? -1 : 0;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int load_src(struct wc_app *app, const struct rdbv_src *in, bool flush, bool loading,
		    bool inline_mode, struct rd_rdb_load_result *res);

int rd_rdb_load_src(struct wc_app *app, const struct rdbv_src *in, bool flush, bool loading,
		    struct rd_rdb_load_result *res)
{
	return load_src(app, in, flush, loading, app->mbox == NULL, res);
}

static int load_src(struct wc_app *app, const struct rdbv_src *in, bool flush, bool loading,
		    bool inline_mode, struct rd_rdb_load_result *res)
{
	struct loader *L = calloc(1, sizeof(*L));
	struct timespec t0;
	int rc;

	*res = (struct rd_rdb_load_result){ .bytes = in->len };
	if (!L) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	L->app = app;
	L->in = in;
	L->res = res;
	L->inline_mode = inline_mode;
	L->ep = app->nworkers + 1;	/* one past the park endpoint */
	if (!L->inline_mode && wc_mbox_endpoints(app->mbox) <= L->ep) {
		snprintf(res->err, sizeof(res->err), "the mailbox has no loader endpoint");
		free(L);
		return -1;
	}
	pthread_mutex_lock(&G.mu);
	G.start = time(NULL);
	G.total = in->len;
	G.pos = 0;
	G.keys = 0;
	if (loading)
		__atomic_store_n(&G.loading, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&G.mu);
	if (!L->inline_mode)
		rcu_register_thread();
	rc = run(L, flush);
	if (!L->inline_mode)
		rcu_unregister_thread();
	for (unsigned i = 0; i < WC_MAX_PARTS; i++) {
		free(L->parts[i].b[0]);
		free(L->parts[i].b[1]);
	}
	free(L);
	res->secs = since(&t0);
	pthread_mutex_lock(&G.mu);
	G.last = *res;
	G.pos = in->len;
	if (loading)
		__atomic_store_n(&G.loading, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&G.mu);
	return rc;
}

/* ---- files ---- */

struct ld_file {
	int fd;
	void *map;
	struct rdbv_src in;
};

static int file_open(struct ld_file *f, const char *path, char *err, size_t n)
{
	struct stat st;

	*f = (struct ld_file){ .fd = open(path, O_RDONLY | O_CLOEXEC) };
	if (f->fd < 0 || fstat(f->fd, &st) != 0) {
		snprintf(err, n, "can't open %s: %s", path, strerror(errno));
		if (f->fd >= 0)
			close(f->fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, n, "%s: not a file with data", path);
		close(f->fd);
		return -1;
	}
	f->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, f->fd, 0);
	if (f->map == MAP_FAILED) {
		snprintf(err, n, "can't map %s: %s", path, strerror(errno));
		close(f->fd);
		return -1;
	}
	madvise(f->map, (size_t)st.st_size, MADV_SEQUENTIAL);
	f->in = (struct rdbv_src){ .p = f->map, .len = (uint64_t)st.st_size };
	return 0;
}

static void file_close(struct ld_file *f)
{
	munmap(f->map, f->in.len);
	close(f->fd);
}

static void log_result(const char *path, const struct rd_rdb_load_result *r, int rc)
{
	char line[512];

	rd_rdb_load_format(r, line, sizeof(line));
	printf("wirecache-dp: RDB %s: %s%s%s\n", path, line, rc ? " error=" : "",
	       rc ? r->err : "");
	fflush(stdout);
}

/* A synchronous load on a thread of its own (mailbox mode: an RCU reader). */
struct ld_job {
	struct wc_app *app;
	struct ld_file f;
	char path[256];
	bool flush, loading, detached;
	struct rd_rdb_load_result res;
	int rc;
};

static void *job_main(void *arg)
{
	struct ld_job *j = arg;

	j->rc = rd_rdb_load_src(j->app, &j->f.in, j->flush, j->loading, &j->res);
	file_close(&j->f);
	log_result(j->path, &j->res, j->rc);
	if (j->detached) {
		pthread_mutex_lock(&G.mu);
		G.running = false;
		pthread_mutex_unlock(&G.mu);
		free(j);
	}
	return NULL;
}

int rd_rdb_load_file(struct wc_app *app, const char *path, bool flush,
		     struct rd_rdb_load_result *res)
{
	struct ld_job *j = calloc(1, sizeof(*j));
	pthread_t t;
	int rc;

	*res = (struct rd_rdb_load_result){ 0 };
	if (!j) {
		snprintf(res->err, sizeof(res->err), "out of memory");
		return -1;
	}
	if (file_open(&j->f, path, res->err, sizeof(res->err)) != 0) {
		free(j);
		return -1;
	}
	*j = (struct ld_job){ .app = app, .f = j->f, .flush = flush, .loading = true };
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (app->mbox) {
		/* a caller that is an RCU reader (main.c's thread) must not hold grace
		 * periods up while it waits: offline meanwhile */
		bool online = rcu_read_ongoing();

		if (pthread_create(&t, NULL, job_main, j) != 0) {
			file_close(&j->f);
			snprintf(res->err, sizeof(res->err), "can't start the loader thread");
			free(j);
			return -1;
		}
		if (online)
			rcu_thread_offline();
		pthread_join(t, NULL);
		if (online)
			rcu_thread_online();
	} else {
		job_main(j);
	}
	*res = j->res;
	rc = j->rc;
	free(j);
	return rc;
}

int rd_rdb_load_before_start(struct wc_app *app, const char *path,
			     struct rd_rdb_load_result *res)
{
	struct ld_file f;
	int rc;

	*res = (struct rd_rdb_load_result){ 0 };
	if (file_open(&f, path, res->err, sizeof(res->err)) != 0)
		return -1;
	for (unsigned i = 0; i < app->nworkers; i++)	/* expiries are judged by the owners' clocks */
		wc_clock_tick(&app->lc[i]->ctx.clock);
	rc = load_src(app, &f.in, false, false, true, res);
	file_close(&f);
	log_result(path, res, rc);
	return rc;
}

int rd_rdb_load_start(struct wc_app *app, const char *path, bool flush, char *err, size_t n)
{
	struct ld_job *j;
	pthread_t t;

	pthread_mutex_lock(&G.mu);
	if (G.running || G.loading) {
		pthread_mutex_unlock(&G.mu);
		snprintf(err, n, "a load is already in progress");
		return -1;
	}
	G.running = true;
	G.any = true;
	G.last = (struct rd_rdb_load_result){ 0 };
	pthread_mutex_unlock(&G.mu);
	j = calloc(1, sizeof(*j));
	if (!app->mbox || !j || file_open(&j->f, path, err, n) != 0) {
		if (!app->mbox)
			snprintf(err, n, "loads at runtime need the mailbox");
		else if (!j)
			snprintf(err, n, "out of memory");
		free(j);
		pthread_mutex_lock(&G.mu);
		G.running = false;
		snprintf(G.last.err, sizeof(G.last.err), "%s", err);	/* (STATUS: failed) */
		pthread_mutex_unlock(&G.mu);
		return -1;
	}
	j->app = app;
	j->flush = flush;
	j->detached = true;
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (pthread_create(&t, NULL, job_main, j) != 0) {
		file_close(&j->f);
		free(j);
		snprintf(err, n, "can't start the loader thread");
		pthread_mutex_lock(&G.mu);
		G.running = false;
		pthread_mutex_unlock(&G.mu);
		return -1;
	}
	pthread_detach(t);
	return 0;
}

bool rd_rdb_load_status(struct rd_rdb_load_result *res, bool *any)
{
	bool running;

	pthread_mutex_lock(&G.mu);
	running = G.running;
	*res = G.last;
	if (running) {
		res->bytes = G.total;
		res->loaded = __atomic_load_n(&G.keys, __ATOMIC_RELAXED);
	}
	*any = G.any;
	pthread_mutex_unlock(&G.mu);
	return running;
}

/* ---- the control socket (core/cpif.c) ---- */

void rd_rdb_load_command(struct wc_app *app, int argc, char **argv, char *out, size_t n)
{
	char err[200];
	bool flush = false;
	int i = 1;

	if (argc == 2 && strcmp(argv[1], "STATUS") == 0) {
		struct rd_rdb_load_result r;
		char line[512];
		bool any, running = rd_rdb_load_status(&r, &any);

		char msg[WC_CP_LINE_MAX - 1];	/* (a reply line's room, its newline apart) */

		rd_rdb_load_format(&r, line, sizeof(line));
		snprintf(msg, sizeof(msg), "OK state=%s %.180s%s%.40s",
			 running ? "running" : !any ? "none" : r.err[0] ? "failed" : "done", line,
			 r.err[0] ? " error=" : "", r.err);
		snprintf(out, n, "%s\n", msg);
		return;
	}
	if (argc == 3 && strcmp(argv[1], "FLUSH") == 0) {
		flush = true;
		i = 2;
	}
	if (argc != i + 1 || argv[i][0] != '/') {
		snprintf(out, n, "ERR usage: SNAPLOAD [FLUSH] /absolute/path | SNAPLOAD STATUS\n");
		return;
	}
	if (rd_rdb_load_start(app, argv[i], flush, err, sizeof(err)) != 0) {
		snprintf(out, n, "ERR %s\n", err);
		return;
	}
	snprintf(out, n, "OK started\n");
}
