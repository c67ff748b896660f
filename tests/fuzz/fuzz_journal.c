/*
 * fuzz_journal.c - the journal's recovery on arbitrary segment bytes.
 *
 * The input is written as the only (hence last) segment file of a journal.
 * Whatever it holds, journal_open must succeed, cut everything after the
 * last valid record, and then read back exactly the records that remain
 * with no error; a new record must be accepted, acknowledged, and found
 * again after a reopen, right after the recovered ones. Any violation
 * aborts, which the fuzzer reports.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "journal/journal.h"
#include "core/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = 0;

    if (fd < 0)
        return -1;
    while (n > 0 && rc == 0) {
        ssize_t w = write(fd, p, n);

        if (w <= 0)
            rc = -1;
        else {
            p += w;
            n -= (size_t)w;
        }
    }
    close(fd);
    return rc;
}

static struct journal *open_or_die(const char *dir)
{
    struct journal_config cfg = { dir, 0, 0, 1 << 20, 0, 0 };
    struct journal *j = NULL;
    struct bl_err err = { 0 };

    if (journal_open(&j, &cfg, 0, &err) != 0) {
        fprintf(stderr, "journal_open failed: %s\n", bl_err_msg(&err));
        abort();
    }
    return j;
}

/* Reads every record; they must chain and end at the durable end. */
static long read_all(struct journal *j, uint64_t *last_lsn)
{
    struct journal_batch b = { 0 };
    uint64_t lsn = 0;
    long total = 0;
    int n;

    while ((n = journal_read_batch(j, lsn, 7, 4096, 0, &b)) > 0) {
        for (int i = 0; i < n; i++) {
            if (b.recs[i].lsn != lsn || b.recs[i].next_lsn <= lsn)
                abort();
            *last_lsn = lsn;
            lsn = b.recs[i].next_lsn;
        }
        total += n;
    }
    if (n < 0 || lsn != journal_durable_lsn(j))
        abort();
    journal_batch_release(&b);
    return total;
}

static void acked(void *arg, int rc)
{
    *(int *)arg = rc == 0 ? 1 : -1;
}

static void check_journal(const char *dir, size_t size)
{
    static const char payload[] = "fuzz";
    struct journal_record rec = { 0 };
    struct journal *j = open_or_die(dir);
    uint64_t end = journal_durable_lsn(j), last = 0;
    long n = read_all(j, &last);
    int done = 0;

    if (end > size)
        abort();
    rec.payload = payload;
    rec.len = sizeof(payload) - 1;
    rec.project_id = 7;
    if (journal_append(j, &rec, acked, &done) != 0)
        abort();
    journal_close(j);
    if (done != 1)
        abort();
    j = open_or_die(dir);
    if (read_all(j, &last) != n + 1 || last != end)
        abort();
    journal_close(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[] = "/tmp/bilor-fuzz-journal-XXXXXX";
    char seg[64];

    log_set_level(BL_LOG_OFF);
    if (mkdtemp(dir) == NULL)
        return 0;
    snprintf(seg, sizeof(seg), "%s/0000000000000000.jnl", dir);
    if (write_file(seg, data, size) == 0)
        check_journal(dir, size);
    unlink(seg);
    rmdir(dir);
    return 0;
}
