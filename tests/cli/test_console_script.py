"""The installed `fsconf` console script, run as real processes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fsconf.store.models import Invoice

FSCONF = str(Path(sys.executable).with_name("fsconf"))


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSCONF_")}
    env["FSCONF_DATABASE_URL"] = database_url
    env["FSCONF_OPERATOR"] = "subprocess"
    return env


def _fsconf(database_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FSCONF, *argv], env=_env(database_url), capture_output=True, text=True, timeout=60
    )


def test_console_script_adds_a_customer_and_creates_a_conference(db, database_url) -> None:
    added = _fsconf(
        database_url, "customer", "add", "--name", f"Proc {secrets.token_hex(4)}", "--json"
    )
    assert added.returncode == 0, added.stderr
    cid = json.loads(added.stdout)["id"]
    created = _fsconf(database_url, "conference", "create", "--customer", str(cid), "--json")
    assert created.returncode == 0, created.stderr
    conf = json.loads(created.stdout)
    assert {"number", "moderator_pin", "participant_pin", "max_participants", "language"} <= set(
        conf
    )


def test_console_script_reports_bad_input_on_one_line_with_status_2(db, database_url) -> None:
    result = _fsconf(database_url, "billing", "run", "--month", "2023-1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "fsconf: error: month must be written YYYY-MM, got '2023-1'"
    ]


def test_console_script_honours_config_file(db, database_url, tmp_path) -> None:
    config = tmp_path / "fsconf.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n')
    env = _env("")
    del env["FSCONF_DATABASE_URL"]
    result = subprocess.run(
        [FSCONF, "customer", "list", "--json", "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)


def test_concurrent_billing_runs_make_one_invoice_per_customer(
    db, database_url, new_customer
) -> None:
    month = "2020-02"  # no other test bills this month
    # The customers are added in-process (same CLI code, four interpreter starts fewer);
    # the billing runs race as real processes.
    ids = [new_customer("--activated", "2020-02-10")["id"] for _ in range(4)]
    runs = [
        subprocess.Popen(
            [FSCONF, "billing", "run", "--month", month, "--json"],
            env=_env(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in runs]
    assert [p.returncode for p in runs] == [0, 0, 0], [err for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]
    created = [i["customer_id"] for r in results for i in r["invoices"] if i["customer_id"] in ids]
    assert sorted(created) == sorted(ids)  # each customer invoiced by exactly one run
    for r in results:
        mine_skipped = [c for c in r["skipped_customer_ids"] if c in ids]
        mine_created = [i for i in r["invoices"] if i["customer_id"] in ids]
        assert len(mine_skipped) + len(mine_created) == len(ids)
    with Session(db.engine) as s:
        counts = dict(
            s.execute(
                select(Invoice.customer_id, func.count())
                .where(Invoice.customer_id.in_(ids))
                .group_by(Invoice.customer_id)
            ).all()
        )
    assert counts == {cid: 1 for cid in ids}
