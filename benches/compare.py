"""Peer comparison: Heatlake against DuckDB, chDB, Polars and plain DataFusion on one data set.

Run through benches/compare.sh (which makes the virtual environment, builds `heatlake` and
generates the data set); see benches/README.md. Steps:

1. load the NDJSON into each engine the way its users would, timing the load and measuring the
   bytes on disk: Heatlake `import` (Delta table of Parquet); DuckDB native table and chDB
   MergeTree table, both from the table's Parquet files; DuckDB, chDB, Polars and plain
   DataFusion reading the same Parquet files in place;
2. run the question set (benches/compare_questions.py; Heatlake and DataFusion through
   `heatlake bench`) cold once and hot N times, in-process for every engine;
3. check that every engine's answer equals Heatlake's, after ordering (integers and strings
   exactly, floats to a relative 1e-9): any difference fails the run;
4. ingest comparison on the same NDJSON: events/s and CPU seconds per million events;
5. write compare.json, compare.md and compare.png.
"""

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

CORES = os.cpu_count() or 1
os.environ.setdefault("POLARS_MAX_THREADS", str(CORES))

import chdb  # noqa: E402
import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from chdb import session as chdb_session  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_questions import CHDB, DUCKDB, POLARS, QUESTIONS  # noqa: E402

FLOAT_REL_TOL = 1e-9
ENGINES = [
    ("heatlake", "Heatlake (Delta, library)"),
    ("datafusion", "DataFusion, Parquet"),
    ("duckdb", "DuckDB native"),
    ("duckdb_parquet", "DuckDB, Parquet"),
    ("chdb", "chDB MergeTree"),
    ("chdb_parquet", "chDB, Parquet"),
    ("polars", "Polars, Parquet"),
]
CHDB_SETTINGS = f"SETTINGS join_use_nulls = 1, use_hive_partitioning = 1, max_threads = {CORES}"


def log(message):
    print(message, file=sys.stderr, flush=True)


