"""Pages for buying and selling: seller payouts (Stripe Connect onboarding), a
listing with its Buy button and the address the copy goes to, a pin's market
(copies for sale and the price guide), buyers' and sellers' orders with their
actions, the Stripe webhook, and the development-only test payment pages. Views
parse, call `services.orders`, map errors; fulfilment is never done here, only in
the webhook's task."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required
from markupsafe import Markup

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import User, address_lines
from marketplace.catalogue.models import Pin
from marketplace.core.db import writes_on_get
from marketplace.core.errors import DomainError
from marketplace.core.extensions import csrf, db
from marketplace.core.registry import find_service
from marketplace.orders.operations import Orders, format_money, price_guide
from marketplace.payments import PaymentError, PaymentProvider, SignatureError
from marketplace.payments.development_provider import TestPaymentProvider
from marketplace.payments.webhooks import event_from_payload

bp = Blueprint("orders", __name__)


def payments() -> PaymentProvider:
    provider: PaymentProvider = current_app.extensions["payments"]
    return provider


def service() -> Orders:
    return find_service(Orders)


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


@bp.app_context_processor
def order_helpers() -> dict[str, Any]:
    # `price` (an amount in major units) is core.i18n's, a global of every template.
    return {"money": format_money, "address_lines": address_lines}


@bp.context_processor
def payment_label() -> dict[str, Any]:
    provider = payments()
    return {"test_payments": provider.is_test, "payments_label": provider.label}


def _back_to_order(order_id: int) -> ResponseReturnValue:
    return redirect(url_for("orders.order", order_id=order_id))


# -- sellers ----------------------------------------------------------------------------


@bp.route("/sell/payouts")
@login_required
def payouts() -> ResponseReturnValue:
    return render_template("orders/payouts.html", account=service().seller_account(_user().id))


@bp.route("/sell/payouts/onboard", methods=["POST"])
@login_required
def onboard() -> ResponseReturnValue:
    """The payouts page's button ("Set up payouts", "Update my details")."""
    return _to_onboarding()


@bp.route("/sell/payouts/refresh", methods=["GET"])
@login_required
def onboard_refresh() -> ResponseReturnValue:
    """Where Stripe sends the seller back when an onboarding link expired."""
    return _to_onboarding()


def _to_onboarding() -> ResponseReturnValue:
    # One endpoint per route, so url_for("orders.onboard") is always the POST one
    # the page's form needs (two rules on one endpoint built the GET-only URL).
    try:
        _, url = service().start_onboarding(_user())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("orders.payouts"))
    return redirect(url, code=303)


@bp.route("/sell/payouts/return")
@writes_on_get
@login_required
def payouts_return() -> ResponseReturnValue:
    orders = service()
    account = orders.seller_account(_user().id)
    if account is not None:
        try:
            orders.refresh_account(account.stripe_account_id)
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("orders.payouts"))


# -- buying -----------------------------------------------------------------------------


@bp.route("/pins/<int:pin_id>/market")
def market(pin_id: int) -> ResponseReturnValue:
    pin = db.session.get(Pin, pin_id)
    if pin is None:
        abort(404)
    return render_template(
        "orders/market.html",
        pin=pin,
        offers=service().offers(pin_id),
        guide=price_guide(db.session(), pin_id),
    )


@bp.route("/listings/<int:have_id>")
def listing(have_id: int) -> ResponseReturnValue:
    orders = service()
    try:
        have = orders.listing(have_id)
    except DomainError:
        abort(404)
    buyer = current_user.is_authenticated and current_user.id != have.user_id
    return render_template(
        "orders/listing.html",
        have=have,
        offer=orders.offer(have_id),
        guide=price_guide(db.session(), have.pin_id),
        addresses=find_service(AddressBook).addresses(_user()) if buyer else [],
        collects_shipping=payments().collects_shipping,
        hold_minutes=int(orders.price_hold.total_seconds() // 60),
    )


@bp.route("/listings/<int:have_id>/buy", methods=["POST"])
@login_required
def buy(have_id: int) -> ResponseReturnValue:
    address_id = request.form.get("address_id", type=int)
    try:
        order = service().buy(_user(), have_id, address_id)
    except DomainError as exc:
        if exc.field == "address_id":
            # Where to fix it, and back to this listing afterwards.
            back = url_for("orders.listing", have_id=have_id)
            add = url_for("accounts.addresses.add", next=back)
            link = Markup('{} <a href="{}">{}</a>')
            flash(link.format(exc.message, add, gettext("Add a postal address")), "error")
        else:
            flash(exc.message, "error")
        # A redirect is a 3xx: the boundary commits nothing the refusal did not write.
        db.session.rollback()
        return redirect(url_for("orders.listing", have_id=have_id))
    return redirect(order.checkout_url or url_for("orders.order", order_id=order.id), code=303)


# -- orders -----------------------------------------------------------------------------


@bp.route("/orders/")
@login_required
def my_orders() -> ResponseReturnValue:
    orders = service().for_user(_user())
    me = _user().id
    return render_template(
        "orders/list.html",
        buying=[o for o in orders if o.buyer_id == me],
        selling=[o for o in orders if o.seller_id == me],
    )


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id: int) -> ResponseReturnValue:
    try:
        found = service().get(_user(), order_id)
    except DomainError:
        abort(404)
    return render_template("orders/order.html", order=found, me=_user())


