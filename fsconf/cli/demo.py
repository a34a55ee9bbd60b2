"""`fsconf demo`: the newcomer's tour — a scripted meeting, or a phone to try yourself."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fsconf.cli.common import CliError, money, settings_from

if TYPE_CHECKING:  # the demo's modules load only when it runs
    from fsconf.config import Settings
    from fsconf.demo.stage import Stage


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo", parents=[parent],
        help="run the controller and the FreeSWITCH simulator through a scripted meeting",
    )
    p.add_argument("--interactive", action="store_true",
                   help="a terminal phone: type keys, see what you would hear")
    p.add_argument("--dir", type=Path, default=None,
                   help="keep the demo database and recordings here (default: a temp dir)")
    p.add_argument("--language", choices=("nl", "en"), default=None,
                   help="the demo conference's language (default: [ivr] default_language)")
    p.add_argument("--sounds", type=Path, default=None,
                   help="prompt sounds (e.g. build/sounds from `make sounds`); "
                        "default: silent stand-ins")
    p.add_argument("--nodes", type=int, default=1, choices=range(1, 5), metavar="N",
                   help="callers on N simulated FreeSWITCH nodes in one meeting (2-4; needs "
                        "PostgreSQL: --database-url or FSCONF_DATABASE_URL)")
    p.add_argument("--database-url", default=None,
                   help="with --nodes: the PostgreSQL to use (a throwaway schema in it, "
                        "dropped afterwards)")
    p.set_defaults(func=run)


NEEDS_POSTGRES = (
    "fsconf demo --nodes {n}: clustering needs PostgreSQL (refused on SQLite); give "
    "--database-url postgresql+psycopg://USER@HOST/DB or set FSCONF_DATABASE_URL "
    "(the demo uses a throwaway schema there and drops it)"
)


def run(args: argparse.Namespace) -> int:
    from fsconf.demo.phone import run_phone
    from fsconf.demo.script import run_meeting
    from fsconf.demo.stage import INVITEE, REAL_TIME, SPEED, Stage, demo_settings
    from fsconf.sim import CalleeBehaviour

    base = settings_from(args)
    if args.nodes > 1 and args.interactive:
        raise CliError("fsconf demo: --interactive runs on one node; leave out --nodes")
    cluster_url = args.database_url or base.database_url
    if args.nodes > 1 and not cluster_url.startswith("postgresql+psycopg://"):
        raise CliError(NEEDS_POSTGRES.format(n=args.nodes))
    language = args.language or base.ivr.default_language
    if args.sounds is not None and not (args.sounds / language / "fsconf").is_dir():
        raise CliError(f"--sounds {args.sounds}: no {language}/fsconf/ folder of prompts"
                       " there (see `make sounds`)")
    try:
        workdir = args.dir or Path(tempfile.mkdtemp(prefix="fsconf-demo-"))
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "demo.sqlite3").unlink(missing_ok=True)  # a fresh run every time
    except OSError as exc:
        raise CliError(f"--dir {args.dir}: {exc.strerror}") from None
    settings = demo_settings(base, workdir, args.sounds, args.language)
    out = sys.stdout
    if args.nodes > 1:
        return _run_cluster(args, settings, workdir, cluster_url)
    out.write(f"fsconf demo: database {settings.database_url}\n")
    # A person at the phone needs real time (7 s to start typing a PIN, not 7/8);
    # the scripted meeting may run faster.
    speed = REAL_TIME if args.interactive else SPEED
    stage = Stage(settings, workdir, out, callees={
        INVITEE: CalleeBehaviour(action="answer", answer_after_s=2.0, digits="1",
                                 digits_delay_s=3.0),
    }, speed=speed, language=settings.ivr.default_language)
    conf = stage.open()
    assert stage.sim is not None and stage.controller is not None
    host, port = stage.controller.address[:2]
    out.write(
        f"provisioned customer {conf.customer_id}, access number 0201234567, "
        f"conference {conf.number} ({conf.language})\n"
        f"simulator on 127.0.0.1:{stage.sim.port}, controller on {host}:{port}"
        f"{'' if speed == 1 else f', time {speed:g}x faster'}\n\n"
    )
    try:
        if args.interactive:
            run_phone(stage, conf.number, conf.moderator_pin, conf.participant_pin)
        else:
            run_meeting(stage, conf)
            _summary(stage, conf.customer_id)
    finally:
        stage.close()
    return 0


def _run_cluster(args: argparse.Namespace, settings: Settings, workdir: Path, url: str) -> int:
    from dataclasses import replace

    from sqlalchemy.exc import SQLAlchemyError

    from fsconf.demo.cluster import ClusterStage, cluster_summary, run_cluster_meeting
    from fsconf.demo.stage import SPEED
    from fsconf.store.scratch import throwaway_schema

    out = sys.stdout
    try:
        with throwaway_schema(url) as (schema, scratch_url):
            settings = replace(settings, database=replace(settings.database, url=scratch_url))
            out.write(f"fsconf demo: {args.nodes} nodes, database {_safe_url(url)} "
                      f"(throwaway schema {schema}, dropped at the end)\n")
            stage = ClusterStage(settings, workdir, out, speed=SPEED,
                                 language=settings.ivr.default_language, count=args.nodes)
            try:
                conf = stage.open()
                out.write(
                    f"provisioned customer {conf.customer_id}, access number 0201234567 on "
                    f"every node, conference {conf.number} ({conf.language}), "
                    f"time {SPEED:g}x faster\n"
                    + "".join(f"node {n.name}: simulator on 127.0.0.1:{n.sim.port} (SIP "
                              f"{n.ip}:5090), controller on "
                              f"127.0.0.1:{n.controller.address[1]}\n" for n in stage.nodes)
                    + "\n"
                )
                run_cluster_meeting(stage, conf)
                cluster_summary(stage, conf)
            finally:
                stage.close()
    except SQLAlchemyError as exc:
        # PostgreSQL away, or refusing us: one line, as for any bad input.
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise CliError(f"fsconf demo --nodes {args.nodes}: PostgreSQL: "
                       f"{first[0] if first else type(exc).__name__}") from None
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL we cannot parse is shown as nothing
        return "(PostgreSQL)"


def _summary(stage: Stage, customer_id: int) -> None:
    import datetime as dt

    from sqlalchemy import select

    from fsconf.domain.billing import Month, Prices, draft_invoice
    from fsconf.store.models import Attendance, Conference, DialOutAttempt, Meeting

    out = stage.out
    if stage.db is None:
        raise RuntimeError("the demo's summary needs its stage started")
    with stage.db.unit_of_work() as s:
        conf_ids = list(
            s.scalars(select(Conference.id).where(Conference.customer_id == customer_id))
        )
        meeting = s.scalars(select(Meeting).where(Meeting.conference_id.in_(conf_ids))).one()
        rows = s.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)
                         .order_by(Attendance.id)).all()
        dialouts = s.scalars(select(DialOutAttempt)
                             .where(DialOutAttempt.conference_id.in_(conf_ids))).all()
        out.write(
            f"\nMeeting {meeting.id}: {meeting.started_at:%H:%M:%S} - "
            f"{meeting.ended_at:%H:%M:%S} UTC, peak {meeting.peak_size}, "
            f"ended: {meeting.end_reason}\n"
        )
        for row in rows:
            out.write(f"  {row.caller_id_number:<12} {row.role or '-':<12} "
                      f"{row.end_reason}\n")
        for d in dialouts:
            out.write(f"  dial-out to {d.number}: {d.result}, {d.duration_seconds}s billed\n")
        prices = Prices.from_settings(stage.settings.billing)
        draft = draft_invoice(
            Month.of(dt.date.today()), activated_on=dt.date.today(), cancelled_on=None,
            dialout_seconds=[d.duration_seconds for d in dialouts], prices=prices,
        )
    out.write("\nInvoice preview for the demo customer (this month, not stored):\n")
    if draft is None:
        out.write("  nothing to bill\n")
        return
    for line in draft.lines:
        out.write(f"  {line.description:<32} {line.quantity:>4} x "
                  f"{money(line.unit_cents):>10} = {money(line.amount_cents):>10}\n")
    out.write(f"  {'total ex VAT':<50}{money(draft.total_ex_vat_cents):>10}\n")
    out.write(f"  {'VAT':<50}{money(draft.vat_cents):>10}\n")
    out.write(f"  {'total':<50}{money(draft.total_cents):>10}\n")
