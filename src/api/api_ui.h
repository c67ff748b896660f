/*
 * api_ui.h - the web UI's files: embedded in the binary, or read from a
 * folder (`bilor serve --ui-dir DIR`) while developing it.
 *
 * DESIGN
 * The UI is static HTML, CSS and ES modules (ui/) that use only the public
 * REST API. cmake/EmbedUi.cmake turns ui/ into a table of assets at build
 * time, each with a gzip -9 copy and an ETag, so serving is a lookup: no
 * compression, hashing or disk access per request. index.html names every
 * other asset under /ui/v/VERSION/ (VERSION hashes all assets), so those
 * answers may be cached for a year; index.html itself is revalidated
 * (no-cache + ETag) and a new binary is picked up on the next load.
 */
#ifndef BL_API_UI_H
#define BL_API_UI_H

#include <stddef.h>

struct ui_asset {
    const char *path; /* relative to ui/, e.g. "js/app.js" */
    const unsigned char *data;
    size_t len;
    const unsigned char *gz; /* gzip -9 -n of data */
    size_t gz_len;
    const char *etag; /* quoted, of data */
};

/* Generated into the build tree (api_ui_assets.c). */
extern const struct ui_asset ui_embedded[];
extern const size_t ui_embedded_count;
extern const char ui_embedded_version[];

/* The embedded asset at path (no leading slash), or NULL. */
const struct ui_asset *ui_asset_find(const char *path);

/* The Content-Type for a file name, from its extension. */
const char *ui_content_type(const char *path);

/* 1 when an Accept-Encoding value accepts gzip (a "q=0" refuses it). */
int ui_accepts_gzip(const char *accept_encoding);

/* 1 when an If-None-Match value names etag (or is "*"). */
int ui_etag_matches(const char *if_none_match, const char *etag);

#endif
