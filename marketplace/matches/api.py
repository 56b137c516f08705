"""API resource for the caller's matches: `GET /me/matches` — two-way swaps,
one-way offers and places in trade loops, each with the pins each way and the
score breakdown that says why it ranks where it does."""

from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.catalogue.models import Pin
from marketplace.core.api import BEARER, Flag, token_required
from marketplace.core.extensions import db
from marketplace.matches import queries
from marketplace.matches.models import MATCH_KINDS

blp = Blueprint("api_matches", __name__, description="The caller's matches")

CONDITIONS = ["mint", "excellent", "very_fine", "fine", "good", "poor"]


class MatchQuery(Schema):
    kind = fields.String(
        validate=validate.OneOf(MATCH_KINDS), metadata={"description": "Only this kind"}
    )
    active = Flag(
        load_default=True,
        metadata={"description": "true (default): current matches; false: ones that lapsed"},
    )


class MatchPinOut(Schema):
    pin_id = fields.Integer(required=True)
    ref = fields.String(required=True)
    title = fields.String(required=True)
    variant_group = fields.String(required=True)
    image_url = fields.String(required=True)
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    have_id = fields.Integer(required=True, metadata={"description": "The giver's Have"})
    quantity = fields.Integer(required=True)
    tradeable = fields.Boolean(required=True)
    price = fields.String(required=True, allow_none=True, metadata={"description": "If for sale"})
    currency = fields.String(required=True, allow_none=True)
    want_id = fields.Integer(required=True, metadata={"description": "The receiver's Want"})
    priority = fields.Integer(
        required=True, metadata={"description": "Stars the receiver gave the want, 5 = most"}
    )
    min_condition = fields.String(required=True, allow_none=True)
    any_variant = fields.Boolean(required=True)


class LegOut(MatchPinOut):
    position = fields.Integer(required=True)
    giver_id = fields.Integer(required=True)
    giver = fields.String(required=True)
    receiver_id = fields.Integer(required=True)
    receiver = fields.String(required=True)


class MemberOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class CycleOut(Schema):
    proposal_id = fields.Integer(required=True)
    members = fields.List(
        fields.Nested(MemberOut), required=True, metadata={"description": "In loop order"}
    )
    legs = fields.List(fields.Nested(LegOut), required=True)
    expires_at = fields.DateTime(required=True)


def reputation_field() -> fields.Float:
    """The reputation term, declared alike in the match and its explanation."""
    return fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "The counterpart's reputation, 0 (new, or poorly rated) … 1 (many "
            "completed trades and deliveries, all positive); it adds 0.3 × this to the score. "
            "None for trade loops and for matches stored before reputation counted"
        },
    )


class ExplanationOut(Schema):
    coverage = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Sum over wants filled: 16 for 5 stars, halving per star"},
    )
    covered_priorities = fields.List(fields.Integer(), required=True)
    balance = fields.Float(
        required=True, allow_none=True, metadata={"description": "Swaps: min/max of counts"}
    )
    condition = fields.Float(
        required=True, metadata={"description": "Grade of what you receive, 0 poor … 1 mint"}
    )
    reputation = reputation_field()
    cycle_length = fields.Integer(required=True, allow_none=True)
    reasons = fields.List(fields.String(), required=True)


class CounterpartOut(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)


class SharedCopyOut(Schema):
    match_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MATCH_KINDS))
    with_ = fields.String(
        data_key="with", required=True, allow_none=True,
        metadata={"description": "The counterpart of a swap; null for a ring"},
    )  # fmt: skip
    proposal_id = fields.Integer(required=True, allow_none=True)
    pins = fields.List(fields.String(), required=True)


class MatchOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MATCH_KINDS))
    key = fields.String(required=True)
    active = Flag(required=True)
    new = fields.Boolean(required=True, metadata={"description": "First seen in the last 3 days"})
    score = fields.Float(required=True, metadata={"description": "Higher ranks first"})
    reputation = reputation_field()
    counterpart = fields.Nested(CounterpartOut, required=True, allow_none=True)
    receive = fields.List(fields.Nested(MatchPinOut), required=True)
    give = fields.List(fields.Nested(MatchPinOut), required=True)
    cycle = fields.Nested(CycleOut, required=True, allow_none=True)
    explanation = fields.Nested(ExplanationOut, required=True)
    shares_copies_with = fields.List(
        fields.Nested(SharedCopyOut),
        required=True,
        metadata={"description": "Other live matches promising one of the same copies"},
    )
    first_seen_at = fields.DateTime(required=True)
    last_seen_at = fields.DateTime(required=True)
    changed_at = fields.DateTime(required=True)


def match_dict(view: queries.ShownMatch, pins: dict[int, Pin]) -> dict[str, Any]:
    from marketplace.catalogue.media import pin_image

    def shown(item: dict[str, Any], fields: Any = MatchPinOut._declared_fields) -> dict[str, Any]:
        out = {k: item.get(k) for k in fields if k != "image_url"}
        pin = pins.get(item["pin_id"])
        out["image_url"] = (
            pin_image(pin) if pin else url_for("catalogue.stand_in", pin_id=item["pin_id"])
        )
        return out

    match, cycle = view.match, view.cycle
    if cycle is not None:
        cycle = {**cycle, "legs": [shown(leg, LegOut._declared_fields) for leg in cycle["legs"]]}
    return {
        "id": match.id,
        "kind": match.kind,
        "key": match.key,
        "active": match.active,
        "new": view.new,
        "score": match.score,
        "reputation": match.reputation,
        "counterpart": (
            {"id": match.counterpart.id, "display_name": match.counterpart.display_name}
            if match.counterpart is not None
            else None
        ),
        "receive": [shown(i) for i in view.receive],
        "give": [shown(i) for i in view.give],
        "cycle": cycle,
        "explanation": view.explanation,
        "shares_copies_with": [{**share, "with_": share["with"]} for share in view.shares],
        "first_seen_at": match.first_seen_at,
        "last_seen_at": match.last_seen_at,
        "changed_at": match.changed_at,
    }


@blp.route("/me/matches", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(MatchQuery, location="query")
@blp.response(200, MatchOut(many=True))
@blp.paginate()
def list_matches(query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
    """The caller's matches: swaps, then offers, then trade loops, best first
    within each (X-Pagination header)."""
    session = db.session()
    page = queries.matches_for(
        session,
        g.api_user.id,
        kind=query.get("kind"),
        active=query.get("active"),
        page=pagination_parameters.page,
        per_page=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = page.total
    views = queries.shown(session, page.items)
    pins = queries.pictures(session, views)
    return [match_dict(v, pins) for v in views]
