/*
 * object_cmd.c - OBJECT ENCODING, REFCOUNT, IDLETIME, FREQ and HELP: what
 * the store keeps about a key, under Redis 7.0's names.
 *
 *   ENCODING  strings by Redis's rules on the value (a string2ll integer of
 *             at most 20 bytes: "int"; up to 44 bytes: "embstr"; else
 *             "raw"), since the store keeps every string as plain bytes;
 *             hashes by their real layout (compact: "listpack", bucketed:
 *             "hashtable", store/container.h); sets "intset" while the
 *             store's WC_CF_INTSET flag holds (only integers, at most
 *             set-max-intset-entries members so far), else "hashtable"
 *   REFCOUNT  1: no value is shared between keys here
 *   IDLETIME  seconds since the key was last read or written (the item's
 *             access second; the crawler keeps it at most 60000 s, about 17 hours)
 *   FREQ      Redis's error for a policy that is not LFU: the store's
 *             S3-FIFO keeps a 2-bit reuse counter, not an LFU counter
 */
#include "redis/cmds.h"
#include "redis/obj.h"
#include "redis/text.h"
#include "store/container.h"
#include "store/item.h"

static bool object_find(struct rd_session *s, struct wc_view *v)
{
	const struct resp_arg *k = rd_arg(s, 2);

	if (k->kind != RESP_ARG_PTR ||
	    !rd_lookup(s, k->u.p, k->len, v, WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS)) {
		resp_null(rd_out(s), s->proto);
		return false;
	}
	return true;
}

/* Redis 7.0's name for how a value of this type and these bytes is kept. */
const char *rd_encoding_name(uint8_t type, const uint8_t *v, uint32_t vlen)
{
	struct wc_chdr h;

	switch (type) {
	case WC_TYPE_STRING:
		if (wc_c_is_int(v, vlen))
			return "int";
		return vlen <= 44 ? "embstr" : "raw";
	case WC_TYPE_HASH:
		if (!wc_c_parse(type, v, vlen, &h))
			return "unknown";
		return h.enc == WC_CENC_COMPACT ? "listpack" : "hashtable";
	case WC_TYPE_SET:
		if (!wc_c_parse(type, v, vlen, &h))
			return "unknown";
		return (h.flags & WC_CF_INTSET) ? "intset" : "hashtable";
	default:
		return "unknown";
	}
}

static enum rd_res object_encoding(struct rd_session *s)
{
	struct wc_view v;

	if (object_find(s, &v))
		resp_bulk_str(rd_out(s), rd_encoding_name(v.type, v.value, v.vlen));
	return RD_DONE;
}

static enum rd_res object_refcount(struct rd_session *s)
{
	struct wc_view v;

	if (object_find(s, &v))
		resp_int(rd_out(s), 1);
	return RD_DONE;
}

static enum rd_res object_idletime(struct rd_session *s)
{
	struct wc_view v;

	if (object_find(s, &v))
		resp_int(rd_out(s), v.idle_before);
	return RD_DONE;
}

static enum rd_res object_freq(struct rd_session *s)
{
	struct wc_view v;

	if (object_find(s, &v))
		rd_err(s, "ERR An LFU maxmemory policy is not selected, access frequency "
			  "not tracked. Please note that when switching between policies at "
			  "runtime LRU and LFU data will take some time to adjust.");
	return RD_DONE;
}

static enum rd_res object_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"ENCODING <key>",
		"    How the value of <key> is kept, by Redis's encoding names.",
		"FREQ <key>",
		"    The access frequency of <key> (LFU policies only: not this store's).",
		"IDLETIME <key>",
		"    Seconds since <key> was last read or written.",
		"REFCOUNT <key>",
		"    References to the value of <key> (always 1: values are not shared).",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}

/* a key read without its value (key spec RO), nondeterministic output */
#define OBJ_SUB(nm, fn, sum, ver) \
	{ RD_CMD_FIELDS(nm, fn, 3, RD_F_READONLY, RD_ACL_KEYSPACE | RD_ACL_SLOW, 2, 2, 1, \
			"generic", sum, ver, "O(1)"), \
	  .key_flags = RD_KS_RO, .tips = "nondeterministic_output" }

static struct rd_cmd object_sub[] = {
	OBJ_SUB("encoding", object_encoding, "How a key's value is kept", "2.2.3"),
	OBJ_SUB("freq", object_freq, "A key's access frequency (LFU policies only)", "4.0.0"),
	OBJ_SUB("idletime", object_idletime, "Seconds since a key was last used", "2.2.3"),
	OBJ_SUB("refcount", object_refcount, "References to a key's value", "2.2.3"),
	RD_CMD("help", object_help, 2, RD_F_LOADING | RD_F_STALE, RD_ACL_KEYSPACE | RD_ACL_SLOW,
	       0, 0, 0, "generic", "What the OBJECT subcommands do", "6.2.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_object[] = {
	{ .name = "object", .arity = -2, .sub = object_sub, .group = "generic",
	  .summary = "What the server keeps about a key", .since = "2.2.3",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
