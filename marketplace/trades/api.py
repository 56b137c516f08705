"""API resources for trades: the caller's trades (`GET /trades`, grouped and paged),
a swap proposed (`POST /trades`) or a ring opened from the solve's cycle
(`POST /trades/rings/{proposal_id}`), one trade in full (`GET /trades/{id}`), and
the actions `POST /trades/{id}/{accept|decline|counter|cancel|ship|receive|dispute}`.

Every route answers 404 to a collector who is not a party, as the service does; the
schemas here describe requests and responses exactly, so the OpenAPI document is
the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from marketplace.core.api import BEARER, documented_problems, token_required
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists.models import DEFECTS, Condition
from marketplace.trades import queries
from marketplace.trades.models import (
    EVENT_ACTIONS,
    TRADE_KINDS,
    TRADE_STATUSES,
    Trade,
)
from marketplace.trades.operations import Line, Trades
from marketplace.trades.operations.carrying import MAX_TRACKING
from marketplace.trades.operations.terms import MAX_LINES, MAX_NOTE

blp = Blueprint("api_trades", __name__, description="Trades between collectors")

MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
MAX_TRADE_QUANTITY = 10_000  # as the terms check them
ID = f"int(min=1, max={MAX_ID})"  # a path id outside the range is a 404, not a database error
ACTIONS = ("accept", "decline", "counter", "cancel", "ship", "receive", "dispute")
GROUPS = ("act", "open", "finished", "all")
CONDITIONS = [c.slug for c in sorted(Condition, reverse=True)]
DEFECT_NAMES = [d.slug for d in DEFECTS]

_id = validate.Range(min=1, max=MAX_ID)
_text = validate.Length(max=MAX_NOTE)


# -- requests -------------------------------------------------------------------------


class TradeLineIn(Schema):
    have_id = fields.Integer(required=True, validate=_id, metadata={"description": "A Have"})
    quantity = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=MAX_TRADE_QUANTITY)
    )


def _unique_copies(lines: list[dict[str, Any]]) -> None:
    ids = [line["have_id"] for line in lines]
    if len(ids) != len(set(ids)):
        raise ValidationError(_("Name each copy once, with its quantity."))


def _lines(description: str) -> fields.List:
    return fields.List(
        fields.Nested(TradeLineIn),
        load_default=list,
        validate=[validate.Length(max=MAX_LINES), _unique_copies],
        metadata={"description": f"{description}, each copy once"},
    )


class TradeTermsIn(Schema):
    """Terms from the caller's side: `give` names the caller's copies, `take` the
    other collector's."""

    give = _lines("Copies from the caller's Haves to send")
    take = _lines("Copies from the other collector's Haves to receive")
    note = fields.String(load_default=None, allow_none=True, validate=_text)
    address_id = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=_id,
        metadata={"description": "Where the caller's parcels go (default: their default address)"},
    )

    @validates_schema
    def something_moves(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("give") and not data.get("take"):
            raise ValidationError(_("Choose at least one copy to give or to ask for."), "give")


class TradeProposalIn(TradeTermsIn):
    counterpart_id = fields.Integer(
        required=True, validate=_id, metadata={"description": "The collector to trade with"}
    )


class TradeAcceptIn(Schema):
    address_id = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=_id,
        metadata={"description": "Where the caller's parcels go (default: their default address)"},
    )


class TradeReasonIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=_text)


class TradeDisputeIn(Schema):
    reason = fields.String(
        required=True,
        validate=[
            _text,
            validate.Regexp(r"\s*\S", error="Say what went wrong, for the moderator."),
        ],
        metadata={"description": "What went wrong, for the moderator"},
    )


class TradeShipIn(Schema):
    to = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=_id,
        metadata={"description": "The receiver's user id, when the caller sends several parcels"},
    )
    tracking = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_TRACKING)
    )


class TradeReceiveIn(Schema):
    sender = fields.Integer(
        data_key="from",
        load_default=None,
        allow_none=True,
        validate=_id,
        metadata={"description": "The sender's user id, when several parcels come to the caller"},
    )


class TradeListQuery(Schema):
    group = fields.String(
        load_default="all",
        validate=validate.OneOf(GROUPS),
        metadata={
            "description": "act: waiting on the caller; open: live, waiting on others; "
            "finished: completed, declined, cancelled or expired; all (default)"
        },
    )


# -- responses ------------------------------------------------------------------------


class TradePartyOut(Schema):
    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    accepted = fields.Boolean(
        required=True, metadata={"description": "Has accepted the current version"}
    )
    ships_first = fields.Boolean(
        required=True,
        metadata={
            "description": "A new member trading with an established one: posts first; "
            "the others may mark their parcels posted only after"
        },
    )


