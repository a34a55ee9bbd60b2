"""SQLAlchemy 2.x typed models for everything SPEC.md names.

Rules a caller or operator relies on are constraints in the database, not only in
Python: unique numbers, PIN format (where the dialect can express it), foreign keys,
one open meeting per conference, one invoice per customer and month.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Also importable from here, where they were defined before the domain had a home.
from fsconf.clock import utcnow
from fsconf.domain.roles import Role
from fsconf.domain.states import (  # noqa: F401
    ConferenceStatus,
    EndReason,
    MeetingEnd,
    SubscriptionState,
)

# Stable constraint names so alembic can address them on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _stored_as(enum: type[StrEnum], length: int) -> Enum:
    """An enum column stored exactly as the plain string column it was (VARCHAR(length) of
    the values, no CHECK, no native type), read back as the enum."""
    return Enum(
        enum, native_enum=False, create_constraint=False, length=length,
        values_callable=lambda members: [m.value for m in members],
    )  # fmt: skip


# All timestamps are naive UTC: SQLite has no time zones and mixing would bite.
Timestamp = DateTime(timezone=False)


def _pin_checks(column: str) -> list[CheckConstraint]:
    """Digits only and 4..8 long; the digit test needs dialect-specific SQL."""
    return [
        CheckConstraint(f"length({column}) BETWEEN 4 AND 8", name=f"{column}_length"),
        CheckConstraint(f"{column} ~ '^[0-9]+$'", name=f"{column}_digits").ddl_if(
            dialect="postgresql"
        ),
        CheckConstraint(f"{column} NOT GLOB '*[^0-9]*'", name=f"{column}_digits").ddl_if(
            dialect="sqlite"
        ),
    ]


def _digits_checks(column: str) -> list[CheckConstraint]:
    return [
        CheckConstraint(f"{column} ~ '^[0-9]+$'", name=f"{column}_digits").ddl_if(
            dialect="postgresql"
        ),
        CheckConstraint(
            f"{column} NOT GLOB '*[^0-9]*' AND length({column}) > 0", name=f"{column}_digits"
        ).ddl_if(dialect="sqlite"),
    ]


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # What invoices are addressed to; copied onto each invoice when it is issued.
    address: Mapped[str | None] = mapped_column(String(500))
    vat_number: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    subscription: Mapped[Subscription | None] = relationship(back_populates="customer")
    conferences: Mapped[list[Conference]] = relationship(back_populates="customer")

    __table_args__ = (CheckConstraint("length(name) > 0", name="name_not_empty"),)


class Subscription(Base):
    """The customer's contract; billing reads its dates, the join flow its state."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    state: Mapped[SubscriptionState] = mapped_column(
        _stored_as(SubscriptionState, 16), default=SubscriptionState.ACTIVE
    )
    activated_on: Mapped[dt.date] = mapped_column(Date)
    # The day the operator cancelled; the subscription runs to the end of that month.
    cancelled_on: Mapped[dt.date | None] = mapped_column(Date)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    customer: Mapped[Customer] = relationship(back_populates="subscription")

    __table_args__ = (
        CheckConstraint("state IN ('active', 'suspended', 'cancelled')", name="state"),
        CheckConstraint(
            "cancelled_on IS NULL OR cancelled_on >= activated_on", name="cancel_after_activation"
        ),
    )


class AccessNumber(Base):
    """A DID callers dial; tied to one customer, or shared (customer_id NULL)."""

    __tablename__ = "access_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    __table_args__ = tuple(_digits_checks("number"))


