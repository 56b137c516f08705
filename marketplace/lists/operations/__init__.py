"""Have and Want lists: the verbs on entries (one implementation for both kinds,
handed `HAVES` or `WANTS`), entry values, series completion, charts, the public
collection page and photos.

Every change to a collector's lists records one outbox event per transaction,
`workers.tasks.refresh_collector_matches(user_id=…)`, so that matching refreshes
just that collector once the change is committed.

`Lists` gathers the verbs on one session. Its `add_have`/`add_want`-style names are
the kind-bound spellings of the same verbs, kept for callers that name the kind in
the verb.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.core.pagination import Page
from marketplace.lists.models import Condition, Have, Want
from marketplace.lists.operations.changes import MAX_CHANGED_PINS, REFRESH_TASK, note_list_change
from marketplace.lists.operations.collection import (
    Bar,
    CollectionQueries,
    SeriesProgress,
    pin_interest,
)
from marketplace.lists.operations.entries import (
    MAX_PHOTOS,
    PER_PAGE,
    EntryOperations,
    ListFilters,
)
from marketplace.lists.operations.kinds import (
    HAVE_SORTS,
    HAVES,
    KINDS,
    WANT_SORTS,
    WANTS,
    ListKind,
    list_kind,
)
from marketplace.lists.operations.receiving import receive_copies
from marketplace.lists.operations.values import (
    MAX_NOTES,
    MAX_PRICE,
    MAX_QUANTITY,
    check_notes,
    check_priority,
    check_quantity,
    condition_choices,
    defect_slugs,
    parse_condition,
    parse_defects,
    parse_money,
)

__all__ = [
    "HAVES",
    "HAVE_SORTS",
    "KINDS",
    "MAX_CHANGED_PINS",
    "MAX_NOTES",
    "MAX_PHOTOS",
    "MAX_PRICE",
    "MAX_QUANTITY",
    "PER_PAGE",
    "REFRESH_TASK",
    "WANTS",
    "WANT_SORTS",
    "Bar",
    "ListFilters",
    "ListKind",
    "Lists",
    "SeriesProgress",
    "check_notes",
    "check_priority",
    "check_quantity",
    "condition_choices",
    "defect_slugs",
    "list_kind",
    "note_list_change",
    "parse_condition",
    "parse_defects",
    "parse_money",
    "pin_interest",
    "receive_copies",
]


class Lists(EntryOperations, CollectionQueries):
    """List operations for collectors, on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_have(
        self,
        user: User,
        pin_id: int,
        *,
        quantity: Any = 1,
        condition: Any = Condition.FINE,
        defects: Any = 0,
        tradeable: bool = True,
        price: Any = None,
        currency: Any = None,
        notes: str | None = None,
        merge: bool = False,
    ) -> Have:
        have: Have = self.add(
            HAVES, user, pin_id=pin_id, quantity=quantity, condition=condition,
            defects=defects, tradeable=tradeable, price=price, currency=currency,
            notes=notes, merge=merge,
        )  # fmt: skip
        return have

    def add_want(self, user: User, **fields: Any) -> Want:
        want: Want = self.add(WANTS, user, **fields)
        return want

    def get_have(self, user: User, have_id: int) -> Have:
        have: Have = self.get(HAVES, user, have_id)
        return have

    def get_want(self, user: User, want_id: int) -> Want:
        want: Want = self.get(WANTS, user, want_id)
        return want

    def update_have(self, user: User, have_id: int, **changes: Any) -> Have:
        have: Have = self.update(HAVES, user, have_id, **changes)
        return have

    def update_want(self, user: User, want_id: int, **changes: Any) -> Want:
        want: Want = self.update(WANTS, user, want_id, **changes)
        return want

    def delete_have(self, user: User, have_id: int) -> list[str]:
        return self.remove(HAVES, user, have_id)

    def delete_want(self, user: User, want_id: int) -> None:
        self.remove(WANTS, user, want_id)

    def haves(self, user_id: int, filters: ListFilters) -> Page[Have]:
        return self.browse(HAVES, user_id, filters)

    def wants(self, user_id: int, filters: ListFilters) -> Page[Want]:
        return self.browse(WANTS, user_id, filters)

    def delete_all(self, user: User, kind: str) -> int:
        return self.remove_all(kind, user)
