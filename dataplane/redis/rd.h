/*
 * rd.h - the Redis engine: one session per client connection, the command
 * table, and how a command handler reaches the store.
 *
 * A connection's lcore parses each command (proto/resp.h), looks it up,
 * checks arity, authentication, ACLs and cluster routing, and runs its
 * handler. Handlers follow the store's concurrency rule (store.h):
 *
 *  - reads run right here, on any partition, lock-free;
 *  - anything that writes runs on the owner lcore of the key's partition,
 *    as an owner call (rd_call): inline when this lcore owns it, else a
 *    mailbox request (WC_MB_CALL) whose function runs on the owner and
 *    writes its reply into a buffer that comes back with the completion.
 *    The command's arguments stay where the parser left them (receive
 *    buffers, arena, stages) until the command is finished, so the owner
 *    reads them in place.
 *
 * A handler is re-entered after each completion with s->step advanced, so
 * a command may make several owner calls (a fan-out over partitions sums
 * what each returns in s->acc). Replies go to the connection's sink in
 * command order, streamed under backpressure like memcached's.
 *
 * Values carry their Redis type in the store's ext word (store/item.h); a
 * memcached item is a Redis string and the reverse (one keyspace).
 */
#ifndef WC_REDIS_RD_H
#define WC_REDIS_RD_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/mc_session.h"
#include "proto/resp.h"
#include "proto/resp_out.h"
#include "redis/errstat.h"
#include "redis/pubsub.h"
#include "redis/push.h"
#include "redis/tracking_state.h"
#include "store/kv.h"

struct wc_lcore;
struct rd_session;
struct rd_server;
struct rd_user;

#define RD_NAME_MAX 64
#define RD_ARENA_CHUNKS 256		/* a command's copied arguments: at most 16 MiB */
#define RD_ARENA_SMALL 512		/* the first bytes come from the session itself */
#define RD_WATCH_MAX 64
#define RD_JOB_BYTES 96			/* a handler's parsed options (rdutil.h) */

/* What a handler (or an owner call) reports. */
enum rd_res {
	RD_DONE,		/* the reply is written */
	RD_PENDING,		/* owner calls are in flight: re-entered when they complete */
	RD_BUSY,		/* the mailbox was full: re-entered soon */
	RD_CLOSE,		/* close the connection after the reply (QUIT) */
};

typedef enum rd_res (*rd_handler)(struct rd_session *s);

/* Command flags (COMMAND INFO names them). */
enum rd_cmd_flags {
	RD_F_WRITE = 1u << 0,
	RD_F_READONLY = 1u << 1,
	RD_F_DENYOOM = 1u << 2,
	RD_F_ADMIN = 1u << 3,
	RD_F_PUBSUB = 1u << 4,
	RD_F_NOSCRIPT = 1u << 5,
	RD_F_BLOCKING = 1u << 6,
	RD_F_LOADING = 1u << 7,
	RD_F_STALE = 1u << 8,
	RD_F_SKIP_MONITOR = 1u << 9,
	RD_F_SKIP_SLOWLOG = 1u << 10,
	RD_F_ASKING = 1u << 11,
	RD_F_FAST = 1u << 12,
	RD_F_NO_AUTH = 1u << 13,
	RD_F_MAY_REPLICATE = 1u << 14,
	RD_F_NO_MULTI = 1u << 15,
	RD_F_MOVABLE_KEYS = 1u << 16,
	RD_F_ALLOW_BUSY = 1u << 17,
	RD_F_NO_MANDATORY_KEYS = 1u << 18,
	RD_F_NO_ASYNC_LOADING = 1u << 19,
};

