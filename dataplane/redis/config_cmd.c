/*
 * config_cmd.c - CONFIG GET, SET, RESETSTAT and HELP over the parameters
 * that mean something on wirecache, with Redis's names, value formats and
 * error texts.
 *
 * What each parameter is here:
 *   maxmemory               the partitions' memory (--memory less the upload
 *                           buffer); fixed at start: setting another value fails
 *   maxmemory-policy        the store's own eviction, by an honest name:
 *                           "allkeys-s3fifo" (S3-FIFO over every key), or
 *                           "allkeys-clock" with --small-pct 0; not settable
 *   timeout                 the TCP idle timeout in seconds (--idle-timeout),
 *                           shared with memcached's connections; idle
 *                           connections always close, so 0 (never) is refused
 *   maxclients              the TCP connection limit (--max-connections), up
 *                           to the size the connection tables were made with
 *   requirepass             the default user's password (acl.h)
 *   masterauth, masteruser  what this node AUTHs with as a replica (replica.h)
 *   proto-max-bulk-len      the longest bulk argument, up to --max-value
 *   save, appendonly        "" and "no": there is no persistence; those are
 *                           the only values accepted
 *   notify-keyspace-events  Redis's letters (keyspace events: keyev.h)
 *   cluster-enabled, databases   read only
 *   slowlog-log-slower-than, slowlog-max-len (at most 1024 entries)
 *   acllog-max-len          ACL LOG keeps at most 128 entries whatever it says
 *   min-replicas-to-write, min-replicas-max-lag   real (redis/repl_master.h):
 *                           writes answer NOREPLICAS while too few replicas ACKed
 *   client-output-buffer-limit  Redis's three classes; the pubsub class bounds
 *                           every connection that receives push frames (push.h)
 *   hash-max-listpack-entries (alias hash-max-ziplist-entries), real: a hash
 *                           stays compact (reported as "listpack") up to this
 *                           many members, then is bucketed ("hashtable");
 *                           the store's compact limit is 64 members, so a
 *                           larger value is kept as 64 and CONFIG GET says so
 *   hash-max-listpack-value (alias hash-max-ziplist-value), real: the longest
 *                           field or value a compact hash takes (a compact
 *                           list also stays within 2 KiB in all)
 *   set-max-intset-entries  real: a set of integers with more members stops
 *                           being an intset (OBJECT ENCODING); the layout is
 *                           the store's either way
 *   zset-max-listpack-entries/-value (ziplist aliases), list-max-listpack-size
 *   (alias list-max-ziplist-size), list-compress-depth: kept and reported,
 *                           without effect: there are no lists or sorted sets
 *   dir, dbfilename         where SAVE/BGSAVE write (redis/rdbsave.h): dir must be
 *                           an existing directory (settable, as Redis with
 *                           enable-protected-configs yes), dbfilename no path
 *
 * CONFIG SET checks every pair before it changes anything, so a request is
 * applied whole or not at all (Redis restores old values instead; the
 * effect is the same). Changes serialise on the server's admin_lock; the
 * lcores read settings without a lock.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/app.h"
#include "core/stats.h"
#include "redis/acl.h"
#include "redis/cmds.h"
#include "redis/config_cmd.h"
#include "redis/glob.h"
#include "redis/rdbsave.h"
#include "redis/replica.h"
#include "redis/server.h"
#include "redis/text.h"
#include "redis/tracking.h"
#include "store/container.h"

struct cfg_env {
	struct wc_app *app;
	struct wc_lcore *lc;		/* the lcore running CONFIG */
	struct rd_server *srv;
	char err[192];			/* an error made up on the spot */
};

union pval {
	int64_t i;
	uint64_t u;
	struct {
		const uint8_t *p;
		uint32_t n;
	} str;
};

struct param {
	const char *name;
	const char *alias;		/* Redis's older name, or NULL */
	void (*get)(struct cfg_env *e, char *buf, size_t cap);
	/* NULL: read only ("can't set immutable config") */
	bool (*check)(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
		      const char **err);
	/* under admin_lock, after every pair was checked; false: *err */
	bool (*apply)(struct cfg_env *e, const union pval *v, const char **err);
};

/* ---- value formats ---- */

bool rd_config_memory(const uint8_t *p, uint32_t n, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1000 }, { "kb", 1024 }, { "m", 1000000 },
		{ "mb", 1u << 20 }, { "g", 1000000000 }, { "gb", 1u << 30 },
	};
	uint32_t d = 0;
	uint64_t v = 0;

	while (d < n && p[d] >= '0' && p[d] <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[d] - '0');
		d++;
	}
	for (unsigned u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t ul = strlen(units[u].unit);

		if (ul == n - d && strncasecmp((const char *)p + d, units[u].unit, ul) == 0) {
			if (v > UINT64_MAX / units[u].mul)
				return false;
			*out = v * units[u].mul;
			return true;
		}
	}
	return false;
}

