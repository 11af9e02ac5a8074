/*
 * migrate_cmd.c - MIGRATE host port key|"" db timeout [COPY] [REPLACE]
 * [AUTH pw | AUTH2 user pw] [KEYS key ...], Redis 7.0's command: the keys
 * go to another node as RESTORE (RESTORE-ASKING in cluster mode) commands
 * over a connection of this lcore (migrate_conn.h), and are deleted here
 * once the target took them (not with COPY).
 *
 * How it runs, on the connection's lcore, without holding it: the keys are
 * read lock-free (a missing one is skipped; none at all: +NOKEY); a round
 * writes AUTH (when given), SELECT (when the connection's db is not known
 * to be db), then one RESTORE per key with its remaining TTL in
 * milliseconds (0: none) and its value in DUMP's encoding (dump.h: the
 * encoder DUMP uses; a string memcached set with flags adds MCFLAGS n,
 * wirecache's own RESTORE option, which Redis would refuse), up to
 * MIG_ROUND_BYTES and MIG_ROUND_KEYS keys per round (at least one key,
 * so a value up to --max-value always goes; the next round follows the
 * replies, which the target sends only after it has read the round: the
 * send queue stays bounded); the session waits for the replies and is
 * resumed by them, a failure or the timeout (which bounds the connect and
 * every read). Redis's replies and texts: +OK, +NOKEY, "-IOERR error or
 * timeout connecting to the client", "-IOERR error or timeout reading|writing
 * to target instance", "-ERR Target instance replied with error: <its error
 * line>" (the first one: AUTH's, SELECT's, then the keys'); a socket error
 * before any reply is retried once on a new connection, as Redis does (not
 * after a timeout). A payload bigger than the target's proto-max-bulk-len
 * or --max-value is refused by the target: its error is reported as above.
 *
 * The delete never loses a write that raced the move. The keys the target
 * accepted in a round are deleted here by one owner call per partition
 * (its owner, maybe another lcore, as DEL does; the calls of a round are in
 * flight together, and each notes its keys' outcomes in their own entries,
 * which the session reads once every call completed), each key ONLY if its
 * live item there is still the version that was dumped: the same item, the
 * same CAS (every write of a key, a container's member included, writes a
 * new version of its item: store/container.h) and the same expiry. A key
 * that changed is dumped again and sent again with REPLACE, at most
 * MIG_TRIES times in all; then MIGRATE answers "-ERR ..." naming the key,
 * which stays here (the newest version) while the target may hold an older
 * copy. A key deleted (or expired) here meanwhile is deleted on the target
 * too: the next round sends DEL (after ASKING in cluster mode) instead of a
 * RESTORE, unless the key is back by then (then it goes again, with
 * REPLACE); these count as tries as well.
 *
 * In cluster mode the keys of one MIGRATE are in one slot (cluster.c:
 * CROSSSLOT), hence one partition; MIGRATE runs on a slot being migrated or
 * imported even for keys not here (no ASK), as in Redis. Not inside
 * MULTI/EXEC (a transaction runs on one lcore without waiting).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "net/tcp.h"
#include "redis/cmds.h"
#include "redis/dump.h"
#include "redis/keyev.h"
#include "redis/migrate_conn.h"
#include "redis/obj.h"
#include "redis/rdcont.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "store/item.h"
#include "store/part.h"

#define MIG_TRIES 3			/* sends of a key that keeps changing, at most */
#define MIG_ROUND_BYTES (1u << 20)	/* written per round before waiting for replies */
#define MIG_ROUND_KEYS 4096u		/* keys (RESTORE or DEL) per round, at most */
#define MIG_CHUNK_KEYS 1024u		/* key entries per scratch allocation (one arena chunk) */

enum { K_TODO = 0, K_SENT, K_ACCEPTED, K_DONE };

