"""docs/architecture.md draws the crate graph that the Cargo files declare, no more and no less.

The "Crates" section of the architecture page holds a block of lines `crate ──► dep, dep`
(workspace crates only, normal dependencies, without the `heatlake-` prefix). This test reads
that block and compares it with `cargo metadata`, so a dependency added or dropped in a
`Cargo.toml` fails here until the page is redrawn, and the page cannot claim a layer that the
code does not have.
"""

import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "architecture.md"
PREFIX = "heatlake-"
ARROW = "──►"


def declared_graph() -> dict[str, set[str]]:
    """Workspace crate → the workspace crates it depends on (normal dependencies), from Cargo."""
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = {package["name"] for package in metadata["packages"]}
    graph = {}
    for package in metadata["packages"]:
        graph[package["name"].removeprefix(PREFIX)] = {
            dependency["name"].removeprefix(PREFIX)
            for dependency in package["dependencies"]
            if dependency["name"] in members and dependency["kind"] is None
        }
    return graph


def documented_graph() -> dict[str, set[str]]:
    """The same graph as the architecture page draws it."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## Crates\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert block, "the Crates section of docs/architecture.md has no ```text block of the graph"
    graph = {}
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        name, _, rest = line.partition(ARROW)
        name = name.split("(")[0].strip()
        assert name not in graph, f"{name} is drawn twice"
        graph[name] = {dep.strip() for dep in rest.split(",") if dep.strip()}
    return graph


def crate_table_rows() -> set[str]:
    """The crates the page's table describes (its first column, `name` in backticks)."""
    section = PAGE.read_text(encoding="utf-8").split("\n## Crates\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z]+)` \|", section, re.MULTILINE))


def test_the_drawn_crate_graph_is_the_declared_one():
    declared = declared_graph()
    documented = documented_graph()
    assert set(documented) == set(declared), "crates drawn vs crates in the workspace"
    for name, dependencies in declared.items():
        assert documented[name] == dependencies, (
            f"docs/architecture.md draws {name} ──► {sorted(documented[name])}, "
            f"Cargo.toml declares {sorted(dependencies)}"
        )


def test_every_crate_has_a_row_in_the_table():
    assert crate_table_rows() == set(declared_graph())


def test_dependencies_only_point_down():
    """The layers form no cycle (Cargo forbids one; this keeps the drawn order honest too)."""
    graph = declared_graph()
    order = list(documented_graph())
    for name, dependencies in graph.items():
        for dependency in dependencies:
            assert order.index(dependency) > order.index(name), (
                f"{name} depends on {dependency}, drawn above it"
            )
