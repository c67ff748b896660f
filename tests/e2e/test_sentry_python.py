"""Debian's python3-sentry-sdk (1.9.10) against the real server.

Each scenario runs the SDK in a fresh interpreter (default integrations on,
debug log on stderr), prints the event ids it captured as JSON, and the test
then reads issues and events back through the REST API.
"""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

PRELUDE = r'''
import json, logging, sys
import sentry_sdk

DSN = sys.argv[1]
ARG = sys.argv[2] if len(sys.argv) > 2 else ""
ids = {}


def init(**kw):
    opts = dict(dsn=DSN, debug=True, release="e2e-app@1.2.3", environment="e2e")
    opts.update(kw)
    sentry_sdk.init(**opts)


def done():
    sentry_sdk.flush(timeout=10)
    print(json.dumps(ids))
'''

GROUPING = PRELUDE + r'''
def alpha_handler(i):
    raise ValueError("alpha failed for item %d" % i)


def beta_handler(i):
    raise KeyError("beta-%d" % i)


init()
ids["alpha"], ids["beta"] = [], []
for i in range(int(ARG or "3")):
    try:
        alpha_handler(i)
    except ValueError:
        ids["alpha"].append(sentry_sdk.capture_exception())
    if ARG:
        continue
    try:
        beta_handler(i)
    except KeyError:
        ids["beta"].append(sentry_sdk.capture_exception())
done()
'''

MESSAGES = PRELUDE + r'''
init()
logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("e2e.payments")
log.info("breadcrumb before failure %s", "x")
log.error("Failed for user %s", "bob")
ids["log_bob"] = sentry_sdk.last_event_id()
log.error("Failed for user %s", "alice")
ids["log_alice"] = sentry_sdk.last_event_id()
logging.error("root logger problem number %d", 7)
ids["root"] = sentry_sdk.last_event_id()
ids["warn"] = sentry_sdk.capture_message("Cache warmup took %d ms" % 1234, level="warning")
ids["pay1"] = sentry_sdk.capture_message("Payment 1234 failed for a@b.com", level="error")
ids["pay2"] = sentry_sdk.capture_message("Payment 98 failed for c@d.org", level="error")
done()
'''

CHAINED = PRELUDE + r'''
def read_settings():
    with open("/nonexistent/bilor-e2e/settings.ini") as f:
        return f.read()


def load_config():
    try:
        read_settings()
    except OSError as e:
        raise RuntimeError("config unavailable") from e


init()
try:
    load_config()
except RuntimeError:
    ids["chained"] = sentry_sdk.capture_exception()
done()
'''

CONTEXT = PRELUDE + r'''
def checkout(cart):
    return cart["total"] / cart["items"]


def fail_a():
    raise ValueError("unrelated a")


def fail_b():
    raise TypeError("unrelated b")


init(release="shop@2.4.1", environment="staging", server_name="e2e-host-1")
sentry_sdk.set_tag("tenant", "acme")
sentry_sdk.set_tag("region", "eu-west")
sentry_sdk.set_user({"id": "42", "email": "jane@example.com", "username": "jane"})
sentry_sdk.set_extra("order_id", 9001)
sentry_sdk.set_context("payment", {"provider": "stripe", "attempt": 2})
sentry_sdk.add_breadcrumb(category="checkout", message="cart submitted", level="info")
try:
    checkout({"total": 10, "items": 0})
except ZeroDivisionError:
    ids["ctx"] = sentry_sdk.capture_exception()
ids["fp"] = []
for f in (fail_a, fail_b):
    with sentry_sdk.push_scope() as scope:
        scope.fingerprint = ["e2e-custom-group"]
        try:
            f()
        except Exception:
            ids["fp"].append(sentry_sdk.capture_exception())
done()
'''

ENVELOPES = PRELUDE + r'''
init(traces_sample_rate=1.0, release="env-app@0.9")
with sentry_sdk.start_transaction(op="task", name="nightly-job"):
    pass
with sentry_sdk.configure_scope() as scope:
    scope.add_attachment(bytes=b"hello attach", filename="a.txt")
ids["attached"] = sentry_sdk.capture_message("with attachment", level="error")
hub = sentry_sdk.Hub.current
hub.start_session(session_mode="application")
hub.end_session()
done()
'''

