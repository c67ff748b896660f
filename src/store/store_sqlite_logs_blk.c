/*
 * store_sqlite_logs_blk.c - one log block being read (sqlite_logs_int.h):
 * its head, its lines blob, its frames decompressed one at a time, its
 * fields blob, and a line as the store's event row.
 *
 * DESIGN
 * A walk selects only a block's head and reads its blobs through blob
 * handles (sqlite3_blob_reopen moves one handle from row to row): a blob
 * selected as a result column is copied at every step, and copying the
 * 60 KB frames blob of every block walked was most of a walk over the ten
 * thousand blocks of a day. Only the frame table and the compressed bytes
 * of a frame that holds a wanted line are read, and a frame's records are
 * parsed only up to the line asked for. Lookups of one line
 * (store_sqlite_logs_get.c) select both blobs with the row instead (lazy 0).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/pool.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "core/banned.h"

/* The block's row without its blobs. */
void sq_blk_head(struct blk *b, sqlite3_stmt *st)
{
    b->st = st;
    b->first = sqlite3_column_int64(st, 0);
    b->nlines = (size_t)sqlite3_column_int64(st, 1);
    b->t_min = sqlite3_column_int64(st, 2);
    b->t_max = sqlite3_column_int64(st, 3);
    b->frames_open = 0;
    b->fields_open = 0;
    b->frame = SIZE_MAX;
}

/* A lazy block's blob handle for column col, moved to the block's row. */
static int blk_blob(struct blk *b, sqlite3_blob **h, const char *col, struct bl_err *err)
{
    if (*h != NULL && sqlite3_blob_reopen(*h, b->id) == SQLITE_OK)
        return 0;
    if (*h != NULL) {
        sqlite3_blob_close(*h);
        *h = NULL;
    }
    if (sqlite3_blob_open(b->db, "main", "log_blocks", col, b->id, 0, h) != SQLITE_OK) {
        if (*h != NULL)
            sqlite3_blob_close(*h);
        *h = NULL;
        return bl_err_set(err, BL_ESTORE, "log block %lld: %s", (long long)b->id,
                          sqlite3_errmsg(b->db));
    }
    return 0;
}

/* Reads n bytes at off of the blob into out (replacing it). */
static int blk_blob_read(struct blk *b, sqlite3_blob *h, size_t off, size_t n, struct buf *out,
                         struct bl_err *err)
{
    buf_reset(out);
    if (n > INT32_MAX || buf_grow(out, n + 1) != 0)
        return bl_err_set(err, BL_ETOOBIG, "log block %lld: blob too large", (long long)b->id);
    if (n > 0 && sqlite3_blob_read(h, out->p, (int)n, (int)off) != SQLITE_OK)
        return bl_err_set(err, BL_ESTORE, "log block %lld: %s", (long long)b->id,
                          sqlite3_errmsg(b->db));
    out->len = n;
    return 0;
}

/* Its lines blob: read only for a block that may hold a candidate. */
int sq_blk_lines(struct blk *b, struct bl_err *err)
{
    const void *p;
    size_t n;

    if (b->lazy) {
        int rc = blk_blob(b, &b->hl, "lines", err);

        if (rc == 0)
            rc = blk_blob_read(b, b->hl, 0, (size_t)sqlite3_blob_bytes(b->hl), &b->lbuf, err);
        if (rc != 0)
            return rc;
        p = b->lbuf.p;
        n = b->lbuf.len;
    } else {
        p = sqlite3_column_blob(b->st, 4);
        n = (size_t)sqlite3_column_bytes(b->st, 4);
    }
    if (lb_lines_open(p, n, b->nlines, &b->ln) != 0)
        return bl_err_set(err, BL_ESTORE, "log block at line %lld is corrupt", (long long)b->first);
    b->ts_ready = 1;
    return 0;
}

/*
 * Its lines blob, of a lazy block, for lines lo..hi only: their level and
 * flag bytes in one read (the blob's length gives the timestamps' width),
 * their timestamps only when sq_blk_lines_ts is called, so a block whose
 * one candidate the level rules out costs one small read, not a copy of
 * its 5 KB. The buffer is the blob's size; its other bytes are stale.
 */
