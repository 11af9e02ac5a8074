/*
 * container_read.c - reading hashes and sets (container.h) from any thread:
 * parsing a key item, finding a member, random members, and the snapshot
 * walk of a whole container that never misses nor repeats a member while
 * the owner splits buckets under it.
 *
 * Everything here only reads items through wc_get, so it runs lock-free on
 * any lcore and on the owner alike; on the owner (no write in flight) a
 * container is always consistent and nothing returns WC_C_RETRY.
 */
#include "cenc.h"
#include "part.h"

#define SNAP_CHUNK 2048u		/* bucket entries per snapshot chunk (48 KiB) */
#define RANDOM_TRIES 64
#define RANDOM_CAP (4 * WC_C_LOAD)	/* rejection bound for a nearly uniform pick */
#define SNAP_ATTEMPTS 4

struct wc_csnap_b {
	const uint8_t *p;		/* NULL: left out (read through an ancestor) */
	uint32_t len, count;
	uint32_t tag;
};

_Static_assert(SNAP_CHUNK * sizeof(struct wc_csnap_b) <= 48u << 10, "a chunk fits an allocation");

uint64_t wc_c_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

bool wc_c_parse(uint8_t type, const uint8_t *v, uint64_t vlen, struct wc_chdr *h)
{
	if ((type != WC_TYPE_HASH && type != WC_TYPE_SET) || vlen < 1)
		return false;
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->enc = v[0];
	if (vlen > 2)
		h->flags = v[2];
	if (v[0] == WC_CENC_COMPACT) {
		if (vlen < WC_CHDR_COMPACT)
			return false;
		h->count = wc_ld32(v + 4);
		h->list = v + WC_CHDR_COMPACT;
		h->list_len = (uint32_t)(vlen - WC_CHDR_COMPACT);
		h->nb = 1;
		return true;
	}
	if (v[0] != WC_CENC_BUCKETS || vlen != WC_CHDR_BUCKETS || v[1] > WC_CLEVEL_MAX - 1)
		return false;
	h->level = v[1];
	h->split = wc_ld32(v + 4);
	h->cid = wc_ld64(v + 8);
	h->seed = wc_ld64(v + 16);
	h->count = wc_ld64(v + 24);
	if (h->split >= (1u << h->level))
		return false;
	h->nb = wc_clayout_nb(h->level, h->split);
	return true;
}

bool wc_clist_next(const struct wc_clist *l, uint32_t *pos, struct wc_cmember *m)
{
	const uint8_t *p = l->p + *pos, *end = l->p + l->len;
	uint32_t n, k;

	if (p >= end || !(k = wc_varint_get(p, end, &n)) || n > (uint64_t)(end - p - k))
		return false;
	m->name = p + k;
	m->nlen = n;
	p += k + n;
	m->val = NULL;
	m->vlen = 0;
	if (l->hash) {
		if (!(k = wc_varint_get(p, end, &n)) || n > (uint64_t)(end - p - k))
			return false;
		m->val = p + k;
		m->vlen = n;
		p += k + n;
	}
	*pos = (uint32_t)(p - l->p);
	return true;
}

static bool list_find(const struct wc_clist *l, const struct wc_cbytes *name, struct wc_cmember *m)
{
	uint32_t pos = 0;

	while (wc_clist_next(l, &pos, m))
		if (m->nlen == name->len && wc_cbytes_eq(name, m->name, m->nlen))
			return true;
	return false;
}

/* A bucket item of container cid, as a reader finds it. */
static bool read_bucket(const struct wc_part *p, struct wc_ctx *ctx, uint64_t cid, uint32_t b,
			bool hash, struct wc_clist *out, uint32_t *tag)
{
	uint8_t key[WC_CKEY_BUCKET];
	struct wc_view v;

	wc_ckey_bucket(key, cid, b);
	if (!wc_get(p, ctx, key, sizeof(key), wc_hash(key, sizeof(key)),
		    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v) ||
	    v.type != WC_TYPE_BUCKET || v.vlen < WC_CBUCKET_HDR)
		return false;
	*tag = wc_ld32(v.value);
	out->count = wc_ld32(v.value + 4);
	out->p = v.value + WC_CBUCKET_HDR;
	out->len = v.vlen - WC_CBUCKET_HDR;
	out->hash = hash;
	return true;
}

