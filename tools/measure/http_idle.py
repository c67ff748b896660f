#!/usr/bin/env python3
"""Holds many idle or trickling HTTP connections open against a running bilor.

    python3 tools/measure/http_idle.py PORT COUNT [idle|trickle] [SECONDS]

The connections come from many loopback source addresses (127.1.0.1 and up,
32 each, below the server's per-address share of 64), so the server admits
them all. idle: a connection sends nothing, like a keep-alive client between
requests; trickle: it sends the start of a request and then one header byte
every 5 s (slowloris). The server cuts both at its header deadline
(--header-timeout, 15 s); a cut connection is opened again at once, so COUNT
stay held. This is the load the HTTP threads' polling must stay cheap under
(docs/bench.md, stop 12): the script itself wakes rarely (trickle: COUNT/5
sends a second). Runs SECONDS (default: until killed); prints a line a
5 s with how many are open and how many were reopened.
"""
import errno, selectors, socket, sys, time

PORT = int(sys.argv[1])
COUNT = int(sys.argv[2])
MODE = sys.argv[3] if len(sys.argv) > 3 else "idle"
SECS = float(sys.argv[4]) if len(sys.argv) > 4 else 1e9
PER_ADDR = 32
TRICKLE_S = 5.0

sel = selectors.DefaultSelector()
conns = {}  # fd -> [socket, index, next trickle time]
reopened = 0


def source(i):
    k = i // PER_ADDR
    return "127.1.%d.%d" % (k // 250, k % 250 + 1)


def open_one(i, now):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT
        s.bind((source(i), 0))
        s.connect(("127.0.0.1", PORT))
    except BlockingIOError:
        pass
    except OSError as e:
        s.close()
        if e.errno in (errno.EADDRNOTAVAIL, errno.ECONNREFUSED):
            return False
        raise
    conns[s.fileno()] = [s, i, now + TRICKLE_S * (i % 100) / 100, False]
    sel.register(s, selectors.EVENT_READ)
    return True


def close_one(fd):
    s = conns.pop(fd)[0]
    sel.unregister(s)
    s.close()


def main():
    global reopened
    start = time.monotonic()
    for i in range(COUNT):
        open_one(i, start)
    next_report = start + 5
    while True:
        now = time.monotonic()
        if now - start > SECS:
            break
        for key, _ in sel.select(timeout=0.5):
            fd = key.fileobj.fileno()
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:  # the server closed it (deadline, or refused): open it again
                i = conns[fd][1]
                close_one(fd)
                reopened += 1
                open_one(i, time.monotonic())
        if MODE == "trickle":
            now = time.monotonic()
            for fd, c in list(conns.items()):
                if now < c[2]:
                    continue
                c[2] = now + TRICKLE_S
                try:
                    if not c[3]:
                        c[0].send(b"POST /api/1/store/ HTTP/1.1\r\nHost: x\r\nX-A: ")
                        c[3] = True
                    else:
                        c[0].send(b"a")
                except OSError:
                    pass
        if now >= next_report:
            print("http_idle: %d open, %d reopened" % (len(conns), reopened), flush=True)
            next_report = now + 5


main()
