/*
 * pubsub.c - the Pub/Sub commands (see pubsub.h): SUBSCRIBE, UNSUBSCRIBE,
 * PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH and SPUBLISH;
 * RESP2's subscribed mode (which commands it allows, PING's form), RESET's
 * part, the channel arguments ACL checks, and PUBLISH's delivery to other
 * lcores (owner calls; inside a transaction, once it has run: multi.h) and,
 * for PUBLISH, to the cluster's other nodes (cluster/link.h). PUBSUB's
 * introspection is pubsub_intro.c, the tables pubsub_table.c.
 */
#include <string.h>

#include "cluster/link.h"
#include "core/app.h"
#include "core/bus.h"
#include "redis/acl.h"
#include "redis/clients.h"
#include "redis/cmds.h"
#include "redis/multi.h"
#include "redis/pubsub_impl.h"
#include "redis/push.h"
#include "redis/rdutil.h"

static const char *const sub_word[PS_KINDS] = { "subscribe", "ssubscribe", "psubscribe" };
static const char *const unsub_word[PS_KINDS] = { "unsubscribe", "sunsubscribe", "punsubscribe" };

/* The lcore the connection lives on (EXEC may run the command on another). */
static bool on_home(struct rd_session *s)
{
	return rd_lcore(s)->id == s->push.home;
}

/*
 * Where (un)subscribe confirmations go: the reply, except that CLIENT
 * REPLY OFF/SKIP does not silence them (Redis sends them as pushes).
 */
static struct mc_out *conf_out(struct rd_session *s)
{
	if ((s->flags & (RD_C_REPLY_OFF | RD_C_REPLY_SKIP)) && !(s->flags & RD_C_MULTI) &&
	    s->conn_out)
		return s->conn_out;
	return rd_out(s);
}

/* What Redis counts in a confirmation: channels and patterns, or shard channels. */
static int64_t sub_count(const struct rd_session *s, uint8_t kind)
{
	return kind == PS_SHARD ? s->sub.nssub : (int64_t)s->sub.nsub + s->sub.npsub;
}

static void confirm(struct rd_session *s, const char *word, const uint8_t *name, uint32_t len,
		    bool has_name, uint8_t kind)
{
	struct mc_out *o = conf_out(s);

	resp_push(o, s->proto, 3);
	resp_bulk_str(o, word);
	if (has_name)
		resp_bulk(o, name, len);
	else
		resp_null(o, s->proto);
	resp_int(o, sub_count(s, kind));
}

static void update_flag(struct rd_session *s)
{
	if (s->sub.nsub + s->sub.npsub + s->sub.nssub == 0)
		s->flags &= ~RD_C_PUBSUB;
}

/* Inside a transaction that runs on another lcore: the command runs again at home, later. */
static bool not_here(struct rd_session *s)
{
	if (on_home(s))
		return false;
	if (!rd_tx_defer(s, RD_TX_RUN_HOME, 0))
		rd_err(s, "ERR a subscription inside a transaction that runs on another core");
	return true;
}

static enum rd_res do_subscribe(struct rd_session *s, uint8_t kind)
{
	struct rd_pubsub_lc *ps = ps_of(rd_lcore(s));

	if (kind == PS_SHARD && (s->flags & RD_C_MULTI)) {
		/* (Redis: EXEC denies blocking, and SSUBSCRIBE knows no exception) */
		rd_err(s, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
		return RD_DONE;
	}
	if (not_here(s))
		return RD_DONE;
	for (uint32_t j = 1; j < rd_argc(s); j++) {
		if (!rd_argp(s, j)) {
			rd_err(s, "ERR channel name too long");
			return RD_DONE;
		}
	}
	for (uint32_t j = 1; j < rd_argc(s); j++) {
		const struct resp_arg *a = rd_arg(s, j);

		if (ps_subscribe(ps, s, kind, a->u.p, a->len) < 0) {
			rd_err(s, "ERR out of memory for subscriptions");
			break;
		}
		s->flags |= RD_C_PUBSUB;
		confirm(s, sub_word[kind], a->u.p, a->len, true, kind);
	}
	s->flags |= RD_C_PUBSUB;
	update_flag(s);
	return RD_DONE;
}

static enum rd_res do_unsubscribe(struct rd_session *s, uint8_t kind)
{
	struct rd_pubsub_lc *ps = ps_of(rd_lcore(s));

