"""A clustered room that changed owner: what the new owner carries on, what a stale
owner gives up.

The new owner's room starts empty in its own mod_conference; its callers arrive one by
one (re-homed after the old owner died, or moved off a stale copy). Lock and mute-all come
from the meeting's row (callflow/member.py), raised hands from each caller's row
(`Room.raise_hand` with the row's time), the end-with-the-chair countdown from chairs.py,
and the recording from here. A stale owner (its lease taken at a higher epoch: a refused
renewal or fenced write, or a restart that finds the lease elsewhere) empties its copy, so
the meeting is only ever live in one place.
"""

from __future__ import annotations

import logging

from fsconf.conference.commands import ConferenceApi
from fsconf.conference.room import Room
from fsconf.domain.prompts import prompt
from fsconf.domain.validate import UnsafeArgument
from fsconf.esl.connection import EslError
from fsconf.store.callstore import CallStore, RoomFenced, StoreUnavailable

log = logging.getLogger(__name__)


def resume_recording(room: Room, api: ConferenceApi, store: CallStore, path: str) -> None:
    """The meeting's recording row is open but this room is not known to record.

    FreeSWITCH answers first (`recording check`: a room whose controller restarted still
    records). Otherwise the recording died with the previous owner: record on here into
    `path` in a new row and close the old one as interrupted at this moment (its file is
    on the old node's disk). The callers were told it records before they came over
    (callflow/bridged.py), as a late joiner is."""
    if room.recording or room.resuming_recording:
        return
    room.resuming_recording = True
    try:
        if api.recording_check():
            room.recording = True
            return
        started = False
        if room.recording_allowed:
            try:
                started = api.recording_start(path)
            except UnsafeArgument:  # a recordings folder a command cannot carry
                started = False
        if not started:
            log.warning("conference %s: the recording could not go on after the takeover",
                        room.number)
            store.interrupt_recordings(room.meeting_id)
            return
        room.recording = True
        store.resume_recording(conference_id=room.conference_id, meeting_id=room.meeting_id,
                               path=path, epoch=room.epoch)
        log.info("conference %s: recording carried on after the takeover (epoch %d)",
                 room.number, room.epoch)
    except RoomFenced as exc:
        log.warning("conference %s: recording not resumed, room lost again: %s", room.number, exc)
    except StoreUnavailable as exc:
        log.warning("conference %s: recording row not written: %s", room.number, exc)
    finally:
        room.resuming_recording = False


def step_down(room: Room, api: ConferenceApi) -> None:
    """This node no longer owns the room: empty its copy (once).

    - a leg another node bridged here is let go without a word: its node says "one
      moment" and follows the lease to the owner (callflow/bridged.py);
    - a caller on this node served over its own call socket hears "one moment" and its
      call flow bridges it to the owner, as a remote caller would be;
    - a caller this node only follows over the inbound socket (taken back after a
      controller restart) has no socket to bridge on: told of a technical problem and
      let go, rather than left in a meeting nobody else hears.
    Its recording here stops; the row is the new owner's to carry on."""
    if room.stepped_down:
        return
    room.fenced = room.stepped_down = True
    if room.end_timer is not None:
        room.end_timer.kill(block=False)
        room.end_timer = None
    members = room.present()
    log.warning("conference %s: owned by another node now; letting %d member(s) go to it",
                room.number, len(members))
    try:
        if room.recording:
            room.recording = False
            api.recording_stop()
        for m in members:
            if m.held_elsewhere:
                api.hup(m.member_id)
            elif m.movable:
                m.moved = True
                api.kick(m.member_id, prompt("one_moment").file)
            else:
                api.kick(m.member_id, prompt("technical_problem").file)
    except EslError as exc:
        log.warning("conference %s: stepping down failed: %s", room.number, exc)
