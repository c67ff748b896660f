#!/usr/bin/env python3
"""Measures the socket doors (docs/doors.md, "Measured"; docs/bench.md).

    python3 tools/sockload/run.py BUILD_DIR [SECONDS] [RATE]
    SOCKLOAD_PHASES=relp,relp-rsyslog python3 tools/sockload/run.py build-rel 10

Starts the real bilor of BUILD_DIR on loopback with --syslog-udp,
--gelf-udp, --syslog-tcp, --gelf-tcp and --relp bound to project 1 and runs
each phase of SOCKLOAD_PHASES (default: syslog-udp,gelf-udp,syslog-tcp):

  syslog-udp, gelf-udp   bilor-sockload at RATE datagrams/s for SECONDS
  syslog-tcp, gelf-tcp   bilor-sockload, one connection, as fast as read
  relp                   bilor-sockload speaking RELP with a window of
                         RELP_WINDOW (128, omrelp's default) unanswered
                         commands; counts the 200 answers
  relp-rsyslog           rsyslogd (Debian) forwarding with omrelp (window
                         RELP_WINDOW, batches of RSYSLOG_BATCH: 32):
                         bilor-sockload feeds it over TCP for SECONDS at
                         RSYSLOG_FEED_RATE (150,000/s), then we wait until
                         bilor has every line

and reads /metrics: lines accepted (journaled; for RELP that is also
acknowledged, the answer follows the fsync) per second of load, lines
digested (stored) per second of load and drain, and for UDP the loss
(sent - accepted), split into the kernel's receive buffer drops and Bilor's
own. Each phase ends with a RESULT line for scripts/bench.sh. With
SOCKLOAD_FRESH=1 every phase gets a fresh server (bench does that). Uses
the e2e harness (tests/e2e). Figures only: nothing here passes or fails.
"""

import os
import shutil
import signal
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
WINDOW = int(os.environ.get("RELP_WINDOW", "128"))
# rsyslog's batch (queue.dequeueBatchSize): omrelp corks each one, so it must stay below the window.
RSYSLOG_BATCH = int(os.environ.get("RSYSLOG_BATCH", "32"))
# Lines a second fed to rsyslog (its queue takes them faster than any RELP server answers).
FEED_RATE = int(os.environ.get("RSYSLOG_FEED_RATE", "150000"))
DRAIN_MAX = float(os.environ.get("SOCKLOAD_DRAIN_MAX", "600"))
LOAD = os.path.join(build, "tools", "sockload", "bilor-sockload")
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

# phase -> (flag, door label in /metrics)
PHASES = {
    "syslog-udp": ("--syslog-udp", "syslog"),
    "gelf-udp": ("--gelf-udp", "gelf"),
    "syslog-tcp": ("--syslog-tcp", "syslog"),
    "gelf-tcp": ("--gelf-tcp", "gelf"),
    "relp": ("--relp", "syslog"),
    "relp-rsyslog": ("--relp", "syslog"),
}


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
            h.metric_sum(m, "bilor_socket_dropped_total", door=door),
            h.metric_sum(m, "bilor_events_digested_total"))


def settle(srv, door):
    """Waits until the accepted counters stop moving (the listeners flush within 100 ms)."""
    last, stable = None, 0
    while stable < 3:
        time.sleep(0.5)
        now = counters(srv, door)
        stable = stable + 1 if last is not None and now[:3] == last[:3] else 0
        last = now
    return last


def drain(srv):
    """Waits until the journal backlog is digested; the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < DRAIN_MAX:
        if h.metric_sum(srv.metrics(), "bilor_journal_backlog_bytes") == 0:
            break
        time.sleep(0.2)
    return time.monotonic() - t0


def report(name, sent, took, before, after, drain_s, udp):
    acc, kdrop, own, dig = (after[i] - before[i] for i in range(4))
    loss = 100.0 * (sent - acc) / max(sent, 1) if udp else 0.0
    print("%-12s sent %9d in %5.1fs (%7.0f/s)  accepted %9d (%7.0f lines/s)  digested %7.0f "
          "lines/s  loss %6.2f%%  kernel drops %d, own drops %d"
          % (name, sent, took, sent / took, acc, acc / took, dig / (took + drain_s), loss,
             kdrop, own))
    print("RESULT phase=%s sent=%d elapsed=%.2f accepted=%d accepted_per_s=%.0f digested=%d "
          "drain_s=%.2f digested_per_s=%.0f loss_pct=%.3f kernel_drops=%d own_drops=%d"
          % (name, sent, took, acc, acc / took, dig, drain_s, dig / (took + drain_s), loss,
             kdrop, own), flush=True)


def phase_load(srv, name, door, port):
    udp = name.endswith("-udp")
    mode, arg = (name, RATE if udp else 0) if name != "relp" else ("relp", WINDOW)
    before = counters(srv, door)
    t0 = time.monotonic()
    r = subprocess.run([LOAD, mode, "127.0.0.1", str(port), str(arg), str(SECONDS)],
                       capture_output=True, text=True, timeout=SECONDS + 120)
    took = time.monotonic() - t0
    sent = int(r.stdout.strip() or 0)
    after = settle(srv, door)
    drain_s = drain(srv)
    after = after[:3] + (counters(srv, door)[3],)
    report(name, sent, took, before, after, drain_s, udp)


def start_rsyslog(relp_port):
    tmp = h.mkdtemp("bilor-sockload-rsyslog-")
    inport = h.free_port()
    conf = os.path.join(tmp, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write("""
