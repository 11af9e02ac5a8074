/*
 * cluster_setslot.c - CLUSTER SETSLOT <slot> MIGRATING|IMPORTING <node-id>
 * | STABLE | NODE <node-id>. The slot map lives in etcd, so a SETSLOT is
 * the control plane's to make (an etcd transaction, control/cmap.c's
 * cm_setslot, with Redis's error texts): the session checks what only the
 * dataplane can, queues the request in the node's CREQ table
 * (redis/creq.h, taken by the control plane with "CREQ NEXT") and waits
 * until the answer came AND, for a change that was made, this node runs a
 * map at least as new as the change (so the client's next command already
 * sees it). Then +OK, or -<the control plane's text>.
 *
 * The dataplane's own checks, in Redis 7.0's order: myself a master
 * ("Please use SETSLOT only with masters."), the slot ("Invalid or out of
 * range slot"), the action and its arguments; a node id that cannot be a
 * node's (not 40 lower-case hex characters: no map holds it) is refused
 * here with the text the control plane would give, after the ownership
 * check Redis makes first; and for NODE <other node> of a slot this node
 * owns, its keys: while it holds any, "Can't assign hashslot %d to a
 * different node while I still hold keys for this hash slot." (counted as
 * COUNTKEYSINSLOT does: redis/slotkeys.h). As in Redis the keys are
 * checked whenever myself owns the slot, migrating or not.
 *
 * Waiting: the handler returns RD_BUSY, and the transport runs it again on
 * the lcore's next pass (as any RD_BUSY command: mailbox full, a slot walk
 * slice); each run is a couple of atomic loads and the clock, no syscall.
 * Not answered within RD_CREQ_TAKE_MS by any control plane (or none is
 * attached, or all RD_CREQ_MAX entries are in use): "no control plane"
 * error; no map within RD_CREQ_WAIT_MS: a timeout error. Inside EXEC the
 * transaction's lcore cannot wait (and would hold up the grace period the
 * publication needs): SETSLOT there is refused.
 */
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "redis/cluster.h"
#include "redis/creq.h"
#include "redis/multi.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "redis/slotkeys.h"
#include "store/clock.h"
#include "wirecache/slot.h"

#define NO_CONTROL_PLANE "ERR no control plane is taking slot changes (is wirecache-cp running?)"
#define MAP_TIMEOUT "ERR timed out waiting for the new slot map"

enum { ST_CHECK = 0, ST_ASKED, ST_MAP };

struct setslot_job {		/* in the job area */
	uint64_t id;		/* the request */
	uint64_t epoch;		/* the map epoch the change is in */
	int64_t since_ms;	/* queued at */
	int16_t held;		/* the request's entry + 1; 0: none */
	uint8_t op;		/* enum rd_creq_op */
	uint16_t slot;
};

_Static_assert(sizeof(struct setslot_job) <= RD_JOB_BYTES, "setslot_job fits the job area");

static int64_t now_ms(struct rd_session *s)
{
	return wc_clock_unix_ms(&rd_env(s)->ctx->clock);
}

/* The node-id argument (argument 4), NUL-ended, cut to fit. */
static void node_arg(struct rd_session *s, char *buf, size_t cap)
{
	const struct resp_arg *a = rd_arg(s, 4);
	uint64_t n = a->len < cap - 1 ? a->len : cap - 1;

	rd_arg_read(s, 4, 0, buf, n);
	buf[n] = 0;
}

static uint16_t find_node(const struct rd_cluster_map *m, const char *id)
{
	for (uint16_t n = 0; n < m->nnodes; n++)
		if (strcmp(m->node[n].id, id) == 0)
			return n;
	return RD_NODE_NONE;
}

/* Queue the request and go on waiting for it (or say why not). */
static enum rd_res ask(struct rd_session *s, struct setslot_job *j, const char *mode)
{
	struct rd_creq_table *t = &rd_server(s)->creq;
	char node[41] = "";
	int i;

