/*
 * test_net.c - the packet path without a NIC: ARP answers and learning,
 * ICMP echo, every IPv4/UDP drop reason, frames not for this node counted
 * apart from real drops, memcached over UDP framing (single
 * and multi-datagram replies with valid checksums), the source allow-list,
 * the amplification bound, and holding a reply until the client's MAC is
 * resolved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dp_harness.h"

static struct dp_harness h;

static int setup(void **state)
{
	(void)state;
	if (dp_eal_init() != 0)
		return -1;
	return dp_setup(&h, NULL);
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

static uint64_t drops(enum wc_drop d)
{
	return h.lc->ns.drops[d];
}

/* the single sent frame, checked for the right addressing */
static const uint8_t *sent_frame(unsigned i, uint16_t *len)
{
	assert_true(i < h.nsent);
	*len = h.sent[i]->data_len;
	return rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
}

static void arp_answers_and_learns(void **state)
{
	uint8_t f[128];
	uint16_t len;
	const struct rte_ether_hdr *e;
	const struct rte_arp_hdr *a;
	struct rte_ether_addr mac;

	(void)state;
	dp_clear_sent(&h);
	assert_false(wc_neigh_lookup(h.app.neigh, DP_CLIENT, 1000, &mac));
	dp_input(&h, f, dp_arp(f, RTE_ARP_OP_REQUEST, DP_CLIENT, DP_IP));
	assert_int_equal(h.nsent, 1);
	e = (const struct rte_ether_hdr *)sent_frame(0, &len);
	a = (const struct rte_arp_hdr *)(e + 1);
	assert_true(rte_is_same_ether_addr(&e->dst_addr, &dp_client_mac));
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
	assert_true(rte_is_same_ether_addr(&a->arp_data.arp_sha, &dp_mac));
	assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_sip), DP_IP);
	assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_tip), DP_CLIENT);
	assert_true(wc_neigh_lookup(h.app.neigh, DP_CLIENT, 1000, &mac));
	assert_true(rte_is_same_ether_addr(&mac, &dp_client_mac));
	/* the entry ages out */
	assert_false(wc_neigh_lookup(h.app.neigh, DP_CLIENT, 1000 + WC_NEIGH_REACHABLE + 1, &mac));
	dp_clear_sent(&h);
	/* not for us / malformed */
	dp_input(&h, f, dp_arp(f, RTE_ARP_OP_REQUEST, DP_CLIENT, DP_IP + 1));
	assert_int_equal(h.nsent, 0);
	assert_int_equal(drops(WC_DROP_ARP_NOT_US), 1);
	dp_input(&h, f, dp_arp(f, RTE_ARP_OP_REQUEST, DP_CLIENT, DP_IP) - 10);
	assert_int_equal(drops(WC_DROP_ARP_BAD), 1);
	/* an opcode we do not speak, aimed at us, is malformed; another host's ARP is ignored */
	{
		size_t n = dp_arp(f, RTE_ARP_OP_REQUEST, DP_CLIENT, DP_IP);

		((struct rte_arp_hdr *)(f + RTE_ETHER_HDR_LEN))->arp_opcode = rte_cpu_to_be_16(8);
		dp_input(&h, f, n);
	}
	assert_int_equal(drops(WC_DROP_ARP_BAD), 2);
	assert_int_equal(h.nsent, 0);
	assert_true(wc_drop_ignored[WC_DROP_ARP_NOT_US]);
	assert_false(wc_drop_ignored[WC_DROP_ARP_BAD]);
	/* a client that comes back with another MAC is sent to at once, memo or not */
	{
		const struct rte_ether_addr other = { { 0x02, 0, 0, 0, 0, 0x77 } };

		h.lc->ctx.clock.now = 1000;
		wc_neigh_learn(h.app.neigh, DP_CLIENT, &dp_client_mac, 1000);
		assert_true(wc_lcore_neigh(h.lc, DP_CLIENT, &mac));
		assert_true(rte_is_same_ether_addr(&mac, &dp_client_mac));
		wc_neigh_learn(h.app.neigh, DP_CLIENT, &other, 1000);
		assert_true(wc_lcore_neigh(h.lc, DP_CLIENT, &mac));
		assert_true(rte_is_same_ether_addr(&mac, &other));
		wc_neigh_learn(h.app.neigh, DP_CLIENT, &dp_client_mac, 1000);
		dp_clear_sent(&h);
	}
}

