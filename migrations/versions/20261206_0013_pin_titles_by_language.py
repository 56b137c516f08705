"""catalogue: a pin's title in each reader's language

A pin's title beside its English one, a row per language (pin_titles), not a
column each: the catalogue keeps titles in Russian, Ukrainian and Estonian and
a language more is then data, not a migration; a pin without a title in some
language has no row, and its readers are shown the legend's transliteration
(marketplace.catalogue.titles). The composite primary key (pin_id, language) is
the one-title-per-language rule and the index the pin page reads it by.

Search needs nothing here: the titles' spellings join the pin's stored title
spellings (pins.search_title), which the full-text indexes already cover
(PostgreSQL tsvector, SQLite FTS5). Pins have no titles yet when this runs;
`znachki catalogue load-demo` adds the demo catalogue's.

Revision ID: 0013titles
Revises: 0012trust
Create Date: 2026-12-06 11:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0013titles'
down_revision = '0012trust'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pin_titles',
    sa.Column('pin_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.CheckConstraint("language <> 'en'", name=op.f('ck_pin_titles_not_english')),
    sa.ForeignKeyConstraint(['pin_id'], ['pins.id'], name=op.f('fk_pin_titles_pin_id_pins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pin_id', 'language', name=op.f('pk_pin_titles'))
    )


def downgrade() -> None:
    op.drop_table('pin_titles')
