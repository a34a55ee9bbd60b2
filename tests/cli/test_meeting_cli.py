"""`fsconf meeting list|show|export`: who attended, how each call ended, invitations."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets

from sqlalchemy import select

from fsconf.store.models import Attendance, Conference, DialOutAttempt, Meeting

START = dt.datetime(2022, 10, 3, 14, 0)


def _meeting(db, number: str, *, start: dt.datetime = START) -> int:
    """The rows the controller writes for a meeting: a moderator, a participant with a
    hostile caller-ID name, an invited callee (and the dial-out), a refused caller and an
    unanswered invitation."""
    with db.unit_of_work() as s:
        conf = s.scalars(select(Conference).where(Conference.number == number)).one()
        meeting = Meeting(
            conference_id=conf.id, started_at=start, ended_at=start + dt.timedelta(minutes=30),
            end_reason="ended_by_moderator", peak_size=3, fs_conference_name=f"fsconf-{number}",
            fs_node="fs1",
        )  # fmt: skip
        s.add(meeting)
        s.flush()
        chair = secrets.token_hex(8)

        def leg(minute: int, **kw: object) -> Attendance:
            row = Attendance(
                call_uuid=kw.pop("uuid", secrets.token_hex(8)), conference_id=conf.id,
                meeting_id=meeting.id, arrived_at=start + dt.timedelta(minutes=minute), **kw,
            )  # fmt: skip
            s.add(row)
            return row

        leg(0, uuid=chair, caller_id_number="0201111111", caller_id_name="Anna", role="moderator",
            joined_at=start, left_at=start + dt.timedelta(minutes=30),
            end_reason="ended_by_moderator")  # fmt: skip
        leg(1, caller_id_number="0202222222", caller_id_name="=HYPERLINK(\"x\")",
            role="participant", joined_at=start + dt.timedelta(minutes=1),
            left_at=start + dt.timedelta(minutes=11), end_reason="hung_up")  # fmt: skip
        answered = DialOutAttempt(
            conference_id=conf.id, meeting_id=meeting.id, requested_by_call_uuid=chair,
            number="0612345678", requested_at=start + dt.timedelta(minutes=2),
            answered_at=start + dt.timedelta(minutes=2, seconds=10),
            ended_at=start + dt.timedelta(minutes=5), result="joined", duration_seconds=170,
        )  # fmt: skip
        missed = DialOutAttempt(
            conference_id=conf.id, meeting_id=meeting.id, requested_by_call_uuid=chair,
            number="0687654321", requested_at=start + dt.timedelta(minutes=6),
            result="no_answer",
        )  # fmt: skip
        s.add_all([answered, missed])
        s.flush()
        leg(2, caller_id_number="0612345678", role="participant",
            invited_by_dialout_id=answered.id,
            joined_at=start + dt.timedelta(minutes=2, seconds=20),
            left_at=start + dt.timedelta(minutes=5), end_reason="kicked")  # fmt: skip
        leg(20, caller_id_number="0203333333", role="participant",
            end_reason="rejected_locked", left_at=start + dt.timedelta(minutes=20))  # fmt: skip
        return meeting.id


def test_show_lists_every_call_how_it_ended_and_the_invitations(ok, db, new_conference) -> None:
    conf = new_conference()
    meeting_id = _meeting(db, conf["number"])
    view = ok("meeting", "show", str(meeting_id), "--json").json
    assert (view["conference_number"], view["end_reason"], view["peak_size"]) == (
        conf["number"], "ended_by_moderator", 3,
    )  # fmt: skip
    calls = [
        (a["caller_id_number"], a["role"], a["invited_number"], a["seconds"], a["end_reason"])
        for a in view["attendees"]
    ]
    assert calls == [
        ("0201111111", "moderator", None, 1800, "ended_by_moderator"),
        ("0202222222", "participant", None, 600, "hung_up"),
        ("0612345678", "participant", "0612345678", 160, "kicked"),
        ("0203333333", "participant", None, 0, "rejected_locked"),
    ]
    assert view["attendees"][0]["joined_at"] == "2022-10-03T14:00:00"
    invites = [(d["number"], d["requested_by"], d["result"], d["billed_minutes"])
               for d in view["invitations"]]  # fmt: skip
    assert invites == [("0612345678", "0201111111", "joined", 3),
                       ("0687654321", "0201111111", "no_answer", 0)]  # fmt: skip
    table = ok("meeting", "show", str(meeting_id)).out
    assert "participant (invited)" in table and "rejected_locked" in table
    assert "Anna" in table


def test_list_filters_by_conference_customer_and_month(ok, db, new_conference) -> None:
    conf = new_conference()
    first = _meeting(db, conf["number"])
    later = _meeting(db, conf["number"], start=START + dt.timedelta(days=40))
    rows = ok("meeting", "list", "--conference", conf["number"], "--json").json
    assert [r["id"] for r in rows] == [later, first]  # newest first
    assert (rows[1]["calls_joined"], rows[1]["invitations"]) == (3, 2)
    october = ok(
        "meeting", "list", "--customer", str(conf["customer_id"]), "--month", "2022-10", "--json"
    ).json
    assert [r["id"] for r in october] == [first]
    assert str(first) in ok("meeting", "list", "--conference", conf["number"]).out


def test_bad_meeting_queries_are_one_line_errors(bad) -> None:
    assert "no meeting" in bad("meeting", "show", "999999999").err
    assert "whole number" in bad("meeting", "show", "abc").err
    assert "YYYY-MM" in bad("meeting", "list", "--month", "10-2022").err
    assert "limit" in bad("meeting", "list", "--limit", "0").err
    assert "no conference" in bad("meeting", "list", "--conference", "000000001").err
    assert "no customer" in bad("meeting", "export", "usage", "--customer", "999999999",
                                "--month", "2022-10").err  # fmt: skip


def test_attendance_export_is_csv_for_the_customer_and_month(ok, db, new_conference) -> None:
    conf = new_conference()
    meeting_id = _meeting(db, conf["number"])
    _meeting(db, conf["number"], start=START + dt.timedelta(days=40))  # November: left out
    out = ok("meeting", "export", "attendance", "--customer", str(conf["customer_id"]),
             "--month", "2022-10").out  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["meeting_id"] for r in rows} == {str(meeting_id)}
    assert [r["kind"] for r in rows] == ["call"] * 4 + ["invitation"] * 2
    assert rows[0]["joined_at"] == "2022-10-03T14:00:00" and rows[0]["seconds"] == "1800"
    assert rows[1]["caller_id_name"].startswith("'=")  # a spreadsheet must not run it
    assert rows[5] == {**rows[5], "invited_number": "0687654321", "end_reason": "no_answer"}


def test_usage_export_prices_dial_out_like_the_invoice(ok, db, new_conference, tmp_path) -> None:
    conf = new_conference()
    idle = new_conference(customer_id=conf["customer_id"])
    _meeting(db, conf["number"])
    target = tmp_path / "usage.csv"
    out = ok("meeting", "export", "usage", "--customer", str(conf["customer_id"]),
             "--month", "2022-10", "--output", str(target)).out  # fmt: skip
    assert f"2 row(s) of usage written to {target}" in out
    rows = {r["conference_number"]: r for r in csv.DictReader(io.StringIO(target.read_text()))}
    busy = rows[conf["number"]]
    # 30 + 10 + 2:40 minutes of calls; one dial-out of 170 s = 3 billed minutes at 0.05.
    assert (busy["meetings"], busy["participant_minutes"], busy["dialout_minutes"]) == (
        "1", "43", "3",
    )  # fmt: skip
    assert (busy["dialout_unit_price"], busy["dialout_amount"], busy["currency"]) == (
        "0.05", "0.15", "EUR",
    )  # fmt: skip
    assert rows[idle["number"]]["meetings"] == "0"
