"""The question set of the peer comparison, written in each peer's own dialect.

Heatlake answers the same questions through its library (`heatlake bench`, in
crates/cli/src/commands/bench.rs, under the same names); plain DataFusion runs the SQL that
library builds. Meanings follow docs/analytics.md; the DuckDB statements are those of
tests/interop/test_analytics_duckdb.py, which hold Heatlake's answers equal in the test suite.

Each formulation returns rows in the same columns, in the same order, as Heatlake's answer.
`{ev}` in a SQL text is the table: a native table, or a scan of the Parquet files.
"""

from datetime import datetime, timedelta, timezone

import polars as pl

SITE = "news.example"
PAGE = "news.example/"
SHOP = "shop.example"
WEEK_FROM = datetime(2026, 11, 1, tzinfo=timezone.utc)
WEEK_TO = datetime(2026, 11, 8, tzinfo=timezone.utc)
DRILL_FROM = datetime(2026, 11, 4, 18, 0, tzinfo=timezone.utc)
DRILL_TO = datetime(2026, 11, 4, 18, 10, tzinfo=timezone.utc)
FUNNEL_WINDOW_S = 1800
CTR_LIMIT = 20
QUESTIONS = [
    "heatmap",
    "scroll_depth",
    "ctr_top_elements",
    "rage_clicks_per_page",
    "funnel_3_steps",
    "pageviews_per_device_day",
    "count_by_type",
    "drill_down_10_min",
]
FUNNEL_LABELS = [f"{SHOP}/", f"{SHOP}/cart", "type = 'submit'"]
FUNNEL_CONDITIONS = [
    f"type = 'pageview' AND path = '{SHOP}/'",
    f"type = 'pageview' AND path = '{SHOP}/cart'",
    "type = 'submit'",
]

# ---------------------------------------------------------------------------------------------
# DuckDB

_PAGE = f"site = '{SITE}' AND path = '{PAGE}'"


def _duck_funnel():
    ctes = []
    for k, condition in enumerate(FUNNEL_CONDITIONS, start=1):
        ctes.append(f"s{k} AS (SELECT DISTINCT session_id, epoch_us(ts) AS t FROM {{ev}} "
                    f"WHERE site = '{SHOP}' AND session_id IS NOT NULL AND {condition})")
        if k == 1:
            ctes.append("r1 AS (SELECT session_id, t AS t1, t AS tp, t AS tk FROM s1)")
        else:
            ctes.append(f"r{k} AS (SELECT r.session_id, r.t1, r.tk AS tp, min(s.t) AS tk FROM r{k-1} r "
                        f"JOIN s{k} s ON s.session_id = r.session_id AND s.t > r.tk "
                        f"AND s.t <= r.t1 + {FUNNEL_WINDOW_S * 1_000_000} GROUP BY ALL)")
        ctes.append(f"f{k} AS (SELECT session_id, arg_min(tk - tp, t1) / 1e6 AS secs FROM r{k} GROUP BY session_id)")
    stats = []
    for k, label in enumerate(FUNNEL_LABELS, start=1):
        times = ("NULL::DOUBLE AS med, NULL::DOUBLE AS av" if k == 1
                 else "median(secs) AS med, avg(secs) AS av")
        stats.append(f"SELECT {k} AS step, '{label.replace(chr(39), chr(39) * 2)}' AS label, "
                     f"count(*) AS sessions, {times} FROM f{k}")
    return ("WITH " + ", ".join(ctes) + ", stats AS (" + " UNION ALL ".join(stats) + ") "
            "SELECT step, label, sessions, sessions / nullif(first_value(sessions) OVER (ORDER BY step), 0), "
            "sessions / nullif(lag(sessions) OVER (ORDER BY step), 0), med, av FROM stats ORDER BY step")