int sq_blk_lines_some(struct blk *b, size_t lo, size_t hi, struct bl_err *err)
{
    unsigned char *u;
    size_t len, w, n = b->nlines, at;
    int rc;

    if (!b->lazy || hi >= n || lo > hi)
        return sq_blk_lines(b, err);
    rc = blk_blob(b, &b->hl, "lines", err);
    if (rc != 0)
        return rc;
    len = (size_t)sqlite3_blob_bytes(b->hl);
    w = n > 0 && len > 13 ? (len - 13) / n : 0;
    if (w < 3 || w > 10 || len != 13 + n * w || len > INT32_MAX)
        return bl_err_set(err, BL_ESTORE, "log block at line %lld is corrupt", (long long)b->first);
    w -= 2;
    buf_reset(&b->lbuf);
    if (buf_grow(&b->lbuf, len + 1) != 0)
        return bl_err_set(err, BL_ETOOBIG, "log block %lld: blob too large", (long long)b->id);
    u = (unsigned char *)b->lbuf.p;
    at = 13 + n * w + lo;
    if (sqlite3_blob_read(b->hl, u + at, (int)(n + hi - lo + 1), (int)at) != SQLITE_OK)
        return bl_err_set(err, BL_ESTORE, "log block %lld: %s", (long long)b->id,
                          sqlite3_errmsg(b->db));
    b->lbuf.len = len;
    b->ln = (struct lb_lines){ n, (int)w, 0, u + 13, u + 13 + n * w, u + 13 + n * (w + 1) };
    b->ts_lo = lo;
    b->ts_hi = hi;
    b->ts_ready = 0;
    return 0;
}

/* The timestamps of the lines sq_blk_lines_some read (and the blob's header). */
int sq_blk_lines_ts(struct blk *b, struct bl_err *err)
{
    unsigned char *u = (unsigned char *)b->lbuf.p;
    size_t w = (size_t)b->ln.width, at = 13 + b->ts_lo * w;
    struct lb_lines ln;

    if (b->ts_ready)
        return 0;
    if (sqlite3_blob_read(b->hl, u, 13, 0) != SQLITE_OK ||
        sqlite3_blob_read(b->hl, u + at, (int)((b->ts_hi - b->ts_lo + 1) * w), (int)at) !=
            SQLITE_OK)
        return bl_err_set(err, BL_ESTORE, "log block %lld: %s", (long long)b->id,
                          sqlite3_errmsg(b->db));
    if (lb_lines_open(u, b->lbuf.len, b->nlines, &ln) != 0 || ln.width != b->ln.width)
        return bl_err_set(err, BL_ESTORE, "log block at line %lld is corrupt", (long long)b->first);
    b->ln = ln;
    b->ts_ready = 1;
    return 0;
}

int sq_blk_read(struct blk *b, sqlite3_stmt *st, struct bl_err *err)
{
    sq_blk_head(b, st);
    return sq_blk_lines(b, err);
}

/* The frame table: of a lazy block, its count and table only (frames are read one by one). */
static int blk_frames(struct blk *b, struct bl_err *err)
{
    size_t len, nf;
    int rc;

    if (!b->lazy)
        rc = lb_frames_open(sqlite3_column_blob(b->st, 5), (size_t)sqlite3_column_bytes(b->st, 5),
                            b->nlines, &b->fr);
    else {
        rc = blk_blob(b, &b->hf, "frames", err);
        if (rc != 0)
            return rc;
        len = (size_t)sqlite3_blob_bytes(b->hf);
        rc = blk_blob_read(b, b->hf, 0, len < 4 ? len : 4, &b->fhead, err);
        if (rc != 0)
            return rc;
        nf = len < 4 ? 0
                     : (size_t)(unsigned char)b->fhead.p[0] |
                           (size_t)(unsigned char)b->fhead.p[1] << 8 |
                           (size_t)(unsigned char)b->fhead.p[2] << 16 |
                           (size_t)(unsigned char)b->fhead.p[3] << 24;
        if (nf > 0 && nf <= LB_BLOCK_LINES && 4 + nf * 12 <= len)
            rc = blk_blob_read(b, b->hf, 0, 4 + nf * 12, &b->fhead, err);
        if (rc != 0)
            return rc;
        rc = lb_frames_head(b->fhead.p, b->fhead.len, len, b->nlines, &b->fr);
    }
    if (rc != 0)
        return bl_err_set(err, BL_ESTORE, "log block at line %lld: corrupt frames",
                          (long long)b->first);
    b->frames_open = 1;
    return 0;
}

