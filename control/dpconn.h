/*
 * dpconn.h - the control plane's side of the attachment to one dataplane:
 * the UNIX socket (commands, liveness) and the mapped shared-memory region
 * (wirecache/cpshm.h), with sequence-locked snapshots of it.
 */
#ifndef WC_CONTROL_DPCONN_H
#define WC_CONTROL_DPCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wirecache/cpshm.h"

struct dpconn {
	char path[108];			/* sun_path sized */
	int sock;				/* -1 while detached */
	const struct wc_cp_shm *shm;		/* read-only mapping */
	size_t shm_size;
	uint64_t boot_id;
};

void dpconn_init(struct dpconn *d, const char *path);

/* Connect, say HELLO, map the region it hands over. 0, or -1 with a reason. */
int dpconn_attach(struct dpconn *d, char *err, size_t errlen);
void dpconn_detach(struct dpconn *d);
static inline bool dpconn_attached(const struct dpconn *d)
{
	return d->sock >= 0;
}

/* false when the dataplane closed the socket (it exited or restarted). */
bool dpconn_alive(struct dpconn *d);

/*
 * Send one command line and read the one-line reply (without its newline)
 * into reply. 0 for "OK ...", 1 for "ERR ..." (reply holds the reason), -1
 * when the connection failed (then it is detached). timeout_ms bounds the wait.
 */
int dpconn_command(struct dpconn *d, const char *cmd, char *reply, size_t n,
		   unsigned timeout_ms);

/*
 * Copy a consistent snapshot of the region into out (a struct wc_cp_shm the
 * caller owns). 0, or -1 when the region does not look like one.
 */
int dpconn_snapshot(const struct dpconn *d, struct wc_cp_shm *out);

#endif
