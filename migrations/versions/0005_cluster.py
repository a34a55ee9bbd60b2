"""cluster: room leases (owner node, epoch, expiry on the database clock), node
addresses / drain / heartbeat, the node holding each caller's leg, name recordings

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("controller_nodes") as batch:
        batch.add_column(sa.Column("internal_sip", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("esl_address", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("drained", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("beat_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("attendances") as batch:
        batch.add_column(sa.Column("node", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_attendances_node"), ["node"], unique=False)
    op.create_table(
        "room_leases",
        sa.Column("conference_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("epoch >= 1", name=op.f("ck_room_leases_epoch_positive")),
        sa.ForeignKeyConstraint(
            ["conference_id"], ["conferences.id"],
            name=op.f("fk_room_leases_conference_id_conferences"),
        ),
        sa.PrimaryKeyConstraint("conference_id", name=op.f("pk_room_leases")),
    )
    op.create_index("ix_room_leases_node", "room_leases", ["node"], unique=False)
    op.create_table(
        "name_recordings",
        sa.Column("attendance_id", sa.Integer(), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attendance_id"], ["attendances.id"],
            name=op.f("fk_name_recordings_attendance_id_attendances"),
        ),
        sa.PrimaryKeyConstraint("attendance_id", name=op.f("pk_name_recordings")),
    )


def downgrade() -> None:
    op.drop_table("name_recordings")
    op.drop_index("ix_room_leases_node", table_name="room_leases")
    op.drop_table("room_leases")
    with op.batch_alter_table("attendances") as batch:
        batch.drop_index(batch.f("ix_attendances_node"))
        batch.drop_column("node")
    with op.batch_alter_table("controller_nodes") as batch:
        batch.drop_column("beat_at")
        batch.drop_column("drained")
        batch.drop_column("esl_address")
        batch.drop_column("internal_sip")
