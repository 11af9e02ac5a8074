/*
 * cluster.c - Redis Cluster on the dataplane: the check every command
 * passes before it runs in cluster mode (its keys in one slot, else
 * CROSSSLOT; the slot served here, else MOVED/ASK/TRYAGAIN/CLUSTERDOWN per
 * the slot map, cluster_map.h), READONLY, READWRITE and ASKING, and the
 * family table (the CLUSTER command itself is in cluster_cmds.c).
 *
 * EXEC is checked as Redis does: the keys of every queued command together
 * must be in one slot, else CROSSSLOT and the transaction is discarded.
 */
#include <stdio.h>
#include <string.h>

#include "redis/cluster.h"
#include "redis/cmds.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "store/kv.h"
#include "wirecache/slot.h"

uint16_t rd_cluster_arg_slot(const struct resp_arg *a, const struct mc_inq *in)
{
	uint8_t buf[1024];
	uint64_t open = UINT64_MAX, close = UINT64_MAX, from = 0, to = a->len;
	uint16_t crc = 0;

	if (a->kind == RESP_ARG_PTR)
		return wc_key_slot(a->u.p, a->len);
	/* the hash tag: the first '{', then the first '}' after it */
	for (uint64_t off = 0; off < a->len && close == UINT64_MAX; off += sizeof(buf)) {
		uint64_t n = a->len - off < sizeof(buf) ? a->len - off : sizeof(buf);

		resp_arg_read(a, in, off, buf, n);
		for (uint64_t i = 0; i < n; i++) {
			if (open == UINT64_MAX) {
				if (buf[i] == '{')
					open = off + i;
			} else if (buf[i] == '}') {
				close = off + i;
				break;
			}
		}
	}
	if (close != UINT64_MAX && close > open + 1) {
		from = open + 1;
		to = close;
	}
	for (uint64_t off = from; off < to;) {
		uint64_t n = to - off < sizeof(buf) ? to - off : sizeof(buf);

		resp_arg_read(a, in, off, buf, n);
		crc = wc_crc16_update(crc, buf, n);
		off += n;
	}
	return crc & (WC_SLOTS - 1);
}

void rd_keyfold_init(struct rd_keyfold *f, const struct rd_cluster_map *m)
{
	memset(f, 0, sizeof(*f));
	f->q.slot = -1;
	f->m = m;
}

static bool same_key(const struct resp_arg *a, const struct resp_arg *b)
{
	/* scattered keys (over 16 KiB) count as different: only TRYAGAIN depends on it */
	return a->kind == RESP_ARG_PTR && b->kind == RESP_ARG_PTR && a->len == b->len &&
	       memcmp(a->u.p, b->u.p, a->len) == 0;
}

bool rd_keyfold_add(struct rd_keyfold *f, const struct rd_cmd *def, const struct resp_cmd *cmd,
		    const struct mc_inq *in, uint32_t *pos, unsigned maxpos)
{
	unsigned n = rd_cmd_key_args(def, cmd, pos, maxpos);

	if (def->flags & RD_F_WRITE)
		f->q.write = true;
	for (unsigned i = 0; i < n; i++) {
		const struct resp_arg *k = resp_argv(cmd, pos[i]);
		int32_t slot = rd_cluster_arg_slot(k, in);

		if (!f->any) {
			f->first = *k;
			f->any = true;
			f->q.slot = slot;
		} else if (!same_key(&f->first, k)) {
			if (slot != f->q.slot) {
				f->q.cross_slot = true;
				return false;
			}
			f->q.multiple_keys = true;
		}
		if (f->m && f->exists && !f->q.shard_pubsub &&
		    rd_cluster_slot_open(f->m, (unsigned)f->q.slot)) {
			if (f->exists(f->exists_arg, k))
				f->q.existing++;
			else
				f->q.missing++;
		}
	}
	return true;
}

/* ---- the check before a command runs ---- */

