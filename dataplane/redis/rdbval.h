/*
 * rdbval.h - a value's RDB encoding (Redis 7.0's serialization, RDB version
 * 10): strings, hashes and sets, both ways. DUMP/RESTORE use it with the
 * payload footer (<value> <version: 2 bytes LE> <CRC64 of all before: 8 bytes
 * LE>); RDB files can use the value codec alone (rdbv_decode at an offset).
 *
 * Decoding is a parser of untrusted input: every length is checked against
 * the bytes that are there, nothing is allocated (the state is the caller's
 * struct rdbv_dec, ~25 KiB: put it on a stack), nothing recurses, and
 * LZF-compressed strings are decompressed as a stream through an 8 KiB
 * window (a string up to that size is then whole in the window; a longer one
 * is decompressed again from its start whenever a reader goes back).
 * What it accepts: RDB_TYPE_STRING (raw, int-encoded, LZF), RDB_TYPE_HASH,
 * RDB_TYPE_HASH_ZIPMAP, RDB_TYPE_HASH_ZIPLIST, RDB_TYPE_HASH_LISTPACK,
 * RDB_TYPE_SET, RDB_TYPE_SET_INTSET (7.0 has no listpack sets). It rejects
 * (RDBV_EFORMAT) empty containers, odd hash lists, truncated or inconsistent
 * lengths, blobs whose headers disagree with their contents, and any other
 * type; duplicate fields/members are found by the consumer (the member
 * callback: the store finds them as it builds), as Redis finds them while
 * loading.
 *
 * Encoding follows Redis's choices: integer strings in the int encodings
 * (when the text round-trips, at most 11 bytes and within int32), hashes as
 * a listpack while small, sets as an intset while all integers and few;
 * nothing is LZF-compressed (optional in the format).
 */
#ifndef WC_REDIS_RDBVAL_H
#define WC_REDIS_RDBVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RDBV_VERSION 10			/* Redis 7.0's RDB version */
#define RDBV_FOOTER 10			/* version (2) + CRC64 (8) */

enum rdbv_rdbtype {
	RDBV_T_STRING = 0,
	RDBV_T_SET = 2,
	RDBV_T_HASH = 4,
	RDBV_T_HASH_ZIPMAP = 9,
	RDBV_T_SET_INTSET = 11,
	RDBV_T_HASH_ZIPLIST = 13,
	RDBV_T_HASH_LISTPACK = 16,
};

enum rdbv_kind { RDBV_STRING = 1, RDBV_HASH, RDBV_SET };

enum rdbv_res {
	RDBV_OK = 0,
	RDBV_ECHECK,			/* payload version or checksum are wrong */
	RDBV_EFORMAT,			/* bad data format */
	RDBV_ESTOP,			/* the member callback stopped the decoding */
	RDBV_ETOOBIG,			/* a string longer than the caller's max_len */
};

/* Redis's CRC64 (Jones polynomial, reflected, no final xor); crc: 0 to start. */
uint64_t rdbv_crc64(uint64_t crc, const void *p, size_t n);

/* Input bytes: contiguous (p), or copied out by read. */
struct rdbv_src {
	const uint8_t *p;
	uint64_t len;
	void (*read)(const void *arg, uint64_t off, void *dst, uint64_t n);
	const void *arg;
};

/*
 * A decoded string (a value, field, member): contiguous (p), or read through
 * the callback (offsets from 0, any order: valid while the decoder is).
 * The same shape as the store's struct wc_cbytes.
 */
struct rdbv_bytes {
	const uint8_t *p;
	uint64_t len;
	void (*read)(const void *src, uint64_t off, void *dst, uint64_t n);
	const void *src;
};

/* Copy n bytes at off out of in (n may be 0). */
void rdbv_src_read(const struct rdbv_src *in, uint64_t off, void *dst, uint64_t n);

/* Redis's CRC64 of in's first n bytes. */
uint64_t rdbv_src_crc64(const struct rdbv_src *in, uint64_t n);

/* The footer of a DUMP payload: RDBV_OK, or RDBV_ECHECK (short, newer version, bad CRC). */
int rdbv_payload_check(const struct rdbv_src *in);

/* ---- decoding ---- */

/*
 * An RDB length field is 1, 2, 5 or 9 bytes, told by its first byte:
 * rdbv_len_size gives the count (0: no valid length starts so), and
 * rdbv_len_value reads the field, *enc set when it names a string's special
 * encoding (the low 6 bits) instead of a length.
 */
unsigned rdbv_len_size(uint8_t first);
uint64_t rdbv_len_value(const uint8_t *b, bool *enc);

#define RDBV_WIN 8192u			/* LZF's longest back reference */

/* One stream of bytes the decoder reads: a range of the input, or an LZF string. */
struct rdbv_stream {
	const struct rdbv_src *in;
	uint64_t off, len;		/* raw: the range; LZF: the compressed bytes */
	uint64_t ulen;			/* bytes it yields */
	bool lzf, whole;		/* whole: all of it is in win */
	uint64_t iload, op;		/* LZF: input bytes loaded, output made */
	uint32_t ibn, ibp;		/* input buffer: filled, consumed */
	uint32_t lit, ref, dist;	/* the LZF operation under way */
	uint8_t ib[256];
	uint8_t win[RDBV_WIN];
};

