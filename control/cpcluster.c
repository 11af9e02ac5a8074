/*
 * cpcluster.c - registration, watch and map pushing of one wirecache-cp
 * (see cpcluster.h). One thread does all the etcd and dataplane work; the
 * watch thread only marks the state dirty and wakes it; HTTP threads read
 * a copy of the state under the mutex.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpcluster.h"
#include "cpcreq.h"
#include "cpfailover.h"
#include "cplease.h"
#include "etcd.h"

struct cp_cluster {
	pthread_mutex_t mu;		/* everything below read by HTTP threads */
	pthread_cond_t cv;		/* wakes the thread: dirty or stop */
	struct cp_core *core;
	struct etcd etcd;		/* the thread's own */
	struct etcd_watch *watch;
	struct cp_creq *creq;		/* SETSLOT requests (its own thread) */
	struct cp_lease *lease_thr;	/* the lease and the write fence (their own thread) */
	struct cp_failover fo;		/* standing in for a master that is gone */
	unsigned wake_ms;		/* the failover wants the next step this soon */
	pthread_t thread;
	bool stop, dirty;
	char urls[512], name[64], prefix[160], http[64];
	unsigned node_timeout_ms;

	/* this node, from the dataplane's ID */
	bool have_id, dp_cluster;
	struct cm_node self;
	uint64_t id_attaches;		/* the attachment ID was asked on */
	char id_error[200];

	/* etcd */
	bool etcd_up, etcd_ever;
	char etcd_error[256];
	int64_t lease;			/* the lease the registration was put with */
	uint64_t lease_gen;		/* ... its generation (cplease.h) */
	int64_t read_ms, registered_ms;
	bool registered;
	/* what the dataplane was told to replicate ("" nothing yet, "-" none: a master) */
	char told_master[CM_ID_LEN + 1];
	bool pause_asked;		/* a replica asks this master to hand over (pause/<id>) */
	bool pause_acked;		/* ... and was told its writes stopped (pause-ok/<id>) */
	uint64_t told_attaches;
	char repl_error[256];

	/* the registry and the map as last read */
	char (*alive)[CM_ID_LEN + 1];
	unsigned nalive;
	struct cm_map *map;
	bool have_map;
	int64_t map_rev;
	char map_error[256];

	/* the dataplane's side */
	bool dp_confirmed;
	uint64_t dp_epoch;		/* the epoch its COMMIT reported */
	int64_t pushed_rev;
	uint64_t pushed_attaches;
	char push_error[256];
	uint64_t pushes;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const struct cp_cluster *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(const struct cp_cluster *cl, const char *fmt, ...)
{
	char when[32], msg[512];
	time_t t = time(NULL);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime(&t));
	fprintf(stderr, "%s wirecache-cp[%s]: cluster %s: %s\n", when, cl->core->node, cl->name, msg);
}

int cp_cluster_prefix(const char *name, char *out, size_t n)
{
	if (!name || !*name || strlen(name) > 63)
		return -1;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return -1;
	return snprintf(out, n, "/wirecache/%s/", name) < (int)n ? 0 : -1;
}

int cp_cluster_parse_id(const char *reply, struct cm_node *n, bool *cluster)
{
	char buf[256], *tok, *save = NULL;
	unsigned seen = 0;

	memset(n, 0, sizeof(*n));
	*cluster = false;
	snprintf(buf, sizeof(buf), "%s", reply);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;

		if (!eq)
			continue;
		*eq++ = 0;
		if (strcmp(tok, "id") == 0) {
			if (!cm_valid_id(eq))
				return -1;
			strcpy(n->id, eq);
			seen |= 1;
		} else if (strcmp(tok, "ip") == 0) {
			if (strlen(eq) >= sizeof(n->ip))
				return -1;
			strcpy(n->ip, eq);
			seen |= 2;
		} else if (strcmp(tok, "cluster") == 0) {
			*cluster = strcmp(eq, "1") == 0;
		} else if (strcmp(tok, "port") == 0 || strcmp(tok, "cport") == 0 ||
			   strcmp(tok, "mcport") == 0) {
			errno = 0;
			v = strtoul(eq, &end, 10);
			if (errno || *end || end == eq || v > 65535)
				return -1;
			if (tok[0] == 'p')
				n->port = (unsigned)v, seen |= 4;
			else if (tok[0] == 'c')
				n->cport = (unsigned)v, seen |= 8;
			else
				n->mcport = (unsigned)v, seen |= 16;
		}
	}
	/* the codec checks the address and the ports the same way for every record */
	if (seen != 31)
		return -1;
	{
		json_t *o = cm_node_to_json(n, false);
		struct cm_node back;
		char err[160];
		int rc = o ? cm_node_from_json(o, &back, err, sizeof(err)) : -1;

		json_decref(o);
		return rc;
	}
}

