"""WTForms for the list pages. Shapes only; the list service checks the values
(conditions, money, quantities) and its errors go back onto these fields."""

from __future__ import annotations

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


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _conditions() -> list[SelectChoice]:
    return _choices(condition_choices())


class AddToListForm(FlaskForm):
    """The one-click buttons on pin pages and search results."""

    pin_id = IntegerField("Pin", [DataRequired()])
    next = HiddenField()


class HaveForm(FlaskForm):
    quantity = IntegerField("Quantity", [DataRequired(), NumberRange(min=1, max=MAX_QUANTITY)])
    condition = SelectField("Condition", choices=_conditions(), default="fine")
    defects = MultiCheckboxField("Defects", choices=_choices([(d.slug, d.label) for d in DEFECTS]))
    tradeable = BooleanField("Available for trade", default=True)
    price = StringField("Asking price", [Optional(), Length(max=14)])
    currency = StringField("Currency", [Optional(), Length(min=3, max=3)])
    notes = TextAreaField("Notes", [Optional(), Length(max=MAX_NOTES)])
    submit = SubmitField("Save")


class WantForm(FlaskForm):
    priority = SelectField(
        "Priority", choices=_choices([(str(n), str(n)) for n in range(5, 0, -1)]), default="3"
    )
    min_condition = SelectField(
        "Minimum condition", choices=[SelectChoice("", "Any"), *_conditions()]
    )
    max_price = StringField("Maximum price", [Optional(), Length(max=14)])
    currency = StringField("Currency", [Optional(), Length(min=3, max=3)])
    notes = TextAreaField("Notes", [Optional(), Length(max=MAX_NOTES)])
    submit = SubmitField("Save")


class MoveForm(FlaskForm):
    condition = SelectField("Condition it arrived in", choices=_conditions(), default="fine")
    pin_id = IntegerField("Variant", [Optional()])
    submit = SubmitField("Arrived: move to Haves")


class PhotoForm(FlaskForm):
    photo = FileField("Photo (JPEG, PNG or WebP)", [FileRequired()])
    submit = SubmitField("Upload")


class UploadForm(FlaskForm):
    file = FileField("CSV file (at most 10 MB)", [FileRequired()])
    encoding = SelectField(
        "Encoding",
        choices=_choices(
            [
                ("", "Detect (UTF-8 or Windows-1251)"),
                ("utf-8", "UTF-8"),
                ("cp1251", "Windows-1251 (Cyrillic Excel)"),
            ]
        ),
        default="",
    )
    submit = SubmitField("Upload and map columns")


class StartImportForm(FlaskForm):
    mode = RadioField(
        "If some rows have problems",
        choices=_choices(
            [
                ("all_or_nothing", "Import nothing (fix the file and try again)"),
                ("good_rows", "Import the good rows and give me a report of the rest"),
            ]
        ),
        default="all_or_nothing",
    )
    submit = SubmitField("Import")


class PublicPageForm(FlaskForm):
    shows = SelectField(
        "Public collection page",
        choices=_choices(
            [
                ("none", "Off: my lists are private"),
                ("haves", "Show my Haves"),
                ("wants", "Show my Wants"),
                ("both", "Show Haves and Wants"),
            ]
        ),
    )
    submit = SubmitField("Save")
