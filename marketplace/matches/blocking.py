"""What a block does to stored matches: the swaps and offers between the two
collectors, both ways, turn inactive at once.

Reading matches filters blocked pairs anyway (`queries.not_blocked`), so a
refresh that finds the pair again shows nothing; turning the rows inactive
makes the block take effect everywhere a match is counted as current (photos
shown to a match's counterpart, pending mail)."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from marketplace.core.models import utcnow
from marketplace.matches.models import Match
from marketplace.matches.store import deactivate


def deactivate_between(session: Session, a: int, b: int) -> int:
    """Turn inactive every active match of `a` with `b` and of `b` with `a`;
    how many there were."""
    ids = list(
        session.scalars(
            select(Match.id).where(
                Match.active.is_(True),
                or_(
                    and_(Match.user_id == a, Match.counterpart_id == b),
                    and_(Match.user_id == b, Match.counterpart_id == a),
                ),
            )
        )
    )
    deactivate(session, ids, utcnow())
    return len(ids)
