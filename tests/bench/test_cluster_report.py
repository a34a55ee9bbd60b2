"""The cluster section's derived figures and verdicts (bench/cluster_report.py): pure
functions over a raw section, no run."""

from __future__ import annotations

from typing import Any

from bench import cluster_report


def cpu(**utilisation: float) -> dict[str, Any]:
    """Each process's CPU over a 10 s step at the given utilisation."""
    return {k: {"cpu_s": round(v * 10, 3), "utilisation": v} for k, v in utilisation.items()}


def step(rate: float, passed: bool, remote: float = 0.5, **util: float) -> dict[str, Any]:
    joined = int(rate * 10)
    c = cpu(**util)
    nodes = [k[len("controller_"):] for k in util if k.startswith("controller_")]
    per_node: dict[str, Any] = {
        n: {"controller_cpu_ms_per_answered_call": round(
            c[f"controller_{n}"]["cpu_s"] * 1000 / (joined / len(nodes)), 3)}
        for n in nodes
    }
    per_node["all"] = {"controller_cpu_ms_per_call": round(
        sum(c[f"controller_{n}"]["cpu_s"] for n in nodes) * 1000 / joined, 3)}
    return {
        "offered_rate": rate, "calls": joined, "elapsed_s": 10.0,
        "joined": joined if passed else joined - 5,
        "failed": 0 if passed else 5, "passed": passed, "remote_share": remote,
        "setup": {"p99_ms": 80.0 if passed else 1500.0},
        "setup_local": {"p99_ms": 60.0}, "setup_remote": {"p99_ms": 90.0},
        "cpu": c, "per_node": per_node,
    }


def raw(rehome: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    two = {"controller_a": 0.3, "controller_b": 0.3, "simulator": 0.5, "loadgen": 0.1,
           "postgres": 0.1}
    return {
        "size": "quick", "lease_seconds": 3.0, "media_timeout_ms": 3000, "cores": 2,
        "setup_rate": {
            "2": {"max_passing_rate_per_s": 100,
                  "idle": cpu(controller_a=0.05, controller_b=0.05, simulator=0.0),
                  "steps": [
                step(100, True, **two),
                step(125, False, controller_a=0.35, controller_b=0.35, simulator=0.8,
                     loadgen=0.15, postgres=0.1),
            ]},
        },
        "realtime": {
            "join_latency": {"local": {"n": 50, "p50_ms": 2.0, "p99_ms": 9.0},
                             "remote": {"n": 100, "p50_ms": 38.0, "p99_ms": 61.0}},
            "rehome": {"callers": rehome if rehome is not None else [
                {"rejoined": True, "rehome_s": 4.1, "media_timeout_s": 3.02},
                {"rejoined": True, "rehome_s": 4.3, "media_timeout_s": 3.03},
            ], "max_s": 4.3},
        },
        "lease_claims": {"claim": {"n": 900, "p50_ms": 1.1, "p99_ms": 4.2},
                         "by_kind": {"renew": {"p50_ms": 0.8, "p99_ms": 2.5}},
                         "races_with_two_winners": 0},
    }


def test_remote_extra_join_latency_is_the_p99_difference_against_150_ms() -> None:
    section = cluster_report.finish(raw())
    h = section["headline"]
    assert h["remote_extra_join_p99_ms"] == 52.0
    assert h["remote_extra_join_p50_ms"] == 36.0
    assert section["targets"]["remote_extra_join_p99_ms"]["met"] is True
    assert section["targets"]["lease_claim_p99_ms"] == {
        "target": "< 20", "measured": 4.2, "met": True, "note": ""}


def test_setup_figures_come_from_the_highest_passing_step_per_node_count() -> None:
    row = cluster_report.finish(raw())["headline"]["by_nodes"]["2"]
    assert row["setups_per_s"] == 100 and row["at_rate"] == 100
    # 3 s of controller CPU each over 1,000 calls, 500 answered by each node
    assert row["controller_cpu_ms_per_call"] == 6.0
    # ... of which heartbeats and lease renewals, 5 % of a core each, are 1 ms
    assert row["controllers_idle_utilisation"] == 0.1
    assert row["controller_cpu_ms_per_call_net_of_idle"] == 5.0
    assert row["controller_cpu_ms_per_answered_call_by_node"] == {"a": 6.0, "b": 6.0}
    assert row["simulator_cpu_ms_per_call"] == 5.0
    assert row["controllers_core_utilisation"] == 0.6


def test_rehome_target_is_the_lease_plus_three_seconds() -> None:
    t = cluster_report.finish(raw())["targets"]["rehome_max_s"]
    assert t["target"] == "<= 6" and t["measured"] == 4.3 and t["met"] is True
    slow = raw([{"rejoined": True, "rehome_s": 6.5, "media_timeout_s": 3.0}])
    slow["realtime"]["rehome"]["max_s"] = 6.5
    assert cluster_report.finish(slow)["targets"]["rehome_max_s"]["met"] is False


def test_a_caller_who_never_comes_back_misses_the_rehome_target() -> None:
    lost = raw([{"rejoined": True, "rehome_s": 4.0, "media_timeout_s": 3.0},
                {"rejoined": False, "rehome_s": None, "media_timeout_s": 3.0}])
    lost["realtime"]["rehome"]["max_s"] = 4.0
    t = cluster_report.finish(lost)["targets"]["rehome_max_s"]
    assert t["met"] is False and "1 of 2 callers never came back" in t["note"]


def test_limits_name_the_core_that_ran_out_and_how_the_cores_were_shared() -> None:
    (note,) = cluster_report.finish(raw())["limits"]
    assert note.startswith("2 node(s): at 125/s 5 of 1250 failed")
    # 9.5 s of simulator + load generator CPU for 1,245 calls, at 125/s: 95 % of a core
    assert "the simulator's core 95%" in note and "the simulator's core ran out first" in note
    assert "2 controller(s) on one core" in note


def test_a_skipped_section_says_why_in_one_line() -> None:
    section = cluster_report.finish({"skipped": "PostgreSQL not reachable: refused"})
    assert cluster_report.summary(section) == (
        "cluster: skipped: PostgreSQL not reachable: refused")
    assert "targets" not in section


def test_summary_shows_every_figure_with_its_verdict() -> None:
    text = cluster_report.summary(cluster_report.finish(raw()))
    assert "2 node(s): 100 set-ups/s" in text
    assert "remote 38.00 / 61.00 ms" in text
    assert "re-home: 2/2 callers back" in text
    assert "rehome_max_s" in text and "MISSED" not in text
