"""API resources for the caller's blocks: `GET /me/blocks`, `POST /me/blocks`
(`{"user_id"}`: 201 a new block, 200 one that was there), `DELETE
/me/blocks/{user_id}` (204; 404 if there was none)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.core.api import BEARER, token_required
from marketplace.core.extensions import db
from marketplace.reports import blocking

blp = Blueprint("api_blocks", __name__, description="Collectors the caller blocked")

MAX_ID = 2**31 - 1
ID = f"int(min=1, max={MAX_ID})"  # a path id outside the range is a 404


class BlockIn(Schema):
    user_id = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The collector to block"},
    )


class BlockOut(Schema):
    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    created_at = fields.DateTime(required=True)


def _listed(user_id: int) -> dict[str, Any]:
    for block, user in blocking.my_blocks(db.session(), g.api_user):
        if user.id == user_id:
            return {"user_id": user.id, "display_name": user.display_name,
                    "created_at": block.created_at}  # fmt: skip
    raise LookupError(user_id)


@blp.route("/me/blocks", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, BlockOut(many=True))
def list_blocks() -> list[dict[str, Any]]:
    """The collectors the caller blocked, newest first. Neither side of a block
    can message the other, propose a trade or see the other in matches."""
    return [
        {"user_id": u.id, "display_name": u.display_name, "created_at": b.created_at}
        for b, u in blocking.my_blocks(db.session(), g.api_user)
    ]


@blp.route("/me/blocks", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(BlockIn)
@blp.response(201, BlockOut)
@blp.alt_response(200, schema=BlockOut, description="Already blocked: the same block")
def create_block(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Block a collector (201); blocking again changes nothing (200). Their
    matches with the caller stop showing at once. 404 for no such collector,
    422 for the caller themself."""
    made = blocking.block_collector(db.session(), g.api_user, body["user_id"])
    return _listed(body["user_id"]), 201 if made else 200


@blp.route(f"/me/blocks/<{ID}:user_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def delete_block(user_id: int) -> None:
    """Lift the caller's block of this collector (404 if there is none); their
    matches come back with the next refresh."""
    blocking.unblock_collector(db.session(), g.api_user, user_id)
