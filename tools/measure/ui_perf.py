#!/usr/bin/env python3
"""How fast the web UI's pages show their first results with many issues and log
lines stored (issue 9: issues page and logs explorer <= 300 ms, issue page <= 500 ms).

    BILOR_BIN=build-rel/src/bilor python3 tools/measure/ui_perf.py [--issues 10000]
        [--lines 1000000] [--runs 15] [--data-dir DIR] [--fill auto|issues|none]

Fills a fresh data directory through the real doors: ISSUES distinct issues through
the Sentry store door (one event each with a stack trace, a tenth of them a second
event, spread over the last 24 h, each with a trace id), then LINES log lines through
the JSON lines door (gzip batches of 5000, over the last 24 h; some share the issue
events' trace ids, so "around this event" finds lines). --data-dir DIR keeps the
directory (filled once, reused by later runs).

Then it times, RUNS times each, the REST calls every page makes on first load (the
calls that decide when the first rows show, in the page's order) and prints medians;
and it loads each page in headless chromium (tests/e2e/node/ui_browser.mjs, phase
perf) and prints the time from navigation start to the page's first results (the
performance mark the page sets when its rows are in the DOM): once with an empty
cache, then RUNS times warm (UI_PERF_DETAIL=1 also prints every request of the last
warm load, start-end ms). The machine is shared: say what `uptime` said.
"""
import argparse
import concurrent.futures
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
import bilor_harness as h  # noqa: E402

WORDS = ("request handled user session cache miss upstream latency token refresh queue "
         "worker retry payment invoice order shipment inventory report export import").split()
# No error lines: at the project's issue level (error) a line would become an issue.
LEVELS = ("info", "info", "info", "debug", "warning")


def trace_of(i):
    return "%032x" % (0x5eed0000000000000000000000000000 + i)


def issue_event(i, now, n):
    """The i-th distinct issue: its own exception type, so its own fingerprint."""
    ts = now - 86400 + 86400.0 * ((i * 7919) % n) / n
    return {
        "event_id": "%032x" % random.getrandbits(128), "timestamp": ts, "level": "error",
        "platform": "python", "server_name": "web%d" % (i % 20),
        "release": "shop@1.%d" % (i % 7), "environment": ("production", "staging")[i % 2],
        "logger": "shop.module%d" % (i % 50), "tags": {"region": "eu-%d" % (i % 3)},
        "contexts": {"trace": {"trace_id": trace_of(i), "span_id": "b7ad6b7169203331"}},
        "exception": {"values": [{
            "type": "Fill%05dError" % i, "value": "it failed for order %d" % i,
            "stacktrace": {"frames": [
                {"function": "main", "filename": "app.py", "lineno": 10, "in_app": True},
                {"function": "handler_%d" % (i % 100), "filename": "handlers.py",
                 "lineno": 20 + i % 50, "in_app": True,
                 "context_line": "    raise Fill%05dError(order)" % i},
            ]}}]},
    }


def log_line(j, now, n, issues):
    r = random.Random(j)
    line = {"timestamp": now - 86400 + 86400.0 * j / max(1, n),
            "level": LEVELS[j % len(LEVELS)],
            "message": "%s id=%d" % (" ".join(r.choice(WORDS) for _ in range(8)), j),
            "server_name": "web%d" % (j % 20), "service": ("api", "web", "worker")[j % 3],
            "logger": "shop.module%d" % (j % 50), "http": {"status": (200, 200, 404, 500)[j % 4]}}
    if j % 97 == 0 and issues:
        line["trace_id"] = trace_of(j % issues)
    return line


def post_retry(srv, path, body, headers):
    for _ in range(600):
        r = srv.post(path, body, headers=headers, timeout=120)
        if r.status == 200:
            return
        time.sleep(0.5)  # 429/503 while the journal drains
    raise AssertionError("%s kept failing: %s %r" % (path, r.status, r.body[:200]))


def digested(srv):
    return h.metric_sum(srv.metrics(), "bilor_events_digested_total")


def fill(srv, issues, lines):
    now = time.time()
    t0 = time.time()
    start = digested(srv)
    hdrs = dict(srv.auth_headers(1), **{"Content-Type": "application/json"})

    def send_issue(i):
        post_retry(srv, "/api/1/store/", json.dumps(issue_event(i, now, issues)).encode(), hdrs)
        if i % 10 == 0:
            post_retry(srv, "/api/1/store/", json.dumps(issue_event(i, now, issues)).encode(),
                       hdrs)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(send_issue, range(issues)))
    events = issues + (issues + 9) // 10
    print("sent %d events (%d issues) in %.1fs" % (events, issues, time.time() - t0), flush=True)
    lh = dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson",
                                      "Content-Encoding": "gzip"})

    def send_batch(b):
        body = "\n".join(json.dumps(log_line(j, now, lines, issues))
                         for j in range(b, min(lines, b + 5000)))
        post_retry(srv, "/api/1/logs", gzip.compress(body.encode(), 1), lh)
    t1 = time.time()
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        list(ex.map(send_batch, range(0, lines, 5000)))
    print("sent %d log lines in %.1fs" % (lines, time.time() - t1), flush=True)
    h.wait_for(lambda: digested(srv) - start >= events + lines, timeout=7200, interval=2,
               what="everything stored")
    print("all stored %.1fs after the first send" % (time.time() - t0), flush=True)
    n = len(srv.api_pages("/api/0/projects/1/issues/?status=all&limit=1000")[0])
    print("issues stored: %d" % n, flush=True)


