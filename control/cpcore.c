/*
 * cpcore.c - attachment, sampling, and the dataplane commands of one
 * wirecache-cp (see cpcore.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpcore.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cp_core_init(struct cp_core *c, const char *socket, const char *node,
		 const struct cp_alert_rules *rules, unsigned window)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->dp_mu, NULL);
	dpconn_init(&c->dp, socket);
	snprintf(c->node, sizeof(c->node), "%s", node);
	snprintf(c->attach_error, sizeof(c->attach_error), "not attached yet");
	c->move_timeout_ms = 120000;
	c->scratch = malloc(sizeof(*c->scratch));
	if (!c->scratch)
		return -1;
	return sampler_init(&c->sampler, rules, window, node);
}

void cp_core_fini(struct cp_core *c)
{
	dpconn_detach(&c->dp);
	sampler_free(&c->sampler);
	free(c->scratch);
	pthread_mutex_destroy(&c->dp_mu);
}

static void log_line(const struct cp_core *c, const char *what)
{
	time_t t = time(NULL);
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime(&t));
	fprintf(stderr, "%s wirecache-cp[%s]: %s\n", when, c->node, what);
}

void cp_core_tick(struct cp_core *c)
{
	char msg[400];
	bool attached;

	pthread_mutex_lock(&c->dp_mu);
	if (dpconn_attached(&c->dp) && !dpconn_alive(&c->dp)) {
		snprintf(c->attach_error, sizeof(c->attach_error),
			 "the dataplane closed the control socket (exited or restarting)");
		snprintf(msg, sizeof(msg), "dataplane gone from %s; waiting for it to come back",
			 c->dp.path);
		log_line(c, msg);
	}
	if (!dpconn_attached(&c->dp)) {
		char err[256];

		if (dpconn_attach(&c->dp, err, sizeof(err)) == 0) {
			c->attached_since_ms = now_ms();
			c->attaches++;
			snprintf(msg, sizeof(msg), "attached to %s (dataplane pid %ld, %u workers, "
				 "%u partitions)%s", c->dp.path, (long)c->dp.shm->pid,
				 c->dp.shm->nworkers, c->dp.shm->nparts,
				 c->attaches > 1 ? " again" : "");
			log_line(c, msg);
			if (c->dp.boot_id != c->last_boot_id)
				sampler_reset(&c->sampler);
			c->last_boot_id = c->dp.boot_id;
			c->attach_error[0] = 0;
		} else if (strcmp(err, c->attach_error) != 0) {
			snprintf(c->attach_error, sizeof(c->attach_error), "%s", err);
			log_line(c, err);
		}
	}
	attached = dpconn_attached(&c->dp) && dpconn_snapshot(&c->dp, c->scratch) == 0;
	pthread_mutex_unlock(&c->dp_mu);
	if (attached)
		sampler_add(&c->sampler, c->scratch);
}

bool cp_core_snapshot(struct cp_core *c, struct wc_cp_shm *out)
{
	bool ok;

	pthread_mutex_lock(&c->dp_mu);
	ok = dpconn_attached(&c->dp) && dpconn_snapshot(&c->dp, out) == 0;
	pthread_mutex_unlock(&c->dp_mu);
	return ok;
}

static enum cp_result classify(const char *reason)
{
	if (strncmp(reason, "busy", 4) == 0)
		return CP_CONFLICT;
	if (strncmp(reason, "invalid", 7) == 0 || strncmp(reason, "no partition", 12) == 0 ||
	    strncmp(reason, "usage", 5) == 0)
		return CP_BAD_REQUEST;
	return CP_FAILED;
}

static enum cp_result command(struct cp_core *c, const char *cmd, char *reply, size_t n,
			      unsigned timeout_ms)
{
	int rc;

	pthread_mutex_lock(&c->dp_mu);
	rc = dpconn_command(&c->dp, cmd, reply, n, timeout_ms);
	pthread_mutex_unlock(&c->dp_mu);
	if (rc < 0)
		return CP_UNAVAILABLE;
	return rc == 0 ? CP_OK : classify(reply);
}

enum cp_result cp_core_command(struct cp_core *c, const char *cmd, char *reply, size_t n,
			       unsigned timeout_ms)
{
	return command(c, cmd, reply, n, timeout_ms);
}

enum cp_result cp_core_commands(struct cp_core *c, char *const *lines, unsigned n, char *reply,
				size_t rn, unsigned timeout_ms, unsigned *failed_at)
{
	enum cp_result r = CP_OK;
	unsigned i;
	int rc = 0;

	reply[0] = 0;
	pthread_mutex_lock(&c->dp_mu);
	for (i = 0; i < n; i++) {
		rc = dpconn_command(&c->dp, lines[i], reply, rn, timeout_ms);
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&c->dp_mu);
	if (rc < 0)
		r = CP_UNAVAILABLE;
	else if (rc > 0)
		r = classify(reply);
	*failed_at = i;
	return r;
}

uint64_t cp_core_attaches(struct cp_core *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->dp_mu);
	n = dpconn_attached(&c->dp) ? c->attaches : 0;
	pthread_mutex_unlock(&c->dp_mu);
	return n;
}

enum cp_result cp_core_move(struct cp_core *c, unsigned from, unsigned to, unsigned part,
			    struct wc_cp_move_snap *out, char *err, size_t errlen)
{
	char cmd[64], reply[256];
	unsigned long id = 0;
	enum cp_result r;
	struct wc_cp_shm *s;
	int64_t deadline = now_ms() + c->move_timeout_ms;

	memset(out, 0, sizeof(*out));
	snprintf(cmd, sizeof(cmd), "MOVE %u %u %u", from, to, part);
	if ((r = command(c, cmd, reply, sizeof(reply), 5000)) != CP_OK) {
		snprintf(err, errlen, "%s", reply);
		return r;
	}
	if (sscanf(reply, "id=%lu", &id) != 1) {
		snprintf(err, errlen, "unexpected reply to MOVE: %s", reply);
		return CP_FAILED;
	}
	if (!(s = malloc(sizeof(*s)))) {
		snprintf(err, errlen, "out of memory");
		return CP_FAILED;
	}
	for (;;) {
		if (!cp_core_snapshot(c, s)) {
			snprintf(err, errlen, "lost the dataplane during move %lu", id);
			r = CP_UNAVAILABLE;
			break;
		}
		if (s->move.id == id &&
		    (s->move.state == WC_MOVE_DONE || s->move.state == WC_MOVE_FAILED)) {
			*out = s->move;
			if (s->move.state == WC_MOVE_FAILED) {
				snprintf(err, errlen, "move %lu failed: %.128s", id, s->move.error);
				r = CP_FAILED;
			} else {
				r = CP_OK;
			}
			break;
		}
		if (now_ms() > deadline) {
			*out = s->move;
			snprintf(err, errlen, "move %lu still running after %u ms", id,
				 c->move_timeout_ms);
			r = CP_TIMEOUT;
			break;
		}
		nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
	}
	free(s);
	return r;
}

enum cp_result cp_core_flush(struct cp_core *c, unsigned delay, char *err, size_t errlen)
{
	char cmd[64], reply[256];
	enum cp_result r;

	snprintf(cmd, sizeof(cmd), "FLUSH %u", delay);
	r = command(c, cmd, reply, sizeof(reply), 10000);
	if (r != CP_OK)
		snprintf(err, errlen, "%s", reply);
	return r;
}
