/*
 * replica_proto.c - the replica's wire helpers (replica.h): a master's
 * PSYNC answers, the RDB's bulk header (with Redis's diskless $EOF form and
 * its end marker), the handshake replies that let the next step go, and
 * commands as RESP arrays. Pure functions, unit-tested.
 */
#include <stdio.h>
#include <string.h>

#include "redis/replica.h"

static bool has_prefix(const char *line, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(line, p, k) == 0;
}

static bool is_hex40(const char *p, size_t n)
{
	if (n != 40)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

enum rd_psync_reply rd_replica_parse_psync(const char *line, size_t n, char replid[41],
					uint64_t *offset)
{
	if (has_prefix(line, n, "+FULLRESYNC ")) {
		const char *p = line + 12, *sp;
		size_t rest = n - 12;

		sp = memchr(p, ' ', rest);
		if (!sp || !is_hex40(p, (size_t)(sp - p)) ||
		    !parse_u64(sp + 1, rest - (size_t)(sp - p) - 1, offset))
			return RD_PSYNC_BAD;
		memcpy(replid, p, 40);
		replid[40] = 0;
		return RD_PSYNC_FULL;
	}
	if (has_prefix(line, n, "+CONTINUE")) {
		replid[0] = 0;
		if (n == 9)
			return RD_PSYNC_CONTINUE;
		if (line[9] != ' ')
			return RD_PSYNC_BAD;
		if (n == 10)
			return RD_PSYNC_CONTINUE;
		if (!is_hex40(line + 10, n - 10))
			return RD_PSYNC_BAD;
		memcpy(replid, line + 10, 40);
		replid[40] = 0;
		return RD_PSYNC_CONTINUE;
	}
	/* a master that is loading, or itself a replica without its master: later */
	if (has_prefix(line, n, "-NOMASTERLINK") || has_prefix(line, n, "-LOADING"))
		return RD_PSYNC_TRYLATER;
	if (n && line[0] == '-')
		return RD_PSYNC_ERR;
	return RD_PSYNC_BAD;
}

int rd_replica_parse_bulk(const char *line, size_t n, uint64_t *len, bool *eof_mode,
		       uint8_t mark[RD_REPLICA_EOF_MARK])
{
	if (n < 2 || line[0] != '$')
		return -1;
	if (n == 5 + RD_REPLICA_EOF_MARK && memcmp(line, "$EOF:", 5) == 0) {
		memcpy(mark, line + 5, RD_REPLICA_EOF_MARK);
		*eof_mode = true;
		*len = 0;
		return 0;
	}
	*eof_mode = false;
	/* a length past 1 TiB is no RDB of ours */
	if (!parse_u64(line + 1, n - 1, len) || *len > (1ull << 40))
		return -1;
	return 0;
}

bool rd_replica_ends_with_mark(const uint8_t *data, uint64_t len,
			    const uint8_t mark[RD_REPLICA_EOF_MARK])
{
	return len >= RD_REPLICA_EOF_MARK &&
	       memcmp(data + len - RD_REPLICA_EOF_MARK, mark, RD_REPLICA_EOF_MARK) == 0;
}

bool rd_replica_reply_ok(const char *line, size_t n, bool ping)
{
	if (n && line[0] == '+')
		return true;
	/* PING before AUTH: a master with a password answers -NOAUTH (Redis takes it too) */
	return ping && (has_prefix(line, n, "-NOAUTH") || has_prefix(line, n, "-NOPERM"));
}

size_t rd_replica_format(char *buf, size_t cap, unsigned argc, const char *const *argv)
{
	size_t w;
	int k = snprintf(buf, cap, "*%u\r\n", argc);

	if (k < 0 || (size_t)k >= cap)
		return 0;
	w = (size_t)k;
	for (unsigned i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]);

		k = snprintf(buf + w, cap - w, "$%zu\r\n", len);
		if (k < 0 || (size_t)k >= cap - w || cap - w - (size_t)k < len + 3)
			return 0;
		w += (size_t)k;
		memcpy(buf + w, argv[i], len);
		w += len;
		memcpy(buf + w, "\r\n", 2);
		w += 2;
	}
	return w;
}
