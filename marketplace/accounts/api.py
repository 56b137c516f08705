"""API resources for accounts: sign-up (`POST /users`), personal access tokens
(`/tokens`), the caller's own account (`/me`) and address book
(`/me/addresses`)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import get_locale, gettext
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.accounts.addresses import LIMITS, MAX_ADDRESSES, AddressBook
from marketplace.accounts.login_throttle import count_failure, login_limits
from marketplace.accounts.models import Address, address_lines
from marketplace.accounts.operations import CHECK_MAIL, MAX_PASSWORD, MIN_PASSWORD, Accounts
from marketplace.core.api import BEARER, Flag, token_required
from marketplace.core.errors import Unauthorized
from marketplace.core.registry import find_service

blp = Blueprint(
    "api_accounts", __name__, description="Sign-up, personal access tokens and the address book"
)


class SignUpIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD, max=MAX_PASSWORD)
    )
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=80))


class AcceptedOut(Schema):
    status = fields.String(required=True, metadata={"example": "check_mail"})
    detail = fields.String(required=True)


class TokenCreateIn(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(max=MAX_PASSWORD)
    )
    name = fields.String(load_default="API token", validate=validate.Length(min=1, max=80))


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(
        required=True, metadata={"description": "First characters, to tell tokens apart"}
    )
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)


class TokenCreatedOut(TokenOut):
    token = fields.String(
        required=True, metadata={"description": "The bearer token; shown only this once"}
    )


class UserOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    locale = fields.String(required=True)
    timezone = fields.String(required=True)
    created_at = fields.DateTime(required=True)


def _limit(name: str, required: bool = False) -> Any:
    return validate.Length(min=1 if required else 0, max=LIMITS[name])


_COUNTRY: dict[str, Any] = {
    "validate": validate.Regexp(r"^[A-Za-z]{2}$", error="A two-letter country code, such as EE."),
    "metadata": {"description": "ISO 3166-1 alpha-2 code, e.g. EE, UA, DE", "example": "EE"},
}


class AddressPatch(Schema):
    name = fields.String(
        validate=_limit("name", True),
        metadata={"description": "The recipient, as the post needs it"},
    )
    line1 = fields.String(
        validate=_limit("line1", True), metadata={"description": "Street and number"}
    )
    line2 = fields.String(
        validate=_limit("line2"), metadata={"description": "Flat, building, anything more"}
    )
    city = fields.String(validate=_limit("city", True))
    region = fields.String(validate=_limit("region"), metadata={"description": "Oblast, state…"})
    postal_code = fields.String(validate=_limit("postal_code"))
    country = fields.String(**_COUNTRY)
    phone = fields.String(
        validate=_limit("phone"), metadata={"description": "For the courier, if the post needs one"}
    )


class AddressIn(AddressPatch):
    name = fields.String(required=True, validate=_limit("name", True))
    line1 = fields.String(required=True, validate=_limit("line1", True))
    city = fields.String(required=True, validate=_limit("city", True))
    country = fields.String(required=True, **_COUNTRY)
    is_default = Flag(
        load_default=False,
        metadata={"description": "Make it the default (the first address always is)"},
    )


class AddressOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    line1 = fields.String(required=True)
    line2 = fields.String(required=True)
    city = fields.String(required=True)
    region = fields.String(required=True)
    postal_code = fields.String(required=True)
    country = fields.String(required=True)
    phone = fields.String(required=True)
    is_default = Flag(required=True)
    lines = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The address as written on an envelope, line by line"},
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


@blp.route("/users", methods=["POST"])
@blp.arguments(SignUpIn)
@blp.response(202, AcceptedOut)
def sign_up(body: dict[str, Any]) -> dict[str, str]:
    """Sign up. Always answers 202 and mails the address: a verification link for a
    new account, a note to the owner if the address already has one."""
    find_service(Accounts).sign_up(
        body["email"], body["password"], body["display_name"], locale=str(get_locale())
    )
    return {"status": "check_mail", "detail": gettext(CHECK_MAIL)}


@blp.route("/tokens", methods=["POST"])
@login_limits
@blp.arguments(TokenCreateIn)
@blp.response(201, TokenCreatedOut)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for a personal access token."""
    service = find_service(Accounts)
    try:
        user = service.authenticate(body["email"], body["password"])
    except Unauthorized:
        count_failure()
        raise
    token, clear = service.create_api_token(user, body["name"])
    return {**_token_dict(token), "token": clear}


@blp.route("/tokens", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, TokenOut(many=True))
def list_tokens() -> list[dict[str, Any]]:
    """The caller's active tokens (never their secret)."""
    return [_token_dict(t) for t in find_service(Accounts).list_api_tokens(g.api_user)]


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def revoke_token(token_id: int) -> None:
    """Revoke a token; it stops working at once."""
    find_service(Accounts).revoke_api_token(g.api_user, token_id)


@blp.route("/me", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, UserOut)
def me() -> Any:
    """The account the token belongs to."""
    return g.api_user


def addresses() -> AddressBook:
    return find_service(AddressBook)


@blp.route("/me/addresses", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, AddressOut(many=True))
def list_addresses() -> list[dict[str, Any]]:
    """The caller's postal addresses, the default first."""
    return [_address_dict(a) for a in addresses().addresses(g.api_user)]


@blp.route("/me/addresses", methods=["POST"])
@blp.doc(
    **BEARER,
    description=f"An address book holds at most {MAX_ADDRESSES} addresses. Orders "
    "name one by id (`address_id`), or go to the default.",
)
@token_required
@blp.arguments(AddressIn)
@blp.response(201, AddressOut)
def create_address(body: dict[str, Any]) -> dict[str, Any]:
    """Add a postal address."""
    default = body.pop("is_default")
    return _address_dict(addresses().add(g.api_user, body, default=default))


@blp.route("/me/addresses/<int:address_id>", methods=["PATCH"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(AddressPatch)
@blp.response(200, AddressOut)
def update_address(body: dict[str, Any], address_id: int) -> dict[str, Any]:
    """Change some fields of an address; the rest stay. Orders already placed keep
    the address they were bought for."""
    return _address_dict(addresses().update(g.api_user, address_id, body))


@blp.route("/me/addresses/<int:address_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def delete_address(address_id: int) -> None:
    """Delete an address; if it was the default, the oldest remaining one becomes
    the default."""
    addresses().delete(g.api_user, address_id)


@blp.route("/me/addresses/<int:address_id>/default", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, AddressOut)
def make_default_address(address_id: int) -> dict[str, Any]:
    """Make this the address parcels go to unless an order names another."""
    return _address_dict(addresses().make_default(g.api_user, address_id))


def _address_dict(address: Address) -> dict[str, Any]:
    snapshot = address.snapshot()
    return {
        "id": address.id,
        **snapshot,
        "is_default": address.is_default,
        "lines": address_lines(snapshot),
        "created_at": address.created_at,
        "updated_at": address.updated_at,
    }


def _token_dict(token: Any) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }
