"""Differential test of the analytics: each question's full answer from `heatlake` equals the
same question written independently in DuckDB SQL over the table's Parquet files.

The data is the 1m standard set (1,000,000 events, seed 1). Floats are compared with a relative
tolerance of 1e-9 (the engines sum in different orders); everything else exactly, row by row and
in order.
"""

import csv
import io
import math
import shutil
import struct
import subprocess
from decimal import Decimal

import duckdb
import pytest

from test_interop import Heatlake

EVENTS = 1_000_000
SEED = 1
SITE = "news.example"
PAGE = "news.example/"
SHOP = "shop.example"

# One segment exercising every kind of filter (event filters and page-view filters).
SEGMENT_FLAGS = [
    "--from", "2026-11-02", "--to", "2026-11-06T12:00:00Z",
    "--viewport-w-min", "1024", "--browser", "Chrome",
    "--referrer-domain", "google.com", "--predicate", "seq < 200",
]
SEGMENT_DUCK = (
    "ts >= TIMESTAMPTZ '2026-11-02 00:00:00+00' AND ts < TIMESTAMPTZ '2026-11-06 12:00:00+00' "
    "AND viewport_w >= 1024 AND seq < 200 AND pageview_id IN ("
    "  SELECT pageview_id FROM ev WHERE type = 'pageview' AND browser = 'Chrome' "
    "  AND ts >= TIMESTAMPTZ '2026-11-02 00:00:00+00' AND ts < TIMESTAMPTZ '2026-11-06 12:00:00+00' "
    "  AND (regexp_extract(lower(referrer), '://([^/]*)', 1) = 'google.com' "
    "       OR regexp_extract(lower(referrer), '://([^/]*)', 1) LIKE '%.google.com'){page})"
)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("analytics")
    heatlake = Heatlake(workdir)
    heatlake.gen(EVENTS, SEED, "events.ndjson.gz")
    table = workdir / "events"
    report = heatlake.import_(str(table), "events.ndjson.gz")
    assert report["events"] == EVENTS, report
    heatlake.vacuum_now(str(table))
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.execute(
        f"CREATE VIEW ev AS SELECT * FROM read_parquet('{table}/**/*.parquet', hive_partitioning = true)"
    )
    return heatlake, str(table), duck


