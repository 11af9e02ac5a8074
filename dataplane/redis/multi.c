/*
 * multi.c - transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * Between MULTI and EXEC each command is checked as usual and, if it
 * passes, copied (name and arguments) into the session's queue, in chunks
 * of the lcore's stage pool; large arguments go into stages. Every keyed
 * command of a transaction must live in one partition (the first one
 * decides): one that does not is refused with CROSSSLOT and makes EXEC
 * abort. In cluster mode such a command is queued and EXEC itself is
 * refused with CROSSSLOT (cluster.c), as Redis Cluster does.
 *
 * EXEC runs the whole queue as a single owner call on that partition's
 * lcore: no other write to the partition can come in between. The session
 * is borrowed by the owner for the call (its environment switched to the
 * owner's, so every write the handlers make is local there); the
 * connection's lcore does not touch it until the completion, and the owner
 * gives back EXEC's own progress (step, cursor) as it found it and leaves
 * the count of calls out (pending) alone: the connection's lcore reads it
 * while the owner runs, and its completion re-enters EXEC at step 1. WATCH
 * records each key's CAS (or its absence); EXEC checks them on the owner
 * first and answers a null array if any changed, expired or appeared.
 * Readers on other lcores may see the transaction's writes before EXEC
 * has replied (they never wait for a partition's writer).
 *
 * A transaction with Pub/Sub commands (on a node of several lcores) holds
 * its reply back (multi.h, txreply.h): after the owner call, the
 * connection's lcore delivers its PUBLISHes on the other lcores (an owner
 * call per lcore that has subscribers, the publisher waiting), runs its
 * SUBSCRIBEs if the transaction ran elsewhere, and writes the reply with
 * their parts filled in.
 */
#include <stddef.h>
#include <string.h>

#include "core/app.h"
#include "redis/acl.h"
#include "redis/cmds.h"
#include "redis/multi.h"
#include "redis/pubsub.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "redis/tracking.h"
#include "redis/txreply.h"

/* A queued command: its descriptors, then its copied bytes, in one chunk. */
struct qcmd {
	struct qcmd *next;
	const struct rd_cmd *def;
	uint32_t argc;
	uint8_t defer;			/* enum rd_tx_defer, 0: replied in place */
	uint64_t hole;			/* where its reply goes in the held reply */
	int64_t local, remote;		/* RD_TX_COUNT: the receivers (remote: added atomically) */
	struct resp_arg **blocks;	/* for argc > RESP_ARGV_EMBED (in the same chunk) */
	struct resp_arg argv[];
};

struct rd_multi {
	struct qcmd *head, *tail;
	uint32_t count;
	int32_t part;			/* the transaction's partition, -1 until a key decides */
	uint8_t nchunks;
	uint8_t nstages;
	void *chunks[64];
	struct wc_stage stages[16];
	uint8_t *cur;			/* free room in the last chunk */
	uint32_t room;
	bool pubsub;			/* a Pub/Sub command is queued: EXEC holds its reply */
	bool held;			/* EXEC's reply is in `reply` (multi.h) */
	uint16_t run_lcore;		/* where EXEC ran */
	uint32_t ncount;		/* RD_TX_COUNT commands */
	struct qcmd *running;		/* the command EXEC runs now */
	struct rd_txreply reply;
};

static struct wc_stage_pool *pool_of(struct rd_session *s)
{
	return rd_env(s)->stage;
}

static void *mq_alloc(struct rd_session *s, struct rd_multi *m, size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > WC_STAGE_CHUNK_DATA)
		return NULL;
	if (n > m->room) {
		if (m->nchunks == 64 || !(m->cur = wc_stage_chunk_get(pool_of(s))))
			return NULL;
		m->chunks[m->nchunks++] = m->cur;
		m->room = WC_STAGE_CHUNK_DATA;
	}
	p = m->cur;
	m->cur += n;
	m->room -= (uint32_t)n;
	return p;
}

uint32_t rd_multi_count(const struct rd_session *s)
{
	return s->multi ? s->multi->count : 0;
}

