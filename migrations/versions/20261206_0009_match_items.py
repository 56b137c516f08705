"""matches: pins as match_items rows, score terms as columns, no JSON blobs

A match kept its pins as a JSON document of several kilobytes (`details`, with
copied titles, conditions and names that went stale) and its score breakdown as
another (`explanation`). Now each pin each way is a `match_items` row (direction,
position, have, want, pin), joined to the catalogue and the lists when read, and
the score terms are columns (`coverage`, `balance`, `condition`); the wording of
the explanation is made when read. `items_digest` fingerprints a match's pins, so a
refresh tells unchanged pins without reading them.

Every existing match keeps its pins: the documents are read in pages of rows into
a staging table, the blobs are dropped (SQLite rebuilds `matches` for that, and a
rebuilt table must have no `match_items` pointing at it yet, or its rows would be
cascaded away), then the pins whose Have, Want and pin still exist become
`match_items` rows.

Revision ID: 0009matchitems
Revises: 0008haveholderindex
Create Date: 2026-12-06 03:10:00.000000
"""

import hashlib
import json
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = '0009matchitems'
down_revision = '0008haveholderindex'
branch_labels = None
depends_on = None

PAGE = 1000

_matches = sa.table(
    'matches',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('details', sa.JSON),
    sa.column('explanation', sa.JSON),
    sa.column('coverage', sa.Integer),
    sa.column('balance', sa.Float),
    sa.column('condition', sa.Float),
    sa.column('items_digest', sa.String),
)
_staging = sa.table(
    'match_items_staging',
    sa.column('match_id', sa.Integer),
    sa.column('direction', sa.String),
    sa.column('position', sa.Integer),
    sa.column('have_id', sa.Integer),
    sa.column('want_id', sa.Integer),
    sa.column('pin_id', sa.Integer),
)


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # a JSON string stored as a document
        value = json.loads(value)
    return value if isinstance(value, dict) else {}


def _pins(kind: str, details: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The pins each way as the old documents held them: a swap's lists, an
    offer's `offers`, a cycle's one pin each way."""
    if kind == 'offer':
        return [('receive', details.get('offers') or [])]
    receive, give = details.get('receive') or [], details.get('give') or []
    if kind == 'cycle':
        receive, give = [receive] if receive else [], [give] if give else []
    return [('receive', receive), ('give', give)]


def _digest(items: list[dict[str, Any]]) -> str:
    """`items_digest` as the application makes it (store.items_digest), frozen here."""
    text = ';'.join(
        f"{i['direction'][0]}{i['position']},{i['have_id']},{i['want_id']},{i['pin_id']}"
        for i in sorted(items, key=lambda i: (i['direction'], i['position']))
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coverage', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('balance', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('condition', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('items_digest', sa.String(length=16), nullable=True))
    op.create_table(
        'match_items_staging',
        sa.Column('match_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=7), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('have_id', sa.Integer(), nullable=False),
        sa.Column('want_id', sa.Integer(), nullable=False),
        sa.Column('pin_id', sa.Integer(), nullable=False),
    )

    terms = (
        sa.update(_matches)
        .where(_matches.c.id == sa.bindparam('match_id'))
        .values(
            coverage=sa.bindparam('new_coverage'),
            balance=sa.bindparam('new_balance'),
            condition=sa.bindparam('new_condition'),
            items_digest=sa.bindparam('new_items_digest'),
        )
    )
    last = 0
    while True:
        page = bind.execute(
            sa.select(_matches.c.id, _matches.c.kind, _matches.c.details, _matches.c.explanation)
            .where(_matches.c.id > last)
            .order_by(_matches.c.id)
            .limit(PAGE)
        ).all()
        if not page:
            break
        last = page[-1].id
        updates, items = [], []
        for match_id, kind, details, explanation in page:
            details, explanation = _document(details), _document(explanation)
            coverage = explanation.get('coverage') if kind != 'cycle' else None
            balance = explanation.get('balance') if kind == 'swap' else None
            own = []
            for direction, pins in _pins(kind, details):
                for position, pin in enumerate(p for p in pins if isinstance(p, dict)):
                    ids = [_number(pin.get(k)) for k in ('have_id', 'want_id', 'pin_id')]
                    if None not in ids:
                        own.append(
                            dict(zip(('have_id', 'want_id', 'pin_id'), ids, strict=True))
                            | {'match_id': match_id, 'direction': direction, 'position': position}
                        )
            items += own
            updates.append(
                {
                    'match_id': match_id,
                    'new_coverage': _number(coverage),
                    'new_balance': None if balance is None else float(balance),
                    'new_condition': float(explanation.get('condition') or 0.0),
                    # Of the pins as documented: one whose Have or Want is gone
                    # can never be found again, so its match is rewritten anyway.
                    'new_items_digest': _digest(own),
                }
            )
        bind.execute(terms, updates)
        if items:
            bind.execute(sa.insert(_staging), items)

    op.execute("UPDATE matches SET condition = 0 WHERE condition IS NULL")
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.alter_column('condition', existing_type=sa.Float(), nullable=False)
        batch_op.drop_column('details')
        batch_op.drop_column('explanation')

    # Addressed by (match, direction, position), no surrogate id; `pin_id` has no
    # foreign key: a deleted pin takes its Haves and Wants, which take the items.
    op.create_table(
        'match_items',
        sa.Column('match_id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=7), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('have_id', sa.Integer(), nullable=False),
        sa.Column('want_id', sa.Integer(), nullable=False),
        sa.Column('pin_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "direction IN ('receive', 'give')", name=op.f('ck_match_items_direction')
        ),
        sa.ForeignKeyConstraint(
            ['have_id'], ['haves.id'], name=op.f('fk_match_items_have_id_haves'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['match_id'], ['matches.id'], name=op.f('fk_match_items_match_id_matches'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['want_id'], ['wants.id'], name=op.f('fk_match_items_want_id_wants'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('match_id', 'direction', 'position', name=op.f('pk_match_items')),
    )
    with op.batch_alter_table('match_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_items_have_id'), ['have_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_items_want_id'), ['want_id'], unique=False)
    # Only pins whose Have, Want and pin are still listed: a deleted one took its
    # pin out of the match, as it does from now on.
    op.execute(
        """
        INSERT INTO match_items (match_id, direction, position, have_id, want_id, pin_id)
        SELECT s.match_id, s.direction, s.position, s.have_id, s.want_id, s.pin_id
          FROM match_items_staging s
          JOIN matches m ON m.id = s.match_id
          JOIN haves h ON h.id = s.have_id
          JOIN wants w ON w.id = s.want_id
          JOIN pins p ON p.id = s.pin_id
         ORDER BY s.match_id, s.direction, s.position
        """
    )
    op.drop_table('match_items_staging')


def downgrade() -> None:
    """The documents come back with the pins' row ids and the score terms; titles
    and conditions were never meant to be kept, and are left out."""
    bind = op.get_bind()
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('explanation', sa.JSON(), nullable=True))
    items = sa.table(
        'match_items',
        sa.column('match_id', sa.Integer),
        sa.column('direction', sa.String),
        sa.column('position', sa.Integer),
        sa.column('have_id', sa.Integer),
        sa.column('want_id', sa.Integer),
        sa.column('pin_id', sa.Integer),
    )
    pins: dict[int, dict[str, list[dict[str, int]]]] = {}
    for match_id, direction, _, have_id, want_id, pin_id in bind.execute(
        sa.select(items).order_by(items.c.match_id, items.c.direction, items.c.position)
    ):
        pins.setdefault(match_id, {}).setdefault(direction, []).append(
            {'have_id': have_id, 'want_id': want_id, 'pin_id': pin_id}
        )
    documents = []
    for match_id, kind, coverage, balance, condition in bind.execute(
        sa.select(
            _matches.c.id, _matches.c.kind, _matches.c.coverage, _matches.c.balance,
            _matches.c.condition,
        )
    ):
        each = pins.get(match_id, {})
        receive, give = each.get('receive', []), each.get('give', [])
        if kind == 'offer':
            details: dict[str, Any] = {'offers': receive}
        elif kind == 'cycle':
            details = {'receive': receive[0] if receive else {}, 'give': give[0] if give else {}}
        else:
            details = {'receive': receive, 'give': give}
        documents.append(
            {
                'match_id': match_id,
                'new_details': details,
                'new_explanation': {
                    'coverage': coverage, 'balance': balance, 'condition': condition,
                },
            }
        )
    if documents:
        bind.execute(
            sa.update(_matches)
            .where(_matches.c.id == sa.bindparam('match_id'))
            .values(
                details=sa.bindparam('new_details', type_=sa.JSON),
                explanation=sa.bindparam('new_explanation', type_=sa.JSON),
            ),
            documents,
        )
    op.drop_table('match_items')
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.alter_column('details', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('explanation', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('items_digest')
        batch_op.drop_column('condition')
        batch_op.drop_column('balance')
        batch_op.drop_column('coverage')
