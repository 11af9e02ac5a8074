/*
 * rdcont.c - helpers shared by the hash and set commands (see rdcont.h).
 */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>

#include "core/app.h"
#include "redis/glob.h"
#include "redis/rdcont.h"
#include "redis/rdutil.h"

#define CREAD_TRIES 4			/* body runs per entry, before passing a quiescent state */
#define CREAD_ENTRIES 100000u		/* entries before giving up on a container that never settles */
#define REFS_CHUNK 2048u		/* members per scratch chunk (48 KiB) */
#define SCAN_BUCKETS_MAX 2048u		/* buckets one HSCAN/SSCAN call may read */
#define PICKS_MAX 1024			/* distinct random members picked one by one (else a walk) */
#define PICK_TABLE 2048u

enum rd_res rd_cread(struct rd_session *s, rd_cread_fn body)
{
	for (int i = 0; i < CREAD_TRIES; i++)
		if (body(s) == RD_R_DONE)
			return RD_DONE;
	/* s->step counts the entries (read commands make no owner calls) */
	if (++s->step >= CREAD_ENTRIES) {
		rd_err(s, "ERR the key kept changing under the read, try again");
		return RD_DONE;
	}
	return RD_BUSY;
}

int rd_copen(struct rd_session *s, uint32_t karg, uint8_t type, unsigned lflags,
	     struct rd_cview *cv)
{
	const struct resp_arg *k = rd_arg(s, karg);
	struct rd_route rt;
	struct wc_view v;

	if (k->kind != RESP_ARG_PTR || !rd_lookup(s, k->u.p, k->len, &v, lflags))
		return RD_CO_MISSING;
	if (v.type != type)
		return RD_CO_WRONGTYPE;
	if (!wc_c_parse(v.type, v.value, v.vlen, &cv->h))
		return RD_CO_MISSING;
	rd_route_key(s, k->u.p, k->len, &rt);
	cv->part = rt.part;
	cv->key = k->u.p;
	cv->klen = k->len;
	return RD_CO_FOUND;
}

static void *scratch_alloc(void *actx, uint64_t n)
{
	return rd_scratch(actx, n);
}

int rd_csnap(struct rd_session *s, const struct rd_cview *cv, struct wc_csnap *snap)
{
	return wc_c_snap(cv->part, rd_env(s)->ctx, cv->key, cv->klen, &cv->h, scratch_alloc, s,
			 snap);
}

void rd_err_scratch(struct rd_session *s)
{
	rd_err(s, "ERR out of memory for the reply (the lcore's request memory, --upload-buffer)");
}

static void argsrc_read(const void *src, uint64_t off, void *dst, uint64_t n)
{
	const struct rd_argsrc *as = src;

	resp_arg_read(as->a, as->s->in, off, dst, n);
}

void rd_arg_bytes(const struct rd_session *s, uint32_t i, struct rd_argsrc *src,
		  struct wc_cbytes *out)
{
	const struct resp_arg *a = rd_arg(s, i);

	*src = (struct rd_argsrc){ .s = s, .a = a };
	*out = (struct wc_cbytes){ .len = a->len };
	if (a->kind == RESP_ARG_PTR) {
		out->p = a->u.p;
	} else {
		out->read = argsrc_read;
		out->src = src;
	}
}

struct wc_item *rd_cfind(const struct rd_owner *o, const uint8_t *key, uint32_t klen,
			 uint8_t type, bool *wrong)
{
	struct wc_item *it = wc_kv_find(o->part, o->ctx, key, klen, wc_hash(key, klen));

	*wrong = it && wc_item_type(it) != type;
	return *wrong ? NULL : it;
}

bool rd_ckeys_ok(struct rd_session *s, uint32_t first, uint32_t last)
{
	for (uint32_t i = first; i <= last && i < rd_argc(s); i++) {
		const struct resp_arg *k = rd_arg(s, i);

		if (k->kind != RESP_ARG_PTR || k->len == 0 || k->len > WC_KEY_MAX) {
			rd_reply_store_error(rd_out(s), WC_ERR_KEY);
			s->failed = true;
			return false;
		}
	}
	return true;
}

bool rd_cmembers_ok(struct rd_session *s, uint32_t last_key, uint32_t from)
{
	struct rd_route rt;
	uint32_t max;

	if (!rd_ckeys_ok(s, 1, last_key))
		return false;
	rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &rt);
	max = wc_part_config(rt.part)->max_value;
	for (uint32_t i = from; i < rd_argc(s); i++) {
		if (rd_arg(s, i)->len > max) {
			rd_reply_store_error(rd_out(s), WC_ERR_TOO_LARGE);
			s->failed = true;
			return false;
		}
	}
	return true;
}

