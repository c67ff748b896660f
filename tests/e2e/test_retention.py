"""Retention: a project's retention (PUT /api/0/projects/{id}/), enforced by
the server on its own timer by dropping whole day partitions; the API stops
returning expired lines at once while issues and their counts stay; storage
per partition through the API and /metrics; the disk budget.
"""

import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

DAY = 86400


def send_lines(srv, pid, lines):
    body = ("\n".join(json.dumps(x) for x in lines) + "\n").encode()
    r = srv.post("/api/%d/logs" % pid, body,
                 headers=dict(srv.auth_headers(pid), **{"Content-Type": "application/x-ndjson"}))
    h.check_eq(r.status, 200, "ndjson accepted")


def day_files(srv):
    d = os.path.join(srv.data_dir, "events")
    return sorted(f for f in os.listdir(d) if f.endswith(".db")) if os.path.isdir(d) else []


def day_name(t):
    return time.strftime("%Y%m%d", time.gmtime(t)) + ".db"


def messages(srv, query="", since="30d"):
    path = "/api/0/projects/1/logs/?" + urllib.parse.urlencode({"query": query, "since": since})
    return [x["message"] for x in srv.api_json(path)]


@h.test
def test_retention_drops_expired_partition():
    srv = h.Server(args=["--retention-interval", "1"]).start()
    now = time.time()
    old = now - 3 * DAY
    send_lines(srv, 1, [{"message": "old line", "timestamp": old},
                        {"message": "old failure", "level": "error", "timestamp": old + 1},
                        {"message": "new line", "timestamp": now}])
    h.wait_for(lambda: len(messages(srv)) == 2, what="the two log lines stored")
    issues = h.wait_for(lambda: srv.api_json("/api/0/projects/1/issues/?status=all"),
                        what="the issue")
    h.check_eq(issues[0]["count"], 1, "the old failure made an issue")
    h.check_in(day_name(old), day_files(srv), "a day file for three days ago")
    st = srv.api_json("/api/0/projects/1/storage/")
    h.check_eq(st["retention_days"], 30, "default retention")
    h.check_eq(st["rows"], 3, "three rows stored")
    h.check(len(st["partitions"]) >= 2 and all(p["bytes"] > 0 for p in st["partitions"]),
            "bytes per partition: %r" % st)
    metrics = srv.get("/metrics").body.decode()
    h.check('bilor_partition_bytes{day="' in metrics, "partition bytes in /metrics")
    h.check('bilor_project_partition_bytes{project="1"' in metrics, "project bytes in /metrics")

    # bad settings change nothing
    r = srv.api("PUT", "/api/0/projects/1/", {"retention_days": 0})
    h.check_eq(r.status, 400, "retention_days 0 is refused")
    r = srv.api("PUT", "/api/0/projects/1/", {"retention_dayz": 3})
    h.check_eq(r.status, 400, "an unknown setting is refused")
    # one PUT for every project setting: a bad retention stops the name too
    r = srv.api("PUT", "/api/0/projects/1/", {"name": "renamed", "retention_days": 0})
    h.check_eq(r.status, 400, "a bad retention_days refuses the whole body")
    proj = srv.api_json("/api/0/projects/1/")
    h.check_eq((proj["name"] != "renamed", proj["retention_days"]), (True, 30),
               "nothing of that body was stored")
    r = srv.api("PUT", "/api/0/projects/1/", {"retention_days": 1}, token="nope")
    h.check_eq(r.status, 401, "needs a token")

    r = srv.api("PUT", "/api/0/projects/1/", {"retention_days": 1})
    h.check_eq(r.status, 200, "retention set: %s" % r.body[:200])
    h.check_eq(r.json()["retention_days"], 1, "answered with the new setting")
    h.check_eq(messages(srv), ["new line"], "expired lines are gone from the API at once")
    h.wait_for(lambda: day_name(old) not in day_files(srv), timeout=15,
               what="the expired day file dropped by the server's timer")
    h.check_in(day_name(now), day_files(srv), "today's file stays")
    h.check_eq(messages(srv), ["new line"], "still only the new line")
    issues = srv.api_json("/api/0/projects/1/issues/?status=all")
    h.check_eq(len(issues), 1, "the issue outlives its events")
    h.check_eq(issues[0]["count"], 1, "and keeps its count")
    metrics = srv.get("/metrics").body.decode()
    h.check("bilor_retention_partitions_dropped_total 1" in metrics, "dropped counted")
    # the rows per partition (kept between scrapes) follow the files: the dropped day's
    # are gone, and a line stored since is counted at once in a small file
    st = srv.api_json("/api/0/projects/1/storage/")
    h.check_eq((st["rows"], len(st["partitions"])), (1, 1), "only today's row left: %r" % st)
    send_lines(srv, 1, [{"message": "another new line", "timestamp": time.time()}])
    h.wait_for(lambda: len(messages(srv)) == 2, what="the line stored")
    h.check_eq(srv.api_json("/api/0/projects/1/storage/")["rows"], 2,
               "the new line counted at once")
    metrics = srv.get("/metrics").body.decode()
    h.check('bilor_partition_bytes{day="%s"}' % time.strftime("%Y-%m-%d", time.gmtime(old))
            not in metrics, "the dropped day's bytes are gone from /metrics")
    # a restart keeps the setting
    srv.stop()
    srv.start()
    h.check_eq(srv.api_json("/api/0/projects/1/storage/")["retention_days"], 1,
               "retention survives a restart")
    srv.stop()


@h.test
def test_disk_budget_drops_oldest_days():
    srv = h.Server(args=["--retention-interval", "1", "--disk-budget", "1"]).start()
    now = time.time()
    send_lines(srv, 1, [{"message": "day -2", "timestamp": now - 2 * DAY},
                        {"message": "day -1", "timestamp": now - DAY},
                        {"message": "today", "timestamp": now}])
    h.wait_for(lambda: day_files(srv) == [day_name(now)], timeout=15,
               what="only the newest day left under a 1-byte budget")
    h.check_eq(messages(srv), ["today"], "older days are gone")
    srv.stop()


@h.test
def test_issue_thinning_counts_all():
    srv = h.Server(args=["--issue-events-per-day", "2"]).start()
    send_lines(srv, 1, [{"message": "disk full on /var", "level": "error"} for _ in range(5)])
    issues = h.wait_for(lambda: [i for i in srv.api_json("/api/0/projects/1/issues/?status=all")
                                 if i["count"] == 5], what="one issue counted 5 times")
    h.check_eq(len(issues), 1, "one issue")
    events, _ = srv.api_pages("/api/0/issues/%d/events/" % issues[0]["id"])
    h.check_eq(len(events), 2, "only 2 events of the issue stored that day")
    send_lines(srv, 1, [{"message": "disk full on /var", "level": "error"}])
    h.wait_for(lambda: srv.api_json("/api/0/issues/%d/" % issues[0]["id"])["count"] == 6,
               what="still counted")
    events, _ = srv.api_pages("/api/0/issues/%d/events/" % issues[0]["id"])
    h.check_eq(len(events), 2, "still 2 stored")
    srv.stop()


if __name__ == "__main__":
    h.main()
