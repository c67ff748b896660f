/*
 * test_logs_fts.c - log_fts's doclists read straight from its segments
 * (store_sqlite_logs_fts.c) against FTS5's own answer, word by word, on
 * indexes of many segments, doclists over many small pages and merges left
 * half done; and what it must refuse (then FTS5 answers).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "store/sqlite_logs_int.h"
#include "t.h"

#define NWORDS 40

/* Word k of line i: k divides i + something, so frequencies range from every line to few. */
static int has_word(int64_t i, int k)
{
    if (k == 0)
        return 1; /* every line */
    if (k == 1)
        return i % 9973 == 5; /* rare */
    return (i * 7 + k) % (k + 1) == 0 || (k > 30 && i % 4 == 1);
}

static void fill(struct sq_conn *c, int64_t from, int64_t n)
{
    sqlite3_stmt *st = NULL;
    char text[1024];

    CHECK_INT_EQ(sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT_EQ(
        sqlite3_prepare_v2(c->db, "INSERT INTO log_fts(rowid, text) VALUES(?1, ?2)", -1, &st, NULL),
        SQLITE_OK);
    for (int64_t i = from; i < from + n; i++) {
        size_t len = 0;

        text[0] = '\0';
        for (int k = 0; k < NWORDS; k++)
            if (has_word(i, k))
                len += (size_t)snprintf(text + len, sizeof(text) - len, "%sWord%d-x ",
                                        k % 3 ? "" : "z", k);
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
        CHECK_INT_EQ(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    CHECK_INT_EQ(sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
}

/* FTS5's answer as a bitmap of nbytes. */
static unsigned char *fts5_bits(struct sq_conn *c, const char *text, size_t nbytes)
{
    unsigned char *bits = calloc(nbytes, 1);
    sqlite3_stmt *st = NULL;

    CHECK_INT_EQ(sqlite3_prepare_v2(c->db, "SELECT rowid FROM log_fts WHERE log_fts MATCH ?1", -1,
                                    &st, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);

        if (id >= 0 && (size_t)id / 8 < nbytes)
            bits[id / 8] |= (unsigned char)(1u << (id % 8));
    }
    sqlite3_finalize(st);
    return bits;
}

/* Every word (and a few pairs) read directly is exactly FTS5's answer; 1 when each was read. */
static int compare_all(struct sq_conn *c, int64_t nlines)
{
    size_t nbytes = (size_t)(nlines / 8 + 1);
    int all_read = 1;

    for (int k = 0; k < NWORDS + 4; k++) {
        char text[128];
        struct drive d;
        unsigned char *want;
        int rc, same = 1;

        if (k < NWORDS)
            snprintf(text, sizeof(text), "\"%sword%d\"", k % 3 ? "" : "z", k);
        else if (k == NWORDS)
            snprintf(text, sizeof(text), "\"ZWORD0\" AND \"word2\"");
        else if (k == NWORDS + 1)
            snprintf(text, sizeof(text), "\"word5\" AND \"word7\" AND \"zword9\"");
        else if (k == NWORDS + 2)
            snprintf(text, sizeof(text), "\"nosuchword\"");
        else
            snprintf(text, sizeof(text), "\"x\"");
        memset(&d, 0, sizeof(d));
        rc = sq_fts_bits(c, text, &d);
        if (rc != 0)
            all_read = 0;
        want = fts5_bits(c, text, nbytes);
        for (size_t i = 0; rc == 0 && i < nbytes; i++)
            if (want[i] != (i < d.nbits ? d.bits[i] : 0))
                same = 0;
        for (size_t i = nbytes; rc == 0 && i < d.nbits; i++)
            if (d.bits[i] != 0)
                same = 0;
        if (!same)
            fprintf(stderr, "differs: %s\n", text);
        CHECK(same);
        free(want);
        free(d.bits);
    }
    return all_read;
}

static void refused(struct sq_conn *c, const char *text)
{
    struct drive d;

    memset(&d, 0, sizeof(d));
    CHECK(sq_fts_bits(c, text, &d) != 0);
    free(d.bits);
}

int main(void)
{
    char dir[] = "/tmp/bilor-test-logs-fts-XXXXXX", path[300];
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };
    int64_t n = 0;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/day.db", dir);
    CHECK_INT_EQ(sq_conn_open(path, SQ_OPEN_CREATE, &c, &err), 0);
    /* log_fts as the schema makes it, with tiny pages: every doclist spans many */
    CHECK_INT_EQ(sq_exec(c,
                         "CREATE VIRTUAL TABLE log_fts USING fts5(text, content='', detail=none,"
                         " columnsize=0, tokenize='unicode61 remove_diacritics 2');"
                         "INSERT INTO log_fts(log_fts, rank) VALUES('pgsz', 64);"
                         "INSERT INTO log_fts(log_fts, rank) VALUES('automerge', 4);"
                         "INSERT INTO log_fts(log_fts, rank) VALUES('crisismerge', 64);",
                         &err),
                 0);
    /* an empty index has no structure record yet: FTS5 answers (no lines) */
    (void)compare_all(c, 64);
    /* many segments, some merged, rowids with gaps (another project's lines) */
    for (int t = 0; t < 24; t++) {
        fill(c, n, 300 + t * 37);
        n += 300 + t * 37 + (t % 5 == 0 ? 100000 : 3);
        if (t % 7 == 6)
            CHECK_INT_EQ(sq_exec(c, "INSERT INTO log_fts(log_fts, rank) VALUES('merge', 3)", &err),
                         0); /* an incremental merge left half done */
        CHECK(compare_all(c, n));
    }
    /* fully merged into one segment */
    CHECK_INT_EQ(sq_exec(c, "INSERT INTO log_fts(log_fts) VALUES('optimize')", &err), 0);
    CHECK(compare_all(c, n));
    /* default pages */
    CHECK_INT_EQ(sq_exec(c, "INSERT INTO log_fts(log_fts, rank) VALUES('pgsz', 4050)", &err), 0);
    fill(c, n, 5000);
    n += 5000;
    CHECK(compare_all(c, n));

    /* not plain words: FTS5 answers */
    refused(c, "\"word1\"*");
    refused(c, "\"word1 word2\"");
    refused(c, "word1");
    refused(c, "\"wörd\"");
    refused(c, "\"word1\" OR \"word2\"");
    refused(c, "\"\"");
    /* inside a transaction FTS5 may hold rows not in the segments yet */
    CHECK_INT_EQ(sq_exec(c, "BEGIN", &err), 0);
    refused(c, "\"word2\"");
    CHECK_INT_EQ(sq_exec(c, "COMMIT", &err), 0);

    /* damaged pages: never a read out of bounds (ASan), whatever is answered */
    {
        sqlite3_stmt *st = NULL;
        unsigned seed = 7;

        CHECK_INT_EQ(sqlite3_prepare_v2(c->db,
                                        "UPDATE log_fts_data SET block = ?2 WHERE id = ?1"
                                        " AND id > 10",
                                        -1, &st, NULL),
                     SQLITE_OK);
        for (int round = 0; round < 200; round++) {
            sqlite3_stmt *get = NULL;
            unsigned char junk[256];
            struct drive d;
            int64_t id = 0;

            sqlite3_prepare_v2(c->db, "SELECT id FROM log_fts_data ORDER BY random() LIMIT 1", -1,
                               &get, NULL);
            if (sqlite3_step(get) == SQLITE_ROW)
                id = sqlite3_column_int64(get, 0);
            sqlite3_finalize(get);
            for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (unsigned char)(rand_r(&seed) >> 3);
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_blob(st, 2, junk, (int)(rand_r(&seed) % sizeof(junk)), SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_reset(st);
            memset(&d, 0, sizeof(d));
            (void)sq_fts_bits(c, round % 2 ? "\"zword0\"" : "\"word2\" AND \"word5\"", &d);
            free(d.bits);
        }
        sqlite3_finalize(st);
    }
    sq_conn_close(c);

    /* an index of another shape (positions kept): never read this way */
    snprintf(path, sizeof(path), "%s/full.db", dir);
    CHECK_INT_EQ(sq_conn_open(path, SQ_OPEN_CREATE, &c, &err), 0);
    CHECK_INT_EQ(sq_exec(c,
                         "CREATE VIRTUAL TABLE log_fts USING fts5(text, content='');"
                         "INSERT INTO log_fts(rowid, text) VALUES(1, 'word2 x'), (2, 'x');",
                         &err),
                 0);
    refused(c, "\"word2\"");
    sq_conn_close(c);
    t_rm_tree(dir);
    return t_done();
}