/* ---- the thread's steps ---- */

static void set_etcd(struct cp_cluster *cl, bool up)
{
	pthread_mutex_lock(&cl->mu);
	if (up != cl->etcd_up || !cl->etcd_ever) {
		if (up)
			logf_(cl, "etcd reachable at %s", cl->urls);
		else
			logf_(cl, "%s; serving with the last map (epoch %llu)", cl->etcd.err,
			      (unsigned long long)(cl->have_map ? cl->map->epoch : 0));
	}
	cl->etcd_up = up;
	cl->etcd_ever = true;
	if (!up)
		snprintf(cl->etcd_error, sizeof(cl->etcd_error), "%s", cl->etcd.err);
	else
		cl->etcd_error[0] = 0;
	pthread_mutex_unlock(&cl->mu);
}

/* Ask the dataplane who it is (again after every re-attachment). */
static void learn_id(struct cp_cluster *cl)
{
	uint64_t att = cp_core_attaches(cl->core);
	char reply[256];
	struct cm_node n;
	bool cluster;
	enum cp_result r;

	if (!att || (cl->have_id && att == cl->id_attaches))
		return;
	r = cp_core_command(cl->core, "ID", reply, sizeof(reply), 2000);
	pthread_mutex_lock(&cl->mu);
	if (r != CP_OK || cp_cluster_parse_id(reply, &n, &cluster) != 0) {
		char why[sizeof(cl->id_error)];

		snprintf(why, sizeof(why), "the dataplane's ID: %.150s%s", reply,
			 r == CP_OK ? " (an unexpected reply)" : "");
		if (strcmp(cl->id_error, why) != 0)
			logf_(cl, "%s", why);
		snprintf(cl->id_error, sizeof(cl->id_error), "%s", why);
		pthread_mutex_unlock(&cl->mu);
		return;
	}
	snprintf(n.http, sizeof(n.http), "%s", cl->http);
	if (cl->have_id && strcmp(n.id, cl->self.id) != 0)
		cl->registered = false;	/* another dataplane: register it */
	if (!cl->have_id || strcmp(n.id, cl->self.id) != 0 || strcmp(n.ip, cl->self.ip) != 0 ||
	    n.port != cl->self.port || n.mcport != cl->self.mcport || n.cport != cl->self.cport) {
		logf_(cl, "dataplane is node %s at %s:%u (bus %u, memcached %u)%s", n.id, n.ip, n.port,
		      n.cport, n.mcport, cluster ? "" : "; it runs without --cluster");
		cl->registered = false;
	}
	cl->self = n;
	cl->dp_cluster = cluster;
	cl->have_id = true;
	cl->id_attaches = att;
	cl->id_error[0] = 0;
	pthread_mutex_unlock(&cl->mu);
}

/* (Re)write the record under the lease thread's lease when it is new or the record went. */
static int keep_registered(struct cp_cluster *cl)
{
	char key[256], *rec;
	uint64_t gen = 0;
	int64_t lease = cp_lease_id(cl->lease_thr, &gen);
	int rc;

	if (!cl->have_id || !lease)
		return 0;
	if (gen != cl->lease_gen) {
		cl->lease_gen = gen;
		cl->lease = lease;
		cl->registered = false;
	}
	if (cl->registered)
		return 0;
	snprintf(key, sizeof(key), "%snodes/%s", cl->prefix, cl->self.id);
	if (!(rec = cm_node_dumps(&cl->self)))
		return 0;
	rc = etcd_put(&cl->etcd, key, rec, strlen(rec), cl->lease);
	free(rec);
	if (rc != 0) {
		/* a lease etcd let lapse before the lease thread's next renewal noticed: now */
		if (strstr(cl->etcd.err, "lease not found"))
			cp_lease_lapsed(cl->lease_thr, cl->lease);
		return -1;
	}
	pthread_mutex_lock(&cl->mu);
	cl->registered = true;
	cl->registered_ms = mono_ms();
	cl->dirty = true;	/* read the registry again: it lists this node now */
	pthread_mutex_unlock(&cl->mu);
	logf_(cl, "registered %s (lease %llx)", key, (unsigned long long)cl->lease);
	return 0;
}