int wc_c_bucket(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h, uint32_t b,
		bool strict, struct wc_clist *out)
{
	uint32_t tag;

	out->hash = h->type == WC_TYPE_HASH;
	if (h->enc == WC_CENC_COMPACT) {
		if (b != 0)
			return WC_C_ABSENT;
		out->p = h->list;
		out->len = h->list_len;
		out->count = (uint32_t)h->count;
		return WC_C_OK;
	}
	if (b >= h->nb)
		return WC_C_ABSENT;
	if (!read_bucket(p, ctx, h->cid, b, out->hash, out, &tag))
		return WC_C_RETRY;	/* the container is going away, or was replaced */
	if (strict && tag > h->nb)
		return WC_C_RETRY;	/* split after the header we hold: read it again */
	return WC_C_OK;
}

int wc_c_bucket_any(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h,
		    uint32_t b, struct wc_clist *out, uint32_t *tag)
{
	if (h->enc != WC_CENC_BUCKETS) {
		*tag = 1;
		return wc_c_bucket(p, ctx, h, b, false, out);
	}
	return read_bucket(p, ctx, h->cid, b, h->type == WC_TYPE_HASH, out, tag) ? WC_C_OK
										  : WC_C_ABSENT;
}

int wc_c_find(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h,
	      const struct wc_cbytes *name, struct wc_cmember *m)
{
	struct wc_clist l;
	uint64_t mh;
	uint32_t nb = h->nb, tag;
	uint8_t level = h->level;
	uint32_t split = h->split;

	if (h->enc == WC_CENC_COMPACT) {
		wc_c_bucket(p, ctx, h, 0, false, &l);
		return list_find(&l, name, m) ? WC_C_OK : WC_C_ABSENT;
	}
	mh = wc_cmember_hash(h->seed, name);
	/*
	 * A bucket tagged with a newer layout than the header we hold was
	 * split after it (the new header may not even be out yet): its new
	 * sibling exists already, so follow the member under that layout.
	 */
	for (int hops = 0; hops < 64; hops++) {
		uint32_t b = wc_cbucket_of(mh, level, split);

		if (!read_bucket(p, ctx, h->cid, b, h->type == WC_TYPE_HASH, &l, &tag))
			return WC_C_RETRY;	/* going away, or replaced */
		if (tag <= nb)
			return list_find(&l, name, m) ? WC_C_OK : WC_C_ABSENT;
		nb = tag;
		wc_clayout_of(nb, &level, &split);
	}
	return WC_C_RETRY;
}

static bool list_nth(const struct wc_clist *l, uint32_t i, struct wc_cmember *m)
{
	uint32_t pos = 0;

	while (wc_clist_next(l, &pos, m))
		if (i-- == 0)
			return true;
	return false;
}

