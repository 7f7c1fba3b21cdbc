"""Counts the load tests' batches in a Heatlake table with two readers that share no code with it.

    python3 tests/tools/table_batches.py TABLE

TABLE is a local directory or an s3:// URL (credentials and endpoint from the standard AWS_*
variables, as the binary reads them). The collector tests' batch `n` holds clicks with `x = n`;
for every `x` this prints the number of rows and of distinct `y`, once as the Python `deltalake`
package (delta-rs' own log replay, read through pyarrow) sees the table and once as DuckDB's
Parquet reader sees the files of that snapshot:

    {"version": 12, "files": 30, "readers": {"deltalake": {"7": [40, 40], ...}, "duckdb": {...}}}

Heatlake's crash and fault tests compare both with their own acknowledgements, so a bug in
Heatlake's snapshot or scan cannot hide a duplicate or a missing file.
"""

import json
import os
import sys
import tempfile
from urllib.parse import urlparse

import duckdb
import pyarrow.compute as pc
import pyarrow.fs
from deltalake import DeltaTable


def storage_options() -> dict[str, str]:
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL",
             "AWS_ALLOW_HTTP")
    return {name: os.environ[name] for name in names if name in os.environ}


def counts_from_arrow(table) -> dict[str, list[int]]:
    grouped = table.group_by("x").aggregate([("y", "count"), ("y", "count_distinct")])
    return {
        str(x): [count, distinct]
        for x, count, distinct in zip(
            grouped["x"].to_pylist(),
            grouped["y_count"].to_pylist(),
            grouped["y_count_distinct"].to_pylist(),
        )
    }


def local_copies(uris: list[str], directory: str) -> list[str]:
    """The snapshot's files as local paths: S3 objects are downloaded with pyarrow's S3 client."""
    if all(not uri.startswith("s3://") for uri in uris):
        return [urlparse(uri).path if uri.startswith("file://") else uri for uri in uris]
    endpoint = urlparse(os.environ["AWS_ENDPOINT_URL"])
    s3 = pyarrow.fs.S3FileSystem(
        access_key=os.environ["AWS_ACCESS_KEY_ID"],
        secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        region=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_override=endpoint.netloc,
        scheme=endpoint.scheme,
    )
    paths = []
    for number, uri in enumerate(uris):
        path = os.path.join(directory, f"{number}.parquet")
        with s3.open_input_stream(uri.removeprefix("s3://")) as source, open(path, "wb") as out:
            out.write(source.read())
        paths.append(path)
    return paths


def main() -> None:
    location = sys.argv[1]
    delta = DeltaTable(location, storage_options=storage_options())
    uris = delta.file_uris()
    by_deltalake = counts_from_arrow(delta.to_pyarrow_table(columns=["x", "y"]))
    with tempfile.TemporaryDirectory() as directory:
        files = local_copies(uris, directory)
        rows = duckdb.sql(
            "SELECT x, count(y), count(DISTINCT y) FROM read_parquet($files) GROUP BY x",
            params={"files": files},
        ).fetchall() if files else []
    by_duckdb = {str(x): [count, distinct] for x, count, distinct in rows}
    json.dump(
        {
            "version": delta.version(),
            "files": len(uris),
            "readers": {"deltalake": by_deltalake, "duckdb": by_duckdb},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