/* Read the registry and the map. */
static int read_state(struct cp_cluster *cl)
{
	char key[256];
	struct etcd_range r;
	bool mine = false;

	snprintf(key, sizeof(key), "%snodes/", cl->prefix);
	if (etcd_get(&cl->etcd, key, true, &r) != 0)
		return -1;
	pthread_mutex_lock(&cl->mu);
	cl->nalive = 0;
	for (size_t i = 0; i < r.n && cl->nalive < CM_NODES_MAX; i++) {
		const char *id = r.kvs[i].key + strlen(key);

		if (!cm_valid_id(id))
			continue;
		strcpy(cl->alive[cl->nalive++], id);
		mine |= cl->have_id && strcmp(id, cl->self.id) == 0;
	}
	/* someone deleted our record (del by hand): write it again */
	if (cl->registered && !mine)
		cl->registered = false;
	pthread_mutex_unlock(&cl->mu);
	etcd_range_free(&r);

	snprintf(key, sizeof(key), "%smap", cl->prefix);
	if (etcd_get(&cl->etcd, key, false, &r) != 0)
		return -1;
	if (r.n == 1 && r.kvs[0].mod_rev != cl->map_rev) {
		static struct cm_map scratch;	/* only this thread parses */
		char err[256];

		if (cm_map_parse(r.kvs[0].value, r.kvs[0].vlen, &scratch, err, sizeof(err)) != 0) {
			pthread_mutex_lock(&cl->mu);
			if (strcmp(err, cl->map_error) != 0)
				logf_(cl, "the map in etcd is not valid, keeping the last: %s", err);
			snprintf(cl->map_error, sizeof(cl->map_error), "%s", err);
			pthread_mutex_unlock(&cl->mu);
		} else {
			pthread_mutex_lock(&cl->mu);
			*cl->map = scratch;
			cl->have_map = true;
			cl->map_rev = r.kvs[0].mod_rev;
			cl->map_error[0] = 0;
			pthread_mutex_unlock(&cl->mu);
			logf_(cl, "map epoch %llu: %u node(s), %u slot(s) assigned",
			      (unsigned long long)cl->map->epoch, cl->map->nnodes,
			      cm_map_assigned(cl->map));
		}
	}
	etcd_range_free(&r);
	/* a manual failover under way: a replica of ours asks us to hand over (cpfailover.h) */
	if (cl->have_id) {
		snprintf(key, sizeof(key), "%spause/%s", cl->prefix, cl->self.id);
		if (etcd_get(&cl->etcd, key, false, &r) != 0)
			return -1;
		cl->pause_asked = r.n > 0;
		if (!cl->pause_asked)
			cl->pause_acked = false;
		etcd_range_free(&r);
	}
	cl->read_ms = mono_ms();
	return 0;
}

struct lines {
	char **l;
	unsigned n, cap;
};

static void add_line(void *arg, const char *line)
{
	struct lines *ls = arg;

	if (ls->n < ls->cap)
		ls->l[ls->n++] = strdup(line);
}

/* Push the map into the dataplane when it changed, or the dataplane is a new one. */
static void push_map(struct cp_cluster *cl)
{
	uint64_t att = cp_core_attaches(cl->core);
	struct lines ls = { 0 };
	char reply[256];
	unsigned failed_at = 0;
	enum cp_result r;
	unsigned long long epoch = 0;
	bool ok = true;

	if (!att || !cl->have_map || !cl->have_id ||
	    (cl->pushed_rev == cl->map_rev && cl->pushed_attaches == att))
		return;
	if (cm_map_find(cl->map, cl->self.id) < 0) {
		pthread_mutex_lock(&cl->mu);
		if (!strstr(cl->push_error, "not in the map"))
			logf_(cl, "this node is not in the map (epoch %llu): nothing to push",
			      (unsigned long long)cl->map->epoch);
		snprintf(cl->push_error, sizeof(cl->push_error),
			 "this node is not in the map (wirecachectl cluster add-node)");
		cl->pushed_rev = cl->map_rev;
		cl->pushed_attaches = att;
		pthread_mutex_unlock(&cl->mu);
		return;
	}
	ls.cap = cl->map->nnodes + 3 * CM_SLOTS + 2;	/* slots, migrating, importing runs */
	ls.l = calloc(ls.cap, sizeof(*ls.l));
	if (!ls.l)
		return;
	cm_map_lines(cl->map, cl->self.id, add_line, &ls);
	for (unsigned i = 0; i < ls.n; i++)
		ok &= ls.l[i] != NULL;
	r = ok ? cp_core_commands(cl->core, ls.l, ls.n, reply, sizeof(reply), 5000, &failed_at)
	       : CP_FAILED;
	pthread_mutex_lock(&cl->mu);
	if (r == CP_OK && sscanf(reply, "epoch=%llu", &epoch) == 1) {
		cl->dp_epoch = epoch;
		cl->dp_confirmed = true;
		cl->pushed_rev = cl->map_rev;
		cl->pushed_attaches = att;
		cl->push_error[0] = 0;
		cl->pushes++;
		logf_(cl, "dataplane runs map epoch %llu (%s)", epoch, reply);
	} else {
		char why[256];

		snprintf(why, sizeof(why), "%s: %.160s", failed_at < ls.n && ls.l[failed_at]
			 ? ls.l[failed_at] : "the map", r == CP_OK ? "unexpected reply" : reply);
		if (strcmp(why, cl->push_error) != 0)
			logf_(cl, "pushing map epoch %llu failed at %s",
			      (unsigned long long)cl->map->epoch, why);
		snprintf(cl->push_error, sizeof(cl->push_error), "%s", why);
		if (r == CP_UNAVAILABLE)
			cl->dp_confirmed = false;
	}
	pthread_mutex_unlock(&cl->mu);
	for (unsigned i = 0; i < ls.n; i++)
		free(ls.l[i]);
	free(ls.l);
}