static void icmp_echo(void **state)
{
	uint8_t f[256];
	size_t n = dp_eth(f, &dp_mac, &dp_client_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = dp_ip(f, IPPROTO_ICMP, DP_CLIENT, DP_IP, 8 + 32);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	uint16_t len;
	const struct rte_ipv4_hdr *rip;
	const struct rte_icmp_hdr *ric;

	(void)state;
	dp_clear_sent(&h);
	memset(ic, 0, 8 + 32);
	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_ident = 7;
	memset(ic + 1, 'p', 32);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, 8 + 32);
	dp_input(&h, f, n + 20 + 40);
	assert_int_equal(h.nsent, 1);
	rip = (const struct rte_ipv4_hdr *)(sent_frame(0, &len) + RTE_ETHER_HDR_LEN);
	ric = (const struct rte_icmp_hdr *)(rip + 1);
	assert_int_equal(ric->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(ric->icmp_ident, 7);
	assert_int_equal(rte_raw_cksum(ric, 40), 0xFFFF);
	assert_int_equal(rte_raw_cksum(rip, 20), 0xFFFF);
	assert_int_equal(rte_be_to_cpu_32(rip->dst_addr), DP_CLIENT);
	assert_int_equal(h.lc->ns.icmp_echo, 1);
	/* a corrupted echo is dropped */
	ic->icmp_cksum ^= 1;
	dp_input(&h, f, n + 20 + 40);
	assert_int_equal(drops(WC_DROP_ICMP_BAD), 1);
}

/* Build a UDP frame to port 11211, then break one thing. */
static size_t udp_frame(uint8_t *f, const char *text)
{
	return dp_mc_udp(f, 1, 0, 1, text, strlen(text), DP_CLIENT);
}

/* Each mutation breaks one thing in an otherwise good UDP request frame. */
enum mut { M_SHORT_ETH, M_ETH_TYPE, M_ETH_DST, M_ETH_MCAST, M_SHORT_IP, M_VERSION, M_OPTIONS,
	   M_LENGTH, M_CKSUM, M_MF, M_OFFSET, M_DST, M_DST_OPTIONS, M_BCAST, M_TTL, M_PROTO,
	   M_COUNT };

static const enum wc_drop mut_reason[M_COUNT] = {
	[M_SHORT_ETH] = WC_DROP_ETH_SHORT, [M_ETH_TYPE] = WC_DROP_ETH_TYPE,
	[M_ETH_DST] = WC_DROP_ETH_OTHER_HOST, [M_ETH_MCAST] = WC_DROP_ETH_MULTICAST,
	[M_SHORT_IP] = WC_DROP_IP_SHORT,
	[M_VERSION] = WC_DROP_IP_VERSION, [M_OPTIONS] = WC_DROP_IP_OPTIONS,
	[M_LENGTH] = WC_DROP_IP_LENGTH, [M_CKSUM] = WC_DROP_IP_CKSUM,
	[M_MF] = WC_DROP_IP_FRAGMENT, [M_OFFSET] = WC_DROP_IP_FRAGMENT,
	[M_DST] = WC_DROP_IP_NOT_US, [M_DST_OPTIONS] = WC_DROP_IP_NOT_US,
	[M_BCAST] = WC_DROP_IP_NOT_US, [M_TTL] = WC_DROP_IP_TTL, [M_PROTO] = WC_DROP_IP_PROTO,
};

/* which of them were never for this node (counted as ignored, not as drops) */
static const bool mut_ignored[M_COUNT] = {
	[M_ETH_TYPE] = true, [M_ETH_DST] = true, [M_ETH_MCAST] = true, [M_DST] = true,
	[M_DST_OPTIONS] = true, [M_BCAST] = true,
};

static void mutate(enum mut m, uint8_t *f, size_t *n)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	bool redo = true;

	switch (m) {
	case M_SHORT_ETH: *n = 10; redo = false; break;
	case M_ETH_TYPE: e->ether_type = rte_cpu_to_be_16(0x86DD); redo = false; break;
	case M_ETH_DST: e->dst_addr.addr_bytes[5] = 0x99; redo = false; break;
	case M_ETH_MCAST:	/* IPv6's all-routers group, where router solicitations go */
		e->dst_addr = (struct rte_ether_addr){ { 0x33, 0x33, 0, 0, 0, 2 } };
		redo = false;
		break;
	case M_SHORT_IP: *n = RTE_ETHER_HDR_LEN + 10; redo = false; break;
	case M_VERSION: ip->version_ihl = 0x65; break;
	case M_OPTIONS: ip->version_ihl = 0x46; break;
	case M_LENGTH: ip->total_length = rte_cpu_to_be_16(9000); break;
	case M_CKSUM: ip->hdr_checksum ^= 0x0101; redo = false; break;
	case M_MF: ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG); break;
	case M_OFFSET: ip->fragment_offset = rte_cpu_to_be_16(8); break;
	case M_DST: ip->dst_addr = rte_cpu_to_be_32(DP_IP + 1); break;
	case M_DST_OPTIONS:	/* another host's, with options: ignored, not an options drop */
		ip->dst_addr = rte_cpu_to_be_32(DP_IP + 1);
		ip->version_ihl = 0x46;
		break;
	case M_BCAST:		/* a subnet broadcast to the broadcast MAC */
		memset(&e->dst_addr, 0xff, sizeof(e->dst_addr));
		ip->dst_addr = rte_cpu_to_be_32(DP_IP | 0xff);
		break;
	case M_TTL: ip->time_to_live = 0; break;
	case M_PROTO: ip->next_proto_id = 47; break;
	case M_COUNT: break;
	}
	if (redo) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
}

