/*
 * crc16.c - CRC16-XMODEM for slot hashing (see slot.h), eight bytes per
 * step. The tables are derived from the polynomial when the program loads:
 * table[0] is the classic byte table, table[k] the same byte followed by k
 * zero bytes, which makes the eight lookups of a step independent.
 */
#include <string.h>

#include "wirecache/slot.h"

static uint16_t crc16_table[8][256];

__attribute__((constructor)) static void crc16_table_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint16_t c = (uint16_t)(i << 8);

		for (int bit = 0; bit < 8; bit++)
			c = (uint16_t)((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
		crc16_table[0][i] = c;
	}
	for (unsigned k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++) {
			uint16_t c = crc16_table[k - 1][i];

			crc16_table[k][i] = (uint16_t)((c << 8) ^ crc16_table[0][c >> 8]);
		}
}

uint16_t wc_crc16_update(uint16_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len >= 8) {
		crc = (uint16_t)(crc16_table[7][(crc >> 8) ^ p[0]] ^
				 crc16_table[6][(crc & 0xFF) ^ p[1]] ^
				 crc16_table[5][p[2]] ^ crc16_table[4][p[3]] ^
				 crc16_table[3][p[4]] ^ crc16_table[2][p[5]] ^
				 crc16_table[1][p[6]] ^ crc16_table[0][p[7]]);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		crc = (uint16_t)(crc16_table[3][(crc >> 8) ^ p[0]] ^
				 crc16_table[2][(crc & 0xFF) ^ p[1]] ^
				 crc16_table[1][p[2]] ^ crc16_table[0][p[3]]);
		p += 4;
		len -= 4;
	}
	while (len--)
		crc = (uint16_t)((crc << 8) ^ crc16_table[0][((crc >> 8) ^ *p++) & 0xFF]);
	return crc;
}

uint16_t wc_crc16(const void *data, size_t len)
{
	return wc_crc16_update(0, data, len);
}
