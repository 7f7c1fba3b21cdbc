"""Several writers on one table: every import's rows are in it exactly once.

WRITERS `heatlake import` processes run at once into one table (local directory, then S3), each
with its own events: EVENTS_PER_WRITER clicks with `x` = the writer's number and `y` = the
event's number, all on one site over two days, so that every writer writes into the same
partitions. Each import compacts those partitions after its commit, and a `heatlake compact`
runs beside them too, so compactions race each other and the appends.

Delta Lake's optimistic concurrency must sort them out: each import's commit lands once (the log
holds one WRITE commit per writer, at the version the import reported), no compaction removes a
file another one already removed, and Heatlake, deltalake and DuckDB (over the files deltalake
lists) all count every writer's EVENTS_PER_WRITER clicks once.

The S3 case runs against the moto server `scripts/test` starts (HEATLAKE_TEST_S3_ENDPOINT); run
by hand without it, it is skipped, but under CI its absence is a failure.
"""

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs
import pytest

from test_interop import RUN_TIMEOUT_SECONDS, Heatlake

WRITERS = 5
EVENTS_PER_WRITER = 1_000
SITE = "shared.example"
# 2026-11-02T10:00:00Z
TS_START_MS = 1_793_613_600_000
DAY_MS = 86_400_000
TABLE_BATCHES = Path(__file__).resolve().parents[1] / "tools" / "table_batches.py"


def writer_events(writer: int) -> str:
    """NDJSON of one writer's clicks: x = writer, y = 0..EVENTS_PER_WRITER-1, over two days."""
    lines = []
    for number in range(EVENTS_PER_WRITER):
        lines.append(json.dumps({
            "v": 1, "site": SITE, "type": "click",
            "ts": TS_START_MS + (number % 2) * DAY_MS + number,
            "visitor_id": f"visitor-{writer}", "session_id": f"session-{writer}",
            "pageview_id": f"pageview-{writer}-{number // 50}", "seq": number,
            "path": f"{SITE}/page-{number % 7}", "x": writer, "y": number, "viewport_w": 1280,
        }))
    return "\n".join(lines) + "\n"


def s3_endpoint() -> str:
    endpoint = os.environ.get("HEATLAKE_TEST_S3_ENDPOINT")
    if endpoint:
        return endpoint.rstrip("/")
    if os.environ.get("CI"):
        pytest.fail("CI is set but HEATLAKE_TEST_S3_ENDPOINT is not: run the tests with "
                    "`bash scripts/test`, which starts moto_server and sets it")
    pytest.skip("HEATLAKE_TEST_S3_ENDPOINT not set (scripts/test starts moto_server and sets it)")


