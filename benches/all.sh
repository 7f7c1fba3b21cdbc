#!/usr/bin/env bash
# Every benchmark behind BENCHMARKS.md, one after the other, each section's Markdown saved under
# benches/results/all/: the figures a refreshed BENCHMARKS.md is written from.
#
#   bash benches/all.sh            # the 10 M set everywhere (about 8 minutes on 2 cores)
#   bash benches/all.sh --full     # also the analytics questions on the 100 M set (adds about
#                                  # 30 minutes the first time: generating and importing it)
#
# Run it on a quiet machine: timings depend on what else runs. Each script's own header says
# what it measures; benches/README.md says which section of BENCHMARKS.md each result goes to.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/heatlake-target}
full=false
case ${1:-} in
    --full) full=true ;;
    "") ;;
    *) echo "usage: bash benches/all.sh [--full]" >&2; exit 2 ;;
esac
out=benches/results/all
mkdir -p "$out"

section() {
    local name=$1
    shift
    echo "==> $name: $*" >&2
    "$@" >"$out/$name.md"
}

section foundation bash benches/foundation.sh 10000000
section analytics-10m bash benches/analytics.sh 10000000
if $full; then
    section analytics-100m bash benches/analytics.sh 100000000
fi
section collector bash benches/collector.sh 10000000
section peers bash benches/compare.sh --scale 10m --out benches/results/10m-seed10
# Criterion micro-benchmarks (BENCHMARKS.md, "Micro-benchmarks"): criterion's own report.
for bench in decode privacy arrow_build parquet_encode wal_append; do
    echo "==> micro-benchmark $bench" >&2
    cargo bench --workspace --bench "$bench" >>"$out/micro.md"
done
echo "wrote $out/*.md; the peer chart is benches/results/10m-seed10/compare.png" >&2
