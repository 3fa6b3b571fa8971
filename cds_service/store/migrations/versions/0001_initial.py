"""Feedback, response audit trail and JWT replay cache.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cds_service.store.schema import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_timestamp", sa.Text(), nullable=True),
        sa.Column("override_reason_system", sa.Text(), nullable=True),
        sa.Column("override_reason_code", sa.Text(), nullable=True),
        sa.Column("override_reason_display", sa.Text(), nullable=True),
        sa.Column("override_comment", sa.Text(), nullable=True),
        sa.Column("accepted_suggestions", sa.Text(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("dedup_key", name="uq_feedback_dedup_key"),
    )
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])

    op.create_table(
        "audit_response",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("hook_instance", sa.Text(), nullable=False),
        sa.Column("patient_hash", sa.String(64), nullable=True),
        sa.Column("kb_version", sa.String(100), nullable=True),
        sa.Column("card_count", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_audit_response_created_at", "audit_response", ["created_at"])

    op.create_table(
        "audit_card",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "response_id",
            sa.Integer(),
            sa.ForeignKey("audit_response.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("card_uuid", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(100), nullable=True),
        sa.Column("rule_ids", sa.Text(), nullable=True),
        sa.Column("indicator", sa.String(20), nullable=True),
    )
    op.create_index("ix_audit_card_response_id", "audit_card", ["response_id"])
    op.create_index("ix_audit_card_card_uuid", "audit_card", ["card_uuid"])

    op.create_table(
        "jwt_jti",
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("jti", sa.String(256), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name="pk_jwt_jti"),
    )
    op.create_index("ix_jwt_jti_expires_at", "jwt_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_table("jwt_jti")
    op.drop_table("audit_card")
    op.drop_table("audit_response")
    op.drop_table("feedback")
