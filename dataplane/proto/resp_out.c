/*
 * resp_out.c - the number formats of Redis replies (see resp_out.h).
 */
#include <math.h>
#include <stdio.h>

#include "proto/resp_out.h"

__thread bool resp_error_seen;
__thread char resp_error_word[16];

void resp_error_note(const char *msg)
{
	size_t k = 0;

	while (msg[k] && msg[k] != ' ' && k + 1 < sizeof(resp_error_word)) {
		resp_error_word[k] = msg[k];
		k++;
	}
	resp_error_word[k] = 0;
	resp_error_seen = true;
}

void resp_double(struct mc_out *o, uint8_t proto, double d)
{
	char buf[64];
	int n;

	if (isinf(d))
		n = snprintf(buf, sizeof(buf), "%s", d > 0 ? "inf" : "-inf");
	else if (isnan(d))
		n = snprintf(buf, sizeof(buf), "nan");
	else
		n = snprintf(buf, sizeof(buf), "%.17g", d);
	if (proto >= 3)
		resp_line(o, ',', buf, (size_t)n);
	else
		resp_bulk(o, buf, (size_t)n);
}

size_t resp_fmt_long_double(char *buf, size_t cap, long double v)
{
	int n;

	if (isinf(v) || isnan(v))
		return 0;
	/* Redis: "%.17Lf", then trailing zeros (and a trailing dot) removed */
	n = snprintf(buf, cap, "%.17Lf", v);
	if (n <= 0 || (size_t)n >= cap)
		return 0;
	if (memchr(buf, '.', (size_t)n)) {
		while (n > 0 && buf[n - 1] == '0')
			n--;
		if (n > 0 && buf[n - 1] == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0')
		n = 1, buf[0] = '0';
	buf[n] = 0;
	return (size_t)n;
}