@bp.route("/orders/<int:order_id>/success")
@login_required
def success(order_id: int) -> ResponseReturnValue:
    # Only shows the status: the order becomes paid when Stripe's webhook says so.
    try:
        found = service().get(_user(), order_id)
    except DomainError:
        abort(404)
    return render_template("orders/order.html", order=found, me=_user(), returning=True)


@bp.route("/orders/<int:order_id>/cancelled")
@login_required
def cancelled(order_id: int) -> ResponseReturnValue:
    try:
        found = service().get(_user(), order_id)
    except DomainError:
        abort(404)
    return render_template("orders/order.html", order=found, me=_user(), abandoned=True)


def _action(order_id: int, call: Any, done: str) -> ResponseReturnValue:
    try:
        call()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return _back_to_order(order_id)


@bp.route("/orders/<int:order_id>/ship", methods=["POST"])
@login_required
def ship(order_id: int) -> ResponseReturnValue:
    tracking = request.form.get("tracking_number", "")
    return _action(
        order_id,
        lambda: service().ship(_user(), order_id, tracking),
        gettext("Marked shipped; the buyer has been told."),
    )


@bp.route("/orders/<int:order_id>/deliver", methods=["POST"])
@login_required
def deliver(order_id: int) -> ResponseReturnValue:
    return _action(
        order_id,
        lambda: service().confirm_delivery(_user(), order_id),
        gettext("Thank you: delivery confirmed."),
    )


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(order_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "")
    return _action(
        order_id,
        lambda: service().refund(_user(), order_id, reason),
        gettext("Refunded in full; both parties have been told."),
    )


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@login_required
def cancel(order_id: int) -> ResponseReturnValue:
    return _action(
        order_id,
        lambda: service().cancel(_user(), order_id),
        gettext("Checkout cancelled; the copy is free again."),
    )


# -- Stripe webhook ---------------------------------------------------------------------


@bp.route("/webhooks/stripe", methods=["POST"])
@csrf.exempt
def stripe_webhook() -> ResponseReturnValue:
    """Verify the signature on the raw body before anything is parsed or written;
    then store the event once and let a task act on it."""
    payload = request.get_data()
    try:
        event = payments().parse_webhook(payload, request.headers.get("Stripe-Signature"))
    except SignatureError as exc:
        current_app.logger.warning("stripe webhook refused: %s", exc)
        return {"error": "invalid signature"}, 400
    row = service().record_event(event)
    return {"received": True, "duplicate_or_ignored": row is None}, 200


# -- development: the test payment provider's own pages ---------------------------------


def _test_provider() -> TestPaymentProvider:
    provider = payments()
    if not isinstance(provider, TestPaymentProvider):
        abort(404)
    return provider


@bp.route("/test-payments/checkout/<session_id>", methods=["GET", "POST"])
def test_checkout(session_id: str) -> ResponseReturnValue:
    provider = _test_provider()
    try:
        details = provider.checkout_details(session_id)
    except PaymentError:
        abort(404)
    if request.method == "POST":
        if request.form.get("action") == "pay":
            try:
                _, event = provider.pay(session_id)
            except PaymentError as exc:
                flash(exc.message, "error")
                return redirect(url_for("orders.test_checkout", session_id=session_id))
            # The same path a verified Stripe webhook takes.
            service().record_event(event_from_payload(event))
            return redirect(details["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
        return redirect(details["cancel_url"])
    return render_template("orders/test_checkout.html", details=details, session_id=session_id)


@bp.route("/test-payments/onboard/<account_id>", methods=["GET", "POST"])
@login_required
def test_onboard(account_id: str) -> ResponseReturnValue:
    provider = _test_provider()
    account = service().seller_account(_user().id)
    if account is None or account.stripe_account_id != account_id:
        abort(404)
    if request.method == "POST":
        return_url, event = provider.complete_onboarding(account_id)
        service().record_event(event_from_payload(event))
        return redirect(return_url)
    return render_template("orders/test_onboard.html", account_id=account_id)