int wc_c_random(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h,
		uint64_t *rnd, struct wc_cmember *m)
{
	struct wc_clist l;
	uint32_t start;

	if (h->enc == WC_CENC_COMPACT) {
		if (h->count == 0)
			return WC_C_ABSENT;
		l = (struct wc_clist){ .p = h->list, .len = h->list_len,
				       .count = (uint32_t)h->count,
				       .hash = h->type == WC_TYPE_HASH };
		return list_nth(&l, (uint32_t)(wc_c_rand(rnd) % h->count), m) ? WC_C_OK
									      : WC_C_RETRY;
	}
	/*
	 * A random bucket, then a random slot among RANDOM_CAP: each member
	 * is picked with the same chance unless its bucket holds more than
	 * RANDOM_CAP (with seeded hashing, a vanishing tail).
	 */
	for (int t = 0; t < RANDOM_TRIES; t++) {
		uint64_t r = wc_c_rand(rnd);
		uint32_t i = (uint32_t)((r >> 32) % RANDOM_CAP);
		int rc = wc_c_bucket(p, ctx, h, (uint32_t)(r % h->nb), false, &l);

		if (rc != WC_C_OK)
			return WC_C_RETRY;
		if (l.count == 0)
			continue;
		if (i >= l.count) {
			if (l.count <= RANDOM_CAP)
				continue;
			i = (uint32_t)(wc_c_rand(rnd) % l.count);
		}
		return list_nth(&l, i, m) ? WC_C_OK : WC_C_RETRY;
	}
	/* a sparse container (it had many more members once): the next non-empty bucket */
	start = (uint32_t)(wc_c_rand(rnd) % h->nb);
	for (uint32_t k = 0; k < h->nb; k++) {
		if (wc_c_bucket(p, ctx, h, (start + k) % h->nb, false, &l) != WC_C_OK)
			return WC_C_RETRY;
		if (l.count)
			return list_nth(&l, (uint32_t)(wc_c_rand(rnd) % l.count), m) ? WC_C_OK
										   : WC_C_RETRY;
	}
	return WC_C_RETRY;	/* its members went away meanwhile */
}

/* ---- snapshots ---- */

static struct wc_csnap_b *snap_entry(const struct wc_csnap *s, uint32_t b)
{
	return &s->chunks[b / SNAP_CHUNK][b % SNAP_CHUNK];
}

/* Read the header again: false when the key no longer holds container cid. */
static bool reopen(const struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
		   uint64_t cid, struct wc_chdr *h)
{
	struct wc_view v;
	struct wc_chdr n;

	if (!wc_get(p, ctx, key, klen, wc_hash(key, klen),
		    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v) ||
	    !wc_c_parse(v.type, v.value, v.vlen, &n) || n.enc != WC_CENC_BUCKETS || n.cid != cid)
		return false;
	*h = n;
	return true;
}

/*
 * Bucket c was created during the walk (c >= start): leave it out if one of
 * its ancestors was read before the split that led towards c, since every
 * member c got from that line was returned there.
 */
static bool read_through_ancestor(const struct wc_csnap *s, uint32_t c, uint32_t start)
{
	for (uint32_t x = c; x >= start && x > 0;) {
		uint32_t par = wc_cbucket_parent(x);

		if (snap_entry(s, par)->tag <= x)
			return true;
		x = par;
	}
	return false;
}

static int snap_walk(const struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
		     struct wc_chdr h, wc_c_alloc_fn alloc, void *actx, struct wc_csnap *s,
		     uint32_t *nchunks)
{
	uint32_t start = h.nb, bound = h.nb, pos = 0;

	s->count = 0;
	s->max_bucket = 0;
	for (;;) {
		while (pos < bound) {
			struct wc_csnap_b *e;
			struct wc_clist l;
			uint32_t tag;

			if (pos / SNAP_CHUNK >= *nchunks) {
				struct wc_csnap_b **grown;

				if (*nchunks % 512 == 0) {
					/* the chunk table itself grows in steps */
					grown = alloc(actx, (*nchunks + 512) * sizeof(*grown));
					if (!grown)
						return WC_C_NOMEM;
					if (*nchunks)
						memcpy(grown, s->chunks, *nchunks * sizeof(*grown));
					s->chunks = grown;
				}
				s->chunks[*nchunks] = alloc(actx, SNAP_CHUNK * sizeof(struct wc_csnap_b));
				if (!s->chunks[*nchunks])
					return WC_C_NOMEM;
				(*nchunks)++;
			}
			if (!read_bucket(p, ctx, h.cid, pos, h.type == WC_TYPE_HASH, &l, &tag))
				return WC_C_RETRY;	/* the container died under the walk */
			e = snap_entry(s, pos);
			*e = (struct wc_csnap_b){ .p = l.p, .len = l.len, .count = l.count,
						  .tag = tag };
			/*
			 * split after the header we hold: its sibling(s) up to tag - 1
			 * were written before it, whether or not the header says so yet
			 */
			if (tag > bound)
				bound = tag;
			if (pos >= start && read_through_ancestor(s, pos, start)) {
				e->p = NULL;
				e->count = 0;
			}
			s->count += e->count;
			if (e->count > s->max_bucket)
				s->max_bucket = e->count;
			pos++;
		}
		/* buckets added meanwhile are walked too; a container replaced ends the walk */
		if (!reopen(p, ctx, key, klen, h.cid, &h) || h.nb <= bound)
			break;
		bound = h.nb;
	}
	s->nb = pos;
	s->nb_start = start;
	s->h = h;
	/* members are looked up under the layout of every bucket walked */
	s->h.nb = pos;
	wc_clayout_of(pos, &s->h.level, &s->h.split);
	return WC_C_OK;
}

