/*
 * container_write.c - the owner's changes to hashes and sets (container.h):
 * one member at a time (compact rewrite, or one bucket plus the header),
 * linear-hashing splits, building a container member by member, deep copy
 * and rename.
 *
 * Every write may make room by evicting or moving other items, and may wait
 * for a grace period: no item pointer is kept across a write. Items are
 * found again by key; a fill callback gets the version it replaces (moved
 * or not) from wc_write_version, and one that copies from another item
 * looks that item up again itself. Losing any part of a container during a
 * change means the container was evicted (its header went with the part,
 * container_gc.c): the change then starts over on the missing key.
 */
#include <sys/random.h>
#include <time.h>

#include "cenc.h"
#include "part.h"
#include "repl.h"

/* ---- randomness for container ids and hash seeds ---- */

static __thread uint64_t rng_state;

static uint64_t rng(void)
{
	if (wc_unlikely(rng_state == 0)) {
		uint64_t s = 0;
		struct timespec ts;

		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
		}
		rng_state = (s ^ (uint64_t)(uintptr_t)&rng_state) | 1;
	}
	return wc_c_rand(&rng_state);
}

static uint64_t new_cid(void)
{
	uint64_t c;

	do
		c = rng();
	while (c == 0);
	return c;
}

/* ---- the node's encoding thresholds (container.h) ---- */

static uint32_t lim_hash_entries = WC_C_COMPACT_MAX;
static uint32_t lim_hash_value = 64;
static uint32_t lim_set_int = 512;

void wc_c_set_limits(const struct wc_climits *l)
{
	__atomic_store_n(&lim_hash_entries, l->hash_entries, __ATOMIC_RELAXED);
	__atomic_store_n(&lim_hash_value, l->hash_value, __ATOMIC_RELAXED);
	__atomic_store_n(&lim_set_int, l->set_int_entries, __ATOMIC_RELAXED);
}

void wc_c_get_limits(struct wc_climits *l)
{
	l->hash_entries = __atomic_load_n(&lim_hash_entries, __ATOMIC_RELAXED);
	l->hash_value = __atomic_load_n(&lim_hash_value, __ATOMIC_RELAXED);
	l->set_int_entries = __atomic_load_n(&lim_set_int, __ATOMIC_RELAXED);
}

bool wc_c_is_int(const uint8_t *p, uint64_t n)
{
	uint64_t v = 0, i = 0;
	bool neg = false;

	if (n == 0 || n > 20)
		return false;
	if (n == 1 && p[0] == '0')
		return true;
	if (p[0] == '-') {
		neg = true;
		i = 1;
	}
	/* the first digit 1-9: no leading zero, no "-0", no sign alone */
	if (i >= n || p[i] < '1' || p[i] > '9')
		return false;
	for (; i < n; i++) {
		unsigned d = (unsigned)p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	return neg ? v <= (uint64_t)INT64_MAX + 1 : v <= (uint64_t)INT64_MAX;
}

/* wc_c_is_int over member bytes that may have to be read by their callback. */
static bool wc_cbytes_is_int(const struct wc_cbytes *b)
{
	uint8_t buf[20];

	if (b->len == 0 || b->len > sizeof(buf))
		return false;
	if (b->p)
		return wc_c_is_int(b->p, b->len);
	b->read(b->src, 0, buf, b->len);
	return wc_c_is_int(buf, b->len);
}

/*
 * May a container with count members, a list of len bytes and this new
 * member stay compact? Hashes also follow the node's hash thresholds.
 */
static bool compact_fits(bool hk, uint64_t count, uint64_t len, const struct wc_cbytes *name,
			 const struct wc_cbytes *val)
{
	uint32_t vmax;

	if (count > WC_C_COMPACT_MAX || len > WC_C_COMPACT_BYTES)
		return false;
	if (!hk)
		return true;
	vmax = __atomic_load_n(&lim_hash_value, __ATOMIC_RELAXED);
	return count <= __atomic_load_n(&lim_hash_entries, __ATOMIC_RELAXED) &&
	       name->len <= vmax && (!val || val->len <= vmax);
}

/* A set's flags after adding a member (count members afterwards). */
static uint8_t set_flags_after_add(uint8_t flags, uint64_t count, const struct wc_cbytes *name)
{
	if (!(flags & WC_CF_INTSET))
		return flags;
	if (count > __atomic_load_n(&lim_set_int, __ATOMIC_RELAXED) ||
	    !wc_cbytes_is_int(name))
		flags &= (uint8_t)~WC_CF_INTSET;
	return flags;
}

/* ---- one item write ---- */

/*
 * A live item found by the owner, and where it is linked: still valid while
 * nothing was unlinked or moved since (p->mutations), no index entry was
 * displaced to make room for another key (index_moves), and no flush is
 * pending.
 */
struct found {
	struct wc_item *it;
	struct wc_slot slot;
	uint64_t seen, moves;
};


struct cput {
	const void *key;
	uint32_t klen;
	uint64_t hash;
	uint8_t type;
	uint64_t vlen;
	wc_kv_fill_fn fill;
	void *arg;
	bool needs_old;		/* rewrite of a live item: WC_NOT_FOUND if it is (or goes) missing */
	bool keep_ttl;		/* keep the replaced version's expiry */
	uint32_t exptime, ms;	/* otherwise */
	const struct found *known;	/* the live version as found before, if still valid */
};

static struct wc_item *find(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			    uint32_t klen, uint64_t hash, struct found *f)
{
	f->it = wc_find_live(p, ctx, hash, key, klen, &f->slot);
	f->seen = p->mutations;
	f->moves = p->st.index_moves;
	return f->it;
}

static bool still(const struct wc_part *p, const struct found *f)
{
	return f && f->it && f->seen == p->mutations && f->moves == p->st.index_moves &&
	       !WC_LOAD(&p->flushing);
}

static enum wc_status cput(struct wc_part *p, struct wc_ctx *ctx, const struct cput *r)
{
	struct wc_version v = { .old_value_at = -1 };
	struct wc_slot s;
	struct wc_item *old;
	uint32_t ms = 0;

	wc_begin_write(p, ctx, wc_item_total(r->klen, r->vlen, WC_LAYOUT_EXT));
	if (still(p, r->known)) {
		old = r->known->it;
		s = r->known->slot;
	} else {
		old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s);
	}
	if (r->needs_old && !old)
		return WC_NOT_FOUND;
	if (r->keep_ttl) {
		if (old)
			wc_kv_expiry(old, &v.exptime, &ms);
	} else {
		v.exptime = r->exptime;
		ms = r->exptime ? r->ms : 0;
	}
	v.ext = wc_ext_make(r->type, ms);
	v.new_len = r->vlen;
	v.fill = r->fill;
	v.copy_arg = r->arg;
	v.needs_old = r->needs_old;
	v.internal = r->type >= WC_TYPE_INTERNAL;
	return wc_write_version(p, ctx, r->hash, r->key, r->klen, old, &s, &v, NULL);
}

