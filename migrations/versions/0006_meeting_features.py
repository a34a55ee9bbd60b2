"""meeting features (issue 22): wait for / end with the moderator, recording settings,
raised hands, waiting time, recordings

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.add_column(
            sa.Column("wait_for_moderator", sa.Boolean(), server_default=sa.false(),
                      nullable=False)
        )
        batch.add_column(
            sa.Column("end_with_moderator", sa.Boolean(), server_default=sa.false(),
                      nullable=False)
        )
        batch.add_column(
            sa.Column("moderator_grace_seconds", sa.Integer(), server_default=sa.text("30"),
                      nullable=False)
        )
        batch.add_column(
            sa.Column("recording_allowed", sa.Boolean(), server_default=sa.true(),
                      nullable=False)
        )
        batch.add_column(
            sa.Column("recording_retention_days", sa.Integer(), server_default=sa.text("30"),
                      nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_conferences_moderator_grace_seconds"),
            "moderator_grace_seconds BETWEEN 0 AND 600",
        )
        batch.create_check_constraint(
            op.f("ck_conferences_recording_retention_days"),
            "recording_retention_days BETWEEN 1 AND 3650",
        )
    with op.batch_alter_table("attendances") as batch:
        batch.add_column(sa.Column("hand_raised_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("waited_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("started_by_attendance_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_recordings_order")
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"], ["conferences.id"],
            name=op.f("fk_recordings_conference_id_conferences"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_recordings_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_attendance_id"], ["attendances.id"],
            name=op.f("fk_recordings_started_by_attendance_id_attendances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings") as batch:
        batch.create_index(batch.f("ix_recordings_conference_id"), ["conference_id"])
        batch.create_index(batch.f("ix_recordings_meeting_id"), ["meeting_id"])


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_index(batch.f("ix_recordings_meeting_id"))
        batch.drop_index(batch.f("ix_recordings_conference_id"))
    op.drop_table("recordings")
    with op.batch_alter_table("attendances") as batch:
        batch.drop_column("waited_seconds")
        batch.drop_column("hand_raised_at")
    with op.batch_alter_table("conferences") as batch:
        batch.drop_constraint(op.f("ck_conferences_recording_retention_days"), type_="check")
        batch.drop_constraint(op.f("ck_conferences_moderator_grace_seconds"), type_="check")
        batch.drop_column("recording_retention_days")
        batch.drop_column("recording_allowed")
        batch.drop_column("moderator_grace_seconds")
        batch.drop_column("end_with_moderator")
        batch.drop_column("wait_for_moderator")
