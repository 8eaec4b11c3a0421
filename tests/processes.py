"""Running the CLI's long-lived commands as real subprocesses, the way a user would."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Running:
    """A started command whose stdout lines are read on a thread, so tests can wait for one."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lmif_mock", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """The first (new or earlier) line matching ``pattern``."""
        regex = re.compile(pattern)
        for line in self.lines:
            if (found := regex.search(line)) is not None:
                return found
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            self.lines.append(line)
            if (found := regex.search(line)) is not None:
                return found
        stderr = ""
        if self.process.poll() is not None and self.process.stderr is not None:
            stderr = self.process.stderr.read()
        raise AssertionError(f"no line matching {pattern!r}; got {self.lines!r}; stderr {stderr!r}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=20)
            self._pump_thread.join(timeout=5)
            while not self._queue.empty():
                self.lines.append(self._queue.get())
            return code
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


@contextmanager
def running(*args: str) -> Iterator[Running]:
    command = Running(*args)
    try:
        yield command
    finally:
        command.stop(signal.SIGKILL if command.process.poll() is None else signal.SIGINT)


@contextmanager
def served(*args: str) -> Iterator[tuple[Running, str, str]]:
    """``serve`` on a free port; yields (process, base URL, API key)."""
    with running("serve", "--port", "0", *args) as process:
        url = process.wait_for(r"fake LMIF API at (http://\S+)").group(1)
        key = process.wait_for(r"API key:\s+(\S+)").group(1)
        process.wait_for(r"API docs")
        yield process, url, key
