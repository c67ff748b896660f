/*
 * The payload file beside a day file (store_sqlite_rawfile.c): what a
 * transaction added but never flushed is written over, flushed bytes never
 * are, a reopened file appends after all it holds, bad locators are
 * errors. Its use by the writer and readers is covered by the store
 * contract's payload round trips (test_store_contract.c).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/pool.h"
#include "store/sqlite_int.h"
#include "t.h"

static void test_rawfile(const char *tmp)
{
    char path[512];
    unsigned char a[SQ_RAW_LOC], b[SQ_RAW_LOC], c[SQ_RAW_LOC];
    struct sq_rawfile *f = NULL;
    struct pool pool;
    sqlite3 *db = NULL;
    const char *out = NULL;
    size_t len = 0;
    int enc = -1;

    pool_init(&pool, 4096);
    snprintf(path, sizeof(path), "%s/raw.db", tmp);
    CHECK_INT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT_EQ(sq_rawfile_open(path, &f, NULL), 0);
    if (f == NULL || db == NULL)
        goto out;
    CHECK_INT_EQ(sq_rawfile_add(f, "lost-one", 8, EV_RAW_GZIP, a), 0);
    sq_rawfile_done(f, 0); /* rolled back before its flush */
    CHECK_INT_EQ(sq_rawfile_add(f, "kept", 4, EV_RAW_ZSTD, b), 0);
    CHECK_INT_EQ(sq_rawfile_flush(f, NULL), 0);
    sq_rawfile_done(f, 1);
    CHECK(memcmp(a, b, 8) == 0); /* the same offset: written over */
    /* Flushed, then the COMMIT failed: the bytes stay, the next payload goes after them. */
    CHECK_INT_EQ(sq_rawfile_add(f, "flushed!", 8, EV_RAW_GZIP, a), 0);
    CHECK_INT_EQ(sq_rawfile_flush(f, NULL), 0);
    sq_rawfile_done(f, 1);
    CHECK_INT_EQ(sq_rawfile_read(db, b, SQ_RAW_LOC, &pool, &out, &len, &enc, NULL), 0);
    CHECK(len == 4 && out != NULL && memcmp(out, "kept", 4) == 0);
    CHECK_INT_EQ(enc, EV_RAW_ZSTD);
    sq_rawfile_close(f);
    /* Reopened: appends go after all the file holds. */
    CHECK_INT_EQ(sq_rawfile_open(path, &f, NULL), 0);
    if (f == NULL)
        goto out;
    CHECK_INT_EQ(sq_rawfile_add(f, "after", 5, EV_RAW_IDENTITY, c), 0);
    CHECK_INT_EQ(sq_rawfile_flush(f, NULL), 0);
    sq_rawfile_done(f, 1);
    CHECK_INT_EQ(sq_rawfile_read(db, c, SQ_RAW_LOC, &pool, &out, &len, &enc, NULL), 0);
    CHECK(len == 5 && memcmp(out, "after", 5) == 0);
    CHECK_INT_EQ(sq_rawfile_size(path), 17);
    CHECK_INT_EQ(c[0], 12); /* after "kept" and "flushed!" */
    c[0] = 0xff;            /* offset 255 + ...: past the end */
    CHECK_INT_EQ(sq_rawfile_read(db, c, SQ_RAW_LOC, &pool, &out, &len, &enc, NULL), BL_ESTORE);
    CHECK_INT_EQ(sq_rawfile_read(db, c, 3, &pool, &out, &len, &enc, NULL), BL_ESTORE);
    sq_rawfile_unlink(path);
    CHECK_INT_EQ(sq_rawfile_size(path), 0);
out:
    sq_rawfile_close(f);
    sqlite3_close(db);
    pool_release(&pool);
}

int main(void)
{
    char tmpdir[256];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-rawfile-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    test_rawfile(tmpdir);
    t_rm_tree(tmpdir);
    return t_done();
}
