"""matches: a match's pins are addressed by their Have and Want, not by place

`match_items` rows were keyed by (match, direction, position). A new Want puts
its pin somewhere in a swap's order, so every pin after it changed position,
and a refresh deleted and inserted those rows again (each insert checking three
foreign keys and writing three indexes): 110 deleted and 166 inserted rows per
refresh after a Want for a popular pin, at 100k collectors. Keyed by (match,
direction, Have, Want), a pin that only moves has its `position` updated in
place; the order the pages show is still `position`.

A match never pairs the same Have with the same Want twice in one direction, so
the new key holds for every existing row.

Revision ID: 0016matchitemsbypairing
Revises: 0015catalogueorder
Create Date: 2026-12-06 20:40:00.000000
"""

from alembic import op


revision = '0016matchitemsbypairing'
down_revision = '0015catalogueorder'
branch_labels = None
depends_on = None


def _key(columns: list[str]) -> None:
    with op.batch_alter_table('match_items', schema=None) as batch_op:
        batch_op.drop_constraint('pk_match_items', type_='primary')
        batch_op.create_primary_key('pk_match_items', columns)


def upgrade() -> None:
    _key(['match_id', 'direction', 'have_id', 'want_id'])


def downgrade() -> None:
    _key(['match_id', 'direction', 'position'])
