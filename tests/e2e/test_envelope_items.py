"""Envelope items that are not events (issue 6 §5), with real clients.

python3-sentry-sdk 1.9.10 sends an attachment with its event; @sentry/node
8.x sends an attachment and user feedback (captureFeedback); curl-style raw
envelopes carry what neither SDK version can send: structured logs (the
`log` item of protocols.md §1.6), the older `user_report`, client reports,
sessions, transactions and check-ins. Each is checked through the REST API,
and hostile envelopes are refused with a clear error while nothing else is
lost.
"""

import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NODE = shutil.which("node") or shutil.which("nodejs")
NODE_DIR = os.path.join(h.HERE, "node")

PY_ATTACH = r'''
import json, sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="att@1.0", default_integrations=False,
                traces_sample_rate=1.0)
with sentry_sdk.start_transaction(op="task", name="nightly-job"):
    pass
hub = sentry_sdk.Hub.current
hub.start_session(session_mode="application")
hub.end_session()
with sentry_sdk.configure_scope() as scope:
    scope.add_attachment(bytes=b"hello attach\r\n", filename="a.txt")
    scope.add_attachment(bytes=b"<html><script>alert(1)</script></html>",
                         filename="../evil\"name<script>.html", content_type="text/html")
eid = sentry_sdk.capture_message("with attachment", level="error")
sentry_sdk.flush()
print(json.dumps({"id": eid}))
'''


def env_post(srv, body, pid=1):
    return srv.post("/api/%d/envelope/" % pid, body, headers=srv.auth_headers(pid))


def attachments(srv, eid, pid=1):
    r = srv.api("GET", "/api/0/projects/%d/events/%s/attachments/" % (pid, eid))
    h.check_eq(r.status, 200, "attachments listing answers 200")
    return r.json() if r.status == 200 else []


@h.test
def test_python_sdk_attachment():
    srv = h.Server().start()
    py = h.sdk_python()
    if not h.check(py, "python3-sentry-sdk is installed"):
        return
    d = h.mkdtemp("bilor-e2e-att-")
    path = os.path.join(d, "attach.py")
    with open(path, "w") as f:
        f.write(PY_ATTACH)
    r = h.run([py, path, srv.dsn(1)], timeout=90, cwd=d)
    if not h.check_eq(r.returncode, 0, "sdk script ran: %s" % r.stderr[-1500:]):
        return
    eid = json.loads(r.stdout.strip().splitlines()[-1])["id"]
    ev = srv.wait_event(1, eid)
    listed = ev.get("attachments") or []
    h.check_eq(sorted(a.get("name") for a in listed),
               sorted(["a.txt", "../evil\"name<script>.html"]),
               "the event lists its two attachments: %r" % listed)
    by_name = {a.get("name"): a for a in attachments(srv, eid)}
    txt = by_name.get("a.txt") or {}
    h.check_eq(txt.get("size"), 14, "attachment size")
    h.check_eq(txt.get("type"), "event.attachment", "attachment_type")
    got = srv.api("GET", "/api/0/projects/1/events/%s/attachments/%s/" % (eid, txt.get("id")))
    h.check_eq(got.status, 200, "download answers 200")
    h.check_eq(got.body, b"hello attach\r\n", "downloaded bytes are exactly the uploaded ones")
    h.check_eq((got.header("Content-Type") or "").split(";")[0], "text/plain", "text stays text")
    h.check_eq(got.header("X-Content-Type-Options"), "nosniff", "nosniff on downloads")
    h.check_in('filename="a.txt"', got.header("Content-Disposition") or "", "filename")
    h.check((got.header("Content-Disposition") or "").startswith("attachment"),
            "downloads are attachments, never inline")

    html = by_name.get("../evil\"name<script>.html") or {}
    h.check_eq(html.get("mimetype"), "text/html", "the client's content type is listed as sent")
    got = srv.api("GET", "/api/0/projects/1/events/%s/attachments/%s/" % (eid, html.get("id")))
    h.check_eq(got.status, 200, "html download answers 200")
    h.check_eq(got.header("Content-Type"), "application/octet-stream",
               "HTML is never served as HTML")
    h.check_eq(got.header("X-Content-Type-Options"), "nosniff", "nosniff")
    cd = got.header("Content-Disposition") or ""
    h.check('"' not in cd[len('attachment; filename="'):-1] and "/" not in cd and "<" not in cd,
            "filename reduced to harmless characters: %r" % cd)

    # The SDK's transaction and session: received, not stored, counted.
    st = h.wait_for(lambda: (lambda v: len(v) >= 2 and v)(
        counts_of(srv.api_json("/api/0/projects/1/stats/"), "received_not_stored", "type")),
        what="transaction and session counted")
    h.check_eq(st, {"transaction": 1, "session": 1}, "python SDK's items counted")

    for bad in ("/api/0/projects/1/events/%s/attachments/999999/" % eid,
                "/api/0/projects/1/events/%s/attachments/%s/" % (h.new_id(), txt.get("id")),
                "/api/0/projects/2/events/%s/attachments/%s/" % (eid, txt.get("id"))):
        r = srv.api("GET", bad)
        h.check_eq(r.status, 404, "unknown attachment/event/project -> 404: %s" % bad)
        h.check("error" in (r.json() if r.body else {}), "404 carries an error")


