/*
 * xproto.h - cross-protocol requests: an HTTP request arriving on a cache
 * port. A browser, or a server tricked into fetching a URL (SSRF), can be
 * made to send HTTP to a cache port; each line of it would then run as a
 * cache command. memcached and Redis both hang up on such input without a
 * word, and so does wirecache on every TCP port, before any command of the
 * line runs.
 */
#ifndef WC_PROTO_XPROTO_H
#define WC_PROTO_XPROTO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether a text line (without its newline) is HTTP: a request line (an
 * upper-case method followed by a path, or any line whose last word starts
 * with "HTTP/"), or a line whose first word is "Host:" or "POST" in any case
 * (what Redis refuses).
 */
bool wc_http_line(const uint8_t *line, uint32_t len);

#endif
