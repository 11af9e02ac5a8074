/*
 * cpfailover.c - candidacy, ranking and the promotion transaction (see
 * cpfailover.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cpfailover.h"

static bool alive(const struct cp_failover_view *v, const char *id)
{
	for (unsigned i = 0; i < v->nalive; i++)
		if (strcmp(v->alive[i], id) == 0)
			return true;
	return false;
}

int cp_failover_promote(struct etcd *e, const char *prefix, const struct cm_map *map,
			int64_t rev, const char *id, bool require_dead, char *err, size_t errlen)
{
	static struct cm_map m;	/* one thread at a time promotes (the cluster thread, ctl) */
	char mapkey[200], nodekey[200], why[200], *text;
	struct etcd_cmp cmp[2];
	struct etcd_op put;
	int r;
	bool won = false;

	m = *map;
	r = cm_map_find(&m, id);
	if (r < 0 || !m.nodes[r].replica) {
		snprintf(err, errlen, "node %.40s is not a replica in the map", id);
		return -1;
	}
	snprintf(nodekey, sizeof(nodekey), "%snodes/%s", prefix, m.nodes[r].master);
	if (cm_failover(&m, id, err, errlen) != 0)
		return -1;
	if (!(text = cm_map_dumps_valid(&m, why, sizeof(why)))) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	snprintf(mapkey, sizeof(mapkey), "%smap", prefix);
	cmp[0] = (struct etcd_cmp){ mapkey, ETCD_CMP_MOD, rev };
	cmp[1] = (struct etcd_cmp){ nodekey, ETCD_CMP_CREATE, 0 };	/* the master is gone */
	put = (struct etcd_op){ mapkey, text, strlen(text), 0 };
	r = etcd_txn(e, cmp, require_dead ? 2 : 1, &put, 1, &won);
	free(text);
	if (r != 0) {
		snprintf(err, errlen, "%s", e->err);
		return -1;
	}
	return won ? 0 : 1;
}

struct cand {
	char id[CM_ID_LEN + 1];
	uint64_t offset;
};