def machine():
    memory_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    load = os.getloadavg()
    return {"cores": CORES, "memory_gib": round(memory_kib / 1048576, 1), "cpu": model,
            "os": platform.platform(), "load_average_at_start": [round(x, 2) for x in load],
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def tree_bytes(path, suffix=""):
    return sum(p.stat().st_size for p in Path(path).rglob(f"*{suffix}") if p.is_file())


def run_measured(command, env=None):
    """Runs a command; returns (wall s, CPU s of the child, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"compare: {' '.join(map(str, command))} failed")
    return wall, usage.ru_utime + usage.ru_stime, output


# ---------------------------------------------------------------------------------------------
# Answers

def normal(value):
    """One cell in a form every engine's value of the same meaning compares equal in."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        value = float(value)
        return None if math.isnan(value) else value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode()
    return value


def sort_key(row):
    key = []
    for value in row:
        if value is None:
            key.append((0, 0))
        elif isinstance(value, float):
            key.append((1, float(f"{value:.9g}")))
        elif isinstance(value, (bool, int)):
            key.append((1, int(value)))
        else:
            key.append((2, str(value)))
    return key


def canonical(rows):
    return sorted(([normal(v) for v in row] for row in rows), key=sort_key)


def same_cell(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
            return False
        return math.isclose(a, b, rel_tol=FLOAT_REL_TOL, abs_tol=1e-12)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def difference(expected, actual):
    """None when equal, else a message naming the first differing row."""
    if len(expected) != len(actual):
        first = next((i for i, (x, y) in enumerate(zip(expected, actual))
                      if len(x) != len(y) or not all(map(same_cell, x, y))), min(len(expected), len(actual)))
        return (f"{len(actual)} rows instead of {len(expected)}; first differing row {first}: "
                f"heatlake {expected[first] if first < len(expected) else None} vs "
                f"{actual[first] if first < len(actual) else None}")
    for index, (x, y) in enumerate(zip(expected, actual)):
        if len(x) != len(y) or not all(map(same_cell, x, y)):
            return f"row {index}: heatlake {x} vs {y}"
    return None


def arrow_rows(table):
    columns = [column.to_pylist() for column in table.columns]
    return [list(row) for row in zip(*columns)]


# ---------------------------------------------------------------------------------------------
# Engines

def timed(run, hot, to_rows):
    """Times `run` (a query answered in the engine's own result format: Arrow, a DataFrame)
    cold once and hot `hot` times; rows of the last answer for the check, converted untimed."""
    started = time.perf_counter()
    answer = run()
    cold = (time.perf_counter() - started) * 1000
    hot_ms = []
    for _ in range(hot):
        started = time.perf_counter()
        answer = run()
        hot_ms.append((time.perf_counter() - started) * 1000)
    rows = to_rows(answer)
    return {"cold_ms": cold, "hot_ms": hot_ms, "rows": len(rows)}, rows


def run_rust_engine(heatlake, engine, table, hot, out, only):
    answers = out / "answers"
    run_measured([heatlake, "bench", "--engine", engine, "--table", table, "--hot", str(hot), "--out", answers,
                  *(["--only", only] if only else [])])
    report = json.loads((answers / f"{engine}.json").read_text())
    results, rows = {}, {}
    for entry in report["questions"]:
        name = entry["question"]
        results[name] = {"cold_ms": entry["cold_ms"], "hot_ms": entry["hot_ms"], "rows": entry["rows"]}
        rows[name] = arrow_rows(pq.read_table(answers / engine / f"{name}.parquet"))
    return report["version"], report["open_ms"], results, rows


def run_sql_engine(query, texts, table_sql, hot, only):
    results, rows = {}, {}
    for name in QUESTIONS:
        if only and only not in name:
            continue
        sql = texts[name].replace("{ev}", table_sql)
        results[name], rows[name] = timed(lambda: query(sql), hot, arrow_rows)
        log(f"  {name}: cold {results[name]['cold_ms']:.1f} ms")
    return results, rows


def parquet_glob(table):
    return f"{table}/site=*/date=*/*.parquet"


def load_duckdb(work, table):
    path = work / "duckdb" / "events.duckdb"
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    connection = duckdb.connect(str(path))
    connection.execute(f"SET threads = {CORES}")
    connection.execute("SET TimeZone = 'UTC'")
    started = time.perf_counter()
    connection.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{parquet_glob(table)}', hive_partitioning = true)")
    connection.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    _, _, block_size, _, used_blocks, *_ = connection.execute("PRAGMA database_size").fetchone()
    return connection, seconds, tree_bytes(path.parent), block_size * used_blocks


def load_chdb(work, table):
    path = work / "chdb"
    shutil.rmtree(path, ignore_errors=True)
    session = chdb_session.Session(str(path))
    session.query("CREATE DATABASE IF NOT EXISTS bench")
    started = time.perf_counter()
    session.query(
        "CREATE TABLE bench.events ENGINE = MergeTree ORDER BY (site, path, type, ts) "
        f"SETTINGS allow_nullable_key = 1 AS SELECT * FROM file('{parquet_glob(table)}', Parquet) {CHDB_SETTINGS}")
    seconds = time.perf_counter() - started
    parts = session.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'bench' "
                          "AND table = 'events' AND active", "CSV")
    return session, seconds, int(str(parts).strip())


def chdb_query(session):
    def query(sql):
        return session.query(f"{sql} {CHDB_SETTINGS}", "ArrowTable")
    return query


def run_peers(args, table, results, answers, versions, loads):
    only = args.only
    log("duckdb: loading the native table")
    connection, seconds, size, used = load_duckdb(args.work, table)
    loads["duckdb"] = {"load_s": seconds, "bytes": size, "used_block_bytes": used}
    query = lambda sql: connection.sql(sql).to_arrow_table()  # noqa: E731
    results["duckdb"], answers["duckdb"] = run_sql_engine(query, DUCKDB, "events", args.hot, only)
    connection.close()
    log("duckdb: over the Parquet files")
    connection = duckdb.connect()
    connection.execute(f"SET threads = {CORES}")
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{parquet_glob(table)}', hive_partitioning = true)")
    query = lambda sql: connection.sql(sql).to_arrow_table()  # noqa: E731
    results["duckdb_parquet"], answers["duckdb_parquet"] = run_sql_engine(query, DUCKDB, "events", args.hot, only)
    connection.close()
    versions["duckdb"] = versions["duckdb_parquet"] = f"DuckDB {duckdb.__version__}"

    log("chdb: loading the MergeTree table")
    session, seconds, size = load_chdb(args.work, table)
    loads["chdb"] = {"load_s": seconds, "bytes": size}
    engine_version = str(session.query("SELECT version()", "CSV")).strip().strip('"')
    versions["chdb"] = versions["chdb_parquet"] = f"chDB {chdb.__version__} (ClickHouse {engine_version})"
    results["chdb"], answers["chdb"] = run_sql_engine(chdb_query(session), CHDB, "bench.events", args.hot, only)
    log("chdb: over the Parquet files")
    results["chdb_parquet"], answers["chdb_parquet"] = run_sql_engine(
        chdb_query(session), CHDB, f"file('{parquet_glob(table)}', Parquet)", args.hot, only)
    session.close()

    log("polars: lazy scan of the Parquet files")
    events = pl.scan_parquet(parquet_glob(table), hive_partitioning=True)
    versions["polars"] = f"Polars {pl.__version__}"
    results["polars"], answers["polars"] = {}, {}
    for name in QUESTIONS:
        if only and only not in name:
            continue
        plan = POLARS[name](events)
        results["polars"][name], answers["polars"][name] = timed(plan.collect, args.hot, lambda frame: frame.rows())
        log(f"  {name}: cold {results['polars'][name]['cold_ms']:.1f} ms")


# ---------------------------------------------------------------------------------------------
# Ingest

def ingest_peer(engine, ndjson, directory):
    """Runs in a child process: loads the NDJSON into the engine's table, prints wall and CPU."""
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    if engine == "chdb":
        session = chdb_session.Session(str(directory / "db"))
        session.query("CREATE DATABASE IF NOT EXISTS bench")
        session.query("CREATE TABLE bench.raw ENGINE = MergeTree ORDER BY (site, path, type, ts) "
                      f"SETTINGS allow_nullable_key = 1 EMPTY AS SELECT * FROM file('{ndjson}', JSONEachRow)")
        statement = f"INSERT INTO bench.raw SELECT * FROM file('{ndjson}', JSONEachRow) SETTINGS max_threads = {CORES}"
        run = lambda: session.query(statement)  # noqa: E731
        count = lambda: int(str(session.query("SELECT count() FROM bench.raw", "CSV")).strip())  # noqa: E731
    else:
        connection = duckdb.connect(str(directory / "raw.duckdb"))
        connection.execute(f"SET threads = {CORES}")
        statement = f"CREATE TABLE raw AS SELECT * FROM read_json('{ndjson}', format = 'newline_delimited', sample_size = -1)"

        def run():
            connection.execute(statement)
            connection.execute("CHECKPOINT")
        count = lambda: connection.execute("SELECT count(*) FROM raw").fetchone()[0]  # noqa: E731
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "events": count(), "bytes": tree_bytes(directory),
                      "statement": statement}))


