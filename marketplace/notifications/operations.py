"""Telling collectors: turn new matches (and, through `notify`, any other event)
into notifications, mail them at once or gather them into daily or weekly digests
at the collector's local hour, in their language, and let them unsubscribe with
one click.

Never twice: every notification is unique per (collector, kind, dedupe key), and a
match that comes back within `COOLING` of being announced is not announced again.
Never lost: notifications are rows written in the same transaction as their cause,
mail goes through the outbox, and delivery retries until the SMTP server answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.i18n import languages
from marketplace.core.models import utcnow
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage
from marketplace.matches import queries
from marketplace.matches.models import Match
from marketplace.notifications.mail_content import MATCH_KINDS, NoteMail, rank
from marketplace.notifications.models import (
    MODES,
    NOTIFICATION_KINDS,
    Digest,
    Notification,
    NotificationPreference,
)
from marketplace.notifications.time_zones import is_offered

COOLING = timedelta(days=14)
DEFAULT_MODES = {
    "swap": "instant", "offer": "daily", "cycle": "instant",
    "trade": "instant", "message": "instant", "order": "instant",
}  # fmt: skip


@dataclass(frozen=True)
class Links:
    base_url: str
    secret_key: str

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt="unsubscribe")

    def unsubscribe_token(self, user_id: int, kind: str) -> str:
        return self._serializer().dumps({"u": user_id, "k": kind})

    def unsubscribe(self, user_id: int, kind: str) -> str:
        return f"{self.base_url}/unsubscribe/{self.unsubscribe_token(user_id, kind)}"

    def read_token(self, token: str) -> tuple[int, str]:
        try:
            data = self._serializer().loads(token)
        except BadSignature:
            raise DomainError(gettext("This unsubscribe link is not valid.")) from None
        kind = data.get("k")
        if kind != "all" and kind not in NOTIFICATION_KINDS:
            raise DomainError(gettext("This unsubscribe link is not valid."))
        return int(data["u"]), str(kind)


class Notifier:
    def __init__(self, session: Session, links: Links) -> None:
        self.session = session
        self.links = links

    # -- preferences -------------------------------------------------------------------

    def modes(self, user_id: int) -> dict[str, str]:
        return self.modes_of([user_id])[user_id]

    def modes_of(self, user_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """`modes` of many collectors in one query."""
        users = sorted(set(user_ids))
        stored: dict[int, dict[str, str]] = {u: {} for u in users}
        for user_id, kind, mode in self.session.execute(
            select(
                NotificationPreference.user_id,
                NotificationPreference.kind,
                NotificationPreference.mode,
            ).where(NotificationPreference.user_id.in_(users))
        ):
            stored[user_id][kind] = mode
        return {
            u: {kind: stored[u].get(kind, DEFAULT_MODES[kind]) for kind in NOTIFICATION_KINDS}
            for u in users
        }

    def set_mode(self, user_id: int, kind: str, mode: str) -> None:
        if kind not in NOTIFICATION_KINDS:
            raise DomainError(
                gettext("Unknown kind of notification: %(kind)s.", kind=kind), field=kind
            )
        if mode not in MODES:
            raise DomainError(
                gettext("Choose one of: %(choices)s.", choices=", ".join(MODES)), field=kind
            )
        row = self.session.scalar(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
            )
        )
        if row is None:
            self.session.add(NotificationPreference(user_id=user_id, kind=kind, mode=mode))
        else:
            row.mode = mode
        self.session.flush()

    def update_settings(
        self, user: User, *, modes: dict[str, str], timezone: str, locale: str,
        digest_hour: int, weekly_day: int,
    ) -> None:  # fmt: skip
        if not is_offered(timezone):
            raise DomainError(
                gettext("Choose a time zone from the list, such as Europe/Tallinn."),
                field="timezone",
            )
        if locale not in languages():
            raise DomainError(
                gettext(
                    "Choose one of the languages offered: %(choices)s.",
                    choices=", ".join(languages()),
                ),
                field="locale",
            )
        if not 0 <= digest_hour <= 23:
            raise DomainError(gettext("An hour from 0 to 23."), field="digest_hour")
        if not 0 <= weekly_day <= 6:
            raise DomainError(gettext("A day of the week."), field="weekly_day")
        for kind, mode in modes.items():
            self.set_mode(user.id, kind, mode)
        user.timezone, user.locale = timezone, locale
        state = mail.mail_settings(self.session, user.id)
        state.digest_hour, state.weekly_day = digest_hour, weekly_day

    def resume(self, user: User) -> None:
        """The collector says their address works again."""
        state = mail.mail_settings(self.session, user.id)
        state.suspended_at = None
        state.consecutive_failures = 0

    def unsubscribe(self, token: str) -> tuple[User, str]:
        user_id, kind = self.links.read_token(token)
        user = self.session.get(User, user_id)
        if user is None:
            raise DomainError(gettext("This unsubscribe link is not valid."))
        for each in NOTIFICATION_KINDS if kind == "all" else (kind,):
            self.set_mode(user.id, each, "off")
        return user, kind

    # -- turning events into notifications ----------------------------------------------

    def notify(
        self, user_id: int, kind: str, subject_key: str, payload: dict[str, Any], *,
        priority: int = 3, now: datetime | None = None,
    ) -> Notification | None:  # fmt: skip
        """Record that `user_id` should hear about `subject_key`, unless they heard
        about it within COOLING or turned this kind off. Returns the new row."""
        now = now or utcnow()
        mode = self.modes(user_id)[kind]
        last = self.session.scalar(
            select(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.kind == kind,
                Notification.subject_key == subject_key,
            )
            .order_by(Notification.created_at.desc())
            .limit(1)
        )
        if last is not None and now - last.created_at < COOLING:
            return None
        # The cooling window is part of the identity, so a racing second worker
        # hits the unique constraint instead of announcing the match again.
        window = int(now.timestamp() // COOLING.total_seconds())
        note = Notification(
            user_id=user_id,
            kind=kind,
            subject_key=subject_key,
            dedupe_key=f"{subject_key}@{window}",
            priority=priority,
            payload=payload,
            status="skipped" if mode == "off" else "pending",
            created_at=now,
        )
        try:
            with self.session.begin_nested():
                self.session.add(note)
        except IntegrityError:
            return None
        return note

    def collect_matches(self, user_id: int, now: datetime | None = None) -> list[Notification]:
        """New notifications for this collector's active matches, then the
        instant ones mailed (one message for everything found at once)."""
        return self.collect_matches_many([user_id], now)[user_id]

    def collect_matches_many(
        self, user_ids: Iterable[int], now: datetime | None = None
    ) -> dict[int, list[Notification]]:
        """`collect_matches` for many collectors, each query made once for all of
        them (a match refresh's events arrive together)."""
        now = now or utcnow()
        users = sorted(set(user_ids))
        matches = self.session.scalars(
            select(Match)
            .where(
                Match.user_id.in_(users),
                Match.active.is_(True),
                queries.not_blocked(Match.user_id),
            )
            .order_by(Match.user_id, Match.score.desc(), Match.id)
        ).all()
        pins = queries.pins_each_way(self.session, [m.id for m in matches])
        proposals = [m.proposal_id for m in matches if m.kind == "cycle" and m.proposal_id]
        cycles = queries.cycles_of(self.session, proposals) if proposals else {}
        counterparts = sorted({m.counterpart_id for m in matches if m.counterpart_id})
        names: dict[int, str] = dict(
            self.session.execute(
                select(User.id, User.display_name).where(User.id.in_(counterparts))
            ).all()
        )
        wanted = []
        for match in matches:
            cycle = cycles.get(match.proposal_id) if match.proposal_id else None
            name = names.get(match.counterpart_id) if match.counterpart_id else None
            payload = self._match_payload(match, pins[match.id], cycle, name)
            wanted.append(_Wanted(match.user_id, match.kind, f"{match.kind}:{match.key}",
                                  payload, 6 - payload["best_stars"]))  # fmt: skip
        created: dict[int, list[Notification]] = {u: [] for u in users}
        for note in self._notify_many(wanted, now):
            created[note.user_id].append(note)
        self.send_instant_many(users, now)
        return created

    def _notify_many(self, wanted: Sequence[_Wanted], now: datetime) -> list[Notification]:
        """`notify` for many (collector, subject) pairs, in one savepoint; if a
        racing worker noted one of them first, one by one after all."""
        if not wanted:
            return []
        users = sorted({w.user_id for w in wanted})
        modes = self.modes_of(users)
        last: dict[tuple[int, str, str], datetime] = {
            (user_id, kind, key): created
            for user_id, kind, key, created in self.session.execute(
                select(
                    Notification.user_id,
                    Notification.kind,
                    Notification.subject_key,
                    func.max(Notification.created_at),
                )
                .where(
                    Notification.user_id.in_(users),
                    Notification.subject_key.in_(sorted({w.subject_key for w in wanted})),
                )
                .group_by(Notification.user_id, Notification.kind, Notification.subject_key)
            )
        }
        window = int(now.timestamp() // COOLING.total_seconds())
        fresh = [
            w for w in wanted
            if (seen := last.get((w.user_id, w.kind, w.subject_key))) is None
            or now - seen >= COOLING
        ]  # fmt: skip
        notes = [
            Notification(
                user_id=w.user_id,
                kind=w.kind,
                subject_key=w.subject_key,
                dedupe_key=f"{w.subject_key}@{window}",
                priority=w.priority,
                payload=w.payload,
                status="skipped" if modes[w.user_id][w.kind] == "off" else "pending",
                created_at=now,
            )
            for w in fresh
        ]
        if not notes:
            return []
        try:
            with self.session.begin_nested():
                self.session.add_all(notes)
        except IntegrityError:
            again = (
                self.notify(w.user_id, w.kind, w.subject_key, w.payload,
                            priority=w.priority, now=now)
                for w in fresh
            )  # fmt: skip
            return [note for note in again if note is not None]
        return notes

    def _match_payload(
        self,
        match: Match,
        pins: dict[str, list[dict[str, Any]]],
        cycle: dict[str, Any] | None,
        counterpart: str | None,
    ) -> dict[str, Any]:
        # A swap lists pins each way, an offer what is offered, a ring one pin
        # each way.
        receive, give = pins["receive"], pins["give"]
        # Want priorities are stars, 5 the most wanted (as on the lists pages).
        stars = [int(i["priority"]) for i in receive if i.get("priority")]
        members = cycle["members"] if cycle else []
        # In a ring the pins come from one member and go to another: name both.
        legs = cycle["legs"] if cycle else []
        sender = next((leg["giver"] for leg in legs if leg["receiver_id"] == match.user_id), None)
        recipient = next(
            (leg["receiver"] for leg in legs if leg["giver_id"] == match.user_id), None
        )
        base = self.links.base_url
        # Each mail leads to the next step: a ring to its trade page, a swap to the
        # proposal form filled with the match's pins.
        if match.kind == "cycle" and match.proposal_id:
            url = f"{base}/trades/rings/{match.proposal_id}"
        elif match.kind == "swap" and match.counterpart_id:
            url = f"{base}/trades/new?with={match.counterpart_id}&match={match.id}"
        else:
            url = f"{base}/matches"
        return {
            "url": url,
            "match_id": match.id,
            "kind": match.kind,
            "counterpart": counterpart,
            "members": members,
            "counterpart_id": match.counterpart_id,
            "sender": sender,
            "recipient": recipient,
            "receive": receive,
            "give": give,
            "score": match.score,
            "best_stars": max(stars) if stars else 3,
        }

    # -- mailing -------------------------------------------------------------------------

    def send_instant(self, user_id: int, now: datetime | None = None) -> int:
        return self.send_instant_many([user_id], now)[user_id]

    def send_instant_many(
        self, user_ids: Iterable[int], now: datetime | None = None
    ) -> dict[int, int]:
        """Mail each collector their pending instant notifications (one message
        each); how many each message told, 0 for those not mailed."""
        now = now or utcnow()
        users = sorted(set(user_ids))
        modes = self.modes_of(users)
        pending: dict[int, list[Notification]] = {u: [] for u in users}
        for note in self.session.scalars(
            select(Notification)
            .where(Notification.user_id.in_(users), Notification.status == "pending")
            .order_by(Notification.priority, Notification.id)
        ):
            if modes[note.user_id][note.kind] == "instant":
                pending[note.user_id].append(note)
        active = self._active([n for notes in pending.values() for n in notes])
        current = {u: self._still_current(u, notes, active) for u, notes in pending.items()}
        jobs = [_Job(u, notes, "notify_instant", None) for u, notes in current.items() if notes]
        sent = self._send_messages(jobs, now)
        return {u: len(current[u]) if sent.get(u) is not None else 0 for u in users}

    def due_digests(self, now: datetime) -> list[tuple[int, str]]:
        """(collector, period) pairs whose digest hour has come, in their own time
        zone, and that have something pending for a digest."""
        pending: dict[int, set[str]] = {}
        for user_id, kind in self.session.execute(
            select(Notification.user_id, Notification.kind)
            .where(Notification.status == "pending")
            .distinct()
        ):
            pending.setdefault(user_id, set()).add(kind)
        due = []
        for user_id, kinds in sorted(pending.items()):
            user = self.session.get(User, user_id)
            if user is None:
                continue
            state = mail.mail_settings(self.session, user_id)
            local = now.astimezone(_zone(user.timezone))
            if local.hour < state.digest_hour:
                continue
            waiting = {self.modes(user_id)[kind] for kind in kinds}
            if "daily" in waiting:
                due.append((user_id, f"daily:{local.date().isoformat()}"))
            if "weekly" in waiting and local.weekday() == state.weekly_day:
                year, week, _ = local.isocalendar()
                due.append((user_id, f"weekly:{year}-W{week:02d}"))
        return due

    def send_digest(self, user_id: int, period: str, now: datetime | None = None) -> Digest | None:
        """Mail one digest; a second call for the same period does nothing."""
        now = now or utcnow()
        exists = self.session.scalar(
            select(Digest.id).where(Digest.user_id == user_id, Digest.period == period)
        )
        if exists is not None:
            return None
        frequency = period.split(":", 1)[0]
        kinds = [k for k, m in self.modes(user_id).items() if m == frequency]
        pending = self._still_current(user_id, self._pending(user_id, kinds))
        digest = Digest(user_id=user_id, period=period, items=len(pending), created_at=now)
        try:
            with self.session.begin_nested():
                self.session.add(digest)
        except IntegrityError:
            return None  # another run got there first
        if pending:
            digest.mail_message_id = self._send_message(
                user_id, pending, "notify_digest", frequency, now
            )
        return digest

    def _pending(self, user_id: int, kinds: Sequence[str]) -> list[Notification]:
        if not kinds:
            return []
        return list(
            self.session.scalars(
                select(Notification)
                .where(
                    Notification.user_id == user_id,
                    Notification.status == "pending",
                    Notification.kind.in_(kinds),
                )
                .order_by(Notification.priority, Notification.id)
            )
        )

    def _active(self, notes: Iterable[Notification]) -> set[int]:
        """Which of the matches these notes are about are still active."""
        ids = {n.payload.get("match_id") for n in notes if n.kind in MATCH_KINDS}
        ids.discard(None)
        if not ids:
            return set()
        # A match with someone blocked since is as good as lapsed: never mailed.
        rows = self.session.execute(
            select(Match.id, Match.active).where(
                Match.id.in_(sorted(ids)), queries.not_blocked(Match.user_id)
            )
        ).all()
        return {match_id for match_id, is_active in rows if is_active}

    def _still_current(
        self, user_id: int, notes: list[Notification], active: set[int] | None = None
    ) -> list[Notification]:
        """The pending notes still worth mailing; the others are marked skipped.

        A match that lapsed while its note waited for a digest is no deal any
        more: an offer that became a swap, a ring the next solve replaced with
        a new proposal of the same loop; nor is one with a collector blocked
        (either way) since it was noted. And one deal noted under several keys
        (those replacements, or a two-collector loop beside its swap before
        such loops were dropped) is listed once, under its best-ranked note:
        a deal is the other collectors in it and the pins each way."""
        if active is None:
            active = self._active(notes)
        kept: list[Notification] = []
        deals: set[tuple[Any, ...]] = set()
        for note in sorted(notes, key=rank):
            if note.kind in MATCH_KINDS:
                deal = _deal(user_id, note.payload)
                if note.payload.get("match_id") not in active or deal in deals:
                    note.status = "skipped"
                    continue
                deals.add(deal)
            kept.append(note)
        return kept

    def _send_message(
        self, user_id: int, notes: list[Notification], template: str, period: str | None,
        now: datetime,
    ) -> int | None:  # fmt: skip
        return self._send_messages([_Job(user_id, notes, template, period)], now).get(user_id)

    def _send_messages(self, jobs: Sequence[_Job], now: datetime) -> dict[int, int | None]:
        """Render and queue one message per job; the mail message id for each
        collector mailed, None for those who are not (gone, or suspended)."""
        if not jobs:
            return {}
        ids = sorted({job.user_id for job in jobs})
        users = {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(ids)))}
        states = mail.settings_of(self.session, ids)
        writer = NoteMail(self.session, self.links)
        series = writer.series_of(
            i.get("pin_id") for job in jobs for n in job.notes for i in n.payload.get("receive", [])
        )
        done: dict[int, int | None] = {}
        queued: list[tuple[int, MailMessage, list[Notification]]] = []
        for job in jobs:
            user = users.get(job.user_id)
            done[job.user_id] = None
            if user is None or states[job.user_id].suspended_at is not None:
                # A suspended address keeps failing: keep the notifications for the
                # settings page and the next digest after the collector fixes it.
                continue
            message = writer.render(user, job.notes, job.template, job.period, series)
            queued.append((job.user_id, message, job.notes))
        mail.queue_all(self.session, [message for _, message, _ in queued])
        for user_id, message, notes in queued:
            done[user_id] = message.id
            for note in notes:
                note.status = "sent"
                note.sent_at = now
                note.mail_message_id = message.id
        return done

    def pending_count(self, user_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count(Notification.id)).where(
                    Notification.user_id == user_id, Notification.status == "pending"
                )
            )
            or 0
        )


@dataclass(frozen=True, slots=True)
class _Wanted:
    """A notification to record, as `notify` takes it."""

    user_id: int
    kind: str
    subject_key: str
    payload: dict[str, Any]
    priority: int


@dataclass(frozen=True, slots=True)
class _Job:
    """One message to send: to whom, which notes, which template and period."""

    user_id: int
    notes: list[Notification]
    template: str
    period: str | None


def _deal(user_id: int, payload: dict[str, Any]) -> tuple[Any, ...]:
    """What a match note offers, whatever its kind or key: the other collectors
    in it and the pins each way."""
    others = {m.get("id") for m in payload.get("members") or []} - {user_id}
    others.add(payload.get("counterpart_id") or payload.get("counterpart"))
    others.discard(None)

    def pins(direction: str) -> tuple[int, ...]:
        return tuple(
            sorted(int(i["pin_id"]) for i in payload.get(direction, []) if i.get("pin_id"))
        )

    return tuple(sorted(map(str, others))), pins("receive"), pins("give")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
