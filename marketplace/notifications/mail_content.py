"""What a notification mail says: the words in each language, the subject, and
each item as the mail templates show it — the pins each way with their links,
who sends and who receives in a ring, and the series an incoming pin completes.
`NoteMail.render` turns a collector's notes into the message to queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "swap": "Swap with {name}",
        "offer": "{name} has what you want",
        "cycle": "A trade ring with {n} collectors",
        "you_get": "You get",
        "you_give": "You give",
        "you_get_from": "You get from {name}",
        "you_give_to": "You give to {name}",
        "completes": "This completes your set “{series}”!",
        "instant_subject": "New match: {first}",
        "instant_subject_many": "{n} new matches on Znachki Exchange",
        "digest_subject": "Your {period} digest: {n} new matches",
        "daily": "daily",
        "weekly": "weekly",
        "see_all": "See all your matches",
        "unsubscribe": "Unsubscribe from these emails",
        "settings": "Notification settings",
        "stars": "wanted {stars}",
        "trade": "Trade update",
        "message": "New message",
        "order": "Order update",
    },
    "ru": {
        "swap": "Обмен с {name}",
        "offer": "У {name} есть то, что вы ищете",
        "cycle": "Цепочка обмена из {n} коллекционеров",
        "you_get": "Вы получаете",
        "you_give": "Вы отдаёте",
        # Names are not declined: "from"/"to" as a label, not a preposition.
        "you_get_from": "Вы получаете (отправитель: {name})",
        "you_give_to": "Вы отдаёте (получатель: {name})",
        "completes": "Это завершает вашу серию «{series}»!",
        "instant_subject": "Новое совпадение: {first}",
        "instant_subject_many": "{n} новых совпадений на Znachki Exchange",
        "digest_subject": "Ваша {period} сводка: {n} новых совпадений",
        "daily": "ежедневная",
        "weekly": "еженедельная",
        "see_all": "Все ваши совпадения",
        "unsubscribe": "Отписаться от этих писем",
        "settings": "Настройки уведомлений",
        "stars": "желанность {stars}",
        "trade": "Обновление обмена",
        "message": "Новое сообщение",
        "order": "Обновление заказа",
    },
}


def strings(locale: str) -> dict[str, str]:
    return STRINGS["ru" if locale in ("ru", "uk", "be") else "en"]


class NoteMail:
    """Renders notification mail, reading what it needs (series, owned pins)."""

    def __init__(self, session: Session, links: Links) -> None:
        self.session = session
        self.links = links

    def render(
        self, user: User, notes: list[Notification], template: str, period: str | None,
        series: dict[int, tuple[int, int | None]],
    ) -> MailMessage:  # fmt: skip
        t = strings(user.locale)
        items = [self._item(user, n, t, series) for n in sorted(notes, key=rank)]
        kinds = sorted({n.kind for n in notes})
        unsubscribe_kind = kinds[0] if len(kinds) == 1 else "all"
        unsubscribe_url = self.links.unsubscribe(user.id, unsubscribe_kind)
        if period:
            subject = t["digest_subject"].format(period=t[period], n=len(items))
        elif len(items) == 1 and items[0]["kind"] not in MATCH_KINDS:
            subject = items[0]["title"]  # a trade step says what happened
        elif len(items) == 1:
            subject = t["instant_subject"].format(first=items[0]["title"])
        else:
            subject = t["instant_subject_many"].format(n=len(items))
        return mail.render(
            to=user.email,
            template=template,
            user_id=user.id,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            subject=subject,
            items=items,
            t=t,
            lang="ru" if t is STRINGS["ru"] else "en",
            name=user.display_name,
            base_url=self.links.base_url,
            unsubscribe_url=unsubscribe_url,
        )

    def _item(
        self, user: User, note: Notification, t: dict[str, str],
        series: dict[int, tuple[int, int | None]],
    ) -> dict[str, Any]:  # fmt: skip
        payload = note.payload
        name = payload.get("counterpart") or ""
        if note.kind == "cycle":
            title = t["cycle"].format(n=len(payload.get("members") or []) or 3)
        elif note.kind in ("swap", "offer"):
            title = t[note.kind].format(name=name)
        else:
            title = payload.get("title") or t.get(note.kind, note.kind)
        base = self.links.base_url
        return {
            "title": title,
            "kind": note.kind,
            "stars": payload.get("best_stars"),
            "receive": [pin_link(base, i) for i in payload.get("receive", [])],
            "give": [pin_link(base, i) for i in payload.get("give", [])],
            # Rings name who sends what you get and who receives what you give.
            "get_label": (
                t["you_get_from"].format(name=payload["sender"])
                if payload.get("sender")
                else t["you_get"]
            ),
            "give_label": (
                t["you_give_to"].format(name=payload["recipient"])
                if payload.get("recipient")
                else t["you_give"]
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