static bool str_is(const uint8_t *p, uint32_t n, const char *s)
{
	return strlen(s) == n && strncasecmp((const char *)p, s, n) == 0;
}

static bool int_in(struct cfg_env *e, const uint8_t *p, uint32_t n, int64_t lo, int64_t hi,
		   int64_t *out, const char **err)
{
	if (!rd_parse_ll(p, n, out)) {
		*err = "argument couldn't be parsed into an integer";
		return false;
	}
	if (*out < lo || *out > hi) {
		snprintf(e->err, sizeof(e->err), "argument must be between %ld and %ld inclusive",
			 (long)lo, (long)hi);
		*err = e->err;
		return false;
	}
	return true;
}

/* Unsigned parameters word their bound with %llu, as Redis does. */
static bool uint_in(struct cfg_env *e, const uint8_t *p, uint32_t n, uint64_t lo, uint64_t hi,
		    uint64_t *out, const char **err)
{
	int64_t v;

	if (!rd_parse_ll(p, n, &v)) {
		*err = "argument couldn't be parsed into an integer";
		return false;
	}
	if ((uint64_t)v < lo || (uint64_t)v > hi) {
		snprintf(e->err, sizeof(e->err), "argument must be between %lu and %lu inclusive",
			 (unsigned long)lo, (unsigned long)hi);
		*err = e->err;
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

static void put_u(char *buf, size_t cap, uint64_t v)
{
	snprintf(buf, cap, "%lu", (unsigned long)v);
}

/* ---- the parameters ---- */

static void get_maxmemory(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, e->srv->maxmemory);
}

static bool check_maxmemory(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			    const char **err)
{
	if (!rd_config_memory(p, n, &v->u)) {
		*err = "argument must be a memory value";
		return false;
	}
	if (v->u != e->srv->maxmemory) {
		*err = "maxmemory is the store's memory, fixed when wirecache-dp starts (--memory)";
		return false;
	}
	return true;
}

static void get_policy(struct cfg_env *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", e->srv->policy);
}

static bool check_policy(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			 const char **err)
{
	(void)v;
	if (str_is(p, n, e->srv->policy))
		return true;
	/* Redis's wording for an enum, listing the one eviction the store has */
	snprintf(e->err, sizeof(e->err), "argument(s) must be one of the following: %s",
		 e->srv->policy);
	*err = e->err;
	return false;
}

static void get_timeout(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, __atomic_load_n(&e->app->cfg.tcp_idle_ms, __ATOMIC_RELAXED) / 1000);
}

static bool check_timeout(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			  const char **err)
{
	/* 1 second up to what the millisecond timer holds; never-closing is not offered */
	return int_in(e, p, n, 1, UINT32_MAX / 1000, &v->i, err);
}

static bool apply_timeout(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->app->cfg.tcp_idle_ms, (uint32_t)(v->i * 1000), __ATOMIC_RELAXED);
	return true;
}

static void get_maxclients(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, __atomic_load_n(&e->app->cfg.max_conns, __ATOMIC_RELAXED));
}

static bool check_maxclients(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			     const char **err)
{
	return uint_in(e, p, n, 1, e->srv->maxclients_cap, &v->u, err);
}

static bool apply_maxclients(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->app->cfg.max_conns, (unsigned)v->u, __ATOMIC_RELAXED);
	return true;
}

static void get_requirepass(struct cfg_env *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", e->srv->requirepass);
}

static bool check_requirepass(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			      const char **err)
{
	(void)e;
	if (n >= RD_PASS_MAX || memchr(p, 0, n)) {
		*err = "the password must be under 512 bytes, without NUL bytes";
		return false;
	}
	v->str.p = p;
	v->str.n = n;
	return true;
}

static bool apply_requirepass(struct cfg_env *e, const union pval *v, const char **err)
{
	if (rd_acl_set_default_password(e->srv, (const char *)v->str.p, v->str.n) != 0) {
		*err = "out of memory";
		return false;
	}
	memcpy(e->srv->requirepass, v->str.p, v->str.n);
	e->srv->requirepass[v->str.n] = 0;
	return true;
}

/* masterauth / masteruser: what this node AUTHs with as a replica (redis/replica.h) */
static void get_masterauth(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	rd_replica_get_auth(NULL, 0, buf, cap);
}

static void get_masteruser(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	rd_replica_get_auth(buf, cap, NULL, 0);
}

static bool check_masteruser(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			     const char **err)
{
	(void)e;
	if (n >= 128 || memchr(p, 0, n)) {
		*err = "the user name must be under 128 bytes, without NUL bytes";
		return false;
	}
	v->str.p = p;
	v->str.n = n;
	return true;
}

