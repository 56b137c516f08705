"""API resources for buying and selling: `/orders` (list, buy → checkout URL,
read, and the ship / deliver / refund / cancel actions), the caller's seller
account (`/me/seller-account`, Stripe Connect onboarding) and a pin's
`/pins/{id}/price-guide`."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import get_locale, gettext
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.accounts.models import ADDRESS_FIELDS, address_lines
from marketplace.catalogue.models import Pin
from marketplace.catalogue.titles import display_title
from marketplace.core.api import BEARER, token_required
from marketplace.core.errors import NotFound
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.orders.models import ORDER_STATUSES, Order, SellerAccount
from marketplace.orders.operations import Orders, from_minor, price_guide

blp = Blueprint("api_orders", __name__, description="Buying and selling listed pins")

_money: dict[str, Any] = {"as_string": True}


class OrderIn(Schema):
    have_id = fields.Integer(
        required=True, metadata={"description": "The listing (a priced Have) to buy one copy of"}
    )
    address_id = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Where the copy goes: one of the caller's /me/addresses. Default: "
            "their default address; with none, Stripe Checkout asks for one."
        },
    )


class OrderQuery(Schema):
    role = fields.String(
        load_default="all",
        validate=validate.OneOf(["all", "buying", "selling"]),
        metadata={"description": "Orders where the caller is the buyer, the seller, or either"},
    )


class ShipIn(Schema):
    tracking_number = fields.String(required=True, validate=validate.Length(min=1, max=100))


class RefundIn(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class ShipToOut(Schema):
    name = fields.String(required=True)
    line1 = fields.String(required=True)
    line2 = fields.String(required=True)
    city = fields.String(required=True)
    region = fields.String(required=True)
    postal_code = fields.String(required=True)
    country = fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-2"})
    phone = fields.String(required=True)
    lines = fields.List(
        fields.String(), required=True, metadata={"description": "As written on the envelope"}
    )


class OrderOut(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    role = fields.String(
        required=True,
        validate=validate.OneOf(["buyer", "seller", "moderator"]),
        metadata={"description": "The caller's part in this order"},
    )
    pin_id = fields.Integer(required=True, allow_none=True)
    pin_ref = fields.String(required=True, allow_none=True)
    pin_title = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The pin's title in the caller's language (Accept-Language)"},
    )
    have_id = fields.Integer(required=True, allow_none=True)
    condition = fields.String(required=True)
    quantity = fields.Integer(required=True)
    amount = fields.Decimal(
        required=True, metadata={"description": "Price in major units, e.g. 12.50"}, **_money
    )
    amount_minor = fields.Integer(required=True, metadata={"description": "Price in minor units"})
    currency = fields.String(required=True)
    platform_fee_minor = fields.Integer(required=True)
    checkout_url = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Where the buyer pays, while the order is pending"},
    )
    reserved_until = fields.DateTime(required=True, allow_none=True)
    ship_to = fields.Nested(
        ShipToOut,
        required=True,
        allow_none=True,
        metadata={
            "description": "Where the seller sends the copy, as the buyer gave it (shown to "
            "the buyer and the seller only); null until the buyer has given one"
        },
    )
    tracking_number = fields.String(required=True, allow_none=True)
    refunded_amount_minor = fields.Integer(required=True)
    note = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    paid_at = fields.DateTime(required=True, allow_none=True)
    shipped_at = fields.DateTime(required=True, allow_none=True)
    delivered_at = fields.DateTime(required=True, allow_none=True)
    refunded_at = fields.DateTime(required=True, allow_none=True)
    disputed_at = fields.DateTime(required=True, allow_none=True)


class SellerAccountOut(Schema):
    stripe_account_id = fields.String(required=True)
    charges_enabled = fields.Boolean(required=True)
    payouts_enabled = fields.Boolean(required=True)
    details_submitted = fields.Boolean(required=True)
    can_be_paid = fields.Boolean(required=True)
    onboarding_url = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Stripe's onboarding page (single use, expires in minutes)"},
    )


class SaleOut(Schema):
    date = fields.Date(required=True)
    price = fields.Decimal(required=True, **_money)


class CurrencyGuideOut(Schema):
    currency = fields.String(required=True)
    count = fields.Integer(required=True)
    median = fields.Decimal(required=True, **_money)
    min = fields.Decimal(required=True, **_money)
    max = fields.Decimal(required=True, **_money)
    sales = fields.List(fields.Nested(SaleOut), required=True)


class PriceGuideOut(Schema):
    pin_id = fields.Integer(required=True)
    count = fields.Integer(required=True, metadata={"description": "Completed sales"})
    currencies = fields.List(
        fields.Nested(CurrencyGuideOut),
        required=True,
        metadata={"description": "One entry per currency, the most traded first"},
    )


def orders() -> Orders:
    return find_service(Orders)


def order_dict(order: Order) -> dict[str, Any]:
    me = g.api_user.id
    role = "buyer" if order.buyer_id == me else "seller" if order.seller_id == me else "moderator"
    return {
        "id": order.id,
        "status": order.status,
        "role": role,
        "pin_id": order.pin_id,
        "pin_ref": order.pin.ref if order.pin else None,
        "pin_title": display_title(order.pin, get_locale()) if order.pin else None,
        "have_id": order.have_id,
        "condition": order.condition.slug,
        "quantity": order.quantity,
        "amount": from_minor(order.amount, order.currency),
        "amount_minor": order.amount,
        "currency": order.currency,
        "platform_fee_minor": order.platform_fee,
        "checkout_url": order.checkout_url if order.status == "pending" else None,
        "reserved_until": order.reserved_until,
        "ship_to": _ship_to(order) if role in ("buyer", "seller") else None,
        "tracking_number": order.tracking_number,
        "refunded_amount_minor": order.refunded_amount,
        "note": order.note,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "refunded_at": order.refunded_at,
        "disputed_at": order.disputed_at,
    }


def _ship_to(order: Order) -> dict[str, Any] | None:
    if not order.ship_to:
        return None
    return {
        **{name: str(order.ship_to.get(name) or "") for name in ADDRESS_FIELDS},
        "lines": address_lines(order.ship_to),
    }


def account_dict(account: SellerAccount, url: str | None) -> dict[str, Any]:
    return {
        "stripe_account_id": account.stripe_account_id,
        "charges_enabled": account.charges_enabled,
        "payouts_enabled": account.payouts_enabled,
        "details_submitted": account.details_submitted,
        "can_be_paid": account.can_be_paid,
        "onboarding_url": url,
    }


@blp.route("/orders", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(OrderQuery, location="query")
@blp.response(200, OrderOut(many=True))
def list_orders(query: dict[str, Any]) -> list[dict[str, Any]]:
    """The caller's orders, newest first (the latest 200)."""
    return [order_dict(o) for o in orders().for_user(g.api_user, query["role"])]


