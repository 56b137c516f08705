"""WTForms for the list pages. Shapes only; the list service checks the values
(conditions, money, quantities) and its errors go back onto these fields."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.lists.models import DEFECTS
from marketplace.lists.operations import MAX_NOTES, MAX_QUANTITY, condition_choices


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _conditions() -> list[SelectChoice]:
    return _choices(condition_choices())


class AddToListForm(FlaskForm):
    """The one-click buttons on pin pages and search results."""

    pin_id = IntegerField(_l("Pin"), [DataRequired()])
    next = HiddenField()


class HaveForm(FlaskForm):
    quantity = IntegerField(_l("Quantity"), [DataRequired(), NumberRange(min=1, max=MAX_QUANTITY)])
    condition = SelectField(_l("Condition"), choices=_conditions(), default="fine")
    defects = MultiCheckboxField(
        _l("Defects"), choices=_choices([(d.slug, d.label) for d in DEFECTS])
    )
    tradeable = BooleanField(_l("Available for trade"), default=True)
    price = StringField(_l("Asking price"), [Optional(), Length(max=14)])
    currency = StringField(_l("Currency"), [Optional(), Length(min=3, max=3)])
    notes = TextAreaField(_l("Notes"), [Optional(), Length(max=MAX_NOTES)])
    submit = SubmitField(_l("Save"))


class WantForm(FlaskForm):
    priority = SelectField(
        _l("Priority"), choices=_choices([(str(n), str(n)) for n in range(5, 0, -1)]), default="3"
    )
    min_condition = SelectField(
        _l("Minimum condition"), choices=[SelectChoice("", _l("Any")), *_conditions()]
    )
    max_price = StringField(_l("Maximum price"), [Optional(), Length(max=14)])
    currency = StringField(_l("Currency"), [Optional(), Length(min=3, max=3)])
    notes = TextAreaField(_l("Notes"), [Optional(), Length(max=MAX_NOTES)])
    submit = SubmitField(_l("Save"))


class MoveForm(FlaskForm):
    condition = SelectField(_l("Condition it arrived in"), choices=_conditions(), default="fine")
    pin_id = IntegerField(_l("Variant"), [Optional()])
    submit = SubmitField(_l("Arrived: move to Haves"))


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo (JPEG, PNG or WebP)"), [FileRequired()])
    submit = SubmitField(_l("Upload"))


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file (at most 10 MB)"), [FileRequired()])
    encoding = SelectField(
        _l("Encoding"),
        choices=_choices(
            [
                ("", _l("Detect (UTF-8 or Windows-1251)")),
                ("utf-8", "UTF-8"),
                ("cp1251", _l("Windows-1251 (Cyrillic Excel)")),
            ]
        ),
        default="",
    )
    submit = SubmitField(_l("Upload and map columns"))


class StartImportForm(FlaskForm):
    mode = RadioField(
        _l("If some rows have problems"),
        choices=_choices(
            [
                ("all_or_nothing", _l("Import nothing (fix the file and try again)")),
                ("good_rows", _l("Import the good rows and give me a report of the rest")),
            ]
        ),
        default="all_or_nothing",
    )
    submit = SubmitField(_l("Import"))


class PublicPageForm(FlaskForm):
    shows = SelectField(
        _l("Public collection page"),
        choices=_choices(
            [
                ("none", _l("Off: my lists are private")),
                ("haves", _l("Show my Haves")),
                ("wants", _l("Show my Wants")),
                ("both", _l("Show Haves and Wants")),
            ]
        ),
    )
    submit = SubmitField(_l("Save"))
