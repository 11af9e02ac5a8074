/*
 * pubsub_intro.c - PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB
 * and HELP, and INFO's counts of distinct names: what the node's
 * subscribers listen to, over every lcore.
 *
 * Each lcore knows only its own subscriptions, so PUBSUB asks every lcore
 * with any (owner calls; the caller waits). NUMSUB adds counts (atomics in
 * the command's scratch memory, the calls run at once).
 *
 * CHANNELS, SHARDCHANNELS, NUMPAT and INFO want the distinct names: a name
 * listened to on several lcores counts once, as on one Redis. They are
 * produced as KEYS produces its reply, in constant memory however many
 * names there are: the lcores are walked one after another, each in
 * batches (a cursor over its table, as SCAN walks a dict: a name there for
 * the whole walk is met once even if the table grows meanwhile) copied
 * into one scratch buffer; every lcore before it is then asked which of
 * the batch's names it has too (those are its to report, or were), and the
 * rest are counted, or written. CHANNELS counts in a first walk and writes
 * in a second, the count promised: names gone by then are nulls, names
 * come since are left out (KEYS's rule).
 */
#include <string.h>

#include "core/app.h"
#include "redis/cmds.h"
#include "redis/glob.h"
#include "redis/info.h"
#include "redis/pubsub_impl.h"
#include "redis/rdutil.h"
#include "redis/text.h"
#include "store/stage.h"

#define XFER_BYTES (60u << 10)		/* one batch: a scratch allocation (below a chunk) */
#define WALK_BUCKETS 16384u		/* buckets one call looks at, at most */

_Static_assert(XFER_BYTES + 16 <= WC_STAGE_CHUNK_DATA - 16, "a batch fits one scratch chunk");
_Static_assert(RD_PS_NAME_MAX + 64 < XFER_BYTES, "any name fits an empty batch");

/* A name in a batch: then its bytes, padded to 4. */
struct xrec {
	uint32_t len;
	uint8_t kind;
	uint8_t seen;			/* an lcore asked before has it too */
	uint16_t pad;
};

/* A batch from one lcore, and where its walk stands. */
struct xfer {
	uint32_t cursor;		/* the next bucket (reverse binary, as Redis's dictScan) */
	uint32_t skip;			/* names of that bucket already taken */
	bool done;			/* the lcore's table is walked */
	uint32_t used;			/* bytes of data[] */
	uint8_t data[];
};

enum { PH_FETCH = 0, PH_CHECK, PH_EMIT };

/* The job area of the name walks. */
struct intro_job {
	struct xfer *x;			/* NUMSUB: uint64_t counts[] */
	uint64_t count[PS_KINDS];	/* distinct names met (this walk) */
	uint64_t promised;		/* CHANNELS: the array's length, then what is left of it */
	uint32_t k;			/* PH_CHECK: the lcore asked next */
	uint8_t kinds;			/* 1 << enum ps_kind: the kinds wanted */
	uint8_t phase;
	uint8_t pass;			/* 0: count; 1: write (CHANNELS) */
	bool has_pat;
};

_Static_assert(sizeof(struct intro_job) <= RD_JOB_BYTES, "the job fits the job area");

static uint32_t rev32(uint32_t v)
{
	v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
	v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
	v = ((v >> 4) & 0x0f0f0f0fu) | ((v & 0x0f0f0f0fu) << 4);
	v = ((v >> 8) & 0x00ff00ffu) | ((v & 0x00ff00ffu) << 8);
	return (v >> 16) | (v << 16);
}

static uint32_t rec_size(uint32_t len)
{
	return (uint32_t)sizeof(struct xrec) + ((len + 3) & ~3u);
}

/* Is n one of the names this walk wants? */
static bool wanted(const struct intro_job *j, const struct resp_arg *pat, const struct ps_name *n)
{
	if (!(j->kinds & (1u << n->kind)))
		return false;
	return !pat || rd_glob_match(pat->u.p, pat->len, n->name, n->len, false);
}

/*
 * On the lcore walked: its next names into the batch. A bucket goes in
 * whole, or not at all when the batch already holds others (its names
 * could change before the next call); only a bucket bigger than a whole
 * batch is split (skip).
 */
