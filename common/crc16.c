/*
 * crc16.c - table-driven CRC16-XMODEM for slot hashing (see slot.h).
 * The table is derived from the polynomial when the program loads.
 */
#include "wirecache/slot.h"

static uint16_t crc16_table[256];

__attribute__((constructor)) static void crc16_table_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint16_t c = (uint16_t)(i << 8);

		for (int bit = 0; bit < 8; bit++)
			c = (uint16_t)((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
		crc16_table[i] = c;
	}
}

uint16_t wc_crc16(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint16_t crc = 0;

	while (len--)
		crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ *p++) & 0xFF]);
	return crc;
}
