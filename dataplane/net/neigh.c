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

#define PROBE_LIMIT 32	/* slots looked at per address */

/*
 * The entry for ip, claiming a free one - or one whose neighbour expired
 * long ago - when create is set. A reclaimed entry loses its MAC before it
 * takes the new address, and readers check the address again after reading
 * the MAC, so nobody ever gets one neighbour's MAC for another's address.
 */
static struct wc_neigh_entry *find(struct wc_neigh *n, uint32_t ip, bool create, uint32_t now)
{
	uint32_t s = slot_of(ip);
	struct wc_neigh_entry *stale = NULL;

	if (ip == 0)
		return NULL;
	for (unsigned probe = 0; probe < PROBE_LIMIT; probe++) {
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
		} else if (!stale && now - __atomic_load_n(&e->confirmed, __ATOMIC_RELAXED) >
						 2 * WC_NEIGH_REACHABLE &&
			   now - __atomic_load_n(&e->probed, __ATOMIC_RELAXED) > WC_NEIGH_REACHABLE) {
			stale = e;
		}
	}
	if (create && stale) {
		uint32_t cur = __atomic_load_n(&stale->ip, __ATOMIC_ACQUIRE);

		__atomic_store_n(&stale->mac_time, 0, __ATOMIC_RELEASE);
		if (__atomic_compare_exchange_n(&stale->ip, &cur, ip, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_store_n(&stale->probed, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&stale->confirmed, 0, __ATOMIC_RELAXED);
			return stale;
		}
	}
	return NULL;
}

bool wc_neigh_lookup(struct wc_neigh *n, uint32_t ip, uint32_t now, struct rte_ether_addr *mac)
{
	struct wc_neigh_entry *e = find(n, ip, false, now);
	uint64_t mt;
	uint32_t confirmed;

	if (!e)
		return false;
	mt = __atomic_load_n(&e->mac_time, __ATOMIC_ACQUIRE);
	confirmed = __atomic_load_n(&e->confirmed, __ATOMIC_RELAXED);
	if (!(mt >> 63) || now - confirmed > WC_NEIGH_REACHABLE ||
	    __atomic_load_n(&e->ip, __ATOMIC_ACQUIRE) != ip)
		return false;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(mt >> (8 * i));
	return true;
}

bool wc_neigh_learn(struct wc_neigh *n, uint32_t ip, const struct rte_ether_addr *mac,
		    uint32_t now)
{
	struct wc_neigh_entry *e = find(n, ip, true, now);
	uint64_t mt = 1ull << 63;	/* valid */
	uint64_t old;

	if (!e)
		return false;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mt |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	__atomic_store_n(&e->confirmed, now, __ATOMIC_RELAXED);
	old = __atomic_exchange_n(&e->mac_time, mt, __ATOMIC_ACQ_REL);
	if (old != mt && (old >> 63))
		__atomic_fetch_add(&n->changes, 1, __ATOMIC_RELEASE);	/* lcores drop their memo */
	if (__atomic_load_n(&e->ip, __ATOMIC_ACQUIRE) != ip) {
		/* the slot was just reclaimed for another address: undo */
		__atomic_store_n(&e->mac_time, 0, __ATOMIC_RELEASE);
		return false;
	}
	return true;
}

bool wc_neigh_should_probe(struct wc_neigh *n, uint32_t ip, uint32_t now)
{
	struct wc_neigh_entry *e = find(n, ip, true, now);
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
