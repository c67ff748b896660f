#!/usr/bin/env python3
"""REST API defects found when tried as a new user would (issue 6 §6), on the real binary.

- The API URL that `bilor serve` prints (`.../api/0/`) answers with an index (version and
  links to the resources), behind the token like the rest of the REST API, not 404.
- Time bounds of the logs listing are checked: `until=0`, impossible calendar dates,
  non-numbers and `since` after `until` are a 400 with a JSON error that names the
  parameter; a valid window still works.
"""

import json
import re
import time

import bilor_harness as h


@h.test
def test_index_and_time_bounds():
    srv = h.Server().start()

    # The URL printed at start, as a user would copy it.
    m = h.wait_for(lambda: re.search(r"API:\s+(\S+)", srv.log_text()), what="printed API URL")
    api_url = m.group(1)
    h.check(api_url.endswith("/api/0/"), "printed API URL ends in /api/0/ (%s)" % api_url)
    path = "/" + api_url.split("://", 1)[1].split("/", 1)[1]

    r = srv.get(path)
    h.check_eq(r.status, 401, "index without a token")
    h.check("error" in (r.json() or {}), "401 carries a JSON error")
    r = srv.api("GET", path)
    h.check_eq(r.status, 200, "index with the token")
    doc = r.json() or {}
    h.check(isinstance(doc.get("version"), str) and doc["version"], "index has a version")
    links = doc.get("links") or {}
    h.check_eq(links.get("projects"), srv.base + "/api/0/projects/", "index links to projects")
    h.check_eq(srv.api("GET", "/api/0").status, 200, "index without the trailing slash")
    projects = srv.api_json((links.get("projects") or srv.base + "/api/0/projects/")[len(srv.base):])
    h.check(isinstance(projects, list) and projects, "the projects link works")

    # One log line an hour ago, to show a good window still selects it.
    now = time.time()
    line = {"ts": now - 3600, "level": "info", "message": "time-bounds line"}
    r = srv.post("/api/1/logs", json.dumps(line).encode(),
                 headers={"Authorization": "Bearer %s" % srv.key()})
    h.check_eq(r.status, 200, "log line accepted")
    h.wait_for(lambda: srv.logs(1), what="the log line")

    bad = [
        ("until=0", "until"),
        ("since=0", "since"),
        ("since=-5", "since"),
        ("since=2026-02-30T00:00:00Z", "since"),
        ("until=2025-02-29T12:00:00Z", "until"),
        ("since=2026-04-31T00:00:00Z", "since"),
        ("since=yesterday", "since"),
        ("since=%d&until=%d" % (now, now - 60), "since"),
    ]
    for query, name in bad:
        r = srv.api("GET", "/api/0/projects/1/logs/?" + query)
        h.check_eq(r.status, 400, "logs?%s" % query)
        err = (r.json() or {}).get("error", "") if r.status == 400 else ""
        h.check(name in err, "error for %s names '%s': %r" % (query, name, err))

    win = srv.logs(1, since=int(now - 7200), until=int(now))
    h.check_eq([x.get("message") for x in win], ["time-bounds line"], "epoch window")
    h.check_eq(srv.logs(1, since=int(now - 60)), [], "window after the line is empty")


if __name__ == "__main__":
    h.main()