/* A key of the command: where it is, and the version that was sent. */
struct mig_key {
	const struct wc_item *it;
	uint64_t cas;
	uint32_t exptime;
	uint32_t arg;			/* its argument */
	uint16_t exp_ms;
	uint8_t st, tries;
	bool gone;			/* deleted here after the target took it: DEL it there */
	bool sent_del;			/* this round carries DEL for it */
	uint8_t del;			/* DEL_*: what its partition's owner did (delete_accepted) */
	uint16_t part;			/* its partition (index), for the deletes */
	uint32_t rep;			/* its reply in the round (the last, with ASKING) */
};

enum { S_START = 0, S_CONNECT, S_CONNECTED, S_SEND, S_REPLIES, S_DELETE, S_END };
enum { DEL_DONE = 1, DEL_GONE, DEL_CHANGED };

struct mig_state {
	uint32_t ip;
	uint16_t port;
	bool copy, replace, cluster;
	bool io_retried, del_calls, auth_err;
	uint8_t io;			/* enum wc_mig_io that ended it, 0: none */
	bool timed_out;
	int64_t db, timeout;
	uint32_t auth_user, auth_pw;	/* their arguments, 0: none */
	uint32_t nkeys;
	struct mig_key **chunk;		/* the keys, MIG_CHUNK_KEYS per chunk (key_at) */
	uint32_t round_max;		/* keys a round may carry (sent, res) */
	uint32_t *sent;			/* the keys of this round, in order */
	uint8_t *res;			/* the round's replies */
	uint32_t nsent, npro;		/* keys and AUTH/SELECT written this round */
	uint32_t nrep;			/* replies due this round */
	bool select_sent;
	uint32_t del_i;			/* the next partition to call on for the deletes */
	int64_t changed;		/* the key that kept changing (index), -1: none */
	bool target_err, nomem;
	struct wc_mig_conn *m;
	char err[WC_MIG_ERR_MAX];	/* the target's first error line */
};

struct mig_job {
	struct mig_state *st;
};

static inline struct mig_key *key_at(const struct mig_state *st, uint32_t i)
{
	return &st->chunk[i / MIG_CHUNK_KEYS][i % MIG_CHUNK_KEYS];
}

/*
 * The command's state in its scratch: the keys in chunks (an arena
 * allocation is at most one 64 KiB chunk), a round's bookkeeping for at most
 * MIG_ROUND_KEYS keys. NULL when the scratch cannot hold it.
 */
static struct mig_state *state_new(struct rd_session *s, const struct mig_state *tmp, uint32_t n)
{
	struct mig_state *st = rd_scratch(s, sizeof(*st));
	uint32_t nchunks = (n + MIG_CHUNK_KEYS - 1) / MIG_CHUNK_KEYS;

	if (!st)
		return NULL;
	*st = *tmp;
	st->round_max = n < MIG_ROUND_KEYS ? n : MIG_ROUND_KEYS;
	st->chunk = rd_scratch(s, (uint64_t)nchunks * sizeof(*st->chunk));
	st->sent = rd_scratch(s, (uint64_t)st->round_max * sizeof(*st->sent));
	/* a reply per key, one more per ASKING, and AUTH's and SELECT's */
	st->res = rd_scratch(s, 2 * (uint64_t)st->round_max + 2);
	if (!st->chunk || !st->sent || !st->res)
		return NULL;
	for (uint32_t c = 0; c < nchunks; c++) {
		uint32_t k = n - c * MIG_CHUNK_KEYS;

		st->chunk[c] = rd_scratch(s, (uint64_t)(k < MIG_CHUNK_KEYS ? k : MIG_CHUNK_KEYS) *
					      sizeof(struct mig_key));
		if (!st->chunk[c])
			return NULL;
	}
	return st;
}

/* ---- options ---- */

