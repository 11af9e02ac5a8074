/*
 * server_cmds.c - server commands: TIME, LASTSAVE (INFO, CONFIG, COMMAND,
 * SLOWLOG and MEMORY have files of their own; WAIT is replication's,
 * repl_cmds.c).
 */
#include <sys/time.h>

#include "redis/cmds.h"
#include "redis/server.h"

static enum rd_res time_cmd(struct rd_session *s)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	resp_array(rd_out(s), 2);
	resp_bulk_i64(rd_out(s), (int64_t)tv.tv_sec);
	resp_bulk_i64(rd_out(s), (int64_t)tv.tv_usec);
	return RD_DONE;
}

static enum rd_res lastsave(struct rd_session *s)
{
	/* (the RDB writer thread sets it after each good save: redis/rdbsave.c) */
	resp_int(rd_out(s), __atomic_load_n(&rd_server(s)->lastsave, __ATOMIC_RELAXED));
	return RD_DONE;
}

struct rd_cmd rd_cmds_server[] = {
	RD_CMD("time", time_cmd, 1, RD_F_LOADING | RD_F_STALE | RD_F_FAST, RD_ACL_FAST, 0, 0, 0,
	       "server", "The server's time", "2.6.0", "O(1)"),
	RD_CMD_TIPS("nondeterministic_output", "lastsave", lastsave, 1,
		    RD_F_LOADING | RD_F_STALE | RD_F_FAST,
		    RD_ACL_FAST | RD_ACL_ADMIN | RD_ACL_DANGEROUS, 0, 0, 0, "server",
		    "When the dataset was last saved (none yet: the start time)", "1.0.0", "O(1)"),
	RD_CMD_END
};
