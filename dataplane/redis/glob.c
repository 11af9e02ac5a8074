/*
 * glob.c - glob-style matching (see glob.h), iterative with one backtrack
 * point for '*' so a hostile pattern costs O(pattern x string) at most.
 */
#include "redis/glob.h"

static uint8_t fold(uint8_t c, bool nocase)
{
	return nocase && c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Match one byte against the class starting at pat[*pi] == '['; advances *pi past it. */
static bool class_match(const uint8_t *pat, uint32_t plen, uint32_t *pi, uint8_t c, bool nocase)
{
	uint32_t i = *pi + 1;
	bool neg = false, hit = false;

	if (i < plen && pat[i] == '^') {
		neg = true;
		i++;
	}
	for (; i < plen && pat[i] != ']'; i++) {
		if (pat[i] == '\\' && i + 1 < plen) {
			i++;
			if (fold(pat[i], nocase) == fold(c, nocase))
				hit = true;
		} else if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
			uint8_t lo = fold(pat[i], nocase), hi = fold(pat[i + 2], nocase), x = fold(c, nocase);

			if (lo > hi) {
				uint8_t t = lo;

				lo = hi;
				hi = t;
			}
			if (x >= lo && x <= hi)
				hit = true;
			i += 2;
		} else if (fold(pat[i], nocase) == fold(c, nocase)) {
			hit = true;
		}
	}
	/* an unterminated class ends at the pattern's end, as in Redis */
	*pi = i < plen ? i + 1 : plen;
	return neg ? !hit : hit;
}

bool rd_glob_match(const uint8_t *pat, uint32_t plen, const uint8_t *s, uint32_t slen,
		   bool nocase)
{
	uint32_t pi = 0, si = 0, star_p = UINT32_MAX, star_s = 0;

	while (si < slen) {
		if (pi < plen) {
			uint8_t pc = pat[pi];

			if (pc == '*') {
				while (pi < plen && pat[pi] == '*')
					pi++;
				if (pi == plen)
					return true;
				star_p = pi;
				star_s = si;
				continue;
			}
			if (pc == '?') {
				pi++;
				si++;
				continue;
			}
			if (pc == '[') {
				uint32_t np = pi;

				if (class_match(pat, plen, &np, s[si], nocase)) {
					pi = np;
					si++;
					continue;
				}
			} else {
				if (pc == '\\' && pi + 1 < plen)
					pc = pat[++pi];
				if (fold(pc, nocase) == fold(s[si], nocase)) {
					pi++;
					si++;
					continue;
				}
			}
		}
		if (star_p == UINT32_MAX)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}