/* Decompresses frame fi into b->fbuf, and where its records start. */
static int blk_decode(struct blk *b, size_t fi, struct bl_err *err)
{
    int rc;

    b->frame = SIZE_MAX;
    if (b->lazy) {
        size_t start, stop;

        lb_frames_span(&b->fr, fi, &start, &stop);
        rc = blk_blob_read(b, b->hf, 4 + b->fr.nframes * 12 + start, stop - start, &b->zbuf, err);
        if (rc == 0)
            rc = lb_frames_decode_at(&b->fr, fi, b->zbuf.p, b->dctx, &b->fbuf, &b->ffirst,
                                     &b->fcount, err);
    } else
        rc = lb_frames_decode(&b->fr, fi, b->dctx, &b->fbuf, &b->ffirst, &b->fcount, err);
    if (rc != 0)
        return rc;
    b->nroff = 0;
    b->frame = fi;
    return 0;
}

/* Where the record of the frame's k-th line starts: records before it are parsed once. */
static int blk_roff(struct blk *b, size_t k, struct bl_err *err)
{
    const unsigned char *base = (const unsigned char *)b->fbuf.p, *end = base + b->fbuf.len;

    while (b->nroff <= k) {
        const unsigned char *p = base + (b->nroff == 0 ? 0 : b->roff[b->nroff - 1]);
        struct lb_line tmp;

        /* roff[j] is where record j + 1 starts: the end of record j */
        if (lb_line_next(&p, end, &tmp) != 0)
            return bl_err_set(err, BL_ESTORE, "log block: corrupt line record");
        b->roff[b->nroff++] = (size_t)(p - base);
    }
    return 0;
}

/* The record of line index i, decompressing its frame if it is not the one at hand. */
int sq_blk_line(struct blk *b, size_t i, struct lb_line *l, struct bl_err *err)
{
    const unsigned char *p, *end;
    size_t fi;
    int rc;

    if (!b->frames_open && (rc = blk_frames(b, err)) != 0)
        return rc;
    fi = lb_frames_find(&b->fr, i);
    if (fi != b->frame && (rc = blk_decode(b, fi, err)) != 0)
        return rc;
    if (i < b->ffirst || i - b->ffirst >= b->fcount)
        return bl_err_set(err, BL_ESTORE, "log block: line outside its frame");
    if (i > b->ffirst && (rc = blk_roff(b, i - b->ffirst - 1, err)) != 0)
        return rc;
    p = (const unsigned char *)b->fbuf.p + (i == b->ffirst ? 0 : b->roff[i - b->ffirst - 1]);
    end = (const unsigned char *)b->fbuf.p + b->fbuf.len;
    if (lb_line_next(&p, end, l) != 0)
        return bl_err_set(err, BL_ESTORE, "log block: corrupt line record");
    return 0;
}

/*
 * A lazy block's fields blob: 1 when open, 0 when the block has none (then
 * neither do the older blocks the walk comes to next, written before
 * day-file migration 4: a failed open is not retried).
 */
