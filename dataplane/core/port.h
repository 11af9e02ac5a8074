/*
 * port.h - bringing up one DPDK port for the workers: a queue pair per
 * worker (fewer if the port has fewer), RSS with a symmetric Toeplitz key
 * where the port supports it, and checksum offloads where it has them.
 */
#ifndef WC_CORE_PORT_H
#define WC_CORE_PORT_H

#include <stdint.h>

#include <rte_mempool.h>

#include "core/app.h"

/* Configure and start port_id as app->ports[idx]; returns 0 or a negative errno. */
int wc_port_setup(struct wc_app *app, unsigned idx, uint16_t port_id, unsigned nqueues,
		  struct rte_mempool *pool);
void wc_port_close(struct wc_app *app, unsigned idx);

/*
 * The queue RSS gives a TCP flow between a:ap and b:bp (either way round:
 * the key is symmetric), so that a connection opened from an lcore can pick
 * a local port whose segments come back to its own queue. 0 without RSS.
 */
unsigned wc_port_queue_of(const struct wc_port *pt, uint32_t a, uint16_t ap, uint32_t b,
			  uint16_t bp);

#endif
