"""API resources for notifications: the caller's settings and what they were told."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import gettext
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from marketplace.core.api import BEARER, token_required
from marketplace.core.extensions import db
from marketplace.core.i18n import languages
from marketplace.core.registry import find_service
from marketplace.notifications.models import MODES, NOTIFICATION_KINDS, Notification
from marketplace.notifications.notification_settings import (
    NotificationSettings,
    read_settings,
    update_settings,
)
from marketplace.notifications.operations import Notifier

blp = Blueprint("api_notifications", __name__, description="Notification settings")


class ModesSchema(Schema):
    swap = fields.String(validate=validate.OneOf(MODES))
    offer = fields.String(validate=validate.OneOf(MODES))
    cycle = fields.String(validate=validate.OneOf(MODES))
    trade = fields.String(validate=validate.OneOf(MODES))
    message = fields.String(validate=validate.OneOf(MODES))
    order = fields.String(validate=validate.OneOf(MODES))


def offered_language(code: str) -> None:
    if code not in languages():
        raise ValidationError(
            gettext("Must be one of: %(choices)s.", choices=", ".join(languages()))
        )


class SettingsSchema(Schema):
    modes = fields.Nested(ModesSchema, required=True)
    timezone = fields.String(required=True, metadata={"example": "Europe/Tallinn"})
    locale = fields.String(
        required=True,
        validate=offered_language,
        metadata={"description": "A language the site offers (en, ru, uk, et by default)"},
    )
    digest_hour = fields.Integer(required=True, validate=validate.Range(0, 23))
    weekly_day = fields.Integer(
        required=True, validate=validate.Range(0, 6), metadata={"description": "0 = Monday"}
    )
    suspended = fields.Boolean(
        dump_only=True, metadata={"description": "Mail stopped: address failing"}
    )
    last_failure = fields.String(dump_only=True, allow_none=True)


class NotificationOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    subject_key = fields.String(required=True)
    status = fields.String(required=True)
    priority = fields.Integer(required=True)
    payload = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(allow_none=True)


@blp.route("/me/notification-settings", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, SettingsSchema)
def get_settings() -> NotificationSettings:
    """How and when the caller is told about each kind of event."""
    return read_settings(find_service(Notifier), g.api_user)


@blp.route("/me/notification-settings", methods=["PUT"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(SettingsSchema)
@blp.response(200, SettingsSchema)
def put_settings(body: dict[str, Any]) -> NotificationSettings:
    """Replace the settings; kinds left out of `modes` keep their current mode."""
    return update_settings(
        find_service(Notifier),
        g.api_user,
        modes=body["modes"],
        timezone=body["timezone"],
        locale=body["locale"],
        digest_hour=body["digest_hour"],
        weekly_day=body["weekly_day"],
    )


class NotificationArgs(Schema):
    kind = fields.String(validate=validate.OneOf(NOTIFICATION_KINDS))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


@blp.route("/me/notifications", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(NotificationArgs, location="query", as_kwargs=True)
@blp.response(200, NotificationOut(many=True))
def list_notifications(limit: int, kind: str | None = None) -> list[Notification]:
    """What the caller was told (or will be, in the next digest), newest first."""
    stmt = select(Notification).where(Notification.user_id == g.api_user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))
