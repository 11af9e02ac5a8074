/*
 * respc.h - a small blocking RESP2 client for wirecachectl: connect with a
 * timeout (optionally from inside a network namespace: the socket is made
 * there, then the thread goes back to its own), send a command as an array
 * of bulk strings, read one reply (simple string, error, integer, bulk
 * string, array of those; nested arrays too). Every read and write is
 * bounded by the client's timeout.
 */
#ifndef WC_CONTROL_RESPC_H
#define WC_CONTROL_RESPC_H

#include <stddef.h>
#include <stdint.h>

struct respc {
	int fd;
	unsigned timeout_ms;
	char rbuf[16384];
	size_t rlen, rpos;
	char err[256];
};

enum respc_type { RESPC_STATUS = '+', RESPC_ERROR = '-', RESPC_INT = ':', RESPC_BULK = '$',
		  RESPC_ARRAY = '*', RESPC_NIL = 0 };

struct respc_reply {
	enum respc_type type;
	long long integer;		/* RESPC_INT */
	char *str;			/* STATUS, ERROR, BULK: NUL-terminated, len bytes */
	size_t len;
	struct respc_reply *elem;	/* RESPC_ARRAY: n elements */
	size_t n;
};

/*
 * Connect to ip:port (IPv4). netns: NULL, or the name of a network namespace
 * (/var/run/netns/NAME) to make the socket in. 0, or -1 with c->err.
 */
int respc_connect(struct respc *c, const char *ip, unsigned port, const char *netns,
		  unsigned timeout_ms);
void respc_close(struct respc *c);

/* Send argv (lens[i] bytes each; lens NULL: strlen) as one RESP array. 0 or -1. */
int respc_send(struct respc *c, int argc, const char *const *argv, const size_t *lens);
/* Read one reply into r (free with respc_reply_free). 0, or -1 (connection or protocol). */
int respc_read(struct respc *c, struct respc_reply *r);
/* Send and read. */
int respc_call(struct respc *c, struct respc_reply *r, int argc, const char *const *argv,
	       const size_t *lens);
void respc_reply_free(struct respc_reply *r);

#endif
