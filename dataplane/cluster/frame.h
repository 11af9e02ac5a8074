/*
 * frame.h - the node-to-node link's framing and handshake (no I/O here).
 *
 * Every message on a link is a frame: a 12-byte header, then len bytes.
 *
 *   u32 len     payload bytes (big-endian), at most WC_LINK_FRAME_MAX
 *   u32 id      request id (big-endian): a reply carries its request's
 *   u8  kind    enum wc_link_kind
 *   u8  flags   WC_LINK_F_*
 *   u16 zero    reserved, must be 0
 *
 * A link is opened by the requesting node (the client) to the owner's
 * cluster bus port (the map's cport). Before anything else both sides
 * prove they know the cluster secret, each over the other's fresh nonce:
 *
 *   client -> HELLO      "WCL1" + Nc (32 random bytes)
 *   server -> CHALLENGE  Ns (32 random bytes) + HMAC-SHA256(secret, "wcl-server" Nc Ns)
 *   client -> AUTH       HMAC-SHA256(secret, "wcl-client" Ns Nc)
 *
 * The client drops the link unless the server's MAC is right; the server
 * answers nothing but a CHALLENGE until the client's MAC is right, and
 * resets the link on a wrong one or on any other frame. After AUTH the
 * client sends MC_REQ frames (a memcached request's bytes: its line and
 * data block, exactly as its client sent them) and the server answers each,
 * in order, with an MC_REP of the same id (the reply's bytes, unchanged).
 *
 * PUBLISH frames (link_pub.c) are one-way, from the publishing node's
 * lcore to every other node: id 0, no reply. Their payload is
 *
 *   u32 chlen   the channel's length (big-endian), at most len - 4
 *   chlen bytes the channel
 *   the rest    the message
 *
 * STATE frames (link_state.c) are one-way too, id 0, every second from the
 * sender's first lcore: its node id (40 hex characters) and its replication
 * offset (u64, big-endian), as Redis Cluster's ping headers carry them.
 *
 * A frame of any kind with a wrong length (a handshake frame not of its
 * fixed size, a PUBLISH shorter than its channel) resets the link.
 */
#ifndef WC_CLUSTER_FRAME_H
#define WC_CLUSTER_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WC_LINK_HDR 12u
#define WC_LINK_FRAME_MAX (130u << 20)	/* a 128 MiB value, its line and then some */
#define WC_LINK_NONCE 32u
#define WC_LINK_MAC 32u
#define WC_LINK_MAGIC "WCL1"

enum wc_link_kind {
	WC_LINK_HELLO = 1,
	WC_LINK_CHALLENGE = 2,
	WC_LINK_AUTH = 3,
	WC_LINK_MC_REQ = 16,
	WC_LINK_MC_REP = 17,
	WC_LINK_PUBLISH = 18,	/* a Redis PUBLISH for this node's subscribers: no reply */
	WC_LINK_STATE = 19,	/* the sender's state (link_state.c): no reply */
};

/* A STATE frame's payload: the sender's node id (40 hex), its replication offset (u64 BE). */
#define WC_LINK_STATE_LEN 48u

#define WC_LINK_F_UDP 1u	/* the request came over UDP (informational) */
/*
 * memcached's ASK: the key's slot is moving from the sender to this node and
 * the key is no longer at the sender; a slot this node imports is served
 */
#define WC_LINK_F_ASKING 2u

struct wc_link_hdr {
	uint32_t len, id;
	uint8_t kind, flags;
};

enum wc_link_parse {
	WC_LINK_NEED = 0,	/* fewer than WC_LINK_HDR bytes */
	WC_LINK_OK = 1,		/* a valid header in h */
	WC_LINK_BAD = -1,	/* not a frame: the link must go */
};

/* Read a header from the first n bytes of p. */
enum wc_link_parse wc_link_hdr_parse(const uint8_t *p, size_t n, struct wc_link_hdr *h);

/* Write a header into p (WC_LINK_HDR bytes). */
void wc_link_hdr_put(uint8_t *p, const struct wc_link_hdr *h);

/* Is a payload of this length right for this kind (the handshake's are fixed)? */
bool wc_link_len_ok(uint8_t kind, uint32_t len);

/* Fresh random bytes for a nonce. */
void wc_link_nonce(uint8_t *out);

/* The server's proof: HMAC(secret, "wcl-server" nc ns); false if it could not be made. */
bool wc_link_mac_server(const char *secret, const uint8_t *nc, const uint8_t *ns, uint8_t *mac);
/* The client's proof: HMAC(secret, "wcl-client" ns nc); false if it could not be made. */
bool wc_link_mac_client(const char *secret, const uint8_t *ns, const uint8_t *nc, uint8_t *mac);
/* Constant-time comparison of two MACs. */
bool wc_link_mac_equal(const uint8_t *a, const uint8_t *b);

#endif