class Conference(Base):
    __tablename__ = "conferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    moderator_pin: Mapped[str] = mapped_column(String(8))
    participant_pin: Mapped[str] = mapped_column(String(8))
    max_participants: Mapped[int] = mapped_column(Integer, default=10)
    language: Mapped[str] = mapped_column(String(2), default="nl")
    status: Mapped[ConferenceStatus] = mapped_column(
        _stored_as(ConferenceStatus, 16), default=ConferenceStatus.ACTIVE
    )
    # Per-conference options.
    record_names: Mapped[bool] = mapped_column(Boolean, default=True)
    announce_count: Mapped[bool] = mapped_column(Boolean, default=True)
    participants_join_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Issue 22: meeting features, per conference.
    wait_for_moderator: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    end_with_moderator: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # A moderator who drops and calls back within this many seconds does not end it.
    moderator_grace_seconds: Mapped[int] = mapped_column(
        Integer, default=30, server_default=text("30")
    )
    recording_allowed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    recording_retention_days: Mapped[int] = mapped_column(
        Integer, default=30, server_default=text("30")
    )
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)

    customer: Mapped[Customer] = relationship(back_populates="conferences")

    __table_args__ = (
        *_digits_checks("number"),
        *_pin_checks("moderator_pin"),
        *_pin_checks("participant_pin"),
        CheckConstraint("moderator_pin <> participant_pin", name="pins_differ"),
        CheckConstraint("max_participants BETWEEN 1 AND 500", name="max_participants"),
        CheckConstraint("language IN ('nl', 'en')", name="language"),
        CheckConstraint("status IN ('active', 'suspended', 'deleted')", name="status"),
        CheckConstraint(
            "moderator_grace_seconds BETWEEN 0 AND 600", name="moderator_grace_seconds"
        ),
        CheckConstraint(
            "recording_retention_days BETWEEN 1 AND 3650", name="recording_retention_days"
        ),
    )


class Meeting(Base):
    """One occurrence of a conference: from the first joiner to the last leaver."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"))
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    end_reason: Mapped[MeetingEnd | None] = mapped_column(_stored_as(MeetingEnd, 32))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    muted_all: Mapped[bool] = mapped_column(Boolean, default=False)
    peak_size: Mapped[int] = mapped_column(Integer, default=0)
    fs_conference_name: Mapped[str] = mapped_column(String(64))
    fs_node: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        # At most one meeting in progress per conference, enforced by the database.
        Index(
            "uq_meetings_open_per_conference",
            "conference_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_meetings_conference_started", "conference_id", "started_at"),
        CheckConstraint("peak_size >= 0", name="peak_size"),
    )


class Attendance(Base):
    """One call leg, from arrival to hang-up, whether it joined a meeting or not."""

    __tablename__ = "attendances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    access_number: Mapped[str | None] = mapped_column(String(32))
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    caller_id_number: Mapped[str | None] = mapped_column(String(64))
    caller_id_name: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[Role | None] = mapped_column(_stored_as(Role, 16))
    invited_by_dialout_id: Mapped[int | None] = mapped_column(ForeignKey("dialout_attempts.id"))
    name_recording_path: Mapped[str | None] = mapped_column(String(512))
    member_id: Mapped[int | None] = mapped_column(Integer)
    arrived_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    joined_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    left_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    end_reason: Mapped[EndReason | None] = mapped_column(_stored_as(EndReason, 40))
    # Issue 22: a raised hand (*5), in the order moderators give the floor; how long a
    # participant waited for the moderator before the meeting started (or they left).
    hand_raised_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    waited_seconds: Mapped[int | None] = mapped_column(Integer)
    # The node whose controller holds the caller's own leg (it closes the row; when that
    # node dies a surviving controller closes it as lost). NULL: before the cluster.
    node: Mapped[str | None] = mapped_column(String(64), index=True)

    __table_args__ = (
        CheckConstraint("role IS NULL OR role IN ('moderator', 'participant')", name="role"),
        CheckConstraint(
            "left_at IS NULL OR joined_at IS NULL OR left_at >= joined_at", name="order"
        ),
    )


class Recording(Base):
    """One recorded stretch of a meeting (`*4` start to stop, or to the meeting's end):
    the file FreeSWITCH wrote, kept for the conference's retention days."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    started_by_attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendances.id"))
    # Cluster: the node recording it died or lost the room; this stretch ends at the
    # takeover and the new owner records the rest of the meeting in a row of its own.
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="order"),
    )


class PinFailure(Base):
    """A wrong conference number or PIN; the brute-force limits count these."""

    __tablename__ = "pin_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id"))
    caller_id_number: Mapped[str | None] = mapped_column(String(64))
    call_uuid: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("kind IN ('conference_number', 'pin')", name="kind"),
        Index("ix_pin_failures_conference_at", "conference_id", "at"),
        Index("ix_pin_failures_caller_at", "caller_id_number", "at"),
    )


