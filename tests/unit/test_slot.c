/*
 * test_slot.c - CRC16-XMODEM and Redis Cluster hash-tag slot rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wirecache/slot.h"

static uint16_t slot_of(const char *k)
{
	return wc_key_slot(k, strlen(k));
}

static void crc16_check_value(void **state)
{
	(void)state;
	/* the standard XMODEM check value */
	assert_int_equal(wc_crc16("123456789", 9), 0x31C3);
	assert_int_equal(wc_crc16("", 0), 0);
}

static void redis_documented_slots(void **state)
{
	(void)state;
	/* values from the Redis CLUSTER KEYSLOT documentation */
	assert_int_equal(slot_of("somekey"), 11058);
	assert_int_equal(slot_of("foo{hash_tag}"), 2515);
	assert_int_equal(slot_of("hash_tag"), 2515);
}

static void hash_tag_rules(void **state)
{
	(void)state;
	/* first '{' then the first '}' after it, non-empty body */
	assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
	assert_int_equal(slot_of("{user1000}.followers"), slot_of("user1000"));
	assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
	assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
	/* empty tag: the whole key is hashed */
	assert_int_equal(slot_of("foo{}{bar}"), wc_crc16("foo{}{bar}", 10) & 16383);
	/* no closing brace */
	assert_int_equal(slot_of("foo{bar"), wc_crc16("foo{bar", 7) & 16383);
	assert_true(slot_of("{a}") < WC_SLOTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc16_check_value),
		cmocka_unit_test(redis_documented_slots),
		cmocka_unit_test(hash_tag_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