/* A part of a stream, for a struct rdbv_bytes read callback. */
struct rdbv_part {
	struct rdbv_stream *st;
	uint64_t base;
};

enum { RDBV_S_NAME, RDBV_S_VAL, RDBV_S_BLOB, RDBV_S_N };

struct rdbv_dec {
	const struct rdbv_src *in;
	uint64_t pos, end;
	struct rdbv_stream st[RDBV_S_N];
	struct rdbv_part part[2];
	char num[2][24];
	uint64_t max_len;		/* the caller's: longer strings are refused before any
					 * work on them (RDBV_ETOOBIG); 0: no limit */
	bool toobig;
};

/* What a decoded value is. */
struct rdbv_info {
	uint8_t rdbtype;		/* enum rdbv_rdbtype */
	uint8_t kind;			/* enum rdbv_kind */
	uint64_t count;			/* members (1 for a string) */
	uint64_t maxlen;		/* the longest string (value, field, member) */
	uint64_t bytes;			/* the strings' bytes, all together */
};

/*
 * Called per member: a set member (val NULL), a hash field and its value,
 * or a string's value (val NULL). Nonzero stops the decoding (RDBV_ESTOP).
 */
typedef int (*rdbv_member_fn)(void *arg, const struct rdbv_bytes *name,
			      const struct rdbv_bytes *val);

/*
 * Decode the value (type byte and object) at in[off .. end): RDBV_OK with
 * *next the offset after it, RDBV_EFORMAT, RDBV_ETOOBIG or RDBV_ESTOP. fn
 * may be NULL (a validation pass: info filled). d->max_len is read, not set.
 */
int rdbv_decode(struct rdbv_dec *d, const struct rdbv_src *in, uint64_t off, uint64_t end,
		rdbv_member_fn fn, void *arg, struct rdbv_info *info, uint64_t *next);

/*
 * The same for an object whose type byte t was read elsewhere (an RDB
 * file's key sits between the two): the object at in[off .. end). Type
 * RDBV_T_STRING decodes any RDB string (a key, an aux field).
 */
int rdbv_decode_obj(struct rdbv_dec *d, const struct rdbv_src *in, uint8_t t, uint64_t off,
		    uint64_t end, rdbv_member_fn fn, void *arg, struct rdbv_info *info,
		    uint64_t *next);

/*
 * A whole DUMP payload: the footer (RDBV_ECHECK), then the value, which must
 * end where the footer begins (RDBV_EFORMAT otherwise).
 */
int rdbv_decode_payload(struct rdbv_dec *d, const struct rdbv_src *in, rdbv_member_fn fn,
			void *arg, struct rdbv_info *info);

/* ---- encoding ---- */

/* Where encoded bytes go (the CRC and count are kept here). */
struct rdbv_out {
	void (*put)(void *arg, const void *p, uint64_t n);
	void *arg;
	uint64_t crc, n;
	bool no_crc;			/* a value alone in an RDB file: the file has its CRC */
};

/* One member of a container being encoded (contiguous bytes). */
struct rdbv_member {
	const uint8_t *name, *val;	/* val: hashes */
	uint64_t nlen, vlen;
};

/* The members of a container, walked as often as the encoder needs. */
struct rdbv_iter {
	void (*rewind)(void *arg);
	bool (*next)(void *arg, struct rdbv_member *m);
	void *arg;
};

/* Redis's thresholds (hash-max-listpack-entries/-value, set-max-intset-entries). */
struct rdbv_limits {
	uint64_t hash_entries, hash_value, set_int_entries;
};

/* How a value will be encoded, and its payload's size (footer included). */
struct rdbv_plan {
	uint8_t kind, rdbtype;
	uint64_t count, blob;		/* blob: listpack or intset bytes */
	uint8_t intw;			/* intset: bytes per integer */
	uint64_t size;
};

void rdbv_plan_string(struct rdbv_plan *pl, const uint8_t *p, uint64_t n);
/*
 * A hash or set (kind); ints: scratch for an intset's members (sorting),
 * room for nints; a set with more integers than that is a hashtable set.
 * false when the iterator's count changes between walks (it must not).
 */
bool rdbv_plan_container(struct rdbv_plan *pl, uint8_t kind, const struct rdbv_iter *it,
			 const struct rdbv_limits *lim, int64_t *ints, uint64_t nints);

/* Write the payload as planned (value, version, CRC): exactly pl->size bytes to out. */
void rdbv_emit_string(const struct rdbv_plan *pl, const uint8_t *p, uint64_t n,
		      struct rdbv_out *out);
void rdbv_emit_container(const struct rdbv_plan *pl, const struct rdbv_iter *it,
			 int64_t *ints, struct rdbv_out *out);

/* The value alone (no footer), for RDB files: written to out. */
void rdbv_emit_value_string(const struct rdbv_plan *pl, const uint8_t *p, uint64_t n,
			    struct rdbv_out *out);
void rdbv_emit_value_container(const struct rdbv_plan *pl, const struct rdbv_iter *it,
			       int64_t *ints, struct rdbv_out *out);

#endif
