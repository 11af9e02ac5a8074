/*
 * httpc.h - the small HTTP/1.0 client wirecachectl talks to wirecache-cp
 * with: one request per connection, IPv4, a deadline on the whole exchange.
 */
#ifndef WC_CONTROL_HTTPC_H
#define WC_CONTROL_HTTPC_H

#include <stddef.h>

struct http_target {
	char host[64];
	unsigned port;
};

struct http_resp {
	int status;
	char *body;		/* NUL-terminated */
	size_t len;
};

/* "http://ADDR:PORT" (a trailing / is fine). 0, or -1 with a reason. */
int httpc_parse_url(const char *url, struct http_target *t, char *err, size_t errlen);

/* 0 once a response arrived (any status), -1 with a reason in err. */
int httpc_request(const struct http_target *t, const char *method, const char *path,
		  const char *token, const char *body, unsigned timeout_ms, struct http_resp *out,
		  char *err, size_t errlen);
void http_resp_free(struct http_resp *r);

#endif
