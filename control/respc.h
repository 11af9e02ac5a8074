/*
 * respc.h - a small blocking RESP2 client for wirecachectl: connect with a
 * timeout (optionally from inside a network namespace: the socket is made
 * there, then the thread goes back to its own), send a command as an array
 * of bulk strings, read one reply (simple string, error, integer, bulk
 * string, array of those; nested arrays too). Every read and write is
 * bounded by the client's timeout. Pipelining: respc_append queues commands,
 * respc_flush writes them all at once, then one respc_read per command
 * takes the replies in order.
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
	char *wbuf;			/* commands appended, not yet flushed */
	size_t wlen, wcap;
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
/*
 * Queue argv as one RESP array in c's write buffer (nothing is sent). 0, or
 * -1 (not connected, out of memory; the queue is dropped).
 */
int respc_append(struct respc *c, int argc, const char *const *argv, const size_t *lens);
/*
 * Write every queued command in one go (bounded by the timeout). 0, or -1
 * (the connection is closed: replies to what was sent cannot be matched).
 * The caller reads one reply per command appended, in order; the replies
 * must fit in the kernel's buffers while the commands are written (keep a
 * pipeline to a few hundred short commands).
 */
int respc_flush(struct respc *c);
/* Read one reply into r (free with respc_reply_free). 0, or -1 (connection or protocol). */
int respc_read(struct respc *c, struct respc_reply *r);
/* Send and read. */
int respc_call(struct respc *c, struct respc_reply *r, int argc, const char *const *argv,
	       const size_t *lens);
void respc_reply_free(struct respc_reply *r);

#endif
