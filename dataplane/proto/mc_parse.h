/*
 * mc_parse.h - parsing one memcached text-protocol command line (classic and
 * meta commands) into a struct mc_req, with memcached 1.6's error strings.
 *
 * Pure and zero-copy: tokens point into the caller's line, which must stay
 * valid while the request is used; only a base64 meta key is decoded into
 * the request itself. The line excludes its "\n" (a trailing "\r" is
 * ignored). Multi-key get lines are not split here: the executor walks
 * their keys with mc_next_token.
 */
#ifndef WC_PROTO_MC_PARSE_H
#define WC_PROTO_MC_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MC_KEY_MAX 250u
#define MC_LINE_MAX 2048u		/* longest non-get line (memcached's limit) */
#define MC_OPAQUE_MAX 32u
#define MC_META_FLAGS_MAX 24u

enum mc_cmd {
	MC_UNKNOWN = 0,
	MC_GET, MC_GETS, MC_GAT, MC_GATS,
	MC_SET, MC_ADD, MC_REPLACE, MC_APPEND, MC_PREPEND, MC_CAS,
	MC_DELETE, MC_INCR, MC_DECR, MC_TOUCH,
	MC_FLUSH_ALL, MC_VERSION, MC_VERBOSITY, MC_QUIT, MC_STATS,
	MC_MG, MC_MS, MC_MD, MC_MA, MC_MN, MC_ME,
	MC_SHUTDOWN,		/* refused, as memcached does without -A */
	MC_CMD_COUNT
};

struct mc_tok {
	const uint8_t *p;
	uint32_t len;
};

/* Meta flags: which are present, their arguments, and their order. */
struct mc_meta {
	uint64_t has;			/* bit per flag letter, see mc_meta_bit */
	char order[MC_META_FLAGS_MAX];	/* flags in request order, for the reply */
	uint8_t nflags;
	struct mc_tok opaque;		/* O */
	uint64_t cas_cmp;		/* C */
	uint64_t cas_new;		/* E */
	uint64_t delta;			/* D (default 1) */
	uint64_t initial;		/* J */
	int64_t ttl;			/* T */
	int64_t vivify;			/* N */
	int64_t recache;		/* R */
	uint32_t client_flags;		/* F */
	char mode;			/* M (0 = default) */
	bool binary_key;		/* b: key was base64 */
};

static inline uint64_t mc_meta_bit(char c)
{
	if (c >= 'a' && c <= 'z')
		return 1ull << (c - 'a');
	if (c >= 'A' && c <= 'Z')
		return 1ull << (26 + c - 'A');
	return 0;
}

static inline bool mc_meta_has(const struct mc_meta *m, char c)
{
	return (m->has & mc_meta_bit(c)) != 0;
}

struct mc_req {
	enum mc_cmd cmd;
	bool noreply;
	struct mc_tok key;		/* single-key commands (meta: decoded if b) */
	uint32_t flags;			/* storage: client flags */
	int64_t exptime;		/* storage, touch, gat, flush_all delay */
	bool has_exptime;		/* flush_all with a delay */
	uint64_t vlen;			/* storage/ms: data block length (without \r\n) */
	bool has_data;			/* a data block follows the line */
	uint64_t cas;			/* cas unique */
	uint64_t delta;			/* incr/decr */
	uint32_t verbosity;
	struct mc_tok keys;		/* get/gets/gat/gats: the rest of the line */
	struct mc_tok arg;		/* stats: optional sub-command */
	struct mc_meta meta;
	const char *error;		/* set when parsing failed: the whole reply line */
	uint8_t keybuf[MC_KEY_MAX];	/* a base64-decoded meta key (kept last) */
};

/*
 * Parse one line. Returns false with req->error set on a malformed line;
 * then, when req->has_data, the data block (req->vlen + 2 bytes) that
 * follows must be swallowed to keep the stream in sync.
 */
bool mc_parse_line(const uint8_t *line, uint32_t len, struct mc_req *req);

/* Does the word hold a byte below 0x21 (space, CR, LF, a control character)? */
static inline bool mc_has_byte_below_21(uint64_t x)
{
	return ((x - 0x2121212121212121ull) & ~x & 0x8080808080808080ull) != 0;
}

/*
 * The end of a strict fast-path line at p (line starts at t, buffer ends at
 * end): "\r\n", or " noreply\r\n" (*noreply set). The line's length, or 0
 * when neither follows.
 */
static inline uint32_t mc_line_end(const uint8_t *t, const uint8_t *p, const uint8_t *end,
				   bool *noreply)
{
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
		*noreply = false;
		return (uint32_t)(p + 2 - t);
	}
	if (end - p < 10 || memcmp(p, " noreply\r\n", 10) != 0)
		return 0;
	*noreply = true;
	return (uint32_t)(p + 10 - t);
}

/*
 * The fast path's recognizer: t holds exactly one "get <key>" or
 * "gets <key>" line (one key, newline last) and nothing else. Returns the
 * key (inside t) or NULL; anything else goes the general way. Inline: the
 * UDP paths call it once a datagram and keep klen and cas in registers.
 */
static inline const uint8_t *mc_single_get(const uint8_t *t, uint32_t len, uint32_t *klen,
					   bool *cas)
{
	const uint8_t *k, *p, *end = t + len;
	uint32_t head;

	if (len < 7 || end[-1] != '\n')
		return NULL;
	memcpy(&head, t, 4);
	if (memcmp(&head, "get ", 4) == 0)
		*cas = false;
	else if (memcmp(&head, "gets", 4) == 0 && t[4] == ' ')
		*cas = true;
	else
		return NULL;
	k = t + 4 + *cas;
	end -= (end[-2] == '\r') ? 2 : 1;
	if (end <= k || end - k > MC_KEY_MAX)
		return NULL;
	/*
	 * One key and nothing after it: no space, CR, LF (a second line) or
	 * control byte inside. Keys with control bytes take the general path.
	 */
	for (p = k; end - p >= 8; p += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		if (mc_has_byte_below_21(w))
			return NULL;
	}
	for (; p < end; p++)
		if (*p < 0x21)
			return NULL;
	*klen = (uint32_t)(end - k);
	return k;
}

/* Next space-separated token in [*pos, end); false when none is left. */
bool mc_next_token(const uint8_t **pos, const uint8_t *end, struct mc_tok *t);

/* Strict decimal parsers (memcached's safe_strto*). */
bool mc_parse_u64(const struct mc_tok *t, uint64_t *out);
bool mc_parse_u32(const struct mc_tok *t, uint32_t *out);
bool mc_parse_i64(const struct mc_tok *t, int64_t *out);

/* base64 (RFC 4648, padded) for meta "b" keys. Return bytes written, 0 on error. */
uint32_t mc_base64_decode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap);
uint32_t mc_base64_encode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap);

const char *mc_cmd_name(enum mc_cmd c);

#endif
