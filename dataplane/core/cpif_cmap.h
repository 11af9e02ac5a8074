/*
 * cpif_cmap.h - the control socket's cluster commands (issue 13's interface
 * I1): ID, which says who this dataplane is, and CMAP, with which the
 * control plane stages a whole cluster slot map on its connection and
 * publishes it at once:
 *
 *   ID                                 OK id=<40 hex> ip=<ip> port=<redis port>
 *                                         cport=<bus port> mcport=<memcached port>
 *                                         cluster=<0|1>
 *   CMAP BEGIN <current_epoch>         OK (drops a map already staged)
 *   CMAP NODE <id> <ip> <port> <cport> <master|replica> <config_epoch>
 *             <master-id|-> [myself] [mc=<memcached port>]      OK
 *   CMAP SLOTS <from> <to> <id>        OK (inclusive; the node was added first)
 *   CMAP MIGRATING <from> <to> <dst-id>  OK (slots of myself being sent to dst)
 *   CMAP IMPORTING <from> <to> <src-id>  OK (slots myself takes from src)
 *   CMAP COMMIT                        OK epoch=<e> nodes=<n> assigned=<slots>
 *   CMAP STATE                         OK epoch=<e> nodes=<n> assigned=<slots>
 *
 * The optional tokens after <master-id|-> come in any order. mc= is the
 * node's memcached port, which "SERVER_ERROR moved ip:port" names; without
 * it a node is taken to use this dataplane's own memcached port.
 *
 * Anything malformed answers "ERR <what is wrong>" and drops the staged map
 * (the control plane starts again with BEGIN). COMMIT refuses, changing
 * nothing, a map with no node marked myself, one whose myself is another
 * node's id, one older (current epoch) than the map in force, and any map
 * on a dataplane started without --cluster. A COMMIT that succeeds
 * publishes the Redis map (rd_server.cmap) and the slot -> node table the
 * memcached path reads (core/slots.h), both under RCU. MIGRATING and
 * IMPORTING (inclusive ranges, the node added first) fill the map's
 * migrating[] / importing[] (ASK, ASKING and TRYAGAIN for Redis clients);
 * memcached routes by owner only, a slot being migrated away is still this
 * node's for it.
 *
 * Parsing and checking (wc_cmap_parse) touch nothing but the staged map,
 * so they are unit-tested and fuzzed without a dataplane; wc_cmap_command
 * is what the control thread (core/cpif.c) calls.
 */
#ifndef WC_CORE_CPIF_CMAP_H
#define WC_CORE_CPIF_CMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis/cluster_map.h"

struct wc_app;
struct wc_migrator;
struct wc_slot_table;

/* A control connection's staged map (NULL: none). */
struct wc_cmap_stage;

/* What the commands need to know about this dataplane. */
struct wc_cmap_self {
	const char *id;				/* 40 hex; NULL: no Redis side, no id */
	const char *ip;				/* the announced address */
	uint16_t port, cport, mcport;		/* Redis, cluster bus, memcached (TCP) */
	bool cluster;				/* started with --cluster */
	bool mc_read_replicas;			/* --mc-read-replicas */
	const struct rd_cluster_map *published;	/* the map in force (NULL without --cluster) */
};

/* A committed map, checked and built, to publish (then free what is left). */
struct wc_cmap_built {
	struct rd_cluster_map *map;
	struct wc_slot_table *nodes;		/* node[], remote, redirect[] only (malloc'd) */
};

enum wc_cmap_act {
	WC_CMAP_NOT_MINE,	/* not ID or CMAP: nothing done */
	WC_CMAP_REPLIED,	/* out holds the reply line */
	WC_CMAP_COMMIT,		/* *built is ready; out holds the OK line to send once published */
};

/*
 * One command line, split into argc words: ID or CMAP against the staged
 * map *st (made and dropped here). The reply (ending in '\n') goes to out.
 */
enum wc_cmap_act wc_cmap_parse(struct wc_cmap_stage **st, const struct wc_cmap_self *self,
			       int argc, char **argv, char *out, size_t cap,
			       struct wc_cmap_built *built);

/* Free a staged map (and set *st to NULL). */
void wc_cmap_stage_drop(struct wc_cmap_stage **st);

/* Free what a built map still holds (after publishing, or instead of it). */
void wc_cmap_built_free(struct wc_cmap_built *b);

/*
 * Publish b: the slot -> node table through mig (or directly when there is
 * no mover), then the Redis map; each old one is freed after a grace period.
 * Takes b->map; -1 (nothing published) when out of memory.
 */
int wc_cmap_publish(struct wc_app *app, struct wc_migrator *mig, struct wc_cmap_built *b);

/*
 * The control thread's entry: wc_cmap_parse with this dataplane as self,
 * then wc_cmap_publish on COMMIT. false when the line is not ID or CMAP.
 */
bool wc_cmap_command(struct wc_app *app, struct wc_migrator *mig, struct wc_cmap_stage **st,
		     int argc, char **argv, char *out, size_t cap);

#endif
