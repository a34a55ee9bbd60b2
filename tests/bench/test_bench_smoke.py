"""The benchmark harness runs end to end in its tiny mode and writes a sane document.

Only shape and sanity are checked here (something was measured, latencies are positive);
speed and memory targets live in the benchmark itself, never in tests.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# On the PostgreSQL pass of the suite, the controller under test runs on PostgreSQL too.
PG_URL = os.environ.get("FSCONF_TEST_DATABASE_URL", "")
if not PG_URL.startswith("postgresql"):
    PG_URL = ""


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench-results")
    extra = ["--database", PG_URL] if PG_URL else []
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--mode", "tiny", "--cluster", "skip",
         "--out", str(out), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = list(out.glob("*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    doc["_stdout"] = proc.stdout
    return doc


def test_tiny_run_writes_every_section(document: dict) -> None:
    for key in ("schema", "date", "mode", "machine", "params", "headline", "floor",
                "ratios", "targets", "limits", "raw"):
        assert key in document
    assert document["mode"] == "tiny"
    assert document["machine"]["database"] == ("postgresql" if PG_URL else "sqlite")
    assert document["machine"]["cpu"] not in ("", None)
    assert set(document["headline"]) == {"fsconf", "greenswitch", "genesis"}
    assert "fsconf / greenswitch" in document["_stdout"]
    assert "fsconf / genesis" in document["_stdout"]
    # The cluster section has its own smoke test (test_cluster_smoke.py); here it says why not.
    assert document["cluster"] == {"skipped": "not asked for (--cluster skip)"}
    assert "cluster: skipped: not asked for" in document["_stdout"]


@pytest.mark.parametrize("target", ["fsconf", "greenswitch", "genesis"])
def test_each_target_was_measured(document: dict, target: str) -> None:
    h = document["headline"][target]
    assert h["setups_per_s"] > 0
    assert h["max_held_callers"] > 0
    assert h["keypad_p50_ms_at_100"] > 0
    assert h["keypad_p99_ms_at_100"] >= h["keypad_p50_ms_at_100"]
    assert h["cpu_ms_per_call"] > 0
    assert h["rss_per_held_call_bytes"] is not None
    assert h["drain_events_per_s"] > 0
    raw = document["raw"][target]
    assert raw["churn"]["joined"] == raw["churn"]["calls"]
    # The leak check's churn starts at the same call count whatever the sweep reached.
    assert raw["calls_before_churn"] == document["params"]["calls_before_churn"]
    assert raw["after"]["sessions_left"] == 0
    # CPU per call comes from the alternating passes, each a real churn of its own;
    # fsconf takes turns with each peer (one pass per pair in tiny mode), and its
    # headline is from the passes beside greenswitch.
    passes = raw["cpu_passes"]
    assert all(p["joined"] == p["calls"] > 0 for p in passes)
    if target == "fsconf":
        assert sorted(p["paired_with"][0] for p in passes) == ["genesis", "greenswitch"]
        assert set(h["cpu_ms_per_call_vs"]) == {"genesis", "greenswitch"}
        (cpu_pass,) = [p for p in passes if p["paired_with"] == ["greenswitch"]]
    else:
        (cpu_pass,) = passes
        assert cpu_pass["paired_with"] == ["fsconf"]
    assert h["cpu_passes"] == 1
    assert h["cpu_ms_per_call"] == cpu_pass["cpu_ms_per_call"]["controller"] > 0
    assert h["churn_cpu_ms_per_call"] == raw["churn"]["cpu_ms_per_call"]["controller"]
    # Keypad latency too: each pass held its callers and probed them after its churn;
    # the headline is the median over all of a target's passes.
    probes = [p["keypad"][0]["keypad"] for p in passes]
    assert all(k["answered"] == k["presses"] > 0 for k in probes)
    assert h["keypad_passes_at_100"] == len(passes)
    assert h["keypad_p50_ms_at_100"] == round(statistics.median(k["p50_ms"] for k in probes), 3)
    # ... and the p99.9 rests on every pass's presses at once (one pass has too few).
    assert h["keypad_pooled_presses_at_100"] == sum(k["answered"] for k in probes)
    worst = max(us for k in probes for us in k["latencies_us"])
    assert 0 < h["keypad_p99_9_ms_at_100"] <= worst / 1000
    assert h["ramp_keypad_p50_ms_at_100"] > 0
    # Large rooms: every size measured, each join made it in.
    sizes = document["params"]["large_room_sizes"]
    assert [r["size"] for r in h["large_rooms"]] == sizes
    assert all(r["joined"] == r["joins"] and r["join_p50_ms"] > 0 for r in h["large_rooms"])
    assert h["large_room_sizes_compared"] == [sizes[0], sizes[-1]]
    # The controller's ceiling is a figure with the way it was obtained.
    assert h["controller_ceiling_per_s"] > 0
    assert h["controller_ceiling_kind"].startswith(("measured", "projected"))


def test_floor_and_ratios_are_filled_in(document: dict) -> None:
    assert document["floor"]["round_trip"]["p50_ms"] > 0
    assert document["floor"]["bulk_read"]["bytes_per_s"] > 0
    for peer in ("greenswitch", "genesis"):
        ratios = document["ratios"][f"vs_{peer}"]
        assert ratios["setups_per_s"]["ratio"] is not None
        assert ratios["cpu_ms_per_call"][peer] == document["headline"][peer]["cpu_ms_per_call"]
    assert document["ratios"]["vs_floor"]["keypad_p50_ms_at_100_in_round_trips"] > 0


@pytest.mark.skipif(not PG_URL, reason="the PostgreSQL pass checks its own clean-up")
def test_postgresql_run_drops_its_schema(document: dict) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        left = conn.execute(text(
            "SELECT count(*) FROM information_schema.schemata "
            "WHERE schema_name LIKE 'fsconf_bench_%'"
        )).scalar()
    engine.dispose()
    assert left == 0
