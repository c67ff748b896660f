"""Words with non-ASCII letters over several blocks and batches, against a
brute-force answer: such a word narrows the lines through the word postings
(which fold it as the search does), and every line it finds is checked, so
listings, histograms and facets give exactly the lines whose words match,
in any case, as a prefix, in a phrase, and next to ASCII punctuation.
"""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

N = 3000
WORDS = ("Привет", "мир", "Straße", "café", "ÜBER", "naïve", "日本語", "ascii")


def line_of(i, now):
    a, b = WORDS[i % len(WORDS)], WORDS[(i // 3) % len(WORDS)]
    text = "%s %s-%s n%d" % (a.lower() if i % 2 else a.upper(), b, "x" if i % 5 else "é", i)
    return {"timestamp": now - 2000 + i * 0.5, "level": ("info", "debug", "warning")[i % 3],
            "message": text, "host": "web%d" % (i % 4)}


def words_of(msg):
    out, cur = [], ""
    for ch in msg:
        if ch.isascii() and not ch.isalnum():
            if cur:
                out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        out.append(cur)
    return [w.lower() for w in out]


@h.test
def test_unicode_words_match_brute_force():
    srv = h.Server().start()
    now = time.time()
    lines = [line_of(i, now) for i in range(N)]
    hdrs = dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson"})
    for start in (0, 7, 1500):  # batches of several sizes: segments and blocks
        end = {0: 7, 7: 1500, 1500: N}[start]
        body = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines[start:end]) + "\n"
        h.check_eq(srv.post("/api/1/logs", body.encode(), headers=hdrs).status, 200, "sent")
    h.wait_for(lambda: sum(b["count"] for b in srv.api_json(
        "/api/0/projects/1/logs/histogram/?since=2h")["buckets"]) >= N, what="all lines stored")

    def pred_for(query):
        parts = query.split()
        def pred(x):
            ws = words_of(x["message"])
            for p in parts:
                if p.startswith("host:"):
                    if x["host"] != p[5:]:
                        return False
                elif p.endswith("*"):
                    if not any(w.startswith(p[:-1].lower()) for w in ws):
                        return False
                elif p.lower() not in ws:
                    return False
            return True
        return pred

    for query in ("привет", "ПРИВЕТ", "Straße", "CAFÉ", "über", "naïve host:web1", "日本語",
                  "при*", "é", "мир привет", "Привет ascii"):
        pred = pred_for(query)
        want = sorted(x["message"] for x in lines if pred(x))
        items, _ = srv.api_pages("/api/0/projects/1/logs/?" + urllib.parse.urlencode(
            {"query": query, "since": "2h", "limit": 500}))
        h.check_eq(sorted(x["message"] for x in items), want, "listing %r" % query)
        hist = srv.api_json("/api/0/projects/1/logs/histogram/?" + urllib.parse.urlencode(
            {"query": query, "since": "2h"}))
        h.check_eq(sum(b["count"] for b in hist["buckets"]), len(want), "histogram %r" % query)


if __name__ == "__main__":
    h.main()
