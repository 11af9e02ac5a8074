/*
 * cpcreq.c - the CREQ thread: SETSLOT requests from the dataplane answered
 * with etcd transactions (see cpcreq.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpcluster.h"
#include "cpcreq.h"
#include "cpfailover.h"
#include "dpconn.h"

#define CREQ_POLL_MS 1000
#define CREQ_TRIES 5

struct cp_creq {
	struct cp_cluster *cl;
	struct dpconn dp;		/* the thread's own connection */
	struct etcd etcd;		/* and its own etcd client */
	char prefix[160];
	struct cm_map *map;		/* scratch */
	pthread_t thread;
	int stop;			/* __atomic */
	pthread_mutex_t mu;
	uint64_t ok, refused;
};

static void creq_log(const char *fmt, const char *a, const char *b)
{
	char when[32];
	time_t t = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime(&t));
	fprintf(stderr, "%s wirecache-cp: slot changes: ", when);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
}

int cp_creq_parse(const char *reply, char reqid[32], unsigned *slot, enum cm_setslot_op *op,
		  char id[CM_ID_LEN + 1])
{
	char buf[256], *w[6], *save = NULL, *end;
	unsigned n = 0;
	unsigned long s;

	snprintf(buf, sizeof(buf), "%s", reply);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == 6)
			return -1;
		w[n++] = t;
	}
	if (n == 1 && strcmp(w[0], "none") == 0)
		return 0;
	if (n < 4 || strlen(w[0]) >= 32 || strcmp(w[1], "SETSLOT") != 0 ||
	    cm_setslot_op_parse(w[3], op) != 0)
		return -1;
	s = strtoul(w[2], &end, 10);
	if (*end || end == w[2] || s >= CM_SLOTS)
		return -1;
	/* MIGRATING, IMPORTING and NODE name a node; STABLE none */
	if ((*op == CM_SETSLOT_STABLE) != (n == 4) || n > 5)
		return -1;
	id[0] = 0;
	if (n == 5) {
		if (strlen(w[4]) > CM_ID_LEN)
			return -1;
		strcpy(id, w[4]);
	}
	strcpy(reqid, w[0]);
	*slot = (unsigned)s;
	return 1;
}

static int etcd_err(const struct etcd *e, char *err, size_t errlen)
{
	if (e->unreachable)
		snprintf(err, errlen, CP_CREQ_ETCD_DOWN);
	else
		snprintf(err, errlen, "ERR the cluster configuration store (etcd) failed: %.150s",
			 e->err);
	return -1;
}

int cp_creq_apply(struct etcd *e, const char *prefix, const char *myself, unsigned slot,
		  enum cm_setslot_op op, const char *id, struct cm_map *m, uint64_t *epoch,
		  char *err, size_t errlen)
{
	char key[192], perr[200];

	snprintf(key, sizeof(key), "%smap", prefix);
	for (int tries = 0; tries < CREQ_TRIES; tries++) {
		struct etcd_range r;
		int64_t rev;
		char *text, why[256];
		bool won = false;
		int rc;

		if (etcd_get(e, key, false, &r) != 0)
			return etcd_err(e, err, errlen);
		if (r.n == 0) {
			etcd_range_free(&r);
			snprintf(err, errlen, "ERR the cluster has no slot map yet (wirecachectl "
				 "cluster create)");
			return -1;
		}
		rev = r.kvs[0].mod_rev;
		rc = cm_map_parse(r.kvs[0].value, r.kvs[0].vlen, m, perr, sizeof(perr));
		etcd_range_free(&r);
		if (rc != 0) {
			snprintf(err, errlen, "ERR the slot map in etcd is not valid: %.150s", perr);
			return -1;
		}
		rc = cm_setslot(m, myself, slot, op, id, err, errlen);
		if (rc < 0)
			return -1;
		*epoch = m->epoch;
		if (rc == 0)
			return 0;	/* already so: no transaction */
		if (!(text = cm_map_dumps_valid(m, why, sizeof(why)))) {
			snprintf(err, errlen, "ERR %s", why);
			return -1;
		}
		{
			struct etcd_cmp cmp = { key, ETCD_CMP_MOD, rev };
			struct etcd_op put = { key, text, strlen(text), 0 };

			rc = etcd_txn(e, &cmp, 1, &put, 1, &won);
		}
		free(text);
		if (rc != 0)
			return etcd_err(e, err, errlen);
		if (won)
			return 0;
		/* another writer changed the map meanwhile: read it again */
	}
	snprintf(err, errlen, "ERR the slot map kept changing (%d tries): try again", CREQ_TRIES);
	return -1;
}

