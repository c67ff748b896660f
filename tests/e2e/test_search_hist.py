"""Histograms and level-filtered listings over log blocks against a brute-force
answer, bucket by bucket and level by level: 16000 lines over two day files
(they cross a UTC midnight), most sent out of time order (every block spans
the whole range) and the rest in order (whole blocks inside one bucket), a
word on two lines in three (past 4096 candidates in a day: the index's
doclists are read straight into the day's bitmap) and words that are rarer,
lines with non-ASCII text (not PLAIN: re-checked by the reference evaluator)
and a non-ASCII letter glued to the word (not the word), phrases, two words,
negated levels, no query on 30-second buckets (blocks, not per-minute
counts), a word + level listing with no match at all, and service facets
(an attribute read from each payload).
"""

import calendar
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

N_SHUFFLED = 10000
N_ORDERED = 6000
LEVELS = ("info", "debug", "warning")  # no error: those become issues
# a line's service attribute as the document reads it: any case of the key, a number as
# written, an object is no value (nor is a missing key)
SERVICE = ({"service": "api"}, {"Service": "web"}, {"service": 42},
           {"service": {"name": "x"}}, {})
SERVICE_VALUE = ("api", "web", "42", None, None)


def make_lines(midnight):
    """Each line's timestamp, level and words (as flags the brute force reads)."""
    t0 = midnight - 2 * 3600
    out = []
    for i in range(N_SHUFFLED + N_ORDERED):
        if i < N_SHUFFLED:
            ts = t0 + (i * 7919 % N_SHUFFLED) * 1.0  # a permutation: out of order
        else:
            ts = t0 + (i - N_SHUFFLED) * 1.75 + 0.3  # in order, never on a shuffled second
        x = {"i": i, "ts": ts, "level": LEVELS[i % 3],
             "common": i % 3 != 0 and i % 11 != 0, "glued": i % 3 != 0 and i % 11 == 0,
             "alpha": i % 4 == 0, "rare": i % 997 == 0, "plain": i % 7 != 0,
             "mid": i % 2 == 0 and i % 3 != 2, "reversed": i % 8 == 0}
        if x["rare"]:
            x["level"] = "info"
        words = []
        if x["common"]:
            words.append("common")
        if x["glued"]:
            words.append("commonä")  # one token, not the word
        if x["alpha"]:
            words.insert(0 if x["reversed"] else len(words), "alpha")
        if x["rare"]:
            words.append("rareword")
        if x["mid"]:
            words.append("mid")
        if not x["plain"]:
            words.append("naïve")
        words.append("n%d" % i)
        x["message"] = " ".join(words)
        out.append(x)
    return out


def phrase_common_alpha(x):
    m = x["message"].split()
    return any(m[k] == "common" and m[k + 1] == "alpha" for k in range(len(m) - 1))


def rfc_to_epoch(t):
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))


def hist(srv, query, since, until, interval):
    params = {"since": str(since), "until": str(until), "interval": interval}
    if query:
        params["query"] = query
    body = srv.api_json("/api/0/projects/1/logs/histogram/?" + urllib.parse.urlencode(params))
    got = {}
    for b in body["buckets"]:
        t = rfc_to_epoch(b["t"])
        h.check_eq(sum(b["levels"].values()), b["count"], "levels add up to the bucket")
        for lvl, n in b["levels"].items():
            if n:
                got[(t, lvl)] = n
    return body, got


def brute_hist(lines, pred, start, step, since, until):
    want = {}
    for x in lines:
        if pred(x) and since <= x["ts"] < until:
            k = (start + int((x["ts"] - start) // step) * step, x["level"])
            want[k] = want.get(k, 0) + 1
    return want


@h.test
def test_histograms_and_level_listings_match_brute_force():
    srv = h.Server().start()
    now = time.time()
    # the last UTC midnight at least an hour ago: lines from 2 h before it to 1 h after
    midnight = (int(now) - 3600) // 86400 * 86400
    lines = make_lines(midnight)
    hdrs = dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson"})
    for start in range(0, len(lines), 2000):
        body = "\n".join(json.dumps(dict({"timestamp": x["ts"], "level": x["level"],
                                          "message": x["message"], "host": "web%d" % (x["i"] % 5)},
                                         **SERVICE[x["i"] % 5]))
                         for x in lines[start:start + 2000]) + "\n"
        r = srv.post("/api/1/logs", body.encode(), headers=hdrs)
        h.check_eq(r.status, 200, "ndjson accepted")
    since, until = midnight - 2 * 3600, midnight + 3600
    h.wait_for(lambda: sum(b["count"] for b in srv.api_json(
        "/api/0/projects/1/logs/histogram/?since=%d&until=%d&interval=1h" % (since, until))
        ["buckets"]) >= len(lines), what="all lines stored")

    cases = (
        ("common", lambda x: x["common"]),
        ("common level:warning", lambda x: x["common"] and x["level"] == "warning"),
        ("common -level:info", lambda x: x["common"] and x["level"] != "info"),
        ("COMMON", lambda x: x["common"]),
        ("rareword", lambda x: x["rare"]),
        ('"common alpha"', phrase_common_alpha),
        ("alpha common", lambda x: x["common"] and x["alpha"]),
        ("naïve common", lambda x: x["common"] and not x["plain"]),
        ("common host:web2", lambda x: x["common"] and x["i"] % 5 == 2),
        ("mid level:warning", lambda x: False),
        ("", lambda x: True),
        ("level:debug", lambda x: x["level"] == "debug"),
    )
    for interval, step in (("1h", 3600), ("30s", 30), ("7m", 420)):
        for query, pred in cases:
            body, got = hist(srv, query, since, until, interval)
            h.check_eq(body["interval"], step, "interval %s" % interval)
            start = rfc_to_epoch(body["buckets"][0]["t"])
            want = brute_hist(lines, pred, start, step, since, until)
            h.check_eq(got, want, "histogram %r by %s" % (query, interval))

    # service facets: read from each line's payload (not the blocks' fields)
    for query, pred in (("", lambda x: True), ("common", lambda x: x["common"])):
        params = {"field": "service", "limit": 100, "since": str(since), "until": str(until)}
        if query:
            params["query"] = query
        body = srv.api_json("/api/0/projects/1/logs/facets/?" + urllib.parse.urlencode(params))
        got = {v["value"]: v["count"] for v in body["facets"][0]["values"]}
        want = {}
        for x in lines:
            v = SERVICE_VALUE[x["i"] % 5]
            if pred(x) and v is not None:
                want[v] = want.get(v, 0) + 1
        h.check_eq(got, want, "service facet for %r" % query)

    # word + level listings, newest first across both day files; one has no match at all
    def listing(query):
        items, _ = srv.api_pages("/api/0/projects/1/logs/?" + urllib.parse.urlencode(
            {"query": query, "limit": 100, "since": str(since), "until": str(until)}))
        return [x["message"] for x in items]

    for query, pred in (
            ("mid level:warning", lambda x: False),
            ("rareword level:warning", lambda x: False),
            ("alpha level:debug", lambda x: x["alpha"] and x["level"] == "debug"),
            ("common -level:info naïve", lambda x: x["common"] and x["level"] != "info"
             and not x["plain"])):
        want = [x["message"] for x in sorted(lines, key=lambda x: -x["ts"]) if pred(x)]
        h.check_eq(listing(query), want, "listing %r" % query)


if __name__ == "__main__":
    h.main()
