"""Log blocks built on the digest's decode threads (store_prepare) in the real
server: lines sent through the NDJSON door (more than a block of 1024 per
batch, unicode, empty and long messages, trace ids, error lines that become
issues) are stored from the prepared blocks (/metrics says how many blocks
took which path), every line exactly once and found by word, level and
trace id; then a kill -9 while a batch is being digested, a restart, and
every line still exactly once.

--log-compression zstd: a server writing zstd frames answers searches, then
restarted with the default (LZ4) it answers for both kinds of block; a
value other than lz4 or zstd stops the start.
"""

import glob
import json
import os
import sqlite3
import struct
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


def frame_codecs(data_dir):
    """(zstd frames, LZ4 frames) in the day files' log blocks (logblock.c's frame
    table: a u32 count, then 12 bytes a frame; the top bit of its size says LZ4)."""
    zstd = lz4 = 0
    for path in glob.glob(os.path.join(data_dir, "**", "*.db"), recursive=True):
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            rows = db.execute("SELECT frames FROM log_blocks").fetchall()
        except sqlite3.OperationalError:
            rows = []  # not a day file
        db.close()
        for (blob,) in rows:
            (n,) = struct.unpack_from("<I", blob, 0)
            for f in range(n):
                (raw,) = struct.unpack_from("<I", blob, 4 + f * 12 + 4)
                if raw & 0x80000000:
                    lz4 += 1
                else:
                    zstd += 1
    return zstd, lz4


def check_words(srv, logs, what):
    for w in WORDS:
        want = sum(1 for x in logs if w in x["message"].split())
        h.check_eq(count(srv, w), want, "lines with %r (%s)" % (w, what))


@h.test
def test_zstd_setting():
    srv = h.Server(args=["--log-compression", "zstd"]).start()
    now = time.time()
    tag = "z" + h.new_id()[:8]
    lines = [line_of(i, now, tag) for i in range(1400)]
    logs = [x for x in lines if x["level"] != "error"]
    send(srv, lines)
    h.wait_for(lambda: count(srv, tag) >= len(logs), what="zstd lines stored")
    h.check_eq(count(srv, tag), len(logs), "every zstd line once")
    check_words(srv, logs, "zstd")
    h.check_eq(srv.stop()[0], 0, "clean stop")
    zstd, lz4 = frame_codecs(srv.data_dir)
    h.check(zstd >= 2 and lz4 == 0, "frames written with zstd only: %d zstd, %d lz4" % (zstd, lz4))

    # the default again on the same data: new frames LZ4, the zstd ones still read
    srv.args = []
    srv.start()
    tag2 = "l" + h.new_id()[:8]
    more = [line_of(i, now, tag2) for i in range(1400)]
    more_logs = [x for x in more if x["level"] != "error"]
    send(srv, more)
    h.wait_for(lambda: count(srv, tag2) >= len(more_logs), what="lz4 lines stored")
    h.check_eq(count(srv, tag2), len(more_logs), "every lz4 line once")
    h.check_eq(count(srv, tag), len(logs), "every zstd line once after the restart")
    check_words(srv, logs + more_logs, "both codecs")
    h.check_eq(srv.stop()[0], 0, "clean stop")
    zstd2, lz4 = frame_codecs(srv.data_dir)
    h.check(zstd2 >= zstd and lz4 >= 2, "zstd and lz4 frames: %d, %d" % (zstd2, lz4))

    d = os.path.join(h.mkdtemp(), "data")
    r = h.run([h.BIN, "serve", "--listen", "127.0.0.1:%d" % h.free_port(), "--data-dir", d,
               "--log-compression", "gzip"], timeout=30)
    text = r.stdout + r.stderr
    h.check(r.returncode != 0, "--log-compression gzip fails the start")
    h.check("lz4 or zstd" in text, "the error names the accepted values: %s" % text[-300:])


if __name__ == "__main__":
    h.main()
