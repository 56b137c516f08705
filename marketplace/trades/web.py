"""The trade pages: "My trades", one trade with its history, the propose and
counter form, a ring opened from the matches page, and the actions (accept,
decline, counter, cancel, posted, received, dispute). Views parse the form, call
the `Trades` service and render; a refusal comes back as a message, and anyone
who is not a party to the trade gets 404 whatever they ask."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import User
from marketplace.core.db import writes_on_get
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists.grades import defect_name
from marketplace.lists.models import DEFECTS
from marketplace.trades import pages, queries
from marketplace.trades.forms import TermsForm, whole_number
from marketplace.trades.models import Trade
from marketplace.trades.operations import Trades

bp = Blueprint("trades", __name__)


def service() -> Trades:
    return find_service(Trades)


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


@bp.app_context_processor
def trades_waiting() -> dict[str, Any]:
    def trades_to_act() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return pages.to_act_count(db.session(), current_user.id)
        except SQLAlchemyError:
            # The header of an error page after the database failed: no count
            # is better than a second failure hiding the first.
            return 0

    return {"trades_to_act": trades_to_act}


@bp.context_processor
def trade_helpers() -> dict[str, Any]:
    # Where a collector without a postal address is sent before trading.
    return {"addresses_url": url_for("accounts.addresses.index")}


@bp.app_template_filter("defect_names")
def defect_names(mask: int) -> list[str]:
    """A copy's recorded faults (the bit mask a trade item keeps), as words."""
    return [defect_name(d).lower() for d in DEFECTS if mask & d]


def _trade(trade_id: int) -> Trade:
    """The trade for one of its parties; 404 for anyone else."""
    try:
        return service().get(_user(), trade_id)
    except DomainError:
        abort(404)


def _to_trade(trade_id: int) -> ResponseReturnValue:
    return redirect(url_for("trades.trade", trade_id=trade_id), 303)


# -- reading ----------------------------------------------------------------------------


@bp.route("/trades")
@login_required
def index() -> ResponseReturnValue:
    session = db.session()
    me = _user().id
    groups = {name: pages.cards(ts, me) for name, ts in queries.my_trades(session, me).items()}
    pins = pages.pictures(session, {p for cs in groups.values() for c in cs for p in c.pin_ids})
    return render_template("trades/index.html", groups=groups, pins=pins)


@bp.route("/trades/<int:trade_id>")
@login_required
def trade(trade_id: int) -> ResponseReturnValue:
    found = _trade(trade_id)
    session = db.session()
    me = _user()
    view = queries.view(session, found, me.id)
    pins = pages.pictures(session, {i.item.pin_id for v in view.versions for i in v.items})
    addresses = AddressBook(session).addresses(me) if "accept" in view.actions else []
    return render_template(
        "trades/trade.html", view=view, trade=found, me=me, pins=pins, addresses=addresses
    )


# -- the actions ------------------------------------------------------------------------


def _act(
    trade_id: int, call: Callable[[User, Trade], Trade], done: Callable[[Trade], str]
) -> ResponseReturnValue:
    found = _trade(trade_id)  # strangers: 404 before anything is tried
    try:
        result = call(_user(), found)
    except DomainError as exc:
        # A redirect commits: nothing the refused action flushed may stay.
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done(result), "success")
    return _to_trade(trade_id)


@bp.route("/trades/<int:trade_id>/accept", methods=["POST"])
@login_required
def accept(trade_id: int) -> ResponseReturnValue:
    address_id = whole_number(request.form.get("address_id"))
    return _act(
        trade_id,
        lambda user, t: service().accept(user, t.id, address_id),
        lambda t: (
            _("Everyone has accepted: the copies are held and it is time to post your parcel.")
            if t.status == "accepted"
            else _("You accepted these terms; the others are asked to answer.")
        ),
    )


@bp.route("/trades/<int:trade_id>/decline", methods=["POST"])
@login_required
def decline(trade_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "")
    return _act(
        trade_id,
        lambda user, t: service().decline(user, t.id, reason),
        lambda t: _("You declined; everyone in the trade has been told."),
    )


@bp.route("/trades/<int:trade_id>/cancel", methods=["POST"])
@login_required
def cancel(trade_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "")

    def call(user: User, found: Trade) -> Trade:
        # Before an answer the author takes their terms back; once agreed, the
        # trade is called off (and its copies released).
        if found.status == "proposed":
            return service().withdraw(user, found.id, reason)
        return service().cancel(user, found.id, reason)

    return _act(
        trade_id,
        call,
        lambda t: (
            _("Trade #%(id)d is withdrawn; the others are told.", id=t.id)
            if t.status == "cancelled" and t.accepted_at is None
            else _("Trade #%(id)d is called off; the others are told.", id=t.id)
        ),
    )


@bp.route("/trades/<int:trade_id>/ship", methods=["POST"])
@login_required
def ship(trade_id: int) -> ResponseReturnValue:
    to = whole_number(request.form.get("to"))
    tracking = request.form.get("tracking", "")
    return _act(
        trade_id,
        lambda user, t: service().ship(user, t.id, to=to, tracking=tracking),
        lambda t: _("Marked posted; the receiver has been told."),
    )


