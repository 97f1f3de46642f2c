"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Until the first release the initial revision builds the tables from ``registry.tables``; every
change after a release is a new revision with explicit operations.
"""

from alembic import op

from registry.tables import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    metadata.drop_all(bind=op.get_bind())
