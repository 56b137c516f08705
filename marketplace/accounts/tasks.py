"""Account work done by the worker: the lookup and mail behind a password reset
request, kept out of the request so that its time says nothing about the address."""

from __future__ import annotations

from marketplace.accounts.operations import Accounts
from marketplace.core.registry import find_service
from marketplace.core.tasks import db_task, first_delivery


@db_task("send_password_reset")
def send_password_reset(email: str, outbox_id: int | None = None) -> str:
    """Mail a reset link to `email` if it has an account (queued by every reset
    request, for known and unknown addresses alike)."""
    if not first_delivery(outbox_id):
        return "skipped"
    return "sent" if find_service(Accounts).send_password_reset(email) else "no_account"