def heatlake_rows(heatlake, table, *args):
    """The answer as CSV rows of strings (NULL is an empty cell); header lines left out."""
    result = heatlake.run(*args, "--table", table, "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    # A question with two results (scroll depth) prints two CSV tables, each with its header.
    return [row for row in rows if row and not (row[0] and row[0][0].isalpha() and row[0] in HEADERS)]


# First column names of the questions' results.
HEADERS = {"fixed", "target", "pageviews", "depth_pct", "element", "to_path", "path", "step"}


def same(cell, expected):
    """Whether a CSV cell from Heatlake holds DuckDB's value."""
    if expected is None:
        return cell == ""
    if isinstance(expected, bool):
        return cell == ("true" if expected else "false")
    if isinstance(expected, int):
        return cell != "" and int(cell) == expected
    if isinstance(expected, (float, Decimal)):
        return cell != "" and math.isclose(float(cell), float(expected), rel_tol=1e-9, abs_tol=1e-12)
    return cell == str(expected)


def assert_same_rows(ours, theirs, what):
    assert len(ours) == len(theirs), f"{what}: {len(ours)} rows vs DuckDB {len(theirs)}"
    assert ours, f"{what}: no rows (a differential test of nothing)"
    for index, (mine, other) in enumerate(zip(ours, theirs)):
        other = list(other)
        assert len(mine) == len(other), f"{what} row {index}: {mine} vs DuckDB {other}"
        assert all(same(a, b) for a, b in zip(mine, other)), f"{what} row {index}: {mine} vs DuckDB {other}"


def page_filter(site, page, segment):
    where = f"site = '{site}' AND path = '{page}'"
    if segment:
        where += " AND " + SEGMENT_DUCK.format(page=f" AND site = '{site}' AND path = '{page}'")
    return where


@pytest.mark.parametrize("segment", [False, True])
def test_click_heatmap(table, segment):
    heatlake, path, duck = table
    flags = SEGMENT_FLAGS if segment else []
    ours = heatlake_rows(heatlake, path, "heatmap", "--site", SITE, "--page", PAGE, *flags)
    theirs = duck.execute(
        f"SELECT coalesce(target_fixed, false), CAST(floor(x / 16) AS BIGINT) AS cx, "
        f"CAST(floor(y / 16) AS BIGINT) AS cy, count(*), count(DISTINCT visitor_id) FROM ev "
        f"WHERE {page_filter(SITE, PAGE, segment)} AND type = 'click' AND x IS NOT NULL AND y IS NOT NULL "
        f"GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall()
    assert_same_rows(ours, theirs, "click heatmap")


def test_move_heatmap_centred_and_element(table):
    heatlake, path, duck = table
    ours = heatlake_rows(heatlake, path, "heatmap", "--site", SITE, "--page", PAGE, "--kind", "move",
                         "--mode", "viewport-centred", "--bin-px", "40")
    theirs = duck.execute(
        f"SELECT coalesce(target_fixed, false), CAST(floor((x - viewport_w / 2) / 40) AS BIGINT), "
        f"CAST(floor(y / 40) AS BIGINT), count(*), count(DISTINCT visitor_id) FROM ev "
        f"WHERE site = '{SITE}' AND path = '{PAGE}' AND type = 'move' AND x IS NOT NULL AND y IS NOT NULL "
        f"AND viewport_w IS NOT NULL GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall()
    assert_same_rows(ours, theirs, "move heatmap")
    ours = heatlake_rows(heatlake, path, "heatmap", "--site", SITE, "--page", PAGE, "--mode", "element")
    theirs = duck.execute(
        f"SELECT target, coalesce(target_fixed, false), "
        f"CAST(least(floor(target_rx::DOUBLE * 10), 9) AS BIGINT), "
        f"CAST(least(floor(target_ry::DOUBLE * 10), 9) AS BIGINT), count(*), count(DISTINCT visitor_id) "
        f"FROM ev WHERE site = '{SITE}' AND path = '{PAGE}' AND type = 'click' AND target IS NOT NULL "
        f"AND target_rx IS NOT NULL AND target_ry IS NOT NULL GROUP BY ALL ORDER BY 1, 2, 3, 4"
    ).fetchall()
    assert_same_rows(ours, theirs, "element heatmap")


@pytest.mark.parametrize("segment", [False, True])
def test_scroll_depth(table, segment):
    heatlake, path, duck = table
    flags = SEGMENT_FLAGS if segment else []
    ours = heatlake_rows(heatlake, path, "scroll", "--site", SITE, "--page", PAGE, *flags)
    where = page_filter(SITE, PAGE, segment)
    per_pageview = (
        f"SELECT pageview_id, "
        f"max(least(100, (coalesce(scroll_y, 0) + viewport_h) * 100 // doc_h)) FILTER (WHERE doc_h > 0 AND viewport_h IS NOT NULL) AS pct, "
        f"max(least(1.0, (coalesce(scroll_y, 0) + viewport_h) / doc_h)) FILTER (WHERE doc_h > 0 AND viewport_h IS NOT NULL) AS depth, "
        f"max(viewport_h) FILTER (WHERE type = 'pageview') AS vh, max(doc_h) FILTER (WHERE doc_h > 0) AS dh "
        f"FROM ev WHERE {where} AND pageview_id IN (SELECT pageview_id FROM ev WHERE {where} AND type = 'pageview') "
        f"GROUP BY pageview_id"
    )
    summary = duck.execute(
        f"WITH d AS ({per_pageview}) SELECT count(*), count(pct), count(*) - count(pct), avg(depth), "
        f"median(depth), median(vh::DOUBLE), median(dh::DOUBLE), "
        f"least(1.0, median(vh::DOUBLE) / median(dh::DOUBLE)) FROM d"
    ).fetchall()
    reach = duck.execute(
        f"WITH d AS ({per_pageview}) SELECT p, count(pct) FILTER (WHERE pct >= p), "
        f"count(pct) FILTER (WHERE pct >= p) / count(pct) FROM range(0, 101) AS steps(p), d "
        f"GROUP BY p ORDER BY p"
    ).fetchall()
    assert summary[0][0] > 0
    assert_same_rows(ours, summary + reach, "scroll depth")


@pytest.mark.parametrize("segment", [False, True])
def test_element_ctr(table, segment):
    heatlake, path, duck = table
    flags = SEGMENT_FLAGS if segment else []
    ours = heatlake_rows(heatlake, path, "ctr", "--site", SITE, "--page", PAGE, "--limit", "1000", *flags)
    where = page_filter(SITE, PAGE, segment)
    theirs = duck.execute(
        f"WITH pv AS (SELECT DISTINCT pageview_id FROM ev WHERE {where} AND type = 'pageview'), "
        f"e AS (SELECT * FROM ev WHERE {where} AND pageview_id IN (SELECT pageview_id FROM pv)), "
        f"bottoms AS (SELECT pageview_id, greatest("
        f"  coalesce(max(coalesce(scroll_y, 0) + viewport_h), 0), "
        f"  coalesce(max(y + 1) FILTER (WHERE type = 'click' AND NOT coalesce(target_fixed, false)), 0)) AS bottom "
        f"  FROM e GROUP BY pageview_id), "
        f"el AS (SELECT target, count(*) AS clicks, count(DISTINCT pageview_id) AS pvc, min(y) AS top, "
        f"  bool_or(coalesce(target_fixed, false)) AS fixed FROM e WHERE type = 'click' AND target IS NOT NULL GROUP BY target) "
        f"SELECT el.target, clicks, pvc, (SELECT count(*) FROM pv), pvc / (SELECT count(*) FROM pv), "
        f"  (SELECT count(*) FROM bottoms WHERE el.fixed OR bottom > coalesce(el.top, 0)) AS exposed, "
        f"  pvc / (SELECT count(*) FROM bottoms WHERE el.fixed OR bottom > coalesce(el.top, 0)) "
        f"FROM el ORDER BY pvc DESC, clicks DESC, el.target"
    ).fetchall()
    assert_same_rows(ours, theirs, "element ctr")


def test_link_ctr(table):
    heatlake, path, duck = table
    ours = heatlake_rows(heatlake, path, "ctr", "--site", SITE, "--page", PAGE, "--next-pages", "--limit", "1000")
    theirs = duck.execute(
        f"WITH pv AS (SELECT session_id, pageview_id, ts, path FROM ev WHERE site = '{SITE}' "
        f"  AND type = 'pageview' AND session_id IS NOT NULL AND pageview_id IS NOT NULL), "
        f"nx AS (SELECT pageview_id, path, lead(path) OVER (PARTITION BY session_id ORDER BY ts, pageview_id) AS nxt FROM pv), "
        f"a AS (SELECT * FROM nx WHERE path = '{PAGE}') "
        f"SELECT nxt, count(DISTINCT pageview_id) AS n, (SELECT count(DISTINCT pageview_id) FROM a), "
        f"  count(DISTINCT pageview_id) / (SELECT count(DISTINCT pageview_id) FROM a) "
        f"FROM a WHERE nxt IS NOT NULL GROUP BY nxt ORDER BY n DESC, nxt"
    ).fetchall()
    assert_same_rows(ours, theirs, "link ctr")


RAGE_DUCK = """
WITH pv AS (SELECT DISTINCT pageview_id, path FROM ev WHERE {where} AND type = 'pageview'),
c AS (SELECT pageview_id, path, ts, seq, x, y, coalesce(target, '') AS target, coalesce(dead, false) AS dead
      FROM ev WHERE {where} AND type = 'click' AND pageview_id IN (SELECT pageview_id FROM pv)),
l AS (SELECT *, CASE WHEN epoch_ms(ts) - epoch_ms(lag(ts) OVER w) <= 1000
                      AND abs(x - lag(x) OVER w) + abs(y - lag(y) OVER w) <= 30 THEN 0 ELSE 1 END AS s
      FROM c WINDOW w AS (PARTITION BY pageview_id ORDER BY ts, seq)),
r AS (SELECT *, sum(s) OVER (PARTITION BY pageview_id ORDER BY ts, seq ROWS UNBOUNDED PRECEDING) AS run FROM l),
rage AS (SELECT pageview_id, path, any_value(target) FILTER (WHERE s = 1) AS target
         FROM r GROUP BY pageview_id, path, run HAVING count(*) >= 3),
totals AS (SELECT path, count(DISTINCT pageview_id) AS pvs FROM pv GROUP BY path)
"""


def test_frustration(table):
    heatlake, path, duck = table
    where = f"site = '{SITE}'"
    ours = heatlake_rows(heatlake, path, "frustration", "--site", SITE, "--limit", "100000")
    theirs = duck.execute(
        RAGE_DUCK.format(where=where)
        + """, cs AS (SELECT path, target, count(*) AS clicks, count(*) FILTER (WHERE dead) AS dead_clicks,
                   count(DISTINCT pageview_id) FILTER (WHERE dead) AS dead_pvs FROM c GROUP BY path, target),
             rs AS (SELECT path, target, count(*) AS runs, count(DISTINCT pageview_id) AS rage_pvs FROM rage GROUP BY path, target)
        SELECT cs.path, cs.target, clicks, coalesce(runs, 0) AS runs, coalesce(rage_pvs, 0), dead_clicks, dead_pvs, pvs,
               coalesce(rage_pvs, 0) / pvs, dead_clicks / clicks
        FROM cs JOIN totals USING (path) LEFT JOIN rs USING (path, target)
        ORDER BY runs DESC, dead_clicks DESC, cs.path, cs.target"""
    ).fetchall()
    assert sum(row[3] for row in theirs) > 0, "the data has rage clicks"
    assert_same_rows(ours, theirs, "frustration per element")
    ours = heatlake_rows(heatlake, path, "frustration", "--site", SITE, "--level", "page", "--limit", "100000")
    theirs = duck.execute(
        RAGE_DUCK.format(where=where)
        + """, cs AS (SELECT path, count(*) AS clicks, count(*) FILTER (WHERE dead) AS dead_clicks,
                   count(DISTINCT pageview_id) FILTER (WHERE dead) AS dead_pvs FROM c GROUP BY path),
             rs AS (SELECT path, count(*) AS runs, count(DISTINCT pageview_id) AS rage_pvs FROM rage GROUP BY path)
        SELECT totals.path, pvs, coalesce(clicks, 0), coalesce(runs, 0) AS runs, coalesce(rage_pvs, 0),
               coalesce(dead_clicks, 0) AS dc, coalesce(dead_pvs, 0), coalesce(rage_pvs, 0) / pvs, dead_clicks / clicks
        FROM totals LEFT JOIN cs USING (path) LEFT JOIN rs USING (path)
        ORDER BY runs DESC, dc DESC, totals.path"""
    ).fetchall()
    assert_same_rows(ours, theirs, "frustration per page")


def test_funnel(table):
    heatlake, path, duck = table
    steps = [f"{SHOP}/", f"{SHOP}/cart", "sql:type = 'submit'"]
    ours = heatlake_rows(heatlake, path, "funnel", "--site", SHOP, "--window-s", "1800",
                         *[flag for step in steps for flag in ("--step", step)])
    conditions = [f"type = 'pageview' AND path = '{SHOP}/'", f"type = 'pageview' AND path = '{SHOP}/cart'",
                  "type = 'submit'"]
    ctes = []
    for k, condition in enumerate(conditions, start=1):
        ctes.append(f"s{k} AS (SELECT DISTINCT session_id, epoch_ms(ts) AS t FROM ev WHERE site = '{SHOP}' "
                    f"AND session_id IS NOT NULL AND {condition})")
        if k == 1:
            ctes.append("r1 AS (SELECT session_id, t AS t1, t AS tp, t AS tk FROM s1)")
        else:
            ctes.append(f"r{k} AS (SELECT r.session_id, r.t1, r.tk AS tp, min(s.t) AS tk FROM r{k-1} r "
                        f"JOIN s{k} s ON s.session_id = r.session_id AND s.t > r.tk AND s.t <= r.t1 + 1800000 "
                        f"GROUP BY ALL)")
    stats = []
    for k in range(1, 4):
        first = f"(SELECT arg_min(tk - tp, t1) AS d FROM r{k} GROUP BY session_id)"
        medians = "NULL::DOUBLE, NULL::DOUBLE" if k == 1 else "median(d / 1000.0), avg(d / 1000.0)"
        stats.append(f"SELECT {k} AS step, count(*) AS n, {medians} FROM {first}")
    rows = duck.execute("WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(stats) + " ORDER BY step").fetchall()
    labels = [f"{SHOP}/", f"{SHOP}/cart", "type = 'submit'"]
    theirs = []
    for index, (step, n, median, average) in enumerate(rows):
        first = rows[0][1]
        previous = rows[index - 1][1] if index else None
        theirs.append([step, labels[index], n, n / first if first else None,
                       (n / previous if previous else None), median, average])
    assert rows[2][1] > 0, "some sessions reach the last step"
    assert_same_rows(ours, theirs, "funnel")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "headless_shell"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(chromium() is None, reason="no Chromium on this machine")
def test_report_renders_in_headless_chromium(table, tmp_path):
    heatlake, path, _ = table
    report = tmp_path / "report.html"
    heatlake.run("report", "--table", path, "--site", SITE, "--page", PAGE, "--out", str(report))
    html = report.read_text()
    assert html.count("data:image/png;base64,") == 2 and "<svg" in html
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={screenshot}",
         "--window-size=1280,2400", report.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2400)
    # A blank page compresses to a few kilobytes; the pictures and tables do not.
    assert len(data) > 50_000, len(data)
