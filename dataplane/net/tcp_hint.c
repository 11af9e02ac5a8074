/*
 * tcp_hint.c - the rx burst's pre-pass for GETs over TCP (tcp_hint.h).
 *
 * A TCP or RESP GET or SET (or delete, DEL, SETEX, PSETEX, a counter: incr,
 * decr, INCR, DECR, INCRBY, DECRBY) is served one segment at a time (ipv4 -> tcp
 * input -> mc_tcp_run / rd_tcp_run -> wc_get, wc_store), so without help
 * each request pays its index bucket's and its item's cache misses in
 * turn (a SET looks its old version up as a GET does). Before the burst
 * is served, this pass looks at every frame: an IPv4 segment to our
 * memcached or Redis port has the keys of its GETs and writes read
 * (wc_tcp_hint_payload), their keys hashed and routed to the partition a
 * read goes to and their index buckets prefetched, frame by frame; then,
 * those lines on their way, the candidate items of all of them: the two
 * stages of wc_get_burst (store.h: wc_prefetch_buckets, wc_prefetch_items).
 *
 * Nothing here is trusted or acted on: a frame is read only within its
 * own bytes, no checksum is verified (a corrupt segment costs at most a
 * wasted prefetch), no connection state is looked at, and every frame is
 * then served by the usual path exactly as without this pass.
 */
/* rcu_dereference inline (a load), not a call into liburcu */
#define URCU_INLINE_SMALL_FUNCTIONS
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <urcu-qsbr.h>

#include "core/slots.h"
#include "net/net.h"
#include "net/tcp_hint.h"
#include "net/tcp_impl.h"
#include "proto/mc_get_line.h"
#include "proto/mc_parse.h"
#include "proto/resp.h"
#include "store/hash.h"
#include "wirecache/slot.h"

/* The longest key hinted (memcached's limit; RESP's single-GET path's too). */
#define HINT_KEY_MAX 250

/*
 * "mg <key>[ <flags>]" in the line t[0..end) (end at its '\n'): the key,
 * or NULL when it is none or a base64 one (a "b" flag: its bytes are not
 * the key looked up).
 */
static const uint8_t *mg_key(const uint8_t *t, const uint8_t *end, uint32_t *klen)
{
	const uint8_t *k = t + 3, *p = k;

	if (end > k && end[-1] == '\r')
		end--;
	while (p < end && *p > 0x20)
		p++;
	if (p == k || p - k > HINT_KEY_MAX)
		return NULL;
	for (const uint8_t *f = p + 1; f < end; f++)
		if (*f == 'b' && f[-1] == ' ')
			return NULL;
	*klen = (uint32_t)(p - k);
	return k;
}

/*
 * The key after a command word of skip bytes and its space in the line
 * t[0..end) (end at its '\n'), ended by a space, or also by the line's
 * '\r' when line_end: "set <key> ...", "delete <key>[ ...]"; NULL if none.
 */
static const uint8_t *word_key(const uint8_t *t, uint32_t skip, const uint8_t *end, bool line_end,
			       uint32_t *klen)
{
	const uint8_t *k = t + skip, *p = k;

	while (p < end && *p > 0x20)
		p++;
	if (p == k || p == end || (*p != ' ' && !(line_end && *p == '\r')) ||
	    p - k > HINT_KEY_MAX)
		return NULL;
	*klen = (uint32_t)(p - k);
	return k;
}

/* The keys of a "get"/"gets" line of several, t[0..end) (end past its '\n'), up to max. */
static unsigned multi_get_keys(const uint8_t *t, const uint8_t *end, struct wc_tcp_hint_key *out,
			       unsigned max)
{
	struct mc_get_line gl;
	const uint8_t *pos;
	unsigned n = 0;

	if (!mc_get_line_parse(t, (uint32_t)(end - t), &gl))
		return 0;
	for (pos = gl.keys; n < max && pos < gl.keys_end; n++) {
		out[n].key = pos;
		out[n].klen = mc_get_line_next(&gl, &pos);
	}
	return n;
}

static unsigned mc_keys(const uint8_t *p, const uint8_t *end, struct wc_tcp_hint_key *out,
			unsigned max)
{
	unsigned n = 0;

	/* line by line: another command's line, or a value's, is stepped over */
	while (n < max && p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *key;
		uint32_t klen;
		bool cas;

		if (!nl)
			break;
		if (nl - p >= 3 && p[0] == 'm' && p[1] == 'g' && p[2] == ' ')
			key = mg_key(p, nl, &klen);
		else if (nl - p >= 4 && memcmp(p, "set ", 4) == 0)
			key = word_key(p, 4, nl, false, &klen);
		else if (nl - p >= 7 && memcmp(p, "delete ", 7) == 0)
			key = word_key(p, 7, nl, true, &klen);
		else if ((key = mc_single_get(p, (uint32_t)(nl + 1 - p), &klen, &cas)) == NULL) {
			/* (after the usual line, a get of one key: a counter, or a get of several) */
			if (nl - p >= 5 && (memcmp(p, "incr ", 5) == 0 || memcmp(p, "decr ", 5) == 0))
				key = word_key(p, 5, nl, false, &klen);
			else
				n += multi_get_keys(p, nl + 1, out + n, max - n);
		}
		if (key)
			out[n++] = (struct wc_tcp_hint_key){ .key = key, .klen = klen };
		p = nl + 1;
	}
	return n;
}