static void fetch_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct intro_job *j = (const void *)s->job;
	const struct resp_arg *pat = j->has_pat ? resp_argv(&s->cmd, 2) : NULL;
	const struct rd_pubsub_lc *ps = rd_owner_lcore(o)->pubsub;
	struct xfer *x = j->x;
	uint32_t mask = ps->nbuckets - 1, v = x->cursor;

	x->used = 0;
	for (unsigned b = 0; b < WALK_BUCKETS; b++) {
		uint32_t mark = x->used, idx = 0;
		const struct ps_name *n;

		for (n = ps->buckets[v & mask]; n; n = n->hnext, idx++) {
			struct xrec r;

			if (idx < x->skip || !wanted(j, pat, n))
				continue;
			if (x->used + rec_size(n->len) > XFER_BYTES - sizeof(*x)) {
				if (mark) {
					x->used = mark;	/* the bucket again next time */
					x->skip = 0;
				} else {
					x->skip = idx;	/* a batch of this bucket alone */
				}
				x->cursor = v;
				return;
			}
			r = (struct xrec){ .len = n->len, .kind = n->kind };
			memcpy(x->data + x->used, &r, sizeof(r));
			memcpy(x->data + x->used + sizeof(r), n->name, n->len);
			x->used += rec_size(n->len);
		}
		x->skip = 0;
		v |= ~mask;
		v = rev32(rev32(v) + 1);
		if (v == 0) {
			x->done = true;
			break;
		}
	}
	x->cursor = v;
}

/* On an lcore walked before: the batch's names it has too are marked. */
static void check_owner(struct rd_owner *o)
{
	const struct intro_job *j = (const void *)o->s->job;
	struct rd_pubsub_lc *ps = rd_owner_lcore(o)->pubsub;
	struct xfer *x = j->x;

	for (uint32_t off = 0; off < x->used;) {
		struct xrec r;

		memcpy(&r, x->data + off, sizeof(r));
		if (!r.seen && ps_find(ps, r.kind, x->data + off + sizeof(r), r.len)) {
			r.seen = 1;
			memcpy(x->data + off, &r, sizeof(r));
		}
		off += rec_size(r.len);
	}
}

/* A call about lcore i: RD_DONE (ran here), RD_PENDING or RD_BUSY. */
static enum rd_res call_lcore(struct rd_session *s, unsigned i, rd_owner_fn fn)
{
	const struct wc_app *app = rd_lcore(s)->app;
	const struct wc_lcore *lc = app->lc[i];
	struct rd_route rt = { .owner = i };

	if (lc->nparts) {
		rt.part_idx = (uint16_t)lc->part_idx[0];
		rt.part = app->parts[rt.part_idx];
	}
	return rd_call(s, &rt, fn, false, i, NULL, 0);
}

/* The batch's names no earlier lcore has: counted, or written while the count allows. */
static void emit(struct rd_session *s, struct intro_job *j)
{
	const struct xfer *x = j->x;

	for (uint32_t off = 0; off < x->used;) {
		struct xrec r;

		memcpy(&r, x->data + off, sizeof(r));
		if (!r.seen) {
			j->count[r.kind]++;
			if (j->pass == 1 && j->promised) {
				resp_bulk(rd_out(s), x->data + off + sizeof(r), r.len);
				j->promised--;
			}
		}
		off += rec_size(r.len);
	}
}

static bool walk_start(struct rd_session *s, uint8_t kinds, bool has_pat)
{
	struct intro_job *j = (void *)s->job;
	struct xfer *x = rd_scratch(s, XFER_BYTES);

	if (!x)
		return false;
	memset(x, 0, sizeof(*x));
	*j = (struct intro_job){ .x = x, .kinds = kinds, .has_pat = has_pat };
	s->step = 1;
	s->cursor = 0;
	return true;
}

/* Walk every lcore with subscriptions once (this pass); RD_DONE when it is over. */
static enum rd_res walk(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct intro_job *j = (void *)s->job;
	enum rd_res r;

	for (;;) {
		unsigned i = s->cursor;

		if (rd_calls_out(s))
			return RD_PENDING;
		if (i >= app->nworkers)
			return RD_DONE;
		switch (j->phase) {
		case PH_FETCH:
			if (j->x->done || !rd_pubsub_lcore_active(app, i)) {
				memset(j->x, 0, sizeof(*j->x));	/* the next lcore from its start */
				s->cursor++;
				continue;
			}
			r = call_lcore(s, i, fetch_owner);
			if (r == RD_BUSY)
				return r;
			j->phase = PH_CHECK;
			j->k = 0;
			break;
		case PH_CHECK:
			if (j->k >= i || !j->x->used) {
				j->phase = PH_EMIT;
				continue;
			}
			if (!rd_pubsub_lcore_active(app, j->k)) {
				j->k++;
				continue;
			}
			r = call_lcore(s, j->k, check_owner);
			if (r == RD_BUSY)
				return r;
			j->k++;
			break;
		default:
			emit(s, j);
			j->x->used = 0;
			j->phase = PH_FETCH;
			continue;
		}
		if (r == RD_PENDING)
			return r;
	}
}