_PY = {}


def run_sdk(srv, name, script, pid=1, arg=None):
    """Runs one scenario in a fresh interpreter; returns the ids it printed."""
    if "py" not in _PY:
        _PY["py"] = h.sdk_python()
    py = _PY["py"]
    if not py:
        raise AssertionError("no python interpreter can import sentry_sdk "
                             "(install python3-sentry-sdk: scripts/install-deps.sh --test)")
    d = h.mkdtemp("bilor-e2e-sdk-")
    path = os.path.join(d, "%s.py" % name)
    with open(path, "w") as f:
        f.write(script)
    cmd = [py, path, srv.dsn(pid)] + ([arg] if arg else [])
    r = h.run(cmd, timeout=90, cwd=d)
    ok = h.check_eq(r.returncode, 0, "sdk scenario %s exit status (stderr tail: %s)"
                    % (name, r.stderr[-2000:]))
    for bad in ("Unexpected status code", "Internal error in sentry_sdk", "Rate-limited"):
        h.check(bad not in r.stderr, "sdk scenario %s: SDK logged %r:\n%s"
                % (name, bad, "\n".join(line for line in r.stderr.splitlines()
                                        if bad in line or "body:" in line)[-2000:]))
    if not ok:
        raise AssertionError("scenario %s failed" % name)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1])


def issue_map(srv, pid=1):
    """{event_id: issue} over every issue of the project."""
    out = {}
    for iss in srv.issues(pid, status="all"):
        for ev in srv.issue_events(iss["id"]):
            out[ev["event_id"]] = iss
    return out


def wait_events(srv, ids, pid=1):
    return [srv.wait_event(pid, i) for i in ids]


def exc_values(ev):
    exc = ev.get("exception") or {}
    vals = exc.get("values") if isinstance(exc, dict) else exc
    return vals or []


def frames_of(value):
    st = (value or {}).get("stacktrace") or {}
    return st.get("frames") or []


def crumbs_of(ev):
    b = ev.get("breadcrumbs") or []
    if isinstance(b, dict):
        b = b.get("values") or []
    return b


