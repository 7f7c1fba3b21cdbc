#!/usr/bin/env bash
# Peer comparison: Heatlake against DuckDB, chDB, Polars and plain DataFusion on one standard data
# set, with every engine's answers checked against Heatlake's (benches/README.md).
#
#   bash benches/compare.sh [--scale 1m|10m|100m] [--seed S] [--hot N] [--out DIR]
#                           [--no-ingest] [--collector] [--only TEXT]
#
#   --scale      standard set (datasets/README.md); default 10m
#   --seed       default: the scale's standard seed (1, 10, 100)
#   --hot        hot runs per question after the cold one; the median is reported (default 5)
#   --out        reports: compare.json, compare.md, compare.png, answers/ (default
#                benches/results/SCALE-seedS)
#   --no-ingest  skip the ingest comparison (chDB, DuckDB and Heatlake loading the NDJSON)
#   --collector  add the HTTP collector (benches/collector.sh) to the ingest comparison
#   --only       only the questions whose name contains TEXT
#
# Makes benches/.venv from benches/requirements.txt (exact versions) when it is missing or the
# file changed; builds `heatlake` (or uses $HEATLAKE_BIN); generates the data set once into
# datasets/generated/ and reuses it; rebuilds every engine's copy of the data in
# benches/.data/SCALE-seedS on each run (that load is measured). Exits non-zero when any engine's
# answer differs from Heatlake's. Timings depend on the machine and its load; the check does not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$(pwd)

scale=10m
seed=""
hot=5
out=""
extra=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --scale) scale=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --hot) hot=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-ingest|--collector) extra+=("$1"); shift ;;
        --only) extra+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $scale in
    1m) events=1000000; standard_seed=1 ;;
    10m) events=10000000; standard_seed=10 ;;
    100m) events=100000000; standard_seed=100 ;;
    *) echo "compare.sh: --scale must be 1m, 10m or 100m" >&2; exit 2 ;;
esac
seed=${seed:-$standard_seed}
out=${out:-$repo_root/benches/results/$scale-seed$seed}
work=$repo_root/benches/.data/$scale-seed$seed

# The peers, at exactly the pinned versions.
venv=$repo_root/benches/.venv
stamp=$(sha256sum benches/requirements.txt | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || $(cat "$venv/requirements.sha256" 2>/dev/null) != "$stamp" ]]; then
    echo "compare.sh: installing the peers into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r benches/requirements.txt
    echo "$stamp" >"$venv/requirements.sha256"
fi

if [[ -n ${HEATLAKE_BIN:-} ]]; then
    heatlake=$HEATLAKE_BIN
else
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/heatlake-target}
    cargo build --release --locked --workspace >&2
    heatlake=$CARGO_TARGET_DIR/release/heatlake
fi

if [[ $seed == "$standard_seed" ]]; then
    ndjson=$repo_root/datasets/generated/events-$scale.ndjson.gz
else
    ndjson=$repo_root/datasets/generated/events-$scale-seed$seed.ndjson.gz
fi
if [[ ! -s $ndjson ]]; then
    mkdir -p "$(dirname "$ndjson")"
    "$heatlake" gen --events "$events" --seed "$seed" --out "$ndjson.partial.gz" >/dev/null
    mv "$ndjson.partial.gz" "$ndjson"
fi

exec "$venv/bin/python" benches/compare.py --heatlake "$heatlake" --ndjson "$ndjson" --events "$events" \
    --scale "$scale" --seed "$seed" --hot "$hot" --work "$work" --out "$out" ${extra[@]+"${extra[@]}"}
