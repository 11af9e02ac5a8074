/*
 * netstats.h - per-lcore packet counters: traffic, and every drop by reason.
 * Each lcore writes only its own; readers (stats, telemetry) sum them.
 */
#ifndef WC_CORE_NETSTATS_H
#define WC_CORE_NETSTATS_H

#include <stdint.h>

/* X-macro: reason, short name for stats output */
#define WC_DROP_REASONS(X)                                   \
	X(ETH_SHORT, "eth_short")                            \
	X(ETH_TYPE, "eth_type")                              \
	X(ETH_NOT_US, "eth_not_us")                          \
	X(ARP_BAD, "arp_malformed")                          \
	X(ARP_NOT_US, "arp_not_us")                          \
	X(IP_SHORT, "ip_short")                              \
	X(IP_VERSION, "ip_version")                          \
	X(IP_OPTIONS, "ip_options")                          \
	X(IP_LENGTH, "ip_length")                            \
	X(IP_CKSUM, "ip_checksum")                           \
	X(IP_FRAGMENT, "ip_fragment")                        \
	X(IP_NOT_US, "ip_not_us")                            \
	X(IP_PROTO, "ip_protocol")                           \
	X(IP_TTL, "ip_ttl")                                  \
	X(ICMP_BAD, "icmp_malformed")                        \
	X(ICMP_TYPE, "icmp_type")                            \
	X(TCP_SHORT, "tcp_short")                            \
	X(TCP_HEADER, "tcp_header")                          \
	X(TCP_CKSUM, "tcp_checksum")                         \
	X(UDP_SHORT, "udp_short")                            \
	X(UDP_CKSUM, "udp_checksum")                         \
	X(UDP_PORT, "udp_port")                              \
	X(MC_FRAME, "memcached_udp_frame")                   \
	X(MC_SOURCE, "memcached_udp_source_refused")         \
	X(MC_AMPLIFICATION, "memcached_udp_amplification")   \
	X(MC_BUSY, "memcached_udp_busy")                     \
	X(NO_MBUF, "no_mbuf")                                \
	X(TX_FULL, "tx_full")                                \
	X(NEIGH_UNRESOLVED, "neighbor_unresolved")

enum wc_drop {
#define WC_DROP_ENUM(name, str) WC_DROP_##name,
	WC_DROP_REASONS(WC_DROP_ENUM)
#undef WC_DROP_ENUM
	WC_DROP_COUNT
};

extern const char *const wc_drop_names[WC_DROP_COUNT];

struct wc_netstats {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
	uint64_t drops[WC_DROP_COUNT];
	uint64_t arp_requests_in, arp_replies_out, arp_requests_out, arp_replies_in;
	uint64_t icmp_echo;
	uint64_t udp_requests, udp_reply_datagrams, udp_remote_waits;
};

#endif
