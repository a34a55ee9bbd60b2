"""The results document's derived figures: the controller's ceiling, the large-room cost
growth, and ratios taken against each peer's own paired passes. Pure functions, no run."""

from __future__ import annotations

from typing import Any

from bench import report


def step(rate: float, joined: int, controller_s: float, ctl_util: float, sim_util: float,
         passed: bool) -> dict[str, Any]:
    return {
        "offered_rate": rate, "joined": joined, "passed": passed, "setup": {"p99_ms": 50.0},
        "cpu": {"controller": {"cpu_s": controller_s, "utilisation": ctl_util},
                "simulator": {"cpu_s": 0.0, "utilisation": sim_util}},
    }


def test_ceiling_is_measured_when_the_controllers_core_saturated() -> None:
    result = {"setup_rate": {"steps": [
        step(50, 500, 2.5, 0.5, 0.4, True),
        step(100, 1000, 9.0, 0.9, 0.5, True),
        step(125, 1250, 12.0, 0.96, 0.6, False),
    ]}}
    out = report.ceiling(result)
    assert out["controller_ceiling_per_s"] == 100
    assert out["controller_ceiling_kind"].startswith("measured")
    assert [b["controller_cpu_ms_per_call"] for b in out["controller_by_rate"]] == [5, 9, 9.6]


def test_ceiling_is_projected_when_something_else_stopped_the_sweep() -> None:
    # 4 ms of controller CPU per call at the highest passing rate: its core is full at
    # 250/s, though the sweep stopped at 125/s with the simulator busy.
    result = {"setup_rate": {"steps": [
        step(100, 1000, 4.0, 0.4, 0.8, True),
        step(125, 1250, 5.0, 0.45, 0.95, False),
    ]}}
    out = report.ceiling(result)
    assert out["controller_ceiling_per_s"] == 250
    assert out["controller_ceiling_kind"].startswith("projected from 4.0 ms")
    assert "stopped at 125/s" in out["controller_ceiling_kind"]


def level(held: int, controller_ms: float, joined: int = 10) -> dict[str, Any]:
    return {
        "held": held, "joins": 10, "joined": joined,
        "join_latency": {"p50_ms": 30.0, "p99_ms": 40.0},
        "cpu_ms_per_join": {"controller": controller_ms, "simulator": 1.0, "loadgen": 0.1},
    }


def test_large_room_growth_compares_the_largest_room_with_the_smallest() -> None:
    out = report.large_room_figures({"large_rooms": {"levels": [
        level(9, 8.0), level(99, 10.0), level(499, 20.0)]}})
    assert [r["size"] for r in out["large_rooms"]] == [10, 100, 500]
    assert out["large_room_cpu_growth"] == 2.5
    assert out["large_room_sizes_compared"] == [10, 500]
    met = report.targets(out)["large_room_cpu_growth"]
    assert met["met"] is True


def test_large_room_target_is_not_judged_on_smaller_rooms() -> None:
    out = report.large_room_figures({"large_rooms": {"levels": [level(9, 8.0), level(99, 40.0)]}})
    assert out["large_room_cpu_growth"] == 5.0
    t = report.targets(out)["large_room_cpu_growth"]
    assert t["met"] is None and "[10, 100]" in t["note"]


def test_cpu_ratio_uses_the_passes_fsconf_made_beside_that_peer() -> None:
    fs = {"cpu_ms_per_call": 5.0, "cpu_ms_per_call_vs": {"greenswitch": 5.0, "genesis": 8.0}}
    peer = {"cpu_ms_per_call": 32.0, "cpu_ms_per_call_vs": {"fsconf": 32.0}}
    vs = report.ratios_vs(fs, peer, "genesis")
    assert vs["cpu_ms_per_call"]["ratio"] == 0.25
    assert vs["cpu_ms_per_call"]["fsconf"] == 8.0
    assert vs["cpu_ms_per_call"]["fsconf_better"] is True