	if (not_here(s))
		return RD_DONE;
	if (rd_argc(s) == 1) {
		struct ps_link *l = s->sub.head, *next;
		unsigned n = 0;

		for (; l; l = next) {
			struct mc_out *o;

			next = l->snext;
			if (l->n->kind != kind)
				continue;
			/* the name goes with its last subscriber: written before the unlink */
			o = conf_out(s);
			resp_push(o, s->proto, 3);
			resp_bulk_str(o, unsub_word[kind]);
			resp_bulk(o, l->n->name, l->n->len);
			ps_unlink(ps, l);
			resp_int(o, sub_count(s, kind));
			n++;
		}
		if (!n)
			confirm(s, unsub_word[kind], NULL, 0, false, kind);
	} else {
		for (uint32_t j = 1; j < rd_argc(s); j++) {
			const struct resp_arg *a = rd_arg(s, j);

			if (a->kind == RESP_ARG_PTR)
				(void)ps_unsubscribe(ps, s, kind, a->u.p, a->len);
			if (a->kind == RESP_ARG_PTR) {
				confirm(s, unsub_word[kind], a->u.p, a->len, true, kind);
			} else {
				/* (nobody can listen to a name this long) */
				struct mc_out *o = conf_out(s);
				uint8_t buf[4096];

				resp_push(o, s->proto, 3);
				resp_bulk_str(o, unsub_word[kind]);
				resp_header(o, '$', a->len);
				for (uint64_t off = 0; off < a->len; off += sizeof(buf)) {
					uint64_t k = a->len - off < sizeof(buf) ? a->len - off :
										    sizeof(buf);

					rd_arg_read(s, j, off, buf, k);
					mc_out_put(o, buf, k);
				}
				mc_out_put(o, "\r\n", 2);
				resp_int(o, sub_count(s, kind));
			}
		}
	}
	update_flag(s);
	return RD_DONE;
}

static enum rd_res subscribe(struct rd_session *s)
{
	return do_subscribe(s, PS_CHANNEL);
}

static enum rd_res psubscribe(struct rd_session *s)
{
	return do_subscribe(s, PS_PATTERN);
}

static enum rd_res ssubscribe(struct rd_session *s)
{
	return do_subscribe(s, PS_SHARD);
}

static enum rd_res unsubscribe(struct rd_session *s)
{
	return do_unsubscribe(s, PS_CHANNEL);
}

static enum rd_res punsubscribe(struct rd_session *s)
{
	return do_unsubscribe(s, PS_PATTERN);
}

static enum rd_res sunsubscribe(struct rd_session *s)
{
	return do_unsubscribe(s, PS_SHARD);
}

/* ---- PUBLISH ---- */

static enum rd_res publish(struct rd_session *s);
static enum rd_res spublish(struct rd_session *s);

/* The job area of a PUBLISH. */
struct pub_job {
	uint8_t kind;
};

static struct ps_msg msg_of(const struct rd_session *s, uint32_t i)
{
	const struct resp_arg *a = resp_argv(&s->cmd, i);