/* MIGRATE's keys (COMMAND GETKEYS, ACL, cluster): the key, or those after KEYS. */
static unsigned migrate_keys(const struct resp_cmd *cmd, uint32_t *pos, unsigned max)
{
	unsigned n = 0;

	if (cmd->argc < 6)
		return 0;
	for (uint32_t i = 6; i < cmd->argc; i++) {
		const struct resp_arg *a = resp_argv(cmd, i);

		if (resp_arg_is(a, "auth")) {
			i++;
		} else if (resp_arg_is(a, "auth2")) {
			i += 2;
		} else if (resp_arg_is(a, "keys")) {
			if (resp_argv(cmd, 3)->len != 0)
				break;
			for (uint32_t k = i + 1; k < cmd->argc && n < max; k++)
				pos[n++] = k;
			return n;
		}
	}
	if (resp_argv(cmd, 3)->len && max)
		pos[n++] = 3;
	return n;
}

/* Options, the integers, as Redis checks them; false: answered. */
static bool parse(struct rd_session *s, struct mig_state *st, uint32_t *first, uint32_t *n)
{
	*first = 3;
	*n = 1;
	for (uint32_t j = 6; j < rd_argc(s); j++) {
		uint32_t more = rd_argc(s) - 1 - j;

		if (rd_arg_is(s, j, "copy")) {
			st->copy = true;
		} else if (rd_arg_is(s, j, "replace")) {
			st->replace = true;
		} else if (rd_arg_is(s, j, "auth")) {
			if (!more) {
				rd_err_syntax(s);
				return false;
			}
			st->auth_user = 0;
			st->auth_pw = ++j;
		} else if (rd_arg_is(s, j, "auth2")) {
			if (more < 2) {
				rd_err_syntax(s);
				return false;
			}
			st->auth_user = ++j;
			st->auth_pw = ++j;
		} else if (rd_arg_is(s, j, "keys")) {
			if (rd_arg(s, 3)->len != 0) {
				rd_err(s, "ERR When using MIGRATE KEYS option, the key argument must be "
					  "set to the empty string");
				return false;
			}
			*first = j + 1;
			*n = rd_argc(s) - j - 1;
			break;
		} else {
			rd_err_syntax(s);
			return false;
		}
	}
	/* (the slow log does not keep the credentials) */
	if (st->auth_user && st->auth_user < 32)
		s->redact |= 1u << st->auth_user;
	if (st->auth_pw && st->auth_pw < 32)
		s->redact |= 1u << st->auth_pw;
	if (!rd_arg_ll(s, 5, &st->timeout) || !rd_arg_ll(s, 4, &st->db)) {
		rd_err_int(s);
		return false;
	}
	if (st->timeout <= 0)
		st->timeout = 1000;
	if (st->timeout > 24 * 3600 * 1000)
		st->timeout = 24 * 3600 * 1000;
	return true;
}

/* host (an IPv4 address) and port; false: nothing to connect to. */
static bool target(struct rd_session *s, struct mig_state *st)
{
	char host[64], port[16];
	const struct resp_arg *h = rd_arg(s, 1), *p = rd_arg(s, 2);
	struct in_addr a;
	long v;
	char *end;

	if (h->len >= sizeof(host) || p->len >= sizeof(port) || !p->len)
		return false;
	rd_arg_read(s, 1, 0, host, h->len);
	host[h->len] = 0;
	rd_arg_read(s, 2, 0, port, p->len);
	port[p->len] = 0;
	v = strtol(port, &end, 10);
	if (*end || v <= 0 || v > 65535 || inet_pton(AF_INET, host, &a) != 1)
		return false;
	st->ip = ntohl(a.s_addr);
	st->port = (uint16_t)v;
	return true;
}

/* ---- writing a round ---- */

static void put_arg(struct mc_out *o, const struct rd_session *s, uint32_t i)
{
	const struct resp_arg *a = rd_arg(s, i);
	uint8_t buf[512];

	resp_header(o, '$', (int64_t)a->len);
	for (uint64_t off = 0; off < a->len;) {
		uint64_t n = a->len - off < sizeof(buf) ? a->len - off : sizeof(buf);

		rd_arg_read(s, i, off, buf, n);
		mc_out_put(o, buf, n);
		off += n;
	}
	mc_out_put(o, "\r\n", 2);
}