/* ACL categories (bit per category, names in acl.c). */
enum rd_acl_cat {
	RD_ACL_KEYSPACE = 1u << 0, RD_ACL_READ = 1u << 1, RD_ACL_WRITE = 1u << 2,
	RD_ACL_SET = 1u << 3, RD_ACL_SORTEDSET = 1u << 4, RD_ACL_LIST = 1u << 5,
	RD_ACL_HASH = 1u << 6, RD_ACL_STRING = 1u << 7, RD_ACL_BITMAP = 1u << 8,
	RD_ACL_HYPERLOGLOG = 1u << 9, RD_ACL_GEO = 1u << 10, RD_ACL_STREAM = 1u << 11,
	RD_ACL_PUBSUB = 1u << 12, RD_ACL_ADMIN = 1u << 13, RD_ACL_FAST = 1u << 14,
	RD_ACL_SLOW = 1u << 15, RD_ACL_BLOCKING = 1u << 16, RD_ACL_DANGEROUS = 1u << 17,
	RD_ACL_CONNECTION = 1u << 18, RD_ACL_TRANSACTION = 1u << 19, RD_ACL_SCRIPTING = 1u << 20,
};
#define RD_ACL_NCATS 21

/* What a command does with its keys (COMMAND's key specs, Redis's names). */
enum rd_key_flags {
	RD_KS_RO = 1u << 0,		/* read only */
	RD_KS_RW = 1u << 1,		/* read and written */
	RD_KS_OW = 1u << 2,		/* overwritten, not read */
	RD_KS_RM = 1u << 3,		/* deleted */
	RD_KS_ACCESS = 1u << 4,		/* the value is returned or used */
	RD_KS_UPDATE = 1u << 5,		/* an existing value is changed */
	RD_KS_INSERT = 1u << 6,		/* a value is added */
	RD_KS_DELETE = 1u << 7,		/* a value is removed */
	RD_KS_NOT_KEY = 1u << 8,
	RD_KS_INCOMPLETE = 1u << 9,
	RD_KS_VARIABLE_FLAGS = 1u << 10,
};

/* How a command's keys are found (Redis's legacy first/last/step). */
struct rd_keyspec {
	int8_t first;		/* 0: no keys */
	int8_t last;		/* -1: the last argument, -2: the one before ... */
	int8_t step;
};

struct rd_cmd {
	const char *name;		/* lower case */
	rd_handler fn;
	int16_t arity;			/* N: exactly N arguments with the name; -N: at least N */
	uint32_t flags;			/* enum rd_cmd_flags */
	uint32_t acl;			/* enum rd_acl_cat */
	struct rd_keyspec keys;
	/* keys found by the arguments themselves (COMMAND GETKEYS, movablekeys) */
	unsigned (*getkeys)(const struct resp_cmd *cmd, uint32_t *pos, unsigned max);
	struct rd_cmd *sub;		/* subcommands (CLIENT, CONFIG ...), NULL-name terminated */
	const char *group;		/* COMMAND DOCS: "string", "generic", "server" ... */
	const char *summary;
	const char *since;
	const char *complexity;
	const char *tips;		/* COMMAND's tips, space separated ("nondeterministic_output") */
	uint16_t key_flags;		/* enum rd_key_flags; 0: told by flags (cmdinfo.c) */
	/*
	 * non-zero: two key specs, as Redis has for RENAME, COPY, SMOVE and the
	 * *STORE commands: the key at `first` (key_flags), then the rest of the
	 * range from first + 1 (key_flags2)
	 */
	uint16_t key_flags2;
	/*
	 * >0: the number of keys is the argument at this index and the keys
	 * follow it (SINTERCARD): a keynum key spec (getkeys finds them)
	 */
	int8_t keynum_index;
	/* a spec with RD_KS_VARIABLE_FLAGS: the flags of the key at pos in cmd (GETKEYSANDFLAGS) */
	uint16_t (*var_flags)(const struct resp_cmd *cmd, uint32_t pos);
	uint16_t id;			/* index for statistics (filled at start) */
};

/* The id of a command outside the table (the master link's: redis/replica.h): no statistics. */
#define RD_CMD_ID_PRIVATE 0xFFFFu

