"""Histograms of log lines by one word against a brute-force count: a word
in many lines (its word postings carry counts per minute and level), a rare
word (its postings name the lines), a word in every third line, each over
several batches (segments that the store merges), over ranges whose ends
fall inside a bucket (a histogram counts its first and last buckets whole,
from the one holding `since` to the one holding `until`), lines out of
time order, and a word written in another case; then a word and levels,
listed and counted, where no line or some lines have the word at those
levels.
"""

import datetime
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

LEVELS = ("debug", "info", "info", "warning", "warning", "info", "debug")  # no error: issues


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def line_of(i, t0):
    words = ["common"]
    if i % 37 == 0:
        words.append("rarez")
    if i % 3 == 0:
        words.append("Mixed")
    return {"timestamp": t0 + (i * 7.31) % 1800,  # out of order, half an hour
            "level": LEVELS[i % len(LEVELS)],
            "message": "%s n%d" % (" ".join(words), i)}


def brute(lines, word, start, end, interval):
    out = {}
    for x in lines:
        if word in x["message"].lower().split() and start <= x["timestamp"] < end:
            b = int((x["timestamp"] - start) // interval)
            lv = out.setdefault(b, {})
            lv[x["level"]] = lv.get(x["level"], 0) + 1
    return out


@h.test
def test_word_histograms_match_brute_force():
    srv = h.Server().start()
    t0 = int(time.time()) - 1900 + 0.25
    lines = [line_of(i, t0) for i in range(6000)]
    hdrs = dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson"})
    # batches of every size: small ones become segments the store merges, big ones stay
    sizes = [1, 2, 3, 5, 8, 13, 40, 70, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 400, 1500, 2000, 1, 1]
    start = 0
    for n in sizes + [len(lines)]:
        part = lines[start:start + n]
        if not part:
            break
        body = "\n".join(json.dumps(x) for x in part) + "\n"
        h.check_eq(srv.post("/api/1/logs", body.encode(), headers=hdrs).status, 200,
                   "batch of %d" % len(part))
        start += len(part)
    h.wait_for(lambda: sum(b["count"] for b in srv.api_json(
        "/api/0/projects/1/logs/histogram/?since=2h")["buckets"]) >= len(lines),
        what="all lines stored")

    # range ends inside a minute, with lines in both end minutes
    for word in ("common", "rarez", "mixed", "MIXED"):
        for since, until, interval in ((t0 + 100.5, t0 + 1700.3, "1m"),
                                       (t0 + 59.9, t0 + 1799.99, "5m"),
                                       (t0 - 600, t0 + 2000, "1h"),
                                       (t0 + 10, t0 + 50, "1m")):  # inside one minute or two
            path = "/api/0/projects/1/logs/histogram/?" + urllib.parse.urlencode(
                {"query": word, "since": rfc3339(since), "until": rfc3339(until),
                 "interval": interval})
            hist = srv.api_json(path)
            buckets = hist["buckets"]
            first = datetime.datetime.fromisoformat(
                buckets[0]["t"].replace("Z", "+00:00")).timestamp()
            h.check(first <= since < first + hist["interval"], "the first bucket holds since")
            end = first + hist["interval"] * len(buckets)
            h.check(end - hist["interval"] < until <= end, "the last bucket holds until")
            want = brute(lines, word.lower(), first, end, hist["interval"])
            got = {}
            for k, b in enumerate(buckets):
                levels = {lv: n for lv, n in b["levels"].items() if n}
                if levels:
                    got[k] = levels
                h.check_eq(b["count"], sum(levels.values()), "bucket count is its levels")
            h.check_eq(got, want, "histogram of %r, %s" % (word, path))

    # a word and levels: the postings say at once when no line has the word at those levels
    for query, word, levels in (("common level:trace", "common", ("trace",)),
                                ("rarez level:warning", "rarez", ("warning",)),
                                ("rarez level:<info", "rarez", ("trace", "debug")),
                                ("mixed level:>=error", "mixed", ("error", "fatal")),
                                ("Mixed level:debug", "mixed", ("debug",))):
        items, _ = srv.api_pages("/api/0/projects/1/logs/?" + urllib.parse.urlencode(
            {"query": query, "since": "2h", "limit": 1000}))
        want = sorted(x["message"] for x in lines
                      if word in x["message"].lower().split() and x["level"] in levels)
        h.check_eq(sorted(x["message"] for x in items), want, "listing %r" % query)
        hist = srv.api_json("/api/0/projects/1/logs/histogram/?" + urllib.parse.urlencode(
            {"query": query, "since": "2h"}))
        h.check_eq(sum(b["count"] for b in hist["buckets"]), len(want), "histogram %r" % query)


if __name__ == "__main__":
    h.main()
