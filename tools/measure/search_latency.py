#!/usr/bin/env python3
"""Query latency of search over N stored log lines (default 1M): fills a fresh
server through the NDJSON door (1000-line gzip batches of varied text over the
last 24 h), waits until every line is stored, then times each query QUERY_RUNS
times through the REST API and prints medians and p90 in ms.

    BILOR_BIN=build-rel/src/bilor python3 tools/measure/search_latency.py [N]

SEARCH_CASES=rare,facets runs only the cases whose names contain one of those.
SEARCH_DATA_DIR=DIR reuses a data directory this script filled before (the
queries only); a new directory there is filled and kept. For 10M lines, fill
the directory much faster (no HTTP, the digest's decode and the store's writer
in one process) with the same marker words:

    MODE=search build-rel/tools/measure/bilor-measure-logs-fill DIR 10000000
    SEARCH_DATA_DIR=DIR BILOR_BIN=build-rel/src/bilor python3 tools/measure/search_latency.py 10000000

Rows with a rare (1 in 100k), medium (1 in 1000) and common (1 in 5) term.
The timings include HTTP and JSON; the machine is shared, so they are noisy.
"""
import gzip
import json
import os
import random
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "e2e"))
import bilor_harness as h  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
RUNS = int(os.environ.get("QUERY_RUNS", "20"))
WORDS = ("request handled user session cache miss upstream latency token refresh queue "
         "worker retry payment invoice order shipment inventory report export import").split()


def line(i, now):
    r = random.Random(i)
    words = " ".join(r.choice(WORDS) for _ in range(8))
    extra = []
    if i % 100000 == 7:
        extra.append("zanzibarrare")
    if i % 1000 == 3:
        extra.append("mediumterm")
    if i % 5 == 0:
        extra.append("commonterm")
    return {"timestamp": now - 86400 + 86400.0 * i / N,
            "level": ("info", "info", "info", "debug", "warning")[i % 5],
            "message": "%s %s id=%d" % (words, " ".join(extra), i),
            "host": "web%d" % (i % 20), "service": ("api", "web", "worker")[i % 3],
            "http": {"status": (200, 200, 200, 404, 500)[i % 5]}}


def main():
    keep = os.environ.get("SEARCH_DATA_DIR")
    filled = keep and os.path.isdir(os.path.join(keep, "events"))
    srv = h.Server(data_dir=keep).start() if keep else h.Server().start()
    if not filled:
        fill(srv)
    run_queries(srv)
    srv.stop()


def fill(srv):
    now = time.time()
    hdrs = dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson",
                                        "Content-Encoding": "gzip"})
    t0 = time.time()
    for start in range(0, N, 1000):
        body = "\n".join(json.dumps(line(i, now)) for i in range(start, min(N, start + 1000)))
        while True:
            r = srv.post("/api/1/logs", gzip.compress(body.encode(), 1), headers=hdrs)
            if r.status == 200:
                break
            time.sleep(0.5)
    print("sent %d lines in %.1fs" % (N, time.time() - t0), flush=True)

    def stored():
        m = srv.get("/metrics").body.decode()
        for ln in m.splitlines():
            if ln.startswith("bilor_events_digested_total "):
                return int(float(ln.split()[1])) >= N
        return False
    h.wait_for(stored, timeout=3600, interval=2, what="all lines stored")
    print("stored after %.1fs" % (time.time() - t0), flush=True)


def run_queries(srv):
    cases = [
        ("newest 100, no query", "/logs/", {"limit": 100}),
        ("newest 100, rare term", "/logs/", {"query": "zanzibarrare", "limit": 100}),
        ("newest 100, medium term", "/logs/", {"query": "mediumterm", "limit": 100}),
        ("newest 100, common term", "/logs/", {"query": "commonterm", "limit": 100}),
        ("newest 100, medium term + level", "/logs/",
         {"query": "mediumterm level:warning", "limit": 100}),
        ("newest 100, common + host", "/logs/", {"query": "commonterm host:web5", "limit": 100}),
        ("newest 100, rare + host", "/logs/", {"query": "zanzibarrare host:web7", "limit": 100}),
        ("newest 100, attribute (re-checked)", "/logs/",
         {"query": "attrs.http.status:500", "limit": 100}),
        ("24 h histogram, no query", "/logs/histogram/", {"since": "24h"}),
        ("24 h histogram, level", "/logs/histogram/", {"query": "level:warning", "since": "24h"}),
        ("24 h histogram, rare term", "/logs/histogram/",
         {"query": "zanzibarrare", "since": "24h"}),
        ("24 h histogram, medium term", "/logs/histogram/", {"query": "mediumterm", "since": "24h"}),
        ("24 h histogram, common term", "/logs/histogram/", {"query": "commonterm", "since": "24h"}),
        ("facets host, medium term", "/logs/facets/", {"query": "mediumterm", "field": "host"}),
        ("facets host, 24 h", "/logs/facets/", {"since": "24h", "field": "host"}),
    ]
    only = os.environ.get("SEARCH_CASES")  # comma-separated substrings of case names
    for name, path, params in cases:
        if only and not any(x in name for x in only.split(",")):
            continue
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            r = srv.api("GET", "/api/0/projects/1" + path + "?" + urllib.parse.urlencode(params),
                        timeout=300)
            times.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                print("  %s: %s %s" % (name, r.status, r.body[:200]))
                break
        times.sort()
        print("%-40s median %8.1f ms  p90 %8.1f ms  p99 %8.1f ms"
              % (name, statistics.median(times), times[max(0, int(len(times) * 0.9) - 1)],
                 times[max(0, -(-len(times) * 99 // 100) - 1)]), flush=True)
    du = sum(os.path.getsize(os.path.join(srv.data_dir, "events", f))
             for f in os.listdir(os.path.join(srv.data_dir, "events")))
    print("event files: %.1f MB, %.0f bytes/line" % (du / 1e6, du / N))


if __name__ == "__main__":
    main()
