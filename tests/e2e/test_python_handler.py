"""Bilor's own Python logging handler (clients/python/bilor_logging.py) end to end.

Against the real server: exceptions from two functions make two issues with
full frames; %-style messages group by template; the envelope transport; the
server down (every record reaches the fallback, logger.error() stays fast)
and coming back (records flow again, losses arrive as a client report); no
exception or stderr output escapes the handler whatever is logged; a script
that exits without flush() still delivers. Against a local http.server stub:
429 with Retry-After and X-Sentry-Rate-Limits is honoured, a hung server never
blocks the caller and close() and interpreter exit keep their timeouts,
concurrent callers lose nothing silently, the handler never feeds itself, and
it works after fork() and from dictConfig. The unit tests in
clients/python/test_bilor_logging.py run first.
"""

import contextlib
import gzip
import http.server
import io
import json
import logging
import logging.config
import os
import statistics
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

CLIENT_DIR = os.path.join(h.SRC, "clients", "python")
sys.path.insert(0, CLIENT_DIR)
sys.dont_write_bytecode = True      # keep clients/python free of __pycache__
import bilor_logging as bl  # noqa: E402
from test_bilor_logging import BadExc, Broken  # noqa: E402  (objects that break str/repr)

FAST_MS = 5.0          # logger.error() budget while the server is down
KEY = "0123456789abcdef0123456789abcdef"


# --------------------------------------------------------------------------
# helpers


class ListHandler(logging.Handler):
    """Fallback that remembers every record (thread-safe) and when it got it."""

    def __init__(self):
        super().__init__()
        self.records = []
        self.times = []

    def emit(self, record):
        self.records.append(record)
        self.times.append(time.monotonic())

    def messages(self):
        return [r.getMessage() for r in list(self.records)]


def new_logger(name, handler):
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log


class Stub:
    """Tiny Sentry ingest stand-in: records every request, answers via self.respond."""

    def __init__(self, respond=None):
        self.requests = []          # dicts: t, path, headers, body (decompressed)
        self.respond = respond or (lambda req, n: (200, {}, b'{"id":"x"}'))
        self.lock = threading.Lock()
        stub = self

        class Req(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                t = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = raw
                if self.headers.get("Content-Encoding") == "gzip":
                    try:
                        body = gzip.decompress(raw)
                    except OSError:
                        body = b"<bad gzip>"
                req = {"t": t, "path": self.path, "headers": dict(self.headers.items()),
                       "body": body}
                with stub.lock:
                    stub.requests.append(req)
                    n = len(stub.requests)
                status, headers, data = stub.respond(req, n)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Req)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self):
        return "http://%s@127.0.0.1:%d/1" % (KEY, self.port)

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def events(self):
        out = []
        for r in self.snapshot():
            if r["path"].endswith("/store/"):
                out.append(json.loads(r["body"]))
        return out

    def reports(self):
        """client_report payloads found in envelope requests."""
        out = []
        for r in self.snapshot():
            if not r["path"].endswith("/envelope/"):
                continue
            lines = r["body"].split(b"\n")
            for i, line in enumerate(lines[1:], 1):
                try:
                    ih = json.loads(line)
                except ValueError:
                    continue
                if isinstance(ih, dict) and ih.get("type") == "client_report":
                    out.append(json.loads(lines[i + 1]))
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def discarded(reports, reason):
    return sum(d["quantity"] for rep in reports for d in rep.get("discarded_events", [])
               if d.get("reason") == reason)


def issue_map(srv, pid=1):
    out = {}
    for iss in srv.issues(pid, status="all"):
        for ev in srv.issue_events(iss["id"]):
            out[ev["event_id"]] = iss
    return out


def exc_values(ev):
    exc = ev.get("exception") or {}
    return (exc.get("values") if isinstance(exc, dict) else exc) or []


def frames_of(value):
    return ((value or {}).get("stacktrace") or {}).get("frames") or []