@blp.route("/orders", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(OrderIn)
@blp.response(201, OrderOut)
def create_order(body: dict[str, Any]) -> dict[str, Any]:
    """Buy one copy: the copy is reserved and a Stripe Checkout Session opened.
    Send the buyer to `checkout_url`; the order turns `paid` when Stripe confirms
    the payment. 409 when no copy is free; a second call for the same listing
    while checkout is open returns the same order. The copy goes to `address_id`
    or the caller's default address (404 if the address is not theirs)."""
    return order_dict(orders().buy(g.api_user, body["have_id"], body["address_id"]))


@blp.route("/orders/<int:order_id>", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, OrderOut)
def get_order(order_id: int) -> dict[str, Any]:
    return order_dict(orders().get(g.api_user, order_id))


@blp.route("/orders/<int:order_id>/ship", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ShipIn)
@blp.response(200, OrderOut)
def ship_order(body: dict[str, Any], order_id: int) -> dict[str, Any]:
    """Seller: paid → shipped, with the tracking number (the buyer is emailed)."""
    return order_dict(orders().ship(g.api_user, order_id, body["tracking_number"]))


@blp.route("/orders/<int:order_id>/deliver", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, OrderOut)
def deliver_order(order_id: int) -> dict[str, Any]:
    """Buyer: the pin arrived (paid or shipped → delivered)."""
    return order_dict(orders().confirm_delivery(g.api_user, order_id))


@blp.route("/orders/<int:order_id>/refund", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(RefundIn)
@blp.response(200, OrderOut)
def refund_order(body: dict[str, Any], order_id: int) -> dict[str, Any]:
    """Seller or moderator: refund in full (transfer and platform fee reversed)."""
    return order_dict(orders().refund(g.api_user, order_id, body["reason"]))


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, OrderOut)
def cancel_order(order_id: int) -> dict[str, Any]:
    """Buyer: give up an unpaid checkout; the copy is released."""
    return order_dict(orders().cancel(g.api_user, order_id))


@blp.route("/me/seller-account", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, SellerAccountOut)
def get_seller_account() -> dict[str, Any]:
    account = orders().seller_account(g.api_user.id)
    if account is None:
        raise NotFound(gettext("You have not set up payouts yet: POST /api/v1/me/seller-account."))
    return account_dict(account, None)


@blp.route("/me/seller-account", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, SellerAccountOut)
def onboard_seller() -> dict[str, Any]:
    """Create the caller's Stripe Connect account (once) and a fresh onboarding
    link. Listings are offered for sale once Stripe says the account can be paid."""
    account, url = orders().start_onboarding(g.api_user)
    return account_dict(account, url)


@blp.route("/pins/<int:pin_id>/price-guide", methods=["GET"])
@blp.response(200, PriceGuideOut)
def get_price_guide(pin_id: int) -> dict[str, Any]:
    """Completed sales of a pin: median, range, count and every sale, per currency."""
    if db.session.get(Pin, pin_id) is None:
        raise NotFound(gettext("There is no pin %(id)s in the catalogue.", id=pin_id))
    guide = price_guide(db.session(), pin_id)
    return {
        "pin_id": pin_id,
        "count": guide.count,
        "currencies": [
            {
                "currency": c.currency,
                "count": c.count,
                "median": c.median,
                "min": c.low,
                "max": c.high,
                "sales": [{"date": s.at.date(), "price": s.amount} for s in c.sales],
            }
            for c in guide.currencies
        ],
    }