static void ipv4_drop_reasons(void **state)
{
	uint8_t f[256];

	(void)state;
	dp_clear_sent(&h);
	for (int m = 0; m < M_COUNT; m++) {
		uint64_t before = drops(mut_reason[m]);
		uint64_t dropped = wc_netstats_dropped(&h.lc->ns), ignored = wc_netstats_ignored(&h.lc->ns);
		size_t n = udp_frame(f, "version\r\n");

		mutate((enum mut)m, f, &n);
		dp_input(&h, f, n);
		assert_int_equal(drops(mut_reason[m]), before + 1);
		/* a frame for another host, group or protocol is no drop */
		assert_int_equal(wc_drop_ignored[mut_reason[m]], mut_ignored[m]);
		assert_int_equal(wc_netstats_dropped(&h.lc->ns), dropped + !mut_ignored[m]);
		assert_int_equal(wc_netstats_ignored(&h.lc->ns), ignored + mut_ignored[m]);
	}
	assert_int_equal(h.nsent, 0);
}

/*
 * What an idle segment carries that is not for this node: IPv6 neighbour
 * discovery and MLD to 33:33:* groups, LLDP to its link-local group, IPv6 to
 * our MAC, another host's unicast: all ignored, none a drop; and the names
 * they are exported under.
 */
static void frames_not_for_us_are_ignored(void **state)
{
	static const struct rte_ether_addr lldp = { { 0x01, 0x80, 0xc2, 0, 0, 0x0e } };
	static const struct rte_ether_addr mld = { { 0x33, 0x33, 0, 0, 0, 0x16 } };
	static const struct rte_ether_addr other = { { 0x02, 0, 0, 0, 0, 0x42 } };
	static const struct {
		const struct rte_ether_addr *dst;
		uint16_t type;
		enum wc_drop why;
	} cases[] = {
		{ &lldp, 0x88cc, WC_DROP_ETH_MULTICAST },
		{ &mld, RTE_ETHER_TYPE_IPV6, WC_DROP_ETH_MULTICAST },
		{ &dp_mac, RTE_ETHER_TYPE_IPV6, WC_DROP_ETH_TYPE },
		{ &other, RTE_ETHER_TYPE_IPV4, WC_DROP_ETH_OTHER_HOST },
	};
	uint8_t f[128];
	uint64_t dropped = wc_netstats_dropped(&h.lc->ns);

	(void)state;
	dp_clear_sent(&h);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = drops(cases[i].why), ignored = wc_netstats_ignored(&h.lc->ns);
		size_t n = dp_eth(f, cases[i].dst, &dp_client_mac, cases[i].type);

		memset(f + n, 0, 60);
		dp_input(&h, f, n + 60);
		assert_int_equal(drops(cases[i].why), before + 1);
		assert_int_equal(wc_netstats_ignored(&h.lc->ns), ignored + 1);
	}
	assert_int_equal(wc_netstats_dropped(&h.lc->ns), dropped);
	assert_int_equal(h.nsent, 0);
	assert_string_equal(wc_drop_stat_names[WC_DROP_ETH_MULTICAST], "ignored_eth_multicast");
	assert_string_equal(wc_drop_stat_names[WC_DROP_IP_NOT_US], "ignored_ip_not_us");
	assert_string_equal(wc_drop_stat_names[WC_DROP_NO_MBUF], "drop_no_mbuf");
	assert_string_equal(wc_drop_stat_names[WC_DROP_IP_CKSUM], "drop_ip_checksum");
	for (int i = 0; i < WC_DROP_COUNT; i++)
		assert_string_equal(wc_drop_stat_names[i] + (wc_drop_ignored[i] ? 8 : 5),
				    wc_drop_names[i]);
}