def timed_calls(fn, n, pause=0.0):
    """Runs fn(i) n times; returns the durations in milliseconds."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000.0)
        if pause:
            time.sleep(pause)
    return out


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


# code whose frames the tests look at -------------------------------------


def charge_card(amount):
    raise ValueError("card declined for amount %d" % amount)


def load_profile(user_id):
    profiles = {"alice": {}}
    return profiles[user_id]


def read_settings(path):
    with open(path) as f:
        return f.read()


def load_config(path):
    long_value = "s3cr3t-" + "z" * 3000  # noqa: F841 - shows up only with include_locals
    try:
        read_settings(path)
    except OSError as e:
        raise RuntimeError("config unavailable") from e


def parse_payload(text):
    return json.loads(text)


def recurse_forever(n):
    return recurse_forever(n + 1)


# --------------------------------------------------------------------------
# tests


@h.test
def test_unit_tests():
    for py in sorted({sys.executable, "/usr/bin/python3"}):
        if not os.path.exists(py):
            continue
        r = h.run([py, "-B", "-m", "unittest", "-v", "test_bilor_logging"], cwd=CLIENT_DIR,
                  timeout=120)
        ran = [ln for ln in r.stderr.splitlines() if ln.startswith("Ran ")]
        h.note("%s: %s, exit %s" % (py, ran[-1] if ran else "?", r.returncode))
        h.check_eq(r.returncode, 0, "unit tests under %s:\n%s" % (py, r.stderr[-3000:]))


@h.test
def test_exceptions_two_functions_two_issues():
    srv = h.Server().start()
    hd = bl.BilorHandler(dsn=srv.dsn(), fallback=ListHandler(), release="shop@1.0",
                         environment="e2e", server_name="e2e-host", tags={"service": "api"})
    log = new_logger("e2e.shop", hd)
    ids = {"charge": [], "profile": []}
    for i in range(3):
        try:
            charge_card(100 + i)
        except ValueError:
            log.exception("payment failed for order %s", 9000 + i,
                          extra={"order_id": 9000 + i, "tags": {"tenant": "acme"}})
            ids["charge"].append(hd.last_event_id)
        try:
            load_profile("bob-%d" % i)
        except KeyError:
            log.error("profile lookup failed", exc_info=True)
            ids["profile"].append(hd.last_event_id)
    h.check(hd.flush(10), "flush sent everything")
    h.check_eq(hd.fallback.records, [], "nothing went to the fallback")
    for i in ids["charge"] + ids["profile"]:
        srv.wait_event(1, i)

    issues = h.wait_for(lambda: (lambda iss: sum(int(x["count"]) for x in iss) >= 6 and iss)(
        srv.issues(1)), what="six events in issues")
    h.check_eq(len(issues), 2, "two raising functions -> two issues")
    h.check_eq(sorted(int(i["count"]) for i in issues), [3, 3], "three events each")
    emap = issue_map(srv)
    h.check_eq(len({emap[i]["id"] for i in ids["charge"]}), 1, "charge_card events: one issue")
    h.check_eq(len({emap[i]["id"] for i in ids["profile"]}), 1, "load_profile events: one issue")
    charge_issue = emap[ids["charge"][0]]
    h.check("ValueError" in charge_issue["title"], "title: %r" % charge_issue["title"])
    h.check("charge_card" in (charge_issue.get("culprit") or ""), "culprit: %r"
            % charge_issue.get("culprit"))
    h.check_eq(charge_issue.get("level"), "error", "issue level")

    ev = srv.event(1, ids["charge"][1])
    vals = exc_values(ev)
    if h.check_eq(len(vals), 1, "one exception value"):
        v = vals[0]
        h.check_eq((v.get("type"), v.get("value")), ("ValueError", "card declined for amount 101"),
                   "type and value")
        fr = frames_of(v)
        if h.check(len(fr) >= 2, "frames: %r" % fr):
            last = fr[-1]
            h.check_eq(last.get("function"), "charge_card", "last frame raised")
            h.check_eq(last.get("module"), "__main__", "module")
            h.check_eq(last.get("filename"), "test_python_handler.py", "filename")
            h.check_eq(last.get("abs_path"), os.path.abspath(__file__), "abs_path")
            h.check(isinstance(last.get("lineno"), int) and last["lineno"] > 0, "lineno")
            h.check_eq(last.get("in_app"), True, "in_app")
            h.check_eq((last.get("context_line") or "").strip(),
                       'raise ValueError("card declined for amount %d" % amount)', "context_line")
            h.check_eq(len(last.get("pre_context") or []), 5, "5 lines of pre_context")
            h.check_eq(len(last.get("post_context") or []), 5, "5 lines of post_context")
            h.check(not last.get("vars"), "no locals by default: %r" % last.get("vars"))
            h.check_eq(fr[-2].get("function"), "test_exceptions_two_functions_two_issues",
                       "caller frame")
    h.check_eq(ev.get("message"), "payment failed for order 9001", "message kept")
    h.check_eq(ev.get("message_template"), "payment failed for order %s", "template kept")
    h.check_eq(ev.get("logger"), "e2e.shop", "logger name")
    h.check_eq(ev.get("level"), "error", "level")
    h.check_eq((ev.get("release"), ev.get("environment"), ev.get("server_name")),
               ("shop@1.0", "e2e", "e2e-host"), "release, environment, server_name")
    h.check_eq(ev.get("platform"), "python", "platform")
    tags = ev.get("tags") or []
    h.check_in(["tenant", "acme"], tags, "tag from extra={'tags': ...}")
    h.check_in(["service", "api"], tags, "handler tag")
    extra = ev.get("extra") or {}
    h.check_eq(extra.get("order_id"), 9001, "extra data")
    h.check_eq(extra.get("threadName"), threading.current_thread().name, "thread name kept")
    h.check_eq(extra.get("thread"), threading.get_ident(), "thread id kept")
    h.check_eq(extra.get("process"), os.getpid(), "process id kept")
    h.check_eq(extra.get("processName"), "MainProcess", "process name kept")
    h.check_eq((ev.get("sdk") or {}).get("name"), "bilor-python", "sdk name")
    h.check_eq(hd.errors, 0, "no internal errors")
    hd.close()


@h.test
def test_chained_locals_and_library_frames():
    srv = h.Server().start()
    hd = bl.BilorHandler(dsn=srv.dsn(), include_locals=True, context_lines=2)
    log = new_logger("e2e.config", hd)
    try:
        load_config("/nonexistent/bilor-e2e/settings.ini")
    except RuntimeError:
        log.exception("startup failed")
        chained = hd.last_event_id
    try:
        parse_payload("{not json")
    except ValueError:
        log.exception("bad payload")
        lib = hd.last_event_id
    h.check(hd.flush(10), "flush")
    ev = srv.wait_event(1, chained)
    vals = exc_values(ev)
    h.check_eq([v.get("type") for v in vals], ["FileNotFoundError", "RuntimeError"],
               "chain oldest first, raised exception last")
    if len(vals) == 2:
        h.check_eq(frames_of(vals[0])[-1].get("function"), "read_settings", "cause frame")
        top = frames_of(vals[1])[-1]
        h.check_eq(top.get("function"), "load_config", "primary frame")
        vs = top.get("vars") or {}
        h.check_eq(vs.get("path"), repr("/nonexistent/bilor-e2e/settings.ini"),
                   "locals are repr()'d")
        tok = vs.get("long_value") or ""
        h.check(tok.startswith("'s3cr3t-zzz") and len(tok) <= bl.MAX_VALUE,
                "long local truncated (%d chars)" % len(tok))
        h.check_eq((len(top.get("pre_context") or []), len(top.get("post_context") or [])),
                   (2, 2), "context_lines=2")
    h.check((ev.get("title") or "").startswith("RuntimeError"), "title: %r" % ev.get("title"))

    ev = srv.wait_event(1, lib)
    fr = frames_of(exc_values(ev)[-1])
    apps = [(f.get("function"), f.get("in_app")) for f in fr]
    h.check(("parse_payload", True) in apps, "app frame in_app: %r" % apps)
    std = [f for f in fr if f.get("module", "").startswith("json")]
    h.check(std and not any(f.get("in_app") for f in std),
            "stdlib json frames not in_app: %r" % apps)
    h.check_eq(fr[-1].get("filename"), "json/decoder.py", "stdlib filename relative to package")
    hd.close()


@h.test
def test_messages_grouped_by_template():
    srv = h.Server().start()
    for transport in ("store", "envelope"):
        pid = 1 if transport == "store" else srv.add_project("env-transport")[0]
        hd = bl.BilorHandler(dsn=srv.dsn(pid), transport=transport)
        log = new_logger("e2e.payments." + transport, hd)
        users = []
        for name in ("bob", "alice", "carol"):
            log.error("Failed for user %s", name)
            users.append(hd.last_event_id)
        log.error("Quota exceeded for %s: %d calls", "acme", 5)
        other = hd.last_event_id
        log.error("Order %(id)s failed in %(stage)s", {"id": 77, "stage": "capture"})
        named = hd.last_event_id
        log.warning("Cache warmup took %d ms", 1234)
        warn = hd.last_event_id
        h.check(hd.flush(10), "flush (%s)" % transport)
        evs = [srv.wait_event(pid, i) for i in users + [other, named, warn]]
        h.check_eq([e.get("message") for e in evs[:3]],
                   ["Failed for user bob", "Failed for user alice", "Failed for user carol"],
                   "formatted messages (%s)" % transport)
        h.check_eq({e.get("message_template") for e in evs[:3]}, {"Failed for user %s"},
                   "template (%s)" % transport)
        h.check_eq({e.get("level") for e in evs[:5]}, {"error"}, "level error (%s)" % transport)
        h.check_eq(evs[4].get("message"), "Order 77 failed in capture", "dict params")
        h.check_eq(evs[5].get("level"), "warning", "warning level")
        emap = h.wait_for(lambda: (lambda m: all(i in m for i in users + [other, named]) and m)(
            issue_map(srv, pid)), what="message issues (%s)" % transport)
        h.check_eq(len({emap[i]["id"] for i in users}), 1,
                   "same template, different params -> one issue (%s)" % transport)
        h.check_eq(int(emap[users[0]]["count"]), 3, "issue count (%s)" % transport)
        h.check_eq(emap[users[0]]["level"], "error", "issue level (%s)" % transport)
        h.check(emap[other]["id"] != emap[users[0]]["id"], "other template -> other issue")
        h.check(warn not in emap, "a warning is not an issue")
        h.check_eq(len(srv.issues(pid)), 3, "three issues (%s)" % transport)
        hd.close()
    m = srv.metrics()
    h.check(h.metric_sum(m, "bilor_envelope_items_total", type="event") >= 6,
            "envelope transport delivered event items")


@h.test
def test_server_down_fallback_fast_then_recovers():
    srv = h.Server().start()
    dsn = srv.dsn()
    srv.stop()
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=dsn, fallback=fb, timeout=2.0)
    hd.BACKOFF_MAX = 2.0
    log = new_logger("e2e.down", hd)
    log.error("warm-up %d", 0)       # first call: linecache, thread wake-up
    sent = ["warm-up 0"]
    # The claim is about the handler; a loaded machine can preempt the process for
    # milliseconds, so up to three rounds are measured and every round is reported.
    for rnd in range(1, 4):
        burst = timed_calls(lambda i: log.error("r%d payment %d failed", rnd, i), 200)
        paced = timed_calls(lambda i: log.error("r%d paced record %d", rnd, i), 200,
                            pause=0.002)
        sent += ["r%d payment %d failed" % (rnd, i) for i in range(200)]
        sent += ["r%d paced record %d" % (rnd, i) for i in range(200)]
        worst = max(max(burst), max(paced))
        for name, d in (("burst", burst), ("paced", paced)):
            h.note("server down, round %d, %s of 200 logger.error(): max %.3f ms, p99 %.3f ms, "
                   "median %.3f ms" % (rnd, name, max(d), pct(d, 0.99), statistics.median(d)))
        if worst < FAST_MS:
            break
    h.check(worst < FAST_MS, "logger.error() max %.3f ms < %.0f ms (round %d)"
            % (worst, FAST_MS, rnd))
    h.check(pct(burst + paced, 0.99) < FAST_MS, "p99 %.3f ms" % pct(burst + paced, 0.99))
    h.wait_for(lambda: len(fb.records) >= len(sent), timeout=10,
               what="%d records in the fallback" % len(sent))
    msgs = fb.messages()
    h.check_eq(len(msgs), len(sent), "fallback received every record")
    h.check_eq(sorted(msgs), sorted(sent), "fallback got each record exactly once")
    h.check_eq(hd.errors, 0, "no internal errors")
    lost = sum(hd.pending_losses().values())
    h.check_eq(lost, len(sent), "losses counted for the client report")

    srv.start()
    t0 = time.monotonic()
    got = {}

    def delivered():
        log.error("after restart %d", len(got))
        got[hd.last_event_id] = True
        hd.flush(3)
        return [i for i in got if srv.event(1, i)]
    ok = h.wait_for(delivered, timeout=20, interval=0.3, what="a record delivered after restart")
    h.note("server back: first record delivered after %.1f s (backoff cap %.0f s)"
           % (time.monotonic() - t0, hd.BACKOFF_MAX))
    h.check(len(ok) >= 1, "records flow again")
    h.check(hd.flush(5), "flush after recovery")
    h.wait_for(lambda: h.metric_sum(srv.metrics(), "bilor_envelope_items_total",
                                    type="client_report") >= 1,
               timeout=10, what="client_report item received")
    h.check_eq(hd.pending_losses(), {}, "loss counts reported and cleared")
    hd.close()


def rate_limited_stub(headers, delay=0.0):
    """429 (with headers) to the first request after delay seconds, 200 afterwards.

    req["answered"] is when the 429 was sent.
    """
    def respond(req, n):
        if n == 1:
            time.sleep(delay)
            req["answered"] = time.monotonic()
            return 429, headers, b'{"detail":"slow down"}'
        return 200, {"Content-Type": "application/json"}, b'{"id":"ok"}'
    return Stub(respond)


@h.test
def test_429_retry_after_honoured():
    stub = rate_limited_stub({"Retry-After": "2"}, delay=0.3)
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=fb)
    log = new_logger("e2e.ratelimit", hd)
    try:
        log.error("first %d", 0)
        h.wait_for(lambda: stub.snapshot(), timeout=10, interval=0.01, what="first request")
        for i in range(1, 4):   # queued while the 429 is on its way: must not be sent either
            log.error("first %d", i)
        h.wait_for(lambda: len(fb.records) >= 4, timeout=10, interval=0.01,
                   what="the 429'd and the queued records in the fallback")
        t429 = stub.snapshot()[0]["answered"]
        window = []
        while time.monotonic() < t429 + 1.8:
            n = len(window)
            t0 = time.perf_counter()
            log.error("during window %d", n)
            window.append((time.perf_counter() - t0) * 1000.0)
            time.sleep(0.15)
        h.wait_for(lambda: len(fb.records) >= 4 + len(window), timeout=5, interval=0.01,
                   what="window records in the fallback")
        late = max(fb.times) - t429
        h.check(late < 2.0, "window records reached the fallback before the wait ended: %.3f s"
                % late)
        in_fb = fb.messages()
        h.check_eq(in_fb, ["first %d" % i for i in range(4)]
                   + ["during window %d" % i for i in range(len(window))],
                   "the 429'd record, the queued ones and every record in the window went "
                   "to the fallback")
        h.check(len(window) >= 8, "records logged during the window: %d" % len(window))
        h.note("during the 429 window: %d records, max logger.error() %.3f ms"
               % (len(window), max(window)))
        while time.monotonic() < t429 + 2.1:
            time.sleep(0.02)
        log.error("after window")
        h.check(hd.flush(5), "flush after the window")
        reqs = stub.snapshot()
        times = [r["t"] - t429 for r in reqs[1:]]
        h.note("request times after the 429 answer (s): %s" % ", ".join("%.3f" % t for t in times))
        h.check(times and all(t >= 2.0 for t in times), "no request within 2 s of the 429: %r"
                % times)
        evs = stub.events()
        h.check_eq([e["logentry"]["formatted"] for e in evs], ["first 0", "after window"],
                   "events the stub received")
        h.check_eq(len(fb.records), 4 + len(window), "after the window nothing is diverted")
        reps = stub.reports()
        h.check_eq(discarded(reps, "ratelimit_backoff"), 4 + len(window),
                   "client report counts the rate-limited records: %r" % reps)
        first = reqs[0]
        h.check_eq(first["headers"].get("X-Sentry-Auth"),
                   "Sentry sentry_key=%s, sentry_version=7, sentry_client=bilor-python/0.1"
                   % KEY, "auth header")
        h.check_eq((first["path"], first["headers"].get("Content-Encoding"),
                    first["headers"].get("Content-Type")),
                   ("/api/1/store/", "gzip", "application/json"), "store request")
    finally:
        hd.close(1)
        stub.close()


@h.test
def test_x_sentry_rate_limits_honoured():
    # The Sentry header wins over Retry-After (as in sentry-python): 1 s, not 30 s.
    stub = rate_limited_stub({"Retry-After": "30",
                              "X-Sentry-Rate-Limits": "1:error;default:project:quota"})
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=fb)
    log = new_logger("e2e.ratelimit2", hd)
    try:
        log.error("one")
        h.wait_for(lambda: fb.records, timeout=10, interval=0.01, what="429 processed")
        t429 = stub.snapshot()[0]["answered"]
        log.error("two")
        h.wait_for(lambda: len(fb.records) >= 2, timeout=5, interval=0.01, what="2nd diverted")
        h.check_eq(fb.messages(), ["one", "two"], "record inside the 1 s limit diverted")
        while time.monotonic() < t429 + 1.1:
            time.sleep(0.02)
        log.error("three")
        h.check(hd.flush(5), "flush")
        times = [r["t"] - t429 for r in stub.snapshot()[1:]]
        h.check(times and all(t >= 1.0 for t in times), "next request after 1 s: %r" % times)
        h.check_eq([e["logentry"]["formatted"] for e in stub.events()], ["one", "three"],
                   "events received")
    finally:
        hd.close(1)
        stub.close()

    # a limit for other categories, riding on a 200, does not stop events
    stub = Stub(lambda req, n: (200, {"X-Sentry-Rate-Limits": "60:transaction;session:project"},
                                b'{"id":"x"}'))
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=ListHandler())
    log = new_logger("e2e.ratelimit3", hd)
    try:
        for i in range(3):
            log.error("unaffected %d", i)
            hd.flush(5)
        h.check_eq(len(stub.events()), 3, "transaction limits do not block events")
        h.check_eq(hd.fallback.records, [], "nothing diverted")
    finally:
        hd.close(1)
        stub.close()


@h.test
def test_refused_and_hung_server():
    # 4xx/5xx other than 429 -> fallback
    stub = Stub(lambda req, n: ((400, {}, b'{"detail":"bad"}') if n == 1 else
                                (503, {"Retry-After": "1"}, b"{}")))
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=fb)
    log = new_logger("e2e.refused", hd)
    try:
        log.error("refused 400")
        hd.flush(5)
        log.error("refused 503")
        hd.flush(5)
        log.error("during 503 backoff")
        hd.flush(5)
        h.check_eq(fb.messages(), ["refused 400", "refused 503", "during 503 backoff"],
                   "refused records went to the fallback")
        h.check_eq(len(stub.snapshot()), 2, "no request during the 503 Retry-After")
    finally:
        hd.close(1)
        stub.close()

    # a server that accepts and never answers: callers never wait, close() keeps its timeout
    gate = threading.Event()

    def hang(req, n):
        gate.wait(10)
        return 200, {}, b'{"id":"late"}'
    stub = Stub(hang)
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=fb, timeout=1.5, queue_size=5)
    log = new_logger("e2e.hung", hd)
    try:
        log.error("hung %d", 0)
        h.wait_for(lambda: stub.snapshot(), timeout=5, interval=0.01, what="request in flight")
        d = timed_calls(lambda i: log.error("hung %d", i + 1), 19)
        h.note("hung server: max logger.error() %.3f ms over 19 calls" % max(d))
        h.check(max(d) < FAST_MS, "callers never wait: max %.3f ms" % max(d))
        t0 = time.monotonic()
        h.check_eq(hd.flush(0.3), False, "flush(0.3) reports records still queued")
        t_flush = time.monotonic() - t0
        h.check_eq(hd.pending_losses().get("queue_overflow"), 14,
                   "queue of 5 + 1 in flight: 14 oldest dropped (counted)")
        t0 = time.monotonic()
        hd.close(0.5)
        t_close = time.monotonic() - t0
        h.note("hung server: flush(0.3) took %.3f s, close(0.5) took %.3f s" % (t_flush, t_close))
        h.check(t_flush < 0.6, "flush waits at most its timeout: %.3f s" % t_flush)
        h.check(t_close < 0.8, "close waits at most its timeout: %.3f s" % t_close)
        h.check_eq(sorted(fb.messages()), sorted("hung %d" % i for i in range(1, 20)),
                   "after close() the 14 dropped and 5 queued records are in the fallback")
        log.error("after close")
        h.wait_for(lambda: len(fb.records) >= 21, timeout=5, interval=0.05,
                   what="the in-flight record in the fallback after its timeout")
        msgs = fb.messages()
        h.check_eq(sorted(msgs), sorted(["hung %d" % i for i in range(20)] + ["after close"]),
                   "all 20 records and the one after close reached the fallback")
    finally:
        gate.set()
        stub.close()


@h.test
def test_never_raises_never_prints():
    srv = h.Server().start()
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=srv.dsn(), fallback=fb, include_locals=True)
    log = new_logger("e2e.robust", hd)
    escaped = []
    ids = {}

    class Loud:
        def __repr__(self):
            log.error("logged from inside __repr__")
            return "Loud()"

    cyc = {"name": "cycle"}
    cyc["self"] = cyc
    a, b = ValueError("a"), BadExc()
    a.__context__, b.__context__ = b, a

    def case(name, fn):
        try:
            fn()
        except BaseException as e:  # noqa: BLE001
            escaped.append("%s: %s" % (name, traceback.format_exception_only(type(e), e)))
        ids[name] = hd.last_event_id

    def deep_log(n):
        if n > 0:
            return deep_log(n - 1)
        log.error("deep %s", "stack")

    def raise_recursion():
        try:
            recurse_forever(0)
        except RecursionError:
            log.exception("recursion")

    def raise_bad_exc():
        try:
            raise BadExc()
        except BadExc:
            log.exception("bad exception str")

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        case("broken_args", lambda: log.error("value %s and %r", Broken(), Broken()))
        case("bad_format", lambda: log.error("%d items", "many"))
        case("missing_args", lambda: log.error("%s and %s", 1))
        case("broken_msg", lambda: log.error(Broken()))
        case("extras", lambda: log.error("weird extras", extra={
            "bad": Broken(), "cycle": cyc, "huge_int": 10 ** 5000, "nan": float("nan"),
            "raw": b"\xff\xfe", "gen": (i for i in range(3)), "set": {1, 2},
            "tags": {"ok": "yes", "bad": Broken(), "n": 5}}))
        case("tags_not_dict", lambda: log.error("tags as str", extra={"tags": "oops"}))
        case("huge_message", lambda: log.error("x" * (5 << 20)))
        case("huge_args", lambda: log.error("payload %s", "y" * (5 << 20)))
        case("reentrant", lambda: log.error("object %r", Loud()))
        case("recursion_error", raise_recursion)
        case("bad_exc", raise_bad_exc)
        case("cyclic_context", lambda: log.error("cyclic", exc_info=(ValueError, a, None)))
        case("exc_info_no_exc", lambda: log.error("no exception", exc_info=True))
        case("unraised_exc", lambda: log.error("not raised", exc_info=KeyError("k")))
        case("stack_info", lambda: log.error("with stack", stack_info=True))
        errors_before_deep = hd.errors
        limit = sys.getrecursionlimit()
        for depth in range(limit - 80, limit, 5):
            try:
                deep_log(depth)
            except RecursionError as e:
                tb = traceback.extract_tb(e.__traceback__)
                ours = [f for f in tb if f.filename.endswith("bilor_logging.py")]
                if len(ours) > 1:
                    escaped.append("deep_log(%d): RecursionError from %s" % (depth, ours[-1]))
        h.note("deep stacks: %d internal errors swallowed (RecursionError inside emit)"
               % (hd.errors - errors_before_deep))
        deep_errors = hd.errors - errors_before_deep
        h.check(hd.flush(15), "flush")
        hd.close(5)
        case("closed_handler", lambda: log.error("after close %s", "x"))
        case("closed_twice", lambda: hd.close(0.1))
        case("flush_closed", lambda: hd.flush(0.1))
    h.check_eq(escaped, [], "no exception escaped the handler")
    h.check_eq(err.getvalue(), "", "nothing printed to stderr")
    h.check_eq(hd.errors - deep_errors, 0, "no internal errors outside the deep-stack calls")
    fbm = fb.messages()
    h.check_in("logged from inside __repr__", fbm, "re-entrant record went to the fallback")
    h.check_in("after close x", fbm, "record after close went to the fallback")

    evs = {k: srv.wait_event(1, ids[k]) for k in
           ("broken_args", "bad_format", "missing_args", "broken_msg", "extras", "tags_not_dict",
            "huge_message", "huge_args", "reentrant", "recursion_error", "bad_exc",
            "cyclic_context", "exc_info_no_exc", "unraised_exc", "stack_info")}
    h.check_eq(evs["broken_args"].get("message_template"), "value %s and %r", "template kept")
    h.check("<Broken instance at" in (evs["broken_args"].get("message") or ""),
            "broken args shown as placeholders: %r" % evs["broken_args"].get("message"))
    h.check_eq(evs["bad_format"].get("message_template"), "%d items", "bad format template")
    ex = evs["extras"].get("extra") or {}
    h.check_eq(ex.get("cycle", {}).get("self"), "<recursion>", "cyclic extra")
    h.check("bits" in str(ex.get("huge_int")), "huge int: %r" % ex.get("huge_int"))
    h.check_eq(ex.get("nan"), "nan", "nan")
    h.check_in(["ok", "yes"], evs["extras"].get("tags") or [], "good tag kept")
    h.check_in(["n", "5"], evs["extras"].get("tags") or [], "tag value stringified")
    h.check_eq((evs["tags_not_dict"].get("extra") or {}).get("tags"), "oops",
               "non-dict tags stay extra data")
    for k in ("huge_message", "huge_args"):
        msg = evs[k].get("message") or ""
        h.check(0 < len(msg) <= bl.MAX_MESSAGE, "%s truncated to %d chars" % (k, len(msg)))
    h.check_eq(evs["reentrant"].get("message"), "object Loud()", "re-entrant event itself sent")
    rec = exc_values(evs["recursion_error"])
    h.check(rec and rec[-1].get("type") == "RecursionError"
            and len(frames_of(rec[-1])) == bl.MAX_FRAMES,
            "RecursionError with %d frames" % len(frames_of((rec or [{}])[-1])))
    h.check_eq([v.get("type") for v in exc_values(evs["cyclic_context"])], ["BadExc", "ValueError"],
               "cyclic __context__ walked once")
    h.check_eq(exc_values(evs["bad_exc"])[-1].get("value"), "BadExc()", "broken __str__ value")
    h.check_eq(exc_values(evs["exc_info_no_exc"]), [], "exc_info=True outside except")
    h.check_eq([v.get("type") for v in exc_values(evs["unraised_exc"])], ["KeyError"],
               "exception instance without traceback")
    h.check("Stack (most recent call last)" in str((evs["stack_info"].get("extra") or {})
                                                   .get("stack_info")), "stack_info kept")


EXIT_SCRIPT = r"""
import logging, sys, time
sys.path.insert(0, sys.argv[1])
from bilor_logging import BilorHandler
fallback = logging.StreamHandler(sys.stdout)
fallback.setFormatter(logging.Formatter("FALLBACK %(message)s"))
hd = BilorHandler(dsn=sys.argv[2], fallback=fallback, timeout=30, shutdown_timeout=1.0)
log = logging.getLogger("e2e.exit")
log.addHandler(hd)
for i in range(5):
    log.error("exit record %d", i)
    print("ID", hd.last_event_id, flush=True)
