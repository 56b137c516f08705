"""The matches page: the logged-in collector's two-way swaps, one-way offers and
places in multi-party cycles, each with the pins each way and why it ranks where
it does. Views parse the query, call the matches service and render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.catalogue.models import Pin
from marketplace.core.extensions import db
from marketplace.matches import operations as service
from marketplace.matches.models import MATCH_KINDS

bp = Blueprint("matches", __name__)

TITLES = {"swap": "Two-way swaps", "offer": "Who has what you want", "cycle": "Trade loops"}
PREVIEW = 10


@bp.route("/matches")
@login_required
def index() -> ResponseReturnValue:
    kind = request.args.get("kind") or None
    if kind is not None and kind not in MATCH_KINDS:
        abort(404)
    page = max(1, request.args.get("page", 1, type=int))
    kinds = [kind] if kind else list(MATCH_KINDS)
    sections: list[dict[str, Any]] = []
    for k in kinds:
        found = service.matches_for(
            db.session(),
            current_user.id,
            kind=k,
            page=page if kind else 1,
            per_page=service.PER_PAGE if kind else PREVIEW,
        )
        sections.append({"kind": k, "title": TITLES[k], "page": found})
    shown = [m for s in sections for m in s["page"].items]
    pins = {
        p.id: p
        for p in db.session.scalars(
            select(Pin)
            .where(Pin.id.in_(sorted(service.pin_ids(shown))))
            .options(selectinload(Pin.photos))
        )
    }
    return render_template(
        "matches/index.html",
        sections=sections,
        kind=kind,
        titles=TITLES,
        pins=pins,
        is_new=service.is_new,
    )