	if (j->op == RD_CREQ_FAILOVER)
		snprintf(node, sizeof(node), "%s", mode);
	else if (j->op != RD_CREQ_STABLE)
		node_arg(s, node, sizeof(node));	/* (checked: 40 hex characters) */
	if (rd_tx_running(s)) {
		rd_err_fmt(s, "ERR CLUSTER %s cannot wait for the cluster configuration inside "
			   "a transaction", j->op == RD_CREQ_FAILOVER ? "FAILOVER" : "SETSLOT");
		return RD_DONE;
	}
	if (!rd_creq_attached(t)) {
		rd_err(s, NO_CONTROL_PLANE);
		return RD_DONE;
	}
	j->since_ms = now_ms(s);
	i = rd_creq_submit(t, (enum rd_creq_op)j->op, j->slot, node, j->since_ms, &j->id);
	if (i < 0) {
		rd_err(s, NO_CONTROL_PLANE);	/* every entry in use: nobody takes them */
		return RD_DONE;
	}
	j->held = (int16_t)(i + 1);
	s->step = ST_ASKED;
	return RD_BUSY;
}

/* The checks before asking; RD_DONE when they answered. */
static enum rd_res check(struct rd_session *s, struct setslot_job *j)
{
	const struct rd_server *srv = rd_server(s);
	const struct rd_cluster_map *m = srv->cluster ? rd_cluster_map_get(srv) : NULL;
	char node[256];
	int64_t slot;
	uint32_t argc = rd_argc(s);
	bool mine, hex;

	if (!m) {
		rd_err(s, RD_CLUSTER_DISABLED);
		return RD_DONE;
	}
	if (m->myself < m->nnodes && (m->node[m->myself].flags & RD_NODE_REPLICA)) {
		rd_err(s, "ERR Please use SETSLOT only with masters.");
		return RD_DONE;
	}
	if (!rd_arg_ll(s, 2, &slot) || slot < 0 || slot >= (int64_t)WC_SLOTS) {
		rd_err(s, "ERR Invalid or out of range slot");
		return RD_DONE;
	}
	memset(j, 0, sizeof(*j));
	j->slot = (uint16_t)slot;
	if (rd_arg_is(s, 3, "migrating") && argc == 5)
		j->op = RD_CREQ_MIGRATING;
	else if (rd_arg_is(s, 3, "importing") && argc == 5)
		j->op = RD_CREQ_IMPORTING;
	else if (rd_arg_is(s, 3, "stable") && argc == 4)
		j->op = RD_CREQ_STABLE;
	else if (rd_arg_is(s, 3, "node") && argc == 5)
		j->op = RD_CREQ_NODE;
	else {
		rd_err(s, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try "
		       "CLUSTER HELP");
		return RD_DONE;
	}
	if (j->op == RD_CREQ_STABLE)
		return ask(s, j, NULL);
	node_arg(s, node, sizeof(node));
	hex = rd_arg(s, 4)->len == 40 && rd_cluster_is_node_id(node);
	mine = m->owner[j->slot] == m->myself;
	if (!hex) {
		/* no map holds such an id: the control plane's answer, in Redis's order */
		if (j->op == RD_CREQ_MIGRATING && !mine)
			rd_err_fmt(s, "ERR I'm not the owner of hash slot %u", j->slot);
		else if (j->op == RD_CREQ_IMPORTING && mine)
			rd_err_fmt(s, "ERR I'm already the owner of hash slot %u", j->slot);
		else if (j->op == RD_CREQ_NODE)
			rd_err_fmt(s, "ERR Unknown node %s", node);
		else
			rd_err_fmt(s, "ERR I don't know about node %s", node);
		return RD_DONE;
	}
	if (j->op == RD_CREQ_NODE && mine && m->myself < m->nnodes &&
	    strcmp(node, m->node[m->myself].id) != 0) {
		uint16_t n = find_node(m, node);

		/* (an unknown node or a replica: the control plane's refusal comes first) */
		if (n != RD_NODE_NONE && !(m->node[n].flags & RD_NODE_REPLICA) &&
		    rd_slot_key_count(rd_lcore(s)->app, j->slot) > 0) {
			rd_err_fmt(s, "ERR Can't assign hashslot %d to a different node while I "
				   "still hold keys for this hash slot.", (int)j->slot);
			return RD_DONE;
		}
	}
	return ask(s, j, NULL);
}

