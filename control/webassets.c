/*
 * webassets.c - the dashboard's files (control/web/) embedded with the
 * assembler's .incbin, so wirecache-cp serves them from any working
 * directory. control.mk makes this object depend on the files.
 */
#include <string.h>

#include "webassets.h"

#define EMBED(sym, file)                                                        \
	__asm__(".section .rodata\n"                                            \
		".balign 16\n"                                                  \
		".global " #sym "\n" #sym ":\n"                                 \
		".incbin \"" file "\"\n"                                        \
		".global " #sym "_end\n" #sym "_end:\n"                         \
		".byte 0\n"                                                     \
		".previous\n");                                                 \
	extern const unsigned char sym[], sym##_end[]

EMBED(wc_web_index, "control/web/index.html");
EMBED(wc_web_js, "control/web/dashboard.js");
EMBED(wc_web_css, "control/web/dashboard.css");
EMBED(wc_web_uplot_js, "control/web/vendor/uPlot.iife.min.js");
EMBED(wc_web_uplot_css, "control/web/vendor/uPlot.min.css");

static const struct cp_asset assets[] = {
	{ "/", "text/html; charset=utf-8", wc_web_index, wc_web_index_end },
	{ "/static/dashboard.js", "text/javascript; charset=utf-8", wc_web_js, wc_web_js_end },
	{ "/static/dashboard.css", "text/css; charset=utf-8", wc_web_css, wc_web_css_end },
	{ "/static/uPlot.iife.min.js", "text/javascript; charset=utf-8", wc_web_uplot_js,
	  wc_web_uplot_js_end },
	{ "/static/uPlot.min.css", "text/css; charset=utf-8", wc_web_uplot_css,
	  wc_web_uplot_css_end },
};

const struct cp_asset *cp_asset_find(const char *path)
{
	if (strcmp(path, "/index.html") == 0)
		path = "/";
	for (unsigned i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strcmp(path, assets[i].path) == 0)
			return &assets[i];
	return NULL;
}
