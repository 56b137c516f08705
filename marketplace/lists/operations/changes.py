"""The one outbox event per collector and transaction that tells matching what in
their lists changed (`workers.tasks.refresh_collector_matches(user_id=…)`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from marketplace.core import outbox

REFRESH_TASK = "workers.tasks.refresh_collector_matches"

# A change touching more pins than this (a CSV import, "delete all") asks for a
# full refresh instead of listing them: the event payload stays small.
MAX_CHANGED_PINS = 500


def note_list_change(
    session: Session,
    user_id: int,
    *,
    have_pins: Iterable[int] = (),
    want_pins: Iterable[int] = (),
    want_groups: Iterable[str] = (),
    full: bool = False,
) -> None:
    """One refresh event per collector per transaction, however many rows changed.

    The event says what changed, so matching can refresh only that: the pins whose
    Haves changed (`have_pins`), the pins of exact Wants (`want_pins`) and the
    variant groups of "any variant" Wants (`want_groups`), accumulated over the
    transaction. A caller that names nothing (or `full`), or more than
    MAX_CHANGED_PINS pins in all, makes it `{"user_id": …, "full": true}`."""
    transaction = session.get_transaction()
    seen: tuple[Any, dict[int, Any]] | None = session.info.get("lists_refresh")
    if seen is None or seen[0] is not transaction:
        seen = (transaction, {})
        session.info["lists_refresh"] = seen
    haves, wants, groups = set(have_pins), set(want_pins), set(want_groups)
    full = full or not (haves or wants or groups)
    message = seen[1].get(user_id)
    if message is None or message not in session:  # (or its savepoint rolled back)
        message = seen[1][user_id] = outbox.enqueue(session, REFRESH_TASK, user_id=user_id)
        payload: dict[str, Any] = {"user_id": user_id, "have_pins": [], "want_pins": []}
        payload["want_groups"] = []
    else:
        payload = dict(message.payload)
    if not payload.get("full"):
        haves.update(payload["have_pins"])
        wants.update(payload["want_pins"])
        groups.update(payload["want_groups"])
        if full or len(haves) + len(wants) + len(groups) > MAX_CHANGED_PINS:
            payload = {"user_id": user_id, "full": True}
        else:
            payload.update(
                have_pins=sorted(haves), want_pins=sorted(wants), want_groups=sorted(groups)
            )
    if payload != message.payload:
        message.payload = payload
        session.flush()
