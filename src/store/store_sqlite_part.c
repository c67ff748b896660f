/*
 * store_sqlite_part.c - day partitions: one SQLite file per UTC day of events.
 *
 * A day file is created under a temporary name, migrated, closed and then
 * renamed into place, so a reader (or another process) listing the events
 * directory never opens a half-created file without tables.
 *
 * Readers of day files come from a small LRU of idle connections guarded by
 * pmu. Dropping a day bumps drop_gen: idle connections to the day are closed
 * at once, and a connection that was in use during the drop is closed when
 * it is handed back, so no cached connection ever reads a deleted day.
 *
 * No connection to a day file may outlive its unlink: SQLite tracks files
 * by inode, so the last connection to the unlinked file believes itself the
 * last of "its" database and, closing, deletes <day>.db-wal by name, which
 * by then may be the WAL of the day's new file (the writer re-creates a day
 * as soon as an event of it comes). So every connection out of the LRU and
 * not yet closed is counted under its day (pbusy), and sq_part_drop, after
 * refusing new readers of the day (pdropping), waits until those are
 * handed back and closed before it unlinks. Readers hold a connection for
 * one query, so the wait is short; past SQ_DROP_WAIT_S the drop gives up
 * (BL_EBUSY) and retention tries again on its next run.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* How long a drop waits for the readers of its day (see the top comment). */
#define SQ_DROP_WAIT_S 60

int64_t sq_day_of(int64_t us)
{
    int64_t day = clock_day_of(us);

    if (day < 0)
        return 0;
    if (day > SQ_DAY_MAX)
        return SQ_DAY_MAX;
    return day;
}

int sq_part_path(const struct sq_store *s, int64_t day, char *out, size_t outsz)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    int n;

    if (day < 0 || day > SQ_DAY_MAX || gmtime_r(&t, &tm) == NULL)
        return BL_EINVAL;
    n = snprintf(out, outsz, "%s/%04d%02d%02d.db", s->events_dir, tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
    if (n < 0 || (size_t)n >= outsz)
        return BL_ETOOBIG;
    return 0;
}

/* "YYYYMMDD.db" -> day number, or -1. */
static int64_t parse_name(const char *name)
{
    unsigned v[8];
    unsigned y, m, d;
    size_t i;

    if (strlen(name) != 11 || strcmp(name + 8, ".db") != 0)
        return -1;
    for (i = 0; i < 8; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v[i] = (unsigned)(name[i] - '0');
    }
    y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
    m = v[4] * 10 + v[5];
    d = v[6] * 10 + v[7];
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    return clock_days_from_civil(y, m, d);
}

static int cmp_day_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