DUCKDB = {
    "heatmap": f"""SELECT coalesce(target_fixed, false), CAST(floor(x / 16) AS BIGINT) AS cx,
        CAST(floor(y / 16) AS BIGINT) AS cy, count(*), count(DISTINCT visitor_id) FROM {{ev}}
        WHERE {_PAGE} AND ts >= TIMESTAMPTZ '2026-11-01 00:00:00+00' AND ts < TIMESTAMPTZ '2026-11-08 00:00:00+00'
          AND type = 'click' AND x IS NOT NULL AND y IS NOT NULL
        GROUP BY ALL ORDER BY 1, 2, 3""",
    "scroll_depth": f"""WITH d AS (SELECT pageview_id,
          max(least(100, (coalesce(scroll_y, 0)::BIGINT + viewport_h) * 100 // doc_h))
            FILTER (WHERE doc_h > 0 AND viewport_h IS NOT NULL) AS pct
          FROM {{ev}} WHERE {_PAGE} AND pageview_id IS NOT NULL
          GROUP BY pageview_id HAVING bool_or(type = 'pageview')),
        hist AS (SELECT pct, count(*) AS n FROM d WHERE pct IS NOT NULL GROUP BY pct),
        known AS (SELECT count(pct) AS n FROM d)
        SELECT p, coalesce(sum(hist.n) FILTER (WHERE pct >= p), 0) AS reached,
          coalesce(sum(hist.n) FILTER (WHERE pct >= p), 0) / nullif(any_value(known.n), 0)
        FROM range(0, 101) AS steps(p), hist, known GROUP BY p ORDER BY p""",
    "ctr_top_elements": f"""WITH pv AS (SELECT DISTINCT pageview_id FROM {{ev}}
          WHERE {_PAGE} AND type = 'pageview' AND pageview_id IS NOT NULL),
        e AS (SELECT * FROM {{ev}} WHERE {_PAGE} AND pageview_id IN (SELECT pageview_id FROM pv)),
        bottoms AS (SELECT pageview_id, greatest(
            coalesce(max(coalesce(scroll_y, 0)::BIGINT + viewport_h), 0),
            coalesce(max(y::BIGINT + 1) FILTER (WHERE type = 'click' AND NOT coalesce(target_fixed, false)), 0)) AS bottom
          FROM e GROUP BY pageview_id),
        el AS (SELECT target, count(*) AS clicks, count(DISTINCT pageview_id) AS pvc, min(y) AS top,
            bool_or(coalesce(target_fixed, false)) AS fixed
          FROM e WHERE type = 'click' AND target IS NOT NULL GROUP BY target),
        ex AS (SELECT el.target, count(bottoms.pageview_id) AS exposed FROM el
          LEFT JOIN bottoms ON el.fixed OR bottoms.bottom > coalesce(el.top, 0) GROUP BY el.target),
        total AS (SELECT count(*) AS n FROM pv)
        SELECT el.target, clicks, pvc, total.n, pvc / nullif(total.n, 0), ex.exposed, pvc / nullif(ex.exposed, 0)
        FROM el JOIN ex USING (target) CROSS JOIN total
        ORDER BY pvc DESC, clicks DESC, el.target LIMIT {CTR_LIMIT}""",
    "rage_clicks_per_page": f"""WITH pv AS (SELECT DISTINCT pageview_id, path FROM {{ev}}
          WHERE site = '{SITE}' AND type = 'pageview' AND pageview_id IS NOT NULL),
        c AS (SELECT pageview_id, path, ts, seq, x, y, coalesce(dead, false) AS dead FROM {{ev}}
          WHERE site = '{SITE}' AND type = 'click' AND pageview_id IN (SELECT pageview_id FROM pv)),
        l AS (SELECT *, CASE WHEN epoch_ms(ts) - epoch_ms(lag(ts) OVER w) <= 1000
                AND abs(x - lag(x) OVER w) + abs(y - lag(y) OVER w) <= 30 THEN 0 ELSE 1 END AS s
          FROM c WINDOW w AS (PARTITION BY pageview_id ORDER BY ts, seq)),
        r AS (SELECT *, sum(s) OVER (PARTITION BY pageview_id ORDER BY ts, seq ROWS UNBOUNDED PRECEDING) AS run FROM l),
        rage AS (SELECT pageview_id, path FROM r GROUP BY pageview_id, path, run HAVING count(*) >= 3),
        totals AS (SELECT path, count(DISTINCT pageview_id) AS pvs FROM pv GROUP BY path),
        cs AS (SELECT path, count(*) AS clicks, count(*) FILTER (WHERE dead) AS dead_clicks,
            count(DISTINCT pageview_id) FILTER (WHERE dead) AS dead_pvs FROM c GROUP BY path),
        rs AS (SELECT path, count(*) AS runs, count(DISTINCT pageview_id) AS rage_pvs FROM rage GROUP BY path)
        SELECT totals.path, pvs, coalesce(clicks, 0), coalesce(runs, 0) AS runs, coalesce(rage_pvs, 0),
          coalesce(dead_clicks, 0) AS dc, coalesce(dead_pvs, 0), coalesce(rage_pvs, 0) / pvs, dead_clicks / clicks
        FROM totals LEFT JOIN cs USING (path) LEFT JOIN rs USING (path)
        ORDER BY runs DESC, dc DESC, totals.path""",
    "funnel_3_steps": _duck_funnel(),
    "pageviews_per_device_day": """SELECT date, device, count(*) FROM {ev} WHERE type = 'pageview'
        GROUP BY ALL ORDER BY 1, 2""",
    "count_by_type": "SELECT type, count(*) FROM {ev} GROUP BY type ORDER BY type",
    "drill_down_10_min": f"""SELECT ts, pageview_id, seq, type, path, x, y FROM {{ev}}
        WHERE site = '{SHOP}' AND date = DATE '2026-11-04'
          AND ts >= TIMESTAMPTZ '2026-11-04 18:00:00+00' AND ts < TIMESTAMPTZ '2026-11-04 18:10:00+00'
        ORDER BY ts, pageview_id, seq""",
}

