"""The address book pages under /account/addresses: a collector's postal
addresses with the default marked, adding, changing and deleting one, and choosing
the default. A blueprint nested in the account pages (endpoints
`accounts.addresses.*`); views validate, call `AddressBook`, and put its errors
back on the form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required

from marketplace.accounts.addresses import MAX_ADDRESSES, AddressBook
from marketplace.accounts.forms import AddressForm, EmptyForm, attach_error
from marketplace.accounts.models import ADDRESS_FIELDS, Address, User, address_lines
from marketplace.core.errors import DomainError
from marketplace.core.registry import find_service

bp = Blueprint("addresses", __name__, url_prefix="/addresses")


@bp.app_context_processor
def address_helpers() -> dict[str, Any]:
    return {"address_lines": address_lines}


def book() -> AddressBook:
    return find_service(AddressBook)


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _own(address_id: int) -> Address:
    try:
        return book().get(_user(), address_id)
    except DomainError:
        abort(404)


def _next_url() -> str | None:
    """Where to go after saving: back to the page that sent the collector here
    (the listing they were buying), if it is one of ours."""
    target = request.values.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else None


def _fields(form: AddressForm) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in ADDRESS_FIELDS}


def _form_page(form: AddressForm, address: Address | None) -> ResponseReturnValue:
    return render_template(
        "accounts/address_form.html", form=form, address=address, next_url=_next_url()
    ), 422 if form.errors else 200


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "accounts/addresses.html",
        addresses=book().addresses(_user()),
        action_form=EmptyForm(),
        max_addresses=MAX_ADDRESSES,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def add() -> ResponseReturnValue:
    form = AddressForm()
    if form.validate_on_submit():
        try:
            book().add(_user(), _fields(form), default=bool(form.is_default.data))
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(gettext("Address saved."), "success")
            return redirect(_next_url() or url_for(".index"))
    return _form_page(form, None)


@bp.route("/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit(address_id: int) -> ResponseReturnValue:
    address = _own(address_id)
    form = AddressForm(obj=address)
    if form.validate_on_submit():
        try:
            book().update(_user(), address_id, _fields(form))
            if form.is_default.data and not address.is_default:
                book().make_default(_user(), address_id)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(gettext("Address saved."), "success")
            return redirect(_next_url() or url_for(".index"))
    return _form_page(form, address)


@bp.route("/<int:address_id>/default", methods=["POST"])
@login_required
def make_default(address_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        _own(address_id)
        book().make_default(_user(), address_id)
        flash(gettext("Parcels now come to this address unless you choose another."), "success")
    return redirect(url_for(".index"))


@bp.route("/<int:address_id>/delete", methods=["POST"])
@login_required
def delete(address_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        _own(address_id)
        book().delete(_user(), address_id)
        flash(gettext("Address deleted. Orders already placed keep their own copy."), "info")
    return redirect(url_for(".index"))