@h.test
def test_grouping_two_functions():
    srv = h.Server().start()
    ids = run_sdk(srv, "grouping", GROUPING)
    h.check_eq((len(ids["alpha"]), len(ids["beta"])), (3, 3), "six event ids from the SDK")
    wait_events(srv, ids["alpha"] + ids["beta"])

    # all six stored: exactly two issues with three events each
    def counted():
        iss = srv.issues(1)
        return iss if sum(int(x["count"]) for x in iss) >= 6 else None
    issues = h.wait_for(counted, what="issue counts to reach 6")
    h.check_eq(len(issues), 2, "issues for two raising functions")
    h.check_eq(sorted(int(i["count"]) for i in issues), [3, 3], "issue counts")
    for i in issues:
        for k in ("id", "title", "culprit", "level", "status", "count", "first_seen",
                  "last_seen", "fingerprint"):
            h.check_in(k, i, "issue field")
        h.check_eq(i.get("status"), "unresolved", "new issue status")
        h.check_eq(i.get("level"), "error", "issue level")
        h.check(h.parse_time(i.get("first_seen")) is not None, "first_seen is RFC 3339: %r"
                % i.get("first_seen"))
    by_title = {}
    for i in issues:
        kind = "alpha" if "ValueError" in i["title"] else "beta" if "KeyError" in i["title"] \
            else i["title"]
        by_title[kind] = i
    h.check_eq(sorted(by_title), ["alpha", "beta"], "issue titles name the exception types")
    if sorted(by_title) != ["alpha", "beta"]:
        return
    alpha, beta = by_title["alpha"], by_title["beta"]
    h.check("alpha_handler" in (alpha.get("culprit") or ""), "culprit names the function: %r"
            % alpha.get("culprit"))

    # the events of each issue are exactly the ids the SDK reported, newest first
    for iss, want in ((alpha, ids["alpha"]), (beta, ids["beta"])):
        evl = srv.issue_events(iss["id"])
        h.check_eq(sorted(e["event_id"] for e in evl), sorted(want), "events of issue %s"
                   % iss["title"])
        ts = [h.parse_time(e.get("timestamp")) for e in evl]
        h.check(all(t is not None for t in ts) and ts == sorted(ts, reverse=True),
                "issue events newest first: %r" % [e.get("timestamp") for e in evl])

    # pagination of issue events: 2 + 1
    r = srv.api("GET", "/api/0/issues/%s/events/?limit=2" % alpha["id"])
    h.check_eq(r.status, 200, "issue events page 1")
    page1 = r.json() or []
    h.check_eq(len(page1), 2, "page 1 size")
    nxt = h.parse_link(r.header("link")).get("next")
    if h.check(nxt is not None and nxt.get("results") == "true",
               "Link next with results=true: %r" % r.header("link")):
        r2 = srv.api("GET", "/api/0/issues/%s/events/?limit=2&cursor=%s"
                     % (alpha["id"], urllib.parse.quote(nxt["cursor"])))
        page2 = r2.json() or []
        h.check_eq(len(page2), 1, "page 2 size")
        h.check_eq(sorted(e["event_id"] for e in page1 + page2), sorted(ids["alpha"]),
                   "pages cover all events once")
        n2 = h.parse_link(r2.header("link")).get("next")
        h.check(n2 is None or n2.get("results") == "false", "last page says results=false: %r"
                % r2.header("link"))

    # issue pagination: limit=1 walks both issues
    items, pages = srv.api_pages("/api/0/projects/1/issues/?status=all&limit=1")
    h.check_eq((len(items), pages), (2, 2), "issue list with limit=1: items, pages")
    for sort in ("last_seen", "first_seen", "count"):
        r = srv.api("GET", "/api/0/projects/1/issues/?sort=%s" % sort)
        h.check_eq(r.status, 200, "issue list sort=%s" % sort)
        h.check_eq(len(r.json() or []), 2, "issue list sort=%s size" % sort)

    # issue detail: 24 hourly buckets holding the three events
    det = srv.issue(alpha["id"])
    hourly = det.get("hourly")
    if h.check(isinstance(hourly, list) and len(hourly) == 24, "hourly has 24 ints: %r" % hourly):
        h.check_eq(sum(hourly), 3, "hourly sum")
    h.check_eq(int(det.get("count", -1)), 3, "issue detail count")
    listed = {i["id"]: i for i in srv.api_json("/api/0/projects/1/issues/?hourly=1")}
    h.check_eq(listed.get(alpha["id"], {}).get("hourly"), hourly,
               "the list's hourly=1 counts are the issue's")
    h.check_eq(listed.get(alpha["id"], {}).get("count_14d"), 3, "count_14d in the list")
    h.check_eq(det.get("count_14d"), 3, "count_14d on the issue")

    # one event in detail
    ev = srv.event(1, ids["alpha"][0])
    vals = exc_values(ev)
    if h.check(len(vals) >= 1, "event has an exception"):
        prim = vals[-1]
        h.check_eq(prim.get("type"), "ValueError", "exception type")
        h.check_eq(prim.get("value"), "alpha failed for item 0", "exception value")
        fr = frames_of(prim)
        if h.check(len(fr) >= 2, "frames present: %r" % fr):
            last = fr[-1]
            h.check_eq(last.get("function"), "alpha_handler", "last frame raised (callee last)")
            h.check(isinstance(last.get("lineno"), int) and last["lineno"] > 0, "lineno: %r"
                    % last.get("lineno"))
            h.check("raise ValueError" in (last.get("context_line") or ""), "context_line: %r"
                    % last.get("context_line"))
            h.check((last.get("filename") or last.get("abs_path") or "").endswith("grouping.py"),
                    "frame filename: %r" % last.get("filename"))
            h.check_eq(fr[0].get("function"), "<module>", "first frame is the caller")
    h.check_eq(ev.get("platform"), "python", "platform")
    h.check_eq(ev.get("level"), "error", "level")
    h.check_eq(ev.get("release"), "e2e-app@1.2.3", "release")
    h.check_eq(ev.get("environment"), "e2e", "environment")
    h.check("ValueError" in (ev.get("title") or ""), "event title: %r" % ev.get("title"))
    raw = ev.get("raw")
    h.check(isinstance(raw, dict) and raw.get("event_id") == ids["alpha"][0]
            and "exception" in raw, "raw holds the original payload: %s" % h._short(raw, 200))
    h.check(abs(h.parse_time(ev.get("timestamp")) - time.time()) < 300,
            "timestamp near now: %r" % ev.get("timestamp"))

    # resolve, then a new event reopens it (regression)
    r = srv.api("PUT", "/api/0/issues/%s/" % alpha["id"], body={"status": "resolved"})
    h.check_eq(r.status, 200, "PUT status resolved")
    h.check_eq(srv.issue(alpha["id"]).get("status"), "resolved", "issue now resolved")
    unres = [i["id"] for i in srv.issues(1, status="unresolved")]
    res = [i["id"] for i in srv.issues(1, status="resolved")]
    h.check(alpha["id"] not in unres and alpha["id"] in res and beta["id"] in unres,
            "status filters: unresolved=%r resolved=%r" % (unres, res))
    again = run_sdk(srv, "grouping", GROUPING, arg="1")
    srv.wait_event(1, again["alpha"][0])
    det = h.wait_for(lambda: int(srv.issue(alpha["id"])["count"]) == 4
                     and srv.issue(alpha["id"]), what="regression event counted")
    h.check_eq(det.get("status"), "unresolved", "a new event reopens a resolved issue")
    h.check_eq(len(srv.issues(1)), 2, "still two issues after the regression")
    r = srv.api("PUT", "/api/0/issues/%s/" % beta["id"], body={"status": "ignored"})
    h.check_eq(r.status, 200, "PUT status ignored")
    h.check_eq([i["id"] for i in srv.issues(1, status="ignored")], [beta["id"]],
               "ignored filter")
    r = srv.api("PUT", "/api/0/issues/%s/" % beta["id"], body={"status": "bogus"})
    h.check_eq(r.status, 400, "PUT unknown status")


