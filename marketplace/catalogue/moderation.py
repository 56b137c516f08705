"""Members propose pins and corrections; moderators approve (optionally editing),
or reject with a reason, and the member is mailed the decision. Before approval,
likely duplicates are shown, most likely first: pins whose legend or title is
similar in any script, with the same issuer and year, or a near-identical photo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.labels import label
from marketplace.catalogue.models import Pin, PinPhoto, Submission
from marketplace.catalogue.operations import Catalogue, clean_pin_data
from marketplace.catalogue.search import SearchQuery, search
from marketplace.catalogue.titles import display_title
from marketplace.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from marketplace.core.models import utcnow
from marketplace.core.photos import StoredImage, hash_distance
from marketplace.mail import delivery as mail

PHOTO_DISTANCE = 8  # perceptual-hash bits: below this two photos show the same thing
LEGEND_SIMILARITY = 75.0  # out of 100, see `legend_similarity`
CANDIDATE_WORDS = 8  # legend and title words whose pins are compared


@dataclass(frozen=True)
class Duplicate:
    pin: Pin
    reasons: list[LazyString]  # in the reader's language when shown
    score: float = 0.0  # legend similarity (0–1) + 1 for issuer and year + 1.5 for a photo


@dataclass(frozen=True)
class ModerationLinks:
    """Absolute links for the decision mail; the web layer knows the routes."""

    base_url: str

    def pin(self, pin_id: int) -> str:
        return f"{self.base_url}/pins/{pin_id}"

    def submissions(self) -> str:
        return f"{self.base_url}/submissions"


def comparable(text: str) -> str:
    """A legend or title as script-free words: Cyrillic romanised (Ukrainian
    and Belarusian letters read as Russian), every word by its spelling key, so
    «ЮРИЙ ГАГАРИН», "Yuri Gagarin" and "Juri Gagarin" compare equal."""
    out = []
    for word in tr.words(text):
        if tr.has_cyrillic(word):
            word = tr.romanise(tr.russify(word), "bgn")
        out.append(tr.spelling_key(word))
    return " ".join(out)


def legend_similarity(a: str, b: str) -> float:
    """0–100: the mean of RapidFuzz's token-set ratio (one legend contains the
    other: ЮРИЙ ГАГАРИН in ЮРИЙ ГАГАРИН ВОСТОК) and token-sort ratio (how much
    of each they share), so a one-word legend that happens to appear in a longer
    one (ВОСТОК) scores well below a near-copy."""
    a, b = comparable(a), comparable(b)
    if not a or not b:
        return 0.0
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


class Moderation:
    def __init__(self, session: Session, photo_dir: Path, base_url: str = "") -> None:
        self.session = session
        self.photo_dir = photo_dir
        self.links = ModerationLinks(base_url)

    def submit(
        self, user: User, data: dict[str, Any], *, pin: Pin | None = None, note: str | None = None
    ) -> Submission:
        """A new pin (no `pin`) or a correction to `pin`. The data is checked now,
        so the member hears about mistakes at once, not from a moderator."""
        if pin is None:
            errors: dict[str, list[str]] = {}
            try:
                clean_pin_data(data)
            except InvalidInput as exc:
                errors = dict(exc.errors)
            ref = str(data.get("ref") or "").strip()
            if ref and Catalogue(self.session).by_ref(ref) is not None:
                errors.setdefault("ref", []).append(
                    _("Catalogue number %(ref)s is already taken.", ref=ref)
                )
            if errors:
                raise InvalidInput(errors)
        else:
            clean_pin_data(data, partial=True)
            if not data:
                raise DomainError(_("Change at least one field."))
        submission = Submission(
            kind="correction" if pin else "new",
            pin_id=pin.id if pin else None,
            submitted_by_id=user.id,
            data=_json(data),
            note=(note or "").strip() or None,
        )
        self.session.add(submission)
        self.session.flush()
        return submission

    def add_photo(self, submission: Submission, side: str, stored: StoredImage, user: User) -> None:
        if side not in ("obverse", "reverse", "other"):
            raise DomainError(
                _("Say whether the photo shows the obverse or the reverse."), field="side"
            )
        submission.photos.append(
            PinPhoto(
                submission_id=submission.id,
                side=side,
                filename=stored.filename,
                thumbnail=stored.thumbnail,
                width=stored.width,
                height=stored.height,
                phash=stored.phash,
                uploaded_by_id=user.id,
            )
        )
        self.session.flush()

    def get(self, submission_id: int) -> Submission:
        submission = self.session.scalar(
            select(Submission)
            .where(Submission.id == submission_id)
            .options(selectinload(Submission.photos))
        )
        if submission is None:
            raise NotFound(_("No such submission."))
        return submission

    def queue(self, status: str = "pending", user: User | None = None) -> list[Submission]:
        stmt = select(Submission).where(Submission.status == status).order_by(Submission.id)
        if user is not None:
            stmt = stmt.where(Submission.submitted_by_id == user.id)
        return list(self.session.scalars(stmt.options(selectinload(Submission.photos))))

    def visible_photo(self, name: str, viewer: User | None) -> PinPhoto | None:
        """The photo stored as `name` (either size) if `viewer` (None: a visitor) may
        see it, else None — also when no photo has that name (a file left behind
        by a replaced photo is nobody's). A pin's photos are the catalogue's, for
        everyone; a submission's, until approved, only its submitter's and the
        moderators' (rejected ones stay so)."""
        photo = self.session.scalar(
            select(PinPhoto).where(or_(PinPhoto.filename == name, PinPhoto.thumbnail == name))
        )
        if photo is None:
            return None
        if photo.pin_id is not None:
            return photo
        if viewer is None:
            return None
        if viewer.is_moderator:
            return photo
        submitter = self.session.scalar(
            select(Submission.submitted_by_id).where(Submission.id == photo.submission_id)
        )
        return photo if submitter is not None and submitter == viewer.id else None

    def likely_duplicates(self, submission: Submission, limit: int = 8) -> list[Duplicate]:
        """Pins that may be the submitted one, most likely first. Candidates are
        the pins any of its legend or title words finds (in any script); each is
        scored by legend and title similarity across scripts, the same issuer and
        year, and a near-identical photo."""
        data = submission.data
        legend = str(data.get("legend") or "")
        title = str(data.get("title_en") or "")
        reasons: dict[int, list[LazyString]] = {}
        scores: dict[int, float] = {}
        pins: dict[int, Pin] = {}

        def note(pin: Pin, reason: LazyString, score: float) -> None:
            if submission.pin_id == pin.id:
                return
            pins[pin.id] = pin
            if reason not in reasons.setdefault(pin.id, []):
                reasons[pin.id].append(reason)
                scores[pin.id] = scores.get(pin.id, 0.0) + score

        words = [w for w in dict.fromkeys(tr.words(f"{legend} {title}")) if len(w) >= 3]
        candidates: dict[int, Pin] = {}
        for word in words[:CANDIDATE_WORDS]:
            for pin in search(self.session, SearchQuery(q=word, per_page=20)).pins:
                candidates[pin.id] = pin
        for pin in candidates.values():
            similarity = max(
                legend_similarity(legend, pin.legend or "") if legend else 0.0,
                legend_similarity(title, pin.title_en) if title else 0.0,
                # A legend against a title: a pin catalogued with only an English
                # title, or a submission without a legend.
                legend_similarity(legend, pin.title_en) if legend else 0.0,
                legend_similarity(title, pin.legend or "") if title else 0.0,
            )
            if similarity >= LEGEND_SIMILARITY:
                reason = _l("similar legend or title (%(percent)d%%)", percent=round(similarity))
                note(pin, reason, similarity / 100)
        if data.get("issuer") and data.get("year_from"):
            same = self.session.scalars(
                select(Pin).where(
                    func.lower(Pin.issuer) == str(data["issuer"]).strip().lower(),
                    Pin.year_from == int(data["year_from"]),
                ).limit(limit)
            )  # fmt: skip
            for pin in same:
                note(pin, _l("same issuer and year"), 1.0)
        if submission.photos:
            candidates_with_photos = self.session.scalars(
                select(PinPhoto).where(PinPhoto.pin_id.is_not(None)).options(
                    selectinload(PinPhoto.pin)
                )
            ).all()  # fmt: skip
            for photo in submission.photos:
                for other in candidates_with_photos:
                    if other.pin and hash_distance(photo.phash, other.phash) <= PHOTO_DISTANCE:
                        note(other.pin, _l("near-identical photo"), 1.5)
        ranked = sorted(pins.values(), key=lambda p: (-scores[p.id], p.ref))
        return [Duplicate(p, reasons[p.id], round(scores[p.id], 3)) for p in ranked[:limit]]

    def approve(
        self, submission: Submission, moderator: User, edits: dict[str, Any] | None = None
    ) -> Pin:
        self._check(submission, moderator)
        data = {**submission.data, **(edits or {})}
        catalogue = Catalogue(self.session)
        comment = f"submission #{submission.id}"
        if submission.kind == "new":
            pin = catalogue.create(data, moderator, action="submission", comment=comment)
        else:
            pin = catalogue.get(submission.pin_id or 0)
            pin = catalogue.update(pin, data, moderator, action="submission", comment=comment)
        for photo in submission.photos:
            # A new photo of a side replaces the old one of that side.
            for old in [p for p in pin.photos if p.side == photo.side and photo.side != "other"]:
                pin.photos.remove(old)
            pin.photos.append(photo)  # it keeps its submission_id: where it came from
        submission.status = "approved"
        submission.reviewed_by_id = moderator.id
        submission.reviewed_at = utcnow()
        self.session.flush()
        self._mail_decision(submission, pin)
        return pin

    def reject(self, submission: Submission, moderator: User, reason: str) -> None:
        self._check(submission, moderator)
        if not reason.strip():
            raise DomainError(_("Tell the member why, so they can fix it."), field="reason")
        submission.status = "rejected"
        submission.reason = reason.strip()
        submission.reviewed_by_id = moderator.id
        submission.reviewed_at = utcnow()
        self.session.flush()
        self._mail_decision(submission, None)

    def _mail_decision(self, submission: Submission, pin: Pin | None) -> None:
        """Tell the member what became of their submission (sent after commit)."""
        member = self.session.get(User, submission.submitted_by_id or 0)
        if member is None:
            return
        approved = submission.status == "approved"
        # A correction is named by the pin it corrects; a new pin by what was sent.
        named = pin or submission.pin
        if named is not None and (submission.kind == "correction" or approved):
            # The member reads the pin's title in their own language.
            ref, title = named.ref, display_title(named, member.locale)
        else:
            ref, title = (
                str(submission.data.get("ref") or ""),
                str(submission.data.get("title_en") or ""),
            )
        mail.queue(
            self.session,
            to=member.email,
            template="submission_reviewed",
            locale=member.locale,
            user_id=member.id,
            name=member.display_name,
            approved=approved,
            kind=submission.kind,
            ref=ref,
            title=title,
            reason=submission.reason or "",
            url=self.links.pin(pin.id) if pin else self.links.submissions(),
        )

    @staticmethod
    def _check(submission: Submission, moderator: User) -> None:
        if not moderator.is_moderator:
            raise Forbidden(_("Only moderators review submissions."))
        if submission.status != "pending":
            raise DomainError(
                _(
                    "This submission was already %(status)s.",
                    status=label("status", submission.status),
                )
            )


def _json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if not isinstance(v, str | int | float | bool | list | type(None)) else v)
            for k, v in data.items()}  # fmt: skip
