"""The catalogue's forms: a pin's attributes (a new pin or a correction), a
moderator's review, a catalogue file. Labels, choices and messages are in the
reader's language; the values sent are the catalogue's codes."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.catalogue.labels import LABELS
from marketplace.catalogue.models import (
    ATTACHMENTS,
    FINISHES,
    MATERIALS,
    PIN_TYPES,
    REPUBLICS,
    TECHNIQUES,
)
from marketplace.catalogue.operations import THEMES


def _choices(kind: str, values: tuple[str, ...]) -> list[SelectChoice]:
    labels = LABELS[kind]
    return [SelectChoice("", "—")] + [SelectChoice(v, labels.get(v, v)) for v in values]


class PinForm(FlaskForm):
    """Every attribute of a pin; used for submissions and corrections."""

    ref = StringField(
        _l("Catalogue number (with variant letter, e.g. ZN-0028а)"),
        [DataRequired(), Length(max=40)],
    )
    title_en = StringField(_l("English title"), [DataRequired(), Length(max=200)])
    title_ru = StringField(_l("Russian title"), [Optional(), Length(max=300)])
    title_uk = StringField(_l("Ukrainian title"), [Optional(), Length(max=300)])
    title_et = StringField(_l("Estonian title"), [Optional(), Length(max=300)])
    legend = TextAreaField(_l("Legend exactly as struck"), [Optional(), Length(max=2000)])
    legend_lang = StringField(
        _l("Language of the legend (ru, uk, et, mn…)"), [Optional(), Length(max=8)]
    )
    translation_en = TextAreaField(_l("English translation"), [Optional(), Length(max=2000)])
    issuer = StringField(_l("Issuer / organisation"), [Optional(), Length(max=300)])
    occasion = StringField(_l("Occasion"), [Optional(), Length(max=300)])
    themes = SelectMultipleField(
        _l("Themes"), [Optional()], choices=[SelectChoice(t) for t in THEMES]
    )
    pin_type = SelectField(_l("Type"), [Optional()], choices=_choices("pin_type", PIN_TYPES))
    series_name = StringField(_l("Series"), [Optional(), Length(max=200)])
    series_number = IntegerField(_l("Number in the series"), [Optional(), NumberRange(min=1)])
    series_size = IntegerField(_l("Pins in the series"), [Optional(), NumberRange(min=1)])
    year_from = IntegerField(_l("Year (or first year)"), [Optional()])
    year_to = IntegerField(_l("Last year"), [Optional()])
    city = StringField(_l("City"), [Optional(), Length(max=100)])
    republic = SelectField(_l("Republic"), [Optional()], choices=_choices("republic", REPUBLICS))
    maker = StringField(_l("Maker"), [Optional(), Length(max=200)])
    maker_mark = StringField(_l("Maker's mark"), [Optional(), Length(max=200)])
    material = SelectField(_l("Material"), [Optional()], choices=_choices("material", MATERIALS))
    finish = SelectField(
        _l("Gilding / silvering"), [Optional()], choices=_choices("finish", FINISHES)
    )
    hallmark = StringField(_l("Hallmark"), [Optional(), Length(max=100)])
    technique = SelectField(
        _l("Technique"), [Optional()], choices=_choices("technique", TECHNIQUES)
    )
    attachment = SelectField(
        _l("Attachment"), [Optional()], choices=_choices("attachment", ATTACHMENTS)
    )
    height_mm = DecimalField(_l("Height, mm"), [Optional()])
    width_mm = DecimalField(_l("Width, mm"), [Optional()])
    thickness_mm = DecimalField(_l("Thickness, mm"), [Optional()])
    weight_g = DecimalField(_l("Weight, g"), [Optional()])
    reverse_markings = StringField(_l("Reverse markings (price, serial number…)"), [Optional()])
    awarded_with_document = SelectField(
        _l("Awarded with a document?"),
        [Optional()],
        choices=[
            SelectChoice("", _l("unknown")),
            SelectChoice("yes", _l("yes")),
            SelectChoice("no", _l("no")),
        ],
    )
    authenticity_notes = TextAreaField(_l("Authenticity notes, known copies"), [Optional()])
    notes_en = TextAreaField(_l("Notes"), [Optional()])
    obverse = FileField(_l("Photo of the obverse (JPEG, PNG or WebP, up to 8 MB)"))
    reverse = FileField(_l("Photo of the reverse"))
    note = TextAreaField(_l("Note for the moderator"), [Optional(), Length(max=2000)])
    submit = SubmitField(_l("Send for review"))

    DATA_FIELDS = (
        "ref", "title_en", "title_ru", "title_uk", "title_et", "legend", "legend_lang",
        "translation_en", "issuer", "occasion", "themes", "pin_type", "series_name",
        "series_number", "series_size", "year_from", "year_to", "city", "republic", "maker",
        "maker_mark", "material", "finish", "hallmark", "technique", "attachment", "height_mm",
        "width_mm", "thickness_mm", "weight_g", "reverse_markings", "awarded_with_document",
        "authenticity_notes", "notes_en",
    )  # fmt: skip

    def pin_data(self, only_changed_from: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in self.DATA_FIELDS:
            value = getattr(self, name).data
            if value is not None and not isinstance(value, str | list | int | bool):
                value = str(value)
            data[name] = value
        if only_changed_from is not None:
            data = {k: v for k, v in data.items() if _differs(only_changed_from.get(k), v)}
        return data


def _differs(old: Any, new: Any) -> bool:
    blank: tuple[Any, ...] = (None, "", [])
    if old in blank and new in blank:
        return False
    if isinstance(old, bool):
        old = "yes" if old else "no"
    return str(old) != str(new)


class ReviewForm(FlaskForm):
    reason = TextAreaField(_l("Reason (required to reject)"), [Optional(), Length(max=2000)])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class ImportForm(FlaskForm):
    file = FileField(_l("Catalogue file (CSV or JSON, UTF-8)"))
    dry_run = BooleanField(_l("Check only, change nothing"))
    submit = SubmitField(_l("Import"))
