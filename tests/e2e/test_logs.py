"""JSON-lines logs door (POST /api/{pid}/logs) with curl and urllib, then a restart.

Checks per-line accept/reject reporting, gzip bodies, the timestamp forms
(RFC 3339, epoch seconds, epoch milliseconds), level/msg/logger mapping,
extra fields as attributes, the logs listing (newest first, cursor pages,
since/until), and that logs and issues survive a SIGTERM restart.
"""

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

CURL = shutil.which("curl")


def rfc(t):
    """RFC 3339 with milliseconds (t is rounded to whole milliseconds first)."""
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def urllib_post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, json.loads(resp.read().decode() or "null")
    except urllib.error.HTTPError as e:
        data = e.read().decode("utf-8", "replace")
        try:
            return e.code, json.loads(data)
        except ValueError:
            return e.code, data


def curl_post(url, body, headers, tmp):
    path = os.path.join(tmp, "body-%s" % h.new_id())
    with open(path, "wb") as f:
        f.write(body)
    cmd = [CURL, "-sS", "-m", "15", "-X", "POST", "--data-binary", "@" + path,
           "-w", "\n%{http_code}"]
    for k, v in headers.items():
        cmd += ["-H", "%s: %s" % (k, v)]
    cmd.append(url)
    r = h.run(cmd, timeout=30)
    if r.returncode != 0:
        raise AssertionError("curl failed: %s %s" % (r.returncode, r.stderr))
    text, _, code = r.stdout.rpartition("\n")
    try:
        return int(code), json.loads(text)
    except ValueError:
        return int(code), text


def ndjson(lines):
    out = []
    for ln in lines:
        out.append(ln if isinstance(ln, str) else json.dumps(ln))
    return ("\n".join(out) + "\n").encode()


def errors_by_line(resp):
    return {e.get("line"): e.get("error") for e in (resp or {}).get("errors") or []}


def find(logs, text):
    return [x for x in logs if x.get("message") == text]


