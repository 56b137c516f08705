"""WTForms for the pages. Forms check shape (required, length, format); rules that
need the database live in the services, whose errors are put back on the field."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from marketplace.accounts.operations import MAX_PASSWORD, MIN_PASSWORD
from marketplace.core.errors import DomainError

_password = [DataRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)]


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
