"""PIN lockouts as rows: listed and cleared by the operator, each one audited

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pin_lockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("caller_id_number", sa.String(length=64), nullable=True),
        sa.Column("conference_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("kind IN ('caller', 'conference')", name=op.f("ck_pin_lockouts_kind")),
        sa.CheckConstraint(
            "(kind = 'caller' AND caller_id_number IS NOT NULL) OR "
            "(kind = 'conference' AND conference_id IS NOT NULL)",
            name=op.f("ck_pin_lockouts_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["conference_id"],
            ["conferences.id"],
            name=op.f("fk_pin_lockouts_conference_id_conferences"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_lockouts")),
    )
    with op.batch_alter_table("pin_lockouts", schema=None) as batch_op:
        batch_op.create_index("ix_pin_lockouts_until", ["until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pin_lockouts", schema=None) as batch_op:
        batch_op.drop_index("ix_pin_lockouts_until")
    op.drop_table("pin_lockouts")