struct admit_ctx {
	struct rd_session *s;
	struct rd_keyfold f;
	uint32_t stack[256];
};

/* Is key here? (when its slot is moving: a lock-free read, not counted as a hit or miss) */
static bool key_exists(void *arg, const struct resp_arg *k)
{
	struct rd_session *s = arg;
	struct rd_route rt;
	struct wc_view v;

	if (k->kind != RESP_ARG_PTR || k->len == 0 || k->len > WC_KEY_MAX)
		return false;
	rd_route_key(s, k->u.p, k->len, &rt);
	return wc_get(rt.part, rd_env(s)->ctx, k->u.p, k->len, wc_hash(k->u.p, k->len),
		      WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v);
}

static bool fold(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd)
{
	struct admit_ctx *a = arg;
	uint32_t *pos = a->stack;
	unsigned max = sizeof(a->stack) / sizeof(a->stack[0]);

	if (cmd->argc > max) {
		/* every argument might be a key (at most argc of them) */
		uint32_t *big = rd_scratch(a->s, (uint64_t)cmd->argc * sizeof(*big));

		if (big) {
			pos = big;
			max = cmd->argc;
		}
	}
	return rd_keyfold_add(&a->f, def, cmd, a->s->in, pos, max);
}

static bool has_keys(const struct rd_cmd *c)
{
	return c->keys.first > 0 || c->getkeys;
}

/*
 * A write admitted on a slot this node is migrating away found its keys
 * here; by the time its owner call runs, a MIGRATE may have moved them (its
 * delete runs on the same owner). The owner call then answers ASK instead
 * of writing a key the target already holds (rd_call_ask_guard). Not for
 * commands queued in MULTI or EXEC: a transaction's keys are checked at EXEC.
 */
static void ask_guard(struct rd_session *s, const struct rd_cluster_map *m,
		      const struct rd_slot_query *q, bool exec)
{
	if (!m || q->slot < 0 || !q->write || q->asking || exec || (s->flags & RD_C_MULTI) ||
	    m->owner[q->slot] != m->myself || m->migrating[q->slot] == RD_NODE_NONE)
		return;
	s->flags |= RD_C_ASK_GUARD;
	s->ask_slot = (uint16_t)q->slot;
	s->ask_node = m->migrating[q->slot];
}

bool rd_cluster_admit(struct rd_session *s, const struct rd_cmd *c)
{
	struct rd_server *srv = rd_server(s);
	const struct rd_cluster_map *m;
	struct admit_ctx a;
	enum rd_redirect r;
	uint16_t node = RD_NODE_NONE;
	bool exec, migrate;
	char msg[160];

	if (!srv->cluster)
		return true;
	exec = !has_keys(c) && strcmp(c->name, "exec") == 0;
	if (!has_keys(c) && !(exec && (s->flags & RD_C_MULTI)))
		return true;	/* no keys: served by any node */
	m = rd_cluster_map_get(srv);
	a.s = s;
	rd_keyfold_init(&a.f, m);
	a.f.exists = key_exists;
	a.f.exists_arg = s;
	a.f.q.shard_pubsub = !exec && (c->flags & RD_F_PUBSUB) && (c->key_flags & RD_KS_NOT_KEY);
	if (exec)
		rd_multi_each(s, fold, &a);
	else
		fold(&a, c, &s->cmd);
	a.f.q.asking = (s->flags & RD_C_ASKING) || (c->flags & RD_F_ASKING);
	a.f.q.readonly = (s->flags & RD_C_READONLY) != 0;
	if (m)
		r = rd_cluster_decide(m, &a.f.q, &node);
	else
		r = a.f.q.slot >= 0 ? RD_REDIR_DOWN_UNBOUND : RD_REDIR_NONE;
	/*
	 * MIGRATE runs where its slot is moving out or in, keys here or not
	 * (Redis); it deletes only what it moved, itself: no ASK guard
	 */
	migrate = strcmp(c->name, "migrate") == 0;
	if ((r == RD_REDIR_ASK || r == RD_REDIR_TRYAGAIN || r == RD_REDIR_MOVED) && m && migrate &&
	    rd_cluster_slot_open(m, (unsigned)a.f.q.slot))
		r = RD_REDIR_NONE;
	if (r == RD_REDIR_NONE) {
		if (!migrate)
			ask_guard(s, m, &a.f.q, exec);
		return true;
	}
	if (m)
		rd_cluster_redirect_text(m, r, a.f.q.slot, node, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "CLUSTERDOWN Hash slot not served");
	rd_err(s, msg);
	if (exec) {
		rd_multi_discard(s);
		rd_watch_clear(s);
	} else if (s->flags & RD_C_MULTI) {
		s->flags |= RD_C_DIRTY_EXEC;
	}
	return false;
}