	if (a->kind == RESP_ARG_PTR)
		return (struct ps_msg){ .p = a->u.p, .len = (uint32_t)a->len };
	return (struct ps_msg){ .arg = a, .in = s->in, .len = (uint32_t)a->len };
}

/* On each lcore with subscriptions: deliver there, reading the publisher's arguments. */
static void publish_owner(struct rd_owner *o)
{
	struct wc_lcore *lc = rd_owner_lcore(o);
	const struct rd_session *s = o->s;
	const struct pub_job *j = (const void *)s->job;
	const struct resp_arg *ch = resp_argv(&s->cmd, 1);
	struct ps_msg m = msg_of(s, 2);

	/* what the publisher's writes told this lcore by bus (keyspace events) goes first */
	if (lc->id != s->push.home && lc->bus)
		(void)wc_bus_drain(lc, 64);
	o->acc += ps_deliver(lc->pubsub, j->kind, ch->u.p, (uint32_t)ch->len, &m);
}

/*
 * Inside EXEC (one lcore, no waiting): deliver on the lcore the transaction
 * runs on; the connection's lcore delivers on the others once it is over
 * (rd_pubsub_tx_owner) and the reply counts them all (multi.h). The
 * publisher's own subscriptions get it inside EXEC's reply, before the
 * count, as in Redis (pubsub.h: a transaction's own pushes).
 */
static void publish_in_tx(struct rd_session *s, uint8_t kind)
{
	struct wc_lcore *lc = rd_lcore(s);
	const struct resp_arg *ch = rd_arg(s, 1);
	struct ps_msg m = msg_of(s, 2);
	bool own = rd_pubsub_own_in_reply(s);
	int64_t n = own ? ps_deliver_self(s, rd_out(s), kind, ch->u.p, (uint32_t)ch->len, &m) : 0;

	rd_pubsub_skip(lc, own ? s->id : 0);
	n += ps_deliver(lc->pubsub, kind, ch->u.p, (uint32_t)ch->len, &m);
	rd_pubsub_skip(lc, 0);

	if (!rd_tx_defer(s, RD_TX_COUNT, n)) {
		/* (one lcore: this is the connection's, and the other nodes get it now) */
		if (kind == PS_CHANNEL)
			wc_link_publish(lc, ch->u.p, (uint32_t)ch->len, rd_arg(s, 2), s->in);
		resp_int(rd_out(s), n);
	}
}

/* One PUBLISH of a transaction on lcore arg (rd_tx_each_count). */
static void tx_publish_one(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd,
			   int64_t *acc)
{
	struct wc_lcore *lc = arg;
	const struct resp_arg *ch = resp_argv(cmd, 1), *msg = resp_argv(cmd, 2);
	uint8_t kind = def->fn == spublish ? PS_SHARD : PS_CHANNEL;
	struct ps_msg m = msg->kind == RESP_ARG_PTR ?
				  (struct ps_msg){ .p = msg->u.p, .len = (uint32_t)msg->len } :
				  (struct ps_msg){ .arg = msg, .len = (uint32_t)msg->len };
	unsigned n;

	if (ch->kind != RESP_ARG_PTR)
		return;
	n = ps_deliver(lc->pubsub, kind, ch->u.p, (uint32_t)ch->len, &m);
	if (n)
		__atomic_add_fetch(acc, (int64_t)n, __ATOMIC_RELAXED);
}

void rd_pubsub_tx_owner(struct rd_owner *o)
{
	struct wc_lcore *lc = rd_owner_lcore(o);

	if (lc->id == rd_tx_lcore(o->s))
		return;	/* (delivered there while the transaction ran) */
	/* what the transaction told this lcore by bus (its keyspace events) goes first */
	if (lc->id != o->s->push.home && lc->bus)
		(void)wc_bus_drain(lc, 64);
	/* (the publisher had its own in its reply) */
	rd_pubsub_skip(lc, rd_pubsub_own_in_reply(o->s) ? o->s->id : 0);
	rd_tx_each_count(o->s, tx_publish_one, lc);
	rd_pubsub_skip(lc, 0);
}

/* One PUBLISH of a transaction to the other nodes (rd_tx_each_count, on the connection's lcore). */
static void tx_cluster_one(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd,
			   int64_t *acc)
{
	const struct resp_arg *ch = resp_argv(cmd, 1);

	(void)acc;
	if (def->fn == publish && ch->kind == RESP_ARG_PTR)
		wc_link_publish(arg, ch->u.p, (uint32_t)ch->len, resp_argv(cmd, 2), NULL);
}

void rd_pubsub_tx_cluster(struct rd_session *s)
{
	rd_tx_each_count(s, tx_cluster_one, rd_lcore(s));
}

static enum rd_res do_publish(struct rd_session *s, uint8_t kind)
{
	struct pub_job *j = (void *)s->job;
	enum rd_res r;