static bool apply_master_cred(struct cfg_env *e, const union pval *v, bool user)
{
	char u[128], pw[RD_PASS_MAX];

	(void)e;
	rd_replica_get_auth(u, sizeof(u), pw, sizeof(pw));
	if (user) {
		memcpy(u, v->str.p, v->str.n);
		u[v->str.n] = 0;
	} else {
		memcpy(pw, v->str.p, v->str.n);
		pw[v->str.n] = 0;
	}
	rd_replica_set_auth(u, pw);
	return true;
}

static bool apply_masterauth(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	return apply_master_cred(e, v, false);
}

static bool apply_masteruser(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	return apply_master_cred(e, v, true);
}

static void get_bulk(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, __atomic_load_n(&e->srv->proto_max_bulk_len, __ATOMIC_RELAXED));
}

static bool check_bulk(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
		       const char **err)
{
	uint64_t hi = e->srv->max_bulk_cap, lo = hi < (1u << 20) ? hi : (1u << 20);

	if (!rd_config_memory(p, n, &v->u)) {
		*err = "argument must be a memory value";
		return false;
	}
	if (v->u < lo || v->u > hi) {
		/* (the upper bound: no value can be longer than the store takes, --max-value) */
		snprintf(e->err, sizeof(e->err), "argument must be between %lu and %lu inclusive",
			 (unsigned long)lo, (unsigned long)hi);
		*err = e->err;
		return false;
	}
	return true;
}

static bool apply_bulk(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->srv->proto_max_bulk_len, v->u, __ATOMIC_RELAXED);
	return true;
}

static void get_empty(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	snprintf(buf, cap, "%s", "");
}

/* save: "" or pairs of <seconds> <changes>, as Redis parses it; only "" is kept. */
static bool check_save(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
		       const char **err)
{
	unsigned words = 0;

	(void)e;
	(void)v;
	for (uint32_t i = 0; i < n;) {
		int64_t x;
		uint32_t j = i;

		while (j < n && p[j] != ' ')
			j++;
		if (j > i && (!rd_parse_ll(p + i, j - i, &x) || x < (words % 2 ? 0 : 1))) {
			*err = "Invalid save parameters";
			return false;
		}
		words += j > i;
		i = j + 1;
	}
	if (words % 2) {
		*err = "Invalid save parameters";
		return false;
	}
	if (words) {
		*err = "wirecache keeps no snapshots: only \"\" (no saving) is accepted";
		return false;
	}
	return true;
}

static void get_no(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	snprintf(buf, cap, "no");
}

static bool check_appendonly(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			     const char **err)
{
	(void)e;
	(void)v;
	if (str_is(p, n, "no"))
		return true;
	*err = str_is(p, n, "yes") ? "wirecache has no append-only file: only 'no' is accepted" :
				     "argument must be 'yes' or 'no'";
	return false;
}

static const struct {
	char c;
	uint32_t flag;
} notify_letters[] = {
	{ 'g', RD_NOTIFY_GENERIC }, { '$', RD_NOTIFY_STRING }, { 'l', RD_NOTIFY_LIST },
	{ 's', RD_NOTIFY_SET }, { 'h', RD_NOTIFY_HASH }, { 'z', RD_NOTIFY_ZSET },
	{ 'x', RD_NOTIFY_EXPIRED }, { 'e', RD_NOTIFY_EVICTED }, { 't', RD_NOTIFY_STREAM },
	{ 'd', RD_NOTIFY_MODULE }, { 'n', RD_NOTIFY_NEW }, { 'K', RD_NOTIFY_KEYSPACE },
	{ 'E', RD_NOTIFY_KEYEVENT }, { 'm', RD_NOTIFY_KEY_MISS },
};

static void get_notify(struct cfg_env *e, char *buf, size_t cap)
{
	uint32_t f = __atomic_load_n(&e->srv->notify_flags, __ATOMIC_RELAXED);
	size_t n = 0;

	/* Redis's order: A (or the class letters), then K, E, m */
	if ((f & RD_NOTIFY_ALL) == RD_NOTIFY_ALL && n + 1 < cap)
		buf[n++] = 'A';
	for (unsigned i = 0; i < sizeof(notify_letters) / sizeof(notify_letters[0]); i++) {
		bool cls = notify_letters[i].flag & RD_NOTIFY_ALL;

		if (!(f & notify_letters[i].flag) || (cls && (f & RD_NOTIFY_ALL) == RD_NOTIFY_ALL))
			continue;
		if (n + 1 < cap)
			buf[n++] = notify_letters[i].c;
	}
	buf[n] = 0;
}

bool rd_notify_parse(const uint8_t *p, uint32_t n, uint32_t *flags)
{
	*flags = 0;
	for (uint32_t i = 0; i < n; i++) {
		unsigned k;

		if (p[i] == 'A') {
			*flags |= RD_NOTIFY_ALL;
			continue;
		}
		for (k = 0; k < sizeof(notify_letters) / sizeof(notify_letters[0]); k++)
			if (notify_letters[k].c == (char)p[i])
				break;
		if (k == sizeof(notify_letters) / sizeof(notify_letters[0]))
			return false;
		*flags |= notify_letters[k].flag;
	}
	return true;
}

