"""The Elasticsearch API door (/es/, protocols.md §5) with its real clients.

The official @elastic/elasticsearch client (tests/e2e/node/esbulk.mjs) sends
10,000 documents through helpers.bulk, some of them malformed, and its own
stats must count the right successes and failures; the lines then show in
the logs listing with their ECS fields mapped. The bulk vectors B1-B7 go
through curl, and hostile bodies get Elasticsearch-shaped errors.
"""

import base64
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NODE = shutil.which("node") or shutil.which("nodejs")
NODE_DIR = os.path.join(h.HERE, "node")
CURL = shutil.which("curl")


def all_logs(srv, pid=1):
    items, _ = srv.api_pages("/api/0/projects/%d/logs/?limit=1000" % pid, max_pages=100)
    return items


def bulk(srv, body, headers=None, path="/es/_bulk"):
    hdrs = {"Authorization": "ApiKey " + base64.b64encode(
        ("id:" + srv.key(1)).encode()).decode(), "Content-Type": "application/x-ndjson"}
    hdrs.update(headers or {})
    return srv.post(path, body, headers=hdrs)


@h.test
def test_es_node_client_bulk():
    if not NODE or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@elastic")):
        h.check(False, "node or @elastic/elasticsearch is missing (scripts/install-deps.sh --test)")
        return
    srv = h.Server().start()
    tag = h.new_id()[:8]
    r = h.run([NODE, os.path.join(NODE_DIR, "esbulk.mjs"), srv.url("/es"), srv.key(1), tag,
               "10000", "50"], timeout=300, cwd=NODE_DIR)
    if not h.check_eq(r.returncode, 0, "esbulk.mjs exit\nstdout: %s\nstderr: %s"
                      % (h._short(r.stdout), h._short(r.stderr))):
        return
    out = json.loads(r.stdout.strip().splitlines()[-1])
    stats = out["stats"]
    # every 50th is bad: 200 in all, of which every third (66) is an update, the rest not JSON
    h.check_eq((stats.get("total"), stats.get("successful"), stats.get("failed")),
               (10000, 9800, 200), "helpers.bulk stats (total, successful, failed)")
    h.check_eq(out["dropped"]["400"], 200, "every failure the helper dropped was a 400")
    h.check_eq(out["dropped"]["types"], {"mapper_parsing_exception": 134,
                                         "action_request_validation_exception": 66},
               "error types as Elasticsearch names them")
    h.check_eq(out["info"]["version"]["number"], "8.17.0", "GET / version")
    h.check_eq(out["license"]["license"]["status"], "active", "license")
    h.check_eq(out["health"]["status"], "green", "cluster health")
    one = out["one"]
    h.check_eq(one.get("result"), "created", "client.index result")
    # The single document is its own journal record: wait for it as well as the bulk lines.
    logs = h.wait_for(lambda: (lambda x: x if sum(1 for e in x if tag in (e.get("message") or "")
                                                  and e["message"].startswith("bulk line"))
                               == 9800 and any(e.get("message") == "single document " + tag
                                               for e in x) else None)(all_logs(srv)),
                      timeout=120, what="9800 bulk lines and the single document listed")
    single = [e for e in logs if e.get("message") == "single document " + tag]
    if h.check_eq(len(single), 1, "the single document is listed"):
        e = single[0]
        h.check_eq(e.get("event_id"), one.get("_id"), "the _id answered names the stored line")
        h.check_eq(e.get("level"), "warning", "log.level")
        h.check_eq(e.get("logger"), "node-es", "log.logger")
        h.check_eq(e.get("server_name"), "es-host-1", "host.name")
        h.check_eq(e.get("trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736", "trace.id")
        attrs = e.get("attributes") or {}
        h.check_eq(attrs.get("order.id"), 42, "other fields are attributes (dotted)")
        h.check_eq(attrs.get("service.name"), "checkout", "service.name stays an attribute")
    ev = srv.api_json("/api/0/projects/1/events/%s/" % one.get("_id"))
    h.check_eq(ev.get("message"), "single document " + tag, "event found by the _id answered")
    errs = [e for e in logs if tag in (e.get("message") or "") and e["message"].startswith(
        "bulk line") and int(e["message"].split()[2]) % 2 == 1]
    h.check(errs and all(e.get("level") == "warning" for e in errs), "bulk log.level warn")
    h.check(all(e.get("server_name") == "bulk-host" for e in errs), "bulk host.name")


B1 = (b'{"create":{"_index":"fluent-bit","_type":"_doc"}}\n'
      b'{"@timestamp":"2024-05-01T12:00:00.000Z","log":"GET /health 200","stream":"stdout"}\n'
      b'{"create":{"_index":"fluent-bit","_type":"_doc"}}\n'
      b'{"@timestamp":"2024-05-01T12:00:01.000Z","log":"GET /login 500","stream":"stderr"}\n')
# The vector's own date is older than the 30 days a log line's time may lie in the past.
B2_TIME = h.now_rfc3339(-60)[:19]
B2_SRC = (b'{"message":" hello","fromhost":"web-1","facility":"user","priority":"notice",'
          b'"timereported":"' + B2_TIME.encode() + b'+00:00",'
          b'"timegenerated":"' + B2_TIME.encode() + b'.123456+00:00"}')


@h.test
def test_es_vectors():
    srv = h.Server().start()
    # B1: Fluent Bit
    r = bulk(srv, B1)
    h.check_eq(r.status, 200, "B1 status %s" % h._short(r.body))
    j = r.json()
    h.check_eq(j["errors"], False, "B1 errors")
    h.check_eq([list(i) for i in j["items"]], [["create"], ["create"]], "B1 one key per item")
    h.check_eq([i["create"]["status"] for i in j["items"]], [201, 201], "B1 statuses")
    h.check_eq(r.header("X-Elastic-Product"), "Elasticsearch", "product header")
    # B2: rsyslog 8.2302 bulk, Basic auth with the key as password
    basic = "Basic " + base64.b64encode(("rsyslog:" + srv.key(1)).encode()).decode()
    r = srv.post("/es/_bulk", b'{"index":{"_index": "system","_type":"events"}}\n' + B2_SRC +
                 b"\n", headers={"Authorization": basic,
                                 "Content-Type": "application/json; charset=utf-8"})
    h.check_eq((r.status, list(r.json()["items"][0]), r.json()["items"][0]["index"]["status"]),
               (200, ["index"], 201), "B2 rsyslog bulk")
    # B3: rsyslog non-bulk, Bearer
    r = srv.post("/es/system/events", B2_SRC,
                 headers={"Authorization": "Bearer " + srv.key(1),
                          "Content-Type": "application/json"})
    h.check_eq(r.status, 201, "B3 status %s" % h._short(r.body))
    h.check("status" not in r.json(), "B3: no top-level status (rsyslog reads it as failure)")
    b3_id = r.json().get("_id")
    # B4: gzip
    r = bulk(srv, h.gzip_bytes(B1), {"Content-Encoding": "gzip"})
    h.check_eq((r.status, r.json()["errors"]), (200, False), "B4 gzip")
    # B5: partial failure, compact "errors":true
    body = B1.replace(b'{"@timestamp":"2024-05-01T12:00:01.000Z","log":"GET /login 500",'
                      b'"stream":"stderr"}', b"not json")
    r = bulk(srv, body)
    h.check_eq(r.status, 200, "B5 status")
    h.check(b'"errors":true' in r.body, "B5 compact errors:true: %s" % h._short(r.body))
    items = r.json()["items"]
    h.check_eq(items[0]["create"]["status"], 201, "B5 item 1")
    h.check_eq((items[1]["create"]["status"], items[1]["create"]["error"]["type"]),
               (400, "mapper_parsing_exception"), "B5 item 2")
    h.check(isinstance(items[1]["create"]["error"].get("reason"), str), "B5 reason")
    # B6: CRLF, blank lines, no final newline
    body = (b'{"create":{"_index":"b6"}}\r\n{"message":"crlf one"}\r\n\r\n\n'
            b'{"create":{"_index":"b6"}}\r\n{"message":"crlf two"}')
    r = bulk(srv, body, path="/es/b6/_bulk")
    h.check_eq((r.status, r.json()["errors"], len(r.json()["items"])), (200, False, 2), "B6")
    # B7: probes
    for method, path, want in [("GET", "/es/", "You Know, for Search"),
                               ("GET", "/es/_license?human=false", '"active"'),
                               ("GET", "/es/_cluster/health", '"green"'),
                               ("GET", "/es/_cat/health?format=json", '"green"'),
                               ("GET", "/es/_index_template/filebeat", "{}"),
                               ("PUT", "/es/_index_template/filebeat", "acknowledged"),
                               ("GET", "/es/_ilm/policy/filebeat", "{}"),
                               ("PUT", "/es/_ilm/policy/filebeat", "acknowledged"),
                               ("GET", "/es/_nodes/http", '"nodes"')]:
        r = srv.request(method, path, body=b"{}" if method == "PUT" else None,
                        headers={"Content-Type": "application/json"})
        h.check_eq(r.status, 200, "B7 %s %s" % (method, path))
        h.check(want.encode() in r.body, "B7 %s %s body %s" % (method, path, h._short(r.body)))
        h.check_eq(r.header("X-Elastic-Product"), "Elasticsearch", "B7 product header")
    r = srv.request("HEAD", "/es/")
    h.check_eq((r.status, r.body), (200, b""), "B7 HEAD / has no body")
    r = srv.get("/es/_search/nothing")
    h.check_eq((r.status, r.json().get("status")), (404, 404), "unknown endpoint: ES 404 shape")
    # stored, with the fields mapped
    # The vectors were separate requests, so separate journal records: wait for all of them
    # (nine lines are stored before the last records may be).
    def stored():
        x = all_logs(srv)
        msgs = [e.get("message") for e in x]
        done = (len(x) >= 9 and msgs.count("GET /health 200") >= 3 and msgs.count(" hello") >= 2
                and any(e.get("event_id") == b3_id for e in x))
        return x if done else None
    logs = h.wait_for(stored, what="the vector lines stored")
    msgs = sorted(e.get("message") for e in logs)
    h.check_eq(msgs.count("GET /health 200"), 3, "Fluent Bit's log field is the message")
    hello = [e for e in logs if e.get("message") == " hello"]
    h.check_eq(len(hello), 2, "rsyslog lines (bulk and non-bulk)")
    for e in hello:
        h.check_eq((e.get("level"), e.get("server_name")), ("info", "web-1"),
                   "rsyslog priority notice -> info, fromhost -> host")
        h.check_eq(e.get("timestamp", "")[:19], B2_TIME, "timereported")
        h.check_eq((e.get("attributes") or {}).get("facility"), "user", "facility attribute")
    h.check(any(e.get("event_id") == b3_id for e in hello), "B3's _id names the stored line")


@h.test
def test_es_dedicated_port():
    es_port = h.free_port()
    srv = h.Server(args=["--es-listen", "127.0.0.1:%d" % es_port]).start()
    base = "http://127.0.0.1:%d" % es_port
    h.wait_for(lambda: h.http("GET", base + "/").status == 200, what="the --es-listen port")
    r = h.http("GET", base + "/")
    h.check(b"You Know, for Search" in r.body, "GET / on the dedicated port")
    h.check_eq(h.http("HEAD", base + "/").body, b"", "HEAD / has no body")
    r = h.http("POST", base + "/_bulk", body=B1,
               headers={"Authorization": "Bearer " + srv.key(1),
                        "Content-Type": "application/x-ndjson"})
    h.check_eq((r.status, r.json().get("errors")), (200, False), "bulk at /_bulk")
    r = h.http("GET", base + "/api/0/projects/", headers={"Authorization": "Bearer " + srv.token})
    h.check_eq(r.status, 404, "only the Elasticsearch API is on that port")
    h.wait_for(lambda: len(all_logs(srv)) == 2, what="the two lines")


@h.test
def test_es_hostile():
    srv = h.Server().start()
    r = srv.post("/es/_bulk", B1, headers={"Content-Type": "application/x-ndjson"})
    h.check_eq((r.status, r.json().get("status")), (401, 401), "no key")
    r = srv.post("/es/_bulk", B1, headers={"Authorization": "ApiKey " + base64.b64encode(
        b"id:0123456789abcdef0123456789abcdef").decode()})
    h.check_eq(r.status, 401, "unknown key")
    r = bulk(srv, b'{"index":{}}\n{"a":1}\n{"frobnicate":{}}\n{"a":2}\n')
    h.check_eq(r.status, 400, "malformed action line: whole request refused")
    h.check("Malformed action" in r.json()["error"]["reason"], "reason names the action line")
    r = bulk(srv, b'{"index":{}}\n')
    h.check_eq(r.status, 400, "action without its source line")
    r = bulk(srv, b'{"delete":{"_index":"x","_id":"1"}}\n')
    h.check_eq((r.status, r.json()["errors"], r.json()["items"][0]["delete"]["status"]),
               (200, True, 400), "delete refused per item")
    r = srv.post("/es/x/_doc", b"[1,2]", headers={"Authorization": "Bearer " + srv.key(1)})
    h.check_eq((r.status, r.json()["error"]["type"]), (400, "mapper_parsing_exception"),
               "a document that is not an object")
    r = bulk(srv, h.gzip_bytes(b'{"index":{}}\n' + b'{"a":"' + b"x" * (30 << 20) + b'"}\n'),
             {"Content-Encoding": "gzip"})
    h.check_eq(r.status, 413, "a zip bomb past the body limit")
    h.check(srv.alive(), "server still up")
    h.check_eq(all_logs(srv), [], "nothing stored from refused bodies")


if __name__ == "__main__":
    h.main()
