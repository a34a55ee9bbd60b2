"""The audit trail: who changed what, written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fsconf.services.errors import ServiceError
from fsconf.store.audit_log import record
from fsconf.store.models import AuditEntry

__all__ = ["record", "resolve_actor", "list_entries"]

ACTOR_ENV = "FSCONF_OPERATOR"
_ACTOR_MAX = 64


def resolve_actor(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``--actor``, else FSCONF_OPERATOR, else the OS user name."""
    env = os.environ if environ is None else environ
    actor = (explicit or env.get(ACTOR_ENV) or "").strip()
    if not actor:
        try:
            actor = getpass.getuser()
        except (KeyError, OSError):
            actor = "unknown"
    if any(not ch.isprintable() for ch in actor):
        raise ServiceError("actor name must be printable text")
    return actor[:_ACTOR_MAX]




def list_entries(
    session: Session,
    *,
    limit: int = 50,
    action: str | None = None,
    target: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    if limit < 1:
        raise ServiceError("limit must be at least 1")
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        # Live actions were once recorded as "conference N"; the filter finds them too.
        legacy = target.replace(":", " ", 1) if target.startswith("conference:") else target
        query = query.where(AuditEntry.target.in_({target, legacy}))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since:
        query = query.where(AuditEntry.at >= since)
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return [entry_view(e) for e in session.scalars(query)]


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "details": json.loads(entry.details) if entry.details else None,
    }
