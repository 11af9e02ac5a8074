/*
 * neigh.h - the ARP neighbour cache, shared by every lcore of the dataplane.
 *
 * Entries are learned from ARP traffic (requests for our addresses and
 * replies to ours) and expire WC_NEIGH_REACHABLE seconds after they were
 * last confirmed. An lcore that must send to an address it cannot resolve
 * sends an ARP request (at most one per address per second) and parks the
 * packet for up to WC_NEIGH_HOLD_SECS.
 *
 * Lookups are lock-free: an entry's address is claimed once with a
 * compare-and-swap, and its MAC lives in one 64-bit word replaced
 * atomically, so readers never see half an update.
 */
#ifndef WC_NET_NEIGH_H
#define WC_NET_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#define WC_NEIGH_SLOTS 1024		/* power of two */
#define WC_NEIGH_REACHABLE 300		/* seconds an entry stays valid */
#define WC_NEIGH_HOLD_SECS 2		/* how long a packet waits for resolution */

struct wc_neigh_entry {
	uint32_t ip;			/* 0 = free; never changes once set */
	uint32_t probed;		/* clock second of our last request for it */
	uint64_t mac_time;		/* bit 63: valid, low 48 bits: the MAC */
	uint32_t confirmed;		/* clock second of the last confirmation */
};

struct wc_neigh {
	uint32_t changes;		/* bumped when a known address moves to another MAC */
	struct wc_neigh_entry e[WC_NEIGH_SLOTS];
};

void wc_neigh_init(struct wc_neigh *n);

/* A valid MAC for ip at clock second now, or false. */
bool wc_neigh_lookup(struct wc_neigh *n, uint32_t ip, uint32_t now, struct rte_ether_addr *mac);

/* Record ip at mac, confirmed now. false when the table is full. */
bool wc_neigh_learn(struct wc_neigh *n, uint32_t ip, const struct rte_ether_addr *mac,
		    uint32_t now);

/* True when the caller should send an ARP request for ip now (rate-limited). */
bool wc_neigh_should_probe(struct wc_neigh *n, uint32_t ip, uint32_t now);

/* Entries currently valid (for stats). */
unsigned wc_neigh_count(struct wc_neigh *n, uint32_t now);

#endif
