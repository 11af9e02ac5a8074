/*
 * stage.c - the stage pool for values being received (see stage.h).
 */
#include <string.h>

#include "stage.h"

struct wc_stage_chunk {
	struct wc_stage_chunk *next;
	uint32_t used;
	uint8_t data[] __attribute__((aligned(16)));
};

_Static_assert(offsetof(struct wc_stage_chunk, data) == WC_STAGE_CHUNK - WC_STAGE_CHUNK_DATA,
	       "a raw chunk's data follows a 16-byte header");

#define CHUNK_DATA (WC_STAGE_CHUNK - offsetof(struct wc_stage_chunk, data))

/* Chunks hold CHUNK_DATA bytes each: a value needs this many. */
static uint32_t chunks_needed(uint64_t len)
{
	return (uint32_t)((len + CHUNK_DATA - 1) / CHUNK_DATA);
}

int wc_stage_pool_init(struct wc_stage_pool *p, uint64_t bytes, const struct wc_mem_ops *mem,
		       const char *name)
{
	memset(p, 0, sizeof(*p));
	p->nchunks = (uint32_t)(bytes / WC_STAGE_CHUNK);
	if (p->nchunks == 0)
		return 0;
	p->bytes = (uint64_t)p->nchunks * WC_STAGE_CHUNK;
	p->mem = mem;
	p->base = mem->alloc(mem->opaque, name, p->bytes);
	if (!p->base) {
		p->nchunks = 0;
		return -1;
	}
	for (uint32_t i = p->nchunks; i-- > 0;) {
		struct wc_stage_chunk *c = (struct wc_stage_chunk *)(p->base + (uint64_t)i * WC_STAGE_CHUNK);

		c->next = p->free;
		p->free = c;
	}
	p->nfree = p->nchunks;
	return 0;
}

void wc_stage_pool_fini(struct wc_stage_pool *p)
{
	if (p->base)
		p->mem->free(p->mem->opaque, p->base, p->bytes);
	memset(p, 0, sizeof(*p));
}

bool wc_stage_admit(struct wc_stage_pool *p, struct wc_stage *s, uint64_t want)
{
	uint32_t n = chunks_needed(want ? want : 1);

	if (n > p->nfree) {
		p->refused++;
		return false;
	}
	memset(s, 0, sizeof(*s));
	s->want = want;
	for (uint32_t i = 0; i < n; i++) {
		struct wc_stage_chunk *c = p->free;

		p->free = c->next;
		c->next = NULL;
		c->used = 0;
		if (s->tail)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
	}
	p->nfree -= n;
	p->admitted++;
	/* tail now marks where the next bytes go: start at the head */
	s->tail = s->head;
	return true;
}

void wc_stage_put(struct wc_stage *s, const void *data, uint64_t n)
{
	const uint8_t *d = data;

	while (n) {
		struct wc_stage_chunk *c = s->tail;
		uint64_t room = CHUNK_DATA - c->used;

		if (room == 0) {
			s->tail = c->next;
			continue;
		}
		if (room > n)
			room = n;
		memcpy(c->data + c->used, d, room);
		c->used += (uint32_t)room;
		s->len += room;
		d += room;
		n -= room;
	}
}

void wc_stage_release(struct wc_stage_pool *p, struct wc_stage *s)
{
	struct wc_stage_chunk *c = s->head, *next;

	for (; c; c = next) {
		next = c->next;
		c->next = p->free;
		p->free = c;
		p->nfree++;
	}
	p->staged_bytes += s->len;
	memset(s, 0, sizeof(*s));
}

void *wc_stage_chunk_get(struct wc_stage_pool *p)
{
	struct wc_stage_chunk *c = p->free;

	if (!c)
		return NULL;
	p->free = c->next;
	p->nfree--;
	c->next = NULL;
	return c->data;
}

void wc_stage_chunk_put(struct wc_stage_pool *p, void *data)
{
	struct wc_stage_chunk *c = (struct wc_stage_chunk *)(void *)((uint8_t *)data -
								   offsetof(struct wc_stage_chunk, data));

	c->next = p->free;
	p->free = c;
	p->nfree++;
}

void wc_stage_read(const struct wc_stage *s, uint64_t off, void *dst, uint64_t len)
{
	const struct wc_stage_chunk *c = s->head;
	uint8_t *d = dst;

	while (c && off >= CHUNK_DATA) {
		off -= CHUNK_DATA;
		c = c->next;
	}
	while (len && c) {
		uint64_t n = CHUNK_DATA - off;

		if (n > len)
			n = len;
		memcpy(d, c->data + off, n);
		d += n;
		len -= n;
		off = 0;
		c = c->next;
	}
}

void wc_stage_copy(void *dst, uint64_t len, void *arg)
{
	const struct wc_stage_src *src = arg;

	wc_stage_read(src->stage, src->off, dst, len);
}
