/*
 * obj.h - operations on a key whatever its type: names of the types, and
 * the owner-side delete and copy that know how a container is laid out
 * (a small one is a single item, a large one a header plus member buckets,
 * container.h).
 */
#ifndef WC_REDIS_OBJ_H
#define WC_REDIS_OBJ_H

#include "redis/rd.h"

/* "string", "hash", "set" (TYPE, SCAN TYPE). */
const char *rd_type_name(uint8_t type);
/* Redis 7.0's encoding name for a value of this type (OBJECT ENCODING). */
const char *rd_encoding_name(uint8_t type, const uint8_t *v, uint32_t vlen);
/* The type named by an argument, or -1. */
int rd_type_by_name(const struct resp_arg *a);

/* Owner: delete a key of any type; true when it existed. */
bool rd_obj_delete(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *key, uint32_t klen,
		   uint64_t hash);

/*
 * Owner: copy key src to dst in the same partition (value, type, expiry),
 * replacing dst; with move, src is deleted afterwards (RENAME).
 */
enum wc_status rd_obj_copy(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *src,
			   uint32_t slen, const uint8_t *dst, uint32_t dlen, bool move);

#endif
