#!/usr/bin/env bash
# Collector benchmark: the standard set sent over loopback to `heatlake serve` by the load
# generator (crates/cli/examples/loadgen.rs: pre-built request bodies, keep-alive, concurrent
# connections), on the same machine.
#
#   bash benches/collector.sh [EVENTS] [CONNECTIONS]   # default 10000000 events, 8 connections
#
# Reports events/s at acknowledgement, collector CPU µs per event (the process's CPU time from
# start to the last commit: decode, privacy, WAL, flush, Parquet and commits included), peak RSS,
# files and commits, then p50/p99 ack latency of a second run paced at half the measured peak.
# Prints Markdown for BENCHMARKS.md. Work files go to $BENCH_DIR (default /tmp/heatlake-bench).
# Not a test: timings depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/heatlake-target}
events=${1:-10000000}
connections=${2:-8}
batch_events=1000
seed=10
work=${BENCH_DIR:-/tmp/heatlake-bench}/collector
mkdir -p "$work"
cargo build --release --locked --workspace --bin heatlake --example loadgen >&2
heatlake=$CARGO_TARGET_DIR/release/heatlake
loadgen=$CARGO_TARGET_DIR/release/examples/loadgen
export HEATLAKE_HOME=$work/home
input=$work/events-$events-$seed.ndjson
[[ -s $input ]] || "$heatlake" gen --events "$events" --seed "$seed" --out "$input" >/dev/null

clock_ticks=$(getconf CLK_TCK)
collector_pid=""
cleanup() { [[ -n $collector_pid ]] && kill "$collector_pid" 2>/dev/null || true; }
trap cleanup EXIT

# Starts a collector on a fresh table; sets collector_pid and address.
start_collector() {
    local name=$1
    rm -rf "${work:?}/$name" && mkdir -p "$work/$name"
    "$loadgen" config "$input" "$work/$name/collector.toml" "$work/$name/events" "$work/$name/data"
    "$heatlake" serve --config "$work/$name/collector.toml" >"$work/$name/stdout" 2>"$work/$name/stderr" &
    collector_pid=$!
    for _ in $(seq 600); do
        address=$(grep -o 'listening on http://[0-9.:]*' "$work/$name/stdout" 2>/dev/null | sed 's|listening on http://||' || true)
        [[ -n $address ]] && return 0
        sleep 0.1
    done
    echo "the collector did not start" >&2
    cat "$work/$name/stderr" >&2
    return 1
}

metric() { curl -s "http://$address/metrics" | awk -v name="$1" '$1 == name || $1 == "heatlake_" name { sum += $2 } END { printf "%d", sum }'; }
cpu_seconds() { awk -v ticks="$clock_ticks" '{ printf "%.2f", ($14 + $15) / ticks }' "/proc/$collector_pid/stat"; }
peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$collector_pid/status"; }

wait_committed() {
    local want=$1
    for _ in $(seq 3000); do
        [[ $(metric committed_events) -ge $want ]] && return 0
        sleep 0.1
    done
    echo "the collector did not commit $want events" >&2
    return 1
}

# Peak run.
start_collector peak
cpu_start=$(cpu_seconds)
peak=$("$loadgen" send "$input" "$address" --connections "$connections" --batch-events "$batch_events")
wait_committed "$events"
cpu_end=$(cpu_seconds)
rss=$(peak_rss_mib)
commits=$(metric commits_total)
files=$(find "$work/peak/events" -name '*.parquet' | wc -l)
table_bytes=$(du -sb "$work/peak/events" | cut -f1)
kill -TERM "$collector_pid" && wait "$collector_pid" || true
collector_pid=""
peak_rate=$(echo "$peak" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["events_per_second"]))')

# Latency run at half the peak rate, on the first fifth of the set (at least 1 M events).
latency_events=$(( events / 5 > 1000000 ? events / 5 : events ))
head -n "$latency_events" "$input" >"$work/latency-input.ndjson"
start_collector half
half=$("$loadgen" send "$work/latency-input.ndjson" "$address" --connections "$connections" \
    --batch-events "$batch_events" --rate $(( peak_rate / 2 )))
kill -TERM "$collector_pid" && wait "$collector_pid" || true
collector_pid=""

python3 - "$events" "$peak" "$half" "$cpu_start" "$cpu_end" "$rss" "$commits" "$files" "$table_bytes" <<'PY'
import json, os, sys
events = int(sys.argv[1])
peak, half = json.loads(sys.argv[2]), json.loads(sys.argv[3])
cpu = float(sys.argv[5]) - float(sys.argv[4])
rss, commits, files, table_bytes = (int(v) for v in sys.argv[6:10])
print(f"Collector, {events:,} events of the standard set (seed 10), {peak['connections']} keep-alive "
      f"connections, {peak['batch_events']} events per request, load generator on the same "
      f"{os.cpu_count()}-core machine:\n")
print("| measure | value | goal |")
print("| --- | --- | --- |")
print(f"| events/s at acknowledgement (peak) | {peak['events_per_second']:,.0f} | >= 500,000 |")
print(f"| collector CPU per event (to the last commit) | {cpu * 1e6 / events:.2f} µs | <= 2 µs |")
print(f"| ack latency at half peak ({half['rate_target']:,.0f} events/s): p50 / p99 | "
      f"{half['ack_ms_p50']:.1f} / {half['ack_ms_p99']:.1f} ms | p99 <= 50 ms |")
print(f"| ack latency at peak: p50 / p99 | {peak['ack_ms_p50']:.1f} / {peak['ack_ms_p99']:.1f} ms | |")
print(f"| peak RSS of the collector | {rss} MiB | <= 512 MiB |")
print(f"| commits / data files | {commits} / {files} | |")
print(f"| table bytes per event | {table_bytes / events:.2f} | |")
print(f"| refused requests (peak run / half run) | {peak['failed_requests']} / {half['failed_requests']} | 0 |")
print(f"| 503/429 answers retried (peak run / half run) | {peak['pushed_back_answers']} / {half['pushed_back_answers']} | |")
PY