static bool check_notify(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			 const char **err)
{
	uint32_t f;

	(void)e;
	if (!rd_notify_parse(p, n, &f)) {
		*err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
		return false;
	}
	v->u = f;
	return true;
}

static bool apply_notify(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->srv->notify_flags, (uint32_t)v->u, __ATOMIC_RELAXED);
	rd_keyev_settings_changed(e->app);
	return true;
}

static void get_cluster(struct cfg_env *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", e->srv->cluster ? "yes" : "no");
}

static void get_databases(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	snprintf(buf, cap, "1");	/* one keyspace, shared with memcached */
}

static void get_slower(struct cfg_env *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%ld",
		 (long)__atomic_load_n(&e->srv->slowlog_slower_than, __ATOMIC_RELAXED));
}

static bool check_slower(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			 const char **err)
{
	return int_in(e, p, n, -1, INT64_MAX, &v->i, err);
}

static bool apply_slower(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	rd_slowlog_threshold_set(e->srv, v->i);
	return true;
}

static void get_slowlen(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, e->srv->slowlog_max_len);
}

static bool check_slowlen(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			  const char **err)
{
	/* the log's entries are allocated up front: RD_SLOWLOG_MAX at most */
	return uint_in(e, p, n, 0, RD_SLOWLOG_MAX, &v->u, err);
}

static bool apply_slowlen(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	e->srv->slowlog_max_len = (uint32_t)v->u;	/* (admin_lock: the slow log's own) */
	return true;
}

static void get_min_replicas(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, __atomic_load_n(&e->srv->min_replicas_to_write, __ATOMIC_RELAXED));
}

static bool check_min_replicas(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			       const char **err)
{
	return uint_in(e, p, n, 0, INT32_MAX, &v->u, err);
}

static bool apply_min_replicas(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->srv->min_replicas_to_write, (uint32_t)v->u, __ATOMIC_RELAXED);
	return true;
}

static void get_min_lag(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, (uint64_t)__atomic_load_n(&e->srv->min_replicas_max_lag, __ATOMIC_RELAXED));
}

static bool check_min_lag(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			  const char **err)
{
	return uint_in(e, p, n, 0, INT32_MAX, &v->u, err);
}

static bool apply_min_lag(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->srv->min_replicas_max_lag, (int64_t)v->u, __ATOMIC_RELAXED);
	return true;
}

static void get_acllog_len(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, __atomic_load_n(&e->srv->acllog_max_len, __ATOMIC_RELAXED));
}

static bool check_acllog_len(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			     const char **err)
{
	/* (ACL LOG keeps at most its own fixed number of entries: acl.c) */
	return uint_in(e, p, n, 0, UINT32_MAX, &v->u, err);
}

static bool apply_acllog_len(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	__atomic_store_n(&e->srv->acllog_max_len, (uint32_t)v->u, __ATOMIC_RELAXED);
	return true;
}

/* tracking-table-max-keys (client tracking: redis/tracking.h) */
static void get_trk_max(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, rd_tracking_max_keys(e->srv));
}

static bool check_trk_max(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			  const char **err)
{
	return uint_in(e, p, n, 0, INT64_MAX, &v->u, err);
}

static bool apply_trk_max(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	rd_tracking_set_max_keys(e->lc, v->u);
	return true;
}

/* ---- client-output-buffer-limit: "<class> <hard> <soft> <seconds>" groups ---- */

static const char *const obuf_class[RD_OBUF_CLASSES] = { "normal", "slave", "pubsub" };

static void get_obuf(struct cfg_env *e, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned c = 0; c < RD_OBUF_CLASSES && n < cap; c++) {
		const struct rd_obuf_limit *l = &e->srv->push.obuf[c];
		int k = snprintf(buf + n, cap - n, "%s%s %lu %lu %lu", c ? " " : "", obuf_class[c],
				 (unsigned long)__atomic_load_n(&l->hard, __ATOMIC_RELAXED),
				 (unsigned long)__atomic_load_n(&l->soft, __ATOMIC_RELAXED),
				 (unsigned long)__atomic_load_n(&l->soft_seconds, __ATOMIC_RELAXED));

		if (k < 0)
			break;
		n += (size_t)k;
	}
}

