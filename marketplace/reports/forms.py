"""WTForms for the report and block pages: shape only (choices, lengths); the
services decide whether the item may be reported or the member blocked."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.reports.models import REASONS
from marketplace.reports.operations import ACTIONS, MAX_DETAILS, MAX_NOTE

# Shown words, made in the reader's language when the page is drawn.
REASON_LABELS = {
    "spam": _l("Spam or advertising"),
    "abuse": _l("Abusive or hateful"),
    "fraud": _l("Fraud or a scam"),
    "counterfeit": _l("Counterfeit or a misdescribed copy"),
    "other": _l("Something else"),
}
ACTION_LABELS = {
    "dismiss": _l("Dismiss: nothing wrong"),
    "warn": _l("Warn the member by mail"),
    "hide": _l("Hide the item"),
    "suspend": _l("Suspend the member"),
}
STATUS_LABELS = {
    "open": _l("open"),
    "dismissed": _l("dismissed"),
    "warned": _l("warned"),
    "hidden": _l("hidden"),
    "suspended": _l("suspended"),
}
# What was reported, as a noun, and the page title for reporting one.
KIND_LABELS = {
    "message": _l("Message"),
    "profile": _l("Collector profile"),
    "listing": _l("Listing"),
    "feedback": _l("Feedback comment"),
}
REPORT_TITLES = {
    "message": _l("Report a message"),
    "profile": _l("Report a collector profile"),
    "listing": _l("Report a listing"),
    "feedback": _l("Report a feedback comment"),
}


class ReportForm(FlaskForm):
    reason = SelectField(
        _l("Why are you reporting it?"),
        [InputRequired()],
        choices=[SelectChoice(r, REASON_LABELS[r]) for r in REASONS],
    )
    details = TextAreaField(
        LazyString(
            lambda: ngettext(
                "Anything the moderators should know (up to %(num)d character)",
                "Anything the moderators should know (up to %(num)d characters)",
                MAX_DETAILS,
            )
        ),
        [Optional(), Length(max=MAX_DETAILS)],
    )
    submit = SubmitField(_l("Send the report"))


class ResolveForm(FlaskForm):
    action = SelectField(
        _l("Decision"),
        [InputRequired()],
        choices=[SelectChoice(a, ACTION_LABELS[a]) for a in ACTIONS],
    )
    note = TextAreaField(_l("Note (kept with the decision)"), [Optional(), Length(max=MAX_NOTE)])


class BlockForm(FlaskForm):
    user_id = IntegerField(_l("Collector"), [DataRequired()])
    next = HiddenField()


class ButtonForm(FlaskForm):
    """A button that only needs its CSRF token (unblock, lift a suspension)."""
