"""Checkpoints: every reader of the table gets the same answers from them as from the log.

Heatlake creates its table with `delta.checkpointInterval = 50`, and deltalake's post-commit hook
writes a checkpoint after every 50th commit. The first commit (the import that creates the table)
is version 0, and deltalake checkpoints when `(version + 1) % 50 == 0`, so the checkpoints are at
versions 49, 99, 149, ...: after the 50th, 100th, 150th commit.

The table is built from COMMITS imports of IMPORT_EVENTS events each (one commit each, no
compaction), so version v holds the events of the first v + 1 imports: the expected answers are
counted from the NDJSON lines themselves. At each version asked, four readers must give exactly
those answers: `heatlake sql --version`, the Python `deltalake` package, DuckDB over the files
deltalake lists, and DuckDB over the files this test's own log replay lists (the checkpoint
Parquet file plus the JSON commits after it, read without delta-rs).
"""

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest
from deltalake import DeltaTable

from test_interop import Heatlake

CHECKPOINT_INTERVAL = 50
# 146 imports are versions 0..145; the compaction of the table's 4 partitions then commits
# versions 146..149, so that checkpoint 149 is written by a compaction commit.
COMMITS = 146
IMPORT_EVENTS = 100
SEED = 11
SITES = 2
DAYS = 2
PARTITIONS = SITES * DAYS
LATEST = COMMITS - 1
CHECKPOINTS = [49, 99]
# The versions asked: the first, each side of each checkpoint, the latest.
VERSIONS = [0, 48, 49, 50, 98, 99, 100, LATEST]
# Older than deltalake's default log retention (`delta.logRetentionDuration`, 30 days).
EXPIRED_SECONDS = 40 * 24 * 3600

QUERY = "SELECT type, count(*) AS n, sum(x) AS x_sum FROM events GROUP BY type"


def commit_file(table: Path, version: int) -> Path:
    return table / "_delta_log" / f"{version:020d}.json"


def checkpoint_file(table: Path, version: int) -> Path:
    return table / "_delta_log" / f"{version:020d}.checkpoint.parquet"


def checkpoint_versions(table: Path) -> list[int]:
    return sorted(
        int(path.name.split(".")[0]) for path in (table / "_delta_log").glob("*.checkpoint.parquet")
    )


def answer_of_lines(lines: list[dict]) -> dict[str, tuple[int, int | None]]:
    """type → (events, sum of x or None when no event of the type has one)."""
    counts = Counter(line["type"] for line in lines)
    sums: dict[str, int] = {}
    for line in lines:
        if line.get("x") is not None:
            sums[line["type"]] = sums.get(line["type"], 0) + line["x"]
    return {name: (count, sums.get(name)) for name, count in counts.items()}


def heatlake_answer(heatlake: Heatlake, table: Path, version: int | None):
    args = ["sql", "--table", str(table), "--format", "json"]
    if version is not None:
        args += ["--version", str(version)]
    result = heatlake.run(*args, QUERY)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    # JSON output leaves out null values.
    return {row["type"]: (row["n"], row.get("x_sum")) for row in rows}


def deltalake_answer(delta: DeltaTable):
    grouped = (
        delta.to_pyarrow_table(columns=["type", "x"])
        .group_by("type")
        .aggregate([("type", "count"), ("x", "sum")])
    )
    return {
        name: (count, x_sum)
        for name, count, x_sum in zip(
            grouped["type"].to_pylist(),
            grouped["type_count"].to_pylist(),
            grouped["x_sum"].to_pylist(),
        )
    }


def duckdb_answer(files: list[str]):
    assert files, "a version of this table has data files"
    rows = duckdb.sql(
        "SELECT type, count(*), sum(x) FROM read_parquet($files) GROUP BY type",
        params={"files": files},
    ).fetchall()
    return {name: (count, None if x_sum is None else int(x_sum)) for name, count, x_sum in rows}


def deltalake_files(delta: DeltaTable) -> list[str]:
    return sorted(uri.removeprefix("file://") for uri in delta.file_uris())


