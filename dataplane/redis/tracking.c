/*
 * tracking.c - client tracking's commands (CLIENT TRACKING, CACHING,
 * GETREDIR, TRACKINGINFO), each lcore's state, the reads it remembers,
 * the key events it answers, and its settings and INFO numbers (see
 * tracking.h; frames and redirects are trk_deliver.c's, BCAST
 * trk_bcast.c's).
 */
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "core/app.h"
#include "core/bus.h"
#include "redis/clients.h"
#include "redis/keyev.h"
#include "redis/server.h"
#include "redis/trk_impl.h"

/* ---- each lcore's state ---- */

int rd_tracking_lcore_init(struct wc_lcore *lc)
{
	/* (the lcore's own memory, as its other Redis state; read by INFO from any lcore) */
	struct rd_trk_lcore *L = rte_zmalloc("rd_trk_lcore", sizeof(*L), 64);

	if (!L)
		return -1;
	L->lc = lc;
	L->pend = rte_malloc("rd_trk_pend", TRK_PEND_BYTES, 64);
	L->scratch = rte_malloc("rd_trk_scratch", 2 * (size_t)TRK_PEND_BYTES, 64);
	L->hold = rte_malloc("rd_trk_hold", TRK_HOLD_BYTES, 64);
	for (unsigned i = TRK_SUBS; i-- > 0;) {
		L->sub[i].next_s = L->sub_free;
		L->sub_free = (uint16_t)(i + 1);
	}
	lc->trk = L;
	if (!L->pend || !L->scratch || !L->hold) {
		rd_tracking_lcore_fini(lc);
		return -1;
	}
	return 0;
}

void rd_tracking_lcore_fini(struct wc_lcore *lc)
{
	struct rd_trk_lcore *L = lc->trk;

	if (!L)
		return;
	if (L->tab.mem)
		trk_table_fini(&L->tab);
	rte_free(L->pend);
	rte_free(L->scratch);
	rte_free(L->hold);
	rte_free(L);
	lc->trk = NULL;
}

bool trk_alive(const struct rd_session *s, uint64_t id)
{
	return s && s->id == id && s->counted && s->st != RD_S_CLOSE &&
	       !(s->flags & RD_C_KILLED);
}

/* The lcore's share of tracking-table-max-keys (0: no bound). */
static uint64_t share(const struct rd_trk_lcore *L)
{
	const struct wc_app *app = L->lc->app;
	uint64_t max = __atomic_load_n(&app->rd->trk.max_keys, __ATOMIC_RELAXED);

	return max ? (max + app->nworkers - 1) / app->nworkers : 0;
}

static void on_evicted(void *arg, const uint8_t *key, uint32_t klen, struct rd_session *s,
		       uint64_t id);

/* ---- the reads, in batches ---- */

/*
 * The batched reads go into the table (trk_table_add_reads). Called before
 * the table is used for anything else (a key event, a trim, a flush, INFO)
 * and when the batch is full.
 */
static void reads_flush(struct rd_trk_lcore *L)
{
	uint32_t n = L->nreads;

	L->nreads = 0;
	L->rkeys_used = 0;
	trk_table_add_reads(&L->tab, L->reads, n, L->rkeys, share(L), on_evicted, L);
}

/* s read key: into the batch (a read is in the table before any later key event is handled). */
static inline __attribute__((always_inline)) void
note_read(struct rd_trk_lcore *L, struct rd_session *s, const uint8_t *key, uint32_t klen,
	  uint64_t hash)
{
	struct trk_read *r;

	if (klen > TRK_READ_KEY) {
		if (L->nreads)
			reads_flush(L);
		trk_table_add(&L->tab, key, klen, hash, s->trk.slot - 1, share(L), on_evicted, L);
		return;
	}
	if (L->rkeys_used + klen > TRK_READ_KEYS)
		reads_flush(L);
	r = &L->reads[L->nreads++];
	r->hash = hash;
	r->slot = s->trk.slot - 1;
	r->klen = klen;
	r->kb = trk_kbucket(&L->tab, hash);
	r->koff = L->rkeys_used;
	trk_table_prefetch_bucket(&L->tab, r->kb);
	trk_copy_key(L->rkeys + L->rkeys_used, key, klen);
	L->rkeys_used += klen;
	if (L->nreads == TRK_READS)
		reads_flush(L);
}

