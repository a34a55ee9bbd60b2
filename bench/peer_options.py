"""What both benchmark peers read: the controller's TOML and its SQLite database URL.

Standard library only, so the greenswitch peer can import it after gevent's patching and
the genesis peer under asyncio alike.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass


@dataclass
class Options:
    sounds_dir: str
    recordings_dir: str
    db_path: str
    first_ms: int
    inter_ms: int
    record_s: int
    silence_s: int


def parse(prog: str, argv: list[str] | None) -> tuple[Options, int]:
    """`--config controller.toml --port N` and FSCONF_DATABASE_URL, as fsconf serve reads them."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--config", required=True, help="the controller TOML (ivr, freeswitch)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with open(args.config, "rb") as fh:
        conf = tomllib.load(fh)
    ivr, fs = conf.get("ivr", {}), conf.get("freeswitch", {})
    url = os.environ["FSCONF_DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        parser.error("the baseline reads an SQLite database only")
    options = Options(
        sounds_dir=ivr["sounds_dir"], recordings_dir=fs["recordings_dir"],
        db_path=url.removeprefix("sqlite:///"),
        first_ms=int(ivr.get("first_digit_timeout_ms", 7000)),
        inter_ms=int(ivr.get("inter_digit_timeout_ms", 3000)),
        record_s=int(ivr.get("name_record_seconds", 5)),
        silence_s=int(ivr.get("name_silence_seconds", 2)),
    )
    return options, args.port
