/*
 * neigh.c - the shared ARP cache (see neigh.h).
 */
#include <string.h>

#include "net/neigh.h"

void wc_neigh_init(struct wc_neigh *n)
{
	memset(n, 0, sizeof(*n));
}

static uint32_t slot_of(uint32_t ip)
{
	return (ip * 2654435761u) >> (32 - 10);
}

/* The entry for ip, claiming a free one when create is set. */
static struct wc_neigh_entry *find(struct wc_neigh *n, uint32_t ip, bool create)
{
	uint32_t s = slot_of(ip);

	if (ip == 0)
		return NULL;
	for (unsigned probe = 0; probe < WC_NEIGH_SLOTS; probe++) {
		struct wc_neigh_entry *e = &n->e[(s + probe) & (WC_NEIGH_SLOTS - 1)];
		uint32_t cur = __atomic_load_n(&e->ip, __ATOMIC_ACQUIRE);

		if (cur == ip)
			return e;
		if (cur == 0) {
			if (!create)
				return NULL;
			if (__atomic_compare_exchange_n(&e->ip, &cur, ip, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE) || cur == ip)
				return e;
		}
	}
	return NULL;
}

bool wc_neigh_lookup(struct wc_neigh *n, uint32_t ip, uint32_t now, struct rte_ether_addr *mac)
{
	struct wc_neigh_entry *e = find(n, ip, false);
	uint64_t mt;
	uint32_t confirmed;

	if (!e)
		return false;
	mt = __atomic_load_n(&e->mac_time, __ATOMIC_ACQUIRE);
	confirmed = __atomic_load_n(&e->confirmed, __ATOMIC_RELAXED);
	if (!(mt >> 63) || now - confirmed > WC_NEIGH_REACHABLE)
		return false;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(mt >> (8 * i));
	return true;
}

bool wc_neigh_learn(struct wc_neigh *n, uint32_t ip, const struct rte_ether_addr *mac,
		    uint32_t now)
{
	struct wc_neigh_entry *e = find(n, ip, true);
	uint64_t mt = 1ull << 63;	/* valid */

	if (!e)
		return false;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mt |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	__atomic_store_n(&e->confirmed, now, __ATOMIC_RELAXED);
	__atomic_store_n(&e->mac_time, mt, __ATOMIC_RELEASE);
	return true;
}

bool wc_neigh_should_probe(struct wc_neigh *n, uint32_t ip, uint32_t now)
{
	struct wc_neigh_entry *e = find(n, ip, true);
	uint32_t last;

	if (!e)
		return false;
	last = __atomic_load_n(&e->probed, __ATOMIC_RELAXED);
	if (last != 0 && now - last < 1)
		return false;
	return __atomic_compare_exchange_n(&e->probed, &last, now, false, __ATOMIC_RELAXED,
					   __ATOMIC_RELAXED);
}

unsigned wc_neigh_count(struct wc_neigh *n, uint32_t now)
{
	unsigned c = 0;
	struct rte_ether_addr mac;

	for (unsigned i = 0; i < WC_NEIGH_SLOTS; i++)
		if (n->e[i].ip && wc_neigh_lookup(n, n->e[i].ip, now, &mac))
			c++;
	return c;
}
