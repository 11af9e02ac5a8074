/*
 * fuzz_cpline.h - what the control-socket harnesses (fuzz_cmap.c,
 * fuzz_creq.c) check of every reply: one line, "OK..." or "ERR ...".
 */
#ifndef WC_FUZZ_CPLINE_H
#define WC_FUZZ_CPLINE_H

#include <stdlib.h>
#include <string.h>

static inline void check_reply(const char *out)
{
	size_t n = strlen(out);

	if (n < 3 || out[n - 1] != '\n' || memchr(out, '\n', n - 1) ||
	    (strncmp(out, "OK", 2) != 0 && strncmp(out, "ERR ", 4) != 0))
		abort();
}

#endif
