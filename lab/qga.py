"""A small client for the QEMU guest agent and QEMU's monitor (QMP), over their Unix sockets.

The guest agent is the lab's channel into a VM that does not depend on SSH: it installs
the lab key and host keys, sets the hostname and the clock, and runs the checks that
decide a VM is ready (the VM counterpart of ``podman exec``). QMP stops QEMU and saves
memory snapshots.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# sockaddr_un holds 108 bytes including the terminating NUL.
_MAX_SUN_PATH = 107


class AgentError(RuntimeError):
    """The guest agent or QMP answered with an error, or not in time."""


@dataclass(frozen=True)
class ExecResult:
    """What a command run through the guest agent did."""

    exitcode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Whether it exited with 0."""
        return self.exitcode == 0


def connect_unix(path: Path, timeout: float) -> socket.socket:
    """Connect to a Unix socket; paths too long for sockaddr_un go through /proc/self/fd."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if len(os.fsencode(path)) <= _MAX_SUN_PATH:
            sock.connect(str(path))
        else:
            fd = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
            try:
                sock.connect(f"/proc/self/fd/{fd}/{path.name}")
            finally:
                os.close(fd)
    except OSError:
        sock.close()
        raise
    return sock


class _JsonLines:
    """Newline-delimited JSON over a socket; 0xFF bytes (guest-sync-delimited) are separators."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def send(self, message: dict[str, Any], *, delimiter: bool = False) -> None:
        data = json.dumps(message).encode() + b"\n"
        self.sock.sendall((b"\xff" if delimiter else b"") + data)

    def receive(self, deadline: float) -> dict[str, Any]:
        """Return the next JSON object; raise TimeoutError at ``deadline`` (time.monotonic())."""
        while True:
            self.buffer = self.buffer.rsplit(b"\xff", 1)[-1] if b"\xff" in self.buffer else self.buffer
            line, sep, rest = self.buffer.partition(b"\n")
            if sep:
                self.buffer = rest
                with contextlib.suppress(ValueError):
                    data = json.loads(line)
                    if isinstance(data, dict):
                        return data
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise TimeoutError("no answer") from None
            if not chunk:
                raise ConnectionError("the socket was closed")
            self.buffer += chunk


class GuestAgent:
    """A connection to a VM's guest agent (``org.qemu.guest_agent.0``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: _JsonLines | None = None
        self._sync_id = int.from_bytes(os.urandom(3), "big")

    def close(self) -> None:
        """Drop the connection (the next call reconnects)."""
        if self._stream is not None:
            self._stream.sock.close()
            self._stream = None

    def wait(self, timeout: float, alive: Any = None) -> float:
        """Wait until the agent answers a sync; return the seconds waited.

        ``alive`` is called between attempts; when it returns False the wait stops
        (the VM died). Before the guest opens its end, QEMU holds what we send; the
        agent then answers every queued sync, so answers are matched by id.
        """
        start = time.monotonic()
        deadline = start + timeout
        while True:
            if alive is not None and not alive():
                raise AgentError("QEMU exited while waiting for the guest agent")
            try:
                if self._stream is None:
                    self._stream = _JsonLines(connect_unix(self.path, 5.0))
                self._sync_id += 1
                self._stream.send(
                    {"execute": "guest-sync-delimited", "arguments": {"id": self._sync_id}}, delimiter=True
                )
                attempt_end = min(deadline, time.monotonic() + 2.0)
                while True:
                    answer = self._stream.receive(attempt_end)
                    if answer.get("return") == self._sync_id:
                        return time.monotonic() - start
            except TimeoutError:
                pass
            except OSError:
                self.close()
                time.sleep(0.2)
            if time.monotonic() >= deadline:
                raise AgentError(f"the guest agent did not answer within {timeout:.0f} s")

    def call(self, command: str, timeout: float = 30.0, **arguments: Any) -> Any:
        """Run one agent command and return its ``return`` value."""
        if self._stream is None:
            self.wait(timeout)
        assert self._stream is not None
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self._stream.send(message)
        answer = self._stream.receive(time.monotonic() + timeout)
        if "error" in answer:
            raise AgentError(f"guest agent {command}: {answer['error'].get('desc', answer['error'])}")
        return answer.get("return")

    def run(self, argv: list[str], *, stdin: bytes | None = None, timeout: float = 120.0) -> ExecResult:
        """Run ``argv`` as root in the guest and wait for it (``guest-exec``)."""
        arguments: dict[str, Any] = {"path": argv[0], "arg": argv[1:], "capture-output": True}
        if stdin is not None:
            arguments["input-data"] = base64.b64encode(stdin).decode()
        pid = self.call("guest-exec", **arguments)["pid"]
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            status = self.call("guest-exec-status", pid=pid)
            if status.get("exited"):
                return ExecResult(
                    exitcode=int(status.get("exitcode", -1 if "signal" in status else 0)),
                    stdout=base64.b64decode(status.get("out-data", "")).decode(errors="replace"),
                    stderr=base64.b64decode(status.get("err-data", "")).decode(errors="replace"),
                )
            if time.monotonic() > deadline:
                raise AgentError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s in the guest")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextlib.contextmanager
def guest_agent(path: Path) -> Iterator[GuestAgent]:
    """A guest agent connection closed after the block."""
    agent = GuestAgent(path)
    try:
        yield agent
    finally:
        agent.close()


class Monitor:
    """A QMP connection to one QEMU process."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self._stream = _JsonLines(connect_unix(path, timeout))
        self._timeout = timeout
        greeting = self._stream.receive(time.monotonic() + timeout)
        if "QMP" not in greeting:
            raise AgentError(f"not a QMP greeting: {greeting}")
        self.call("qmp_capabilities")

    def close(self) -> None:
        """Close the connection."""
        self._stream.sock.close()

    def call(self, command: str, **arguments: Any) -> Any:
        """Run one QMP command and return its ``return`` value (events are skipped)."""
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self._stream.send(message)
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                answer = self._stream.receive(deadline)
            except ConnectionError:
                if command == "quit":
                    return {}
                raise
            if "event" in answer:
                continue
            if "error" in answer:
                raise AgentError(f"QMP {command}: {answer['error'].get('desc', answer['error'])}")
            return answer.get("return")


@contextlib.contextmanager
def monitor(path: Path, timeout: float = 10.0) -> Iterator[Monitor]:
    """A QMP connection closed after the block."""
    mon = Monitor(path, timeout)
    try:
        yield mon
    finally:
        mon.close()