def run_ingest(args, loads):
    log("ingest: heatlake import --no-compact")
    scratch = args.work / "ingest-heatlake"
    shutil.rmtree(scratch, ignore_errors=True)
    env = dict(os.environ, HEATLAKE_HOME=str(scratch / "home"))
    wall, cpu, _ = run_measured(
        [args.heatlake, "import", "--no-compact", "--table", scratch / "table", args.ndjson], env=env)
    shutil.rmtree(scratch, ignore_errors=True)
    rows = {
        "heatlake_import": {"wall_s": wall, "cpu_s": cpu, "events": args.events,
                            "what": "heatlake import --no-compact (NDJSON gzip -> sorted Parquet files, Delta commit)"},
        "heatlake_import_compacted": dict(
            loads["heatlake_import"],
            what="heatlake import, then its compaction and a vacuum (the table the questions read)"),
    }
    for engine, what in (("chdb", "chDB INSERT ... SELECT FROM file(JSONEachRow) into MergeTree"),
                         ("duckdb", "DuckDB CREATE TABLE AS read_json (native table)")):
        log(f"ingest: {engine}")
        _, _, output = run_measured([sys.executable, __file__, "ingest-peer", engine, args.ndjson,
                                     args.work / f"ingest-{engine}"])
        measured = json.loads(output)
        if measured["events"] != args.events:
            raise SystemExit(f"compare: {engine} ingested {measured['events']} events, not {args.events}")
        rows[engine] = dict(measured, what=what)
        shutil.rmtree(args.work / f"ingest-{engine}", ignore_errors=True)
    if args.collector:
        log("ingest: the HTTP collector (benches/collector.sh)")
        result = subprocess.run(["bash", str(Path(__file__).parent / "collector.sh"), str(args.events)],
                                capture_output=True, text=True, check=True)
        rate = re.search(r"events/s at acknowledgement \(peak\) \| ([0-9,]+)", result.stdout)
        cpu = re.search(r"collector CPU per event \(to the last commit\) \| ([0-9.]+) µs", result.stdout)
        if rate and cpu:
            events_per_s = float(rate.group(1).replace(",", ""))
            rows["heatlake_collector"] = {"wall_s": args.events / events_per_s,
                                          "cpu_s": float(cpu.group(1)) * args.events / 1e6, "events": args.events,
                                          "what": "heatlake serve over HTTP (benches/collector.sh: loadgen on the same cores, seed 10)"}
    for row in rows.values():
        row["events_per_s"] = row["events"] / row["wall_s"]
        row["cpu_s_per_million"] = row["cpu_s"] / row["events"] * 1e6
    return rows


