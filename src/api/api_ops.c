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

/* Ready = the store answers and the backlog is under budget (doors would not 429). */
void api_readyz(struct bl_req *req, struct bl_resp *resp)
{
    if (store_ping(req->app->store, NULL) < 0) {
        resp_error(resp, 503, "store is not reachable");
        return;
    }
    if (journal_over_budget(req->app->journal)) {
        resp_error(resp, 503, "journal backlog over budget");
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
