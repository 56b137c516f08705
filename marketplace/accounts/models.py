"""Collector accounts and the secrets that stand for them: login sessions,
single-use email tokens, and personal access tokens for the API.

Every secret is stored as a SHA-256 digest; the clear value only ever exists in the
cookie, the link or the client that holds it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(Text)
    email_verified_at: Mapped[datetime | None]
    locale: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_moderator: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A moderator's suspension: the member cannot log in or use the API until lifted.
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(Text)

    sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Flask-Login protocol. The id Flask-Login keeps in the cookie is the login
    # session's secret, not the user id, so that logging out (deleting the session
    # row) makes a replayed cookie worthless. The secret is never stored in clear.
    def attach_login_secret(self, secret: str) -> None:
        self.__dict__["_login_secret"] = secret

    @property
    def login_secret(self) -> str | None:
        return self.__dict__.get("_login_secret")

    @property
    def is_active(self) -> bool:
        return self.email_verified_at is not None and self.suspended_at is None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.login_secret

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class LoginSession(Base):
    """A browser that logged in; deleted on logout, password change or account deletion."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(back_populates="sessions")


class AccountToken(Base):
    """A single-use, expiring secret sent by email: verify an address, reset a
    password, or confirm a change of address."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(
            "purpose IN ('verify_email', 'reset_password', 'change_email')", name="purpose"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    """A personal access token, used as an API bearer token until revoked."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(12))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


class Address(Base):
    """A postal address in a collector's address book; one is the default.

    Trades and orders keep a copy of the address as it was when it was given
    (`snapshot()`), so editing or deleting an address never changes where a
    parcel already promised goes."""

    __tablename__ = "addresses"
    __table_args__ = (
        CheckConstraint("length(country) = 2", name="country"),
        Index("ix_addresses_user_id_is_default", "user_id", "is_default"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))  # the recipient as the post needs it
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2, upper case
    phone: Mapped[str] = mapped_column(String(40), default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def snapshot(self) -> dict[str, str]:
        return {field: getattr(self, field) or "" for field in ADDRESS_FIELDS}


def address_lines(snapshot: dict[str, str] | None) -> list[str]:
    """An address (a snapshot) as the lines written on an envelope."""
    if not snapshot:
        return []
    place = " ".join(p for p in (snapshot.get("postal_code"), snapshot.get("city")) if p)
    lines = [
        snapshot.get("name", ""),
        snapshot.get("line1", ""),
        snapshot.get("line2", ""),
        place,
        snapshot.get("region", ""),
        snapshot.get("country", ""),
    ]
    return [line for line in lines if line]


class Block(Base):
    """`blocker_id` blocked `blocked_id`: no messages, proposals or matches between
    them, either way. Features below messaging (matches, trades) read it here."""

    __tablename__ = "blocks"
    __table_args__ = (
        CheckConstraint("blocker_id <> blocked_id", name="not_self"),
        Index("ix_blocks_blocked_id", "blocked_id"),
    )

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reputation(Base):
    """What a collector has shown others, kept current by the features that know:
    trades completed, orders delivered (as buyer or seller) and the feedback
    received by kind. Matching ranks by it and the trust ladder reads it, so it
    lives here, below both. No row means a new member with nothing yet."""

    __tablename__ = "reputations"
    __table_args__ = (
        CheckConstraint(
            "completed_trades >= 0 AND delivered_orders >= 0 AND positive >= 0 "
            "AND neutral >= 0 AND negative >= 0",
            name="counts",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    completed_trades: Mapped[int] = mapped_column(default=0, server_default="0")
    delivered_orders: Mapped[int] = mapped_column(default=0, server_default="0")
    positive: Mapped[int] = mapped_column(default=0, server_default="0")
    neutral: Mapped[int] = mapped_column(default=0, server_default="0")
    negative: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
