"""The layers contract (README "Architecture") is enforced: `lint-imports`, run by
`make lint`, passes on the tree and fails when someone imports upward."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_copy(tmp_path: Path, module: str = "", line: str = "") -> subprocess.CompletedProcess:
    """lint-imports on a copy of fsconf/ (with `line` appended to `module`), so the
    check never touches the working tree."""
    shutil.copytree(ROOT / "fsconf", tmp_path / "fsconf",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    if module:
        path = tmp_path / (module.replace(".", "/") + ".py")
        path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "setup.cfg"],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("fsconf.domain.roles", "from fsconf.store import models",
         "fsconf.domain is not allowed to import fsconf.store"),
        ("fsconf.conference.room", "import fsconf.callflow.line",
         "fsconf.conference is not allowed to import fsconf.callflow"),
        ("fsconf.store.models", "import fsconf.services.audit",
         "fsconf.store is not allowed to import fsconf.services"),
        ("fsconf.domain.billing", "import gevent",
         "fsconf.domain is not allowed to import gevent"),
        ("fsconf.domain.pins", "import time",
         "fsconf.domain is not allowed to import time"),
        ("fsconf.esl.session", "import fsconf.domain.prompts",
         "fsconf.esl is not allowed to import fsconf.domain"),
        ("fsconf.sim.core", "import fsconf.esl.session",
         "fsconf.sim is not allowed to import fsconf.esl.session"),
    ],
)  # fmt: skip
def test_an_upward_or_impure_import_fails_the_lint(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    result = _lint_copy(tmp_path, module, line)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