static int by_rank(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset > y->offset ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The alive replicas of master that stand: ranked into c; returns how many. */
static int read_candidates(const struct cp_failover_view *v, const char *master, struct cand *c,
			   unsigned max)
{
	char key[200];
	struct etcd_range r;
	unsigned n = 0;

	snprintf(key, sizeof(key), "%sfailover/%s/", v->prefix, master);
	if (etcd_get(v->etcd, key, true, &r) != 0)
		return -1;
	for (size_t i = 0; i < r.n && n < max; i++) {
		const char *id = r.kvs[i].key + strlen(key);
		int k = cm_map_find(v->map, id);
		json_error_t je;
		json_t *o;

		if (!cm_valid_id(id) || k < 0 || !v->map->nodes[k].replica ||
		    strcmp(v->map->nodes[k].master, master) != 0 || !alive(v, id))
			continue;
		o = json_loadb(r.kvs[i].value, r.kvs[i].vlen, 0, &je);
		snprintf(c[n].id, sizeof(c[n].id), "%s", id);
		c[n].offset = o && json_is_integer(json_object_get(o, "offset"))
				      ? (uint64_t)json_integer_value(json_object_get(o, "offset"))
				      : 0;
		json_decref(o);
		n++;
	}
	etcd_range_free(&r);
	qsort(c, n, sizeof(*c), by_rank);
	return (int)n;
}

static void stand_down(struct cp_failover *f, const struct cp_failover_view *v)
{
	char key[200];

	if (f->master[0] && f->posted_ms) {
		snprintf(key, sizeof(key), "%sfailover/%s/%s", v->prefix, f->master, v->self);
		etcd_delete(v->etcd, key, false, NULL);	/* (its lease takes it anyway) */
	}
	f->master[0] = 0;
	f->posted_ms = 0;
	f->next_ms = 0;
}

int cp_failover_step(struct cp_failover *f, const struct cp_failover_view *v, int64_t now_ms,
		     unsigned *wake_ms, char *log, size_t logn)
{
	int me = v->map ? cm_map_find(v->map, v->self) : -1, mi, rank = -1, n;
	const char *master;
	struct cand c[CM_NODES_MAX];
	char key[200], val[64], err[200];

	*wake_ms = 0;
	log[0] = 0;
	if (me < 0 || !v->map->nodes[me].replica || !v->lease) {
		stand_down(f, v);
		return 0;
	}
	master = v->map->nodes[me].master;
	mi = cm_map_find(v->map, master);
	if (alive(v, master) || mi < 0 || cm_map_slots_of(v->map, mi) == 0) {
		stand_down(f, v);	/* the master is there (or has nothing to take over) */
		return 0;
	}
	if (strcmp(f->master, master) != 0) {
		stand_down(f, v);
		snprintf(f->master, sizeof(f->master), "%s", master);
	}
	if (!f->posted_ms) {
		snprintf(key, sizeof(key), "%sfailover/%s/%s", v->prefix, master, v->self);
		snprintf(val, sizeof(val), "{\"offset\":%llu}", (unsigned long long)v->offset);
		if (etcd_put(v->etcd, key, val, strlen(val), v->lease) != 0)
			return -1;
		f->posted_ms = now_ms;
		f->candidacies++;
		snprintf(log, logn, "master %.8s is gone: standing for its slots (offset %llu)",
			 master, (unsigned long long)v->offset);
		*wake_ms = CP_FAILOVER_COLLECT_MS;
		return 0;
	}
	if ((n = read_candidates(v, master, c, CM_NODES_MAX)) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(c[i].id, v->self) == 0)
			rank = i;
	if (rank < 0)
		rank = n;	/* not listed yet (its put is not seen): behind the others */
	{
		int64_t due = f->posted_ms + CP_FAILOVER_COLLECT_MS + (int64_t)rank * CP_FAILOVER_RANK_MS;

		if (now_ms < due) {
			*wake_ms = (unsigned)(due - now_ms);
			return 0;
		}
	}
	switch (cp_failover_promote(v->etcd, v->prefix, v->map, v->map_rev, v->self, true, err,
				    sizeof(err))) {
	case 0:
		f->promotions++;
		snprintf(f->last, sizeof(f->last), "promoted in place of %.40s (rank %d of %d, "
			 "offset %llu), epoch %llu", master, rank, n, (unsigned long long)v->offset,
			 (unsigned long long)(v->map->epoch + 1));
		snprintf(log, logn, "failover: %s", f->last);
		snprintf(key, sizeof(key), "%sfailover/%s/", v->prefix, master);
		etcd_delete(v->etcd, key, true, NULL);
		f->master[0] = 0;
		f->posted_ms = 0;
		return 1;
	case 1:
		f->lost++;	/* another candidate won, or the master came back: read again */
		*wake_ms = CP_FAILOVER_RANK_MS;
		return 1;
	default:
		snprintf(log, logn, "failover attempt failed: %s", err);
		return -1;
	}
}

json_t *cp_failover_json(const struct cp_failover *f)
{
	return json_pack("{s:o,s:I,s:I,s:I,s:o}", "standing_for",
			 f->master[0] ? json_string(f->master) : json_null(), "candidacies",
			 (json_int_t)f->candidacies, "promotions", (json_int_t)f->promotions,
			 "lost", (json_int_t)f->lost, "last",
			 f->last[0] ? json_string(f->last) : json_null());
}

int cp_failover_mode_parse(const char *w, enum cp_failover_mode *mode)
{
	if (!w || !*w || strcmp(w, "-") == 0)
		*mode = CP_FAILOVER_PLAIN;
	else if (strcasecmp(w, "FORCE") == 0)
		*mode = CP_FAILOVER_FORCE;
	else if (strcasecmp(w, "TAKEOVER") == 0)
		*mode = CP_FAILOVER_TAKEOVER;
	else
		return -1;
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The map and its revision. 0, or -1 (err). */
static int read_map(struct etcd *e, const char *prefix, struct cm_map *m, int64_t *rev, char *err,
		    size_t errlen)
{
	char key[200], why[200];
	struct etcd_range r;
	int rc;

	snprintf(key, sizeof(key), "%smap", prefix);
	if (etcd_get(e, key, false, &r) != 0) {
		snprintf(err, errlen, "ERR etcd: %.180s", e->err);
		return -1;
	}
	if (r.n != 1) {
		etcd_range_free(&r);
		snprintf(err, errlen, "ERR the cluster has no slot map");
		return -1;
	}
	*rev = r.kvs[0].mod_rev;
	rc = cm_map_parse(r.kvs[0].value, r.kvs[0].vlen, m, why, sizeof(why));
	etcd_range_free(&r);
	if (rc != 0)
		snprintf(err, errlen, "ERR the slot map in etcd is not valid: %.150s", why);
	return rc;
}

static bool key_exists(struct etcd *e, const char *key, bool *exists)
{
	struct etcd_range r;

	if (etcd_get(e, key, false, &r) != 0)
		return false;
	*exists = r.n > 0;
	etcd_range_free(&r);
	return true;
}

/* Plain: the master fences its writes, the replica catches up. 0, or -1 (err). */
static int hand_over(struct etcd *e, const char *prefix, const char *master,
		     bool (*offset)(void *arg, uint64_t *off), void *arg, char *err, size_t errlen)
{
	char pause[200], ok[200], val[80];
	int64_t lease = 0, t0;
	uint64_t last = 0, cur = 0;
	unsigned still = 0;
	bool exists = false;

	snprintf(pause, sizeof(pause), "%spause/%s", prefix, master);
	snprintf(ok, sizeof(ok), "%spause-ok/%s", prefix, master);
	snprintf(val, sizeof(val), "{\"asked_ms\":%lld}", (long long)now_ms());
	/* a 5 s lease: a replica that dies meanwhile does not leave the master fenced */
	if (etcd_lease_grant(e, 5, &lease, NULL) != 0 ||
	    etcd_put(e, pause, val, strlen(val), lease) != 0) {
		snprintf(err, errlen, "ERR etcd: %.180s", e->err);
		return -1;
	}
	for (t0 = now_ms(); now_ms() - t0 < 3000; sleep_ms(50))
		if (key_exists(e, ok, &exists) && exists)
			break;
	if (!exists) {
		snprintf(err, errlen, "ERR the master did not stop its writes in time (is its "
			 "control plane running?)");
		return -1;
	}
	/* caught up: the offset holds still for 300 ms */
	for (t0 = now_ms(); now_ms() - t0 < 3000 && still < 3; sleep_ms(100)) {
		if (!offset(arg, &cur)) {
			still = 0;
			continue;
		}
		still = cur == last ? still + 1 : 0;
		last = cur;
	}
	if (still < 3) {
		snprintf(err, errlen, "ERR the replica did not catch up with its master in time");
		return -1;
	}
	return 0;
}

int cp_failover_manual(struct etcd *e, const char *prefix, const char *self,
		       enum cp_failover_mode mode, bool (*offset)(void *arg, uint64_t *off),
		       void *arg, uint64_t *epoch, char *err, size_t errlen)
{
	static struct cm_map m;	/* (callers are serialized: the CREQ thread) */
	char master[CM_ID_LEN + 1], key[200], why[200];
	int64_t rev = 0;
	int me, rc = -1;
	bool alive_m = false;

	if (read_map(e, prefix, &m, &rev, err, errlen) != 0)
		return -1;
	me = cm_map_find(&m, self);
	if (me < 0 || !m.nodes[me].replica) {
		snprintf(err, errlen, "ERR You should send CLUSTER FAILOVER to a replica");
		return -1;
	}
	snprintf(master, sizeof(master), "%s", m.nodes[me].master);
	snprintf(key, sizeof(key), "%snodes/%s", prefix, master);
	if (!key_exists(e, key, &alive_m)) {
		snprintf(err, errlen, "ERR etcd: %.180s", e->err);
		return -1;
	}
	if (mode == CP_FAILOVER_PLAIN) {
		if (!alive_m) {
			snprintf(err, errlen, "ERR Master is down or failed, please use CLUSTER "
				 "FAILOVER FORCE");
			return -1;
		}
		if (hand_over(e, prefix, master, offset, arg, err, errlen) != 0)
			goto out;
		if (read_map(e, prefix, &m, &rev, err, errlen) != 0)
			goto out;
	}
	for (int tries = 0; tries < 5; tries++) {
		int r = cp_failover_promote(e, prefix, &m, rev, self, false, why, sizeof(why));

		if (r == 0) {
			*epoch = m.epoch + 1;
			rc = 0;
			goto out;
		}
		if (r < 0) {
			snprintf(err, errlen, "ERR %.180s", why);
			goto out;
		}
		if (read_map(e, prefix, &m, &rev, err, errlen) != 0)	/* changed meanwhile */
			goto out;
		me = cm_map_find(&m, self);
		if (me < 0 || !m.nodes[me].replica) {
			snprintf(err, errlen, "ERR this node is no longer a replica");
			goto out;
		}
	}
	snprintf(err, errlen, "ERR the slot map kept changing: try again");
out:
	if (mode == CP_FAILOVER_PLAIN) {
		snprintf(key, sizeof(key), "%spause/%s", prefix, master);
		etcd_delete(e, key, false, NULL);
		snprintf(key, sizeof(key), "%spause-ok/%s", prefix, master);
		etcd_delete(e, key, false, NULL);
	}
	return rc;
}

bool cp_replstate_offset(const char *reply, uint64_t *off)
{
	for (const char *p = reply; (p = strstr(p, "offset=")) != NULL; p += 7)
		if (p == reply || p[-1] == ' ') {
			*off = strtoull(p + 7, NULL, 10);
			return true;
		}
	return false;
}
