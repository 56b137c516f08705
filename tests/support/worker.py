"""A `celery worker` process started the way production starts it, for tests
that need tasks to run for real (and to be killed in the middle of them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.app import ROOT


class Worker:
    """A `celery worker` process, as production runs it."""

    def __init__(
        self, env: dict[str, str], log: Path, concurrency: int = 2, beat: bool = False
    ) -> None:
        self.log = log
        self.env = {**os.environ, **env}
        self.concurrency = concurrency
        self.beat = beat  # run the beat schedule inside the worker (-B)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Worker:
        self.log.write_text("")
        command = [
            sys.executable, "-m", "celery", "-A", "workers.worker", "worker",
            "--loglevel=INFO", f"--concurrency={self.concurrency}", "--pool=prefork",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if self.beat:
            command += ["-B", f"--schedule={self.log.with_suffix('.beat-schedule')}"]
        with self.log.open("ab") as out:
            # A session of its own, so the pool's children can be killed with it.
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text(errors="replace"):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("celery worker did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once: no shutdown, no acknowledgements."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
