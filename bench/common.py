"""What the harness processes share: statistics, /proc readings, the sound tree."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from fsconf.sounds.wav import silent_prompt_tree

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROMPT_MS = 1000  # every stand-in prompt lasts a simulated second
DIGIT_MS = 300


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p99/p99.9/max in milliseconds of a list of durations in seconds."""

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 3)

    return {
        "n": len(seconds),
        "p50_ms": ms(percentile(seconds, 50)),
        "p99_ms": ms(percentile(seconds, 99)),
        "p99_9_ms": ms(percentile(seconds, 99.9)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        data = fh.read()
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def postgres_cpu() -> dict[int, float]:
    """CPU so far of each PostgreSQL process on this machine (server and backends), by
    pid: the cluster benchmark's database shares the cores with everything else."""
    out: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                data = fh.read()
        except OSError:
            continue  # gone meanwhile
        if data[data.index("(") + 1 : data.rindex(")")] == "postgres":
            fields = data[data.rindex(")") + 2 :].split()
            out[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def make_sounds(root: Path) -> Path:
    """Silent WAVs for every prompt and spoken number, in FreeSWITCH's sound layout."""
    return silent_prompt_tree(root, PROMPT_MS, DIGIT_MS)