struct prefix_arg {
	struct rd_session *s;
	struct mig_state *st;
	struct wc_mig_conn *m;
	const struct mig_key *k;
	int64_t ttl;
	uint32_t mcflags;	/* a string's memcached flags: sent as MCFLAGS (wirecache's own) */
};

/* What precedes a key's payload: the round's AUTH and SELECT (first key), RESTORE key ttl. */
static void prefix(void *arg, struct mc_out *o)
{
	struct prefix_arg *pa = arg;
	struct mig_state *st = pa->st;
	const struct resp_arg *k = pa->k ? rd_arg(pa->s, pa->k->arg) : NULL;
	bool replace = pa->k && (st->replace || pa->k->tries > 0);

	if (st->nsent == 0) {
		if (st->auth_pw) {
			resp_array(o, st->auth_user ? 3 : 2);
			resp_bulk(o, "AUTH", 4);
			if (st->auth_user)
				put_arg(o, pa->s, st->auth_user);
			put_arg(o, pa->s, st->auth_pw);
			st->npro++;
			st->nrep++;
		}
		st->select_sent = pa->m->last_db != st->db;
		if (st->select_sent) {
			resp_array(o, 2);
			resp_bulk(o, "SELECT", 6);
			resp_bulk_i64(o, st->db);
			st->npro++;
			st->nrep++;
		}
	}
	if (!pa->k)
		return;	/* (AUTH and SELECT before a DEL) */
	resp_array(o, 4 + (replace ? 1 : 0) + (pa->mcflags ? 2 : 0));
	if (st->cluster)
		resp_bulk(o, "RESTORE-ASKING", 14);
	else
		resp_bulk(o, "RESTORE", 7);
	resp_bulk(o, k->u.p, k->len);
	resp_bulk_i64(o, pa->ttl);
}

/* DEL key on the target (ASKING first in cluster mode), for key i deleted here meanwhile. */
static void write_del(struct rd_session *s, struct mig_state *st, struct wc_mig_conn *m,
		      struct mc_out *o, struct mig_key *k, uint32_t i)
{
	const struct resp_arg *a = rd_arg(s, k->arg);
	struct prefix_arg pa = { .s = s, .st = st, .m = m };

	prefix(&pa, o);		/* the round's AUTH and SELECT, if it is the first */
	if (st->cluster) {
		resp_array(o, 1);
		resp_bulk(o, "ASKING", 6);
		st->nrep++;
	}
	resp_array(o, 2);
	resp_bulk(o, "DEL", 3);
	resp_bulk(o, a->u.p, a->len);
	k->rep = st->nrep++;
	k->sent_del = true;
	k->st = K_SENT;
	st->sent[st->nsent++] = i;
}

/*
 * Write the next keys of a round. RD_DONE: the round is written (perhaps
 * empty); RD_BUSY: a container was caught mid-change before anything was
 * written, try again soon.
 */
