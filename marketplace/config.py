"""Settings read from the environment: the only place that knows variable names.

Development (`ZNACHKI_ENV=development`, what `make run` sets) gets working defaults
that need no server; any other environment must be given its secrets and fails fast
with a message naming what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable deployment."""


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _days(env: Mapping[str, str], name: str, default: int = 7) -> int:
    raw = env.get(name, str(default))
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if not 1 <= days <= 365:
        raise ConfigError(f"{name} must be a whole number of days from 1 to 365, not {raw!r}")
    return days


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= 1000:
        raise ConfigError(f"{name} must be a whole number from 0 to 1000, not {raw!r}")
    return count


def _minutes(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, str(default))
    try:
        minutes = int(raw)
    except ValueError:
        minutes = -1
    if not low <= minutes <= high:
        raise ConfigError(
            f"{name} must be a whole number of minutes from {low} to {high}, not {raw!r}"
        )
    return minutes


def _languages(raw: str) -> tuple[str, ...]:
    codes = tuple(code.strip() for code in raw.split(",") if code.strip())
    if not codes or any(not code.replace("_", "").isalpha() for code in codes):
        raise ConfigError(f"LANGUAGES must list language codes like en,ru,uk,et, not {raw!r}")
    return codes


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    database_url: str
    redis_url: str | None
    base_url: str
    port: int
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_timeout: float
    mail_from: str
    stripe_secret_key: str | None
    stripe_webhook_secret: str | None
    stripe_api_base: str | None
    platform_fee_percent: float
    broker_dir: Path
    checkout_minutes: int = 35
    mail_retry_base_s: float = 30.0
    broker_visibility_timeout: int = 300
    outbox_republish_after_s: float = 600.0
    mail_stuck_after_s: float = 900.0
    trade_proposal_days: int = 7
    ring_deadline_days: int = 7
    trade_reminder_days: int = 7
    established_after_trades: int = 3
    new_member_open_trades: int = 2
    feedback_edit_days: int = 30
    languages: tuple[str, ...] = ("en", "ru", "uk", "et")
    login_limit_account: str = "5 per minute"
    login_limit_ip: str = "30 per minute"

    @property
    def is_development(self) -> bool:
        return self.env in {"development", "testing"}

    @property
    def broker_url(self) -> str:
        # Without Redis the worker and the web process share a folder-based queue
        # (kombu's filesystem transport): nothing to install, nothing to start.
        return self.redis_url or "filesystem://"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        name = env.get("ZNACHKI_ENV", "production").strip() or "production"
        development = name in {"development", "testing"}
        missing = []

        secret = env.get("SECRET_KEY", "")
        if not secret:
            if development:
                secret = "development-only-not-secret"  # noqa: S105 - refused outside development
            else:
                missing.append("SECRET_KEY")
        database_url = env.get("DATABASE_URL", "")
        if not database_url:
            if development:
                database_url = f"sqlite:///{INSTANCE_DIR / 'znachki.sqlite3'}"
            else:
                missing.append("DATABASE_URL")
        smtp_host = env.get("SMTP_HOST") or None
        if not smtp_host and not development:
            missing.append("SMTP_HOST")
        redis_url = env.get("REDIS_URL") or None
        if not redis_url and not development:
            missing.append("REDIS_URL")
        if missing:
            raise ConfigError(
                "Missing required settings for the "
                f"{name!r} environment: {', '.join(missing)}. "
                "Set them, or use ZNACHKI_ENV=development for local work."
            )
        if database_url.startswith("postgres://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
        elif database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]

        port = int(env.get("PORT", "5000"))
        try:
            fee = float(env.get("PLATFORM_FEE_PERCENT", "8"))
        except ValueError as exc:
            raise ConfigError("PLATFORM_FEE_PERCENT must be a number such as 8 or 7.5") from exc
        return cls(
            env=name,
            secret_key=secret,
            database_url=database_url,
            redis_url=redis_url,
            base_url=env.get("BASE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            port=port,
            smtp_host=smtp_host,
            smtp_port=int(env.get("SMTP_PORT", "25")),
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env.get("SMTP_STARTTLS")),
            smtp_timeout=float(env.get("SMTP_TIMEOUT", "10")),
            mail_from=env.get("MAIL_FROM", "Znachki Exchange <noreply@znachki.local>"),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            platform_fee_percent=fee,
            broker_dir=Path(env.get("BROKER_DIR", str(INSTANCE_DIR / "broker"))),
            # How long a buyer has to pay at Stripe's checkout (Stripe takes 30
            # minutes to 24 hours); the copy is held that long and a little more.
            checkout_minutes=_minutes(env, "CHECKOUT_MINUTES", 35, low=30, high=1440),
            mail_retry_base_s=float(env.get("MAIL_RETRY_BASE_SECONDS", "30")),
            # How long a task a worker took but never acknowledged (it died) stays
            # invisible before Redis hands it to another worker.
            # Five minutes, with tasks acknowledged late: long enough for any one
            # task, short enough that a dead worker's mail goes out minutes later.
            broker_visibility_timeout=int(env.get("BROKER_VISIBILITY_TIMEOUT", "300")),
            # A task published this long ago and still not consumed was lost by the
            # broker (twice the visibility timeout: Redis has given up on it too).
            outbox_republish_after_s=float(env.get("OUTBOX_REPUBLISH_AFTER_SECONDS", "600")),
            # Mail still queued this long after its last attempt was due lost its
            # delivery task (a broker that lost everything): it is queued again.
            mail_stuck_after_s=float(env.get("MAIL_STUCK_AFTER_SECONDS", "900")),
            # How long a proposed swap and a ring wait for answers, and after how
            # many days a party late to post or to confirm a parcel is reminded.
            trade_proposal_days=_days(env, "TRADE_PROPOSAL_DAYS"),
            ring_deadline_days=_days(env, "RING_DEADLINE_DAYS"),
            trade_reminder_days=_days(env, "TRADE_REMINDER_DAYS"),
            # The trust ladder: a member with fewer completed trades than this is
            # new (links in their messages are not made clickable; they post first
            # to an established member) and may have this many open trades at once.
            established_after_trades=_count(env, "ESTABLISHED_AFTER_TRADES", 3),
            new_member_open_trades=_count(env, "NEW_MEMBER_OPEN_TRADES", 2),
            # How long a rater may still edit the feedback they gave.
            feedback_edit_days=_days(env, "FEEDBACK_EDIT_DAYS", 30),
            # The languages pages and mail are offered in, the first the fallback;
            # each needs its catalogue under translations/.
            languages=_languages(env.get("LANGUAGES", "en,ru,uk,et")),
            # Wrong passwords allowed per account from one client address (and per
            # browser that logged in to the account before), and per client address
            # across accounts; successful logins do not count.
            login_limit_account=env.get("LOGIN_LIMIT_ACCOUNT", "5 per minute"),
            login_limit_ip=env.get("LOGIN_LIMIT_IP", "30 per minute"),
        )
