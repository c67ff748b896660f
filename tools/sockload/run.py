#!/usr/bin/env python3
"""Measures the socket doors (docs/doors.md, "Measured").

    python3 tools/sockload/run.py BUILD_DIR [SECONDS] [RATE]

Starts the real bilor of BUILD_DIR on loopback with --syslog-udp,
--gelf-udp and --syslog-tcp bound to project 1, drives each with
bilor-sockload and reads /metrics: lines accepted (journaled) per second,
and for UDP the loss (sent - accepted), split into the kernel's receive
buffer drops and Bilor's own. Uses the e2e harness (tests/e2e).
"""

import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
os.environ["BILOR_BIN"] = os.path.join(build, "src", "bilor")
import bilor_harness as h  # noqa: E402

SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
LOAD = os.path.join(build, "tools", "sockload", "bilor-sockload")


def udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def counters(srv, door):
    m = srv.metrics()
    return (h.metric_sum(m, "bilor_events_accepted_total", door=door),
            h.metric_sum(m, "bilor_udp_kernel_drops_total", door=door),
            h.metric_sum(m, "bilor_socket_dropped_total", door=door))


def phase(srv, name, door, port, rate):
    before = counters(srv, door)
    t0 = time.monotonic()
    r = subprocess.run([LOAD, name, "127.0.0.1", str(port), str(rate), str(SECONDS)],
                       capture_output=True, text=True, timeout=SECONDS + 120)
    took = time.monotonic() - t0
    sent = int(r.stdout.strip() or 0)
    last, stable = None, 0
    while stable < 3:  # the listener flushes within 100 ms; wait for the counters to settle
        time.sleep(0.5)
        now = counters(srv, door)
        stable = stable + 1 if now == last else 0
        last = now
    acc, kdrop, own = (last[i] - before[i] for i in range(3))
    print("%-10s sent %9d in %5.1fs (%7.0f/s)  accepted %9d (%7.0f lines/s)  loss %6.2f%%"
          "  kernel drops %d, own drops %d" % (name, sent, took, sent / took, acc, acc / took,
                                               100.0 * (sent - acc) / max(sent, 1), kdrop, own))


def main():
    up, gp, tp = udp_port(), udp_port(), h.free_port()
    srv = h.Server(args=["--syslog-udp", "127.0.0.1:%d=1" % up, "--gelf-udp",
                         "127.0.0.1:%d=1" % gp, "--syslog-tcp", "127.0.0.1:%d=1" % tp]).start()
    print("bilor %s, %d s per phase, UDP at %d datagrams/s, %d CPUs" %
          (os.environ["BILOR_BIN"], SECONDS, RATE, os.cpu_count()))
    try:
        phases = os.environ.get("SOCKLOAD_PHASES", "syslog-udp,gelf-udp,syslog-tcp").split(",")
        if "syslog-udp" in phases:
            phase(srv, "syslog-udp", "syslog", up, RATE)
        if "gelf-udp" in phases:
            phase(srv, "gelf-udp", "gelf", gp, RATE)
        if "syslog-tcp" in phases:
            phase(srv, "syslog-tcp", "syslog", tp, 0)
    except Exception:
        print(srv.tail())
        raise
    srv.stop()


if __name__ == "__main__":
    main()
