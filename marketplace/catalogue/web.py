"""Catalogue pages: search with filters and facets, browsing by theme, place and
series, the pin page, its history, photos, submissions and the moderation queue."""

from __future__ import annotations

import functools
import json
from typing import Any, Protocol

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.forms import EmptyForm, attach_error
from marketplace.catalogue import browse, caching
from marketplace.catalogue import search as search_service
from marketplace.catalogue.caching import CATALOGUE, PIN_ACTIVITY
from marketplace.catalogue.forms import ImportForm, PinForm, ReviewForm
from marketplace.catalogue.labels import label
from marketplace.catalogue.media import catalogue_photo_dir, pin_image
from marketplace.catalogue.models import Pin, Series
from marketplace.catalogue.moderation import Moderation
from marketplace.catalogue.operations import Catalogue, parse_catalogue_file, records_to_csv
from marketplace.catalogue.titles import display_title
from marketplace.core.cache import shared_page
from marketplace.core.errors import DomainError, InvalidInput
from marketplace.core.extensions import db
from marketplace.core.photos import store_photo
from marketplace.core.registry import find_service, has_service
from marketplace.core.web import current_viewer


class PriceGuide(Protocol):
    """A pin's sale prices, shown on its page (the orders feature provides it)."""

    def __call__(self, pin_id: int) -> Any: ...


class PinInterest(Protocol):
    """How many collectors have and want a pin (the lists feature provides it)."""

    def __call__(self, pin: Pin) -> dict[str, int]: ...


bp = Blueprint("catalogue", __name__)


def moderation() -> Moderation:
    return Moderation(db.session(), catalogue_photo_dir(), current_app.config["SETTINGS"].base_url)


# -- search and browsing ---------------------------------------------------------------


def query_from_args(args: Any, *, facets: bool) -> search_service.SearchQuery:
    def number(name: str) -> int | None:
        try:
            return int(args[name]) if args.get(name) else None
        except ValueError:
            return None

    sort = args.get("sort", "relevance")
    return search_service.SearchQuery(
        q=args.get("q", "")[:200],
        theme=args.get("theme") or None,
        city=args.get("city") or None,
        republic=args.get("republic") or None,
        year_from=number("year_from"),
        year_to=number("year_to"),
        material=args.get("material") or None,
        pin_type=args.get("pin_type") or None,
        series_id=number("series"),
        maker=args.get("maker") or None,
        sort=sort if sort in search_service.SORTS else "relevance",
        page=number("page") or 1,
        per_page=min(number("per_page") or 24, 100),
        with_facets=facets,
    )


@bp.route("/pins")
def pins() -> ResponseReturnValue:
    query = query_from_args(request.args, facets=True)

    def render() -> str:
        session = db.session()
        result = caching.search(session, query)
        return render_template(
            "catalogue/search.html",
            query=query,
            result=result,
            options=_in_reading_order(caching.filter_options(session)),
            sorts=search_service.SORTS,
            suggested=search_service.suggested_queries(query.q, result.suggestions),
        )

    # The page's links repeat the query string as it came, so it is the key.
    # benchmarks/pages_load.py, 50,441 pins on PostgreSQL, 2 gunicorn workers:
    # 7-8.5 req/s computed, 120-157 req/s from the cache (front page and the
    # 200 benchmark queries).
    return shared_page((CATALOGUE,), ("pins", caching.fingerprint(request.query_string)), render)


@bp.route("/pins/<int:pin_id>")
def pin(pin_id: int) -> ResponseReturnValue:
    def render() -> str:
        session = db.session()
        catalogue = Catalogue(session)
        try:
            item = catalogue.get(pin_id)
        except DomainError:
            abort(404)
        siblings: list[Any] = []
        if item.series is not None:
            siblings, _missing = browse.series_members(session, item.series)
        return render_template(
            "catalogue/pin.html",
            pin=item,
            variants=catalogue.variants(item),
            siblings=siblings,
            stats=pin_interest(item),
            guide=price_guide(item.id),
        )

    # It shows the catalogue and who has, wants and bought the pin: it is kept
    # with the versions of both (caching.PIN_ACTIVITY). benchmarks/pages_load.py,
    # 200 pins: 23-31 req/s computed, 182 req/s from the cache.
    versions = (CATALOGUE, PIN_ACTIVITY, f"{PIN_ACTIVITY}:{pin_id}")
    return shared_page(versions, ("pin", pin_id), render)


@bp.route("/pins/<int:pin_id>/history")
def history(pin_id: int) -> ResponseReturnValue:
    catalogue = Catalogue(db.session())
    try:
        item = catalogue.get(pin_id)
    except DomainError:
        abort(404)
    return render_template(
        "catalogue/history.html", pin=item, revisions=catalogue.history(item), form=EmptyForm()
    )


