#!/usr/bin/env python3
"""search_delay.py - how long after its ack a log line can be found.

Usage: search_delay.py PORT KEY TOKEN [SECONDS]

Against a running bilor on 127.0.0.1:PORT (project 1, DSN key KEY, API token
TOKEN): every 0.3 s sends one JSON line carrying a word of its own through
the JSON lines door, and once the door has acknowledged it polls
GET /api/0/projects/1/logs/?query=WORD every 20 ms until the line is listed.
Runs SECONDS (default 60) or until killed, then prints the ack-to-searchable
delays: count, p50, p90, max in ms, and the probes never found within 30 s.
scripts/bench.sh runs it during a load with BENCH_PROBE=1 (docs/bench.md,
stop 13): the newest line's delay to search under that load.
"""
import json
import os
import signal
import sys
import time
import urllib.request

PORT, KEY, TOKEN = int(sys.argv[1]), sys.argv[2], sys.argv[3]
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
BASE = f"http://127.0.0.1:{PORT}"
GIVE_UP_S = 30.0
POLL_S = 0.02  # the delay's resolution; each poll is a search the server answers


def send(word):
    line = json.dumps({"level": "info", "message": f"search delay probe {word}"}) + "\n"
    req = urllib.request.Request(
        f"{BASE}/api/1/logs", data=line.encode(), method="POST",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status == 200


def found(word):
    req = urllib.request.Request(
        f"{BASE}/api/0/projects/1/logs/?query={word}&since=1h&limit=1",
        headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return len(json.loads(r.read())) > 0  # a JSON array of lines (docs/api.md)


def pct(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")


def main():
    delays, lost, stop = [], 0, [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    end = time.time() + SECONDS
    while not stop[0] and time.time() < end:
        word = "probe" + os.urandom(6).hex()
        try:
            if not send(word):
                continue
            acked = time.monotonic()
            while time.monotonic() - acked < GIVE_UP_S and not stop[0] and not found(word):
                time.sleep(POLL_S)
            if stop[0]:
                break
            if time.monotonic() - acked >= GIVE_UP_S:
                lost += 1
            else:
                delays.append((time.monotonic() - acked) * 1000)
        except OSError:
            lost += 1
        time.sleep(0.3)
    delays.sort()
    print(f"probes {len(delays)} p50_ms {pct(delays, 0.5):.1f} p90_ms {pct(delays, 0.9):.1f} "
          f"max_ms {delays[-1] if delays else float('nan'):.1f} not_found {lost}")


if __name__ == "__main__":
    main()
