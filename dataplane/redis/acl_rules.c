/*
 * acl_rules.c - users and the ACL rule language (see acl_impl.h): the
 * rules of ACL SETUSER and of the ACL file, applied one at a time to a user
 * as Redis 7.0 applies them (ACLSetUser / ACLSetSelector), with the same
 * refusals. Passwords are kept only as SHA-256 digests.
 *
 * Admin path only: everything here allocates.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "redis/acl_impl.h"

const char *const acl_user_flag_names[ACL_NUSER_FLAGS] = {
	"on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload",
};

/* In enum rd_acl_cat's bit order (ACL CAT lists them so). */
static const char *const cat_names[RD_ACL_NCATS] = {
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
};

const char *acl_err_text(enum acl_err e)
{
	switch (e) {
	case ACL_E_NOENT:
		return "Unknown command or category name in ACL";
	case ACL_E_INVAL:
		return "Syntax error";
	case ACL_E_EXIST:
		return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid "
		       "and does not have any effect. Try 'resetkeys' to start with an empty list "
		       "of patterns";
	case ACL_E_ISDIR:
		return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not "
		       "valid and does not have any effect. Try 'resetchannels' to start with an "
		       "empty list of channels";
	case ACL_E_NODEV:
		return "The password you are trying to remove from the user does not exist";
	case ACL_E_BADMSG:
		return "The password hash must be exactly 64 characters and contain only "
		       "lowercase hexadecimal characters";
	case ACL_E_CHILD:
		return "Allowing first-arg of a subcommand is not supported";
	case ACL_E_OK:
	case ACL_E_NOMEM:
		break;
	}
	return "Wrong format";
}

static bool op_is(const char *op, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(op, lit, len) == 0;
}

bool acl_has_spaces(const void *p, size_t len)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < len; i++)
		if (isspace(s[i]) || s[i] == 0)
			return true;
	return false;
}

static char *dup_bytes(const void *p, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, p, len);
		d[len] = 0;
	}
	return d;
}

/* ---- categories and names ---- */

uint32_t acl_cat_by_name(const void *name, size_t len)
{
	for (unsigned i = 0; i < RD_ACL_NCATS; i++)
		if (op_is(name, len, cat_names[i]))
			return 1u << i;
	return 0;
}

const char *acl_cat_name(unsigned i)
{
	return i < RD_ACL_NCATS ? cat_names[i] : "";
}

void acl_cmd_fullname(const struct rd_cmd *c, char *buf, size_t cap)
{
	const struct rd_cmd *p = rd_cmd_parent(c);

	if (p)
		snprintf(buf, cap, "%s|%s", p->name, c->name);
	else
		snprintf(buf, cap, "%s", c->name);
}

static const struct rd_cmd *lookup_one(const char *name, size_t len)
{
	struct resp_arg a = { .u.p = (const uint8_t *)name, .len = (uint32_t)len,
			      .kind = RESP_ARG_PTR };

	return len ? rd_cmd_lookup(&a) : NULL;
}

const struct rd_cmd *acl_cmd_by_name(const char *name, size_t len)
{
	const char *bar = memchr(name, '|', len);
	const struct rd_cmd *base;
	struct resp_arg sub;

	if (!bar)
		return lookup_one(name, len);
	if (memchr(bar + 1, '|', len - (size_t)(bar + 1 - name)))
		return NULL;	/* a|b|c: no such command */
	base = lookup_one(name, (size_t)(bar - name));
	if (!base || !base->sub)
		return NULL;
	sub = (struct resp_arg){ .u.p = (const uint8_t *)bar + 1,
				 .len = (uint32_t)(len - (size_t)(bar + 1 - name)),
				 .kind = RESP_ARG_PTR };
	return rd_subcmd_lookup(base, &sub);
}

/* ---- selectors ---- */

