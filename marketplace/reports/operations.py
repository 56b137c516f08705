"""Reports, filed and answered: a member reports an item they can see (once
while it is open: a second report returns the first); moderators read the queue,
open reports first and oldest first, and resolve one — which resolves every open
report of the same item with it, recording who decided, when and why."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page
from marketplace.reports import actions
from marketplace.reports.models import REASONS, TARGET_KINDS, Report
from marketplace.reports.targets import Target, read_target, targets_of

MAX_DETAILS = 2000
MAX_NOTE = 2000
ACTIONS = {"dismiss": "dismissed", "warn": "warned", "hide": "hidden", "suspend": "suspended"}
PER_PAGE = 20
# A report's state as a refusal names it ("already answered (warned)").
STATUS_WORDS = {
    "open": _l("open"), "dismissed": _l("dismissed"), "warned": _l("warned"),
    "hidden": _l("hidden"), "suspended": _l("suspended"),
}  # fmt: skip


def check_kind(kind: str) -> None:
    if kind not in TARGET_KINDS:
        raise InvalidInput(
            {"kind": [_("Choose one of: %(choices)s.", choices=", ".join(TARGET_KINDS))]}
        )


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A report as the moderators' queue shows it, with its item (None: deleted)."""

    report: Report
    target: Target | None


class Reports:
    def __init__(self, session: Session, base_url: str = "") -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")

    # -- members ------------------------------------------------------------------------

    def target(self, viewer: User, kind: str, target_id: int) -> Target:
        """What `viewer` would report; NotFound unless they can see it."""
        check_kind(kind)
        return read_target(self.session, kind, target_id, viewer.id)

    def file(
        self, reporter: User, kind: str, target_id: int, reason: str, details: str = ""
    ) -> tuple[Report, bool]:
        """Report an item; (the report, True if new). An open report of the same
        item by the same member is returned instead of a second one."""
        check_kind(kind)
        errors: dict[str, list[str]] = {}
        if reason not in REASONS:
            errors["reason"] = [_("Choose one of: %(choices)s.", choices=", ".join(REASONS))]
        details = (details or "").strip()
        if len(details) > MAX_DETAILS:
            errors["details"] = [_("At most %(max)d characters.", max=MAX_DETAILS)]
        if errors:
            raise InvalidInput(errors)
        target = read_target(self.session, kind, target_id, reporter.id)
        if target.user_id == reporter.id:
            raise InvalidInput({"id": [_("You cannot report yourself or what you wrote.")]})
        existing = self._open_report(reporter, kind, target_id)
        if existing is not None:
            return existing, False
        report = Report(
            reporter_id=reporter.id,
            target_kind=kind,
            target_id=target_id,
            target_user_id=target.user_id,
            reason=reason,
            details=details,
            created_at=utcnow(),
        )
        try:
            with self.session.begin_nested():
                self.session.add(report)
        except IntegrityError:
            # The same member's other click got there first (the partial unique
            # index keeps one open report an item per member): that one is it.
            existing = self._open_report(reporter, kind, target_id)
            if existing is None:
                raise
            return existing, False
        return report, True

    def _open_report(self, reporter: User, kind: str, target_id: int) -> Report | None:
        return self.session.scalar(
            select(Report).where(
                Report.reporter_id == reporter.id,
                Report.target_kind == kind,
                Report.target_id == target_id,
                Report.status == "open",
            )
        )

    def mine(self, reporter: User) -> list[Report]:
        """The member's reports, newest first, with what became of them."""
        return list(
            self.session.scalars(
                select(Report)
                .where(Report.reporter_id == reporter.id)
                .order_by(Report.created_at.desc(), Report.id.desc())
            )
        )

    # -- moderators ---------------------------------------------------------------------

    @staticmethod
    def _moderator(user: User) -> None:
        if not user.is_moderator:
            raise Forbidden(_("Only moderators answer reports."))

    def open_count(self) -> int:
        found = self.session.scalar(select(func.count()).where(Report.status == "open"))
        return int(found or 0)

    def queue(self, moderator: User, page: int = 1, per_page: int = PER_PAGE) -> Page[QueueItem]:
        """Open reports first, oldest first; then the answered ones."""
        self._moderator(moderator)
        total = self.session.scalar(select(func.count(Report.id))) or 0
        reports = self.session.scalars(
            select(Report)
            .options(selectinload(Report.reporter), selectinload(Report.target_user))
            .order_by(case((Report.status == "open", 0), else_=1), Report.created_at, Report.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        targets = targets_of(self.session, ((r.target_kind, r.target_id) for r in reports))
        items = [QueueItem(r, targets.get((r.target_kind, r.target_id))) for r in reports]
        return Page(items, total, page, per_page)

    def queue_item(self, report: Report) -> QueueItem:
        """One report as the queue shows it."""
        key = (report.target_kind, report.target_id)
        return QueueItem(report, targets_of(self.session, [key]).get(key))

    def resolve(self, moderator: User, report_id: int, action: str, note: str = "") -> Report:
        """Answer a report with `action` (dismiss, warn, hide, suspend); every open
        report of the same item is answered with it."""
        self._moderator(moderator)
        errors: dict[str, list[str]] = {}
        if action not in ACTIONS:
            errors["action"] = [_("Choose one of: %(choices)s.", choices=", ".join(ACTIONS))]
        note = (note or "").strip()
        if len(note) > MAX_NOTE:
            errors["note"] = [_("At most %(max)d characters.", max=MAX_NOTE)]
        if errors:
            raise InvalidInput(errors)
        report = self.session.get(Report, report_id)
        if report is None:
            raise NotFound(_("No such report."))
        if report.status != "open":
            raise Conflict(
                _(
                    "This report was already answered (%(status)s).",
                    status=str(STATUS_WORDS.get(report.status, report.status)),
                )
            )
        target = self.queue_item(report).target
        if action != "dismiss" and target is None:
            raise Conflict(_("The reported item is gone; dismiss the report."), field="action")
        member = self.session.get(User, report.target_user_id)
        if action == "suspend" and member is not None and member.id == moderator.id:
            raise InvalidInput({"action": [_("You cannot suspend yourself.")]})
        if target is not None:
            if action == "hide":
                actions.hide(self.session, target)
            elif action == "warn":
                actions.warn(self.session, report, target, note, self.base_url)
        if action == "suspend" and member is not None:
            actions.suspend(self.session, member, note or f"Reported for {report.reason}.")
        now = utcnow()
        for same in self.session.scalars(
            select(Report).where(
                Report.target_kind == report.target_kind,
                Report.target_id == report.target_id,
                Report.status == "open",
            )
        ):
            same.status = ACTIONS[action]
            same.resolved_at = now
            same.resolved_by_id = moderator.id
            same.resolution_note = note
        self.session.flush()
        return report

    def lift_suspension(self, moderator: User, user_id: int) -> User:
        self._moderator(moderator)
        member = self.session.get(User, user_id)
        if member is None or member.suspended_at is None:
            raise NotFound(_("No such suspended member."))
        actions.lift_suspension(self.session, member)
        return member
