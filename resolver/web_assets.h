/*
 * The web UI's static files (resolver/web/), built into the binary by
 * resolver/embed_assets.cmake: wardd needs no files at run time and loads nothing from
 * elsewhere. Each array also ends in a NUL (not counted in len), so a text file can be
 * used as a C string.
 */
#ifndef WARD_WEB_ASSETS_H
#define WARD_WEB_ASSETS_H

#include <stddef.h>

struct ward_web_asset {
	const char *path;          /* "/static/style.css", "/admin.html" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct ward_web_asset ward_web_assets[];
extern const unsigned ward_web_n_assets;

#endif