void rd_tracking_sync(struct wc_lcore *lc)
{
	struct rd_trk_lcore *L = lc->trk;

	if (L && L->nreads)
		reads_flush(L);
}

/* ---- the key events (keyev.h) ---- */

struct changed {
	struct rd_trk_lcore *L;
	uint64_t writer;		/* the client that wrote (NOLOOP), 0: none */
};

/* A reader of a key that changed, or was taken out of the table. */
static void tell_reader(struct rd_trk_lcore *L, const uint8_t *key, uint32_t klen,
			struct rd_session *s, uint64_t id, uint64_t writer)
{
	uint8_t buf[TRK_KEY_MAX + 16];
	struct trk_val v = { .kind = TRK_V_KEYS, .count = 1, .p = buf };
	uint32_t n;

	uint16_t f;

	/* (a client that left, turned tracking off or went BCAST hears nothing of it) */
	if (!trk_alive(s, id))
		return;
	f = trk_flags(s);
	if ((f & (RD_TRK_ON | RD_TRK_BCAST)) != RD_TRK_ON || ((f & RD_TRK_NOLOOP) && writer == id))
		return;
	n = (uint32_t)snprintf((char *)buf, sizeof(buf), "$%u\r\n", klen);
	memcpy(buf + n, key, klen);
	memcpy(buf + n + klen, "\r\n", 2);
	v.n = n + klen + 2;
	trk_notify(L, s, &v);
}

static void on_changed(void *arg, const uint8_t *key, uint32_t klen, struct rd_session *s,
		       uint64_t id)
{
	const struct changed *c = arg;

	tell_reader(c->L, key, klen, s, id, c->writer);
}

static void on_evicted(void *arg, const uint8_t *key, uint32_t klen, struct rd_session *s,
		       uint64_t id)
{
	tell_reader(arg, key, klen, s, id, 0);
}

/* Every key event this lcore gets (keyev.h's listener). */
static void on_keyev(struct wc_lcore *lc, const struct rd_keyev *ev)
{
	struct rd_trk_lcore *L = lc->trk;

	if (!L)
		return;
	if (!L->clients) {
		/* (a REDIRECT target here may have missed what another lcore sent it) */
		if (ev->kind == RD_KEYEV_LOST)
			trk_null_all(L, true);
		return;
	}
	if (ev->kind == RD_KEYEV_KEY) {
		if (L->nreads)
			reads_flush(L);
		struct changed c = { .L = L, .writer = ev->client_id };

		if (L->tab.keys)
			trk_table_take(&L->tab, ev->key, ev->klen, wc_hash(ev->key, ev->klen),
				       on_changed, &c);
		if (L->nprefixes)
			trk_bcast_note(L, ev->key, ev->klen, ev->client_id);
		return;
	}
	/* a flush, or news this lcore missed: "everything", and the table starts over */
	L->nreads = L->rkeys_used = 0;	/* (reads before it: covered by "everything") */
	trk_null_all(L, ev->kind == RD_KEYEV_LOST);
	if (L->tab.mem)
		trk_table_clear(&L->tab);
}

void rd_tracking_server_init(struct rd_trk_server *t)
{
	t->max_keys = 1000000;		/* Redis's default */
	wc_bus_register(WC_BUS_TRACK, trk_bus);
	rd_keyev_listen(on_keyev);
}

/* ---- the reads ---- */

static void remember(struct rd_trk_lcore *L, struct rd_session *s, const struct rd_cmd *def,
		     const struct resp_cmd *cmd)
{
	uint32_t pos[256];
	unsigned n;

	if (def->flags & RD_F_PUBSUB)
		return;		/* (shard channels are keys to COMMAND, not to a cache) */
	if (def->getkeys) {
		n = rd_cmd_keys(def, cmd, pos, 256);
	} else {
		int64_t first = def->keys.first, last = def->keys.last, step = def->keys.step;

		if (first <= 0)
			return;
		if (last < 0)
			last += (int64_t)cmd->argc;
		if (step <= 0)
			step = 1;
		/* (any number of keys: MGET of a million is walked, not copied) */
		for (int64_t i = first; i <= last && i < (int64_t)cmd->argc; i += step) {
			const struct resp_arg *a = resp_argv(cmd, (uint32_t)i);

			if (a->kind == RESP_ARG_PTR)
				note_read(L, s, a->u.p, a->len, wc_hash(a->u.p, a->len));
		}
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct resp_arg *a = resp_argv(cmd, pos[i]);

		if (a->kind == RESP_ARG_PTR)
			note_read(L, s, a->u.p, a->len, wc_hash(a->u.p, a->len));
	}
}