@h.test
def test_ndjson_logs_and_restart():
    if not CURL:
        h.check(False, "curl is not installed")
    srv = h.Server().start()
    key = srv.key(1)
    tmp = h.mkdtemp("bilor-e2e-logs-")
    tag = h.new_id()[:8]
    now = time.time()
    t_rfc = round(now - 30, 3)
    t_s = int(now) - 20
    t_ms = int((now - 10) * 1000)
    logs_url = srv.url("/api/1/logs")

    # 1. urllib, plain body, good and bad lines, Bearer auth
    body = ndjson([
        {"timestamp": rfc(t_rfc), "level": "info", "message": "user login ok %s" % tag,
         "logger": "auth", "shard": 3, "region": "eu"},
        "this is not json",
        {"ts": t_s, "level": "WARN", "msg": "disk almost full %s" % tag, "logger": "disk",
         "free_mb": 120},
        '{"message": "truncated',
        {"@timestamp": t_ms, "level": "debug", "message": "cache miss %s" % tag,
         "logger": "cache", "cache_key": "user:7", "hit": False},
    ])
    st, resp = urllib_post(logs_url, body, {"Authorization": "Bearer %s" % key,
                                            "Content-Type": "application/x-ndjson"})
    h.check_eq(st, 200, "urllib NDJSON status (%s)" % h._short(resp))
    h.check_eq(((resp or {}).get("accepted"), (resp or {}).get("rejected")), (3, 2),
               "accepted, rejected")
    h.check_eq(sorted(errors_by_line(resp)), [2, 4], "rejected line numbers (1-based)")
    h.check(all(isinstance(e, str) and e for e in errors_by_line(resp).values()),
            "each rejection says why: %s" % h._short(resp))

    # 2. urllib, gzip body, X-Sentry-Auth, blank lines skipped
    body = ndjson([
        {"timestamp": rfc(now - 8), "level": "critical", "message": "reactor meltdown %s" % tag,
         "logger": "core"},
        "",
        {"timestamp": rfc(now - 7), "level": "notice", "message": "noticed %s" % tag},
        "   ",
    ])
    st, resp = urllib_post(logs_url, h.gzip_bytes(body),
                           dict(srv.auth_headers(1), **{"Content-Encoding": "gzip"}))
    h.check_eq(st, 200, "gzip NDJSON status (%s)" % h._short(resp))
    h.check_eq(((resp or {}).get("accepted"), (resp or {}).get("rejected")), (2, 0),
               "gzip: accepted, rejected (blank lines are not counted)")

    # 3. curl: ?sentry_key=, plain and gzip, an error-level line
    curl_lines = []
    if CURL:
        body = ndjson([
            {"timestamp": now - 5, "level": "info", "message": "curl plain %s" % tag,
             "logger": "curl", "attempt": 1},
            {"timestamp": now - 4, "level": "error", "message": "payment gateway timeout %s" % tag,
             "logger": "billing"},
            [1, 2, 3],
        ])
        st, resp = curl_post(logs_url + "?sentry_key=" + key, body,
                             {"Content-Type": "application/x-ndjson"}, tmp)
        h.check_eq(st, 200, "curl NDJSON status (%s)" % h._short(resp))
        h.check_eq(((resp or {}).get("accepted"), (resp or {}).get("rejected")), (2, 1),
                   "curl: accepted, rejected (a JSON array is not a record)")
        h.check_eq(sorted(errors_by_line(resp)), [3], "curl: rejected line")
        body = ndjson([{"timestamp": now - 3, "level": "info", "message": "curl gzip %s" % tag}])
        st, resp = curl_post(logs_url, h.gzip_bytes(body),
                             {"Authorization": "Bearer %s" % key, "Content-Encoding": "gzip"},
                             tmp)
        h.check_eq((st, (resp or {}).get("accepted")), (200, 1), "curl gzip NDJSON")
        curl_lines = ["curl plain %s" % tag, "curl gzip %s" % tag]

        # nothing valid -> 400; bad key -> 401; no key -> 401
        st, resp = curl_post(logs_url, b"nope\n{\n", {"Authorization": "Bearer %s" % key}, tmp)
        h.check_eq(st, 400, "only bad lines")
        h.check_eq(((resp or {}).get("accepted"), (resp or {}).get("rejected")), (0, 2),
                   "only bad lines: counts (%s)" % h._short(resp))
        st, resp = curl_post(logs_url, ndjson([{"message": "x"}]),
                             {"Authorization": "Bearer %s" % ("9" * 32)}, tmp)
        h.check_eq(st, 401, "unknown key")
        h.check(isinstance(resp, dict) and "error" in resp, "401 body {\"error\"}: %r" % resp)
    st, resp = urllib_post(logs_url, ndjson([{"message": "no auth %s" % tag}]), {})
    h.check_eq(st, 401, "no key")

    # 4. read back
    # lines below the issue level (error) are plain log lines
    want = ["user login ok %s" % tag, "disk almost full %s" % tag, "cache miss %s" % tag,
            "noticed %s" % tag] + curl_lines

    def all_there():
        logs = srv.logs(1)
        return logs if all(find(logs, w) for w in want) else None
    logs = h.wait_for(all_there, what="accepted log lines in /logs/")
    for w in want:
        h.check_eq(len(find(logs, w)), 1, "exactly one copy of %r" % w)
    for x in logs:
        for k in ("event_id", "timestamp", "level", "message", "attributes"):
            h.check_in(k, x, "log field of %r" % x.get("message"))
    ts = [h.parse_time(x.get("timestamp")) for x in logs]
    h.check(None not in ts and ts == sorted(ts, reverse=True), "newest first: %r"
            % [x.get("timestamp") for x in logs])

    a = find(logs, "user login ok %s" % tag)[0]
    h.check_eq((a.get("level"), a.get("logger")), ("info", "auth"), "line 1 level/logger")
    h.check(abs(h.parse_time(a["timestamp"]) - t_rfc) < 0.002, "RFC 3339 timestamp %r vs %r"
            % (a["timestamp"], rfc(t_rfc)))
    attrs = a.get("attributes") or {}
    h.check(attrs.get("shard") in (3, "3") and attrs.get("region") == "eu",
            "extra fields become attributes: %r" % attrs)
    h.check(not ({"message", "level", "logger", "timestamp"} & set(attrs)),
            "mapped fields are not repeated as attributes: %r" % attrs)
    b = find(logs, "disk almost full %s" % tag)[0]
    h.check_eq((b.get("level"), b.get("logger")), ("warning", "disk"), "WARN -> warning, msg")
    h.check(abs(h.parse_time(b["timestamp"]) - t_s) < 0.002, "epoch seconds %r vs %r"
            % (b["timestamp"], t_s))
    battrs = b.get("attributes") or {}
    h.check(battrs.get("free_mb") in (120, "120") and "msg" not in battrs and "ts" not in battrs,
            "attributes of line 3: %r" % battrs)
    c = find(logs, "cache miss %s" % tag)[0]
    h.check_eq(c.get("level"), "debug", "debug level")
    h.check(abs(h.parse_time(c["timestamp"]) - t_ms / 1000.0) < 0.002,
            "epoch milliseconds %r vs %r" % (c["timestamp"], t_ms))
    h.check((c.get("attributes") or {}).get("hit") in (False, "false")
            and (c.get("attributes") or {}).get("cache_key") == "user:7",
            "attributes of line 5: %r" % c.get("attributes"))
    h.check_eq(find(logs, "noticed %s" % tag)[0].get("level"), "info", "notice -> info")

    # a log line is an event too
    ev = srv.event(1, a["event_id"])
    h.check(ev is not None and ev.get("message") == a["message"], "log line by event id")

    # error and fatal lines: an issue (default issue level: error) or a log line
    high = [("reactor meltdown %s" % tag, "fatal")]
    if CURL:
        high.append(("payment gateway timeout %s" % tag, "error"))
    for text, level in high:
        def found():
            return find(srv.logs(1), text) or [i for i in srv.issues(1) if i.get("title") == text]
        got = h.wait_for(found, what="%s-level line %r" % (level, text))
        h.check_eq(len(got), 1, "%r stored once" % text)
        h.check_eq(got[0].get("level"), level, "level of %r" % text)

    # pagination and time range
    items, pages = srv.api_pages("/api/0/projects/1/logs/?limit=2")
    h.check_eq(sorted(x["event_id"] for x in items), sorted(x["event_id"] for x in logs),
               "limit=2 pages cover the listing exactly once")
    h.check(pages >= 3, "several pages (%d)" % pages)
    win = srv.logs(1, since=rfc(now - 25), until=rfc(now - 15))
    h.check_eq([x.get("message") for x in win], ["disk almost full %s" % tag],
               "since/until window")

    # a Sentry issue too, then restart on the same data dir
    eid = h.new_id()
    r = srv.post("/api/1/store/", json.dumps({
        "event_id": eid, "level": "error", "platform": "python",
        "exception": {"values": [{"type": "KeyError", "value": "'k'", "stacktrace": {"frames": [
            {"function": "handler", "module": "app.views", "filename": "app/views.py",
             "lineno": 10, "in_app": True}]}}]}}).encode(), headers=srv.auth_headers(1))
    h.check_eq(r.status, 200, "store before restart")
    srv.wait_event(1, eid)
    # The event's day file commits before the main database (exactly-once order), so its
    # issue may show a moment after the event does.
    h.wait_for(lambda: [i for i in srv.issues(1) if (i.get("title") or "").startswith("KeyError")],
               what="the KeyError issue")
    before_logs = sorted(x["event_id"] for x in srv.logs(1))
    before_issues = sorted((i["id"], int(i["count"])) for i in srv.issues(1))

    rc, secs = srv.stop()
    h.check_eq(rc, 0, "SIGTERM exit status")
    h.check(secs < 10, "stopped in %.1fs" % secs)
    srv.start()
    h.check_eq(sorted(x["event_id"] for x in srv.logs(1)), before_logs, "logs after restart")
    h.check_eq(sorted((i["id"], int(i["count"])) for i in srv.issues(1)), before_issues,
               "issues after restart")
    ev = srv.event(1, eid)
    h.check(ev is not None and (ev.get("exception") or {}).get("values"),
            "exception event after restart")

    # new lines after the restart get fresh ids and do not replace old ones
    st, resp = urllib_post(logs_url, ndjson([{"message": "after restart %s %d" % (tag, i),
                                              "level": "info"} for i in range(3)]),
                           {"Authorization": "Bearer %s" % key})
    h.check_eq((st, (resp or {}).get("accepted")), (200, 3), "post after restart")
    after = h.wait_for(lambda: (lambda l: len(l) >= len(before_logs) + 3 and l)(srv.logs(1)),
                       what="post-restart lines")
    h.check_eq(len(after), len(before_logs) + 3, "old and new lines all present")
    h.check_eq(len(set(x["event_id"] for x in after)), len(after), "event ids unique")