/* Parse the groups into out[] (classes not named keep what set[] says: false). */
static bool obuf_parse(const uint8_t *p, uint32_t n, struct rd_obuf_limit *out, bool *set,
		       const char **err)
{
	const uint8_t *w[4];
	uint32_t wl[4];
	unsigned k = 0;

	for (uint32_t i = 0;;) {
		while (i < n && p[i] == ' ')
			i++;
		if (i >= n)
			break;
		w[k] = p + i;
		while (i < n && p[i] != ' ')
			i++;
		wl[k] = (uint32_t)(w[k] == p + i ? 0 : p + i - w[k]);
		if (++k < 4)
			continue;
		k = 0;
		{
			int c = -1;
			uint64_t hard, soft;
			int64_t secs;

			if (str_is(w[0], wl[0], "normal"))
				c = RD_OBUF_NORMAL;
			else if (str_is(w[0], wl[0], "slave") || str_is(w[0], wl[0], "replica"))
				c = RD_OBUF_REPLICA;
			else if (str_is(w[0], wl[0], "pubsub"))
				c = RD_OBUF_PUBSUB;
			if (c < 0) {
				*err = "Invalid client class specified in buffer limit configuration.";
				return false;
			}
			if (!rd_config_memory(w[1], wl[1], &hard) ||
			    !rd_config_memory(w[2], wl[2], &soft) ||
			    !rd_parse_ll(w[3], wl[3], &secs) || secs < 0) {
				*err = "Error in hard, soft or soft_seconds setting in buffer limit "
				       "configuration.";
				return false;
			}
			out[c] = (struct rd_obuf_limit){ hard, soft, (uint64_t)secs };
			set[c] = true;
		}
	}
	if (k) {
		*err = "Wrong number of arguments in buffer limit configuration.";
		return false;
	}
	return true;
}

static bool check_obuf(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
		       const char **err)
{
	struct rd_obuf_limit l[RD_OBUF_CLASSES];
	bool set[RD_OBUF_CLASSES] = { false };

	(void)e;
	v->str.p = p;
	v->str.n = n;
	return obuf_parse(p, n, l, set, err);
}

static bool apply_obuf(struct cfg_env *e, const union pval *v, const char **err)
{
	struct rd_obuf_limit l[RD_OBUF_CLASSES];
	bool set[RD_OBUF_CLASSES] = { false };

	if (!obuf_parse(v->str.p, v->str.n, l, set, err))
		return false;
	for (unsigned c = 0; c < RD_OBUF_CLASSES; c++) {
		struct rd_obuf_limit *d = &e->srv->push.obuf[c];

		if (!set[c])
			continue;
		__atomic_store_n(&d->hard, l[c].hard, __ATOMIC_RELAXED);
		__atomic_store_n(&d->soft, l[c].soft, __ATOMIC_RELAXED);
		__atomic_store_n(&d->soft_seconds, l[c].soft_seconds, __ATOMIC_RELAXED);
	}
	return true;
}

/* ---- encoding parameters (Redis 7.0's names and ranges: size_t 0 .. LONG_MAX) ---- */

static void get_hash_entries(struct cfg_env *e, char *buf, size_t cap)
{
	struct wc_climits l;

	(void)e;
	wc_c_get_limits(&l);
	put_u(buf, cap, l.hash_entries);
}

static bool check_size(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
		       const char **err)
{
	return uint_in(e, p, n, 0, INT64_MAX, &v->u, err);
}

/* Memory-style sizes ("1kb") as Redis takes them for the -value parameters. */
static bool check_msize(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			const char **err)
{
	if (n && p[0] == '-') {
		snprintf(e->err, sizeof(e->err), "argument must be between 0 and %ld inclusive",
			 (long)INT64_MAX);
		*err = e->err;
		return false;
	}
	if (!rd_config_memory(p, n, &v->u)) {
		*err = "argument must be a memory value";
		return false;
	}
	if (v->u > INT64_MAX) {
		snprintf(e->err, sizeof(e->err), "argument must be between 0 and %ld inclusive",
			 (long)INT64_MAX);
		*err = e->err;
		return false;
	}
	return true;
}

static bool apply_hash_entries(struct cfg_env *e, const union pval *v, const char **err)
{
	struct wc_climits l;

	(void)e;
	(void)err;
	wc_c_get_limits(&l);
	/* the store keeps at most WC_C_COMPACT_MAX members compact */
	l.hash_entries = v->u < WC_C_COMPACT_MAX ? (uint32_t)v->u : WC_C_COMPACT_MAX;
	wc_c_set_limits(&l);
	return true;
}

static void get_hash_value(struct cfg_env *e, char *buf, size_t cap)
{
	struct wc_climits l;

	(void)e;
	wc_c_get_limits(&l);
	put_u(buf, cap, l.hash_value);
}

static bool apply_hash_value(struct cfg_env *e, const union pval *v, const char **err)
{
	struct wc_climits l;

	(void)e;
	(void)err;
	wc_c_get_limits(&l);
	/* (no field or value past 4 GiB - 1 fits a compact list anyway) */
	l.hash_value = v->u < UINT32_MAX ? (uint32_t)v->u : UINT32_MAX;
	wc_c_set_limits(&l);
	return true;
}

