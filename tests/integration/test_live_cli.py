"""`fsconf live` against the simulator and the database, through the real CLI entry."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from fsconf.cli.main import main
from fsconf.store.models import Attendance, AuditEntry, Meeting
from tests.integration.conftest import Rig, provision


@pytest.fixture
def cli(rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("FSCONF_DATABASE_URL", rig.settings.database_url)
    monkeypatch.setenv("FSCONF_FREESWITCH_PORT", str(rig.sim.port))
    monkeypatch.setenv("FSCONF_OPERATOR", "ops-test")

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_live_lists_members_with_role_caller_id_and_mute(rig: Rig, cli) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin, caller="0201111111")
    part = rig.join(p, p.participant_pin, caller="0202222222")
    part.send_dtmf("*1")
    part.wait_prompt("/muted.wav")
    code, out, _ = cli("live", "--json")
    assert code == 0
    meeting = next(m for m in json.loads(out) if m["conference_number"] == p.conference_number)
    members = {m["call_uuid"]: m for m in meeting["members"]}
    assert members[mod.b_uuid]["role"] == "moderator"
    assert members[part.b_uuid]["role"] == "participant"
    assert members[part.b_uuid]["muted"] is True and members[mod.b_uuid]["muted"] is False
    assert members[part.b_uuid]["caller_id_number"] == "0202222222"
    assert members[mod.b_uuid]["joined_at"]
    code, out, _ = cli("live")
    assert code == 0 and p.conference_number in out and "moderator" in out


def test_operator_mutes_locks_and_ends_a_meeting(rig: Rig, cli) -> None:
    p = provision(rig.db)
    mod = rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0203333333")
    code, out, _ = cli("live", "mute", p.conference_number, str(part.member_id))
    assert code == 0 and out.startswith("+OK mute")
    flags = {m["uuid"]: m["flags"] for m in rig.conference(p)["members"]}
    assert flags[part.b_uuid]["can_speak"] is False

    assert cli("live", "lock", p.conference_number)[0] == 0
    assert rig.conference(p)["locked"] is True
    with rig.db.unit_of_work() as s:
        meeting_id = s.scalars(select(Attendance.meeting_id)
                               .where(Attendance.call_uuid == mod.b_uuid)).one()
        assert s.get(Meeting, meeting_id).locked is True

    assert cli("live", "end", p.conference_number)[0] == 0
    for call in (mod, part):
        call.wait_prompt("meeting-ended")
        call.wait_hangup()

    def ended() -> bool:
        with rig.db.unit_of_work() as s:
            rows = s.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id)).all()
            return all(r.end_reason == "ended_by_operator" for r in rows)

    rig.driver.wait_for(ended, 5, "rows closed as ended by the operator")
    with rig.db.unit_of_work() as s:
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.target == f"conference:{p.conference_number}")).all()
    assert {"live.mute", "live.lock", "live.end"} <= set(actions)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("live", "kick", "{conf}"), "needs a member id"),
        (("live", "mute", "12x4"), "must be digits"),
        (("live", "mute", "{conf}", "1;hupall"), "member must be"),
        (("live", "lock", "999999999"), "no meeting in progress"),
        (("live", "kick", "{conf}", "all"), "kick takes one member id; to end the meeting"),
        (("live", "lock", "{conf}", "4"), "lock applies to the whole meeting; it takes no member"),
    ],
)
def test_bad_live_input_is_one_clear_line_and_exit_2(rig: Rig, cli, argv, message) -> None:
    p = provision(rig.db)
    rig.join(p, p.moderator_pin)
    code, out, err = cli(*(a.format(conf=p.conference_number) for a in argv))
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    assert rig.conference(p)["locked"] is False and len(rig.conference(p)["members"]) == 1


def _join_named(rig: Rig, p, name: str, caller: str):
    """Dial in with this caller-ID name (as a SIP From display name would bring it)."""
    call = rig.call(p.access_number, caller=caller, name=name)
    call.wait_prompt("enter-conference-number")
    call.send_dtmf(p.conference_number + "#")
    call.wait_prompt("enter-pin")
    call.send_dtmf(p.participant_pin + "#")
    call.wait_prompt("tone")
    call.send_dtmf("#")
    call.wait_member()
    return call


def _table_of(out: str, number: str) -> list[str]:
    """The member table printed under this conference's heading."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"conference {number} "))
    block = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        block.append(line)
    return block


