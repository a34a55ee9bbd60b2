"""The customer data form: what a customer needs to hold a meeting, as text or printable
HTML, in the conference's language (Dutch or English).

Pure presentation of a dict from ``conference_admin.form_data``; everything that goes
into HTML is escaped. The keypad controls are read from the grammar
(:func:`fsconf.domain.keypad_grammar.controls_for`), so the form lists what the keypad really
does for each role; only their words live here.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fsconf.domain.keypad_grammar import ActionKind, controls_for, waits_for_more
from fsconf.domain.roles import Role

LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class Words:
    """Every fixed text of the form in one language."""

    html_lang: str
    title: str
    customer: str
    numbers: str
    no_numbers: str
    conference_number: str
    moderator_pin: str
    participant_pin: str
    max_participants: str
    not_counted: str
    language: str
    language_names: Mapping[str, str]
    how_to_join: str
    steps: tuple[str, str, str, str, str]  # the name step is left out without recording
    everyone: str
    moderator_only: str
    number: str
    waits: str
    keep_pin: str
    actions: Mapping[ActionKind, str]
    # *5 means "give the floor" for the moderator (issue 22); the meeting settings row.
    give_floor: str = ""
    settings_label: str = ""
    setting_words: Mapping[str, str] = dataclasses.field(default_factory=dict)


WORDS: dict[str, Words] = {
    "en": Words(
        html_lang="en",
        title="Conference call - customer data form",
        customer="Customer",
        numbers="Dial-in number(s)",
        no_numbers="(none assigned yet)",
        conference_number="Conference number",
        moderator_pin="Moderator PIN",
        participant_pin="Participant PIN",
        max_participants="Maximum participants",
        not_counted="(the moderator not counted)",
        language="Language",
        language_names={"nl": "Dutch (nl)", "en": "English (en)"},
        how_to_join="How to join",
        steps=(
            "Call the dial-in number.",
            "Enter the conference number, then #.",
            "Enter your PIN, then #: the moderator PIN for the chair, the participant PIN"
            " for everyone else.",
            "After the tone, say your name, then press #.",
            "During the call, press # to hear the keypad controls.",
        ),
        everyone="Keypad controls for everyone",
        moderator_only="Keypad controls for the moderator only",
        number="number",
        waits="For the moderator, {keys} act after a moment (a longer code may follow);"
        " press # after them to act at once.",
        keep_pin="Keep the moderator PIN for the chair only.",
        actions={
            ActionKind.HELP: "hear the keypad controls (the moderator also hears the"
            " moderator's)",
            ActionKind.TOGGLE_MUTE: "mute or unmute yourself",
            ActionKind.TOGGLE_ANNOUNCEMENTS: "announcements of new participants off or on"
            " (for you)",
            ActionKind.ROLL_CALL: "hear who is in the meeting",
            ActionKind.VOLUME_DOWN: "what you hear: softer",
            ActionKind.VOLUME_UP: "what you hear: louder",
            ActionKind.INVITE: "invite someone: the number is called and brought in",
            ActionKind.END_MEETING: "end the meeting for everyone",
            ActionKind.REMOVE_LAST: "remove the participant who joined last",
            ActionKind.LOCK: "lock the meeting against new participants",
            ActionKind.UNLOCK: "unlock the meeting",
            ActionKind.MUTE_ALL: "mute all participants",
            ActionKind.UNMUTE_ALL: "unmute all participants",
            ActionKind.TOGGLE_RECORDING: "start or stop recording the meeting",
            ActionKind.HAND: "raise or lower your hand",
            ActionKind.COUNT: "hear how many are present",
        },
        give_floor="give the floor to the participant whose hand has been raised longest",
        settings_label="Meeting settings",
        setting_words={
            "wait_for_moderator": "participants wait for the moderator",
            "end_with_moderator": "the meeting ends when the moderator leaves",
            "recording_allowed": "the moderator may record the meeting",
        },
    ),
    "nl": Words(
        html_lang="nl",
        title="Telefonisch vergaderen - klantgegevens",
        customer="Klant",
        numbers="Inbelnummer(s)",
        no_numbers="(nog geen toegewezen)",
        conference_number="Vergadernummer",
        moderator_pin="Pincode voorzitter",
        participant_pin="Pincode deelnemers",
        max_participants="Maximum aantal deelnemers",
        not_counted="(de voorzitter niet meegeteld)",
        language="Taal",
        language_names={"nl": "Nederlands (nl)", "en": "Engels (en)"},
        how_to_join="Zo neemt u deel",
        steps=(
            "Bel het inbelnummer.",
            "Toets het vergadernummer, gevolgd door #.",
            "Toets uw pincode, gevolgd door #: de voorzitter de pincode voorzitter, alle"
            " anderen de pincode deelnemers.",
            "Zeg na de toon uw naam en druk op #.",
            "Tijdens de vergadering hoort u met # welke toetsen er zijn.",
        ),
        everyone="Toetsen voor iedereen",
        moderator_only="Toetsen alleen voor de voorzitter",
        number="nummer",
        waits="Bij de voorzitter werken {keys} na een ogenblik (er kan nog een cijfer"
        " volgen); druk er # achter om ze meteen uit te voeren.",
        keep_pin="Geef de pincode voorzitter alleen aan de voorzitter.",
        actions={
            ActionKind.HELP: "de toetsen beluisteren (de voorzitter hoort ook die voor de"
            " voorzitter)",
            ActionKind.TOGGLE_MUTE: "uw microfoon uit of weer aan",
            ActionKind.TOGGLE_ANNOUNCEMENTS: "aankondigingen van nieuwe deelnemers uit of"
            " aan (voor uzelf)",
            ActionKind.ROLL_CALL: "horen wie er aanwezig is",
            ActionKind.VOLUME_DOWN: "volume zachter",
            ActionKind.VOLUME_UP: "volume harder",
            ActionKind.INVITE: "iemand uitnodigen: het nummer wordt gebeld en toegevoegd",
            ActionKind.END_MEETING: "de vergadering voor iedereen beëindigen",
            ActionKind.REMOVE_LAST: "de laatst binnengekomen deelnemer verwijderen",
            ActionKind.LOCK: "de vergadering afsluiten voor nieuwe deelnemers",
            ActionKind.UNLOCK: "de vergadering weer openen",
            ActionKind.MUTE_ALL: "alle deelnemers dempen",
            ActionKind.UNMUTE_ALL: "alle deelnemers weer laten spreken",
            ActionKind.TOGGLE_RECORDING: "de opname van de vergadering starten of stoppen",
            ActionKind.HAND: "uw hand opsteken of laten zakken",
            ActionKind.COUNT: "horen hoeveel mensen er aanwezig zijn",
        },
        give_floor="het woord geven aan wie het langst de hand opsteekt",
        settings_label="Instellingen",
        setting_words={
            "wait_for_moderator": "deelnemers wachten op de voorzitter",
            "end_with_moderator": "de vergadering eindigt als de voorzitter weggaat",
            "recording_allowed": "de voorzitter mag de vergadering opnemen",
        },
    ),
}


def words(language: str) -> Words:
    """The form's words; a conference's language is nl or en (a database constraint)."""
    try:
        return WORDS[language]
    except KeyError:
        raise ValueError(f"no customer data form in language {language!r}") from None


def keypad_controls(language: str) -> dict[str, list[dict[str, str]]]:
    """The keypad controls per role, as printed: `participant` holds what everyone can
    do, `moderator` what only the moderator can do (besides all of that)."""
    w = words(language)
    everyone = controls_for(Role.PARTICIPANT)
    shared = {seq for seq, _ in everyone}
    moderator = [(s, k) for s, k in controls_for(Role.MODERATOR) if s not in shared]

    def entry(seq: str, kind: ActionKind) -> dict[str, str]:
        keys = f"{seq} {w.number} #" if kind is ActionKind.INVITE else seq
        return {"keys": keys, "action": kind.value, "description": w.actions[kind]}

    # *5 is shared by both roles but means something else for the moderator.
    floor = [
        {"keys": s, "action": "give_floor", "description": w.give_floor}
        for s, k in controls_for(Role.MODERATOR) if k is ActionKind.HAND
    ]
    return {
        "participant": [entry(s, k) for s, k in everyone],
        "moderator": [entry(s, k) for s, k in moderator] + floor,
    }


def _rows(data: Mapping[str, Any], w: Words) -> list[tuple[str, str]]:
    numbers = data["access_numbers"]
    language = data["language"]
    return [
        (w.customer, f"{data['customer_name']} (#{data['customer_id']})"),
        (w.numbers, ", ".join(numbers) if numbers else w.no_numbers),
        (w.conference_number, data["conference_number"]),
        (w.moderator_pin, data["moderator_pin"]),
        (w.participant_pin, data["participant_pin"]),
        (w.max_participants, f"{data['max_participants']} {w.not_counted}"),
        (w.language, w.language_names.get(language, language)),
        *_settings_row(data, w),
    ]


def _settings_row(data: Mapping[str, Any], w: Words) -> list[tuple[str, str]]:
    on = [text for key, text in w.setting_words.items() if data.get(key)]
    return [(w.settings_label, "; ".join(on))] if on else []


def _steps(data: Mapping[str, Any], w: Words) -> list[str]:
    steps = list(w.steps)
    if not data.get("record_names", True):
        del steps[3]  # no name is recorded: the caller is not asked for it
    return steps


def _waits_note(w: Words) -> str:
    keys = ", ".join(waits_for_more(Role.MODERATOR))
    return w.waits.format(keys=keys) if keys else ""


def render_text(data: Mapping[str, Any]) -> str:
    w = words(data["language"])
    rows = _rows(data, w)
    controls = keypad_controls(data["language"])
    width = max(len(label) for label, _ in rows)
    lines = [w.title, "=" * len(w.title), ""]
    lines += [f"{label.ljust(width)}   {value}" for label, value in rows]
    lines += ["", w.how_to_join, "-" * len(w.how_to_join)]
    lines += [f"{i}. {step}" for i, step in enumerate(_steps(data, w), 1)]
    for heading, entries in ((w.everyone, controls["participant"]),
                             (w.moderator_only, controls["moderator"])):  # fmt: skip
        keys_width = max(len(e["keys"]) for e in entries)
        lines += ["", heading, "-" * len(heading)]
        lines += [f"{e['keys'].ljust(keys_width)}   {e['description']}" for e in entries]
    note = _waits_note(w)
    if note:
        lines += ["", note]
    lines += ["", w.keep_pin]
    return "\n".join(lines) + "\n"


def render_html(data: Mapping[str, Any]) -> str:
    esc = html.escape
    w = words(data["language"])
    controls = keypad_controls(data["language"])
    rows = "\n".join(
        f"      <tr><th>{esc(label)}</th><td>{esc(str(value))}</td></tr>"
        for label, value in _rows(data, w)
    )
    steps = "\n".join(f"      <li>{esc(step)}</li>" for step in _steps(data, w))
    sections = "\n".join(
        f"  <h2>{esc(heading)}</h2>\n  <table class=\"keys\">\n"
        + "\n".join(
            f"    <tr><th>{esc(e['keys'])}</th><td>{esc(e['description'])}</td></tr>"
            for e in entries
        )
        + "\n  </table>"
        for heading, entries in ((w.everyone, controls["participant"]),
                                 (w.moderator_only, controls["moderator"]))  # fmt: skip
    )
    note = _waits_note(w)
    note_html = f"\n  <p>{esc(note)}</p>" if note else ""
    return f"""<!DOCTYPE html>
<html lang="{esc(w.html_lang)}">
<head>
  <meta charset="utf-8">
  <title>{esc(w.title)} - {esc(str(data["conference_number"]))}</title>
  <style>
    body {{ font-family: sans-serif; margin: 2cm; color: #000; }}
    h1 {{ font-size: 1.4em; border-bottom: 2px solid #000; padding-bottom: .3em; }}
    table {{ border-collapse: collapse; margin: 1em 0; }}
    th, td {{ text-align: left; padding: .4em 1.2em .4em 0; border-bottom: 1px solid #ccc; }}
    td {{ font-family: monospace; font-size: 1.2em; }}
    table.keys th {{ font-family: monospace; font-size: 1.2em; }}
    table.keys td {{ font-family: sans-serif; font-size: 1em; }}
    @media print {{ body {{ margin: 1cm; }} }}
  </style>
</head>
<body>
  <h1>{esc(w.title)}</h1>
  <table>
{rows}
  </table>
  <h2>{esc(w.how_to_join)}</h2>
  <ol>
{steps}
  </ol>
{sections}{note_html}
  <p>{esc(w.keep_pin)}</p>
</body>
</html>
"""
