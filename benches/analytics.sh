#!/usr/bin/env bash
# Analytics benchmarks: hot and cold time of each ready-made question, and how much of the table
# each one skipped (from EXPLAIN ANALYZE metrics).
#
#   bash benches/analytics.sh [EVENTS]      # default 10000000 (the 10 M standard set, seed 10)
#
# Generates and imports the set once into $BENCH_DIR (default /tmp/heatlake-bench-analytics) and
# reuses it on later runs. Times are wall-clock times of the whole `heatlake` command (process
# start, opening the Delta table at its latest version, planning, running, printing CSV):
#   cold = the first run of the question in a fresh process (the OS page cache may hold the
#          files from the import or earlier questions: this is not a cold disk),
#   hot  = the median of the next 5 runs.
# Prints Markdown for BENCHMARKS.md. Not a test: timings depend on the machine and its load.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/heatlake-target}
events=${1:-10000000}
case $events in
    1000000) seed=1 ;;
    10000000) seed=10 ;;
    100000000) seed=100 ;;
    *) seed=10 ;;
esac
work=${BENCH_DIR:-/tmp/heatlake-bench-analytics}/$events
mkdir -p "$work"
cargo build --release --locked -p heatlake-cli --bin heatlake >&2
heatlake=$CARGO_TARGET_DIR/release/heatlake
export HEATLAKE_HOME=$work/home
table=$work/table
if [[ ! -f $work/imported ]]; then
    rm -rf "$table"
    "$heatlake" gen --events "$events" --seed "$seed" --out "$work/events.ndjson.gz" >/dev/null
    "$heatlake" import --table "$table" "$work/events.ndjson.gz" >&2
    # The import compacts; the vacuum deletes the replaced files, so that the directory holds
    # only the table's files for DuckDB's glob and the file count below.
    "$heatlake" vacuum --table "$table" --retain-hours 0 >/dev/null
    rm -f "$work/events.ndjson.gz"
    touch "$work/imported"
fi
files_total=$(find "$table/" -name '*.parquet' -not -path '*/_delta_log/*' | wc -l)

week=(--from 2026-11-01 --to 2026-11-08)
page=(--site news.example --page news.example/)
declare -a names=(
    "click heatmap, one page, one week"
    "move heatmap, one page, one week"
    "scroll depth, one page"
    "CTR per element, one page"
    "CTR per link A -> B, one page"
    "frustration per element, whole site"
    "frustration per page, whole site"
    "funnel home -> cart -> submit (shop)"
)
declare -a commands=(
    "heatmap ${page[*]} ${week[*]}"
    "heatmap ${page[*]} ${week[*]} --kind move"
    "scroll ${page[*]}"
    "ctr ${page[*]}"
    "ctr ${page[*]} --next-pages"
    "frustration --site news.example --limit 100000"
    "frustration --site news.example --level page --limit 100000"
    "funnel --site shop.example --step shop.example/ --step shop.example/cart --step sql:type='submit'"
)

seconds() {
    local started ended
    started=$(date +%s%N)
    # shellcheck disable=SC2086
    "$heatlake" $1 --table "$table" --format csv >/dev/null
    ended=$(date +%s%N)
    echo $(( (ended - started) / 1000000 ))
}

# "total matched" sums of the pruning metrics over every scan of an executed plan, and the rows
# the Parquet scans returned: "rg_total rg_matched page_rows_total page_rows_matched scan_rows".
pruning() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def number(value, unit):
    return float(value) * {"": 1, "K": 1e3, "M": 1e6, "B": 1e9}[unit]
def pair(name):
    total = matched = 0
    for t, tu, m, mu in re.findall(name + r"=([0-9.]+) ?([KMB]?) total → ([0-9.]+) ?([KMB]?) matched", text):
        total += number(t, tu)
        matched += number(m, mu)
    return total, matched
