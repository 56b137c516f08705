"""Reports through the pages: a member reports what they can see (a message of
their own thread, a profile, a listing, a feedback comment) once while it is
open; strangers to a thread get 404; moderators answer from the queue — dismiss,
warn (mailed), hide (each kind its own way), suspend (logged out, no login, no
token) and lift a suspension — and every other open report of the item goes with
it. Non-moderators get 403."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts import reputation
from marketplace.accounts.models import LoginSession, User
from marketplace.core.extensions import db
from marketplace.feedback.models import Feedback
from marketplace.lists.models import Have
from marketplace.lists.operations import Lists
from marketplace.mail.models import MailMessage
from marketplace.messages.models import Message
from marketplace.reports.models import Report
from tests.support.reports import completed_trade_feedback, direct_thread, listing_of, signed_in
from tests.support.trades import trader
from tests.support.web import api_token, bearer, login, post_form


def moderator() -> User:
    nina = trader("Nina")
    nina.is_moderator = True
    db.session.flush()
    return nina


def report(
    client: FlaskClient, kind: str, target_id: int, reason: str = "abuse", **more: str
) -> object:
    url = f"/reports/new?kind={kind}&id={target_id}"
    return post_form(client, url, {"reason": reason, "details": "", **more})


def reports_of(kind: str, target_id: int) -> list[Report]:
    return list(
        db.session.scalars(
            select(Report).where(Report.target_kind == kind, Report.target_id == target_id)
        )
    )


def resolve(client: FlaskClient, report_id: int, action: str, note: str = "") -> None:
    response = post_form(
        client,
        f"/moderation/reports/{report_id}/resolve",
        {"action": action, "note": note},
        page="/moderation/reports",
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()


def test_a_member_reports_a_message_of_their_thread_once(app_ctx: Flask) -> None:
    anna, boris, vera = trader("Anna"), trader("Boris"), trader("Vera")
    message = direct_thread(boris, anna, "Send the money <b>now</b>")
    client = signed_in(app_ctx, anna)
    form = client.get(f"/reports/new?kind=message&id={message.id}")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Send the money &lt;b&gt;now&lt;/b&gt;" in html
    sent = report(client, "message", message.id, "fraud", details="Asks for cash")
    assert sent.status_code == 303 and sent.headers["Location"] == "/reports"
    again = report(client, "message", message.id, "spam")
    assert again.status_code == 303
    [made] = reports_of("message", message.id)
    assert (made.reason, made.details, made.status) == ("fraud", "Asks for cash", "open")
    assert made.target_user_id == boris.id
    assert "fraud" in client.get("/reports").get_data(as_text=True).lower()

    # Vera is not in the thread: for her the message does not exist.
    stranger = signed_in(app_ctx, vera)
    assert stranger.get(f"/reports/new?kind=message&id={message.id}").status_code == 404
    assert stranger.get("/reports/new?kind=message&id=999999").status_code == 404
    assert stranger.get("/reports/new?kind=nonsense&id=1").status_code == 404


def test_reporting_oneself_or_without_a_reason_is_refused(app_ctx: Flask) -> None:
    anna = trader("Anna")
    client = signed_in(app_ctx, anna)
    mine = report(client, "profile", anna.id)
    assert mine.status_code == 422 and "cannot report yourself" in mine.get_data(as_text=True)
    boris = trader("Boris")
    assert report(client, "profile", boris.id, "bananas").status_code == 422
    own_listing = listing_of(anna)
    assert report(client, "listing", own_listing.id).status_code == 422
    not_for_sale = Lists(db.session()).add_have(boris, own_listing.pin_id)
    db.session.commit()
    assert client.get(f"/reports/new?kind=listing&id={not_for_sale.id}").status_code == 404
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_non_moderators_get_403(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    client = signed_in(app_ctx, anna)
    assert report(client, "profile", boris.id).status_code == 303
    [made] = reports_of("profile", boris.id)
    assert client.get("/moderation/reports").status_code == 403
    forbidden = post_form(
        client, f"/moderation/reports/{made.id}/resolve", {"action": "dismiss"}, page="/reports"
    )
    assert forbidden.status_code == 403
    lift = post_form(client, f"/moderation/members/{boris.id}/unsuspend", {}, page="/reports")
    assert lift.status_code == 403
    assert "Reports (" not in client.get("/reports").get_data(as_text=True)
    db.session.expire_all()
    assert made.status == "open"


def test_hiding_a_message_and_the_queue(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    message = direct_thread(boris, anna, "<script>alert(1)</script>")
    assert report(signed_in(app_ctx, anna), "message", message.id).status_code == 303
    mod = signed_in(app_ctx, moderator())
    queue = mod.get("/moderation/reports").get_data(as_text=True)
    assert "Reports (1)" in queue and "Boris" in queue
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in queue and "<script>alert" not in queue
    [made] = reports_of("message", message.id)
    resolve(mod, made.id, "hide", "Threatening")
    assert db.session.get(Message, message.id).hidden_at is not None
    assert made.status == "hidden" and made.resolution_note == "Threatening"
    assert made.resolved_by_id is not None and made.resolved_at is not None
    assert "Reports (0)" in mod.get("/moderation/reports").get_data(as_text=True)


def test_hiding_a_listing_withdraws_it_and_answers_every_report(app_ctx: Flask) -> None:
    anna, boris, vera, seller = trader("Anna"), trader("Boris"), trader("Vera"), trader("Petr")
    copy = listing_of(seller, notes="Original, I promise")
    db.session.commit()
    listed = signed_in(app_ctx, anna).get(f"/listings/{copy.id}").get_data(as_text=True)
    assert f"/reports/new?kind=listing&amp;id={copy.id}" in listed
    for member in (anna, boris):
        assert (
            report(signed_in(app_ctx, member), "listing", copy.id, "counterfeit").status_code == 303
        )
    mod = signed_in(app_ctx, moderator())
    first = reports_of("listing", copy.id)[0]
    resolve(mod, first.id, "hide", "A known fake")
    listing = db.session.get(Have, copy.id)
    assert listing.price is None and listing.currency is None
    assert {r.status for r in reports_of("listing", copy.id)} == {"hidden"}
    assert signed_in(app_ctx, vera).get(f"/listings/{copy.id}").status_code == 404
    # No longer a listing: nothing more to report.
    assert (
        signed_in(app_ctx, vera).get(f"/reports/new?kind=listing&id={copy.id}").status_code == 404
    )


def test_hiding_feedback_takes_back_its_count_and_a_profile_its_page(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    comment = completed_trade_feedback(boris, anna, "Liar <img src=x onerror=alert(1)>")
    reputation.add(db.session(), [anna.id], "negative")
    page = Lists(db.session()).set_public(boris, "both")
    anna_web = signed_in(app_ctx, anna)
    assert report(anna_web, "feedback", comment.id, "abuse").status_code == 303
    assert report(anna_web, "profile", boris.id, "abuse").status_code == 303
    assert anna_web.get(f"/c/{page.slug}").status_code == 200
    mod = signed_in(app_ctx, moderator())
    resolve(mod, reports_of("feedback", comment.id)[0].id, "hide")
    assert db.session.get(Feedback, comment.id).hidden_at is not None
    assert reputation.standing(db.session(), anna.id).negative == 0
    resolve(mod, reports_of("profile", boris.id)[0].id, "hide")
    assert anna_web.get(f"/c/{page.slug}").status_code == 404


def test_a_warning_is_mailed_and_dismissing_changes_nothing(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    message = direct_thread(boris, anna, "Rude words")
    anna_web = signed_in(app_ctx, anna)
    assert report(anna_web, "message", message.id).status_code == 303
    mod = signed_in(app_ctx, moderator())
    resolve(mod, reports_of("message", message.id)[0].id, "warn", "Be civil")
    mail = db.session.scalar(select(MailMessage).where(MailMessage.kind == "member_warned"))
    assert mail is not None and mail.to_addr == boris.email
    assert "Rude words" in mail.body_text and "Be civil" in mail.body_text
    assert "suspended" in mail.body_text and "warning" in mail.subject.lower()
    assert db.session.get(Message, message.id).hidden_at is None
    # A new report of the same message may be filed and dismissed.
    assert report(anna_web, "message", message.id, "spam").status_code == 303
    opened = [r for r in reports_of("message", message.id) if r.status == "open"]
    resolve(mod, opened[0].id, "dismiss")
    assert db.session.get(Message, message.id).hidden_at is None
    assert {r.status for r in reports_of("message", message.id)} == {"warned", "dismissed"}


def test_suspension_logs_out_refuses_login_and_tokens_until_lifted(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    boris_web = signed_in(app_ctx, boris)
    token = api_token(boris)
    assert report(signed_in(app_ctx, anna), "profile", boris.id, "fraud").status_code == 303
    mod = signed_in(app_ctx, moderator())
    resolve(mod, reports_of("profile", boris.id)[0].id, "suspend", "Scamming buyers")
    member = db.session.get(User, boris.id)
    assert member.suspended_at is not None and member.suspension_reason == "Scamming buyers"
    assert db.session.scalar(select(func.count()).where(LoginSession.user_id == boris.id)) == 0
    assert boris_web.get("/matches").status_code == 302  # logged out
    refused = login(app_ctx.test_client(), boris.email)
    assert refused.status_code == 422 and "suspended" in refused.get_data(as_text=True)
    assert "Confirm your email" not in refused.get_data(as_text=True)
    assert app_ctx.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "Lift the suspension" in mod.get("/moderation/reports").get_data(as_text=True)

    lifted = post_form(
        mod, f"/moderation/members/{boris.id}/unsuspend", {}, page="/moderation/reports"
    )
    assert lifted.status_code == 303
    assert login(app_ctx.test_client(), boris.email).status_code == 302
    assert app_ctx.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_a_warning_is_mailed_in_the_members_language(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    boris.locale = "uk"
    db.session.commit()
    message = direct_thread(boris, anna, "Rude words")
    assert report(signed_in(app_ctx, anna), "message", message.id, "spam").status_code == 303
    mod = signed_in(app_ctx, moderator())
    resolve(mod, reports_of("message", message.id)[0].id, "warn", "Be civil")
    mail = db.session.scalar(select(MailMessage).where(MailMessage.kind == "member_warned"))
    assert mail is not None and mail.subject == "Попередження від модераторів Znachki Exchange"
    assert "ваш матеріал (повідомлення; причина: спам або реклама)" in mail.body_text
    assert "Коментар модератора: «Be civil»" in mail.body_text
