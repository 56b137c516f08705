"""A real SMTP server (aiosmtpd on loopback) whose replies tests can script:
accept, answer 4xx/5xx, or drop the connection in the middle of DATA."""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any = None  # the client's (host, port): one per SMTP connection

    @functools.cached_property
    def message(self) -> EmailMessage:
        # Parsed when first read, not while the server answers: parsing costs
        # about as much as the sending worker's own work for a message, and a
        # sink that takes it from the workers' cores would measure itself.
        return email.message_from_bytes(self.content, policy=email.policy.default)

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


class ScriptedHandler:
    """Answers DATA with the next scripted reply ('250', '451 …', '550 …' or
    'drop'); once the script is empty, accepts everything."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.received: list[Received] = []
        self.attempts = 0
        self.delay = 0.0  # seconds to think before answering DATA (a slow server)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.script.clear()
            self.received.clear()
            self.attempts = 0
            self.delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.attempts += 1
            reply = self.script.popleft() if self.script else "250 OK"
        if reply == "drop":
            server.transport.close()  # the client sees the connection vanish mid-DATA
            return "421 closing"
        if reply.startswith("250"):
            with self._lock:
                self.received.append(
                    Received(
                        envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                    )
                )
        return reply

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.received)} in {timeout}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.handler = ScriptedHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
