"""Accounts: sign-up with email verification, passwords (argon2id over the NFKC
form, scored by zxcvbn), display names, login sessions that end server-side,
password reset and email change by single-use expiring tokens, account deletion,
and personal access tokens for the API.

Known and unknown addresses get the same answers, in the same time: sign-up and
reset always say "check your mail"; the mail itself tells the owner what
happened. Sign-up hashes the password whether or not the address is taken; a
reset request only queues a task, which looks the address up out of the request.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from marketplace.accounts.models import AccountToken, ApiToken, LoginSession, User
from marketplace.core import outbox
from marketplace.core.db import take_write_lock
from marketplace.core.errors import DomainError, Forbidden, NotFound, Unauthorized
from marketplace.core.i18n import N_
from marketplace.core.models import utcnow
from marketplace.mail import delivery as mail

VERIFY_TTL = timedelta(days=2)
RESET_TTL = timedelta(hours=1)
CHANGE_EMAIL_TTL = timedelta(hours=24)
TOKEN_USE_RECORDED_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MIN_PASSWORD_SCORE = 3  # zxcvbn: "safely unguessable" against online guessing and more
MAX_DISPLAY_NAME = 80
RESET_TASK = "workers.tasks.send_password_reset"
TOKEN_PREFIX = "znk_"  # noqa: S105 - a public prefix, not a secret
# Marked here, translated where they are said (the reader's language then).
BAD_LOGIN = N_("Invalid email or password.")
CHECK_MAIL = N_(
    "Check your mail: we sent a message to that address. "
    "If it doesn't arrive within a few minutes, look in the spam folder."
)


SUSPENDED = N_(
    "This account is suspended by a moderator. Write to the moderators if you "
    "think this is a mistake."
)


@dataclass(frozen=True)
class Links:
    """Builds absolute links for emails; the web layer knows the routes."""

    base_url: str

    def verify(self, secret: str) -> str:
        return f"{self.base_url}/account/verify/{secret}"

    def reset(self, secret: str) -> str:
        return f"{self.base_url}/account/reset/{secret}"

    def confirm_email(self, secret: str) -> str:
        return f"{self.base_url}/account/confirm-email/{secret}"

    def login(self) -> str:
        return f"{self.base_url}/account/login"


class Accounts:
    """Account operations on one session. `hasher` is argon2id; tests may pass
    cheaper parameters, never another algorithm."""

    def __init__(self, session: Session, hasher: PasswordHasher, links: Links) -> None:
        self.session = session
        self.hasher = hasher
        self.links = links

    # -- sign-up and verification -------------------------------------------------

    def sign_up(
        self, email: str, password: str, display_name: str, *, locale: str = "en"
    ) -> User | None:
        """Create an unverified account and mail a verification link. If the
        address is taken, mail its owner instead and return None; the caller
        answers both cases the same way. ``locale`` is the language the
        sign-up was made in: the new member's pages and mail stay in it."""
        email = normalise_email(email)
        display_name = clean_display_name(display_name)
        password = normalise_password(password)
        check_password(password, email, name=display_name)
        # Hashing is most of the time sign-up takes: pay it for a taken address
        # too, or the answer's speed would tell which addresses have accounts.
        password_hash = self.hasher.hash(password)
        existing = self._by_email(email)
        if existing is not None:
            mail.queue(
                self.session,
                to=existing.email,
                template="account_exists",
                locale=existing.locale,
                user_id=existing.id,
                name=existing.display_name,
                login_url=self.links.login(),
                reset_url=self.links.base_url + "/account/reset",
            )
            return None
        user = User(
            email=email, display_name=display_name, password_hash=password_hash, locale=locale
        )
        self.session.add(user)
        self.session.flush()
        self._send_verification(user)
        return user

    def _send_verification(self, user: User) -> None:
        secret = self._issue(user, "verify_email", VERIFY_TTL)
        mail.queue(
            self.session,
            to=user.email,
            template="verify_email",
            locale=user.locale,
            user_id=user.id,
            name=user.display_name,
            url=self.links.verify(secret),
        )

    def verify_email(self, secret: str) -> User:
        token = self._redeem(secret, "verify_email")
        user = self.session.get(User, token.user_id)
        assert user is not None  # the token row cascades with its user
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        return user

    # -- login sessions -----------------------------------------------------------

    def authenticate(self, email: str, password: str) -> User:
        try:
            email = normalise_email(email)
        except DomainError:
            raise Unauthorized(_(BAD_LOGIN)) from None
        user = self._by_email(email)
        if user is None:
            # Spend the same time as a real check, so timing tells nothing either.
            self._verify_password(_dummy_hash(self.hasher), password)
            raise Unauthorized(_(BAD_LOGIN))
        if not self._check_password(user, password):
            raise Unauthorized(_(BAD_LOGIN))
        if user.suspended_at is not None:
            # Said only after the right password, so it tells a stranger nothing.
            raise Forbidden(_(SUSPENDED), field="email")
        if user.email_verified_at is None:
            raise DomainError(
                _("Confirm your email address first: follow the link we sent you."),
                field="email",
            )
        return user

    def _verify_password(self, stored: str, password: str) -> str | None:
        """Which spelling of `password` matches `stored`: its NFKC form (every hash
        since normalisation), else the form as typed (hashes made before), else
        None. Both are always tried when they differ, whatever the first gave, so
        an unknown account (checked against a dummy) takes as long as a known one."""
        normal = normalise_password(password)
        spellings = [normal] if normal == password else [normal, password]
        matched = [s for s in spellings if self._verify_one(stored, s)]
        return matched[0] if matched else None

    def _verify_one(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _check_password(self, user: User, password: str) -> bool:
        """Verify, and bring an old hash up to date: a hash of the un-normalised
        form, or one made with weaker parameters, is replaced by a hash of the NFKC
        form with the current ones."""
        matched = self._verify_password(user.password_hash, password)
        if matched is None:
            return False
        normal = normalise_password(password)
        if matched != normal or self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(normal)
        return True

    def start_login_session(self, user: User, user_agent: str = "") -> str:
        secret = secrets.token_urlsafe(32)
        self.session.add(
            LoginSession(user_id=user.id, secret_hash=digest(secret), user_agent=user_agent[:200])
        )
        self.session.flush()
        user.attach_login_secret(secret)
        return secret

    def load_login_session(self, secret: str) -> User | None:
        row = self.session.scalar(
            select(LoginSession).where(LoginSession.secret_hash == digest(secret))
        )
        if row is None:
            return None
        user = row.user
        if not user.is_active:
            return None
        user.attach_login_secret(secret)
        return user

    def end_login_session(self, secret: str) -> None:
        self.session.execute(delete(LoginSession).where(LoginSession.secret_hash == digest(secret)))

    def _end_all_sessions(self, user: User, keep: str | None = None) -> None:
        stmt = delete(LoginSession).where(LoginSession.user_id == user.id)
        if keep:
            stmt = stmt.where(LoginSession.secret_hash != digest(keep))
        self.session.execute(stmt)

    # -- password reset -------------------------------------------------------------

    def request_password_reset(self, email: str) -> None:
        """Queue the reset for the worker, which alone looks the address up: the
        request does the same for every address, so neither its answer nor its
        time says whether the address has an account."""
        try:
            email = normalise_email(email)
        except DomainError:
            return
        outbox.enqueue(self.session, RESET_TASK, email=email)

    def send_password_reset(self, email: str) -> bool:
        """Mail a reset link if `email` has an account (the task's half of
        `request_password_reset`); False if it has none."""
        user = self._by_email(email)
        if user is None:
            return False
        secret = self._issue(user, "reset_password", RESET_TTL)
        mail.queue(
            self.session,
            to=user.email,
            template="reset_password",
            locale=user.locale,
            user_id=user.id,
            name=user.display_name,
            url=self.links.reset(secret),
        )
        return True

    def check_reset_token(self, secret: str) -> None:
        self._find_token(secret, "reset_password")

    def reset_password(self, secret: str, new_password: str) -> User:
        token = self._find_token(secret, "reset_password")
        user = self.session.get(User, token.user_id)
        assert user is not None
        new_password = normalise_password(new_password)
        check_password(new_password, user.email, name=user.display_name)
        self._redeem(secret, "reset_password")
        user.password_hash = self.hasher.hash(new_password)
        # Following the emailed link proves the address too.
        if user.email_verified_at is None:
            user.email_verified_at = utcnow()
        self._end_all_sessions(user)
        return user

    # -- changes to an account --------------------------------------------------

    def change_password(self, user: User, current: str, new: str) -> None:
        self._require_password(user, current, field="current_password")
        new = normalise_password(new)
        check_password(new, user.email, field="new_password", name=user.display_name)
        user.password_hash = self.hasher.hash(new)
        self._end_all_sessions(user, keep=user.login_secret)

    def request_email_change(self, user: User, password: str, new_email: str) -> None:
        self._require_password(user, password)
        new_email = normalise_email(new_email, field="new_email")
        if new_email == user.email:
            raise DomainError(_("That is already your address."), field="new_email")
        # Whether the new address is taken is only checked on confirmation, so the
        # form cannot be used to probe which addresses have accounts.
        secret = self._issue(user, "change_email", CHANGE_EMAIL_TTL, new_email=new_email)
        mail.queue(
            self.session,
            to=new_email,
            template="confirm_email_change",
            locale=user.locale,
            user_id=user.id,
            name=user.display_name,
            url=self.links.confirm_email(secret),
        )

    def confirm_email_change(self, secret: str) -> User:
        token = self._find_token(secret, "change_email")
        assert token.new_email is not None
        if self._by_email(token.new_email) is not None:
            raise DomainError(_("Another account now uses that address."), field="new_email")
        self._redeem(secret, "change_email")
        user = self.session.get(User, token.user_id)
        assert user is not None
        old = user.email
        user.email = token.new_email
        mail.queue(
            self.session,
            to=old,
            template="email_changed",
            locale=user.locale,
            user_id=user.id,
            name=user.display_name,
            new_email=user.email,
        )
        return user

    def delete_account(self, user: User, password: str) -> None:
        self._require_password(user, password)
        self.session.delete(user)
        self.session.flush()

    def _require_password(self, user: User, password: str, field: str = "password") -> None:
        if not self._check_password(user, password):
            raise DomainError(_("That password is not right."), field=field)

    # -- personal access tokens ---------------------------------------------------

    def create_api_token(self, user: User, name: str) -> tuple[ApiToken, str]:
        name = name.strip() or "API token"
        if len(name) > 80:
            raise DomainError(_("Use at most %(max)d characters.", max=80), field="name")
        clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(user_id=user.id, name=name, prefix=clear[:12], secret_hash=digest(clear))
        self.session.add(token)
        self.session.flush()
        return token, clear

    def list_api_tokens(self, user: User) -> list[ApiToken]:
        return list(
            self.session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .order_by(ApiToken.id)
            )
        )

    def revoke_api_token(self, user: User, token_id: int) -> None:
        result = self.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.user_id == user.id,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(_("No such token."))

    def user_for_bearer(self, clear: str) -> User | None:
        if not clear.startswith(TOKEN_PREFIX):
            return None
        token = self.session.scalar(
            select(ApiToken).where(
                ApiToken.secret_hash == digest(clear), ApiToken.revoked_at.is_(None)
            )
        )
        if token is None or not token.user.is_active:
            return None
        now = utcnow()
        # Recorded to the minute: most calls by a token then only read (and on
        # SQLite a GET that only reads never waits for a writer).
        if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RECORDED_EVERY:
            take_write_lock(self.session)
            token.last_used_at = now
        return token.user

    # -- helpers --------------------------------------------------------------------

    def _by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email))

    def _issue(self, user: User, purpose: str, ttl: timedelta, new_email: str | None = None) -> str:
        secret = secrets.token_urlsafe(32)
        self.session.add(
            AccountToken(
                user_id=user.id,
                purpose=purpose,
                secret_hash=digest(secret),
                new_email=new_email,
                expires_at=utcnow() + ttl,
            )
        )
        self.session.flush()
        return secret

    def _find_token(self, secret: str, purpose: str) -> AccountToken:
        token = self.session.scalar(
            select(AccountToken).where(
                AccountToken.secret_hash == digest(secret), AccountToken.purpose == purpose
            )
        )
        if token is None or token.used_at is not None or token.expires_at <= utcnow():
            raise DomainError(_("This link has expired or was already used. Ask for a new one."))
        return token

    def _redeem(self, secret: str, purpose: str) -> AccountToken:
        token = self._find_token(secret, purpose)
        # Conditional update: of two simultaneous redemptions only one succeeds.
        result = self.session.execute(
            update(AccountToken)
            .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
            .values(used_at=utcnow())
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise DomainError(_("This link has expired or was already used. Ask for a new one."))
        return token


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_hex(16))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str, field: str = "email") -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError(str(exc), field=field) from None
    return result.normalized.lower()


