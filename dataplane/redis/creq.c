/*
 * creq.c - the table of slot changes between Redis sessions and the
 * control thread (see creq.h for the states and who owns what).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "redis/creq.h"

_Static_assert(RD_CREQ_MAX == 1 << 6, "a request id is (sequence << 6 | index)");

static uint32_t load(const struct rd_creq *r)
{
	return __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
}

static bool cas(struct rd_creq *r, uint32_t *expect, uint32_t want)
{
	return __atomic_compare_exchange_n(&r->state, expect, want, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void put(struct rd_creq *r, uint32_t st)
{
	__atomic_store_n(&r->state, st, __ATOMIC_RELEASE);
}

void rd_creq_init(struct rd_creq_table *t)
{
	memset(t, 0, sizeof(*t));
	t->wake_fd = -1;
}

void rd_creq_attach(struct rd_creq_table *t, int wake_fd)
{
	__atomic_store_n(&t->wake_fd, wake_fd, __ATOMIC_RELEASE);
}

bool rd_creq_attached(const struct rd_creq_table *t)
{
	return __atomic_load_n(&t->wake_fd, __ATOMIC_ACQUIRE) >= 0;
}

const char *rd_creq_op_name(enum rd_creq_op op)
{
	switch (op) {
	case RD_CREQ_MIGRATING:
		return "MIGRATING";
	case RD_CREQ_IMPORTING:
		return "IMPORTING";
	case RD_CREQ_STABLE:
		return "STABLE";
	case RD_CREQ_FAILOVER:
		return "FAILOVER";
	case RD_CREQ_NODE:
		return "NODE";
	}
	return "?";
}

/* ---- the session's side ---- */

int rd_creq_submit(struct rd_creq_table *t, enum rd_creq_op op, unsigned slot, const char *node,
		   int64_t now_ms, uint64_t *id)
{
	int fd;

	for (int i = 0; i < RD_CREQ_MAX; i++) {
		struct rd_creq *r = &t->r[i];
		uint32_t st = RD_CREQ_FREE;
		uint64_t seq;

		if (load(r) != RD_CREQ_FREE || !cas(r, &st, RD_CREQ_FILLING))
			continue;
		seq = __atomic_add_fetch(&t->seq, 1, __ATOMIC_RELAXED);
		r->op = (uint8_t)op;
		r->slot = (uint16_t)slot;
		snprintf(r->node, sizeof(r->node), "%s", node ? node : "");
		/* (the control thread reads the id of an entry it may be losing: atomic) */
		__atomic_store_n(&r->id, seq << 6 | (uint64_t)i, __ATOMIC_RELAXED);
		r->queued_ms = now_ms;
		r->taken_ms = 0;
		r->epoch = 0;
		r->err[0] = 0;
		*id = r->id;
		put(r, RD_CREQ_QUEUED);
		fd = __atomic_load_n(&t->wake_fd, __ATOMIC_ACQUIRE);
		if (fd >= 0) {
			uint64_t one = 1;

			/* (a full counter is still readable: the thread wakes anyway) */
			if (write(fd, &one, sizeof(one)) < 0) {
			}
		}
		return i;
	}
	return -1;
}

enum rd_creq_check rd_creq_check(struct rd_creq_table *t, int i, int64_t now_ms,
				 uint64_t *epoch, const char **err)
{
	struct rd_creq *r = &t->r[i];
	uint32_t st = load(r);

	switch (st) {
	case RD_CREQ_OK:
		*epoch = r->epoch;
		return RD_CREQ_ANSWERED_OK;
	case RD_CREQ_ERR:
		*err = r->err;
		return RD_CREQ_ANSWERED_ERR;
	case RD_CREQ_QUEUED:
		if (now_ms - r->queued_ms >= RD_CREQ_TAKE_MS && cas(r, &st, RD_CREQ_FREE))
			return RD_CREQ_NOBODY;
		return RD_CREQ_WAITING;
	default:
		return RD_CREQ_WAITING;
	}
}