/* Does this read count? (OPTIN needs CACHING YES first, OPTOUT skips after CACHING NO) */
static bool wants(const struct rd_session *s)
{
	uint16_t f = trk_flags(s);

	if ((f & (RD_TRK_ON | RD_TRK_BCAST)) != RD_TRK_ON)
		return false;
	if ((f & RD_TRK_OPTIN) && !(f & RD_TRK_CACHING))
		return false;
	if ((f & RD_TRK_OPTOUT) && (f & RD_TRK_CACHING))
		return false;
	return true;
}

static bool is_client_cmd(const struct rd_cmd *c)
{
	const struct rd_cmd *p = c ? rd_cmd_parent(c) : NULL;

	return p && strcmp(p->name, "client") == 0;
}

void rd_tracking_command_done(struct rd_session *s, bool ran)
{
	struct rd_trk_lcore *L = rd_lcore(s)->trk;
	const struct rd_cmd *def = s->def;

	if (ran && def && (def->flags & RD_F_READONLY) && wants(s) && L->tab.mem)
		remember(L, s, def, &s->cmd);
	uint16_t f = trk_flags(s);

	/* CACHING lasts for one command, or one transaction (Redis: not past MULTI, not CLIENT) */
	if ((f & RD_TRK_CACHING) && !(s->flags & RD_C_MULTI) && !is_client_cmd(def))
		trk_flags_clear(s, RD_TRK_CACHING);
	if (ran && (f & RD_TRK_NULLED))
		trk_flags_clear(s, RD_TRK_NULLED);
	if (s->trk.held || (f & RD_TRK_OWED))
		trk_release_held(L, s, false);
}

void rd_tracking_fast_read(struct wc_lcore *lc, struct rd_session *s, const uint8_t *key,
			   uint32_t klen, uint64_t hash)
{
	struct rd_trk_lcore *L = lc->trk;

	if ((trk_flags(s) & RD_TRK_BCAST) || !L->tab.mem)
		return;
	note_read(L, s, key, klen, hash);
}

struct exec_reads {
	struct rd_trk_lcore *L;
	struct rd_session *s;
};

static bool exec_read(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd)
{
	struct exec_reads *x = arg;

	if (def->flags & RD_F_READONLY)
		remember(x->L, x->s, def, cmd);
	return true;
}

void rd_tracking_exec_done(struct rd_session *s)
{
	struct exec_reads x = { .L = rd_lcore(s)->trk, .s = s };

	if (wants(s) && x.L->tab.mem)
		rd_multi_each(s, exec_read, &x);
}

/* ---- on and off ---- */

static void tracking_disable(struct rd_trk_lcore *L, struct rd_session *s)
{
	uint16_t f = trk_flags(s);

	if (L->nreads)
		reads_flush(L);
	if (s->trk.subs)
		trk_bcast_drop(L, s);
	if (s->trk.slot) {
		trk_table_leave(&L->tab, s->trk.slot - 1);
		s->trk.slot = 0;
	}
	if (f & RD_TRK_ON) {
		L->clients--;
		if (f & RD_TRK_BCAST)
			L->bcast--;
		rd_keyev_interest(L->lc, RD_KEYEV_WANT_TRACKING, -1);
		/* no client left to hear about changes: the lcore stops getting them, so forget */
		if (!L->clients && L->tab.mem)
			trk_table_clear(&L->tab);
	}
	trk_flags_clear(s, RD_TRK_ON | RD_TRK_BROKEN | RD_TRK_BCAST | RD_TRK_OPTIN |
			   RD_TRK_OPTOUT | RD_TRK_CACHING | RD_TRK_NOLOOP);
}

void rd_tracking_end(struct wc_lcore *lc, struct rd_session *s)
{
	struct rd_trk_lcore *L = lc->trk;

	if (!L)
		return;
	tracking_disable(L, s);
	trk_release_held(L, s, true);
	__atomic_store_n(&s->trk.flags, 0, __ATOMIC_RELAXED);
}

void rd_tracking_off(struct rd_session *s, bool ending)
{
	struct rd_trk_lcore *L = rd_lcore(s)->trk;

	if (!L)
		return;
	tracking_disable(L, s);
	if (ending) {
		trk_release_held(L, s, true);
		__atomic_store_n(&s->trk.flags, 0, __ATOMIC_RELAXED);
	}
}

