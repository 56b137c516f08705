"""What a notification mail says, in the collector's own language: the subject
(counted in their plural), and each item as the mail templates show it — the
pins each way with their links, who sends and who receives in a ring, and the
series an incoming pin completes.
`NoteMail.render` turns a collector's notes into the message to queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin, Series
from marketplace.lists.models import Have
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage
from marketplace.notifications.models import Notification

if TYPE_CHECKING:
    from marketplace.notifications.operations import Links

MATCH_KINDS = ("swap", "offer", "cycle")

# What a trade step, a message or an order note is called when its payload
# brings no title of its own.
KIND_TITLES = {
    "trade": _l("Trade update"),
    "message": _l("New message"),
    "order": _l("Order update"),
}


def subject_for(items: list[dict[str, Any]], period: str | None) -> str:
    """The subject of a notification mail, in the language being rendered:
    counted in the reader's plural ("21 новое совпадение", "22 нових збіги")."""
    n = len(items)
    if period == "daily":
        return ngettext(
            "Your daily digest: %(num)d new match", "Your daily digest: %(num)d new matches", n
        )
    if period:
        return ngettext(
            "Your weekly digest: %(num)d new match", "Your weekly digest: %(num)d new matches", n
        )
    if n == 1 and items[0]["kind"] not in MATCH_KINDS:
        return str(items[0]["title"])  # a trade step says what happened
    if n == 1:
        return gettext("New match: %(title)s", title=items[0]["title"])
    return ngettext(
        "%(num)d new match on Znachki Exchange", "%(num)d new matches on Znachki Exchange", n
    )


class NoteMail:
    """Renders notification mail, reading what it needs (series, owned pins)."""

    def __init__(self, session: Session, links: Links) -> None:
        self.session = session
        self.links = links

    def render(
        self, user: User, notes: list[Notification], template: str, period: str | None,
        series: dict[int, tuple[int, int | None]],
    ) -> MailMessage:  # fmt: skip
        """The mail in the collector's own language: titles, labels, subject and
        the templates' words alike."""
        with mail.language(user.locale) as locale:
            items = [self._item(user, n, series) for n in sorted(notes, key=rank)]
            subject = subject_for(items, period)
        kinds = sorted({n.kind for n in notes})
        unsubscribe_kind = kinds[0] if len(kinds) == 1 else "all"
        unsubscribe_url = self.links.unsubscribe(user.id, unsubscribe_kind)
        return mail.render(
            to=user.email,
            template=template,
            locale=locale,
            user_id=user.id,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            subject=subject,
            items=items,
            name=user.display_name,
            base_url=self.links.base_url,
            unsubscribe_url=unsubscribe_url,
        )

    def _item(
        self, user: User, note: Notification, series: dict[int, tuple[int, int | None]]
    ) -> dict[str, Any]:
        payload = note.payload
        name = payload.get("counterpart") or ""
        if note.kind == "cycle":
            n = len(payload.get("members") or []) or 3
            title = ngettext(
                "A trade ring with %(num)d collector", "A trade ring with %(num)d collectors", n
            )
        elif note.kind == "swap":
            title = gettext("Swap with %(name)s", name=name)
        elif note.kind == "offer":
            title = gettext("%(name)s has what you want", name=name)
        else:
            title = payload.get("title") or str(KIND_TITLES.get(note.kind, note.kind))
        base = self.links.base_url
        return {
            "title": title,
            "kind": note.kind,
            "stars": payload.get("best_stars"),
            "receive": [pin_link(base, i) for i in payload.get("receive", [])],
            "give": [pin_link(base, i) for i in payload.get("give", [])],
            # Rings name who sends what you get and who receives what you give.
            # Names are not declined in Russian or Ukrainian: they stand as a label.
            "get_label": (
                gettext("You get from %(name)s", name=payload["sender"])
                if payload.get("sender")
                else gettext("You get")
            ),
            "give_label": (
                gettext("You give to %(name)s", name=payload["recipient"])
                if payload.get("recipient")
                else gettext("You give")
            ),
            "completes": self._completed_series(user.id, payload.get("receive", []), series),
            "url": payload.get("url") or f"{base}/matches",
            "text": payload.get("text"),
        }

    def series_of(self, pin_ids: Iterable[Any]) -> dict[int, tuple[int, int | None]]:
        """pin id → (series, number in it), for the pins that belong to a series."""
        ids = sorted({int(i) for i in pin_ids if i})
        if not ids:
            return {}
        return {
            pin_id: (series_id, number)
            for pin_id, series_id, number in self.session.execute(
                select(Pin.id, Pin.series_id, Pin.series_number).where(
                    Pin.id.in_(ids), Pin.series_id.is_not(None)
                )
            )
            if series_id is not None
        }

    def _completed_series(
        self, user_id: int, receive: Iterable[dict[str, Any]],
        series_of: dict[int, tuple[int, int | None]],
    ) -> list[str]:  # fmt: skip
        """Series that the incoming pins would complete for this collector."""
        pin_ids = [int(i["pin_id"]) for i in receive if i.get("pin_id")]
        incoming = [series_of[p] for p in pin_ids if p in series_of]
        done = []
        for series_id in {s for s, _ in incoming}:
            series = self.session.get(Series, series_id)
            if series is None or not series.set_size:
                continue
            owned = set(
                self.session.scalars(
                    select(Pin.series_number)
                    .join(Have, Have.pin_id == Pin.id)
                    .where(Have.user_id == user_id, Pin.series_id == series_id)
                )
            )
            owned |= {n for s, n in incoming if s == series_id}
            if set(range(1, series.set_size + 1)) <= owned:
                done.append(series.name)
        return sorted(done)


def rank(note: Notification) -> tuple[int, int, int]:
    """Most wanted first (`priority` 1 = a five-star want); then swaps, rings,
    offers."""
    order = {"swap": 0, "cycle": 1, "offer": 2}
    return (note.priority, order.get(note.kind, 3), note.id)


def pin_link(base: str, item: dict[str, Any]) -> dict[str, Any]:
    pin_id = item.get("pin_id")
    return {
        **item,
        "url": f"{base}/pins/{pin_id}" if pin_id else base,
        "image": f"{base}/pins/{pin_id}/stand-in.svg" if pin_id else None,
    }
