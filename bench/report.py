"""Turn the raw measurements into the results document, the ratios and the summary."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path
from typing import Any

from bench.cluster_report import summary as cluster_summary
from bench.common import percentile

# RSS moves in 4 KiB pages, and the allocator takes or returns one now and then whatever
# the program does: growth of up to two pages over the second half of the churn (5,000
# calls in full mode, under 2 bytes a call) reads as none. A leak of one small object
# (about 50 bytes) on every call would show as some 60 pages.
RSS_PAGE_NOISE_BYTES = 2 * 4096
TARGETS = {
    "setups_per_s": (">=", 100),
    "max_held_callers": (">=", 2000),
    "keypad_p99_ms_at_1000": ("<", 10),
    "rss_per_held_call_bytes": ("<", 200 * 1024),
    "rss_growth_second_half_bytes": ("<=", RSS_PAGE_NOISE_BYTES),
    # CPU per join in a room of 500 over that in a room of 10 (issue 23)
    "large_room_cpu_growth": ("<=", 3),
}
# The controller's own ceiling: a step whose controller was at least this busy had its
# core saturated (the sweep's steps include their tails, so utilisation reads low).
SATURATED = 0.85
PEERS = ("greenswitch", "genesis")
# For each headline figure: is a bigger number better?
HIGHER_IS_BETTER = {
    "setups_per_s": True,
    "max_held_callers": True,
    "drain_events_per_s": True,
    "keypad_p50_ms_at_100": False,
    "keypad_p99_ms_at_100": False,
    "keypad_p99_9_ms_at_100": False,
    "keypad_p50_ms_at_1000": False,
    "keypad_p99_ms_at_1000": False,
    "keypad_p99_9_ms_at_1000": False,
    "rss_per_held_call_bytes": False,
    "rss_growth_per_churned_call_bytes": False,
    "cpu_ms_per_call": False,
    "large_room_cpu_ms_per_join_at_max": False,
    "large_room_cpu_growth": False,
    "controller_ceiling_per_s": True,
}


def _keypad_at(levels: list[dict[str, Any]], want: int) -> tuple[int | None, dict[str, Any]]:
    """The keypad probe at `want` held callers, or at the largest level below it."""
    best: dict[str, Any] | None = None
    for entry in levels:
        fits = entry["held"] <= want and entry["keypad"].get("n")
        if fits and (best is None or entry["held"] > best["held"]):
            best = entry
    if best is None:
        return None, {}
    return best["held"], best["keypad"]


def headline(result: dict[str, Any]) -> dict[str, Any]:
    levels = result["held"]["levels"]
    out: dict[str, Any] = {
        "setups_per_s": result["setup_rate"]["max_passing_rate_per_s"],
        "max_held_callers": result["held"]["max_held_with_p99_under_100ms"],
        "held_reached": max((e["held"] for e in levels), default=0),
        # every level passed: max_held_callers is the mode's cap, not a measured limit
        "held_capped": bool(levels) and all(e.get("passed") for e in levels),
    }
    # Keypad latency at 100 and 1,000 held: the median over the alternating passes when
    # the run made them (see bench.run.run_cpu_passes), else the held ramp's probe; the
    # ramp's figures are kept as ramp_keypad_*.
    for want in (100, 1000):
        at, kp = _keypad_at(levels, want)
        for q in ("p50", "p99", "p99_9"):
            out[f"ramp_keypad_{q}_ms_at_{want}"] = kp.get(f"{q}_ms")
        mine = []
        for p in result.get("cpu_passes", []):
            at_pass, kp_pass = _keypad_at(p.get("keypad", []), want)
            if at_pass is not None:
                mine.append({"held": at_pass, "keypad": kp_pass})
        if mine:
            at = min(e["held"] for e in mine)
        for q in ("p50", "p99", "p99_9"):
            out[f"keypad_{q}_ms_at_{want}"] = (
                round(statistics.median(e["keypad"][f"{q}_ms"] for e in mine), 3)
                if mine else kp.get(f"{q}_ms")
            )
        # p99.9 from every pass's presses together: a single pass holds a few thousand, so
        # its p99.9 is one or two presses and the median of three such is noise.
        pooled = [us for e in mine for us in e["keypad"].get("latencies_us") or []]
        if pooled and all(e["keypad"].get("latencies_us") for e in mine):
            out[f"keypad_p99_9_ms_at_{want}"] = round(percentile(pooled, 99.9) / 1000, 3)
            out[f"keypad_pooled_presses_at_{want}"] = len(pooled)
        out[f"keypad_callers_at_{want}"] = at
        out[f"keypad_passes_at_{want}"] = len(mine)
    passing = [e for e in levels if e["held"] > 0]
    biggest = max(passing, key=lambda e: e["held"]) if passing else None
    out["rss_per_held_call_bytes"] = (
        biggest["controller_rss_per_held_call_bytes"] if biggest else None
    )
    out["rss_per_held_call_measured_at"] = biggest["held"] if biggest else None
    churn = result["churn"]
    out["rss_growth_per_churned_call_bytes"] = churn.get(
        "controller_rss_growth_second_half_per_call_bytes",
        churn["controller_rss_growth_per_call_bytes"],
    )
    out["rss_growth_second_half_bytes"] = churn.get("controller_rss_growth_second_half_bytes")
    out["churned_calls"] = churn["calls"]
    # The alternating CPU passes when the run made them (see bench.run.run_cpu_passes),
    # else the scenario's churn; the churn figure is kept either way.
    # fsconf runs passes paired with each peer (at their common rate); its headline is
    # from the passes paired with greenswitch, and `cpu_ms_per_call_vs` keeps each pair's.
    done = [p for p in result.get("cpu_passes", []) if p.get("joined")]
    first_pair = next((q for q in PEERS if any(q in p.get("paired_with", []) for p in done)),
                      None)
    mine = [p for p in done if first_pair is None or first_pair in p.get("paired_with", [])]
    passes = [p["cpu_ms_per_call"] for p in mine]
    per_call = (
        {k: statistics.median(p[k] for p in passes) for k in passes[0]}
        if passes else churn["cpu_ms_per_call"]
    )
    out["cpu_ms_per_call_vs"] = {
        q: statistics.median(
            p["cpu_ms_per_call"]["controller"] for p in done if q in p.get("paired_with", [])
        )
        for q in (*PEERS, "fsconf")
        if any(q in p.get("paired_with", []) for p in done)
    }
    out["cpu_pass_rate"] = mine[0].get("rate") if mine else None
    out["cpu_ms_per_call"] = per_call["controller"]
    out["simulator_cpu_ms_per_call"] = per_call["simulator"]
    out["loadgen_cpu_ms_per_call"] = per_call["loadgen"]
    out["cpu_passes"] = len(passes)
    out["churn_cpu_ms_per_call"] = churn["cpu_ms_per_call"]["controller"]
    out.update(large_room_figures(result))
    out.update(ceiling(result))
    flood = result.get("flood") or {}
    out["drain_events_per_s"] = flood.get("events_per_s")
    out["drain_s"] = flood.get("drain_s")
    out["drain_events"] = flood.get("events")
    out["drain_bytes"] = flood.get("bytes")
    return out


def large_room_figures(result: dict[str, Any]) -> dict[str, Any]:
    """Join latency and controller CPU per join by room size, and how the cost grows."""
    levels = (result.get("large_rooms") or {}).get("levels") or []
    rows = [
        {
            "size": e["held"] + 1,
            "join_p50_ms": e["join_latency"]["p50_ms"],
            "join_p99_ms": e["join_latency"]["p99_ms"],
            "cpu_ms_per_join": e["cpu_ms_per_join"]["controller"],
            "simulator_cpu_ms_per_join": e["cpu_ms_per_join"]["simulator"],
            "joined": e["joined"],
            "joins": e["joins"],
        }
        for e in levels
    ]
    out: dict[str, Any] = {"large_rooms": rows}
    measured = [r for r in rows if r["joined"]]
    if len(measured) >= 2 and measured[0]["cpu_ms_per_join"] > 0:
        first, last = measured[0], measured[-1]
        out["large_room_cpu_growth"] = round(last["cpu_ms_per_join"] / first["cpu_ms_per_join"], 2)
        out["large_room_sizes_compared"] = [first["size"], last["size"]]
        out["large_room_cpu_ms_per_join_at_max"] = last["cpu_ms_per_join"]
    else:
        out["large_room_cpu_growth"] = None
        out["large_room_sizes_compared"] = None
        out["large_room_cpu_ms_per_join_at_max"] = None
    return out


def ceiling(result: dict[str, Any]) -> dict[str, Any]:
    """The controller's own limit in set-ups/s, apart from the simulator's.

    Each sweep step gives the controller's CPU per call at that offered rate. If the
    sweep stopped with the controller's core saturated, the last passing rate is the
    ceiling, measured. Otherwise something else (on a 2-core machine: the simulator and
    load generator's core) stopped it first, and the ceiling is projected: the rate at
    which the controller's CPU per call at the highest passing rate fills one core.
    """
    steps = result["setup_rate"]["steps"]
    by_rate = [
        {
            "rate": st["offered_rate"],
            "controller_cpu_ms_per_call": round(
                st["cpu"]["controller"]["cpu_s"] * 1000 / max(1, st["joined"]), 3
            ),
            "controller_utilisation": st["cpu"]["controller"]["utilisation"],
            "simulator_utilisation": st["cpu"]["simulator"]["utilisation"],
            "setup_p99_ms": st["setup"]["p99_ms"],
            "passed": st["passed"],
        }
        for st in steps
    ]
    out: dict[str, Any] = {"controller_by_rate": by_rate}
    passing = [b for b in by_rate if b["passed"] and b["controller_cpu_ms_per_call"] > 0]
    failed = [b for b in by_rate if not b["passed"]]
    if failed and (failed[0]["controller_utilisation"] or 0) >= SATURATED:
        out["controller_ceiling_per_s"] = passing[-1]["rate"] if passing else 0
        out["controller_ceiling_kind"] = "measured: the controller's core saturated"
    elif passing:
        top = passing[-1]
        out["controller_ceiling_per_s"] = round(1000 / top["controller_cpu_ms_per_call"])
        out["controller_ceiling_kind"] = (
            f"projected from {top['controller_cpu_ms_per_call']} ms CPU per call at "
            f"{top['rate']}/s (controller {top['controller_utilisation']:.0%} busy, "
            f"simulator {top['simulator_utilisation']:.0%}): the sweep "
            + ("stopped at " + str(failed[0]["rate"]) + "/s for another reason"
               if failed else "never failed")
        )
    else:
        out["controller_ceiling_per_s"] = None
        out["controller_ceiling_kind"] = "no passing step"
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None where a ratio means nothing (missing, or b not positive)."""
    if a is None or b is None or b <= 0:
        return None
    return round(a / b, 3)


def ratios_vs(fs: dict[str, Any], peer: dict[str, Any], peer_name: str) -> dict[str, Any]:
    """fsconf / peer for each headline figure, and whether fsconf's is the better."""
    vs: dict[str, Any] = {}
    for key, higher in HIGHER_IS_BETTER.items():
        a_val, b_val = fs.get(key), peer.get(key)
        if key == "cpu_ms_per_call":
            # each peer against fsconf's passes at their common rate
            a_val = (fs.get("cpu_ms_per_call_vs") or {}).get(peer_name, a_val)
            b_val = (peer.get("cpu_ms_per_call_vs") or {}).get("fsconf", b_val)
        r = _ratio(a_val, b_val)
        better = None
        if key == "rss_growth_per_churned_call_bytes":
            r = None  # a ratio of two numbers near zero means nothing
            a, b = fs.get(key), peer.get(key)
            if a is not None and b is not None:
                # both within the page noise: both "no growth", neither is better
                ga = fs.get("rss_growth_second_half_bytes")
                gb = peer.get("rss_growth_second_half_bytes")
                if ga is not None and gb is not None:
                    quiet = max(ga, gb) <= RSS_PAGE_NOISE_BYTES
                else:
                    quiet = max(a, b) <= 1024
                better = None if quiet else a < b
        elif r is not None and r != 1:
            better = r > 1 if higher else r < 1
        vs[key] = {"fsconf": a_val, peer_name: b_val, "ratio": r,
                   "higher_is_better": higher, "fsconf_better": better}
    return vs


def ratios(fs: dict[str, Any], peers: dict[str, dict[str, Any]], floor: dict[str, Any]) -> dict:
    out: dict[str, Any] = {}
    for name, peer in peers.items():
        out[f"vs_{name}"] = ratios_vs(fs, peer, name)
    rtt = floor["round_trip"]
    bulk = floor["bulk_read"]["bytes_per_s"]
    vf: dict[str, Any] = {}
    for want in (100, 1000):
        for q in ("p50", "p99", "p99_9"):
            key = f"keypad_{q}_ms_at_{want}"
            vf[f"{key}_in_round_trips"] = _ratio(fs.get(key), rtt.get(f"{q}_ms"))
    if fs.get("drain_s") and bulk:
        floor_s = fs["drain_bytes"] / bulk
        vf["drain_time_vs_raw_read"] = _ratio(fs["drain_s"], floor_s)
    out["vs_floor"] = vf
    return out


def targets(fs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, (op, goal) in TARGETS.items():
        value = fs.get(key)
        met = None
        note = ""
        if value is not None:
            met = {">=": value >= goal, "<": value < goal, "<=": value <= goal}[op]
        if key == "keypad_p99_ms_at_1000" and fs.get("keypad_callers_at_1000") != 1000:
            met, note = None, f"only measured at {fs.get('keypad_callers_at_1000')} callers"
        if key == "max_held_callers" and fs.get("held_capped") and not met:
            met, note = None, "the mode's cap was reached before any limit"
        if key == "large_room_cpu_growth" and fs.get("large_room_sizes_compared") != [10, 500]:
            met = None
            note = f"rooms compared: {fs.get('large_room_sizes_compared')}, not 10 and 500"
        out[key] = {"target": f"{op} {goal}", "measured": value, "met": met, "note": note}
    return out


def limits(name: str, result: dict[str, Any]) -> list[str]:
    """Which process ran out first where a phase stopped."""
    notes = []
    steps = result["setup_rate"]["steps"]
    failed = [s for s in steps if not s["passed"]]
    if failed:
        s = failed[0]
        cpu = s["cpu"]
        measured = {k: v["utilisation"] for k, v in cpu.items()}
        busy = dict(measured)
        # Utilisation over the whole step (including its tail) understates the load while
        # calls arrive; CPU per call (from the churn) x offered rate says what was asked.
        per_call = result["churn"]["cpu_ms_per_call"]
        demand = {k: s["offered_rate"] * v / 1000 for k, v in per_call.items()}
        notes.append(
            f"{name}: at {s['offered_rate']}/s the measured CPU per call asks for "
            + ", ".join(f"{k} {v:.0%}" for k, v in demand.items()) + " of a core"
        )
        busy = {k: max(v or 0, demand.get(k, 0)) for k, v in busy.items()}
        saturated = [k for k, v in busy.items() if v is not None and v >= 0.85]
        cores = result.get("processes", {}).get("cores", {})
        if (
            cores.get("simulator") is not None
            and cores.get("simulator") == cores.get("loadgen")
            and (busy.get("simulator") or 0) + (busy.get("loadgen") or 0) >= 0.85
            and "simulator" not in saturated
        ):
            saturated.append("simulator+loadgen core")
        notes.append(
            f"{name}: set-up sweep stopped at {s['offered_rate']}/s (failed "
            f"{s['failed']}/{s['calls']}, p99 {s['setup']['p99_ms']} ms); measured CPU use "
            + ", ".join(f"{k} {v:.0%}" for k, v in measured.items() if v is not None)
            + (f" -> saturated: {', '.join(saturated)}" if saturated else "")
        )
        if any(k.startswith("simulator") for k in saturated) and "controller" not in saturated:
            notes.append(f"{name}: the SIMULATOR was the bottleneck of the set-up sweep")
        elif not saturated:
            notes.append(
                f"{name}: no process was CPU-bound when set-up time ran away: the delay is "
                "waiting (blocking I/O in the hub, sleeps, serialisation), not computing"
            )
    else:
        notes.append(f"{name}: set-up sweep never failed; the highest offered rate is a floor")
    levels = result["held"]["levels"]
    if levels and not levels[-1].get("passed", True):
        e = levels[-1]
        notes.append(
            f"{name}: held ramp stopped at {e['held']} callers (level {e['level']}): keypad p99 "
            f"{e['keypad'].get('p99_ms')} ms, {e['keypad'].get('unanswered')} unanswered, "
            f"joins failed {e['join']['failed'] if e.get('join') else 0}"
        )
        cpu = {k: v["utilisation"] for k, v in (e["keypad"].get("cpu") or {}).items()}
        if cpu:
            note = f"{name}: CPU during that probe: " + ", ".join(
                f"{k} {v:.0%}" for k, v in cpu.items() if v is not None
            )
            shared = (cpu.get("simulator") or 0) + (cpu.get("loadgen") or 0)
            if shared >= 0.85 and (cpu.get("controller") or 0) < 0.85:
                note += (f" -> the simulator's core (shared with the load generator) was "
                         f"{shared:.0%} busy: the switch, not the controller, ran out first")
            notes.append(note)
    elif levels:
        notes.append(f"{name}: held ramp passed every level up to {levels[-1]['held']} "
                     "callers (the mode's cap, not a measured limit)")
    return notes


def build(*, mode: str, params: dict[str, Any], results: dict[str, Any],
          floor: dict[str, Any], machine: dict[str, Any], wall_s: float,
          cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    heads = {name: headline(r) for name, r in results.items()}
    doc: dict[str, Any] = {
        "schema": 1,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        "machine": machine,
        "params": params,
        "wall_s": round(wall_s, 1),
        "headline": heads,
        "floor": floor,
        "limits": [n for name, r in results.items() for n in limits(name, r)],
        "raw": results,
    }
    if cluster is not None:
        doc["cluster"] = cluster  # bench/cluster_report.py
    if "fsconf" in heads:
        peers = {p: heads[p] for p in PEERS if p in heads}
        doc["ratios"] = ratios(heads["fsconf"], peers, floor)
        doc["targets"] = targets(heads["fsconf"])
    return doc


def build_rooms(*, results: dict[str, Any], params: dict[str, Any], machine: dict[str, Any],
                wall_s: float) -> dict[str, Any]:
    """`--mode rooms`: the large-room phase alone, for each target."""
    return {
        "schema": 1,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": "rooms",
        "machine": machine,
        "params": params,
        "wall_s": round(wall_s, 1),
        "headline": {name: large_room_figures(r) for name, r in results.items()},
        "raw": results,
    }


def rooms_summary(doc: dict[str, Any]) -> str:
    lines = ["controller CPU per join (ms) by room size; growth = largest / smallest"]
    for name, fig in doc["headline"].items():
        sizes = ", ".join(f"{r['size']}: {_fmt(r['cpu_ms_per_join'])} "
                          f"(join p99 {_fmt(r['join_p99_ms'])} ms)" for r in fig["large_rooms"])
        lines.append(f"  {name}: {sizes}; growth {_fmt(fig['large_room_cpu_growth'])}x")
    return "\n".join(lines)


def build_cluster_only(mode: str, machine: dict[str, Any], cluster: dict[str, Any],
                       wall_s: float) -> dict[str, Any]:
    """`--mode cluster`: the cluster section (bench/cluster_report.py) and the machine."""
    return {
        "schema": 1,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        "machine": {**machine, "database": "postgresql"},
        "wall_s": round(wall_s, 1),
        "cluster": cluster,
    }


def write(doc: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now()
    path = out_dir / f"{now:%Y-%m-%d}.json"
    if path.exists():
        path = out_dir / f"{now:%Y-%m-%d-%H%M%S}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def summary(doc: dict[str, Any]) -> str:
    heads = doc["headline"]
    names = list(heads)
    rows = [
        ("call set-ups/s (full flow, <=0.1% fail, p99<1s)", "setups_per_s"),
        ("callers held, keypad p99 < 100 ms", "max_held_callers"),
        ("keypad p50 / p99 / p99.9 ms @100", None),
        ("keypad p50 / p99 / p99.9 ms @1000", None),
        ("RSS per held call (bytes)", "rss_per_held_call_bytes"),
        ("RSS growth per churned call (bytes)", "rss_growth_per_churned_call_bytes"),
        ("RSS growth over the churn's second half (bytes)", "rss_growth_second_half_bytes"),
        ("controller CPU ms per call (alternating passes)", "cpu_ms_per_call"),
        ("controller CPU ms per call (churn phase)", "churn_cpu_ms_per_call"),
        ("simulator CPU ms per call", "simulator_cpu_ms_per_call"),
        ("event drain (events/s)", "drain_events_per_s"),
        ("controller CPU ms per join, largest room", "large_room_cpu_ms_per_join_at_max"),
        ("  ... over that in the smallest room", "large_room_cpu_growth"),
        ("controller's own ceiling (set-ups/s)", "controller_ceiling_per_s"),
    ]
    database = doc["machine"].get("database", "sqlite")
    lines = [f"fsconf benchmark, mode {doc['mode']}, {doc['machine']['cores']} cores, "
             f"fsconf on {database}, {doc['wall_s']} s", ""]
    lines.append(f"{'':48}" + "".join(f"{n:>26}" for n in names))
    for label, key in rows:
        cells = []
        for n in names:
            h = heads[n]
            if key is None:
                want = 100 if label.endswith("@100") else 1000
                at = h.get(f"keypad_callers_at_{want}")
                vals = [h.get(f"keypad_{q}_ms_at_{want}") for q in ("p50", "p99", "p99_9")]
                text = " / ".join(_fmt(v) for v in vals)
                if at is not None and at != want:
                    text += f" (@{at})"
                cells.append(text)
            else:
                cells.append(_fmt(h.get(key)))
        lines.append(f"{label:48}" + "".join(f"{c:>26}" for c in cells))
    for n in names:
        rows_lr = heads[n].get("large_rooms") or []
        if rows_lr:
            lines.append(f"{n} by room size: " + "; ".join(
                f"{r['size']}: join p50 {_fmt(r['join_p50_ms'])} / p99 {_fmt(r['join_p99_ms'])} "
                f"ms, {_fmt(r['cpu_ms_per_join'])} ms CPU" for r in rows_lr))
        if heads[n].get("controller_ceiling_kind"):
            lines.append(f"{n} ceiling {_fmt(heads[n].get('controller_ceiling_per_s'))}/s: "
                         f"{heads[n]['controller_ceiling_kind']}")
    floor = doc["floor"]
    lines.append("")
    lines.append(
        f"floor: loopback TCP round trip p50 {floor['round_trip']['p50_ms']} ms, p99 "
        f"{floor['round_trip']['p99_ms']} ms; raw socket read "
        f"{floor['bulk_read']['bytes_per_s'] / 1e6:,.0f} MB/s"
    )
    for peer in PEERS:
        if f"vs_{peer}" not in doc.get("ratios", {}):
            continue
        lines.append("")
        lines.append(f"fsconf / {peer} (better?):")
        for key, r in doc["ratios"][f"vs_{peer}"].items():
            verdict = {True: "better", False: "WORSE", None: "n/a"}[r["fsconf_better"]]
            lines.append(f"  {key:40} {_fmt(r['ratio']):>10}  {verdict}")
    if "targets" in doc:
        lines.append("")
        lines.append("targets (fsconf):")
        for key, t in doc["targets"].items():
            verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
            lines.append(f"  {key:40} {t['target']:>10}  measured {_fmt(t['measured']):>10}  "
                         f"{verdict}" + (f" ({t['note']})" if t.get("note") else ""))
    if doc["limits"]:
        lines.append("")
        lines.append("what limited the figures:")
        lines += [f"  - {n}" for n in doc["limits"]]
    if "cluster" in doc:
        lines.append("")
        lines.append(cluster_summary(doc["cluster"]))
    return "\n".join(lines)
