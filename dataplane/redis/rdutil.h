/*
 * rdutil.h - what command handlers share: a per-command job area in the
 * session (a handler's parsed options, read again by its owner function),
 * fill callbacks that copy an argument or bytes into a new item, replies
 * made from items, and the fan-out of a multi-key command over partitions.
 */
#ifndef WC_REDIS_RDUTIL_H
#define WC_REDIS_RDUTIL_H

#include "redis/rd.h"
#include "store/item.h"

struct wc_app;

#define RD_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define RD_CROSSSLOT "CROSSSLOT Keys in request don't hash to the same slot"

/* The current command's job area (RD_JOB_BYTES, cleared before each command). */
static inline void *rd_job(struct rd_session *s)
{
	return s->job;
}

static inline const void *rd_job_const(const struct rd_session *s)
{
	return s->job;
}

/* fill callback: argument arg of the command, whatever kind it is. */
struct rd_value_src {
	const struct rd_session *s;
	uint32_t arg;
};

void rd_fill_arg(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg);

/* fill callback: n bytes at p. */
struct rd_bytes {
	const uint8_t *p;
	size_t n;
};

void rd_fill_bytes(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg);

/* A string item's value as a bulk, or the null of a missing value. */
void rd_reply_item(struct mc_out *o, uint8_t proto, const struct wc_item *it);

/* The reply for a write the store refused (too large, out of memory). */
void rd_reply_store_error(struct mc_out *o, enum wc_status st);

/*
 * A refusal rd_reply_store_error answers with Redis's OOM error (not too
 * large, not a bad key): Redis counts it as a rejected call (errstat.h).
 */
static inline bool rd_store_error_is_oom(enum wc_status st)
{
	return st != WC_OK && st != WC_ERR_TOO_LARGE && st != WC_ERR_KEY;
}

/*
 * Set on the thread that answered an OOM refusal (rd_reply_store_error);
 * an inline owner call (call.c) clears it before and reads it after.
 */
extern __thread bool rd_oom_answered;

/* A reply that is the OOM refusal (an owner call's, read back by call.c). */
bool rd_reply_is_oom(const uint8_t *p, uint32_t n);

/* Keys at first, first + step ... : all in one partition? (rt: that partition) */
bool rd_keys_one_partition(const struct rd_session *s, uint32_t first, uint32_t step,
			   struct rd_route *rt);

/*
 * Run fn once on the owner of every partition holding a key among the
 * arguments first, first + step ...; fn gets the partition's index in
 * o->arg0 and handles the keys routed there, adding to acc/acc2. RD_DONE
 * once all of them ran; otherwise call again when re-entered (it goes on
 * where it stopped). Uses s->step and s->cursor.
 */
enum rd_res rd_fanout(struct rd_session *s, uint32_t first, uint32_t step, rd_owner_fn fn);

/*
 * Run fn once on every worker lcore (on this one inline, on the others as
 * owner calls), or only on those want(app, i) accepts; fn gets the lcore's
 * index in o->arg0 (rd_owner_lcore(o) is that lcore) and adds to
 * acc/acc2. RD_DONE once every call ran; otherwise call again when
 * re-entered (it goes on where it stopped). Uses s->step and s->cursor
 * (s->step 0 starts it). Not inside a transaction (EXEC cannot wait).
 */
enum rd_res rd_fanout_lcores(struct rd_session *s, rd_owner_fn fn,
			     bool (*want)(const struct wc_app *app, unsigned i));

/* The lcore an owner function runs on. */
struct wc_lcore *rd_owner_lcore(const struct rd_owner *o);

#endif
