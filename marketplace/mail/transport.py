"""The only module that speaks SMTP.

`SmtpTransport` sends through any SMTP server (`SMTP_*` settings); `DevTransport`
sends nothing, because in development every message is already kept in the
database and shown at /dev/mail. Failures are sorted into transient (4xx replies,
dropped or refused connections: try again later) and permanent (5xx: give up).

`connect()` gives a connection that sends many messages in turn: one TCP and TLS
handshake, greeting and login for a whole batch instead of one per message.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from types import TracebackType
from typing import Protocol, Self


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
    # The stored message's own Message-ID: a message sent again after a crash
    # (accepted, then the worker died before recording it) carries the same one,
    # so the receiving side can tell it is the same message.
    message_id: str | None = None

    def to_email_message(self) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = self.message_id or make_msgid(domain="znachki.exchange")
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


class Connection(Protocol):
    def send(self, mail: OutgoingMail) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Transport(Protocol):
    def send(self, mail: OutgoingMail) -> None: ...

    def connect(self) -> Connection: ...


class DevTransport:
    """Development: the message is already visible at /dev/mail; nothing leaves."""

    def send(self, mail: OutgoingMail) -> None:
        return None

    def connect(self) -> DevTransport:
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
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
        with self.connect() as connection:
            connection.send(mail)

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self)

    def open(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.ehlo_or_helo_if_needed()
        except BaseException:
            smtp.close()
            raise
        return smtp


class SmtpConnection:
    """One SMTP session for many messages, opened on the first send and again
    after the server drops it. Each message is its own SMTP transaction (MAIL,
    RCPT, DATA), so one refusal does not touch the others."""

    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.smtp: smtplib.SMTP | None = None
        self.sent = 0  # messages this session has carried

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self._drop()

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        self.smtp, self.sent = None, 0

    def _rset(self) -> None:
        """End a refused transaction so the next message starts clean; a session
        that cannot even do that is dropped."""
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def send(self, mail: OutgoingMail) -> None:
        message = mail.to_email_message()
        payload = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        envelope_from = parseaddr(mail.sender)[1] or mail.sender
        try:
            smtp = self._begin(envelope_from)
            code, reply = smtp.rcpt(mail.to)
            if code not in (250, 251):
                self._rset()
                raise smtplib.SMTPRecipientsRefused({mail.to: (code, reply)})
            code, reply = smtp.data(payload)
            if code != 250:
                if code == 421:
                    self._drop()
                else:
                    self._rset()
                raise smtplib.SMTPDataError(code, reply)
            self.sent += 1
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _classify(code, reply) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Dropped connections, timeouts and refused connections all pass; the
            # next message opens a new session.
            self._drop()
            raise TransientMailError(f"{type(exc).__name__}: {exc}") from exc

    def _begin(self, envelope_from: str) -> smtplib.SMTP:
        """MAIL FROM on the open session, or on a new one if the server closed
        it while idle: nothing of the message has been sent at this point, so
        trying once more cannot deliver it twice."""
        for attempt in (1, 2):
            if self.smtp is None:
                self.smtp = self.transport.open()
            reused = self.sent > 0
            try:
                code, reply = self.smtp.mail(envelope_from)
            except smtplib.SMTPServerDisconnected:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise
            if code == 421 and reused and attempt == 1:
                self._drop()  # "closing": the server ends idle sessions this way too
                continue
            if code != 250:
                self._rset()
                raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
            return self.smtp
        raise smtplib.SMTPServerDisconnected("the server closed the connection twice")


def _classify(code: int, reply: bytes | str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}".strip()
    if 400 <= code < 500:
        return TransientMailError(message)
    return PermanentMailError(message)
