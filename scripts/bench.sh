#!/usr/bin/env bash
# `make bench`: builds a Release bilor and bilor-bench, then for each phase
# (events, logs) starts a fresh `bilor serve` on a free loopback port with a
# temporary data dir, drives it with bilor-bench, waits until the journal
# backlog is digested, and prints accepted/s, digested/s, ack latency,
# server RSS and server CPU per event or line. docs/bench.md explains the
# figures. Figures only: it never fails on a number.
#
#   scripts/bench.sh                       # 60 s per phase, one run
#   BENCH_DURATION=10 scripts/bench.sh     # quick look
#   BENCH_RUNS=3 scripts/bench.sh          # three runs, then the medians
#   BENCH_PHASES=logs scripts/bench.sh     # one phase only
#   BENCH_PERF=1 scripts/bench.sh          # also perf-record the server under load
#   BENCH_TIMELINE_S=2 scripts/bench.sh    # digest rate and journal backlog every 2 s (default 5)
#   BENCH_RATE_LIMIT=1 scripts/bench.sh    # key and project rate limits on (never reached)
#   scripts/bench.sh -- --connections 64   # extra bilor-bench options
#   BENCH_SYSCALLS=1 scripts/bench.sh      # also count system calls, context switches and page
#                                          # faults per thread for 8 s mid-load (perf stat; syscalls-*.txt)
#   BENCH_SERVE_ARGS="--http-threads 4" scripts/bench.sh   # extra `bilor serve` options
#   BENCH_IDLE=1000 BENCH_IDLE_MODE=trickle scripts/bench.sh  # hold 1000 idle (or trickling)
#                                          # connections during the load (tools/measure/http_idle.py)
#   BENCH_PROBE=1 scripts/bench.sh         # a JSON line every 0.3 s during the load, timed from its
#                                          # ack until a search finds it (tools/measure/search_delay.py)
#
# Log door phases (docs/bench.md), each against a fresh server too:
#   BENCH_PHASES="syslog-udp syslog-tcp gelf-udp gelf-tcp relp relp-rsyslog es otlp" scripts/bench.sh
# The socket ones run tools/sockload/run.py (bilor-sockload; relp-rsyslog: rsyslogd's omrelp),
# es and otlp tools/measure/es_bulk_load.py; each prints lines/s accepted and digested (and the
# loss for UDP), with medians over BENCH_RUNS.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${BENCH_BUILD_DIR:-$here/build-bench-release}"
duration="${BENCH_DURATION:-60}"
runs="${BENCH_RUNS:-1}"
phases="${BENCH_PHASES:-events logs}"
connections="${BENCH_CONNECTIONS:-32}"
drain_max="${BENCH_DRAIN_MAX:-600}"
out="${BENCH_OUT:-$build/bench-results/$(date +%Y%m%d-%H%M%S)}"
[ "${1:-}" = "--" ] && shift
extra=("$@")

bilor="$build/src/bilor"
gen="$build/tools/bench/bilor-bench"
token="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
srv_pid=""
data=""
idle_pid=""
probe_pid=""

# Ends the helpers that run beside a load only (idle connections, the search probe).
stop_load_helpers() {
    local pid
    for pid in "$idle_pid" "$probe_pid"; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    idle_pid=""
    probe_pid=""
}

