/*
 * webassets.h - the dashboard's files, compiled into wirecache-cp.
 */
#ifndef WC_CONTROL_WEBASSETS_H
#define WC_CONTROL_WEBASSETS_H

#include <stddef.h>

struct cp_asset {
	const char *path;		/* URL path */
	const char *type;		/* Content-Type */
	const unsigned char *data, *end;	/* the bytes are [data, end) */
};

/* The asset served at path, or NULL. */
const struct cp_asset *cp_asset_find(const char *path);

#endif