# ---------------------------------------------------------------------------------------------
# chDB (ClickHouse SQL). Every statement runs with join_use_nulls = 1 (SQL's NULLs for the
# missing side of an outer join, not default values).


def _ch_time(moment):
    return f"toDateTime64('{moment.strftime('%Y-%m-%d %H:%M:%S')}', 6, 'UTC')"


def _ch_funnel():
    ctes = []
    for k, condition in enumerate(FUNNEL_CONDITIONS, start=1):
        ctes.append(f"s{k} AS (SELECT DISTINCT session_id, ts FROM {{ev}} "
                    f"WHERE site = '{SHOP}' AND session_id IS NOT NULL AND {condition})")
        if k == 1:
            ctes.append("r1 AS (SELECT session_id, ts AS t1, ts AS tp, ts AS tk FROM s1)")
        else:
            ctes.append(f"r{k} AS (SELECT r.session_id AS session_id, r.t1 AS t1, r.tk AS tp, min(s.ts) AS tk "
                        f"FROM r{k-1} AS r INNER JOIN s{k} AS s ON s.session_id = r.session_id "
                        f"WHERE s.ts > r.tk AND s.ts <= r.t1 + INTERVAL {FUNNEL_WINDOW_S} SECOND "
                        f"GROUP BY r.session_id, r.t1, r.tk)")
        ctes.append(f"f{k} AS (SELECT session_id, argMin(toUnixTimestamp64Micro(tk) - toUnixTimestamp64Micro(tp), t1) "
                    f"/ 1e6 AS secs FROM r{k} GROUP BY session_id)")
    stats = []
    for k, label in enumerate(FUNNEL_LABELS, start=1):
        times = ("CAST(NULL AS Nullable(Float64)) AS med, CAST(NULL AS Nullable(Float64)) AS av" if k == 1
                 else "quantileExactInclusive(0.5)(secs) AS med, avg(secs) AS av")
        stats.append(f"SELECT {k} AS step, '{label.replace(chr(39), chr(92) + chr(39))}' AS label, "
                     f"count() AS sessions, {times} FROM f{k}")
    frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    return ("WITH " + ", ".join(ctes) + ", stats AS (" + " UNION ALL ".join(stats) + ") "
            f"SELECT step, label, sessions, sessions / nullIf(first_value(sessions) OVER (ORDER BY step {frame}), 0), "
            f"if(step = 1, NULL, sessions / nullIf(lagInFrame(sessions) OVER (ORDER BY step {frame}), 0)), "
            "med, av FROM stats ORDER BY step")


