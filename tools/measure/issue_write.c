/*
 * issue_write.c - the store writer's cost per issue event (store_write_batch
 * only: no decode, no network), to weigh what the write path adds per event.
 *
 * Usage: bilor-measure-issue-write DATA_DIR [EVENTS [ISSUES [BATCH]]]
 *   (default 200000 events over 500 issues, batches of 2000; the server's
 *   digest gathers 170-360 events a batch under the bench's load, where
 *   each issue's counters cost a larger share per event). Each event has one of 3 environments and one of 40
 *   releases and a small identity payload; timestamps spread over the last
 *   24 hours. Prints the writer's CPU µs and wall µs per event. DATA_DIR
 *   should be new (a second run appends). Single-threaded; run it on a
 *   quiet machine and compare runs of the same build settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/xmalloc.h"
#include "store/store.h"
#include "core/banned.h"

#define BATCH_MAX 2000

static const char *const envs[] = { "production", "staging", "development" };

int main(int argc, char **argv)
{
    static char rels[40][32], fps[1000][33];
    struct store *st = NULL;
    struct store_project p;
    struct bl_err err = { 0, "" };
    struct event *ev = xcalloc(BATCH_MAX, sizeof(*ev));
    uint64_t total = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000, done = 0, lsn = 0;
    size_t nissues = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 500;
    size_t batch = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : BATCH_MAX;
    int64_t span = 24 * CLOCK_US_PER_HOUR, t0, wr_us = 0, wr_cpu = 0;

    if (argc < 2 || total == 0 || nissues == 0 || nissues > 1000 || batch == 0 ||
        batch > BATCH_MAX) {
        fprintf(stderr, "usage: %s DATA_DIR [EVENTS [ISSUES<=1000 [BATCH<=2000]]]\n", argv[0]);
        return 2;
    }
    hash_global_init();
    json_global_init();
    if (store_open(&st, argv[1], "measure-issue-write", &err) != 0 ||
        (store_project_get(st, 1, &p, NULL) != 0 && store_project_add(st, "m", &p, &err) != 0)) {
        fprintf(stderr, "setup failed: %s\n", bl_err_msg(&err));
        return 1;
    }
    if (store_get_checkpoint(st, &lsn, NULL) != 0)
        lsn = 0;
    for (size_t i = 0; i < 40; i++)
        snprintf(rels[i], sizeof(rels[i]), "shop@1.%zu.0", i);
    for (size_t i = 0; i < nissues; i++)
        snprintf(fps[i], sizeof(fps[i]), "%032zx", i * 2654435761u);
    t0 = clock_now_us() - span;
    while (done < total) {
        size_t n = total - done < batch ? (size_t)(total - done) : batch;
        struct store_batch_result res;
        int64_t a, ca;

        lsn++;
        for (size_t i = 0; i < n; i++) {
            struct event *e = &ev[i];
            uint64_t k = done + i;

            memset(e, 0, sizeof(*e));
            snprintf(e->event_id, sizeof(e->event_id), "%016llx%016llx", (unsigned long long)lsn,
                     (unsigned long long)k);
            e->project_id = p.id;
            e->lsn = lsn;
            e->seq = (uint32_t)i;
            e->timestamp = t0 + (int64_t)(k * (uint64_t)span / total);
            e->received_at = e->timestamp;
            e->level = EV_ERROR;
            e->kind = EV_KIND_ISSUE;
            memcpy(e->fingerprint, fps[(k * 7919) % nissues], 33);
            e->grouping_version = 1;
            e->message = "connection refused to db";
            e->title = "ConnectionRefusedError: connection refused";
            e->culprit = "app.views.index";
            e->search_text = "ConnectionRefusedError connection refused";
            e->logger = "app";
            e->environment = envs[k % 3];
            e->release = rels[(k / 7) % 40];
            e->raw = "{\"message\":\"connection refused to db\"}";
            e->raw_len = strlen(e->raw);
            e->raw_encoding = EV_RAW_IDENTITY;
        }
        a = clock_mono_us();
        ca = clock_thread_cpu_us();
        if (store_write_batch(st, ev, n, lsn + 1, &res, &err) != 0) {
            fprintf(stderr, "write: %s\n", bl_err_msg(&err));
            return 1;
        }
        wr_us += clock_mono_us() - a;
        wr_cpu += clock_thread_cpu_us() - ca;
        done += n;
    }
    printf("events %llu issues %zu: writer %.2f us/event cpu, %.2f us/event wall\n",
           (unsigned long long)total, nissues, (double)wr_cpu / (double)total,
           (double)wr_us / (double)total);
    store_close(st);
    free(ev);
    return 0;
}
