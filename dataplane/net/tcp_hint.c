/*
 * tcp_hint.c - the rx burst's pre-pass for GETs over TCP (tcp_hint.h).
 *
 * A TCP or RESP GET is served one segment at a time (ipv4 -> tcp input ->
 * mc_tcp_run / rd_tcp_run -> wc_get), so without help each request pays
 * its index bucket's and its item's cache misses in turn. Before the
 * burst is served, this pass looks at every frame: an IPv4 segment to our
 * memcached or Redis port has the GETs at the start of its payload read
 * (wc_tcp_hint_payload), their keys hashed and routed to the partition a
 * read goes to, and all of them handed to wc_prefetch_keys, whose two
 * stages (buckets, then candidate items) are wc_get_burst's own.
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
#include "proto/mc_parse.h"
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

static unsigned mc_keys(const uint8_t *p, const uint8_t *end, struct wc_tcp_hint_key *out,
			unsigned max)
{
	unsigned n = 0;

	while (n < max && end - p >= 4) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *key;
		uint32_t klen;
		bool cas;

		if (!nl)
			break;
		if (p[0] == 'm' && p[1] == 'g' && p[2] == ' ')
			key = mg_key(p, nl, &klen);
		else
			key = mc_single_get(p, (uint32_t)(nl + 1 - p), &klen, &cas);
		if (!key)
			break;
		out[n++] = (struct wc_tcp_hint_key){ .key = key, .klen = klen };
		p = nl + 1;
	}
	return n;
}

/*
 * One RESP "*2\r\n$3\r\nGET\r\n$N\r\n<key>\r\n" at t (GET in any case, N
 * without a leading zero): its key, and in *next where the command after it
 * starts; NULL when t[0..end) does not start with a whole one.
 */
static const uint8_t *resp_get_key(const uint8_t *t, const uint8_t *end, uint32_t *klen,
				   const uint8_t **next)
{
	uint64_t head, get;
	const uint8_t *p = t + 14, *k;
	uint32_t n = 0;

	/* 14 bytes of command, a digit, "\r\n", a 1-byte key, "\r\n" */
	if (end - t < 20)
		return NULL;
	memcpy(&head, t, 8);
	memcpy(&get, t + 6, 8);
	if (head != 0x0a0d33240a0d322aull ||	/* "*2\r\n$3\r\n" */
	    ((get >> 16) | 0x0000000000202020ull) != 0x0000240a0d746567ull)	/* "get\r\n$" */
		return NULL;
	if (*p < '1' || *p > '9')
		return NULL;
	for (unsigned d = 0; d < 3 && p < end && *p >= '0' && *p <= '9'; d++)
		n = n * 10 + (uint32_t)(*p++ - '0');
	if (n > HINT_KEY_MAX || end - p < (ptrdiff_t)n + 4 || p[0] != '\r' || p[1] != '\n')
		return NULL;
	k = p + 2;
	if (k[n] != '\r' || k[n + 1] != '\n')
		return NULL;
	*klen = n;
	*next = k + n + 2;
	return k;
}

static unsigned resp_keys(const uint8_t *p, const uint8_t *end, struct wc_tcp_hint_key *out,
			  unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		uint32_t klen;
		const uint8_t *key = resp_get_key(p, end, &klen, &p);

		if (!key)
			break;
		out[n++] = (struct wc_tcp_hint_key){ .key = key, .klen = klen };
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

	if (m->nb_segs != 1 ||
	    m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip) + sizeof(*th) ||
	    ip->next_proto_id != IPPROTO_TCP || eth->ether_type != wc_be16(RTE_ETHER_TYPE_IPV4) ||
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

unsigned wc_tcp_hint_burst(struct wc_lcore *lc, unsigned port, struct rte_mbuf *const *pkts,
			   unsigned n)
{
	const struct wc_app *app = lc->app;
	struct wc_tcp_lc *t = lc->tcp;
	struct wc_tcp_hint_key keys[WC_TCP_HINT_MAX];
	struct wc_key_hint hints[WC_TCP_HINT_MAX];
	const uint16_t *table;
	struct wc_part *one;
	unsigned nk = 0;
	uint32_t ip_be;
	bool mc_on, rd_on;

	if (!t || t->no_hint)
		return 0;
	mc_on = app->cfg.tcp_enabled;
	rd_on = app->cfg.redis_port != 0;
	if (!mc_on && !rd_on)
		return 0;
	ip_be = wc_be32(app->ports[port].ip);
	for (unsigned i = 0; i < n && nk < WC_TCP_HINT_MAX; i++) {
		const uint8_t *payload;
		uint32_t len;
		bool resp;

		payload = segment_payload(pkts[i], ip_be, mc_on, wc_be16(app->cfg.tcp_port), rd_on,
					  wc_be16(app->cfg.redis_port), &resp, &len);
		if (payload)
			nk += wc_tcp_hint_payload(resp, payload, len, keys + nk,
						  WC_TCP_HINT_MAX - nk);
	}
	if (nk == 0)
		return 0;
	/* where each read goes: the one partition, or its slot's; another node's keys: none */
	table = rcu_dereference(app->slot_part);
	one = wc_slot_read_part(app, table);
	if (!one && wc_slot_table_of(table)->remote)
		return 0;
	for (unsigned j = 0; j < nk; j++) {
		hints[j].part = one ? one
				    : app->parts[table[wc_key_slot(keys[j].key, keys[j].klen)] &
						 WC_SLOT_PART_MASK];
		hints[j].klen = keys[j].klen;
		hints[j].hash = wc_hash_inline(keys[j].key, keys[j].klen);
	}
	wc_prefetch_keys(hints, nk);
	t->hinted += nk;
	return nk;
}
