"""The WAL checkpointer in /metrics: its six counters are there before and
after a write; no errors, and the writer never had to checkpoint itself for
a load this small (the thread only starts past SQ_CKPT_WAKE_FRAMES; the
counters' values under load are checked by tests/unit/test_store_ckpt.c).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bilor_harness as h  # noqa: E402

NAMES = ["bilor_store_checkpoint_passes_total", "bilor_store_checkpoint_frames_total",
         "bilor_store_checkpoint_truncates_total", "bilor_store_checkpoint_errors_total",
         "bilor_store_writer_checkpoints_total", "bilor_store_writer_checkpoint_frames_total"]


def value(metrics, name):
    return metrics[name][0][1]


@h.test
def test_checkpointer_metrics():
    srv = h.Server().start()
    m = srv.metrics()
    for name in NAMES:
        h.check(name in m and len(m[name]) == 1, "%s in /metrics" % name)
    lines = [{"message": "line %d" % i, "level": "error" if i % 10 == 0 else "info"}
             for i in range(200)]
    r = srv.post("/api/1/logs", ("\n".join(json.dumps(x) for x in lines) + "\n").encode(),
                 headers=dict(srv.auth_headers(1), **{"Content-Type": "application/x-ndjson"}))
    h.check_eq(r.status, 200, "ndjson accepted")
    h.wait_for(lambda: value(srv.metrics(), "bilor_events_digested_total") >= 200 or None,
               what="the 200 lines stored")
    m = srv.metrics()
    for name in NAMES:
        h.check(value(m, name) >= 0, "%s a count" % name)
    h.check_eq(value(m, "bilor_store_checkpoint_errors_total"), 0, "no checkpoint errors")
    h.check_eq(value(m, "bilor_store_writer_checkpoints_total"), 0, "the writer never had to")
    srv.stop()


if __name__ == "__main__":
    h.main()