static void unlink_key(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
		       enum wc_unlink_why why)
{
	struct wc_slot s;
	uint64_t h = wc_hash(key, klen);
	struct wc_item *it = wc_find_live(p, ctx, h, key, klen, &s);

	if (it)
		wc_unlink(p, ctx, it, &s, h, why);
}

/* fill: n bytes from a buffer */
struct bytes_src {
	const uint8_t *p;
};

static void fill_bytes(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct bytes_src *b = arg;

	(void)old;
	memcpy(dst, b->p, vlen);
}

/*
 * fill: the replaced list with one change: cut bytes at `at` removed, and
 * (insert) one member written there; the value starts with a new 8-byte
 * header (compact: enc + count; bucket: tag + count).
 */
struct splice {
	bool compact, insert, hash;
	uint8_t flags;			/* compact: the header's WC_CF_* */
	uint32_t at, cut;
	uint32_t tag, count;
	const struct wc_cbytes *name, *val;
};

static void fill_splice(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct splice *sp = arg;
	const uint8_t *ol = old ? wc_item_value(old) + WC_CHDR_COMPACT : NULL;
	uint32_t olen = old ? wc_item_vlen(old) - WC_CHDR_COMPACT : 0;
	uint8_t *d = dst + WC_CHDR_COMPACT;

	_Static_assert(WC_CHDR_COMPACT == WC_CBUCKET_HDR, "one splice for both");
	(void)vlen;
	if (sp->compact) {
		wc_chdr_put_compact(dst, sp->count, sp->flags);
	} else {
		wc_st32(dst, sp->tag);
		wc_st32(dst + 4, sp->count);
	}
	if (sp->at) {
		memcpy(d, ol, sp->at);
		d += sp->at;
	}
	if (sp->insert)
		d += wc_centry_put(d, sp->hash, sp->name, sp->val);
	if (olen > sp->at + sp->cut)
		memcpy(d, ol + sp->at + sp->cut, olen - sp->at - sp->cut);
}

/* Where a member sits in a list: its offset and bytes (false: not there). */
static bool list_locate(const struct wc_clist *l, const struct wc_cbytes *name, uint32_t *at,
			uint32_t *len)
{
	struct wc_cmember m;
	uint32_t pos = 0, before = 0;

	while (wc_clist_next(l, &pos, &m)) {
		if (m.nlen == name->len && wc_cbytes_eq(name, m.name, m.nlen)) {
			*at = before;
			*len = pos - before;
			return true;
		}
		before = pos;
	}
	return false;
}

/* ---- splits ---- */

/* fill: the half of a splitting bucket's members that stays or moves */
struct split_src {
	struct wc_part *p;
	uint8_t key[WC_CKEY_BUCKET];	/* the bucket being split */
	uint64_t hash, seed;
	uint8_t level;
	bool hash_kind, moving, lost;
	uint32_t tag, count;
	uint64_t src_vlen;
};

static void fill_split(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	struct split_src *ss = arg;
	const struct wc_item *src = old;
	struct wc_clist l;
	struct wc_cmember m;
	uint32_t pos = 0, before = 0;
	uint8_t *d = dst + WC_CBUCKET_HDR;

	if (!src) {
		/* the new bucket: the source is another item, looked up again */
		struct wc_slot s;

		if (wc_index_find_owner(ss->p, ss->hash, ss->key, WC_CKEY_BUCKET, &s))
			src = wc_loc_item(ss->p, s.b->loc[s.i]);
		if (!src || wc_item_vlen(src) != ss->src_vlen) {
			ss->lost = true;
			memset(dst, 0, vlen);
			return;
		}
	}
	wc_st32(dst, ss->tag);
	wc_st32(dst + 4, ss->count);
	l = (struct wc_clist){ .p = wc_item_value(src) + WC_CBUCKET_HDR,
			       .len = wc_item_vlen(src) - WC_CBUCKET_HDR, .hash = ss->hash_kind };
	while (wc_clist_next(&l, &pos, &m)) {
		uint64_t h = XXH3_64bits_withSeed(m.name, m.nlen, ss->seed);

		if ((((h >> ss->level) & 1) != 0) == ss->moving) {
			memcpy(d, l.p + before, pos - before);
			d += pos - before;
		}
		before = pos;
	}
}

/*
 * Split bucket h->split into itself and bucket nb (= split + 2^level): the
 * new bucket first, then the old one rewritten, both tagged nb + 1; the
 * caller publishes the new layout in the header afterwards. false: not
 * split (no room, or the container went away), nothing a reader sees changed.
 */