bool rd_cluster_ask_instead(const struct rd_session *s, struct wc_part *part, struct wc_ctx *ctx,
			    const uint8_t *key, uint32_t klen, struct mc_out *out)
{
	const struct rd_cluster_map *m;
	char msg[160];

	if (wc_kv_find(part, ctx, key, klen, wc_hash(key, klen)))
		return false;
	m = rd_cluster_map_get(rd_server((struct rd_session *)(uintptr_t)s));
	if (!m || s->ask_node >= m->nnodes)
		return false;
	rd_cluster_redirect_text(m, RD_REDIR_ASK, s->ask_slot, s->ask_node, msg, sizeof(msg));
	mc_out_put(out, "-", 1);
	mc_out_put(out, msg, strlen(msg));
	mc_out_put(out, "\r\n", 2);
	return true;
}

/* ---- READONLY, READWRITE, ASKING ---- */

static enum rd_res readonly(struct rd_session *s)
{
	if (!rd_server(s)->cluster) {
		rd_err(s, RD_CLUSTER_DISABLED);
		return RD_DONE;
	}
	s->flags |= RD_C_READONLY;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res readwrite(struct rd_session *s)
{
	if (!rd_server(s)->cluster) {
		rd_err(s, RD_CLUSTER_DISABLED);
		return RD_DONE;
	}
	s->flags &= ~RD_C_READONLY;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res asking(struct rd_session *s)
{
	if (!rd_server(s)->cluster) {
		rd_err(s, RD_CLUSTER_DISABLED);
		return RD_DONE;
	}
	s->flags |= RD_C_ASKING;
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* ASKING lasts one command (outside MULTI, where it lasts until EXEC), as in Redis. */
void rd_cluster_command_done(struct rd_session *s)
{
	s->flags &= ~RD_C_ASK_GUARD;
	if ((s->flags & RD_C_ASKING) && !(s->flags & RD_C_MULTI) && (!s->def || s->def->fn != asking))
		s->flags &= ~RD_C_ASKING;
}

#define CL (RD_ACL_CONNECTION | RD_ACL_FAST)

struct rd_cmd rd_cmds_cluster[] = {
	RD_CMD("readonly", readonly, 1, RD_F_FAST | RD_F_LOADING | RD_F_STALE, CL, 0, 0, 0,
	       "cluster", "Let this connection read from a replica", "3.0.0", "O(1)"),
	RD_CMD("readwrite", readwrite, 1, RD_F_FAST | RD_F_LOADING | RD_F_STALE, CL, 0, 0, 0,
	       "cluster", "Undo READONLY", "3.0.0", "O(1)"),
	RD_CMD("asking", asking, 1, RD_F_FAST, CL, 0, 0, 0, "cluster",
	       "The next command may use a slot being imported", "3.0.0", "O(1)"),
	{ .name = "cluster", .arity = -2, .flags = 0, .acl = RD_ACL_SLOW, .sub = rd_cluster_sub,
	  .group = "cluster", .summary = "Commands about Redis Cluster", .since = "3.0.0",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
