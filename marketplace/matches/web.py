"""The matches page: the logged-in collector's two-way swaps, one-way offers and
places in multi-party cycles, each with the pins each way and why it ranks where
it does. Views parse the query, read the matches and render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from marketplace.core.celery_app import GLOBAL_SOLVE_EVERY
from marketplace.core.extensions import db
from marketplace.matches import queries
from marketplace.matches.models import MATCH_KINDS

bp = Blueprint("matches", __name__)

TITLES = {
    "swap": _l("Two-way swaps"), "offer": _l("Who has what you want"), "cycle": _l("Trade loops"),
}  # fmt: skip
PREVIEW = 10


@bp.route("/matches")
@login_required
def index() -> ResponseReturnValue:
    kind = request.args.get("kind") or None
    if kind is not None and kind not in MATCH_KINDS:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int))
    kinds = [kind] if kind else list(MATCH_KINDS)
    session = db.session()
    sections: list[dict[str, Any]] = []
    for k in kinds:
        found = queries.matches_for(
            session,
            current_user.id,
            kind=k,
            page=page if kind else 1,
            per_page=queries.PER_PAGE if kind else PREVIEW,
        )
        sections.append(
            {
                "kind": k,
                "title": TITLES[k],
                "page": found,
                "shown": queries.shown(session, found.items),
            }
        )
    pins = queries.pictures(session, [v for s in sections for v in s["shown"]])
    return render_template(
        "matches/index.html",
        sections=sections,
        kind=kind,
        titles=TITLES,
        pins=pins,
        solve=queries.solve_schedule(session, GLOBAL_SOLVE_EVERY),
    )