	if (s->step == 0) {
		if (!rd_argp(s, 1)) {
			resp_int(rd_out(s), 0);	/* (nobody can listen to a name this long) */
			return RD_DONE;
		}
		if (s->flags & RD_C_MULTI) {
			publish_in_tx(s, kind);
			return RD_DONE;
		}
		j->kind = kind;
		s->acc = 0;
	}
	r = rd_fanout_lcores(s, publish_owner, rd_pubsub_lcore_active);
	if (r != RD_DONE)
		return r;
	/*
	 * then to the other nodes (a shard channel stays within its shard); the
	 * reply counts this node's receivers, as Redis Cluster's does
	 */
	if (kind == PS_CHANNEL)
		wc_link_publish(rd_lcore(s), rd_argp(s, 1), (uint32_t)rd_arg(s, 1)->len,
				rd_arg(s, 2), s->in);
	resp_int(rd_out(s), s->acc);
	return RD_DONE;
}

static enum rd_res publish(struct rd_session *s)
{
	return do_publish(s, PS_CHANNEL);
}

static enum rd_res spublish(struct rd_session *s)
{
	return do_publish(s, PS_SHARD);
}

void rd_pubsub_init(void)
{
	/* (no bus message of its own: a transaction's PUBLISH reaches other lcores by owner calls) */
}

/* ---- the session's side ---- */

static bool is_cmd(const struct rd_cmd *c, rd_handler fn)
{
	return c->fn == fn;
}

bool rd_pubsub_resp2_mode(const struct rd_session *s)
{
	return (s->flags & RD_C_PUBSUB) && s->proto == 2;
}

bool rd_pubsub_admit(struct rd_session *s, const struct rd_cmd *c)
{
	char name[128];
	const struct rd_cmd *parent;

	if (!rd_pubsub_resp2_mode(s))
		return true;
	if (is_cmd(c, subscribe) || is_cmd(c, psubscribe) || is_cmd(c, ssubscribe) ||
	    is_cmd(c, unsubscribe) || is_cmd(c, punsubscribe) || is_cmd(c, sunsubscribe))
		return true;
	parent = rd_cmd_parent(c);
	if (!parent && (!strcmp(c->name, "ping") || !strcmp(c->name, "quit") ||
			!strcmp(c->name, "reset")))
		return true;
	if (parent)
		snprintf(name, sizeof(name), "%s|%s", parent->name, c->name);
	else
		snprintf(name, sizeof(name), "%s", c->name);
	rd_err_fmt(s, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
		      "QUIT / RESET are allowed in this context", name);
	if (s->flags & RD_C_MULTI)
		s->flags |= RD_C_DIRTY_EXEC;
	return false;
}

void rd_pubsub_reset(struct rd_session *s)
{
	if (on_home(s))
		rd_pubsub_release(rd_lcore(s), s);
}

bool rd_pubsub_acl_channels(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t *first,
			    uint32_t *last, bool *pattern)
{
	if (cmd->argc < 2)
		return false;
	*pattern = false;
	if (is_cmd(c, publish) || is_cmd(c, spublish)) {
		*first = *last = 1;
		return true;
	}
	if (is_cmd(c, subscribe) || is_cmd(c, ssubscribe) || is_cmd(c, psubscribe)) {
		*first = 1;
		*last = cmd->argc - 1;
		*pattern = is_cmd(c, psubscribe);
		return true;
	}
	return false;
}

/* ---- ACL SETUSER: subscribers whose rights were taken go ---- */

static bool lost_rights(void *arg, const struct rd_client_view *v)
{
	struct rd_session *s = (struct rd_session *)(uintptr_t)v->s;
	uint64_t uid = *(const uint64_t *)arg;

	if (!(s->flags & RD_C_PUBSUB) || (uid && s->acl_uid != uid))
		return false;	/* (uid 0: any subscriber, after DELUSER or ACL LOAD) */
	for (const struct ps_link *l = s->sub.head; l; l = l->snext)
		if (!rd_acl_may_listen(s, l->n->name, l->n->len, l->n->kind == PS_PATTERN))
			return true;
	return false;
}

void rd_pubsub_acl_kill_owner(struct rd_owner *o)
{
	uint64_t uid;

	memcpy(&uid, o->s->job, sizeof(uid));
	o->acc += rd_tcp_kill(rd_owner_lcore(o), lost_rights, &uid);
}

#define PS (RD_F_PUBSUB | RD_F_LOADING | RD_F_STALE)

struct rd_cmd rd_cmds_pubsub[] = {
	RD_CMD("subscribe", subscribe, -2, PS | RD_F_NOSCRIPT, 0, 0, 0, 0, "pubsub",
	       "Listen to messages published to channels", "2.0.0", "O(N) for N channels"),
	RD_CMD("unsubscribe", unsubscribe, -1, PS | RD_F_NOSCRIPT, 0, 0, 0, 0, "pubsub",
	       "Stop listening to channels (all of them without arguments)", "2.0.0",
	       "O(N) for N channels"),
	RD_CMD("psubscribe", psubscribe, -2, PS | RD_F_NOSCRIPT, 0, 0, 0, 0, "pubsub",
	       "Listen to messages published to channels matching glob patterns", "2.0.0",
	       "O(N) for N patterns"),
	RD_CMD("punsubscribe", punsubscribe, -1, PS | RD_F_NOSCRIPT, 0, 0, 0, 0, "pubsub",
	       "Stop listening to patterns (all of them without arguments)", "2.0.0",
	       "O(N+M) for N patterns and M subscriptions of the client"),
	/* (a shard channel is a key to the cluster's slot check and COMMAND INFO alone) */
	RD_CMD_KS(RD_KS_NOT_KEY, "ssubscribe", ssubscribe, -2, PS | RD_F_NOSCRIPT, 0, 1, -1, 1,
		  "pubsub", "Listen to messages published to shard channels", "7.0.0",
		  "O(N) for N shard channels"),
	RD_CMD_KS(RD_KS_NOT_KEY, "sunsubscribe", sunsubscribe, -1, PS | RD_F_NOSCRIPT, 0, 1, -1,
		  1, "pubsub", "Stop listening to shard channels (all of them without arguments)",
		  "7.0.0", "O(N) for N shard channels"),
	RD_CMD("publish", publish, 3, PS | RD_F_FAST | RD_F_MAY_REPLICATE, 0, 0, 0, 0, "pubsub",
	       "Send a message to a channel's listeners; answers how many got it", "2.0.0",
	       "O(N+M): N subscribers of the channel, M patterns"),
	RD_CMD_KS(RD_KS_NOT_KEY, "spublish", spublish, 3, PS | RD_F_FAST | RD_F_MAY_REPLICATE, 0,
		  1, 1, 1, "pubsub",
		  "Send a message to a shard channel's listeners; answers how many got it",
		  "7.0.0", "O(N) for N subscribers of the shard channel"),
	RD_CMD_END
};
