/*
 * fuzz_creq.c - libFuzzer harness for the control socket's CREQ lines
 * (core/cpif_creq.c) against the slot-change request table they drive
 * (redis/creq.c), with the sessions' side played from the same input.
 *
 * Input: a sequence of steps, each starting with a byte:
 *   'q' op slot slot  a session queues a SETSLOT (op % 4; a node id unless STABLE)
 *   'c' i             a session checks request i (% 64): released when answered
 *   'a' i             a session abandons request i
 *   't' n             the clock moves on n * 100 ms
 *   'u'               the request a NEXT handed out could not be sent: untaken
 *   other             a control line: the bytes up to '\n' (at most WC_CP_LINE_MAX)
 * A line that parses as "CREQ NEXT" may also wait: then the waiting NEXT is
 * polled at the next clock step, as the control thread does.
 *
 * Every reply must be one line starting "OK" or "ERR ", an answered check
 * must give an epoch or a text, and no more than RD_CREQ_MAX requests are
 * ever out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpif_creq.h"
#include "fuzz_cpline.h"
#include "wirecache/cpshm.h"

#define NODE_ID "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rd_creq_table t;
	int held[RD_CREQ_MAX];
	unsigned nheld = 0;
	int64_t now = 1000, deadline = 0;
	bool waiting = false;
	uint64_t last_taken = 0;
	char out[512], line[WC_CP_LINE_MAX + 1];
	size_t i = 0;

	rd_creq_init(&t);
	while (i < size) {
		uint8_t op = data[i++];

		if (op == 'q' && i + 3 <= size) {
			uint64_t id;
			enum rd_creq_op o = (enum rd_creq_op)(data[i] % 4);
			unsigned slot = ((unsigned)data[i + 1] << 8 | data[i + 2]) % 16384;
			int k;

			i += 3;
			k = rd_creq_submit(&t, o, slot, o == RD_CREQ_STABLE ? "" : NODE_ID, now, &id);
			if (k >= 0) {
				if (nheld == RD_CREQ_MAX)
					abort();	/* more out than the table holds */
				held[nheld++] = k;
			}
		} else if ((op == 'c' || op == 'a') && i < size) {
			unsigned j = data[i++] % RD_CREQ_MAX;
			uint64_t epoch = 0;
			const char *err = NULL;

			if (j >= nheld)
				continue;
			if (op == 'a') {
				rd_creq_abandon(&t, held[j]);
				held[j] = held[--nheld];
				continue;
			}
			switch (rd_creq_check(&t, held[j], now, &epoch, &err)) {
			case RD_CREQ_ANSWERED_ERR:
				if (!err || !*err)
					abort();
				/* fall through */
			case RD_CREQ_ANSWERED_OK:
				rd_creq_release(&t, held[j]);
				/* fall through */
			case RD_CREQ_NOBODY:
				held[j] = held[--nheld];
				break;
			case RD_CREQ_WAITING:
				break;
			}
		} else if (op == 't' && i < size) {
			now += (int64_t)data[i++] * 100;
			if (waiting && wc_creq_next(&t, now, deadline, out, sizeof(out), &last_taken)) {
				check_reply(out);
				waiting = false;
			}
		} else if (op == 'u') {
			if (last_taken)
				rd_creq_untake(&t, last_taken);
			last_taken = 0;
		} else {
			size_t n = 0;
			int64_t dl = 0;
			uint64_t taken = 0;

			i--;
			while (i < size && data[i] != '\n' && n < WC_CP_LINE_MAX)
				line[n++] = (char)data[i++];
			if (i < size && data[i] == '\n')
				i++;
			line[n] = 0;
			if (waiting)
				continue;	/* the NEXT's connection is not read meanwhile */
			switch (wc_creq_line(&t, line, now, out, sizeof(out), &dl, &taken)) {
			case WC_CREQ_REPLIED:
				check_reply(out);
				if (taken)
					last_taken = taken;
				break;
			case WC_CREQ_WAIT:
				waiting = true;
				deadline = dl;
				break;
			case WC_CREQ_NOT_MINE:
				break;
			}
		}
	}
	return 0;
}