/* ---- CLIENT TRACKING ---- */

struct find {
	uint64_t id;
	const struct rd_session *s;
};

static void find_one(void *arg, const struct rd_client_view *v)
{
	struct find *f = arg;

	if (__atomic_load_n(&v->s->id, __ATOMIC_RELAXED) == f->id)
		f->s = v->s;
}

/* The connection with client id `id` on any lcore (a racy look at the others, as CLIENT LIST). */
static bool find_client(struct wc_app *app, uint64_t id, unsigned *lcore,
			struct rd_session **out)
{
	for (unsigned i = 0; i < app->nworkers; i++) {
		struct find f = { .id = id };

		rd_tcp_clients(app->lc[i], find_one, &f);
		if (f.s) {
			*lcore = i;
			*out = (struct rd_session *)(uintptr_t)f.s;
			return true;
		}
	}
	return false;
}

/* Parsed options of CLIENT TRACKING (in the job area). */
struct trk_opts {
	uint16_t flags;			/* RD_TRK_BCAST | OPTIN | OPTOUT | NOLOOP */
	uint16_t nprefix;
	uint16_t redir_lcore;
	int64_t redir;
	struct rd_session *redir_s;
	uint32_t prefix[16];		/* argument positions (more: see parse) */
};

enum rd_res rd_client_tracking(struct rd_session *s)
{
	struct wc_lcore *lc = rd_lcore(s);
	struct rd_trk_lcore *L = lc->trk;
	uint32_t argc = rd_argc(s);
	uint32_t *prefix = NULL;
	struct trk_opts o = { 0 };
	unsigned maxp, where;

