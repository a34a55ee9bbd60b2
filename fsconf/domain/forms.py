"""The customer data form: the four values a customer needs, as text or printable HTML.

Pure presentation of a dict from ``conference_admin.form_data``; everything that goes
into HTML is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

TITLE = "Conference call - customer data form"
LANGUAGE_NAMES = {"nl": "Dutch (nl)", "en": "English (en)"}
HOW_TO_JOIN = (
    "Call the dial-in number.",
    "Enter the conference number, then #.",
    "Enter your PIN, then #: the moderator PIN for the chair, the participant PIN for"
    " everyone else.",
    "After the tone, say your name, then press #.",
    "During the call, press # to hear the keypad controls.",
)


def _rows(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    numbers = data["access_numbers"]
    return [
        ("Customer", f"{data['customer_name']} (#{data['customer_id']})"),
        ("Dial-in number(s)", ", ".join(numbers) if numbers else "(none assigned yet)"),
        ("Conference number", data["conference_number"]),
        ("Moderator PIN", data["moderator_pin"]),
        ("Participant PIN", data["participant_pin"]),
        ("Maximum participants", f"{data['max_participants']} (the moderator not counted)"),
        ("Language", LANGUAGE_NAMES.get(data["language"], data["language"])),
    ]


def render_text(data: Mapping[str, Any]) -> str:
    rows = _rows(data)
    width = max(len(label) for label, _ in rows)
    lines = [TITLE, "=" * len(TITLE), ""]
    lines += [f"{label.ljust(width)}   {value}" for label, value in rows]
    lines += ["", "How to join", "-----------"]
    lines += [f"{i}. {step}" for i, step in enumerate(HOW_TO_JOIN, 1)]
    lines += ["", "Keep the moderator PIN for the chair only."]
    return "\n".join(lines) + "\n"


def render_html(data: Mapping[str, Any]) -> str:
    esc = html.escape
    rows = "\n".join(
        f"      <tr><th>{esc(label)}</th><td>{esc(str(value))}</td></tr>"
        for label, value in _rows(data)
    )
    steps = "\n".join(f"      <li>{esc(step)}</li>" for step in HOW_TO_JOIN)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{esc(TITLE)} - {esc(str(data["conference_number"]))}</title>
  <style>
    body {{ font-family: sans-serif; margin: 2cm; color: #000; }}
    h1 {{ font-size: 1.4em; border-bottom: 2px solid #000; padding-bottom: .3em; }}
    table {{ border-collapse: collapse; margin: 1em 0; }}
    th, td {{ text-align: left; padding: .4em 1.2em .4em 0; border-bottom: 1px solid #ccc; }}
    td {{ font-family: monospace; font-size: 1.2em; }}
    @media print {{ body {{ margin: 1cm; }} }}
  </style>
</head>
<body>
  <h1>{esc(TITLE)}</h1>
  <table>
{rows}
  </table>
  <h2>How to join</h2>
  <ol>
{steps}
  </ol>
  <p>Keep the moderator PIN for the chair only.</p>
</body>
</html>
"""