static enum rd_res write_round(struct rd_session *s, struct mig_state *st, struct wc_mig_conn *m)
{
	struct mc_out *o = wc_mig_out(m);
	struct wc_lcore *lc = rd_lcore(s);
	uint64_t start = o->written;
	int64_t now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);

	for (uint32_t i = 0; i < st->nkeys && o->written - start < MIG_ROUND_BYTES &&
			     st->nsent < st->round_max; i++) {
		struct mig_key *k = key_at(st, i);
		const struct resp_arg *a = rd_arg(s, k->arg);
		struct rd_arena_mark mark = rd_arena_mark(s);
		struct prefix_arg pa = { .s = s, .st = st, .m = m, .k = k };
		struct wc_view v;
		uint64_t size = 0;
		int r;

		if (k->st != K_TODO)
			continue;
		if (!rd_lookup(s, a->u.p, a->len, &v,
			       WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_CAS)) {
			if (k->gone) {
				write_del(s, st, m, o, k, i);	/* the target's copy goes too */
				continue;
			}
			k->st = K_DONE;		/* gone (expired, deleted) since: skipped */
			continue;
		}
		if (v.exptime) {
			pa.ttl = wc_expiry_unix_ms(&rd_env(s)->ctx->clock, v.exptime, v.exp_ms) - now;
			if (pa.ttl < 0) {
				k->st = K_DONE;
				continue;
			}
			if (pa.ttl < 1)
				pa.ttl = 1;
		}
		pa.mcflags = v.type == WC_TYPE_STRING ? v.flags : 0;
		r = rd_dump_payload(s, a->u.p, a->len, &v, o, prefix, &pa, &size);
		rd_arena_release_since(s, &mark, rd_env(s)->stage);
		if (r == RD_DUMP_RETRY) {
			if (st->nsent == 0)
				return RD_BUSY;
			break;	/* what is written goes; this key in the next round */
		}
		if (r == RD_DUMP_ABSENT) {
			k->st = K_DONE;
			continue;
		}
		if (r == RD_DUMP_NOMEM) {
			st->nomem = true;
			break;
		}
		if (st->replace || k->tries > 0)
			resp_bulk(o, "REPLACE", 7);
		if (pa.mcflags) {
			resp_bulk(o, "MCFLAGS", 7);
			resp_bulk_i64(o, pa.mcflags);
		}
		k->sent_del = false;
		k->rep = st->nrep++;
		k->it = v.it;
		k->cas = v.cas;
		k->exptime = v.exptime;
		k->exp_ms = v.exp_ms;
		k->st = K_SENT;
		st->sent[st->nsent++] = i;
		lc->mig->st.bytes += size;
	}
	return RD_DONE;
}

/* ---- deleting what the target took ---- */

/* Key k (accepted, in o's partition): deleted if unchanged since dumped. */
static uint8_t del_one(struct rd_owner *o, const struct mig_key *k)
{
	const struct resp_arg *a = rd_arg(o->s, k->arg);
	uint64_t h = wc_hash(a->u.p, a->len);
	struct wc_item *it = wc_kv_find(o->part, o->ctx, a->u.p, a->len, h);
	uint32_t exptime, ms;

	if (!it)
		return DEL_GONE;
	wc_kv_expiry(it, &exptime, &ms);
	if (it != k->it || wc_owner_cas(o->part, it) != k->cas || exptime != k->exptime ||
	    ms != k->exp_ms)
		return DEL_CHANGED;	/* written since it was dumped: the target's copy is old */
	if (rd_obj_delete(o->part, o->ctx, a->u.p, a->len, h))
		rd_keyev_emit(o, RD_EV_DEL, a->u.p, a->len);
	return DEL_DONE;
}

/*
 * On partition arg0's owner: every key of the round the target accepted
 * there. Each outcome goes into the key's own entry (del), which only this
 * call writes; the session reads them after every call of the round completed.
 */
static void del_owner(struct rd_owner *o)
{
	const struct mig_job *j = rd_job_const(o->s);
	struct mig_state *st = j->st;

	for (uint32_t i = 0; i < st->nkeys; i++) {
		struct mig_key *k = key_at(st, i);

		if (k->st == K_ACCEPTED && k->part == o->arg0)
			k->del = del_one(o, k);
	}
}

/* What the owner did with key i. */
static void del_result(struct mig_state *st, uint32_t i)
{
	struct mig_key *k = key_at(st, i);
	uint8_t r = k->del;

	k->st = K_DONE;
	if (r != DEL_CHANGED && r != DEL_GONE)
		return;
	k->gone = r == DEL_GONE;
	if (++k->tries >= MIG_TRIES) {
		if (st->changed < 0)
			st->changed = i;
		return;
	}
	k->st = K_TODO;	/* dumped and sent again, with REPLACE (or deleted there) */
}