static bool split_bucket(struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h)
{
	struct split_src ss = { .p = p, .seed = h->seed, .level = h->level,
				.hash_kind = h->type == WC_TYPE_HASH, .tag = h->nb + 1 };
	uint8_t dkey[WC_CKEY_BUCKET];
	uint32_t moved = 0, moved_n = 0, stay = 0, stay_n = 0, pos = 0, before = 0;
	struct wc_slot s;
	struct wc_item *src;
	struct wc_clist l;
	struct wc_cmember m;
	struct cput r;
	enum wc_status st;

	wc_ckey_bucket(ss.key, h->cid, h->split);
	wc_ckey_bucket(dkey, h->cid, h->nb);
	ss.hash = wc_hash(ss.key, sizeof(ss.key));
	src = wc_find_live(p, ctx, ss.hash, ss.key, sizeof(ss.key), &s);
	if (!src || wc_item_vlen(src) < WC_CBUCKET_HDR)
		return false;
	ss.src_vlen = wc_item_vlen(src);
	l = (struct wc_clist){ .p = wc_item_value(src) + WC_CBUCKET_HDR,
			       .len = (uint32_t)ss.src_vlen - WC_CBUCKET_HDR, .hash = ss.hash_kind };
	while (wc_clist_next(&l, &pos, &m)) {
		uint64_t mh = XXH3_64bits_withSeed(m.name, m.nlen, h->seed);

		if ((mh >> h->level) & 1) {
			moved += pos - before;
			moved_n++;
		} else {
			stay += pos - before;
			stay_n++;
		}
		before = pos;
	}
	ss.moving = true;
	ss.count = moved_n;
	r = (struct cput){ .key = dkey, .klen = sizeof(dkey), .hash = wc_hash(dkey, sizeof(dkey)),
			   .type = WC_TYPE_BUCKET, .vlen = WC_CBUCKET_HDR + moved,
			   .fill = fill_split, .arg = &ss };
	st = cput(p, ctx, &r);
	if (st != WC_OK || ss.lost) {
		if (st == WC_OK)
			unlink_key(p, ctx, dkey, sizeof(dkey), WC_UNLINK_DELETE);
		return false;
	}
	ss.moving = false;
	ss.count = stay_n;
	r = (struct cput){ .key = ss.key, .klen = sizeof(ss.key), .hash = ss.hash,
			   .type = WC_TYPE_BUCKET, .vlen = WC_CBUCKET_HDR + stay,
			   .fill = fill_split, .arg = &ss, .needs_old = true };
	st = cput(p, ctx, &r);
	if (st != WC_OK) {
		/* the old bucket still holds everything under the old tag */
		unlink_key(p, ctx, dkey, sizeof(dkey), WC_UNLINK_DELETE);
		return false;
	}
	return true;
}

/* The layout after one more split. */
static void layout_advance(struct wc_chdr *h)
{
	if (++h->split == (1u << h->level)) {
		h->level++;
		h->split = 0;
	}
	h->nb = wc_clayout_nb(h->level, h->split);
}

/* ---- building a container ---- */

static uint8_t level_for(uint64_t members)
{
	uint8_t level = WC_C_LEVEL_MIN;

	/* start at half the load a split waits for; past 2^17 buckets, splits grow it */
	while (level < 17 && ((uint64_t)1 << level) * (WC_C_LOAD / 2) < members)
		level++;
	return level;
}

static enum wc_status write_anchor(struct wc_part *p, struct wc_ctx *ctx, uint64_t cid,
				   const uint8_t *owner, uint32_t olen, bool needs_old)
{
	uint8_t ak[WC_CKEY_ANCHOR];
	struct bytes_src src = { owner };
	struct cput r = { .key = ak, .klen = sizeof(ak), .type = WC_TYPE_BUCKET, .vlen = olen,
			  .fill = fill_bytes, .arg = &src, .needs_old = needs_old };

	wc_ckey_anchor(ak, cid);
	r.hash = wc_hash(ak, sizeof(ak));
	return cput(p, ctx, &r);
}

/* fill: a new bucket from the builder's compact list, the members that hash to it */
struct seed_src {
	const struct wc_cbuild *b;
	const uint32_t *where;		/* bucket of each member of the list */
	uint32_t bucket, count;
};

static void fill_seed(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct seed_src *ss = arg;
	struct wc_clist l = { .p = ss->b->buf, .len = ss->b->clen, .hash = ss->b->type == WC_TYPE_HASH };
	struct wc_cmember m;
	uint32_t pos = 0, before = 0, i = 0;
	uint8_t *d = dst + WC_CBUCKET_HDR;

	(void)vlen;
	(void)old;
	wc_st32(dst, ss->b->h.nb);
	wc_st32(dst + 4, ss->count);
	while (wc_clist_next(&l, &pos, &m)) {
		if (ss->where[i++] == ss->bucket) {
			memcpy(d, l.p + before, pos - before);
			d += pos - before;
		}
		before = pos;
	}
}

static void cb_fail(struct wc_cbuild *b, enum wc_status st)
{
	if (!b->failed) {
		b->failed = true;
		b->err = st == WC_OK || st == WC_NOT_FOUND ? WC_ERR_NOMEM : st;
	}
	if (b->bucketed && b->p->cbuild_cid == b->h.cid) {
		b->p->cbuild_cid = 0;
		wc_crawl_wake(b->p);	/* what it wrote is orphaned */
	}
}

