"""verified purchases: ordered_products and purchases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ordered_products',
    sa.Column('order_id', sa.String(length=64), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('order_id', 'product_id')
    )
    op.create_table('purchases',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('first_order_id', sa.String(length=64), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'product_id')
    )


def downgrade() -> None:
    op.drop_table('purchases')
    op.drop_table('ordered_products')
