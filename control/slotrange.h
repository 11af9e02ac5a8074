/*
 * slotrange.h - slot ranges as people write them ("0-8191", "42") and the
 * slot table folded into runs of equal owner for display.
 */
#ifndef WC_CONTROL_SLOTRANGE_H
#define WC_CONTROL_SLOTRANGE_H

#include <stddef.h>
#include <stdint.h>

/* "A-B" or "A" with 0 <= A <= B <= 16383. 0, or -1 with a reason in err. */
int cp_parse_slot_range(const char *s, unsigned *from, unsigned *to, char *err, size_t errlen);

/* A whole decimal number in [0, max]. 0, or -1. */
int cp_parse_uint(const char *s, unsigned long max, unsigned long *out);

struct cp_slot_run {
	unsigned from, to;
	unsigned part, node;
	int moving;
};

/*
 * Fold the table (WC_SLOTS entries, WC_SLOT_MOVING flags) into runs; writes
 * at most max, returns how many there are.
 */
unsigned cp_slot_runs(const uint16_t *part, const uint16_t *node, struct cp_slot_run *out,
		      unsigned max);

#endif
