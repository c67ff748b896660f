"""Crash safety: kill -9 under load, restart, every acknowledged record is there once.

For several rounds on one data directory: concurrent keep-alive senders post
small /store/ events with known ids and NDJSON lines with unique messages;
the server is killed with SIGKILL at a random moment; it is restarted and
the test waits until every record that got a 200 is readable through the
API. Issue counts must lie between the number of acknowledged ids and that
number plus the requests whose outcome is unknown (no duplicates).
Set BILOR_E2E_SEED to replay a run.
"""

import http.client
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

ROUNDS = int(os.environ.get("BILOR_E2E_CRASH_ROUNDS", "5"))
STORE_SENDERS = 4
LOG_SENDERS = 2
LINES_PER_POST = 5


class Sender(threading.Thread):
    def __init__(self, port, key, kind, rnd, idx, stop):
        super().__init__(daemon=True)
        self.port, self.key, self.kind, self.rnd, self.idx, self.stop = \
            port, key, kind, rnd, idx, stop
        self.acked = []       # event ids / log messages answered 200
        self.unknown = []     # sent, no answer (connection died)
        self.rejected = {}    # id -> status
        self.title = "crash round %d sender %d" % (rnd, idx)

    def _conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)

    def _one(self, conn):
        if self.kind == "store":
            eid = h.new_id()
            body = json.dumps({"event_id": eid, "message": self.title, "level": "error",
                               "fingerprint": ["crash-%d-%d" % (self.rnd, self.idx)]}).encode()
            keys = [eid]
            path, headers = "/api/1/store/", {
                "X-Sentry-Auth": "Sentry sentry_key=%s, sentry_version=7" % self.key,
                "Content-Type": "application/json"}
        else:
            keys = ["crashlog %d %d %s" % (self.rnd, self.idx, h.new_id())
                    for _ in range(LINES_PER_POST)]
            body = "".join(json.dumps({"message": k, "level": "info", "logger": "crash"}) + "\n"
                           for k in keys).encode()
            path, headers = "/api/1/logs", {"Authorization": "Bearer %s" % self.key}
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except ConnectionRefusedError:
            raise               # nothing was sent: not an unknown outcome
        except (OSError, http.client.HTTPException):
            self.unknown.extend(keys)
            raise
        ok = resp.status == 200
        if ok and self.kind == "store":
            ok = json.loads(data or b"{}").get("id") == keys[0]
        elif ok:
            ok = json.loads(data or b"{}").get("accepted") == LINES_PER_POST
        if ok:
            self.acked.extend(keys)
        else:
            for k in keys:
                self.rejected[k] = resp.status
        if resp.getheader("connection", "").lower() == "close":
            conn.close()

    def run(self):
        conn = self._conn()
        while not self.stop.is_set():
            try:
                self._one(conn)
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = self._conn()
                time.sleep(0.02)
            time.sleep(0.002)
        conn.close()


