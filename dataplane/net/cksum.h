/*
 * cksum.h - the Internet checksum (RFC 1071), 8 bytes per step.
 *
 * Ones'-complement sums do not depend on byte order, so 64-bit words of the
 * packet, added with end-around carry, give the checksum in memory order:
 * it is stored back as is. Every piece summed must start at an even offset
 * of the checksummed data.
 */
#ifndef WC_NET_CKSUM_H
#define WC_NET_CKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>

static inline uint64_t wc_csum_add(uint64_t sum, uint64_t v)
{
	sum += v;
	return sum + (sum < v);
}

#if defined(__x86_64__)
/* The 32 bytes at p added to sum: add-with-carry straight from memory, the carry folded in. */
static inline uint64_t wc_csum_add32(const uint8_t *p, uint64_t sum)
{
	__asm__("addq 0(%[p]), %[s]\n\t"
		"adcq 8(%[p]), %[s]\n\t"
		"adcq 16(%[p]), %[s]\n\t"
		"adcq 24(%[p]), %[s]\n\t"
		"adcq $0, %[s]"
		: [s] "+r"(sum)
		: [p] "r"(p), "m"(*(const uint8_t(*)[32])p)
		: "cc");
	return sum;
}
#endif

static inline uint64_t wc_csum_partial(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
#if defined(__x86_64__)
	const uint8_t *end32 = p + (len & ~(size_t)31);

	/*
	 * add-with-carry straight from memory, four words a step, the carry
	 * folded in each step; the loop runs to an end pointer and the last 0-3
	 * words are two tests of len, not a second loop (short datagrams)
	 */
	while (p != end32) {
		sum = wc_csum_add32(p, sum);
		p += 32;
	}
	if (len & 16) {
		__asm__("addq 0(%[p]), %[s]\n\t"
			"adcq 8(%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(sum)
			: [p] "r"(p), "m"(*(const uint8_t(*)[16])p)
			: "cc");
		p += 16;
	}
	if (len & 8) {
		__asm__("addq (%[p]), %[s]\n\t"
			"adcq $0, %[s]"
			: [s] "+r"(sum)
			: [p] "r"(p), "m"(*(const uint8_t(*)[8])p)
			: "cc");
		p += 8;
	}
#else
	while (len >= 32) {
		uint64_t a, b, c, d;

		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		sum = wc_csum_add(wc_csum_add(wc_csum_add(wc_csum_add(sum, a), b), c), d);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t a;

		memcpy(&a, p, 8);
		sum = wc_csum_add(sum, a);
		p += 8;
		len -= 8;
	}
#endif
	/* only the byte's parity within a 16-bit word matters, not its lane */
	if (len & 4) {
		uint32_t t;

		memcpy(&t, p, 4);
		sum = wc_csum_add(sum, t);
		p += 4;
	}
	if (len & 2) {
		uint16_t t;

		memcpy(&t, p, 2);
		sum = wc_csum_add(sum, t);
		p += 2;
	}
	if (len & 1)
		sum = wc_csum_add(sum, *p);	/* the odd byte, zero-padded */
	return sum;
}

/*
 * Fold to 16 bits (not complemented). x + (x rotated by half its width) holds
 * in its upper half the end-around-carry sum of the two halves: the carry
 * out of the lower half is the one the upper half needs (as Linux's
 * csum_fold does). The same result as adding the halves and then the carry,
 * twice, in fewer instructions.
 */
static inline uint16_t wc_csum_fold(uint64_t sum)
{
	uint32_t s32 = (uint32_t)((sum + (sum >> 32 | sum << 32)) >> 32);

	return (uint16_t)((s32 + (s32 >> 16 | s32 << 16)) >> 16);
}

/* The IPv4 pseudo-header's sum for a transport segment of len bytes. */
static inline uint64_t wc_csum_pseudo(const struct rte_ipv4_hdr *ip, uint16_t len)
{
	uint64_t sum = 0;
	uint16_t proto_len[2] = { rte_cpu_to_be_16(ip->next_proto_id), rte_cpu_to_be_16(len) };
	uint32_t pl;

	memcpy(&pl, proto_len, 4);
	sum = wc_csum_add(sum, ip->src_addr);
	sum = wc_csum_add(sum, ip->dst_addr);
	return wc_csum_add(sum, pl);
}

/* A 20-byte IPv4 header with a correct checksum sums to 0xFFFF. */
static inline bool wc_ipv4_hdr_ok(const struct rte_ipv4_hdr *ip)
{
	return wc_csum_fold(wc_csum_partial(ip, sizeof(*ip), 0)) == 0xFFFF;
}

static inline void wc_ipv4_hdr_cksum(struct rte_ipv4_hdr *ip)
{
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~wc_csum_fold(wc_csum_partial(ip, sizeof(*ip), 0));
}

/*
 * An IPv4 header checksum, as it is stored, from the sum of the header's
 * 16-bit words in host order (at most 2^32 - 1).
 */
static inline uint16_t wc_ipv4_cksum_of_sum(uint32_t sum)
{
	sum = (sum & 0xFFFF) + (sum >> 16);
	sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~rte_cpu_to_be_16((uint16_t)sum);
}

/*
 * The header checksum of an IPv4 header without options whose TOS and
 * fragment fields are 0 and whose TTL and protocol word is ttl_proto
 * (host order), from the fields that vary: no pass over the header.
 */
