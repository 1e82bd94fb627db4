"""``make bench``: the table of figures, baselines, ratios and targets, from the samples."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass

from .measure import GB, Sample

# --------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class Row:
    step: str
    figure: str
    baseline: str
    ratio: str
    target: str
    met: str
    memory: str


def table(samples: dict[str, list[Sample]]) -> list[Row]:
    """One row per figure of the issue, from the medians of the samples."""

    def median(name: str, value: Callable[[Sample], float]) -> float | None:
        found = samples.get(name)
        return statistics.median(value(sample) for sample in found) if found else None

    def rate(name: str) -> float | None:
        return median(name, lambda s: s.rows / s.seconds if s.seconds else 0.0)

    def seconds(name: str) -> float | None:
        return median(name, lambda s: s.seconds)

    def rss(*names: str) -> str:
        peaks = [max(s.peak_rss for s in samples[n]) / GB for n in names if n in samples]
        return " / ".join(f"{peak:.2f} GB" for peak in peaks)

    rows: list[Row] = []

    def add(
        step: str,
        figure: float | None,
        base: float | None,
        unit: str,
        base_name: str,
        target: str,
        check: Callable[[float], bool],
        ratio_of: Callable[[float, float], float],
        ratio_format: str,
        memory: str,
    ) -> None:
        if figure is None:
            return
        ratio = ratio_of(figure, base) if base else None
        rows.append(
            Row(
                step,
                unit.format(figure),
                f"{unit.format(base)} ({base_name})" if base is not None else base_name,
                ratio_format.format(ratio) if ratio is not None else "",
                target,
                "" if ratio is None else ("yes" if check(ratio) else "NO"),
                memory,
            )
        )

    def per(a: float, b: float) -> float:
        return a / b

    for step, name, base, base_name, target, limit in (
        ("shop ingest", "shop: dlt", "shop: COPY", "COPY", 0.85, "rows/s"),
        (
            "clickstream ingest",
            "clickstream: dlt",
            "clickstream: read_json",
            "read_json",
            0.7,
            "rows/s",
        ),
        ("API ingest", "api: dlt", "api: loop", "plain loop", 0.6, "records/s"),
    ):
        add(
            step,
            rate(name),
            rate(base),
            "{:,.0f} " + limit,
            base_name,
            f">= {target}",
            lambda r, t=target: r >= t,
            per,
            "{:.2f}",
            rss(name, base),
        )
    add(
        "dbt build (full)",
        seconds("dbt: build"),
        seconds("dbt: compiled SQL"),
        "{:.1f} s",
        "compiled SQL",
        "<= 1.5x",
        lambda r: r <= 1.5,
        per,
        "{:.2f}x",
        rss("dbt: build", "dbt: compiled SQL"),
    )
    add(
        "incremental run (1 day)",
        seconds("incremental run"),
        seconds("full run"),
        "{:.1f} s",
        "full run",
        "<= 5%",
        lambda r: r <= 0.05,
        per,
        "{:.1%}",
        rss("incremental run", "full run"),
    )
    ingestion = [n for n in ("shop: dlt", "clickstream: dlt", "api: dlt") if n in samples]
    if ingestion:
        peak = max(max(s.peak_rss for s in samples[n]) for n in ingestion) / GB
        rows.append(
            Row(
                "memory (ingestion)",
                f"{peak:.2f} GB peak",
                "",
                "",
                "<= 1.5 GB",
                "yes" if peak <= 1.5 else "NO",
                rss(*ingestion),
            )
        )
    if "serving" in samples:
        worst = samples["serving"][-1]
        p95 = worst.seconds
        rows.append(
            Row(
                "serving p95 (worst view)",
                f"{p95 * 1000:.0f} ms",
                worst.detail.get("worst_view", ""),
                "",
                "< 1 s",
                "yes" if p95 < 1 else "NO",
                rss("serving"),
            )
        )
    if "collector" in samples:
        rows.append(
            Row(
                "collector (sender -> stream acked)",
                f"{rate('collector'):,.0f} events/s",
                "",
                "",
                "",
                "",
                rss("collector"),
            )
        )
    if "collector: overload" in samples:
        over = samples["collector: overload"][-1].detail
        rows.append(
            Row(
                "collector at 1.5x (consumer at 0.5x)",
                f"{over['throttled']} x 429, {over['full']} x 503, {over['lost']} lost",
                f"{over['generated']:,} sent, {over['stored_distinct']:,} stored",
                "",
                "0 lost",
                "yes" if over["lost"] == 0 and over["buffered"] == 0 else "NO",
                rss("collector: overload"),
            )
        )
    for name, target in (("live: sustained", 60.0), ("live: overload", None)):
        if name not in samples:
            continue
        run = samples[name][-1]
        detail = run.detail
        rows.append(
            Row(
                f"{name} ({detail.get('rate', 0):g} ev/s)",
                f"p95 {run.seconds:.0f} s, p50 {detail.get('p50', 0):.0f} s",
                f"{detail.get('throughput', 0):.0f} ev/s kept up; drain "
                f"{detail.get('drain_seconds', 0):.0f} s",
                "",
                "p95 <= 60 s, sent = landed + quarantined"
                if target
                else "sent = landed + quarantined",
                "yes"
                if detail.get("reconciled") and (target is None or run.seconds <= target)
                else "NO",
                rss(name),
            )
        )
    rows += cdc_rows(samples, median, rss)
    for name in ("generate", "full run", "advance"):
        if name in samples:
            rows.append(Row(name, f"{seconds(name):.1f} s", "", "", "", "", rss(name)))
    return rows


def cdc_rows(
    samples: dict[str, list[Sample]],
    median: Callable[[str, Callable[[Sample], float]], float | None],
    rss: Callable[..., str],
) -> list[Row]:
    """The shop CDC row (one day's changes) and the OLTP impact table (the shop app's p50/p99
    idle, during a full snapshot, during CDC; target: p99 during CDC within +20% of idle)."""
    rows: list[Row] = []
    day = median("shop CDC (1 day)", lambda s: s.seconds)
    if day is not None:
        changes = median("shop CDC (1 day)", lambda s: s.rows)
        snapshot = median("shop CDC: snapshot", lambda s: s.seconds)
        rows.append(
            Row(
                "shop CDC (1 day)",
                f"{day:.1f} s ({changes:,.0f} rows)",
                f"{snapshot:.1f} s (full snapshot)" if snapshot else "",
                f"{day / snapshot:.1%}" if snapshot else "",
                "<= 10 s at scale 100",
                "",
                rss("shop CDC (1 day)", "shop CDC: snapshot"),
            )
        )
    idle = median("app: idle", lambda s: s.detail["p99_ms"])
    for phase in ("idle", "snapshot", "CDC"):
        name = f"app: {phase}"
        p99 = median(name, lambda s: s.detail["p99_ms"])
        if p99 is None:
            continue
        p50 = median(name, lambda s: s.detail["p50_ms"])
        during = phase == "CDC"
        rows.append(
            Row(
                f"shop app tx ({phase})",
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                f"p99 {idle:.1f} ms (idle)" if idle and phase != "idle" else "",
                f"{p99 / idle:.2f}x" if idle and phase != "idle" else "",
                "p99 <= 1.2x idle" if during else "",
                ("yes" if p99 <= 1.2 * idle else "NO") if during and idle else "",
                "",
            )
        )
    return rows


HEADER = Row("step", "figure", "baseline", "ratio", "target", "met", "peak RSS (step / base)")


def format_table(rows: list[Row]) -> str:
    cells = [list(asdict(HEADER).values())] + [list(asdict(row).values()) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER.__dict__))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
