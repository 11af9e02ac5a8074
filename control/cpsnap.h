/*
 * cpsnap.h - RDB snapshots from the control plane (POST /api/snapshot/save,
 * GET /api/snapshot, wirecachectl snapshot): the dataplane's SNAPSHOT
 * commands on its control socket (redis/rdbsave.h), their replies as JSON.
 */
#ifndef WC_CONTROL_CPSNAP_H
#define WC_CONTROL_CPSNAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cpcore.h"

/*
 * The saver's state: {"in_progress", "done", "last_ok", "lastsave", "saves",
 * "failed", "keys", "bytes", "ms"} (the last good save's keys, bytes, ms).
 * CP_OK with *out, else the error in err.
 */
enum cp_result cp_snapshot_status(struct cp_core *c, json_t **out, char *err, size_t errlen);

/*
 * Start a background save; with wait, wait for it (up to timeout_ms, then
 * CP_TIMEOUT) and fail (CP_FAILED) when it failed. *out: {"ticket",
 * "finished", "status": {...}}.
 */
enum cp_result cp_snapshot_save(struct cp_core *c, bool wait, unsigned timeout_ms, json_t **out,
				char *err, size_t errlen);

/* A status line "in_progress=0 done=N ..." as JSON (NULL when malformed). */
json_t *cp_snapshot_parse(const char *line);

#endif
