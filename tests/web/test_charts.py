"""The pictures' geometry and the table filters, without a browser: where nodes and bars land
is what a person reads off the run page."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.services.web_views import InstanceSpan
from gateway.web import charts
from gateway.web.common import exit_status, fmt_bytes, fmt_duration


def _diamond() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    nodes = [{"id": n, "state": "succeeded", "type": "compute"} for n in "ABCD"]
    edges = [
        {"parent": "A", "child": "B"},
        {"parent": "A", "child": "C"},
        {"parent": "B", "child": "D"},
        {"parent": "C", "child": "D"},
    ]
    return nodes, edges


def test_dag_layers_put_every_child_below_its_parents() -> None:
    nodes, edges = _diamond()
    # a shortcut edge must not pull D up next to B and C
    edges.append({"parent": "A", "child": "D"})
    picture = charts.layout_dag(nodes, edges)

    assert picture is not None
    y = {n.id: n.y for n in picture.nodes}
    assert y["A"] < y["B"] == y["C"] < y["D"]
    assert picture.layers == 3
    assert len(picture.edges) == 5
    assert all(0 <= n.x <= picture.width - picture.node_w for n in picture.nodes)
    assert all(0 <= n.y <= picture.height - picture.node_h for n in picture.nodes)


def test_dag_rows_follow_their_parents_to_limit_crossings() -> None:
    nodes = [{"id": n} for n in ("p1", "p2", "c2", "c1")]
    edges = [{"parent": "p1", "child": "c1"}, {"parent": "p2", "child": "c2"}]
    picture = charts.layout_dag(nodes, edges)

    assert picture is not None
    x = {n.id: n.x for n in picture.nodes}
    assert x["p1"] < x["p2"]
    assert x["c1"] < x["c2"]  # reordered under their parents, not in document order


def test_wide_dags_switch_to_compact_dots_and_huge_ones_are_not_drawn() -> None:
    nodes = [{"id": f"j{i}"} for i in range(40)]
    picture = charts.layout_dag(nodes, [])
    assert picture is not None and picture.compact
    assert len({n.x for n in picture.nodes}) == 40

    too_many = [{"id": f"j{i}"} for i in range(charts.MAX_DAG_NODES + 1)]
    assert charts.layout_dag(too_many, []) is None
    assert charts.layout_dag([], []) is None


def test_a_very_wide_level_wraps_onto_lines_below_each_other() -> None:
    nodes = [{"id": "root"}] + [{"id": f"j{i}"} for i in range(300)] + [{"id": "sink"}]
    edges = [{"parent": "root", "child": f"j{i}"} for i in range(300)]
    edges += [{"parent": f"j{i}", "child": "sink"} for i in range(300)]
    picture = charts.layout_dag(nodes, edges)

    assert picture is not None and picture.layers == 3
    by_id = {n.id: n for n in picture.nodes}
    fan = [by_id[f"j{i}"] for i in range(300)]
    assert len({(n.x, n.y) for n in fan}) == 300  # no two dots on top of each other
    assert len({n.y for n in fan}) == -(-300 // charts.WRAP_AT)
    assert len({n.x for n in fan}) == charts.WRAP_AT
    assert by_id["root"].y < min(n.y for n in fan) <= max(n.y for n in fan) < by_id["sink"].y
    assert picture.height >= by_id["sink"].y + picture.node_h


def test_dag_edges_naming_unknown_nodes_are_ignored() -> None:
    picture = charts.layout_dag([{"id": "a"}], [{"parent": "a", "child": "ghost"}])
    assert picture is not None and picture.edges == []


def test_gantt_bars_are_proportional_to_waiting_and_running_time() -> None:
    spans = [
        InstanceSpan("a", "compute", 1, 100.0, 110.0, 130.0, "succeeded"),
        InstanceSpan("b", "compute", 1, 100.0, 140.0, 200.0, "failed"),
        InstanceSpan("b", "compute", 2, 205.0, None, None, "queued"),
        InstanceSpan("c", "compute", 1, None, None, None, "queued"),  # not submitted yet
    ]
    picture = charts.layout_gantt(spans, now=220.0)

    assert picture is not None
    assert [(b.job, b.attempt) for b in picture.bars] == [("a", 1), ("b", 1), ("b", 2)]
    a, b1, b2 = picture.bars
    scale = picture.plot_w / 120.0  # 100 .. 220 (the queued attempt waits until now)
    assert a.queue_x == picture.label_w
    assert a.queue_w == pytest.approx(10 * scale, abs=0.1)
    assert a.run_w == pytest.approx(20 * scale, abs=0.1)
    assert b1.run_x == pytest.approx(picture.label_w + 40 * scale, abs=0.1)
    assert b1.run_w == pytest.approx(60 * scale, abs=0.1)
    assert b2.run_w == 0 and b2.queue_w == pytest.approx(15 * scale, abs=0.1)
    assert a.y < b1.y < b2.y
    assert picture.ticks[0] == (picture.label_w, "0s")
    assert picture.ticks[-1][1] == "2m"


def test_gantt_needs_at_least_one_submitted_attempt() -> None:
    assert charts.layout_gantt([], now=0.0) is None
    waiting = InstanceSpan("a", "compute", 1, None, None, None, "queued")
    assert charts.layout_gantt([waiting], now=0.0) is None


def test_runtime_chart_longest_mean_first_and_failed_rows_apart() -> None:
    rows = [
        SimpleNamespace(transformation="short", type="successful", count=4, mean=1.0),
        SimpleNamespace(transformation="long", type="successful", count=1, mean=8.0),
        SimpleNamespace(transformation="long", type="failed", count=2, mean=2.0),
        SimpleNamespace(transformation="never", type="successful", count=0, mean=None),
    ]
    chart = charts.runtime_chart(rows)

    assert chart is not None
    assert [(b.label, b.failed) for b in chart.bars] == [
        ("long", False),
        ("long (failed)", True),
        ("short", False),
    ]
    assert chart.bars[0].w == chart.plot_w
    assert chart.bars[2].w == pytest.approx(chart.plot_w / 8, abs=0.1)
    assert charts.runtime_chart([]) is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [(None, "–"), (0, "0"), (3 << 8, "3"), (256, "1"), (9, "signal 9"), (-1, "-1")],
)
def test_exit_status_reads_raw_wait_statuses(raw: int | None, shown: str) -> None:
    assert exit_status(raw) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (0.423, "0.42 s"), (12.34, "12.3 s"), (245, "4 m 05 s"), (7380, "2 h 03 m")],
)
def test_durations_are_short_and_readable(seconds: float | None, shown: str) -> None:
    assert fmt_duration(seconds) == shown


def test_file_sizes() -> None:
    assert fmt_bytes(24) == "24 B"
    assert fmt_bytes(2048) == "2.0 KiB"
    assert fmt_bytes(5 * 1024**3) == "5.0 GiB"