int sq_blk_fields(struct blk *b)
{
    if (b->fields_open)
        return 1;
    if (!b->lazy || b->no_fields)
        return 0;
    if ((b->hfl != NULL && sqlite3_blob_reopen(b->hfl, b->id) == SQLITE_OK) ||
        (b->hfl == NULL && sqlite3_blob_open(b->db, "main", "log_block_fields", "fields", b->id, 0,
                                             &b->hfl) == SQLITE_OK)) {
        if (blk_blob_read(b, b->hfl, 0, (size_t)sqlite3_blob_bytes(b->hfl), &b->flbuf, NULL) == 0 &&
            lb_fields_open(b->flbuf.p, b->flbuf.len, b->nlines, &b->fl) == 0) {
            b->fields_open = 1;
            return 1;
        }
        return 0; /* a corrupt blob: this block's records answer */
    }
    if (b->hfl != NULL)
        sqlite3_blob_close(b->hfl);
    b->hfl = NULL;
    b->no_fields = 1;
    return 0;
}

/*
 * Line i as a fields_only event from the lines and fields blobs alone: 1
 * when done, 0 when a value is not in the blob (read the record instead).
 */
int sq_blk_fields_event(struct blk *b, size_t i, int64_t project_id, int want_service,
                        struct pool *pool, struct store_event *e)
{
    const char **dst[LB_NFIELDS] = { &e->logger, &e->release, &e->environment, &e->server_name,
                                     &e->service };

    if (!sq_blk_fields(b))
        return 0;
    memset(e, 0, sizeof(*e));
    for (int f = 0; f < LB_NFIELDS; f++) {
        const char *v = NULL;
        size_t n = 0;
        int r = lb_fields_get(&b->fl, f, i, &v, &n);

        if (r < 0 && f == LB_FIELD_SERVICE && !want_service)
            continue; /* not asked for: service_known stays 0 */
        if (r < 0)
            return 0;
        *dst[f] = r > 0 ? pool_strndup(pool, v, n) : NULL;
        e->service_known |= f == LB_FIELD_SERVICE;
    }
    e->project_id = project_id;
    e->timestamp = lb_lines_ts(&b->ln, i);
    e->level = lb_lines_level(&b->ln, i);
    e->kind = EV_KIND_LOG;
    e->source = EV_SRC_LOGLINE;
    e->tags_json = "[]";
    e->host_known = 1;
    return 1;
}

static const char *str_of(struct pool *pool, const struct lb_line *l, int i)
{
    return l->str[i] != NULL ? pool_strndup(pool, l->str[i], l->len[i]) : NULL;
}

static void copy_id(char out[33], const struct lb_line *l, int i)
{
    size_t n = l->str[i] != NULL ? l->len[i] : 0;

    if (n > 32)
        n = 32;
    if (n > 0)
        memcpy(out, l->str[i], n);
    out[n] = '\0';
}

/* The listing's view of a line (kind log, no issue), its payload decoded into pool. */
int sq_line_event(struct pool *pool, int64_t project_id, const struct lb_line *l,
                  struct store_event *e, struct bl_err *err)
{
    const char *tags = str_of(pool, l, LB_TAGS_JSON);

    memset(e, 0, sizeof(*e));
    e->project_id = project_id;
    copy_id(e->event_id, l, LB_EVENT_ID);
    copy_id(e->fingerprint, l, LB_FINGERPRINT);
    e->timestamp = l->timestamp;
    e->received_at = l->received_at;
    e->level = l->level;
    e->kind = EV_KIND_LOG;
    e->logger = str_of(pool, l, LB_LOGGER);
    e->message = str_of(pool, l, LB_MESSAGE);
    e->title = str_of(pool, l, LB_TITLE);
    e->culprit = str_of(pool, l, LB_CULPRIT);
    e->release = str_of(pool, l, LB_RELEASE);
    e->environment = str_of(pool, l, LB_ENVIRONMENT);
    e->server_name = str_of(pool, l, LB_SERVER_NAME);
    e->host_known = 1;
    e->tags_json = tags != NULL ? tags : "[]";
    e->source = l->source;
    e->template_hash = l->template_hash;
    if (l->str[LB_RAW] == NULL)
        return 0;
    return sq_raw_decode(l->raw_encoding, l->str[LB_RAW], l->len[LB_RAW], pool, &e->raw,
                         &e->raw_len, err);
}
