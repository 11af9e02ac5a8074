/*
 * slowlog.c - SLOWLOG GET [count], LEN, RESET and HELP over the node's slow
 * log (server.c records the entries: rd_slowlog_note, in a ring of
 * RD_SLOWLOG_MAX under admin_lock). GET copies the entries it returns out
 * of the ring under the lock, then writes them, so no lcore waits on the
 * lock while a reply is written.
 */
#include <string.h>

#include "redis/cmds.h"
#include "redis/server.h"
#include "redis/text.h"

static enum rd_res slowlog_get(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);
	int64_t count = 10;
	struct rd_slowlog_entry **copy;
	uint32_t n = 0;

	if (rd_argc(s) > 3) {
		rd_err_subcommand(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 3 && (!rd_arg_ll(s, 2, &count) || count < -1)) {
		rd_err(s, "ERR count should be greater than or equal to -1");
		return RD_DONE;
	}
	rte_spinlock_lock(&srv->admin_lock);
	if (count == -1 || count > srv->slowlog_len)
		count = srv->slowlog_len;
	rte_spinlock_unlock(&srv->admin_lock);
	copy = rd_scratch(s, (uint64_t)(count ? count : 1) * sizeof(*copy));
	for (int64_t i = 0; copy && i < count; i++)
		if (!(copy[i] = rd_scratch(s, sizeof(**copy))))
			copy = NULL;
	if (!copy) {
		rd_err(s, "ERR out of memory for the reply");
		return RD_DONE;
	}
	rte_spinlock_lock(&srv->admin_lock);
	for (; n < count && n < srv->slowlog_len; n++) {
		uint32_t at = (srv->slowlog_head + RD_SLOWLOG_MAX - 1 - n) % RD_SLOWLOG_MAX;

		memcpy(copy[n], &srv->slowlog[at], sizeof(**copy));
	}
	rte_spinlock_unlock(&srv->admin_lock);
	/* newest first: id, time, microseconds, arguments, client address, client name */
	resp_array(rd_out(s), n);
	for (uint32_t i = 0; i < n; i++) {
		const struct rd_slowlog_entry *e = copy[i];

		resp_array(rd_out(s), 6);
		resp_int(rd_out(s), (int64_t)e->id);
		resp_int(rd_out(s), e->time);
		resp_int(rd_out(s), (int64_t)e->usec);
		resp_array(rd_out(s), e->nargs);
		for (unsigned k = 0; k < e->nargs; k++)
			resp_bulk(rd_out(s), e->args[k], e->arglen[k]);
		resp_bulk_str(rd_out(s), e->peer);
		resp_bulk_str(rd_out(s), e->name);
	}
	return RD_DONE;
}

static enum rd_res slowlog_len(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);
	uint32_t n;

	rte_spinlock_lock(&srv->admin_lock);
	n = srv->slowlog_len;
	rte_spinlock_unlock(&srv->admin_lock);
	resp_int(rd_out(s), n);
	return RD_DONE;
}

static enum rd_res slowlog_reset(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);

	rte_spinlock_lock(&srv->admin_lock);
	srv->slowlog_len = 0;
	rte_spinlock_unlock(&srv->admin_lock);
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res slowlog_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"GET [<count>]",
		"    The newest <count> entries (10 by default, -1 for all). Each holds: its id,",
		"    the Unix time it was taken, the command's duration in microseconds, the",
		"    command's arguments, the client's address and the client's name.",
		"LEN",
		"    How many entries the log holds.",
		"RESET",
		"    Empty the log.",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}

#define SL (RD_F_ADMIN | RD_F_LOADING | RD_F_STALE)

static struct rd_cmd slowlog_sub[] = {
	RD_CMD_TIPS("request_policy:all_nodes nondeterministic_output", "get", slowlog_get, -2, SL,
		    0, 0, 0, 0, "server", "The newest entries of the slow log", "2.2.12",
		    "O(N) for N entries returned"),
	RD_CMD_TIPS("request_policy:all_nodes response_policy:agg_sum nondeterministic_output",
		    "len", slowlog_len, 2, SL, 0, 0, 0, 0, "server",
		    "How many entries the slow log holds", "2.2.12", "O(1)"),
	RD_CMD_TIPS("request_policy:all_nodes response_policy:all_succeeded", "reset",
		    slowlog_reset, 2, SL, 0, 0, 0, 0, "server", "Empty the slow log", "2.2.12",
		    "O(N) for N entries"),
	RD_CMD("help", slowlog_help, 2, RD_F_LOADING | RD_F_STALE, 0, 0, 0, 0, "server",
	       "What the SLOWLOG subcommands do", "6.2.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_slowlog[] = {
	{ .name = "slowlog", .arity = -2, .sub = slowlog_sub, .group = "server",
	  .summary = "Read and clear the log of slow commands", .since = "2.2.12",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