/*
 * Delete what the target accepted this round: one owner call per partition
 * holding such keys, all in flight together. RD_DONE: every accepted key
 * handled; RD_PENDING: calls in flight (re-entered when all completed);
 * RD_BUSY: the mailbox is full (re-entered to send the rest).
 */
static enum rd_res delete_accepted(struct rd_session *s, struct mig_state *st)
{
	const struct wc_app *app = rd_lcore(s)->app;

	if (st->copy) {
		for (uint32_t i = 0; i < st->nkeys; i++)
			if (key_at(st, i)->st == K_ACCEPTED)
				key_at(st, i)->st = K_DONE;
		return RD_DONE;
	}
	if (!st->del_calls) {
		st->del_calls = true;
		st->del_i = 0;
		for (uint32_t i = 0; i < st->nkeys; i++) {
			struct mig_key *k = key_at(st, i);
			const struct resp_arg *a = rd_arg(s, k->arg);
			struct rd_route rt;

			if (k->st != K_ACCEPTED)
				continue;
			rd_route_key(s, a->u.p, a->len, &rt);
			k->part = rt.part_idx;
			k->del = 0;
		}
	}
	for (; st->del_i < app->nparts; st->del_i++) {
		const struct mig_key *first = NULL;
		const struct resp_arg *a;
		struct rd_route rt;

		for (uint32_t i = 0; i < st->nkeys && !first; i++)
			if (key_at(st, i)->st == K_ACCEPTED && key_at(st, i)->part == st->del_i)
				first = key_at(st, i);
		if (!first)
			continue;
		a = rd_arg(s, first->arg);
		rd_route_key(s, a->u.p, a->len, &rt);
		if (rd_call(s, &rt, del_owner, false, st->del_i, a->u.p, a->len) == RD_BUSY)
			return RD_BUSY;	/* (the calls out complete meanwhile) */
	}
	if (rd_calls_out(s))
		return RD_PENDING;
	for (uint32_t i = 0; i < st->nkeys; i++)
		if (key_at(st, i)->st == K_ACCEPTED)
			del_result(st, i);
	st->del_calls = false;
	return RD_DONE;
}

/* ---- the replies ---- */

/* The round's replies are in (or the wait ended early): note what the target did. */
static void take_replies(struct rd_session *s, struct mig_state *st, struct wc_mig_conn *m)
{
	uint32_t got = m->got;
	bool pro_err = false;

	for (uint32_t i = 0; i < st->npro && i < got; i++)
		pro_err |= st->res[i] == WC_MIG_R_ERR;
	if ((pro_err || m->have_err) && !st->target_err) {
		st->target_err = true;
		snprintf(st->err, sizeof(st->err), "%s", m->err);
	}
	st->auth_err |= pro_err;
	for (uint32_t i = 0; i < st->nsent; i++) {
		struct mig_key *k = key_at(st, st->sent[i]);
		uint32_t r = k->rep;
		bool ok = !pro_err && r < got && st->res[r] == WC_MIG_R_OK;

		if (k->sent_del && st->cluster && ok)
			ok = st->res[r - 1] == WC_MIG_R_OK;	/* (its ASKING) */
		if (ok && !k->sent_del) {
			k->st = K_ACCEPTED;
			rd_lcore(s)->mig->st.keys++;
		} else {
			k->st = K_DONE;	/* refused, unanswered, or deleted there: done */
		}
	}
	if (m->io == WC_MIG_IO_OK && !st->target_err && st->select_sent)
		m->last_db = st->db;
	st->del_calls = false;
}

