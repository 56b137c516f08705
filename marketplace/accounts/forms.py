"""WTForms for the pages. Forms check shape (required, length, format); rules that
need the database live in the services, whose errors are put back on the field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Regexp

from marketplace.accounts.addresses import LIMITS
from marketplace.accounts.operations import MAX_PASSWORD, MIN_PASSWORD
from marketplace.core.errors import DomainError

# InputRequired, not DataRequired: a password of only spaces reaches the service,
# which says why it is weak rather than that nothing was typed.
_password = [InputRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)]
# Counted words follow the reader's plural rules, so they are made when shown.
_password_label = LazyString(
    lambda: ngettext(
        "Password (at least %(num)d character)",
        "Password (at least %(num)d characters)",
        MIN_PASSWORD,
    )
)


class SignUpForm(FlaskForm):
    display_name = StringField(_l("Name other collectors see"), [DataRequired(), Length(max=80)])
    email = EmailField(_l("Email"), [DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_password_label, _password)
    submit = SubmitField(_l("Create account"))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), [DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), [DataRequired(), Length(max=MAX_PASSWORD)])
    submit = SubmitField(_l("Log in"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), [DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send reset link"))


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), _password)
    confirm = PasswordField(
        _l("Repeat the new password"),
        [DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), [DataRequired()])
    new_password = PasswordField(_l("New password"), _password)
    submit = SubmitField(_l("Change password"))


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(_l("New email"), [DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Current password"), [DataRequired()])
    submit = SubmitField(_l("Send confirmation link"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Current password"), [DataRequired()])
    submit = SubmitField(_l("Delete my account"))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), [DataRequired(), Length(max=80)])
    submit = SubmitField(_l("Create token"))


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _at_most(limit: int) -> LazyString:
    return LazyString(
        lambda: ngettext("At most %(num)d character.", "At most %(num)d characters.", limit)
    )


def _address_field(name: str, label: LazyString, required: LazyString | None = None) -> StringField:
    checks: list[object] = [Length(max=LIMITS[name], message=_at_most(LIMITS[name]))]
    if required is not None:
        checks.insert(0, DataRequired(required))
    return StringField(label, checks, filters=[_strip])


class AddressForm(FlaskForm):
    """One postal address, as the post needs it; `AddressBook` checks it again.
    Each label is a whole phrase (with "optional" or "is required" in it), so a
    language can put the words where it needs them."""

    name = _address_field("name", _l("Recipient"), _l("Recipient is required."))
    line1 = _address_field("line1", _l("Street and number"), _l("Street and number is required."))
    line2 = _address_field("line2", _l("Flat, building (optional)"))
    city = _address_field("city", _l("City"), _l("City is required."))
    region = _address_field("region", _l("Region (optional)"))
    postal_code = _address_field("postal_code", _l("Postal code (optional)"))
    country = StringField(
        _l("Country (two-letter code)"),
        [
            DataRequired(_l("Country is required.")),
            Regexp(
                r"^[A-Za-z]{2}$", message=_l("A two-letter country code, such as EE, UA or DE.")
            ),
        ],
        filters=[_strip],
    )
    phone = _address_field("phone", _l("Phone (optional)"))
    is_default = BooleanField(_l("Send my parcels here unless I choose another address"))
    submit = SubmitField(_l("Save address"))


class EmptyForm(FlaskForm):
    """CSRF only: for buttons such as log out and revoke."""


def attach_error(form: FlaskForm, error: DomainError) -> None:
    """Show a service's refusal on the fields it names (several, for
    InvalidInput), or on the whole form."""
    named = getattr(error, "errors", None) or {error.field: [error.message]}
    for name, messages in named.items():
        field = getattr(form, name, None) if name else None
        for message in messages:
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                form.form_errors.append(message)
