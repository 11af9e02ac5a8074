/*
 * obj.c - type names, and delete/copy of a key of any type (see obj.h).
 */
#include <string.h>

#include "redis/obj.h"
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

bool rd_obj_delete(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *key, uint32_t klen,
		   uint64_t hash)
{
	return wc_kv_delete(p, ctx, key, klen, hash) == WC_OK;
}

enum wc_status rd_obj_copy(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *src,
			   uint32_t slen, const uint8_t *dst, uint32_t dlen, bool move)
{
	enum wc_status st = wc_kv_copy(p, ctx, src, slen, dst, dlen);

	if (st == WC_OK && move)
		wc_kv_delete(p, ctx, src, slen, wc_hash(src, slen));
	return st;
}