@h.test
def test_node_feedback_and_user_report():
    srv = h.Server().start()
    if not h.check(NODE, "node is installed"):
        return
    r = h.run([NODE, os.path.join(NODE_DIR, "feedback.mjs"), srv.dsn(1)], timeout=90,
              cwd=NODE_DIR)
    if not h.check_eq(r.returncode, 0, "feedback.mjs ran: %s %s"
                      % (r.stdout[-1000:], r.stderr[-2000:])):
        return
    ids = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    h.check_eq(ids.get("flushed"), True, "node flushed")
    ev = srv.wait_event(1, ids["error"])
    h.check_eq([a.get("name") for a in ev.get("attachments") or []], ["cart.json"],
               "node attachment listed on its event")
    issue = ev.get("issue_id")
    fb = h.wait_for(lambda: srv.api_json("/api/0/issues/%d/feedback/" % issue) or None,
                    what="feedback on the issue")
    h.check_eq(len(fb), 1, "one feedback on the issue: %r" % fb)
    f = fb[0] if fb else {}
    h.check_eq(f.get("comments"), "The checkout button did nothing", "feedback message")
    h.check_eq(f.get("name"), "Ada", "feedback name")
    h.check_eq(f.get("email"), "ada@example.com", "feedback email")
    h.check_eq(f.get("url"), "https://shop.example.com/checkout", "feedback url")
    h.check_eq(f.get("event_id"), ids["error"], "feedback names its event")
    h.check_eq(f.get("feedback_id"), ids["feedback"], "feedback's own id")
    h.check(srv.event(1, ids["feedback"]) is None, "feedback is not stored as an error event")

    # The older user_report item, about the same event, as python 1.x SDKs sent it.
    rep = {"event_id": ids["error"], "name": "Bob", "email": "bob@example.com",
           "comments": "Same here, twice"}
    body = h.envelope({"event_id": ids["error"]},
                      [({"type": "user_report"}, json.dumps(rep).encode(), True)])
    h.check_eq(env_post(srv, body).status, 200, "user_report accepted")
    fb = h.wait_for(lambda: (lambda v: len(v) >= 2 and v)(
        srv.api_json("/api/0/issues/%d/feedback/" % issue)), what="two feedbacks")
    h.check_eq([x.get("name") for x in fb], ["Bob", "Ada"], "newest first")
    h.check_eq(fb[0].get("comments"), "Same here, twice", "user_report comments")
    allfb = srv.api_json("/api/0/projects/1/feedback/")
    h.check_eq(len(allfb), 2, "project feedback lists both")
    other = srv.api_json("/api/0/issues/%d/feedback/" % issue)
    h.check_eq(len(other), 2, "feedback stays on its issue")


TS = int(time.time()) - 60
LOG_ITEM = (b'{"items":[{"timestamp":%d.25,"level":"warn","body":"disk almost full",'
            b'"trace_id":"5b8efff798038103d269b633813fc60c","attributes":{"disk.free_mb":'
            b'{"value":120,"type":"integer"},"sentry.environment":{"value":"production",'
            b'"type":"string"}}},{"timestamp":%d.5,"level":"info","body":"second line",'
            b'"attributes":{"worker":{"value":"w-3","type":"string"},"ok":{"value":true,'
            b'"type":"boolean"}}}]}') % (TS, TS + 1)