/* Turn the compact list gathered so far into buckets. */
static void cb_bucketize(struct wc_cbuild *b)
{
	struct wc_part *p = b->p;
	uint64_t want = b->expected > b->count + 1 ? b->expected : b->count + 1;
	uint32_t where[WC_C_COMPACT_MAX + 1];
	struct wc_clist l = { .p = b->buf, .len = b->clen, .hash = b->type == WC_TYPE_HASH };
	struct wc_cmember m;
	enum wc_status st;

	b->h = (struct wc_chdr){ .type = b->type, .enc = WC_CENC_BUCKETS, .level = level_for(want),
				 .cid = new_cid(), .seed = rng() };
	b->h.nb = wc_clayout_nb(b->h.level, 0);
	b->bucketed = true;
	p->cbuild_cid = b->h.cid;
	p->cbuild_lost = false;
	st = write_anchor(p, b->ctx, b->h.cid, b->key, b->klen, false);
	if (st != WC_OK) {
		cb_fail(b, st);
		return;
	}
	for (uint32_t pos = 0, i = 0; wc_clist_next(&l, &pos, &m) && i < WC_C_COMPACT_MAX + 1; i++)
		where[i] = wc_cbucket_of(XXH3_64bits_withSeed(m.name, m.nlen, b->h.seed),
					 b->h.level, b->h.split);
	for (uint32_t bk = 0; bk < b->h.nb; bk++) {
		struct seed_src ss = { .b = b, .where = where, .bucket = bk };
		uint8_t key[WC_CKEY_BUCKET];
		uint32_t pos = 0, before = 0, i = 0, bytes = 0;
		struct cput r;

		while (wc_clist_next(&l, &pos, &m)) {
			if (where[i++] == bk) {
				bytes += pos - before;
				ss.count++;
			}
			before = pos;
		}
		wc_ckey_bucket(key, b->h.cid, bk);
		r = (struct cput){ .key = key, .klen = sizeof(key), .hash = wc_hash(key, sizeof(key)),
				   .type = WC_TYPE_BUCKET, .vlen = WC_CBUCKET_HDR + bytes,
				   .fill = fill_seed, .arg = &ss };
		st = cput(p, b->ctx, &r);
		if (st != WC_OK || p->cbuild_lost) {
			cb_fail(b, st);
			return;
		}
	}
}

void wc_cb_begin(struct wc_cbuild *b, struct wc_part *p, struct wc_ctx *ctx, uint8_t type,
		 const void *key, uint32_t klen, uint64_t expected)
{
	b->p = p;
	b->ctx = ctx;
	b->key = key;
	b->klen = klen;
	b->type = type;
	b->bucketed = false;
	b->failed = false;
	b->err = WC_OK;
	b->expected = expected;
	b->count = 0;
	b->clen = 0;
	b->flags = type == WC_TYPE_SET ? WC_CF_INTSET : 0;
	memset(&b->h, 0, sizeof(b->h));
}

/* Add a member to the bucketed build. */
static void cb_add_bucket(struct wc_cbuild *b, const struct wc_cbytes *name,
			  const struct wc_cbytes *val, bool known_new, bool *added)
{
	struct wc_part *p = b->p;
	bool hk = b->type == WC_TYPE_HASH;
	uint32_t bk = wc_cbucket_of(wc_cmember_hash(b->h.seed, name), b->h.level, b->h.split);
	uint8_t key[WC_CKEY_BUCKET];
	struct wc_slot s;
	struct wc_item *it;
	struct wc_clist l;
	uint32_t at, len;
	enum wc_status st;

	wc_ckey_bucket(key, b->h.cid, bk);
	it = wc_find_live(p, b->ctx, wc_hash(key, sizeof(key)), key, sizeof(key), &s);
	if (!it || p->cbuild_lost) {
		cb_fail(b, WC_ERR_NOMEM);
		return;
	}
	l = (struct wc_clist){ .p = wc_item_value(it) + WC_CBUCKET_HDR,
			       .len = wc_item_vlen(it) - WC_CBUCKET_HDR,
			       .count = wc_ld32(wc_item_value(it) + 4), .hash = hk };
	if (!known_new && list_locate(&l, name, &at, &len))
		return;
	{
		struct splice sp = { .insert = true, .hash = hk, .at = l.len, .tag = b->h.nb,
				     .count = l.count + 1, .name = name, .val = val };
		struct cput r = { .key = key, .klen = sizeof(key), .hash = wc_hash(key, sizeof(key)),
				  .type = WC_TYPE_BUCKET,
				  .vlen = WC_CBUCKET_HDR + l.len +
					  wc_centry_len(hk, name->len, val ? val->len : 0),
				  .fill = fill_splice, .arg = &sp, .needs_old = true };

		st = cput(p, b->ctx, &r);
	}
	if (st != WC_OK || p->cbuild_lost) {
		cb_fail(b, st);
		return;
	}
	*added = true;
	b->count++;
	if (b->count > (uint64_t)WC_C_LOAD * b->h.nb && b->h.level < WC_CLEVEL_MAX - 1) {
		if (split_bucket(p, b->ctx, &b->h))
			layout_advance(&b->h);
		else if (p->cbuild_lost)
			cb_fail(b, WC_ERR_NOMEM);
	}
}

