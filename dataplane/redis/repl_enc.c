/*
 * repl_enc.c - log entries and the stream's own commands as RESP (see
 * repl_enc.h).
 */
#include "proto/resp_out.h"
#include "redis/repl_enc.h"

static void name(struct mc_out *o, unsigned argc, const char *cmd)
{
	resp_array(o, argc);
	resp_bulk_str(o, cmd);
}

static void key(struct mc_out *o, const struct wc_rent *e)
{
	resp_bulk(o, e->key, e->klen);
}

bool rd_repl_enc_entry(struct mc_out *o, const struct wc_rent *e, bool capa_wc)
{
	switch (e->op) {
	case WC_ROP_SET:
		if (capa_wc && e->flags) {
			name(o, 5, "WCREPL.SET");
			key(o, e);
			resp_bulk(o, e->a, e->alen);
			resp_bulk_i64(o, (int64_t)e->flags);
			resp_bulk_i64(o, e->exp_ms >= 0 ? e->exp_ms : -1);
			return true;
		}
		name(o, e->exp_ms >= 0 ? 5 : 3, "SET");
		key(o, e);
		resp_bulk(o, e->a, e->alen);
		if (e->exp_ms >= 0) {
			resp_bulk_str(o, "PXAT");
			resp_bulk_i64(o, e->exp_ms);
		}
		return true;
	case WC_ROP_DEL:
		name(o, 2, "DEL");
		key(o, e);
		return true;
	case WC_ROP_PEXPIREAT:
		name(o, 3, "PEXPIREAT");
		key(o, e);
		resp_bulk_i64(o, e->exp_ms);
		return true;
	case WC_ROP_PERSIST:
		name(o, 2, "PERSIST");
		key(o, e);
		return true;
	case WC_ROP_HSET:
		name(o, 4, "HSET");
		key(o, e);
		resp_bulk(o, e->a, e->alen);
		resp_bulk(o, e->b, e->blen);
		return true;
	case WC_ROP_HDEL:
	case WC_ROP_SADD:
	case WC_ROP_SREM:
		name(o, 3, e->op == WC_ROP_HDEL ? "HDEL" : e->op == WC_ROP_SADD ? "SADD" : "SREM");
		key(o, e);
		resp_bulk(o, e->a, e->alen);
		return true;
	case WC_ROP_FLUSH:
		name(o, 1, "FLUSHALL");
		return true;
	default:
		return false;	/* RESYNC, or nothing this master knows */
	}
}

void rd_repl_enc_mark(struct mc_out *o, unsigned part, uint64_t off)
{
	name(o, 3, "WCREPL.MARK");
	resp_bulk_i64(o, (int64_t)part);
	resp_bulk_i64(o, (int64_t)off);
}

void rd_repl_enc_select0(struct mc_out *o)
{
	mc_out_str(o, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
}

void rd_repl_enc_ping(struct mc_out *o)
{
	mc_out_str(o, "*1\r\n$4\r\nPING\r\n");
}

void rd_repl_enc_getack(struct mc_out *o)
{
	mc_out_str(o, "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
}
