/*
 * cplease.c - the lease thread (see cplease.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cplease.h"
#include "dpconn.h"
#include "etcd.h"

struct cp_lease {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stop;
	struct etcd etcd;		/* the thread's own */
	struct dpconn dp;		/* the thread's own connection to the dataplane */
	unsigned ttl_ms;
	/* the lease (under mu for readers) */
	int64_t id;
	uint64_t gen;
	int64_t renewed_ms;		/* when the last confirmed renewal was sent (monotonic) */
	/* the role the cluster thread confirmed, and what the dataplane was told */
	enum cp_fence_role role;
	uint64_t role_gen;
	char told[24];			/* "off", "renew", "fenced" */
	/* counters */
	uint64_t renewals, renew_failures, lapses, grants, fence_sent;
	char error[200];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned margin_ms(unsigned ttl_ms)
{
	return ttl_ms / 4 > 200 ? ttl_ms / 4 : 200;
}

/* One line to the dataplane on the thread's own connection (attached on demand). */
static bool dp_say(struct cp_lease *l, const char *line)
{
	char reply[160], err[160];

	if (!dpconn_attached(&l->dp) && dpconn_attach(&l->dp, err, sizeof(err)) != 0)
		return false;
	if (dpconn_command(&l->dp, line, reply, sizeof(reply), 1000) != 0)
		return false;
	l->fence_sent++;
	return true;
}

/* Renew (or grant) once; true when etcd confirmed the lease, sent at *sent. */
static bool renew(struct cp_lease *l, int64_t *sent)
{
	int64_t ttl = 0, id = 0, granted = 0, cur;
	int64_t t = mono_ms();

	pthread_mutex_lock(&l->mu);
	cur = l->id;	/* (cp_lease_lapsed may clear it from another thread) */
	pthread_mutex_unlock(&l->mu);
	if (!cur) {
		int64_t secs = (l->ttl_ms + 999) / 1000;

		if (etcd_lease_grant(&l->etcd, secs, &id, &granted) != 0)
			goto failed;
		pthread_mutex_lock(&l->mu);
		l->id = id;
		l->gen++;
		l->grants++;
		l->renewed_ms = t;
		l->error[0] = 0;
		pthread_mutex_unlock(&l->mu);
		if (granted * 1000 > (int64_t)l->ttl_ms + 999)
			fprintf(stderr, "wirecache-cp: etcd granted a lease of %lld s for a node "
				"timeout of %u ms (its minimum TTL: run etcd with a shorter "
				"--election-timeout for faster failover)\n", (long long)granted,
				l->ttl_ms);
		*sent = t;
		return true;
	}
	if (etcd_lease_keepalive(&l->etcd, cur, &ttl) != 0)
		goto failed;
	pthread_mutex_lock(&l->mu);
	if (l->id != cur) {
		pthread_mutex_unlock(&l->mu);	/* declared lapsed meanwhile: granted next */
		return false;
	}
	if (ttl <= 0) {
		/* it lapsed: the registration went with it; a new one is granted next */
		l->id = 0;
		l->lapses++;
		snprintf(l->error, sizeof(l->error), "the lease lapsed");
		pthread_mutex_unlock(&l->mu);
		return false;
	}
	l->renewals++;
	l->renewed_ms = t;
	l->error[0] = 0;
	pthread_mutex_unlock(&l->mu);
	*sent = t;
	return true;
failed:
	pthread_mutex_lock(&l->mu);
	l->renew_failures++;
	snprintf(l->error, sizeof(l->error), "%.190s", l->etcd.err);
	pthread_mutex_unlock(&l->mu);
	return false;
}

static void set_told(struct cp_lease *l, const char *what)
{
	pthread_mutex_lock(&l->mu);
	snprintf(l->told, sizeof(l->told), "%s", what);
	pthread_mutex_unlock(&l->mu);
}

/* Tell the dataplane what the lease and the role allow (told: read by this thread only). */
static void fence(struct cp_lease *l, bool renewed, int64_t sent)
{
	enum cp_fence_role role;
	uint64_t role_gen, gen;
	bool have;
	char line[64];

	pthread_mutex_lock(&l->mu);
	role = l->role;
	role_gen = l->role_gen;
	gen = l->gen;
	have = l->id != 0;
	pthread_mutex_unlock(&l->mu);
	if (role == CP_FENCE_OFF) {
		if (strcmp(l->told, "off") != 0 && dp_say(l, "FENCE OFF"))
			set_told(l, "off");
		return;
	}
	if (role == CP_FENCE_HOLD || !have || role_gen != gen) {
		/* no lease, or one not yet confirmed as a master's: no writes */
		if (strcmp(l->told, "fenced") != 0 && dp_say(l, "FENCE 0"))
			set_told(l, "fenced");
		return;
	}
	if (!renewed)
		return;	/* the deadline sent before runs out by itself */
	{
		int64_t left = sent + (int64_t)l->ttl_ms - (int64_t)margin_ms(l->ttl_ms) - mono_ms();

		snprintf(line, sizeof(line), "FENCE %lld", (long long)(left > 0 ? left : 0));
		if (dp_say(l, line))
			set_told(l, "renew");
	}
}