/* A RESP length at *pp: 1 to 9 digits and "\r\n" (*pp moved past them), or -1. */
static int64_t resp_len(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	int64_t v = 0;
	unsigned d = 0;

	while (p < end && *p >= '0' && *p <= '9' && d < 10) {
		v = v * 10 + (*p++ - '0');
		d++;
	}
	if (d == 0 || d > 9 || end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -1;
	*pp = p + 2;
	return v;
}

/*
 * A command of argc arguments named n[0..len) whose key (its second
 * argument) is hinted: GET <key>, SET <key> <value> with or without
 * options, SETEX and PSETEX <key> <ttl> <value>, a one-key DEL, the
 * counters INCR, DECR <key> and INCRBY, DECRBY <key> <n> (any case).
 */
static bool hinted_command(const uint8_t *n, int64_t len, int64_t argc)
{
	uint32_t k = (uint32_t)len;

	if (len == 3 && (n[1] | 0x20) == 'e' && (n[2] | 0x20) == 't')
		return (argc == 2 && (n[0] | 0x20) == 'g') || (argc >= 3 && (n[0] | 0x20) == 's');
	if (argc == 2)
		return resp_name_is(n, k, "del") || resp_name_is(n, k, "incr") ||
		       resp_name_is(n, k, "decr");
	if (argc == 3)
		return resp_name_is(n, k, "incrby") || resp_name_is(n, k, "decrby");
	return argc == 4 && (resp_name_is(n, k, "setex") || resp_name_is(n, k, "psetex"));
}

/*
 * The RESP command (an array of bulk strings) at t, when t[0..end) holds
 * all of it: where the next one starts, with *key set when it is one
 * hinted_command takes, of a key of 1..HINT_KEY_MAX bytes (klen 0
 * otherwise), or for an MGET its keys of 1..HINT_KEY_MAX bytes in
 * mget[0..*nmget), up to max (mget may be key: *key is then left as
 * that); NULL when t does not start with a whole command.
 */
static const uint8_t *resp_command(const uint8_t *t, const uint8_t *end,
				   struct wc_tcp_hint_key *key, struct wc_tcp_hint_key *mget,
				   unsigned max, unsigned *nmget)
{
	const uint8_t *p = t, *arg[2] = { NULL, NULL };
	int64_t argc, alen[2] = { 0, 0 };
	bool is_mget = false;

	if (p >= end || *p++ != '*' || (argc = resp_len(&p, end)) < 1)
		return NULL;
	/* (each argument takes at least 6 bytes: the loop ends with the payload) */
	for (int64_t i = 0; i < argc; i++) {
		int64_t len;

		if (p >= end || *p++ != '$' || (len = resp_len(&p, end)) < 0 ||
		    end - p < len + 2 || p[len] != '\r' || p[len + 1] != '\n')
			return NULL;
		if (i < 2) {
			arg[i] = p;
			alen[i] = len;
		}
		if (i == 0)
			is_mget = len == 4 && (p[0] | 0x20) == 'm' && (p[1] | 0x20) == 'g' &&
				  (p[2] | 0x20) == 'e' && (p[3] | 0x20) == 't';
		else if (is_mget && *nmget < max && len >= 1 && len <= HINT_KEY_MAX)
			mget[(*nmget)++] = (struct wc_tcp_hint_key){ .key = p, .klen = (uint32_t)len };
		p += len + 2;
	}
	if (is_mget && *nmget)
		return p;	/* (its keys are in mget[], the first where *key is) */
	key->klen = 0;
	if (argc >= 2 && alen[1] >= 1 && alen[1] <= HINT_KEY_MAX &&
	    hinted_command(arg[0], alen[0], argc)) {
		key->key = arg[1];
		key->klen = (uint32_t)alen[1];
	}
	return p;
}

static unsigned resp_keys(const uint8_t *p, const uint8_t *end, struct wc_tcp_hint_key *out,
			  unsigned max)
{
	unsigned n = 0;

	/* command by command: the GETs', SETs' and MGETs' keys taken, any other stepped over */
	while (n < max) {
		unsigned nmget = 0;

		if ((p = resp_command(p, end, &out[n], out + n, max - n, &nmget)) == NULL)
			break;
		n += nmget ? nmget : out[n].klen ? 1 : 0;
	}
	return n;
}

unsigned wc_tcp_hint_payload(bool resp, const uint8_t *p, uint32_t len,
			     struct wc_tcp_hint_key *out, unsigned max)
{
	return resp ? resp_keys(p, p + len, out, max) : mc_keys(p, p + len, out, max);
}

/*
 * The payload of m when it is an IPv4 segment to port ip (network order)
 * and one of the two ports (network order; off: not matched), with *resp
 * telling which; NULL for anything else.
 */
static inline const uint8_t *segment_payload(const struct rte_mbuf *m, uint32_t ip_be,
					     bool mc_on, uint16_t mc_port, bool rd_on,
					     uint16_t rd_port, bool *resp, uint32_t *len)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	unsigned total, doff;

	/* first what turns a UDP frame away (most of a UDP burst's cost here) */
	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip) + sizeof(*th) ||
	    ip->next_proto_id != IPPROTO_TCP)
		return NULL;
	if (m->nb_segs != 1 || eth->ether_type != wc_be16(RTE_ETHER_TYPE_IPV4) ||
	    ip->version_ihl != RTE_IPV4_VHL_DEF || ip->dst_addr != ip_be ||
	    (ip->fragment_offset & wc_be16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		return NULL;
	total = wc_be16(ip->total_length);
	if (total < sizeof(*ip) + sizeof(*th) || total > (unsigned)m->data_len - RTE_ETHER_HDR_LEN)
		return NULL;
	/* (the Redis port first: tcp_in.c gives a port that is both to Redis) */
	if (rd_on && th->dst_port == rd_port)
		*resp = true;
	else if (mc_on && th->dst_port == mc_port)
		*resp = false;
	else
		return NULL;
	doff = (unsigned)(th->data_off >> 4) * 4;
	if (doff < sizeof(*th) || doff >= total - sizeof(*ip))
		return NULL;	/* a bad header, or no payload */
	*len = total - (unsigned)sizeof(*ip) - doff;
	return (const uint8_t *)th + doff;
}

/* Where the reads of this burst go, looked up at its first key. */
struct hint_route {
	const uint16_t *table;
	struct wc_part *one;	/* the partition of every read, or NULL: the key's slot says */
	bool off;		/* another node serves some slots: the general path routes */
};

static inline void hint_route_init(const struct wc_app *app, struct hint_route *rt)
{
	rt->table = rcu_dereference(app->slot_part);
	rt->one = wc_slot_read_part(app, rt->table);
	rt->off = !rt->one && wc_slot_table_of(rt->table)->remote;
}

/* Hash and route keys[0..n) into hints, and prefetch their buckets. */
static void hint_buckets(const struct wc_app *app, const struct hint_route *rt,
			 const struct wc_tcp_hint_key *keys, unsigned n, struct wc_key_hint *hints)
{
	for (unsigned j = 0; j < n; j++) {
		hints[j].part = rt->one ? rt->one
					: app->parts[rt->table[wc_key_slot(keys[j].key, keys[j].klen)] &
						     WC_SLOT_PART_MASK];
		hints[j].klen = keys[j].klen;
		hints[j].hash = wc_hash_inline(keys[j].key, keys[j].klen);
	}
	wc_prefetch_buckets(hints, n);
}

unsigned wc_tcp_hint_burst(struct wc_lcore *lc, unsigned port, struct rte_mbuf *const *pkts,
			   unsigned n)
{
	const struct wc_app *app = lc->app;
	struct wc_tcp_lc *t = lc->tcp;
	struct wc_tcp_hint_key keys[WC_TCP_HINT_MAX];
	struct wc_key_hint hints[WC_TCP_HINT_MAX];
	struct hint_route rt = { .table = NULL };
	unsigned nk = 0;
	uint32_t ip_be;
	uint16_t mc_port, rd_port;
	bool mc_on, rd_on;

	if (!t || t->no_hint)
		return 0;
	mc_on = app->cfg.tcp_enabled;
	rd_on = app->cfg.redis_port != 0;
	if (!mc_on && !rd_on)
		return 0;
	ip_be = wc_be32(app->ports[port].ip);
	mc_port = wc_be16(app->cfg.tcp_port);
	rd_port = wc_be16(app->cfg.redis_port);
	/* each segment's keys found and their buckets prefetched, the next frame read meanwhile */
	for (unsigned i = 0; i < n && nk < WC_TCP_HINT_MAX; i++) {
		const uint8_t *payload;
		uint32_t len;
		unsigned k;
		bool resp;

		payload = segment_payload(pkts[i], ip_be, mc_on, mc_port, rd_on, rd_port, &resp,
					  &len);
		if (!payload)
			continue;
		k = wc_tcp_hint_payload(resp, payload, len, keys, WC_TCP_HINT_MAX - nk);
		if (k == 0)
			continue;
		if (!rt.table)
			hint_route_init(app, &rt);
		if (rt.off)
			break;
		hint_buckets(app, &rt, keys, k, hints + nk);
		nk += k;
	}
	if (nk == 0)
		return 0;
	/* then, those lines on their way or in, the candidate items */
	wc_prefetch_items(hints, nk);
	t->hinted += nk;
	return nk;
}
