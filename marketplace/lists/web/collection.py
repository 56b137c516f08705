"""The lists overview (totals, jars and charts, recent imports), the opt-in public
collection page, and series completion with its "want the missing ones" button."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from marketplace.accounts import reputation
from marketplace.accounts.forms import EmptyForm
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists.forms import PublicPageForm
from marketplace.lists.operations import HAVES, WANTS, defect_slugs
from marketplace.lists.web.common import bp, filters_from_query, service, signed_in, staged


@bp.route("/lists/")
@login_required
def overview() -> ResponseReturnValue:
    lists = service()
    pins, copies, wants = lists.totals(current_user.id)
    page = lists.collection_page(signed_in())
    form = PublicPageForm(shows=page.shows)
    return render_template(
        "lists/overview.html",
        pins=pins,
        copies=copies,
        wants=wants,
        jars=lists.jars(current_user.id),
        republics=lists.by_republic(current_user.id),
        public=page,
        public_form=form,
        imports=staged().recent(signed_in()),
    )


@bp.route("/lists/public", methods=["POST"])
@login_required
def set_public() -> ResponseReturnValue:
    form = PublicPageForm()
    if form.validate_on_submit():
        page = service().set_public(signed_in(), form.shows.data)
        flash(
            _("Your collection page is private.")
            if page.shows == "none"
            else _("Your collection page is public: share its link."),
            "success",
        )
    return redirect(url_for("lists.overview"), 303)


@bp.route("/c/<slug>")
def public_collection(slug: str) -> ResponseReturnValue:
    lists = service()
    try:
        page = lists.public_page(slug)
    except DomainError:
        abort(404)
    filters = filters_from_query()
    shows = {"haves", "wants"} if page.shows == "both" else {page.shows}
    haves = lists.browse(HAVES, page.user_id, filters) if HAVES.name in shows else None
    wants = lists.browse(WANTS, page.user_id, filters) if WANTS.name in shows else None
    return render_template(
        "lists/public.html",
        owner=page.user,
        haves=haves,
        wants=wants,
        jars=lists.jars(page.user_id) if haves else [],
        defect_slugs=defect_slugs,
        standing=reputation.standing(db.session(), page.user_id),
    )


@bp.route("/lists/series")
@login_required
def series() -> ResponseReturnValue:
    return render_template(
        "lists/series.html",
        progress=service().series_completion(current_user.id),
        empty_form=EmptyForm(),
    )


@bp.route("/lists/series/<int:series_id>/want-missing", methods=["POST"])
@login_required
def want_missing(series_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        try:
            added = service().want_missing(signed_in(), series_id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(
                ngettext(
                    "Added %(num)d missing pin to your Wants.",
                    "Added %(num)d missing pins to your Wants.",
                    added,
                ),
                "success",
            )
    return redirect(url_for("lists.series"), 303)