static void *lease_main(void *arg)
{
	struct cp_lease *l = arg;
	unsigned period = l->ttl_ms / 3 ? l->ttl_ms / 3 : 1;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		int64_t sent = 0;
		bool ok;
		struct timespec ts;

		pthread_mutex_unlock(&l->mu);
		/* a dataplane that restarted starts unfenced: tell it again */
		if (dpconn_attached(&l->dp) && !dpconn_alive(&l->dp))
			set_told(l, "");
		ok = renew(l, &sent);
		fence(l, ok, sent);
		pthread_mutex_lock(&l->mu);
		if (l->stop)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(period % 1000) * 1000000;
		ts.tv_sec += period / 1000 + ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

struct cp_lease *cp_lease_start(const struct cp_lease_opts *o, char *err, size_t errlen)
{
	struct cp_lease *l = calloc(1, sizeof(*l));
	/* a renewal must not take longer than a third of the lease */
	unsigned timeout = o->ttl_ms / 3 > 250 ? o->ttl_ms / 3 : 250;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (etcd_init(&l->etcd, o->etcd, timeout) != 0) {
		snprintf(err, errlen, "--etcd: %s", l->etcd.err);
		free(l);
		return NULL;
	}
	l->ttl_ms = o->ttl_ms;
	dpconn_init(&l->dp, o->socket);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->thread, NULL, lease_main, l) != 0) {
		snprintf(err, errlen, "cannot start the lease thread");
		etcd_free(&l->etcd);
		free(l);
		return NULL;
	}
	return l;
}

void cp_lease_stop(struct cp_lease *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	dpconn_detach(&l->dp);
	etcd_free(&l->etcd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

int64_t cp_lease_id(struct cp_lease *l, uint64_t *gen)
{
	int64_t id;

	pthread_mutex_lock(&l->mu);
	id = l->id;
	if (gen)
		*gen = l->gen;
	pthread_mutex_unlock(&l->mu);
	return id;
}

void cp_lease_set_role(struct cp_lease *l, enum cp_fence_role role, uint64_t gen)
{
	bool changed;

	pthread_mutex_lock(&l->mu);
	changed = l->role != role || l->role_gen != gen;
	l->role = role;
	l->role_gen = gen;
	if (changed)
		pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void cp_lease_lapsed(struct cp_lease *l, int64_t id)
{
	pthread_mutex_lock(&l->mu);
	if (id && l->id == id) {
		l->id = 0;
		l->lapses++;
		snprintf(l->error, sizeof(l->error), "the lease lapsed");
		pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
}

bool cp_lease_fenced(struct cp_lease *l)
{
	bool f;

	pthread_mutex_lock(&l->mu);
	f = strcmp(l->told, "fenced") == 0;
	pthread_mutex_unlock(&l->mu);
	return f;
}

void cp_lease_wake(struct cp_lease *l)
{
	pthread_mutex_lock(&l->mu);
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

json_t *cp_lease_json(struct cp_lease *l)
{
	json_t *o;

	pthread_mutex_lock(&l->mu);
	o = json_pack("{s:I,s:i,s:I,s:I,s:I,s:I,s:s,s:s,s:I,s:o}", "lease", (json_int_t)l->id,
		      "ttl_ms", (int)l->ttl_ms, "renewals", (json_int_t)l->renewals,
		      "renew_failures", (json_int_t)l->renew_failures, "lapses",
		      (json_int_t)l->lapses, "grants", (json_int_t)l->grants, "fence_role",
		      l->role == CP_FENCE_RENEW ? "master-with-replicas"
		      : l->role == CP_FENCE_HOLD ? "handing-over" : "off", "fence_told",
		      l->told[0] ? l->told : "nothing yet", "renewed_ms_ago",
		      (json_int_t)(l->renewed_ms ? mono_ms() - l->renewed_ms : -1),
		      "error", l->error[0] ? json_string(l->error) : json_null());
	pthread_mutex_unlock(&l->mu);
	return o;
}

void cp_lease_prom(struct cp_lease *l, struct buf *b)
{
	pthread_mutex_lock(&l->mu);
	buf_printf(b, "# HELP wirecache_lease_renewals_total etcd lease renewals confirmed.\n"
		   "# TYPE wirecache_lease_renewals_total counter\nwirecache_lease_renewals_total "
		   "%llu\n", (unsigned long long)l->renewals);
	buf_printf(b, "# HELP wirecache_lease_renew_failures_total etcd lease renewals that "
		   "failed (etcd unreachable or slow).\n"
		   "# TYPE wirecache_lease_renew_failures_total counter\n"
		   "wirecache_lease_renew_failures_total %llu\n",
		   (unsigned long long)l->renew_failures);
	buf_printf(b, "# HELP wirecache_lease_lapses_total Leases that lapsed (the node was "
		   "gone for the cluster).\n# TYPE wirecache_lease_lapses_total counter\n"
		   "wirecache_lease_lapses_total %llu\n", (unsigned long long)l->lapses);
	pthread_mutex_unlock(&l->mu);
}
