"""The cluster section of the benchmark (`python -m bench.run --mode cluster`, and after the
single-node run of `make bench` when PostgreSQL is reachable): fsconf on several simulated
FreeSWITCH nodes sharing one PostgreSQL (README "Scaling out").

Each phase gets a throwaway schema, dropped after it:
- set-ups/s with 1, 2, 3 nodes: the simulator at bench speed (1000x), one controller
  process per node, callers landing round robin on the nodes;
- join latency, local against bridged, and the re-home after an owner's death: the
  simulator in real time (speed 1), so SIP hops, the RTP media timeout and the lease run
  on the wall clock as on real switches;
- lease claim / renew: the store's statements from one process per node, racing.

All simulated nodes of a phase run in ONE simulator process: nodes reach each other over
SIP only inside one process (fsconf/sim/__main__.py), so "one simulator per node" is not
to be had. bench/results/README.md explains every field.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import cluster_claims
from bench.run import (
    ACCESS_NUMBER,
    PARTICIPANT_PIN,
    SPEED,
    _follow,
    controller_config,
    cores,
    create_schema,
    drop_schema,
    free_port,
    prepare_database,
    spawn,
    stop,
    wait_port,
)

LEASE_SECONDS = 3.0  # short, so the re-home is quick to measure; the target scales with it
MEDIA_TIMEOUT_MS = 3000  # the default [cluster] media_timeout_ms
# The claim race's leases: long enough that none expires between its phases on a busy
# machine (a takeover follows an explicit release); the statements are the same.
CLAIM_LEASE_SECONDS = 30.0
NODE_NAMES = "abcdefgh"
NAME_SECONDS = 2.0  # simulated seconds a caller speaks their name before pressing '#'
NAME_CAP_SECONDS = 5  # [ivr] name_record_seconds, the product's default

MODES: dict[str, dict[str, Any]] = {
    # A few calls through every phase: for the smoke test, not for numbers.
    "tiny": {
        "node_counts": [1, 2, 3], "rooms": 6, "anchor_rate": 20, "idle_s": 0.5,
        "warmup_calls": 3, "warmup_rate": 10,
        "sweep_rates": [10], "sweep_step_s": 0.6, "call_timeout_s": 10.0,
        "latency_rooms": 3, "latency_callers": 6, "latency_rate": 3,
        "realtime_call_timeout_s": 40.0,
        "rehome_rooms": 1, "rehome_callers_per_room": 2, "rehome_wait_s": 20.0,
        "claim_workers": 3, "claim_rounds": 2, "claim_rooms_per_round": 10,
    },
    "quick": {
        "node_counts": [1, 2, 3], "rooms": 24, "anchor_rate": 20, "idle_s": 2.0,
        "warmup_calls": 20, "warmup_rate": 20,
        "sweep_rates": [10, 20, 30, 45, 60, 80, 100, 125, 150], "sweep_step_s": 2.0,
        "call_timeout_s": 10.0,
        "latency_rooms": 6, "latency_callers": 45, "latency_rate": 3,
        "realtime_call_timeout_s": 40.0,
        "rehome_rooms": 2, "rehome_callers_per_room": 4, "rehome_wait_s": 20.0,
        "claim_workers": 3, "claim_rounds": 3, "claim_rooms_per_round": 50,
    },
    "full": {
        "node_counts": [1, 2, 3], "rooms": 24, "anchor_rate": 20, "idle_s": 5.0,
        "warmup_calls": 100, "warmup_rate": 25,
        "sweep_rates": [10, 20, 30, 40, 50, 60, 80, 100, 125, 150, 175, 200, 225, 250, 300],
        "sweep_step_s": 5.0, "call_timeout_s": 10.0,
        "latency_rooms": 9, "latency_callers": 300, "latency_rate": 4,
        "realtime_call_timeout_s": 40.0,
        "rehome_rooms": 6, "rehome_callers_per_room": 4, "rehome_wait_s": 20.0,
        "claim_workers": 3, "claim_rounds": 10, "claim_rooms_per_round": 100,
    },
}

HOW = {
    "setup_rate": (
        "per node count: one simulator process holding every node (speed 1000x) and one "
        "`fsconf serve` per node on PostgreSQL; `rooms` rooms anchored by a held caller, "
        "room k's on node k mod N (placement puts a room on its first caller's node); "
        "then open-loop steps of rising rate, call i landing on node i mod N (Kamailio's "
        "round robin) into a seeded-random room, joining and hanging up; a step passes "
        "with <= 0.1% failed and set-up p99 <= 1 s (from the scheduled start to add-member "
        "in the owner's conference), as the single-node sweep"),
    "join_latency": (
        "3 nodes, simulator in real time (speed 1): callers round robin into rooms "
        "anchored round robin; from PLAYBACK_STOP of the last prompt before entering "
        "(the head count, on the caller's own node) to add-member for that caller in the "
        "owner's conference; `local` landed on the owner, `remote` were bridged"),
    "rehome": (
        "3 nodes, real time: rooms owned by node a, each with callers bridged in from b "
        "and c; node a dies whole (controller SIGKILLed, its simulated FreeSWITCH killed "
        "as by SIGKILL: no BYE, sockets just close); each bridged caller timed from the "
        "kill to their add-member on the new owner; the bridge ends only by the RTP media "
        "timeout, then the caller's controller waits for the lease to expire"),
    "names": (
        f"every caller speaks a name of {NAME_SECONDS:g} simulated seconds before '#', capped at "
        "the product's default name_record_seconds (5 s of simulated time: at 1000x the "
        "load generator's '#' comes late); names travel to the owner through PostgreSQL"),
    "timers": (
        "the simulator keeps FreeSWITCH's fixed waits at their wall time at any speed "
        "(--connect-timeout, --originate-timeout); at 1000x the SIP hops (20 ms captured) "
        "take 20 us, which is why the join latency is measured in real time"),
    "lease_claims": (
        "the store's claim / renew / release statements, each in its own unit of work "
        "(timed begin to commit), from one process per node racing over the same rooms: "
        "see bench/cluster_claims.py"),
}


def unreachable(url: str) -> str | None:
    """Why PostgreSQL at `url` cannot be used, in one line; None when it can."""
    if not url:
        return "no PostgreSQL URL given (--cluster-database)"
    if not url.startswith("postgresql"):
        return f"not a PostgreSQL URL: clustering is refused on {url.split(':')[0]}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"]
        return f"PostgreSQL not reachable: {reason[0]}"
    finally:
        engine.dispose()
    return None


@contextlib.contextmanager
def schema(base_url: str, env: dict[str, str], rooms: int,
           used: list[str]) -> Iterator[tuple[str, list[str]]]:
    """A throwaway schema, migrated and provisioned with `rooms` conferences; its name is
    added to `used` (the results list them, all dropped)."""
    name = f"fsconf_bench_{secrets.token_hex(4)}"
    used.append(name)
    url = create_schema(base_url, name)
    try:
        confs = prepare_database(url, dict(env, FSCONF_DATABASE_URL=url),
                                 {"churn": rooms, "held": 0})
        yield url, confs["churn_conferences"]
    finally:
        drop_schema(base_url, name)


def run_phase(phase: str, count: int, speed: float, url: str, rooms: list[str], work: Path,
              sounds: Path, env: dict[str, str], m: dict[str, Any]) -> dict[str, Any]:
    """Start `count` simulated nodes (one process) and a controller per node, run the load
    generator's `phase` on them, stop everything."""
    pins = cores()
    tag = f"{phase}-{count}"
    names = NODE_NAMES[:count]
    esl = {n: free_port() for n in names}
    ctl = {n: free_port() for n in names}
    ips = {n: f"127.0.0.{i + 1}" for i, n in enumerate(names)}
    sim_cmd = [
        sys.executable, "-m", "fsconf.sim", "--host", "127.0.0.1", "--speed", str(speed),
        "--sounds", str(sounds), "--bench-trace",
        # FreeSWITCH's fixed waits stay at their wall time (25 s for the controller's
        # 'connect', 60 s for a bridge's answer), not 25 s / speed.
        "--connect-timeout", str(25 * speed), "--originate-timeout", str(60 * speed),
        "--set", "fsconf_controller_backup=127.0.0.1:9",
        # Callers arrive in PCMU, as SIP callers from a trunk (the internal profile's codecs).
        "--set", "loopback_initial_codec=PCMU@8000h@20i",
    ]
    for n in names:
        sim_cmd += ["--node", f"{esl[n]},local_ip_v4={ips[n]},fsconf_internal_sip_ip={ips[n]},"
                              f"fsconf_controller=127.0.0.1:{ctl[n]}"]
    sim = spawn(sim_cmd, pins["simulator"], work / f"{tag}-sim.log", env)
    controllers: list[subprocess.Popen[bytes]] = []
    # Names as long as a caller's (NAME_SECONDS) and never longer than the product's
    # default cap: at 1000x the load generator's '#' lands seconds of simulated time late,
    # and every name travels through PostgreSQL to the owner.
    config = controller_config(work, sounds, speed, name_seconds=NAME_CAP_SECONDS)
    fsconf = str(Path(sys.executable).parent / "fsconf")
    secret = secrets.token_hex(16)  # this run only; never printed
    try:
        for n in names:
            wait_port(esl[n], sim)
        for n in names:
            node_env = dict(
                env, FSCONF_DATABASE_URL=url, FSCONF_FREESWITCH_PORT=str(esl[n]),
                FSCONF_CLUSTER_NODE=n, FSCONF_CLUSTER_INTERNAL_SIP=f"{ips[n]}:5090",
                FSCONF_CLUSTER_LEASE_SECONDS=str(LEASE_SECONDS),
                FSCONF_CLUSTER_MEDIA_TIMEOUT_MS=str(MEDIA_TIMEOUT_MS),
                FSCONF_CLUSTER_SECRET=secret,
                # Nodes share no disk: names travel through the database.
                FSCONF_FREESWITCH_RECORDINGS_DIR=str(work / f"recordings-{tag}-{n}"),
            )
            proc = spawn([fsconf, "serve", "--config", str(config), "--port", str(ctl[n])],
                         pins["controller"], work / f"{tag}-controller-{n}.log", node_env)
            controllers.append(proc)
            wait_port(ctl[n], proc)
        timeout = m["call_timeout_s"] if speed > 1 else m["realtime_call_timeout_s"]
        half = len(rooms) // 2
        plan = {
            "phase": phase, "sim_pid": sim.pid, "access_number": ACCESS_NUMBER,
            "participant_pin": PARTICIPANT_PIN, "lease_seconds": LEASE_SECONDS,
            "speed": speed, "name_s": NAME_SECONDS,
            "nodes": [{"name": n, "host": "127.0.0.1", "esl_port": esl[n],
                       "controller_pid": p.pid} for n, p in zip(names, controllers, strict=True)],
            "mode": {**m, "call_timeout_s": timeout},
            "rooms": rooms[: m["rooms"]],
            "latency_rooms": rooms[: m["latency_rooms"]],
            "rehome_rooms": rooms[half: half + m["rehome_rooms"]],
        }
        plan_path, out_path = work / f"{tag}-plan.json", work / f"{tag}-result.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        print(f"== cluster {phase}: {count} node(s) at speed {speed:g}, simulator pid {sim.pid}, "
              f"controllers {[p.pid for p in controllers]}", file=sys.stderr, flush=True)
        loadgen = spawn([sys.executable, "-m", "bench.cluster_load", str(plan_path),
                         str(out_path)], pins["loadgen"], work / f"{tag}-loadgen.log", env)
        tail = _follow(work / f"{tag}-loadgen.log", loadgen)
        if loadgen.returncode != 0 or not out_path.exists():
            raise RuntimeError(f"cluster load generator ({tag}) failed:\n{tail}")
        result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
        result["processes"] = {
            "cores": pins, "speed": speed, "simulator": "one process, every node",
            "controllers": f"{count} processes, one per node, all on the controller core",
        }
        return result
    finally:
        for proc in controllers:
            stop(proc, signal.SIGTERM)
        stop(sim, signal.SIGINT)