@bp.route("/trades/<int:trade_id>/receive", methods=["POST"])
@login_required
def receive(trade_id: int) -> ResponseReturnValue:
    sender = whole_number(request.form.get("sender"))
    return _act(
        trade_id,
        lambda user, t: service().receive(user, t.id, sender=sender),
        lambda t: (
            _("Every parcel has arrived: the trade is complete and your lists are updated.")
            if t.status == "completed"
            else _("Marked received; thank you.")
        ),
    )


@bp.route("/trades/<int:trade_id>/dispute", methods=["POST"])
@login_required
def dispute(trade_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "")
    return _act(
        trade_id,
        lambda user, t: service().dispute(user, t.id, reason),
        lambda t: _("The trade is frozen and a moderator has been asked to look."),
    )


# -- terms: proposing and countering ------------------------------------------------------


def _terms_page(
    other: User,
    form: TermsForm,
    *,
    action: str,
    trade: Trade | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = db.session()
    me = _user()
    mine, mine_cut = pages.offered_copies(session, me.id, include=set(form.give))
    theirs, theirs_cut = pages.offered_copies(session, other.id, include=set(form.take))
    addresses = AddressBook(session).addresses(me)
    if form.address_id is None and addresses:
        form.address_id = addresses[0].id  # the default comes first
    gone = queries.view(session, trade, me.id).gone if trade is not None else []
    page = render_template(
        "trades/terms.html",
        other=other,
        form=form,
        action=action,
        trade=trade,
        mine=mine,
        theirs=theirs,
        cut=mine_cut or theirs_cut,
        addresses=addresses,
        gone=gone,
        error=error,
        ships_first=service().ships_first([me.id, other.id]),
    )
    return page, status


@bp.route("/trades/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    me = _user()
    other_id = request.args.get("with", type=int)
    other = db.session.get(User, other_id) if other_id else None
    if other is None or not other.is_active or other.id == me.id:
        abort(404)
    match_id = request.args.get("match", type=int)
    query: dict[str, Any] = {"with": other.id, "match": match_id}  # `with` is a keyword
    action = url_for("trades.new", **query)
    if request.method == "POST":
        form = TermsForm.from_form(request.form)
        try:
            made = service().propose(
                me,
                other.id,
                give=form.give_lines,
                take=form.take_lines,
                note=form.note,
                address_id=form.address_id,
            )
        except DomainError as exc:
            db.session.rollback()
            return _terms_page(other, form, action=action, error=exc.message, status=exc.status)
        flash(
            _("Your proposal is sent; %(name)s is asked to answer.", name=other.display_name),
            "success",
        )
        return _to_trade(made.id)
    form = TermsForm()
    if match_id is not None:
        copies = pages.swap_match_copies(db.session(), me.id, match_id, other.id)
        if copies is None:
            abort(404)
        form = TermsForm.prefilled(((h, 1) for h in copies[0]), ((h, 1) for h in copies[1]))
    return _terms_page(other, form, action=action)


@bp.route("/trades/<int:trade_id>/counter", methods=["GET", "POST"])
@login_required
def counter(trade_id: int) -> ResponseReturnValue:
    found = _trade(trade_id)
    me = _user()
    if "counter" not in queries.actions_for(found, me.id):
        flash(_("The terms of this trade cannot be changed now."), "error")
        return _to_trade(trade_id)
    other = next(p.user for p in found.parties if p.user_id != me.id)
    action = url_for("trades.counter", trade_id=trade_id)
    if request.method == "POST":
        form = TermsForm.from_form(request.form)
        try:
            service().counter(
                me,
                trade_id,
                give=form.give_lines,
                take=form.take_lines,
                note=form.note,
                address_id=form.address_id,
            )
        except DomainError as exc:
            db.session.rollback()
            return _terms_page(
                other,
                form,
                action=action,
                trade=_trade(trade_id),
                error=exc.message,
                status=exc.status,
            )
        flash(
            _("Your new terms are sent; %(name)s is asked to answer.", name=other.display_name),
            "success",
        )
        return _to_trade(trade_id)
    current = [(i.giver_id, i.have_id, i.quantity) for i in found.current_items()]
    form = TermsForm.prefilled(
        ((have, n) for giver, have, n in current if have is not None and giver == me.id),
        ((have, n) for giver, have, n in current if have is not None and giver != me.id),
    )
    return _terms_page(other, form, action=action, trade=found)


# -- rings ------------------------------------------------------------------------------


@bp.route("/trades/rings/<int:proposal_id>", methods=["GET", "POST"])
@writes_on_get
@login_required
def ring(proposal_id: int) -> ResponseReturnValue:
    """The ring trade for a cycle on the matches page: opened the first time any
    member looks (one per cycle), then shown like any trade."""
    try:
        found = service().open_ring(_user(), proposal_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    return _to_trade(found.id)
