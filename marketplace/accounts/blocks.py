"""Blocks between collectors: who blocked whom, asked either way.

A block works in both directions — neither side can message the other, propose a
trade to them or see them in matches — so every question here is symmetric
except `block` itself, which records who chose it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from flask_babel import gettext as _
from sqlalchemy import Table, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from marketplace.accounts.models import Block, User
from marketplace.core.errors import InvalidInput, NotFound


def block(session: Session, blocker_id: int, blocked_id: int) -> bool:
    """Block a collector; True if this made a new block (blocking twice is harmless)."""
    if blocker_id == blocked_id:
        raise InvalidInput({"user_id": [_("You cannot block yourself.")]})
    if session.get(User, blocked_id) is None:
        raise NotFound(_("No such collector."))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # RETURNING names the row only if it was inserted: the row count after ON
    # CONFLICT DO NOTHING is not reliable through every driver (-1 on PostgreSQL).
    table = cast(Table, Block.__table__)
    made = session.execute(
        insert(table)
        .values(blocker_id=blocker_id, blocked_id=blocked_id)
        .on_conflict_do_nothing()
        .returning(table.c.blocker_id)
    ).first()
    return made is not None


def unblock(session: Session, blocker_id: int, blocked_id: int) -> bool:
    """Lift a block this collector made; True if there was one."""
    result = session.execute(
        delete(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def is_blocked(session: Session, a: int, b: int) -> bool:
    """Whether either of the two has blocked the other."""
    found = session.scalar(
        select(Block.blocker_id)
        .where(
            or_(
                (Block.blocker_id == a) & (Block.blocked_id == b),
                (Block.blocker_id == b) & (Block.blocked_id == a),
            )
        )
        .limit(1)
    )
    return found is not None


def blocked_either_way(session: Session, user_id: int) -> set[int]:
    """Every collector this one blocked or was blocked by."""
    rows = session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id == user_id, Block.blocked_id == user_id)
        )
    )
    return {b if a == user_id else a for a, b in rows}


def any_blocked(session: Session, user_ids: Iterable[int]) -> bool:
    """Whether any two of these collectors (a ring's members) block each other."""
    ids = sorted(set(user_ids))
    if len(ids) < 2:
        return False
    found = session.scalar(
        select(Block.blocker_id)
        .where(Block.blocker_id.in_(ids), Block.blocked_id.in_(ids))
        .limit(1)
    )
    return found is not None


def blocked_by_me(session: Session, user_id: int) -> list[Block]:
    """The blocks this collector made, newest first (their blocks page)."""
    return list(
        session.scalars(
            select(Block).where(Block.blocker_id == user_id).order_by(Block.created_at.desc())
        )
    )