print("LEAVING %f" % time.time(), flush=True)
"""


@h.test
def test_exit_flushes_and_never_hangs():
    srv = h.Server().start()
    d = h.mkdtemp("bilor-e2e-exit-")
    path = os.path.join(d, "exit_app.py")
    with open(path, "w") as f:
        f.write(EXIT_SCRIPT)
    # no flush() in the script: logging.shutdown() at exit must send the queue
    r = h.run([sys.executable, "-B", path, CLIENT_DIR, srv.dsn()], timeout=60)
    h.check_eq((r.returncode, r.stderr), (0, ""), "script exit status and stderr")
    ids = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("ID ")]
    h.check_eq(len(ids), 5, "five records logged")
    for i in ids:
        srv.wait_event(1, i)
    h.check("FALLBACK" not in r.stdout, "nothing went to the fallback: %r" % r.stdout)

    # a server that never answers: exit still takes about shutdown_timeout, and the
    # records still queued are handed to the fallback
    gate = threading.Event()
    stub = Stub(lambda req, n: (gate.wait(20), (200, {}, b"{}"))[1])
    try:
        t0 = time.monotonic()
        r = h.run([sys.executable, "-B", path, CLIENT_DIR, stub.dsn], timeout=60)
        took = time.monotonic() - t0
        h.note("hung server: script exited %.2f s after start (shutdown_timeout 1 s)" % took)
        h.check_eq(r.returncode, 0, "exit status")
        h.check(took < 6, "exit did not hang on the server: %.2f s" % took)
        fb = sorted(ln for ln in r.stdout.splitlines() if ln.startswith("FALLBACK"))
        h.check_eq(fb, ["FALLBACK exit record %d" % i for i in range(1, 5)],
                   "queued records handed to the fallback at exit (the first was in flight)")
    finally:
        gate.set()
        stub.close()


@h.test
def test_concurrent_callers():
    stub = Stub()
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=fb, queue_size=50)
    log = new_logger("e2e.threads", hd)
    n_threads, per_thread = 8, 300
    slow = []

    def worker(t):
        d = timed_calls(lambda i: log.error("thread %d record %d", t, i), per_thread)
        slow.append(max(d))
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    h.check(hd.flush(30), "flush")
    sent = [e["logentry"]["formatted"] for e in stub.events()]
    diverted = fb.messages()
    want = sorted("thread %d record %d" % (t, i) for t in range(n_threads)
                  for i in range(per_thread))
    h.note("%d threads x %d records: %d sent, %d to the fallback (queue of 50), slowest call "
           "%.3f ms" % (n_threads, per_thread, len(sent), len(diverted), max(slow)))
    h.check_eq(sorted(sent + diverted), want, "every record sent or diverted, exactly once")
    h.check_eq(len(set(stub.snapshot()[i]["body"] for i in range(len(stub.snapshot())))),
               len(stub.snapshot()), "no request sent twice")
    h.check_eq(hd.pending_losses().get("queue_overflow", 0) + discarded(
        stub.reports(), "queue_overflow"), len(diverted), "every overflow counted once")
    h.check_eq(hd.errors, 0, "no internal errors")
    hd.close(1)
    stub.close()


@h.test
def test_never_feeds_itself():
    stub = Stub()
    fb = ListHandler()
    hd = bl.BilorHandler(dsn=stub.dsn, fallback=fb)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(hd)
    root.setLevel(logging.DEBUG)
    real_open = hd._opener.open

    def noisy_open(*a, **kw):
        logging.getLogger("urllib3.connectionpool").error("inside the sender thread")
        logging.getLogger("bilor_logging").error("internal message")
        return real_open(*a, **kw)
    try:
        logging.getLogger("bilor_logging").error("internal logger, caller thread")
        logging.getLogger("bilor_logging.transport").error("internal child logger")
        hd._opener.open = noisy_open
        logging.getLogger("e2e.app").error("the only record to send")
        h.check(hd.flush(5), "flush")
        time.sleep(0.3)
        evs = stub.events()
        h.check_eq([e["logentry"]["formatted"] for e in evs], ["the only record to send"],
                   "only the application record was sent (no loop)")
        h.check_eq(fb.records, [], "ignored records are not diverted either")
    finally:
        root.removeHandler(hd)
        root.setLevel(old_level)
        hd.close(1)
        stub.close()


@h.test
def test_after_fork_and_dictconfig():
    stub = Stub()
    hd = bl.BilorHandler(dsn=stub.dsn)
    log = new_logger("e2e.fork", hd)
    log.error("parent before fork")
    hd.flush(5)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            log.error("from the child %d", os.getpid())
            code = 0 if hd.flush(5) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    h.check_eq(os.WEXITSTATUS(status), 0, "child flushed its record")
    log.error("parent after fork")
    hd.flush(5)
    msgs = [e["logentry"]["formatted"] for e in stub.events()]
    h.check_eq(sorted(msgs), sorted(["parent before fork", "from the child %d" % pid,
                                     "parent after fork"]), "records from parent and child")
    hd.close(1)

    # the README's Django LOGGING snippet shape, fallback named by handler name
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "undelivered": {"()": ListHandler, "level": "DEBUG"},
            "bilor": {"class": "bilor_logging.BilorHandler", "dsn": stub.dsn,
                      "level": "ERROR", "fallback": "undelivered", "release": "web@3",
                      "environment": "production"},
        },
        "loggers": {"e2e.django": {"handlers": ["bilor"], "level": "INFO",
                                   "propagate": False}},
    })
    lg = logging.getLogger("e2e.django")
    bh = lg.handlers[0]
    h.check(isinstance(bh, bl.BilorHandler) and bh.level == logging.ERROR,
            "dictConfig built the handler with its level")
    lg.info("below the handler level")
    lg.error("configured by dictConfig %s", "ok")
    bh.flush(5)
    ev = stub.events()[-1]
    h.check_eq((ev["logentry"]["formatted"], ev.get("release"), ev.get("environment")),
               ("configured by dictConfig ok", "web@3", "production"), "dictConfig event")
    stub.close()
    bh._backoff_until = time.monotonic() + 60
    lg.error("diverted")
    bh.flush(2)
    fbh = logging.getHandlerByName("undelivered") if hasattr(logging, "getHandlerByName") \
        else logging._handlers.get("undelivered")  # noqa: SLF001
    h.check_eq(fbh.messages() if fbh else None, ["diverted"], "fallback resolved by name")
    bh.close(0.5)


if __name__ == "__main__":
    h.main()