/* The replica's replication offset, from its dataplane (REPLSTATE ... offset=N). */
static bool replica_offset(void *arg, uint64_t *off)
{
	struct cp_creq *q = arg;
	char reply[WC_CP_LINE_MAX];

	return dpconn_command(&q->dp, "REPLSTATE", reply, sizeof(reply), 2000) == 0 &&
	       cp_replstate_offset(reply, off);
}

/* "<id> FAILOVER <mode|->" (CLUSTER FAILOVER): 1 when it was one (*rc, err, epoch set). */
static int failover_request(struct cp_creq *q, const char *reply, char reqid[32], int *rc,
			    uint64_t *epoch, char *err, size_t errlen)
{
	char word[16] = "", mode_w[16] = "", self[CM_ID_LEN + 1];
	enum cp_failover_mode mode;

	if (sscanf(reply, "%31s %15s %15s", reqid, word, mode_w) < 2 ||
	    strcmp(word, "FAILOVER") != 0)
		return 0;
	if (cp_failover_mode_parse(mode_w, &mode) != 0) {
		snprintf(err, errlen, "ERR Invalid CLUSTER FAILOVER option");
		*rc = -1;
	} else if (!cp_cluster_self_id(q->cl, self)) {
		snprintf(err, errlen, "ERR the control plane does not know this node yet: try again");
		*rc = -1;
	} else {
		*rc = cp_failover_manual(&q->etcd, q->prefix, self, mode, replica_offset, q, epoch,
					 err, errlen);
		creq_log("CLUSTER FAILOVER %s: %s", mode_w[0] ? mode_w : "(plain)",
			 *rc == 0 ? "done" : err);
	}
	return 1;
}

/* Answer one request; false when the connection failed. */
static bool answer(struct cp_creq *q, const char *reply)
{
	char reqid[32], id[CM_ID_LEN + 1], self[CM_ID_LEN + 1], err[220], line[WC_CP_LINE_MAX],
		back[128];
	unsigned slot;
	enum cm_setslot_op op;
	uint64_t epoch = 0;
	int rc = 0;

	if (failover_request(q, reply, reqid, &rc, &epoch, err, sizeof(err)))
		goto done;
	rc = cp_creq_parse(reply, reqid, &slot, &op, id);
	if (rc == 0)
		return true;
	if (rc < 0) {
		creq_log("unexpected reply to CREQ NEXT: %.150s%s", reply, "");
		/* a request we cannot read: answer it if its id can be told, so no client hangs */
		if (sscanf(reply, "%31s", reqid) != 1 || strcmp(reqid, "none") == 0)
			return true;
		snprintf(err, sizeof(err), "ERR the control plane could not read this request");
		rc = -1;
	} else if (!cp_cluster_self_id(q->cl, self)) {
		snprintf(err, sizeof(err), "ERR the control plane does not know this node yet: try "
			 "again");
		rc = -1;
	} else {
		rc = cp_creq_apply(&q->etcd, q->prefix, self, slot, op, id[0] ? id : NULL, q->map,
				   &epoch, err, sizeof(err));
	}
done:
	if (rc == 0)
		snprintf(line, sizeof(line), "CREQ DONE %s OK %llu", reqid,
			 (unsigned long long)epoch);
	else
		snprintf(line, sizeof(line), "CREQ DONE %s ERR %.200s", reqid, err);
	pthread_mutex_lock(&q->mu);
	if (rc == 0)
		q->ok++;
	else
		q->refused++;
	pthread_mutex_unlock(&q->mu);
	/* the new map goes to the dataplane now, not when the watch tells */
	if (rc == 0)
		cp_cluster_wake(q->cl);
	return dpconn_command(&q->dp, line, back, sizeof(back), 5000) >= 0;
}

