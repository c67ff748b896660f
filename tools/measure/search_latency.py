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
The timings include HTTP and JSON; the machine is shared, so they are noisy: each
case also prints the server's CPU time per request (utime + stime of the process over
the runs, 10 ms ticks: read it as a mean), which the load moves much less.
Before timing a case, its answer is checked once against what the generator
wrote (counts, order, matching lines; over the whole fill, `since=7d`), and
a wrong answer stops the script (SEARCH_CHECK=0 skips the checks, to time
a binary from before they held: one that read 100,100 lines for a capped
facet request instead of 100,000).
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


def expected(name):
    """What each case must answer over all N lines: (lines, histogram total, facet values)."""
    rare, medium, common = N // 100000, N // 1000, N // 5
    return {
        "newest 100, no query": (min(100, N), None, None),
        "newest 100, rare term": (min(100, rare), None, None),
        "newest 100, medium term": (min(100, medium), None, None),
        "newest 100, common term": (min(100, common), None, None),
        "newest 100, medium term + level": (0, None, None),
        "newest 100, common + host": (min(100, N // 20), None, None),
        "newest 100, rare + host": (min(100, rare), None, None),
        "newest 100, attribute (re-checked)": (min(100, N // 5), None, None),
        "24 h histogram, no query": (None, N, None),
        "24 h histogram, level": (None, N // 5, None),
        "24 h histogram, rare term": (None, rare, None),
        "24 h histogram, medium term": (None, medium, None),
        "24 h histogram, common term": (None, common, None),
        # i % 1000 == 3 puts every medium line on host web3
        "facets host, medium term": (None, None, {"web3": medium}),
        # the newest 100000 lines (the facets' cap): i % 20 spreads them evenly
        "facets host, 24 h": (None, None, {"web%d" % k: min(N, 100000) // 20 for k in range(20)}),
        # service is an attribute: read from each line's payload, not the blocks' fields
        "facets service, 24 h": (None, None, {
            svc: sum(1 for i in range(N - min(N, 100000), N) if i % 3 == k)
            for k, svc in enumerate(("api", "web", "worker"))}),
    }[name]


def check(srv, name, path, params):
    """The case's answer over the whole fill against the generator; raises when wrong."""
    want_lines, want_total, want_facets = expected(name)
    p = dict(params, since="7d")
    body = srv.api_json("/api/0/projects/1" + path + "?" + urllib.parse.urlencode(p))
    words = [w for w in params.get("query", "").split() if ":" not in w]
    if want_lines is not None:
        lines = body if isinstance(body, list) else body.get("data", body.get("lines"))
        assert len(lines) == want_lines, (name, len(lines), want_lines)
        ts = [ln.get("dateCreated") or ln.get("timestamp") for ln in lines]
        assert ts == sorted(ts, reverse=True), (name, "not newest first")
        for ln in lines:
            text = json.dumps(ln)
            assert all(w in text for w in words), (name, "a line without", words)
    if want_total is not None:
        total = sum(b["count"] for b in body["buckets"])
        levels = sum(sum(b.get("levels", {}).values()) for b in body["buckets"])
        assert total == want_total and levels == want_total, (name, total, levels, want_total)
    if want_facets is not None:
        got = {v["value"]: v["count"] for v in body["facets"][0]["values"]}
        # the top 10 values (the default limit): ties may come in any of their orders
        ok = len(got) == min(10, len(want_facets)) and all(
            want_facets.get(k) == c for k, c in got.items())
        assert ok, (name, got, want_facets)


def server_cpu_ms(srv):
    """The server's CPU time so far (every thread, exited ones too), in ms: what a request
    costs moves much less than its wall time on a shared machine."""
    try:
        with open("/proc/%d/stat" % srv.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


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
        ("facets service, 24 h", "/logs/facets/", {"since": "24h", "field": "service"}),
    ]
    only = os.environ.get("SEARCH_CASES")  # comma-separated substrings of case names
    for name, path, params in cases:
        if only and not any(x in name for x in only.split(",")):
            continue
        if os.environ.get("SEARCH_CHECK", "1") != "0":
            check(srv, name, path, params)
        times = []
        cpu0 = server_cpu_ms(srv)
        for _ in range(RUNS):
            t = time.perf_counter()
            r = srv.api("GET", "/api/0/projects/1" + path + "?" + urllib.parse.urlencode(params),
                        timeout=300)
            times.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                print("  %s: %s %s" % (name, r.status, r.body[:200]))
                break
        cpu = (server_cpu_ms(srv) - cpu0) / max(1, len(times))
        times.sort()
        print("%-40s median %8.1f ms  p90 %8.1f ms  p99 %8.1f ms  cpu %6.1f ms"
              % (name, statistics.median(times), times[max(0, int(len(times) * 0.9) - 1)],
                 times[max(0, -(-len(times) * 99 // 100) - 1)], cpu), flush=True)
    du = sum(os.path.getsize(os.path.join(srv.data_dir, "events", f))
             for f in os.listdir(os.path.join(srv.data_dir, "events")))
    print("event files: %.1f MB, %.0f bytes/line" % (du / 1e6, du / N))


if __name__ == "__main__":
    main()