@h.test
def test_messages_and_logging():
    srv = h.Server().start()
    ids = run_sdk(srv, "messages", MESSAGES)
    for k in ("log_bob", "log_alice", "root", "warn", "pay1", "pay2"):
        h.check(h.KEY_RE.match(ids.get(k) or ""), "SDK returned an id for %s: %r"
                % (k, ids.get(k)))
    evs = dict(zip(ids, wait_events(srv, list(ids.values()))))

    bob = evs["log_bob"]
    h.check_eq(bob.get("message"), "Failed for user bob", "logging message formatted")
    h.check_eq(bob.get("message_template"), "Failed for user %s", "logging message template")
    h.check_eq(bob.get("logger"), "e2e.payments", "logger")
    h.check_eq(bob.get("level"), "error", "level from logging.error")
    h.check(any("breadcrumb before failure x" in (c.get("message") or "")
                for c in crumbs_of(bob)),
            "logging.info became a breadcrumb: %s" % h._short(crumbs_of(bob), 400))
    root = evs["root"]
    h.check_eq(root.get("message"), "root logger problem number 7", "root logger message")
    h.check_eq(root.get("logger"), "root", "root logger name")
    warn = evs["warn"]
    h.check_eq(warn.get("message"), "Cache warmup took 1234 ms", "capture_message text")
    h.check_eq(warn.get("level"), "warning", "capture_message level")
    h.check_eq(evs["pay1"].get("message"), "Payment 1234 failed for a@b.com", "message 1")

    emap = h.wait_for(lambda: (lambda m: all(ids[k] in m for k in
                                             ("log_bob", "log_alice", "root", "pay1", "pay2"))
                               and m)(issue_map(srv)), what="error events grouped into issues")
    h.check_eq(emap[ids["log_bob"]]["id"], emap[ids["log_alice"]]["id"],
               "same template, different params -> one issue")
    h.check_eq(int(emap[ids["log_bob"]]["count"]), 2, "template issue count")
    h.check(emap[ids["log_bob"]]["title"].startswith("Failed for user"), "template issue title: %r"
            % emap[ids["log_bob"]]["title"])
    h.check_eq(emap[ids["pay1"]]["id"], emap[ids["pay2"]]["id"],
               "numbers and e-mails parameterised -> one issue")
    h.check(emap[ids["root"]]["id"] not in (emap[ids["log_bob"]]["id"], emap[ids["pay1"]]["id"]),
            "different messages -> different issues")
    h.check(ids["warn"] not in emap, "a warning message is not an issue (issue level = error)")
    h.check_eq(len(srv.issues(1)), 3, "issues: template, payment, root logger")


