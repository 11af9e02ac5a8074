/*
 * test_cksum.c - the Internet checksum helpers (net/cksum.h) against a
 * byte-by-byte RFC 1071 reference: the fold for random and edge sums, the
 * partial sum for random buffers of every length and offset (odd ones
 * included), the UDP checksum of whole datagrams (0 sent as 0xFFFF), the
 * same from the addresses (wc_udp_cksum_fields, _padded, _ok: random
 * datagrams of every parity, a sum of 0xFFFF, a received 0xFFFF); and the
 * item header's extra bytes (store/item.h) for every layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <rte_udp.h>

#include "net/cksum.h"
#include "store/item.h"

static uint64_t seed = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* The fold as two end-around-carry additions per halving (RFC 1071). */
static uint16_t ref_fold(uint64_t sum)
{
	sum = (sum & 0xFFFFFFFF) + (sum >> 32);
	sum = (sum & 0xFFFFFFFF) + (sum >> 32);
	sum = (sum & 0xFFFF) + (sum >> 16);
	sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

/* 16-bit words in memory order (as cksum.h keeps them), the odd byte zero-padded. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		s += w;
	}
	if (len & 1) {
		uint8_t last[2] = { p[len - 1], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		s += w;
	}
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)s;
}

static void fold_matches_reference(void **state)
{
	static const uint64_t edges[] = { 0, 1, 0xFFFF, 0x10000, 0xFFFFFFFF, 0x100000000ull,
					  0xFFFF0000FFFFull, 0xFFFFFFFF00000000ull,
					  0xFFFFFFFFFFFFFFFFull, 0xFFFEFFFFFFFFFFFFull,
					  0x8000000080000000ull, 0x0001FFFF0000FFFFull };
	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		assert_int_equal(wc_csum_fold(edges[i]), ref_fold(edges[i]));
	for (int i = 0; i < 1000000; i++) {
		uint64_t x = rnd();

		/* sparse values too: runs of 0xFFFF words and zero words */
		if (i & 1)
			x |= 0xFFFF0000FFFF0000ull >> (rnd() & 16);
		assert_int_equal(wc_csum_fold(x), ref_fold(x));
	}
}

static void partial_matches_reference(void **state)
{
	uint8_t buf[300];

	(void)state;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = round % 3 == 0 ? 0xFF : (uint8_t)rnd();	/* all-ones: carries */
		for (size_t off = 0; off < 4; off++)
			for (size_t len = 0; len + off <= sizeof(buf); len += 1 + (len > 70) * 13)
				assert_int_equal(wc_csum_fold(wc_csum_partial(buf + off, len, 0)),
						 ref_sum(buf + off, len));
	}
}

static void udp_checksum_of_datagrams(void **state)
{
	uint8_t f[sizeof(struct rte_ipv4_hdr) + 1500];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)f;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	(void)state;
	for (int round = 0; round < 2000; round++) {
		uint16_t len = (uint16_t)(sizeof(*udp) + rnd() % 1400);
		uint8_t ph[12];
		uint32_t s;
		uint16_t c;

		for (size_t i = 0; i < sizeof(f); i++)
			f[i] = round & 1 ? (uint8_t)rnd() : (uint8_t)(0xFF - (rnd() & 1));
		ip->next_proto_id = IPPROTO_UDP;
		udp->dgram_len = rte_cpu_to_be_16(len);
		udp->dgram_cksum = 0;
		memcpy(ph, &ip->src_addr, 4);
		memcpy(ph + 4, &ip->dst_addr, 4);
		ph[8] = 0;
		ph[9] = IPPROTO_UDP;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		s = (uint32_t)ref_sum(ph, sizeof(ph)) + ref_sum((const uint8_t *)udp, len);
		s = (s & 0xFFFF) + (s >> 16);
		c = (uint16_t)~s;
		assert_int_equal(wc_l4_cksum(ip, udp, len), c ? c : 0xFFFF);
		udp->dgram_cksum = wc_l4_cksum(ip, udp, len);
		assert_true(wc_l4_ok(ip, udp, len));
		udp->dgram_cksum ^= 0x0100;
		assert_false(wc_l4_ok(ip, udp, len));
	}
}

