/*
 * pubsub_intro.c - PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB
 * and HELP: what the node's subscribers listen to, over every lcore.
 *
 * Each lcore knows only its own subscriptions, so PUBSUB asks every lcore
 * with any (owner calls; the caller waits). NUMSUB adds counts (atomics in
 * the command's scratch memory, the calls run at once). CHANNELS and NUMPAT
 * need the distinct names: the lcores are asked one after another, each
 * adding the names not seen yet to a table in the command's scratch memory
 * (a name listened to on several lcores counts once, as on one Redis).
 * That table holds up to COLLECT_MAX names in one scratch chunk; a larger
 * answer is refused with an error rather than cut short.
 */
#include <string.h>

#include "core/app.h"
#include "redis/cmds.h"
#include "redis/glob.h"
#include "redis/pubsub_impl.h"
#include "redis/rdutil.h"
#include "redis/text.h"
#include "store/item.h"

#define COLLECT_HASH 2048u
#define COLLECT_MAX (COLLECT_HASH * 3 / 4)
#define COLLECT_BYTES 65472u

struct collect {
	uint32_t used, cap;		/* bytes of data[] */
	uint32_t count;
	bool overflow;
	uint32_t idx[COLLECT_HASH];	/* 0: free; else the record's offset + 1 */
	uint8_t data[];			/* records: uint32 length, bytes, padded to 4 */
};

/* The job area of PUBSUB's subcommands. */
struct intro_job {
	void *mem;			/* struct collect, or uint64_t counts[] */
	uint8_t kind;
	bool has_pat;
};

static bool collect_add(struct collect *c, const uint8_t *p, uint32_t len)
{
	uint32_t h = (uint32_t)wc_hash(p, len) & (COLLECT_HASH - 1);
	uint32_t need = 4 + ((len + 3) & ~3u);

	for (;; h = (h + 1) & (COLLECT_HASH - 1)) {
		uint32_t off = c->idx[h];
		uint32_t rlen;

		if (!off)
			break;
		memcpy(&rlen, c->data + off - 1, 4);
		if (rlen == len && memcmp(c->data + off - 1 + 4, p, len) == 0)
			return true;	/* seen on an lcore asked before */
	}
	if (c->count == COLLECT_MAX || c->used + need > c->cap) {
		c->overflow = true;
		return false;
	}
	memcpy(c->data + c->used, &len, 4);
	memcpy(c->data + c->used + 4, p, len);
	c->idx[h] = c->used + 1;
	c->used += need;
	c->count++;
	return true;
}

struct each_arg {
	struct collect *c;
	const uint8_t *pat;
	uint32_t plen;
};

static bool each_name(void *arg, const struct ps_name *n)
{
	struct each_arg *a = arg;

	if (a->pat && !rd_glob_match(a->pat, a->plen, n->name, n->len, false))
		return true;
	return collect_add(a->c, n->name, n->len);
}

/* On one lcore (one at a time): its names not seen yet go into the table. */
static void collect_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct intro_job *j = (const void *)s->job;
	const struct resp_arg *pat = j->has_pat ? resp_argv(&s->cmd, 2) : NULL;
	struct each_arg a = { .c = j->mem, .pat = pat ? pat->u.p : NULL,
			      .plen = pat ? (uint32_t)pat->len : 0 };

	ps_each_name(rd_owner_lcore(o)->pubsub, j->kind, each_name, &a);
}

/* On each lcore (at once): its subscribers of each name asked, added up. */
static void numsub_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct intro_job *j = (const void *)s->job;
	struct rd_pubsub_lc *ps = rd_owner_lcore(o)->pubsub;
	uint64_t *counts = j->mem;

	for (uint32_t i = 2; i < s->cmd.argc; i++) {
		const struct resp_arg *a = resp_argv(&s->cmd, i);
		const struct ps_name *n;

		if (a->kind != RESP_ARG_PTR)
			continue;
		n = ps_find(ps, j->kind, a->u.p, (uint32_t)a->len);
		if (n)
			__atomic_fetch_add(&counts[i - 2], n->nsubs, __ATOMIC_RELAXED);
	}
}

/* Every lcore with subscriptions in turn, one call out at a time. */
static enum rd_res one_by_one(struct rd_session *s, rd_owner_fn fn)
{
	const struct wc_app *app = rd_lcore(s)->app;

	while (s->cursor < app->nworkers) {
		unsigned i = s->cursor;
		const struct wc_lcore *lc = app->lc[i];
		struct rd_route rt = { .owner = i };

		if (rd_calls_out(s))
			return RD_PENDING;
		if (!rd_pubsub_lcore_active(app, i)) {
			s->cursor++;
			continue;
		}
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

static bool collect_start(struct rd_session *s, uint8_t kind, bool has_pat)
{
	struct intro_job *j = (void *)s->job;
	struct collect *c = rd_scratch(s, COLLECT_BYTES);

	if (!c) {
		rd_err(s, "ERR out of memory for the reply");
		return false;
	}
	memset(c, 0, sizeof(*c));
	c->cap = COLLECT_BYTES - (uint32_t)sizeof(*c);
	*j = (struct intro_job){ .mem = c, .kind = kind, .has_pat = has_pat };
	s->step = 1;
	s->cursor = 0;
	return true;
}

/* CHANNELS / SHARDCHANNELS [pattern]: the distinct names with subscribers. */
static enum rd_res list_names(struct rd_session *s, uint8_t kind)
{
	const struct intro_job *j = (const void *)s->job;
	const struct collect *c;
	enum rd_res r;

	if (rd_argc(s) > 3) {
		rd_err_subcommand(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 3 && !rd_argp(s, 2)) {
		resp_array(rd_out(s), 0);	/* (no name is this long) */
		return RD_DONE;
	}
	if (s->step == 0 && !collect_start(s, kind, rd_argc(s) == 3))
		return RD_DONE;
	r = one_by_one(s, collect_owner);
	if (r != RD_DONE)
		return r;
	c = j->mem;
	if (c->overflow) {
		rd_err(s, "ERR too many channels to list");
		return RD_DONE;
	}
	resp_array(rd_out(s), c->count);
	for (uint32_t off = 0; off < c->used;) {
		uint32_t len;

		memcpy(&len, c->data + off, 4);
		resp_bulk(rd_out(s), c->data + off + 4, len);
		off += 4 + ((len + 3) & ~3u);
	}
	return RD_DONE;
}

static enum rd_res numsub(struct rd_session *s, uint8_t kind)
{
	struct intro_job *j = (void *)s->job;
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
		*j = (struct intro_job){ .mem = counts, .kind = kind };
	}
	r = rd_fanout_lcores(s, numsub_owner, rd_pubsub_lcore_active);
	if (r != RD_DONE)
		return r;
	counts = j->mem;
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
	const struct collect *c;
	enum rd_res r;

	if (s->step == 0 && !collect_start(s, PS_PATTERN, false))
		return RD_DONE;
	r = one_by_one(s, collect_owner);
	if (r != RD_DONE)
		return r;
	c = j->mem;
	if (c->overflow) {
		rd_err(s, "ERR too many patterns to count");
		return RD_DONE;
	}
	resp_int(rd_out(s), c->count);
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
