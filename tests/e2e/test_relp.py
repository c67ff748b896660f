"""The RELP door (--relp) spoken to directly, byte for byte, as a hostile or
a hurried client would (rsyslog's omrelp itself is in test_rsyslog.py).

- Nothing durable, nothing acknowledged: with the disk "full" (a
  --disk-reserve above any disk) the journal takes nothing, and a message
  gets no answer at all (neither 200 nor 500: the client keeps it); after a
  restart with room, the same message sent again is answered and stored.
- Durability: a client pipelining a window of 512 commands records every
  message answered "200 OK"; Bilor is killed with SIGKILL in the middle;
  after the restart every one of those messages is stored.
- Hostile input: garbage instead of a frame, a command before "open", a
  frame longer than --socket-max-frame (answered 500, the session goes on),
  an unknown command (500), and a client that sends thousands of commands
  without reading a single answer (more than the window: Bilor stops
  reading it, answers everything in order once it reads, and another
  session is served meanwhile).
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

OFFERS = b"relp_version=0\nrelp_software=test_relp\ncommands=syslog"


def frame(txnr, cmd, data=b""):
    if not data:
        return b"%d %s 0\n" % (txnr, cmd)
    return b"%d %s %d %s\n" % (txnr, cmd, len(data), data)


def line(tag, i):
    return b"<134>1 - relphost relptest - - - %s %06d" % (tag.encode(), i)


class Session:
    """A RELP client over one socket: queue frames, read answers."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.txnr = 0

    def send(self, cmd, data=b""):
        self.txnr += 1
        self.sock.sendall(frame(self.txnr, cmd, data))
        return self.txnr

    def answer(self):
        """The next answer: (txnr, command, data) or None when the server closed."""
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                head = self.buf[:nl].split(b" ", 3)
                if len(head) >= 3:
                    n = int(head[2])
                    start = len(head[0]) + len(head[1]) + len(head[2]) + 3
                    if n == 0:
                        start -= 1
                    if len(self.buf) >= start + n + 1:
                        data = self.buf[start:start + n]
                        self.buf = self.buf[start + n + 1:]
                        return int(head[0]), head[1], data
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def open(self):
        t = self.send(b"open", OFFERS)
        txnr, cmd, data = self.answer()
        h.check_eq((txnr, cmd), (t, b"rsp"), "answer to open")
        h.check(data.startswith(b"200 OK\n") and b"commands=syslog" in data,
                "open accepted with our offers: %r" % data)

    def closed(self, timeout=10):
        """True when the server closes the connection (after an optional serverclose hint)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                a = self.answer()
                if a is None:
                    return True
                if a[0] == 0 and a[1] == b"serverclose":
                    continue
        except (ConnectionResetError, socket.timeout):
            return False
        finally:
            self.sock.settimeout(30)

    def close(self):
        self.sock.close()


def messages(srv, tag):
    return [e.get("message") for e in srv.logs(1, limit=1000) if tag in (e.get("message") or "")]


@h.test
def test_no_answer_before_durable():
    rp = h.free_port()
    data = os.path.join(h.mkdtemp(), "data")
    os.mkdir(data)
    full = h.Server(data_dir=data, args=["--relp", "127.0.0.1:%d=1" % rp,
                                         "--disk-reserve", str(1 << 50)]).start(wait=False)
    h.wait_for(lambda: h.http("GET", full.base + "/healthz", timeout=2).status == 200,
               what="/healthz")
    tag = "nd" + h.new_id()[:8]
    s = Session(rp)
    s.open()
    s.send(b"syslog", line(tag, 1))
    s.sock.settimeout(3)
    try:
        a = s.answer()
    except socket.timeout:
        a = "none"
    h.check_eq(a, "none", "no answer while the journal cannot take the message")
    s.close()
    full.stop()
    srv = h.Server(data_dir=data, args=["--relp", "127.0.0.1:%d=1" % rp]).start()
    s = Session(rp)
    s.open()
    t = s.send(b"syslog", line(tag, 1))
    a = s.answer()
    h.check_eq((a[0], a[2][:3]), (t, b"200"), "answered once there is room")
    s.close()
    h.wait_for(lambda: messages(srv, tag) == ["%s %06d" % (tag, 1)], what="the line, once")


@h.test
def test_every_acked_message_survives_kill9():
    rp = h.free_port()
    srv = h.Server(args=["--relp", "127.0.0.1:%d=1" % rp]).start()
    tag = "k9" + h.new_id()[:8]
    acked, sent = [], {}
    window = 512
    stop = threading.Event()

    def client():
        s = Session(rp)
        s.open()
        i = 0
        try:
            while not stop.is_set():
                while len(sent) - len(acked) < window and i < 60000:
                    t = s.send(b"syslog", line(tag, i))
                    sent[t] = "%s %06d" % (tag, i)
                    i += 1
                a = s.answer()
                if a is None:
                    return
                if a[1] == b"rsp" and a[2].startswith(b"200"):
                    acked.append(sent[a[0]])
        except OSError:
            return  # the server died: what was acked is all we know
        finally:
            s.close()

    t = threading.Thread(target=client)
    t.start()
    h.wait_for(lambda: len(acked) >= 3000 or not t.is_alive(), interval=0.01,
               what="the first acknowledgements")
    srv.kill9()
    stop.set()
    t.join(30)
    n_acked = len(acked)
    h.check(n_acked >= 3000, "acknowledged before the kill: %d" % n_acked)
    srv.start()
    want = set(acked)

    def stored():
        return want <= set(messages(srv, tag))
    h.wait_for(stored, timeout=120, what="every acknowledged line after the restart")
    got = messages(srv, tag)
    h.note("RELP kill -9: %d sent, %d acknowledged, %d stored (all acknowledged ones)"
           % (len(sent), n_acked, len(set(got))))


@h.test
def test_hostile_clients():
    rp = h.free_port()
    srv = h.Server(args=["--relp", "127.0.0.1:%d=1" % rp, "--socket-max-frame", "2000"]).start()
    tag = "hx" + h.new_id()[:8]

    # Garbage instead of a frame: the connection is closed.
    s = Session(rp)
    s.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    h.check(s.closed(), "garbage: connection closed")
    s.close()
    # A command before "open": closed, nothing stored.
    s = Session(rp)
    s.send(b"syslog", line(tag, 900))
    h.check(s.closed(), "syslog before open: connection closed")
    s.close()
    # An open without relp_version: refused (500) and closed.
    s = Session(rp)
    s.send(b"open", b"commands=syslog")
    a = s.answer()
    h.check(a is not None and a[2].startswith(b"500"), "open without relp_version: 500 (%r)" % (a,))
    h.check(s.closed(), "then closed")
    s.close()

    # An oversized frame is answered 500 and skipped; the session goes on.
    s = Session(rp)
    s.open()
    t1 = s.send(b"syslog", line(tag, 1))
    t2 = s.send(b"syslog", b"<134>1 - h app - - - " + b"x" * 5000)
    t3 = s.send(b"bogus", b"what")
    t4 = s.send(b"syslog", line(tag, 2))
    got = [s.answer() for _ in range(4)]
    h.check_eq([(a[0], a[2][:3]) for a in got],
               [(t1, b"200"), (t2, b"500"), (t3, b"500"), (t4, b"200")],
               "answers in order: ok, too large, unknown command, ok")
    m = srv.metrics()
    h.check(h.metric_sum(m, "bilor_socket_oversize_total", door="syslog") >= 1,
            "the oversized frame is counted")
    # A TXNR-0 hint is never answered; close is answered, then the server closes.
    s.sock.sendall(frame(0, b"hint"))
    tc = s.send(b"close")
    a = s.answer()
    h.check_eq((a[0], a[2][:3]), (tc, b"200"), "close answered")
    h.check(s.closed(), "closed after close")
    s.close()

    # Thousands of commands without reading one answer (window 1024 on our side).
    flood = Session(rp)
    flood.open()
    n = 5000
    out = b"".join(frame(i + 2, b"syslog", line(tag, 1000 + i)) for i in range(n))
    writer = threading.Thread(target=lambda: flood.sock.sendall(out))
    writer.start()
    time.sleep(1)
    # Meanwhile another session is served.
    other = Session(rp)
    other.open()
    t = other.send(b"syslog", line(tag, 3))
    a = other.answer()
    h.check_eq((a[0], a[2][:3]), (t, b"200"), "another session is answered meanwhile")
    other.close()
    answers = [flood.answer() for _ in range(n)]
    writer.join(30)
    h.check_eq([a[0] for a in answers], list(range(2, n + 2)), "every command answered, in order")
    h.check(all(a[2].startswith(b"200") for a in answers), "all of them 200")
    flood.close()

    want = {"%s %06d" % (tag, i) for i in [1, 2, 3] + list(range(1000, 1000 + n))}
    h.wait_for(lambda: want <= set(messages(srv, tag)), timeout=60, what="the accepted lines")
    got = messages(srv, tag)
    h.check_eq(len(got), len(want), "each stored once, nothing else (%d)" % len(got))
    h.check(srv.alive(), "the server is still up")
    rc, took = srv.stop()
    h.check_eq(rc, 0, "clean stop")


if __name__ == "__main__":
    h.main()
