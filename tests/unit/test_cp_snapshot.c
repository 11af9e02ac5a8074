/*
 * test_cp_snapshot.c - the control plane's reading of the dataplane's
 * SNAPSHOT STATUS line (control/cpsnap.h): every field as JSON (booleans
 * for in_progress and last_ok), and malformed or incomplete lines refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpsnap.h"

static void status_line_as_json(void **state)
{
	json_t *o = cp_snapshot_parse("in_progress=1 done=7 last_ok=0 lastsave=1796597153 saves=5 "
				      "failed=2 keys=1000 bytes=24303 ms=12");

	(void)state;
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "in_progress")));
	assert_true(json_is_false(json_object_get(o, "last_ok")));
	assert_int_equal(json_integer_value(json_object_get(o, "done")), 7);
	assert_int_equal(json_integer_value(json_object_get(o, "lastsave")), 1796597153);
	assert_int_equal(json_integer_value(json_object_get(o, "saves")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "failed")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "keys")), 1000);
	assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 24303);
	assert_int_equal(json_integer_value(json_object_get(o, "ms")), 12);
	assert_int_equal(json_object_size(o), 9);
	json_decref(o);
}

static void bad_lines_refused(void **state)
{
	(void)state;
	assert_null(cp_snapshot_parse(""));
	assert_null(cp_snapshot_parse("in_progress=0 done=1"));		/* fields missing */
	assert_null(cp_snapshot_parse("in_progress=0 done=x last_ok=1 lastsave=1 saves=1 "
				      "failed=0 keys=1 bytes=1 ms=1"));	/* not a number */
	assert_null(cp_snapshot_parse("in_progress=0 done=1 last_ok=1 lastsave=1 saves=1 "
				      "failed=0 keys=1 bytes=1 ms"));	/* no value */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_line_as_json),
		cmocka_unit_test(bad_lines_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
