"""Match emails end to end: N collectors each get a new match; the outbox hands
`notify_collector` tasks to real Celery workers (two processes by default), which
record the notifications and queue the mail, which `deliver_mail` tasks send to a
local SMTP server. Prints throughput, messages lost and duplicates.

    python benchmarks/mail_throughput.py --redis-url redis://127.0.0.1:6379/5 \\
        [--database-url postgresql+psycopg://…] [--messages 10000] [--workers 2]

Without --database-url a fresh SQLite file is used. The database is migrated; its
users, matches and mail are replaced (use a scratch database).
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, select  # noqa: E402

from tests.support.smtp_server import SmtpServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="mailbench-"))
    database_url = args.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    smtp = SmtpServer().start()
    env = {
        "ZNACHKI_ENV": "testing",
        "SECRET_KEY": "benchmark",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "BASE_URL": "http://znachki.bench",
        "BROKER_VISIBILITY_TIMEOUT": "30",
    }
    os.environ.update(env)

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.core import outbox
    from marketplace.core.celery_app import after_commit
    from marketplace.core.extensions import db
    from marketplace.core.models import utcnow
    from marketplace.core.outbox import OutboxMessage
    from marketplace.mail.models import MailMessage
    from marketplace.matches.models import Match
    from marketplace.notifications.models import Notification

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        session = db.session()
        for model in (Notification, MailMessage, OutboxMessage, Match):
            session.execute(delete(model))
        session.execute(delete(User).where(User.email.like("bench%")))
        session.commit()
        now = utcnow()
        session.execute(
            insert(User),
            [
                {"email": f"bench{i}@example.org", "display_name": f"Collector {i}",
                 "password_hash": "-", "email_verified_at": now, "locale": "ru" if i % 3 else "en",
                 "timezone": "UTC", "is_moderator": False, "created_at": now}
                for i in range(args.messages + 1)
            ],
        )  # fmt: skip
        ids = list(
            session.scalars(select(User.id).where(User.email.like("bench%")).order_by(User.id))
        )
        partner, collectors = ids[0], ids[1:]
        session.execute(
            insert(Match),
            [
                {"user_id": u, "kind": "swap", "key": f"swap:{partner}", "counterpart_id": partner,
                 "score": 1.0, "condition": 0.0, "active": True,
                 "first_seen_at": now, "last_seen_at": now, "changed_at": now}
                for u in collectors
            ],
        )  # fmt: skip
        session.commit()

        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.worker",
                    "worker",
                    "--loglevel=WARNING",
                    "--concurrency=1",
                    "--pool=prefork",
                    f"--hostname=bench{n}@%h",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env={**os.environ},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            for n in range(args.workers)
        ]
        time.sleep(4)  # let the workers connect
        began = time.perf_counter()
        for u in collectors:
            outbox.enqueue(session, "workers.tasks.notify_collector", user_id=u)
        session.commit()
        after_commit(app)
        while outbox.pending_summary(session)["unpublished"]:
            outbox.publish_pending(session, outbox.celery_publisher(app.extensions["celery"]))
            session.commit()
        last_report = 0.0
        while True:
            sent = session.scalar(
                select(func.count(MailMessage.id)).where(MailMessage.status == "sent")
            )
            session.commit()
            elapsed = time.perf_counter() - began
            if elapsed - last_report > 5:
                print(f"  {sent}/{args.messages} sent after {elapsed:.0f} s", file=sys.stderr)
                last_report = elapsed
            if sent >= args.messages or elapsed > 3600:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - began
        time.sleep(2)
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(30)
    smtp.stop()
    per_address = collections.Counter(r.rcpt_tos[0] for r in smtp.handler.received)
    expected = {f"bench{i}@example.org" for i in range(1, args.messages + 1)}
    lost = len(expected - set(per_address))
    duplicates = sum(n - 1 for n in per_address.values())
    dialect = database_url.split(":", 1)[0].split("+")[0]
    print(
        f"{dialect}, {args.workers} worker processes: {len(per_address)} of {args.messages} "
        f"match emails delivered in {elapsed:.1f} s ({len(per_address) / elapsed:.0f}/s), "
        f"{lost} lost, {duplicates} duplicates"
    )


if __name__ == "__main__":
    main()
