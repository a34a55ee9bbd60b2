"""The cluster section's figures, targets and summary lines (bench/cluster_run.py's raw)."""

from __future__ import annotations

from typing import Any

# issue 21: a bridged caller's extra join latency, the lease claim, the re-home after an
# owner's death (its target is the lease plus 3 s: see targets()).
TARGETS = {
    "remote_extra_join_p99_ms": ("<", 150),
    "lease_claim_p99_ms": ("<", 20),
}
REHOME_MARGIN_S = 3.0
SATURATED = 0.85


def _best_step(sweep: dict[str, Any]) -> dict[str, Any] | None:
    passing = [s for s in sweep["steps"] if s["passed"]]
    return passing[-1] if passing else None


def _ms_per_call(step: dict[str, Any], name: str) -> float:
    return round(step["cpu"][name]["cpu_s"] * 1000 / max(1, step["joined"]), 3)


def setup_figures(raw: dict[str, Any]) -> dict[str, Any]:
    """Set-ups/s per node count, and at that rate what each process spent per call."""
    out: dict[str, Any] = {}
    for count, sweep in raw.get("setup_rate", {}).items():
        best = _best_step(sweep)
        row: dict[str, Any] = {"setups_per_s": sweep["max_passing_rate_per_s"]}
        if best is not None:
            controllers = [k for k in best["cpu"] if k.startswith("controller_")]
            idle = sweep.get("idle") or {}
            idle_util = sum((idle.get(k) or {}).get("utilisation") or 0 for k in controllers)
            spent = sum(best["cpu"][k]["cpu_s"] for k in controllers)
            net = spent - idle_util * best.get("elapsed_s", 0)
            row.update({
                "controllers_idle_utilisation": round(idle_util, 3),
                "controller_cpu_ms_per_call_net_of_idle": round(
                    net * 1000 / max(1, best["joined"]), 3),
                "at_rate": best["offered_rate"],
                "remote_share": best["remote_share"],
                "setup_p99_ms": best["setup"]["p99_ms"],
                "setup_p99_ms_local": best["setup_local"]["p99_ms"],
                "setup_p99_ms_remote": best["setup_remote"]["p99_ms"],
                "controller_cpu_ms_per_call": best["per_node"]["all"][
                    "controller_cpu_ms_per_call"],
                "controller_cpu_ms_per_answered_call_by_node": {
                    k[len("controller_"):]: best["per_node"][k[len("controller_"):]][
                        "controller_cpu_ms_per_answered_call"]
                    for k in controllers
                },
                "simulator_cpu_ms_per_call": _ms_per_call(best, "simulator"),
                "postgres_cpu_ms_per_call": _ms_per_call(best, "postgres"),
                "controllers_core_utilisation": round(
                    sum(best["cpu"][k]["utilisation"] or 0 for k in controllers), 3),
                "simulator_utilisation": best["cpu"]["simulator"]["utilisation"],
                "postgres_utilisation": best["cpu"]["postgres"]["utilisation"],
            })
        out[count] = row
    return out


