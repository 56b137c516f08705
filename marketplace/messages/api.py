"""API resources for messages: the caller's threads (`GET /threads`, paged, with
unread counts; `GET /threads/unread`), a thread opened for a trade, an order or
another collector (`POST /threads`), one thread with its members
(`GET /threads/{id}`), its messages (`GET /threads/{id}/messages`, oldest first,
which marks them read) and a new message (`POST /threads/{id}/messages`).

A thread the caller is not in is 404, as one that does not exist; a blocked pair
is 403. Message text is sent as it was written: clients must escape it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from marketplace.core.api import BEARER, documented_problems, token_required
from marketplace.core.db import writes_on_get
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.messages import queries
from marketplace.messages.models import THREAD_KINDS, Message, Thread
from marketplace.messages.operations import Messages
from marketplace.messages.text import MAX_BODY

blp = Blueprint("api_messages", __name__, description="Messages between collectors")

MAX_ID = 2**31 - 1
ID = f"int(min=1, max={MAX_ID})"
_id = validate.Range(min=1, max=MAX_ID)


# -- requests -------------------------------------------------------------------------


class ThreadOpenIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(THREAD_KINDS))
    user_id = fields.Integer(
        validate=_id, metadata={"description": "kind direct: the other collector"}
    )
    trade_id = fields.Integer(validate=_id, metadata={"description": "kind trade: the trade"})
    order_id = fields.Integer(validate=_id, metadata={"description": "kind order: the order"})

    @validates_schema
    def names_its_subject(self, data: dict[str, Any], **kwargs: Any) -> None:
        wanted = {"direct": "user_id", "trade": "trade_id", "order": "order_id"}
        field = wanted.get(data.get("kind", ""))
        if field and data.get(field) is None:
            raise ValidationError(
                _("A %(kind)s thread needs %(field)s.", kind=data["kind"], field=field), field
            )


class ThreadMessageIn(Schema):
    # The service checks the length after trimming, as the page's form is checked.
    body = fields.String(
        required=True,
        metadata={
            "description": f"The text, 1 to {MAX_BODY} characters once surrounding "
            "whitespace is trimmed; otherwise kept exactly as written"
        },
    )


# -- responses ------------------------------------------------------------------------


class ThreadMemberOut(Schema):
    user_id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    last_read_id = fields.Integer(
        required=True, metadata={"description": "The newest message this member has read"}
    )


class ThreadMessageOut(Schema):
    id = fields.Integer(required=True)
    thread_id = fields.Integer(required=True)
    author_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "None once the account is gone"}
    )
    author = fields.String(required=True, allow_none=True)
    body = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Exactly as written (escape it); None when hidden"},
    )
    hidden = fields.Boolean(required=True, metadata={"description": "Hidden by a moderator"})
    created_at = fields.DateTime(required=True)


class ThreadOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(THREAD_KINDS))
    trade_id = fields.Integer(required=True, allow_none=True)
    order_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    last_message_at = fields.DateTime(required=True, allow_none=True)
    members = fields.List(fields.Nested(ThreadMemberOut), required=True)
    unread = fields.Integer(required=True, metadata={"description": "Unread messages by others"})


class InboxThreadOut(ThreadOut):
    counterparts = fields.List(
        fields.String(), required=True, metadata={"description": "The other members' names"}
    )
    last_message = fields.Nested(ThreadMessageOut, required=True, allow_none=True)


class ThreadsUnreadOut(Schema):
    unread = fields.Integer(required=True)


_MEANINGS = {
    "403": "One of the two has blocked the other, or the caller is suspended",
    "404": "No such thread of the caller's (or trade, order or collector)",
}


def _problems(*statuses: int) -> Callable[[Any], Any]:
    """Say what each error means on these routes; `core.api.document_api` gives
    every error its problem+json schema."""
    return documented_problems(blp, _MEANINGS, (401, *statuses))


# -- shaping --------------------------------------------------------------------------


def message_dict(m: Message) -> dict[str, Any]:
    hidden = m.hidden_at is not None
    return {
        "id": m.id,
        "thread_id": m.thread_id,
        "author_id": m.author_id,
        "author": m.author.display_name if m.author is not None else None,
        "body": None if hidden else m.body,
        "hidden": hidden,
        "created_at": m.created_at,
    }


def thread_dict(t: Thread, unread: int) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "trade_id": t.trade_id,
        "order_id": t.order_id,
        "created_at": t.created_at,
        "last_message_at": t.last_message_at,
        "members": [
            {
                "user_id": m.user_id,
                "display_name": m.user.display_name if m.user is not None else "",
                "last_read_id": m.last_read_id,
            }
            for m in sorted(t.members, key=lambda m: m.user_id)
        ],
        "unread": unread,
    }


def messages() -> Messages:
    return find_service(Messages)


def shown(thread: Thread) -> dict[str, Any]:
    unread = queries.unread_by_thread(db.session(), g.api_user.id, [thread.id])
    return thread_dict(thread, unread.get(thread.id, 0))


# -- the resources --------------------------------------------------------------------


@blp.route("/threads", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems(422)
@blp.response(200, InboxThreadOut(many=True))
@blp.paginate()
def list_threads(pagination_parameters: Any) -> list[dict[str, Any]]:
    """The caller's threads with at least one message, the latest first (X-Pagination
    header), each with its last message, the other members and the unread count."""
    me = g.api_user.id
    page = queries.inbox(
        db.session(), me, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = page.total
    return [
        {
            **thread_dict(e.thread, e.unread),
            "counterparts": e.counterparts,
            "last_message": message_dict(e.last) if e.last is not None else None,
        }
        for e in page.items
    ]


@blp.route("/threads/unread", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems()
@blp.response(200, ThreadsUnreadOut)
def unread() -> dict[str, int]:
    """Unread messages by others across all the caller's threads."""
    return {"unread": queries.unread_count(db.session(), g.api_user.id)}


