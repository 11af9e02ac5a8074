/*
 * errstat.c - the error words of INFO errorstats and the classification
 * of an error text into them (errstat.h). Runs only when an error is
 * answered.
 */
#include <string.h>

#include "redis/errstat.h"

static const char *const words[RD_ERRSTAT_N] = {
	[RD_ERRSTAT_ASK] = "ASK",
	[RD_ERRSTAT_BUSYKEY] = "BUSYKEY",
	[RD_ERRSTAT_CLUSTERDOWN] = "CLUSTERDOWN",
	[RD_ERRSTAT_CROSSSLOT] = "CROSSSLOT",
	[RD_ERRSTAT_ERR] = "ERR",
	[RD_ERRSTAT_EXECABORT] = "EXECABORT",
	[RD_ERRSTAT_IOERR] = "IOERR",
	[RD_ERRSTAT_LOADING] = "LOADING",
	[RD_ERRSTAT_MOVED] = "MOVED",
	[RD_ERRSTAT_NOAUTH] = "NOAUTH",
	[RD_ERRSTAT_NOMASTERLINK] = "NOMASTERLINK",
	[RD_ERRSTAT_NOPERM] = "NOPERM",
	[RD_ERRSTAT_NOPROTO] = "NOPROTO",
	[RD_ERRSTAT_NOREPLICAS] = "NOREPLICAS",
	[RD_ERRSTAT_OOM] = "OOM",
	[RD_ERRSTAT_READONLY] = "READONLY",
	[RD_ERRSTAT_TRYAGAIN] = "TRYAGAIN",
	[RD_ERRSTAT_WRONGPASS] = "WRONGPASS",
	[RD_ERRSTAT_WRONGTYPE] = "WRONGTYPE",
};

enum rd_errstat rd_errstat_of(const char *msg)
{
	size_t n = strcspn(msg, " ");

	for (unsigned e = 0; e < RD_ERRSTAT_N; e++)
		if (strlen(words[e]) == n && memcmp(words[e], msg, n) == 0)
			return (enum rd_errstat)e;
	return RD_ERRSTAT_ERR;
}

const char *rd_errstat_name(enum rd_errstat e)
{
	return (unsigned)e < RD_ERRSTAT_N ? words[e] : "ERR";
}