@bp.route("/pins/<int:pin_id>/revert/<int:number>", methods=["POST"])
@login_required
def revert(pin_id: int, number: int) -> ResponseReturnValue:
    form = EmptyForm()
    if form.validate_on_submit():
        catalogue = Catalogue(db.session())
        try:
            catalogue.revert(catalogue.get(pin_id), number, current_user)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("catalogue.history", pin_id=pin_id)), 303
        flash(_("Reverted to revision %(number)d.", number=number), "success")
    return redirect(url_for("catalogue.history", pin_id=pin_id))


@bp.route("/pins/<int:pin_id>/stand-in.svg")
def stand_in(pin_id: int) -> ResponseReturnValue:
    """A clearly labelled drawing for pins without a photo — never a photo."""
    catalogue = Catalogue(db.session())
    try:
        item = catalogue.get(pin_id)
    except DomainError:
        abort(404)
    svg = render_template("catalogue/stand_in.svg", pin=item)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    # Its caption is in the reader's language, chosen by cookie or browser.
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.route("/media/<path:name>")
def media(name: str) -> ResponseReturnValue:
    """A catalogue or submission photo, to whoever may see it
    (`Moderation.visible_photo`), by session or API token. Anyone else gets the
    404 of a name that does not exist, so that names do not tell which are there."""
    if "/" in name or not name.endswith(".webp"):
        abort(404)
    photo = moderation().visible_photo(name, current_viewer())
    if photo is None:
        abort(404)
    response = send_from_directory(catalogue_photo_dir(), name, mimetype="image/webp")
    # The catalogue's photos may sit in any cache for a day; a submission's are
    # private and asked for again each time (approval or rejection changes who
    # may see them).
    response.headers["Cache-Control"] = (
        "public, max-age=86400" if photo.pin_id is not None else "private, no-cache"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.route("/themes")
def themes() -> ResponseReturnValue:
    return render_template("catalogue/themes.html", themes=browse.theme_counts(db.session()))


@bp.route("/places")
def places() -> ResponseReturnValue:
    return render_template("catalogue/places.html", places=browse.place_counts(db.session()))


@bp.route("/series")
def series_list() -> ResponseReturnValue:
    return render_template(
        "catalogue/series_list.html", series=browse.series_overview(db.session())
    )


@bp.route("/series/<int:series_id>")
def series(series_id: int) -> ResponseReturnValue:
    item = db.session.get(Series, series_id)
    if item is None:
        abort(404)
    members, missing = browse.series_members(db.session(), item)
    return render_template("catalogue/series.html", series=item, members=members, missing=missing)


# -- submissions and moderation ----------------------------------------------------------


def _attach_photos(form: PinForm, submission: Any) -> None:
    for side in ("obverse", "reverse"):
        upload = getattr(form, side).data
        if upload and getattr(upload, "filename", ""):
            try:
                stored = store_photo(upload.read(), storage_dir=catalogue_photo_dir())
            except DomainError as exc:
                raise InvalidInput({side: [exc.message]}) from None
            moderation().add_photo(submission, side, stored, current_user)


@bp.route("/pins/submit", methods=["GET", "POST"])
@login_required
def submit() -> ResponseReturnValue:
    form = PinForm()
    if form.validate_on_submit():
        try:
            submission = moderation().submit(current_user, form.pin_data(), note=form.note.data)
            _attach_photos(form, submission)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(_("Thank you! A moderator will review your pin."), "success")
            return redirect(url_for("catalogue.my_submissions"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("catalogue/submit.html", form=form, pin=None), status


@bp.route("/pins/<int:pin_id>/correct", methods=["GET", "POST"])
@login_required
def correct(pin_id: int) -> ResponseReturnValue:
    catalogue = Catalogue(db.session())
    try:
        item = catalogue.get(pin_id)
    except DomainError:
        abort(404)
    from marketplace.catalogue.operations import record_of

    current = record_of(item)
    form = PinForm(
        data={
            **current,
            "awarded_with_document": {True: "yes", False: "no"}.get(
                current["awarded_with_document"], ""
            ),
        }
    )
    if form.validate_on_submit():
        changes = form.pin_data(only_changed_from=current)
        try:
            submission = moderation().submit(current_user, changes, pin=item, note=form.note.data)
            _attach_photos(form, submission)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            flash(_("Thank you! A moderator will review your correction."), "success")
            return redirect(url_for("catalogue.pin", pin_id=pin_id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("catalogue/submit.html", form=form, pin=item), status


@bp.route("/submissions")
@login_required
def my_submissions() -> ResponseReturnValue:
    items = list(reversed(moderation().queue("pending", current_user)))
    items += moderation().queue("approved", current_user) + moderation().queue(
        "rejected", current_user
    )
    return render_template("catalogue/my_submissions.html", submissions=items)


def _moderator() -> None:
    if not current_user.is_authenticated or not current_user.is_moderator:
        abort(403)


@bp.route("/moderation")
@login_required
def moderation_queue() -> ResponseReturnValue:
    _moderator()
    return render_template("catalogue/moderation.html", submissions=moderation().queue())


@bp.route("/moderation/<int:submission_id>", methods=["GET", "POST"])
@login_required
def review(submission_id: int) -> ResponseReturnValue:
    _moderator()
    service = moderation()
    try:
        submission = service.get(submission_id)
    except DomainError:
        abort(404)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            if form.approve.data:
                pin = service.approve(submission, current_user)
                flash(
                    _("Approved: %(ref)s %(title)s.", ref=pin.ref, title=pin_title(pin)), "success"
                )
                return redirect(url_for("catalogue.pin", pin_id=pin.id))
            service.reject(submission, current_user, form.reason.data or "")
            flash(_("Rejected; the member will see your reason."), "info")
            return redirect(url_for("catalogue.moderation_queue"))
        except InvalidInput as exc:
            # The review form has no pin fields: name each one in the message.
            form.form_errors.extend(
                f"{field_label(f)}: {'; '.join(m)}" for f, m in exc.errors.items()
            )
        except DomainError as exc:
            attach_error(form, exc)
    return render_template(
        "catalogue/review.html",
        submission=submission,
        duplicates=service.likely_duplicates(submission),
        form=form,
    ), (422 if form.errors or form.form_errors else 200)


@bp.route("/moderation/import", methods=["GET", "POST"])
@login_required
def import_catalogue() -> ResponseReturnValue:
    _moderator()
    form = ImportForm()
    errors: list[tuple[int, str, str]] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            if not upload:
                raise DomainError(_("Choose a file."), field="file")
            records = parse_catalogue_file(upload.read(), upload.filename or "")
            created, updated, errors = Catalogue(db.session()).import_records(records, current_user)
        except DomainError as exc:
            attach_error(form, exc)
        else:
            if not errors:
                if form.dry_run.data:
                    db.session.rollback()
                    flash(
                        _(
                            "The file is fine: %(created)s and %(updated)s. Nothing was changed.",
                            created=ngettext("%(num)d new pin", "%(num)d new pins", created),
                            updated=ngettext("%(num)d update", "%(num)d updates", updated),
                        ),
                        "info",
                    )
                    return render_template("catalogue/import.html", form=form, errors=[])
                flash(
                    _(
                        "Imported: %(created)s and %(updated)s.",
                        created=ngettext("%(num)d new pin", "%(num)d new pins", created),
                        updated=ngettext("%(num)d update", "%(num)d updates", updated),
                    ),
                    "success",
                )
                return redirect(url_for("catalogue.import_catalogue"))
    status = 422 if errors or form.errors or form.form_errors else 200
    return render_template("catalogue/import.html", form=form, errors=errors), status


@bp.route("/moderation/export.<fmt>")
@login_required
def export_catalogue(fmt: str) -> ResponseReturnValue:
    _moderator()
    records = Catalogue(db.session()).export_records()
    if fmt == "json":
        body, mimetype = json.dumps(records, ensure_ascii=False, indent=1), "application/json"
    elif fmt == "csv":
        body, mimetype = records_to_csv(records), "text/csv"
    else:
        abort(404)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=znachki-catalogue.{fmt}"
    return response


@bp.app_template_global()
def theme_label(path: str) -> str:
    return path.replace("/", " › ")


@bp.app_template_global("label")
def choice_label(kind: str, value: str | None) -> str:
    """A coded value ("material", "aluminium") in the reader's language."""
    return label(kind, value)


@bp.app_template_global()
def field_label(name: str) -> str:
    """A pin field ("title_en") as the form labels it, in the reader's language;
    a field the form does not offer by its name."""
    args = getattr(getattr(PinForm, name, None), "args", None)
    return str(args[0]) if args else name


def _in_reading_order(options: dict[str, list[str]]) -> dict[str, list[str]]:
    """The filter drop-downs sorted by what the reader sees (the republics
    in Ukrainian order for a Ukrainian reader), not by the stored codes."""
    return {
        kind: values if kind == "theme" else sorted(values, key=functools.partial(label, kind))
        for kind, values in options.items()
    }


@bp.app_template_filter("number")
def number(value: Any) -> str:
    """A size or weight as the reader's language writes numbers (24,5 in Russian)."""
    return "" if value is None else str(format_decimal(value))


@bp.app_template_global()
def pin_title(pin: Pin) -> str:
    """The pin's title for this page's reader (titles.display_title)."""
    return display_title(pin, get_locale())


bp.add_app_template_global(pin_image)


def price_guide(pin_id: int) -> Any:
    if not has_service(PriceGuide):
        return None
    return find_service(PriceGuide)(pin_id)  # type: ignore[type-abstract]


def pin_interest(pin: Pin) -> dict[str, int]:
    if not has_service(PinInterest):
        return {"haves": 0, "wants": 0}
    return find_service(PinInterest)(pin)  # type: ignore[type-abstract]


__all__ = ["bp"]