rows = sum(number(v, u) for v, u in re.findall(r"DataSourceExec: [^\n]*?metrics=\[output_rows=([0-9.]+) ?([KMB]?)", text))
print(*(f"{x:.0f}" for x in (*pair("row_groups_pruned_statistics"), *pair("page_index_rows_pruned"), rows)))
PY
}

echo "## Analytics benchmarks ($events events, seed $seed)"
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d). Table: $files_total data files (imported, then compacted: one sorted run per partition), partitioned by site and day; row groups \"opened\" are those of the files left after partition and Delta-statistics pruning."
echo
echo "| question | cold ms | hot ms (median of 5) | row groups opened → kept by statistics | rows in them → kept by page index | rows out of the scans |"
echo "| --- | --- | --- | --- | --- | --- |"
for index in "${!names[@]}"; do
    command=${commands[$index]}
    cold=$(seconds "$command")
    runs=()
    for _ in 1 2 3 4 5; do runs+=("$(seconds "$command")"); done
    hot=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
    # shellcheck disable=SC2086
    "$heatlake" $command --table "$table" --format csv --explain-analyze >"$work/plan.txt"
    read -r groups groups_kept page_rows page_rows_kept rows < <(pruning "$work/plan.txt")
    echo "| ${names[$index]} | $cold | $hot | $groups → $groups_kept | $page_rows → $page_rows_kept | $rows |"
done
echo
echo "DuckDB $(python3 -c 'import duckdb; print(duckdb.__version__)') on the same Parquet files (in-process, 2 threads, the same questions as in"
echo "tests/interop/test_analytics_duckdb.py; first run, then the median of 5):"
echo
python3 - "$table" <<'PY'
import statistics, sys, time
import duckdb
table = sys.argv[1]
duck = duckdb.connect()
duck.execute("SET threads = 2")
duck.execute("SET TimeZone = 'UTC'")
duck.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{table}/**/*.parquet', hive_partitioning = true)")
page = "site = 'news.example' AND path = 'news.example/'"
week = "ts >= TIMESTAMPTZ '2026-11-01 00:00:00+00' AND ts < TIMESTAMPTZ '2026-11-08 00:00:00+00'"
questions = {
    "click heatmap, one page, one week": f"""SELECT coalesce(target_fixed, false), CAST(floor(x / 16) AS BIGINT),
        CAST(floor(y / 16) AS BIGINT), count(*), count(DISTINCT visitor_id) FROM ev
        WHERE {page} AND {week} AND type = 'click' AND x IS NOT NULL AND y IS NOT NULL GROUP BY ALL ORDER BY 1, 2, 3""",
    "scroll depth, one page (summary)": f"""WITH d AS (SELECT pageview_id,
        max(least(1.0, (coalesce(scroll_y, 0) + viewport_h) / doc_h)) FILTER (WHERE doc_h > 0) AS depth
        FROM ev WHERE {page} AND pageview_id IN (SELECT pageview_id FROM ev WHERE {page} AND type = 'pageview')
        GROUP BY pageview_id) SELECT count(*), count(depth), avg(depth), median(depth) FROM d""",
    "CTR per element, one page (without exposure)": f"""WITH pv AS (SELECT DISTINCT pageview_id FROM ev WHERE {page} AND type = 'pageview')
        SELECT target, count(*) AS clicks, count(DISTINCT pageview_id) AS pvc FROM ev
        WHERE {page} AND type = 'click' AND pageview_id IN (SELECT pageview_id FROM pv)
        GROUP BY target ORDER BY pvc DESC, clicks DESC, target LIMIT 50""",
}
print("| question | DuckDB first ms | DuckDB hot ms |")
print("| --- | --- | --- |")
for name, sql in questions.items():
    times = []
    for _ in range(6):
        started = time.perf_counter()
        duck.execute(sql).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    print(f"| {name} | {times[0]:.0f} | {statistics.median(times[1:]):.0f} |")
PY
echo
echo "Command: \`bash benches/analytics.sh $events\`. Times are whole \`heatlake\` runs (see the script's header)."
