"""Geometry for the pictures on the run page, computed on the server and drawn as inline SVG by
the templates: the DAG (layered, top to bottom), the Gantt timeline of job attempts, and a bar
chart of transformation runtimes.

Server-side SVG needs no JavaScript library and no network, prints and screenshots as it looks,
and the numbers (node count, bar count) are visible in the markup for tests. Pure functions of
plain data; no database here.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.services.web_views import InstanceSpan

MAX_DAG_NODES = 2000
"""Beyond this many nodes a drawing is an unreadable smear; the page says so instead."""
WRAP_AT = 44
"""Dots per line in the compact drawing; wider levels wrap."""


@dataclass
class DagNode:
    id: str
    label: str
    state: str
    type: str
    transformation: str | None
    x: float
    y: float


@dataclass
class DagEdge:
    path: str


@dataclass
class DagPicture:
    width: float
    height: float
    nodes: list[DagNode]
    edges: list[DagEdge]
    compact: bool
    node_w: float
    node_h: float
    layers: int


def _layers(ids: list[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering (Kahn order); nodes on a cycle, if any, stay in layer 0."""
    children: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(ids, 0)
    for parent, child in edges:
        children[parent].append(child)
        indegree[child] += 1
    layer = dict.fromkeys(ids, 0)
    queue = deque(n for n in ids if indegree[n] == 0)
    while queue:
        node = queue.popleft()
        for child in children[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return layer


def _short(label: str, limit: int = 18) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def layout_dag(
    nodes: Sequence[dict[str, Any]], edges: Sequence[dict[str, str]]
) -> DagPicture | None:
    """Place `nodes` ({id, state, type, transformation}) in layers; None if there are too many."""
    if not nodes or len(nodes) > MAX_DAG_NODES:
        return None
    ids = [str(n["id"]) for n in nodes]
    known = set(ids)
    pairs = [
        (e["parent"], e["child"]) for e in edges if e["parent"] in known and e["child"] in known
    ]
    layer = _layers(ids, pairs)
    parents: dict[str, list[str]] = defaultdict(list)
    for parent, child in pairs:
        parents[child].append(parent)
    rows: dict[int, list[str]] = defaultdict(list)
    for node_id in ids:
        rows[layer[node_id]].append(node_id)
    # Order each row by the mean position of its parents (barycentre), so edges cross less.
    position: dict[str, float] = {}
    for depth in sorted(rows):
        row = rows[depth]
        if depth:
            first = {n: i for i, n in enumerate(row)}

            def key(n: str, first: dict[str, int] = first) -> tuple[float, int]:
                placed = [position[p] for p in parents[n] if p in position]
                return (sum(placed) / len(placed) if placed else math.inf, first[n])

            row.sort(key=key)
        for i, node_id in enumerate(row):
            position[node_id] = (i + 0.5) / len(row)
    widest = max(len(r) for r in rows.values())
    compact = widest > 10
    node_w, node_h = (14.0, 14.0) if compact else (136.0, 34.0)
    gap_x, gap_y = (8.0, 46.0) if compact else (18.0, 58.0)
    wrap_gap = 8.0  # between the lines of one wrapped level
    pad = 16.0
    # A level wider than WRAP_AT dots wraps onto several lines, so a 10k-job fan-out stays a
    # block the page can show instead of a strip kilometres wide.
    per_line = min(widest, WRAP_AT) if compact else widest
    width = per_line * (node_w + gap_x) - gap_x + 2 * pad
    placed: dict[str, DagNode] = {}
    by_id = {str(n["id"]): n for n in nodes}
    top = pad
    for depth in sorted(rows):
        row = rows[depth]
        lines_of_row = math.ceil(len(row) / per_line)
        for i, node_id in enumerate(row):
            line, col = divmod(i, per_line)
            in_line = min(per_line, len(row) - line * per_line)
            left = (width - (in_line * (node_w + gap_x) - gap_x)) / 2
            info = by_id[node_id]
            placed[node_id] = DagNode(
                id=node_id,
                label=_short(node_id),
                state=str(info.get("state") or "unsubmitted"),
                type=str(info.get("type") or ""),
                transformation=info.get("transformation"),
                x=round(left + col * (node_w + gap_x), 1),
                y=round(top + line * (node_h + wrap_gap), 1),
            )
        top += lines_of_row * (node_h + wrap_gap) - wrap_gap + gap_y
    height = top - gap_y + pad
    lines = []
    for parent, child in pairs:
        a, b = placed[parent], placed[child]
        x1, y1 = a.x + node_w / 2, a.y + node_h
        x2, y2 = b.x + node_w / 2, b.y - 2
        mid = (y1 + y2) / 2
        lines.append(
            DagEdge(f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}")
        )
    return DagPicture(
        width=round(width, 1),
        height=round(height, 1),
        nodes=[placed[i] for i in ids],
        edges=lines,
        compact=compact,
        node_w=node_w,
        node_h=node_h,
        layers=len(rows),
    )


# ---- Gantt ------------------------------------------------------------------------------------


@dataclass
class GanttBar:
    job: str
    attempt: int
    outcome: str
    y: float
    queue_x: float
    queue_w: float
    run_x: float
    run_w: float
    waited: float | None
    ran: float | None


@dataclass
class GanttPicture:
    width: float
    height: float
    label_w: float
    plot_w: float
    row_h: float
    bars: list[GanttBar]
    ticks: list[tuple[float, str]]
    span: float
    top: float = 24.0
    shown: int = 0
    total: int = 0


_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def _tick_label(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        m, s = divmod(seconds, 60)
        return f"{m}m" if not s else f"{m}m{s:02d}s"
    h, rest = divmod(seconds, 3600)
    return f"{h}h" if not rest else f"{h}h{rest // 60:02d}m"


def layout_gantt(
    spans: Sequence[InstanceSpan], now: float, total: int | None = None
) -> GanttPicture | None:
    """One row per job attempt: a light bar while it waited, a solid bar while it ran."""
    timed = [s for s in spans if s.submitted is not None or s.started is not None]
    if not timed:
        return None
    t0 = min(t for s in timed for t in (s.submitted, s.started) if t is not None)
    ends = [s.ended if s.ended is not None else now for s in timed]
    t1 = max([*ends, *(s.started or t0 for s in timed)])
    span = max(t1 - t0, 1.0)
    label_w, plot_w, row_h, top = 210.0, 760.0, 18.0, 24.0
    scale = plot_w / span

    def x(t: float) -> float:
        return round(label_w + (t - t0) * scale, 1)

    bars = []
    for i, s in enumerate(timed):
        end = s.ended if s.ended is not None else now
        begin = s.submitted if s.submitted is not None else s.started
        assert begin is not None
        run_from = s.started if s.started is not None else end
        bars.append(
            GanttBar(
                job=s.job,
                attempt=s.attempt,
                outcome=s.outcome,
                y=top + i * row_h,
                queue_x=x(begin),
                queue_w=max(round((run_from - begin) * scale, 1), 0.0),
                run_x=x(run_from),
                run_w=max(round((end - run_from) * scale, 1), 2.0) if s.started else 0.0,
                waited=run_from - begin if s.started is not None else None,
                ran=end - s.started if s.started is not None else None,
            )
        )
    step = next((st for st in _STEPS if span / st <= 8), _STEPS[-1])
    ticks = [(x(t0 + k * step), _tick_label(k * step)) for k in range(int(span // step) + 1)]
    return GanttPicture(
        width=label_w + plot_w + 20,
        height=top + len(bars) * row_h + 8,
        label_w=label_w,
        plot_w=plot_w,
        row_h=row_h,
        bars=bars,
        ticks=ticks,
        span=span,
        top=top,
        shown=len(bars),
        total=total if total is not None else len(spans),
    )


# ---- bar chart of transformation runtimes -----------------------------------------------------


@dataclass
class Bar:
    label: str
    value: float
    count: int
    y: float
    w: float
    failed: bool = False


@dataclass
class BarChart:
    width: float
    height: float
    label_w: float
    plot_w: float
    bars: list[Bar] = field(default_factory=list)
    unit: str = "s"


def runtime_chart(rows: Iterable[Any]) -> BarChart | None:
    """Mean invocation runtime per transformation (successful and failed rows apart)."""
    items = [
        (f"{r.transformation}" + (" (failed)" if r.type == "failed" else ""), r)
        for r in rows
        if r.mean is not None and r.count
    ]
    if not items:
        return None
    items.sort(key=lambda item: -float(item[1].mean))
    top = max(float(r.mean) for _, r in items) or 1.0
    label_w, plot_w, row_h = 220.0, 520.0, 26.0
    bars = [
        Bar(
            label=_short(label, 30),
            value=float(r.mean),
            count=int(r.count),
            y=8 + i * row_h,
            w=max(round(float(r.mean) / top * plot_w, 1), 1.0),
            failed=r.type == "failed",
        )
        for i, (label, r) in enumerate(items)
    ]
    return BarChart(
        width=label_w + plot_w + 110,
        height=16 + len(bars) * row_h,
        label_w=label_w,
        plot_w=plot_w,
        bars=bars,
    )
