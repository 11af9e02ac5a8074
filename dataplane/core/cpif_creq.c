/*
 * cpif_creq.c - the control socket's CREQ NEXT / CREQ DONE lines (see
 * cpif_creq.h): handing SETSLOT requests to the control plane and taking
 * its answers into redis/creq.h's table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/cpif_creq.h"

/* The next word of *p (spaces and tabs between words); its length, 0 at the end. */
static size_t word(const char **p, const char **w)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	*w = s;
	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	*p = s + n;
	return n;
}

static bool is(const char *w, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(w, lit, n) == 0;
}

/* A decimal number of n digits in [0, max]. */
static bool number(const char *w, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9' || v > (UINT64_MAX - (uint64_t)(w[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(w[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static enum wc_creq_act say(char *out, size_t cap, const char *text)
{
	snprintf(out, cap, "%s\n", text);
	return WC_CREQ_REPLIED;
}

bool wc_creq_next(struct rd_creq_table *t, int64_t now_ms, int64_t deadline, char *out,
		  size_t cap, uint64_t *taken)
{
	const struct rd_creq *r = rd_creq_take(t, now_ms);

	*taken = r ? r->id : 0;
	if (r) {
		if (r->op == RD_CREQ_FAILOVER)
			snprintf(out, cap, "OK %" PRIu64 " FAILOVER %s\n", r->id,
				 r->node[0] ? r->node : "-");
		else if (r->op == RD_CREQ_STABLE)
			snprintf(out, cap, "OK %" PRIu64 " SETSLOT %u STABLE\n", r->id, r->slot);
		else
			snprintf(out, cap, "OK %" PRIu64 " SETSLOT %u %s %s\n", r->id, r->slot,
				 rd_creq_op_name((enum rd_creq_op)r->op), r->node);
		return true;
	}
	if (now_ms < deadline)
		return false;
	say(out, cap, "OK none");
	return true;
}

static enum wc_creq_act done(struct rd_creq_table *t, const char *p, char *out, size_t cap)
{
	const char *w;
	size_t n;
	uint64_t id, epoch = 0;
	bool ok;
	char text[RD_CREQ_ERR_MAX];

	n = word(&p, &w);
	if (!number(w, n, UINT64_MAX, &id))
		return say(out, cap, "ERR usage: CREQ DONE <reqid> OK <epoch> | CREQ DONE <reqid> "
			   "ERR <text>");
	n = word(&p, &w);
	if (is(w, n, "OK")) {
		ok = true;
		n = word(&p, &w);
		if (!number(w, n, UINT64_MAX, &epoch) || word(&p, &w) != 0)
			return say(out, cap, "ERR usage: CREQ DONE <reqid> OK <epoch>");
	} else if (is(w, n, "ERR")) {
		ok = false;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return say(out, cap, "ERR usage: CREQ DONE <reqid> ERR <text> (the client's "
				   "error, with its code: ERR ...)");
		/* one RESP error line: nothing below a space survives */
		snprintf(text, sizeof(text), "%s", p);
		for (char *c = text; *c; c++)
			if ((unsigned char)*c < ' ')
				*c = ' ';
	} else {
		return say(out, cap, "ERR usage: CREQ DONE <reqid> OK <epoch> | CREQ DONE <reqid> "
			   "ERR <text>");
	}
	if (rd_creq_done(t, id, ok, epoch, ok ? NULL : text) != 0) {
		snprintf(out, cap, "ERR unknown request %" PRIu64 " (answered already, or dropped)\n",
			 id);
		return WC_CREQ_REPLIED;
	}
	return say(out, cap, "OK");
}

enum wc_creq_act wc_creq_line(struct rd_creq_table *t, const char *line, int64_t now_ms,
			      char *out, size_t cap, int64_t *deadline, uint64_t *taken)
{
	const char *p = line, *w;
	size_t n = word(&p, &w);
	uint64_t ms;

	*taken = 0;
	if (!is(w, n, "CREQ"))
		return WC_CREQ_NOT_MINE;
	if (!t)
		return say(out, cap, "ERR this dataplane has no Redis side: no slot changes to take");
	n = word(&p, &w);
	if (is(w, n, "DONE"))
		return done(t, p, out, cap);
	if (!is(w, n, "NEXT"))
		return say(out, cap, "ERR usage: CREQ NEXT <timeout_ms> | CREQ DONE <reqid> OK "
			   "<epoch> | CREQ DONE <reqid> ERR <text>");
	n = word(&p, &w);
	if (!number(w, n, WC_CREQ_NEXT_MAX_MS, &ms) || word(&p, &w) != 0)
		return say(out, cap, "ERR usage: CREQ NEXT <timeout_ms> (0-5000)");
	*deadline = now_ms + (int64_t)ms;
	if (wc_creq_next(t, now_ms, *deadline, out, cap, taken))
		return WC_CREQ_REPLIED;
	return WC_CREQ_WAIT;
}
