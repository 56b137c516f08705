"""A collector's notification settings as one operation, for the settings page and
the API alike: how each kind of event reaches them (instantly, in a daily or weekly
digest, or not at all), their time zone and language, the local hour digests
arrive and the weekday weekly ones do, and whether mail to them is suspended.

Reading never writes: a collector who never saved anything gets the defaults
without a settings row being created. Updating checks everything first
(`Notifier.update_settings`) and answers with the settings as they now are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from marketplace.accounts.models import User
from marketplace.mail.models import MailSettings
from marketplace.notifications.operations import Notifier

# What MailSettings stores for a collector until they choose (its column defaults).
DEFAULT_DIGEST_HOUR = 8
DEFAULT_WEEKLY_DAY = 0  # Monday


@dataclass(frozen=True)
class NotificationSettings:
    modes: dict[str, str]
    timezone: str
    locale: str
    digest_hour: int
    weekly_day: int
    last_failure: str | None = None
    last_failure_at: datetime | None = None
    suspended_at: datetime | None = None

    @property
    def suspended(self) -> bool:
        """Mail stopped because the address keeps failing."""
        return self.suspended_at is not None


def read_settings(notifier: Notifier, user: User) -> NotificationSettings:
    state = notifier.session.get(MailSettings, user.id)
    return NotificationSettings(
        modes=notifier.modes(user.id),
        timezone=user.timezone,
        locale=user.locale,
        digest_hour=state.digest_hour if state else DEFAULT_DIGEST_HOUR,
        weekly_day=state.weekly_day if state else DEFAULT_WEEKLY_DAY,
        last_failure=state.last_failure if state else None,
        last_failure_at=state.last_failure_at if state else None,
        suspended_at=state.suspended_at if state else None,
    )


def update_settings(
    notifier: Notifier,
    user: User,
    *,
    modes: dict[str, str],
    timezone: str,
    locale: str,
    digest_hour: int,
    weekly_day: int,
) -> NotificationSettings:
    """Replace the settings; kinds left out of `modes` keep their current mode.
    Raises DomainError naming the field at fault (the caller's unit of work is
    then rolled back)."""
    notifier.update_settings(
        user,
        modes=modes,
        timezone=timezone,
        locale=locale,
        digest_hour=digest_hour,
        weekly_day=weekly_day,
    )
    notifier.session.flush()
    return read_settings(notifier, user)