uint64_t rd_multi_mem(const struct rd_session *s)
{
	return s->multi ? (uint64_t)s->multi->nchunks * WC_STAGE_CHUNK : 0;
}

void rd_multi_discard(struct rd_session *s)
{
	struct rd_multi *m = s->multi;

	s->flags &= ~(RD_C_MULTI | RD_C_DIRTY_EXEC | RD_C_DIRTY_CAS);
	if (!m)
		return;
	rd_txreply_free(&m->reply);
	for (unsigned i = 0; i < m->nstages; i++)
		wc_stage_release(pool_of(s), &m->stages[i]);
	/* the rd_multi itself lives in its first chunk */
	for (unsigned i = m->nchunks; i-- > 0;)
		wc_stage_chunk_put(pool_of(s), m->chunks[i]);
	s->multi = NULL;
}

bool rd_multi_passes(const struct rd_cmd *c)
{
	static const char *const run_now[] = { "exec", "discard", "multi", "watch", "quit",
					       "reset" };

	for (unsigned i = 0; i < sizeof(run_now) / sizeof(run_now[0]); i++)
		if (strcmp(c->name, run_now[i]) == 0)
			return true;
	return false;
}

/* The partition every key of the current command lives in: -1 none, -2 several. */
static int32_t command_partition(struct rd_session *s)
{
	uint32_t pos[64];
	unsigned n = rd_cmd_keys(s->def, &s->cmd, pos, 64);
	int32_t part = -1;

	for (unsigned i = 0; i < n; i++) {
		struct rd_route rt;
		const struct resp_arg *k = rd_arg(s, pos[i]);

		if (k->kind != RESP_ARG_PTR)
			return -2;
		rd_route_key(s, k->u.p, k->len, &rt);
		if (part >= 0 && part != rt.part_idx)
			return -2;
		part = rt.part_idx;
	}
	return part;
}

static void queue_failed(struct rd_session *s, const char *err)
{
	s->flags |= RD_C_DIRTY_EXEC;
	rd_err(s, err);
}

void rd_multi_queue(struct rd_session *s)
{
	struct rd_multi *m = s->multi;
	int32_t part = command_partition(s);
	uint32_t argc = rd_argc(s), nblocks = 0;
	size_t desc;
	struct qcmd *q;

	if (part == -2 || (m && part >= 0 && m->part >= 0 && part != m->part)) {
		/*
		 * In cluster mode Redis queues it and refuses EXEC with CROSSSLOT
		 * (rd_cluster_admit checks the whole queue): keys in two partitions
		 * are in two slots, so this transaction never runs.
		 */
		if (!rd_server(s)->cluster || part == -2) {
			queue_failed(s, RD_CROSSSLOT);
			return;
		}
		part = -1;
	}
	if (!m) {
		void *chunk = wc_stage_chunk_get(pool_of(s));

		if (!chunk) {
			queue_failed(s, "ERR out of memory for the transaction's queue");
			return;
		}
		m = chunk;
		memset(m, 0, sizeof(*m));
		m->part = -1;
		m->chunks[m->nchunks++] = chunk;
		m->cur = (uint8_t *)chunk + ((sizeof(*m) + 15) & ~(size_t)15);
		m->room = (uint32_t)(WC_STAGE_CHUNK_DATA - (size_t)(m->cur - (uint8_t *)chunk));
		s->multi = m;
	}
	if (argc > RESP_ARGV_EMBED)
		nblocks = (argc - RESP_ARGV_EMBED + RESP_ARGV_BLOCK - 1) / RESP_ARGV_BLOCK;
	desc = sizeof(*q) + argc * sizeof(struct resp_arg) + nblocks * sizeof(struct resp_arg *);
	q = mq_alloc(s, m, desc);
	if (!q) {
		queue_failed(s, "ERR the transaction's queue is full");
		return;
	}
	memset(q, 0, sizeof(*q));
	q->def = s->def;
	q->argc = argc;
	q->blocks = (struct resp_arg **)(void *)&q->argv[argc];
	for (uint32_t b = 0; b < nblocks; b++)
		q->blocks[b] = &q->argv[RESP_ARGV_EMBED + b * RESP_ARGV_BLOCK];
	for (uint32_t i = 0; i < argc; i++) {
		const struct resp_arg *a = rd_arg(s, i);
		struct resp_arg *d = &q->argv[i];

		*d = (struct resp_arg){ .len = a->len, .kind = RESP_ARG_PTR };
		if (a->len <= WC_STAGE_CHUNK_DATA - 16) {
			uint8_t *copy = mq_alloc(s, m, a->len ? a->len : 1);

			if (!copy) {
				queue_failed(s, "ERR the transaction's queue is full");
				return;
			}
			resp_arg_read(a, s->in, 0, copy, a->len);
			d->u.p = copy;
		} else {
			struct wc_stage *st;
			uint8_t buf[4096];

			if (m->nstages == 16 || !wc_stage_admit(pool_of(s), &m->stages[m->nstages],
								 a->len)) {
				queue_failed(s, "ERR the transaction's queue is full");
				return;
			}
			st = &m->stages[m->nstages++];
			for (uint64_t off = 0; off < a->len; off += sizeof(buf)) {
				uint64_t n = a->len - off < sizeof(buf) ? a->len - off : sizeof(buf);

				resp_arg_read(a, s->in, off, buf, n);
				wc_stage_put(st, buf, n);
			}
			d->kind = RESP_ARG_STAGE;
			d->u.stage = st;
		}
	}
	if (m->tail)
		m->tail->next = q;
	else
		m->head = q;
	m->tail = q;
	m->count++;
	if (q->def->flags & RD_F_PUBSUB)
		m->pubsub = true;
	if (part >= 0)
		m->part = part;
	resp_simple(rd_out(s), "QUEUED");
}