# ---------------------------------------------------------------------------------------------
# Report

def hot(result):
    return statistics.median(result["hot_ms"]) if result["hot_ms"] else result["cold_ms"]


def markdown(report):
    lines = []
    m = report["machine"]
    lines.append(f"Scale {report['scale']} ({report['events']:,} events, seed {report['seed']}), hot = median of "
                 f"{report['hot_runs']} runs. Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; "
                 f"{m['date']}; load average at start {m['load_average_at_start']}.")
    lines.append("")
    lines.append("Versions: " + "; ".join(f"{report['engine_names'][e]}: {v}" for e, v in report["versions"].items()) + ".")
    lines.append("")
    engines = [e for e, _ in ENGINES if e in report["results"]]
    lines.append("Hot ms (cold ms in brackets):")
    lines.append("")
    lines.append("| question | " + " | ".join(report["engine_names"][e] for e in engines)
                 + " | Heatlake ÷ DuckDB native | Heatlake ÷ chDB MergeTree |")
    lines.append("| --- " * (len(engines) + 3) + "|")
    for name in report["questions"]:
        cells = []
        for engine in engines:
            result = report["results"][engine].get(name)
            cells.append(f"{hot(result):.1f} ({result['cold_ms']:.0f})" if result else "")
        ratios = []
        for peer in ("duckdb", "chdb"):
            if name in report["results"].get(peer, {}):
                ratio = hot(report["results"]["heatlake"][name]) / hot(report["results"][peer][name])
                ratios.append(f"{ratio:.2f} {'met' if ratio <= 0.5 else 'not met'}")
            else:
                ratios.append("")
        lines.append(f"| {name} | " + " | ".join(cells + ratios) + " |")
    lines.append("")
    lines.append("Load and bytes on disk (goal: Heatlake bytes/event ≤ 0.8x DuckDB native and chDB MergeTree):")
    lines.append("")
    lines.append("| engine | load s | bytes on disk | bytes/event | Heatlake ÷ engine |")
    lines.append("| --- | --- | --- | --- | --- |")
    heatlake_bytes = report["loads"]["heatlake"]["bytes"]
    for engine, load in report["loads"].items():
        ratio = heatlake_bytes / load["bytes"] if load["bytes"] else float("nan")
        lines.append(f"| {load['what']} | {load['load_s']:.2f} | {load['bytes']:,} | "
                     f"{load['bytes'] / report['events']:.2f} | {ratio:.2f} |")
    duck = report["loads"].get("duckdb", {})
    if duck.get("used_block_bytes"):
        lines.append("")
        lines.append(f"DuckDB's file holds free blocks after the load: {duck['used_block_bytes']:,} bytes in used blocks "
                     f"({duck['used_block_bytes'] / report['events']:.2f} bytes/event; Heatlake ÷ that: "
                     f"{heatlake_bytes / duck['used_block_bytes']:.2f}).")
    if report.get("ingest"):
        lines.append("")
        lines.append("Ingest of the same NDJSON (goal: Heatlake CPU/event ≤ 0.5x chDB's):")
        lines.append("")
        lines.append("| ingest | events/s | CPU s per million events | ÷ chDB CPU |")
        lines.append("| --- | --- | --- | --- |")
        chdb_cpu = report["ingest"].get("chdb", {}).get("cpu_s_per_million")
        for row in report["ingest"].values():
            ratio = f"{row['cpu_s_per_million'] / chdb_cpu:.2f}" if chdb_cpu else ""
            lines.append(f"| {row['what']} | {row['events_per_s']:,.0f} | {row['cpu_s_per_million']:.2f} | {ratio} |")
    lines.append("")
    if report["answer_failures"]:
        lines.append("Answers: **FAILED**, these differ from Heatlake's:")
        lines.extend(f"- {failure}" for failure in report["answer_failures"])
    else:
        lines.append("Answers: every engine's answer to every question equals Heatlake's, after ordering "
                     f"(floats to a relative {FLOAT_REL_TOL}).")
    return "\n".join(lines) + "\n"