global(workDirectory="%(tmp)s")
main_queue(queue.size="2000000")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="%(inport)d" ruleset="fwd")
ruleset(name="fwd" queue.type="LinkedList" queue.size="2000000" queue.dequeueBatchSize="%(batch)d") {
action(type="omrelp" target="127.0.0.1" port="%(relp)d" windowSize="%(window)d"
       template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1")
}
""" % {"tmp": tmp, "inport": inport, "relp": relp_port, "window": WINDOW, "batch": RSYSLOG_BATCH})
    log = open(os.path.join(tmp, "rsyslogd.log"), "wb")
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(tmp, "pid")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)

    def up():
        if proc.poll() is not None:
            raise AssertionError("rsyslogd exited: %s" % open(log.name).read())
        try:
            socket.create_connection(("127.0.0.1", inport), timeout=1).close()
            return True
        except OSError:
            return False
    h.wait_for(up, what="rsyslogd's input")
    return proc, inport


def phase_rsyslog(srv, name, door, port):
    """rsyslog's omrelp as the client: the time from the first line fed to the last one stored."""
    proc, inport = start_rsyslog(port)
    try:
        before = counters(srv, door)
        t0 = time.monotonic()
        r = subprocess.run([LOAD, "syslog-tcp", "127.0.0.1", str(inport), str(FEED_RATE),
                            str(SECONDS)],
                           capture_output=True, text=True, timeout=SECONDS + 120)
        sent = int(r.stdout.strip() or 0)
        fed = time.monotonic() - t0
        last, t_last = before[0], time.monotonic()
        # Until bilor has them all, nothing more arrives for 5 s, or SOCKLOAD_DRAIN_MAX.
        while time.monotonic() - t_last < 5 and time.monotonic() - t0 < SECONDS + DRAIN_MAX:
            time.sleep(0.2)
            acc = counters(srv, door)[0]
            if acc != last:
                last, t_last = acc, time.monotonic()
            if acc - before[0] >= sent:
                break
        took = t_last - t0
        after = counters(srv, door)
        drain_s = drain(srv)
        after = after[:3] + (counters(srv, door)[3],)
        print("(rsyslog took the %d lines in %.1f s; bilor had them all %.1f s after the start)"
              % (sent, fed, took))
        report(name, sent, took, before, after, drain_s, False)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_server(names):
    ports, args = {}, []
    for name in names:
        flag = PHASES[name][0]
        if flag not in ports:
            ports[flag] = udp_port() if flag.endswith("-udp") else h.free_port()
            args += [flag, "127.0.0.1:%d=1" % ports[flag]]
    return h.Server(args=args).start(), ports


def main():
    names = os.environ.get("SOCKLOAD_PHASES", "syslog-udp,gelf-udp,syslog-tcp").replace(" ", ",")
    names = [n for n in names.split(",") if n]
    for n in names:
        if n not in PHASES:
            sys.exit("unknown phase %s (one of %s)" % (n, ", ".join(PHASES)))
    fresh = os.environ.get("SOCKLOAD_FRESH", "0") == "1"
    print("bilor %s, %d s per phase, UDP at %d datagrams/s, RELP window %d, %d CPUs, load %s" %
          (os.environ["BILOR_BIN"], SECONDS, RATE, WINDOW, os.cpu_count(),
           " ".join(open("/proc/loadavg").read().split()[:3])), flush=True)
    srv, ports = (None, None) if fresh else start_server(names)
    for name in names:
        if fresh:
            srv, ports = start_server([name])
        flag, door = PHASES[name]
        try:
            if name == "relp-rsyslog":
                phase_rsyslog(srv, name, door, ports[flag])
            else:
                phase_load(srv, name, door, ports[flag])
        except Exception:
            print(srv.tail())
            raise
        if fresh:
            srv.stop()
    if not fresh:
        srv.stop()


if __name__ == "__main__":
    main()
