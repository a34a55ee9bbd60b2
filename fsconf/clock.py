"""The one clock reading behind stored timestamps."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, as naive UTC: SQLite has no time zones, so every stored timestamp is naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
