"""Issue 22 for operators: the meeting-feature settings on `conference create|set|update`,
and `fsconf recording list|export|delete|purge`."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.store.models import AuditEntry, Conference, Meeting, Recording, utcnow


def test_create_and_update_take_the_meeting_settings(ok, new_conference) -> None:
    view = new_conference()
    assert (view["wait_for_moderator"], view["end_with_moderator"]) == (False, False)
    assert (view["moderator_grace_seconds"], view["recording_allowed"]) == (30, True)
    assert view["recording_retention_days"] == 30
    made = new_conference("--wait-for-moderator", "--end-with-moderator",
                          "--moderator-grace-seconds", "45", "--no-recording-allowed")
    assert made["wait_for_moderator"] and made["end_with_moderator"]
    assert (made["moderator_grace_seconds"], made["recording_allowed"]) == (45, False)
    changed = ok("conference", "update", view["number"], "--wait-for-moderator",
                 "--recording-retention-days", "7", "--json").json
    assert changed["changed"] == ["recording_retention_days", "wait_for_moderator"]
    shown = ok("conference", "show", view["number"], "--json").json
    assert shown["wait_for_moderator"] is True and shown["recording_retention_days"] == 7


def test_the_form_lists_the_settings_and_the_new_keys(ok, new_conference) -> None:
    view = new_conference("--wait-for-moderator", "--language", "en")
    form = ok("conference", "show", view["number"], "--form").out
    assert "participants wait for the moderator" in form
    assert "raise or lower your hand" in form and "hear how many are present" in form
    assert "start or stop recording the meeting" in form
    assert "give the floor" in form


@pytest.mark.parametrize(
    "args",
    [("--moderator-grace-seconds", "601"), ("--moderator-grace-seconds", "x"),
     ("--recording-retention-days", "0")],
)
def test_settings_out_of_range_are_refused(bad, new_conference, args) -> None:
    view = new_conference()
    bad("conference", "set", view["number"], *args)


def _recording(db, conference_number: str, folder: Path, *, ended_days_ago: float | None,
               name: str, interrupted: bool = False) -> int:
    path = folder / conference_number / "meetings" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    with Session(db.engine) as s, s.begin():
        conf = s.scalars(select(Conference).where(Conference.number == conference_number)).one()
        start = utcnow() - dt.timedelta(days=(ended_days_ago or 0) + 1)
        meeting = Meeting(conference_id=conf.id, started_at=start, fs_conference_name="x",
                          fs_node="t", ended_at=start + dt.timedelta(hours=1))
        s.add(meeting)
        s.flush()
        rec = Recording(
            conference_id=conf.id, meeting_id=meeting.id, path=str(path), started_at=start,
            ended_at=None if ended_days_ago is None else utcnow() - dt.timedelta(
                days=ended_days_ago),
            interrupted=interrupted,
        )
        s.add(rec)
        s.flush()
        return rec.id


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "recordings"
    monkeypatch.setenv("FSCONF_FREESWITCH_RECORDINGS_DIR", str(root))
    return root


def test_list_shows_only_the_customers_own_recordings(ok, db, new_customer, new_conference,
                                                      folder) -> None:
    mine = new_customer()
    other = new_customer()
    conf = new_conference(customer_id=mine["id"])
    theirs = new_conference(customer_id=other["id"])
    rid = _recording(db, conf["number"], folder, ended_days_ago=1, name="a.wav")
    _recording(db, theirs["number"], folder, ended_days_ago=1, name="b.wav")
    rows = ok("recording", "list", "--customer", mine["id"], "--json").json
    assert [r["id"] for r in rows] == [rid]
    assert rows[0]["conference_number"] == conf["number"] and rows[0]["file_present"]
    month = utcnow().strftime("%Y-%m")
    assert ok("recording", "list", "--customer", mine["id"], "--month", "2001-01",
              "--json").json == []
    assert len(ok("recording", "list", "--customer", mine["id"], "--month", month,
                  "--json").json) <= 1


def test_a_stretch_cut_short_by_a_node_failure_is_listed_as_interrupted(
    ok, db, new_customer, new_conference, folder
) -> None:
    customer = new_customer()
    conf = new_conference(customer_id=customer["id"])
    cut = _recording(db, conf["number"], folder, ended_days_ago=1, name="cut.wav",
                     interrupted=True)
    whole = _recording(db, conf["number"], folder, ended_days_ago=1, name="whole.wav")
    rows = {r["id"]: r for r in ok("recording", "list", "--customer", customer["id"],
                                   "--json").json}
    assert (rows[cut]["interrupted"], rows[whole]["interrupted"]) == (True, False)
    table = ok("recording", "list", "--customer", customer["id"]).out
    [cut_line] = [line for line in table.splitlines() if "cut.wav" in line]
    [whole_line] = [line for line in table.splitlines() if "whole.wav" in line]
    assert "(interrupted)" in cut_line and "(interrupted)" not in whole_line


def test_export_writes_a_private_copy_and_delete_removes_it_audited(
    ok, bad, db, new_conference, folder, tmp_path
) -> None:
    conf = new_conference()
    rid = _recording(db, conf["number"], folder, ended_days_ago=1, name="c.wav")
    out = tmp_path / "copy.wav"
    ok("recording", "export", rid, "--output", out)
    assert out.read_bytes() == b"RIFF....WAVE"
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    ok("recording", "delete", rid)
    assert not (folder / conf["number"] / "meetings" / "c.wav").exists()
    with Session(db.engine) as s:
        assert s.get(Recording, rid) is None
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.target == f"conference:{conf['number']}")).all()
    assert "recording.delete" in actions and "recording.export" in actions
    bad("recording", "delete", rid)


def test_a_running_recording_is_neither_exported_nor_deleted(bad, db, new_conference,
                                                             folder, tmp_path) -> None:
    conf = new_conference()
    rid = _recording(db, conf["number"], folder, ended_days_ago=None, name="d.wav")
    bad("recording", "export", rid, "--output", tmp_path / "x.wav")
    bad("recording", "delete", rid)


def test_purge_removes_what_is_past_retention_and_is_idempotent(ok, db, new_conference,
                                                                folder) -> None:
    conf = new_conference()
    ok("conference", "set", conf["number"], "--recording-retention-days", "3")
    old = _recording(db, conf["number"], folder, ended_days_ago=4, name="old.wav")
    young = _recording(db, conf["number"], folder, ended_days_ago=2, name="young.wav")
    first = ok("recording", "purge", "--json").json
    assert old in first["purged"] and young not in first["purged"]
    assert not (folder / conf["number"] / "meetings" / "old.wav").exists()
    assert (folder / conf["number"] / "meetings" / "young.wav").exists()
    second = ok("recording", "purge", "--json").json
    assert old not in second["purged"] and young not in second["purged"]


def test_a_row_pointing_outside_the_recordings_folder_is_never_removed(
    cli, db, new_conference, folder, tmp_path
) -> None:
    conf = new_conference()
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    rid = _recording(db, conf["number"], folder, ended_days_ago=1, name="e.wav")
    with Session(db.engine) as s, s.begin():
        s.get(Recording, rid).path = str(victim)
    result = cli("recording", "delete", rid)
    assert result.code != 0
    assert victim.read_text() == "keep me"
