"""signatures 2.0 and form drafts: blueprints say whether they take a signature, signatures
carry a palette and a preview image, users star signatures and keep form drafts

Existing blueprints of the "Image" category keep taking signatures; the others stop (a code
review never wanted one). The catalog import sets the flag explicitly from then on.

Revision ID: 76805f94564f
Revises: ed1deb668ebb
Create Date: 2026-11-25 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from promptgen.models import UTCDateTime

revision: str = "76805f94564f"
down_revision: str | None = "ed1deb668ebb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "supported_templates",
        sa.Column("takes_signature", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE supported_templates SET takes_signature = (lower(category) = 'image')")
    op.add_column(
        "visual_signatures",
        sa.Column("palette", sa.JSON(), nullable=False, server_default="[]"),
    )
    op.add_column("visual_signatures", sa.Column("preview_image", sa.LargeBinary(), nullable=True))
    op.add_column(
        "visual_signatures",
        sa.Column("preview_mime_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    )
    op.add_column(
        "visual_signatures",
        sa.Column("preview_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    with op.batch_alter_table("visual_signatures") as batch:
        batch.alter_column("palette", server_default=None)
    op.create_table(
        "signature_favorites",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["signature_id"], ["visual_signatures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "signature_id"),
    )
    op.create_table(
        "form_drafts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("field_values", sa.JSON(), nullable=False),
        sa.Column("signatures", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_id"], ["supported_templates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "template_id"),
    )


def downgrade() -> None:
    op.drop_table("form_drafts")
    op.drop_table("signature_favorites")
    with op.batch_alter_table("visual_signatures") as batch:
        batch.drop_column("preview_sha256")
        batch.drop_column("preview_mime_type")
        batch.drop_column("preview_image")
        batch.drop_column("palette")
    with op.batch_alter_table("supported_templates") as batch:
        batch.drop_column("takes_signature")
