/*
 * frame.c - the link's frame headers and handshake proofs (see frame.h):
 * pure functions, shared by both ends and by the fuzz harness.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <rte_random.h>

#include "cluster/frame.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

bool wc_link_len_ok(uint8_t kind, uint32_t len)
{
	switch (kind) {
	case WC_LINK_HELLO:
		return len == 4 + WC_LINK_NONCE;
	case WC_LINK_CHALLENGE:
		return len == WC_LINK_NONCE + WC_LINK_MAC;
	case WC_LINK_AUTH:
		return len == WC_LINK_MAC;
	case WC_LINK_MC_REQ:
		return len > 0 && len <= WC_LINK_FRAME_MAX;
	case WC_LINK_MC_REP:
		return len <= WC_LINK_FRAME_MAX;
	case WC_LINK_PUBLISH:
		return len >= 4 && len <= WC_LINK_FRAME_MAX;	/* (its channel's length is read later) */
	case WC_LINK_STATE:
		return len == WC_LINK_STATE_LEN;
	default:
		return false;
	}
}

enum wc_link_parse wc_link_hdr_parse(const uint8_t *p, size_t n, struct wc_link_hdr *h)
{
	if (n < WC_LINK_HDR)
		return WC_LINK_NEED;
	h->len = get32(p);
	h->id = get32(p + 4);
	h->kind = p[8];
	h->flags = p[9];
	if (p[10] || p[11] || (h->flags & ~(WC_LINK_F_UDP | WC_LINK_F_ASKING)) || !wc_link_len_ok(h->kind, h->len))
		return WC_LINK_BAD;
	return WC_LINK_OK;
}

void wc_link_hdr_put(uint8_t *p, const struct wc_link_hdr *h)
{
	put32(p, h->len);
	put32(p + 4, h->id);
	p[8] = h->kind;
	p[9] = h->flags;
	p[10] = p[11] = 0;
}

void wc_link_nonce(uint8_t *out)
{
	if (RAND_bytes(out, (int)WC_LINK_NONCE) == 1)
		return;
	for (unsigned i = 0; i < WC_LINK_NONCE; i += 8) {	/* no entropy source: DPDK's */
		uint64_t r = rte_rand();

		memcpy(out + i, &r, 8);
	}
}

static bool mac(const char *secret, const char *label, const uint8_t *a, const uint8_t *b,
		uint8_t *out)
{
	uint8_t msg[16 + 2 * WC_LINK_NONCE];
	size_t l = strlen(label);
	unsigned olen = WC_LINK_MAC;

	memcpy(msg, label, l);
	memcpy(msg + l, a, WC_LINK_NONCE);
	memcpy(msg + l + WC_LINK_NONCE, b, WC_LINK_NONCE);
	return HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, l + 2 * WC_LINK_NONCE, out,
		    &olen) != NULL && olen == WC_LINK_MAC;
}

bool wc_link_mac_server(const char *secret, const uint8_t *nc, const uint8_t *ns, uint8_t *out)
{
	return mac(secret, "wcl-server", nc, ns, out);
}

bool wc_link_mac_client(const char *secret, const uint8_t *ns, const uint8_t *nc, uint8_t *out)
{
	return mac(secret, "wcl-client", ns, nc, out);
}

bool wc_link_mac_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, WC_LINK_MAC) == 0;
}
