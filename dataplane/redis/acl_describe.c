/*
 * acl_describe.c - a user written back as rules (ACL LIST, ACL SAVE, ACL
 * GETUSER), in Redis 7.0's form: flags, "#<sha256>" per password, then each
 * selector's keys, channels and commands.
 *
 * A selector keeps only a bit per command, so the command rules are found
 * again the way Redis finds them: start from +@all (when the reserved
 * "future commands" bit is set) or -@all, add the category that best fits
 * what is left as long as one fits more than it misfits, then fix single
 * commands (and first-args) until a scratch selector built from the rules
 * has exactly the user's bits. Applying the text again gives the same
 * permissions; the text may differ from Redis's only where our command
 * table differs from Redis's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/acl_impl.h"

/* A growing string (admin path). */
struct sb {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_put(struct sb *b, const void *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_str(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* The string, or NULL if memory ran out. */
static char *sb_done(struct sb *b)
{
	if (!b->p && !b->failed)
		sb_put(b, "", 0);
	if (b->failed) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

static void trim_space(struct sb *b)
{
	if (!b->failed && b->len && b->p[b->len - 1] == ' ')
		b->p[--b->len] = 0;
}

static void count_cat(const struct acl_selector *s, uint32_t cat, unsigned long *on,
		      unsigned long *off)
{
	unsigned n;
	const struct rd_cmd *const *tops = rd_cmd_tops(&n);

	*on = *off = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct rd_cmd *c = tops[i];

		if (c->acl & cat) {
			if (acl_sel_bit(s, c->id))
				(*on)++;
			else
				(*off)++;
		}
		for (const struct rd_cmd *sc = c->sub; sc && sc->name; sc++) {
			if (!(sc->acl & cat))
				continue;
			if (acl_sel_bit(s, sc->id))
				(*on)++;
			else
				(*off)++;
		}
	}
}

/* One command whose bit differs from the scratch selector's: +name or -name. */
static void single(struct sb *b, const struct acl_selector *s, struct acl_selector *fake,
		   const struct rd_cmd *c)
{
	bool ub = acl_sel_bit(s, c->id), fb = acl_sel_bit(fake, c->id);
	char name[128];

	if (ub == fb)
		return;
	acl_cmd_fullname(c, name, sizeof(name));
	sb_str(b, ub ? "+" : "-");
	sb_str(b, name);
	sb_str(b, " ");
	acl_sel_change(fake, c, ub);
}

char *acl_describe_commands(const struct acl_selector *s)
{
	struct acl_selector fake = { 0 }, temp = { 0 };
	bool additive = !acl_sel_bit(s, ACL_FUTURE_BIT);
	bool applied[RD_ACL_NCATS] = { false };
	struct sb b = { 0 };
	unsigned n;
	const struct rd_cmd *const *tops = rd_cmd_tops(&n);

	sb_str(&b, additive ? "-@all " : "+@all ");
	acl_sel_all(&fake, !additive);
	memcpy(temp.cmds, s->cmds, sizeof(temp.cmds));
	for (;;) {
		int best = -1;
		unsigned long mindiff = INT_MAX, maxsame = 0;

		for (unsigned j = 0; j < RD_ACL_NCATS; j++) {
			unsigned long on, off, diff, same;

			if (applied[j])
				continue;
			count_cat(&temp, 1u << j, &on, &off);
			diff = additive ? off : on;
			same = additive ? on : off;
			if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
				best = (int)j;
				mindiff = diff;
				maxsame = same;
			}
		}
		if (best < 0)
			break;
		sb_str(&b, additive ? "+@" : "-@");
		sb_str(&b, acl_cat_name((unsigned)best));
		sb_str(&b, " ");
		acl_sel_category(&fake, 1u << best, additive);
		acl_sel_category(&temp, 1u << best, !additive);
		applied[best] = true;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct rd_cmd *c = tops[i];

		single(&b, s, &fake, c);
		for (const struct rd_cmd *sc = c->sub; sc && sc->name; sc++)
			single(&b, s, &fake, sc);
		if (acl_sel_bit(s, c->id))
			continue;
		for (unsigned k = 0; k < s->nfirst; k++) {
			if (s->first[k].id != c->id)
				continue;
			sb_str(&b, "+");
			sb_str(&b, c->name);
			sb_str(&b, "|");
			sb_put(&b, s->first[k].arg, s->first[k].len);
			sb_str(&b, " ");
		}
	}
	trim_space(&b);
	/* (the rules rebuild exactly these bits, the reserved one included) */
	return sb_done(&b);
}

static void key_pattern(struct sb *b, const struct acl_pattern *p)
{
	sb_str(b, p->perm == ACL_PERM_RW ? "~" : p->perm == ACL_PERM_R ? "%R~" : "%W~");
	sb_put(b, p->p, p->len);
}

char *acl_describe_keys(const struct acl_selector *s)
{
	struct sb b = { 0 };

	if (s->flags & ACL_SEL_ALLKEYS) {
		sb_str(&b, "~*");
		return sb_done(&b);
	}
	for (unsigned i = 0; i < s->nkeys; i++) {
		if (i)
			sb_str(&b, " ");
		key_pattern(&b, &s->keys[i]);
	}
	return sb_done(&b);
}

char *acl_describe_channels(const struct acl_selector *s)
{
	struct sb b = { 0 };

	if (s->flags & ACL_SEL_ALLCHANNELS) {
		sb_str(&b, "&*");
		return sb_done(&b);
	}
	for (unsigned i = 0; i < s->nchannels; i++) {
		if (i)
			sb_str(&b, " ");
		sb_str(&b, "&");
		sb_put(&b, s->channels[i].p, s->channels[i].len);
	}
	return sb_done(&b);
}

/* keys, channels and commands of one selector, as ACL LIST has them */
static void selector(struct sb *b, const struct acl_selector *s)
{
	char *cmds;

	if (s->flags & ACL_SEL_ALLKEYS) {
		sb_str(b, "~* ");
	} else {
		for (unsigned i = 0; i < s->nkeys; i++) {
			key_pattern(b, &s->keys[i]);
			sb_str(b, " ");
		}
	}
	if (s->flags & ACL_SEL_ALLCHANNELS) {
		sb_str(b, "&* ");
	} else {
		sb_str(b, "resetchannels ");
		for (unsigned i = 0; i < s->nchannels; i++) {
			sb_str(b, "&");
			sb_put(b, s->channels[i].p, s->channels[i].len);
			sb_str(b, " ");
		}
	}
	cmds = acl_describe_commands(s);
	if (!cmds)
		b->failed = true;
	else
		sb_str(b, cmds);
	free(cmds);
}

char *acl_describe_user(const struct rd_user *u)
{
	static const char hex[] = "0123456789abcdef";
	struct sb b = { 0 };

	for (unsigned j = 0; j < ACL_NUSER_FLAGS; j++) {
		if (u->flags & (1u << j)) {
			sb_str(&b, acl_user_flag_names[j]);
			sb_str(&b, " ");
		}
	}
	for (unsigned i = 0; i < u->npass; i++) {
		char h[2 * ACL_DIGEST + 3];

		h[0] = '#';
		for (unsigned k = 0; k < ACL_DIGEST; k++) {
			h[1 + 2 * k] = hex[u->pass[i][k] >> 4];
			h[2 + 2 * k] = hex[u->pass[i][k] & 15];
		}
		h[1 + 2 * ACL_DIGEST] = ' ';
		h[2 + 2 * ACL_DIGEST] = 0;
		sb_str(&b, h);
	}
	for (unsigned i = 0; i < u->nsel; i++) {
		if (i)
			sb_str(&b, " (");
		selector(&b, &u->sel[i]);
		if (i)
			sb_str(&b, ")");
	}
	return sb_done(&b);
}