def missing_events(srv, ids):
    """Ids not (yet) readable, on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    out = []
    try:
        for eid in ids:
            conn.request("GET", "/api/0/projects/1/events/%s/" % eid,
                         headers={"Authorization": "Bearer %s" % srv.token})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                out.append(eid)
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    finally:
        conn.close()
    return out


def verify(srv, rounds, label, timeout=45):
    """Checks events, issue counts and log lines of the given rounds."""
    ev_ids = [e for rd in rounds for s in rd if s.kind == "store" for e in s.acked]
    pending = list(ev_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        pending = missing_events(srv, pending)
        if pending:
            time.sleep(0.3)
    h.check(not pending, "%s: %d of %d acknowledged events missing, e.g. %s"
            % (label, len(pending), len(ev_ids), pending[:5]))

    issues = {i.get("title"): i for i in srv.issues(1, status="all", limit=1000)}
    for rd in rounds:
        for s in rd:
            if s.kind != "store" or not (s.acked or s.unknown):
                continue
            lo, hi = len(set(s.acked)), len(set(s.acked)) + len(s.unknown) + len(s.rejected)
            iss = issues.get(s.title)
            n = int(iss["count"]) if iss else 0
            h.check(lo <= n <= hi, "%s: %r count %d not in [%d, %d] (acked %d, unknown %d, "
                    "rejected %d)" % (label, s.title, n, lo, hi, len(s.acked), len(s.unknown),
                                      len(s.rejected)))

    want = set(m for rd in rounds for s in rd if s.kind == "logs" for m in s.acked)
    maybe = set(m for rd in rounds for s in rd if s.kind == "logs"
                for m in s.unknown + list(s.rejected))
    prefixes = tuple("crashlog %d " % rd[0].rnd for rd in rounds if rd)

    def logs_ok():
        got = [x.get("message") for x in srv.logs(1, limit=1000)]
        got = [m for m in got if m and m.startswith(prefixes)]
        return got if want <= set(got) else None
    try:
        got = h.wait_for(logs_ok, timeout=timeout, what="acknowledged log lines")
    except AssertionError:
        got = [x.get("message") for x in srv.logs(1, limit=1000)]
        got = [m for m in got if m and m.startswith(prefixes)]
    lost = want - set(got)
    h.check(not lost, "%s: %d of %d acknowledged log lines missing, e.g. %s"
            % (label, len(lost), len(want), sorted(lost)[:3]))
    dups = len(got) - len(set(got))
    h.check(dups == 0, "%s: %d log lines stored twice" % (label, dups))
    extra = set(got) - want - maybe
    h.check(not extra, "%s: %d log lines that were never sent: %s"
            % (label, len(extra), sorted(extra)[:3]))


@h.test
def test_kill9_under_load():
    seed = int(os.environ.get("BILOR_E2E_SEED", str(int(time.time()))))
    rng = random.Random(seed)
    h.note("seed %d (BILOR_E2E_SEED to replay)" % seed)
    srv = h.Server().start()
    key = srv.key(1)
    history = []
    t_start = time.monotonic()
    for rnd in range(ROUNDS):
        stop = threading.Event()
        senders = [Sender(srv.port, key, "store", rnd, i, stop) for i in range(STORE_SENDERS)]
        senders += [Sender(srv.port, key, "logs", rnd, STORE_SENDERS + i, stop)
                    for i in range(LOG_SENDERS)]
        for s in senders:
            s.start()
        delay = rng.uniform(0.3, 2.0)
        time.sleep(delay)
        h.check(srv.alive(), "round %d: server still running when killed (it died on its own, "
                "exit status %s)" % (rnd, srv.proc.returncode))
        srv.kill9()
        time.sleep(0.1)
        stop.set()
        for s in senders:
            s.join(15)
            h.check(not s.is_alive(), "sender %d stopped" % s.idx)
        history.append(senders)
        acked = sum(len(s.acked) for s in senders)
        h.note("round %d: killed after %.2fs; acked %d events + %d lines, unknown %d, "
               "rejected %d" % (rnd, delay, sum(len(s.acked) for s in senders
                                                 if s.kind == "store"),
                                sum(len(s.acked) for s in senders if s.kind == "logs"),
                                sum(len(s.unknown) for s in senders),
                                sum(len(s.rejected) for s in senders)))
        h.check(acked > 0, "round %d: something was acknowledged before the kill" % rnd)
        t0 = time.monotonic()
        srv.start(timeout=60)
        h.note("round %d: ready again after %.2fs" % (rnd, time.monotonic() - t0))
        verify(srv, [senders], "round %d" % rnd)
    verify(srv, history, "all rounds")
    rc, secs = srv.stop()
    h.check_eq(rc, 0, "final SIGTERM exit status")
    h.note("total %.1fs" % (time.monotonic() - t_start))


if __name__ == "__main__":
    h.main(total_timeout=300)