enum wc_status wc_cb_add(struct wc_cbuild *b, const struct wc_cbytes *name,
			 const struct wc_cbytes *val, bool known_new, bool *added)
{
	bool hk = b->type == WC_TYPE_HASH;
	struct wc_cbytes none = { 0 };
	uint64_t elen;

	*added = false;
	if (!val)
		val = &none;
	if (b->failed)
		return b->err;
	if (!b->bucketed) {
		struct wc_clist l = { .p = b->buf, .len = b->clen, .hash = hk };
		uint32_t at, len;

		if (!known_new && list_locate(&l, name, &at, &len))
			return WC_OK;
		elen = wc_centry_len(hk, name->len, val->len);
		if (compact_fits(hk, b->count + 1, b->clen + elen, name, val)) {
			b->clen += (uint32_t)wc_centry_put(b->buf + b->clen, hk, name, val);
			b->count++;
			if (!hk)
				b->flags = set_flags_after_add(b->flags, b->count, name);
			*added = true;
			return WC_OK;
		}
		cb_bucketize(b);
		if (b->failed)
			return b->err;
	}
	cb_add_bucket(b, name, val, known_new, added);
	if (*added && !hk)
		b->flags = set_flags_after_add(b->flags, b->count, name);
	return b->failed ? b->err : WC_OK;
}

void wc_cb_abort(struct wc_cbuild *b)
{
	/* the anchor and buckets written so far are orphans: reclaimed later */
	if (b->bucketed && b->p->cbuild_cid == b->h.cid) {
		b->p->cbuild_cid = 0;
		wc_crawl_wake(b->p);
	}
	b->failed = true;
	if (b->err == WC_OK)
		b->err = WC_ERR_NOMEM;
}

/* fill: a compact container from a list */
struct compact_src {
	const uint8_t *list;
	uint32_t len, count;
	uint8_t flags;
};

static void fill_compact(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct compact_src *cs = arg;

	(void)vlen;
	(void)old;
	wc_chdr_put_compact(dst, cs->count, cs->flags);
	memcpy(dst + WC_CHDR_COMPACT, cs->list, cs->len);
}

static enum wc_status write_header(struct wc_part *p, struct wc_ctx *ctx, const void *key,
				   uint32_t klen, const struct wc_chdr *h, const struct found *known,
				   bool needs_old, bool keep_ttl, uint32_t exptime, uint32_t ms)
{
	uint8_t v[WC_CHDR_BUCKETS];
	struct bytes_src src = { v };
	struct cput r = { .key = key, .klen = klen, .hash = wc_hash(key, klen), .type = h->type,
			  .vlen = sizeof(v), .fill = fill_bytes, .arg = &src,
			  .needs_old = needs_old, .keep_ttl = keep_ttl, .exptime = exptime,
			  .ms = ms, .known = known };

	wc_chdr_put_buckets(v, h);
	return cput(p, ctx, &r);
}

static enum wc_status cb_publish(struct wc_cbuild *b, uint32_t exptime, uint32_t exp_ms)
{
	struct wc_part *p = b->p;
	enum wc_status st;

	if (b->failed) {
		wc_cb_abort(b);
		return b->err;
	}
	if (b->count == 0) {
		unlink_key(p, b->ctx, b->key, b->klen, WC_UNLINK_DELETE);
		return WC_OK;
	}
	if (!b->bucketed) {
		struct compact_src cs = { .list = b->buf, .len = b->clen,
					  .count = (uint32_t)b->count, .flags = b->flags };
		struct cput r = { .key = b->key, .klen = b->klen, .hash = wc_hash(b->key, b->klen),
				  .type = b->type, .vlen = WC_CHDR_COMPACT + b->clen,
				  .fill = fill_compact, .arg = &cs, .exptime = exptime, .ms = exp_ms };

		return cput(p, b->ctx, &r);
	}
	if (p->cbuild_lost) {
		wc_cb_abort(b);
		return WC_ERR_NOMEM;
	}
	b->h.count = b->count;
	b->h.flags = b->flags;
	st = write_header(p, b->ctx, b->key, b->klen, &b->h, NULL, false, false, exptime, exp_ms);
	if (p->cbuild_cid == b->h.cid)
		p->cbuild_cid = 0;
	if (st != WC_OK)
		wc_crawl_wake(p);	/* the buckets written are orphans */
	if (st == WC_OK && p->cbuild_lost)
		unlink_key(p, b->ctx, b->key, b->klen, WC_UNLINK_EVICT);	/* lost while published */
	return st;
}

enum wc_status wc_cb_publish(struct wc_cbuild *b, uint32_t exptime, uint32_t exp_ms)
{
	b->ctx->st.ops[WC_OP_SET]++;	/* the whole container: one store operation */
	return cb_publish(b, exptime, exp_ms);
}

/* ---- one member ---- */

struct upd {
	struct wc_part *p;
	struct wc_ctx *ctx;
	const void *key;
	uint32_t klen;
	uint64_t hash;
	uint8_t type;
	bool hk;
	enum wc_cop op;
	const struct wc_cbytes *name, *val;
	struct wc_cupd *res;
};

static enum wc_status create(const struct upd *u)
{
	uint64_t elen = wc_centry_len(u->hk, u->name->len, u->val->len);
	struct wc_cbuild cb, *b = &cb;
	enum wc_status st;
	bool added;

	u->res->outcome = WC_COUT_ADDED;
	u->res->count = 1;
	if (compact_fits(u->hk, 1, elen, u->name, u->val)) {
		struct splice sp = { .compact = true, .insert = true, .hash = u->hk, .count = 1,
				     .name = u->name, .val = u->val,
				     .flags = u->hk ? 0 : set_flags_after_add(WC_CF_INTSET, 1,
									      u->name) };
		struct cput r = { .key = u->key, .klen = u->klen, .hash = u->hash, .type = u->type,
				  .vlen = WC_CHDR_COMPACT + elen, .fill = fill_splice, .arg = &sp };

		return cput(u->p, u->ctx, &r);
	}
	/* one member too large for a compact container (or past the hash thresholds) */
	wc_cb_begin(b, u->p, u->ctx, u->type, u->key, u->klen, 1);
	st = wc_cb_add(b, u->name, u->val, true, &added);
	if (st != WC_OK) {
		wc_cb_abort(b);
		return st;
	}
	return cb_publish(b, 0, 0);
}

