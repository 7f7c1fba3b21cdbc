#!/usr/bin/env bash
# Foundation benchmarks: generator speed, import speed (events/s and CPU µs per event), bytes per
# event on disk with a per-column breakdown, and the per-stage cost of an import.
#
#   bash benches/foundation.sh [EVENTS]      # default 10000000 (the 10 M standard set, seed 10)
#
# Prints Markdown for BENCHMARKS.md. Work files go to $BENCH_DIR (default /tmp/heatlake-bench).
# Not a test: timings depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/heatlake-target}
events=${1:-10000000}
seed=10
work=${BENCH_DIR:-/tmp/heatlake-bench}
rm -rf "$work" && mkdir -p "$work"
cargo build --release --locked -p heatlake-cli --bin heatlake -p heatlake-ingest --examples >&2
heatlake=$CARGO_TARGET_DIR/release/heatlake
export HEATLAKE_HOME=$work/home

# Runs a command under /usr/bin/time; prints "wall_s cpu_s max_rss_kb".
measure() {
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
        cat "$work/stderr" >&2
        return 1
    }
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/time"
}

per_second() { awk -v n="$events" -v s="$1" 'BEGIN { printf "%.2f M", n / s / 1e6 }'; }
micros_per_event() { awk -v n="$events" -v s="$1" 'BEGIN { printf "%.2f", s * 1e6 / n }'; }

echo "## Foundation benchmarks ($events events, seed $seed)"
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d)."
echo
echo "| step | wall s | CPU s | events/s per CPU-second | CPU µs/event | max RSS MB |"
echo "| --- | --- | --- | --- | --- | --- |"
row() {
    local label=$1 wall=$2 cpu=$3 rss=$4
    echo "| $label | $wall | $cpu | $(per_second "$cpu") | $(micros_per_event "$cpu") | $((rss / 1024)) |"
}
read -r wall cpu rss < <(measure "$heatlake" gen --events "$events" --seed "$seed" --out "$work/events.ndjson")
row "gen NDJSON (plain)" "$wall" "$cpu" "$rss"
read -r wall cpu rss < <(measure "$heatlake" gen --events "$events" --seed "$seed" --out "$work/events.ndjson.gz")
row "gen NDJSON (gzip)" "$wall" "$cpu" "$rss"
read -r wall cpu rss < <(measure "$heatlake" gen --events "$events" --seed "$seed" --format parquet --out "$work/parquet")
row "gen Parquet" "$wall" "$cpu" "$rss"
# The import path alone (--no-compact); its compaction is measured apart, on the gzip table.
read -r wall cpu rss < <(measure "$heatlake" import --no-compact --table "$work/table" "$work/events.ndjson")
row "import NDJSON (plain)" "$wall" "$cpu" "$rss"
read -r wall cpu rss < <(measure "$heatlake" import --no-compact --table "$work/table-gz" "$work/events.ndjson.gz")
row "import NDJSON (gzip)" "$wall" "$cpu" "$rss"
read -r wall cpu rss < <(measure "$heatlake" compact --table "$work/table-gz")
row "compact (the gzip import's table)" "$wall" "$cpu" "$rss"
echo
echo "Import: parse, validate, privacy, sort, encode and commit, with parsing and encoding on two threads."
echo
echo "### Bytes per event on disk (the plain import's table)"
echo
python3 - "$work/table" <<'PY'
import glob, sys
import pyarrow.parquet as pq
sizes, rows, files, file_bytes = {}, 0, 0, 0
for path in glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True):
    meta = pq.ParquetFile(path).metadata
    rows += meta.num_rows
    files += 1
    file_bytes += __import__("os").path.getsize(path)
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            sizes[column.path_in_schema] = sizes.get(column.path_in_schema, 0) + column.total_compressed_size
print(f"{rows} events in {files} files: **{file_bytes / rows:.2f} bytes/event** (files), "
      f"{sum(sizes.values()) / rows:.2f} in column chunks, the rest footers and page indexes.")
print()
print("| column | bytes/event |")
print("| --- | --- |")
for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
    if size / rows >= 0.005:
        print(f"| {name} | {size / rows:.3f} |")
PY
echo
echo "### Import stages on one thread (first 1 M lines, in memory)"
echo
echo '```'
"$CARGO_TARGET_DIR/release/examples/import_stages" "$work/events.ndjson" 1000000
echo '```'