	if ((s->flags & RD_C_MULTI) && lc->id != s->push.home) {
		/* (EXEC ran it on its keys' lcore, which cannot touch the client's lcore's tables) */
		rd_err(s, "ERR CLIENT TRACKING cannot run inside a transaction whose keys live on "
			  "another core");
		return RD_DONE;
	}
	maxp = (argc - 3) / 2;
	if (maxp > 16) {
		prefix = rd_scratch(s, maxp * sizeof(uint32_t));
		if (!prefix) {
			rd_err(s, "ERR out of memory for the command");
			return RD_DONE;
		}
	} else {
		prefix = o.prefix;
	}
	for (uint32_t j = 3; j < argc; j++) {
		bool more = j + 1 < argc;

		if (rd_arg_is(s, j, "redirect") && more) {
			j++;
			if (o.redir != 0) {
				rd_err(s, "ERR A client can only redirect to a single other client");
				return RD_DONE;
			}
			if (!rd_arg_ll(s, j, &o.redir)) {
				rd_err_int(s);
				return RD_DONE;
			}
			/* it must exist now (it may go later: the redirect is then broken) */
			if (o.redir <= 0 ||
			    !find_client(lc->app, (uint64_t)o.redir, &where, &o.redir_s)) {
				rd_err(s, "ERR The client ID you want redirect to does not exist");
				return RD_DONE;
			}
			o.redir_lcore = (uint16_t)where;
		} else if (rd_arg_is(s, j, "bcast")) {
			o.flags |= RD_TRK_BCAST;
		} else if (rd_arg_is(s, j, "optin")) {
			o.flags |= RD_TRK_OPTIN;
		} else if (rd_arg_is(s, j, "optout")) {
			o.flags |= RD_TRK_OPTOUT;
		} else if (rd_arg_is(s, j, "noloop")) {
			o.flags |= RD_TRK_NOLOOP;
		} else if (rd_arg_is(s, j, "prefix") && more) {
			j++;
			prefix[o.nprefix++] = j;
		} else {
			rd_err_syntax(s);
			return RD_DONE;
		}
	}
	if (rd_arg_is(s, 2, "off")) {
		tracking_disable(L, s);
		resp_ok(rd_out(s));
		return RD_DONE;
	}
	if (!rd_arg_is(s, 2, "on")) {
		rd_err_syntax(s);
		return RD_DONE;
	}
	/* Redis's checks, in its order */
	if (!(o.flags & RD_TRK_BCAST) && o.nprefix) {
		rd_err(s, "ERR PREFIX option requires BCAST mode to be enabled");
		return RD_DONE;
	}
	if ((trk_flags(s) & RD_TRK_ON) &&
	    !(trk_flags(s) & RD_TRK_BCAST) != !(o.flags & RD_TRK_BCAST)) {
		rd_err(s, "ERR You can't switch BCAST mode on/off before disabling tracking for "
			  "this client, and then re-enabling it with a different mode.");
		return RD_DONE;
	}
	if ((o.flags & RD_TRK_BCAST) && (o.flags & (RD_TRK_OPTIN | RD_TRK_OPTOUT))) {
		rd_err(s, "ERR OPTIN and OPTOUT are not compatible with BCAST");
		return RD_DONE;
	}
	if ((o.flags & RD_TRK_OPTIN) && (o.flags & RD_TRK_OPTOUT)) {
		rd_err(s, "ERR You can't specify both OPTIN mode and OPTOUT mode");
		return RD_DONE;
	}
	if (((o.flags & RD_TRK_OPTIN) && (trk_flags(s) & RD_TRK_OPTOUT)) ||
	    ((o.flags & RD_TRK_OPTOUT) && (trk_flags(s) & RD_TRK_OPTIN))) {
		rd_err(s, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
			  "this client, and then re-enabling it with a different mode.");
		return RD_DONE;
	}
	if ((o.flags & RD_TRK_BCAST) && !trk_bcast_check(s, prefix, o.nprefix))
		return RD_DONE;
	if (!L->tab.mem && trk_table_init(&L->tab, TRK_LOG_CHUNKS, TRK_BUCKETS_LOG2) != 0) {
		rd_err(s, "ERR out of memory for the tracking table");
		return RD_DONE;
	}
	if (!(o.flags & RD_TRK_BCAST) && !s->trk.slot) {
		int32_t slot;

		/* (clients that come and go keep a scrub going: each arrival moves it on) */
		trk_table_scrub_step(&L->tab, TRK_SCRUB_PER_JOIN);
		slot = trk_table_join(&L->tab, s, s->id);
		if (slot < 0) {
			rd_err(s, "ERR too many tracking clients on this core");
			return RD_DONE;
		}
		s->trk.slot = (uint32_t)slot + 1;
	}
	if (o.flags & RD_TRK_BCAST) {
		bool ok = true;

		if (o.nprefix == 0)
			ok = trk_bcast_add(L, s, (const uint8_t *)"", 0);
		for (unsigned i = 0; ok && i < o.nprefix; i++)
			ok = trk_bcast_add(L, s, rd_argp(s, prefix[i]), rd_arg(s, prefix[i])->len);
		if (!ok) {
			/* (what was added stays, as Redis keeps prefixes added before a failure) */
			rd_err(s, "ERR too many BCAST prefixes on this core");
			if (!(trk_flags(s) & RD_TRK_ON) && s->trk.subs)
				trk_bcast_drop(L, s);
			return RD_DONE;
		}
	}
	if (!(trk_flags(s) & RD_TRK_ON)) {
		L->clients++;
		rd_keyev_interest(lc, RD_KEYEV_WANT_TRACKING, 1);
	} else if (trk_flags(s) & RD_TRK_BCAST) {
		L->bcast--;
	}
	if (o.flags & RD_TRK_BCAST)
		L->bcast++;
	trk_flags_clear(s, RD_TRK_BROKEN | RD_TRK_BCAST | RD_TRK_OPTIN | RD_TRK_OPTOUT |
			   RD_TRK_NOLOOP);
	trk_flags_set(s, RD_TRK_ON | o.flags);
	s->trk.redir_id = (uint64_t)o.redir;
	s->trk.redir = o.redir_s;
	s->trk.redir_lcore = o.redir_lcore;
	if (o.redir)
		trk_post_target(lc, o.redir_lcore, (uint64_t)o.redir, o.redir_s);
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* ---- CLIENT CACHING, GETREDIR, TRACKINGINFO ---- */

enum rd_res rd_client_caching(struct rd_session *s)
{
	uint16_t f = trk_flags(s);