static void patterns_free(struct acl_pattern *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

static void first_free_all(struct acl_selector *s)
{
	for (unsigned i = 0; i < s->nfirst; i++)
		free(s->first[i].arg);
	free(s->first);
	s->first = NULL;
	s->nfirst = 0;
}

static void sel_release(struct acl_selector *s)
{
	patterns_free(s->keys, s->nkeys);
	patterns_free(s->channels, s->nchannels);
	first_free_all(s);
	s->keys = s->channels = NULL;
	s->nkeys = s->nchannels = 0;
}

static struct acl_pattern *patterns_copy(const struct acl_pattern *v, unsigned n)
{
	struct acl_pattern *d;

	if (n == 0)
		return NULL;
	d = calloc(n, sizeof(*d));
	if (!d)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		d[i] = v[i];
		d[i].p = dup_bytes(v[i].p, v[i].len);
		if (!d[i].p) {
			patterns_free(d, i);
			return NULL;
		}
	}
	return d;
}

static bool sel_copy(struct acl_selector *d, const struct acl_selector *s)
{
	*d = *s;
	d->keys = d->channels = NULL;
	d->first = NULL;
	d->nkeys = d->nchannels = d->nfirst = 0;
	if (s->nkeys && !(d->keys = patterns_copy(s->keys, s->nkeys)))
		return false;
	d->nkeys = s->nkeys;
	if (s->nchannels && !(d->channels = patterns_copy(s->channels, s->nchannels)))
		return false;
	d->nchannels = s->nchannels;
	if (s->nfirst) {
		d->first = calloc(s->nfirst, sizeof(*d->first));
		if (!d->first)
			return false;
		for (unsigned i = 0; i < s->nfirst; i++) {
			d->first[i] = s->first[i];
			d->first[i].arg = dup_bytes(s->first[i].arg, s->first[i].len);
			if (!d->first[i].arg)
				return false;
			d->nfirst = i + 1;
		}
	}
	return true;
}

static void sel_set_bit(struct acl_selector *s, unsigned id, bool v)
{
	if (id >= ACL_CMD_BITS)
		return;
	if (v) {
		s->cmds[id / 64] |= 1ull << (id % 64);
	} else {
		s->cmds[id / 64] &= ~(1ull << (id % 64));
		s->flags &= ~(uint32_t)ACL_SEL_ALLCOMMANDS;
	}
}

static void first_reset(struct acl_selector *s, unsigned id)
{
	unsigned k = 0;

	for (unsigned i = 0; i < s->nfirst; i++) {
		if (s->first[i].id == id)
			free(s->first[i].arg);
		else
			s->first[k++] = s->first[i];
	}
	s->nfirst = k;
	if (k == 0) {
		free(s->first);
		s->first = NULL;
	}
}

static enum acl_err first_add(struct acl_selector *s, unsigned id, const char *arg, size_t len)
{
	struct acl_firstarg *v;

	for (unsigned i = 0; i < s->nfirst; i++)
		if (s->first[i].id == id && s->first[i].len == len &&
		    strncasecmp(s->first[i].arg, arg, len) == 0)
			return ACL_E_OK;
	v = realloc(s->first, (s->nfirst + 1) * sizeof(*v));
	if (!v)
		return ACL_E_NOMEM;
	s->first = v;
	v[s->nfirst].id = (uint16_t)id;
	v[s->nfirst].len = (uint32_t)len;
	v[s->nfirst].arg = dup_bytes(arg, len);
	if (!v[s->nfirst].arg)
		return ACL_E_NOMEM;
	s->nfirst++;
	return ACL_E_OK;
}

void acl_sel_all(struct acl_selector *s, bool allow)
{
	memset(s->cmds, allow ? 0xff : 0, sizeof(s->cmds));
	if (allow)
		s->flags |= ACL_SEL_ALLCOMMANDS;
	else
		s->flags &= ~(uint32_t)ACL_SEL_ALLCOMMANDS;
	first_free_all(s);
}

void acl_sel_change(struct acl_selector *s, const struct rd_cmd *c, bool allow)
{
	sel_set_bit(s, c->id, allow);
	first_reset(s, c->id);
	for (const struct rd_cmd *sc = c->sub; sc && sc->name; sc++)
		sel_set_bit(s, sc->id, allow);
}

void acl_sel_category(struct acl_selector *s, uint32_t cat, bool allow)
{
	unsigned n;
	const struct rd_cmd *const *tops = rd_cmd_tops(&n);

	for (unsigned i = 0; i < n; i++) {
		const struct rd_cmd *c = tops[i];

		if (c->acl & cat)
			acl_sel_change(s, c, allow);
		for (const struct rd_cmd *sc = c->sub; sc && sc->name; sc++)
			if (sc->acl & cat)
				acl_sel_change(s, sc, allow);
	}
}

