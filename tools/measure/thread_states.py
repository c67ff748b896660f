#!/usr/bin/env python3
"""thread_states.py - what each thread of a process is doing, sampled.

Usage: thread_states.py PID SECONDS [THREAD_NAME]

Reads /proc/PID/task/*/stat (and wchan) every 5 ms for SECONDS and prints,
per thread, the share of samples it was running or runnable (R), asleep (S)
or in uninterruptible sleep (D), with the kernel function it waited in.
With THREAD_NAME it also prints the kernel stacks (/proc/.../stack, root
only) of that thread's D-state samples, most frequent first: where a thread
that should be busy waits for the disk. Used for docs/bench.md, stop 13
(`pgrep -f 'bilor serve'` for the PID while scripts/bench.sh runs).
"""
import collections
import os
import sys
import time


def comm_of(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/comm") as f:
        return f.read().strip()


def sample(pid, tid, want_stack):
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        st = f.read()
    state = st[st.rindex(")") + 2]
    if state == "R":
        return state, None
    with open(f"/proc/{pid}/task/{tid}/wchan") as f:
        what = f"{state} {f.read().strip()}"
    stack = None
    if state == "D" and want_stack:
        with open(f"/proc/{pid}/task/{tid}/stack") as f:
            frames = [ln.split(" ")[1].split("+")[0] for ln in f.read().splitlines() if " " in ln]
        stack = " < ".join(frames[:9])
    return what, stack


def main():
    pid, secs = sys.argv[1], float(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else None
    states = collections.defaultdict(collections.Counter)
    stacks = collections.Counter()
    end = time.time() + secs
    while time.time() < end:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                comm = comm_of(pid, tid)
                what, stack = sample(pid, tid, comm == name)
            except OSError:
                continue  # the thread ended between the listing and the read
            states[f"{comm}:{tid}"][what] += 1
            if stack:
                stacks[stack] += 1
        time.sleep(0.005)
    for thread, c in sorted(states.items()):
        total = sum(c.values())
        print(thread, ", ".join(f"{s}={n * 100 // total}%" for s, n in c.most_common(5)))
    for stack, n in stacks.most_common(12):
        print(n, stack)


if __name__ == "__main__":
    main()
