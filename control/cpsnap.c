/*
 * cpsnap.c - RDB snapshots from the control plane (see cpsnap.h): SNAPSHOT
 * SAVE, then SNAPSHOT STATUS every 20 ms until the save's ticket is done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpsnap.h"

static const char *const fields[] = {
	"in_progress", "done", "last_ok", "lastsave", "saves", "failed", "keys", "bytes", "ms",
};

json_t *cp_snapshot_parse(const char *line)
{
	json_t *o = json_object();
	unsigned found = 0;
	const char *p = line;

	while (o && *p) {
		const char *eq = strchr(p, '='), *end;
		char *num_end;
		long long v;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (!eq)
			break;
		end = eq + 1 + strcspn(eq + 1, " ");
		v = strtoll(eq + 1, &num_end, 10);
		if (num_end != end)
			break;
		for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if ((size_t)(eq - p) == strlen(fields[i]) && !strncmp(p, fields[i], (size_t)(eq - p))) {
				json_object_set_new(o, fields[i],
						    i == 0 || i == 2 ? json_boolean(v) : json_integer(v));
				found++;
			}
		p = end;
	}
	if (!o || found != sizeof(fields) / sizeof(fields[0])) {
		json_decref(o);
		return NULL;
	}
	return o;
}

enum cp_result cp_snapshot_status(struct cp_core *c, json_t **out, char *err, size_t errlen)
{
	char reply[512];
	enum cp_result r = cp_core_command(c, "SNAPSHOT STATUS", reply, sizeof(reply), 5000);

	if (r != CP_OK) {
		snprintf(err, errlen, "%s", r == CP_UNAVAILABLE ? "not attached to a dataplane" : reply);
		return r;
	}
	if (!(*out = cp_snapshot_parse(reply))) {
		snprintf(err, errlen, "unexpected reply from the dataplane: %.200s", reply);
		return CP_FAILED;
	}
	return CP_OK;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum cp_result cp_snapshot_save(struct cp_core *c, bool wait, unsigned timeout_ms, json_t **out,
				char *err, size_t errlen)
{
	char reply[512];
	long long deadline = now_ms() + timeout_ms;
	unsigned long long ticket;
	json_t *st = NULL;
	enum cp_result r = cp_core_command(c, "SNAPSHOT SAVE", reply, sizeof(reply), 5000);

	*out = NULL;
	if (r != CP_OK) {
		snprintf(err, errlen, "%s", r == CP_UNAVAILABLE ? "not attached to a dataplane" : reply);
		return r;
	}
	if (sscanf(reply, "ticket=%llu", &ticket) != 1) {
		snprintf(err, errlen, "unexpected reply from the dataplane: %.200s", reply);
		return CP_FAILED;
	}
	for (;;) {
		bool finished;

		json_decref(st);
		if ((r = cp_snapshot_status(c, &st, err, errlen)) != CP_OK)
			return r;
		finished = (unsigned long long)json_integer_value(json_object_get(st, "done")) >=
			   ticket;
		if (!wait || finished) {
			*out = json_pack("{s:I,s:b,s:o}", "ticket", (json_int_t)ticket, "finished",
					 finished, "status", st);
			if (finished && !json_is_true(json_object_get(st, "last_ok"))) {
				snprintf(err, errlen, "the save failed (the dataplane's log says why)");
				return CP_FAILED;
			}
			return CP_OK;
		}
		if (now_ms() > deadline) {
			*out = json_pack("{s:I,s:b,s:o}", "ticket", (json_int_t)ticket, "finished", 0,
					 "status", st);
			snprintf(err, errlen, "the save is still running after %u ms", timeout_ms);
			return CP_TIMEOUT;
		}
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
}
