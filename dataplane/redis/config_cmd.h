/*
 * config_cmd.h - the parameters CONFIG GET and CONFIG SET know (config_cmd.c).
 */
#ifndef WC_REDIS_CONFIG_CMD_H
#define WC_REDIS_CONFIG_CMD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The canonical names of the parameters pattern selects, as CONFIG GET
 * selects them: a glob ('*', '?', '[') matched case-insensitively against
 * every name, else one name compared case-insensitively. Returns how many
 * (at most max written to names).
 */
unsigned rd_config_find(const uint8_t *pat, uint32_t len, const char **names, unsigned max);

/* Redis's memory values: digits and an optional unit (b, k, kb, m, mb, g, gb). */
bool rd_config_memory(const uint8_t *p, uint32_t n, uint64_t *out);

#endif
