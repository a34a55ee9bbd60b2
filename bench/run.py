"""`make bench` / `make bench-quick`: capacity and latency of the controller.

The simulator, the controller under test and the load generator run as separate
processes, pinned to different cores where the machine has them. The same schedule is
then run against two plain peers, the same flow on greenswitch
(bench/baseline_greenswitch.py) and on genesis (bench/baseline_genesis.py), and a
loopback TCP probe (bench/echo.py) gives the floor. Then, where PostgreSQL is reachable,
the cluster section (bench/cluster_run.py: several simulated nodes). Results:
bench/results/<date>.json and a short summary on stdout. bench/results/README.md explains
every field.

    python -m bench.run --mode tiny|quick|full|rooms [--targets fsconf,greenswitch,genesis]
                        [--cluster auto|skip|only] [--cluster-database URL] [--out DIR]
    python -m bench.run --mode cluster --cluster-database URL   (the cluster section alone)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import make_sounds

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SPEED = 1000.0  # simulated seconds per wall-clock second: a 1 s prompt takes 1 ms
ACCESS_NUMBER = "0201234567"
MODERATOR_PIN, PARTICIPANT_PIN = "135790", "246810"
ROOM_SIZE = 10  # participants per held conference (the default maximum)

MODES: dict[str, dict[str, Any]] = {
    # A few calls through every phase: for the smoke test, not for numbers.
    "tiny": {
        "warmup_calls": 2, "warmup_rate": 10,
        "churn_calls": 4, "churn_chunks": 2, "churn_rate": 10,
        "sweep_rates": [10], "sweep_step_s": 0.5, "min_steady_rate": 5,
        "calls_before_churn": 10,
        "held_levels": [5], "held_join_rate": 20,
        "keypad_min_rate": 10, "keypad_rate_per_caller": 0.1, "keypad_duration_s": 0.5,
        "flood_events": 300, "call_timeout_s": 10.0,
        "echo_round_trips": 200, "echo_bulk_mb": 2,
        "cpu_passes": 1, "cpu_pass_calls": 4, "pass_keypad_levels": [5],
        "large_room_sizes": [3, 6], "large_room_joins": 2, "large_room_fill_rate": 20,
        # A few joins more than two: CPU is read in 10 ms ticks, and two cheap joins
        # could read as none (the growth ratio then has nothing to divide by).
        "large_room_window_s": 0.5,
    },
    "quick": {
        "warmup_calls": 10, "warmup_rate": 20,
        "churn_calls": 60, "churn_chunks": 3, "churn_rate": 100,
        "sweep_rates": [10, 20, 30, 45, 60, 80, 100, 125, 150], "sweep_step_s": 1.0,
        "min_steady_rate": 10,
        "held_levels": [100], "held_join_rate": 100,
        "keypad_min_rate": 100, "keypad_rate_per_caller": 0.1, "keypad_duration_s": 1.0,
        "flood_events": 10000, "call_timeout_s": 10.0,
        "echo_round_trips": 2000, "echo_bulk_mb": 50,
        "cpu_passes": 1, "cpu_pass_calls": 100,
        "large_room_sizes": [10, 50, 100], "large_room_joins": 10, "large_room_fill_rate": 25,
        "large_room_window_s": 1.0,
    },
    "full": {
        "warmup_calls": 100, "warmup_rate": 25,
        "churn_calls": 10000, "churn_chunks": 10, "churn_rate": 100,
        # Steps of a sixth or less above 100/s: where both sides stop near the same rate
        # (the simulator's core saturates first on a slower machine) a coarse step hides
        # which one held out longer.
        "sweep_rates": [10, 20, 30, 40, 50, 60, 80, 100, 125, 150, 175, 200, 225, 250, 300,
                        350, 400],
        "sweep_step_s": 10.0, "min_steady_rate": 10,
        # The leak check's churn starts once this many calls have come and gone (the
        # sweep's calls count; the rest are made first, unmeasured): see loadgen.
        "calls_before_churn": 12000,
        # Up to 18,000: each held call is one socket in the controller and one in the
        # simulator, and this machine's hard limit is 20,000 open files per process.
        "held_levels": [100, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
                        12000, 14000, 16000, 18000],
        "held_join_rate": 100,
        "keypad_min_rate": 50, "keypad_rate_per_caller": 0.1, "keypad_duration_s": 20.0,
        "flood_events": 100000, "call_timeout_s": 10.0,
        "echo_round_trips": 20000, "echo_bulk_mb": 500,
        # CPU per call: after both scenarios, short churn passes in ABBA order (fsconf,
        # peer, peer, fsconf, fsconf, peer), so a VM whose speed drifts over minutes weighs
        # on both alike. Three each: a median of two is their mean, and one pass's sub-ms
        # tail moved by a third between passes here.
        "cpu_passes": 3, "cpu_pass_calls": 3000,
        # ... and after its churn each pass holds 100, then 1,000 callers and probes the
        # keypad there: sub-millisecond latencies drift with the VM as CPU time does.
        "pass_keypad_levels": [100, 1000],
        # What a join costs as the room grows (every join is announced to each member):
        # one room filled to each size, then callers join and leave it one at a time. The
        # fill is slow: each of its joins is announced to everyone already in the room.
        "large_room_sizes": [10, 100, 500], "large_room_joins": 50, "large_room_fill_rate": 25,
        "large_room_window_s": 5.0,
    },
}

# The large-room phase alone (a join's cost in rooms of 10, 100, 500), as in full.
MODES["rooms"] = {
    key: MODES["full"][key]
    for key in ("large_room_sizes", "large_room_joins", "large_room_fill_rate",
                "large_room_window_s", "call_timeout_s", "held_join_rate")
} | {"rooms_only": True, "warmup_calls": 50, "warmup_rate": 25, "held_levels": [1]}

TARGETS = ("fsconf", "greenswitch", "genesis")
# The peers: the same flow written plainly on another ESL library, each its own module.
PEERS = {"greenswitch": "bench.baseline_greenswitch", "genesis": "bench.baseline_genesis"}


# -- set-up ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


def cores() -> dict[str, int | None]:
    """controller alone on one core; simulator and load generator on another."""
    try:
        avail = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return {"controller": None, "simulator": None, "loadgen": None, "echo": None}
    if len(avail) < 2:
        return {"controller": None, "simulator": None, "loadgen": None, "echo": None}
    return {
        "controller": avail[0],
        "simulator": avail[1],
        "loadgen": avail[2] if len(avail) > 2 else avail[1],
        "echo": avail[1],
    }


def cpu_model() -> str:
    """The processor's name: figures from two machines only compare when this matches."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def spawn(
    cmd: list[str], core: int | None, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    def pin() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})
        # One socket per held call: allow as many open files as the machine lets us.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, preexec_fn=pin, cwd=ROOT
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def provision(db_url: str, churn: int, held: int, large: int = 0) -> dict[str, Any]:
    """One customer, one access number, conferences for short calls and for held rooms,
    and one room of `large` participants for the large-room phase."""
    from fsconf.store.models import AccessNumber, Conference, Customer, Subscription
    from fsconf.store.session import Database

    db = Database(db_url)
    numbers = [str(100000 + i) for i in range(churn + held)]
    with db.unit_of_work() as s:
        customer = Customer(name="Benchmark customer")
        s.add(customer)
        s.flush()
        s.add(Subscription(customer_id=customer.id, activated_on=dt.date.today()))
        s.add(AccessNumber(number=ACCESS_NUMBER, customer_id=customer.id))
        s.add_all(
            Conference(
                customer_id=customer.id, number=n, moderator_pin=MODERATOR_PIN,
                participant_pin=PARTICIPANT_PIN, max_participants=ROOM_SIZE,
            )
            for n in numbers
        )
        large_number = ""
        if large:
            large_number = str(100000 + churn + held)
            s.add(Conference(
                customer_id=customer.id, number=large_number, moderator_pin=MODERATOR_PIN,
                participant_pin=PARTICIPANT_PIN, max_participants=large,
            ))
    db.dispose()
    return {"churn_conferences": numbers[:churn], "held_conferences": numbers[churn:],
            "large_conference": large_number}