_CH_WINDOW = "(PARTITION BY pageview_id ORDER BY ts, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"

CHDB = {
    "heatmap": f"""SELECT coalesce(target_fixed, false) AS fixed, toInt64(floor(x / 16)) AS cx,
        toInt64(floor(y / 16)) AS cy, count(), uniqExact(visitor_id) FROM {{ev}}
        WHERE {_PAGE} AND ts >= {_ch_time(WEEK_FROM)} AND ts < {_ch_time(WEEK_TO)}
          AND type = 'click' AND x IS NOT NULL AND y IS NOT NULL
        GROUP BY fixed, cx, cy ORDER BY fixed, cx, cy""",
    "scroll_depth": f"""WITH d AS (SELECT pageview_id,
          max(if(doc_h > 0 AND viewport_h IS NOT NULL,
                 least(100, intDiv((toInt64(coalesce(scroll_y, 0)) + viewport_h) * 100, doc_h)), NULL)) AS pct
          FROM {{ev}} WHERE {_PAGE} AND pageview_id IS NOT NULL
          GROUP BY pageview_id HAVING countIf(type = 'pageview') > 0),
        hist AS (SELECT pct, count() AS n FROM d WHERE pct IS NOT NULL GROUP BY pct),
        known AS (SELECT count(pct) AS k FROM d)
        SELECT number AS p, sumIf(n, pct >= p) AS reached, sumIf(n, pct >= p) / nullIf(any(k), 0)
        FROM numbers(101) AS steps CROSS JOIN hist CROSS JOIN known GROUP BY p ORDER BY p""",
    "ctr_top_elements": f"""WITH pv AS (SELECT DISTINCT pageview_id FROM {{ev}}
          WHERE {_PAGE} AND type = 'pageview' AND pageview_id IS NOT NULL),
        e AS (SELECT pageview_id, type, target, target_fixed, y, scroll_y, viewport_h FROM {{ev}}
          WHERE {_PAGE} AND pageview_id IN (SELECT pageview_id FROM pv)),
        bottoms AS (SELECT pageview_id, greatest(
            coalesce(max(if(viewport_h IS NOT NULL, toInt64(coalesce(scroll_y, 0)) + viewport_h, NULL)), 0),
            coalesce(max(if(type = 'click' AND NOT coalesce(target_fixed, false), toInt64(y) + 1, NULL)), 0)) AS bottom
          FROM e GROUP BY pageview_id),
        el AS (SELECT target AS element, count() AS clicks, uniqExact(pageview_id) AS pvc, min(y) AS top,
            max(coalesce(target_fixed, false)) AS fixed
          FROM e WHERE type = 'click' AND target IS NOT NULL GROUP BY target),
        ex AS (SELECT el.element AS element, countIf(el.fixed OR bottoms.bottom > coalesce(el.top, 0)) AS exposed
          FROM el CROSS JOIN bottoms GROUP BY el.element),
        total AS (SELECT count() AS n FROM pv)
        SELECT el.element, clicks, pvc, total.n, pvc / nullIf(total.n, 0), ex.exposed, pvc / nullIf(ex.exposed, 0)
        FROM el INNER JOIN ex ON ex.element = el.element CROSS JOIN total
        ORDER BY pvc DESC, clicks DESC, el.element LIMIT {CTR_LIMIT}""",
    "rage_clicks_per_page": f"""WITH pv AS (SELECT DISTINCT pageview_id, path FROM {{ev}}
          WHERE site = '{SITE}' AND type = 'pageview' AND pageview_id IS NOT NULL),
        c AS (SELECT pageview_id, path, ts, seq, x, y, coalesce(dead, false) AS is_dead FROM {{ev}}
          WHERE site = '{SITE}' AND type = 'click' AND pageview_id IN (SELECT pageview_id FROM pv)),
        l AS (SELECT pageview_id, path, ts, seq,
            if(row_number() OVER w > 1
               AND toUnixTimestamp64Milli(ts) - toUnixTimestamp64Milli(lagInFrame(ts) OVER w) <= 1000
               AND abs(x - lagInFrame(x) OVER w) + abs(y - lagInFrame(y) OVER w) <= 30, 0, 1) AS s
          FROM c WINDOW w AS {_CH_WINDOW}),
        r AS (SELECT pageview_id, path, sum(s) OVER {_CH_WINDOW} AS run FROM l),
        rage AS (SELECT pageview_id, path FROM r GROUP BY pageview_id, path, run HAVING count() >= 3),
        totals AS (SELECT path, uniqExact(pageview_id) AS pvs FROM pv GROUP BY path),
        cs AS (SELECT path, count() AS clicks, countIf(is_dead) AS dead_clicks,
            uniqExactIf(pageview_id, is_dead) AS dead_pvs FROM c GROUP BY path),
        rs AS (SELECT path, count() AS runs, uniqExact(pageview_id) AS rage_pvs FROM rage GROUP BY path)
        SELECT totals.path, pvs, coalesce(clicks, 0), coalesce(runs, 0) AS runs_n, coalesce(rage_pvs, 0),
          coalesce(dead_clicks, 0) AS dc, coalesce(dead_pvs, 0), coalesce(rage_pvs, 0) / pvs, dead_clicks / clicks
        FROM totals LEFT JOIN cs ON cs.path = totals.path LEFT JOIN rs ON rs.path = totals.path
        ORDER BY runs_n DESC, dc DESC, totals.path""",
    "funnel_3_steps": _ch_funnel(),
    "pageviews_per_device_day": """SELECT date, device, count() FROM {ev} WHERE type = 'pageview'
        GROUP BY date, device ORDER BY date, device""",
    "count_by_type": "SELECT type, count() FROM {ev} GROUP BY type ORDER BY type",
    "drill_down_10_min": f"""SELECT ts, pageview_id, seq, type, path, x, y FROM {{ev}}
        WHERE site = '{SHOP}' AND date = '2026-11-04'
          AND ts >= {_ch_time(DRILL_FROM)} AND ts < {_ch_time(DRILL_TO)}
        ORDER BY ts, pageview_id, seq""",
}

