"""The console script decides on gevent from the command it is given, wherever the
global options stand, and `fsconf sim` has one way in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fsconf.cli.common import common_parent
from fsconf.cli.entry import _global_options, command_of, needs_gevent

FSCONF = str(Path(sys.executable).with_name("fsconf"))


@pytest.mark.parametrize(
    ("argv", "patched"),
    [
        (["serve"], True),
        (["--config", "fsconf.toml", "serve"], True),
        (["--config=fsconf.toml", "serve", "--port", "8084"], True),
        (["serve", "--config", "fsconf.toml"], True),
        (["--config", "fsconf.toml", "doctor"], True),
        (["--config", "/etc/fsconf/fsconf.toml", "live", "list"], True),
        (["--config", "fsconf.toml", "customer", "list"], False),
        (["--config", "serve"], False),  # "serve" is the file here; no command at all
        (["--config"], False),
        ([], False),
    ],
)
def test_gevent_is_chosen_from_the_parsed_command(argv: list[str], patched: bool) -> None:
    assert needs_gevent(argv) is patched


def test_everything_after_the_command_is_left_for_it() -> None:
    assert command_of(["--config", "F", "sim", "--speed", "10"]) == ("sim", ["--speed", "10"])


def test_the_early_parser_knows_every_global_option() -> None:
    def options(parser) -> set[str]:
        return {s for a in parser._actions for s in a.option_strings}

    assert options(common_parent()) <= options(_global_options())


@pytest.mark.parametrize(
    ("argv", "patched"),
    [
        (["--config", "fsconf.toml", "serve", "--help"], True),
        (["--config", "fsconf.toml", "doctor", "--help"], True),
        (["--config", "fsconf.toml", "customer", "--help"], False),
    ],
)
def test_the_console_script_patches_the_gevent_commands(argv: list[str], patched: bool) -> None:
    # The real entry point in a fresh interpreter; `--help` stops before any work.
    probe = (
        "import sys\n"
        "from fsconf.cli.entry import main\n"
        f"sys.argv = ['fsconf', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "from gevent import monkey\n"
        "print('PATCHED' if monkey.is_module_patched('socket') else 'UNPATCHED')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == ("PATCHED" if patched else "UNPATCHED")


def test_sim_takes_its_own_options_through_fsconf() -> None:
    result = subprocess.run([FSCONF, "sim", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: fsconf sim")


def test_global_options_before_sim_are_refused_on_one_line() -> None:
    result = subprocess.run(
        [FSCONF, "--config", "fsconf.toml", "sim"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "fsconf: error: sim takes only its own options (fsconf sim --help)"
    ]