def s3_credentials(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "heatlake-test",
        "AWS_SECRET_ACCESS_KEY": "heatlake-test-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }


class Store:
    """Where the table is, and how to read its log without delta-rs."""

    def __init__(self, table: str, credentials: dict[str, str]):
        self.table = table
        self.credentials = credentials
        if table.startswith("s3://"):
            endpoint = urlparse(credentials["AWS_ENDPOINT_URL"])
            self.filesystem = pyarrow.fs.S3FileSystem(
                access_key=credentials["AWS_ACCESS_KEY_ID"],
                secret_key=credentials["AWS_SECRET_ACCESS_KEY"],
                region=credentials["AWS_REGION"],
                endpoint_override=endpoint.netloc,
                scheme=endpoint.scheme,
            )
            self.log_dir = table.removeprefix("s3://") + "/_delta_log"
        else:
            self.filesystem = pyarrow.fs.LocalFileSystem()
            self.log_dir = table + "/_delta_log"

    def commits(self) -> dict[int, list[dict]]:
        """version → the actions of its JSON commit."""
        selector = pyarrow.fs.FileSelector(self.log_dir)
        commits = {}
        for info in self.filesystem.get_file_info(selector):
            name = info.path.rsplit("/", 1)[-1]
            if name.endswith(".json") and name[:-5].isdigit():
                with self.filesystem.open_input_stream(info.path) as stream:
                    text = stream.read().decode()
                commits[int(name[:-5])] = [json.loads(line) for line in text.splitlines() if line]
        return commits


def operation(actions: list[dict]) -> str:
    [info] = [action["commitInfo"] for action in actions if "commitInfo" in action]
    return info["operation"]


def run_writers_at_once(heatlake: Heatlake, table: str) -> tuple[list[dict], dict]:
    """Starts every writer's import (1..WRITERS) and one compaction at once; returns the import
    reports and the compaction's."""
    commands = [
        ["import", "--json", "--table", table, f"writer-{writer}.ndjson"]
        for writer in range(1, WRITERS + 1)
    ] + [["compact", "--json", "--table", table]]
    processes = [
        subprocess.Popen(
            [str(heatlake.binary), *command], cwd=heatlake.workdir, env=heatlake.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for command in commands
    ]
    reports = []
    for command, process in zip(commands, processes):
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
        assert process.returncode == 0, (
            f"heatlake {' '.join(command)} exited with {process.returncode}\n"
            f"stdout:\n{stdout}\nstderr:\n{stderr}"
        )
        reports.append(json.loads(stdout))
    return reports[:-1], reports[-1]


def writers_table(heatlake: Heatlake, table: str, store: Store) -> None:
    """Writer 0 creates the table alone (a table is created by exactly one import), then the
    others write at once; checks that every writer's rows are there once."""
    for writer in range(WRITERS + 1):
        (heatlake.workdir / f"writer-{writer}.ndjson").write_text(writer_events(writer))
    created = heatlake.import_(table, "writer-0.ndjson")
    assert (created["version"], created["created"]) == (0, True), created

    imports, compaction = run_writers_at_once(heatlake, table)
    assert all(report["events"] == EVENTS_PER_WRITER for report in imports), imports

    expected = {str(writer): [EVENTS_PER_WRITER, EVENTS_PER_WRITER] for writer in range(WRITERS + 1)}
    by_heatlake = heatlake.sql_json(
        table, "SELECT x, count(*) AS n, count(DISTINCT y) AS d FROM events GROUP BY x"
    )
    assert {str(row["x"]): [row["n"], row["d"]] for row in by_heatlake} == expected
    independent = subprocess.run(
        [sys.executable, str(TABLE_BATCHES), table],
        env={**os.environ, **store.credentials, "NO_PROXY": "127.0.0.1,localhost"},
        capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=True,
    )
    read = json.loads(independent.stdout)
    assert read["readers"]["deltalake"] == expected
    assert read["readers"]["duckdb"] == expected

    commits = store.commits()
    assert sorted(commits) == list(range(max(commits) + 1)), "the log has no gaps"
    operations = Counter(operation(actions) for actions in commits.values())
    assert operations["CREATE TABLE"] == 1 and operations["WRITE"] == WRITERS, operations
    writes = sorted(v for v, actions in commits.items() if operation(actions) == "WRITE")
    assert writes == sorted(report["version"] for report in imports)
    assert set(operations) <= {"CREATE TABLE", "WRITE", "OPTIMIZE"}, operations
    # No file is removed twice: two compactions of the same files would each add their rows.
    removed = Counter(
        action["remove"]["path"]
        for actions in commits.values() for action in actions if "remove" in action
    )
    assert [path for path, times in removed.items() if times > 1] == []
    assert compaction["partitions"] == 2, compaction
    assert read["version"] == max(commits), read


def test_writers_at_once_on_a_local_table_each_land_exactly_once(tmp_path):
    heatlake = Heatlake(tmp_path)
    table = str(tmp_path / "events")
    writers_table(heatlake, table, Store(table, {}))


def test_writers_at_once_on_an_s3_table_each_land_exactly_once(tmp_path):
    endpoint = s3_endpoint()
    bucket = f"hl-writers-{uuid.uuid4().hex[:16]}"
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    credentials = s3_credentials(endpoint)
    heatlake = Heatlake(tmp_path, credentials)
    table = f"s3://{bucket}/events"
    writers_table(heatlake, table, Store(table, credentials))