void rd_multi_each(const struct rd_session *s,
		   bool (*fn)(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd),
		   void *arg)
{
	struct resp_cmd c;

	for (const struct qcmd *q = s->multi ? s->multi->head : NULL; q; q = q->next) {
		memset(&c, 0, sizeof(c));
		c.argc = q->argc;
		memcpy(c.embed, q->argv,
		       (q->argc < RESP_ARGV_EMBED ? q->argc : RESP_ARGV_EMBED) * sizeof(struct resp_arg));
		c.blocks = q->blocks;
		if (!fn(arg, q->def, &c))
			return;
	}
}

/* ---- WATCH ---- */

void rd_watch_clear(struct rd_session *s)
{
	if (s->watch)
		wc_stage_chunk_put(pool_of(s), s->watch);
	s->watch = NULL;
	s->nwatch = 0;
}

static enum rd_res watch(struct rd_session *s)
{
	if (s->flags & RD_C_MULTI) {
		rd_err(s, "ERR WATCH inside MULTI is not allowed");
		return RD_DONE;
	}
	for (uint32_t i = 1; i < rd_argc(s); i++) {
		const struct resp_arg *k = rd_arg(s, i);
		struct rd_watch *w;
		struct rd_route rt;
		struct wc_view v;
		unsigned j;

		if (k->kind != RESP_ARG_PTR || k->len == 0 || k->len > WC_KEY_MAX)
			continue;	/* a key that cannot exist cannot change */
		for (j = 0; j < s->nwatch; j++)
			if (s->watch[j].klen == k->len && memcmp(s->watch[j].key, k->u.p, k->len) == 0)
				break;
		if (j < s->nwatch)
			continue;
		if (!s->watch && !(s->watch = wc_stage_chunk_get(pool_of(s)))) {
			rd_err(s, "ERR out of memory for WATCH");
			return RD_DONE;
		}
		if (s->nwatch == RD_WATCH_MAX) {
			rd_err(s, "ERR too many watched keys");
			return RD_DONE;
		}
		w = &s->watch[s->nwatch++];
		rd_route_key(s, k->u.p, k->len, &rt);
		w->hash = wc_hash(k->u.p, k->len);
		w->part = rt.part_idx;
		w->klen = (uint8_t)k->len;
		memcpy(w->key, k->u.p, k->len);
		w->cas = wc_get(rt.part, rd_env(s)->ctx, k->u.p, k->len, w->hash,
				WC_LOOKUP_ANY_TYPE | WC_LOOKUP_CAS | WC_LOOKUP_NO_TOUCH |
				WC_LOOKUP_NO_STATS, &v) ? v.cas : 0;
	}
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res unwatch(struct rd_session *s)
{
	rd_watch_clear(s);
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* Has any watched key changed since WATCH? (any lcore: lock-free reads) */
static bool watched_changed(const struct rd_session *s, const struct wc_app *app,
			    struct wc_ctx *ctx)
{
	for (unsigned i = 0; i < s->nwatch; i++) {
		const struct rd_watch *w = &s->watch[i];
		struct wc_view v;
		uint64_t cas = wc_get(app->parts[w->part], ctx, w->key, w->klen, w->hash,
				      WC_LOOKUP_ANY_TYPE | WC_LOOKUP_CAS | WC_LOOKUP_NO_TOUCH |
				      WC_LOOKUP_NO_STATS, &v) ? v.cas : 0;

		if (cas != w->cas)
			return true;
	}
	return false;
}

/* ---- MULTI, EXEC, DISCARD ---- */

static enum rd_res multi(struct rd_session *s)
{
	if (s->flags & RD_C_MULTI) {
		rd_err(s, "ERR MULTI calls can not be nested");
		return RD_DONE;
	}
	s->flags |= RD_C_MULTI;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res discard(struct rd_session *s)
{
	if (!(s->flags & RD_C_MULTI)) {
		rd_err(s, "ERR DISCARD without MULTI");
		return RD_DONE;
	}
	rd_multi_discard(s);
	rd_watch_clear(s);
	resp_ok(rd_out(s));
	return RD_DONE;
}

/*
 * On the transaction's owner lcore: check the watches, then run every
 * queued command with this lcore's environment, so their writes are local.
 */
static void exec_owner(struct rd_owner *o)
{
	struct rd_session *s = (struct rd_session *)(uintptr_t)o->s;
	struct wc_lcore *olc = (struct wc_lcore *)(void *)((uint8_t *)o->ctx -
						       offsetof(struct wc_lcore, ctx));
	const struct wc_app *app = olc->app;
	struct rd_multi *m = s->multi;
	struct mc_env *home = s->env;
	struct mc_out *home_out = s->out;
	struct resp_cmd saved = s->cmd;
	const struct rd_cmd *exec_def = s->def;
	uint32_t step = s->step, cursor = s->cursor;
	uint8_t saved_job[RD_JOB_BYTES];
	uint32_t saved_base = s->pending_base;
	struct rd_arena_mark mark = rd_arena_mark(s);

	if (watched_changed(s, app, o->ctx)) {
		resp_null_array(o->out, s->proto);
		o->acc = -1;
		return;
	}
	memcpy(saved_job, s->job, sizeof(saved_job));
	resp_array(o->out, m ? m->count : 0);
	s->env = &olc->env;
	s->out = o->out;
	if (m) {
		m->run_lcore = (uint16_t)olc->id;
		m->ncount = 0;
		if (m->pubsub && app->nworkers > 1) {
			/* (the array's header is in o->out already: the rest is held) */
			rd_txreply_open(&m->reply, olc->pool);
			m->held = true;
			s->out = &m->reply.out;
		}
	}
	/* the EXEC call itself is in flight: not the queued handlers' to wait for */
	s->pending_base = s->pending;
	for (struct qcmd *q = m ? m->head : NULL; q; q = q->next) {
		enum rd_res r;

		memset(&s->cmd, 0, sizeof(s->cmd));
		s->cmd.argc = q->argc;
		memcpy(s->cmd.embed, q->argv,
		       (q->argc < RESP_ARGV_EMBED ? q->argc : RESP_ARGV_EMBED) * sizeof(struct resp_arg));
		s->cmd.blocks = q->blocks;
		s->def = q->def;
		s->step = 0;
		s->cursor = 0;
		s->acc = s->acc2 = 0;
		s->failed = false;
		m->running = q;
		/* the rules may have changed since the command was queued (Redis checks again) */
		if (!rd_acl_exec_check(s, q->def)) {
			olc->rdst.commands++;
			olc->rdst.cmd_rejected[q->def->id]++;
			continue;
		}
		r = q->def->fn(s);
		while (r == RD_BUSY)
			r = q->def->fn(s);	/* (local calls cannot find the mailbox full) */
		if (r == RD_PENDING)
			resp_error(o->out, "ERR a transaction's command needed another core");
		olc->rdst.commands++;
		olc->rdst.calls[q->def->id]++;
		if (s->failed) {
			/* its error: the command's failed call, as Redis counts it, not EXEC's */
			olc->rdst.failed++;
			olc->rdst.cmd_failed[q->def->id]++;
			s->failed = false;
		}
		if (s->oom_refused) {
			/* inside EXEC Redis checks no memory: an error of the call, not EXEC's */
			olc->rdst.errstat[RD_ERRSTAT_OOM]++;
			s->oom_refused = false;
		}
		/* (counted: not read back again as EXEC's own by its call, call.c) */
		rd_oom_answered = false;
		resp_error_seen = false;
	}
	if (m) {
		m->running = NULL;
		if (m->held)
			rd_txreply_close(&m->reply);
	}
	/*
	 * Scratch the queued commands took came from this lcore's pool: it goes
	 * back here, now (their replies are written), not to the session's lcore.
	 */
	rd_arena_release_since(s, &mark, olc->env.stage);
	s->pending_base = saved_base;
	s->env = home;
	s->out = home_out;
	s->cmd = saved;
	s->def = exec_def;
	s->step = step;
	s->cursor = cursor;
	s->acc = s->acc2 = 0;
	memcpy(s->job, saved_job, sizeof(saved_job));
}

/* ---- the held reply (multi.h) ---- */

bool rd_tx_defer(struct rd_session *s, enum rd_tx_defer how, int64_t local)
{
	struct rd_multi *m = s->multi;
	struct qcmd *q = m ? m->running : NULL;

	if (!q || !m->held || q->defer)
		return false;
	q->defer = (uint8_t)how;
	q->hole = rd_txreply_at(&m->reply);
	q->local = local;
	q->remote = 0;
	if (how == RD_TX_COUNT)
		m->ncount++;
	return true;
}

bool rd_tx_running(const struct rd_session *s)
{
	return s->multi && s->multi->running;
}

unsigned rd_tx_lcore(const struct rd_session *s)
{
	return s->multi ? s->multi->run_lcore : 0;
}

void rd_tx_each_count(const struct rd_session *s,
		      void (*fn)(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd,
				 int64_t *acc),
		      void *arg)
{
	struct resp_cmd c;

	for (struct qcmd *q = s->multi ? s->multi->head : NULL; q; q = q->next) {
		if (q->defer != RD_TX_COUNT)
			continue;
		memset(&c, 0, sizeof(c));
		c.argc = q->argc;
		memcpy(c.embed, q->argv,
		       (q->argc < RESP_ARGV_EMBED ? q->argc : RESP_ARGV_EMBED) * sizeof(struct resp_arg));
		c.blocks = q->blocks;
		fn(arg, q->def, &c, &q->remote);
	}
}

/* A command left for this lcore runs now, its reply into out. */
static void run_home(struct rd_session *s, struct qcmd *q, struct mc_out *out)
{
	struct resp_cmd saved = s->cmd;
	const struct rd_cmd *exec_def = s->def;
	struct mc_out *saved_out = s->out;
	uint32_t step = s->step, cursor = s->cursor;

	memset(&s->cmd, 0, sizeof(s->cmd));
	s->cmd.argc = q->argc;
	memcpy(s->cmd.embed, q->argv,
	       (q->argc < RESP_ARGV_EMBED ? q->argc : RESP_ARGV_EMBED) * sizeof(struct resp_arg));
	s->cmd.blocks = q->blocks;
	s->def = q->def;
	s->out = out;
	s->step = 0;
	s->cursor = 0;
	if (q->def->fn(s) != RD_DONE)
		resp_error(out, "ERR a transaction's command needed another core");
	s->cmd = saved;
	s->def = exec_def;
	s->out = saved_out;
	s->step = step;
	s->cursor = cursor;
}

/* The held reply into the stream, each left part filled in, in order. */
static void held_reply_out(struct rd_session *s, struct rd_multi *m)
{
	struct mc_out *out = rd_out(s);

	if (m->reply.out.failed)
		s->call_failed = true;
	for (struct qcmd *q = m->head; q; q = q->next) {
		if (!q->defer)
			continue;
		rd_txreply_copy(&m->reply, q->hole, out);
		if (q->defer == RD_TX_COUNT)
			resp_int(out, q->local + __atomic_load_n(&q->remote, __ATOMIC_RELAXED));
		else
			run_home(s, q, out);
	}
	rd_txreply_copy(&m->reply, UINT64_MAX, out);
	rd_txreply_free(&m->reply);
	m->held = false;
}

static enum rd_res exec(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct rd_multi *m;

	if (s->step == 0) {
		struct rd_route rt;
		enum rd_res r;

		m = s->multi;

		if (!(s->flags & RD_C_MULTI)) {
			rd_err(s, "ERR EXEC without MULTI");
			return RD_DONE;
		}
		if (s->flags & RD_C_DIRTY_EXEC) {
			rd_multi_discard(s);
			rd_watch_clear(s);
			rd_err(s, "EXECABORT Transaction discarded because of previous errors.");
			return RD_DONE;
		}
		/* where the transaction runs: its keys' partition, else right here */
		if (m && m->part >= 0) {
			rt = (struct rd_route){ .part = app->parts[m->part],
						.owner = app->part_owner[m->part],
						.part_idx = (uint16_t)m->part };
		} else {
			rt = (struct rd_route){ .part = NULL, .owner = rd_env(s)->self };
		}
		/* step 1 before the call: once it is out, the owner has the session */
		s->step = 1;
		r = rd_call(s, &rt, exec_owner, true, 0, NULL, 0);
		if (r == RD_BUSY) {
			s->step = 0;
			return r;
		}
		if (r == RD_PENDING)
			return r;
	}
	m = s->multi;
	if (s->step == 1 && m && m->held && m->ncount) {
		/* its PUBLISHes reach the other lcores' subscribers now (multi.h) */
		s->step = 2;
		s->cursor = 0;
	}
	if (s->step == 2) {
		enum rd_res r = rd_fanout_lcores(s, rd_pubsub_tx_owner, rd_pubsub_lcore_active);

		if (r != RD_DONE)
			return r;
	}
	if (m && m->held && m->ncount)
		rd_pubsub_tx_cluster(s);	/* its PUBLISHes to the other nodes, in order */
	if (m && m->held)
		held_reply_out(s, m);
	if (rd_trk_flags(&s->trk) & RD_TRK_ON)
		rd_tracking_exec_done(s);	/* the queued reads' keys (tracking.h) */
	rd_multi_discard(s);
	rd_watch_clear(s);
	return RD_DONE;
}

#define TX (RD_ACL_TRANSACTION)
#define TXF (RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_FAST | RD_F_ALLOW_BUSY)

struct rd_cmd rd_cmds_multi[] = {
	RD_CMD("multi", multi, 1, TXF, TX | RD_ACL_FAST, 0, 0, 0, "transactions",
	       "Start a transaction", "1.2.0", "O(1)"),
	RD_CMD("exec", exec, 1, RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_SKIP_SLOWLOG,
	       TX | RD_ACL_SLOW, 0, 0, 0, "transactions", "Run the queued commands", "1.2.0",
	       "Depends on commands in the transaction"),
	RD_CMD("discard", discard, 1, TXF, TX | RD_ACL_FAST, 0, 0, 0, "transactions",
	       "Drop the queued commands", "2.0.0", "O(N), when N is the number of queued commands"),
	RD_CMD("watch", watch, -2, TXF, TX | RD_ACL_FAST, 1, -1, 1, "transactions",
	       "Make EXEC depend on keys staying unchanged", "2.2.0", "O(1) for every key"),
	RD_CMD("unwatch", unwatch, 1, TXF, TX | RD_ACL_FAST, 0, 0, 0, "transactions",
	       "Forget all watched keys", "2.2.0", "O(1)"),
	RD_CMD_END
};