# ---------------------------------------------------------------------------------------------
# Polars (lazy API over pl.scan_parquet)

c = pl.col


def _distinct(column):
    return column.drop_nulls().n_unique()


def _polars_heatmap(ev):
    return (ev.filter((c.site == SITE) & (c.path == PAGE) & (c.ts >= WEEK_FROM) & (c.ts < WEEK_TO)
                      & (c.type == "click") & c.x.is_not_null() & c.y.is_not_null())
            .group_by(c.target_fixed.fill_null(False).alias("fixed"),
                      (c.x / 16).floor().cast(pl.Int64).alias("cx"),
                      (c.y / 16).floor().cast(pl.Int64).alias("cy"))
            .agg(pl.len().alias("events"), _distinct(c.visitor_id).alias("visitors"))
            .sort("fixed", "cx", "cy"))


def _polars_scroll(ev):
    known = (c.doc_h > 0) & c.viewport_h.is_not_null()
    bottom = c.scroll_y.fill_null(0).cast(pl.Int64) + c.viewport_h
    depth = (ev.filter((c.site == SITE) & (c.path == PAGE) & c.pageview_id.is_not_null())
             .group_by("pageview_id")
             .agg(pl.when(known).then(pl.min_horizontal(pl.lit(100, pl.Int64), bottom * 100 // c.doc_h))
                  .max().alias("pct"),
                  (c.type == "pageview").any().alias("has_pageview"))
             .filter(c.has_pageview))
    histogram = depth.filter(c.pct.is_not_null()).group_by("pct").agg(pl.len().cast(pl.Int64).alias("n"))
    known_count = depth.select(c.pct.count().alias("known"))
    steps = pl.LazyFrame({"p": list(range(101))}, schema={"p": pl.Int64})
    return (steps.join(histogram, how="cross")
            .group_by("p").agg(pl.when(c.pct >= c.p).then(c.n).otherwise(0).sum().alias("reached"))
            .join(known_count, how="cross")
            .select("p", "reached",
                    pl.when(c.known > 0).then(c.reached / c.known).alias("share"))
            .sort("p"))


def _polars_ctr(ev):
    page = (c.site == SITE) & (c.path == PAGE)
    pageviews = ev.filter(page & (c.type == "pageview") & c.pageview_id.is_not_null()).select("pageview_id").unique()
    events = ev.filter(page).join(pageviews, on="pageview_id", how="semi")
    bottoms = events.group_by("pageview_id").agg(pl.max_horizontal(
        pl.when(c.viewport_h.is_not_null()).then(c.scroll_y.fill_null(0).cast(pl.Int64) + c.viewport_h)
        .max().fill_null(0),
        pl.when((c.type == "click") & ~c.target_fixed.fill_null(False)).then(c.y.cast(pl.Int64) + 1)
        .max().fill_null(0)).alias("bottom"))
    elements = (events.filter((c.type == "click") & c.target.is_not_null()).group_by("target")
                .agg(pl.len().alias("clicks"), _distinct(c.pageview_id).alias("pvc"), c.y.min().alias("top"),
                     c.target_fixed.fill_null(False).any().alias("fixed")))
    exposure = (elements.select("target", "top", "fixed").join(bottoms, how="cross")
                .group_by("target").agg((c.fixed | (c.bottom > c.top.fill_null(0))).sum().alias("exposed")))
    total = pageviews.select(pl.len().alias("n"))
    return (elements.join(exposure, on="target").join(total, how="cross")
            .sort(["pvc", "clicks", "target"], descending=[True, True, False]).head(CTR_LIMIT)
            .select("target", "clicks", "pvc", "n",
                    pl.when(c.n > 0).then(c.pvc / c.n).alias("ctr"), "exposed",
                    pl.when(c.exposed > 0).then(c.pvc / c.exposed).alias("attractiveness")))


def _polars_rage(ev):
    site = c.site == SITE
    pageviews = ev.filter(site & (c.type == "pageview") & c.pageview_id.is_not_null()).select("pageview_id", "path").unique()
    clicks = (ev.filter(site & (c.type == "click"))
              .join(pageviews.select("pageview_id").unique(), on="pageview_id", how="semi")
              .select("pageview_id", "path", "ts", "seq", "x", "y", c.dead.fill_null(False).alias("dead"))
              .sort("pageview_id", "ts", "seq"))
    previous = lambda name: pl.col(name).shift(1)  # noqa: E731
    continues = ((previous("pageview_id") == c.pageview_id)
                 & (c.ts - previous("ts") <= timedelta(milliseconds=1000))
                 & ((c.x - previous("x")).abs() + (c.y - previous("y")).abs() <= 30))
    runs = (clicks.with_columns(pl.when(continues).then(0).otherwise(1).cum_sum().alias("run"))
            .group_by("run").agg(c.pageview_id.first(), c.path.first(), pl.len().alias("n"))
            .filter(c.n >= 3))
    totals = pageviews.group_by("path").agg(_distinct(c.pageview_id).alias("pvs"))
    click_stats = clicks.group_by("path").agg(
        pl.len().alias("clicks"), c.dead.sum().alias("dead_clicks"),
        c.pageview_id.filter(c.dead).n_unique().alias("dead_pvs"))
    rage_stats = runs.group_by("path").agg(pl.len().alias("runs"), _distinct(c.pageview_id).alias("rage_pvs"))
    return (totals.join(click_stats, on="path", how="left").join(rage_stats, on="path", how="left")
            .select("path", "pvs", c.clicks.fill_null(0), c.runs.fill_null(0), c.rage_pvs.fill_null(0),
                    c.dead_clicks.fill_null(0), c.dead_pvs.fill_null(0),
                    (c.rage_pvs.fill_null(0) / c.pvs).alias("rage_rate"),
                    (c.dead_clicks / c.clicks).alias("dead_rate"))
            .sort(["runs", "dead_clicks", "path"], descending=[True, True, False]))


def _polars_funnel(ev):
    base = ev.filter((c.site == SHOP) & c.session_id.is_not_null())
    steps = [
        base.filter((c.type == "pageview") & (c.path == f"{SHOP}/")),
        base.filter((c.type == "pageview") & (c.path == f"{SHOP}/cart")),
        base.filter(c.type == "submit"),
    ]
    window = timedelta(seconds=FUNNEL_WINDOW_S)
    reached = steps[0].select("session_id", c.ts.alias("t1"), c.ts.alias("tp"), c.ts.alias("tk")).unique()
    stats = []
    for k, step in enumerate(steps, start=1):
        if k > 1:
            reached = (reached.join(step.select("session_id", "ts").unique(), on="session_id")
                       .filter((c.ts > c.tk) & (c.ts <= c.t1 + window))
                       .group_by("session_id", "t1", "tk").agg(c.ts.min().alias("t_next"))
                       .select("session_id", "t1", c.tk.alias("tp"), c.t_next.alias("tk")))
        first = reached.group_by("session_id").agg(
            ((c.tk - c.tp).sort_by(c.t1).first().dt.total_microseconds() / 1e6).alias("secs"))
        times = ([pl.lit(None, pl.Float64).alias("median"), pl.lit(None, pl.Float64).alias("avg")] if k == 1
                 else [c.secs.median().alias("median"), c.secs.mean().alias("avg")])
        stats.append(first.select(pl.lit(k, pl.Int64).alias("step"), pl.lit(FUNNEL_LABELS[k - 1]).alias("label"),
                                  pl.len().cast(pl.Int64).alias("sessions"), *times))
    return (pl.concat(stats).sort("step")
            .select("step", "label", "sessions",
                    (c.sessions / c.sessions.first()).alias("conversion"),
                    (c.sessions / c.sessions.shift(1)).alias("conversion_from_previous"), "median", "avg"))


POLARS = {
    "heatmap": _polars_heatmap,
    "scroll_depth": _polars_scroll,
    "ctr_top_elements": _polars_ctr,
    "rage_clicks_per_page": _polars_rage,
    "funnel_3_steps": _polars_funnel,
    "pageviews_per_device_day": lambda ev: (ev.filter(c.type == "pageview").group_by("date", "device")
                                            .agg(pl.len()).sort("date", "device")),
    "count_by_type": lambda ev: ev.group_by("type").agg(pl.len()).sort("type"),
    "drill_down_10_min": lambda ev: (ev.filter((c.site == SHOP) & (c.date == datetime(2026, 11, 4).date())
                                               & (c.ts >= DRILL_FROM) & (c.ts < DRILL_TO))
                                     .select("ts", "pageview_id", "seq", "type", "path", "x", "y")
                                     .sort("ts", "pageview_id", "seq")),
}
