/*
 * api_v1.c - the original Bilor API (protocols.md §7): POST /api/v1/message/
 * as the 2014 BilorHandler sends it, so that client works unmodified.
 *
 * DESIGN
 * That client sends no key, so the door is closed unless --v1-api names the
 * one project it writes to; closed, it answers 404 like any unknown path.
 * Answers are the original server's: 201 with the text "success"; over the
 * throttle (the seed's DRF AnonRateThrottle: 60 requests per sliding
 * minute per client address, refused requests not counted) 429 with
 * {"detail":"Request was throttled.Expected available in N seconds."},
 * X-Throttle-Wait-Seconds and Retry-After. The throttle remembers the last
 * 60 request times of up to V1_SLOTS addresses; an address that hashes onto
 * a slot another one used within the minute shares its allowance (a bounded
 * table rather than memory that grows with the number of clients).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_logdoor.h"
#include "ingest/format.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/banned.h"

#define V1_RATE 60
#define V1_WINDOW_US (60 * INT64_C(1000000))
#define V1_SLOTS 1024

struct v1_slot {
    uint8_t addr[16];
    int64_t t[V1_RATE]; /* ring of request times */
    unsigned next, n;
};

static struct v1_slot slots[V1_SLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

/* 0 when admitted (and counted), else the seconds to wait. */
static int throttle(const uint8_t addr[16], int64_t now)
{
    struct v1_slot *s = &slots[hash64(addr, 16) % V1_SLOTS];
    int wait = 0;

    pthread_mutex_lock(&slots_mu);
    if (memcmp(s->addr, addr, 16) != 0 &&
        (s->n == 0 || now - s->t[(s->next + V1_RATE - 1) % V1_RATE] >= V1_WINDOW_US)) {
        memset(s, 0, sizeof(*s));
        memcpy(s->addr, addr, 16);
    }
    while (s->n > 0 && now - s->t[(s->next + V1_RATE - s->n) % V1_RATE] >= V1_WINDOW_US)
        s->n--;
    if (s->n >= V1_RATE) {
        int64_t oldest = s->t[(s->next + V1_RATE - s->n) % V1_RATE];

        wait = (int)((V1_WINDOW_US - (now - oldest) + 999999) / 1000000);
        wait = wait > 0 ? wait : 1;
    } else {
        s->t[s->next] = now;
        s->next = (s->next + 1) % V1_RATE;
        s->n++;
    }
    pthread_mutex_unlock(&slots_mu);
    return wait;
}

static void v1_answer(struct bl_req *req, struct bl_resp *resp, int outcome)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);

    if (outcome != DOOR_ACCEPTED) {
        logdoor_refuse(req, resp, &ctx->dr, outcome);
        return;
    }
    resp->status = 201;
    resp->content_type = "text/plain; charset=utf-8";
    buf_reset(&resp->body);
    if (buf_addstr(&resp->body, "success") < 0)
        resp_error(resp, 500, "response too large");
}

static int v1_project(const struct bl_req *req)
{
    return req->app->cfg != NULL && req->app->cfg->v1_api > 0;
}

void api_v1_early(struct bl_req *req, struct bl_resp *resp)
{
    struct logdoor_ctx *ctx = logdoor_ctx(req);
    int wait, rc;

    ctx->answer = v1_answer;
    if (!v1_project(req)) {
        resp_error(resp, 404,
                   "not found (the original Bilor API is off: bilor serve --v1-api PROJECT_ID)");
        return;
    }
    wait = throttle(req->client, clock_now_us());
    if (wait > 0) {
        char body[128];
        int n = snprintf(body, sizeof(body),
                         "{\"detail\":\"Request was throttled.Expected available in %d "
                         "seconds.\"}",
                         wait);

        resp_json(resp, 429, body, (size_t)n);
        resp_header(resp, "X-Throttle-Wait-Seconds", pool_printf(req->pool, "%d", wait));
        resp_header(resp, "Retry-After", pool_printf(req->pool, "%d", wait));
        return;
    }
    door_req_init(&ctx->dr, req->app->door, req->app->cfg->v1_api, req->pool);
    rc = door_gate(&ctx->dr);
    if (rc != DOOR_ACCEPTED) {
        v1_answer(req, resp, rc);
        return;
    }
    /* No key on this door: --v1-api is the operator's consent for that project. */
    ctx->dr.authed = 1;
}

void api_v1(struct bl_req *req, struct bl_resp *resp)
{
    logdoor_submit(req, resp, logdoor_ctx(req), format_by_protocol(INGEST_BILOR_V1));
}

void api_v1_get(struct bl_req *req, struct bl_resp *resp)
{
    if (!v1_project(req)) {
        resp_error(resp, 404, "not found");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    buf_reset(&resp->body);
    if (buf_addstr(&resp->body, "get view does not do anything yet") < 0)
        resp_error(resp, 500, "response too large");
}