/* Does the map give node idx replicas (a master worth fencing)? */
static bool has_replicas(const struct cm_map *m, int idx)
{
	for (unsigned i = 0; i < m->nnodes; i++)
		if (m->nodes[i].replica && strcmp(m->nodes[i].master, m->nodes[idx].id) == 0)
			return true;
	return false;
}

/*
 * The fence's role (cplease.h): a master with replicas, confirmed by a map
 * read after its registration under the current lease, renews; else off.
 */
static void confirm_role(struct cp_cluster *cl)
{
	int me = cl->have_map && cl->have_id ? cm_map_find(cl->map, cl->self.id) : -1;
	bool master = me >= 0 && !cl->map->nodes[me].replica && has_replicas(cl->map, me);

	if (me >= 0 && !cl->map->nodes[me].replica && cl->pause_asked) {
		/* hand over: no writes; say so once the dataplane has been told */
		cp_lease_set_role(cl->lease_thr, CP_FENCE_HOLD, cl->lease_gen);
		if (!cl->pause_acked && cp_lease_fenced(cl->lease_thr)) {
			char key[256];

			snprintf(key, sizeof(key), "%spause-ok/%s", cl->prefix, cl->self.id);
			if (etcd_put(&cl->etcd, key, "{}", 2, cl->lease) == 0) {
				cl->pause_acked = true;
				logf_(cl, "manual failover: writes stopped for a replica to take over");
			}
		}
		if (!cl->pause_acked)
			cl->wake_ms = 20;	/* look again soon */
		return;
	}
	if (!master) {
		cp_lease_set_role(cl->lease_thr, CP_FENCE_OFF, 0);
		return;
	}
	if (cl->registered && cl->read_ms > cl->registered_ms)
		cp_lease_set_role(cl->lease_thr, CP_FENCE_RENEW, cl->lease_gen);
}

/* Stand for a master that is gone (cpfailover.h). */
static void failover_step(struct cp_cluster *cl)
{
	struct cp_failover_view v = {
		.etcd = &cl->etcd, .prefix = cl->prefix, .map = cl->have_map ? cl->map : NULL,
		.map_rev = cl->map_rev, .alive = cl->alive, .nalive = cl->nalive,
		.self = cl->self.id, .lease = cl->registered ? cl->lease : 0,
	};
	int me = v.map && cl->have_id ? cm_map_find(v.map, cl->self.id) : -1;
	char reply[256], log[300];
	int rc;

	if (me < 0 || !v.map->nodes[me].replica)
		v.lease = 0;	/* (stands down) */
	else if (!cl->fo.posted_ms && cp_core_command(cl->core, "REPLSTATE", reply, sizeof(reply),
							    1000) == CP_OK)
		cp_replstate_offset(reply, &v.offset);
	pthread_mutex_lock(&cl->mu);
	rc = cp_failover_step(&cl->fo, &v, mono_ms(), &cl->wake_ms, log, sizeof(log));
	if (rc == 1)
		cl->dirty = true;	/* a new map: read it now */
	pthread_mutex_unlock(&cl->mu);
	if (log[0])
		logf_(cl, "%s", log);
}

/*
 * Make the dataplane replicate what the map says: REPLICAOF its master's
 * address, or REPLICAOF NO ONE for a master (a promoted replica keeps its
 * data and takes writes). Told again after every re-attachment.
 */
static void sync_replication(struct cp_cluster *cl)
{
	uint64_t att = cp_core_attaches(cl->core);
	int me = cl->have_map && cl->have_id ? cm_map_find(cl->map, cl->self.id) : -1, mi = -1;
	const char *want = "-";
	char cmd[160], reply[256];
	enum cp_result r;

	if (!att || me < 0 || !cl->dp_confirmed)
		return;
	if (cl->map->nodes[me].replica && (mi = cm_map_find(cl->map, cl->map->nodes[me].master)) >= 0)
		want = cl->map->nodes[mi].id;
	if (att == cl->told_attaches && strcmp(want, cl->told_master) == 0)
		return;
	if (mi >= 0)
		snprintf(cmd, sizeof(cmd), "REPLICAOF %s %u", cl->map->nodes[mi].ip,
			 cl->map->nodes[mi].port);
	else
		snprintf(cmd, sizeof(cmd), "REPLICAOF NO ONE");
	r = cp_core_command(cl->core, cmd, reply, sizeof(reply), 2000);
	pthread_mutex_lock(&cl->mu);
	if (r == CP_OK) {
		snprintf(cl->told_master, sizeof(cl->told_master), "%s", want);
		cl->told_attaches = att;
		cl->repl_error[0] = 0;
		logf_(cl, "dataplane: %s", cmd);
	} else {
		char why[sizeof(cl->repl_error)];

		snprintf(why, sizeof(why), "%.60s: %.120s", cmd, reply);
		if (strcmp(why, cl->repl_error) != 0)
			logf_(cl, "telling the dataplane to replicate failed: %s", why);
		snprintf(cl->repl_error, sizeof(cl->repl_error), "%s", why);
	}
	pthread_mutex_unlock(&cl->mu);
}

static void *cluster_main(void *arg)
{
	struct cp_cluster *cl = arg;
	unsigned period = cl->node_timeout_ms / 3 ? cl->node_timeout_ms / 3 : 1;

	pthread_mutex_lock(&cl->mu);
	while (!cl->stop) {
		bool dirty = cl->dirty;
		int rc = 0;

		cl->dirty = false;
		pthread_mutex_unlock(&cl->mu);
		learn_id(cl);
		rc = keep_registered(cl);
		/* the watch says when to read; a read every 5 s covers a stream that broke unseen */
		if (rc == 0 && (dirty || !cl->read_ms || mono_ms() - cl->read_ms >= 5000 ||
				!cl->etcd_up))
			rc = read_state(cl);
		if (rc == 0 && !cl->registered && cl->have_id)
			rc = keep_registered(cl);
		/* (while etcd is down, every step reads again: see !cl->etcd_up above) */
		if (rc == 0) {
			failover_step(cl);
			confirm_role(cl);
		}
		set_etcd(cl, rc == 0);
		push_map(cl);
		sync_replication(cl);
		pthread_mutex_lock(&cl->mu);
		if (!cl->stop && !cl->dirty) {
			struct timespec ts;
			unsigned wait = cl->wake_ms && cl->wake_ms < period ? cl->wake_ms : period;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(wait % 1000) * 1000000;
			ts.tv_sec += wait / 1000 + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&cl->cv, &cl->mu, &ts);
		}
	}
	pthread_mutex_unlock(&cl->mu);
	return NULL;
}

void cp_cluster_wake(struct cp_cluster *cl)
{
	pthread_mutex_lock(&cl->mu);
	cl->dirty = true;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
}

bool cp_cluster_self_id(struct cp_cluster *cl, char id[CM_ID_LEN + 1])
{
	bool have;

	pthread_mutex_lock(&cl->mu);
	have = cl->have_id;
	if (have)
		memcpy(id, cl->self.id, CM_ID_LEN + 1);
	pthread_mutex_unlock(&cl->mu);
	return have;
}

static void on_watch(void *arg, enum etcd_event_type type, const struct etcd_kv *kv)
{
	struct cp_cluster *cl = arg;

	(void)type, (void)kv;
	pthread_mutex_lock(&cl->mu);
	cl->dirty = true;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
}

