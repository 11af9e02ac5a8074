/*
 * replica_sync.c - a full sync on the replica (redis/replica.h): the RDB's
 * bulk header ("$<len>", or Redis's diskless "$EOF:<40 bytes>" with the
 * same marker after the data), its bytes copied from the receive queue into
 * a memfd (sized at once, or grown while the end is unknown), and its load
 * by rd_rdb_load_file on a thread that is not an lcore, while the lcore
 * keeps the connection without reading the stream.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/app.h"
#include "net/tcp_impl.h"
#include "redis/replica_link.h"

static bool rdb_alloc(struct rd_rlink *L, uint64_t cap)
{
	L->memfd = memfd_create("wirecache-replica-rdb", MFD_CLOEXEC);
	if (L->memfd < 0 || ftruncate(L->memfd, (off_t)cap) != 0)
		return false;
	L->map = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, L->memfd, 0);
	if (L->map == MAP_FAILED) {
		L->map = NULL;
		return false;
	}
	L->map_cap = cap;
	return true;
}

static bool rdb_grow(struct rd_rlink *L, uint64_t need)
{
	uint64_t cap = L->map_cap;
	void *m;

	while (cap < need)
		cap *= 2;
	if (cap == L->map_cap)
		return true;
	if (ftruncate(L->memfd, (off_t)cap) != 0)
		return false;
	m = mremap(L->map, L->map_cap, cap, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		return false;
	L->map = m;
	L->map_cap = cap;
	return true;
}

static void *loader_main(void *arg)
{
	struct rd_rlink *L = arg;
	int rc = rd_rdb_load_file(L->app, L->path, true, &L->res);

	__atomic_store_n(&L->load_state, rc == 0 ? 1 : 2, __ATOMIC_RELEASE);
	return NULL;
}

static void start_load(struct wc_lcore *lc, struct rd_rlink *L)
{
	struct rd_rdb_load_result last;
	bool any;

	/* one loader at a time (they share the mailbox's loader endpoint): a snapshot
	 * load of the control socket's first, this sync again after the back-off */
	if (rd_rdb_load_status(&last, &any) || rd_rdb_loading()) {
		rd_rlink_drop(lc, L, "a snapshot load is running");
		return;
	}
	if (ftruncate(L->memfd, (off_t)L->rdb_len) != 0) {
		rd_rlink_drop(lc, L, "memfd");
		return;
	}
	snprintf(L->path, sizeof(L->path), "/proc/self/fd/%d", L->memfd);
	L->load_t0 = rd_rlink_now(lc);
	L->load_state = 0;
	L->st = L_LOAD;
	rd_rlink_set_link(RD_RL_LOADING);
	if (pthread_create(&L->loader, NULL, loader_main, L) != 0) {
		L->st = L_RDB;
		rd_rlink_drop(lc, L, "can't start the loader thread");
	}
}

/* The $ line. */
void rd_rlink_bulk_line(struct wc_lcore *lc, struct rd_rlink *L, size_t n)
{
	if (n == 0)
		return;	/* keep-alive while the master makes its RDB */
	if (rd_replica_parse_bulk(L->line, n, &L->rdb_len, &L->eof_mode, L->mark) != 0) {
		rd_rlink_drop(lc, L, "no RDB bulk header");
		return;
	}
	L->rdb_got = 0;
	if (!rdb_alloc(L, L->eof_mode ? (1u << 20) : (L->rdb_len ? L->rdb_len : 1))) {
		rd_rlink_free_rdb(L);
		rd_rlink_drop(lc, L, "no memory for the RDB");
		return;
	}
	__atomic_store_n(&rd_replica_state.sync_total, L->eof_mode ? 0 : L->rdb_len, __ATOMIC_RELAXED);
	L->st = L_RDB;
	if (!L->eof_mode && L->rdb_len == 0)
		rd_rlink_drop(lc, L, "an empty RDB");
}

