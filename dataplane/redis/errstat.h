/*
 * errstat.h - INFO errorstats: the error replies counted by their first
 * word ("ERR", "WRONGTYPE", "OOM" ...), as Redis 7 counts them
 * (errorstat_<WORD>:count=N; total_error_replies is their sum).
 *
 * The words are a fixed table, every prefix wirecache's error texts use,
 * so a count is an array slot in the lcore's rd_lcore_stats: no map, no
 * allocation. A word outside the table counts as ERR.
 */
#ifndef WC_REDIS_ERRSTAT_H
#define WC_REDIS_ERRSTAT_H

/* (in byte order of the words: INFO lists them so, as Redis's sorted table) */
enum rd_errstat {
	RD_ERRSTAT_ASK,
	RD_ERRSTAT_BUSYKEY,
	RD_ERRSTAT_CLUSTERDOWN,
	RD_ERRSTAT_CROSSSLOT,
	RD_ERRSTAT_ERR,
	RD_ERRSTAT_EXECABORT,
	RD_ERRSTAT_IOERR,
	RD_ERRSTAT_LOADING,
	RD_ERRSTAT_MOVED,
	RD_ERRSTAT_NOAUTH,
	RD_ERRSTAT_NOMASTERLINK,
	RD_ERRSTAT_NOPERM,
	RD_ERRSTAT_NOPROTO,
	RD_ERRSTAT_NOREPLICAS,
	RD_ERRSTAT_OOM,
	RD_ERRSTAT_READONLY,
	RD_ERRSTAT_TRYAGAIN,
	RD_ERRSTAT_WRONGPASS,
	RD_ERRSTAT_WRONGTYPE,
	RD_ERRSTAT_N
};

/* The slot of an error text ("WRONGTYPE Operation ..." -> RD_ERRSTAT_WRONGTYPE). */
enum rd_errstat rd_errstat_of(const char *msg);

/* The word INFO prints for a slot ("errorstat_" + it). */
const char *rd_errstat_name(enum rd_errstat e);

#endif
