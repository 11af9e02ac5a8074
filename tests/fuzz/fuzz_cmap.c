/*
 * fuzz_cmap.c - libFuzzer harness for the control socket's ID and CMAP
 * line parser (core/cpif_cmap.c): the input is what a control client
 * sends, cut into lines and words as the control thread cuts them (lines
 * of at most WC_CP_LINE_MAX bytes, at most 16 words), run against a staged
 * map that lives across the input's lines. A COMMIT that succeeds becomes
 * the published map the next COMMIT's epoch is checked against. Every
 * reply must be one line starting OK or ERR, and every committed map must
 * agree with the slot -> node table built beside it (owners, and the slots
 * migrating away and being imported).
 *
 * Input: first byte = flags (bit 0: a dataplane without --cluster, bit 1:
 * without a node id), then the lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpif_cmap.h"
#include "core/slots.h"
#include "fuzz_cpline.h"
#include "wirecache/cpshm.h"

#define SELF_ID "0123456789abcdef0123456789abcdef01234567"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_built(const struct wc_cmap_built *b)
{
	const struct rd_cluster_map *m = b->map;
	const struct wc_slot_table *t = b->nodes;
	bool remote = false, moving = false;

	if (!m || !t || m->myself >= m->nnodes || strcmp(m->node[m->myself].id, SELF_ID) != 0)
		abort();
	for (unsigned s = 0; s < WC_SLOTS; s++) {
		uint16_t o = m->owner[s];
		uint16_t want = o == m->myself ? WC_SLOT_NODE_SELF
				: o < m->nnodes ? (uint16_t)(o + 1) : WC_SLOT_NODE_NONE;

		uint16_t mig = o == m->myself && m->migrating[s] < m->nnodes
			       ? (uint16_t)(m->migrating[s] + 1) : 0;
		uint16_t imp = o != m->myself && m->importing[s] < m->nnodes
			       ? (uint16_t)(m->importing[s] + 1) : 0;

		if (t->node[s] != want || t->mig[s] != mig || t->imp[s] != imp)
			abort();
		remote |= want != WC_SLOT_NODE_SELF || mig || imp;
		moving |= mig || imp;
		if (o < m->nnodes && (m->node[o].flags & RD_NODE_REPLICA))
			abort();	/* only masters serve slots */
	}
	if (t->remote != remote || t->moving != moving)
		abort();
	for (unsigned n = 0; n < m->nnodes; n++)
		if (strncmp(t->redirect[n], "SERVER_ERROR moved ", 19) != 0 ||
		    strlen(t->redirect[n]) < 23)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_cluster_map *published;
	struct wc_cmap_stage *st = NULL;
	struct wc_cmap_self self;
	char line[WC_CP_LINE_MAX + 1], out[WC_CP_LINE_MAX + 64];
	size_t off = 1;

	if (size == 0)
		return 0;
	published = rd_cluster_map_single(SELF_ID, "198.18.0.11", 6379, 16379, 0);
	if (!published)
		abort();
	self = (struct wc_cmap_self){ .id = (data[0] & 2) ? NULL : SELF_ID, .ip = "198.18.0.11",
				      .port = 6379, .cport = 16379, .mcport = 11211,
				      .cluster = !(data[0] & 1), .published = published };
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		char *argv[17], *save = NULL;
		struct wc_cmap_built b;
		enum wc_cmap_act act;
		int argc = 0;

		if (len >= WC_CP_LINE_MAX) {	/* the control thread hangs up on these */
			off += len + 1;
			wc_cmap_stage_drop(&st);
			continue;
		}
		memcpy(line, data + off, len);
		line[len] = 0;
		off += len + 1;
		if (len && line[len - 1] == '\r')
			line[len - 1] = 0;
		for (char *t = strtok_r(line, " \t", &save); t && argc <= 16;
		     t = strtok_r(NULL, " \t", &save))
			argv[argc++] = t;
		if (argc == 0 || argc > 16)
			continue;
		out[0] = 0;
		act = wc_cmap_parse(&st, &self, argc, argv, out, sizeof(out), &b);
		if (act == WC_CMAP_NOT_MINE) {
			if (out[0] || b.map || b.nodes)
				abort();
			continue;
		}
		check_reply(out);
		if (act == WC_CMAP_REPLIED) {
			if (b.map || b.nodes)
				abort();
			continue;
		}
		/* committed: it must be no older, and becomes the one in force */
		check_built(&b);
		if (strncmp(out, "OK epoch=", 9) != 0 || st != NULL ||
		    b.map->current_epoch < published->current_epoch)
			abort();
		rd_cluster_map_free(published);
		published = b.map;
		self.published = published;
		b.map = NULL;
		wc_cmap_built_free(&b);
	}
	wc_cmap_stage_drop(&st);
	rd_cluster_map_free(published);
	return 0;
}