/* Add a pattern (or merge its permissions into the same pattern). */
static enum acl_err pattern_add(struct acl_pattern **v, unsigned *n, const char *p, size_t len,
				uint8_t perm)
{
	struct acl_pattern *nv;

	for (unsigned i = 0; i < *n; i++) {
		if ((*v)[i].len == len && memcmp((*v)[i].p, p, len) == 0) {
			(*v)[i].perm |= perm;
			return ACL_E_OK;
		}
	}
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return ACL_E_NOMEM;
	*v = nv;
	nv[*n] = (struct acl_pattern){ .p = dup_bytes(p, len), .len = (uint32_t)len,
				       .perm = perm };
	if (!nv[*n].p)
		return ACL_E_NOMEM;
	(*n)++;
	return ACL_E_OK;
}

/* ~pattern, %R~pattern, %W~pattern, %RW~pattern */
static enum acl_err key_pattern(struct acl_selector *s, const char *op, size_t len)
{
	uint8_t perm = 0;
	size_t off = 1;

	if (s->flags & ACL_SEL_ALLKEYS)
		return ACL_E_EXIST;
	if (op[0] == '%') {
		bool tilde = false;

		for (; off < len; off++) {
			char c = (char)toupper((unsigned char)op[off]);

			if (c == 'R' && !(perm & ACL_PERM_R)) {
				perm |= ACL_PERM_R;
			} else if (c == 'W' && !(perm & ACL_PERM_W)) {
				perm |= ACL_PERM_W;
			} else if (op[off] == '~') {
				off++;
				tilde = true;
				break;
			} else {
				return ACL_E_INVAL;
			}
		}
		/* (Redis takes "%R" and "%~x" too, and then cannot describe them) */
		if (!tilde || !perm)
			return ACL_E_INVAL;
	} else {
		perm = ACL_PERM_RW;
	}
	if (acl_has_spaces(op + off, len - off))
		return ACL_E_INVAL;
	s->flags &= ~(uint32_t)ACL_SEL_ALLKEYS;
	return pattern_add(&s->keys, &s->nkeys, op + off, len - off, perm);
}

/* +cmd, +cmd|sub, +cmd|first-arg */
static enum acl_err allow_command(struct acl_selector *s, const char *name, size_t len)
{
	const char *bar = NULL;
	const struct rd_cmd *c;

	for (size_t i = len; i > 0; i--) {
		if (name[i - 1] == '|') {
			bar = name + i - 1;
			break;
		}
	}
	if (!bar) {
		c = acl_cmd_by_name(name, len);
		if (!c)
			return ACL_E_NOENT;
		acl_sel_change(s, c, true);
		return ACL_E_OK;
	}
	c = acl_cmd_by_name(name, (size_t)(bar - name));
	if (!c)
		return ACL_E_NOENT;
	if (rd_cmd_parent(c))
		return ACL_E_CHILD;
	if (bar + 1 == name + len)
		return ACL_E_INVAL;
	if (c->sub) {
		c = acl_cmd_by_name(name, len);
		if (!c)
			return ACL_E_NOENT;
		acl_sel_change(s, c, true);
		return ACL_E_OK;
	}
	/* Redis logs this as deprecated; it still works */
	return first_add(s, c->id, bar + 1, (size_t)(name + len - bar - 1));
}