/* ---- the session ---- */

enum rd_state {
	RD_S_PARSE = 0,		/* between commands, or a command still arriving */
	RD_S_RUN,		/* a handler waits for owner calls or mailbox room */
	RD_S_CLOSE,		/* close once the replies are out */
};

enum rd_client_flags {
	RD_C_MULTI = 1u << 0,		/* inside MULTI: commands are queued */
	RD_C_DIRTY_EXEC = 1u << 1,	/* a queued command was refused: EXEC aborts */
	RD_C_DIRTY_CAS = 1u << 2,	/* a watched key changed */
	RD_C_READONLY = 1u << 3,	/* READONLY (cluster) */
	RD_C_ASKING = 1u << 4,		/* ASKING: the next command may use an importing slot */
	RD_C_REPLY_OFF = 1u << 5,	/* CLIENT REPLY OFF */
	RD_C_REPLY_SKIP_NEXT = 1u << 6,	/* CLIENT REPLY SKIP: the next command is silent */
	RD_C_REPLY_SKIP = 1u << 7,	/* this command is silent */
	RD_C_NO_EVICT = 1u << 8,	/* CLIENT NO-EVICT on */
	RD_C_KILLED = 1u << 9,		/* CLIENT KILL: close at the next chance */
	RD_C_CLOSE_AFTER_REPLY = 1u << 10,
	RD_C_PUBSUB = 1u << 12,		/* subscribed to something (pubsub.c; CLIENT LIST's P) */
	/*
	 * this command writes keys of a slot this node is migrating away and was
	 * admitted because they were here: its owner call answers ASK instead if
	 * the key is gone by the time it runs (a MIGRATE's delete got there first)
	 */
	RD_C_ASK_GUARD = 1u << 13,
	/* a replica's connection on the master: it has a feed (redis/repl_master.h) */
	RD_C_REPL_FEED = 1u << 20,
	/*
	 * the link from this replica's master (redis/replica.h): no auth, ACL,
	 * cluster or READONLY checks, replies discarded, private commands
	 */
	RD_C_MASTER = 1u << 14,
};

/*
 * Memory a command's copied arguments live in: chunks of the lcore's stage
 * pool, each starting with a link to the one before (so the session holds
 * one pointer, not a table), after a small area of the session's own.
 */
struct rd_arena {
	uint8_t *cur;			/* chunk being filled: [prev chunk][bytes ...] */
	uint32_t used, cap;
	uint16_t nchunks;
	uint32_t small_used;
	uint8_t small[RD_ARENA_SMALL] __attribute__((aligned(16)));
};

/* Where an arena stands (to give back what was taken after it). */
struct rd_arena_mark {
	uint8_t *cur;
	uint32_t used, cap;
	uint16_t nchunks;
};

struct rd_watch {
	uint64_t hash;
	uint64_t cas;			/* 0: absent when watched */
	uint16_t part;
	uint8_t klen;
	uint8_t key[255];
};

struct rd_multi;			/* queued commands (multi.c) */

