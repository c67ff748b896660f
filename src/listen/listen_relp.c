/*
 * listen_relp.c - RELP (rsyslog's omrelp) through librelp.
 *
 * librelp cannot defer or refuse an acknowledgement: its "syslog" command
 * handler (scsyslog.c) sends "200 OK" as soon as the receive callback
 * returns, whatever the callback answers. So the callback journals the
 * message synchronously: it submits it through the door and waits for the
 * done callback, which comes after the journal's fsync; over the journal
 * budget it waits and retries (backpressure: librelp reads nothing more
 * meanwhile). Only then does it return and librelp answer 200, so a
 * message rsyslog was told is delivered is on disk. If the journal can no
 * longer take it (the server is stopping and the journal failed), the
 * callback never returns: that connection gets no ack and rsyslog resends
 * the message to the next server run.
 *
 * Cost: librelp runs one thread, so messages are journaled one at a time
 * and each waits for one group commit (the journal still groups them with
 * every other door's records). rsyslog's window (128 by default) keeps the
 * wire busy, but RELP's rate is bounded by the fsync rate of the disk.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <librelp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "listen/listen_int.h"
#include "core/log.h"
#include "core/pool.h"
#include "ingest/logfmt.h"
#include "core/banned.h"

#define RETRY_MS 100
/*
 * relpEngineRun waits for its sockets without a timeout and only checks its
 * stop flag when woken: as rsyslog's imrelp does, the stop interrupts that
 * wait with a signal (whose handler does nothing) sent to the RELP thread.
 */
#define WAKE_SIGNAL SIGUSR2

static void wake_handler(int sig)
{
    (void)sig;
}

struct relp_wait {
    struct door_req req;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done;
    int outcome;
};

static void relp_done(struct door_req *r, int outcome)
{
    struct relp_wait *w = (struct relp_wait *)r;

    pthread_mutex_lock(&w->mu);
    w->done = 1;
    w->outcome = outcome;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* One journal attempt; the door's outcome once durable (or refused). */
static int journal_once(struct listener *l, const struct buf *body)
{
    struct pool pool = POOL_INIT(1024);
    struct relp_wait w;
    int rc;

    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    door_req_init(&w.req, l->cfg.door, l->project_id, &pool);
    rc = door_gate(&w.req);
    if (rc == DOOR_ACCEPTED)
        rc = door_bind(&w.req);
    if (rc == DOOR_ACCEPTED)
        rc = door_submit(&w.req, l->format, body->p, body->len, INGEST_ENC_NONE, listen_now_us(),
                         relp_done, &w);
    if (rc == DOOR_ACCEPTED && w.req.pending) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.mu);
        rc = w.outcome;
        pthread_mutex_unlock(&w.mu);
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cond);
    pool_release(&pool);
    return rc;
}

static relpRetVal on_syslog(void *usr, unsigned char *host, unsigned char *ip, unsigned char *msg,
                            size_t len)
{
    struct listener *l = usr;
    struct buf body = BUF_INIT(len + 32);
    int rc;

    (void)host;
    (void)ip;
    /* A batch of one: a message that starts with a digit is not mistaken for a batch. */
    if (len == 0 || len > l->cfg.max_frame || logfmt_batch_add(&body, msg, len) < 0 ||
        listen_add(l, (const char *)msg, len) < 0 || l->nbatch == 0) {
        /* Empty, oversize or without its key: counted by listen_add; acked, not stored. */
        buf_release(&body);
        return RELP_RET_OK;
    }
    buf_reset(&l->batch); /* listen_add only judged it; it is journaled here */
    l->nbatch = 0;
    for (;;) {
        rc = journal_once(l, &body);
        if (rc == DOOR_ACCEPTED || rc == DOOR_BAD_INPUT || rc == DOOR_TOO_LARGE ||
            rc == DOOR_UNAUTHORIZED || rc == DOOR_FORBIDDEN)
            break; /* durable, or a message no retry will make storable (counted) */
        if (atomic_load(&l->stop) && rc == DOOR_UNAVAILABLE) {
            log_error("relp: cannot journal a message while stopping; it stays unacknowledged");
            for (;;)
                sleep_ms(1000);
        }
        sleep_ms(RETRY_MS);
    }
    buf_release(&body);
    return RELP_RET_OK;
}

static void relp_dbg(char *fmt, ...)
{
    (void)fmt;
}

/* No SA_RESTART: the engine's wait must return EINTR. */
static int install_wake(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wake_handler;
    sigemptyset(&sa.sa_mask);
    return sigaction(WAKE_SIGNAL, &sa, NULL);
}

int listen_relp_open(struct listener *l, struct bl_err *err)
{
    relpEngine_t *engine = NULL;
    relpSrv_t *srv = NULL;
    char port[16];

    snprintf(port, sizeof(port), "%d", l->port);
    if (relpEngineConstruct(&engine) != RELP_RET_OK)
        return bl_err_set(err, BL_ENOMEM, "relp: cannot build the engine");
    l->impl = engine;
    relpEngineSetDbgprint(engine, relp_dbg);
    relpEngineSetEnableCmd(engine, (unsigned char *)"syslog", eRelpCmdState_Required);
    relpEngineSetSyslogRcv2(engine, on_syslog);
    if (install_wake() < 0)
        return bl_err_set(err, BL_EIO, "relp: cannot install the stop signal handler");
    if (relpEngineListnerConstruct(engine, &srv) != RELP_RET_OK ||
        relpSrvSetLstnPort(srv, (unsigned char *)port) != RELP_RET_OK ||
        relpSrvSetLstnAddr(srv, (unsigned char *)l->host) != RELP_RET_OK ||
        relpSrvSetUsrPtr(srv, l) != RELP_RET_OK ||
        relpSrvSetMaxDataSize(srv, l->cfg.max_frame) != RELP_RET_OK ||
        relpSrvSetOversizeMode(srv, RELP_OVERSIZE_TRUNCATE) != RELP_RET_OK ||
        relpEngineListnerConstructFinalize(engine, srv) != RELP_RET_OK)
        return bl_err_set(err, BL_EIO, "--relp: cannot listen on %s:%d", l->host, l->port);
    return 0;
}

void *listen_relp_run(void *arg)
{
    struct listener *l = arg;

    relpEngineRun(l->impl);
    return NULL;
}

void listen_relp_stop(struct listener *l)
{
    if (l->impl == NULL)
        return;
    relpEngineSetStop(l->impl);
    pthread_kill(l->thread, WAKE_SIGNAL);
}

void listen_relp_free(struct listener *l)
{
    relpEngine_t *engine = l->impl;

    if (engine != NULL)
        relpEngineDestruct(&engine);
    l->impl = NULL;
}
