"""Feedback through the service and the pages: only parties of a completed trade
or a delivered order give it, once per counterpart; the rater edits it within the
window, the rated member replies once; reputation counts follow; both sides show
on the trade's feedback page and the counts (overall and last 12 months) on the
collector's public ratings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.accounts import reputation
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.feedback import queries
from marketplace.feedback.models import Feedback
from marketplace.feedback.operations import FeedbackService
from marketplace.lists.models import CollectionPage
from marketplace.notifications.models import Notification
from tests.support.feedback import accepted_swap, completed_swap, delivered_order, paid_order
from tests.support.trades import copy_of, lines, trader, trades
from tests.support.web import login, post_form

pytestmark = pytest.mark.usefixtures("app_ctx")

XSS = '<script>alert("x")</script>'


def service() -> FeedbackService:
    return find_service(FeedbackService)


def signed_in(client: FlaskClient, email: str) -> FlaskClient:
    """A browser of its own for one collector."""
    browser = client.application.test_client()
    login(browser, email)
    return browser


def test_completing_a_trade_and_delivering_an_order_count_in_reputation() -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    completed_swap(ivan, olga)
    delivered_order(ivan, olga)
    found = reputation.standings(db.session(), [ivan.id, olga.id])
    assert found[ivan.id].completed_trades == found[olga.id].completed_trades == 1
    assert found[ivan.id].delivered_orders == found[olga.id].delivered_orders == 1


def test_only_parties_of_a_completed_trade_rate_a_counterpart_once() -> None:
    ivan, olga, stranger = trader("Ivan"), trader("Olga"), trader("Pyotr")
    feedback = service()
    proposed = trades().propose(ivan, olga.id, give=lines(copy_of(ivan)))
    with pytest.raises(Conflict, match="completed"):
        feedback.give(ivan, feedback.subject(ivan, trade_id=proposed.id), rated_id=olga.id,
                      rating="positive")  # fmt: skip
    accepted = accepted_swap(ivan, olga)
    with pytest.raises(Conflict, match="accepted"):
        feedback.give(ivan, feedback.subject(ivan, trade_id=accepted.id), rated_id=olga.id,
                      rating="positive")  # fmt: skip

    trade = completed_swap(ivan, olga)
    with pytest.raises(NotFound):
        feedback.subject(stranger, trade_id=trade.id)
    subject = feedback.subject(ivan, trade_id=trade.id)
    with pytest.raises(DomainError, match="traded with"):
        feedback.give(ivan, subject, rated_id=stranger.id, rating="positive")
    with pytest.raises(DomainError, match="traded with"):
        feedback.give(ivan, subject, rated_id=ivan.id, rating="positive")
    with pytest.raises(DomainError):
        feedback.give(ivan, subject, rated_id=olga.id, rating="superb")

    given = feedback.give(ivan, subject, rated_id=olga.id, rating="positive", comment=XSS)
    assert given.comment == XSS  # kept as written; pages escape it
    with pytest.raises(Conflict, match="already"):
        feedback.give(ivan, subject, rated_id=olga.id, rating="negative")
    # The other side rates independently.
    feedback.give(olga, feedback.subject(olga, trade_id=trade.id), rated_id=ivan.id,
                  rating="neutral")  # fmt: skip
    found = reputation.standings(db.session(), [ivan.id, olga.id])
    assert (found[olga.id].positive, found[ivan.id].neutral) == (1, 1)
    # The rated member is told, as a trade notification.
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == olga.id,
                                   Notification.subject_key == f"feedback:{given.id}")
    )  # fmt: skip
    assert note is not None and note.kind == "trade" and "Ivan" in note.payload["title"]


def test_orders_take_feedback_once_delivered_from_buyer_and_seller_only() -> None:
    buyer, seller, stranger = trader("Anna"), trader("Boris"), trader("Pyotr")
    feedback = service()
    paid = paid_order(buyer, seller)
    with pytest.raises(Conflict, match="delivered"):
        feedback.give(buyer, feedback.subject(buyer, order_id=paid.id), rated_id=seller.id,
                      rating="positive")  # fmt: skip
    order = delivered_order(buyer, seller)
    with pytest.raises(NotFound):
        feedback.subject(stranger, order_id=order.id)
    given = feedback.give(buyer, feedback.subject(buyer, order_id=order.id),
                          rated_id=seller.id, rating="positive")  # fmt: skip
    feedback.give(seller, feedback.subject(seller, order_id=order.id), rated_id=buyer.id,
                  rating="positive")  # fmt: skip
    with pytest.raises(Conflict):
        feedback.give(seller, feedback.subject(seller, order_id=order.id), rated_id=buyer.id,
                      rating="negative")  # fmt: skip
    note = db.session.scalar(
        select(Notification).where(Notification.subject_key == f"feedback:{given.id}")
    )
    assert note is not None and note.kind == "order" and note.user_id == seller.id


def test_the_rater_edits_within_the_window_and_the_counts_follow() -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    trade = completed_swap(ivan, olga)
    feedback = service()
    given = feedback.give(ivan, feedback.subject(ivan, trade_id=trade.id), rated_id=olga.id,
                          rating="negative", comment="Slow")  # fmt: skip
    with pytest.raises(Forbidden):
        feedback.edit(olga, given.id, rating="positive")
    feedback.edit(ivan, given.id, rating="positive", comment="Slow, but perfect pins")
    standing = reputation.standing(db.session(), olga.id)
    assert (standing.positive, standing.negative) == (1, 0)
    assert given.comment == "Slow, but perfect pins"

    given.created_at -= timedelta(days=feedback.edit_days + 1)
    db.session.flush()
    with pytest.raises(Conflict, match=f"{feedback.edit_days} days"):
        feedback.edit(ivan, given.id, rating="neutral")
    assert reputation.standing(db.session(), olga.id).neutral == 0


def test_the_rated_member_replies_once() -> None:
    ivan, olga, stranger = trader("Ivan"), trader("Olga"), trader("Pyotr")
    trade = completed_swap(ivan, olga)
    feedback = service()
    given = feedback.give(ivan, feedback.subject(ivan, trade_id=trade.id), rated_id=olga.id,
                          rating="neutral")  # fmt: skip
    with pytest.raises(Forbidden):
        feedback.reply(ivan, given.id, "I reply to myself")
    with pytest.raises(NotFound):
        feedback.reply(stranger, given.id, "Me too")
    with pytest.raises(DomainError):
        feedback.reply(olga, given.id, "   ")
    feedback.reply(olga, given.id, "Спасибо!")
    assert given.reply == "Спасибо!" and given.replied_at is not None
    with pytest.raises(Conflict, match="already replied"):
        feedback.reply(olga, given.id, "Again")


def test_the_trade_feedback_page_shows_both_sides_and_the_right_forms(
    client: FlaskClient,
) -> None:
    ivan, olga, stranger = trader("Ivan"), trader("Olga"), trader("Pyotr")
    trade = completed_swap(ivan, olga)
    db.session.commit()
    url = f"/feedback/trade/{trade.id}"

    assert signed_in(client, stranger.email).get(url).status_code == 404

    client = signed_in(client, ivan.email)
    page = client.get(f"/trades/{trade.id}").get_data(as_text=True)
    assert f'href="{url}">Leave feedback' in page
    page = client.get(url).get_data(as_text=True)
    assert "Rate Olga" in page
    answer = post_form(client, url, {"rated_id": olga.id, "rating": "positive", "comment": XSS})
    assert answer.status_code == 303
    again = post_form(client, url, {"rated_id": olga.id, "rating": "negative"})
    assert again.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "already given feedback" in page
    assert "Rate Olga" not in page and "Change my feedback" in page
    assert XSS not in page and "&lt;script&gt;" in page

    client = signed_in(client, olga.email)
    page = client.get(url).get_data(as_text=True)
    assert "Rate Ivan" in page and "Reply…" in page and "&lt;script&gt;" in page
    given = db.session.scalar(select(Feedback).where(Feedback.rater_id == ivan.id))
    assert given is not None
    assert f"/reports/new?kind=feedback&amp;id={given.id}" in page
    post_form(client, f"/feedback/{given.id}/reply", {"reply": "Thanks"}, page=url)
    post_form(client, url, {"rated_id": ivan.id, "rating": "positive", "comment": "Fast"})
    page = client.get(url).get_data(as_text=True)
    assert "Olga replies:" in page and "Thanks" in page and "Fast" in page
    assert "Reply…" not in page


def test_the_public_ratings_count_each_kind_overall_and_over_twelve_months(
    client: FlaskClient,
) -> None:
    olga = trader("Olga")
    feedback = service()
    raters = [trader(name) for name in ("Anna", "Boris", "Vera")]
    for rater, rating in zip(raters, ("positive", "positive", "negative"), strict=True):
        trade = completed_swap(rater, olga)
        feedback.give(rater, feedback.subject(rater, trade_id=trade.id), rated_id=olga.id,
                      rating=rating, comment=f"{rating} from {rater.display_name}")  # fmt: skip
    old = db.session.scalar(select(Feedback).where(Feedback.rater_id == raters[2].id))
    assert old is not None
    old.created_at -= timedelta(days=400)
    db.session.flush()

    counts = queries.summary(db.session(), olga.id)
    assert (counts.overall.positive, counts.overall.negative) == (2, 1)
    assert (counts.last_year.positive, counts.last_year.negative) == (2, 0)
    assert counts.overall.positive_percent == 67
    db.session.commit()

    page = client.get(f"/collectors/{olga.id}/feedback").get_data(as_text=True)
    assert "3 ratings · 67% positive" in page
    assert "Last 12 months" in page and "All time" in page
    # Newest first; the year-old one last.
    assert page.index("positive from Boris") < page.index("negative from Vera")
    assert "/reports/new?kind=feedback" in page
    assert client.get("/collectors/999999/feedback").status_code == 404

    # The collection page names the counts beside the name.
    db.session.add(CollectionPage(user_id=olga.id, slug="olga", shows="both"))
    db.session.commit()
    page = client.get("/c/olga").get_data(as_text=True)
    assert "3 trades · 67% positive" in page


def test_the_order_feedback_page_is_for_buyer_and_seller_once_delivered(
    client: FlaskClient,
) -> None:
    buyer, seller, stranger = trader("Anna"), trader("Boris"), trader("Pyotr")
    paid = paid_order(buyer, seller)
    order = delivered_order(buyer, seller)
    db.session.commit()
    as_buyer = signed_in(client, buyer.email)
    assert "Leave feedback" not in as_buyer.get(f"/orders/{paid.id}").get_data(as_text=True)
    page = as_buyer.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'href="/feedback/order/{order.id}">Leave feedback' in page
    early = as_buyer.get(f"/feedback/order/{paid.id}").get_data(as_text=True)
    assert "Feedback opens once the order is delivered" in early and "Rate Boris" not in early
    url = f"/feedback/order/{order.id}"
    assert "Rate Boris" in as_buyer.get(url).get_data(as_text=True)
    assert (
        post_form(as_buyer, url, {"rated_id": seller.id, "rating": "positive"}).status_code == 303
    )
    assert signed_in(client, stranger.email).get(url).status_code == 404
    page = signed_in(client, seller.email).get(url).get_data(as_text=True)
    assert "Anna → you" in page and "Rate Anna" in page


def test_the_feedback_pages_speak_russian(client: FlaskClient) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    ivan.locale = "ru"
    trade = completed_swap(ivan, olga)
    db.session.commit()
    url = f"/feedback/trade/{trade.id}"
    client = signed_in(client, ivan.email)
    page = client.get(url).get_data(as_text=True)
    assert "Отзывы об обмене" in page and "Оцените: Olga" in page and "Положительный" in page
    assert "Rate Olga" not in page and "Save feedback" not in page
    saved = post_form(client, url, {"rated_id": olga.id, "rating": "positive"})
    after = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Спасибо: ваш отзыв о Olga сохранён." in after and "Изменить мой отзыв…" in after
    ratings = client.get(f"/collectors/{olga.id}/feedback").get_data(as_text=True)
    assert "Оценки Olga" in ratings and "1 оценка" in ratings and "100% положительных" in ratings
    assert "За последние 12 месяцев" in ratings and "Ratings of" not in ratings