static void reply(struct rd_session *s, struct mig_state *st)
{
	struct wc_mig_stats *ms = &rd_lcore(s)->mig->st;

	if (st->target_err) {
		rd_err_fmt(s, "ERR Target instance replied with error: %s", st->err);
	} else if (st->io == WC_MIG_IO_CONNECT) {
		rd_err(s, "IOERR error or timeout connecting to the client");
	} else if (st->io == WC_MIG_IO_READ || st->io == WC_MIG_IO_WRITE) {
		rd_err_fmt(s, "IOERR error or timeout %s to target instance",
			   st->io == WC_MIG_IO_WRITE ? "writing" : "reading");
	} else if (st->nomem) {
		rd_err_scratch(s);
	} else if (st->changed >= 0) {
		const struct resp_arg *a = rd_arg(s, key_at(st, st->changed)->arg);

		rd_err_fmt(s, "ERR MIGRATE: key '%.*s' was written on every one of %d tries to move "
			      "it: it stays here (the target may hold an older copy)",
			   (int)(a->len > 128 ? 128 : a->len), (const char *)a->u.p, MIG_TRIES);
	} else {
		resp_ok(rd_out(s));
		return;
	}
	ms->errors++;
}

/* ---- the command ---- */

static enum rd_res start(struct rd_session *s, struct mig_job *j)
{
	struct mig_state tmp = { .changed = -1 }, *st;
	uint32_t first, n, found = 0;

	if (s->flags & RD_C_MULTI) {
		rd_err(s, "ERR MIGRATE is not supported inside MULTI/EXEC on this server");
		return RD_DONE;
	}
	if (!parse(s, &tmp, &first, &n))
		return RD_DONE;
	if (n == 0) {
		resp_simple(rd_out(s), "NOKEY");	/* (KEYS and no key) */
		return RD_DONE;
	}
	rd_lcore(s)->mig->st.calls++;
	st = state_new(s, &tmp, n);
	if (!st) {
		rd_err_scratch(s);
		rd_lcore(s)->mig->st.errors++;
		return RD_DONE;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct resp_arg *a = rd_arg(s, first + i);
		struct wc_view v;

		if (a->kind != RESP_ARG_PTR || !a->len || !rd_lookup(s, a->u.p, a->len, &v, 0))
			continue;
		*key_at(st, found++) = (struct mig_key){ .arg = first + i };
	}
	if (!found) {
		resp_simple(rd_out(s), "NOKEY");
		return RD_DONE;
	}
	st->nkeys = found;
	st->cluster = rd_server(s)->cluster;
	j->st = st;
	if (!target(s, st)) {
		st->io = WC_MIG_IO_CONNECT;
		s->step = S_END;
	} else {
		s->step = S_CONNECT;
	}
	return RD_DONE;
}

static bool any_todo(const struct mig_state *st)
{
	for (uint32_t i = 0; i < st->nkeys; i++)
		if (key_at(st, i)->st == K_TODO)
			return true;
	return false;
}

static enum rd_res migrate(struct rd_session *s)
{
	struct mig_job *j = rd_job(s);
	struct wc_lcore *lc = rd_lcore(s);
	struct mig_state *st;
	enum rd_res r;