static void udp_drop_reasons(void **state)
{
	uint8_t f[256];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
	size_t n;
	uint64_t before;

	(void)state;
	dp_clear_sent(&h);
	n = udp_frame(f, "version\r\n");
	u->dgram_cksum ^= 0x0100;
	before = drops(WC_DROP_UDP_CKSUM);
	dp_input(&h, f, n);
	assert_int_equal(drops(WC_DROP_UDP_CKSUM), before + 1);

	n = udp_frame(f, "version\r\n");
	u->dgram_len = rte_cpu_to_be_16(4);
	before = drops(WC_DROP_UDP_SHORT);
	dp_input(&h, f, n);
	assert_int_equal(drops(WC_DROP_UDP_SHORT), before + 1);

	n = udp_frame(f, "version\r\n");
	u->dst_port = rte_cpu_to_be_16(11212);
	u->dgram_cksum = 0;	/* checksum 0: not computed, accepted */
	before = drops(WC_DROP_UDP_PORT);
	dp_input(&h, f, n);
	assert_int_equal(drops(WC_DROP_UDP_PORT), before + 1);
	assert_int_equal(h.nsent, 0);
}

/* Reassemble the memcached reply from the captured datagrams. */
static size_t mc_reply(uint16_t req_id, char *out, size_t cap)
{
	size_t total = 0;

	for (unsigned i = 0; i < h.nsent; i++) {
		uint16_t len, hdr[4];
		const uint8_t *f = sent_frame(i, &len);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(ip + 1);
		size_t dlen = len - WC_UDP_HDRS - 8;

		assert_int_equal(rte_raw_cksum(ip, 20), 0xFFFF);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, u), 0);
		assert_int_equal(rte_be_to_cpu_16(u->dst_port), 40000);
		assert_int_equal(rte_be_to_cpu_32(ip->dst_addr), DP_CLIENT);
		assert_true(len - WC_UDP_HDRS <= 1400);
		memcpy(hdr, u + 1, 8);
		assert_int_equal(rte_be_to_cpu_16(hdr[0]), req_id);
		assert_int_equal(rte_be_to_cpu_16(hdr[1]), i);
		assert_int_equal(rte_be_to_cpu_16(hdr[2]), h.nsent);
		assert_true(total + dlen <= cap);
		memcpy(out + total, (const uint8_t *)(u + 1) + 8, dlen);
		total += dlen;
	}
	out[total] = 0;
	return total;
}

