/*
 * The web UI's files (api_ui.h): GET / is index.html, GET /ui/... the rest.
 * Embedded assets come from the generated table; with --ui-dir they are read
 * from disk on every request, uncompressed and never cached, so an edit shows
 * on reload.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_ui.h"
#include "core/banned.h"

#define UI_FILE_MAX (8u << 20) /* largest file --ui-dir serves */
#define UI_PATH_MAX 200
#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"

/*
 * The UI loads only its own files and talks only to this server. No inline
 * script or style attribute is allowed anywhere in ui/, so none is needed here.
 */
#define UI_CSP                                                                                     \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "                  \
    "form-action 'self'; frame-ancestors 'none'"

const struct ui_asset *ui_asset_find(const char *path)
{
    for (size_t i = 0; i < ui_embedded_count; i++)
        if (strcmp(ui_embedded[i].path, path) == 0)
            return &ui_embedded[i];
    return NULL;
}

const char *ui_content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".json", "application/json" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".ico", "image/x-icon" },
    };
    const char *dot = strrchr(path, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Whether the list item [s, s+n) ("gzip;q=0.5") names gzip with a non-zero q. */
static int coding_item_gzip(const char *s, size_t n)
{
    const char *q;

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    if (n < 4 || strncasecmp(s, "gzip", 4) != 0)
        return 0;
    if (n > 4 && s[4] != ';' && s[4] != ' ')
        return 0; /* "gzipx" */
    q = memchr(s, '=', n);
    if (q == NULL)
        return 1;
    /* q=0, q=0.0, q=0.000 refuse; anything else accepts. */
    for (q++; q < s + n && (*q == '0' || *q == '.' || *q == ' '); q++)
        ;
    return q < s + n;
}

int ui_accepts_gzip(const char *ae)
{
    while (ae != NULL && *ae != '\0') {
        const char *comma = strchr(ae, ',');
        size_t n = comma ? (size_t)(comma - ae) : strlen(ae);

        if (coding_item_gzip(ae, n))
            return 1;
        ae = comma ? comma + 1 : NULL;
    }
    return 0;
}

int ui_etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    while (inm != NULL && *inm != '\0') {
        while (*inm == ' ' || *inm == ',')
            inm++;
        if (inm[0] == '*')
            return 1;
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2;
        if (strncmp(inm, etag, n) == 0 && (inm[n] == '\0' || inm[n] == ',' || inm[n] == ' '))
            return 1;
        inm = strchr(inm, ',');
    }
    return 0;
}

/* A path under ui/ we are willing to look up: no "..", no odd characters. */
static int path_ok(const char *p)
{
    size_t n = strlen(p);

    if (n == 0 || n > UI_PATH_MAX || p[0] == '/' || p[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '-' || c == '_' || c == '.'))
            return 0;
        if (c == '.' && i > 0 && (p[i - 1] == '.' || p[i - 1] == '/'))
            return 0;
    }
    return 1;
}

static void security_headers(struct bl_resp *resp)
{
    resp_header(resp, "X-Content-Type-Options", "nosniff");
    resp_header(resp, "Referrer-Policy", "same-origin");
}

/* Answers one embedded asset: 304 when the client has it, gzip when accepted. */
static void send_embedded(struct bl_req *req, struct bl_resp *resp, const struct ui_asset *a,
                          const char *cache)
{
    int gz = ui_accepts_gzip(req_header(req, "Accept-Encoding")) && a->gz_len < a->len;
    const char *etag = gz ? pool_printf(req->pool, "%.*s-gz\"", (int)(strlen(a->etag) - 1), a->etag)
                          : a->etag;

    resp_header(resp, "Cache-Control", cache);
    resp_header(resp, "Vary", "Accept-Encoding");
    resp_header(resp, "ETag", etag);
    security_headers(resp);
    if (ui_etag_matches(req_header(req, "If-None-Match"), etag)) {
        resp->status = 304;
        return;
    }
    if (gz)
        resp_header(resp, "Content-Encoding", "gzip");
    if (buf_add(&resp->body, gz ? a->gz : a->data, gz ? a->gz_len : a->len) < 0) {
        resp_error(resp, 500, "out of memory");
        return;
    }
    resp->content_type = ui_content_type(a->path);
    resp->status = 200;
}

/* 64-bit FNV-1a: a development ETag, not a security measure. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h;
}

/* The first "%V%" in [p, end), or NULL. */
static const char *find_marker(const char *p, const char *end)
{
    for (; end - p >= 3; p++)
        if (p[0] == '%' && p[1] == 'V' && p[2] == '%')
            return p;
    return NULL;
}

