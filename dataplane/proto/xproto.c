/*
 * xproto.c - recognising HTTP on a cache port (see xproto.h).
 */
#include <string.h>
#include <strings.h>

#include "proto/xproto.h"

static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
};

static bool word_is(const uint8_t *w, uint32_t n, const char *s, bool nocase)
{
	size_t sl = strlen(s);

	if (n != sl)
		return false;
	return nocase ? strncasecmp((const char *)w, s, n) == 0 : memcmp(w, s, n) == 0;
}

bool wc_http_line(const uint8_t *line, uint32_t len)
{
	const uint8_t *p = line, *end = line + len;
	const uint8_t *first = NULL, *second = NULL, *last = NULL;
	uint32_t first_len = 0, last_len = 0;

	if (len && end[-1] == '\r')
		end--;
	while (p < end) {
		const uint8_t *w;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (!first) {
			first = w;
			first_len = (uint32_t)(p - w);
		} else if (!second) {
			second = w;
		}
		last = w;
		last_len = (uint32_t)(p - w);
	}
	if (!first)
		return false;
	if (word_is(first, first_len, "host:", true) || word_is(first, first_len, "post", true))
		return true;
	if (last != first && last_len >= 5 && memcmp(last, "HTTP/", 5) == 0)
		return true;
	if (!second || (*second != '/' && *second != '*'))
		return false;
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (word_is(first, first_len, http_methods[i], false))
			return true;
	return false;
}