int wc_c_snap(const struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
	      const struct wc_chdr *h0, wc_c_alloc_fn alloc, void *actx, struct wc_csnap *s)
{
	struct wc_chdr h = *h0;
	uint32_t nchunks = 0;

	memset(s, 0, sizeof(*s));
	s->h = h;
	if (h.enc == WC_CENC_COMPACT) {
		s->count = h.count;
		s->nb = 1;
		s->max_bucket = (uint32_t)h.count;
		return WC_C_OK;
	}
	for (int attempt = 0; attempt < SNAP_ATTEMPTS; attempt++) {
		struct wc_view v;
		int r = snap_walk(p, ctx, key, klen, h, alloc, actx, s, &nchunks);

		if (r != WC_C_RETRY)
			return r;
		/* replaced or torn down under the walk: start over on what the key holds now */
		if (!wc_get(p, ctx, key, klen, wc_hash(key, klen),
			    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v) ||
		    !wc_c_parse(v.type, v.value, v.vlen, &h) || h.type != h0->type)
			return WC_C_RETRY;	/* the caller looks the key up again */
		if (h.enc == WC_CENC_COMPACT) {
			s->h = h;
			s->count = h.count;
			s->nb = 1;
			s->max_bucket = (uint32_t)h.count;
			return WC_C_OK;
		}
	}
	return WC_C_RETRY;
}

void wc_csnap_bucket(const struct wc_csnap *s, uint32_t b, struct wc_clist *out)
{
	const struct wc_csnap_b *e;

	out->hash = s->h.type == WC_TYPE_HASH;
	if (s->h.enc == WC_CENC_COMPACT) {
		out->p = b == 0 ? s->h.list : NULL;
		out->len = b == 0 ? s->h.list_len : 0;
		out->count = b == 0 ? (uint32_t)s->h.count : 0;
		return;
	}
	e = snap_entry(s, b);
	out->p = e->p;
	out->len = e->p ? e->len : 0;
	out->count = e->count;
}

bool wc_csnap_next(const struct wc_csnap *s, struct wc_csnap_it *it, struct wc_cmember *m)
{
	while (it->b < s->nb) {
		struct wc_clist l;

		wc_csnap_bucket(s, it->b, &l);
		if (l.p && wc_clist_next(&l, &it->pos, m))
			return true;
		it->b++;
		it->pos = 0;
	}
	return false;
}

bool wc_csnap_find(const struct wc_csnap *s, const struct wc_cbytes *name, struct wc_cmember *m)
{
	struct wc_clist l;
	uint32_t b;

	if (s->h.enc == WC_CENC_COMPACT) {
		wc_csnap_bucket(s, 0, &l);
		return list_find(&l, name, m);
	}
	b = wc_cbucket_of(wc_cmember_hash(s->h.seed, name), s->h.level, s->h.split);
	if (b >= s->nb)
		return false;
	wc_csnap_bucket(s, b, &l);
	if (l.p && list_find(&l, name, m))
		return true;
	/* a bucket made during the walk: the member may have been read in an ancestor */
	for (uint32_t x = b; x >= s->nb_start && x > 0;) {
		uint32_t par = wc_cbucket_parent(x);

		if (snap_entry(s, par)->tag <= x) {
			wc_csnap_bucket(s, par, &l);
			if (l.p && list_find(&l, name, m))
				return true;
		}
		x = par;
	}
	return false;
}