def test_live_never_passes_a_callers_escape_sequences_to_the_terminal(rig: Rig, cli) -> None:
    p = provision(rig.db)
    hostile = "\x1b[2J\x1b[31mEve\u202e\x9b1m"
    call = _join_named(rig, p, hostile, "0204444444")
    code, out, _ = cli("live")
    assert code == 0
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out
    row = next(line for line in _table_of(out, p.conference_number) if "0204444444" in line)
    assert "Eve" in row and "[2J" not in row
    # --json keeps the exact value for scripts, with every control character escaped.
    code, out, _ = cli("live", "--json")
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\x9b" not in out
    meeting = next(m for m in json.loads(out) if m["conference_number"] == p.conference_number)
    member = next(m for m in meeting["members"] if m["call_uuid"] == call.b_uuid)
    assert member["caller_id_name"] == hostile


def test_live_shortens_a_long_name_and_aligns_wide_characters(rig: Rig, cli) -> None:
    from fsconf.cli.common import display_width

    p = provision(rig.db)
    _join_named(rig, p, "A" * 300, "0205555555")
    _join_named(rig, p, "田中花子", "0206666666")  # four wide characters
    _join_named(rig, p, "Bo", "0207777777")
    code, out, _ = cli("live")
    assert code == 0
    table = _table_of(out, p.conference_number)
    rows = [line for line in table if line.split()[0].isdigit()]
    assert len(rows) == 3
    long_row = next(r for r in rows if "0205555555" in r)
    assert "A" * 300 not in long_row and "\u2026" in long_row
    assert max(display_width(line) for line in table) < 160
    # The column after the name ("joined") starts at the same terminal column in every row.
    header = table[0]
    joined_at = display_width(header[: header.index("joined")])
    for row in rows:
        name_end = row.index(" 20")  # the joined timestamp follows the name
        assert display_width(row[: name_end + 1]) == joined_at, row


def test_live_action_with_json_answers_in_json(rig: Rig, cli) -> None:
    p = provision(rig.db)
    rig.join(p, p.moderator_pin)
    part = rig.join(p, p.participant_pin, caller="0208888888")
    code, out, _ = cli("live", "--json", "mute", p.conference_number, str(part.member_id))
    assert code == 0
    answer = json.loads(out)
    assert answer["action"] == "mute" and answer["conference_number"] == p.conference_number
    assert answer["member"] == str(part.member_id) and answer["reply"].startswith("+OK")


def test_audit_of_a_conference_shows_its_live_actions(rig: Rig, cli) -> None:
    p = provision(rig.db)
    rig.join(p, p.moderator_pin)
    assert cli("live", "lock", p.conference_number)[0] == 0
    code, out, _ = cli("audit", "--json", "--target", f"conference:{p.conference_number}")
    assert code == 0
    assert [e["action"] for e in json.loads(out)] == ["live.lock"]


def test_live_without_freeswitch_says_so(rig: Rig, cli, monkeypatch) -> None:
    monkeypatch.setenv("FSCONF_FREESWITCH_PORT", "9")
    code, _, err = cli("live")
    assert code == 2 and "cannot reach FreeSWITCH's Event Socket at 127.0.0.1:9" in err


def test_live_filtered_by_conference_shows_only_that_meeting(rig: Rig, cli) -> None:
    p, q = provision(rig.db), provision(rig.db)
    rig.join(p, p.moderator_pin, caller="0201111111")
    other = rig.join(q, q.moderator_pin, caller="0204444444")
    code, out, _ = cli("live", "--conference", q.conference_number, "--json")
    assert code == 0
    meetings = json.loads(out)
    assert [m["conference_number"] for m in meetings] == [q.conference_number]
    assert [m["call_uuid"] for m in meetings[0]["members"]] == [other.b_uuid]
    code, out, _ = cli("live", "--conference", q.conference_number)
    assert code == 0 and q.conference_number in out and p.conference_number not in out
    code, _, err = cli("live", "--conference", "999999999")
    assert code == 2 and "no conference 999999999" in err
    code, _, err = cli("live", "lock", p.conference_number, "--conference", q.conference_number)
    assert code == 2 and len(err.strip().splitlines()) == 1
