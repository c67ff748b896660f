/* Operations endpoints: liveness, readiness, Prometheus metrics. */
#include <string.h>

#include "api/api.h"
#include "api/metrics.h"
#include "core/banned.h"

void api_healthz(struct bl_req *req, struct bl_resp *resp)
{
    (void)req;
    resp_json(resp, 200, "{\"status\":\"ok\"}", 15);
}

/*
 * Ready = the doors would take a request: the store answers, the last batch
 * the digest tried to write went in, the backlog is under budget and the
 * disk is above its reserve. A load balancer takes an unready node out.
 */
void api_readyz(struct bl_req *req, struct bl_resp *resp)
{
    struct digest_stats ds;

    if (store_ping(req->app->store, NULL) < 0) {
        resp_error(resp, 503, "store is not reachable");
        return;
    }
    if (journal_over_budget(req->app->journal)) {
        resp_error(resp, 503, "journal backlog over budget");
        return;
    }
    if (journal_disk_low(req->app->journal)) {
        resp_error(resp, 503, "free disk space below the reserve (--disk-reserve)");
        return;
    }
    digest_get_stats(req->app->digest, &ds);
    if (ds.store_failing) {
        resp_error(resp, 503, "the store refuses writes (disk full?); digesting is retried");
        return;
    }
    resp_json(resp, 200, "{\"status\":\"ready\"}", 18);
}

void api_metrics(struct bl_req *req, struct bl_resp *resp)
{
    buf_reset(&resp->body);
    if (metrics_render(req->app, &resp->body) < 0) {
        resp_error(resp, 500, "metrics too large");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
