"""Meeting recordings for operators (issue 22): list per customer, export, delete, purge.

A recording row names the file FreeSWITCH wrote (`conference … recording start <path>`
under `[freeswitch] recordings_dir`). Files are only ever listed per customer, copied out
on an operator's explicit `export`, or removed; never removed outside the recordings
folder, whatever a row says. Deletions are audited; the purge is idempotent (a second run
finds nothing left to do), so cron may run it as often as it likes.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.domain.billing import Month
from fsconf.services.audit import record
from fsconf.services.customers import get_customer
from fsconf.services.errors import ServiceError
from fsconf.store.models import Attendance, Conference, Recording, utcnow


def _view(rec: Recording, conference: Conference, started_by: str | None) -> dict[str, Any]:
    ended = rec.ended_at
    return {
        "id": rec.id,
        "conference_number": conference.number,
        "meeting_id": rec.meeting_id,
        "started_at": rec.started_at,
        "ended_at": ended,
        "duration_seconds": int((ended - rec.started_at).total_seconds()) if ended else None,
        # Cut short by its node's death or a takeover (cluster); the meeting's next
        # stretch, recorded by the room's new owner, is the next row.
        "interrupted": bool(rec.interrupted),
        "started_by": started_by,
        "expires_on": (
            (ended + dt.timedelta(days=conference.recording_retention_days)).date()
            if ended else None
        ),
        "file": os.path.basename(rec.path),
        "file_present": os.path.exists(rec.path),
    }


def list_recordings(
    session: Session, *, customer_id: int, month: Month | None = None
) -> list[dict[str, Any]]:
    get_customer(session, customer_id)
    query = (
        select(Recording, Conference, Attendance.caller_id_number)
        .join(Conference, Conference.id == Recording.conference_id)
        .outerjoin(Attendance, Attendance.id == Recording.started_by_attendance_id)
        .where(Conference.customer_id == customer_id)
        .order_by(Recording.started_at, Recording.id)
    )
    if month is not None:
        query = query.where(
            Recording.started_at >= month.start(), Recording.started_at < month.next().start()
        )
    return [_view(r, c, who) for r, c, who in session.execute(query).all()]


def _get(session: Session, recording_id: int) -> tuple[Recording, Conference]:
    row = session.execute(
        select(Recording, Conference)
        .join(Conference, Conference.id == Recording.conference_id)
        .where(Recording.id == recording_id)
        .with_for_update(of=Recording)
    ).first()
    if row is None:
        raise ServiceError(f"no recording {recording_id}")
    return row[0], row[1]


def _inside(path: str, recordings_dir: str) -> bool:
    root = os.path.realpath(recordings_dir)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def export_recording(
    session: Session, recording_id: int, output: str, *, recordings_dir: str, actor: str
) -> dict[str, Any]:
    rec, conference = _get(session, recording_id)
    if rec.ended_at is None:
        raise ServiceError(f"recording {recording_id} is still running; stop it first")
    if not _inside(rec.path, recordings_dir) or not os.path.isfile(rec.path):
        raise ServiceError(f"recording {recording_id}: its file is missing")
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out, open(rec.path, "rb") as src:
            os.fchmod(out.fileno(), 0o600)  # a customer's meeting: private like the form
            shutil.copyfileobj(src, out)
    except OSError as exc:
        raise ServiceError(f"cannot write {output}: {exc.strerror or exc}") from None
    record(session, actor, "recording.export", f"conference:{conference.number}",
           {"recording_id": rec.id, "meeting_id": rec.meeting_id})
    return _view(rec, conference, None) | {"output": output}


def _remove_file(path: str, recordings_dir: str) -> bool:
    """Remove a recording's file; False when it was already gone. Never outside the
    recordings folder."""
    if not _inside(path, recordings_dir):
        raise ServiceError(f"refusing to remove {path}: not under {recordings_dir}")
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ServiceError(f"cannot remove {path}: {exc.strerror or exc}") from None
    return True


def delete_recording(
    session: Session, recording_id: int, *, recordings_dir: str, actor: str
) -> dict[str, Any]:
    rec, conference = _get(session, recording_id)
    if rec.ended_at is None:
        raise ServiceError(f"recording {recording_id} is still running; stop it first")
    view = _view(rec, conference, None)
    removed = _remove_file(rec.path, recordings_dir)
    session.delete(rec)
    session.flush()
    record(session, actor, "recording.delete", f"conference:{conference.number}",
           {"recording_id": recording_id, "meeting_id": view["meeting_id"],
            "file_removed": removed})
    return view | {"deleted": True}


def purge_recordings(
    session: Session, *, recordings_dir: str, actor: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Remove every finished recording older than its conference's retention."""
    now = now or utcnow()
    rows = session.execute(
        select(Recording, Conference)
        .join(Conference, Conference.id == Recording.conference_id)
        .where(Recording.ended_at.is_not(None))
        .order_by(Recording.id)
        .with_for_update(of=Recording, skip_locked=True)
    ).all()
    purged: list[int] = []
    skipped: list[int] = []
    for rec, conference in rows:
        assert rec.ended_at is not None
        if rec.ended_at + dt.timedelta(days=conference.recording_retention_days) > now:
            continue
        if not _inside(rec.path, recordings_dir):
            skipped.append(rec.id)  # not ours to remove: reported, the rest goes on
            continue
        _remove_file(rec.path, recordings_dir)
        purged.append(rec.id)
        session.delete(rec)
    session.flush()
    if purged:
        record(session, actor, "recording.purge", "recordings", {"recording_ids": purged})
    return {"purged": purged, "skipped_outside_folder": skipped}