/* index.html names assets under /ui/v/%V%/: "dev" from disk. */
static int dev_fill_version(struct buf *b)
{
    struct buf out = BUF_INIT(UI_FILE_MAX * 2);
    const char *p = b->p, *end = b->p + b->len;
    int rc = 0;

    while (rc == 0 && p < end) {
        const char *m = find_marker(p, end);

        if (m == NULL) {
            rc = buf_add(&out, p, (size_t)(end - p));
            break;
        }
        rc = buf_add(&out, p, (size_t)(m - p));
        if (rc == 0)
            rc = buf_addstr(&out, "dev");
        p = m + 3;
    }
    buf_release(b);
    *b = out;
    return rc;
}

static void send_from_dir(struct bl_req *req, struct bl_resp *resp, const char *dir,
                          const char *rel)
{
    char path[1400], etag[24];
    FILE *f;
    size_t n;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path) ||
        (f = fopen(path, "rb")) == NULL) {
        resp_error(resp, 404, "no such file in the UI");
        return;
    }
    if (buf_grow(&resp->body, UI_FILE_MAX) < 0) {
        fclose(f);
        resp_error(resp, 500, "out of memory");
        return;
    }
    n = fread(resp->body.p, 1, UI_FILE_MAX, f);
    if (ferror(f)) {
        /* a directory, or unreadable */
        fclose(f);
        resp_error(resp, 404, "no such file in the UI");
        return;
    }
    fclose(f);
    resp->body.len = n;
    if (strcmp(rel, "index.html") == 0 && dev_fill_version(&resp->body) < 0) {
        resp_error(resp, 500, "out of memory");
        return;
    }
    snprintf(etag, sizeof(etag), "\"%016llx\"",
             (unsigned long long)fnv1a(resp->body.p, resp->body.len));
    resp_header(resp, "Cache-Control", CACHE_REVALIDATE);
    resp_header(resp, "ETag", pool_strdup(req->pool, etag));
    security_headers(resp);
    if (ui_etag_matches(req_header(req, "If-None-Match"), etag)) {
        buf_reset(&resp->body);
        resp->status = 304;
        return;
    }
    resp->content_type = ui_content_type(rel);
    resp->status = 200;
}

static void send_file(struct bl_req *req, struct bl_resp *resp, const char *rel, const char *cache)
{
    const char *dir = req->app && req->app->cfg ? req->app->cfg->ui_dir : "";
    const struct ui_asset *a;

    if (strcmp(rel, "index.html") == 0)
        resp_header(resp, "Content-Security-Policy", UI_CSP);
    if (!path_ok(rel)) {
        resp_error(resp, 404, "no such file in the UI");
        return;
    }
    if (dir[0] != '\0') {
        send_from_dir(req, resp, dir, rel);
        return;
    }
    a = ui_asset_find(rel);
    if (a == NULL) {
        resp_error(resp, 404, "no such file in the UI");
        return;
    }
    send_embedded(req, resp, a, cache);
}

void api_ui_index(struct bl_req *req, struct bl_resp *resp)
{
    send_file(req, resp, "index.html", CACHE_REVALIDATE);
}

/*
 * /ui/v/VERSION/REST is REST, cached for a year when VERSION is this
 * binary's (a stale VERSION gets today's file, revalidated). /ui/REST is
 * REST, revalidated.
 */
void api_ui_asset(struct bl_req *req, struct bl_resp *resp)
{
    char rel[UI_PATH_MAX + 1];
    struct slice rest = req->params[req->nparams - 1];
    const char *cache = CACHE_REVALIDATE;
    size_t vlen = strlen(ui_embedded_version);

    if (rest.len > UI_PATH_MAX) {
        resp_error(resp, 404, "no such file in the UI");
        return;
    }
    memcpy(rel, rest.p, rest.len);
    rel[rest.len] = '\0';
    if (strncmp(rel, "v/", 2) == 0) {
        char *slash = strchr(rel + 2, '/');

        if (slash == NULL) {
            resp_error(resp, 404, "no such file in the UI");
            return;
        }
        if ((size_t)(slash - rel - 2) == vlen && memcmp(rel + 2, ui_embedded_version, vlen) == 0)
            cache = CACHE_IMMUTABLE;
        memmove(rel, slash + 1, strlen(slash + 1) + 1);
    }
    send_file(req, resp, rel, cache);
}