static void pause_ms(struct cp_creq *q, unsigned ms)
{
	for (unsigned t = 0; t < ms && !__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE); t += 50)
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
}

static void *creq_main(void *arg)
{
	struct cp_creq *q = arg;
	char reply[WC_CP_LINE_MAX], err[256], cmd[32];
	bool said_unsupported = false, said_detached = false;

	snprintf(cmd, sizeof(cmd), "CREQ NEXT %u", CREQ_POLL_MS);
	while (!__atomic_load_n(&q->stop, __ATOMIC_ACQUIRE)) {
		int rc;

		if (!dpconn_attached(&q->dp)) {
			if (dpconn_attach(&q->dp, err, sizeof(err)) != 0) {
				said_detached = true;
				pause_ms(q, 1000);
				continue;
			}
			if (said_detached)
				creq_log("attached to %s again%s", q->dp.path, "");
			said_detached = false;
		}
		rc = dpconn_command(&q->dp, cmd, reply, sizeof(reply), CREQ_POLL_MS + 4000);
		if (rc < 0)
			continue;	/* detached: the dataplane went away; attach again */
		if (rc > 0) {
			/* a dataplane without CREQ (older than M3): try again now and then */
			if (!said_unsupported)
				creq_log("the dataplane refuses CREQ (%.150s): SETSLOT is not "
					 "served%s", reply, "");
			said_unsupported = true;
			pause_ms(q, 5000);
			continue;
		}
		said_unsupported = false;
		answer(q, reply);
	}
	return NULL;
}

struct cp_creq *cp_creq_start(struct cp_cluster *cl, const struct cp_creq_opts *o, char *err,
			      size_t errlen)
{
	struct cp_creq *q = calloc(1, sizeof(*q));

	if (!q || !(q->map = malloc(sizeof(*q->map)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/*
	 * A slot change's client waits for its answer however long it takes
	 * (creq.h): an etcd slowed by a busy machine gets CP_CREQ_ETCD_MIN_MS,
	 * not the lease's short timeout, before the change is called failed.
	 */
	if (etcd_init(&q->etcd, o->etcd, o->etcd_timeout_ms > CP_CREQ_ETCD_MIN_MS
						 ? o->etcd_timeout_ms : CP_CREQ_ETCD_MIN_MS) != 0) {
		snprintf(err, errlen, "--etcd: %s", q->etcd.err);
		goto fail;
	}
	q->cl = cl;
	dpconn_init(&q->dp, o->socket);
	snprintf(q->prefix, sizeof(q->prefix), "%s", o->prefix);
	pthread_mutex_init(&q->mu, NULL);
	if (pthread_create(&q->thread, NULL, creq_main, q) != 0) {
		snprintf(err, errlen, "cannot start the slot-change thread");
		pthread_mutex_destroy(&q->mu);
		etcd_free(&q->etcd);
		goto fail;
	}
	return q;
fail:
	if (q)
		free(q->map);
	free(q);
	return NULL;
}

void cp_creq_stop(struct cp_creq *q)
{
	if (!q)
		return;
	__atomic_store_n(&q->stop, 1, __ATOMIC_RELEASE);
	pthread_join(q->thread, NULL);
	dpconn_detach(&q->dp);
	etcd_free(&q->etcd);
	pthread_mutex_destroy(&q->mu);
	free(q->map);
	free(q);
}

void cp_creq_counts(struct cp_creq *q, uint64_t *ok, uint64_t *refused)
{
	*ok = *refused = 0;
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	*ok = q->ok;
	*refused = q->refused;
	pthread_mutex_unlock(&q->mu);
}