static inline uint16_t wc_ipv4_cksum_fields(uint16_t ttl_proto, uint16_t total_len, uint16_t id,
					    uint32_t src, uint32_t dst)
{
	return wc_ipv4_cksum_of_sum(0x4500u + ttl_proto + total_len + id + (src >> 16) +
				    (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF));
}

/* Does a UDP/TCP segment of len bytes after ip carry a correct checksum? */
static inline bool wc_l4_ok(const struct rte_ipv4_hdr *ip, const void *l4, uint16_t len)
{
	return wc_csum_fold(wc_csum_partial(l4, len, wc_csum_pseudo(ip, len))) == 0xFFFF;
}

/* Checksum for a segment whose checksum field is zero; 0 is sent as 0xFFFF (UDP). */
static inline uint16_t wc_l4_cksum(const struct rte_ipv4_hdr *ip, const void *l4, uint16_t len)
{
	uint16_t c = (uint16_t)~wc_csum_fold(wc_csum_partial(l4, len, wc_csum_pseudo(ip, len)));

	return c ? c : 0xFFFF;
}

/*
 * The part of a UDP pseudo-header's sum that does not depend on the
 * length: the addresses (network order) and the protocol, for a sender
 * that keeps it per destination.
 */
static inline uint64_t wc_udp_pseudo_addrs(uint32_t src, uint32_t dst)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint64_t)src + dst + ((uint64_t)IPPROTO_UDP << 8);
#else
	return (uint64_t)src + dst + ((uint64_t)IPPROTO_UDP << 16);
#endif
}

/* The rest of a UDP pseudo-header's sum: the length, len, as it lies in memory. */
static inline uint64_t wc_udp_pseudo_len(uint16_t len)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint64_t)__builtin_bswap16(len) << 16;
#else
	return len;
#endif
}

/*
 * The UDP checksum of a datagram of len bytes at udp (its checksum field
 * zero) from src to dst (network order), the pseudo-header from those
 * values rather than read back from an IPv4 header; 0 is sent as 0xFFFF.
 */
static inline uint16_t wc_udp_cksum_fields(uint32_t src, uint32_t dst, const void *udp,
					   uint16_t len)
{
	uint16_t c = (uint16_t)~wc_csum_fold(wc_csum_partial(udp, len, wc_udp_pseudo_addrs(src, dst) +
							    wc_udp_pseudo_len(len)));

	return c ? c : 0xFFFF;
}

/*
 * The sum of n (at least 1) whole 32-byte blocks at buf: for a caller that
 * has zeroed the bytes after its data up to the next block's end (zeros add
 * nothing), so no tail is summed apart.
 */
static inline uint64_t wc_csum_blocks32(const void *buf, size_t n, uint64_t sum)
{
#if defined(__x86_64__)
	const uint8_t *p = buf, *end = p + n * 32;

	do {
		sum = wc_csum_add32(p, sum);
		p += 32;
	} while (p != end);
	return sum;
#else
	return wc_csum_partial(buf, n * 32, sum);
#endif
}

/*
 * The UDP checksum of a datagram of len bytes at udp (its checksum field
 * zero) followed by 32 writable bytes, which are zeroed so that whole
 * 32-byte blocks are summed; addrs from wc_udp_pseudo_addrs. 0 is sent as
 * 0xFFFF.
 */
static inline uint16_t wc_udp_cksum_padded_sum(uint64_t addrs, void *udp, uint16_t len)
{
	uint16_t c;

	memset((uint8_t *)udp + len, 0, 32);
	c = (uint16_t)~wc_csum_fold(wc_csum_blocks32(udp, ((size_t)len + 31) / 32,
						     addrs + wc_udp_pseudo_len(len)));
	return c ? c : 0xFFFF;
}

/*
 * wc_udp_cksum_fields for a datagram followed by 32 writable bytes, which
 * are zeroed: whole 32-byte blocks summed.
 */
static inline uint16_t wc_udp_cksum_padded(uint32_t src, uint32_t dst, void *udp, uint16_t len)
{
	return wc_udp_cksum_padded_sum(wc_udp_pseudo_addrs(src, dst), udp, len);
}

/*
 * wc_csum_partial for len >= 8: the last len % 8 bytes are the end of one
 * 8-byte load that finishes at the data's end, shifted down past the bytes
 * already summed (their offsets keep their parity), not three tests.
 */
static inline uint64_t wc_csum_partial8(const void *buf, size_t len, uint64_t sum)
{
#if defined(__x86_64__)
	size_t r = len & 7;

	sum = wc_csum_partial(buf, len & ~(size_t)7, sum);
	if (r) {
		uint64_t w;

		memcpy(&w, (const uint8_t *)buf + len - 8, 8);
		sum = wc_csum_add(sum, w >> ((8 - r) * 8));
	}
	return sum;
#else
	return wc_csum_partial(buf, len, sum);
#endif
}

/*
 * Does a UDP datagram of len (at least 8) bytes at udp from src to dst
 * (network order) carry a correct checksum (its field not 0)? The
 * pseudo-header from those values.
 */
static inline bool wc_udp_cksum_ok(uint32_t src, uint32_t dst, const void *udp, uint16_t len)
{
	return wc_csum_fold(wc_csum_partial8(udp, len, wc_udp_pseudo_addrs(src, dst) +
						       wc_udp_pseudo_len(len))) == 0xFFFF;
}

#endif