@h.test
def test_chained_exception():
    srv = h.Server().start()
    ids = run_sdk(srv, "chained", CHAINED)
    ev = srv.wait_event(1, ids["chained"])
    vals = exc_values(ev)
    h.check_eq([v.get("type") for v in vals], ["FileNotFoundError", "RuntimeError"],
               "exception chain oldest first, primary last")
    if len(vals) == 2:
        h.check_eq(vals[1].get("value"), "config unavailable", "primary value")
        h.check("No such file" in (vals[0].get("value") or ""), "cause value: %r"
                % vals[0].get("value"))
        h.check("load_config" in [f.get("function") for f in frames_of(vals[1])],
                "primary frames include load_config")
        h.check_eq((frames_of(vals[0]) or [{}])[-1].get("function"), "read_settings",
                   "cause raised in read_settings")
    h.check((ev.get("title") or "").startswith("RuntimeError"), "title from primary: %r"
            % ev.get("title"))
    iss = h.wait_for(lambda: srv.issues(1), what="issue for the chained exception")
    h.check_eq(len(iss), 1, "one issue")
    h.check(iss[0]["title"].startswith("RuntimeError"), "issue title: %r" % iss[0]["title"])


@h.test
def test_tags_user_release_environment():
    srv = h.Server().start()
    ids = run_sdk(srv, "context", CONTEXT)
    ev = srv.wait_event(1, ids["ctx"])
    h.check_eq(ev.get("release"), "shop@2.4.1", "release")
    h.check_eq(ev.get("environment"), "staging", "environment")
    h.check_eq(ev.get("server_name"), "e2e-host-1", "server_name")
    user = ev.get("user") or {}
    h.check_eq((str(user.get("id")), user.get("email"), user.get("username")),
               ("42", "jane@example.com", "jane"), "user")
    tags = ev.get("tags")
    if h.check(isinstance(tags, list) and all(isinstance(t, list) and len(t) == 2 for t in tags),
               "tags are [[k, v], ...]: %r" % tags):
        h.check_in(["tenant", "acme"], tags, "tag tenant")
        h.check_in(["region", "eu-west"], tags, "tag region")
    h.check_eq((ev.get("extra") or {}).get("order_id"), 9001, "extra")
    h.check_eq(((ev.get("contexts") or {}).get("payment") or {}).get("provider"), "stripe",
               "contexts.payment")
    h.check(any(c.get("message") == "cart submitted" and c.get("category") == "checkout"
                for c in crumbs_of(ev)), "manual breadcrumb: %s" % h._short(crumbs_of(ev), 400))
    vals = exc_values(ev)
    h.check(vals and vals[-1].get("type") == "ZeroDivisionError", "exception type")
    h.check(vals and frames_of(vals[-1]) and frames_of(vals[-1])[-1].get("function") == "checkout",
            "raising frame")

    for i in ids["fp"]:
        srv.wait_event(1, i)
    # Day files commit before the main database (the exactly-once order), so an event can
    # be listed a moment before its issue's counter includes it: wait for the counters too.
    emap = h.wait_for(lambda: (lambda m: all(i in m for i in ids["fp"] + [ids["ctx"]]) and
                               int(m[ids["fp"][0]]["count"]) >= 2 and m)(issue_map(srv)),
                      what="events grouped and counted")
    h.check_eq(emap[ids["fp"][0]]["id"], emap[ids["fp"][1]]["id"],
               "explicit fingerprint joins unrelated exceptions")
    h.check_eq(int(emap[ids["fp"][0]]["count"]), 2, "fingerprint issue count")
    h.check(emap[ids["ctx"]]["id"] != emap[ids["fp"][0]]["id"], "other event not in that issue")
    h.check_eq(len(srv.issues(1)), 2, "two issues")


