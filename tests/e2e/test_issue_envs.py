"""Issues by environment and release: python3-sentry-sdk sends events from two
environments and two releases; the issue search (environment:, release:, their
negations, has:, lists, prefixes, inside OR), the ?environment= / ?release=
parameters, the project's environments and releases listings and the issue's
own lists show exactly where each issue was seen. Then the data directory is
taken back to the schema before the table existed (as an older binary left it)
and reopened: the migration's backfill from the stored events gives the same
answers.
"""

import json
import os
import sqlite3
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

SCRIPT = r'''
import json, sys
import sentry_sdk

DSN = sys.argv[1]
ids = {}
# (message, environment, release): "checkout" in both environments, the
# others in one each; "search" twice.
SENDS = [
    ("Checkout failed", "production", "shop@1.0"),
    ("Checkout failed", "staging", "shop@1.0"),
    ("Payment declined", "production", "shop@2.0"),
    ("Search timed out", "staging", "shop@2.0"),
    ("Search timed out", "staging", "shop@2.0"),
]
for msg, env, rel in SENDS:
    sentry_sdk.init(dsn=DSN, environment=env, release=rel, default_integrations=False)
    ids.setdefault(msg, []).append(sentry_sdk.capture_message(msg, level="error"))
    sentry_sdk.flush(timeout=10)
print(json.dumps(ids))
'''

TITLES = {"Checkout failed": "checkout", "Payment declined": "payment",
          "Search timed out": "search"}


def send(srv):
    py = h.sdk_python()
    if not py:
        raise AssertionError("no python interpreter can import sentry_sdk "
                             "(install python3-sentry-sdk: scripts/install-deps.sh --test)")
    d = h.mkdtemp("bilor-e2e-envs-")
    path = os.path.join(d, "envs.py")
    with open(path, "w") as f:
        f.write(SCRIPT)
    r = h.run([py, path, srv.dsn(1)], timeout=90, cwd=d)
    if not h.check_eq(r.returncode, 0, "sdk exit status (stderr tail: %s)" % r.stderr[-2000:]):
        raise AssertionError("sdk failed")
    ids = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    for evs in ids.values():
        for eid in evs:
            srv.wait_event(1, eid)
    h.wait_for(lambda: sum(int(i["count"]) for i in srv.issues(1)) == 5 or None,
               what="the five events counted into issues")
    return ids


def names(srv, **params):
    """Short names of the issues listed with these query parameters (any status)."""
    q = [("status", "all"), ("limit", "100")]
    for k, v in params.items():
        for one in (v if isinstance(v, list) else [v]):
            q.append((k, one))
    r = srv.api("GET", "/api/0/projects/1/issues/?" + urllib.parse.urlencode(q))
    if r.status != 200:
        return r.status
    return sorted(TITLES.get(i["title"], i["title"]) for i in r.json())


def check_answers(srv, when):
    queries = [
        ("environment:production", ["checkout", "payment"]),
        ("environment:staging", ["checkout", "search"]),
        ("env:PRODUCTION", ["checkout", "payment"]),
        ("environment:prod*", ["checkout", "payment"]),
        ("-environment:production", ["search"]),
        ("environment:[production,staging]", ["checkout", "payment", "search"]),
        ("environment:nowhere", []),
        ("has:environment", ["checkout", "payment", "search"]),
        ("-has:environment", []),
        ("release:shop@1.0", ["checkout"]),
        ("release:shop@2.0", ["payment", "search"]),
        ("release:shop@2*", ["payment", "search"]),
        ("environment:staging release:shop@2.0", ["search"]),
        ("environment:production -release:shop@1.0", ["payment"]),
        # decided per issue by query_match, not by the store's filter
        ("environment:staging OR level:fatal", ["checkout", "search"]),
        ("(environment:production OR release:shop@2.0) timed", ["search"]),
        ("environment:staging checkout", ["checkout"]),
    ]
    for q, want in queries:
        h.check_eq(names(srv, query=q), want, "%s: query %s" % (when, q))
    params = [
        ({"environment": "production"}, ["checkout", "payment"]),
        ({"environment": ["production", "staging"]}, ["checkout", "payment", "search"]),
        ({"environment": "Production"}, []),  # the parameter is an exact name
        ({"environment": "staging", "query": "release:shop@1.0"}, ["checkout"]),
        ({"release": "shop@2.0"}, ["payment", "search"]),
        ({"environment": "production", "release": "shop@2.0"}, ["payment"]),
    ]
    for p, want in params:
        h.check_eq(names(srv, **p), want, "%s: parameters %s" % (when, p))
    envs = srv.api_json("/api/0/projects/1/environments/")
    h.check_eq(sorted((e["name"], e["issues"], e["events"]) for e in envs),
               [("production", 2, 2), ("staging", 2, 3)], "%s: environments" % when)
    h.check(all(e["first_seen"] <= e["last_seen"] for e in envs), "%s: times" % when)
    rels = srv.api_json("/api/0/projects/1/releases/?limit=1")
    h.check_eq([(r["name"], r["issues"], r["events"]) for r in rels], [("shop@2.0", 2, 3)],
               "%s: the most recent release" % when)
    by_title = {TITLES[i["title"]]: i for i in srv.issues(1)}
    det = srv.issue(by_title["checkout"]["id"])
    h.check_eq((sorted(det.get("environments") or []), det.get("releases")),
               (["production", "staging"], ["shop@1.0"]), "%s: the issue's lists" % when)


@h.test
def test_environment_and_release_filters():
    srv = h.Server().start()
    send(srv)
    check_answers(srv, "live")
    for bad in ("environment=", "release=", "envirnoment=production", "limit=0"):
        h.check_eq(srv.api("GET", "/api/0/projects/1/issues/?" + bad).status, 400, bad)
    h.check_eq(srv.api("GET", "/api/0/projects/1/environments/?foo=1").status, 400,
               "unknown parameter of the environments listing")
    h.check_eq(srv.api("GET", "/api/0/projects/999/environments/").status, 404, "no project")
    h.check_eq(srv.api("GET", "/api/0/projects/1/issues/?" + "&".join(
        ["environment=e%d" % i for i in range(65)])).status, 400, "65 environments")
    # As an older binary left it: no table, schema 8. Reopening backfills it.
    srv.stop()
    db = sqlite3.connect(os.path.join(srv.data_dir, "bilor.db"))
    db.executescript("DROP TABLE issue_seen; DROP TABLE project_seen;"
                     "UPDATE meta SET value = 8 WHERE key = 'schema_version';")
    db.commit()
    db.close()
    srv.start()
    check_answers(srv, "backfilled")
    db = sqlite3.connect(os.path.join(srv.data_dir, "bilor.db"))
    left = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'seen_backfill'").fetchone()
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    db.close()
    h.check_eq((left[0], int(version[0])), (0, 9), "the backfill is done and recorded")

    # A new event in a third environment shows up at once.
    r = srv.post("/api/1/store/", json.dumps({
        "event_id": "e" * 32, "message": "Checkout failed", "level": "error",
        "environment": "canary", "platform": "python"}).encode(),
        dict(srv.auth_headers(1), **{"Content-Type": "application/json"}))
    h.check_eq(r.status, 200, "store event in canary")
    srv.wait_event(1, "e" * 32)
    h.wait_for(lambda: names(srv, environment="canary") == ["checkout"] or None,
               what="the canary environment's issue")


if __name__ == "__main__":
    h.main()
