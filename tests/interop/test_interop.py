"""Other engines read Heatlake's table and agree with it.

A Heatlake table is a plain Delta Lake table of Parquet files: the Python `deltalake` package
(delta-rs) must read it as a Delta table, and DuckDB must read its Parquet files with Hive
partitioning, and both must count exactly what `heatlake sql` counts.

Run by `scripts/test` with HEATLAKE_BIN pointing at the release binary; every run of the binary
gets a temporary working directory and HEATLAKE_HOME.
"""

import json
import os
import subprocess
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

EVENTS = 30_000
SEED = 3
# A run of the binary that takes longer than this is stuck.
RUN_TIMEOUT_SECONDS = 600


def heatlake_bin() -> Path:
    configured = os.environ.get("HEATLAKE_BIN")
    if configured:
        binary = Path(configured)
    else:
        target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache" / "heatlake-target"))
        binary = Path(target) / "release" / "heatlake"
    if not binary.is_file():
        pytest.fail(
            f"heatlake binary not found at {binary}: run `bash scripts/test`, "
            "or build it and set HEATLAKE_BIN"
        )
    return binary


class Heatlake:
    """Runs the binary in `workdir`, with `workdir/home` as HEATLAKE_HOME."""

    def __init__(self, workdir: Path, extra_env: dict | None = None):
        self.binary = heatlake_bin()
        self.workdir = workdir
        home = workdir / "home"
        home.mkdir(exist_ok=True)
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("HEATLAKE_", "AWS_"))
        }
        env["HEATLAKE_HOME"] = str(home)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env.update(extra_env or {})
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.binary), *args],
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        assert result.returncode == 0, (
            f"heatlake {' '.join(args)} exited with {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return result

    def gen(self, events: int, seed: int, out: str) -> dict:
        result = self.run("gen", "--events", str(events), "--seed", str(seed), "--out", out)
        summary = json.loads(result.stdout)
        assert summary["events"] == events, summary
        return summary

    def import_(self, table: str, *files: str) -> dict:
        return json.loads(self.run("import", "--json", "--table", table, *files).stdout)

    def vacuum_now(self, table: str) -> None:
        """Deletes the files compaction replaced, so that the table's directory holds only live
        files for readers that glob it as plain Parquet."""
        self.run("vacuum", "--table", table, "--retain-hours", "0")

    def sql_json(self, table: str, query: str) -> list[dict]:
        result = self.run("sql", "--table", table, "--format", "json", query)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def counts_per_type(self, table: str) -> dict[str, int]:
        rows = self.sql_json(table, "SELECT type, count(*) AS n FROM events GROUP BY type")
        return {row["type"]: row["n"] for row in rows}


def generated_per_type(summary: dict) -> dict[str, int]:
    """The gen summary's counts per type, types with none left out."""
    counts = summary.get("events_by_type", summary.get("events_per_type"))
    assert isinstance(counts, dict), f"no counts per type in the gen summary {summary}"
    return {name: count for name, count in counts.items() if count}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A local table holding EVENTS generated events; returns (heatlake, table, gen summary)."""
    workdir = tmp_path_factory.mktemp("interop")
    heatlake = Heatlake(workdir)
    summary = heatlake.gen(EVENTS, SEED, "events.ndjson.gz")
    table = workdir / "events"
    report = heatlake.import_(str(table), "events.ndjson.gz")
    assert report["version"] == 0 and report["created"] is True, report
    assert report["events"] == EVENTS, report
    heatlake.vacuum_now(str(table))
    return heatlake, table, summary


def test_heatlake_counts_what_gen_generated(imported):
    heatlake, table, summary = imported
    assert heatlake.counts_per_type(str(table)) == generated_per_type(summary)


def test_deltalake_reads_the_table(imported):
    heatlake, table, summary = imported
    delta = DeltaTable(str(table))
    assert delta.version() == 0
    assert delta.metadata().partition_columns == ["site", "date"]
    field_names = [field.name for field in delta.schema().fields]
    assert field_names[:2] == ["site", "date"], field_names
    assert {"ts", "type", "visitor_id", "pageview_id", "x", "y"} <= set(field_names)

    uris = delta.file_uris()
    assert uris, "the table has data files"
    for uri in uris:
        relative = Path(uri.split(str(table), 1)[1].lstrip("/"))
        assert relative.parts[0].startswith("site=") and relative.parts[1].startswith("date="), uri
    # Row count from the log's file statistics alone.
    assert delta.count() == EVENTS

    arrow = delta.to_pyarrow_table(columns=["site", "date", "type"])
    assert arrow.num_rows == EVENTS
    by_type = Counter(arrow.column("type").to_pylist())
    assert dict(by_type) == heatlake.counts_per_type(str(table))
    assert dict(by_type) == generated_per_type(summary)

    by_partition = Counter(
        zip(arrow.column("site").to_pylist(), (str(day) for day in arrow.column("date").to_pylist()))
    )
    heatlake_partitions = heatlake.sql_json(
        str(table), "SELECT site, date, count(*) AS n FROM events GROUP BY site, date"
    )
    assert dict(by_partition) == {(row["site"], row["date"]): row["n"] for row in heatlake_partitions}
    partitions = {(values["site"], str(values["date"])) for values in delta.partitions()}
    assert partitions == set(by_partition)
    assert pc.count_distinct(arrow.column("site")).as_py() == summary["sites"]


def test_duckdb_reads_the_parquet_files(imported):
    heatlake, table, summary = imported
    assert not list((table / "_delta_log").glob("*.parquet")), "no checkpoint among the data"
    files = f"{table}/**/*.parquet"
    connection = duckdb.connect()
    relation = f"read_parquet('{files}', hive_partitioning = true)"

    by_type = dict(connection.execute(f"SELECT type, count(*) FROM {relation} GROUP BY type").fetchall())
    assert by_type == heatlake.counts_per_type(str(table))
    assert sum(by_type.values()) == EVENTS

    (pageviews,) = connection.execute(f"SELECT count(DISTINCT pageview_id) FROM {relation}").fetchone()
    [heatlake_pageviews] = heatlake.sql_json(
        str(table), "SELECT count(DISTINCT pageview_id) AS n FROM events"
    )
    assert pageviews == heatlake_pageviews["n"] > 0

    query = (
        "SELECT path, sum(x) AS x_sum FROM {} WHERE type = 'click' "
        "GROUP BY path ORDER BY x_sum DESC, path LIMIT 10"
    )
    duck_top = [
        {"path": path, "x_sum": int(x_sum)}
        for path, x_sum in connection.execute(query.format(relation)).fetchall()
    ]
    assert duck_top == heatlake.sql_json(str(table), query.format("events"))
    assert len(duck_top) == 10

    # Hive partition values typed as DuckDB infers them: the site string and the date.
    partitions = connection.execute(
        f"SELECT site, CAST(date AS VARCHAR), count(*) FROM {relation} GROUP BY ALL"
    ).fetchall()
    heatlake_partitions = heatlake.sql_json(
        str(table), "SELECT site, date, count(*) AS n FROM events GROUP BY site, date"
    )
    assert {(site, day): n for site, day, n in partitions} == {
        (row["site"], row["date"]): row["n"] for row in heatlake_partitions
    }


@pytest.mark.skipif(
    not os.environ.get("HEATLAKE_TEST_S3_ENDPOINT"),
    reason="HEATLAKE_TEST_S3_ENDPOINT not set (scripts/test starts moto_server and sets it)",
)
def test_deltalake_reads_a_table_heatlake_wrote_to_s3(tmp_path):
    endpoint = os.environ["HEATLAKE_TEST_S3_ENDPOINT"].rstrip("/")
    bucket = f"hl-interop-{uuid.uuid4().hex[:16]}"
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    credentials = {
        "AWS_ACCESS_KEY_ID": "heatlake-test",
        "AWS_SECRET_ACCESS_KEY": "heatlake-test-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }
    heatlake = Heatlake(tmp_path, credentials)
    summary = heatlake.gen(5_000, SEED + 1, "events.ndjson")
    table = f"s3://{bucket}/events"
    report = heatlake.import_(table, "events.ndjson")
    assert report["events"] == 5_000, report

    delta = DeltaTable(table, storage_options=credentials)
    assert delta.version() == 0
    arrow = delta.to_pyarrow_table(columns=["type"])
    assert dict(Counter(arrow.column("type").to_pylist())) == generated_per_type(summary)