static void get_set_int(struct cfg_env *e, char *buf, size_t cap)
{
	struct wc_climits l;

	(void)e;
	wc_c_get_limits(&l);
	put_u(buf, cap, l.set_int_entries);
}

static bool apply_set_int(struct cfg_env *e, const union pval *v, const char **err)
{
	struct wc_climits l;

	(void)e;
	(void)err;
	wc_c_get_limits(&l);
	/* (the store counts to 2^32 - 1 for this purpose) */
	l.set_int_entries = v->u < UINT32_MAX ? (uint32_t)v->u : UINT32_MAX;
	wc_c_set_limits(&l);
	return true;
}

static void get_zset_entries(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, e->srv->zset_lp_entries);
}

static bool apply_zset_entries(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	e->srv->zset_lp_entries = v->u;
	return true;
}

static void get_zset_value(struct cfg_env *e, char *buf, size_t cap)
{
	put_u(buf, cap, e->srv->zset_lp_value);
}

static bool apply_zset_value(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	e->srv->zset_lp_value = v->u;
	return true;
}

static void get_list_size(struct cfg_env *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%ld", (long)e->srv->list_lp_size);
}

static bool check_list_size(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			    const char **err)
{
	return int_in(e, p, n, INT32_MIN, INT32_MAX, &v->i, err);
}

static bool apply_list_size(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	e->srv->list_lp_size = v->i;
	return true;
}

static void get_list_depth(struct cfg_env *e, char *buf, size_t cap)
{
	snprintf(buf, cap, "%ld", (long)e->srv->list_compress_depth);
}

static bool check_list_depth(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			     const char **err)
{
	return int_in(e, p, n, 0, INT32_MAX, &v->i, err);
}

static bool apply_list_depth(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)err;
	e->srv->list_compress_depth = v->i;
	return true;
}

/* dir and dbfilename: the RDB saver keeps them (redis/rdbsave.h) */
static void get_dir(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	rd_save_get_dir(buf, cap);
}

static bool check_dir(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
		      const char **err)
{
	(void)e;
	if ((*err = rd_save_check_dir(p, n)) != NULL)
		return false;
	v->str.p = p;
	v->str.n = n;
	return true;
}

static bool apply_dir(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)e;
	return (*err = rd_save_set_dir(v->str.p, v->str.n)) == NULL;
}

static void get_dbfilename(struct cfg_env *e, char *buf, size_t cap)
{
	(void)e;
	rd_save_get_filename(buf, cap);
}

static bool check_dbfilename(struct cfg_env *e, const uint8_t *p, uint32_t n, union pval *v,
			     const char **err)
{
	(void)e;
	if ((*err = rd_save_check_filename(p, n)) != NULL)
		return false;
	v->str.p = p;
	v->str.n = n;
	return true;
}

static bool apply_dbfilename(struct cfg_env *e, const union pval *v, const char **err)
{
	(void)e;
	return (*err = rd_save_set_filename(v->str.p, v->str.n)) == NULL;
}

static const struct param params[] = {
	{ "maxmemory", NULL, get_maxmemory, check_maxmemory, NULL },
	{ "maxmemory-policy", NULL, get_policy, check_policy, NULL },
	{ "timeout", NULL, get_timeout, check_timeout, apply_timeout },
	{ "maxclients", NULL, get_maxclients, check_maxclients, apply_maxclients },
	{ "requirepass", NULL, get_requirepass, check_requirepass, apply_requirepass },
	{ "masterauth", NULL, get_masterauth, check_requirepass, apply_masterauth },
	{ "masteruser", NULL, get_masteruser, check_masteruser, apply_masteruser },
	{ "proto-max-bulk-len", NULL, get_bulk, check_bulk, apply_bulk },
	{ "save", NULL, get_empty, check_save, NULL },
	{ "appendonly", NULL, get_no, check_appendonly, NULL },
	{ "notify-keyspace-events", NULL, get_notify, check_notify, apply_notify },
	{ "cluster-enabled", NULL, get_cluster, NULL, NULL },
	{ "databases", NULL, get_databases, NULL, NULL },
	{ "slowlog-log-slower-than", NULL, get_slower, check_slower, apply_slower },
	{ "slowlog-max-len", NULL, get_slowlen, check_slowlen, apply_slowlen },
	{ "acllog-max-len", NULL, get_acllog_len, check_acllog_len, apply_acllog_len },
	{ "min-replicas-to-write", "min-slaves-to-write", get_min_replicas, check_min_replicas,
	  apply_min_replicas },
	{ "min-replicas-max-lag", "min-slaves-max-lag", get_min_lag, check_min_lag, apply_min_lag },
	{ "tracking-table-max-keys", NULL, get_trk_max, check_trk_max, apply_trk_max },
	{ "client-output-buffer-limit", NULL, get_obuf, check_obuf, apply_obuf },
	{ "hash-max-listpack-entries", "hash-max-ziplist-entries", get_hash_entries, check_size,
	  apply_hash_entries },
	{ "hash-max-listpack-value", "hash-max-ziplist-value", get_hash_value, check_msize,
	  apply_hash_value },
	{ "set-max-intset-entries", NULL, get_set_int, check_size, apply_set_int },
	{ "zset-max-listpack-entries", "zset-max-ziplist-entries", get_zset_entries, check_size,
	  apply_zset_entries },
	{ "zset-max-listpack-value", "zset-max-ziplist-value", get_zset_value, check_msize,
	  apply_zset_value },
	{ "list-max-listpack-size", "list-max-ziplist-size", get_list_size, check_list_size,
	  apply_list_size },
	{ "list-compress-depth", NULL, get_list_depth, check_list_depth, apply_list_depth },
	{ "dir", NULL, get_dir, check_dir, apply_dir },
	{ "dbfilename", NULL, get_dbfilename, check_dbfilename, apply_dbfilename },
};