class PinLockout(Base):
    """A block on PIN entry: one caller ID everywhere, or one conference for callers it
    does not know. Written when failures cross a limit; an operator may clear it."""

    __tablename__ = "pin_lockouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    caller_id_number: Mapped[str | None] = mapped_column(String(64))
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id"))
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    until: Mapped[dt.datetime] = mapped_column(Timestamp)
    failures: Mapped[int] = mapped_column(Integer)
    cleared_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    cleared_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("kind IN ('caller', 'conference')", name="kind"),
        CheckConstraint(
            "(kind = 'caller' AND caller_id_number IS NOT NULL) OR "
            "(kind = 'conference' AND conference_id IS NOT NULL)",
            name="subject",
        ),
        Index("ix_pin_lockouts_until", "until"),
    )


class DialOutAttempt(Base):
    """A moderator's *8 invitation: what was dialled, what happened, how long (for billing)."""

    __tablename__ = "dialout_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    requested_by_call_uuid: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32))
    callee_call_uuid: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    ended_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    result: Mapped[str] = mapped_column(String(32), default="pending")
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("duration_seconds >= 0", name="duration"),
        Index("ix_dialout_attempts_conference_requested", "conference_id", "requested_at"),
    )


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # First day of the billed calendar month.
    period: Mapped[dt.date] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    vat_basis_points: Mapped[int] = mapped_column(Integer)
    total_ex_vat_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[dt.date] = mapped_column(Date)
    # The customer as billed when issued: a later edit of the customer leaves this alone.
    billed_name: Mapped[str] = mapped_column(String(200))
    billed_address: Mapped[str | None] = mapped_column(String(500))
    billed_vat_number: Mapped[str | None] = mapped_column(String(16))

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # The one-invoice-per-customer-and-month rule; concurrent billing runs rely on it.
        UniqueConstraint("customer_id", "period", name="uq_invoices_customer_period"),
        CheckConstraint("total_cents = total_ex_vat_cents + vat_cents", name="totals_add_up"),
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cents: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (
        CheckConstraint("kind IN ('setup', 'monthly', 'dialout')", name="kind"),
        CheckConstraint("amount_cents = quantity * unit_cents", name="amount"),
    )


class CreditNote(Base):
    """Reverses one whole invoice (invoices are never edited or deleted).

    Its own numbered document; its amounts are the invoice's, negated. The unique
    invoice_id is the guard against crediting one invoice twice, concurrent runs included.
    """

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    reason: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    vat_basis_points: Mapped[int] = mapped_column(Integer)
    total_ex_vat_cents: Mapped[int] = mapped_column(BigInteger)
    vat_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (
        CheckConstraint("total_cents = total_ex_vat_cents + vat_cents", name="totals_add_up"),
        CheckConstraint("total_ex_vat_cents <= 0 AND vat_cents <= 0", name="negative"),
        CheckConstraint("length(reason) > 0", name="reason_not_empty"),
    )


class AuditEntry(Base):
    """Who changed what and when, for every operator action that changes something."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    details: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class ControllerNode(Base):
    """A controller's heartbeat: after a crash, the last moment it knew its calls."""

    __tablename__ = "controller_nodes"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # Cluster: where other nodes bridge callers to (host:port of the internal profile),
    # whether new rooms avoid it, and its last heartbeat on the database's clock.
    internal_sip: Mapped[str | None] = mapped_column(String(128))
    # host:port of the node's inbound Event Socket, for `fsconf live` on another machine.
    esl_address: Mapped[str | None] = mapped_column(String(128))
    drained: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    beat_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class RoomLease(Base):
    """Which node owns a conference's room: a lease judged by the database's clock.

    Claimed in one statement; a takeover after expiry bumps `epoch`, and every write and
    command for the room carries the epoch, so a stale owner that comes back is refused.
    """

    __tablename__ = "room_leases"

    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"), primary_key=True)
    node: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    claimed_at: Mapped[dt.datetime] = mapped_column(Timestamp)

    __table_args__ = (
        CheckConstraint("epoch >= 1", name="epoch_positive"),
        Index("ix_room_leases_node", "node"),
    )


class NameRecording(Base):
    """A caller's short recorded name, so the owner node (another disk) can play it."""

    __tablename__ = "name_recordings"

    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendances.id"), primary_key=True)
    audio: Mapped[bytes] = mapped_column(LargeBinary)
