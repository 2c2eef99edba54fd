"""The human table and the ratios after the JSON lines."""

from __future__ import annotations

from typing import Any

COLUMNS = (
    ("workload", "name", "{}"),
    ("concurrency", "concurrency", "{}"),
    ("cases/s", "cases_per_s", "{:.2f}"),
    ("p50 ms", "p50_ms", "{:.0f}"),
    ("p95 ms", "p95_ms", "{:.0f}"),
    ("browser CPU s", "browser_cpu_s", "{:.1f}"),
    ("Python CPU s", "python_cpu_s", "{:.1f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
)


def table(lines: list[dict[str, Any]]) -> list[str]:
    """The figures of every line as an aligned table."""
    rows = [[title for title, _, _ in COLUMNS]]
    for line in lines:
        rows.append(
            [fmt.format(line[key]) if line.get(key) is not None else "-" for _, key, fmt in COLUMNS]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    out = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        out.append("  ".join(cells))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def medians(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per workload and concurrency: the round with the median cases/s (a line
    as measured, not an average of several), in the order they first ran."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for line in lines:
        groups.setdefault((line["name"], line["concurrency"]), []).append(line)
    chosen = []
    for runs in groups.values():
        ranked = sorted(runs, key=lambda line: float(line["cases_per_s"]))
        chosen.append(ranked[(len(ranked) - 1) // 2])
    return chosen


def _cpu_per_case(line: dict[str, Any]) -> float:
    cpu = line["python_cpu_s"] + line["browser_cpu_s"] + line.get("driver_cpu_s", 0.0)
    return float(cpu) / max(1, int(line["cases"]))


def _ratio(top: dict[str, Any], bottom: dict[str, Any]) -> str:
    time_ratio = bottom["cases_per_s"] / top["cases_per_s"] if top["cases_per_s"] else 0.0
    base_cpu = _cpu_per_case(bottom)
    cpu = f"{_cpu_per_case(top) / base_cpu:.2f}x" if base_cpu > 0 else "n/a (no CPU below)"
    return f"{time_ratio:.2f}x time per case, {cpu} CPU per case"


def ratios(lines: list[dict[str, Any]]) -> list[str]:
    """robot / playwright-bare, flow / robot and robot / http-floor at each concurrency."""
    by = {(line["name"], line["concurrency"]): line for line in lines}
    out = []
    for top, bottom in (("robot", "playwright-bare"), ("flow", "robot"), ("robot", "http-floor")):
        for (name, concurrency), line in by.items():
            if name != top or (bottom, concurrency) not in by:
                continue
            below = by[(bottom, concurrency)]
            out.append(f"{top} / {bottom} at concurrency {concurrency}: {_ratio(line, below)}")
    return out
