"""Ops endpoints and graceful shutdown.

/healthz, /readyz and /metrics answer; SIGTERM with a large undigested backlog
makes the process exit 0 within seconds (the journal keeps the rest), a second
SIGTERM during the shutdown ends it at once, and after a restart everything
acknowledged is readable, each event stored once.
"""

import http.client
import json
import os
import signal
import socket
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


# The backlog: error-level JSON lines, so they group into one issue whose count is
# exact (each line counted once) however many there are. Records of 25,000 lines
# are larger than a digest batch (20,000 events), so they are stored in two parts.
BULK_REQUESTS = 6
BULK_LINES = 25000


def bulk_backlog(srv, n_requests=BULK_REQUESTS):
    """Acks n_requests bodies of BULK_LINES error lines; returns (title, lines acked)."""
    tag = h.new_id()[:12]
    title = "bulk backlog %s" % tag
    body = h.gzip_bytes(b"".join(b'{"message":"%s","level":"error","i":%d}\n'
                                 % (title.encode(), i) for i in range(BULK_LINES)))
    acked = 0
    for k in range(n_requests):
        r = srv.post("/api/1/logs", body, timeout=60,
                     headers={"Authorization": "Bearer %s" % srv.key(1),
                              "Content-Encoding": "gzip"})
        if h.check_eq((r.status, (r.json() or {}).get("accepted")), (200, BULK_LINES),
                      "bulk body %d acked" % k):
            acked += BULK_LINES
    return title, acked


def backlog_bytes(srv):
    return h.metric_sum(srv.metrics(), "bilor_journal_backlog_bytes")


def check_all_stored_once(srv, bulk_title, bulk_acked, acked, unknown):
    """After a restart: every acked event is there, each counted once."""
    def bulk_done():
        got = [i for i in srv.issues(1, limit=1000) if i.get("title") == bulk_title]
        return got if got and int(got[0]["count"]) >= bulk_acked else None
    t0 = time.monotonic()
    try:
        iss = h.wait_for(bulk_done, timeout=300, what="the whole backlog digested")
    except AssertionError as e:
        h.check(False, str(e))
        return
    h.note("after the restart the rest of the backlog took %.1fs to digest"
           % (time.monotonic() - t0))
    h.wait_for(lambda: backlog_bytes(srv) == 0, timeout=120, what="journal backlog 0")
    iss = [i for i in srv.issues(1, limit=1000) if i.get("title") == bulk_title]
    h.check_eq(int(iss[0]["count"]), bulk_acked, "backlog lines counted exactly once")
    evs = srv.api_json("/api/0/issues/%s/events/?limit=100" % iss[0]["id"])  # one page
    h.check(len(evs) == 100 and all(e.get("message") == bulk_title for e in evs),
            "backlog lines are retrievable (%d of the first 100)" % len(evs))
    missing = [e for e in acked if srv.event(1, e) is None]
    h.check(not missing, "%d of %d acked events missing after restart, e.g. %s"
            % (len(missing), len(acked), missing[:3]))
    burst_issue = [i for i in srv.issues(1, limit=1000) if i.get("title") == "shutdown burst"]
    n = int(burst_issue[0]["count"]) if burst_issue else 0
    h.check(len(acked) <= n <= len(acked) + len(unknown),
            "burst issue count %d within [acked %d, acked+unknown %d]"
            % (n, len(acked), len(acked) + len(unknown)))


@h.test
def test_sigterm_with_backlog():
    """SIGTERM stops within seconds and leaves the undigested rest in the journal."""
    srv = h.Server().start()
    bulk_title, bulk_acked = bulk_backlog(srv)
    stop = threading.Event()
    threads, acked, unknown = burst(srv, 4, 400, stop)
    time.sleep(0.4)
    h.check(srv.alive(), "server alive under load before SIGTERM (it died on its own, exit "
            "status %s)" % srv.proc.poll())
    left = backlog_bytes(srv)
    h.check(left > 0, "a backlog to leave behind when SIGTERM comes (%d bytes)" % left)
    rc, secs = srv.stop(timeout=20)
    stop.set()
    for t in threads:
        t.join(10)
    h.note("SIGTERM with %d backlog bytes: exit %s after %.2fs; %d events acked, %d unknown"
           % (left, rc, secs, len(acked), len(unknown)))
    h.check_eq(rc, 0, "exit status after SIGTERM")
    h.check(secs < 5, "exited within 5s with a backlog (took %.1fs)" % secs)
    h.check(len(acked) > 0, "events were acked before SIGTERM")

    srv.start()
    check_all_stored_once(srv, bulk_title, bulk_acked, acked, unknown)
    rc, secs = srv.stop()
    h.check_eq(rc, 0, "SIGTERM after the restart: exit status")


def slow_upload(srv):
    """A request whose body never finishes: the HTTP drain at shutdown waits for it."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    head = ("POST /api/1/store/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            "\r\nContent-Length: 100000\r\n")
    for k, v in srv.auth_headers(1).items():
        head += "%s: %s\r\n" % (k, v)
    sock.sendall((head + "\r\n").encode() + b'{"message": "')
    return sock


@h.test
def test_second_sigterm_exits_at_once():
    """A second SIGTERM during the shutdown ends the process at once, losing nothing acked."""
    srv = h.Server().start()
    bulk_title, bulk_acked = bulk_backlog(srv, 2)
    stop = threading.Event()
    threads, acked, unknown = burst(srv, 4, 400, stop)
    time.sleep(0.4)
    sock = slow_upload(srv)
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    h.check(srv.alive(), "still shutting down 0.5s after the first SIGTERM (the HTTP drain "
            "waits up to 10s for the unfinished upload); exit status %s" % srv.proc.poll())
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(10)
    except Exception:  # noqa: BLE001
        rc = "hung"
    secs = time.monotonic() - t0
    stop.set()
    sock.close()
    for t in threads:
        t.join(10)
    h.note("second SIGTERM: exit %s after %.2fs; %d events acked, %d unknown"
           % (rc, secs, len(acked), len(unknown)))
    h.check_eq(rc, -signal.SIGTERM, "the second SIGTERM ends the process")
    h.check(secs < 2, "exited within 2s of the second SIGTERM (took %.1fs)" % secs)

    srv.start()
    check_all_stored_once(srv, bulk_title, bulk_acked, acked, unknown)
    rc, secs = srv.stop()
    h.check_eq(rc, 0, "SIGTERM after the restart: exit status")


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
