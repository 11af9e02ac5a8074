/*
 * csnap_iter.h - a container's consistent snapshot (store/container.h)
 * walked as the value encoder's member iterator (redis/rdbval.h): what DUMP
 * (dump.c) and the RDB writer (rdb_write.c) both hand to rdbv_emit_*.
 */
#ifndef WC_REDIS_CSNAP_ITER_H
#define WC_REDIS_CSNAP_ITER_H

#include "redis/rdbval.h"
#include "store/container.h"

struct rd_csnap_iter {
	const struct wc_csnap *snap;
	struct wc_csnap_it it;
};

static inline void rd_csnap_iter_rewind(void *arg)
{
	((struct rd_csnap_iter *)arg)->it = (struct wc_csnap_it){ 0 };
}

static inline bool rd_csnap_iter_next(void *arg, struct rdbv_member *m)
{
	struct rd_csnap_iter *si = arg;
	struct wc_cmember cm;

	if (!wc_csnap_next(si->snap, &si->it, &cm))
		return false;
	*m = (struct rdbv_member){ .name = cm.name, .nlen = cm.nlen, .val = cm.val,
				   .vlen = cm.vlen };
	return true;
}

/* it walks snap through si (both the caller's, alive as long as it is used). */
static inline void rd_csnap_iter_init(struct rd_csnap_iter *si, const struct wc_csnap *snap,
				      struct rdbv_iter *it)
{
	*si = (struct rd_csnap_iter){ .snap = snap };
	*it = (struct rdbv_iter){ .rewind = rd_csnap_iter_rewind, .next = rd_csnap_iter_next,
				  .arg = si };
}

#endif
