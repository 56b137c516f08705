"""Account pages: sign up, verify, log in and out, reset a password, settings
(email, password, API tokens, deletion), with the address book's pages nested
under /account/addresses (accounts.address_web). Views validate, call `Accounts`, and map
its errors back onto the form."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import address_web
from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    EmptyForm,
    LoginForm,
    ResetForm,
    ResetRequestForm,
    SignUpForm,
    TokenForm,
    attach_error,
)
from marketplace.accounts.login_throttle import count_failure, login_limits, remember_device
from marketplace.accounts.operations import Accounts
from marketplace.core.db import writes_on_get
from marketplace.core.errors import DomainError, Unauthorized
from marketplace.core.extensions import limiter
from marketplace.core.registry import find_service
from marketplace.core.web import safe_target

bp = Blueprint("accounts", __name__, url_prefix="/account")
bp.register_blueprint(address_web.bp)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            find_service(Accounts).sign_up(
                form.email.data,
                form.password.data,
                form.display_name.data,
                locale=str(get_locale()),
            )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            return _check_mail()
    return render_template("accounts/signup.html", form=form), 200 if not form.errors else 422


@bp.route("/verify/<secret>")
@writes_on_get
def verify(secret: str) -> ResponseReturnValue:
    try:
        find_service(Accounts).verify_email(secret)
    except DomainError as exc:
        return render_template(
            "accounts/message.html", title=gettext("Link not valid"), message=exc.message
        ), 400
    flash(gettext("Your address is confirmed. Welcome! You can log in now."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        service = find_service(Accounts)
        try:
            user = service.authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            if isinstance(exc, Unauthorized):
                count_failure()
            attach_error(form, exc)
        else:
            service.start_login_session(user, client_user_agent())
            login_user(user)
            response = redirect(safe_target(request.args.get("next"), url_for("main.home")))
            remember_device(response, user.email)
            return response
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        find_service(Accounts).end_login_session(current_user.get_id())
        logout_user()
        flash(gettext("You are logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], scope="reset-ip")
def reset_request() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        find_service(Accounts).request_password_reset(form.email.data)
        return _check_mail()
    return render_template(
        "accounts/reset_request.html", form=form
    ), 200 if not form.errors else 422


@bp.route("/reset/<secret>", methods=["GET", "POST"])
def reset(secret: str) -> ResponseReturnValue:
    service = find_service(Accounts)
    try:
        service.check_reset_token(secret)
    except DomainError as exc:
        return render_template(
            "accounts/message.html", title=gettext("Link not valid"), message=exc.message
        ), 400
    form = ResetForm()
    if form.validate_on_submit():
        try:
            service.reset_password(secret, form.password.data)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(gettext("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), 200 if not form.errors else 422


@bp.route("/confirm-email/<secret>")
@writes_on_get
def confirm_email(secret: str) -> ResponseReturnValue:
    try:
        find_service(Accounts).confirm_email_change(secret)
    except DomainError as exc:
        return render_template(
            "accounts/message.html", title=gettext("Link not valid"), message=exc.message
        ), 400
    flash(gettext("Your new email address is confirmed."), "success")
    return redirect(url_for("accounts.settings"))


@bp.route("/settings", methods=["GET"])
@login_required
def settings() -> ResponseReturnValue:
    return _settings_page()


def _settings_page(status: int = 200, **forms: object) -> ResponseReturnValue:
    context = {
        "email_form": ChangeEmailForm(prefix="email"),
        "password_form": ChangePasswordForm(prefix="password"),
        "delete_form": DeleteAccountForm(prefix="delete"),
        "token_form": TokenForm(prefix="token"),
        "revoke_form": EmptyForm(),
        "tokens": find_service(Accounts).list_api_tokens(current_user),
        "new_token": None,
        "default_address": find_service(AddressBook).default(current_user.id),
    }
    context.update(forms)
    return render_template("accounts/settings.html", **context), status


@bp.route("/settings/password", methods=["POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm(prefix="password")
    if form.validate_on_submit():
        try:
            find_service(Accounts).change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(gettext("Password changed. Other browsers were logged out."), "success")
            return redirect(url_for("accounts.settings"))
    return _settings_page(422, password_form=form)


@bp.route("/settings/email", methods=["POST"])
@login_required
def change_email() -> ResponseReturnValue:
    form = ChangeEmailForm(prefix="email")
    if form.validate_on_submit():
        try:
            find_service(Accounts).request_email_change(
                current_user, form.password.data, form.new_email.data
            )
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(gettext("We sent a confirmation link to the new address."), "info")
            return redirect(url_for("accounts.settings"))
    return _settings_page(422, email_form=form)


@bp.route("/settings/tokens", methods=["POST"])
@login_required
def create_token() -> ResponseReturnValue:
    form = TokenForm(prefix="token")
    if form.validate_on_submit():
        try:
            _token, clear = find_service(Accounts).create_api_token(current_user, form.name.data)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            return _settings_page(201, new_token=clear)
    return _settings_page(422, token_form=form)


@bp.route("/settings/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            find_service(Accounts).revoke_api_token(current_user, token_id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(gettext("Token revoked."), "info")
    return redirect(url_for("accounts.settings"))


@bp.route("/settings/delete", methods=["POST"])
@login_required
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm(prefix="delete")
    if form.validate_on_submit():
        try:
            find_service(Accounts).delete_account(current_user, form.password.data)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            logout_user()
            flash(gettext("Your account and everything in it are deleted."), "info")
            return redirect(url_for("main.home"))
    return _settings_page(422, delete_form=form)


def _check_mail() -> ResponseReturnValue:
    # The same words as `operations.CHECK_MAIL` (which the API answers with),
    # in the reader's language.
    message = gettext(
        "Check your mail: we sent a message to that address. "
        "If it doesn't arrive within a few minutes, look in the spam folder."
    )
    return render_template("accounts/check_mail.html", message=message)


def client_user_agent() -> str:
    return request.headers.get("User-Agent", "")[:200]
