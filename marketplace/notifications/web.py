"""Notification settings, one-click unsubscribe (RFC 8058), and the list of what
a collector has been told."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, SubmitField
from wtforms.validators import DataRequired, NumberRange

from marketplace.accounts.forms import EmptyForm, attach_error
from marketplace.core.errors import DomainError
from marketplace.core.extensions import csrf, db
from marketplace.core.i18n import language_names
from marketplace.core.registry import find_service
from marketplace.notifications.models import MODES, NOTIFICATION_KINDS, Notification
from marketplace.notifications.notification_settings import read_settings, update_settings
from marketplace.notifications.operations import Notifier
from marketplace.notifications.time_zones import DEFAULT as DEFAULT_ZONE
from marketplace.notifications.time_zones import zone_choices

bp = Blueprint("notifications", __name__)

LABELS = {
    "swap": _l("Two-way swaps"), "offer": _l("Someone has what I want"),
    "cycle": _l("Trade rings"), "trade": _l("My trades"), "message": _l("Messages"),
    "order": _l("Orders"),
}  # fmt: skip
MODE_LABELS = {
    "instant": _l("instant"), "daily": _l("daily"), "weekly": _l("weekly"), "off": _l("off"),
}  # fmt: skip
STATUS_LABELS = {"pending": _l("waiting"), "sent": _l("sent"), "skipped": _l("not sent")}
DAYS = [
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
    _l("Saturday"), _l("Sunday"),
]  # fmt: skip


def settings_form(current_zone: str | None = None) -> type[FlaskForm]:
    from wtforms import SelectChoice

    class SettingsForm(FlaskForm):
        timezone = SelectField(
            _l("Time zone"),
            [DataRequired()],
            choices=[
                SelectChoice(zone, name, optgroup=region)
                for region, zones in zone_choices(current_zone).items()
                for zone, name in zones
            ],
        )
        locale = SelectField(
            _l("Language of emails"),
            choices=[SelectChoice(code, name) for code, name in language_names().items()],
        )
        digest_hour = IntegerField(_l("Digests arrive at (local hour)"), [NumberRange(0, 23)])
        weekly_day = SelectField(
            _l("Weekly digests on"), choices=[SelectChoice(str(i), d) for i, d in enumerate(DAYS)]
        )
        submit = SubmitField(_l("Save"))

    for kind in NOTIFICATION_KINDS:
        setattr(
            SettingsForm,
            f"mode_{kind}",
            SelectField(
                LABELS[kind], choices=[SelectChoice(m, MODE_LABELS.get(m, m)) for m in MODES]
            ),
        )
    return SettingsForm


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    n = find_service(Notifier)
    current = read_settings(n, current_user)
    form = settings_form(current.timezone)(
        data={
            "timezone": current.timezone,
            "locale": current.locale,
            "digest_hour": current.digest_hour,
            "weekly_day": str(current.weekly_day),
            **{f"mode_{k}": v for k, v in current.modes.items()},
        }
    )
    if form.validate_on_submit():
        try:
            update_settings(
                n,
                current_user,
                modes={k: getattr(form, f"mode_{k}").data for k in NOTIFICATION_KINDS},
                timezone=form.timezone.data.strip(),
                locale=form.locale.data,
                digest_hour=form.digest_hour.data,
                weekly_day=int(form.weekly_day.data),
            )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(gettext("Notification settings saved."), "success")
            return redirect(url_for("notifications.settings"))
    recent = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "notifications/settings.html",
        form=form,
        kinds=NOTIFICATION_KINDS,
        current=current,
        recent=recent,
        resume_form=EmptyForm(),
        pending=n.pending_count(current_user.id),
        labels=LABELS,
        statuses=STATUS_LABELS,
        # Until a member chooses, the page preselects the browser's zone.
        zone_unchosen=current.timezone == DEFAULT_ZONE,
    ), (422 if form.errors or form.form_errors else 200)


@bp.route("/account/notifications/resume", methods=["POST"])
@login_required
def resume() -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        find_service(Notifier).resume(current_user)
        flash(gettext("Thanks — we will send to your address again."), "success")
    return redirect(url_for("notifications.settings"))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the token is the proof; mail clients post without a session (RFC 8058)
def unsubscribe(token: str) -> ResponseReturnValue:
    n = find_service(Notifier)
    try:
        _user_id, kind = n.links.read_token(token)
    except DomainError as exc:
        return render_template(
            "accounts/message.html", title=gettext("Link not valid"), message=exc.message
        ), 400
    if request.method == "POST":
        n.unsubscribe(token)
        if kind == "all":
            said = gettext(
                "You will not receive any notification emails any more. "
                "You can change this in your notification settings."
            )
        else:
            said = gettext(
                "You will not receive “%(label)s” emails any more. "
                "You can change this in your notification settings.",
                label=LABELS[kind],
            )
        return render_template("accounts/message.html", title=gettext("Unsubscribed"), message=said)
    return render_template("notifications/unsubscribe.html", kind=kind, label=LABELS.get(kind))