@h.test
def test_log_items_become_log_lines():
    srv = h.Server().start()
    hdr = {"type": "log", "item_count": 2,
           "content_type": "application/vnd.sentry.items.log+json"}
    r = env_post(srv, h.envelope({}, [(hdr, LOG_ITEM, True)]))
    h.check_eq(r.status, 200, "log envelope accepted")
    # JavaScript style: no length, no final newline.
    js = b"{}\n" + json.dumps(hdr).encode() + b"\n" + LOG_ITEM.replace(b"disk almost full",
                                                                       b"js style line")
    h.check_eq(env_post(srv, js).status, 200, "length-less log envelope accepted")
    logs = h.wait_for(lambda: (lambda v: len(v) >= 4 and v)(srv.logs(1)), what="four log lines")
    by_msg = {}
    for ln in logs:
        by_msg.setdefault(ln.get("message"), ln)
    disk = by_msg.get("disk almost full") or {}
    h.check_eq(disk.get("level"), "warning", "level warn -> warning")
    h.check_eq(disk.get("trace_id"), "5b8efff798038103d269b633813fc60c", "trace id kept")
    h.check_eq(disk.get("environment"), "production", "sentry.environment -> environment")
    h.check_eq(h.parse_time(disk.get("timestamp")), TS + 0.25, "timestamp kept")
    attrs = disk.get("attributes") or {}
    h.check_eq(attrs.get("disk.free_mb"), 120, "integer attribute kept: %r" % attrs)
    second = by_msg.get("second line") or {}
    h.check_eq(second.get("level"), "info", "info level")
    h.check_eq((second.get("attributes") or {}).get("worker"), "w-3", "string attribute")
    h.check_eq((second.get("attributes") or {}).get("ok"), True, "boolean attribute")
    h.check("js style line" in by_msg, "the length-less envelope's line is stored too")
    h.check_eq(srv.issues(1), [], "warning and info log lines make no issue")


def counts_of(stats, key, field):
    return {x.get(field) if key == "received_not_stored" else (x.get("reason"), x.get("category")):
            x.get("quantity") for x in stats.get(key) or []}


@h.test
def test_client_reports_and_received_counts():
    srv = h.Server().start()
    report = (b'{"timestamp":1714564800.0,"discarded_events":[{"reason":"ratelimit_backoff",'
              b'"category":"error","quantity":3},{"reason":"queue_overflow","category":'
              b'"transaction","quantity":2}]}')
    session = (b'{"sid":"7c7b6585-f901-4351-bf8d-02711b721929","init":true,"started":'
               b'"2024-05-01T12:00:00Z","status":"exited","errors":0,"attrs":{"release":'
               b'"app@1.0","environment":"production"}}')
    checkin = (b'{"check_in_id":"83a7c03ed0a04e1b97e2e3b18d38f244","monitor_slug":"nightly-job",'
               b'"status":"ok","duration":12.5,"environment":"production"}')
    tx = json.dumps({"type": "transaction", "transaction": "GET /", "start_timestamp": 1.0,
                     "timestamp": 2.0, "contexts": {"trace": {"trace_id": "a" * 32,
                                                              "span_id": "b" * 16}}}).encode()
    bodies = [
        h.envelope({}, [({"type": "client_report"}, report, True)]),
        h.envelope({}, [({"type": "client_report"}, report, False)]),
        h.envelope({}, [({"type": "session"}, session, False)]),
        h.envelope({}, [({"type": "check_in"}, checkin, True)]),
        h.envelope({"event_id": h.new_id()}, [({"type": "transaction"}, tx, True),
                                              ({"type": "span"}, b"{}", True)]),
    ]
    for b in bodies:
        r = env_post(srv, b)
        h.check_eq(r.status, 200, "item envelope accepted: %r" % b[:80])

    def ready():
        st = srv.api_json("/api/0/projects/1/stats/")
        rec = counts_of(st, "received_not_stored", "type")
        return st if len(rec) >= 4 and counts_of(st, "client_reports", None) else None
    st = h.wait_for(ready, what="item counts")
    rep = counts_of(st, "client_reports", None)
    h.check_eq(rep.get(("ratelimit_backoff", "error")), 6, "client report summed per reason")
    h.check_eq(rep.get(("queue_overflow", "transaction")), 4, "and per category")
    rec = counts_of(st, "received_not_stored", "type")
    h.check_eq(rec, {"session": 1, "check_in": 1, "transaction": 1, "span": 1},
               "received, not stored")
    h.check_eq(srv.api("GET", "/api/0/projects/99/stats/").status, 404, "unknown project 404")
    # Counted once: a restart replays nothing twice.
    srv.restart()
    st2 = srv.api_json("/api/0/projects/1/stats/")
    h.check_eq(counts_of(st2, "client_reports", None), rep, "same counts after restart")
    h.check_eq(counts_of(st2, "received_not_stored", "type"), rec, "same received after restart")