class TradeItemOut(Schema):
    have_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "None once the Have is gone"}
    )
    pin_id = fields.Integer(required=True)
    pin_ref = fields.String(required=True, allow_none=True)
    pin_title = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The pin's title in the caller's language (Accept-Language)"},
    )
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))
    defects = fields.List(fields.String(validate=validate.OneOf(DEFECT_NAMES)), required=True)
    quantity = fields.Integer(required=True)
    giver_id = fields.Integer(required=True)
    receiver_id = fields.Integer(required=True)
    reserved = fields.Boolean(
        required=True, metadata={"description": "The copies are held for this trade"}
    )
    available = fields.Boolean(
        required=True,
        metadata={"description": "While proposed: the copy is still there and free in that number"},
    )


class TradeVersionOut(Schema):
    number = fields.Integer(required=True)
    author = fields.String(
        required=True, allow_none=True, metadata={"description": "None for a ring's terms"}
    )
    note = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    items = fields.List(fields.Nested(TradeItemOut), required=True)


class TradeParcelOut(Schema):
    giver_id = fields.Integer(required=True)
    receiver_id = fields.Integer(required=True)
    tracking = fields.String(required=True, allow_none=True)
    shipped_at = fields.DateTime(required=True, allow_none=True)
    received_at = fields.DateTime(required=True, allow_none=True)
    ship_to = fields.List(
        fields.String(),
        required=True,
        allow_none=True,
        metadata={
            "description": "The address lines, only for the parcel the caller posts, once agreed"
        },
    )


class TradeEventOut(Schema):
    action = fields.String(required=True, validate=validate.OneOf(EVENT_ACTIONS))
    user = fields.String(
        required=True, allow_none=True, metadata={"description": "None when the system acted"}
    )
    version = fields.Integer(required=True)
    detail = fields.String(required=True)
    at = fields.DateTime(required=True)


class TradeSummaryOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(TRADE_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(TRADE_STATUSES))
    version = fields.Integer(required=True, metadata={"description": "The current terms"})
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(
        required=True, metadata={"description": "While proposed: answers are due by then"}
    )
    accepted_at = fields.DateTime(required=True, allow_none=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    close_reason = fields.String(required=True, allow_none=True)
    parties = fields.List(fields.Nested(TradePartyOut), required=True)
    items = fields.List(
        fields.Nested(TradeItemOut),
        required=True,
        metadata={"description": "The current terms"},
    )
    waiting_for = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "While proposed: who has not accepted the current terms"},
    )
    actions = fields.List(
        fields.String(validate=validate.OneOf(ACTIONS)),
        required=True,
        metadata={"description": "What the caller may do now (POST /trades/{id}/{action})"},
    )


class TradeOut(TradeSummaryOut):
    versions = fields.List(fields.Nested(TradeVersionOut), required=True)
    parcels = fields.List(fields.Nested(TradeParcelOut), required=True)
    history = fields.List(fields.Nested(TradeEventOut), required=True)


_MEANINGS = {
    "400": "No postal address for the caller's parcels, or a trade with oneself",
    "403": "A copy to give is not the caller's",
    "404": "No such trade of the caller's (or copy, collector, address, ring or parcel)",
    "409": "Not now: out of turn, the wrong status, a copy is not free, or the trust "
    "ladder (a new member's open trades are at their limit; a new member posts first)",
}


def _problems(*statuses: int) -> Callable[[Any], Any]:
    """Say what each error means on these routes; `core.api.document_api` gives
    every error its problem+json schema."""
    return documented_problems(blp, _MEANINGS, (401, *statuses))


# -- the resources --------------------------------------------------------------------


def trades() -> Trades:
    return find_service(Trades)


def shown(trade_id: int, status: int = 200) -> tuple[dict[str, Any], int]:
    """The trade in full as the caller sees it, re-read after an action."""
    trade = trades().get(g.api_user, trade_id, fresh=True)
    return queries.trade_dict(queries.view(db.session(), trade, g.api_user.id)), status


def lines(body: dict[str, Any], side: str) -> list[Line]:
    return [Line(line["have_id"], line["quantity"]) for line in body[side]]


