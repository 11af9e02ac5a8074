/*
 * acl_check.c - may a user run this command on these keys (Redis 7.0's
 * ACLCheckAllUserCommandPerm): each selector in turn, the first that allows
 * the command and every key wins; otherwise the reason kept is the
 * "largest" one (key over command), and among key denials the last key
 * position any selector stumbled on.
 *
 * Runs on the request path: no allocation, no lock; the user is read from
 * the published table (acl.c). Channels (PUBLISH, SUBSCRIBE, PSUBSCRIBE and
 * the shard forms: pubsub.c names their arguments) are checked after the
 * keys, as Redis 7.0 does: a channel against the selector's patterns, a
 * pattern literally against them.
 */
#include <string.h>
#include <strings.h>

#include "redis/acl_impl.h"
#include "redis/glob.h"
#include "redis/pubsub.h"

static bool first_arg_ok(const struct acl_selector *s, const struct rd_cmd *c,
			 const struct resp_cmd *cmd)
{
	uint32_t idx = rd_cmd_parent(c) ? 2 : 1;
	const struct resp_arg *a;

	if (s->nfirst == 0 || cmd->argc <= idx)
		return false;
	a = resp_argv(cmd, idx);
	if (a->kind != RESP_ARG_PTR)
		return false;
	for (unsigned i = 0; i < s->nfirst; i++)
		if (s->first[i].id == c->id && s->first[i].len == a->len &&
		    strncasecmp(s->first[i].arg, (const char *)a->u.p, a->len) == 0)
			return true;
	return false;
}

static bool key_ok(const struct acl_selector *s, const struct resp_arg *k, uint8_t need)
{
	if (k->kind != RESP_ARG_PTR)
		return false;	/* (a key this large cannot exist anyway) */
	for (unsigned i = 0; i < s->nkeys; i++) {
		const struct acl_pattern *p = &s->keys[i];

		if ((p->perm & need) != need)
			continue;
		if (rd_glob_match((const uint8_t *)p->p, p->len, k->u.p, k->len, false))
			return true;
	}
	return false;
}

static enum acl_deny selector_check(const struct acl_selector *s, const struct rd_cmd *c,
				    const struct resp_cmd *cmd, const uint32_t *keys,
				    unsigned nkeys, uint32_t *errpos)
{
	if (!(s->flags & ACL_SEL_ALLCOMMANDS) && !(c->flags & RD_F_NO_AUTH) &&
	    !acl_sel_bit(s, c->id) && !first_arg_ok(s, c, cmd))
		return ACL_DENIED_CMD;
	if (!(s->flags & ACL_SEL_ALLKEYS)) {
		for (unsigned k = 0; k < nkeys; k++) {
			if (!key_ok(s, resp_argv(cmd, keys[k]), acl_key_perm(c, cmd, k))) {
				*errpos = keys[k];
				return ACL_DENIED_KEY;
			}
		}
	}
	if (!(s->flags & ACL_SEL_ALLCHANNELS) && (c->flags & RD_F_PUBSUB)) {
		uint32_t first, last;
		bool pattern;

		if (!rd_pubsub_acl_channels(c, cmd, &first, &last, &pattern))
			return ACL_ALLOWED;
		for (uint32_t i = first; i <= last; i++) {
			const struct resp_arg *a = resp_argv(cmd, i);

			if (a->kind != RESP_ARG_PTR ||
			    !acl_channel_ok(s, a->u.p, (uint32_t)a->len, pattern)) {
				*errpos = i;
				return ACL_DENIED_CHANNEL;
			}
		}
	}
	return ACL_ALLOWED;
}

bool acl_channel_ok(const struct acl_selector *s, const uint8_t *ch, uint32_t len, bool pattern)
{
	if (s->flags & ACL_SEL_ALLCHANNELS)
		return true;
	for (unsigned i = 0; i < s->nchannels; i++) {
		const struct acl_pattern *p = &s->channels[i];

		if (pattern ? (p->len == len && memcmp(p->p, ch, len) == 0) :
			      rd_glob_match((const uint8_t *)p->p, p->len, ch, len, false))
			return true;
	}
	return false;
}

enum acl_deny acl_user_check(const struct rd_user *u, const struct rd_cmd *c,
			     const struct resp_cmd *cmd, const uint32_t *keys, unsigned nkeys,
			     uint32_t *errpos)
{
	enum acl_deny worst = ACL_DENIED_CMD;
	uint32_t last = 0;

	for (unsigned i = 0; i < u->nsel; i++) {
		uint32_t pos = 0;
		enum acl_deny r = selector_check(&u->sel[i], c, cmd, keys, nkeys, &pos);

		if (r == ACL_ALLOWED)
			return ACL_ALLOWED;
		if (r > worst || (r == worst && pos > last)) {
			worst = r;
			last = pos;
		}
	}
	*errpos = last;
	return worst;
}
