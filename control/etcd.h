/*
 * etcd.h - a small etcd v3 client over etcd's JSON gateway (etcd 3.4:
 * POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/kv/deleterange,
 * /v3/lease/grant, /v3/lease/keepalive, /v3/watch), with libcurl and
 * jansson; keys and values travel base64-encoded.
 *
 * A client holds one or more endpoints ("http://127.0.0.1:2379,http://..."):
 * a call goes to the endpoint that answered last and, when that one cannot be
 * reached, to the others in turn. Every call has a deadline (the client's
 * timeout_ms). Calls return 0, or -1 with a reason in e->err (etcd
 * unreachable, or an error it answered). One client is used by one thread at
 * a time; a watch runs on a thread of its own with its own connections.
 */
#ifndef WC_CONTROL_ETCD_H
#define WC_CONTROL_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_ENDPOINTS_MAX 8

struct etcd {
	char *endpoints[ETCD_ENDPOINTS_MAX];	/* without a trailing '/' */
	unsigned n, cur;
	char urls[512];			/* as given */
	unsigned timeout_ms;
	bool unreachable;		/* the last call reached no endpoint */
	char err[256];
};

struct etcd_kv {
	char *key;
	char *value;			/* NUL-terminated; vlen bytes */
	size_t vlen;
	int64_t create_rev, mod_rev, version, lease;
};

struct etcd_range {
	struct etcd_kv *kvs;
	size_t n;
	int64_t revision;		/* the store's revision when read */
};

/* urls: comma-separated http:// endpoints. 0, or -1 with a reason in e->err. */
int etcd_init(struct etcd *e, const char *urls, unsigned timeout_ms);
void etcd_free(struct etcd *e);
/* The endpoints as given, comma-separated, for messages. */
const char *etcd_endpoint(const struct etcd *e);

/* One key (prefix false) or every key under it (prefix true); out->n may be 0. */
int etcd_get(struct etcd *e, const char *key, bool prefix, struct etcd_range *out);
void etcd_range_free(struct etcd_range *r);

/* Put key = value (vlen bytes), attached to lease when it is not 0. */
int etcd_put(struct etcd *e, const char *key, const char *value, size_t vlen, int64_t lease);
/* Delete key (or every key under it); *deleted (may be NULL) gets the count. */
int etcd_delete(struct etcd *e, const char *key, bool prefix, int64_t *deleted);

/* A transaction: if every compare holds, run the ops (else nothing). */
enum etcd_cmp_target { ETCD_CMP_MOD, ETCD_CMP_CREATE };
struct etcd_cmp {
	const char *key;
	enum etcd_cmp_target target;
	int64_t rev;			/* equal to this (0 with CREATE: the key is absent) */
};
struct etcd_op {
	const char *key;
	const char *value;		/* NULL: delete the key */
	size_t vlen;
	int64_t lease;
};
/* 0 when etcd answered (*succeeded says whether the compares held), -1 on failure. */
int etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ops,
	     size_t nops, bool *succeeded);

/* A lease of ttl_s seconds; *id gets its id, *granted_ttl (may be NULL) its TTL. */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id, int64_t *granted_ttl);
/* Renew a lease once; *ttl gets the TTL left (0: the lease is gone). */
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl);

/* ---- watch ---- */

enum etcd_event_type { ETCD_EV_PUT, ETCD_EV_DELETE, ETCD_EV_RESYNC };

/*
 * One event: a put or delete of kv->key (kv->value is empty for deletes), or
 * ETCD_EV_RESYNC (kv NULL) after the stream was (re)established: events may
 * have been missed while it was down, read the state again.
 */
typedef void (*etcd_watch_cb)(void *arg, enum etcd_event_type type, const struct etcd_kv *kv);

struct etcd_watch;

/*
 * Watch every key under prefix from a thread of its own: it (re)connects to
 * the endpoints in turn, calls cb with ETCD_EV_RESYNC each time the stream
 * is (re)created, then once per event, and retries after a short pause when
 * the stream breaks. NULL when the thread cannot start.
 */
struct etcd_watch *etcd_watch_start(const char *urls, const char *prefix, etcd_watch_cb cb,
				    void *arg);
/* Whether the stream is up now. */
bool etcd_watch_connected(const struct etcd_watch *w);
void etcd_watch_stop(struct etcd_watch *w);

/* base64 of n bytes (malloc'ed, NUL-terminated), and back (*outlen bytes, NUL added). */
char *etcd_b64_encode(const void *p, size_t n);
char *etcd_b64_decode(const char *s, size_t *outlen);

/* The end of the range of every key under prefix (prefix with its last byte + 1). */
char *etcd_prefix_end(const char *prefix);

#endif
