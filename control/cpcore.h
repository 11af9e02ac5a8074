/*
 * cpcore.h - the state of one wirecache-cp: its dataplane connection, the
 * sampler, and the operations the HTTP API calls (fresh snapshots, slot
 * moves, flushes). The main loop calls cp_core_tick every interval: it
 * attaches (and re-attaches after the dataplane restarts), notices a dead
 * dataplane, and adds a sample.
 */
#ifndef WC_CONTROL_CPCORE_H
#define WC_CONTROL_CPCORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dpconn.h"
#include "sampler.h"

struct cp_core {
	pthread_mutex_t dp_mu;		/* the connection: one command at a time */
	struct dpconn dp;
	struct sampler sampler;
	char node[64];
	char attach_error[256];
	int64_t attached_since_ms;
	uint64_t attaches;
	uint64_t last_boot_id;
	unsigned move_timeout_ms;
	struct wc_cp_shm *scratch;	/* the main loop's snapshot */
};

int cp_core_init(struct cp_core *c, const char *socket, const char *node,
		 const struct cp_alert_rules *rules, unsigned window);
void cp_core_fini(struct cp_core *c);

void cp_core_tick(struct cp_core *c);

/* A fresh snapshot into out; false when not attached. */
bool cp_core_snapshot(struct cp_core *c, struct wc_cp_shm *out);

/* Results of the mutating calls: what HTTP status they map to. */
enum cp_result { CP_OK, CP_BAD_REQUEST, CP_CONFLICT, CP_UNAVAILABLE, CP_TIMEOUT, CP_FAILED };

/* Move slots from..to to partition part and wait for the result (in *out). */
enum cp_result cp_core_move(struct cp_core *c, unsigned from, unsigned to, unsigned part,
			    struct wc_cp_move_snap *out, char *err, size_t errlen);
enum cp_result cp_core_flush(struct cp_core *c, unsigned delay, char *err, size_t errlen);

#endif
