/*
 * tcp_hint.h - the rx burst's pre-pass for GETs and SETs over TCP
 * (tcp_hint.c): before a burst is served, the keys of the plain GETs and
 * SETs its segments carry (memcached "get"/"gets" of one key or several,
 * "mg"/"set", RESP "GET", "SET" and "MGET") are hashed and their index
 * buckets, then candidate items, prefetched (store.h: wc_prefetch_buckets, wc_prefetch_items),
 * so the cache misses of the burst's requests overlap instead of each
 * request paying its own in turn. Hints only: it reads frames and the
 * index, changes nothing, and every frame is then served as before.
 */
#ifndef WC_NET_TCP_HINT_H
#define WC_NET_TCP_HINT_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mbuf;
struct wc_lcore;

/* The most keys one burst hints (the rest are served without). */
#define WC_TCP_HINT_MAX 128

/* A key found in a segment's payload (inside it). */
struct wc_tcp_hint_key {
	const uint8_t *key;
	uint32_t klen;
};

/*
 * The keys of the GETs and SETs in a segment's payload p[0..len):
 * memcached (resp false) "get <key> ...", "gets <key> ..." (every key of a
 * line mc_get_line_parse takes), "mg <key> [flags]" and "set <key> <...>"
 * lines, each whole line looked at and any other (another command, a
 * value) stepped over; or RESP (resp true) GET commands,
 * "*2\r\n$3\r\nGET\r\n$N\r\n<key>\r\n", SETs (with or without options) and
 * MGETs (each key), each whole command (an array of bulk strings) looked at and any other
 * stepped over, up to the first thing that is not one. At most max keys,
 * written to out; returns how many. Never reads outside p[0..len).
 */
unsigned wc_tcp_hint_payload(bool resp, const uint8_t *p, uint32_t len,
			     struct wc_tcp_hint_key *out, unsigned max);

/*
 * The pre-pass over an rx burst of n frames from port index port: the
 * keys of the GETs and SETs in its IPv4/TCP segments to our memcached and Redis
 * ports prefetched. Frames are only read (bounds-checked, trusted in
 * nothing); anything in doubt is left alone. Returns how many keys were
 * hinted (also counted in the lcore's TCP statistics).
 */
unsigned wc_tcp_hint_burst(struct wc_lcore *lc, unsigned port, struct rte_mbuf *const *pkts,
			   unsigned n);

#endif