@h.test
def test_item_only_envelopes_survive_kill9():
    """Item-only envelopes are journaled before the ack: a crash loses none, counts none twice."""
    srv = h.Server().start()
    n = 60
    report = (b'{"timestamp":1714564800.0,"discarded_events":[{"reason":"network_error",'
              b'"category":"error","quantity":1}]}')
    body = h.envelope({}, [({"type": "client_report"}, report, True),
                           ({"type": "session"}, b'{"sid":"x","status":"ok"}', True)])
    for _ in range(n):
        h.check_eq(env_post(srv, body).status, 200, "acknowledged")
    srv.kill9()
    srv.start()

    def total():
        st = srv.api_json("/api/0/projects/1/stats/")
        rep = counts_of(st, "client_reports", None).get(("network_error", "error"), 0)
        rec = counts_of(st, "received_not_stored", "type").get("session", 0)
        return (rep, rec) if rep >= n and rec >= n else None
    got = h.wait_for(total, what="every acknowledged item counted")
    time.sleep(0.5)
    h.check_eq(total(), (n, n), "each acknowledged item counted exactly once: %r" % (got,))


@h.test
def test_hostile_items():
    srv = h.Server().start()
    eid = h.new_id()
    good = h.envelope({"event_id": eid}, [
        ({"type": "event"}, json.dumps({"message": "kept before"}).encode(), True),
        ({"type": "attachment", "filename": "ok.bin"}, b"\x00\x01", True)])
    h.check_eq(env_post(srv, good).status, 200, "good envelope accepted")
    srv.wait_event(1, eid)

    big_id = h.new_id()
    big = h.envelope({"event_id": big_id}, [
        ({"type": "event"}, json.dumps({"message": "with a huge file"}).encode(), True),
        ({"type": "attachment", "filename": "huge.bin"}, b"z" * (11 << 20), True)])
    r = env_post(srv, big)
    h.check_eq(r.status, 413, "an attachment over the limit -> 413")
    h.check_in("attachment", (r.json() or {}).get("error", ""), "the error names the attachment")

    orphan = h.envelope({}, [({"type": "attachment", "filename": "x.txt"}, b"hi", True)])
    r = env_post(srv, orphan)
    h.check_eq(r.status, 400, "attachment without any event id -> 400")
    h.check_in("no event", (r.json() or {}).get("error", ""), "clear error")

    for bad in (b'{"items": 5}', b'{"items": [', b'[1,2]', b'not json'):
        mal_id = h.new_id()
        body = h.envelope({"event_id": mal_id}, [
            ({"type": "event"}, b'{"message":"beside a bad log"}', True),
            ({"type": "log", "content_type": "application/vnd.sentry.items.log+json"}, bad,
             True)])
        r = env_post(srv, body)
        h.check_eq(r.status, 400, "malformed log item %r -> 400" % bad)
        h.check_in("log", (r.json() or {}).get("error", ""), "error names the log item")
    r = env_post(srv, h.envelope({}, [({"type": "user_report"}, b'{"name":"x"}', True)]))
    h.check_eq(r.status, 400, "user_report without event_id -> 400")
    r = env_post(srv, h.envelope({}, [({"type": "client_report"}, b'[]', True)]))
    h.check_eq(r.status, 400, "client_report that is not an object -> 400")

    # Standalone attachment: named by the envelope header, kept for that event.
    late = h.envelope({"event_id": eid}, [({"type": "attachment", "filename": "late.log",
                                            "content_type": "text/plain"}, b"late", True)])
    h.check_eq(env_post(srv, late).status, 200, "attachment for a known event id accepted")
    names = h.wait_for(lambda: (lambda v: len(v) >= 2 and v)(
        [a.get("name") for a in attachments(srv, eid)]), what="late attachment")
    h.check_eq(names, ["ok.bin", "late.log"], "attachments in arrival order")

    time.sleep(0.5)
    h.check(srv.event(1, big_id) is None, "the refused envelope stored nothing")
    h.check_eq(srv.wait_event(1, eid).get("message"), "kept before", "earlier event intact")
    after = h.new_id()
    h.check_eq(env_post(srv, h.envelope({"event_id": after}, [
        ({"type": "event"}, b'{"message":"after"}', True)])).status, 200, "still ingesting")
    srv.wait_event(1, after)
    h.check(srv.alive(), "server alive")


if __name__ == "__main__":
    h.main()
