"""Log blocks built on the digest's decode threads (store_prepare) in the real
server: lines sent through the NDJSON door (more than a block of 1024 per
batch, unicode, empty and long messages, trace ids, error lines that become
issues) are stored from the prepared blocks (/metrics says how many blocks
took which path), every line exactly once and found by word, level and
trace id; then a kill -9 while a batch is being digested, a restart, and
every line still exactly once.
"""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

N = 2600
LEVELS = ("info", "debug", "warning", "info", "error")  # error lines become issues
WORDS = ("żółw", "bravo", "charlie", "Ünïcode", "echo")


def line_of(i, now, tag):
    x = {"timestamp": now - 3000 + i * 0.5,
         "level": LEVELS[i % 5],
         "message": "%s %s n%d %s" % (WORDS[i % 5], WORDS[(i // 5) % 5], i, tag),
         "host": "web%d" % (i % 7)}
    if i % 97 == 0:
        x["message"] = tag + " " + "long " * 20000  # 100 KB
    if i % 3 == 0:
        x["trace_id"] = "%032x" % (0xabc0 + i % 50)
    return x


def q(path, **params):
    return path + "?" + urllib.parse.urlencode(params, doseq=True)


def count(srv, query):
    hist = srv.api_json(q("/api/0/projects/1/logs/histogram/", query=query, since="2h"))
    return sum(b["count"] for b in hist["buckets"])


def blocks(srv):
    m = srv.metrics()
    return (h.metric_sum(m, "bilor_digest_log_blocks_total", path="prepared"),
            h.metric_sum(m, "bilor_digest_log_blocks_total", path="built"))


def send(srv, lines):
    hdrs = dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson",
                                         "Content-Encoding": "gzip"})
    body = ("\n".join(json.dumps(x) for x in lines) + "\n").encode()
    r = srv.post("/api/1/logs", h.gzip_bytes(body), headers=hdrs)
    h.check_eq(r.status, 200, "ndjson accepted")


@h.test
def test_prepared_blocks_and_kill9():
    srv = h.Server().start()
    now = time.time()
    tag = "t" + h.new_id()[:8]
    lines = [line_of(i, now, tag) for i in range(N)]
    logs = [x for x in lines if x["level"] != "error"]
    send(srv, lines[:1400])
    send(srv, lines[1400:])
    h.wait_for(lambda: count(srv, tag) >= len(logs), what="all lines stored")

    prepared, built = blocks(srv)
    h.check(prepared >= 2, "blocks stored as prepared: %s" % prepared)
    h.check_eq(built, 0, "blocks the writer built itself")
    h.check_eq(count(srv, tag), len(logs), "every log line once")
    for w in WORDS:
        want = sum(1 for x in logs if w in x["message"].split())
        h.check_eq(count(srv, w), want, "lines with %r" % w)
    want = sum(1 for x in logs if x["level"] == "warning" and "bravo" in x["message"].split())
    h.check_eq(count(srv, "bravo level:warning"), want, "bravo at warning")
    tid = "%032x" % (0xabc0 + 7)
    want = sum(1 for x in logs if x.get("trace_id") == tid)
    h.check_eq(count(srv, "trace_id:" + tid), want, "lines of a trace")
    errors = sum(1 for x in lines if x["level"] == "error")
    h.check_eq(sum(int(i.get("count") or 0) for i in srv.issues(1)), errors,
               "error lines are issue events, not lines")

    # kill -9 while the next batch is being digested: the replay stores each line once
    tag2 = "u" + h.new_id()[:8]
    more = [line_of(i, now, tag2) for i in range(N)]
    more_logs = [x for x in more if x["level"] != "error"]
    send(srv, more)
    srv.kill9()
    srv.start()
    h.wait_for(lambda: count(srv, tag2) >= len(more_logs), what="lines after the restart")
    time.sleep(0.5)
    h.check_eq(count(srv, tag2), len(more_logs), "every line once after kill -9")
    h.check_eq(count(srv, tag), len(logs), "the earlier lines once after kill -9")
    srv.stop()


if __name__ == "__main__":
    h.main()
