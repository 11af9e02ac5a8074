/*
 * cpshm.h - what the dataplane (wirecache-dp) and the control plane
 * (wirecache-cp) share: the control socket's commands and the layout of
 * the shared-memory region the dataplane publishes its state in.
 *
 * Attachment. The dataplane listens on a UNIX stream socket (one per node,
 * --control-socket PATH, default /run/wirecache/wirecache.sock). A client
 * sends one command per line and reads one reply line per command:
 *
 *   HELLO                      OK abi=<n> size=<bytes>, plus the region's
 *                              file descriptor (SCM_RIGHTS) to map read-only
 *   PING                       OK pong
 *   MOVE <from> <to> <part>    start moving slots from..to (inclusive) to
 *                              partition part: OK id=<n>; progress and the
 *                              result appear in wc_cp_shm.move
 *   FLUSH <delay>              flush_all on every partition (delay as
 *                              memcached's flush_all): OK once applied
 *   ID, CMAP ...               who the node is, and the cluster slot map
 *                              staged and published on a connection (the
 *                              syntax: dataplane/core/cpif_cmap.h)
 *
 * Errors reply "ERR <reason>". The region is a memfd the dataplane creates
 * at start, so it has no name to leak and goes away with the last mapping;
 * a restarted dataplane hands out a new one (boot_id tells them apart), which
 * is how the control plane notices it must map again. Nothing here needs
 * DPDK: the control plane works the same whether the dataplane runs on
 * hugepages or with --no-huge (where DPDK secondaries cannot attach).
 *
 * Consistency. The fixed part is written once before the socket accepts
 * anyone. The snapshot part is rewritten every WC_CP_PUBLISH_MS by the
 * dataplane's control thread under a sequence lock (seq odd while writing;
 * a reader copies it and retries if seq moved). The latency histograms are
 * written by each worker lcore directly, one writer per block, and read
 * without a lock (a reader may see one sample half-recorded: a count off by
 * one, never a torn word).
 */
#ifndef WIRECACHE_CPSHM_H
#define WIRECACHE_CPSHM_H

#include <stdint.h>

#include "wirecache/hist.h"
#include "wirecache/slot.h"

#define WC_CP_MAGIC 0x31504357u		/* "WCP1" */
#define WC_CP_ABI 4u
#define WC_CP_MAX_LCORES 64u
#define WC_CP_MAX_PARTS 256u
#define WC_CP_MAX_COUNTERS 256u
#define WC_CP_NAME_LEN 40u
#define WC_CP_PUBLISH_MS 100u
#define WC_CP_LINE_MAX 256u		/* longest command or reply line */
#define WC_CP_DEFAULT_SOCKET "/run/wirecache/wirecache.sock"

/* slot_part entries: the partition, and this bit while the slot is moving */
#define WC_SLOT_MOVING 0x8000u
#define WC_SLOT_PART_MASK 0x7FFFu

enum wc_cp_kind { WC_CP_COUNTER = 0, WC_CP_GAUGE = 1 };

struct wc_cp_counter_desc {
	char name[WC_CP_NAME_LEN];	/* memcached-style name: get_hits, rx_packets ... */
	uint32_t kind;			/* enum wc_cp_kind */
	uint32_t resettable;		/* memcached "stats reset" subtracts base[] */
};

/* One worker lcore's counters, in the order of wc_cp_shm.counters. */
struct wc_cp_lcore_snap {
	uint64_t v[WC_CP_MAX_COUNTERS];
	uint64_t loops;			/* poll passes */
	uint64_t busy_tsc;		/* TSC cycles of passes that did work (core/busy.h) */
	uint64_t total_tsc;		/* all TSC cycles of the loop: busy / total = busy ratio */
};

struct wc_cp_part_snap {
	uint32_t id, owner;		/* owner: worker lcore index */
	uint64_t items, bytes, limit_bytes, total_items;
	uint64_t evictions, evicted_unfetched, expirations, reclaimed, relocations;
	uint64_t index_bytes;		/* of limit_bytes: the hash index, allocated up front */
	/* replication log (store/repl.h): all 0 until a replica first attached */
	uint64_t repl_offset;		/* master offset: where the next entry goes */
	uint64_t repl_backlog_first;	/* oldest offset a replica may resume from */
	uint64_t repl_backlog_size;	/* ring bytes */
	uint64_t repl_entries, repl_resyncs;
};

enum wc_cp_move_state {
	WC_MOVE_IDLE = 0,
	WC_MOVE_FREEZING,	/* new table marks the slots moving: their writes park */
	WC_MOVE_DRAINING,	/* waiting for writes already queued to the old owners */
	WC_MOVE_COPYING,	/* the new owner copies the slots' items */
	WC_MOVE_SWITCHING,	/* new table published, parked writes forwarded */
	WC_MOVE_DROPPING,	/* the old owners delete their copies */
	WC_MOVE_DONE,
	WC_MOVE_FAILED,
};

struct wc_cp_move_snap {
	uint64_t id;			/* 0: none yet */
	uint32_t state;			/* enum wc_cp_move_state */
	uint32_t from, to, part;	/* slots from..to go to partition part */
	uint32_t slots;			/* slots that changed partition */
	uint32_t copy_passes, drop_passes;
	uint64_t keys_copied, copy_failed, keys_dropped, parked;
	int64_t started_unix_ms;
	uint64_t freeze_us;		/* writes to the slots were parked this long */
	uint64_t copy_us;
	uint64_t total_us;
	char error[128];
};

struct wc_cp_lat_block {
	struct wc_hist h;		/* service latency in ns, per store operation */
} __attribute__((aligned(64)));

struct wc_cp_shm {
	/* ---- fixed once the socket listens ---- */
	uint32_t magic, abi;
	uint64_t size;			/* bytes of the whole region */
	uint64_t boot_id;		/* differs on every dataplane start */
	int64_t pid;
	int64_t started_unix;
	uint64_t tsc_hz;
	char version[32];
	char name[112];			/* the control socket's path */
	uint32_t nworkers, nparts, ncounters, pad0;
	uint64_t mem_limit, max_conns;
	uint32_t lcore_id[WC_CP_MAX_LCORES];	/* EAL lcore of each worker */
	struct wc_cp_counter_desc counters[WC_CP_MAX_COUNTERS];

	/* ---- snapshot, under seq ---- */
	uint64_t seq;
	int64_t published_unix_ms;
	uint64_t publishes;
	uint64_t base[WC_CP_MAX_COUNTERS];	/* "stats reset" baseline of the totals */
	struct wc_cp_lcore_snap lc[WC_CP_MAX_LCORES];
	struct wc_cp_part_snap part[WC_CP_MAX_PARTS];
	uint64_t slot_epoch;			/* bumped on every table change */
	uint16_t slot_part[WC_SLOTS];		/* partition | WC_SLOT_MOVING */
	/* node owning the slot: 0 this node, 1 + k node k of the cluster map, 0xFFFF none */
	uint16_t slot_node[WC_SLOTS];
	uint64_t moves_done, moves_failed;
	struct wc_cp_move_snap move;		/* the move running, or the last one */

	/* ---- written by the worker lcores themselves ---- */
	struct wc_cp_lat_block lat[WC_CP_MAX_LCORES];
};

#endif