/* Copy what came of the RDB into the memfd; start the load when it is whole. */
void rd_rlink_rdb_bytes(struct wc_lcore *lc, struct rd_rlink *L, struct wc_tcb *c)
{
	struct mc_inq *in = &c->inq;

	while (in->len && L->st == L_RDB) {
		uint64_t contig, take;
		const uint8_t *p = in->peek(in, 0, &contig);

		take = contig < in->len ? contig : in->len;
		if (!L->eof_mode) {
			if (take > L->rdb_len - L->rdb_got)
				take = L->rdb_len - L->rdb_got;
			memcpy(L->map + L->rdb_got, p, take);
			in->consume(in, take);
			L->rdb_got += take;
		} else {
			uint64_t from = L->rdb_got > RD_REPLICA_EOF_MARK ? L->rdb_got - RD_REPLICA_EOF_MARK : 0;
			uint8_t *hit;

			if (!rdb_grow(L, L->rdb_got + take)) {
				rd_rlink_drop(lc, L, "no memory for the RDB");
				return;
			}
			memcpy(L->map + L->rdb_got, p, take);
			hit = memmem(L->map + from, L->rdb_got + take - from, L->mark,
				     RD_REPLICA_EOF_MARK);
			if (hit) {
				uint64_t end = (uint64_t)(hit - L->map);

				/* only the RDB and its marker: what follows is the stream */
				in->consume(in, end + RD_REPLICA_EOF_MARK - L->rdb_got);
				rd_replica_add(&rd_replica_state.ct.rdb_bytes,
					      end + RD_REPLICA_EOF_MARK - L->rdb_got);
				L->rdb_len = end;
				L->rdb_got = end;
				__atomic_store_n(&rd_replica_state.sync_read, end, __ATOMIC_RELAXED);
				start_load(lc, L);
				return;
			}
			in->consume(in, take);
			L->rdb_got += take;
		}
		rd_replica_add(&rd_replica_state.ct.rdb_bytes, take);
		__atomic_store_n(&rd_replica_state.sync_read, L->rdb_got, __ATOMIC_RELAXED);
		if (!L->eof_mode && L->rdb_got == L->rdb_len) {
			start_load(lc, L);
			return;
		}
	}
}

void rd_rlink_load_poll(struct wc_lcore *lc, struct rd_rlink *L)
{
	int st = __atomic_load_n(&L->load_state, __ATOMIC_ACQUIRE);

	if (st == 0)
		return;
	pthread_join(L->loader, NULL);
	rd_rlink_free_rdb(L);
	if (st == 2) {
		fprintf(stderr, "wirecache-dp: replica: the master's RDB did not load: %s\n",
			L->res.err);
		L->st = L_RDB;	/* (as a broken transfer) */
		L->have_sync = false;
		if (L->c)
			rd_rlink_drop(lc, L, "RDB load failed");
		else
			rd_rlink_closed(lc, NULL);
		return;
	}
	L->have_sync = true;
	memcpy(L->replid, L->new_replid, sizeof(L->replid));
	L->offset = L->new_offset;
	pthread_mutex_lock(&rd_replica_state.mu);
	memcpy(rd_replica_state.replid, L->replid, sizeof(L->replid));
	pthread_mutex_unlock(&rd_replica_state.mu);
	rd_replica_add(&rd_replica_state.ct.full_syncs, 1);
	rd_replica_add(&rd_replica_state.ct.loaded_keys, L->res.loaded);
	__atomic_store_n(&rd_replica_state.ct.last_sync_ms, rd_rlink_now(lc) - L->sync_t0, __ATOMIC_RELAXED);
	fprintf(stderr, "wirecache-dp: replica: full sync: %llu keys, %llu bytes in %llu ms "
		"(transfer %llu ms, load %llu ms)\n",
		(unsigned long long)L->res.loaded, (unsigned long long)L->rdb_len,
		(unsigned long long)(rd_rlink_now(lc) - L->sync_t0),
		(unsigned long long)(L->load_t0 - L->sync_t0),
		(unsigned long long)(rd_rlink_now(lc) - L->load_t0));
	if (!L->c) {
		L->st = L_RDB;
		rd_rlink_closed(lc, NULL);	/* the master went meanwhile: back-off, then PSYNC */
		return;
	}
	rd_rlink_start_stream(lc, L);
}