def prepare_database(url: str, env: dict[str, str], counts: dict[str, int]) -> dict[str, Any]:
    """Migrate with the CLI (as an operator would) and provision the benchmark's rows."""
    bindir = Path(sys.executable).parent
    subprocess.run(
        [str(bindir / "fsconf"), "db", "upgrade"], env=dict(env, FSCONF_DATABASE_URL=url),
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )
    return provision(url, churn=counts["churn"], held=counts["held"],
                     large=counts.get("large", 0))


def create_schema(base_url: str, schema: str) -> str:
    """A throwaway PostgreSQL schema; the URL selects it through search_path."""
    from sqlalchemy import create_engine, text

    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}"


def drop_schema(base_url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def controller_config(
    work: Path, sounds: Path, speed: float = SPEED, name_seconds: int | None = None
) -> Path:
    """Controller settings for a simulator running `speed` times faster than real time.

    Digit and recording timeouts are simulated milliseconds/seconds, so they are made
    long enough that a loaded machine never times a caller out mid-entry (10 s wall).
    `name_seconds` caps a recorded name (default: as long as the other timeouts).
    """
    name = f"controller-x{speed:g}-{name_seconds}.toml" if name_seconds else "controller.toml"
    path = work / name
    path.write_text(
        f"""
[controller]
host = "127.0.0.1"
max_calls = 100000
command_timeout = 30.0
graceful_stop_timeout = 5.0

[ivr]
sounds_dir = "{sounds}"
first_digit_timeout_ms = {int(10 * speed * 1000)}
inter_digit_timeout_ms = {int(10 * speed * 1000)}
name_record_seconds = {name_seconds or int(100 * speed)}
name_silence_seconds = {int(100 * speed)}

[freeswitch]
recordings_dir = "{work / 'recordings'}"
""",
        encoding="utf-8",
    )
    return path


# -- one target ------------------------------------------------------------------------------


def run_target(
    target: str, mode: str, work: Path, env: dict[str, str], config: Path, sounds: Path,
    confs: dict[str, Any], profile: bool = False, mode_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    pins = cores()
    ctl_port, sim_port = free_port(), free_port()
    bindir = Path(sys.executable).parent
    fsconf_bin = str(bindir / "fsconf") if (bindir / "fsconf").exists() else None
    if target == "fsconf":
        cmd = ([fsconf_bin] if fsconf_bin else [sys.executable, "-m", "fsconf.cli.entry"])
        if profile:
            cmd = [sys.executable, "-m", "bench.profiled", str(work / "fsconf-controller.prof")]
        cmd += ["serve", "--config", str(config), "--port", str(ctl_port)]
    else:
        cmd = [sys.executable, "-m", PEERS[target], "--config", str(config),
               "--port", str(ctl_port)]
    # The simulator first: the controller opens the switch's inbound socket when it starts.
    # `python -m fsconf.sim` is what `fsconf sim` runs (it monkey-patches first).
    sim_entry = ["-m", "fsconf.sim"]
    if profile:
        sim_entry = ["-m", "bench.profiled", str(work / f"{target}-sim.prof"), "sim"]
    sim_cmd = [
        sys.executable, *sim_entry, "--port", str(sim_port), "--host", "127.0.0.1",
        "--speed", str(SPEED), "--sounds", str(sounds), "--bench-trace",
        # FreeSWITCH waits 25 s (wall) for the controller's 'connect'; keep that wall
        # time rather than 25 s / SPEED.
        "--connect-timeout", str(25 * SPEED),
        "--set", f"fsconf_controller=127.0.0.1:{ctl_port}",
        "--set", "fsconf_controller_backup=127.0.0.1:9",
    ]
    sim = spawn(sim_cmd, pins["simulator"], work / f"{target}-sim.log", env)
    controller = None
    try:
        wait_port(sim_port, sim)
        ctl_env = dict(env, FSCONF_FREESWITCH_PORT=str(sim_port))
        controller = spawn(cmd, pins["controller"], work / f"{target}-controller.log", ctl_env)
        wait_port(ctl_port, controller)
        plan = {
            "sim_host": "127.0.0.1", "sim_port": sim_port, "access_number": ACCESS_NUMBER,
            "controller_pid": controller.pid, "sim_pid": sim.pid,
            "loadgen_core": pins["loadgen"], "participant_pin": PARTICIPANT_PIN,
            "mode": mode_params or MODES[mode], "room_size": ROOM_SIZE, **confs,
        }
        plan_path = work / f"{target}-plan.json"
        out_path = work / f"{target}-result.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        print(f"== {target}: controller pid {controller.pid} on core {pins['controller']}, "
              f"simulator pid {sim.pid} on core {pins['simulator']}", file=sys.stderr, flush=True)
        loadgen = spawn([sys.executable, "-m", "bench.loadgen", str(plan_path), str(out_path)],
                        pins["loadgen"], work / f"{target}-loadgen.log", env)
        tail = _follow(work / f"{target}-loadgen.log", loadgen)
        if loadgen.returncode != 0 or not out_path.exists():
            raise RuntimeError(f"load generator for {target} failed:\n{tail}")
        result = json.loads(out_path.read_text(encoding="utf-8"))
        result["processes"] = {"cores": pins, "controller_cmd": cmd[1:], "sim_cmd": sim_cmd[1:]}
        return result
    finally:
        if controller is not None:
            stop(controller, signal.SIGTERM)
        stop(sim, signal.SIGINT)


def run_cpu_passes(
    results: dict[str, Any], targets: list[str], mode: str, work: Path, env: dict[str, str],
    fsconf_env: dict[str, str], config: Path, sounds: Path, confs: dict[str, Any],
) -> None:
    """Controller CPU per call from short churn passes, fsconf and each peer taking turns.

    The scenarios run one target after the other, minutes apart; on a VM whose speed
    drifts (seen here: the peer's controller, making the same 3,000 calls, took 5.29 and
    then 6.16 ms per call in two passes two minutes apart) that alone can decide a
    ratio. Passes at one rate common to fsconf and that peer, in ABBA order, make drift
    weigh on both alike; the headline takes the median of each target's passes. Each
    peer is paired with fsconf on its own: CPU per call depends on the rate (fewer calls
    at once share fewer wake-ups), and the genesis peer's rate is a third of the others'.
    The scenario's own churn figure stays in `raw`.
    """
    m = MODES[mode]
    passes = int(m.get("cpu_passes", 0))
    if not passes or not targets:
        return
    peers = [t for t in targets if t != "fsconf"]
    pairs = [["fsconf", p] for p in peers] if "fsconf" in targets else [[p] for p in peers]
    if not pairs:
        pairs = [["fsconf"]]
    for pair in pairs:
        rate = min(float(results[t]["steady_rate_per_s"]) for t in pair)
        params = {**m, "cpu_only": True, "cpu_pass_rate": rate}
        for i in range(passes):
            # ABBA: fsconf, peer, peer, fsconf, ... A VM that speeds up or slows down
            # steadily over the passes then weighs on both alike; in plain turns the
            # target that always goes first carries the drift.
            for target in (pair if i % 2 == 0 else pair[::-1]):
                print(f"== CPU pass {i + 1}/{passes} ({' vs '.join(pair)}): {target} at "
                      f"{rate:g}/s", file=sys.stderr, flush=True)
                out = run_target(
                    target, mode, work, fsconf_env if target == "fsconf" else env, config,
                    sounds, confs, mode_params=params,
                )
                out["cpu_pass"]["paired_with"] = [t for t in pair if t != target]
                results[target].setdefault("cpu_passes", []).append(out["cpu_pass"])


def machine_facts(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
        "platform": platform.platform(), "speed": SPEED,
        "database": "postgresql" if args.database else "sqlite",
    }


def _follow(log: Path, proc: subprocess.Popen[bytes]) -> str:
    """Echo the load generator's progress lines while it runs."""
    pos = 0
    lines: list[str] = []
    while True:
        done = proc.poll() is not None
        try:
            with open(log, encoding="utf-8", errors="replace") as fh:
                fh.seek(pos)
                chunk = fh.read()
                pos = fh.tell()
        except FileNotFoundError:
            chunk = ""
        for line in chunk.splitlines():
            lines.append(line)
            print(line, file=sys.stderr, flush=True)
        if done:
            return "\n".join(lines[-30:])
        time.sleep(0.2)


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=[*sorted(MODES), "cluster"], default="quick",
                        help="cluster: the full-size cluster section alone")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--database", default="",
        help="fsconf's database: a postgresql+psycopg:// URL to bench on PostgreSQL (a "
        "throwaway schema is made and dropped); default a SQLite file. The peers "
        "always read SQLite.",
    )
    parser.add_argument(
        "--profile", action="store_true",
        help="run the fsconf controller and the simulators under cProfile (slower; implies --keep)",
    )
    parser.add_argument(
        "--cluster", choices=("auto", "skip", "only"), default="auto",
        help="the multi-node section: after the single-node run when PostgreSQL is reachable "
        "(auto; the JSON says why when it is not), never, or alone",
    )
    parser.add_argument(
        "--cluster-database", default="",
        help="PostgreSQL for the cluster section (postgresql+psycopg://...; a throwaway "
        "schema per phase is made and dropped)",
    )
    args = parser.parse_args(argv)
    if args.mode == "cluster":
        args.mode, args.cluster = "full", "only"
        mode_name = "cluster"
    else:
        mode_name = args.mode
    targets = [t for t in args.targets.split(",") if t]
    for t in targets:
        if t not in TARGETS:
            parser.error(f"unknown target {t!r}")

    from bench import cluster_report, cluster_run, echo, report

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="fsconf-bench-"))
    schema = ""
    try:
        sounds = make_sounds(work / "sounds")
        (work / "recordings").mkdir()
        sqlite_url = f"sqlite:///{work / 'bench.sqlite3'}"
        env = dict(os.environ, FSCONF_DATABASE_URL=sqlite_url, PYTHONUNBUFFERED="1")
        env.pop("FSCONF_CONFIG", None)
        m = MODES[args.mode]
        machine = machine_facts(args)
        if args.cluster == "only":
            section = cluster_report.finish(
                cluster_run.run(args.mode, args.cluster_database, work, sounds, env))
            if section.get("skipped"):
                print(f"bench: cluster section skipped: {section['skipped']}", file=sys.stderr)
                return 2
            doc = report.build_cluster_only(mode_name, machine, section,
                                            time.monotonic() - started)
            path = report.write(doc, args.out)
            print(cluster_report.summary(section))
            print(f"results: {path}")
            return 0
        held_rooms = -(-max(m["held_levels"]) // ROOM_SIZE)
        counts = {"churn": max(50, held_rooms // 2), "held": held_rooms,
                  "large": max(m.get("large_room_sizes") or [0])}
        confs = prepare_database(sqlite_url, env, counts)
        fsconf_env = env
        if args.database:
            schema = f"fsconf_bench_{secrets.token_hex(4)}"
            pg_url = create_schema(args.database, schema)
            fsconf_env = dict(env, FSCONF_DATABASE_URL=pg_url)
            prepare_database(pg_url, fsconf_env, counts)
        config = controller_config(work, sounds)

        results: dict[str, Any] = {}
        for target in targets:
            results[target] = run_target(
                target, args.mode, work, fsconf_env if target == "fsconf" else env, config,
                sounds, confs, profile=args.profile,
            )
        if m.get("rooms_only"):
            doc = report.build_rooms(results=results, params=m, machine=machine,
                                     wall_s=time.monotonic() - started)
            path = report.write(doc, args.out)
            print(report.rooms_summary(doc))
            print(f"results: {path}")
            return 0
        run_cpu_passes(results, targets, args.mode, work, env, fsconf_env, config, sounds, confs)
        print("== loopback TCP floor", file=sys.stderr, flush=True)
        floor = echo.measure(cores(), m["echo_round_trips"], m["echo_bulk_mb"])

        if args.cluster == "auto":
            section = cluster_report.finish(
                cluster_run.run(args.mode, args.cluster_database, work, sounds, env))
        else:
            section = {"skipped": "not asked for (--cluster skip)"}
        doc = report.build(
            mode=args.mode, params=m, results=results, floor=floor, machine=machine,
            wall_s=time.monotonic() - started, cluster=section,
        )
        path = report.write(doc, args.out)
        print(report.summary(doc))
        print(f"results: {path}")
    finally:
        if schema:
            drop_schema(args.database, schema)
        if args.keep or args.profile:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