int rd_ccard(struct rd_session *s, uint8_t type)
{
	struct rd_cview cv;
	int r = rd_copen(s, 1, type, 0, &cv);

	if (r == RD_CO_WRONGTYPE)
		rd_err_wrongtype(s);
	else
		resp_int(rd_out(s), r == RD_CO_MISSING ? 0 : (int64_t)cv.h.count);
	return RD_R_DONE;
}

int rd_cmember_int(struct rd_session *s, uint8_t type, bool vlen)
{
	struct rd_cview cv;
	struct rd_argsrc as;
	struct wc_cbytes mb;
	struct wc_cmember m;
	int r = rd_copen(s, 1, type, 0, &cv);

	if (r == RD_CO_MISSING) {
		resp_int(rd_out(s), 0);
		return RD_R_DONE;
	}
	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	rd_arg_bytes(s, 2, &as, &mb);
	r = wc_c_find(cv.part, rd_env(s)->ctx, &cv.h, &mb, &m);
	if (r == WC_C_RETRY)
		return RD_R_RETRY;
	resp_int(rd_out(s), r != WC_C_OK ? 0 : vlen ? (int64_t)m.vlen : 1);
	return RD_R_DONE;
}

bool rd_ccount_arg(struct rd_session *s, uint32_t i, int64_t *count)
{
	if (!rd_arg_ll(s, i, count)) {
		rd_err_int(s);
		return false;
	}
	if (*count == INT64_MIN) {
		rd_err(s, "ERR value is out of range, value must between -9223372036854775807 and "
			  "9223372036854775807");
		return false;
	}
	return true;
}

enum rd_res rd_cwrite(struct rd_session *s, uint32_t karg, rd_owner_fn fn)
{
	const struct resp_arg *k = rd_arg(s, karg);
	struct rd_route rt;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	if (!rd_ckeys_ok(s, karg, karg))
		return RD_DONE;
	rd_route_key(s, k->u.p, k->len, &rt);
	r = rd_call(s, &rt, fn, true, 0, k->u.p, k->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

void rd_creply_error(struct mc_out *o, enum wc_status st)
{
	if (st == WC_ERR_ARG)
		resp_error(o, RD_WRONGTYPE);
	else
		rd_reply_store_error(o, st);
}

uint64_t rd_crand(void)
{
	static __thread uint64_t state;

	if (!state)
		state = rte_rdtsc() ^ ((uint64_t)(uintptr_t)&state << 16) ^ 0x9E3779B97F4A7C15ull;
	return wc_c_rand(&state);
}

bool rd_parse_cursor(const struct resp_arg *a, uint64_t *cursor)
{
	uint64_t v = 0;

	if (a->kind != RESP_ARG_PTR || a->len == 0 || a->len > 20)
		return false;
	for (uint32_t i = 0; i < a->len; i++) {
		unsigned d = (unsigned)a->u.p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*cursor = v;
	return true;
}

/* ---- lists of members in scratch ---- */

bool rd_refs_add(struct rd_session *s, struct rd_refs *r, const struct wc_cmember *m)
{
	if (r->n / REFS_CHUNK >= r->nchunks) {
		if (r->nchunks % 512 == 0) {
			struct wc_cmember **grown = rd_scratch(s, (r->nchunks + 512) * sizeof(*grown));

			if (!grown)
				return false;
			if (r->nchunks)
				memcpy(grown, r->chunks, r->nchunks * sizeof(*grown));
			r->chunks = grown;
		}
		if (!(r->chunks[r->nchunks] = rd_scratch(s, REFS_CHUNK * sizeof(struct wc_cmember))))
			return false;
		r->nchunks++;
	}
	r->chunks[r->n / REFS_CHUNK][r->n % REFS_CHUNK] = *m;
	r->n++;
	return true;
}

const struct wc_cmember *rd_refs_at(const struct rd_refs *r, uint32_t i)
{
	return &r->chunks[i / REFS_CHUNK][i % REFS_CHUNK];
}

/* ---- HSCAN, SSCAN ---- */

static void reply_scan_head(struct mc_out *o, uint64_t cursor, int64_t n)
{
	char num[24];

	resp_array(o, 2);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)cursor);
	resp_bulk_str(o, num);
	resp_array(o, n);
}

/* Emit (or count, o == NULL) the members of lists that match. */
static int64_t scan_emit(struct mc_out *o, const struct wc_clist *lists, uint32_t n,
			 const uint8_t *pat, uint32_t plen)
{
	int64_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct wc_cmember m;
		uint32_t pos = 0;

		while (wc_clist_next(&lists[i], &pos, &m)) {
			if (pat && !rd_glob_match(pat, plen, m.name, m.nlen, false))
				continue;
			k += lists[i].hash ? 2 : 1;
			if (!o)
				continue;
			resp_bulk(o, m.name, m.nlen);
			if (lists[i].hash)
				resp_bulk(o, m.val, m.vlen);
		}
	}
	return k;
}