#define NPARAMS (sizeof(params) / sizeof(params[0]))

static const struct param *param_named(const uint8_t *p, uint32_t n)
{
	for (unsigned i = 0; i < NPARAMS; i++)
		if (str_is(p, n, params[i].name) ||
		    (params[i].alias && str_is(p, n, params[i].alias)))
			return &params[i];
	return NULL;
}

static bool is_glob(const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] == '*' || p[i] == '?' || p[i] == '[')
			return true;
	return false;
}

unsigned rd_config_find(const uint8_t *pat, uint32_t len, const char **names, unsigned max)
{
	unsigned n = 0;

	if (!is_glob(pat, len)) {
		const struct param *p = param_named(pat, len);

		if (p && max)
			names[n] = p->name;
		return p ? 1 : 0;
	}
	for (unsigned i = 0; i < NPARAMS; i++) {
		if (!rd_glob_match(pat, len, (const uint8_t *)params[i].name,
				   (uint32_t)strlen(params[i].name), true))
			continue;
		if (n < max)
			names[n] = params[i].name;
		n++;
	}
	return n;
}

static void env_of(struct rd_session *s, struct cfg_env *e)
{
	e->app = rd_lcore(s)->app;
	e->lc = rd_lcore(s);
	e->srv = rd_server(s);
	e->err[0] = 0;
}

/* ---- CONFIG GET ---- */

static enum rd_res config_get(struct rd_session *s)
{
	struct cfg_env e;
	/* what matched, once each: the parameter, and the name to answer with */
	const struct param *hit[NPARAMS];
	const uint8_t *as[NPARAMS];
	uint32_t as_len[NPARAMS];
	unsigned nhit = 0;

	env_of(s, &e);
	for (uint32_t a = 2; a < rd_argc(s); a++) {
		const uint8_t *p = rd_argp(s, a);
		uint32_t n = rd_arg(s, a)->len;
		const char *names[NPARAMS];
		unsigned k;

		if (!p)
			continue;
		k = rd_config_find(p, n, names, NPARAMS);
		for (unsigned i = 0; i < k && i < NPARAMS; i++) {
			const struct param *pm = param_named((const uint8_t *)names[i],
							     (uint32_t)strlen(names[i]));
			bool seen = false;

			for (unsigned j = 0; j < nhit; j++)
				seen |= hit[j] == pm;
			if (seen)
				continue;
			hit[nhit] = pm;
			/* Redis 7.0 answers an exact name as it was asked for */
			as[nhit] = is_glob(p, n) ? (const uint8_t *)pm->name : p;
			as_len[nhit] = is_glob(p, n) ? (uint32_t)strlen(pm->name) : n;
			nhit++;
		}
	}
	resp_map(rd_out(s), s->proto, nhit);
	for (unsigned i = 0; i < nhit; i++) {
		char buf[RD_PASS_MAX + 32];

		rte_spinlock_lock(&e.srv->admin_lock);
		hit[i]->get(&e, buf, sizeof(buf));
		rte_spinlock_unlock(&e.srv->admin_lock);
		resp_bulk(rd_out(s), as[i], as_len[i]);
		resp_bulk_str(rd_out(s), buf);
	}
	return RD_DONE;
}

/* ---- CONFIG SET ---- */

static void set_failed(struct rd_session *s, const uint8_t *name, uint32_t len, const char *err)
{
	rd_err_fmt(s, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
		   (int)(len < 128 ? len : 128), (const char *)name, err);
}

static enum rd_res config_set(struct rd_session *s)
{
	uint32_t argc = rd_argc(s), npairs = (argc - 2) / 2;
	const struct param *pm[NPARAMS];
	union pval val[NPARAMS];
	const char *err = NULL;
	struct cfg_env e;