struct rd_session {
	/* these two match struct mc_session: mailbox completions are dispatched on them */
	void *owner;
	uint8_t owner_kind;		/* MC_OWNER_REDIS */
	uint8_t st;			/* enum rd_state */
	uint8_t proto;			/* 2 or 3 (HELLO) */
	uint8_t close_reason;		/* enum mc_close_reason */
	bool busy;			/* a handler waits for mailbox room */
	bool stage_wait;		/* waiting for the stage pool (transport: retry) */
	bool authenticated;
	bool fast_get;			/* may GET any key: the single-GET fast path applies */
	bool fast_set;			/* may SET any key: the transports' SET fast path applies */
	bool fast_setex, fast_psetex, fast_del;	/* ... SETEX, PSETEX, DEL (rd_tcp_pipe.c) */
	bool fast_mget;			/* may MGET any key: the transports' MGET fast path applies */
	bool fast_incr, fast_decr, fast_incrby, fast_decrby;	/* ... the counters (rd_tcp_pipe.c) */
	uint64_t acl_uid;		/* the user, by id (acl.c): changes and deletion are seen */
	uint64_t acl_gen;		/* the user table generation s->user was found in */
	uint32_t raddr, laddr;		/* the peer's and our IPv4 address (host order) */
	uint16_t rport;			/* the peer's port */
	bool counted;			/* in connected_clients (the transport's) */
	uint32_t pending;		/* owner calls in flight */
	uint32_t pending_base;		/* of which not the running handler's (EXEC on an owner) */
	uint32_t flags;			/* enum rd_client_flags */
	uint16_t ask_slot, ask_node;	/* with RD_C_ASK_GUARD: the slot and its target */
	uint64_t id;			/* CLIENT ID */
	/* the command being parsed or run */
	struct resp_parser parser;
	struct resp_cmd cmd;
	const struct rd_cmd *def;
	uint32_t step;			/* the handler's progress */
	uint32_t cursor;
	int64_t acc, acc2;		/* what owner calls add up */
	uint8_t job[RD_JOB_BYTES] __attribute__((aligned(16)));
	uint64_t tsc_start;		/* command statistics */
	bool failed;			/* the command answered with an error */
	bool call_failed;		/* an owner call's reply did not fit a buffer */
	bool oom_refused;		/* a write refused for memory: counted as rejected (OOM) */
	bool queued;			/* queued in MULTI: counted when EXEC runs it, not now */
	uint32_t redact;		/* arguments (bit i: argument i) the slow log must not keep */
	struct mc_out *out;		/* where this command's reply goes (a discard sink when silent) */
	/* set on every run: the lcore's environment, the connection's queues */
	struct mc_env *env;
	struct mc_inq *in;
	struct mc_out *conn_out;
	struct rd_arena arena;
	uint8_t nstages;
	struct wc_stage stages[RESP_STAGES_MAX];
	/* the client */
	const struct rd_user *user;	/* valid while acl_gen is the current table's (acl.c) */
	char name[RD_NAME_MAX];
	char lib_name[32], lib_ver[32];
	uint64_t created_ms;
	uint32_t laddr_port;		/* (CLIENT LIST: the port it came in on) */
	uint16_t last_cmd_id;		/* (CLIENT LIST cmd=) the last command looked up, by id
					 * (rd_cmd_all); RD_CMD_ID_PRIVATE: none */
	struct rd_multi *multi;
	uint8_t nwatch;
	struct rd_watch *watch;		/* RD_WATCH_MAX, in a stage chunk while any is set */
	struct rd_push_sess push;	/* frames without a request (push.h) */
	struct rd_pubsub_sess sub;	/* Pub/Sub subscriptions (pubsub.h) */
	struct rd_trk_sess trk;		/* client tracking (redis/tracking.h) */
};

void rd_session_init(struct rd_session *s, uint64_t id, uint64_t now_ms);

/*
 * Run commands from in, replies to out (the same contract as
 * mc_session_run: MC_RUN_MORE, PENDING, BUSY, CLOSE, FULL).
 */
enum mc_run rd_session_run(struct rd_session *s, struct mc_inq *in, struct mc_out *out,
			   struct mc_env *env);

/* An owner call of this session completed (req->cookie == s). */
void rd_session_complete(struct rd_session *s, struct wc_mbox_req *req, struct mc_inq *in,
			 struct mc_out *out, struct mc_env *env);

/*
 * Between commands, nothing outstanding, nothing special about the
 * connection (MULTI, silent replies, being killed, tracking that needs the
 * general path): a transport's fast path may answer the next command itself
 * (rd_tcp.c: a lone GET, which remembers a tracking client's read itself).
 */