int rd_cscan(struct rd_session *s, uint8_t type)
{
	struct mc_out *o = rd_out(s);
	const uint8_t *pat = NULL;
	uint32_t plen = 0, nl = 0, b, bound;
	uint64_t cursor, count = 10, seen = 0;
	struct wc_clist *lists, one;
	struct rd_cview cv;
	int r;

	if (!rd_parse_cursor(rd_arg(s, 2), &cursor)) {
		rd_err(s, "ERR invalid cursor");
		return RD_R_DONE;
	}
	r = rd_copen(s, 1, type, 0, &cv);
	if (r == RD_CO_MISSING) {
		reply_scan_head(o, 0, 0);
		return RD_R_DONE;
	}
	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	for (uint32_t i = 3; i < rd_argc(s); i++) {
		if (rd_arg_is(s, i, "count") && i + 1 < rd_argc(s)) {
			int64_t v;

			if (!rd_arg_ll(s, i + 1, &v)) {
				rd_err_int(s);
				return RD_R_DONE;
			}
			if (v < 1) {
				rd_err_syntax(s);
				return RD_R_DONE;
			}
			count = (uint64_t)v;
			i++;
		} else if (rd_arg_is(s, i, "match") && i + 1 < rd_argc(s)) {
			pat = rd_argp(s, i + 1);
			plen = rd_arg(s, i + 1)->len;
			if (!pat || (plen == 1 && pat[0] == '*'))
				pat = NULL;
			i++;
		} else {
			rd_err_syntax(s);
			return RD_R_DONE;
		}
	}
	if (cv.h.enc == WC_CENC_COMPACT) {
		/* small: everything at once, and the scan is over (as Redis does for listpacks) */
		wc_c_bucket(cv.part, rd_env(s)->ctx, &cv.h, 0, false, &one);
		reply_scan_head(o, 0, scan_emit(NULL, &one, 1, pat, plen));
		scan_emit(o, &one, 1, pat, plen);
		return RD_R_DONE;
	}
	/*
	 * The cursor is a bucket number. Members only move to higher buckets,
	 * so walking on to the last bucket (following splits the header does
	 * not show yet, by the buckets' tags) meets every member that stays.
	 */
	bound = cv.h.nb;
	if (cursor >= bound) {
		uint32_t tag;

		if (cursor > UINT32_MAX ||
		    wc_c_bucket_any(cv.part, rd_env(s)->ctx, &cv.h, (uint32_t)cursor, &one, &tag) !=
			    WC_C_OK) {
			reply_scan_head(o, 0, 0);
			return RD_R_DONE;
		}
		bound = (uint32_t)cursor + 1;
	}
	lists = rd_scratch(s, SCAN_BUCKETS_MAX * sizeof(*lists));
	if (!lists) {
		rd_err_scratch(s);
		return RD_R_DONE;
	}
	for (b = (uint32_t)cursor; b < bound && nl < SCAN_BUCKETS_MAX && seen < count; b++) {
		uint32_t tag;

		if (wc_c_bucket_any(cv.part, rd_env(s)->ctx, &cv.h, b, &lists[nl], &tag) != WC_C_OK)
			return RD_R_RETRY;	/* the container is going away: look again */
		if (tag > bound)
			bound = tag;
		seen += lists[nl++].count;
	}
	reply_scan_head(o, b >= bound ? 0 : b, scan_emit(NULL, lists, nl, pat, plen));
	scan_emit(o, lists, nl, pat, plen);
	return RD_R_DONE;
}

/* ---- HRANDFIELD, SRANDMEMBER ---- */

