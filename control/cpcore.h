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

struct cp_cluster;

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
	struct cp_cluster *cluster;	/* with --etcd, else NULL */
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
/*
 * One command line to the dataplane: CP_OK with the text after "OK" in
 * reply, CP_UNAVAILABLE when not attached (or the connection failed), else
 * the error's class with the reason in reply.
 */
enum cp_result cp_core_command(struct cp_core *c, const char *cmd, char *reply, size_t n,
			       unsigned timeout_ms);
/*
 * Several lines in a row, none of the main loop's or the API's commands in
 * between; stops at the first that fails (*failed_at gets its index, n when
 * all passed). reply holds the last reply.
 */
enum cp_result cp_core_commands(struct cp_core *c, char *const *lines, unsigned n, char *reply,
				size_t rn, unsigned timeout_ms, unsigned *failed_at);
/* How many times it attached so far (a new attachment: a new or restarted dataplane). */
uint64_t cp_core_attaches(struct cp_core *c);

enum cp_result cp_core_flush(struct cp_core *c, unsigned delay, char *err, size_t errlen);

#endif
