/*
 * server_cmds.c - server commands: TIME, LASTSAVE, WAIT (INFO, CONFIG,
 * COMMAND, SLOWLOG and MEMORY have files of their own).
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

/* WAIT numreplicas timeout: no replicas yet, so 0 at once. */
static enum rd_res wait_cmd(struct rd_session *s)
{
	int64_t n, t;

	if (!rd_arg_ll(s, 1, &n) || !rd_arg_ll(s, 2, &t)) {
		rd_err_int(s);
		return RD_DONE;
	}
	if (t < 0) {
		rd_err(s, "ERR timeout is negative");
		return RD_DONE;
	}
	resp_int(rd_out(s), 0);
	return RD_DONE;
}

struct rd_cmd rd_cmds_server[] = {
	RD_CMD("time", time_cmd, 1, RD_F_LOADING | RD_F_STALE | RD_F_FAST, RD_ACL_FAST, 0, 0, 0,
	       "server", "The server's time", "2.6.0", "O(1)"),
	RD_CMD_TIPS("nondeterministic_output", "lastsave", lastsave, 1,
		    RD_F_LOADING | RD_F_STALE | RD_F_FAST,
		    RD_ACL_FAST | RD_ACL_ADMIN | RD_ACL_DANGEROUS, 0, 0, 0, "server",
		    "When the dataset was last saved (none yet: the start time)", "1.0.0", "O(1)"),
	RD_CMD("wait", wait_cmd, 3, 0, RD_ACL_SLOW | RD_ACL_CONNECTION, 0, 0, 0, "generic",
	       "Wait for replicas to acknowledge this connection's writes", "3.0.0", "O(1)"),
	RD_CMD_END
};