struct cp_cluster *cp_cluster_start(struct cp_core *core, const struct cp_cluster_opts *o,
				    char *err, size_t errlen)
{
	struct cp_cluster *cl = calloc(1, sizeof(*cl));

	if (!cl || !(cl->map = malloc(sizeof(*cl->map))) ||
	    !(cl->alive = calloc(CM_NODES_MAX, sizeof(*cl->alive)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cp_cluster_prefix(o->name, cl->prefix, sizeof(cl->prefix)) != 0) {
		snprintf(err, errlen, "--cluster-name wants 1..63 of a-z A-Z 0-9 - _ .");
		goto fail;
	}
	/* a call must not take longer than the lease lasts */
	if (etcd_init(&cl->etcd, o->etcd, o->node_timeout_ms / 3 > 500 ? o->node_timeout_ms / 3
									: 500) != 0) {
		snprintf(err, errlen, "--etcd: %s", cl->etcd.err);
		goto fail;
	}
	cm_map_init(cl->map);
	cl->core = core;
	snprintf(cl->urls, sizeof(cl->urls), "%s", o->etcd);
	snprintf(cl->name, sizeof(cl->name), "%s", o->name);
	snprintf(cl->http, sizeof(cl->http), "%s", o->http);
	cl->node_timeout_ms = o->node_timeout_ms;
	snprintf(cl->etcd_error, sizeof(cl->etcd_error), "not tried yet");
	pthread_mutex_init(&cl->mu, NULL);
	pthread_cond_init(&cl->cv, NULL);
	{
		struct cp_lease_opts lo = { .etcd = o->etcd, .ttl_ms = o->node_timeout_ms,
					    .socket = core->dp.path };

		if (!(cl->lease_thr = cp_lease_start(&lo, err, errlen))) {
			etcd_free(&cl->etcd);
			goto fail;
		}
	}
	cl->watch = etcd_watch_start(o->etcd, cl->prefix, on_watch, cl);
	if (!cl->watch || pthread_create(&cl->thread, NULL, cluster_main, cl) != 0) {
		cp_lease_stop(cl->lease_thr);
		snprintf(err, errlen, "cannot start the cluster threads");
		etcd_watch_stop(cl->watch);
		etcd_free(&cl->etcd);
		goto fail;
	}
	{
		struct cp_creq_opts qo = { .socket = core->dp.path, .etcd = o->etcd,
					   .prefix = cl->prefix,
					   .etcd_timeout_ms = cl->etcd.timeout_ms };

		if (!(cl->creq = cp_creq_start(cl, &qo, err, errlen))) {
			cp_cluster_stop(cl);
			return NULL;
		}
	}
	return cl;
fail:
	if (cl) {
		free(cl->map);
		free(cl->alive);
	}
	free(cl);
	return NULL;
}

void cp_cluster_stop(struct cp_cluster *cl)
{
	if (!cl)
		return;
	cp_creq_stop(cl->creq);
	pthread_mutex_lock(&cl->mu);
	cl->stop = true;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	pthread_join(cl->thread, NULL);
	cp_lease_stop(cl->lease_thr);
	etcd_watch_stop(cl->watch);
	etcd_free(&cl->etcd);
	pthread_mutex_destroy(&cl->mu);
	pthread_cond_destroy(&cl->cv);
	free(cl->map);
	free(cl->alive);
	free(cl);
}

/* ---- what it shows ---- */

/* Slots in migrating ('M') or importing ('I') entries: this node's (*mine) and the map's. */
static void move_counts(const struct cp_cluster *cl, char which, unsigned *mine, unsigned *all)
{
	int me = cl->have_map && cl->have_id ? cm_map_find(cl->map, cl->self.id) : -1;
	const int16_t *a = which == 'M' ? cl->map->mig_src : cl->map->imp_dst;

	*mine = *all = 0;
	if (!cl->have_map)
		return;
	for (unsigned s = 0; s < CM_SLOTS; s++) {
		*all += a[s] >= 0;
		*mine += me >= 0 && a[s] == me;
	}
}

/* The map's migrating or importing entries as in etcd ([from, to, id, id], ...). */
static json_t *move_list(const struct cp_cluster *cl, char which, struct cm_move_run *runs)
{
	json_t *a = json_array();
	unsigned n = cl->have_map && runs ? cm_map_move_runs(cl->map, which, runs, CM_SLOTS) : 0;

	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_pack("[i,i,s,s]", (int)runs[i].from, (int)runs[i].to,
						   cl->map->nodes[runs[i].a].id,
						   cl->map->nodes[runs[i].b].id));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static bool is_alive(const struct cp_cluster *cl, const char *id)
{
	for (unsigned i = 0; i < cl->nalive; i++)
		if (strcmp(cl->alive[i], id) == 0)
			return true;
	return false;
}

json_t *cp_cluster_json(struct cp_cluster *cl)
{
	json_t *o, *nodes;
	struct cm_run *runs;
	unsigned nr = 0;

	if (!cl)
		return json_pack("{s:b,s:n}", "enabled", 0, "etcd");
	runs = malloc(CM_SLOTS * sizeof(*runs));
	pthread_mutex_lock(&cl->mu);
	o = json_pack("{s:b,s:s,s:b,s:s,s:o,s:i,s:o,s:b,s:b,s:o,s:o,s:o,s:o,s:o,s:I}",
		      "enabled", 1, "cluster_name", cl->name, "etcd", cl->etcd_up,
		      "etcd_endpoints", cl->urls, "etcd_error", str_or_null(cl->etcd_error),
		      "node_timeout_ms", (int)cl->node_timeout_ms,
		      "id", cl->have_id ? json_string(cl->self.id) : json_null(),
		      "registered", cl->registered, "dataplane_cluster", cl->dp_cluster,
		      "epoch", cl->have_map ? json_integer((json_int_t)cl->map->epoch) : json_null(),
		      "dataplane_epoch", cl->dp_confirmed ? json_integer((json_int_t)cl->dp_epoch)
							  : json_null(),
		      "map_error", str_or_null(cl->map_error),
		      "push_error", str_or_null(cl->push_error),
		      "id_error", str_or_null(cl->id_error), "pushes", (json_int_t)cl->pushes);
	nodes = json_array();
	if (cl->have_map && runs)
		nr = cm_map_runs(cl->map, runs, CM_SLOTS);
	for (unsigned i = 0; cl->have_map && i < cl->map->nnodes; i++) {
		const struct cm_node *n = &cl->map->nodes[i];
		json_t *x = cm_node_to_json(n, true), *sl = json_array();

		for (unsigned k = 0; k < nr; k++)
			if (runs[k].node == (int)i)
				json_array_append_new(sl, json_pack("[i,i]", (int)runs[k].from,
								    (int)runs[k].to));
		json_object_set_new(x, "slots", sl);
		json_object_set_new(x, "slot_count", json_integer(cm_map_slots_of(cl->map, (int)i)));
		json_object_set_new(x, "alive", json_boolean(is_alive(cl, n->id)));
		json_object_set_new(x, "myself", json_boolean(cl->have_id &&
							       strcmp(n->id, cl->self.id) == 0));
		json_array_append_new(nodes, x);
	}
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "lease", cp_lease_json(cl->lease_thr));
	json_object_set_new(o, "failover", cp_failover_json(&cl->fo));
	json_object_set_new(o, "replication_error", str_or_null(cl->repl_error));
	/* slot moves: the map's entries, this node's share, what is left to move */
	{
		struct cm_move_run *mr = malloc(CM_SLOTS * sizeof(*mr));
		unsigned mm, ma, im, ia;
		uint64_t ok, refused;

		move_counts(cl, 'M', &mm, &ma);
		move_counts(cl, 'I', &im, &ia);
		json_object_set_new(o, "migrating", move_list(cl, 'M', mr));
		json_object_set_new(o, "importing", move_list(cl, 'I', mr));
		free(mr);
		json_object_set_new(o, "slots_migrating", json_integer(mm));
		json_object_set_new(o, "slots_importing", json_integer(im));
		json_object_set_new(o, "map_slots_migrating", json_integer(ma));
		json_object_set_new(o, "map_slots_importing", json_integer(ia));
		json_object_set_new(o, "slots_to_move",
				    json_integer(cl->have_map ? cm_map_open(cl->map) : 0));
		cp_creq_counts(cl->creq, &ok, &refused);
		json_object_set_new(o, "setslot_ok", json_integer((json_int_t)ok));
		json_object_set_new(o, "setslot_refused", json_integer((json_int_t)refused));
	}
	/* registered but not in the map (yet) */
	{
		json_t *extra = json_array();

		for (unsigned i = 0; i < cl->nalive; i++)
			if (!cl->have_map || cm_map_find(cl->map, cl->alive[i]) < 0)
				json_array_append_new(extra, json_string(cl->alive[i]));
		json_object_set_new(o, "registered_not_in_map", extra);
	}
	pthread_mutex_unlock(&cl->mu);
	free(runs);
	return o;
}

int cp_cluster_etcd_up(struct cp_cluster *cl)
{
	int up;

	if (!cl)
		return -1;
	pthread_mutex_lock(&cl->mu);
	up = cl->etcd_up;
	pthread_mutex_unlock(&cl->mu);
	return up;
}

void cp_cluster_prom(struct cp_cluster *cl, struct buf *b)
{
	if (!cl)
		return;
	pthread_mutex_lock(&cl->mu);
	buf_printf(b, "# HELP wirecache_etcd_up 1 when the last call to etcd succeeded.\n"
		   "# TYPE wirecache_etcd_up gauge\nwirecache_etcd_up %d\n", cl->etcd_up ? 1 : 0);
	buf_printf(b, "# HELP wirecache_cluster_epoch The epoch of the last cluster map read from "
		   "etcd.\n# TYPE wirecache_cluster_epoch gauge\nwirecache_cluster_epoch %llu\n",
		   (unsigned long long)(cl->have_map ? cl->map->epoch : 0));
	buf_printf(b, "# HELP wirecache_cluster_dataplane_epoch The map epoch the dataplane "
		   "confirmed.\n# TYPE wirecache_cluster_dataplane_epoch gauge\n"
		   "wirecache_cluster_dataplane_epoch %llu\n",
		   (unsigned long long)(cl->dp_confirmed ? cl->dp_epoch : 0));
	buf_printf(b, "# HELP wirecache_cluster_nodes_alive Nodes registered in etcd.\n"
		   "# TYPE wirecache_cluster_nodes_alive gauge\nwirecache_cluster_nodes_alive %u\n",
		   cl->nalive);
	buf_printf(b, "# HELP wirecache_failover_promotions_total Times this node took its "
		   "master's place (automatic failover).\n"
		   "# TYPE wirecache_failover_promotions_total counter\n"
		   "wirecache_failover_promotions_total %llu\n",
		   (unsigned long long)cl->fo.promotions);
	buf_printf(b, "# HELP wirecache_failover_candidacies_total Times this node stood for a "
		   "master that was gone.\n# TYPE wirecache_failover_candidacies_total counter\n"
		   "wirecache_failover_candidacies_total %llu\n",
		   (unsigned long long)cl->fo.candidacies);
	cp_lease_prom(cl->lease_thr, b);
	{
		unsigned mm, ma, im, ia;

		move_counts(cl, 'M', &mm, &ma);
		move_counts(cl, 'I', &im, &ia);
		buf_printf(b, "# HELP wirecache_cluster_slots_migrating Slots this node is sending "
			   "to another (migrating entries of the map).\n"
			   "# TYPE wirecache_cluster_slots_migrating gauge\n"
			   "wirecache_cluster_slots_migrating %u\n", mm);
		buf_printf(b, "# HELP wirecache_cluster_slots_importing Slots this node is taking "
			   "from another (importing entries of the map).\n"
			   "# TYPE wirecache_cluster_slots_importing gauge\n"
			   "wirecache_cluster_slots_importing %u\n", im);
		buf_printf(b, "# HELP wirecache_cluster_map_slots_migrating Slots with a migrating "
			   "entry in the whole map.\n"
			   "# TYPE wirecache_cluster_map_slots_migrating gauge\n"
			   "wirecache_cluster_map_slots_migrating %u\n", ma);
		buf_printf(b, "# HELP wirecache_cluster_map_slots_importing Slots with an "
			   "importing entry in the whole map.\n"
			   "# TYPE wirecache_cluster_map_slots_importing gauge\n"
			   "wirecache_cluster_map_slots_importing %u\n", ia);
	}
	pthread_mutex_unlock(&cl->mu);
}

static bool api_offset(void *arg, uint64_t *off)
{
	struct cp_cluster *cl = arg;
	char reply[256];

	return cp_core_command(cl->core, "REPLSTATE", reply, sizeof(reply), 2000) == CP_OK &&
	       cp_replstate_offset(reply, off);
}

int cp_cluster_failover(struct cp_cluster *cl, const char *mode, uint64_t *epoch, char *err,
			size_t errlen)
{
	static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;	/* one at a time */
	enum cp_failover_mode m;
	char self[CM_ID_LEN + 1];
	struct etcd e;
	int rc;

	if (!cl) {
		snprintf(err, errlen, "ERR this control plane is not in a cluster (--etcd)");
		return -1;
	}
	if (cp_failover_mode_parse(mode, &m) != 0) {
		snprintf(err, errlen, "ERR mode wants FORCE, TAKEOVER or nothing");
		return -1;
	}
	if (!cp_cluster_self_id(cl, self)) {
		snprintf(err, errlen, "ERR the control plane does not know this node yet");
		return -1;
	}
	if (etcd_init(&e, cl->urls, cl->etcd.timeout_ms) != 0) {
		snprintf(err, errlen, "ERR %.200s", e.err);
		return -1;
	}
	pthread_mutex_lock(&one);
	rc = cp_failover_manual(&e, cl->prefix, self, m, api_offset, cl, epoch, err, errlen);
	pthread_mutex_unlock(&one);
	etcd_free(&e);
	if (rc == 0) {
		logf_(cl, "manual failover%s%s: this node is master, epoch %llu",
		      mode && *mode ? " " : "", mode ? mode : "", (unsigned long long)*epoch);
		cp_cluster_wake(cl);
	}
	return rc;
}