def headline(raw: dict[str, Any]) -> dict[str, Any]:
    h: dict[str, Any] = {"by_nodes": setup_figures(raw)}
    h["setups_per_s"] = {n: row["setups_per_s"] for n, row in h["by_nodes"].items()}
    join = (raw.get("realtime") or {}).get("join_latency") or {}
    local, remote = join.get("local") or {}, join.get("remote") or {}
    for side, figures in (("local", local), ("remote", remote)):
        h[f"join_{side}_p50_ms"] = figures.get("p50_ms")
        h[f"join_{side}_p99_ms"] = figures.get("p99_ms")
        h[f"join_{side}_n"] = figures.get("n")
    h["remote_extra_join_p99_ms"] = _diff(remote.get("p99_ms"), local.get("p99_ms"))
    h["remote_extra_join_p50_ms"] = _diff(remote.get("p50_ms"), local.get("p50_ms"))
    claims = raw.get("lease_claims") or {}
    h["lease_claim_p50_ms"] = (claims.get("claim") or {}).get("p50_ms")
    h["lease_claim_p99_ms"] = (claims.get("claim") or {}).get("p99_ms")
    h["lease_claims"] = (claims.get("claim") or {}).get("n")
    renew = (claims.get("by_kind") or {}).get("renew") or {}
    h["lease_renew_p50_ms"], h["lease_renew_p99_ms"] = renew.get("p50_ms"), renew.get("p99_ms")
    h["lease_races_with_two_winners"] = claims.get("races_with_two_winners")
    rehome = (raw.get("realtime") or {}).get("rehome") or {}
    rows = rehome.get("callers") or []
    h["lease_seconds"] = raw.get("lease_seconds")
    h["rehome_callers"] = len(rows)
    h["rehome_rejoined"] = sum(1 for r in rows if r["rejoined"])
    h["rehome_max_s"] = rehome.get("max_s")
    times = sorted(r["rehome_s"] for r in rows if r["rehome_s"] is not None)
    h["rehome_median_s"] = times[len(times) // 2] if times else None
    timeouts = sorted(r["media_timeout_s"] for r in rows if r["media_timeout_s"] is not None)
    h["rehome_media_timeout_median_s"] = timeouts[len(timeouts) // 2] if timeouts else None
    return h


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def targets(h: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (op, goal) in TARGETS.items():
        value = h.get(key)
        met = None if value is None else (value < goal if op == "<" else value <= goal)
        out[key] = {"target": f"{op} {goal}", "measured": value, "met": met, "note": ""}
    lease = h.get("lease_seconds")
    if lease is not None:
        goal = lease + REHOME_MARGIN_S
        value = h.get("rehome_max_s")
        lost = h["rehome_callers"] - h["rehome_rejoined"]
        met = None if value is None and not lost else (not lost and value <= goal)
        note = f"lease_seconds {lease:g} + {REHOME_MARGIN_S:g} s"
        if lost:
            note += f"; {lost} of {h['rehome_callers']} callers never came back"
        out["rehome_max_s"] = {"target": f"<= {goal:g}", "measured": value, "met": met,
                               "note": note}
    return out


def limits(raw: dict[str, Any]) -> list[str]:
    """What stopped each node count's sweep, and the machine's share-out."""
    notes = []
    cores = raw.get("cores")
    for count, sweep in raw.get("setup_rate", {}).items():
        n = int(count)
        share = (f"{n} controller(s) on one core; one simulator process with {n} node(s) and "
                 f"the load generator on the other; PostgreSQL unpinned ({cores} cores)")
        failed = [s for s in sweep["steps"] if not s["passed"]]
        if not failed:
            notes.append(f"{n} node(s): passed every step up to "
                         f"{sweep['max_passing_rate_per_s']}/s (the mode's cap); {share}")
            continue
        s = failed[0]
        cpu = s["cpu"]
        ctl_keys = [k for k in cpu if k.startswith("controller_")]
        ctl = sum(cpu[k]["utilisation"] or 0 for k in ctl_keys)
        sim = (cpu["simulator"]["utilisation"] or 0) + (cpu["loadgen"]["utilisation"] or 0)
        pg = cpu["postgres"]["utilisation"] or 0
        # Utilisation over the step includes its tail (calls finishing after the last
        # arrival); CPU per call x the offered rate is what the arrivals asked for.
        asked = {"the controllers' core": _demand(s, ctl_keys),
                 "the simulator's core": _demand(s, ["simulator", "loadgen"])}
        worst = max(asked, key=lambda k: asked[k])
        verdict = (f"{worst} ran out first" if asked[worst] >= SATURATED
                   else "no core was full even by that measure")
        notes.append(
            f"{n} node(s): at {s['offered_rate']}/s {s['failed']} of {s['calls']} failed, "
            f"set-up p99 {s['setup']['p99_ms']} ms; measured over the step: controllers "
            f"{ctl:.0%} of their core, simulator + load generator {sim:.0%} of theirs, "
            f"PostgreSQL {pg:.0%}; CPU per call x rate asks for "
            + ", ".join(f"{k} {v:.0%}" for k, v in asked.items())
            + f": {verdict}; {share}")
    return notes


def _demand(step: dict[str, Any], keys: list[str]) -> float:
    """Cores the step's arrivals asked of these processes: CPU per call x offered rate."""
    per_call = sum(step["cpu"][k]["cpu_s"] for k in keys) / max(1, step["joined"])
    return float(per_call * step["offered_rate"])


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def summary(section: dict[str, Any]) -> str:
    if section.get("skipped"):
        return f"cluster: skipped: {section['skipped']}"
    h, lines = section["headline"], []
    lines.append(f"cluster ({section['size']}, lease {_fmt(section['lease_seconds'])} s, "
                 f"media timeout {section['media_timeout_ms']} ms, PostgreSQL):")
    for n, row in h["by_nodes"].items():
        per_node = row.get("controller_cpu_ms_per_answered_call_by_node") or {}
        lines.append(
            f"  {n} node(s): {_fmt(row['setups_per_s'])} set-ups/s; at that rate "
            f"{_fmt(row.get('remote_share'))} remote, controllers "
            f"{_fmt(row.get('controller_cpu_ms_per_call'))} ms CPU/call (per answered call: "
            + ", ".join(f"{k} {_fmt(v)}" for k, v in per_node.items())
            + f"), simulator {_fmt(row.get('simulator_cpu_ms_per_call'))}, PostgreSQL "
            f"{_fmt(row.get('postgres_cpu_ms_per_call'))} ms/call")
    lines.append(
        f"  join from the last prompt to the owner's add-member, p50 / p99: local "
        f"{_fmt(h['join_local_p50_ms'])} / {_fmt(h['join_local_p99_ms'])} ms "
        f"(n={_fmt(h['join_local_n'])}), remote {_fmt(h['join_remote_p50_ms'])} / "
        f"{_fmt(h['join_remote_p99_ms'])} ms (n={_fmt(h['join_remote_n'])})")
    lines.append(
        f"  lease claim p50 / p99 {_fmt(h['lease_claim_p50_ms'])} / "
        f"{_fmt(h['lease_claim_p99_ms'])} ms over {_fmt(h['lease_claims'])} claims; renew "
        f"{_fmt(h['lease_renew_p50_ms'])} / {_fmt(h['lease_renew_p99_ms'])} ms")
    lines.append(
        f"  re-home: {h['rehome_rejoined']}/{h['rehome_callers']} callers back, median "
        f"{_fmt(h['rehome_median_s'])} s, max {_fmt(h['rehome_max_s'])} s (media timeout "
        f"after {_fmt(h['rehome_media_timeout_median_s'])} s)")
    lines.append("  targets:")
    for key, t in section["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        lines.append(f"    {key:30} {t['target']:>8}  measured {_fmt(t['measured']):>8}  "
                     f"{verdict}" + (f" ({t['note']})" if t["note"] else ""))
    lines.append("  what limited the set-up rates:")
    lines += [f"    - {note}" for note in section["limits"]]
    return "\n".join(lines)


def finish(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw section with its headline, targets and limits added."""
    if raw.get("skipped"):
        return raw
    h = headline(raw)
    return {**raw, "headline": h, "targets": targets(h), "limits": limits(raw)}
