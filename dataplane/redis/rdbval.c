/*
 * rdbval.c - a value's RDB encoding: the CRC, the decoder (LZF streams,
 * listpack, ziplist, zipmap, intset), the encoder. See rdbval.h.
 */
#include <string.h>

#include "redis/rdbval.h"

/* ---- CRC64: Jones polynomial 0xad93d23594c935a9, reflected (0x95ac9329ac4bc9b5) ---- */

static const uint64_t crc64_tab[256] = {
	0x0000000000000000ull, 0x7ad870c830358979ull, 0xf5b0e190606b12f2ull,
	0x8f689158505e9b8bull, 0xc038e5739841b68full, 0xbae095bba8743ff6ull,
	0x358804e3f82aa47dull, 0x4f50742bc81f2d04ull, 0xab28ecb46814fe75ull,
	0xd1f09c7c5821770cull, 0x5e980d24087fec87ull, 0x24407dec384a65feull,
	0x6b1009c7f05548faull, 0x11c8790fc060c183ull, 0x9ea0e857903e5a08ull,
	0xe478989fa00bd371ull, 0x7d08ff3b88be6f81ull, 0x07d08ff3b88be6f8ull,
	0x88b81eabe8d57d73ull, 0xf2606e63d8e0f40aull, 0xbd301a4810ffd90eull,
	0xc7e86a8020ca5077ull, 0x4880fbd87094cbfcull, 0x32588b1040a14285ull,
	0xd620138fe0aa91f4ull, 0xacf86347d09f188dull, 0x2390f21f80c18306ull,
	0x594882d7b0f40a7full, 0x1618f6fc78eb277bull, 0x6cc0863448deae02ull,
	0xe3a8176c18803589ull, 0x997067a428b5bcf0ull, 0xfa11fe77117cdf02ull,
	0x80c98ebf2149567bull, 0x0fa11fe77117cdf0ull, 0x75796f2f41224489ull,
	0x3a291b04893d698dull, 0x40f16bccb908e0f4ull, 0xcf99fa94e9567b7full,
	0xb5418a5cd963f206ull, 0x513912c379682177ull, 0x2be1620b495da80eull,
	0xa489f35319033385ull, 0xde51839b2936bafcull, 0x9101f7b0e12997f8ull,
	0xebd98778d11c1e81ull, 0x64b116208142850aull, 0x1e6966e8b1770c73ull,
	0x8719014c99c2b083ull, 0xfdc17184a9f739faull, 0x72a9e0dcf9a9a271ull,
	0x08719014c99c2b08ull, 0x4721e43f0183060cull, 0x3df994f731b68f75ull,
	0xb29105af61e814feull, 0xc849756751dd9d87ull, 0x2c31edf8f1d64ef6ull,
	0x56e99d30c1e3c78full, 0xd9810c6891bd5c04ull, 0xa3597ca0a188d57dull,
	0xec09088b6997f879ull, 0x96d1784359a27100ull, 0x19b9e91b09fcea8bull,
	0x636199d339c963f2ull, 0xdf7adabd7a6e2d6full, 0xa5a2aa754a5ba416ull,
	0x2aca3b2d1a053f9dull, 0x50124be52a30b6e4ull, 0x1f423fcee22f9be0ull,
	0x659a4f06d21a1299ull, 0xeaf2de5e82448912ull, 0x902aae96b271006bull,
	0x74523609127ad31aull, 0x0e8a46c1224f5a63ull, 0x81e2d7997211c1e8ull,
	0xfb3aa75142244891ull, 0xb46ad37a8a3b6595ull, 0xceb2a3b2ba0eececull,
	0x41da32eaea507767ull, 0x3b024222da65fe1eull, 0xa2722586f2d042eeull,
	0xd8aa554ec2e5cb97ull, 0x57c2c41692bb501cull, 0x2d1ab4dea28ed965ull,
	0x624ac0f56a91f461ull, 0x1892b03d5aa47d18ull, 0x97fa21650afae693ull,
	0xed2251ad3acf6feaull, 0x095ac9329ac4bc9bull, 0x7382b9faaaf135e2ull,
	0xfcea28a2faafae69ull, 0x8632586aca9a2710ull, 0xc9622c4102850a14ull,
	0xb3ba5c8932b0836dull, 0x3cd2cdd162ee18e6ull, 0x460abd1952db919full,
	0x256b24ca6b12f26dull, 0x5fb354025b277b14ull, 0xd0dbc55a0b79e09full,
	0xaa03b5923b4c69e6ull, 0xe553c1b9f35344e2ull, 0x9f8bb171c366cd9bull,
	0x10e3202993385610ull, 0x6a3b50e1a30ddf69ull, 0x8e43c87e03060c18ull,
	0xf49bb8b633338561ull, 0x7bf329ee636d1eeaull, 0x012b592653589793ull,
	0x4e7b2d0d9b47ba97ull, 0x34a35dc5ab7233eeull, 0xbbcbcc9dfb2ca865ull,
	0xc113bc55cb19211cull, 0x5863dbf1e3ac9decull, 0x22bbab39d3991495ull,
	0xadd33a6183c78f1eull, 0xd70b4aa9b3f20667ull, 0x985b3e827bed2b63ull,
	0xe2834e4a4bd8a21aull, 0x6debdf121b863991ull, 0x1733afda2bb3b0e8ull,
	0xf34b37458bb86399ull, 0x8993478dbb8deae0ull, 0x06fbd6d5ebd3716bull,
	0x7c23a61ddbe6f812ull, 0x3373d23613f9d516ull, 0x49aba2fe23cc5c6full,
	0xc6c333a67392c7e4ull, 0xbc1b436e43a74e9dull, 0x95ac9329ac4bc9b5ull,
	0xef74e3e19c7e40ccull, 0x601c72b9cc20db47ull, 0x1ac40271fc15523eull,
	0x5594765a340a7f3aull, 0x2f4c0692043ff643ull, 0xa02497ca54616dc8ull,
	0xdafce7026454e4b1ull, 0x3e847f9dc45f37c0ull, 0x445c0f55f46abeb9ull,
	0xcb349e0da4342532ull, 0xb1eceec59401ac4bull, 0xfebc9aee5c1e814full,
	0x8464ea266c2b0836ull, 0x0b0c7b7e3c7593bdull, 0x71d40bb60c401ac4ull,
	0xe8a46c1224f5a634ull, 0x927c1cda14c02f4dull, 0x1d148d82449eb4c6ull,
	0x67ccfd4a74ab3dbfull, 0x289c8961bcb410bbull, 0x5244f9a98c8199c2ull,
	0xdd2c68f1dcdf0249ull, 0xa7f41839ecea8b30ull, 0x438c80a64ce15841ull,
	0x3954f06e7cd4d138ull, 0xb63c61362c8a4ab3ull, 0xcce411fe1cbfc3caull,
	0x83b465d5d4a0eeceull, 0xf96c151de49567b7ull, 0x76048445b4cbfc3cull,
	0x0cdcf48d84fe7545ull, 0x6fbd6d5ebd3716b7ull, 0x15651d968d029fceull,
	0x9a0d8ccedd5c0445ull, 0xe0d5fc06ed698d3cull, 0xaf85882d2576a038ull,
	0xd55df8e515432941ull, 0x5a3569bd451db2caull, 0x20ed197575283bb3ull,
	0xc49581ead523e8c2ull, 0xbe4df122e51661bbull, 0x3125607ab548fa30ull,
	0x4bfd10b2857d7349ull, 0x04ad64994d625e4dull, 0x7e7514517d57d734ull,
	0xf11d85092d094cbfull, 0x8bc5f5c11d3cc5c6ull, 0x12b5926535897936ull,
	0x686de2ad05bcf04full, 0xe70573f555e26bc4ull, 0x9ddd033d65d7e2bdull,
	0xd28d7716adc8cfb9ull, 0xa85507de9dfd46c0ull, 0x273d9686cda3dd4bull,
	0x5de5e64efd965432ull, 0xb99d7ed15d9d8743ull, 0xc3450e196da80e3aull,
	0x4c2d9f413df695b1ull, 0x36f5ef890dc31cc8ull, 0x79a59ba2c5dc31ccull,
	0x037deb6af5e9b8b5ull, 0x8c157a32a5b7233eull, 0xf6cd0afa9582aa47ull,
	0x4ad64994d625e4daull, 0x300e395ce6106da3ull, 0xbf66a804b64ef628ull,
	0xc5bed8cc867b7f51ull, 0x8aeeace74e645255ull, 0xf036dc2f7e51db2cull,
	0x7f5e4d772e0f40a7ull, 0x05863dbf1e3ac9deull, 0xe1fea520be311aafull,
	0x9b26d5e88e0493d6ull, 0x144e44b0de5a085dull, 0x6e963478ee6f8124ull,
	0x21c640532670ac20ull, 0x5b1e309b16452559ull, 0xd476a1c3461bbed2ull,
	0xaeaed10b762e37abull, 0x37deb6af5e9b8b5bull, 0x4d06c6676eae0222ull,
	0xc26e573f3ef099a9ull, 0xb8b627f70ec510d0ull, 0xf7e653dcc6da3dd4ull,
	0x8d3e2314f6efb4adull, 0x0256b24ca6b12f26ull, 0x788ec2849684a65full,
	0x9cf65a1b368f752eull, 0xe62e2ad306bafc57ull, 0x6946bb8b56e467dcull,
	0x139ecb4366d1eea5ull, 0x5ccebf68aecec3a1ull, 0x2616cfa09efb4ad8ull,
	0xa97e5ef8cea5d153ull, 0xd3a62e30fe90582aull, 0xb0c7b7e3c7593bd8ull,
	0xca1fc72bf76cb2a1ull, 0x45775673a732292aull, 0x3faf26bb9707a053ull,
	0x70ff52905f188d57ull, 0x0a2722586f2d042eull, 0x854fb3003f739fa5ull,
	0xff97c3c80f4616dcull, 0x1bef5b57af4dc5adull, 0x61372b9f9f784cd4ull,
	0xee5fbac7cf26d75full, 0x9487ca0fff135e26ull, 0xdbd7be24370c7322ull,
	0xa10fceec0739fa5bull, 0x2e675fb4576761d0ull, 0x54bf2f7c6752e8a9ull,
	0xcdcf48d84fe75459ull, 0xb71738107fd2dd20ull, 0x387fa9482f8c46abull,
	0x42a7d9801fb9cfd2ull, 0x0df7adabd7a6e2d6ull, 0x772fdd63e7936bafull,
	0xf8474c3bb7cdf024ull, 0x829f3cf387f8795dull, 0x66e7a46c27f3aa2cull,
	0x1c3fd4a417c62355ull, 0x935745fc4798b8deull, 0xe98f353477ad31a7ull,
	0xa6df411fbfb21ca3ull, 0xdc0731d78f8795daull, 0x536fa08fdfd90e51ull,
	0x29b7d047efec8728ull,
};