static void memcached_over_udp(void **state)
{
	static uint8_t f[1600];
	static char reply[16384];
	static char big[5000];
	char cmd[1500];
	size_t n;

	(void)state;
	dp_learn_client(&h);
	dp_input(&h, f, dp_mc_udp(f, 7, 0, 1, "set k 3 0 2\r\nhi\r\n", 17, DP_CLIENT));
	mc_reply(7, reply, sizeof(reply));
	assert_string_equal(reply, "STORED\r\n");
	dp_clear_sent(&h);
	dp_input(&h, f, dp_mc_udp(f, 8, 0, 1, "get k\r\n", 7, DP_CLIENT));
	mc_reply(8, reply, sizeof(reply));
	assert_string_equal(reply, "VALUE k 3 2\r\nhi\r\nEND\r\n");
	dp_clear_sent(&h);
	/* a value over several datagrams (grown by appends), to a trusted-size request */
	memset(big, 'b', sizeof(big));
	dp_input(&h, f, dp_mc_udp(f, 9, 0, 1, "set big 0 0 0\r\n\r\n", 18, DP_CLIENT));
	for (int i = 0; i < 5; i++) {
		size_t len = (size_t)snprintf(cmd, sizeof(cmd), "append big 0 0 1000\r\n");

		memcpy(cmd + len, big, 1000);
		memcpy(cmd + len + 1000, "\r\n", 2);
		dp_input(&h, f, dp_mc_udp(f, 9, 0, 1, cmd, len + 1002, DP_CLIENT));
	}
	dp_clear_sent(&h);
	/* request padded so the reply stays within 10x of it */
	n = (size_t)snprintf(cmd, sizeof(cmd), "get big%*s\r\n", 600, "");
	dp_input(&h, f, dp_mc_udp(f, 10, 0, 1, cmd, n, DP_CLIENT));
	assert_int_equal(h.nsent, 4);
	n = mc_reply(10, reply, sizeof(reply));
	assert_int_equal(n, strlen("VALUE big 0 5000\r\n") + 5000 + 2 + 5);
	assert_memory_equal(reply + 18, big, 5000);
	dp_clear_sent(&h);
	/* the same get, small: refused by the amplification bound */
	dp_input(&h, f, dp_mc_udp(f, 11, 0, 1, "get big\r\n", 9, DP_CLIENT));
	mc_reply(11, reply, sizeof(reply));
	assert_string_equal(reply,
			    "SERVER_ERROR reply larger than the UDP amplification bound allows\r\n");
	assert_int_equal(drops(WC_DROP_MC_AMPLIFICATION), 1);
	dp_clear_sent(&h);
	/* frames memcached does not serve */
	dp_input(&h, f, dp_mc_udp(f, 12, 0, 2, "version\r\n", 9, DP_CLIENT));
	dp_input(&h, f, dp_mc_udp(f, 12, 1, 1, "version\r\n", 9, DP_CLIENT));
	assert_int_equal(drops(WC_DROP_MC_FRAME), 2);
	/* a source outside the allowed prefix */
	dp_input(&h, f, dp_mc_udp(f, 13, 0, 1, "version\r\n", 9, 0xC6130001u));
	assert_int_equal(drops(WC_DROP_MC_SOURCE), 1);
	assert_int_equal(h.nsent, 0);
	/* noreply gives no datagram at all */
	dp_input(&h, f, dp_mc_udp(f, 14, 0, 1, "set q 0 0 1 noreply\r\nx\r\n", 24, DP_CLIENT));
	assert_int_equal(h.nsent, 0);
}

static void reply_waits_for_neighbour(void **state)
{
	uint8_t f[256];
	char reply[256];
	uint16_t len;
	const struct rte_arp_hdr *a;

	(void)state;
	dp_teardown(&h);
	assert_int_equal(dp_setup(&h, NULL), 0);	/* knows no neighbour */
	dp_input(&h, f, dp_mc_udp(f, 21, 0, 1, "version\r\n", 9, DP_CLIENT));
	/* no reply yet, an ARP request instead */
	assert_int_equal(h.nsent, 1);
	a = (const struct rte_arp_hdr *)(sent_frame(0, &len) + RTE_ETHER_HDR_LEN);
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REQUEST);
	assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_tip), DP_CLIENT);
	dp_clear_sent(&h);
	/* the client answers: the held reply goes out */
	dp_input(&h, f, dp_arp(f, RTE_ARP_OP_REPLY, DP_CLIENT, DP_IP));
	assert_int_equal(h.nsent, 1);
	mc_reply(21, reply, sizeof(reply));
	assert_string_equal(reply, "VERSION 1.6.21-wirecache-test\r\n");
	dp_clear_sent(&h);
	/* an unresolvable client: the reply is dropped after the hold time */
	dp_input(&h, f, dp_mc_udp(f, 22, 0, 1, "version\r\n", 9, DP_CLIENT + 5));
	dp_clear_sent(&h);
	h.lc->ctx.clock.now += WC_NEIGH_HOLD_SECS + 1;
	wc_mc_udp_poll(h.lc);
	assert_int_equal(drops(WC_DROP_NEIGH_UNRESOLVED), 1);
	assert_int_equal(h.lc->nudp_free, WC_UDP_CTX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arp_answers_and_learns),
		cmocka_unit_test(icmp_echo),
		cmocka_unit_test(ipv4_drop_reasons),
		cmocka_unit_test(frames_not_for_us_are_ignored),
		cmocka_unit_test(udp_drop_reasons),
		cmocka_unit_test(memcached_over_udp),
		cmocka_unit_test(reply_waits_for_neighbour),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