@h.test
def test_numeric_levels_and_nul():
    """Numeric levels (syslog 0-7, Python 10-50) and an escaped NUL inside strings."""
    srv = h.Server().start()
    tag = h.new_id()[:8]
    # level value -> stored level; error and above become issues, not log lines
    levels = [(4, "warning"), (6, "info"), (7, "debug"), ("5", "info"), (20, "info"),
              (30, "warning"), ("10", "debug"), (15, "debug"), (-3, "info"), ("loud", "info"),
              (3, "error"), (0, "fatal"), (40, "error"), (50, "fatal")]
    # one word per line: messages that differ only in numbers would group into one issue
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
             "juliett", "kilo", "lima", "mike", "november"]
    text = {repr(lv): "level %s %s" % (words[i], tag) for i, (lv, _) in enumerate(levels)}
    lines = [{"level": lv, "msg": text[repr(lv)]} for lv, _ in levels]
    lines.append({"level": "info", "msg": "nul\u0000kept tail %s" % tag, "blob": "a\u0000b"})
    st, resp = urllib_post(srv.url("/api/1/logs"), ndjson(lines),
                           {"Authorization": "Bearer %s" % srv.key(1)})
    h.check_eq((st, (resp or {}).get("accepted")), (200, len(lines)), "levels posted")
    eid = h.new_id()
    r = srv.post("/api/1/store/", json.dumps({
        "event_id": eid, "level": "error", "message": "sentry\u0000whole %s" % tag,
        "tags": {"k\u0000": "v\u0000w"}}).encode(), headers=srv.auth_headers(1))
    h.check_eq(r.status, 200, "store with NUL")

    logged = [(lv, want) for lv, want in levels if want not in ("error", "fatal")]
    srv.wait_event(1, eid)  # digested after every line of the earlier request
    logs = srv.logs(1)
    for lv, want in logged:
        got = find(logs, text[repr(lv)])
        if h.check_eq(len(got), 1, "line at level %r listed once" % (lv,)):
            h.check_eq(got[0].get("level"), want, "level %r" % (lv,))
    for lv in (-3, "loud"):
        got = find(logs, text[repr(lv)])
        h.check_eq(got and (got[0].get("attributes") or {}).get("level"), lv,
                   "a level naming nothing stays an attribute (%r)" % (lv,))
    nul = find(logs, "nul\ufffdkept tail %s" % tag)
    if h.check_eq(len(nul), 1, "NUL line whole, the NUL shown as U+FFFD"):
        h.check_eq((nul[0].get("attributes") or {}).get("blob"), "a\ufffdb", "NUL in attribute")
    titles = {i.get("title"): i for i in h.wait_for(
        lambda: (lambda l: len(l) >= 5 and l)(srv.issues(1)), what="five issues")}
    h.check_eq(len(titles), 5, "four lines at error or above and one Sentry event: %r"
               % sorted(titles))
    for lv, want in levels:
        if want in ("error", "fatal"):
            i = titles.get(text[repr(lv)])
            h.check(i is not None and i.get("level") == want,
                    "level %r is an issue at %s: %r" % (lv, want, i))
    ev = srv.event(1, eid) or {}
    h.check_eq(ev.get("message"), "sentry\ufffdwhole %s" % tag, "Sentry message whole")
    h.check_in(["k\ufffd", "v\ufffdw"], ev.get("tags") or [], "Sentry tag whole")
    h.check_in("sentry\ufffdwhole %s" % tag, titles, "issue title whole")


if __name__ == "__main__":
    h.main()
