"""OTLP/HTTP logs (POST /v1/logs, protocols.md §6) with the real OpenTelemetry
JS SDK (tests/e2e/node/otlp.mjs: sdk-logs with exporter-logs-otlp-http and
exporter-logs-otlp-proto), then the vectors O1-O9 and hostile bodies.
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NODE = shutil.which("node") or shutil.which("nodejs")
NODE_DIR = os.path.join(h.HERE, "node")


def all_logs(srv, pid=1):
    items, _ = srv.api_pages("/api/0/projects/%d/logs/?limit=1000" % pid)
    return items


def o1(now_ns, **over):
    rec = {"timeUnixNano": str(now_ns), "observedTimeUnixNano": str(now_ns + 1000000),
           "severityNumber": 17, "severityText": "ERROR",
           "body": {"stringValue": "payment failed"},
           "attributes": [{"key": "order.id", "value": {"intValue": "42"}},
                          {"key": "retry", "value": {"boolValue": False}}],
           "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
           "flags": 1, "eventName": ""}
    rec.update(over)
    return rec


def request(*recs):
    return {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "scopeLogs": [{"scope": {"name": "app", "version": "1.2.0"}, "logRecords": list(recs)}]}]}


def post(srv, body, ctype="application/json", headers=None, path="/v1/logs"):
    hdrs = {"Content-Type": ctype, "Authorization": "Bearer " + srv.key(1)}
    hdrs.update(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return srv.post(path, body, headers=hdrs)


@h.test
def test_otlp_js_sdk():
    if not NODE or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@opentelemetry",
                                                  "exporter-logs-otlp-proto")):
        h.check(False, "node or the @opentelemetry packages are missing")
        return
    srv = h.Server().start()
    for kind, tag in (("http", "a1b2c3"), ("proto", "d4e5f6")):
        r = h.run([NODE, os.path.join(NODE_DIR, "otlp.mjs"), kind, srv.url("/v1/logs"),
                   srv.key(1), tag], timeout=120, cwd=NODE_DIR)
        if not h.check_eq(r.returncode, 0, "otlp.mjs %s exit\n%s\n%s"
                          % (kind, h._short(r.stdout), h._short(r.stderr))):
            continue
        out = json.loads(r.stdout.strip().splitlines()[-1])
        h.check(out["ok"] and out["exports"] == 3, "%s: every export succeeded: %s" % (kind, out))
        tid = out["trace_id"]
        logs = h.wait_for(lambda: (lambda x: x if len(x) == 3 else None)(
            [e for e in all_logs(srv) if e.get("trace_id") == tid]),
            what="the %s records, found by trace id" % kind)
        by = {e["level"]: e for e in logs}
        warn = by.get("warning") or {}
        h.check_eq(warn.get("message"), "payment slow %s %s" % (tag, kind), "%s body" % kind)
        h.check_eq(warn.get("logger"), "checkout-logger", "%s scope name -> logger" % kind)
        h.check_eq(warn.get("server_name"), "otel-host", "%s resource host.name -> host" % kind)
        a = warn.get("attributes") or {}
        h.check_eq((a.get("order.id"), a.get("retry"), a.get("ratio"), a.get("user.name"),
                    a.get("tags")), (42, False, 0.5, "ann", ["a", "b"]),
                   "%s typed attributes" % kind)
        h.check_eq((a.get("service.name"), a.get("host.name")), ("otel-" + kind, "otel-host"),
                   "%s resource attributes" % kind)
        ev = srv.api_json("/api/0/projects/1/events/%s/" % warn.get("event_id"))
        h.check_eq(ev.get("span_id"), out["span_id"], "%s span id" % kind)
        info = by.get("info") or {}
        h.check_eq((info.get("attributes") or {}).get("body"),
                   {"event": "checkout", "items": 3, "tag": tag}, "%s structured body" % kind)
        h.check_eq((by.get("debug") or {}).get("message"), "text level %s %s" % (tag, kind),
                   "%s severityText alone gives the level" % kind)


O2 = bytes.fromhex(
    "0a790a1c0a1a0a0c736572766963652e6e616d65120a0a08636865636b6f757412590a050a03617070125009"
    "008063f8995bcb1710111a054552524f522a100a0e7061796d656e74206661696c6564320e0a086f72646572"
    "2e69641202182a4a105b8efff798038103d269b633813fc60c5208eee19b7ec3c1b174")


@h.test
def test_otlp_vectors():
    srv = h.Server().start()
    import time
    now_ns = int(time.time() * 1e9) - 5 * 10**9
    # O1 JSON
    r = post(srv, request(o1(now_ns)))
    h.check_eq((r.status, r.body, r.header("Content-Type")), (200, b"{}", "application/json"),
               "O1")
    # O2 protobuf (its timestamp is 2024: stored with the receive time, the rest as given)
    r = post(srv, O2, "application/x-protobuf")
    h.check_eq((r.status, r.body, r.header("Content-Type")),
               (200, b"", "application/x-protobuf"), "O2 empty protobuf answer")
    # O3 gzip, O4 number time, O5 upper-case trace id
    r = post(srv, h.gzip_bytes(json.dumps(request(o1(now_ns, severityNumber=13, body={"stringValue": "o3"})))
                               .encode()), headers={"Content-Encoding": "gzip"})
    h.check_eq(r.status, 200, "O3 gzip")
    r = post(srv, request(o1(now_ns, severityNumber=13, timeUnixNano=now_ns, body={"stringValue": "o4"},
                             traceId="5B8EFFF798038103D269B633813FC60C")))
    h.check_eq(r.status, 200, "O4/O5")
    # O6 kvlist body, O7 empty body
    kv = {"kvlistValue": {"values": [{"key": "a", "value": {"intValue": "1"}},
                                     {"key": "b", "value": {"arrayValue": {"values": [
                                         {"stringValue": "x"}, {"doubleValue": 1.5}]}}}]}}
    r = post(srv, request(o1(now_ns, severityNumber=13, body=kv, traceId="", spanId=""),
                          o1(now_ns, severityNumber=13, body={}, traceId="", spanId="")))
    h.check_eq(r.status, 200, "O6/O7")
    # O9 one bad record of 3
    r = post(srv, request(o1(now_ns, severityNumber=13, body={"stringValue": "o9 good 1"}),
                          o1(now_ns, severityNumber=13, body={"stringValue": "o9 bad"},
                             traceId="abc"),
                          o1(now_ns, severityNumber=13, body={"stringValue": "o9 good 2"})))
    h.check_eq(r.status, 200, "O9 status")
    h.check_eq(r.json().get("partialSuccess", {}).get("rejectedLogRecords"), "1",
               "O9 partial success")
    r = post(srv, request(o1(now_ns, traceId="abc")), "application/json")
    h.check_eq(r.json().get("partialSuccess", {}).get("rejectedLogRecords"), "1",
               "all refused: still 200 with partial success")
    r = post(srv, {}, "application/json")
    h.check_eq((r.status, r.body), (200, b"{}"), "empty request")
    # project in the path
    r = post(srv, request(o1(now_ns, severityNumber=13, body={"stringValue": "by path"})),
             path="/api/1/otlp/v1/logs")
    h.check_eq(r.status, 200, "/api/1/otlp/v1/logs")
    logs = h.wait_for(lambda: (lambda x: x if len(x) >= 7 else None)(all_logs(srv)),
                      what="the vector records")
    msgs = [e.get("message") for e in logs]
    for m in ("o3", "o4", "o9 good 1", "o9 good 2", "by path"):
        h.check_in(m, msgs, "stored: %s" % m)
    h.check("o9 bad" not in msgs, "the refused record is not stored")
    # severity ERROR makes O1 and O2 issues: one issue, two events
    issues = h.wait_for(lambda: (lambda x: x if x and int(x[0]["count"]) == 2 else None)(
        srv.api_json("/api/0/projects/1/issues/")), what="the O1/O2 issue")
    h.check_eq(len(issues), 1, "O1 and O2 group together")
    evs = srv.api_json("/api/0/issues/%s/events/" % issues[0]["id"])
    pf = [srv.api_json("/api/0/projects/1/events/%s/" % e["event_id"]) for e in evs]
    h.check_eq([e.get("message") for e in pf], ["payment failed"] * 2, "O1 and O2 both stored")
    for e in pf:
        h.check_eq((e.get("attributes") or {}).get("order.id"), 42, "order.id int")
        h.check_eq((e.get("attributes") or {}).get("service.name"), "checkout", "resource attr")
        h.check_eq(e.get("trace_id"), "5b8efff798038103d269b633813fc60c", "trace id")
        h.check_eq(e.get("level"), "error", "severity 17")
        h.check_eq(e.get("span_id"), "eee19b7ec3c1b174", "span id")
    o1e = [e for e in pf if (e.get("attributes") or {}).get("retry") is False]
    h.check(o1e and o1e[0]["timestamp"].startswith(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ns // 10**9))), "O1 time")
    o4 = [e for e in logs if e.get("message") == "o4"]
    h.check(o4 and o4[0].get("trace_id") == "5b8efff798038103d269b633813fc60c",
            "O5 trace id lower-cased")
    kvs = [e for e in logs if (e.get("attributes") or {}).get("body") is not None]
    h.check_eq([e["attributes"]["body"] for e in kvs], [{"a": 1, "b": ["x", 1.5]}],
               "O6 structured body")


@h.test
def test_otlp_hostile():
    srv = h.Server().start()
    r = post(srv, b"hello", "text/plain")
    h.check_eq((r.status, r.json().get("code")), (415, 3), "O8 text/plain -> 415")
    r = post(srv, b"{not json", "application/json")
    h.check_eq(r.status, 400, "O8 malformed JSON -> 400")
    h.check(isinstance(r.json().get("message"), str) and r.json().get("code") == 3,
            "Status body: %s" % h._short(r.body))
    r = post(srv, b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf")
    h.check_eq(r.status, 400, "bad protobuf -> 400")
    h.check(r.body[:1] == b"\x08", "protobuf Status answer")
    r = post(srv, {"resourceLogs": {"x": 1}}, "application/json")
    h.check_eq(r.status, 400, "wrong structure -> 400")
    r = post(srv, h.gzip_bytes(b'{"resourceLogs":[],"x":"' + b"a" * (30 << 20) + b'"}'),
             headers={"Content-Encoding": "gzip"})
    h.check_eq(r.status, 413, "O8 30 MiB -> 413")
    r = srv.post("/v1/logs", json.dumps(request(o1(1))).encode(),
                 headers={"Content-Type": "application/json"})
    h.check_eq((r.status, r.json().get("code")), (401, 16), "no key")
    r = post(srv, request(o1(1)), headers={"Authorization": "Bearer 0123456789abcdef0123456789abcdef"})
    h.check_eq(r.status, 401, "unknown key")
    pid, _ = srv.add_project("other")
    r = post(srv, request(o1(1)), path="/api/%d/otlp/v1/logs" % pid)
    h.check_eq(r.status, 403, "a key of another project")
    h.check(srv.alive(), "server still up")
    h.check_eq(all_logs(srv), [], "nothing stored")


if __name__ == "__main__":
    h.main()