/* One selector rule (ACLSetSelector). */
static enum acl_err sel_op(struct acl_selector *s, const char *op, size_t len)
{
	if (op_is(op, len, "allkeys") || op_is(op, len, "~*")) {
		s->flags |= ACL_SEL_ALLKEYS;
		patterns_free(s->keys, s->nkeys);
		s->keys = NULL;
		s->nkeys = 0;
	} else if (op_is(op, len, "resetkeys")) {
		s->flags &= ~(uint32_t)ACL_SEL_ALLKEYS;
		patterns_free(s->keys, s->nkeys);
		s->keys = NULL;
		s->nkeys = 0;
	} else if (op_is(op, len, "allchannels") || op_is(op, len, "&*")) {
		s->flags |= ACL_SEL_ALLCHANNELS;
		patterns_free(s->channels, s->nchannels);
		s->channels = NULL;
		s->nchannels = 0;
	} else if (op_is(op, len, "resetchannels")) {
		s->flags &= ~(uint32_t)ACL_SEL_ALLCHANNELS;
		patterns_free(s->channels, s->nchannels);
		s->channels = NULL;
		s->nchannels = 0;
	} else if (op_is(op, len, "allcommands") || op_is(op, len, "+@all")) {
		acl_sel_all(s, true);
	} else if (op_is(op, len, "nocommands") || op_is(op, len, "-@all")) {
		acl_sel_all(s, false);
	} else if (op[0] == '~' || op[0] == '%') {
		return key_pattern(s, op, len);
	} else if (op[0] == '&') {
		if (s->flags & ACL_SEL_ALLCHANNELS)
			return ACL_E_ISDIR;
		if (acl_has_spaces(op + 1, len - 1))
			return ACL_E_INVAL;
		s->flags &= ~(uint32_t)ACL_SEL_ALLCHANNELS;
		return pattern_add(&s->channels, &s->nchannels, op + 1, len - 1, 0);
	} else if (op[0] == '+' && (len < 2 || op[1] != '@')) {
		return allow_command(s, op + 1, len - 1);
	} else if (op[0] == '-' && (len < 2 || op[1] != '@')) {
		const struct rd_cmd *c = acl_cmd_by_name(op + 1, len - 1);

		if (!c)
			return ACL_E_NOENT;
		acl_sel_change(s, c, false);
	} else if (op[0] == '+' || op[0] == '-') {
		uint32_t cat = acl_cat_by_name(op + 2, len - 2);

		if (!cat)
			return ACL_E_NOENT;
		acl_sel_category(s, cat, op[0] == '+');
	} else {
		return ACL_E_INVAL;
	}
	return ACL_E_OK;
}

/* "(~a* +get)": a new selector with these rules (split at spaces). */
static enum acl_err selector_from_set(struct rd_user *u, const char *op, size_t len)
{
	struct acl_selector sel = { 0 }, *v;
	enum acl_err e = ACL_E_OK;
	size_t i = 1, end = len - 1;

	while (i < end && e == ACL_E_OK) {
		size_t j;

		while (i < end && isspace((unsigned char)op[i]))
			i++;
		j = i;
		while (j < end && !isspace((unsigned char)op[j]))
			j++;
		if (j > i)
			e = sel_op(&sel, op + i, j - i);
		i = j;
	}
	if (e != ACL_E_OK) {
		sel_release(&sel);
		return e;
	}
	v = realloc(u->sel, (u->nsel + 1) * sizeof(*v));
	if (!v) {
		sel_release(&sel);
		return ACL_E_NOMEM;
	}
	u->sel = v;
	v[u->nsel++] = sel;
	return ACL_E_OK;
}

/* ---- users ---- */

struct rd_user *acl_user_new(const void *name, size_t len)
{
	struct rd_user *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->name = dup_bytes(name, len);
	u->nlen = (uint32_t)len;
	u->flags = ACL_U_OFF;
	u->sel = calloc(1, sizeof(*u->sel));
	if (!u->name || !u->sel) {
		acl_user_free(u);
		return NULL;
	}
	u->nsel = 1;
	/* Redis 7.0's acl-pubsub-default is resetchannels: no channels */
	u->sel[0].flags = ACL_SEL_ROOT;
	return u;
}

struct rd_user *acl_user_new_default(void)
{
	static const char *const rules[] = { "+@all", "~*", "&*", "on", "nopass" };
	struct rd_user *u = acl_user_new("default", 7);

	for (unsigned i = 0; u && i < sizeof(rules) / sizeof(rules[0]); i++)
		(void)acl_user_op(u, rules[i], strlen(rules[i]));
	return u;
}

void acl_user_free(struct rd_user *u)
{
	if (!u)
		return;
	for (unsigned i = 0; i < u->nsel; i++)
		sel_release(&u->sel[i]);
	free(u->sel);
	free(u->pass);
	free(u->name);
	free(u);
}