static void partial8_and_blocks_match_reference(void **state)
{
	uint8_t buf[320];

	(void)state;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = round % 3 == 0 ? 0xFF : (uint8_t)rnd();
		for (size_t off = 0; off < 4; off++) {
			for (size_t len = 8; len + off <= sizeof(buf); len += 1 + (len > 70) * 7)
				assert_int_equal(wc_csum_fold(wc_csum_partial8(buf + off, len, 0)),
						 ref_sum(buf + off, len));
			for (size_t n = 1; n * 32 + off <= sizeof(buf); n++)
				assert_int_equal(wc_csum_fold(wc_csum_blocks32(buf + off, n, 0)),
						 ref_sum(buf + off, n * 32));
		}
	}
}

/* RFC 1071 over pseudo-header and datagram, complemented, 0 sent as 0xFFFF. */
static uint16_t ref_udp_cksum(uint32_t src, uint32_t dst, const uint8_t *udp, uint16_t len)
{
	uint8_t ph[12];
	uint32_t s;
	uint16_t c;

	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	s = (uint32_t)ref_sum(ph, sizeof(ph)) + ref_sum(udp, len);
	s = (s & 0xFFFF) + (s >> 16);
	c = (uint16_t)~s;
	return c ? c : 0xFFFF;
}

static void udp_checksum_from_fields(void **state)
{
	static const uint32_t edge_addrs[] = { 0, 0xFFFFFFFF, 0x0000FFFF, 0xFFFF0000, 0x01000000 };
	uint8_t d[1500 + 32];
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)d;

	(void)state;
	for (int round = 0; round < 4000; round++) {
		uint16_t len = (uint16_t)(sizeof(*udp) + (round < 64 ? (uint64_t)round : rnd() % 1400));
		uint32_t src = round % 7 == 0 ? edge_addrs[rnd() % 5] : (uint32_t)rnd();
		uint32_t dst = round % 11 == 0 ? edge_addrs[rnd() % 5] : (uint32_t)rnd();
		uint16_t want, c;

		for (size_t i = 0; i < sizeof(d); i++)
			d[i] = round & 1 ? (uint8_t)rnd() : (uint8_t)(0xFF - (rnd() & 1));
		udp->dgram_len = rte_cpu_to_be_16(len);
		udp->dgram_cksum = 0;
		if (round % 5 == 0 && len >= 10) {
			/* data that makes the sum 0xFFFF: a checksum of 0, sent as 0xFFFF */
			uint16_t w = 0;

			memcpy(d + 8, &w, 2);
			w = (uint16_t)~wc_csum_fold(wc_csum_partial(d, len, 0) + src + (uint64_t)dst +
						    ((uint64_t)IPPROTO_UDP << 8) +
						    ((uint64_t)rte_cpu_to_be_16(len) << 16));
			memcpy(d + 8, &w, 2);
		}
		want = ref_udp_cksum(src, dst, d, len);
		if (round % 5 == 0 && len >= 10)
			assert_int_equal(want, 0xFFFF);
		assert_int_equal(wc_udp_cksum_fields(src, dst, udp, len), want);
		c = wc_udp_cksum_padded(src, dst, udp, len);	/* zeroes the 32 bytes after */
		assert_int_equal(c, want);
		for (size_t i = len; i < len + 32u; i++)
			assert_int_equal(d[i], 0);
		udp->dgram_cksum = c;
		assert_true(wc_udp_cksum_ok(src, dst, udp, len));
		udp->dgram_cksum ^= 0x0100;
		assert_false(wc_udp_cksum_ok(src, dst, udp, len));
		udp->dgram_cksum = c;
		d[len - 1] ^= 0x01;	/* the last byte, odd or even */
		assert_false(wc_udp_cksum_ok(src, dst, udp, len));
	}
}

static void item_extra_bytes(void **state)
{
	(void)state;
	for (unsigned bits = 0; bits < 16; bits++) {
		uint32_t layout = ((bits & 1) ? WC_LAYOUT_FLAGS : 0) |
				  ((bits & 2) ? WC_LAYOUT_CAS : 0) |
				  ((bits & 4) ? WC_LAYOUT_EXT : 0) | ((bits & 8) ? WC_LAYOUT_EXPIRES : 0);

		assert_int_equal(wc_item_extra_bytes(layout),
				 ((bits & 1) ? 4 : 0) + ((bits & 2) ? 8 : 0) + ((bits & 4) ? 4 : 0) +
				 ((bits & 8) ? 4 : 0));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fold_matches_reference),
		cmocka_unit_test(partial_matches_reference),
		cmocka_unit_test(udp_checksum_of_datagrams),
		cmocka_unit_test(partial8_and_blocks_match_reference),
		cmocka_unit_test(udp_checksum_from_fields),
		cmocka_unit_test(item_extra_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
