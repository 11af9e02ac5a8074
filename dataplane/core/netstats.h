/*
 * netstats.h - per-lcore packet counters: traffic, and every frame not taken, by
 * reason: real drops apart from frames that were not for this node.
 * Each lcore writes only its own; readers (stats, telemetry) sum them.
 */
#ifndef WC_CORE_NETSTATS_H
#define WC_CORE_NETSTATS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * X-macro: reason, short name, class. Every frame that is not answered or
 * handed to a protocol is counted under one reason of one of two classes:
 *
 *  DROP     a frame meant for this node that it could not take: malformed,
 *           bad checksum, refused, no buffer, tx ring full ... Exported as
 *           drop_<name> and summed into "drops", which should stay at zero on
 *           a healthy node: when it rises, something is wrong.
 *  IGNORED  a frame that was never for this node: multicast it has not joined
 *           (IPv6 neighbour discovery and MLD, LLDP, STP), unicast for
 *           another MAC (a bridge or switch flooding), protocols it does not
 *           speak (IPv6), ARP and IPv4 for other addresses (broadcasts
 *           included). Exported as ignored_<name> and summed into "ignored";
 *           a shared segment always carries some.
 */
#define WC_DROP_REASONS(X)                                   \
	X(ETH_SHORT, "eth_short", DROP)                      \
	X(ETH_MULTICAST, "eth_multicast", IGNORED)           \
	X(ETH_OTHER_HOST, "eth_other_host", IGNORED)         \
	X(ETH_TYPE, "eth_type", IGNORED)                     \
	X(ARP_BAD, "arp_malformed", DROP)                    \
	X(ARP_NOT_US, "arp_not_us", IGNORED)                 \
	X(IP_SHORT, "ip_short", DROP)                        \
	X(IP_VERSION, "ip_version", DROP)                    \
	X(IP_OPTIONS, "ip_options", DROP)                    \
	X(IP_LENGTH, "ip_length", DROP)                      \
	X(IP_CKSUM, "ip_checksum", DROP)                     \
	X(IP_FRAGMENT, "ip_fragment", DROP)                  \
	X(IP_NOT_US, "ip_not_us", IGNORED)                   \
	X(IP_PROTO, "ip_protocol", DROP)                     \
	X(IP_TTL, "ip_ttl", DROP)                            \
	X(ICMP_BAD, "icmp_malformed", DROP)                  \
	X(ICMP_TYPE, "icmp_type", DROP)                      \
	X(TCP_SHORT, "tcp_short", DROP)                      \
	X(TCP_HEADER, "tcp_header", DROP)                    \
	X(TCP_CKSUM, "tcp_checksum", DROP)                   \
	X(UDP_SHORT, "udp_short", DROP)                      \
	X(UDP_CKSUM, "udp_checksum", DROP)                   \
	X(UDP_PORT, "udp_port", DROP)                        \
	X(MC_FRAME, "memcached_udp_frame", DROP)             \
	X(MC_SOURCE, "memcached_udp_source_refused", DROP)   \
	X(MC_AMPLIFICATION, "memcached_udp_amplification", DROP) \
	X(MC_BUSY, "memcached_udp_busy", DROP)               \
	X(NO_MBUF, "no_mbuf", DROP)                          \
	X(TX_FULL, "tx_full", DROP)                          \
	X(NEIGH_UNRESOLVED, "neighbor_unresolved", DROP)

enum wc_drop {
#define WC_DROP_ENUM(name, str, cls) WC_DROP_##name,
	WC_DROP_REASONS(WC_DROP_ENUM)
#undef WC_DROP_ENUM
	WC_DROP_COUNT
};

/* Short names ("eth_short"), and the exported ones ("drop_eth_short", "ignored_eth_type"). */
extern const char *const wc_drop_names[WC_DROP_COUNT];
extern const char *const wc_drop_stat_names[WC_DROP_COUNT];
/* Whether a reason is of the IGNORED class (the frame was not for this node). */
extern const bool wc_drop_ignored[WC_DROP_COUNT];

struct wc_netstats {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t drops[WC_DROP_COUNT];	/* by reason, ignored frames included */
	uint64_t arp_requests_in, arp_replies_out, arp_requests_out, arp_replies_in;
	uint64_t icmp_echo;
	uint64_t udp_requests, udp_reply_datagrams, udp_remote_waits;
};

/* Sums over the reasons of one class. */
static inline uint64_t wc_netstats_dropped(const struct wc_netstats *ns)
{
	uint64_t n = 0;

	for (int i = 0; i < WC_DROP_COUNT; i++)
		n += wc_drop_ignored[i] ? 0 : ns->drops[i];
	return n;
}

static inline uint64_t wc_netstats_ignored(const struct wc_netstats *ns)
{
	uint64_t n = 0;

	for (int i = 0; i < WC_DROP_COUNT; i++)
		n += wc_drop_ignored[i] ? ns->drops[i] : 0;
	return n;
}

#endif