/* Back to the first lcore for another pass. */
static void walk_again(struct rd_session *s)
{
	struct intro_job *j = (void *)s->job;

	memset(j->x, 0, sizeof(*j->x));
	memset(j->count, 0, sizeof(j->count));
	j->phase = PH_FETCH;
	j->pass++;
	s->cursor = 0;
}

/* How many lcores have any subscription (0, 1 or 2: more is not needed). */
static unsigned active_lcores(const struct wc_app *app)
{
	unsigned n = 0;

	for (unsigned i = 0; i < app->nworkers && n < 2; i++)
		n += rd_pubsub_lcore_active(app, i);
	return n;
}

enum rd_res rd_pubsub_distinct(struct rd_session *s, uint64_t *channels, uint64_t *patterns,
			       uint64_t *shard)
{
	const struct wc_app *app = rd_lcore(s)->app;
	const struct intro_job *j = (const void *)s->job;
	enum rd_res r;

	if (s->step == 0 &&
	    (active_lcores(app) < 2 || (s->flags & RD_C_MULTI) ||
	     !walk_start(s, (1u << PS_CHANNEL) | (1u << PS_PATTERN) | (1u << PS_SHARD), false))) {
		/*
		 * On one lcore the sums are the distinct counts. Inside a
		 * transaction (no other lcore can be asked) or without scratch
		 * memory for a batch: the sums, which count a name once per lcore.
		 */
		rd_pubsub_totals(app, channels, patterns, shard);
		return RD_DONE;
	}
	r = walk(s);
	if (r != RD_DONE)
		return r;
	*channels = j->count[PS_CHANNEL];
	*patterns = j->count[PS_PATTERN];
	*shard = j->count[PS_SHARD];
	return RD_DONE;
}

/* CHANNELS / SHARDCHANNELS [pattern]: the distinct names with subscribers. */
static enum rd_res list_names(struct rd_session *s, uint8_t kind)
{
	struct intro_job *j = (void *)s->job;
	enum rd_res r;

	if (rd_argc(s) > 3) {
		rd_err_subcommand(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 3 && !rd_argp(s, 2)) {
		resp_array(rd_out(s), 0);	/* (no name is this long) */
		return RD_DONE;
	}
	if (s->step == 0 && !walk_start(s, (uint8_t)(1u << kind), rd_argc(s) == 3)) {
		rd_err(s, "ERR out of memory for the reply");
		return RD_DONE;
	}
	r = walk(s);
	if (r != RD_DONE)
		return r;
	if (j->pass == 0) {
		/* counted: the reply's length comes first, then the names (a second walk) */
		j->promised = j->count[kind];
		resp_array(rd_out(s), (int64_t)j->promised);
		if (!j->promised)
			return RD_DONE;
		walk_again(s);
		r = walk(s);
		if (r != RD_DONE)
			return r;
	}
	/* names gone since they were counted: the count was promised */
	for (; j->promised; j->promised--)
		resp_null(rd_out(s), s->proto);
	return RD_DONE;
}

/* NUMSUB's job area. */
struct numsub_job {
	uint64_t *counts;		/* one per channel asked, added to at once by the lcores */
	uint8_t kind;
};

/* On each lcore (at once): its subscribers of each name asked, added up. */
static void numsub_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct numsub_job *j = (const void *)s->job;
	struct rd_pubsub_lc *ps = rd_owner_lcore(o)->pubsub;

	for (uint32_t i = 2; i < s->cmd.argc; i++) {
		const struct resp_arg *a = resp_argv(&s->cmd, i);
		const struct ps_name *n;

		if (a->kind != RESP_ARG_PTR)
			continue;
		n = ps_find(ps, j->kind, a->u.p, (uint32_t)a->len);
		if (n)
			__atomic_fetch_add(&j->counts[i - 2], n->nsubs, __ATOMIC_RELAXED);
	}
}

static enum rd_res numsub(struct rd_session *s, uint8_t kind)
{
	struct numsub_job *j = (void *)s->job;
	uint32_t n = rd_argc(s) - 2;
	uint64_t *counts;
	enum rd_res r;