static inline bool rd_session_idle(const struct rd_session *s)
{
	return s->st == RD_S_PARSE && s->parser.st == 0 && s->fast_get && s->authenticated &&
	       !(s->flags & (RD_C_MULTI | RD_C_REPLY_OFF | RD_C_REPLY_SKIP_NEXT | RD_C_KILLED |
			     RD_C_PUBSUB)) &&
	       rd_trk_fast_ok(&s->trk);
}

/* The command-table id of GET (for the fast path's statistics), set by rd_cmds_init. */
extern uint16_t rd_get_cmd_id;

/* ... and of SET (the SET fast path's statistics and ACL check). */
extern uint16_t rd_set_cmd_id;

/* ... and of SETEX, PSETEX and DEL (the cache-aside writes' fast path, rd_tcp_pipe.c). */
extern uint16_t rd_setex_cmd_id, rd_psetex_cmd_id, rd_del_cmd_id;
/* ... and of MGET (the MGET fast path's statistics and ACL check). */
extern uint16_t rd_mget_cmd_id;

/* ... and of INCR, DECR, INCRBY and DECRBY (the counters' fast path, rd_tcp_pipe.c). */
extern uint16_t rd_incr_cmd_id, rd_decr_cmd_id, rd_incrby_cmd_id, rd_decrby_cmd_id;

/*
 * What the session waited for outside the mailbox is over (the transport
 * took s->pending down): the handler runs again.
 */
void rd_session_resume(struct rd_session *s, struct mc_inq *in, struct mc_out *out,
		       struct mc_env *env);

/* In the middle of a request (the request timeout applies). */
bool rd_session_mid_request(const struct rd_session *s, const struct mc_inq *in);

/* The connection is going away: give back arena, stages, watches (none in flight). */
void rd_session_release(struct rd_session *s, struct mc_env *env);

/* ---- what handlers use ---- */

/*
 * Instantaneous rates (INFO's instantaneous_*): every RD_INST_PERIOD_MS the
 * lcore records the rate of each counter since the last sample into a ring;
 * a rate is the mean of the ring (Redis keeps 16 samples, 100 ms apart).
 */
#define RD_INST_SAMPLES 16
#define RD_INST_PERIOD_MS 100
enum { RD_INST_OPS, RD_INST_NET_IN, RD_INST_NET_OUT, RD_INST_N };

struct rd_inst {
	int64_t last_ms;
	uint64_t last[RD_INST_N];
	uint64_t rate[RD_INST_N][RD_INST_SAMPLES];	/* per second */
	uint32_t idx;
};

/* The lcore's Redis side (one per worker lcore, in struct wc_lcore). */
struct rd_lcore_stats {
	uint64_t commands;		/* total_commands_processed */
	uint64_t rejected, failed;	/* errors before a command ran / from a command */
	uint64_t net_in, net_out;	/* bytes of RESP in and out */
	uint64_t connections;		/* total_connections_received (RESP) */
	uint64_t unknown;		/* unknown commands */
	/* per command id; time in TSC cycles (INFO converts: no division per command) */
	uint64_t *calls, *cycles, *cmd_rejected, *cmd_failed;
	uint64_t open;			/* gauge: Redis sessions not yet ended (connected_clients) */
	uint64_t obuf_disconnections;	/* cut past client-output-buffer-limit (push.h) */
	uint64_t errstat[RD_ERRSTAT_N];	/* error replies by their first word (errstat.h) */
	struct rd_inst inst;		/* written by the lcore, read by INFO on any lcore */
};

/* The handler's view: the session, and where its lcore's things are. */
struct mc_env *rd_env(const struct rd_session *s);
struct wc_lcore *rd_lcore(const struct rd_session *s);
struct rd_server *rd_server(const struct rd_session *s);

static inline uint32_t rd_argc(const struct rd_session *s)
{
	return s->cmd.argc;
}