@h.test
def test_envelope_path():
    """1.9.10 sends transactions, events with attachments and sessions as envelopes."""
    srv = h.Server().start()
    ids = run_sdk(srv, "envelopes", ENVELOPES)
    ev = srv.wait_event(1, ids["attached"])
    h.check_eq((ev.get("message"), ev.get("level"), ev.get("release")),
               ("with attachment", "error", "env-app@0.9"), "event sent with an attachment")
    iss = h.wait_for(lambda: srv.issues(1), what="issue of the attached event")
    h.check_eq([i.get("title") for i in iss], ["with attachment"],
               "a transaction or session makes no issue")
    m = srv.metrics()
    items = {lab.get("type"): v for lab, v in m.get("bilor_envelope_items_total", [])}
    h.check(items.get("transaction", 0) >= 1 and items.get("attachment", 0) >= 1,
            "envelope items counted by type: %r" % items)


@h.test
def test_resolve_in_next_release():
    """Resolved in the next release: events of the same release count without reopening the
    issue; the first event of another release reopens it (a regression)."""
    srv = h.Server().start()

    def send(release):
        ev = {"event_id": h.new_id(), "platform": "python", "level": "error",
              "exception": {"values": [{"type": "PaymentError", "value": "declined",
                                        "stacktrace": {"frames": [
                                            {"function": "charge", "module": "shop.pay",
                                             "filename": "shop/pay.py", "lineno": 7,
                                             "in_app": True}]}}]}}
        if release:
            ev["release"] = release
        r = srv.post("/api/1/store/", json.dumps(ev).encode(),
                     dict(srv.auth_headers(1), **{"Content-Type": "application/json"}))
        h.check_eq(r.status, 200, "store event (%s)" % release)
        return srv.wait_event(1, ev["event_id"])

    send(None)
    iss = h.wait_for(lambda: srv.issues(1), what="the issue")[0]
    r = srv.api("PUT", "/api/0/issues/%s/" % iss["id"], body={"status": "resolved_in_next_release"})
    h.check_eq(r.status, 400, "no release seen yet: cannot wait for the next one")
    send("shop@1.0")
    # the event is readable once its day file commits; the issue learns its release when
    # bilor.db commits just after: wait for that, not only for the event
    h.wait_for(lambda: srv.issue(iss["id"]).get("last_release") == "shop@1.0",
               what="the issue's last release")
    r = srv.api("PUT", "/api/0/issues/%s/" % iss["id"], body={"status": "resolved_in_next_release"})
    h.check_eq((r.status, r.json().get("status"), r.json().get("resolved_in_release")),
               (200, "resolved", "shop@1.0"), "resolved in the release after shop@1.0")
    for release in ("shop@1.0", None):
        send(release)
    det = h.wait_for(lambda: (lambda d: d if int(d["count"]) == 4 else None)(
        srv.issue(iss["id"])), what="events of the same release counted")
    h.check_eq((det["status"], det.get("resolved_in_release")), ("resolved", "shop@1.0"),
               "the same release (or none) does not reopen it")
    send("shop@1.1")
    det = h.wait_for(lambda: (lambda d: d if int(d["count"]) == 5 else None)(
        srv.issue(iss["id"])), what="the new release's event counted")
    h.check_eq((det["status"], det.get("resolved_in_release")), ("unresolved", None),
               "an event of the next release reopens it")
    r = srv.api("PUT", "/api/0/issues/%s/" % iss["id"], body={"status": "resolved"})
    send("shop@1.1")
    det = h.wait_for(lambda: (lambda d: d if int(d["count"]) == 6 else None)(
        srv.issue(iss["id"])), what="the sixth event counted")
    h.check_eq(det["status"], "unresolved", "a plain resolve reopens on any event")
    h.check_eq(srv.api("GET", "/api/0/projects/1/issues/?status=resolved_in_next_release").status,
               400, "not a status to list by")
    for period, n, interval in (("24h", 24, 3600), ("14d", 14, 86400), ("90d", 90, 86400)):
        d = srv.api_json("/api/0/issues/%s/?period=%s" % (iss["id"], period))
        h.check_eq((len(d.get("counts") or []), d.get("counts_interval"), sum(d.get("counts") or [])),
                   (n, interval, 6), "counts over %s" % period)
    h.check_eq(srv.api("GET", "/api/0/issues/%s/?period=7y" % iss["id"]).status, 400, "bad period")


if __name__ == "__main__":
    h.main()