void rd_creq_release(struct rd_creq_table *t, int i)
{
	put(&t->r[i], RD_CREQ_FREE);
}

void rd_creq_abandon(struct rd_creq_table *t, int i)
{
	struct rd_creq *r = &t->r[i];
	uint32_t st = load(r);

	for (;;) {
		switch (st) {
		case RD_CREQ_QUEUED:
		case RD_CREQ_OK:
		case RD_CREQ_ERR:
			if (cas(r, &st, RD_CREQ_FREE))
				return;
			break;	/* (st reloaded: taken or answered meanwhile) */
		case RD_CREQ_TAKEN:
			if (cas(r, &st, RD_CREQ_TAKEN | RD_CREQ_GONE))
				return;
			break;
		default:
			return;	/* not the session's any more */
		}
	}
}

/* ---- the control thread's side ---- */

const struct rd_creq *rd_creq_take(struct rd_creq_table *t, int64_t now_ms)
{
	for (;;) {
		struct rd_creq *best = NULL;
		uint32_t st = RD_CREQ_QUEUED;

		for (int i = 0; i < RD_CREQ_MAX; i++) {
			struct rd_creq *r = &t->r[i];

			if (load(r) == RD_CREQ_QUEUED &&
			    (!best || (int64_t)(__atomic_load_n(&r->id, __ATOMIC_RELAXED) -
						__atomic_load_n(&best->id, __ATOMIC_RELAXED)) < 0))
				best = r;
		}
		if (!best)
			return NULL;
		if (cas(best, &st, RD_CREQ_TAKEN)) {
			best->taken_ms = now_ms;
			return best;
		}
		/* withdrawn by its session meanwhile: look again */
	}
}

int rd_creq_done(struct rd_creq_table *t, uint64_t id, bool ok, uint64_t epoch, const char *err)
{
	struct rd_creq *r = &t->r[id & (RD_CREQ_MAX - 1)];
	uint32_t st = load(r);

	if ((st & RD_CREQ_STATE_MASK) != RD_CREQ_TAKEN || r->id != id)
		return -1;
	if (ok) {
		r->epoch = epoch;
	} else {
		snprintf(r->err, sizeof(r->err), "%s", err ? err : "ERR");
	}
	for (;;) {
		if (st == (RD_CREQ_TAKEN | RD_CREQ_GONE)) {
			put(r, RD_CREQ_FREE);	/* nobody waits for the answer */
			return 0;
		}
		if (cas(r, &st, ok ? RD_CREQ_OK : RD_CREQ_ERR))
			return 0;
	}
}

void rd_creq_untake(struct rd_creq_table *t, uint64_t id)
{
	struct rd_creq *r = &t->r[id & (RD_CREQ_MAX - 1)];
	uint32_t st = load(r);

	if ((st & RD_CREQ_STATE_MASK) != RD_CREQ_TAKEN || r->id != id)
		return;
	for (;;) {
		if (st == (RD_CREQ_TAKEN | RD_CREQ_GONE)) {
			put(r, RD_CREQ_FREE);
			return;
		}
		if (cas(r, &st, RD_CREQ_QUEUED))
			return;
	}
}

unsigned rd_creq_sweep(struct rd_creq_table *t, int64_t now_ms)
{
	unsigned n = 0;

	for (int i = 0; i < RD_CREQ_MAX; i++) {
		struct rd_creq *r = &t->r[i];

		/* (only the control thread moves an entry out of TAKEN|GONE) */
		if (load(r) == (RD_CREQ_TAKEN | RD_CREQ_GONE) &&
		    now_ms - r->taken_ms >= RD_CREQ_ORPHAN_MS) {
			put(r, RD_CREQ_FREE);
			n++;
		}
	}
	return n;
}

unsigned rd_creq_in_use(const struct rd_creq_table *t)
{
	unsigned n = 0;

	for (int i = 0; i < RD_CREQ_MAX; i++)
		n += load(&t->r[i]) != RD_CREQ_FREE;
	return n;
}
