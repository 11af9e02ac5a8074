/*
 * rdbsave.h - RDB snapshots: the node's saver (one background thread that
 * writes <dir>/temp-<pid>.rdb with rdb_write.h, fsyncs it and renames it
 * over <dir>/<dbfilename>), its state for INFO persistence, LASTSAVE and
 * the control plane, and the commands SAVE, BGSAVE and SHUTDOWN.
 *
 * Lcores never make a syscall for a save: a request is an atomic counter
 * the writer thread polls (every few milliseconds, asleep and offline to
 * liburcu otherwise); SAVE and SHUTDOWN wait for their save by being
 * re-entered (RD_BUSY) until the writer reports it done, so only their
 * connection waits.
 */
#ifndef WC_REDIS_RDBSAVE_H
#define WC_REDIS_RDBSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/app.h"
#include "store/clock.h"

#define RD_SAVE_PATH_MAX 512

/* What INFO persistence, /metrics and `wirecachectl snapshot` show. */
struct rd_save_info {
	bool in_progress;
	bool last_ok;			/* the last save (any kind) succeeded */
	int64_t lastsave;		/* Unix seconds of the last good save (the start before) */
	int64_t last_time_sec;		/* the last save's duration; -1: none yet */
	int64_t current_sec;		/* the running save's age; -1: none */
	uint64_t saves;			/* good saves since start */
	uint64_t failed;		/* failed saves since start */
	uint64_t changes_base;		/* items stored when the last good save began */
	uint64_t last_keys, last_bytes;	/* what the last good save wrote */
	uint64_t last_ms;		/* its duration in milliseconds */
	uint64_t keys_total, bytes_total, ms_total;	/* all good saves together */
	uint64_t seq_done;		/* saves finished (good or not) */
	uint64_t cur_keys, cur_total;	/* the running save: keys written so far, of about */
};

/*
 * Set the saver up for app (paths from app->cfg: rdb_dir, NULL = the cwd,
 * and rdb_filename) and start its thread. 0, or -1 (logged).
 */
int rd_save_init(struct wc_app *app);

/* Stop the thread (a save under way finishes first). */
void rd_save_stop(void);

/*
 * Ask for a save: 0 with *ticket (done when seq_done reaches it), or -1
 * when one is in progress already. clock: the store's clock now (the
 * requesting lcore's; NULL: the real time); bg tells the log which kind.
 */
int rd_save_request(const struct wc_clock *clock, bool bg, uint64_t *ticket);

/* Has the save with this ticket finished? *ok: whether it succeeded. */
bool rd_save_finished(uint64_t ticket, bool *ok);

/*
 * Save on the calling thread (a registered liburcu thread, online; used at
 * shutdown when the lcores have stopped): 0 or an errno. Waits for a
 * background save in progress first.
 */
int rd_save_now(const struct wc_app *app);

void rd_save_get_info(struct rd_save_info *in);

/* dir and dbfilename (CONFIG GET/SET). set: 0, or an error text for CONFIG SET. */
void rd_save_get_dir(char *buf, size_t cap);
void rd_save_get_filename(char *buf, size_t cap);
const char *rd_save_check_dir(const uint8_t *p, uint32_t n);
const char *rd_save_set_dir(const uint8_t *p, uint32_t n);
const char *rd_save_check_filename(const uint8_t *p, uint32_t n);
const char *rd_save_set_filename(const uint8_t *p, uint32_t n);

/* Node-wide counters for the control plane (core/cpcounters.c: rdb_*). */
struct rd_save_counters {
	uint64_t saves;			/* good saves */
	uint64_t failed;		/* failed saves */
	uint64_t keys;			/* keys written by good saves */
	uint64_t bytes;			/* file bytes of good saves */
	uint64_t ms;			/* milliseconds the good saves took */
};

const struct rd_save_counters *rd_save_counters(void);

/*
 * The control socket's SNAPSHOT commands (core/cpif.c; wirecachectl
 * snapshot): "SNAPSHOT SAVE" starts a background save ("OK ticket=N", or
 * "ERR busy: ..."), "SNAPSHOT STATUS" reports the saver ("OK in_progress=0
 * done=N last_ok=1 lastsave=T saves=N failed=N keys=N bytes=N ms=N").
 * false when argv is not one of these two; else the reply line is in out.
 */
bool rd_save_cp_command(int argc, char **argv, char *out, size_t cap);

/* SHUTDOWN asked to stop the node (main.c: no second save at exit). */
bool rd_save_shutdown_done(void);

#endif
