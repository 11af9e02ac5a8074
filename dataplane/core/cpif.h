/*
 * cpif.h - the dataplane's control interface: the shared-memory region the
 * control plane maps (wirecache/cpshm.h), the per-lcore latency hooks that
 * write into it, the UNIX socket commands arrive on, and the control thread
 * that serves them, publishes snapshots and drives slot moves.
 *
 * The control thread is an ordinary pthread, not an lcore: it never touches
 * a packet and never writes a partition (moves and flushes are done by the
 * partitions' owners, see migrate.h). If the control plane dies the socket
 * just loses a client; if the interface cannot start the dataplane logs why
 * and serves without it.
 */
#ifndef WC_CORE_CPIF_H
#define WC_CORE_CPIF_H

#include "core/app.h"

struct wc_cpif;

/*
 * Set up the region, the latency hooks and the slot mover. Call after the
 * partitions and the slot table exist and before wc_lcore_init (which takes
 * the mover's flush routing). NULL (after saying why on stderr) when the
 * configuration turns it off or it cannot be set up.
 */
struct wc_cpif *wc_cpif_init(struct wc_app *app, const char *version);

/* Open the socket and start the control thread (after the lcores are set up). */
int wc_cpif_start(struct wc_cpif *cp);

/* Stop the thread, remove the socket, free everything (after the lcores stopped). */
void wc_cpif_stop(struct wc_cpif *cp);

#endif