def chart(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    engines = [e for e, _ in ENGINES if e in report["results"]]
    questions = report["questions"]
    figure, axes = plt.subplots(figsize=(max(10, len(questions) * 1.6), 6))
    width = 0.8 / len(engines)
    for index, engine in enumerate(engines):
        values = [hot(report["results"][engine][q]) if q in report["results"][engine] else 0 for q in questions]
        axes.bar([x + index * width for x in range(len(questions))], values, width, label=report["engine_names"][engine])
    axes.set_yscale("log")
    axes.set_ylabel("hot ms (median, log scale)")
    axes.set_xticks([x + 0.4 - width / 2 for x in range(len(questions))])
    axes.set_xticklabels(questions, rotation=25, ha="right")
    m = report["machine"]
    axes.set_title(f"{report['scale']} events, seed {report['seed']}: {m['cores']} cores, {m['cpu']}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ingest-peer":
        ingest_peer(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heatlake", required=True, help="the heatlake binary")
    parser.add_argument("--ndjson", required=True, help="the data set (NDJSON, plain or gzip)")
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--scale", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--hot", type=int, default=5)
    parser.add_argument("--work", type=Path, required=True, help="engines' data (rebuilt every run)")
    parser.add_argument("--out", type=Path, required=True, help="reports and answers")
    parser.add_argument("--no-ingest", action="store_true", help="skip the ingest comparison")
    parser.add_argument("--collector", action="store_true", help="add the HTTP collector to the ingest comparison")
    parser.add_argument("--only", help="only the questions whose name contains this text")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    started_at = machine()

    log("heatlake: import")
    table = args.work / "heatlake" / "table"
    shutil.rmtree(table.parent, ignore_errors=True)
    env = dict(os.environ, HEATLAKE_HOME=str(table.parent / "home"))
    # The import compacts the partitions it wrote (a second commit); the vacuum then deletes the
    # files compaction replaced, so that the directory holds exactly the table's files for the
    # engines that read it as plain Parquet.
    wall, cpu, _ = run_measured([args.heatlake, "import", "--table", table, args.ndjson], env=env)
    vacuum_wall, vacuum_cpu, _ = run_measured(
        [args.heatlake, "vacuum", "--table", table, "--retain-hours", "0"], env=env)
    wall, cpu = wall + vacuum_wall, cpu + vacuum_cpu
    parquet_bytes = tree_bytes(table, ".parquet") - tree_bytes(table / "_delta_log", ".parquet")
    loads = {"heatlake": {"load_s": wall, "bytes": tree_bytes(table)}, "parquet": {"load_s": 0.0, "bytes": parquet_bytes}}
    loads["heatlake_import"] = {"wall_s": wall, "cpu_s": cpu, "events": args.events}

    results, answers, versions = {}, {}, {}
    log("heatlake: questions")
    versions["heatlake"], open_ms, results["heatlake"], answers["heatlake"] = run_rust_engine(
        args.heatlake, "heatlake", table, args.hot, args.out, args.only)
    log("datafusion: questions")
    versions["datafusion"], _, results["datafusion"], answers["datafusion"] = run_rust_engine(
        args.heatlake, "datafusion", table, args.hot, args.out, args.only)
    run_peers(args, table, results, answers, versions, loads)
    loads["heatlake"]["what"] = "Heatlake: import into the Delta table, compaction, vacuum (Parquet + log)"
    loads["parquet"]["what"] = "the same Parquet files (DataFusion, DuckDB, chDB, Polars read them in place)"
    loads["duckdb"]["what"] = "DuckDB native table (CREATE TABLE AS from the Parquet files)"
    loads["chdb"]["what"] = "chDB MergeTree ORDER BY (site, path, type, ts), from the Parquet files"
    ingest = {} if args.no_ingest else run_ingest(args, loads)
    del loads["heatlake_import"]

    failures = []
    for engine, _ in ENGINES:
        for name in answers["heatlake"]:
            if name not in answers.get(engine, {}):
                failures.append(f"{engine}, question {name}: no answer")
                continue
            expected, actual = canonical(answers["heatlake"][name]), canonical(answers[engine][name])
            if not expected:
                failures.append(f"{engine}, question {name}: Heatlake's answer is empty (a check of nothing)")
            problem = difference(expected, actual)
            if problem:
                failures.append(f"{engine}, question {name}: {problem}")
    report = {
        "scale": args.scale, "events": args.events, "seed": args.seed, "hot_runs": args.hot,
        "machine": started_at, "versions": versions, "heatlake_open_ms": open_ms,
        "engine_names": dict(ENGINES), "questions": [q for q in QUESTIONS if q in results["heatlake"]],
        "results": results, "loads": loads, "ingest": ingest,
        "answer_check": "passed" if not failures else "FAILED",
        "answer_failures": failures, "float_relative_tolerance": FLOAT_REL_TOL,
        "command": " ".join(sys.argv),
    }
    (args.out / "compare.json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    (args.out / "compare.md").write_text(text)
    chart(report, args.out / "compare.png")
    print(text)
    log(f"wrote {args.out / 'compare.json'}, compare.md, compare.png")
    if failures:
        for failure in failures:
            log(f"ANSWER MISMATCH: {failure}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