def normalise_password(password: str) -> str:
    """The one spelling of a password that is hashed and checked: NFKC, so that
    "é" typed as one character or as "e" and an accent, or letters typed full-width
    by an East Asian keyboard, are the same password on every device."""
    return unicodedata.normalize("NFKC", password)


# zxcvbn's cost grows fast with length and it refuses more than this; a password
# whose first characters are already strong is strong.
_SCORED_LENGTH = 72


def check_password(password: str, email: str, field: str = "password", *, name: str = "") -> None:
    """Refuse a password that is too short, too long, or easy to guess (a zxcvbn
    score below MIN_PASSWORD_SCORE), saying why in zxcvbn's words. `password` is
    the NFKC form; `email` and `name` are what a guesser would try first."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(_("Use at least %(min)d characters.", min=MIN_PASSWORD), field=field)
    if len(password) > MAX_PASSWORD:
        raise DomainError(_("Use at most %(max)d characters.", max=MAX_PASSWORD), field=field)
    if password.strip().lower() == email.lower():
        raise DomainError(_("Your password cannot be your email address."), field=field)
    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=_personal_words(email, name))
    if result["score"] >= MIN_PASSWORD_SCORE:
        return
    reasons = [result["feedback"]["warning"]]
    if any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"]):
        reasons.append(_("It contains your name or email address."))
    reasons += result["feedback"]["suggestions"]
    if not any(reasons):
        reasons.append(_("Make it longer: a few uncommon words together work well."))
    explained = " ".join(r.strip() for r in reasons if r.strip())
    # zxcvbn's own warnings and suggestions come in English only.
    raise DomainError(
        _("This password is easy to guess. %(why)s", why=explained).strip(), field=field
    )


def _personal_words(email: str, name: str) -> list[str]:
    local = email.partition("@")[0].lower()
    words = {local, email.lower(), name.lower()}
    words.update(re.split(r"[\W_]+", local) + re.split(r"[\W_]+", name.lower()))
    return sorted(w for w in words if len(w) > 2)


# Characters that change the direction of the text around them: in a name they
# can make a page show something other than what is there ("Ivan" + U+202E + …).
_DIRECTION_CONTROLS = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
# Letters and symbols by their category that draw nothing at all.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_display_name(name: str, field: str = "display_name") -> str:
    """The name other collectors see: direction controls taken out, runs of white
    space made one space, invisible characters trimmed from both ends; refused if
    nothing visible is left or it is too long."""
    if not name.strip():
        raise DomainError(_("Enter the name other collectors will see."), field=field)
    name = re.sub(r"\s+", " ", name.translate(_DIRECTION_CONTROLS))
    name = _strip_invisible("".join(ch for ch in name if unicodedata.category(ch) != "Cc"))
    if not any(_visible(ch) for ch in name):
        raise DomainError(
            _("A name needs at least one visible character (a letter, digit or sign)."),
            field=field,
        )
    if len(name) > MAX_DISPLAY_NAME:
        raise DomainError(_("Use at most %(max)d characters.", max=MAX_DISPLAY_NAME), field=field)
    return name


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in {"Cf", "Cc"} or ch in _BLANK


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK


def _strip_invisible(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]