/* The compact list with one change, or the conversion to buckets when it outgrows compact. */
static enum wc_status update_compact(const struct upd *u, const struct wc_chdr *h,
				     const struct found *hf, uint32_t exptime, uint32_t ms)
{
	struct wc_clist l = { .p = h->list, .len = h->list_len, .count = (uint32_t)h->count,
			      .hash = u->hk };
	uint32_t at = 0, cut = 0;
	bool found = list_locate(&l, u->name, &at, &cut);
	uint64_t count = h->count, newlen;
	struct splice sp = { .compact = true, .hash = u->hk, .name = u->name, .val = u->val,
			     .flags = h->flags };
	struct cput r = { .key = u->key, .klen = u->klen, .hash = u->hash, .type = u->type,
			  .fill = fill_splice, .arg = &sp, .needs_old = true, .keep_ttl = true,
			  .known = hf };

	if ((u->op == WC_COP_DEL && !found) || (u->op == WC_COP_SETNX && found)) {
		u->res->count = count;
		return WC_OK;
	}
	if (u->op == WC_COP_DEL) {
		u->res->outcome = WC_COUT_DELETED;
		u->res->count = --count;
		if (count == 0) {
			unlink_key(u->p, u->ctx, u->key, u->klen, WC_UNLINK_DELETE);
			u->res->key_removed = true;
			return WC_OK;
		}
		sp.at = at;
		sp.cut = cut;
		sp.count = (uint32_t)count;
		r.vlen = WC_CHDR_COMPACT + l.len - cut;
		return cput(u->p, u->ctx, &r);
	}
	u->res->outcome = found ? WC_COUT_UPDATED : WC_COUT_ADDED;
	count += !found;
	u->res->count = count;
	newlen = l.len - cut + wc_centry_len(u->hk, u->name->len, u->val->len);
	if (!u->hk && !found)
		sp.flags = set_flags_after_add(h->flags, count, u->name);
	if (compact_fits(u->hk, count, newlen, u->name, u->val)) {
		sp.insert = true;
		sp.at = found ? at : l.len;
		sp.cut = cut;
		sp.count = (uint32_t)count;
		r.vlen = WC_CHDR_COMPACT + newlen;
		return cput(u->p, u->ctx, &r);
	}
	{
		/* outgrown: the same members (the changed one new) in buckets, TTL kept */
		struct wc_cbuild cb, *b = &cb;
		enum wc_status st;
		bool added;

		wc_cb_begin(b, u->p, u->ctx, u->type, u->key, u->klen, count);
		b->flags = h->flags;
		memcpy(b->buf, l.p, at);
		memcpy(b->buf + at, l.p + at + cut, l.len - at - cut);
		b->clen = l.len - cut;
		b->count = count - 1;
		st = wc_cb_add(b, u->name, u->val, true, &added);
		if (st != WC_OK) {
			wc_cb_abort(b);
			return st;
		}
		return cb_publish(b, exptime, ms);
	}
}

/* One bucket rewritten, maybe one split, then the header. */
static enum wc_status update_buckets(const struct upd *u, struct wc_chdr h,
				     const struct found *hf)
{
	uint32_t bk = wc_cbucket_of(wc_cmember_hash(h.seed, u->name), h.level, h.split);
	uint8_t key[WC_CKEY_BUCKET];
	uint64_t bh;
	struct found bf;
	struct wc_item *it;
	struct wc_clist l;
	uint32_t at = 0, cut = 0;
	bool found;
	uint64_t count = h.count;
	enum wc_status st;

	wc_ckey_bucket(key, h.cid, bk);
	bh = wc_hash(key, sizeof(key));
	it = find(u->p, u->ctx, key, sizeof(key), bh, &bf);
	if (!it || wc_item_vlen(it) < WC_CBUCKET_HDR) {
		/* a part went missing: the container is gone as a whole */
		unlink_key(u->p, u->ctx, u->key, u->klen, WC_UNLINK_EVICT);
		return WC_NOT_FOUND;
	}
	l = (struct wc_clist){ .p = wc_item_value(it) + WC_CBUCKET_HDR,
			       .len = wc_item_vlen(it) - WC_CBUCKET_HDR,
			       .count = wc_ld32(wc_item_value(it) + 4), .hash = u->hk };
	found = list_locate(&l, u->name, &at, &cut);
	if ((u->op == WC_COP_DEL && !found) || (u->op == WC_COP_SETNX && found)) {
		u->res->count = count;
		return WC_OK;
	}
	{
		bool del = u->op == WC_COP_DEL;
		struct splice sp = { .insert = !del, .hash = u->hk, .at = found ? at : l.len,
				     .cut = cut, .tag = h.nb,
				     .count = l.count + (del ? -1u : !found), .name = u->name,
				     .val = u->val };
		struct cput r = { .key = key, .klen = sizeof(key), .hash = bh,
				  .type = WC_TYPE_BUCKET, .fill = fill_splice, .arg = &sp,
				  .needs_old = true, .known = &bf };

		r.vlen = WC_CBUCKET_HDR + l.len - cut +
			 (del ? 0 : wc_centry_len(u->hk, u->name->len, u->val->len));
		st = cput(u->p, u->ctx, &r);
		if (st != WC_OK)
			return st;	/* WC_NOT_FOUND: evicted meanwhile, the caller starts over */
		u->res->outcome = del ? WC_COUT_DELETED : found ? WC_COUT_UPDATED : WC_COUT_ADDED;
		count = del ? count - 1 : count + !found;
		u->res->count = count;
		if (!u->hk && !del && !found)
			h.flags = set_flags_after_add(h.flags, count, u->name);
	}
	/* the header: still ours? (making room may have evicted or moved the container) */
	if (!still(u->p, hf)) {
		struct wc_chdr now;
		struct found again;

		it = find(u->p, u->ctx, u->key, u->klen, u->hash, &again);
		if (!it || !wc_c_parse(wc_item_type(it), wc_item_value(it), wc_item_vlen(it), &now) ||
		    now.enc != WC_CENC_BUCKETS || now.cid != h.cid) {
			u->res->evicted = true;
			return WC_OK;
		}
		hf = NULL;
	}
	if (count == 0) {
		unlink_key(u->p, u->ctx, u->key, u->klen, WC_UNLINK_DELETE);
		u->res->key_removed = true;
		return WC_OK;
	}
	h.count = count;
	if (count > (uint64_t)WC_C_LOAD * h.nb && h.level < WC_CLEVEL_MAX - 1 &&
	    split_bucket(u->p, u->ctx, &h))
		layout_advance(&h);
	st = write_header(u->p, u->ctx, u->key, u->klen, &h, hf, true, true, 0, 0);
	if (st == WC_NOT_FOUND) {
		u->res->evicted = true;
		return WC_OK;
	}
	if (st != WC_OK) {
		/* the bucket changed but its count could not follow: drop the container */
		unlink_key(u->p, u->ctx, u->key, u->klen, WC_UNLINK_EVICT);
		u->res->evicted = true;
	}
	return st;
}

