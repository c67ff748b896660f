"""Disk full and a failing store, as a new user meets them.

- Free space below --disk-reserve (here: a reserve larger than any disk, the
  state a full disk puts the server in): every ingest door answers 503 with
  Retry-After and a JSON error, nothing is acknowledged, /readyz is 503 and
  /metrics says bilor_disk_low 1; the log says so once, not once a request.
  Restarted with the default reserve, ingest works again.
- A store that refuses writes (a day file that cannot be opened): /readyz is
  503, /metrics has bilor_digest_store_failing 1, the retries log at most a
  line per 10 s instead of one per attempt, and once the cause is gone the
  backlog is digested and nothing acknowledged is lost.
"""

import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402


def ndjson(srv, lines):
    body = "".join(json.dumps(x) + "\n" for x in lines).encode()
    return srv.post("/api/1/logs", body, headers=dict(srv.auth_headers(1),
                                                      **{"Content-Type": "application/x-ndjson"}))


def metric(srv, name):
    vals = srv.metrics().get(name) or []
    return vals[0][1] if vals else None


def wait_healthz(srv):
    h.wait_for(lambda: h.http("GET", srv.base + "/healthz", timeout=2).status == 200,
               what="/healthz")


@h.test
def test_disk_reserve_refuses_ingest():
    srv = h.Server(args=["--disk-reserve", str(1 << 50)]).start(wait=False)
    wait_healthz(srv)
    tag = h.new_id()
    for _ in range(30):
        r = ndjson(srv, [{"msg": "refused %s" % tag, "level": "info"}])
        if not h.check_eq(r.status, 503, "NDJSON door refuses on a full disk"):
            break
    h.check(r.header("Retry-After") is not None, "503 carries Retry-After")
    h.check_in("disk", (r.json() or {}).get("error", ""), "the error names the disk")
    ev = json.dumps({"event_id": h.new_id(), "message": "refused %s" % tag}).encode()
    r = srv.post("/api/1/store/", ev, headers=dict(srv.auth_headers(1),
                                                   **{"Content-Type": "application/json"}))
    h.check_eq(r.status, 503, "Sentry door refuses too")
    h.check(r.header("Retry-After") is not None, "Sentry 503 carries Retry-After")
    r = h.http("GET", srv.base + "/readyz")
    h.check_eq(r.status, 503, "/readyz is not ready")
    h.check_in("disk", r.body.decode(), "/readyz says why")
    h.check_eq(metric(srv, "bilor_disk_low"), 1, "bilor_disk_low")
    h.check((metric(srv, "bilor_disk_free_bytes") or 0) > 0, "bilor_disk_free_bytes")
    lines = [l for l in srv.log_text().splitlines() if "below the reserve" in l]
    h.check_eq(len(lines), 1, "the refusal is logged once, not per request: %r" % lines[:3])
    h.check_eq(metric(srv, "bilor_journal_appended_records_total"), 0, "nothing journaled")

    # Space back (the default reserve): the same request is acknowledged and stored.
    srv.stop()
    srv.args = []
    srv.start()
    r = ndjson(srv, [{"msg": "accepted %s" % tag, "level": "info"}])
    h.check_eq(r.status, 200, "ingest works once the disk has room")
    got = h.wait_for(lambda: [l for l in srv.logs(1) if tag in (l.get("message") or "")],
                     what="the accepted line")
    h.check_eq([l["message"] for l in got], ["accepted %s" % tag], "only the accepted line")


@h.test
def test_failing_store_is_reported_and_recovers():
    srv = h.Server().start()
    day = time.time() - 3 * 86400
    blocker = os.path.join(srv.data_dir, "events", time.strftime("%Y%m%d.db", time.gmtime(day)))
    os.makedirs(os.path.dirname(blocker), exist_ok=True)
    os.mkdir(blocker)  # a directory where the day file goes: every write of that day fails
    tag = h.new_id()
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(day))
    r = ndjson(srv, [{"ts": ts, "msg": "held %s %d" % (tag, i), "level": "info"}
                     for i in range(20)])
    h.check_eq(r.status, 200, "acknowledged: the journal has it")
    h.wait_for(lambda: h.http("GET", srv.base + "/readyz", timeout=2).status == 503,
               what="/readyz to report the failing store")
    h.check_in("store", h.http("GET", srv.base + "/readyz").body.decode(), "/readyz says why")
    h.check_eq(metric(srv, "bilor_digest_store_failing"), 1, "bilor_digest_store_failing")
    time.sleep(6)  # several retries with back-off
    errors = metric(srv, "bilor_digest_store_errors_total") or 0
    logged = [l for l in srv.log_text().splitlines() if "cannot store batch" in l]
    h.check(errors >= 3, "the store was retried several times (%s)" % errors)
    h.check(len(logged) <= 2, "retries logged at most once per 10 s, not per attempt: "
            "%d lines for %s failures" % (len(logged), errors))
    os.rmdir(blocker)
    h.wait_for(lambda: h.http("GET", srv.base + "/readyz", timeout=2).status == 200,
               timeout=30, what="/readyz ready again")
    got = h.wait_for(lambda: (lambda l: len(l) == 20 and l)(
        [l for l in srv.logs(1, since=int(day) - 60) if tag in (l.get("message") or "")]),
        what="all 20 held lines")
    h.check_eq(len(got), 20, "nothing acknowledged was lost")
    h.check_eq(metric(srv, "bilor_digest_store_failing"), 0, "store_failing cleared")


if __name__ == "__main__":
    h.main()