uint64_t rdbv_crc64(uint64_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		crc = crc64_tab[(uint8_t)(crc ^ b[i])] ^ (crc >> 8);
	return crc;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A signed integer of n bytes, little endian. */
static int64_t get_sle(const uint8_t *p, unsigned n)
{
	uint64_t v = get_le(p, n);

	if (n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~(uint64_t)0 << (8 * n);
	return (int64_t)v;
}

static uint32_t i64_text(char *buf, int64_t v)
{
	char tmp[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint32_t n = 0, k = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[k++] = '-';
	while (n)
		buf[k++] = tmp[--n];
	buf[k] = 0;
	return k;
}

/* Redis's string2ll: the canonical decimal form of an int64, nothing else. */
static bool str_ll(const uint8_t *p, uint64_t n, int64_t *out)
{
	uint64_t v = 0, lim;
	uint64_t i = 0;
	bool neg = false;

	if (n == 0 || n > 20)
		return false;
	if (n == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	if (p[0] == '-') {
		neg = true;
		i = 1;
		if (n == 1)
			return false;
	}
	if (p[i] < '1' || p[i] > '9')
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = (unsigned)p[i] - '0';

		if (d > 9 || v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

void rdbv_src_read(const struct rdbv_src *in, uint64_t off, void *dst, uint64_t n)
{
	if (!n)
		return;
	if (in->p)
		memcpy(dst, in->p + off, n);
	else
		in->read(in->arg, off, dst, n);
}

uint64_t rdbv_src_crc64(const struct rdbv_src *in, uint64_t n)
{
	uint8_t buf[4096];
	uint64_t crc = 0;

	if (in->p)
		return rdbv_crc64(0, in->p, n);
	for (uint64_t off = 0; off < n;) {
		uint64_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);

		rdbv_src_read(in, off, buf, k);
		crc = rdbv_crc64(crc, buf, k);
		off += k;
	}
	return crc;
}

int rdbv_payload_check(const struct rdbv_src *in)
{
	uint8_t f[RDBV_FOOTER];

	if (in->len < RDBV_FOOTER)
		return RDBV_ECHECK;
	rdbv_src_read(in, in->len - RDBV_FOOTER, f, RDBV_FOOTER);
	if (get_le(f, 2) > RDBV_VERSION)
		return RDBV_ECHECK;
	return rdbv_src_crc64(in, in->len - 8) == get_le(f + 2, 8) ? RDBV_OK : RDBV_ECHECK;
}

/* ---- streams: a range of the input, or an LZF string decompressed on the go ---- */

static void st_raw(struct rdbv_stream *st, const struct rdbv_src *in, uint64_t off, uint64_t len)
{
	st->in = in;
	st->off = off;
	st->len = st->ulen = len;
	st->lzf = st->whole = false;
}

static void lzf_reset(struct rdbv_stream *st)
{
	st->iload = st->op = 0;
	st->ibn = st->ibp = 0;
	st->lit = st->ref = st->dist = 0;
}

static bool lzf_in(struct rdbv_stream *st, uint8_t *b)
{
	if (st->ibp == st->ibn) {
		uint64_t k = st->len - st->iload;

		if (!k)
			return false;
		if (k > sizeof(st->ib))
			k = sizeof(st->ib);
		rdbv_src_read(st->in, st->off + st->iload, st->ib, k);
		st->iload += k;
		st->ibn = (uint32_t)k;
		st->ibp = 0;
	}
	*b = st->ib[st->ibp++];
	return true;
}

/*
 * Make n more bytes of output (into dst unless NULL). An LZF stream is
 * control bytes: below 32, a run of that many plus one literal bytes;
 * else a back reference: length (ctrl >> 5, 7 meaning 7 plus the next
 * byte) plus 2 bytes, from distance ((ctrl & 31) << 8) + the next byte + 1.
 */
static bool lzf_make(struct rdbv_stream *st, uint8_t *dst, uint64_t n)
{
	while (n) {
		uint8_t b;

		if (st->lit) {
			if (!lzf_in(st, &b))
				return false;
			st->lit--;
		} else if (st->ref) {
			b = st->win[(st->op - st->dist) & (RDBV_WIN - 1)];
			st->ref--;
		} else {
			uint8_t c, x;
			uint32_t len;

			if (!lzf_in(st, &c))
				return false;
			if (c < 32) {
				st->lit = c + 1u;
				continue;
			}
			len = c >> 5;
			if (len == 7) {
				if (!lzf_in(st, &x))
					return false;
				len += x;
			}
			if (!lzf_in(st, &x))
				return false;
			st->dist = ((uint32_t)(c & 0x1f) << 8) + x + 1u;
			if (st->dist > st->op)
				return false;	/* before the start */
			st->ref = len + 2;
			continue;
		}
		if (st->op >= st->ulen)
			return false;		/* more than announced */
		st->win[st->op & (RDBV_WIN - 1)] = b;
		st->op++;
		if (dst)
			*dst++ = b;
		n--;
	}
	return true;
}

/* Set up and check an LZF string: it must yield exactly ulen bytes from exactly clen. */
static bool lzf_open(struct rdbv_stream *st, const struct rdbv_src *in, uint64_t off,
		     uint64_t clen, uint64_t ulen)
{
	st->in = in;
	st->off = off;
	st->len = clen;
	st->ulen = ulen;
	st->lzf = true;
	st->whole = false;
	lzf_reset(st);
	if (!lzf_make(st, NULL, ulen) || st->lit || st->ref || st->ibp != st->ibn ||
	    st->iload != st->len)
		return false;
	st->whole = ulen <= RDBV_WIN;
	return true;
}

static bool st_read(struct rdbv_stream *st, uint64_t pos, void *dst, uint64_t n)
{
	if (n > st->ulen || pos > st->ulen - n)
		return false;
	if (!n)
		return true;
	if (!st->lzf) {
		rdbv_src_read(st->in, st->off + pos, dst, n);
		return true;
	}
	if (st->whole) {
		memcpy(dst, st->win + pos, n);
		return true;
	}
	if (pos < st->op)
		lzf_reset(st);
	return lzf_make(st, NULL, pos - st->op) && lzf_make(st, dst, n);
}

static const uint8_t *st_ptr(const struct rdbv_stream *st, uint64_t pos)
{
	if (!st->lzf)
		return st->in->p ? st->in->p + st->off + pos : NULL;
	return st->whole ? st->win + pos : NULL;
}

static void part_read(const void *src, uint64_t off, void *dst, uint64_t n)
{
	const struct rdbv_part *pt = src;

	if (!st_read(pt->st, pt->base + off, dst, n))
		memset(dst, 0, n);	/* (cannot happen: the stream was checked whole) */
}

/* The bytes [pos, pos + len) of stream st, as member bytes (slot: name or value). */
static void mk_bytes(struct rdbv_dec *d, unsigned slot, struct rdbv_stream *st, uint64_t pos,
		     uint64_t len, struct rdbv_bytes *b)
{
	*b = (struct rdbv_bytes){ .len = len, .p = len ? st_ptr(st, pos) : (const uint8_t *)"" };
	if (!b->p) {
		d->part[slot] = (struct rdbv_part){ .st = st, .base = pos };
		b->read = part_read;
		b->src = &d->part[slot];
	}
}

static void mk_int(struct rdbv_dec *d, unsigned slot, int64_t v, struct rdbv_bytes *b)
{
	uint32_t n = i64_text(d->num[slot], v);

	*b = (struct rdbv_bytes){ .p = (const uint8_t *)d->num[slot], .len = n };
}

/* ---- the value's own bytes ---- */

static bool in_bytes(struct rdbv_dec *d, void *dst, uint64_t n)
{
	if (n > d->end - d->pos)
		return false;
	rdbv_src_read(d->in, d->pos, dst, n);
	d->pos += n;
	return true;
}

unsigned rdbv_len_size(uint8_t first)
{
	switch (first >> 6) {
	case 0:
	case 3:
		return 1;
	case 1:
		return 2;
	}
	return first == 0x80 ? 5 : first == 0x81 ? 9 : 0;
}

uint64_t rdbv_len_value(const uint8_t *b, bool *enc)
{
	*enc = b[0] >> 6 == 3;
	switch (b[0] >> 6) {
	case 0:
	case 3:
		return b[0] & 0x3f;
	case 1:
		return (uint64_t)(b[0] & 0x3f) << 8 | b[1];
	}
	return get_be(b + 1, b[0] == 0x80 ? 4 : 8);
}

/* An RDB length; *enc: it is a special encoding (the low 6 bits) instead. */
static bool in_len(struct rdbv_dec *d, uint64_t *len, bool *enc)
{
	uint8_t b[9];
	unsigned n;

	if (!in_bytes(d, b, 1) || !(n = rdbv_len_size(b[0])) || !in_bytes(d, b + 1, n - 1))
		return false;
	*len = rdbv_len_value(b, enc);
	return true;
}

static bool in_count(struct rdbv_dec *d, uint64_t *n)
{
	bool enc;

	return in_len(d, n, &enc) && !enc;
}

/*
 * An RDB string into slot: raw, an integer (INT8/16/32: its decimal text),
 * or LZF (compressed length, length, data). b: NULL for a blob, which must
 * be bytes (a raw range or LZF), never an integer.
 */
static bool in_string(struct rdbv_dec *d, unsigned slot, struct rdbv_bytes *b)
{
	struct rdbv_stream *st = &d->st[slot];
	uint64_t len, clen;
	uint8_t x[4];
	bool enc;

	if (!in_len(d, &len, &enc))
		return false;
	if (!enc) {
		if (len > d->end - d->pos)
			return false;
		if (b && d->max_len && len > d->max_len) {
			d->toobig = true;
			return false;
		}
		st_raw(st, d->in, d->pos, len);
		d->pos += len;
	} else if (len <= 2) {
		unsigned w = 1u << len;

		if (!b || !in_bytes(d, x, w))
			return false;
		mk_int(d, slot, get_sle(x, w), b);
		return true;
	} else if (len == 3) {
		if (!in_count(d, &clen) || !in_count(d, &len) || clen > d->end - d->pos)
			return false;
		if (b && d->max_len && len > d->max_len) {
			d->toobig = true;	/* (before decompressing anything) */
			return false;
		}
		if (!lzf_open(st, d->in, d->pos, clen, len))
			return false;
		d->pos += clen;
	} else {
		return false;
	}
	if (b)
		mk_bytes(d, slot, st, 0, st->ulen, b);
	return true;
}

struct emit_ctx {
	rdbv_member_fn fn;
	void *arg;
	struct rdbv_info *info;
};

static int emit(const struct emit_ctx *e, const struct rdbv_bytes *name,
		const struct rdbv_bytes *val)
{
	struct rdbv_info *i = e->info;

	i->count++;
	i->bytes += name->len + (val ? val->len : 0);
	if (name->len > i->maxlen)
		i->maxlen = name->len;
	if (val && val->len > i->maxlen)
		i->maxlen = val->len;
	return e->fn && e->fn(e->arg, name, val) ? RDBV_ESTOP : RDBV_OK;
}

/* RDB_TYPE_SET, RDB_TYPE_HASH: a count, then strings. */
static int dec_plain(struct rdbv_dec *d, bool hash, const struct emit_ctx *e)
{
	struct rdbv_bytes name, val;
	uint64_t n;

	if (!in_count(d, &n) || n == 0)
		return RDBV_EFORMAT;
	for (uint64_t i = 0; i < n; i++) {
		int r;

		if (!in_string(d, RDBV_S_NAME, &name) || (hash && !in_string(d, RDBV_S_VAL, &val)))
			return RDBV_EFORMAT;
		if ((r = emit(e, &name, hash ? &val : NULL)) != RDBV_OK)
			return r;
	}
	return RDBV_OK;
}

/* RDB_TYPE_SET_INTSET: encoding (2, 4 or 8), count, the integers (LE). */
static int dec_intset(struct rdbv_dec *d, const struct emit_ctx *e)
{
	struct rdbv_stream *st = &d->st[RDBV_S_BLOB];
	struct rdbv_bytes m;
	uint8_t h[8];
	uint64_t w, n;

	if (!in_string(d, RDBV_S_BLOB, NULL) || !st_read(st, 0, h, 8))
		return RDBV_EFORMAT;
	w = get_le(h, 4);
	n = get_le(h + 4, 4);
	if ((w != 2 && w != 4 && w != 8) || n == 0 || 8 + n * w != st->ulen)
		return RDBV_EFORMAT;
	for (uint64_t i = 0; i < n; i++) {
		int r;

		if (!st_read(st, 8 + i * w, h, w))
			return RDBV_EFORMAT;
		mk_int(d, RDBV_S_NAME, get_sle(h, (unsigned)w), &m);
		if ((r = emit(e, &m, NULL)) != RDBV_OK)
			return r;
	}
	return RDBV_OK;
}

/* A listpack entry's back length: its length in 7-bit groups, most significant first. */
static unsigned lp_backlen(uint8_t *b, uint64_t l)
{
	unsigned n = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(((l >> (7 * (n - 1 - i))) & 127) | (i ? 128 : 0));
	return n;
}

/* Pairs for a hash: every second element completes one. */
struct pairs {
	struct rdbv_bytes name;
	uint64_t elems;
};

static int pair_elem(struct rdbv_dec *d, struct pairs *pr, const struct emit_ctx *e,
		     bool is_int, int64_t v, uint64_t pos, uint64_t len)
{
	unsigned slot = pr->elems++ % 2 ? RDBV_S_VAL : RDBV_S_NAME;
	struct rdbv_bytes b;

	if (!is_int && d->max_len && len > d->max_len) {
		d->toobig = true;
		return RDBV_EFORMAT;
	}
	if (is_int)
		mk_int(d, slot, v, &b);
	else
		mk_bytes(d, slot, &d->st[RDBV_S_BLOB], pos, len, &b);
	if (slot == RDBV_S_NAME) {
		pr->name = b;
		return RDBV_OK;
	}
	return emit(e, &pr->name, &b);
}

/* RDB_TYPE_HASH_LISTPACK: total bytes (u32), elements (u16), entries, 0xff. */
static int dec_listpack(struct rdbv_dec *d, const struct emit_ctx *e)
{
	struct rdbv_stream *st = &d->st[RDBV_S_BLOB];
	struct pairs pr = { .elems = 0 };
	uint64_t pos = 6, num;
	uint8_t h[9];

	if (!in_string(d, RDBV_S_BLOB, NULL) || st->ulen < 7 || !st_read(st, 0, h, 6) ||
	    get_le(h, 4) != st->ulen)
		return RDBV_EFORMAT;
	num = get_le(h + 4, 2);
	for (;;) {
		uint64_t avail = st->ulen - pos, hdr, slen = 0, l;
		uint8_t bl[5], blx[5];
		unsigned nbl;
		bool is_int = true;
		int64_t v = 0;
		int r;

		memset(h, 0, sizeof(h));
		if (!st_read(st, pos, h, avail < 9 ? avail : 9))
			return RDBV_EFORMAT;
		if (h[0] == 0xff) {
			if (avail != 1)
				return RDBV_EFORMAT;
			break;
		}
		if (!(h[0] & 0x80)) {
			hdr = 1;
			v = h[0];
		} else if ((h[0] & 0xc0) == 0x80) {
			hdr = 1;
			slen = h[0] & 0x3f;
			is_int = false;
		} else if ((h[0] & 0xe0) == 0xc0) {
			hdr = 2;
			v = (int64_t)((uint64_t)(h[0] & 0x1f) << 8 | h[1]);
			if (v >= 4096)
				v -= 8192;
		} else if ((h[0] & 0xf0) == 0xe0) {
			hdr = 2;
			slen = (uint64_t)(h[0] & 0x0f) << 8 | h[1];
			is_int = false;
		} else if (h[0] == 0xf0) {
			hdr = 5;
			slen = get_le(h + 1, 4);
			is_int = false;
		} else if (h[0] >= 0xf1 && h[0] <= 0xf4) {
			static const uint8_t w[] = { 2, 3, 4, 8 };

			hdr = 1u + w[h[0] - 0xf1];
			v = get_sle(h + 1, w[h[0] - 0xf1]);
		} else {
			return RDBV_EFORMAT;
		}
		if (hdr > avail || slen > avail - hdr)
			return RDBV_EFORMAT;
		l = hdr + slen;
		nbl = lp_backlen(blx, l);
		if (nbl >= avail - l || !st_read(st, pos + l, bl, nbl) || memcmp(bl, blx, nbl))
			return RDBV_EFORMAT;	/* (>=: the end byte must follow) */
		if ((r = pair_elem(d, &pr, e, is_int, v, pos + hdr, slen)) != RDBV_OK)
			return r;
		pos += l + nbl;
	}
	if (pr.elems == 0 || pr.elems % 2 || (num != 65535 && num != pr.elems))
		return RDBV_EFORMAT;
	return RDBV_OK;
}

/* RDB_TYPE_HASH_ZIPLIST: bytes (u32), tail offset (u32), entries (u16), entries, 0xff. */
static int dec_ziplist(struct rdbv_dec *d, const struct emit_ctx *e)
{
	struct rdbv_stream *st = &d->st[RDBV_S_BLOB];
	struct pairs pr = { .elems = 0 };
	uint64_t pos = 10, prev = 0, last = 10, num, tail;
	uint8_t h[16];

	if (!in_string(d, RDBV_S_BLOB, NULL) || st->ulen < 11 || !st_read(st, 0, h, 10) ||
	    get_le(h, 4) != st->ulen)
		return RDBV_EFORMAT;
	tail = get_le(h + 4, 4);
	num = get_le(h + 8, 2);
	for (;;) {
		uint64_t avail = st->ulen - pos, ph, eh, dlen = 0, plen, tot;
		bool is_int = true;
		int64_t v = 0;
		uint8_t *x;
		int r;

		memset(h, 0, sizeof(h));
		if (!st_read(st, pos, h, avail < 16 ? avail : 16))
			return RDBV_EFORMAT;
		if (h[0] == 0xff) {
			if (avail != 1)
				return RDBV_EFORMAT;
			break;
		}
		ph = h[0] < 254 ? 1 : 5;
		plen = h[0] < 254 ? h[0] : get_le(h + 1, 4);
		if (plen != prev || avail < ph + 1)
			return RDBV_EFORMAT;
		x = h + ph;
		switch (x[0] >> 6) {
		case 0:
			eh = 1;
			dlen = x[0] & 0x3f;
			is_int = false;
			break;
		case 1:
			eh = 2;
			dlen = (uint64_t)(x[0] & 0x3f) << 8 | x[1];
			is_int = false;
			break;
		case 2:
			if (x[0] != 0x80)
				return RDBV_EFORMAT;
			eh = 5;
			dlen = get_be(x + 1, 4);
			is_int = false;
			break;
		default:
			eh = 1;
			switch (x[0]) {
			case 0xc0: dlen = 2; break;
			case 0xd0: dlen = 4; break;
			case 0xe0: dlen = 8; break;
			case 0xf0: dlen = 3; break;
			case 0xfe: dlen = 1; break;
			default:
				if (x[0] < 0xf1 || x[0] > 0xfd)
					return RDBV_EFORMAT;
				v = (x[0] & 0x0f) - 1;
			}
			if (dlen)
				v = get_sle(x + 1, (unsigned)dlen);
		}
		/* room for the header, the data and the end byte */
		if (ph + eh >= avail || dlen >= avail - ph - eh)
			return RDBV_EFORMAT;
		tot = ph + eh + dlen;
		if ((r = pair_elem(d, &pr, e, is_int, v, pos + ph + eh, dlen)) != RDBV_OK)
			return r;
		last = pos;
		prev = tot;
		pos += tot;
	}
	if (pr.elems == 0 || pr.elems % 2 || tail != last || (num != 65535 && num != pr.elems))
		return RDBV_EFORMAT;
	return RDBV_OK;
}

/* A zipmap length at pos: one byte below 254, else 254 and a u32 (LE); 255: the end. */
static bool zm_len(struct rdbv_stream *st, uint64_t *pos, uint64_t *len, bool *end)
{
	uint8_t b[5];

	if (!st_read(st, *pos, b, 1))
		return false;
	*end = b[0] == 255;
	if (b[0] < 254) {
		*len = b[0];
		*pos += 1;
		return true;
	}
	if (b[0] == 255)
		return true;
	if (!st_read(st, *pos, b, 5))
		return false;
	*len = get_le(b + 1, 4);
	*pos += 5;
	return true;
}

/* RDB_TYPE_HASH_ZIPMAP (Redis before 2.6): count (u8), (klen key vlen free value pad)*, 0xff. */
static int dec_zipmap(struct rdbv_dec *d, const struct emit_ctx *e)
{
	struct rdbv_stream *st = &d->st[RDBV_S_BLOB];
	struct pairs pr = { .elems = 0 };
	uint64_t pos = 1;
	uint8_t zmlen;

	if (!in_string(d, RDBV_S_BLOB, NULL) || !st_read(st, 0, &zmlen, 1))
		return RDBV_EFORMAT;
	for (;;) {
		uint64_t kl, vl, kpos;
		uint8_t fr;
		bool end;
		int r;

		if (!zm_len(st, &pos, &kl, &end))
			return RDBV_EFORMAT;
		if (end) {
			if (pos != st->ulen - 1)
				return RDBV_EFORMAT;
			break;
		}
		kpos = pos;
		if (kl > st->ulen - pos)
			return RDBV_EFORMAT;
		pos += kl;
		if (!zm_len(st, &pos, &vl, &end) || end || !st_read(st, pos, &fr, 1))
			return RDBV_EFORMAT;
		pos++;
		if (vl > st->ulen - pos || fr > st->ulen - pos - vl)
			return RDBV_EFORMAT;
		if ((r = pair_elem(d, &pr, e, false, 0, kpos, kl)) != RDBV_OK ||
		    (r = pair_elem(d, &pr, e, false, 0, pos, vl)) != RDBV_OK)
			return r;
		pos += vl + fr;
	}
	if (pr.elems == 0 || (zmlen < 254 && zmlen != pr.elems / 2))
		return RDBV_EFORMAT;
	return RDBV_OK;
}

int rdbv_decode(struct rdbv_dec *d, const struct rdbv_src *in, uint64_t off, uint64_t end,
		rdbv_member_fn fn, void *arg, struct rdbv_info *info, uint64_t *next)
{
	uint8_t t;

	*info = (struct rdbv_info){ 0 };
	if (end > in->len || off >= end)
		return RDBV_EFORMAT;
	rdbv_src_read(in, off, &t, 1);
	return rdbv_decode_obj(d, in, t, off + 1, end, fn, arg, info, next);
}

int rdbv_decode_obj(struct rdbv_dec *d, const struct rdbv_src *in, uint8_t t, uint64_t off,
		    uint64_t end, rdbv_member_fn fn, void *arg, struct rdbv_info *info,
		    uint64_t *next)
{
	struct emit_ctx e = { .fn = fn, .arg = arg, .info = info };
	struct rdbv_bytes v;
	int r;

	d->in = in;
	d->pos = off;
	d->end = end;
	d->toobig = false;
	*info = (struct rdbv_info){ 0 };
	if (end > in->len || off > end)
		return RDBV_EFORMAT;
	info->rdbtype = t;
	switch (t) {
	case RDBV_T_STRING:
		info->kind = RDBV_STRING;
		r = in_string(d, RDBV_S_NAME, &v) ? emit(&e, &v, NULL) : RDBV_EFORMAT;
		break;
	case RDBV_T_SET:
		info->kind = RDBV_SET;
		r = dec_plain(d, false, &e);
		break;
	case RDBV_T_SET_INTSET:
		info->kind = RDBV_SET;
		r = dec_intset(d, &e);
		break;
	case RDBV_T_HASH:
		info->kind = RDBV_HASH;
		r = dec_plain(d, true, &e);
		break;
	case RDBV_T_HASH_LISTPACK:
		info->kind = RDBV_HASH;
		r = dec_listpack(d, &e);
		break;
	case RDBV_T_HASH_ZIPLIST:
		info->kind = RDBV_HASH;
		r = dec_ziplist(d, &e);
		break;
	case RDBV_T_HASH_ZIPMAP:
		info->kind = RDBV_HASH;
		r = dec_zipmap(d, &e);
		break;
	default:
		r = RDBV_EFORMAT;
	}
	if (r == RDBV_EFORMAT && d->toobig)
		r = RDBV_ETOOBIG;
	if (r == RDBV_OK && next)
		*next = d->pos;
	return r;
}

int rdbv_decode_payload(struct rdbv_dec *d, const struct rdbv_src *in, rdbv_member_fn fn,
			void *arg, struct rdbv_info *info)
{
	uint64_t next;
	int r = rdbv_payload_check(in);

	if (r != RDBV_OK) {
		*info = (struct rdbv_info){ 0 };
		return r;
	}
	r = rdbv_decode(d, in, 0, in->len - RDBV_FOOTER, fn, arg, info, &next);
	if (r == RDBV_OK && next != in->len - RDBV_FOOTER)
		return RDBV_EFORMAT;	/* bytes after the value */
	return r;
}

/* ---- encoding ---- */

static void out_put(struct rdbv_out *o, const void *p, uint64_t n)
{
	if (!o->no_crc)
		o->crc = rdbv_crc64(o->crc, p, n);
	o->n += n;
	o->put(o->arg, p, n);
}

static unsigned len_enc(uint8_t *b, uint64_t len)
{
	if (len < 64) {
		b[0] = (uint8_t)len;
		return 1;
	}
	if (len < 16384) {
		b[0] = (uint8_t)(0x40 | len >> 8);
		b[1] = (uint8_t)len;
		return 2;
	}
	if (len <= UINT32_MAX) {
		b[0] = 0x80;
		for (unsigned i = 0; i < 4; i++)
			b[1 + i] = (uint8_t)(len >> (24 - 8 * i));
		return 5;
	}
	b[0] = 0x81;
	for (unsigned i = 0; i < 8; i++)
		b[1 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 9;
}

static uint64_t len_size(uint64_t len)
{
	uint8_t b[9];

	return len_enc(b, len);
}

/* Redis's int encodings of a string (at most 11 bytes, within int32); 0 when none applies. */
static unsigned str_int_enc(uint8_t *b, const uint8_t *p, uint64_t n)
{
	int64_t v;

	if (n > 11 || !str_ll(p, n, &v))
		return 0;
	if (v >= INT8_MIN && v <= INT8_MAX) {
		b[0] = 0xc0;
		put_le(b + 1, (uint64_t)v, 1);
		return 2;
	}
	if (v >= INT16_MIN && v <= INT16_MAX) {
		b[0] = 0xc1;
		put_le(b + 1, (uint64_t)v, 2);
		return 3;
	}
	if (v >= INT32_MIN && v <= INT32_MAX) {
		b[0] = 0xc2;
		put_le(b + 1, (uint64_t)v, 4);
		return 5;
	}
	return 0;
}

static uint64_t str_size(const uint8_t *p, uint64_t n)
{
	uint8_t b[5];
	unsigned k = str_int_enc(b, p, n);

	return k ? k : len_size(n) + n;
}

static void str_put(struct rdbv_out *o, const uint8_t *p, uint64_t n)
{
	uint8_t b[9];
	unsigned k = str_int_enc(b, p, n);

	if (k) {
		out_put(o, b, k);
		return;
	}
	out_put(o, b, len_enc(b, n));
	out_put(o, p, n);
}

/* A listpack entry's header (ints: the whole entry but its back length); *data: bytes after. */
static unsigned lp_head(uint8_t *b, const uint8_t *p, uint64_t n, uint64_t *data)
{
	int64_t v;

	*data = 0;
	if (str_ll(p, n, &v)) {
		if (v >= 0 && v <= 127) {
			b[0] = (uint8_t)v;
			return 1;
		}
		if (v >= -4096 && v <= 4095) {
			uint64_t u = (uint64_t)v & 0x1fff;

			b[0] = (uint8_t)(0xc0 | u >> 8);
			b[1] = (uint8_t)u;
			return 2;
		}
		if (v >= INT16_MIN && v <= INT16_MAX) {
			b[0] = 0xf1;
			put_le(b + 1, (uint64_t)v, 2);
			return 3;
		}
		if (v >= -(1 << 23) && v < (1 << 23)) {
			b[0] = 0xf2;
			put_le(b + 1, (uint64_t)v, 3);
			return 4;
		}
		if (v >= INT32_MIN && v <= INT32_MAX) {
			b[0] = 0xf3;
			put_le(b + 1, (uint64_t)v, 4);
			return 5;
		}
		b[0] = 0xf4;
		put_le(b + 1, (uint64_t)v, 8);
		return 9;
	}
	*data = n;
	if (n < 64) {
		b[0] = (uint8_t)(0x80 | n);
		return 1;
	}
	if (n < 4096) {
		b[0] = (uint8_t)(0xe0 | n >> 8);
		b[1] = (uint8_t)n;
		return 2;
	}
	b[0] = 0xf0;
	put_le(b + 1, n, 4);
	return 5;
}

static uint64_t lp_entry_size(const uint8_t *p, uint64_t n)
{
	uint8_t b[9], bl[5];
	uint64_t data;
	unsigned h = lp_head(b, p, n, &data);

	return h + data + lp_backlen(bl, h + data);
}

static void lp_entry_put(struct rdbv_out *o, const uint8_t *p, uint64_t n)
{
	uint8_t b[9], bl[5];
	uint64_t data;
	unsigned h = lp_head(b, p, n, &data);

	out_put(o, b, h);
	out_put(o, p, data);
	out_put(o, bl, lp_backlen(bl, h + data));
}

void rdbv_plan_string(struct rdbv_plan *pl, const uint8_t *p, uint64_t n)
{
	*pl = (struct rdbv_plan){ .kind = RDBV_STRING, .rdbtype = RDBV_T_STRING, .count = 1 };
	pl->size = 1 + str_size(p, n) + RDBV_FOOTER;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void sort_i64(int64_t *v, uint64_t n)
{
	/* (insertion sort: an intset has at most set-max-intset-entries members) */
	for (uint64_t i = 1; i < n; i++) {
		int64_t x = v[i];
		uint64_t j = i;

		while (j && cmp_i64(&v[j - 1], &x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

bool rdbv_plan_container(struct rdbv_plan *pl, uint8_t kind, const struct rdbv_iter *it,
			 const struct rdbv_limits *lim, int64_t *ints, uint64_t nints)
{
	struct rdbv_member m;
	uint64_t plain = 0, lp = 7;
	bool small = true;
	int64_t lo = 0, hi = 0;

	*pl = (struct rdbv_plan){ .kind = kind };
	it->rewind(it->arg);
	while (it->next(it->arg, &m)) {
		plain += str_size(m.name, m.nlen);
		if (kind == RDBV_HASH) {
			plain += str_size(m.val, m.vlen);
			lp += lp_entry_size(m.name, m.nlen) + lp_entry_size(m.val, m.vlen);
			if (m.nlen > lim->hash_value || m.vlen > lim->hash_value)
				small = false;
		} else if (small) {
			int64_t v;

			if (pl->count >= nints || pl->count >= lim->set_int_entries ||
			    !str_ll(m.name, m.nlen, &v)) {
				small = false;
			} else {
				ints[pl->count] = v;
				lo = v < lo ? v : lo;
				hi = v > hi ? v : hi;
			}
		}
		pl->count++;
	}
	if (pl->count == 0)
		return false;
	if (kind == RDBV_HASH) {
		small = small && pl->count <= lim->hash_entries && lp <= UINT32_MAX;
		pl->rdbtype = small ? RDBV_T_HASH_LISTPACK : RDBV_T_HASH;
		pl->blob = small ? lp : 0;
	} else {
		pl->rdbtype = small ? RDBV_T_SET_INTSET : RDBV_T_SET;
		if (small) {
			sort_i64(ints, pl->count);
			pl->intw = lo >= INT16_MIN && hi <= INT16_MAX ? 2 :
				   lo >= INT32_MIN && hi <= INT32_MAX ? 4 : 8;
			pl->blob = 8 + pl->count * pl->intw;
		}
	}
	pl->size = 1 + RDBV_FOOTER +
		   (pl->blob ? len_size(pl->blob) + pl->blob : len_size(pl->count) + plain);
	return true;
}

void rdbv_emit_value_string(const struct rdbv_plan *pl, const uint8_t *p, uint64_t n,
			    struct rdbv_out *out)
{
	out_put(out, &pl->rdbtype, 1);
	str_put(out, p, n);
}

void rdbv_emit_value_container(const struct rdbv_plan *pl, const struct rdbv_iter *it,
			       int64_t *ints, struct rdbv_out *out)
{
	struct rdbv_member m;
	uint8_t b[9];

	out_put(out, &pl->rdbtype, 1);
	if (pl->blob)
		out_put(out, b, len_enc(b, pl->blob));
	if (pl->rdbtype == RDBV_T_SET_INTSET) {
		put_le(b, pl->intw, 4);
		put_le(b + 4, pl->count, 4);
		out_put(out, b, 8);
		for (uint64_t i = 0; i < pl->count; i++) {
			put_le(b, (uint64_t)ints[i], pl->intw);
			out_put(out, b, pl->intw);
		}
		return;
	}
	if (pl->rdbtype == RDBV_T_HASH_LISTPACK) {
		uint64_t elems = pl->count * 2;

		put_le(b, pl->blob, 4);
		put_le(b + 4, elems < 65535 ? elems : 65535, 2);
		out_put(out, b, 6);
	} else {
		out_put(out, b, len_enc(b, pl->count));
	}
	it->rewind(it->arg);
	while (it->next(it->arg, &m)) {
		if (pl->rdbtype == RDBV_T_HASH_LISTPACK) {
			lp_entry_put(out, m.name, m.nlen);
			lp_entry_put(out, m.val, m.vlen);
		} else {
			str_put(out, m.name, m.nlen);
			if (pl->kind == RDBV_HASH)
				str_put(out, m.val, m.vlen);
		}
	}
	if (pl->rdbtype == RDBV_T_HASH_LISTPACK) {
		b[0] = 0xff;
		out_put(out, b, 1);
	}
}

static void footer_put(struct rdbv_out *out)
{
	uint8_t b[8];

	put_le(b, RDBV_VERSION, 2);
	out_put(out, b, 2);
	put_le(b, out->crc, 8);
	out->n += 8;
	out->put(out->arg, b, 8);
}

void rdbv_emit_string(const struct rdbv_plan *pl, const uint8_t *p, uint64_t n,
		      struct rdbv_out *out)
{
	out->crc = out->n = 0;
	rdbv_emit_value_string(pl, p, n, out);
	footer_put(out);
}

void rdbv_emit_container(const struct rdbv_plan *pl, const struct rdbv_iter *it,
			 int64_t *ints, struct rdbv_out *out)
{
	out->crc = out->n = 0;
	rdbv_emit_value_container(pl, it, ints, out);
	footer_put(out);
}