int sq_part_list(struct sq_store *s, int64_t **days, size_t *n, struct bl_err *err)
{
    DIR *d = opendir(s->events_dir);
    struct dirent *de;
    int64_t *v = NULL;
    size_t nv = 0, cap = 0;

    *days = NULL;
    *n = 0;
    if (d == NULL)
        return bl_err_set(err, BL_EIO, "cannot open '%s': %s", s->events_dir, strerror(errno));
    for (de = readdir(d); de != NULL; de = readdir(d)) {
        int64_t day = parse_name(de->d_name);

        if (day < 0)
            continue;
        if (nv == cap) {
            cap = cap == 0 ? 64 : cap * 2;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[nv++] = day;
    }
    closedir(d);
    if (nv > 1)
        qsort(v, nv, sizeof(*v), cmp_day_desc);
    *days = v;
    *n = nv;
    return 0;
}

/* The WAL and shared-memory files SQLite keeps next to a database, and its payloads. */
static void unlink_side(const char *path)
{
    char side[SQ_PATH_MAX + 32];
    int n;

    n = snprintf(side, sizeof(side), "%s-wal", path);
    if (n > 0 && (size_t)n < sizeof(side))
        unlink(side);
    n = snprintf(side, sizeof(side), "%s-shm", path);
    if (n > 0 && (size_t)n < sizeof(side))
        unlink(side);
    sq_rawfile_unlink(path);
}

/* Creates and migrates the day file under a temporary name, then renames it into place. */
static int create_part(const char *path, struct bl_err *err)
{
    char tmp[SQ_PATH_MAX + 8];
    const char *base = strrchr(path, '/');
    struct sq_conn *c = NULL;
    int rc;

    base = base != NULL ? base + 1 : path;
    snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp", (int)(base - path), path, base);
    unlink(tmp);
    unlink_side(tmp);
    rc = sq_conn_open(tmp, SQ_OPEN_CREATE, &c, err);
    if (rc == 0)
        rc = sq_migrate_part(c, err);
    /* Closing the only connection checkpoints the WAL into the file. */
    sq_conn_close(c);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = bl_err_set(err, BL_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
    if (rc != 0)
        unlink(tmp);
    unlink_side(tmp);
    return rc;
}

static int open_writer(struct sq_store *s, int64_t day, struct sq_conn **out, struct bl_err *err)
{
    char path[SQ_PATH_MAX];
    int rc;

    rc = sq_part_path(s, day, path, sizeof(path));
    if (rc != 0)
        return bl_err_set(err, rc, "bad day %lld", (long long)day);
    if (access(path, F_OK) != 0) {
        rc = create_part(path, err);
        if (rc != 0)
            return rc;
    }
    rc = sq_conn_open(path, 0, out, err);
    if (rc != 0)
        return rc;
    /* An older day file is brought up to date the first time the writer touches it. */
    rc = sq_migrate_part(*out, err);
    if (rc == 0)
        rc = sq_writer_tune(s, *out, err);
    if (rc != 0) {
        sq_conn_close(*out);
        *out = NULL;
        return rc;
    }
    (*out)->day = day;
    /* An older binary's log rows move into blocks (store_sqlite_logs_convert.c); they stay
     * readable as rows if that fails, so a failure is logged, not fatal. */
    if (sq_logs_convert(s, *out, err) != 0)
        log_warn("day file %lld: log rows not moved into blocks: %s", (long long)day,
                 bl_err_msg(err));
    return 0;
}

int sq_part_writer(struct sq_store *s, int64_t day, struct sq_conn **out, struct bl_err *err)
{
    struct sq_conn *c = NULL;
    size_t i;
    int rc;

    for (i = 0; i < s->nwparts; i++) {
        if (s->wparts[i]->day == day)
            break;
    }
    if (i < s->nwparts) {
        c = s->wparts[i];
    } else {
        rc = open_writer(s, day, &c, err);
        if (rc != 0)
            return rc;
        if (s->nwparts == SQ_PART_WRITERS) {
            sq_conn_close(s->wparts[0]);
            i = 0;
        } else {
            i = s->nwparts++;
        }
        s->wparts[i] = c;
    }
    /* Keep the most recently used at the end: index 0 is evicted first. */
    memmove(&s->wparts[i], &s->wparts[i + 1], (s->nwparts - i - 1) * sizeof(c));
    s->wparts[s->nwparts - 1] = c;
    *out = c;
    return 0;
}

void sq_part_writers_close(struct sq_store *s)
{
    size_t i;

    for (i = 0; i < s->nwparts; i++)
        sq_conn_close(s->wparts[i]);
    s->nwparts = 0;
}

/* A connection to day leaves the LRU (pmu held). */
static void busy_add(struct sq_store *s, int64_t day)
{
    if (s->npbusy == s->capbusy) {
        s->capbusy = s->capbusy > 0 ? 2 * s->capbusy : 16;
        s->pbusy = xrealloc(s->pbusy, s->capbusy * sizeof(*s->pbusy));
    }
    s->pbusy[s->npbusy++] = day;
}

/* A connection to day is closed or back in the LRU (pmu held). */
static void busy_del(struct sq_store *s, int64_t day)
{
    for (size_t i = 0; i < s->npbusy; i++) {
        if (s->pbusy[i] == day) {
            s->pbusy[i] = s->pbusy[--s->npbusy];
            break;
        }
    }
    pthread_cond_broadcast(&s->pgone);
}

static int busy_has(const struct sq_store *s, int64_t day)
{
    for (size_t i = 0; i < s->npbusy; i++)
        if (s->pbusy[i] == day)
            return 1;
    return 0;
}

/* Closes c (out of the LRU, counted busy) and says so. */
static void close_busy(struct sq_store *s, struct sq_conn *c)
{
    int64_t day;

    if (c == NULL)
        return;
    day = c->day;
    sq_conn_close(c);
    pthread_mutex_lock(&s->pmu);
    busy_del(s, day);
    pthread_mutex_unlock(&s->pmu);
}

int sq_part_reader_get(struct sq_store *s, int64_t day, struct sq_conn **out, struct bl_err *err)
{
    char path[SQ_PATH_MAX];
    unsigned gen;
    size_t i;
    int rc;

    *out = NULL;
    rc = sq_part_path(s, day, path, sizeof(path));
    if (rc != 0)
        return bl_err_set(err, rc, "bad day %lld", (long long)day);
    pthread_mutex_lock(&s->pmu);
    if (day == s->pdropping) {
        pthread_mutex_unlock(&s->pmu);
        return bl_err_set(err, BL_ENOTFOUND, "no events for day %lld", (long long)day);
    }
    busy_add(s, day);
    for (i = s->nrparts; i-- > 0;) {
        if (s->rparts[i]->day == day) {
            *out = s->rparts[i];
            memmove(&s->rparts[i], &s->rparts[i + 1], (s->nrparts - i - 1) * sizeof(*out));
            s->nrparts--;
            pthread_mutex_unlock(&s->pmu);
            return 0;
        }
    }
    gen = s->drop_gen;
    pthread_mutex_unlock(&s->pmu);
    if (access(path, F_OK) != 0)
        rc = bl_err_set(err, BL_ENOTFOUND, "no events for day %lld", (long long)day);
    else
        rc = sq_conn_open(path, SQ_OPEN_READER, out, err);
    if (rc != 0) {
        pthread_mutex_lock(&s->pmu);
        busy_del(s, day);
        pthread_mutex_unlock(&s->pmu);
        return rc;
    }
    (*out)->day = day;
    (*out)->gen = gen;
    return 0;
}

void sq_part_reader_put(struct sq_store *s, struct sq_conn *c)
{
    struct sq_conn *evict = NULL;

    if (c == NULL)
        return;
    pthread_mutex_lock(&s->pmu);
    if (c->gen != s->drop_gen) {
        evict = c; /* stays busy until closed */
    } else {
        if (s->nrparts == SQ_PART_READERS) {
            evict = s->rparts[0];
            memmove(&s->rparts[0], &s->rparts[1], (s->nrparts - 1) * sizeof(c));
            s->nrparts--;
            busy_add(s, evict->day);
        }
        s->rparts[s->nrparts++] = c;
        busy_del(s, c->day);
    }
    pthread_mutex_unlock(&s->pmu);
    close_busy(s, evict);
}

void sq_part_readers_close(struct sq_store *s)
{
    size_t i;

    for (i = 0; i < s->nrparts; i++)
        sq_conn_close(s->rparts[i]);
    s->nrparts = 0;
}

/* Until no connection to day is out of the LRU (new ones are refused: pdropping). */
static int wait_readers(struct sq_store *s, int64_t day, struct bl_err *err)
{
    struct timespec until;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SQ_DROP_WAIT_S;
    pthread_mutex_lock(&s->pmu);
    while (rc == 0 && busy_has(s, day))
        if (pthread_cond_timedwait(&s->pgone, &s->pmu, &until) == ETIMEDOUT && busy_has(s, day))
            rc = bl_err_set(err, BL_EBUSY, "day %lld: readers still open after %d s",
                            (long long)day, SQ_DROP_WAIT_S);
    pthread_mutex_unlock(&s->pmu);
    return rc;
}

int sq_part_drop(struct sq_store *s, int64_t day, struct bl_err *err)
{
    struct sq_conn *gone[SQ_PART_READERS + 1];
    char path[SQ_PATH_MAX];
    size_t ngone = 0, i, keep = 0;
    int rc;

    rc = sq_part_path(s, day, path, sizeof(path));
    if (rc != 0)
        return bl_err_set(err, rc, "bad day %lld", (long long)day);
    sq_ckpt_forget(s, day);
    for (i = 0; i < s->nwparts; i++) {
        if (s->wparts[i]->day == day)
            gone[ngone++] = s->wparts[i];
        else
            s->wparts[keep++] = s->wparts[i];
    }
    s->nwparts = keep;
    pthread_mutex_lock(&s->pmu);
    s->drop_gen++;
    s->pdropping = day;
    keep = 0;
    for (i = 0; i < s->nrparts; i++) {
        if (s->rparts[i]->day == day)
            gone[ngone++] = s->rparts[i];
        else
            s->rparts[keep++] = s->rparts[i];
    }
    s->nrparts = keep;
    pthread_mutex_unlock(&s->pmu);
    for (i = 0; i < ngone; i++)
        sq_conn_close(gone[i]);
    rc = wait_readers(s, day, err);
    if (rc == 0 && unlink(path) != 0) {
        if (errno == ENOENT)
            rc = bl_err_set(err, BL_ENOTFOUND, "no events for day %lld", (long long)day);
        else
            rc = bl_err_set(err, BL_EIO, "cannot remove '%s': %s", path, strerror(errno));
    }
    if (rc == 0)
        unlink_side(path);
    pthread_mutex_lock(&s->pmu);
    s->pdropping = -1;
    pthread_mutex_unlock(&s->pmu);
    return rc;
}

int64_t sq_part_meta(struct sq_conn *c, const char *key)
{
    int64_t v = 0;
    struct sq_query q = { "SELECT value FROM part_meta WHERE key = ?1",
                          "part meta",
                          { SQ_TEXT(key) },
                          1,
                          sq_row_int64,
                          &v };

    return sq_query_one(c, &q, NULL) == 0 ? v : 0;
}