/* The request is answered or given up: the entry goes back. */
static void let_go(struct rd_session *s, struct setslot_job *j, bool answered)
{
	struct rd_creq_table *t = &rd_server(s)->creq;

	if (!j->held)
		return;
	if (answered)
		rd_creq_release(t, j->held - 1);
	else
		rd_creq_abandon(t, j->held - 1);
	j->held = 0;
}

/*
 * CLUSTER FAILOVER [FORCE|TAKEOVER], on a replica: its control plane makes
 * the failover (control/cpfailover.h: plain hands over from a live master
 * with nothing lost; FORCE and TAKEOVER promote at once) and the reply comes
 * once this node runs the map that has it master. Then the same steps as
 * SETSLOT's wait.
 */
enum rd_res rd_cluster_failover(struct rd_session *s)
{
	struct setslot_job *j = (struct setslot_job *)rd_job(s);
	const struct rd_server *srv = rd_server(s);
	const struct rd_cluster_map *m = srv->cluster ? rd_cluster_map_get(srv) : NULL;
	const char *mode = "";

	if (s->step != ST_CHECK)
		return rd_cluster_setslot(s);
	if (!m) {
		rd_err(s, RD_CLUSTER_DISABLED);
		return RD_DONE;
	}
	if (rd_argc(s) > 3) {
		rd_err_syntax(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 3) {
		if (rd_arg_is(s, 2, "force"))
			mode = "FORCE";
		else if (rd_arg_is(s, 2, "takeover"))
			mode = "TAKEOVER";
		else {
			rd_err_syntax(s);
			return RD_DONE;
		}
	}
	if (m->myself >= m->nnodes || !(m->node[m->myself].flags & RD_NODE_REPLICA)) {
		rd_err(s, "ERR You should send CLUSTER FAILOVER to a replica");
		return RD_DONE;
	}
	memset(j, 0, sizeof(*j));
	j->op = RD_CREQ_FAILOVER;
	return ask(s, j, mode);
}

enum rd_res rd_cluster_setslot(struct rd_session *s)
{
	struct setslot_job *j = (struct setslot_job *)rd_job(s);
	const char *err = NULL;
	int64_t now;

	switch (s->step) {
	case ST_CHECK:
		return check(s, j);
	case ST_ASKED:
		now = now_ms(s);
		switch (rd_creq_check(&rd_server(s)->creq, j->held - 1, now, &j->epoch, &err)) {
		case RD_CREQ_WAITING:
			break;
		case RD_CREQ_NOBODY:
			j->held = 0;	/* (withdrawn: the entry is free already) */
			rd_err(s, NO_CONTROL_PLANE);
			return RD_DONE;
		case RD_CREQ_ANSWERED_ERR:
			rd_err(s, err);
			let_go(s, j, true);
			return RD_DONE;
		case RD_CREQ_ANSWERED_OK:
			let_go(s, j, true);
			s->step = ST_MAP;
			return rd_cluster_setslot(s);
		}
		break;
	case ST_MAP: {
		const struct rd_cluster_map *m = rd_cluster_map_get(rd_server(s));

		if (m && m->current_epoch >= j->epoch) {
			resp_ok(rd_out(s));
			return RD_DONE;
		}
		now = now_ms(s);
		break;
	}
	default:
		return RD_DONE;
	}
	if (now - j->since_ms >= RD_CREQ_WAIT_MS) {
		let_go(s, j, false);
		rd_err(s, MAP_TIMEOUT);
		return RD_DONE;
	}
	return RD_BUSY;
}

void rd_cluster_setslot_gone(struct rd_session *s)
{
	struct setslot_job *j = (struct setslot_job *)rd_job(s);

	if (s->def && (s->def->fn == rd_cluster_setslot || s->def->fn == rd_cluster_failover) &&
	    s->step == ST_ASKED)
		let_go(s, j, false);
}
