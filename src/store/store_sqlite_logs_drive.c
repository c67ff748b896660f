/*
 * store_sqlite_logs_drive.c - the full-text candidates of a walk over a day
 * file's log blocks (struct drive in sqlite_logs_int.h).
 *
 * DESIGN
 * log_fts's rowids are line numbers. A walk asks the index per block (rowid
 * range) for its first blocks, since a common word's newest lines are in
 * the newest block; past SQ_DRIVE_LAZY_BLOCKS it loads the day's candidates
 * once into a bitmap of a bit per line number, since a rare word would
 * otherwise cost one index query per block (the bitmap of plain words is
 * read from the index's segments directly: store_sqlite_logs_fts.c). The
 * same id list holds the lines a replay retired (log_gone).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "store/logblock.h"
#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "core/banned.h"

/* Line numbers past this are not taken into a candidate bitmap (2^31 lines: 256 MiB). */
#define DRIVE_LINE_MAX (INT64_C(1) << 31)

static int drive_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct drive *d = ctx;

    (void)err;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1024;
        d->ids = xrealloc(d->ids, d->cap * sizeof(*d->ids));
    }
    d->ids[d->n++] = sqlite3_column_int64(st, 0);
    return 0;
}

/* A little-endian 64-bit word as loaded from the bitmap's bytes. */
static uint64_t le64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}

/* A bit per line number: the day's candidates (the bitmap grows with the rowids). */
void sq_drive_bit_set(struct drive *d, int64_t id)
{
    size_t byte;

    if (id < 0 || id > DRIVE_LINE_MAX)
        return; /* no line has it */
    byte = (size_t)id / 8;
    if (byte >= d->nbits) {
        size_t n = d->nbits ? d->nbits : 4096;

        while (n <= byte)
            n *= 2;
        d->bits = xrealloc(d->bits, n);
        memset(d->bits + d->nbits, 0, n - d->nbits);
        d->nbits = n;
    }
    d->bits[byte] |= (unsigned char)(1u << (id % 8));
}

static int drive_bit(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    (void)err;
    sq_drive_bit_set(ctx, sqlite3_column_int64(st, 0));
    return 0;
}

int sq_drive_count(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct drive *d = ctx;

    (void)err;
    d->probe[d->count++] = sqlite3_column_int64(st, 0);
    return 0;
}

static int post_bit(void *arg, int64_t line)
{
    sq_drive_bit_set(arg, line);
    return 0;
}

int sq_drive_load(struct sq_conn *c, struct drive *d, struct bl_err *err)
{
    static const char sql[] = "SELECT rowid FROM log_fts WHERE log_fts MATCH ?1";
    struct sq_query q = { sql, "log full-text", { SQ_TEXT(d->text) }, 1, drive_bit, d };
    int rc;

    if (d->text == NULL || d->loaded)
        return 0;
    d->loaded = 1;
    /* plain words: their doclists straight from log_fts's segments (store_sqlite_logs_fts.c) */
    rc = d->post_only || sq_fts_bits(c, d->text, d) == 0 ? 0 : sq_query_each(c, &q, err);
    if (rc == 0 && d->post)
        rc = sq_post_lines(c, d->project_id, &d->pw, d->post_from, DRIVE_LINE_MAX, post_bit, d,
                           err);
    return rc;
}

struct block_ctx {
    struct drive *d;
    int64_t first;
};

static int block_row(sqlite3_stmt *st, void *ctx, struct bl_err *err)
{
    struct block_ctx *b = ctx;
    int64_t i = sqlite3_column_int64(st, 0) - b->first;

    (void)err;
    /* rowids come ascending */
    if (i >= 0 && i < LB_BLOCK_LINES && b->d->nidx < LB_BLOCK_LINES &&
        (b->d->nidx == 0 || b->d->idx[b->d->nidx - 1] < i))
        b->d->idx[b->d->nidx++] = (uint16_t)i;
    return 0;
}

static int post_idx(void *arg, int64_t line)
{
    struct block_ctx *b = arg;
    int64_t i = line - b->first;

    if (i >= 0 && i < LB_BLOCK_LINES && b->d->nidx < LB_BLOCK_LINES)
        b->d->idx[b->d->nidx++] = (uint16_t)i;
    return 0;
}

/* Fills d->idx with the candidates among the lines first .. first + n - 1. */
int sq_drive_block(struct sq_conn *c, struct drive *d, int64_t first, size_t n, struct bl_err *err)
{
    static const char sql[] = "SELECT rowid FROM log_fts WHERE log_fts MATCH ?1"
                              " AND rowid >= ?2 AND rowid <= ?3";
    struct block_ctx b = { d, first };
    struct sq_query q = {
        sql, "log full-text", { SQ_TEXT(d->text), SQ_INT(first), SQ_INT(first + (int64_t)n - 1) },
        3,   block_row,       &b
    };
    int rc;

    if (n > LB_BLOCK_LINES)
        n = LB_BLOCK_LINES;
    d->nidx = 0;
    if (d->text == NULL) {
        for (size_t i = 0; i < n; i++)
            d->idx[i] = (uint16_t)i;
        d->nidx = n;
    }
    d->none = d->nidx == 0;
    if (d->text == NULL)
        return 0;
    if (!d->loaded && d->blocks < SQ_DRIVE_LAZY_BLOCKS) {
        d->blocks++;
        /* a block's lines are all before post_from or all from it (blocks never span it) */
        if (d->post && first >= d->post_from)
            rc = sq_post_lines(c, d->project_id, &d->pw, first, first + (int64_t)n - 1, post_idx,
                               &b, err);
        else
            rc = sq_query_each(c, &q, err);
        d->none = d->nidx == 0;
        return rc;
    }
    rc = sq_drive_load(c, d, err);
    if (rc != 0 || first < 0 || n == 0)
        return rc;
    /* the bitmap's 64-bit words over the block: most are zero for a rare or medium word */
    for (int64_t w = first / 64; w <= (first + (int64_t)n - 1) / 64; w++) {
        uint64_t bits = 0;
        int64_t base = w * 64;

        if ((size_t)w * 8 + 8 <= d->nbits) {
            memcpy(&bits, d->bits + (size_t)w * 8, 8);
            bits = le64(bits);
        } else {
            for (size_t k = 0; k < 8 && (size_t)w * 8 + k < d->nbits; k++)
                bits |= (uint64_t)d->bits[(size_t)w * 8 + k] << (8 * k);
        }
        if (base < first)
            bits &= ~UINT64_C(0) << (first - base);
        if (base + 64 > first + (int64_t)n)
            bits &= ~UINT64_C(0) >> (base + 64 - first - (int64_t)n);
        while (bits != 0) {
            d->idx[d->nidx++] = (uint16_t)(base + __builtin_ctzll(bits) - first);
            bits &= bits - 1;
        }
    }
    d->none = d->nidx == 0;
    return 0;
}
int sq_drive_gone_load(struct sq_conn *c, struct drive *g, struct bl_err *err)
{
    static const char sql[] = "SELECT line FROM log_gone ORDER BY line";
    struct sq_query q = { sql, "retired log lines", { { 0, 0, NULL } }, 0, drive_row, g };

    return sq_query_each(c, &q, err);
}

int sq_drive_is_gone(const struct drive *g, int64_t line)
{
    size_t lo = 0, hi = g->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (g->ids[mid] == line)
            return 1;
        if (g->ids[mid] < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Whether every line of the file has its id tokens in log_fts (schema migration 5). */
int sq_ids_indexed(struct sq_conn *c)
{
    return sq_part_meta(c, "id_tokens_from") == 1;
}