	if (!(f & RD_TRK_ON)) {
		rd_err(s, "ERR CLIENT CACHING can be called only when the client is in tracking "
			  "mode with OPTIN or OPTOUT mode enabled");
		return RD_DONE;
	}
	if (rd_arg_is(s, 2, "yes")) {
		if (!(f & RD_TRK_OPTIN)) {
			rd_err(s, "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
				  "OPTIN mode.");
			return RD_DONE;
		}
	} else if (rd_arg_is(s, 2, "no")) {
		if (!(f & RD_TRK_OPTOUT)) {
			rd_err(s, "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
				  "OPTOUT mode.");
			return RD_DONE;
		}
	} else {
		rd_err_syntax(s);
		return RD_DONE;
	}
	trk_flags_set(s, RD_TRK_CACHING);
	resp_ok(rd_out(s));
	return RD_DONE;
}

enum rd_res rd_client_getredir(struct rd_session *s)
{
	resp_int(rd_out(s), (trk_flags(s) & RD_TRK_ON) ? (int64_t)s->trk.redir_id : -1);
	return RD_DONE;
}

enum rd_res rd_client_trackinginfo(struct rd_session *s)
{
	const struct trk_prefix *px[TRK_SUBS];
	struct mc_out *o = rd_out(s);
	uint16_t f = trk_flags(s);
	const char *out[8];
	unsigned n = 0, np;

	/* Redis's flags, in its order */
	out[n++] = (f & RD_TRK_ON) ? "on" : "off";
	if (f & RD_TRK_BCAST)
		out[n++] = "bcast";
	if (f & RD_TRK_OPTIN) {
		out[n++] = "optin";
		if (f & RD_TRK_CACHING)
			out[n++] = "caching-yes";
	}
	if (f & RD_TRK_OPTOUT) {
		out[n++] = "optout";
		if (f & RD_TRK_CACHING)
			out[n++] = "caching-no";
	}
	if (f & RD_TRK_NOLOOP)
		out[n++] = "noloop";
	if (f & RD_TRK_BROKEN)
		out[n++] = "broken_redirect";
	resp_map(o, s->proto, 3);
	resp_bulk_str(o, "flags");
	resp_set(o, s->proto, n);
	for (unsigned i = 0; i < n; i++)
		resp_bulk_str(o, out[i]);
	resp_bulk_str(o, "redirect");
	resp_int(o, (f & RD_TRK_ON) ? (int64_t)s->trk.redir_id : -1);
	resp_bulk_str(o, "prefixes");
	np = trk_bcast_list(rd_lcore(s)->trk, s, px, TRK_SUBS);
	resp_array(o, np);
	for (unsigned i = 0; i < np; i++)
		resp_bulk(o, px[i]->p, px[i]->len);
	return RD_DONE;
}

/* ---- settings and INFO ---- */

uint64_t rd_tracking_max_keys(const struct rd_server *srv)
{
	return __atomic_load_n(&srv->trk.max_keys, __ATOMIC_RELAXED);
}

void rd_tracking_set_max_keys(struct wc_lcore *lc, uint64_t max_keys)
{
	struct wc_app *app = lc->app;
	struct rd_trk_lcore *L = lc->trk;

	__atomic_store_n(&app->rd->trk.max_keys, max_keys, __ATOMIC_RELAXED);
	/* here at once; every other lcore with a table when it next drains its bus */
	if (L && L->nreads)
		reads_flush(L);
	if (L && L->tab.keys)
		trk_table_trim(&L->tab, share(L), on_evicted, L);
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_trk_lcore *o = app->lc[i]->trk;

		if (i != lc->id && o && __atomic_load_n(&o->tab.keys, __ATOMIC_RELAXED))
			trk_post(lc, i, TRK_MSG_TRIM);
	}
}

void trk_trim(struct rd_trk_lcore *L)
{
	if (L->nreads)
		reads_flush(L);
	if (L->tab.keys)
		trk_table_trim(&L->tab, share(L), on_evicted, L);
}

void rd_tracking_totals(const struct wc_app *app, struct rd_trk_totals *out)
{
	*out = (struct rd_trk_totals){ 0 };
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_trk_lcore *L = app->lc[i]->trk;

		if (!L)
			continue;
		out->clients += __atomic_load_n(&L->clients, __ATOMIC_RELAXED);
		out->keys += __atomic_load_n(&L->tab.keys, __ATOMIC_RELAXED);
		out->items += __atomic_load_n(&L->tab.items, __ATOMIC_RELAXED);
		out->prefixes += __atomic_load_n(&L->nprefixes, __ATOMIC_RELAXED);
	}
}

void rd_tracking_before_run(struct wc_lcore *lc)
{
	struct rd_trk_lcore *L = lc->trk;

	if (L && L->head.pend_keys)
		trk_bcast_flush(L);
}
