"""Where a bought copy goes: the buyer's address book at checkout (the default or
the one chosen, copied onto the order), Stripe Checkout collecting an address for a
buyer who has none (kept from the webhook), the development test provider asking
such a buyer to add one first, and the address shown to the seller and the buyer
only, on the order page and in the API."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts.addresses import AddressBook
from marketplace.core.extensions import db
from marketplace.lists.models import Have
from marketplace.orders.models import Order
from marketplace.payments.stripe_provider import SHIPPING_COUNTRIES
from tests.support.addresses import KYIV, TALLINN, make_address
from tests.support.factories import make_user
from tests.support.orders import (
    deliver_event,
    make_listing,
    make_seller,
    make_test_provider_seller,
    orders,
)
from tests.support.stripe_server import FakeStripe
from tests.support.web import api_token, bearer, login, post_form

# What a buyer types into Stripe Checkout's address form, in Stripe's shape.
AT_STRIPE = {
    "name": "Пётр Сидоров",
    "address": {
        "line1": "ул. Ленина, 1",
        "line2": "кв. 3",
        "city": "Рига",
        "state": "",
        "postal_code": "LV-1050",
        "country": "LV",
    },
}


def order_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Order)) or 0)


def session_params(fake: FakeStripe) -> dict:  # type: ignore[type-arg]
    calls = fake.calls("/v1/checkout/sessions")
    assert len(calls) == 1
    return calls[0].params


# -- with Stripe ----------------------------------------------------------------------------


def test_the_copy_goes_to_the_default_address_which_only_the_two_parties_see(
    client: FlaskClient, app_ctx: Flask, stripe_payments: FakeStripe
) -> None:
    seller = make_seller(app_ctx, stripe_payments)
    have = make_listing(seller)
    buyer = make_user("buyer@example.org", name="Покупатель")
    default = make_address(buyer)
    make_address(buyer, KYIV)
    login(client, "buyer@example.org")
    page = client.get(f"/listings/{have.id}").get_data(as_text=True)
    assert f'<option value="{default.id}" selected>' in page
    assert "Иван Петров, Narva mnt 5, кв. 12, 10117 Tallinn, Harjumaa, EE" in page

    post_form(client, f"/listings/{have.id}/buy", {}, page=f"/listings/{have.id}")
    order = db.session.scalar(select(Order))
    assert order is not None and order.ship_to == default.snapshot()
    # Stripe's page asks for an address all the same (it cannot be given one).
    sent = session_params(stripe_payments)
    assert sent["shipping_address_collection"]["allowed_countries"] == list(SHIPPING_COUNTRIES)
    for country in ("RU", "UA", "EE", "KZ", "DE", "GB", "US", "CA", "IL"):
        assert country in SHIPPING_COUNTRIES
    assert stripe_payments.sessions[order.checkout_session_id]["shipping_address_collection"]

    # The buyer typed another address at Stripe: the one chosen on our page stays.
    session = stripe_payments.complete_session(order.checkout_session_id, shipping=AT_STRIPE)  # type: ignore[arg-type]
    assert deliver_event(client, app_ctx, "checkout.session.completed", session) == "paid"
    db.session.refresh(order)
    assert order.ship_to == default.snapshot()

    # Editing the address book later does not move the parcel.
    AddressBook(db.session()).update(buyer, default.id, {"line1": "Pärnu mnt 1"})
    db.session.commit()
    db.session.refresh(order)
    assert order.ship_to["line1"] == "Narva mnt 5"  # type: ignore[index]

    seller_client = app_ctx.test_client()
    login(seller_client, "seller@example.org")
    seen = seller_client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Send it to" in seen
    assert "Иван Петров<br>Narva mnt 5<br>кв. 12<br>10117 Tallinn<br>Harjumaa<br>EE<br>" in seen
    assert "Phone: +372 5555 1234" in seen
    assert "Narva mnt 5" in client.get(f"/orders/{order.id}").get_data(as_text=True)

    moderator = make_user("mod@example.org")
    moderator.is_moderator = True
    mod_client = app_ctx.test_client()
    login(mod_client, "mod@example.org")
    assert "Narva mnt 5" not in mod_client.get(f"/orders/{order.id}").get_data(as_text=True)

    as_seller = client.get(f"/api/v1/orders/{order.id}", headers=bearer(api_token(seller))).json
    assert as_seller["role"] == "seller"
    assert as_seller["ship_to"] == {**default.snapshot(), "line1": "Narva mnt 5"} | {
        "lines": ["Иван Петров", "Narva mnt 5", "кв. 12", "10117 Tallinn", "Harjumaa", "EE"]
    }
    as_buyer = client.get(f"/api/v1/orders/{order.id}", headers=bearer(api_token(buyer))).json
    assert as_buyer["ship_to"]["city"] == "Tallinn"
    as_mod = client.get(f"/api/v1/orders/{order.id}", headers=bearer(api_token(moderator))).json
    assert as_mod["role"] == "moderator" and as_mod["ship_to"] is None
    stranger = api_token(make_user("nosy@example.org"))
    assert client.get(f"/api/v1/orders/{order.id}", headers=bearer(stranger)).status_code == 404


def test_the_buyer_chooses_an_address_through_the_api_and_only_their_own(
    client: FlaskClient, app_ctx: Flask, stripe_payments: FakeStripe
) -> None:
    have = make_listing(make_seller(app_ctx, stripe_payments), quantity=2)
    buyer = make_user("buyer@example.org")
    make_address(buyer)
    kyiv = make_address(buyer, KYIV)
    theirs = make_address(make_user("olena@example.org"), {**KYIV, "line1": "вул. Інша, 1"})
    token = api_token(buyer)

    refused = client.post(
        "/api/v1/orders", json={"have_id": have.id, "address_id": theirs.id}, headers=bearer(token)
    )
    assert refused.status_code == 404 and refused.json["errors"] == {
        "address_id": ["That address is not in your address book."]
    }
    assert order_count() == 0
    db.session.refresh(have)
    assert have.reserved == 0

    created = client.post(
        "/api/v1/orders", json={"have_id": have.id, "address_id": kyiv.id}, headers=bearer(token)
    )
    assert created.status_code == 201
    assert created.json["ship_to"]["lines"] == [
        "Олена Коваленко",
        "вул. Хрещатик, 22",
        "01001 Київ",
        "UA",
    ]
    # Buying again while checkout is open: the same order, to the address chosen last.
    default = AddressBook(db.session()).default(buyer.id)
    assert default is not None
    again = client.post(
        "/api/v1/orders",
        json={"have_id": have.id, "address_id": default.id},
        headers=bearer(token),
    ).json
    assert again["id"] == created.json["id"] and again["ship_to"]["city"] == "Tallinn"
    db.session.refresh(have)
    assert have.reserved == 1


def test_stripe_collects_the_address_of_a_buyer_who_has_none(
    client: FlaskClient, app_ctx: Flask, stripe_payments: FakeStripe
) -> None:
    seller = make_seller(app_ctx, stripe_payments)
    have = make_listing(seller)
    buyer = make_user("buyer@example.org")
    login(client, "buyer@example.org")
    page = client.get(f"/listings/{have.id}").get_data(as_text=True)
    assert "Stripe asks where to send it when you pay." in page and "Buy now" in page

    created = client.post(
        "/api/v1/orders", json={"have_id": have.id}, headers=bearer(api_token(buyer))
    )
    assert created.status_code == 201 and created.json["ship_to"] is None
    order = db.session.get(Order, created.json["id"])
    assert order is not None and order.ship_to is None
    assert "shipping_address_collection" in session_params(stripe_payments)
    seller_client = app_ctx.test_client()
    login(seller_client, "seller@example.org")
    pending = seller_client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "The address the buyer gives when paying." in pending

    session = stripe_payments.complete_session(
        order.checkout_session_id,  # type: ignore[arg-type]
        shipping=AT_STRIPE,
        phone="+371 2000 0000",
    )
    assert session["collected_information"]["shipping_details"]["address"]["country"] == "LV"
    assert deliver_event(client, app_ctx, "checkout.session.completed", session) == "paid"
    db.session.refresh(order)
    assert order.ship_to == {
        "name": "Пётр Сидоров",
        "line1": "ул. Ленина, 1",
        "line2": "кв. 3",
        "city": "Рига",
        "region": "",
        "postal_code": "LV-1050",
        "country": "LV",
        "phone": "+371 2000 0000",
    }
    seen = seller_client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Пётр Сидоров<br>ул. Ленина, 1<br>кв. 3<br>LV-1050 Рига<br>LV<br>" in seen
    as_seller = client.get(f"/api/v1/orders/{order.id}", headers=bearer(api_token(seller))).json
    assert as_seller["ship_to"]["region"] == "" and as_seller["ship_to"]["phone"]


def test_a_state_from_stripe_becomes_the_region_and_a_session_without_an_address_keeps_none(
    client: FlaskClient, app_ctx: Flask, stripe_payments: FakeStripe
) -> None:
    have = make_listing(make_seller(app_ctx, stripe_payments), quantity=2)
    service = orders(app_ctx)
    first = service.buy(make_user("a@example.org"), have.id)
    us = {
        "name": "John Smith",
        "address": {
            "line1": "1 Main St",
            "line2": None,
            "city": "Brighton Beach",
            "state": "NY",
            "postal_code": "11235",
            "country": "US",
        },
    }
    session = stripe_payments.complete_session(first.checkout_session_id, shipping=us)  # type: ignore[arg-type]
    deliver_event(client, app_ctx, "checkout.session.completed", session)
    db.session.refresh(first)
    assert first.ship_to is not None
    assert (first.ship_to["region"], first.ship_to["line2"], first.ship_to["phone"]) == (
        "NY",
        "",
        "",
    )

    second = service.buy(make_user("b@example.org"), have.id)
    session = stripe_payments.complete_session(second.checkout_session_id)  # type: ignore[arg-type]
    assert deliver_event(client, app_ctx, "checkout.session.completed", session) == "paid"
    db.session.refresh(second)
    assert second.status == "paid" and second.ship_to is None
    login(client, second.seller.email)
    page = client.get(f"/orders/{second.id}").get_data(as_text=True)
    assert "No postal address was given with this order." in page


# -- with the development test provider ----------------------------------------------------


def test_the_test_provider_asks_a_buyer_without_an_address_to_add_one(
    client: FlaskClient, app_ctx: Flask
) -> None:
    assert app_ctx.extensions["payments"].is_test
    have = make_listing(make_test_provider_seller(app_ctx))
    buyer = make_user("buyer@example.org")
    login(client, "buyer@example.org")
    listing = f"/listings/{have.id}"
    add_link = f'href="/account/addresses/new?next=/listings/{have.id}"'
    page = client.get(listing).get_data(as_text=True)
    assert "Before buying, add the postal address" in page and add_link in page
    assert "Buy now" not in page

    # A Buy sent anyway (an old page, another tab) says the same, with the link.
    refused = post_form(client, f"{listing}/buy", {}, page="/account/addresses/new")
    assert refused.status_code == 302 and refused.location.endswith(listing)
    shown = client.get(listing).get_data(as_text=True)
    assert "Add a postal address in your account settings first" in shown
    assert f"<a {add_link}>Add a postal address</a>" in shown
    api = client.post("/api/v1/orders", json={"have_id": have.id}, headers=bearer(api_token(buyer)))
    assert api.status_code == 400 and list(api.json["errors"]) == ["address_id"]
    assert order_count() == 0
    assert db.session.scalar(select(Have.reserved).where(Have.id == have.id)) == 0

    # The link leads to the address book and back to the listing.
    back = post_form(
        client,
        f"/account/addresses/new?next=/listings/{have.id}",
        TALLINN,
        page="/account/addresses/new",
    )
    assert back.location.endswith(listing)
    to_checkout = post_form(client, f"{listing}/buy", {}, page=listing)
    assert "/test-payments/checkout/cs_test_" in to_checkout.location
    # The test checkout tells the session's state in the buyer's language.
    client.post("/language", data={"lang": "et", "next": "/"})
    path = to_checkout.location[to_checkout.location.index("/test-payments/") :]
    checkout = client.get(path).get_data(as_text=True)
    assert "avatud, ootab makset" in checkout
    order = db.session.scalar(select(Order))
    assert order is not None and order.ship_to is not None
    assert order.ship_to["city"] == "Tallinn"


@pytest.mark.parametrize("provider", ["stripe", "test"])
def test_only_collectors_with_a_login_see_the_address_choice(
    client: FlaskClient, app_ctx: Flask, request: pytest.FixtureRequest, provider: str
) -> None:
    if provider == "stripe":
        seller = make_seller(app_ctx, request.getfixturevalue("stripe_payments"))
    else:
        seller = make_test_provider_seller(app_ctx)
    have = make_listing(seller)
    make_address(seller)
    page = client.get(f"/listings/{have.id}").get_data(as_text=True)
    assert "Log in</a> to buy" in page
    assert "Send it to" not in page and "postal address" not in page
    login(client, "seller@example.org")
    own = client.get(f"/listings/{have.id}").get_data(as_text=True)
    assert "This is your listing." in own and "Send it to" not in own
