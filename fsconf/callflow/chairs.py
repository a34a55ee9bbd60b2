"""The moderator's comings and goings (issue 22): releasing callers held for the chair,
and ending a meeting set to end with its moderator once the grace period has passed.

Why the controller ends the meeting rather than mod_conference's `endconf` member flag
with `endconference_grace_time`: a room ended that way hangs its members up
(NORMAL_CLEARING, esl-protocol.md 4.9 step 8) without a word, while the issue asks that
they hear that the meeting has ended. `kick all <sound>` plays the sound to each member
before their conference application returns (D_kick_then_wait), as `*30` does.
"""

from __future__ import annotations

import logging
import time

import gevent

from fsconf.conference.commands import ConferenceApi
from fsconf.conference.room import Room
from fsconf.domain.prompts import prompt
from fsconf.domain.states import EndReason
from fsconf.esl.connection import EslError
from fsconf.store.callstore import CallStore, RoomFenced, StoreUnavailable

log = logging.getLogger(__name__)
# How often, and how long at most, an expired grace period waits for a moderator who
# holds a seat but is not in the room yet (a re-homed caller's bridge takes a moment; a
# seat of a node that died is closed as lost within a lease).
CHAIR_RECHECK_SECONDS = 0.5
CHAIR_ON_THE_WAY_SECONDS = 60.0


def moderator_arrived(store: CallStore, room: Room, api: ConferenceApi) -> None:
    """A moderator joined: a pending end is off, and the callers held for the chair
    are let in (mod_conference has already cleared wait-mod and stopped the music)."""
    if room.end_timer is not None:
        room.end_timer.kill(block=False)
        room.end_timer = None
        log.info("conference %s: moderator back within the grace period", room.number)
    waiting = [m for m in room.present() if m.waiting]
    if not waiting:
        return
    keep_muted = room.muted_all or room.participants_join_muted
    plays = []
    for member in waiting:
        member.waiting = False
        store.set_waited(member.attendance_id, int(time.monotonic() - member.wait_started))
        if not keep_muted and api.unmute(member.member_id, quiet=True).startswith("+OK"):
            member.muted = False
        plays.append((prompt("moderator_arrived").file, member.member_id))
    api.play_each(plays)
    log.info("conference %s: %d waiting caller(s) let in", room.number, len(waiting))


def moderator_left(store: CallStore, room: Room) -> None:
    """The last moderator left a room set to end with them: end it after the grace
    period unless a moderator is back by then. Also called when a room taken over by
    this node (cluster) gets a caller while no chair is present (callflow/member.py):
    the chair may have been lost with the old owner's node."""
    if (
        not room.end_with_moderator or room.ending or room.fenced or room.moderators()
        or not room.members
    ):
        return
    if room.end_timer is not None:
        return
    room.end_timer = gevent.spawn_later(
        max(0, room.moderator_grace_seconds), _end_without_chair, store, room
    )
    log.info(
        "conference %s: last moderator left; ending in %ss unless one returns",
        room.number, room.moderator_grace_seconds,
    )


def _end_without_chair(store: CallStore, room: Room, waited: float = 0.0) -> None:
    room.end_timer = None
    if room.ending or room.fenced or room.moderators():
        return
    if waited < CHAIR_ON_THE_WAY_SECONDS and _chair_on_the_way(store, room):
        # A moderator still holds a seat in the meeting without being in this room: on
        # the way here after a takeover (re-homed callers arrive one by one), or calling
        # back. Look again shortly rather than end the meeting under their feet.
        room.end_timer = gevent.spawn_later(
            CHAIR_RECHECK_SECONDS, _end_without_chair, store, room,
            waited + CHAIR_RECHECK_SECONDS,
        )
        return
    sender = next((m.send for m in room.present() if m.send is not None), None)
    if sender is None:
        return  # everybody left meanwhile: the meeting closes with its last caller
    room.ending = True
    room.end_reason = EndReason.ENDED_WITH_MODERATOR
    try:
        # Written before the kick: a caller bridged here from another node learns from
        # it, when the bridge returns, why they were let go (callflow/bridged.py).
        if room.epoch:
            # Cluster: as the lock and *30, only the lease holder at its epoch may end it.
            store.set_room_flags(room.conference_id, room.epoch, room.meeting_id,
                                 end_reason=EndReason.ENDED_WITH_MODERATOR)
        else:
            store.set_meeting_flags(room.meeting_id, end_reason=EndReason.ENDED_WITH_MODERATOR)
    except RoomFenced as exc:
        room.ending, room.end_reason = False, None
        log.warning("conference %s: not ended, this node no longer owns it: %s",
                    room.number, exc)
        return
    except StoreUnavailable as exc:
        log.warning("conference %s: end reason not saved: %s", room.number, exc)
    try:
        ConferenceApi(sender, room.fs_name).kick("all", prompt("meeting_ended").file)
    except EslError as exc:
        log.warning("conference %s: could not end the meeting: %s", room.number, exc)
        return
    log.info("conference %s: ended with its moderator", room.number)


def _chair_on_the_way(store: CallStore, room: Room) -> bool:
    here = {m.attendance_id for m in room.members.values()}
    try:
        seated = store.seated_moderators(room.meeting_id)
    except StoreUnavailable:
        return False
    return bool(seated - here - room.departed)