static enum wc_status update(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			     uint32_t klen, uint64_t hash, uint8_t type, enum wc_cop op,
			     const struct wc_cbytes *name, const struct wc_cbytes *val,
			     struct wc_cupd *res)
{
	struct wc_cbytes none = { 0 };
	struct upd u = { .p = p, .ctx = ctx, .key = key, .klen = klen, .hash = hash, .type = type,
			 .hk = type == WC_TYPE_HASH, .op = op, .name = name,
			 .val = val && type == WC_TYPE_HASH ? val : &none, .res = res };

	memset(res, 0, sizeof(*res));
	if (type == WC_TYPE_SET && op == WC_COP_SET)
		u.op = WC_COP_SETNX;	/* a set member has nothing to update */
	if (klen < 1 || klen > WC_KEY_MAX)
		return WC_ERR_KEY;
	if (name->len > p->cfg.max_value || u.val->len > p->cfg.max_value ||
	    wc_centry_len(u.hk, name->len, u.val->len) + WC_CBUCKET_HDR + 64 > p->max_item)
		return WC_ERR_TOO_LARGE;
	wc_begin_write(p, ctx, 0);
	for (int attempt = 0; attempt < 3; attempt++) {
		struct found hf;
		struct wc_item *it = find(p, ctx, key, klen, hash, &hf);
		struct wc_chdr h;
		uint32_t exptime, ms;
		enum wc_status st;

		memset(res, 0, sizeof(*res));
		if (!it) {
			if (op == WC_COP_DEL)
				return WC_OK;
			return create(&u);
		}
		if (wc_item_type(it) != type ||
		    !wc_c_parse(type, wc_item_value(it), wc_item_vlen(it), &h))
			return WC_ERR_ARG;
		wc_kv_expiry(it, &exptime, &ms);
		st = h.enc == WC_CENC_COMPACT ? update_compact(&u, &h, &hf, exptime, ms)
					      : update_buckets(&u, h, &hf);
		if (st != WC_NOT_FOUND)
			return st;
	}
	return WC_ERR_NOMEM;
}

enum wc_status wc_c_update(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			   uint64_t hash, uint8_t type, enum wc_cop op, const struct wc_cbytes *name,
			   const struct wc_cbytes *val, struct wc_cupd *res)
{
	enum wc_status st;
	bool hk = type == WC_TYPE_HASH;

	/*
	 * one store operation per member change (refusals too), as wc_kv_put
	 * counts a string's SET and wc_kv_delete its DELETE: the lcore's
	 * operation count drives its latency samples and core cost per operation;
	 * the header, bucket and anchor versions written for it are no operations
	 */
	ctx->st.ops[op == WC_COP_DEL ? WC_OP_DELETE : WC_OP_SET]++;
	if (!WC_REPL_ON(p))
		return update(p, ctx, key, klen, hash, type, op, name, val, res);
	/*
	 * Replication: the member's change is the effect (HSET, HDEL, SADD,
	 * SREM), not the header and bucket versions written for it; removals
	 * of keys on the way (the emptied container, evictions) log themselves.
	 */
	p->repl_mute++;
	p->repl_mkey = key;
	p->repl_mklen = klen;
	p->repl_mlost = false;
	st = update(p, ctx, key, klen, hash, type, op, name, val, res);
	p->repl_mute--;
	if (p->repl_mlost) {
		/*
		 * The container was evicted on the way, yet the change wrote it
		 * anew (a conversion to buckets republishes every member): after
		 * its DEL, the member alone would not say that. Log it whole.
		 */
		struct wc_item *it = wc_kv_find(p, ctx, key, klen, hash);

		if (it && wc_item_type(it) == type)
			wc_repl_note_version(p, ctx, it);
		return st;
	}
	if (st != WC_OK || res->evicted || res->key_removed)
		return st;	/* (nothing changed, or the key's DEL is logged) */
	if (res->outcome == WC_COUT_ADDED || res->outcome == WC_COUT_UPDATED)
		wc_repl_note_member(p, hk ? WC_ROP_HSET : WC_ROP_SADD, key, klen, name,
				    hk ? val : NULL);
	else if (res->outcome == WC_COUT_DELETED)
		wc_repl_note_member(p, hk ? WC_ROP_HDEL : WC_ROP_SREM, key, klen, name, NULL);
	return st;
}