struct rd_user *acl_user_copy(const struct rd_user *u)
{
	struct rd_user *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = *u;
	d->name = dup_bytes(u->name, u->nlen);
	d->pass = NULL;
	d->sel = calloc(u->nsel, sizeof(*d->sel));
	d->nsel = 0;
	if (!d->name || !d->sel)
		goto fail;
	if (u->npass) {
		d->pass = malloc(u->npass * sizeof(*d->pass));
		if (!d->pass)
			goto fail;
		memcpy(d->pass, u->pass, u->npass * sizeof(*d->pass));
	}
	for (unsigned i = 0; i < u->nsel; i++) {
		bool ok = sel_copy(&d->sel[i], &u->sel[i]);

		d->nsel = i + 1;
		if (!ok)
			goto fail;
	}
	return d;
fail:
	d->npass = 0;
	acl_user_free(d);
	return NULL;
}

static int pass_find(const struct rd_user *u, const uint8_t *d)
{
	for (unsigned i = 0; i < u->npass; i++)
		if (memcmp(u->pass[i], d, ACL_DIGEST) == 0)
			return (int)i;
	return -1;
}

/* 64 lowercase hex digits -> 32 bytes */
static bool parse_hash(const char *h, size_t len, uint8_t *out)
{
	if (len != 2 * ACL_DIGEST)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	for (size_t i = 0; i < ACL_DIGEST; i++) {
		unsigned hi = h[2 * i] <= '9' ? (unsigned)(h[2 * i] - '0') : (unsigned)(h[2 * i] - 'a' + 10);
		unsigned lo = h[2 * i + 1] <= '9' ? (unsigned)(h[2 * i + 1] - '0') :
						    (unsigned)(h[2 * i + 1] - 'a' + 10);

		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static enum acl_err password_op(struct rd_user *u, const char *op, size_t len)
{
	uint8_t d[ACL_DIGEST];
	int at;

	if (op[0] == '>' || op[0] == '<')
		SHA256((const uint8_t *)op + 1, len - 1, d);
	else if (!parse_hash(op + 1, len - 1, d))
		return ACL_E_BADMSG;
	at = pass_find(u, d);
	if (op[0] == '>' || op[0] == '#') {
		if (at < 0) {
			uint8_t (*v)[ACL_DIGEST] = realloc(u->pass, (u->npass + 1) * sizeof(*v));

			if (!v)
				return ACL_E_NOMEM;
			u->pass = v;
			memcpy(v[u->npass++], d, ACL_DIGEST);
		}
		u->flags &= ~(uint32_t)ACL_U_NOPASS;
		return ACL_E_OK;
	}
	if (at < 0)
		return ACL_E_NODEV;
	memmove(u->pass[at], u->pass[at + 1], (u->npass - (unsigned)at - 1) * ACL_DIGEST);
	u->npass--;
	return ACL_E_OK;
}

static void passwords_clear(struct rd_user *u)
{
	free(u->pass);
	u->pass = NULL;
	u->npass = 0;
}

static void selectors_clear(struct rd_user *u)
{
	for (unsigned i = 1; i < u->nsel; i++)
		sel_release(&u->sel[i]);
	u->nsel = 1;
}

enum acl_err acl_user_op(struct rd_user *u, const void *opv, size_t len)
{
	const char *op = opv;

	if (len == 0)
		return ACL_E_OK;
	if (op_is(op, len, "on")) {
		u->flags = (u->flags | ACL_U_ON) & ~(uint32_t)ACL_U_OFF;
	} else if (op_is(op, len, "off")) {
		u->flags = (u->flags | ACL_U_OFF) & ~(uint32_t)ACL_U_ON;
	} else if (op_is(op, len, "skip-sanitize-payload")) {
		u->flags = (u->flags | ACL_U_SKIP_SANITIZE) & ~(uint32_t)ACL_U_SANITIZE;
	} else if (op_is(op, len, "sanitize-payload")) {
		u->flags = (u->flags | ACL_U_SANITIZE) & ~(uint32_t)ACL_U_SKIP_SANITIZE;
	} else if (op_is(op, len, "nopass")) {
		u->flags |= ACL_U_NOPASS;
		passwords_clear(u);
	} else if (op_is(op, len, "resetpass")) {
		u->flags &= ~(uint32_t)ACL_U_NOPASS;
		passwords_clear(u);
	} else if (op[0] == '>' || op[0] == '#' || op[0] == '<' || op[0] == '!') {
		return password_op(u, op, len);
	} else if (op[0] == '(' && op[len - 1] == ')') {
		return selector_from_set(u, op, len);
	} else if (op_is(op, len, "clearselectors")) {
		selectors_clear(u);
	} else if (op_is(op, len, "reset")) {
		u->flags &= ~(uint32_t)ACL_U_NOPASS;
		passwords_clear(u);
		(void)sel_op(&u->sel[0], "resetkeys", 9);
		(void)sel_op(&u->sel[0], "resetchannels", 13);
		u->flags = (u->flags | ACL_U_OFF | ACL_U_SANITIZE) &
			   ~(uint32_t)(ACL_U_ON | ACL_U_SKIP_SANITIZE);
		selectors_clear(u);
		acl_sel_all(&u->sel[0], false);
	} else {
		return sel_op(&u->sel[0], op, len);
	}
	return ACL_E_OK;
}

bool acl_user_password_ok(const struct rd_user *u, const void *pass, size_t len)
{
	uint8_t d[ACL_DIGEST];
	int ok = 0;

	if (u->flags & ACL_U_NOPASS)
		return true;
	SHA256(pass, len, d);
	for (unsigned i = 0; i < u->npass; i++)
		ok |= CRYPTO_memcmp(d, u->pass[i], ACL_DIGEST) == 0;
	return ok != 0;
}

/* ---- several rules at once ---- */

void acl_args_free(char **v, size_t *lens, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
	free(lens);
}

int acl_args_merge(unsigned n, const uint8_t *const *args, const size_t *lens, char ***out,
		   size_t **outlens, unsigned *bad)
{
	char **v = calloc(n ? n : 1, sizeof(*v));
	size_t *vl = calloc(n ? n : 1, sizeof(*vl));
	char *sel = NULL;
	size_t sel_len = 0;
	int m = 0, open = -1;

	if (!v || !vl)
		goto nomem;
	for (unsigned j = 0; j < n; j++) {
		const uint8_t *op = args[j];
		size_t len = lens[j];

		if (len && op[0] == '(' && op[len - 1] != ')') {
			free(sel);
			sel = dup_bytes(op, len);
			if (!sel)
				goto nomem;
			sel_len = len;
			open = (int)j;
			continue;
		}
		if (open >= 0) {
			char *grown = realloc(sel, sel_len + 1 + len + 1);

			if (!grown)
				goto nomem;
			sel = grown;
			sel[sel_len] = ' ';
			memcpy(sel + sel_len + 1, op, len);
			sel_len += 1 + len;
			sel[sel_len] = 0;
			if (len && op[len - 1] == ')') {
				open = -1;
				v[m] = sel;
				vl[m++] = sel_len;
				sel = NULL;
			}
			continue;
		}
		v[m] = dup_bytes(op, len);
		if (!v[m])
			goto nomem;
		vl[m++] = len;
	}
	if (open >= 0) {
		free(sel);
		acl_args_free(v, vl, m);
		if (bad)
			*bad = (unsigned)open;
		return -1;
	}
	*out = v;
	*outlens = vl;
	return m;
nomem:
	free(sel);
	acl_args_free(v, vl, m);
	if (bad)
		*bad = n;	/* (no such argument: out of memory) */
	return -2;
}

bool acl_user_setuser(struct rd_user *u, unsigned n, const uint8_t *const *args,
		      const size_t *lens, char *err, size_t errcap)
{
	char **v = NULL;
	size_t *vl = NULL;
	unsigned bad = 0;
	int m = acl_args_merge(n, args, lens, &v, &vl, &bad);

	if (m == -1) {
		snprintf(err, errcap, "Unmatched parenthesis in acl selector starting at '%.*s'.",
			 (int)(lens[bad] < 200 ? lens[bad] : 200), (const char *)args[bad]);
		return false;
	}
	if (m < 0) {
		snprintf(err, errcap, "Out of memory");
		return false;
	}
	for (int j = 0; j < m; j++) {
		enum acl_err e = acl_user_op(u, v[j], vl[j]);

		if (e != ACL_E_OK) {
			snprintf(err, errcap, "Error in ACL SETUSER modifier '%s': %s", v[j],
				 e == ACL_E_NOMEM ? "Out of memory" : acl_err_text(e));
			acl_args_free(v, vl, m);
			return false;
		}
	}
	acl_args_free(v, vl, m);
	return true;
}
