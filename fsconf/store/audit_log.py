"""Writing one audit entry: shared by the operator services and the call flow's store
(a PIN lockout is audited by `fsconf serve` in the transaction that starts it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from fsconf.store.models import AuditEntry


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the session's transaction (never a PIN in `details`)."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        target=target[:128],
        details=json.dumps(dict(details), sort_keys=True, default=str) if details else None,
    )
    session.add(entry)
    return entry
