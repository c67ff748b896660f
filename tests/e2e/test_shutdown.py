"""Ops endpoints and graceful shutdown.

/healthz, /readyz and /metrics answer; SIGTERM while records are acknowledged
but perhaps not digested makes the process exit 0 within seconds, and after
a restart everything acknowledged is readable.
"""

import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

METRICS = ("bilor_http_requests_total", "bilor_events_accepted_total",
           "bilor_journal_backlog_bytes")


@h.test
def test_health_ready_metrics():
    srv = h.Server().start()
    r = srv.get("/healthz")
    h.check_eq(r.status, 200, "/healthz")
    r = srv.get("/readyz")
    h.check_eq(r.status, 200, "/readyz")
    r = srv.get("/metrics")
    h.check_eq(r.status, 200, "/metrics")
    h.check((r.header("content-type") or "").startswith("text/plain"),
            "/metrics content type: %r" % r.header("content-type"))
    text = r.body.decode("utf-8", "replace")
    m0 = h.parse_metrics(text)
    for name in METRICS:
        h.check_in(name, m0, "metric present")
        h.check("# TYPE %s " % name in text, "# TYPE line for %s" % name)
    h.check_eq(srv.get("/no/such/path").status, 404, "unknown path")

    auth = dict(srv.auth_headers(1), **{"Content-Type": "application/json"})
    ids = []
    for i in range(3):
        eid = h.new_id()
        r = srv.post("/api/1/store/", json.dumps({"event_id": eid, "message": "metric %d" % i,
                                                  "level": "info"}).encode(), headers=auth)
        h.check_eq(r.status, 200, "store %d" % i)
        ids.append(eid)
    r = srv.post("/api/1/logs", b'{"message":"m1"}\n{"message":"m2"}\n',
                 headers={"Authorization": "Bearer %s" % srv.key(1)})
    h.check_eq(r.status, 200, "logs")
    srv.post("/api/1/store/", b"{}", headers={})  # a 401 is a request too
    for eid in ids:
        srv.wait_event(1, eid)

    def moved():
        m = srv.metrics()
        grew = (h.metric_sum(m, "bilor_events_accepted_total")
                >= h.metric_sum(m0, "bilor_events_accepted_total") + 3
                and h.metric_sum(m, "bilor_http_requests_total")
                >= h.metric_sum(m0, "bilor_http_requests_total") + 5)
        return m if grew and h.metric_sum(m, "bilor_journal_backlog_bytes") == 0 else None
    m1 = h.wait_for(moved, what="counters to grow and the backlog to drain")
    h.check(m1 is not None, "accepted/requests counters grew, backlog back to 0")
    for name, samples in m1.items():
        if name.endswith("_total"):
            h.check(all(v >= 0 for _, v in samples), "counter %s non-negative" % name)


def burst(srv, n_threads, per_thread, stop):
    """Keep-alive senders; returns (acked ids, unknown ids) lists filled as they run."""
    acked, unknown = [], []
    lock = threading.Lock()

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        for _ in range(per_thread):
            if stop.is_set():
                break
            eid = h.new_id()
            body = json.dumps({"event_id": eid, "message": "shutdown burst", "level": "error"})
            try:
                conn.request("POST", "/api/1/store/", body=body.encode(),
                             headers=srv.auth_headers(1))
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    unknown.append(eid)
                break
            if resp.status == 200 and json.loads(data).get("id") == eid:
                with lock:
                    acked.append(eid)
        conn.close()
    threads = [threading.Thread(target=run, daemon=True) for _ in range(n_threads)]
    for t in threads:
        t.start()
    return threads, acked, unknown


@h.test
def test_sigterm_with_backlog():
    srv = h.Server().start()
    key = srv.key(1)
    # a big NDJSON body right before SIGTERM: acked, surely not all digested yet
    tag = h.new_id()[:8]
    n_lines = 20000
    lines = b"".join(b'{"message":"bulk %s %d","level":"info","i":%d}\n' % (tag.encode(), i, i)
                     for i in range(n_lines))
    r = srv.post("/api/1/logs", h.gzip_bytes(lines),
                 headers={"Authorization": "Bearer %s" % key, "Content-Encoding": "gzip"})
    h.check_eq((r.status, (r.json() or {}).get("accepted")), (200, n_lines), "bulk lines acked")
    stop = threading.Event()
    threads, acked, unknown = burst(srv, 4, 400, stop)
    time.sleep(0.4)
    h.check(srv.alive(), "server alive under load before SIGTERM (it died on its own, exit "
            "status %s)" % srv.proc.poll())
    rc, secs = srv.stop(timeout=20)
    stop.set()
    for t in threads:
        t.join(10)
    h.note("SIGTERM: exit %s after %.2fs; %d events acked, %d unknown"
           % (rc, secs, len(acked), len(unknown)))
    h.check_eq(rc, 0, "exit status after SIGTERM")
    h.check(secs < 10, "exited within 10s (took %.1fs)" % secs)
    h.check(len(acked) > 0, "events were acked before SIGTERM")

    srv.start()
    missing = [e for e in acked if srv.event(1, e) is None]
    if missing:
        deadline = time.monotonic() + 30
        while missing and time.monotonic() < deadline:
            time.sleep(0.3)
            missing = [e for e in missing if srv.event(1, e) is None]
    h.check(not missing, "%d of %d acked events missing after restart, e.g. %s"
            % (len(missing), len(acked), missing[:3]))
    iss = h.wait_for(lambda: [i for i in srv.issues(1) if i.get("title") == "shutdown burst"
                              and int(i["count"]) >= len(acked)],
                     what="burst issue count")
    n = int(iss[0]["count"])
    h.check(len(acked) <= n <= len(acked) + len(unknown),
            "issue count %d within [acked %d, acked+unknown %d]"
            % (n, len(acked), len(acked) + len(unknown)))

    def bulk_count():
        got = [x for x in srv.logs(1, limit=1000) if (x.get("message") or "")
               .startswith("bulk %s " % tag)]
        return got if len(got) >= n_lines else None
    try:
        got = h.wait_for(bulk_count, timeout=60, what="all bulk lines")
    except AssertionError as e:
        got = []
        h.check(False, str(e))
    if got:
        h.check_eq(len(set(x["message"] for x in got)), n_lines, "each bulk line once")
    rc, secs = srv.stop()
    h.check_eq(rc, 0, "second SIGTERM exit status")


@h.test
def test_sigterm_idle_and_sigint():
    srv = h.Server().start()
    rc, secs = srv.stop()
    h.check_eq(rc, 0, "idle SIGTERM exit status")
    h.check(secs < 5, "idle stop took %.1fs" % secs)
    srv.start()
    srv.proc.send_signal(2)  # SIGINT, as from a terminal
    try:
        rc = srv.proc.wait(10)
    except Exception:  # noqa: BLE001
        rc = "hung"
    h.check_eq(rc, 0, "SIGINT exit status")
    srv.start()
    h.check_eq(srv.get("/readyz").status, 200, "restarts after SIGINT")
    h.check_eq(len(srv.projects()), 1, "still one project after restarts")


@h.test
def test_quiet_log_level_keeps_serving():
    """With info logging off the server still runs until it is told to stop."""
    for level in ("warn", "error", "off"):
        srv = h.Server(args=["--log-level", level]).start()
        h.check(srv.alive(), "serving with --log-level %s" % level)
        h.check_eq(srv.get("/healthz").status, 200, "healthz with --log-level %s" % level)
        rc, _ = srv.stop()
        h.check_eq(rc, 0, "SIGTERM exit status with --log-level %s" % level)


if __name__ == "__main__":
    h.main()
