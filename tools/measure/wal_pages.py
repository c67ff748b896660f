#!/usr/bin/env python3
"""wal_pages.py - the pages a run's commits wrote, by table and index.

Usage: wal_pages.py DATA_DIR EVENTS [WAKE_FRAMES...]

Reads every WAL of DATA_DIR (bilor.db-wal and events/*.db-wal) as
`WAL_KEEP=1 bilor-measure-issue-write` leaves them (the checkpointer paused,
the store not closed), counts the frames of each committed transaction by
the b-tree that owns each page (dbstat, read from a copy of the database and
its WAL), and prints frames per event by b-tree, plus the distinct pages
(what a checkpoint of the whole WAL would copy back). EVENTS is the number
of events the run wrote. Frames of transactions that never committed are
not counted.

With WAKE_FRAMES, it also replays the day files' commits against a
checkpointer woken at the first commit that leaves that many frames in the
WAL (store_sqlite_ckpt.c), which then copies every distinct page of the WAL
and lets it start over: the pages copied back per event for each threshold
(the last, partial window included).
"""
import collections
import glob
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def wal_frames(path):
    """The page numbers of the committed frames of a WAL, one list per transaction."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 32:
        return []
    magic, _ver, pgsz, _seq, salt1, salt2 = struct.unpack(">IIIIII", data[:24])
    if magic not in (0x377F0682, 0x377F0683):
        return []
    txs, cur, off = [], [], 32
    while off + 24 + pgsz <= len(data):
        pgno, commit, s1, s2 = struct.unpack(">IIII", data[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break
        cur.append(pgno)
        if commit != 0:
            txs.append(cur)
            cur = []
        off += 24 + pgsz
    return txs


def owners(db, wal):
    """pageno -> b-tree name, from a copy (opening it replays the WAL)."""
    tmp = tempfile.mkdtemp()
    try:
        dst = os.path.join(tmp, "x.db")
        shutil.copy(db, dst)
        shutil.copy(wal, dst + "-wal")
        con = sqlite3.connect(dst)
        m = {pg: name for name, pg in con.execute("SELECT name, pageno FROM dbstat")}
        con.close()
        return m
    finally:
        shutil.rmtree(tmp)


def copies(txs, wake):
    """Pages a checkpoint at each commit that leaves wake frames in the WAL copies back."""
    n, frames, pages = 0, 0, set()
    for tx in txs:
        frames += len(tx)
        pages.update(tx)
        if frames >= wake:
            n += len(pages)
            frames, pages = 0, set()
    return n + len(pages)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ddir, nev = sys.argv[1], int(sys.argv[2])
    wakes = [int(w) for w in sys.argv[3:]]
    walls = [os.path.join(ddir, "bilor.db-wal")]
    walls += sorted(glob.glob(os.path.join(ddir, "events", "*.db-wal")))
    total_f = total_d = 0
    for wal in walls:
        if not os.path.exists(wal):
            continue
        txs = wal_frames(wal)
        own = owners(wal[:-4], wal)
        frames = collections.Counter()
        distinct = collections.Counter()
        seen = set()
        for tx in txs:
            for pg in tx:
                name = own.get(pg, "(freelist or new)")
                frames[name] += 1
                if pg not in seen:
                    seen.add(pg)
                    distinct[name] += 1
        nf = sum(frames.values())
        total_f += nf
        total_d += len(seen)
        print(f"{os.path.relpath(wal, ddir)}: {len(txs)} commits, {nf} frames,"
              f" {nf / nev:.3f} frames/event, {len(seen) / nev:.3f} distinct pages/event")
        for name, n in frames.most_common():
            print(f"  {name:28s} {n / nev:7.3f} frames/event"
                  f" {distinct[name] / nev:7.3f} distinct/event")
        for w in wakes:
            print(f"  checkpoint woken at {w} frames:"
                  f" {copies(txs, w) / nev:.3f} pages copied/event")
    print(f"all files: {total_f / nev:.3f} frames/event, {total_d / nev:.3f} distinct pages/event")


if __name__ == "__main__":
    main()