static inline const struct resp_arg *rd_arg(const struct rd_session *s, uint32_t i)
{
	return resp_argv(&s->cmd, i);
}

/* Argument i's bytes, contiguous (arguments up to RESP_CONTIG_MAX always are); NULL if not. */
static inline const uint8_t *rd_argp(const struct rd_session *s, uint32_t i)
{
	const struct resp_arg *a = rd_arg(s, i);

	return a->kind == RESP_ARG_PTR ? a->u.p : NULL;
}

static inline bool rd_arg_is(const struct rd_session *s, uint32_t i, const char *lit)
{
	return resp_arg_is(rd_arg(s, i), lit);
}

/* Copy n bytes from offset off of argument i (any kind of argument). */
void rd_arg_read(const struct rd_session *s, uint32_t i, uint64_t off, void *dst, uint64_t n);

/* Redis's string2ll and strtold rules on raw bytes. */
bool rd_parse_ll(const uint8_t *p, uint32_t n, int64_t *out);
bool rd_parse_ld(const uint8_t *p, uint32_t n, long double *out);

/* Argument i as a Redis integer (string2ll rules). */
bool rd_arg_ll(const struct rd_session *s, uint32_t i, int64_t *out);
/* Argument i as a Redis double (strtold rules, no spaces, no NaN). */
bool rd_arg_ld(const struct rd_session *s, uint32_t i, long double *out);

/*
 * Scratch memory for the current command (its arena): n bytes, 16-byte
 * aligned, given back when the command finishes; NULL when none is left.
 */
void *rd_scratch(struct rd_session *s, uint64_t n);

/* The arena now; and giving back to pool every chunk taken since a mark. */
struct rd_arena_mark rd_arena_mark(const struct rd_session *s);
void rd_arena_release_since(struct rd_session *s, const struct rd_arena_mark *m,
			    struct wc_stage_pool *pool);

/* The reply sink of the current command (silent under CLIENT REPLY OFF/SKIP). */
static inline struct mc_out *rd_out(struct rd_session *s)
{
	return s->out;
}