def conference_ids(url: str) -> list[int]:
    from sqlalchemy import select

    from fsconf.store.models import Conference
    from fsconf.store.session import Database

    db = Database(url)
    try:
        with db.unit_of_work() as s:
            return list(s.scalars(select(Conference.id).order_by(Conference.id)))
    finally:
        db.dispose()


def run(size: str, pg_url: str, work: Path, sounds: Path, env: dict[str, str]) -> dict[str, Any]:
    """The cluster section: its measurements and how each was made, or why it was skipped."""
    m = MODES[size]
    problem = unreachable(pg_url)
    if problem:
        return {"skipped": problem, "size": size}
    out: dict[str, Any] = {
        "size": size, "params": m, "how": HOW, "lease_seconds": LEASE_SECONDS,
        "media_timeout_ms": MEDIA_TIMEOUT_MS, "cores": os.cpu_count(),
        "setup_rate": {}, "schemas": [],
    }
    rooms = max(m["rooms"], m["latency_rooms"], 2 * m["rehome_rooms"])
    for count in m["node_counts"]:
        with schema(pg_url, env, rooms, out["schemas"]) as (url, confs):
            out["setup_rate"][str(count)] = run_phase("sweep", count, SPEED, url, confs, work,
                                                      sounds, env, m)
    with schema(pg_url, env, rooms, out["schemas"]) as (url, confs):
        out["realtime"] = run_phase("realtime", 3, 1.0, url, confs, work, sounds, env, m)
    claim_rooms = m["claim_rounds"] * m["claim_rooms_per_round"] + m["claim_workers"]
    with schema(pg_url, env, claim_rooms, out["schemas"]) as (url, _):
        print("== cluster: lease claims", file=sys.stderr, flush=True)
        out["lease_claims"] = cluster_claims.measure(
            url, conference_ids(url), m["claim_workers"], m["claim_rounds"],
            CLAIM_LEASE_SECONDS)
    return out