/* ---- whole containers ---- */

bool wc_c_item_bucketed(const struct wc_item *it)
{
	uint8_t t = wc_item_type(it);

	return (t == WC_TYPE_HASH || t == WC_TYPE_SET) && wc_item_vlen(it) == WC_CHDR_BUCKETS &&
	       wc_item_value(it)[0] == WC_CENC_BUCKETS;
}

/* fill: a copy of another item's value, looked up again (it may have moved) */
struct item_src {
	struct wc_part *p;
	const uint8_t *key;
	uint32_t klen;
	uint64_t hash, vlen;
	bool lost;
};

static void fill_item(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	struct item_src *is = arg;
	struct wc_slot s;
	const struct wc_item *it;

	(void)old;
	if (!wc_index_find_owner(is->p, is->hash, is->key, is->klen, &s) ||
	    wc_item_vlen(it = wc_loc_item(is->p, s.b->loc[s.i])) != vlen) {
		is->lost = true;
		memset(dst, 0, vlen);
		return;
	}
	memcpy(dst, wc_item_value(it), vlen);
}

/* The bucketed header at key, if it is still container cid. */
static bool header_of(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
		      uint64_t cid, struct wc_chdr *h)
{
	struct wc_item *it = wc_kv_find(p, ctx, key, klen, wc_hash(key, klen));

	return it && wc_c_parse(wc_item_type(it), wc_item_value(it), wc_item_vlen(it), h) &&
	       h->enc == WC_CENC_BUCKETS && (cid == 0 || h->cid == cid);
}

enum wc_status wc_c_copy(struct wc_part *p, struct wc_ctx *ctx, const void *src, uint32_t slen,
			 const void *dst, uint32_t dlen)
{
	struct wc_item *it = wc_kv_find(p, ctx, src, slen, wc_hash(src, slen));
	struct wc_chdr h, n;
	uint32_t exptime, ms;
	enum wc_status st;

	if (!it)
		return WC_NOT_FOUND;
	if (!wc_c_item_bucketed(it))
		return wc_kv_copy(p, ctx, src, slen, dst, dlen);	/* (its put counts) */
	ctx->st.ops[WC_OP_SET]++;	/* as wc_kv_copy's put counts a plain key's copy */
	wc_c_parse(wc_item_type(it), wc_item_value(it), wc_item_vlen(it), &h);
	wc_kv_expiry(it, &exptime, &ms);
	n = h;
	n.cid = new_cid();
	p->cbuild_cid = n.cid;
	p->cbuild_lost = false;
	st = write_anchor(p, ctx, n.cid, dst, dlen, false);
	for (uint32_t b = 0; st == WC_OK && b < h.nb; b++) {
		uint8_t sk[WC_CKEY_BUCKET], dk[WC_CKEY_BUCKET];
		struct item_src is = { .p = p, .key = sk, .klen = sizeof(sk) };
		struct wc_slot s;
		struct wc_item *bi;
		struct cput r;

		wc_ckey_bucket(sk, h.cid, b);
		wc_ckey_bucket(dk, n.cid, b);
		is.hash = wc_hash(sk, sizeof(sk));
		bi = wc_find_live(p, ctx, is.hash, sk, sizeof(sk), &s);
		if (!bi) {
			st = WC_NOT_FOUND;
			break;
		}
		is.vlen = wc_item_vlen(bi);
		r = (struct cput){ .key = dk, .klen = sizeof(dk), .hash = wc_hash(dk, sizeof(dk)),
				   .type = WC_TYPE_BUCKET, .vlen = is.vlen, .fill = fill_item,
				   .arg = &is };
		st = cput(p, ctx, &r);
		if (st == WC_OK && (is.lost || p->cbuild_lost))
			st = is.lost ? WC_NOT_FOUND : WC_ERR_NOMEM;
	}
	/* the source must have stayed whole while it was copied */
	if (st == WC_OK && !header_of(p, ctx, src, slen, h.cid, &h))
		st = WC_NOT_FOUND;
	if (st == WC_OK && p->cbuild_lost)
		st = WC_ERR_NOMEM;
	if (st == WC_OK)
		st = write_header(p, ctx, dst, dlen, &n, NULL, false, false, exptime, ms);
	p->cbuild_cid = 0;	/* on failure, what was written is orphaned */
	if (st != WC_OK)
		wc_crawl_wake(p);
	return st;
}

enum wc_status wc_c_rename(struct wc_part *p, struct wc_ctx *ctx, const void *src,
			   uint32_t slen, const void *dst, uint32_t dlen)
{
	struct wc_item *it = wc_kv_find(p, ctx, src, slen, wc_hash(src, slen));
	struct wc_chdr h;
	enum wc_status st;

	if (!it)
		return WC_NOT_FOUND;
	if (!wc_c_item_bucketed(it)) {
		st = wc_kv_copy(p, ctx, src, slen, dst, dlen);
		if (st == WC_OK)
			wc_kv_delete(p, ctx, src, slen, wc_hash(src, slen));
		return st;
	}
	wc_c_parse(wc_item_type(it), wc_item_value(it), wc_item_vlen(it), &h);
	/* the header moves (same cid), then the anchor names the new key, then the old key goes */
	st = wc_kv_copy(p, ctx, src, slen, dst, dlen);
	if (st != WC_OK)
		return st;
	st = write_anchor(p, ctx, h.cid, dst, dlen, true);
	if (st != WC_OK) {
		wc_kv_delete(p, ctx, dst, dlen, wc_hash(dst, dlen));
		return st == WC_NOT_FOUND ? WC_NOT_FOUND : st;
	}
	wc_kv_delete(p, ctx, src, slen, wc_hash(src, slen));
	return WC_OK;
}
