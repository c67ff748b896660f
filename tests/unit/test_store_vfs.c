/*
 * The store's VFS (store_sqlite_vfs.c): connections open through it, their
 * WAL writes are gathered, and nothing else changes. A writer commits
 * transactions that keep two invariants (the rows counted in meta, the sum
 * of the balances) while readers on other connections and threads check
 * them in every snapshot, and checkpoints of each mode run in between; the
 * content is whole after a close and a reopen. A child killed with SIGKILL
 * mid-writes leaves every commit it had seen return; a child whose writes
 * start failing (RLIMIT_FSIZE) sees its commits fail cleanly, and what it
 * committed before is intact.
 */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite_int.h"
#include "t.h"

#define ACCOUNTS 16
#define BALANCE 1000
/* Rows of ~3 KB per transaction: a transaction is tens of frames. */
#define ROWS 12
#define STR_(x) #x
#define STR(x) STR_(x)

static char dir[] = "/tmp/bilor-test-vfs-XXXXXX";

static struct sq_conn *open_conn(const char *path, int flags)
{
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };
    int rc = sq_conn_open(path, flags, &c, &err);

    if (rc != 0)
        fprintf(stderr, "open %s: %s\n", path, bl_err_msg(&err));
    CHECK_INT_EQ(rc, 0);
    return c;
}

static int exec(struct sq_conn *c, const char *sql)
{
    struct bl_err err = { 0, "" };
    int rc = sq_exec(c, sql, &err);

    if (rc != 0)
        fprintf(stderr, "exec: %s\n", bl_err_msg(&err));
    return rc;
}

static int64_t one_int(struct sq_conn *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void create(struct sq_conn *c)
{
    CHECK_INT_EQ(exec(c, "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER);"
                         "CREATE TABLE rows(id INTEGER PRIMARY KEY, txn INTEGER, pad BLOB);"
                         "CREATE TABLE meta(n INTEGER, txns INTEGER);"
                         "INSERT INTO meta VALUES (0, 0);"),
                 0);
    for (int i = 0; i < ACCOUNTS; i++) {
        char sql[128];

        snprintf(sql, sizeof(sql), "INSERT INTO acct VALUES (%d, %d)", i, BALANCE);
        CHECK_INT_EQ(exec(c, sql), 0);
    }
}

/* Transaction number i: ROWS rows, meta counts them, a balance moves. 0 or the SQLite error. */
static int txn(struct sq_conn *c, int i)
{
    char sql[512];
    int rc;

    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < %d)"
             " INSERT INTO rows(txn, pad) SELECT %d, randomblob(3000) FROM s;"
             "UPDATE meta SET n = n + %d, txns = txns + 1;"
             "UPDATE acct SET bal = bal - %d WHERE id = %d;"
             "UPDATE acct SET bal = bal + %d WHERE id = %d;"
             "COMMIT;",
             ROWS, i, ROWS, i % 7, i % ACCOUNTS, i % 7, (i * 5 + 3) % ACCOUNTS);
    rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Both invariants in one snapshot; the number of transactions in it, or -1. */
static int64_t check_snapshot(struct sq_conn *c)
{
    int64_t rows, n, txns, sum, bad = 0;

    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    rows = one_int(c, "SELECT count(*) FROM rows");
    n = one_int(c, "SELECT n FROM meta");
    txns = one_int(c, "SELECT txns FROM meta");
    sum = one_int(c, "SELECT sum(bal) FROM acct");
    bad = one_int(c, "SELECT count(*) FROM (SELECT txn FROM rows GROUP BY txn"
                     " HAVING count(*) != " STR(ROWS) ")");
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rows != n || n != txns * ROWS || sum != ACCOUNTS * BALANCE || bad != 0) {
        fprintf(stderr, "snapshot: rows %lld n %lld txns %lld sum %lld bad %lld\n", (long long)rows,
                (long long)n, (long long)txns, (long long)sum, (long long)bad);
        return -1;
    }
    return txns;
}

struct reader {
    const char *path;
    int flags;
    atomic_int *stop;
    int snapshots, bad;
    int64_t last;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };

    if (sq_conn_open(r->path, r->flags, &c, &err) != 0) {
        r->bad++;
        return NULL;
    }
    while (!atomic_load(r->stop)) {
        int64_t t = check_snapshot(c);

        if (t < 0 || t < r->last)
            r->bad++;
        else
            r->last = t;
        r->snapshots++;
    }
    sq_conn_close(c);
    return NULL;
}