	if (argc % 2) {
		rd_err_syntax(s);
		return RD_DONE;
	}
	env_of(s, &e);
	/* a password never reaches the slow log, whatever else is wrong with the request */
	for (uint32_t i = 0; i < npairs && 3 + 2 * i < 32; i++) {
		const uint8_t *name = rd_argp(s, 2 + 2 * i);

		if (name && str_is(name, rd_arg(s, 2 + 2 * i)->len, "requirepass"))
			s->redact |= 1u << (3 + 2 * i);
	}
	/* the names first: an unknown one, a read-only one or a repeat fails the lot */
	for (uint32_t i = 0; i < npairs; i++) {
		const uint8_t *name = rd_argp(s, 2 + 2 * i);
		uint32_t len = rd_arg(s, 2 + 2 * i)->len;
		const struct param *p = name ? param_named(name, len) : NULL;

		if (!p) {
			rd_err_fmt(s, "ERR Unknown option or number of arguments for CONFIG SET - "
				      "'%.*s'", (int)(name ? (len < 128 ? len : 128) : 0),
				   name ? (const char *)name : "");
			return RD_DONE;
		}
		if (!p->check) {
			set_failed(s, name, len, "can't set immutable config");
			return RD_DONE;
		}
		/* (past NPARAMS pairs, a known name can only be a repeat) */
		for (uint32_t j = 0; j < i && j < NPARAMS; j++) {
			if (pm[j] == p) {
				set_failed(s, name, len, "duplicate parameter");
				return RD_DONE;
			}
		}
		if (i < NPARAMS)
			pm[i] = p;
	}
	/* then every value, before anything changes */
	for (uint32_t i = 0; i < npairs; i++) {
		const struct resp_arg *v = rd_arg(s, 3 + 2 * i);

		if (v->kind != RESP_ARG_PTR) {
			set_failed(s, (const uint8_t *)pm[i]->name, (uint32_t)strlen(pm[i]->name),
				   "argument too long");
			return RD_DONE;
		}
		if (!pm[i]->check(&e, v->u.p, v->len, &val[i], &err)) {
			set_failed(s, (const uint8_t *)pm[i]->name, (uint32_t)strlen(pm[i]->name),
				   err);
			return RD_DONE;
		}
	}
	rte_spinlock_lock(&e.srv->admin_lock);
	/* requirepass first: the one change that can still fail (memory) */
	for (uint32_t i = 0; i < npairs; i++) {
		if (pm[i]->apply == apply_requirepass && !apply_requirepass(&e, &val[i], &err)) {
			rte_spinlock_unlock(&e.srv->admin_lock);
			set_failed(s, (const uint8_t *)pm[i]->name, (uint32_t)strlen(pm[i]->name),
				   err);
			return RD_DONE;
		}
	}
	for (uint32_t i = 0; i < npairs; i++)
		if (pm[i]->apply && pm[i]->apply != apply_requirepass)
			pm[i]->apply(&e, &val[i], &err);
	rte_spinlock_unlock(&e.srv->admin_lock);
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* ---- CONFIG RESETSTAT ---- */

static enum rd_res config_resetstat(struct rd_session *s)
{
	struct wc_app *app = rd_lcore(s)->app;
	struct rd_server *srv = rd_server(s);

	rte_spinlock_lock(&srv->admin_lock);
	/* memcached's "stats reset" baselines (hits, misses, bytes ...), then Redis's own */
	wc_stats_reset(app);
	rd_server_totals(app, &srv->base);
	rd_server_cmd_stats_reset(app, srv);
	rte_spinlock_unlock(&srv->admin_lock);
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* ---- CONFIG HELP ---- */

static enum rd_res config_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"GET <pattern> [<pattern> ...]",
		"    The parameters whose names match a glob-style <pattern>, with their values.",
		"SET <parameter> <value> [<parameter> <value> ...]",
		"    Change parameters: all of them, or none when one is refused.",
		"RESETSTAT",
		"    Start INFO's statistics (and memcached's \"stats\") from zero.",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}

#define CFG (RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE)

static struct rd_cmd config_sub[] = {
	RD_CMD("get", config_get, -3, CFG, 0, 0, 0, 0, "server",
	       "The values of configuration parameters", "2.0.0",
	       "O(N) for N parameters asked for"),
	RD_CMD_TIPS("request_policy:all_nodes response_policy:all_succeeded", "set", config_set,
		    -4, CFG, 0, 0, 0, 0, "server", "Change configuration parameters", "2.0.0",
		    "O(N) for N parameters given"),
	RD_CMD("resetstat", config_resetstat, 2, CFG, 0, 0, 0, 0, "server",
	       "Reset the statistics INFO reports", "2.0.0", "O(1)"),
	RD_CMD("help", config_help, 2, RD_F_LOADING | RD_F_STALE, 0, 0, 0, 0, "server",
	       "What the CONFIG subcommands do", "5.0.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_config[] = {
	{ .name = "config", .arity = -2, .sub = config_sub, .group = "server",
	  .summary = "Read and change the server's configuration", .since = "2.0.0",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
