"""WTForms for the pages. Forms check shape (required, length, format); rules that
need the database live in the services, whose errors are put back on the field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Regexp

from marketplace.accounts.addresses import LABELS, LIMITS
from marketplace.accounts.operations import MAX_PASSWORD, MIN_PASSWORD
from marketplace.core.errors import DomainError

# InputRequired, not DataRequired: a password of only spaces reaches the service,
# which says why it is weak rather than that nothing was typed.
_password = [InputRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)]


class SignUpForm(FlaskForm):
    display_name = StringField("Name other collectors see", [DataRequired(), Length(max=80)])
    email = EmailField("Email", [DataRequired(), Email(), Length(max=254)])
    password = PasswordField(f"Password (at least {MIN_PASSWORD} characters)", _password)
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Length(max=254)])
    password = PasswordField("Password", [DataRequired(), Length(max=MAX_PASSWORD)])
    submit = SubmitField("Log in")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", [DataRequired(), Email(), Length(max=254)])
    submit = SubmitField("Send reset link")


class ResetForm(FlaskForm):
    password = PasswordField("New password", _password)
    confirm = PasswordField(
        "Repeat the new password", [DataRequired(), EqualTo("password", "The passwords differ.")]
    )
    submit = SubmitField("Set password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", [DataRequired()])
    new_password = PasswordField("New password", _password)
    submit = SubmitField("Change password")


class ChangeEmailForm(FlaskForm):
    new_email = EmailField("New email", [DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Current password", [DataRequired()])
    submit = SubmitField("Send confirmation link")


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Current password", [DataRequired()])
    submit = SubmitField("Delete my account")


class TokenForm(FlaskForm):
    name = StringField("Token name", [DataRequired(), Length(max=80)])
    submit = SubmitField("Create token")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _address_field(name: str, required: bool = False) -> StringField:
    checks = [Length(max=LIMITS[name], message=f"At most {LIMITS[name]} characters.")]
    if required:
        checks.insert(0, DataRequired(f"{LABELS[name]} is required."))
    label = LABELS[name] if required else f"{LABELS[name]} (optional)"
    return StringField(label, checks, filters=[_strip])


class AddressForm(FlaskForm):
    """One postal address, as the post needs it; `AddressBook` checks it again."""

    name = _address_field("name", required=True)
    line1 = _address_field("line1", required=True)
    line2 = _address_field("line2")
    city = _address_field("city", required=True)
    region = _address_field("region")
    postal_code = _address_field("postal_code")
    country = StringField(
        "Country (two-letter code)",
        [
            DataRequired("Country is required."),
            Regexp(r"^[A-Za-z]{2}$", message="A two-letter country code, such as EE, UA or DE."),
        ],
        filters=[_strip],
    )
    phone = _address_field("phone")
    is_default = BooleanField("Send my parcels here unless I choose another address")
    submit = SubmitField("Save address")


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
