"""invoice parties: customer address and VAT number, invoice due date and billed party,
credit notes

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Invoices issued before this migration get the default payment terms of that time.
BACKFILL_PAYMENT_TERMS_DAYS = 14


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("address", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("vat_number", sa.String(length=16), nullable=True))
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("billed_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("billed_address", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("billed_vat_number", sa.String(length=16), nullable=True))

    # Existing invoices: the customer's name as it is now, due 14 days after issue.
    bind = op.get_bind()
    invoices = sa.table(
        "invoices",
        sa.column("id", sa.Integer()),
        sa.column("customer_id", sa.Integer()),
        sa.column("issued_at", sa.DateTime()),
        sa.column("due_on", sa.Date()),
        sa.column("billed_name", sa.String()),
    )
    customers = sa.table("customers", sa.column("id", sa.Integer()), sa.column("name", sa.String()))
    rows = bind.execute(
        sa.select(invoices.c.id, invoices.c.issued_at, customers.c.name).join(
            customers, customers.c.id == invoices.c.customer_id
        )
    ).all()
    for invoice_id, issued_at, name in rows:
        due = issued_at.date() + dt.timedelta(days=BACKFILL_PAYMENT_TERMS_DAYS)
        bind.execute(
            invoices.update()
            .where(invoices.c.id == invoice_id)
            .values(due_on=due, billed_name=name)
        )
    with op.batch_alter_table("invoices") as batch:
        batch.alter_column("due_on", existing_type=sa.Date(), nullable=False)
        batch.alter_column("billed_name", existing_type=sa.String(length=200), nullable=False)

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("vat_basis_points", sa.Integer(), nullable=False),
        sa.Column("total_ex_vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("vat_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "total_cents = total_ex_vat_cents + vat_cents",
            name=op.f("ck_credit_notes_totals_add_up"),
        ),
        sa.CheckConstraint(
            "total_ex_vat_cents <= 0 AND vat_cents <= 0", name=op.f("ck_credit_notes_negative")
        ),
        sa.CheckConstraint("length(reason) > 0", name=op.f("ck_credit_notes_reason_not_empty")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_credit_notes_invoice_id")),
    )


def downgrade() -> None:
    op.drop_table("credit_notes")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("billed_vat_number")
        batch.drop_column("billed_address")
        batch.drop_column("billed_name")
        batch.drop_column("due_on")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("vat_number")
        batch.drop_column("address")