static void test_readers(void)
{
    char path[256];
    struct sq_conn *w, *ck, *c;
    struct sq_vfs_stats before, after;
    atomic_int stop = 0;
    struct reader r[2] = {
        { path, SQ_OPEN_READER, &stop, 0, 0, 0 }, /* mapped: xFetch */
        { path, 0, &stop, 0, 0, 0 },              /* read() */
    };
    pthread_t th[2];
    const int modes[] = { SQLITE_CHECKPOINT_PASSIVE, SQLITE_CHECKPOINT_TRUNCATE,
                          SQLITE_CHECKPOINT_RESTART };
    sqlite3_vfs *vfs = NULL;
    int n = 300;

    snprintf(path, sizeof(path), "%s/readers.db", dir);
    w = open_conn(path, SQ_OPEN_CREATE);
    ck = open_conn(path, 0);
    if (w == NULL || ck == NULL)
        return;
    CHECK_INT_EQ(sqlite3_file_control(w->db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs), SQLITE_OK);
    CHECK(vfs != NULL && strcmp(vfs->zName, SQ_VFS_NAME) == 0);
    CHECK_INT_EQ(exec(w, "PRAGMA wal_autocheckpoint=0"), 0);
    /* RESTART and TRUNCATE wait for readers that never stop: not for long */
    sqlite3_busy_timeout(w->db, 20);
    sqlite3_busy_timeout(ck->db, 20);
    create(w);
    sq_vfs_stats(&before);
    for (int i = 0; i < 2; i++)
        CHECK_INT_EQ(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
    for (int i = 1; i <= n; i++) {
        CHECK_INT_EQ(txn(w, i), SQLITE_OK);
        /* the writer's own connection and a connection of its own, every mode */
        if (i % 10 == 0) {
            int log = 0, done = 0;
            int rc = sqlite3_wal_checkpoint_v2(i % 20 ? ck->db : w->db, NULL, modes[(i / 10) % 3],
                                               &log, &done);

            CHECK(rc == SQLITE_OK || rc == SQLITE_BUSY);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(r[i].bad, 0);
        CHECK(r[i].snapshots > 0);
    }
    sq_vfs_stats(&after);
    /* gathered: each frame had been two writes */
    CHECK(after.wal_flushes - before.wal_flushes < (after.wal_writes - before.wal_writes) / 8);
    /* the checkpoints read the WAL ahead */
    CHECK(after.ckpt_reads - before.ckpt_reads > 1000);
    CHECK(after.ckpt_preads - before.ckpt_preads < (after.ckpt_reads - before.ckpt_reads) / 4);
    CHECK_INT_EQ(check_snapshot(w), n);
    sq_conn_close(ck);
    sq_conn_close(w);

    c = open_conn(path, 0);
    if (c == NULL)
        return;
    CHECK_INT_EQ(check_snapshot(c), n);
    CHECK_INT_EQ(
        one_int(c, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    CHECK_INT_EQ(txn(c, n + 1), SQLITE_OK);
    CHECK_INT_EQ(check_snapshot(c), n + 1);
    sq_conn_close(c);
}

/*
 * A child commits transactions with synchronous=NORMAL (no sync before a
 * commit is visible: only the VFS's own writes put it in the file) and
 * reports each after COMMIT returned; it is killed mid-writes.
 */
static void test_kill(void)
{
    char path[256];
    int fd[2];
    pid_t pid;
    int last = 0, got, status = 0;
    struct sq_conn *c;

    snprintf(path, sizeof(path), "%s/kill.db", dir);
    c = open_conn(path, SQ_OPEN_CREATE);
    if (c == NULL)
        return;
    create(c);
    sq_conn_close(c);
    CHECK_INT_EQ(pipe(fd), 0);
    pid = fork();
    if (pid == 0) {
        struct bl_err err = { 0, "" };

        close(fd[0]);
        if (sq_conn_open(path, 0, &c, &err) != 0)
            _exit(2);
        for (int i = 1;; i++) {
            if (txn(c, i) != SQLITE_OK || write(fd[1], &i, sizeof(i)) != sizeof(i))
                _exit(3);
        }
    }
    close(fd[1]);
    while (last < 150 && read(fd[0], &got, sizeof(got)) == sizeof(got))
        last = got;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    close(fd[0]);
    CHECK(last >= 150);

    c = open_conn(path, 0);
    if (c == NULL)
        return;
    CHECK(check_snapshot(c) >= last);
    CHECK_INT_EQ(
        one_int(c, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    sq_conn_close(c);
}

/*
 * Writes that fail (the file size limit, as a full disk would): commits
 * fail with an error and roll back, the connection goes on once writes
 * succeed again, and every commit that returned is there.
 */
static void test_write_fails(void)
{
    char path[256];
    pid_t pid;
    int status = 0;
    struct sq_conn *c;

    snprintf(path, sizeof(path), "%s/fails.db", dir);
    c = open_conn(path, SQ_OPEN_CREATE);
    if (c == NULL)
        return;
    create(c);
    sq_conn_close(c);
    pid = fork();
    if (pid == 0) {
        struct bl_err err = { 0, "" };
        struct rlimit rl;
        struct stat sb;
        char wal[300];
        int ok = 0, failed = 0, rc;

        signal(SIGXFSZ, SIG_IGN);
        if (sq_conn_open(path, 0, &c, &err) != 0 || getrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(2);
        sqlite3_exec(c->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
        for (int i = 1; i <= 40; i++)
            ok += txn(c, i) == SQLITE_OK;
        /* the WAL cannot grow by more than 10 frames: commits fail part-way */
        snprintf(wal, sizeof(wal), "%s-wal", path);
        if (stat(wal, &sb) != 0)
            _exit(6);
        rl.rlim_cur = (rlim_t)sb.st_size + 10 * (4096 + 24);
        setrlimit(RLIMIT_FSIZE, &rl);
        for (int i = 41; i <= 60; i++) {
            rc = txn(c, i);
            if (rc == SQLITE_OK)
                ok++;
            else if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL)
                failed++;
            else
                _exit(4);
        }
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_FSIZE, &rl);
        /* the same connection writes again */
        for (int i = 61; i <= 70; i++)
            ok += txn(c, i) == SQLITE_OK;
        if (failed == 0 || check_snapshot(c) != ok)
            _exit(5);
        sq_conn_close(c);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_INT_EQ(WEXITSTATUS(status), 0);
    c = open_conn(path, 0);
    if (c == NULL)
        return;
    CHECK(check_snapshot(c) >= 50);
    CHECK_INT_EQ(
        one_int(c, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    sq_conn_close(c);
}

int main(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_readers();
    test_kill();
    test_write_fails();
    t_rm_tree(dir);
    return t_done();
}