def timed(srv, path, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = srv.api("GET", path, timeout=300)
        times.append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            raise AssertionError("GET %s -> %s %r" % (path, r.status, r.body[:200]))
    return statistics.median(times), r


def rest(srv, runs):
    """The calls each page waits for before its first rows, as ui/js makes them."""
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    q = urllib.parse.urlencode
    _, r = timed(srv, "/api/0/projects/1/issues/?" + q({"status": "unresolved",
                                                        "sort": "last_seen", "limit": 50}), 1)
    issue = r.json()[0]
    _, r = timed(srv, "/api/0/issues/%d/events/?limit=100" % issue["id"], 1)
    ev = r.json()[0]
    trace = srv.api_json("/api/0/projects/1/events/%s/" % ev["event_id"]).get("trace_id")
    t = h.parse_time(ev["timestamp"])
    win = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + d)) for d in (-3600, 3600)]
    pages = {
        "issues": ["/api/0/auth/me", "/api/0/projects/",
                   "/api/0/projects/1/issues/?" + q({"status": "unresolved", "sort": "last_seen",
                                                     "limit": 50})],
        "logs": ["/api/0/projects/1/logs/?" + q({"limit": 100, "since": since}),
                 "/api/0/projects/1/logs/histogram/?" + q({"interval": "auto", "since": since}),
                 "/api/0/projects/1/logs/facets/?" + q([("since", since), ("field", "level"),
                                                        ("field", "host"), ("field", "logger"),
                                                        ("field", "service"), ("limit", 8)])],
        "issue": ["/api/0/issues/%d/" % issue["id"],
                  "/api/0/issues/%d/events/?limit=100" % issue["id"],
                  "/api/0/issues/%d/feedback/" % issue["id"],
                  "/api/0/projects/1/events/%s/" % ev["event_id"],
                  "/api/0/projects/1/logs/?" + q({"query": "trace_id:%s" % trace,
                                                  "limit": 200}),
                  "/api/0/projects/1/logs/?" + q({"query": "trace_id:%s" % trace,
                                                  "limit": 200, "since": win[0],
                                                  "until": win[1]})],
    }
    for page, paths in pages.items():
        print("%s page, REST calls on first load (median of %d, ms):" % (page, runs))
        for p in paths:
            med, _ = timed(srv, p, runs)
            print("  %8.1f  GET %s" % (med, p[:110]), flush=True)
    return issue["id"]


def browser(srv, issue_id, runs):
    node = shutil.which("node") or shutil.which("nodejs")
    nd = os.path.join(h.HERE, "node")
    r = h.run([node, os.path.join(nd, "ui_browser.mjs"), "perf", srv.base, srv.token, "",
               json.dumps({"project": 1, "issue_id": str(issue_id), "runs": runs})],
              timeout=1800, cwd=nd)
    out = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    if out.get("failures"):
        raise AssertionError("browser: %s" % out["failures"])
    print("chromium, navigation start to first results (ms):")
    for page, v in out["perf"].items():
        print("  %-7s cold %5d   warm median %5d  (min %d, max %d, %d runs)"
              % (page, v["cold_ms"], statistics.median(v["warm_ms"]), min(v["warm_ms"]),
                 max(v["warm_ms"]), len(v["warm_ms"])), flush=True)
        if os.environ.get("UI_PERF_DETAIL"):
            for ln in v["last_warm"]:
                print("      " + ln)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--issues", type=int, default=10000)
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--data-dir", help="keep (and reuse) the data directory here")
    ap.add_argument("--fill", choices=("auto", "issues", "none"), default="auto",
                    help="auto: fill a new directory, reuse one filled before; issues: send"
                    " only the issues (to a directory whose log lines another tool filled,"
                    " e.g. bilor-measure-logs-fill)")
    a = ap.parse_args()
    filled = a.data_dir and os.path.isdir(os.path.join(a.data_dir, "journal"))
    srv = h.Server(data_dir=a.data_dir).start()
    try:
        if a.fill == "issues":
            fill(srv, a.issues, 0)
        elif a.fill == "auto" and not filled:
            fill(srv, a.issues, a.lines)
        print("uptime:%s" % os.popen("uptime").read().split("up", 1)[-1].split(",", 1)[-1].rstrip(),
              flush=True)
        issue_id = rest(srv, a.runs)
        browser(srv, issue_id, a.runs)
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
