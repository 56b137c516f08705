"""What every list page shares: the blueprint, the list services on the request's
session, where a button returns to, the filters read off the query string, and the
signed-in collector."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, request
from flask_login import current_user

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.web import safe_target
from marketplace.lists.csv_import import StagedImports
from marketplace.lists.grades import condition_name, defect_name
from marketplace.lists.models import Condition
from marketplace.lists.operations import ListFilters, Lists

bp = Blueprint("lists", __name__)
# Grades and defects in the reader's language, for every feature's templates.
bp.add_app_template_filter(condition_name, "condition_name")
bp.add_app_template_filter(defect_name, "defect_name")


def service() -> Lists:
    return Lists(db.session())


def staged() -> StagedImports:
    return StagedImports(db.session())


def back(default: str) -> str:
    """Where to return after a button: `next`, else the page it was pressed on."""
    target = request.form.get("next") or request.args.get("next") or ""
    if not target and request.referrer:
        referrer = urlsplit(request.referrer)
        if referrer.netloc == request.host:
            target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return safe_target(target, default)


def filters_from_query() -> ListFilters:
    condition = request.args.get("condition", "")
    return ListFilters(
        theme=request.args.get("theme") or None,
        series_id=request.args.get("series", type=int),
        condition=Condition[condition.upper()]
        if condition.upper() in Condition.__members__
        else None,
        sort=request.args.get("sort", "added"),
        page=max(1, request.args.get("page", 1, type=int)),
    )


def signed_in() -> User:
    user: User = current_user._get_current_object()
    return user
