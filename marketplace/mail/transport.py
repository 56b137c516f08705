"""The only module that speaks SMTP.

`SmtpTransport` sends through any SMTP server (`SMTP_*` settings); `DevTransport`
sends nothing, because in development every message is already kept in the
database and shown at /dev/mail. Failures are sorted into transient (4xx replies,
dropped or refused connections: try again later) and permanent (5xx: give up).

`connect()` gives a connection that sends many messages in turn: one TCP and TLS
handshake, greeting and login for a whole batch instead of one per message.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from types import TracebackType
from typing import Protocol, Self

CRLF = "\r\n"


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

    def to_bytes(self, eight_bit: bool = True) -> bytes:
        """The same message as `to_email_message`, written directly: the email
        package's header objects took ~30 ms a message on a busy machine, this
        ~1 ms. Text goes as 8bit when the server takes it, else in base64."""
        boundary = f"=_{uuid.uuid4().hex}"
        head = [
            f"From: {_address(self.sender)}",
            _header("To", self.to),
            _header("Subject", self.subject),
            f"Date: {format_datetime(datetime.now(UTC))}",
            f"Message-ID: {self.message_id or make_msgid(domain='znachki.exchange')}",
            *(_header(name, value) for name, value in self.headers.items()),
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            "",
        ]
        separator = f"--{boundary}\r\n".encode()
        return b"".join(
            [
                "\r\n".join(head).encode(),
                separator,
                _part("text/plain", self.text, eight_bit),
                b"\r\n",
                separator,
                _part("text/html", self.html, eight_bit),
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )


def _header(name: str, value: str) -> str:
    """One header line; words outside ASCII as RFC 2047 encoded words. Line
    breaks in a value are folded away, so a value cannot add headers."""
    value = " ".join(value.split())
    if value.isascii():
        return f"{name}: {value}"
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=CRLF)}"


def _address(value: str) -> str:
    name, address = parseaddr(value)
    if not name:
        return address or " ".join(value.split())
    if not name.isascii():
        return f"{Header(name, 'utf-8').encode(linesep=CRLF)} <{address}>"
    return formataddr((name, address))


def _part(content_type: str, body: str, eight_bit: bool) -> bytes:
    raw = body.replace("\r\n", "\n").encode("utf-8")
    if raw.isascii() and max(map(len, raw.split(b"\n"))) <= 990:
        encoding, payload = "7bit", raw.replace(b"\n", b"\r\n")
    elif eight_bit and max(map(len, raw.split(b"\n"))) <= 990:
        encoding, payload = "8bit", raw.replace(b"\n", b"\r\n")
    else:
        encoding, payload = "base64", base64.encodebytes(raw).replace(b"\n", b"\r\n")
    head = f'Content-Type: {content_type}; charset="utf-8"\r\n'
    return f"{head}Content-Transfer-Encoding: {encoding}\r\n\r\n".encode() + payload


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

    def _open(self) -> smtplib.SMTP:
        if self.smtp is None:
            self.smtp = self.transport.open()
        return self.smtp

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
        envelope_from = parseaddr(mail.sender)[1] or mail.sender
        try:
            if not (envelope_from.isascii() and mail.to.isascii()):
                # An address outside ASCII needs SMTPUTF8, which smtplib's own
                # send_message negotiates.
                self._open().send_message(mail.to_email_message())
                self.sent += 1
                return
            smtp = self._begin(envelope_from)
            payload = mail.to_bytes(eight_bit=smtp.has_extn("8bitmime"))
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
            smtp = self._open()
            reused = self.sent > 0
            try:
                options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
                code, reply = smtp.mail(envelope_from, options)
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
            return smtp
        raise smtplib.SMTPServerDisconnected("the server closed the connection twice")


def _classify(code: int, reply: bytes | str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"{code} {text}".strip()
    if 400 <= code < 500:
        return TransientMailError(message)
    return PermanentMailError(message)
