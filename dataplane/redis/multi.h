/*
 * multi.h - what a command running inside EXEC may ask of its transaction
 * (multi.c). EXEC runs the queue as one owner call, on the lcore that owns
 * the transaction's partition, which cannot wait for other lcores. A
 * transaction with Pub/Sub commands holds its reply back (txreply.h) and
 * a command may leave its reply for later, to the connection's lcore once
 * the owner call is over:
 *  - RD_TX_COUNT: an integer, the receivers counted where the transaction
 *    ran plus those the connection's lcore then finds on the other lcores
 *    (PUBLISH, SPUBLISH: rd_tx_each_count's fn delivers there, the
 *    publisher waiting as for a plain PUBLISH);
 *  - RD_TX_RUN_HOME: the command runs again on the connection's lcore, its
 *    reply written in its place (SUBSCRIBE and kin: subscriptions live on
 *    the connection's lcore).
 * In both cases its reply keeps its place among the others'.
 */
#ifndef WC_REDIS_MULTI_H
#define WC_REDIS_MULTI_H

#include <stdbool.h>
#include <stdint.h>

struct rd_session;
struct rd_cmd;
struct resp_cmd;

enum rd_tx_defer { RD_TX_COUNT = 1, RD_TX_RUN_HOME = 2 };

/* Is EXEC running the current command (on the transaction's lcore, which must not wait)? */
bool rd_tx_running(const struct rd_session *s);

/* Inside EXEC: leave the running command's reply for later. false: reply now. */
bool rd_tx_defer(struct rd_session *s, enum rd_tx_defer how, int64_t local);

/* Inside EXEC, or after it until its reply is out: the lcore the transaction runs on. */
unsigned rd_tx_lcore(const struct rd_session *s);

/* Each RD_TX_COUNT command of the transaction, in order (any lcore, s waiting): add to *acc atomically. */
void rd_tx_each_count(const struct rd_session *s,
		      void (*fn)(void *arg, const struct rd_cmd *def, const struct resp_cmd *cmd,
				 int64_t *acc),
		      void *arg);

#endif