def replayed_files(table: Path, version: int, use_checkpoints: bool = True) -> list[str]:
    """The data files of `version` by this test's own reading of the Delta log: the live files
    of the latest checkpoint at or before it (its `add` rows), then each JSON commit after it."""
    start = max((v for v in checkpoint_versions(table) if v <= version), default=None)
    live: set[str] = set()
    first_commit = 0
    if use_checkpoints and start is not None:
        rows = duckdb.sql(
            'SELECT "add".path FROM read_parquet($file) WHERE "add" IS NOT NULL',
            params={"file": str(checkpoint_file(table, start))},
        ).fetchall()
        live = {path for (path,) in rows}
        first_commit = start + 1
    for commit in range(first_commit, version + 1):
        for line in commit_file(table, commit).read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                live.add(action["add"]["path"])
            if "remove" in action:
                live.discard(action["remove"]["path"])
    return sorted(str(table / unquote(path)) for path in live)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A local table of COMMITS imports; returns (heatlake, table, the imports' lines)."""
    workdir = tmp_path_factory.mktemp("checkpoints")
    heatlake = Heatlake(workdir)
    events = COMMITS * IMPORT_EVENTS + IMPORT_EVENTS
    heatlake.run(
        "gen", "--events", str(events), "--seed", str(SEED), "--sites", str(SITES),
        "--days", str(DAYS), "--out", "events.ndjson",
    )
    lines = (workdir / "events.ndjson").read_text().splitlines()
    assert len(lines) == events
    imports = [lines[start:start + IMPORT_EVENTS] for start in range(0, events, IMPORT_EVENTS)]
    table = workdir / "events"
    started = time.monotonic()
    for number, chunk in enumerate(imports[:COMMITS]):
        path = workdir / f"import-{number}.ndjson"
        path.write_text("\n".join(chunk) + "\n")
        report = json.loads(
            heatlake.run("import", "--json", "--no-compact", "--table", str(table), str(path)).stdout
        )
        assert (report["version"], report["created"], report["events"]) == (
            number, number == 0, IMPORT_EVENTS
        ), report
    print(f"{COMMITS} imports in {time.monotonic() - started:.1f} s")
    # The import beyond the table's, for the test that adds one more commit.
    (workdir / "one-more.ndjson").write_text("\n".join(imports[COMMITS]) + "\n")
    parsed = [[json.loads(line) for line in chunk] for chunk in imports]
    return heatlake, table, parsed


def expected_at(imports: list[list[dict]], version: int):
    """The answer at `version`: the events of imports 0..version."""
    return answer_of_lines([line for chunk in imports[: version + 1] for line in chunk])


def copy_of(table: Path, name: str) -> Path:
    copy = table.parent / name
    shutil.copytree(table, copy)
    return copy


def test_the_log_has_a_checkpoint_after_every_fiftieth_commit(built):
    heatlake, table, imports = built
    assert checkpoint_versions(table) == CHECKPOINTS
    last = json.loads((table / "_delta_log" / "_last_checkpoint").read_text())
    assert last["version"] == 99, last
    for version in CHECKPOINTS:
        # A checkpoint holds exactly the files that replaying every JSON commit up to it gives.
        from_checkpoint = replayed_files(table, version)
        assert from_checkpoint == replayed_files(table, version, use_checkpoints=False)
        assert from_checkpoint == deltalake_files(DeltaTable(str(table), version=version))
    assert last["numOfAddFiles"] == len(replayed_files(table, 99)), last


@pytest.mark.parametrize("version", VERSIONS)
def test_every_reader_answers_as_imported_at_each_version(built, version):
    heatlake, table, imports = built
    expected = expected_at(imports, version)
    assert sum(count for count, _ in expected.values()) == (version + 1) * IMPORT_EVENTS

    delta = DeltaTable(str(table), version=version)
    assert delta.version() == version
    files = deltalake_files(delta)
    assert files == replayed_files(table, version)

    pinned = heatlake_answer(heatlake, table, version)
    assert pinned == expected
    assert deltalake_answer(delta) == expected
    assert duckdb_answer(files) == expected
    if version == LATEST:
        assert heatlake_answer(heatlake, table, None) == expected


def test_compaction_past_a_checkpoint_keeps_every_answer(built):
    heatlake, table, imports = built
    table = copy_of(table, "compacted")
    report = json.loads(heatlake.run("compact", "--json", "--table", str(table)).stdout)
    assert report["partitions_compacted"] == PARTITIONS, report
    assert report["rows"] == COMMITS * IMPORT_EVENTS, report
    assert report["version"] == 149, report
    assert checkpoint_versions(table) == CHECKPOINTS + [149]
    assert json.loads((table / "_delta_log" / "_last_checkpoint").read_text())["version"] == 149

    expected = expected_at(imports, LATEST)
    for version in [LATEST, 148, 149]:
        delta = DeltaTable(str(table), version=version)
        files = deltalake_files(delta)
        assert files == replayed_files(table, version)
        assert heatlake_answer(heatlake, table, version) == expected
        assert deltalake_answer(delta) == expected
        assert duckdb_answer(files) == expected
    # After the compaction, one file per partition.
    assert len(replayed_files(table, 149)) == PARTITIONS
    assert heatlake_answer(heatlake, table, None) == expected


def test_readers_start_from_the_checkpoint_once_older_commits_have_expired(built):
    heatlake, table, imports = built
    table = copy_of(table, "expired")
    old = time.time() - EXPIRED_SECONDS
    for path in (table / "_delta_log").iterdir():
        os.utime(path, (old, old))
    # The next commit's post-commit hook deletes the expired log entries the last checkpoint
    # (99) covers, as it would on any table older than the retention.
    report = heatlake.import_(str(table), "--no-compact", str(table.parent / "one-more.ndjson"))
    assert report["version"] == COMMITS, report
    remaining = sorted(path.name for path in (table / "_delta_log").iterdir())
    assert not commit_file(table, 0).exists() and not commit_file(table, 98).exists(), remaining
    assert commit_file(table, 99).exists(), remaining
    assert checkpoint_versions(table) == [99], remaining

    for version in [99, 100, LATEST, COMMITS]:
        expected = expected_at(imports, version)
        delta = DeltaTable(str(table), version=version)
        files = deltalake_files(delta)
        assert files == replayed_files(table, version)
        assert heatlake_answer(heatlake, table, version) == expected
        assert deltalake_answer(delta) == expected
        assert duckdb_answer(files) == expected
    assert heatlake_answer(heatlake, table, None) == expected_at(imports, COMMITS)

    # A version whose commits are gone cannot be read: an error, never a wrong answer.
    gone = subprocess.run(
        [str(heatlake.binary), "sql", "--table", str(table), "--version", "60", QUERY],
        cwd=heatlake.workdir, env=heatlake.env, capture_output=True, text=True, timeout=120,
    )
    assert gone.returncode != 0, gone.stdout
    with pytest.raises(Exception):
        DeltaTable(str(table), version=60)