@blp.route("/trades", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems(422)
@blp.arguments(TradeListQuery, location="query")
@blp.response(200, TradeSummaryOut(many=True))
@blp.paginate()
def list_trades(query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
    """The caller's trades, newest first, in their current terms (X-Pagination
    header); `group` picks those waiting on the caller, the other live ones, or the
    finished ones."""
    session = db.session()
    page = queries.trades_page(
        session,
        g.api_user.id,
        query["group"],
        pagination_parameters.page,
        pagination_parameters.page_size,
    )
    pagination_parameters.item_count = page.total
    return [
        queries.trade_dict(queries.view(session, t, g.api_user.id), full=False) for t in page.items
    ]


@blp.route("/trades", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(400, 403, 404, 409, 422)
@blp.arguments(TradeProposalIn)
@blp.response(201, TradeOut)
def propose_trade(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Propose a swap: `give` your copies for `take`, theirs. You accept your own
    terms by proposing them; the other collector accepts, counters or declines.
    403 for a copy that is not yours, 404 for one that is not theirs, 409 for one
    not offered for trade or not free in that number; nothing is reserved until
    both accept."""
    trade = trades().propose(
        g.api_user,
        body["counterpart_id"],
        give=lines(body, "give"),
        take=lines(body, "take"),
        note=body["note"],
        address_id=body["address_id"],
    )
    return shown(trade.id, 201)


@blp.route(f"/trades/rings/<{ID}:proposal_id>", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(404)
@blp.response(201, TradeOut)
@blp.alt_response(200, schema=TradeOut, description="The ring was already open: the same trade")
def open_ring(proposal_id: int) -> tuple[dict[str, Any], int]:
    """Open the ring trade for a trade loop the caller is in (`proposal_id`, the
    loop's `cycle.proposal_id` in `GET /me/matches`). The first member to open it
    makes the trade (201); everyone else gets the same one (200). Every member must
    accept; a ring is never countered. 404 when the loop is gone or not the caller's."""
    session = db.session()
    opened = session.scalar(select(Trade.id).where(Trade.ring_proposal_id == proposal_id))
    trade = trades().open_ring(g.api_user, proposal_id)
    return shown(trade.id, 200 if opened is not None else 201)


@blp.route(f"/trades/<{ID}:trade_id>", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems(404)
@blp.response(200, TradeOut)
def get_trade(trade_id: int) -> dict[str, Any]:
    """One trade in full: every version of its terms, the parcels (with the
    address only on the ones the caller posts), its history and what the caller
    may do now."""
    trade = trades().get(g.api_user, trade_id)
    return queries.trade_dict(queries.view(db.session(), trade, g.api_user.id))


@blp.route(f"/trades/<{ID}:trade_id>/accept", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(400, 404, 409, 422)
@blp.arguments(TradeAcceptIn, required=False)
@blp.response(200, TradeOut)
def accept_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """Accept the current terms (parcels to you go to `address_id`, or your
    default address). The last acceptance reserves every copy or none: 409 names
    the copy that is no longer free."""
    trades().accept(g.api_user, trade_id, address_id=body["address_id"])
    return shown(trade_id)


@blp.route(f"/trades/<{ID}:trade_id>/decline", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(404, 409, 422)
@blp.arguments(TradeReasonIn, required=False)
@blp.response(200, TradeOut)
def decline_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """Say no to the current terms: a swap ends, a ring dissolves."""
    trades().decline(g.api_user, trade_id, body["reason"])
    return shown(trade_id)


@blp.route(f"/trades/<{ID}:trade_id>/counter", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(400, 403, 404, 409, 422)
@blp.arguments(TradeTermsIn)
@blp.response(200, TradeOut)
def counter_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """New terms for a swap, from the caller's side (`give` yours, `take` theirs):
    a new version the caller accepts by making it and the other collector answers.
    Rings cannot be countered (409)."""
    trades().counter(
        g.api_user,
        trade_id,
        give=lines(body, "give"),
        take=lines(body, "take"),
        note=body["note"],
        address_id=body["address_id"],
    )
    return shown(trade_id)


@blp.route(f"/trades/<{ID}:trade_id>/cancel", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(404, 409, 422)
@blp.arguments(TradeReasonIn, required=False)
@blp.response(200, TradeOut)
def cancel_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """While proposed: take back the terms you made (answering someone else's
    terms this way declines them). Once agreed and before any parcel is posted:
    call the trade off and release the copies. After a parcel is posted: 409,
    open a dispute instead."""
    service = trades()
    if service.get(g.api_user, trade_id).status == "proposed":
        service.withdraw(g.api_user, trade_id, body["reason"])
    else:
        service.cancel(g.api_user, trade_id, body["reason"])
    return shown(trade_id)


@blp.route(f"/trades/<{ID}:trade_id>/ship", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(404, 409, 422)
@blp.arguments(TradeShipIn, required=False)
@blp.response(200, TradeOut)
def ship_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """Mark your parcel posted, with an optional tracking number (`to` names
    the receiver, needed only if you send more than one parcel)."""
    trades().ship(g.api_user, trade_id, to=body["to"], tracking=body["tracking"])
    return shown(trade_id)


@blp.route(f"/trades/<{ID}:trade_id>/receive", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(404, 409, 422)
@blp.arguments(TradeReceiveIn, required=False)
@blp.response(200, TradeOut)
def receive_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """Mark a parcel to you received (`from` names the sender, needed only if
    several come to you). The last one completes the trade: the copies leave
    their givers' Haves, join the receivers' and the Wants they fill close."""
    trades().receive(g.api_user, trade_id, sender=body["sender"])
    return shown(trade_id)


@blp.route(f"/trades/<{ID}:trade_id>/dispute", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(404, 409, 422)
@blp.arguments(TradeDisputeIn)
@blp.response(200, TradeOut)
def dispute_trade(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """Something went wrong after a parcel was posted: the trade freezes (the
    copies stay held) and a moderator is called. Before anything is posted,
    cancel instead (409)."""
    trades().dispute(g.api_user, trade_id, body["reason"])
    return shown(trade_id)
