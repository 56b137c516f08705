"""Notifications: once per new match, instant or digest at the collector's local
hour and in their language, one-click unsubscribe, and addresses that fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.catalogue.operations import Catalogue
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists.models import Condition, Have, Want
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage, MailSettings
from marketplace.mail.transport import PermanentMailError
from marketplace.matches import queries
from marketplace.matches.models import Match, MatchItem, TradeProposal
from marketplace.notifications.models import Digest, Notification
from marketplace.notifications.notification_settings import read_settings, update_settings
from marketplace.notifications.operations import COOLING, Links, Notifier
from tests.support.catalogue import make_pin
from tests.support.factories import make_user
from tests.support.web import login, post_form

NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def notifier() -> Notifier:
    return Notifier(db.session(), Links("http://znachki.test", "test-secret-key"))


def item(direction: str, position: int, giver: User, receiver: User, pin: Any,
         stars: int = 3) -> MatchItem:  # fmt: skip
    """One pin of a match: `giver`'s copy fills `receiver`'s want of `stars`."""
    have = Have(user_id=giver.id, pin_id=pin.id, quantity=1, condition=Condition.FINE)
    want = Want(user_id=receiver.id, pin_id=pin.id, priority=stars)
    db.session.add_all([have, want])
    db.session.flush()
    return MatchItem(direction=direction, position=position, have_id=have.id, want_id=want.id,
                     pin_id=pin.id)  # fmt: skip


def add_match(user: User, other: User, *, key: str | None = None, stars: int = 3,
              pins: list[Any] | None = None, kind: str = "swap") -> Match:  # fmt: skip
    pins = pins or [make_pin(title_en="Gagarin 1961")]
    match = Match(
        user_id=user.id, kind=kind, key=key or f"{kind}:{other.id}", counterpart_id=other.id,
        score=float(stars),
        items=[item("receive", n, other, user, p, stars) for n, p in enumerate(pins)],
    )  # fmt: skip
    db.session.add(match)
    db.session.flush()
    return match


def first_ref(match: Match) -> str:
    return str(queries.pins_each_way(db.session(), [match.id])[match.id]["receive"][0]["ref"])


def mails_to(user: User) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.to_addr == user.email)))


def test_a_new_match_is_mailed_once_with_one_click_unsubscribe(app_ctx: Flask) -> None:
    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    add_match(ivan, olena)
    before = len(mails_to(ivan))
    created = notifier().collect_matches(ivan.id, now=NOON)
    assert len(created) == 1
    sent = mails_to(ivan)[before:]
    assert len(sent) == 1
    message = sent[0]
    assert message.subject == "New match: Swap with Иван"  # olena's display name
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.headers["List-Unsubscribe"].startswith("<http://znachki.test/unsubscribe/")
    assert "http://znachki.test/pins/" in message.body_html and "Gagarin 1961" in message.body_text
    # Asked again (another refresh, another worker): nothing new.
    assert notifier().collect_matches(ivan.id, now=NOON + timedelta(hours=1)) == []
    assert len(mails_to(ivan)) == before + 1


def test_a_returning_match_waits_out_the_cooling_period(app_ctx: Flask) -> None:
    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    match = add_match(ivan, olena)
    notifier().collect_matches(ivan.id, now=NOON)
    match.active = False
    db.session.flush()
    match.active = True
    db.session.flush()
    assert notifier().collect_matches(ivan.id, now=NOON + timedelta(days=3)) == []
    later = notifier().collect_matches(ivan.id, now=NOON + COOLING + timedelta(days=1))
    assert len(later) == 1
    count = db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == ivan.id)
    )
    assert count == 2


def test_the_same_notification_cannot_be_created_twice(app_ctx: Flask) -> None:
    ivan = make_user("ivan@example.org")
    n = notifier()
    first = n.notify(ivan.id, "swap", "swap:7", {"receive": []}, now=NOON)
    assert first is not None
    # Even bypassing the cooling check, the unique key refuses a second row.
    db.session.add(
        Notification(
            user_id=ivan.id,
            kind="swap",
            subject_key="swap:7",
            dedupe_key=first.dedupe_key,
            payload={},
        )
    )
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_off_means_nothing_is_sent(app_ctx: Flask) -> None:
    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    notifier().set_mode(ivan.id, "swap", "off")
    add_match(ivan, olena)
    before = len(mails_to(ivan))
    notes = notifier().collect_matches(ivan.id, now=NOON)
    assert [n.status for n in notes] == ["skipped"]
    assert len(mails_to(ivan)) == before


def test_daily_digest_at_the_local_hour_ranked_and_replayable(app_ctx: Flask) -> None:
    ivan = make_user("ivan@example.org")
    ivan.timezone = "Asia/Novosibirsk"  # UTC+7
    n = notifier()
    n.set_mode(ivan.id, "swap", "daily")
    series_pins = [make_pin(title_en=f"Hero city {i}") for i in (1, 2)]
    catalogue = Catalogue(db.session())
    for number, pin in enumerate(series_pins, start=1):
        catalogue.update(
            pin,
            {"series_name": "Hero cities", "series_number": str(number), "series_size": "2"},
            None,
        )
    db.session.add(
        Have(user_id=ivan.id, pin_id=series_pins[0].id, quantity=1, condition=Condition.FINE)
    )
    low = add_match(ivan, make_user("a@example.org"), stars=2)
    top = add_match(ivan, make_user("b@example.org"), stars=5, pins=[series_pins[1]])
    before = len(mails_to(ivan))
    n.collect_matches(ivan.id, now=NOON)
    assert len(mails_to(ivan)) == before  # daily: nothing at once

    early = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)  # 07:30 in Novosibirsk
    assert n.due_digests(early) == []
    due = n.due_digests(datetime(2026, 11, 22, 1, 30, tzinfo=UTC))  # 08:30 there
    assert due == [(ivan.id, "daily:2026-11-22")]
    digest = n.send_digest(ivan.id, "daily:2026-11-22", now=NOON)
    assert digest is not None and digest.items == 2
    message = mails_to(ivan)[-1]
    text = message.body_text
    # The five-star want first, whatever the order the matches were found in.
    assert text.index(series_pins[1].ref) < text.index(first_ref(low))
    assert "wanted ★★★★★" in text
    assert "This completes your set “Hero cities”!" in text
    assert top.id and "daily digest: 2 new matches" in message.subject
    # Replaying the run sends nothing more.
    assert n.send_digest(ivan.id, "daily:2026-11-22", now=NOON) is None
    assert db.session.scalar(select(func.count(Digest.id))) == 1
    assert n.due_digests(datetime(2026, 11, 22, 2, 0, tzinfo=UTC)) == []  # nothing pending


def test_weekly_digest_waits_for_its_day(app_ctx: Flask) -> None:
    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    n = notifier()
    n.set_mode(ivan.id, "swap", "weekly")
    add_match(ivan, olena)
    n.collect_matches(ivan.id, now=NOON)
    sunday = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert n.due_digests(sunday) == []
    assert n.due_digests(monday) == [(ivan.id, "weekly:2026-W48")]


def test_russian_collectors_get_russian_mail(app_ctx: Flask) -> None:
    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    ivan.locale = "ru"
    add_match(ivan, olena)
    notifier().collect_matches(ivan.id, now=NOON)
    message = mails_to(ivan)[-1]
    assert message.subject.startswith("Новое совпадение: Обмен с")
    assert "Отписаться" in message.body_text


def test_an_address_that_keeps_failing_stops_receiving_until_fixed(app_ctx: Flask) -> None:
    ivan = make_user("ivan@example.org")

    class Refusing:
        def send(self, _mail: Any) -> None:
            raise PermanentMailError("550 5.1.1 mailbox unavailable")

    for i in range(mail.SUSPEND_AFTER):
        message = mail.queue(db.session(), to=ivan.email, template="verify_email", user_id=ivan.id,
                             name="x", url=f"http://x/{i}")  # fmt: skip
        assert mail.deliver(db.session(), message.id, Refusing(), "a@b.c")[0] is mail.Outcome.FAILED
    state = mail.mail_settings(db.session(), ivan.id)
    assert state.suspended_at is not None and "550" in (state.last_failure or "")

    add_match(ivan, make_user("olena@example.org"))
    before = len(mails_to(ivan))
    notifier().collect_matches(ivan.id, now=NOON)
    assert len(mails_to(ivan)) == before  # kept for later, not mailed
    notifier().resume(ivan)
    assert notifier().send_instant(ivan.id, now=NOON) == 1


def test_one_click_unsubscribe_without_login(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    url = Links("http://znachki.test", "test-secret-key").unsubscribe(ivan.id, "swap")
    path = url.removeprefix("http://znachki.test")
    page = client.get(path)
    assert page.status_code == 200 and "Unsubscribe" in page.get_data(as_text=True)
    assert notifier().modes(ivan.id)["swap"] == "instant"  # a GET changes nothing
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert notifier().modes(ivan.id)["swap"] == "off"
    assert notifier().modes(ivan.id)["offer"] == "daily"
    assert client.post(path[:-3] + "xyz").status_code == 400


def test_settings_page_and_api(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    form = {
        "mode_swap": "weekly", "mode_offer": "off", "mode_cycle": "instant",
        "mode_trade": "instant", "mode_message": "daily", "mode_order": "instant",
        "timezone": "Europe/Tallinn", "locale": "ru", "digest_hour": "19", "weekly_day": "4",
    }  # fmt: skip
    response = post_form(client, "/account/notifications", form)
    assert response.status_code == 302
    bad = post_form(client, "/account/notifications", {**form, "timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and "Unknown time zone" in bad.get_data(as_text=True)
    from tests.support.web import bearer, token_for

    auth = bearer(token_for(client))
    settings = client.get("/api/v1/me/notification-settings", headers=auth).json
    assert settings["modes"]["swap"] == "weekly" and settings["digest_hour"] == 19
    assert settings["timezone"] == "Europe/Tallinn" and settings["locale"] == "ru"
    settings["modes"]["offer"] = "instant"
    for key in ("suspended", "last_failure"):
        settings.pop(key)
    put = client.put("/api/v1/me/notification-settings", json=settings, headers=auth)
    assert put.status_code == 200 and put.json["modes"]["offer"] == "instant"
    wrong = client.put(
        "/api/v1/me/notification-settings", json={**settings, "digest_hour": 25}, headers=auth
    )
    assert wrong.status_code == 422 and "digest_hour" in wrong.json["errors"]
    assert client.get("/api/v1/me/notifications", headers=auth).json == []


def test_settings_are_one_operation_for_page_and_api(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    current = read_settings(notifier(), ivan)
    assert (current.digest_hour, current.weekly_day, current.suspended) == (8, 0, False)
    assert current.modes["swap"] == "instant" and current.modes["offer"] == "daily"
    assert db.session.get(MailSettings, ivan.id) is None  # reading stores nothing
    with pytest.raises(DomainError) as wrong:
        update_settings(notifier(), ivan, modes={}, timezone="UTC", locale="en",
                        digest_hour=24, weekly_day=0)  # fmt: skip
    assert wrong.value.field == "digest_hour"
    saved = update_settings(notifier(), ivan, modes={"swap": "weekly"}, timezone="Europe/Kyiv",
                            locale="ru", digest_hour=7, weekly_day=6)  # fmt: skip
    assert saved == read_settings(notifier(), ivan)
    assert saved.modes["swap"] == "weekly" and saved.modes["offer"] == "daily"
    assert (saved.timezone, saved.locale, saved.digest_hour, saved.weekly_day) == (
        "Europe/Kyiv", "ru", 7, 6,
    )  # fmt: skip

    state = mail.mail_settings(db.session(), ivan.id)
    state.last_failure, state.last_failure_at, state.suspended_at = "550 no such user", NOON, NOON
    db.session.commit()
    login(client)
    page = client.get("/account/notifications").get_data(as_text=True)
    # Ivan chose Russian above, so the page speaks it.
    assert "не доходят (550 no such user)" in page and "2026-11-22" in page
    from tests.support.web import bearer, token_for

    shown = client.get("/api/v1/me/notification-settings", headers=bearer(token_for(client))).json
    assert shown["suspended"] is True and shown["last_failure"] == "550 no such user"
    assert shown["digest_hour"] == 7 and shown["modes"]["swap"] == "weekly"


def test_beat_plans_digests_by_the_frozen_clock(app_ctx: Flask) -> None:
    import time_machine

    from marketplace.core.outbox import OutboxMessage
    from marketplace.notifications.tasks import plan_digests, send_digest

    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    ivan.timezone = "Asia/Novosibirsk"
    notifier().set_mode(ivan.id, "swap", "daily")
    add_match(ivan, olena)
    notifier().collect_matches(ivan.id, now=NOON)
    with time_machine.travel(datetime(2026, 11, 23, 0, 50, tzinfo=UTC), tick=False):
        assert plan_digests() == 0  # 07:50 in Novosibirsk
    with time_machine.travel(datetime(2026, 11, 23, 1, 5, tzinfo=UTC), tick=False):
        assert plan_digests() == 1  # 08:05 there
        planned = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == "workers.tasks.send_digest")
        ).all()
        assert [row.payload for row in planned] == [
            {"user_id": ivan.id, "period": "daily:2026-11-23"}
        ]
        before = len(mails_to(ivan))
        assert send_digest(ivan.id, "daily:2026-11-23") == 1
        assert send_digest(ivan.id, "daily:2026-11-23") == 0  # a replayed run
        assert len(mails_to(ivan)) == before + 1
        assert plan_digests() == 0  # nothing pending any more


def test_a_ring_proposal_is_announced_with_its_single_pin_each_way(app_ctx: Flask) -> None:
    ivan = make_user("ivan@example.org")
    anna, boris = make_user("anna@example.org"), make_user("boris@example.org")
    got, sent = make_pin(title_en="Laika"), make_pin(title_en="Vostok")
    proposal = TradeProposal(
        signature="ring", members=[anna.id, boris.id, ivan.id], expires_at=NOON + timedelta(days=7)
    )
    db.session.add(proposal)
    db.session.flush()
    db.session.add(
        Match(
            user_id=ivan.id,
            kind="cycle",
            key=f"cycle:{proposal.id}",
            counterpart_id=None,
            proposal_id=proposal.id,
            score=16.0,
            items=[item("receive", 0, boris, ivan, got, 5), item("give", 0, ivan, anna, sent, 2)],
        )
    )
    db.session.flush()
    assert len(notifier().collect_matches(ivan.id, now=NOON)) == 1
    message = mails_to(ivan)[-1]
    assert message.subject == "New match: A trade ring with 3 collectors"
    assert "You get: " in message.body_text and "Laika" in message.body_text
    assert "You give: " in message.body_text and "Vostok" in message.body_text


def test_an_offer_lists_what_is_offered(app_ctx: Flask) -> None:
    ivan, olena = make_user("ivan@example.org"), make_user("olena@example.org")
    pin = make_pin(title_en="Bratsk GES")
    db.session.add(
        Match(
            user_id=ivan.id,
            kind="offer",
            key=f"offer:{olena.id}",
            counterpart_id=olena.id,
            score=8.0,
            items=[item("receive", 0, olena, ivan, pin, 4)],
        )
    )
    db.session.flush()
    notifier().set_mode(ivan.id, "offer", "instant")
    notifier().collect_matches(ivan.id, now=NOON)
    text = mails_to(ivan)[-1].body_text
    assert "Иван has what you want" in text and "Bratsk GES" in text


def test_events_published_together_are_told_once_each(app_ctx: Flask) -> None:
    from marketplace.core import outbox
    from marketplace.notifications.tasks import notify_collectors

    ivan, anna = make_user("ivan@example.org"), make_user("anna@example.org")
    olena = make_user("olena@example.org")
    add_match(ivan, olena)
    add_match(anna, olena, pins=[make_pin(title_en="Vostok 1")])
    rows = [outbox.enqueue(db.session(), "workers.tasks.notify_collector", user_id=u.id)
            for u in (ivan, anna)]  # fmt: skip
    items = [{**row.payload, "outbox_id": row.id} for row in rows]
    assert notify_collectors.run(items) == 2
    assert [len(mails_to(u)) for u in (ivan, anna)] == [1, 1]
    assert "Gagarin 1961" in mails_to(ivan)[0].body_text
    assert "Vostok 1" in mails_to(anna)[0].body_text
    assert notify_collectors.run(items) == 0  # each event is consumed once
    assert all(outbox.is_consumed(db.session(), row.id) for row in rows)
    assert [len(mails_to(u)) for u in (ivan, anna)] == [1, 1]


RU_COUNTS = {
    1: "1 новое совпадение", 2: "2 новых совпадения", 5: "5 новых совпадений",
    11: "11 новых совпадений", 21: "21 новое совпадение", 22: "22 новых совпадения",
    25: "25 новых совпадений",
}  # fmt: skip
UK_COUNTS = {
    1: "1 новий збіг", 2: "2 нові збіги", 5: "5 нових збігів", 11: "11 нових збігів",
    21: "21 новий збіг", 22: "22 нові збіги", 25: "25 нових збігів",
}  # fmt: skip


@pytest.mark.parametrize(("locale", "expected"), [("ru", RU_COUNTS), ("uk", UK_COUNTS)])
def test_the_matches_subject_counts_in_the_readers_plural(
    app_ctx: Flask, locale: str, expected: dict[int, str]
) -> None:
    from marketplace.notifications.mail_content import subject_for

    swaps = [{"kind": "swap", "title": "Обмен"}] * 25
    with mail.language(locale):
        for count, words in expected.items():
            digest = subject_for(swaps[:count], "daily")
            assert digest.endswith(f": {words}"), digest
            if count > 1:
                assert subject_for(swaps[:count], None) == f"{words} на Znachki Exchange"
    rendered = mail.render(
        to="x@example.org", template="notify_digest", locale=locale, subject=digest, items=[],
        name="Олена", base_url="http://znachki.test", unsubscribe_url="http://znachki.test/u",
    )  # fmt: skip
    assert rendered.subject.endswith(expected[25])


def test_ukrainian_and_estonian_collectors_get_their_own_mail(app_ctx: Flask) -> None:
    olena, mari, ivan = (
        make_user("olena@example.org"), make_user("mari@example.org"), make_user("ivan@example.org")
    )  # fmt: skip
    olena.locale, mari.locale = "uk", "et"
    for member in (olena, mari):
        add_match(member, ivan, key=f"swap:{ivan.id}:a", pins=[make_pin(title_en="Vostok")])
        add_match(member, ivan, key=f"swap:{ivan.id}:b", pins=[make_pin(title_en="Soyuz")])
        notifier().collect_matches(member.id, now=NOON)
    uk, et = mails_to(olena)[-1], mails_to(mari)[-1]
    assert uk.subject == "2 нові збіги на Znachki Exchange"
    assert "Обмін з " in uk.body_text and "Відписатися від цих листів" in uk.body_text
    assert '<html lang="uk">' in uk.body_html
    assert et.subject == "2 uut sobivust Znachki Exchange'is"
    assert "Vahetus: " in et.body_text and "Loobu nendest kirjadest" in et.body_text
    assert "Unsubscribe" not in uk.body_text + et.body_text


def test_trade_steps_are_told_in_each_partys_language(app_ctx: Flask) -> None:
    from marketplace.trades.operations.base import notice

    assert notice("uk", "proposed", who="Ivan", id=7) == "Ivan пропонує обмін"
    assert notice("et", "agreed", who="Ivan", id=7) == (
        "Vahetus nr 7 on kokku lepitud: aeg pakk teele saata"
    )
    assert notice("ru", "ring", n=21) == "Цепочка обмена из 21 коллекционера ждёт вашего ответа"
    assert notice("uk", "ring", n=3) == "Ланцюжок обміну з 3 колекціонерів чекає на вашу відповідь"
    assert notice(None, "completed", who="", id=7) == "Trade #7 is complete"