static void reply_picks_head(struct mc_out *o, uint8_t proto, int64_t n, bool withvalues)
{
	resp_array(o, withvalues && proto < 3 ? 2 * n : n);
}

/* Distinct random members one by one, for a few out of many: false to retry. */
static int picks_distinct(struct rd_session *s, const struct rd_cview *cv, int64_t count,
			  bool withvalues)
{
	struct wc_cmember *tab = rd_scratch(s, PICK_TABLE * sizeof(*tab)), m;
	uint64_t rs = rd_crand();
	int64_t got = 0;

	if (!tab) {
		rd_err_scratch(s);
		return RD_R_DONE;
	}
	memset(tab, 0, PICK_TABLE * sizeof(*tab));
	for (int64_t tries = 0; got < count; tries++) {
		uint32_t slot;

		if (tries > 64 * count ||
		    wc_c_random(cv->part, rd_env(s)->ctx, &cv->h, &rs, &m) != WC_C_OK)
			return RD_R_RETRY;
		slot = (uint32_t)wc_hash(m.name, m.nlen) & (PICK_TABLE - 1);
		while (tab[slot].name && !(tab[slot].nlen == m.nlen &&
					   memcmp(tab[slot].name, m.name, m.nlen) == 0))
			slot = (slot + 1) & (PICK_TABLE - 1);
		if (tab[slot].name)
			continue;
		tab[slot] = m;
		got++;
	}
	reply_picks_head(rd_out(s), s->proto, count, withvalues);
	for (uint32_t i = 0; i < PICK_TABLE; i++)
		if (tab[i].name)
			rd_reply_member(rd_out(s), s->proto, &tab[i], withvalues);
	return RD_R_DONE;
}

int rd_crandom(struct rd_session *s, uint8_t type, bool has_count, int64_t count,
	       bool withvalues)
{
	struct mc_out *o = rd_out(s);
	struct wc_ctx *ctx = rd_env(s)->ctx;
	struct rd_cview cv;
	struct wc_cmember first, m;
	struct wc_csnap snap;
	struct wc_csnap_it it = { 0 };
	uint64_t rs = rd_crand(), left, want;
	int r = rd_copen(s, 1, type, 0, &cv);

	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	if (!has_count) {
		if (r == RD_CO_MISSING) {
			resp_null(o, s->proto);
			return RD_R_DONE;
		}
		if (wc_c_random(cv.part, ctx, &cv.h, &rs, &m) != WC_C_OK)
			return RD_R_RETRY;
		resp_bulk(o, m.name, m.nlen);
		return RD_R_DONE;
	}
	if (r == RD_CO_MISSING || count == 0) {
		resp_array(o, 0);
		return RD_R_DONE;
	}
	if (count < 0 || count == 1) {
		/* with repetitions: n picks, each from the whole container */
		uint64_t n = count < 0 ? (uint64_t)0 - (uint64_t)count : 1;

		if (wc_c_random(cv.part, ctx, &cv.h, &rs, &first) != WC_C_OK)
			return RD_R_RETRY;
		reply_picks_head(o, s->proto, (int64_t)n, withvalues);
		rd_reply_member(o, s->proto, &first, withvalues);
		for (uint64_t i = 1; i < n && !o->failed; i++) {
			/* (a container dying under us: what it held is still a fair answer) */
			if (wc_c_random(cv.part, ctx, &cv.h, &rs, &m) != WC_C_OK)
				m = first;
			rd_reply_member(o, s->proto, &m, withvalues);
		}
		return RD_R_DONE;
	}
	if (cv.h.enc == WC_CENC_BUCKETS && count <= PICKS_MAX && (uint64_t)count * 3 <= cv.h.count)
		return picks_distinct(s, &cv, count, withvalues);
	r = rd_csnap(s, &cv, &snap);
	if (r == WC_C_NOMEM) {
		rd_err_scratch(s);
		return RD_R_DONE;
	}
	if (r != WC_C_OK)
		return RD_R_RETRY;
	/* a fair subset in one walk (selection sampling), or everything */
	left = snap.count;
	want = (uint64_t)count < left ? (uint64_t)count : left;
	reply_picks_head(o, s->proto, (int64_t)want, withvalues);
	while (want && wc_csnap_next(&snap, &it, &m)) {
		if (wc_c_rand(&rs) % left < want) {
			rd_reply_member(o, s->proto, &m, withvalues);
			want--;
		}
		left--;
	}
	return RD_R_DONE;
}
