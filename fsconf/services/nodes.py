"""Cluster nodes for the operator: who is alive, what each hosts, draining (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fsconf.services.audit import record
from fsconf.services.errors import ServiceError
from fsconf.store import cluster


def list_nodes(session: Session, lease_seconds: float) -> list[dict[str, Any]]:
    return [
        {
            "node": n.node,
            "internal_sip": n.internal_sip,
            "heartbeat_age_seconds": None if n.heartbeat_age is None
            else round(n.heartbeat_age, 1),
            "alive": n.alive,
            "drained": n.drained,
            "rooms": n.rooms,
            "members": n.members,
        }
        for n in cluster.list_nodes(session, lease_seconds)
    ]


def set_drained(session: Session, *, actor: str, node: str, drained: bool) -> dict[str, Any]:
    """Drained: new rooms go to other nodes; meetings already there go on."""
    if not cluster.set_drained(session, node, drained):
        raise ServiceError(f"no node {node!r} (see fsconf node list)")
    record(session, actor, "node.drain" if drained else "node.undrain", f"node:{node}")
    return {"node": node, "drained": drained}


def event_sockets(session: Session, lease_seconds: float) -> dict[str, str]:
    return cluster.event_sockets(session, lease_seconds)


def owner_of(session: Session, number: str) -> str | None:
    return cluster.owner_of_number(session, number)
