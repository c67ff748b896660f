"""Sentry events parsed without the parts the digest never reads (src/ingest/slim.c).

The digest skips a Python event's breadcrumbs, request, modules and sdk and its frames'
vars and source context when nothing in them is sensitive, and parses and scrubs the
whole event when anything is. Through the real server, with gzip /store/ bodies and
gzip envelopes:
  - an event with nothing sensitive shows every skipped part in the API exactly as sent
    (the raw payload is kept as received) and groups with its twin sent as a whole-parse
    event (a secret in its message's extra makes the digest parse it whole);
  - an event whose only secrets are in skipped parts (a breadcrumb's data, a card in a
    frame's source context, a token in a request header, a password in a frame's vars)
    has none of them in the API or in any stored raw payload, and shows "[Filtered]".
"""

import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

CRUMB_PW = "crumbpw-5e1a9c"
CONTEXT_CARD = "4111 1111 1111 1111"
HEADER_TOKEN = "hdrtok-73bd20"
VARS_PW = "varspw-0c44e1"
SECRETS = [CRUMB_PW, CONTEXT_CARD, HEADER_TOKEN, VARS_PW]


def event(event_id, vars_=None, pre=None, crumb_data=None, headers=None, extra=None):
    frames = [
        {"filename": "django/core/handlers/base.py", "module": "django.core.handlers.base",
         "function": "_get_response", "lineno": 197, "context_line": "response = cb(request)",
         "pre_context": ["    try:"], "post_context": ["    except Exception:"],
         "vars": {"self": "<Handler>", "n": 12, "ok": True, "none": None}, "in_app": False},
        {"filename": "shop/orders/views.py", "module": "shop.orders.views",
         "function": "get_queryset", "lineno": 52, "context_line": "if not ok:",
         "pre_context": pre or ["    order = load(order_id)"],
         "vars": vars_ or {"order_id": "'48213'", "total": "Decimal('129.90')"},
         "in_app": True},
    ]
    return {
        "event_id": event_id, "level": "error", "platform": "python",
        "release": "shop@1.2.3", "transaction": "/api/orders/",
        "exception": {"values": [{"type": "SlimParseError", "value": "order 48213 failed",
                                  "mechanism": {"type": "django", "handled": False},
                                  "stacktrace": {"frames": frames}}]},
        "breadcrumbs": {"values": [
            {"timestamp": 1764640740.2, "category": "query", "level": "info",
             "message": "SELECT \"id\" FROM \"orders\" WHERE id = %s"},
            {"category": "http", "data": crumb_data or {"url": "https://x/y?a=1",
                                                        "status_code": 200}}]},
        "request": {"url": "https://shop.example/api/orders/", "method": "GET",
                    "headers": headers or {"Host": "shop.example", "Cookie": "[Filtered]"},
                    "data": {"items": [{"sku": "SKU-1", "quantity": 3}]}},
        "tags": {"region": "eu"},
        "contexts": {"trace": {"trace_id": "5b8efff798038103d269b633813fc60c",
                               "span_id": "b0e6f15b45c36b12"}},
        "extra": extra or {"request_id": "r-1"},
        "modules": {"django": "4.2.7"},
        "sdk": {"name": "sentry.python", "version": "1.39.1"},
    }


def send_store(srv, pid, key, ev):
    hdrs = dict(srv.auth_headers(pid, key=key))
    hdrs.update({"Content-Type": "application/json", "Content-Encoding": "gzip"})
    r = srv.post("/api/%d/store/" % pid, gzip.compress(json.dumps(ev).encode()), headers=hdrs)
    h.check_eq(r.status, 200, "store %s" % ev["event_id"])


def send_envelope(srv, pid, key, ev):
    body = "\n".join([json.dumps({"event_id": ev["event_id"]}), json.dumps({"type": "event"}),
                      json.dumps(ev)]) + "\n"
    hdrs = dict(srv.auth_headers(pid, key=key))
    hdrs.update({"Content-Type": "application/x-sentry-envelope", "Content-Encoding": "gzip"})
    r = srv.post("/api/%d/envelope/" % pid, gzip.compress(body.encode()), headers=hdrs)
    h.check_eq(r.status, 200, "envelope %s" % ev["event_id"])


def frames_of(doc):
    return doc["exception"]["values"][0]["stacktrace"]["frames"]


@h.test
def test_skipped_parts_shown_and_scrubbed():
    srv = h.Server().start()
    pid, key = srv.add_project("slim")
    plain = [event(h.new_id()), event(h.new_id())]
    # Its twin, parsed whole: a password in extra (read by nothing, scrubbed all the same).
    whole = event(h.new_id(), extra={"request_id": "r-1", "password": "x"})
    secret = [
        event(h.new_id(), crumb_data={"password": CRUMB_PW}),
        event(h.new_id(), pre=["    card = '%s'" % CONTEXT_CARD]),
        event(h.new_id(), headers={"Host": "shop.example", "X-Api-Token": HEADER_TOKEN}),
        event(h.new_id(), vars_={"password": VARS_PW, "order_id": "'1'"}),
    ]
    send_store(srv, pid, key, plain[0])
    send_envelope(srv, pid, key, plain[1])
    send_store(srv, pid, key, whole)
    for i, ev in enumerate(secret):
        (send_store if i % 2 == 0 else send_envelope)(srv, pid, key, ev)

    issues = set()
    for sent in plain + [whole]:
        got = srv.wait_event(pid, sent["event_id"])
        h.check(len(got["fingerprint"]) == 32, "fingerprint set")
        issues.add(got["fingerprint"])
        for part in ("request", "sdk"):
            h.check_eq(got.get(part), sent[part], "%s shown as sent" % part)
        h.check_eq(got["breadcrumbs"], sent["breadcrumbs"]["values"], "breadcrumbs as sent")
        for gf, sf in zip(frames_of(got), frames_of(sent)):
            for m in ("vars", "pre_context"):
                h.check_eq(gf.get(m), sf.get(m), "frame %s as sent" % m)
        h.check_eq(got["title"], "SlimParseError: order 48213 failed", "title")
        h.check_eq(got.get("trace_id") or got["contexts"]["trace"]["trace_id"],
                   "5b8efff798038103d269b633813fc60c", "trace id read")
    h.check_eq(len(issues), 1, "the slim and the whole parse group together")

    for sent in secret:
        got = srv.wait_event(pid, sent["event_id"])
        text = json.dumps(got)
        for s in SECRETS:
            h.check(s not in text, "API event %s has no %r" % (sent["event_id"], s))
        h.check("[Filtered]" in text, "API event shows [Filtered]")
        h.check_eq(got["title"], "SlimParseError: order 48213 failed", "scrubbed event's title")
    listed = srv.issues(pid)
    h.check_eq(len(listed), 1, "one issue for the seven events (vars and context never group)")
    raws = h.raw_payloads(srv.data_dir)
    h.check(len(raws) >= len(plain) + 1 + len(secret), "raw payloads stored")
    for raw in raws:
        for s in SECRETS:
            h.check(s.encode() not in raw, "no stored raw payload holds %r" % s)
    srv.stop()


if __name__ == "__main__":
    h.main()
