"""API resources for accounts: sign-up (`POST /users`), personal access tokens
(`/tokens`), and the caller's own account (`/me`)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.accounts.operations import CHECK_MAIL, MAX_PASSWORD, MIN_PASSWORD, Accounts
from marketplace.core.api import BEARER, token_required
from marketplace.core.extensions import login_limits
from marketplace.core.registry import find_service

blp = Blueprint("api_accounts", __name__, description="Sign-up and personal access tokens")


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


@blp.route("/users", methods=["POST"])
@blp.arguments(SignUpIn)
@blp.response(202, AcceptedOut)
def sign_up(body: dict[str, Any]) -> dict[str, str]:
    """Sign up. Always answers 202 and mails the address: a verification link for a
    new account, a note to the owner if the address already has one."""
    find_service(Accounts).sign_up(body["email"], body["password"], body["display_name"])
    return {"status": "check_mail", "detail": CHECK_MAIL}


@blp.route("/tokens", methods=["POST"])
@login_limits
@blp.arguments(TokenCreateIn)
@blp.response(201, TokenCreatedOut)
def create_token(body: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for a personal access token."""
    service = find_service(Accounts)
    user = service.authenticate(body["email"], body["password"])
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


def _token_dict(token: Any) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }
