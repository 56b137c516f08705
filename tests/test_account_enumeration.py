"""Whether an address has an account cannot be told from how long sign-up or a
password reset takes, nor from the work either does in the request.

The timings use argon2id with its production parameters (the suite's hasher is
cheap, which would hide the difference). Both paths are measured in turn, so that
load on the machine falls on both alike, and their medians are compared."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import event, select

from marketplace.accounts.operations import Accounts, Links
from marketplace.accounts.tasks import send_password_reset
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.mail.models import MailMessage
from tests.support.factories import PASSWORD, make_user

RUNS = 20


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    db.session.flush()
    return time.perf_counter() - start


def alike(a: float, b: float, floor: float) -> bool:
    """Medians within a quarter of the slower one (or `floor` seconds, for paths
    so quick that a quarter is below the timer's noise)."""
    return abs(a - b) <= max(0.25 * max(a, b), floor)


def production_accounts() -> Accounts:
    return Accounts(db.session(), PasswordHasher(), Links("http://znachki.test"))


def test_sign_up_takes_as_long_for_a_taken_address_as_for_a_new_one(app_ctx: Flask) -> None:
    accounts = production_accounts()
    make_user("taken@example.org")
    accounts.sign_up("warm@example.org", PASSWORD, "Нина")  # templates compiled, caches warm
    accounts.sign_up("taken@example.org", PASSWORD, "Нина")
    new: list[float] = []
    taken: list[float] = []
    for i in range(RUNS):
        new.append(seconds(lambda i=i: accounts.sign_up(f"new{i}@example.org", PASSWORD, "Нина")))
        taken.append(seconds(lambda: accounts.sign_up("taken@example.org", PASSWORD, "Нина")))
    new_median, taken_median = statistics.median(new), statistics.median(taken)
    assert alike(new_median, taken_median, floor=0.005), (
        f"new address {new_median * 1000:.1f} ms, taken {taken_median * 1000:.1f} ms"
    )
    # And both paths still mail the address through the outbox.
    kinds = db.session.scalars(
        select(MailMessage.kind).where(MailMessage.to_addr == "taken@example.org")
    ).all()
    assert set(kinds) == {"account_exists"} and len(kinds) == RUNS + 1


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL the session sends, without parameters."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_password_reset_does_the_same_for_known_and_unknown_addresses(app_ctx: Flask) -> None:
    accounts = production_accounts()
    make_user("known@example.org")
    db.session.flush()
    with statements() as known_sql:
        accounts.request_password_reset("known@example.org")
        db.session.flush()
    with statements() as unknown_sql:
        accounts.request_password_reset("ghost@example.org")
        db.session.flush()
    assert known_sql == unknown_sql

    known: list[float] = []
    unknown: list[float] = []
    for _ in range(RUNS):
        known.append(seconds(lambda: accounts.request_password_reset("known@example.org")))
        unknown.append(seconds(lambda: accounts.request_password_reset("ghost@example.org")))
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    assert alike(known_median, unknown_median, floor=0.0003), (
        f"known {known_median * 1000:.2f} ms, unknown {unknown_median * 1000:.2f} ms"
    )


def test_the_reset_mail_is_sent_by_the_task_only_to_an_account(app_ctx: Flask) -> None:
    accounts = production_accounts()
    make_user("known@example.org")
    accounts.request_password_reset("Known@Example.org")
    accounts.request_password_reset("ghost@example.org")
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == "workers.tasks.send_password_reset")
    ).all()
    assert [row.payload for row in rows] == [
        {"email": "known@example.org"},
        {"email": "ghost@example.org"},
    ]
    assert db.session.scalar(select(MailMessage)) is None  # nothing decided in the request
    outcomes = [send_password_reset.run(**row.payload, outbox_id=row.id) for row in rows]
    assert outcomes == ["sent", "no_account"]
    mail = db.session.scalars(select(MailMessage)).all()
    assert [(m.to_addr, m.kind) for m in mail] == [("known@example.org", "reset_password")]
    # A second delivery of the same outbox row sends nothing more.
    assert send_password_reset.run(**rows[0].payload, outbox_id=rows[0].id) == "skipped"