/* Errors, as Redis words them. */
void rd_err(struct rd_session *s, const char *msg);
void rd_err_fmt(struct rd_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rd_err_syntax(struct rd_session *s);			/* ERR syntax error */
void rd_err_int(struct rd_session *s);			/* ERR value is not an integer ... */
void rd_err_wrongtype(struct rd_session *s);		/* WRONGTYPE Operation against ... */
void rd_err_arity(struct rd_session *s);			/* wrong number of arguments ... */

/* Where a key lives. */
struct rd_route {
	struct wc_part *part;
	unsigned owner;			/* the lcore (mailbox endpoint) that writes it */
	uint16_t slot;
	uint16_t part_idx;
};

void rd_route_key(const struct rd_session *s, const uint8_t *key, uint32_t klen,
		  struct rd_route *out);

/* A lock-free read of key on this lcore (any type, counted as a keyspace hit/miss). */
bool rd_lookup(struct rd_session *s, const uint8_t *key, uint32_t klen, struct wc_view *v,
	       unsigned lflags);

/* ---- owner calls ---- */

/* What an owner function gets, on the partition owner's lcore. */
struct rd_owner {
	struct wc_part *part;
	struct wc_ctx *ctx;		/* the owner lcore's store context */
	const struct rd_session *s;	/* the command (read only: its arguments, proto) */
	struct mc_out *out;		/* the reply (NULL for a call that only adds to acc) */
	int64_t acc, acc2;		/* added to s->acc, s->acc2 on completion */
	uint32_t arg0;			/* which part of the command this call is for */
};

typedef void (*rd_owner_fn)(struct rd_owner *o);

/*
 * Run fn on the owner of part: now (returns RD_DONE) when this lcore owns
 * it, else through the mailbox (RD_PENDING; RD_BUSY when it is full: call
 * again). With reply, fn writes the command's reply; without, only acc.
 * key names the call for a live slot move (the first key it concerns).
 */
enum rd_res rd_call(struct rd_session *s, const struct rd_route *rt, rd_owner_fn fn, bool reply,
		    uint32_t arg0, const uint8_t *key, uint32_t klen);

/* Owner calls the running handler has in flight (its fan-out waits for them). */
static inline uint32_t rd_calls_out(const struct rd_session *s)
{
	return s->pending - s->pending_base;
}

/* A reply's type error etc. from an owner function. */
static inline uint8_t rd_proto(const struct rd_session *s)
{
	return s->proto;
}

/* ---- the command table (commands.c) ---- */

const struct rd_cmd *rd_cmd_lookup(const struct resp_arg *name);
/* The container command of a subcommand, or NULL. */
const struct rd_cmd *rd_cmd_parent(const struct rd_cmd *c);
/* Subcommand of a container command (args[1]), or NULL. */
const struct rd_cmd *rd_subcmd_lookup(const struct rd_cmd *parent, const struct resp_arg *name);
/* Every command, for COMMAND and the statistics (n filled). */
const struct rd_cmd *const *rd_cmd_all(unsigned *n);
/* A command by its full name ("get", "client|list"), case-insensitive, or NULL. */
const struct rd_cmd *rd_cmd_by_fullname(const uint8_t *p, uint32_t n);
/* Top-level commands only (COMMAND, COMMAND COUNT). */
const struct rd_cmd *const *rd_cmd_tops(unsigned *n);
/* Build the lookup table and number every command (once, before the lcores start). */
void rd_cmds_init(void);
unsigned rd_cmd_count(void);

/*
 * Positions of the command's keys in its arguments; returns how many (at
 * most max). Arguments its key spec marks RD_KS_NOT_KEY (shard channels)
 * are not keys here: not to ACL key rules, transactions, tracking or
 * COMMAND GETKEYS, as in Redis 7.0.
 */
unsigned rd_cmd_keys(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t *pos,
		     unsigned max);
/* The same with those arguments too (Redis's legacy range: cluster slot checks). */
unsigned rd_cmd_key_args(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t *pos,
			 unsigned max);

/* ---- the parts of the engine the session calls into ---- */

/* call.c: an owner call completed (the reply it wrote goes out now) */
void rd_call_complete(struct rd_session *s, struct wc_mbox_req *req);

/* multi.c: MULTI/EXEC/WATCH */
bool rd_multi_passes(const struct rd_cmd *c);	/* runs at once even inside MULTI */
void rd_multi_queue(struct rd_session *s);	/* queue the current command (+QUEUED) */
void rd_multi_discard(struct rd_session *s);
uint32_t rd_multi_count(const struct rd_session *s);	/* commands queued (CLIENT LIST multi=) */
uint64_t rd_multi_mem(const struct rd_session *s);	/* memory they hold (multi-mem=) */
void rd_watch_clear(struct rd_session *s);
/* Each queued command of the transaction, in order, until fn returns false. */
void rd_multi_each(const struct rd_session *s,
		   bool (*fn)(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd),
		   void *arg);

/* cluster.c: CROSSSLOT / MOVED / ASK before a command runs (false: answered) */
bool rd_cluster_admit(struct rd_session *s, const struct rd_cmd *c);
/* cluster.c: a command finished (ASKING lasts for one) */
void rd_cluster_command_done(struct rd_session *s);
/*
 * cluster.c, on the owner of a guarded write's key (RD_C_ASK_GUARD): true
 * when the key is gone, with the ASK error written to out instead
 */
bool rd_cluster_ask_instead(const struct rd_session *s, struct wc_part *part, struct wc_ctx *ctx,
			    const uint8_t *key, uint32_t klen, struct mc_out *out);

/* An inline command that is an HTTP request line (proto/xproto.h). */
bool rd_inline_is_http(const struct rd_session *s);

#endif