@blp.route("/threads", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(403, 404, 422)
@blp.arguments(ThreadOpenIn)
@blp.response(201, ThreadOut)
@blp.alt_response(200, schema=ThreadOut, description="The thread already existed: the same one")
def open_thread(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Open (or find) the thread of a trade or an order the caller is a party to,
    or the caller's direct thread with another collector (403 when either has
    blocked the other). 201 when this made it, 200 when it was there."""
    service, user = messages(), g.api_user
    if body["kind"] == "trade":
        thread, created = service.for_trade(user, body["trade_id"])
    elif body["kind"] == "order":
        thread, created = service.for_order(user, body["order_id"])
    else:
        thread, created = service.direct(user, body["user_id"])
    return shown(thread), 201 if created else 200


@blp.route(f"/threads/<{ID}:thread_id>", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems(404)
@blp.response(200, ThreadOut)
def get_thread(thread_id: int) -> dict[str, Any]:
    """One thread of the caller's and its members (with how far each has read)."""
    return shown(messages().thread(g.api_user, thread_id))


@blp.route(f"/threads/<{ID}:thread_id>/messages", methods=["GET"])
@writes_on_get
@blp.doc(**BEARER)
@token_required
@_problems(404, 422)
@blp.response(200, ThreadMessageOut(many=True))
@blp.paginate()
def list_messages(thread_id: int, pagination_parameters: Any) -> list[dict[str, Any]]:
    """The thread's messages, oldest first (X-Pagination header). Reading them
    marks the whole thread read for the caller."""
    service = messages()
    thread = service.thread(g.api_user, thread_id)
    session = db.session()
    total = queries.message_count(session, thread.id)
    pagination_parameters.item_count = total
    items = queries.messages_slice(
        session, thread.id, pagination_parameters.page, pagination_parameters.page_size
    )
    service.mark_read(g.api_user, thread.id)
    return [message_dict(m) for m in items]


@blp.route(f"/threads/<{ID}:thread_id>/messages", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(403, 404, 422)
@blp.arguments(ThreadMessageIn)
@blp.response(201, ThreadMessageOut)
def post_message(body: dict[str, Any], thread_id: int) -> tuple[dict[str, Any], int]:
    """Write to a thread of the caller's; the other members are told as their
    notification settings say. 403 when one of them and the caller have blocked
    each other, or the caller is suspended."""
    message = messages().post(g.api_user, thread_id, body["body"])
    return message_dict(message), 201
