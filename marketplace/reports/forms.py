"""WTForms for the report and block pages: shape only (choices, lengths); the
services decide whether the item may be reported or the member blocked."""

from __future__ import annotations

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

REASON_LABELS = {
    "spam": "Spam or advertising",
    "abuse": "Abusive or hateful",
    "fraud": "Fraud or a scam",
    "counterfeit": "Counterfeit or a misdescribed copy",
    "other": "Something else",
}
ACTION_LABELS = {
    "dismiss": "Dismiss: nothing wrong",
    "warn": "Warn the member by mail",
    "hide": "Hide the item",
    "suspend": "Suspend the member",
}


class ReportForm(FlaskForm):
    reason = SelectField(
        "Why are you reporting it?",
        [InputRequired()],
        choices=[SelectChoice(r, REASON_LABELS[r]) for r in REASONS],
    )
    details = TextAreaField(
        f"Anything the moderators should know (up to {MAX_DETAILS} characters)",
        [Optional(), Length(max=MAX_DETAILS)],
    )
    submit = SubmitField("Send the report")


class ResolveForm(FlaskForm):
    action = SelectField(
        "Decision", [InputRequired()], choices=[SelectChoice(a, ACTION_LABELS[a]) for a in ACTIONS]
    )
    note = TextAreaField("Note (kept with the decision)", [Optional(), Length(max=MAX_NOTE)])


class BlockForm(FlaskForm):
    user_id = IntegerField("Collector", [DataRequired()])
    next = HiddenField()


class ButtonForm(FlaskForm):
    """A button that only needs its CSRF token (unblock, lift a suspension)."""
