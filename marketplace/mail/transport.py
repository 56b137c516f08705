"""The only module that speaks SMTP.

`SmtpTransport` sends through any SMTP server (`SMTP_*` settings); `DevTransport`
sends nothing, because in development every message is already kept in the
database and shown at /dev/mail. Failures are sorted into transient (4xx replies,
dropped or refused connections: try again later) and permanent (5xx: give up).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol


class TransientMailError(Exception):
    """The server or network failed in a way that may pass: retry with backoff."""


class PermanentMailError(Exception):
    """The server refused the message for good (5xx)."""


@dataclass(frozen=True)
class OutgoingMail:
    sender: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)

    def to_email_message(self) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="znachki.exchange")
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Transport(Protocol):
    def send(self, mail: OutgoingMail) -> None: ...


class DevTransport:
    """Development: the message is already visible at /dev/mail; nothing leaves."""

    def send(self, mail: OutgoingMail) -> None:
        return None


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, mail: OutgoingMail) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail.to_email_message())
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _classify(code, reply) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Dropped connections, timeouts and refused connections all pass.
            raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc


def _classify(code: int, reply: bytes | str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}".strip()
    if 400 <= code < 500:
        return TransientMailError(message)
    return PermanentMailError(message)
