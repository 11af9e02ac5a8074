/*
 * obj.c - type names, and delete/copy of a key of any type (see obj.h).
 */
#include <string.h>

#include "redis/obj.h"
#include "store/container.h"
#include "store/item.h"

const char *rd_type_name(uint8_t type)
{
	switch (type) {
	case WC_TYPE_STRING:
		return "string";
	case WC_TYPE_HASH:
		return "hash";
	case WC_TYPE_SET:
		return "set";
	default:
		return "none";
	}
}

int rd_type_by_name(const struct resp_arg *a)
{
	if (resp_arg_is(a, "string"))
		return WC_TYPE_STRING;
	if (resp_arg_is(a, "hash"))
		return WC_TYPE_HASH;
	if (resp_arg_is(a, "set"))
		return WC_TYPE_SET;
	return -1;
}

/*
 * Deleting a container drops its key item: a large one's buckets are then
 * orphans, reclaimed in idle time and at the log heads, so DEL and UNLINK
 * cost O(1) whatever the size.
 */
bool rd_obj_delete(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *key, uint32_t klen,
		   uint64_t hash)
{
	return wc_kv_delete(p, ctx, key, klen, hash) == WC_OK;
}

/*
 * A hash or set with member buckets: RENAME keeps its container id (the
 * header moves, the buckets stay and follow it), COPY writes a new container
 * bucket by bucket (store/container.h). Anything else is one item.
 */
enum wc_status rd_obj_copy(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *src,
			   uint32_t slen, const uint8_t *dst, uint32_t dlen, bool move)
{
	return move ? wc_c_rename(p, ctx, src, slen, dst, dlen)
		    : wc_c_copy(p, ctx, src, slen, dst, dlen);
}