	if (s->step == 0) {
		counts = rd_scratch(s, (uint64_t)(n ? n : 1) * sizeof(*counts));
		if (!counts) {
			rd_err(s, "ERR out of memory for the reply");
			return RD_DONE;
		}
		memset(counts, 0, (size_t)(n ? n : 1) * sizeof(*counts));
		*j = (struct numsub_job){ .counts = counts, .kind = kind };
	}
	r = rd_fanout_lcores(s, numsub_owner, rd_pubsub_lcore_active);
	if (r != RD_DONE)
		return r;
	counts = j->counts;
	resp_array(rd_out(s), 2 * (int64_t)n);
	for (uint32_t i = 0; i < n; i++) {
		const struct resp_arg *a = rd_arg(s, i + 2);

		if (a->kind == RESP_ARG_PTR) {
			resp_bulk(rd_out(s), a->u.p, a->len);
		} else {
			uint8_t buf[4096];

			resp_header(rd_out(s), '$', a->len);
			for (uint64_t off = 0; off < a->len; off += sizeof(buf)) {
				uint64_t k = a->len - off < sizeof(buf) ? a->len - off : sizeof(buf);

				rd_arg_read(s, i + 2, off, buf, k);
				mc_out_put(rd_out(s), buf, k);
			}
			mc_out_put(rd_out(s), "\r\n", 2);
		}
		resp_int(rd_out(s), (int64_t)__atomic_load_n(&counts[i], __ATOMIC_RELAXED));
	}
	return RD_DONE;
}

static enum rd_res ps_channels(struct rd_session *s)
{
	return list_names(s, PS_CHANNEL);
}

static enum rd_res ps_shardchannels(struct rd_session *s)
{
	return list_names(s, PS_SHARD);
}

static enum rd_res ps_numsub(struct rd_session *s)
{
	return numsub(s, PS_CHANNEL);
}

static enum rd_res ps_shardnumsub(struct rd_session *s)
{
	return numsub(s, PS_SHARD);
}

/* NUMPAT: distinct patterns over the node. */
static enum rd_res ps_numpat(struct rd_session *s)
{
	const struct intro_job *j = (const void *)s->job;
	enum rd_res r;

	if (s->step == 0 && !walk_start(s, 1u << PS_PATTERN, false)) {
		rd_err(s, "ERR out of memory for the reply");
		return RD_DONE;
	}
	r = walk(s);
	if (r != RD_DONE)
		return r;
	resp_int(rd_out(s), (int64_t)j->count[PS_PATTERN]);
	return RD_DONE;
}

static enum rd_res ps_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"CHANNELS [<pattern>]",
		"    The channels with at least one subscriber, those matching <pattern> if given.",
		"NUMPAT",
		"    How many distinct patterns have subscribers.",
		"NUMSUB [<channel> ...]",
		"    For each channel, how many clients subscribed to it (patterns not counted).",
		"SHARDCHANNELS [<pattern>]",
		"    The shard channels with at least one subscriber, those matching <pattern>.",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    For each shard channel, how many clients subscribed to it.",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}

#define PSF (RD_F_PUBSUB | RD_F_LOADING | RD_F_STALE)

static struct rd_cmd pubsub_sub[] = {
	RD_CMD_TIPS("nondeterministic_output_order", "channels", ps_channels, -2, PSF, 0, 0, 0, 0,
		    "pubsub", "The active channels, optionally those matching a pattern", "2.8.0",
		    "O(N) for N active channels"),
	RD_CMD("numsub", ps_numsub, -2, PSF, 0, 0, 0, 0, "pubsub",
	       "Subscriber counts of channels", "2.8.0", "O(N) for N channels asked"),
	RD_CMD("numpat", ps_numpat, 2, PSF, 0, 0, 0, 0, "pubsub",
	       "How many distinct patterns have subscribers", "2.8.0", "O(1)"),
	RD_CMD_TIPS("nondeterministic_output_order", "shardchannels", ps_shardchannels, -2, PSF,
		    0, 0, 0, 0, "pubsub", "The active shard channels, optionally matching a pattern",
		    "7.0.0", "O(N) for N active shard channels"),
	RD_CMD("shardnumsub", ps_shardnumsub, -2, PSF, 0, 0, 0, 0, "pubsub",
	       "Subscriber counts of shard channels", "7.0.0", "O(N) for N shard channels asked"),
	RD_CMD("help", ps_help, 2, RD_F_LOADING | RD_F_STALE, 0, 0, 0, 0, "pubsub",
	       "What the PUBSUB subcommands do", "6.2.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_pubsub_intro[] = {
	{ .name = "pubsub", .arity = -2, .flags = 0, .acl = RD_ACL_SLOW, .sub = pubsub_sub,
	  .group = "pubsub", .summary = "Commands about Pub/Sub's state", .since = "2.8.0",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
