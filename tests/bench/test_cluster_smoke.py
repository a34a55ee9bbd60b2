"""The cluster section of the benchmark runs end to end in its tiny size on PostgreSQL
(clustering is refused on SQLite): several simulated nodes, a controller each.

Shape and sanity only, and what no simulator shortcut could fake: a bridged caller's
join goes through SIP (slower than a local one), and a caller of a killed owner comes
back only after the media timeout. Speed targets live in the benchmark itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("FSCONF_TEST_DATABASE_URL", "")

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"),
                       reason="clustering needs PostgreSQL (FSCONF_TEST_DATABASE_URL)"),
]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench-cluster")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--mode", "tiny", "--cluster", "only",
         "--cluster-database", PG_URL, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob("*.json")
    doc = json.loads(path.read_text())
    doc["_stdout"] = proc.stdout
    return doc


def test_each_node_count_set_up_calls_and_spread_them(document: dict) -> None:
    section = document["cluster"]
    assert document["mode"] == "tiny" and document["machine"]["database"] == "postgresql"
    assert set(section["setup_rate"]) == {"1", "2", "3"}
    for count, sweep in section["setup_rate"].items():
        (first,) = sweep["steps"][:1]
        assert first["joined"] == first["calls"] > 0
        assert sweep["sessions_left"] == 0
        answered = {n: v["answered"] for n, v in first["per_node"].items() if n != "all"}
        assert len(answered) == int(count) and all(answered.values())  # round robin
        # one node hosts everything; with more, some callers are bridged to the owner
        assert (first["remote_share"] == 0) == (count == "1")
        row = section["headline"]["by_nodes"][count]
        assert row["setups_per_s"] > 0 and row["controller_cpu_ms_per_call"] > 0


def test_bridged_callers_join_later_than_local_ones(document: dict) -> None:
    h = document["cluster"]["headline"]
    assert h["join_local_n"] > 0 and h["join_remote_n"] > 0
    # the bridge costs at least one SIP hop (20 ms captured) plus the owner's admission
    assert h["join_remote_p50_ms"] > h["join_local_p50_ms"]
    assert h["remote_extra_join_p99_ms"] is not None


def test_callers_of_a_killed_owner_come_back_only_after_the_media_timeout(document: dict) -> None:
    section = document["cluster"]
    rehome = section["realtime"]["rehome"]
    assert rehome["killed"] == "a"
    timeout_s = section["media_timeout_ms"] / 1000
    for caller in rehome["callers"]:
        assert caller["landed_on"] != "a" and caller["rejoined"], caller
        assert caller["new_owner"] != "a"
        # no BYE from a dead switch: only the RTP media timeout ends the bridge
        assert caller["media_timeout_s"] >= timeout_s
        assert caller["rehome_s"] > caller["media_timeout_s"]
    assert section["targets"]["rehome_max_s"]["target"] == (
        f"<= {section['lease_seconds'] + 3:g}")


def test_lease_claims_race_with_one_winner_each(document: dict) -> None:
    claims = document["cluster"]["lease_claims"]
    assert claims["claim"]["n"] > 0 and claims["claim"]["p99_ms"] > 0
    assert claims["races_with_one_winner"] == claims["races"]
    assert claims["races_with_two_winners"] == 0 and claims["live_leases_taken"] == 0
    assert "lease claim p50 / p99" in document["_stdout"]


def test_every_phase_dropped_its_schema(document: dict) -> None:
    from sqlalchemy import create_engine, text

    used = document["cluster"]["schemas"]
    assert len(used) == 5  # three sweeps, the real-time phase, the claims
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        left = conn.execute(text(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ANY(:names)"
        ), {"names": used}).scalar()
    engine.dispose()
    assert left == 0