	if (s->step == S_START) {
		if (!lc->mig) {
			rd_err(s, "IOERR error or timeout connecting to the client");
			return RD_DONE;
		}
		start(s, j);
		if (s->step == S_START)
			return RD_DONE;	/* answered */
	}
	st = j->st;
	for (;;) {
		switch (s->step) {
		case S_CONNECT:
			st->m = wc_mig_get(lc, st->ip, st->port, (uint32_t)st->timeout);
			if (!st->m) {
				st->io = WC_MIG_IO_CONNECT;
				s->step = S_END;
				break;
			}
			if (st->m->state == WC_MIG_UP) {
				s->step = S_SEND;
				break;
			}
			s->step = S_CONNECTED;
			if (!wc_mig_wait(lc, st->m, s, 0, st->res, (uint32_t)st->timeout)) {
				st->io = WC_MIG_IO_CONNECT;
				s->step = S_END;
				break;
			}
			return RD_PENDING;
		case S_CONNECTED:
			if (st->m->io != WC_MIG_IO_OK || st->m->state != WC_MIG_UP) {
				st->io = WC_MIG_IO_CONNECT;
				s->step = S_END;
				break;
			}
			s->step = S_SEND;
			break;
		case S_SEND:
			if (st->m->state != WC_MIG_UP || st->m->s || st->m->ip != st->ip ||
			    st->m->port != st->port) {
				s->step = S_CONNECT;	/* (it went, or another MIGRATE took it) */
				break;
			}
			st->nsent = st->npro = st->nrep = 0;
			st->select_sent = false;
			if (write_round(s, st, st->m) == RD_BUSY)
				return RD_BUSY;
			if (st->nsent == 0) {
				s->step = S_END;	/* nothing left to send */
				break;
			}
			s->step = S_REPLIES;
			if (!wc_mig_wait(lc, st->m, s, st->nrep, st->res,
					 (uint32_t)st->timeout)) {
				st->io = WC_MIG_IO_WRITE;
				for (uint32_t i = 0; i < st->nsent; i++)
					key_at(st, st->sent[i])->st = K_DONE;
				s->step = S_END;
				break;
			}
			return RD_PENDING;
		case S_REPLIES: {
			struct wc_mig_conn *m = st->m;

			if (m->io != WC_MIG_IO_OK && m->got == 0 && !m->timed_out && !m->proto_err &&
			    !st->io_retried) {
				/* a socket error before any reply: once more on a new connection */
				st->io_retried = true;
				for (uint32_t i = 0; i < st->nsent; i++)
					key_at(st, st->sent[i])->st = K_TODO;
				wc_mig_close(lc, m);
				s->step = S_CONNECT;
				break;
			}
			take_replies(s, st, m);
			if (m->io != WC_MIG_IO_OK) {
				st->io = m->io == WC_MIG_IO_CONNECT ? WC_MIG_IO_READ : m->io;
				wc_mig_close(lc, m);
			}
			s->step = S_DELETE;
			break;
		}
		case S_DELETE:
			r = delete_accepted(s, st);
			if (r != RD_DONE)
				return r;
			if (!st->io && !st->auth_err && !st->nomem && any_todo(st))
				s->step = S_CONNECT;	/* the next round (on the cached connection) */
			else
				s->step = S_END;
			break;
		default:
			reply(s, st);
			return RD_DONE;
		}
	}
}

/* ---- RESTORE-ASKING ---- */

/* RESTORE, ASKING implied (RD_F_ASKING): what MIGRATE sends in cluster mode. */
static enum rd_res restore_asking(struct rd_session *s)
{
	return rd_restore(s);
}

#define KS_W (RD_ACL_KEYSPACE | RD_ACL_WRITE)

struct rd_cmd rd_cmds_migrate[] = {
	{ .name = "migrate", .fn = migrate, .arity = -6,
	  .flags = RD_F_WRITE | RD_F_MOVABLE_KEYS,
	  .acl = KS_W | RD_ACL_SLOW | RD_ACL_DANGEROUS, .keys = { 3, 3, 1 },
	  .getkeys = migrate_keys, .group = "generic",
	  .summary = "Move keys to another node, atomically per key (COPY: copy them)",
	  .since = "2.6.0",
	  .complexity = "O(N) for N keys; each is serialized here and rebuilt there",
	  .key_flags = RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE | RD_KS_INCOMPLETE },
	RD_CMD_KS(RD_KS_OW | RD_KS_UPDATE,
		  "restore-asking", restore_asking, -4, RD_F_WRITE | RD_F_DENYOOM | RD_F_ASKING,
		  KS_W | RD_ACL_SLOW | RD_ACL_DANGEROUS, 1, 1, 1, "server",
		  "RESTORE for a slot being imported (what MIGRATE sends in cluster mode)", "3.0.0",
		  "O(1) to create the key, O(N*M) to rebuild N members of mean size M"),
	RD_CMD_END
};
