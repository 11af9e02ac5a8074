/*
 * cmds.h - each command family's table (NULL-name terminated), joined by
 * commands.c, and the helpers family files share for writing their rows.
 */
#ifndef WC_REDIS_CMDS_H
#define WC_REDIS_CMDS_H

#include "redis/rd.h"

extern struct rd_cmd rd_cmds_conn[];	/* conn.c: PING ECHO QUIT HELLO SELECT RESET CLIENT */
extern struct rd_cmd rd_cmds_string[];	/* t_string.c */
extern struct rd_cmd rd_cmds_keys[];	/* keys.c: DEL EXISTS EXPIRE SCAN ... */
extern struct rd_cmd rd_cmds_dump[];	/* dump.c: DUMP RESTORE */
extern struct rd_cmd rd_cmds_migrate[];	/* migrate_cmd.c: MIGRATE RESTORE-ASKING */
extern struct rd_cmd rd_cmds_hash[];	/* t_hash.c */
extern struct rd_cmd rd_cmds_set[];	/* t_set.c */
extern struct rd_cmd rd_cmds_server[];	/* server_cmds.c: TIME LASTSAVE */
extern struct rd_cmd rd_cmds_repl[];	/* repl_cmds.c: SYNC PSYNC REPLCONF WAIT ROLE */
extern struct rd_cmd rd_cmds_rdbsave[];	/* rdbsave.c: SAVE BGSAVE SHUTDOWN */
extern struct rd_cmd rd_cmds_info[];	/* info.c: INFO */
extern struct rd_cmd rd_cmds_config[];	/* config_cmd.c: CONFIG */
extern struct rd_cmd rd_cmds_command[];	/* cmdinfo.c: COMMAND */
extern struct rd_cmd rd_cmds_slowlog[];	/* slowlog.c: SLOWLOG */
extern struct rd_cmd rd_cmds_memory[];	/* memory.c: MEMORY */
extern struct rd_cmd rd_cmds_object[];	/* object_cmd.c: OBJECT */
extern struct rd_cmd rd_cmds_acl[];	/* acl.c: AUTH ACL */
extern struct rd_cmd rd_cmds_multi[];	/* multi.c: MULTI EXEC DISCARD WATCH UNWATCH */
extern struct rd_cmd rd_cmds_pubsub[];	/* pubsub.c: (P|S)SUBSCRIBE (P|S)UNSUBSCRIBE (S)PUBLISH */
extern struct rd_cmd rd_cmds_pubsub_intro[];	/* pubsub_intro.c: PUBSUB */
extern struct rd_cmd rd_cmds_replica[];	/* replica_cmds.c: REPLICAOF SLAVEOF ROLE */
extern struct rd_cmd rd_cmds_cluster[];	/* cluster.c: CLUSTER READONLY READWRITE ASKING */

/* A row: name, handler, arity, flags, ACL categories, first/last/step key, COMMAND DOCS. */
#define RD_CMD_FIELDS(nm, handler, ar, fl, cats, k1, kl, ks, grp, sum, ver, cx) \
	.name = (nm), .fn = (handler), .arity = (ar), .flags = (fl), .acl = (cats), \
	.keys = { (k1), (kl), (ks) }, .group = (grp), .summary = (sum), .since = (ver), \
	.complexity = (cx)
#define RD_CMD(...) { RD_CMD_FIELDS(__VA_ARGS__) }

/*
 * The same with what the command does to its keys (enum rd_key_flags) where
 * the flags cannot tell (a write that deletes, overwrites or inserts).
 */
#define RD_CMD_KS(kf, ...) { RD_CMD_FIELDS(__VA_ARGS__), .key_flags = (kf) }
/* Two key specs: the key at `first` (kf), then the rest of the range (kf2). */
#define RD_CMD_KS2(kf, kf2, ...) \
	{ RD_CMD_FIELDS(__VA_ARGS__), .key_flags = (kf), .key_flags2 = (kf2) }
/* One key spec with variable flags: vf tells them per call (the last argument). */
#define RD_CMD_VKS(kf, nm, h, ar, fl, cats, k1, kl, ks, grp, sum, ver, cx, vf) \
	{ RD_CMD_FIELDS(nm, h, ar, fl, cats, k1, kl, ks, grp, sum, ver, cx), .key_flags = (kf), \
	  .var_flags = (vf) }
/* The same with COMMAND's tips. */
#define RD_CMD_TIPS(tp, ...) { RD_CMD_FIELDS(__VA_ARGS__), .tips = (tp) }

#define RD_CMD_END { .name = NULL }

#endif