cleanup() {
    stop_load_helpers
    # A clean stop takes a few seconds (the journal keeps any backlog); the
    # data is thrown away, so a server still running after 10 s is killed.
    if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
        kill -TERM "$srv_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$srv_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
    fi
    [ -n "$data" ] && [ "${BENCH_KEEP:-0}" != 1 ] && rm -rf "$data"
    srv_pid=""
    data=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

build_all() {
    if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
        bash "$here/scripts/install-deps.sh"
        cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
        ninja -C "$build" -j2 bilor bilor-bench bilor-sockload
    fi
    mkdir -p "$out"
}

# A loopback port nobody listens on, below the ephemeral range so that no
# client connection holds it (no python needed on a bare machine).
free_port() {
    local low p
    low="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    while :; do
        p=$((10000 + RANDOM % (low - 10000)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

now() { date +%s.%N; }

# metric NAME: the value of an unlabelled series from /metrics (0 if absent).
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" |
        awk -v n="$1" '$1 == n { v = $2 } END { print (v == "" ? 0 : v) }'
}

# Server CPU seconds (utime + stime) and memory from /proc.
# Each server thread's name and CPU seconds (utime + stime), busiest first.
thread_cpu() {
    local t
    for t in /proc/"$srv_pid"/task/*; do
        printf '%s ' "$(cat "$t/comm")"
        sed 's/^.*) //' "$t/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f ", ($12 + $13) / hz }'
        # bytes of pages the thread dirtied (journal, WAL frames, checkpoint copies)
        awk '$1 == "write_bytes:" { printf "wbytes=%s\n", $2 }' "$t/io" 2>/dev/null || echo
    done | sort -k2 -rn
}
srv_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$srv_pid/stat"; }
# Server CPU seconds by thread: the digest names its threads (bilor-decode, bilor-writer);
# the rest (doors, journal flusher) keep the process's name.
srv_threads() {
    local t hz
    hz="$(getconf CLK_TCK)"
    for t in /proc/"$srv_pid"/task/*; do
        printf '%s %s\n' "$(cat "$t/comm" 2>/dev/null)" "$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
    done | awk -v hz="$hz" '{ c[$1 == "bilor-decode" || $1 == "bilor-writer" ? $1 : "other"] += $2 }
        END { printf "cpu_decode_s=%.2f cpu_writer_s=%.2f cpu_other_s=%.2f\n", c["bilor-decode"] / hz, c["bilor-writer"] / hz, c["other"] / hz }'
}
srv_mem() { awk -v k="$1" '$1 == k":" { printf "%.1f\n", $2 / 1024 }' "/proc/$srv_pid/status"; }

start_server() {
    local try up=0
    data="$(mktemp -d "${TMPDIR:-/tmp}/bilor-bench.XXXXXX")"
    for try in 1 2 3 4 5; do
        port="$(free_port)"
        BILOR_ADMIN_TOKEN="$token" "$bilor" serve --listen "127.0.0.1:$port" --data-dir "$data/d" \
            --log-level info ${BENCH_SERVE_ARGS:-} >"$data/serve.log" 2>&1 &
        srv_pid=$!
        for _ in $(seq 1 150); do
            curl -sf --max-time 1 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && { up=1; break 2; }
            kill -0 "$srv_pid" 2>/dev/null || break
            sleep 0.2
        done
        # Retry only when the port was taken between the check and the bind.
        kill -0 "$srv_pid" 2>/dev/null || grep -q 'cannot listen' "$data/serve.log" || break
        kill -0 "$srv_pid" 2>/dev/null && break
    done
    if [ "$up" != 1 ]; then
        cat "$data/serve.log" >&2
        echo "bench: the server did not start" >&2
        exit 1
    fi
    key="$(sed -n 's#.*DSN: *https\?://\([0-9a-f]*\)@.*#\1#p' "$data/serve.log" | head -1)"
    if [ -z "$key" ]; then
        key="$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/0/projects/" |
            sed -n 's#.*"dsn": *"https\?://\([0-9a-f]*\)@.*#\1#p' | head -1)"
    fi
    [ -n "$key" ] || { echo "bench: no DSN key" >&2; exit 1; }
    if [ "${BENCH_RATE_LIMIT:-0}" = 1 ]; then
        # Limits far above the load: every request is charged to the key's and the
        # project's buckets, none is refused. The door sees them within 1 s.
        local lim='{"events_per_minute": 1000000000, "events_per_hour": 100000000000, "lines_per_minute": 1000000000}'
        curl -sf -X PUT -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
            -d "$lim" "http://127.0.0.1:$port/api/0/projects/1/keys/1/" >/dev/null
        curl -sf -X PUT -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
            -d "$lim" "http://127.0.0.1:$port/api/0/projects/1/settings/" >/dev/null
        sleep 1.5
    fi
}

# Waits until everything acknowledged is digested; prints the seconds it took.
drain() {
    local t0 t backlog
    t0="$(now)"
    while :; do
        backlog="$(metric bilor_journal_backlog_bytes)"
        t="$(now)"
        if [ "${backlog%.*}" = 0 ] || awk -v a="$t" -v b="$t0" -v m="$drain_max" 'BEGIN { exit !(a - b > m) }'; then
            break
        fi
        sleep 0.2
    done
    awk -v a="$t" -v b="$t0" 'BEGIN { printf "%.2f\n", a - b }'
}

# Every BENCH_TIMELINE_S (5) seconds until killed: the digest's rate since the sample
# before and the journal's backlog, so a run shows whether the digest keeps up over time.
timeline() {
    local t0 pt pd t d b
    t0="$(now)"
    pt="$t0"
    pd="$(metric bilor_events_digested_total)"
    while sleep "${BENCH_TIMELINE_S:-5}"; do
        t="$(now)"
        d="$(metric bilor_events_digested_total)"
        b="$(metric bilor_journal_backlog_bytes)"
        awk -v t="$t" -v t0="$t0" -v pt="$pt" -v d="$d" -v pd="$pd" -v b="$b" 'BEGIN {
            printf "[%6.1fs] digested %.0f/s, journal backlog %.1f MB (%.0f digested)\n",
                t - t0, (d - pd) / (t - pt), b / 1e6, d }'
        pt="$t"
        pd="$d"
    done
}

# From a timeline: the digest's rate between its first and last samples (the pipeline's
# fill before the first and its lag after the last left out), the least-squares slope of
# the backlog over the samples in MB a minute (about 0: the digest keeps up), its largest.
timeline_stats() {
    awk '{ l = $0; gsub(/[][()]/, " ", l); k = split(l, a, " ")
            t[++n] = a[1] + 0; b[n] = a[k - 3]; d[n] = a[k - 1] }
        END {
            if (n < 2) { print "dig_steady=0 backlog_slope=0 backlog_max=0"; exit }
            for (i = 1; i <= n; i++) { st += t[i]; sb += b[i]; if (b[i] > mx) mx = b[i] }
            mt = st / n; mb = sb / n
            for (i = 1; i <= n; i++) { num += (t[i] - mt) * (b[i] - mb); den += (t[i] - mt) ^ 2 }
            printf "dig_steady=%.0f backlog_slope=%.2f backlog_max=%.1f\n",
                (d[n] - d[1]) / (t[n] - t[1]), (den > 0 ? num / den * 60 : 0), mx
        }' "$1"
}

# One phase against a fresh server; appends one line to $out/results.txt.
run_phase() {
    local phase="$1" run="$2" log="$out/$phase-$run.txt" perf_pid="" tl_pid
    local cpu0 dig0 dig_load dig1 backlog_end backlog_left issues cpu1 drain_s result threads
    start_server
    cpu0="$(srv_cpu)"
    dig0="$(metric bilor_events_digested_total)"
    if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
        perf record -F 499 ${BENCH_PERF_ARGS:-} -p "$srv_pid" -o "$out/perf-$phase-$run.data" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    if [ "${BENCH_IDLE:-0}" -gt 0 ]; then
        python3 "$here/tools/measure/http_idle.py" "$port" "$BENCH_IDLE" "${BENCH_IDLE_MODE:-idle}" \
            >"$out/idle-$phase-$run.txt" 2>&1 &
        idle_pid=$!
        sleep 3 # all open before the load and its CPU count start
        cpu0="$(srv_cpu)"
    fi
    timeline >"$out/timeline-$phase-$run.txt" 2>/dev/null &
    tl_pid=$!
    if [ "${BENCH_PROBE:-0}" = 1 ]; then
        python3 "$here/tools/measure/search_delay.py" "$port" "$key" "$token" "$duration" \
            >"$out/probe-$phase-$run.txt" 2>&1 &
        probe_pid=$!
    fi
    if [ "${BENCH_SYSCALLS:-0}" = 1 ] && command -v perf >/dev/null; then
        # per journal record (one a request): the counts over the records appended meanwhile,
        # from the load's middle on (the first seconds fault the heaps in: not the steady state)
        local at
        at="$(awk -v d="$duration" 'BEGIN { s = d / 2 - 4; print s < 2 ? 2 : s }')"
        (sleep "$at" && r0="$(metric bilor_journal_appended_records_total)" &&
            perf stat -e 'raw_syscalls:sys_enter,context-switches,page-faults' --per-thread \
                -p "$srv_pid" -x, -o "$out/syscalls-$phase-$run.txt" -- sleep 8 &&
            r1="$(metric bilor_journal_appended_records_total)" &&
            awk -F, -v n="$((${r1%.*} - ${r0%.*}))" '/^[^#]/ && NF > 3 {
                    sub(/-[0-9]+$/, "", $1); v[$1 " " $4] += $2 }
                END { printf "records %d\n", n; for (k in v) printf "%-40s %8.2f per record\n", k, v[k] / n }' \
                "$out/syscalls-$phase-$run.txt" | sort >"$out/syscalls-per-record-$phase-$run.txt") \
            >/dev/null 2>&1 &
    fi
    "$gen" --url "http://127.0.0.1:$port" --dsn-key "$key" --project 1 --mode "$phase" \
        --duration "$duration" --connections "$connections" --rate-limit none \
        ${extra[@]+"${extra[@]}"} 2>&1 | tee "$log"
    kill "$tl_pid" 2>/dev/null || true
    wait "$tl_pid" 2>/dev/null || true
    local probed="$probe_pid"
    stop_load_helpers
    [ -z "$probed" ] || echo "ack to searchable: $(cat "$out/probe-$phase-$run.txt")"
    echo "digest over the load:"
    cat "$out/timeline-$phase-$run.txt"
    backlog_end="$(metric bilor_journal_backlog_bytes)"
    dig_load="$(metric bilor_events_digested_total)"
    drain_s="$(drain)"
    dig1="$(metric bilor_events_digested_total)"
    backlog_left="$(metric bilor_journal_backlog_bytes)"
    issues="$(metric bilor_issues_created_total)"
    # The profile covers the load and the drain: doors and digest both.
    if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf report -i "$out/perf-$phase-$run.data" --stdio --sort comm,dso,symbol \
            2>/dev/null | grep -v '^#' | grep '%' | head -40 >"$out/perf-$phase-$run.txt" || true
    fi
    cpu1="$(srv_cpu)"
    threads="$(srv_threads)"
    echo "server CPU by thread: $threads"
    # Where the time went: the server's metrics (batch sizes, writer time) and per-thread CPU.
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" >"$out/metrics-$phase-$run.txt" 2>/dev/null || true
    thread_cpu >"$out/threads-$phase-$run.txt" 2>/dev/null || true
    result="$(grep '^RESULT ' "$log" | tail -1)"
    [ -n "$result" ] || { echo "bench: bilor-bench gave no result" >&2; exit 1; }
    echo "$result phase=$phase run=$run digested=$((${dig1%.*} - ${dig0%.*}))" \
        "digested_load=$((${dig_load%.*} - ${dig0%.*})) drain_s=$drain_s" \
        "backlog_end=${backlog_end%.*} backlog_left=${backlog_left%.*} cpu_s=$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN { print a - b }')" \
        "rss_peak_mb=$(srv_mem VmHWM) rss_mb=$(srv_mem VmRSS) issues=${issues%.*} $threads" \
        "$(timeline_stats "$out/timeline-$phase-$run.txt")" >>"$out/results.txt"
    cleanup
}

sock_phases=" syslog-udp syslog-tcp gelf-udp gelf-tcp relp relp-rsyslog "
http_door_phases=" es otlp "

# One log door phase; appends one DOOR line to $out/results.txt.
run_door_phase() {
    local phase="$1" run="$2" log="$out/$phase-$run.txt" dig0 dig1 drain_s result acc el
    if [[ "$sock_phases" == *" $phase "* ]]; then
        SOCKLOAD_PHASES="$phase" SOCKLOAD_FRESH=1 SOCKLOAD_DRAIN_MAX="$drain_max" \
            python3 "$here/tools/sockload/run.py" "$build" "$duration" "${BENCH_UDP_RATE:-100000}" \
            2>&1 | tee "$log"
        result="$(grep '^RESULT ' "$log" | tail -1)"
        [ -n "$result" ] || { echo "bench: tools/sockload/run.py gave no result" >&2; exit 1; }
        echo "DOOR ${result#RESULT } run=$run" >>"$out/results.txt"
        return
    fi
    start_server
    dig0="$(metric bilor_events_digested_total)"
    python3 "$here/tools/measure/es_bulk_load.py" "$port" "$key" "$duration" \
        "${BENCH_HTTP_PROCS:-2}" "$phase" 2>&1 | tee "$log"
    drain_s="$(drain)"
    dig1="$(metric bilor_events_digested_total)"
    result="$(grep '^RESULT ' "$log" | tail -1)"
    [ -n "$result" ] || { echo "bench: es_bulk_load.py gave no result" >&2; exit 1; }
    acc="$(echo "$result" | sed -n 's/.* accepted=\([0-9]*\).*/\1/p')"
    el="$(echo "$result" | sed -n 's/.* elapsed=\([0-9.]*\).*/\1/p')"
    echo "DOOR phase=$phase run=$run accepted=$acc elapsed=$el" \
        "accepted_per_s=$(awk -v a="$acc" -v e="$el" 'BEGIN { printf "%.0f", a / e }')" \
        "digested=$((${dig1%.*} - ${dig0%.*})) drain_s=$drain_s" \
        "digested_per_s=$(awk -v d="$((${dig1%.*} - ${dig0%.*}))" -v e="$el" -v s="$drain_s" 'BEGIN { printf "%.0f", d / (e + s) }')" \
        "loss_pct=0" >>"$out/results.txt"
    cleanup
}

# The log doors' table: lines accepted and digested per second, UDP loss; medians per phase.
summarize_doors() {
    awk '
    function kv(   i, p) { delete f; for (i = 1; i <= NF; i++) { split($i, p, "="); f[p[1]] = p[2] } }
    function med(ph, c,   n, i, j, t, a) {
        n = cnt[ph]; for (i = 1; i <= n; i++) a[i] = v[ph, c, i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    BEGIN { printf "%-20s %13s %13s %8s %8s\n", "door phase/run", "accepted/s", "digested/s", "loss %", "drain s" }
    /^DOOR / {
        kv(); ph = f["phase"]; n = ++cnt[ph]; if (!(ph in seen)) { seen[ph] = 1; order[++np] = ph }
        v[ph, "acc", n] = f["accepted_per_s"]; v[ph, "dig", n] = f["digested_per_s"]
        v[ph, "loss", n] = f["loss_pct"]; v[ph, "drain", n] = f["drain_s"]
        printf "%-20s %13.0f %13.0f %8.2f %8.1f\n", ph " #" f["run"], f["accepted_per_s"],
            f["digested_per_s"], f["loss_pct"], f["drain_s"]
    }
    END {
        for (k = 1; k <= np; k++) {
            ph = order[k]
            printf "%-20s %13.0f %13.0f %8.2f %8.1f\n", ph " median", med(ph, "acc"),
                med(ph, "dig"), med(ph, "loss"), med(ph, "drain")
        }
    }' "$out/results.txt"
}

# The table: one row per run, then the median of each column per phase.
summarize() {
    awk '
    function kv(   i, p) { delete f; for (i = 1; i <= NF; i++) { split($i, p, "="); f[p[1]] = p[2] } }
    function med(ph, c,   n, i, j, t, a) {
        n = cnt[ph]; for (i = 1; i <= n; i++) a[i] = v[ph, c, i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function row(label, r) {
        printf "%-14s %11.0f %11.0f %11.0f %11.0f %8.1f %7.2f %7.2f %7.1f %7.1f %8.1f %7.0f %7.1f %7.1f\n",
            label, r["acc"], r["digl"], r["dig"], r["steady"], r["slope"], r["p50"], r["p99"],
            r["rss_peak"], r["rss"], r["cpu_us"], r["limited"], r["drain"], r["left"]
    }
    BEGIN {
        printf "%-14s %11s %11s %11s %11s %8s %7s %7s %7s %7s %8s %7s %7s %7s\n", "phase/run",
            "accepted/s", "dig/s load", "dig/s all", "dig/s stdy", "MB/min", "p50 ms", "p99 ms",
            "peakMB", "rssMB", "cpu us/u", "429s", "drain s", "left MB"
        ncol = split("acc digl dig steady slope p50 p99 rss_peak rss cpu_us limited drain left", cols, " ")
    }
    /^RESULT / {
        kv(); ph = f["phase"]; n = ++cnt[ph]; if (!(ph in seen)) { seen[ph] = 1; order[++np] = ph }
        r["acc"] = f["accepted_per_s"]; r["p50"] = f["p50_ms"]; r["p99"] = f["p99_ms"]
        r["digl"] = f["digested_load"] / f["elapsed"]
        r["dig"] = f["digested"] / (f["elapsed"] + f["drain_s"])
        r["steady"] = f["dig_steady"]; r["slope"] = f["backlog_slope"]
        r["rss_peak"] = f["rss_peak_mb"]; r["rss"] = f["rss_mb"]; r["limited"] = f["limited"]
        r["cpu_us"] = f["digested"] > 0 ? f["cpu_s"] * 1e6 / f["digested"] : 0
        r["drain"] = f["drain_s"]; r["left"] = f["backlog_left"] / 1e6
        for (i = 1; i <= ncol; i++) v[ph, cols[i], n] = r[cols[i]]
        row(ph " #" f["run"], r)
    }
    END {
        for (k = 1; k <= np; k++) {
            ph = order[k]; for (i = 1; i <= ncol; i++) m[cols[i]] = med(ph, cols[i])
            row(ph " median", m)
        }
    }' "$out/results.txt"
}

build_all
echo "bench: $runs run(s) of [$phases], $duration s each, $connections connections; results in $out"
for run in $(seq 1 "$runs"); do
    for phase in $phases; do
        if [[ "$sock_phases$http_door_phases" == *" $phase "* ]]; then
            run_door_phase "$phase" "$run"
        else
            run_phase "$phase" "$run"
        fi
    done
done
touch "$out/results.txt" "$out/summary.txt"
if grep -q '^RESULT ' "$out/results.txt"; then
    echo
    echo "units: events for the events phase (half /store/, half /envelope/), log lines for logs."
    echo "dig/s load: stored during the load / load time; dig/s all: stored during load and drain /"
    echo "(load + drain time); cpu us/u: server CPU per stored unit; left MB: backlog the drain did not"
    echo "digest within BENCH_DRAIN_MAX (then dig/s all is what the digest managed, not a finished run)."
    echo "dig/s stdy: stored between the first and the last timeline samples / their interval (the"
    echo "pipeline's fill before and its lag after left out); MB/min: the backlog's least-squares slope"
    echo "over the samples (about 0: the digest keeps up; it also moves with the lag of each sample)."
    summarize | tee "$out/summary.txt"
fi
if grep -q '^DOOR ' "$out/results.txt"; then
    echo
    echo "log doors, in log lines: accepted/s = journaled (RELP: also acknowledged) per second of load;"
    echo "digested/s = stored during load and drain / (load + drain time); loss: UDP, sent - accepted."
    summarize_doors | tee -a "$out/summary.txt"
fi
