"""The guest agent and QMP clients against fake servers on Unix sockets."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.qga import AgentError, GuestAgent, Monitor, connect_unix

Handler = Callable[[dict[str, Any]], list[bytes]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Handler, bytes], Path]]:
    """Serve one connection on a Unix socket: each JSON line in, the handler's bytes out."""
    threads: list[threading.Thread] = []
    servers: list[socket.socket] = []

    def start(handler: Handler, greeting: bytes = b"") -> Path:
        path = tmp_path / "agent.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.listen(1)
        servers.append(server)

        def run() -> None:
            conn, _ = server.accept()
            with conn, conn.makefile("rb") as lines:
                conn.sendall(greeting)
                for line in lines:
                    text = line.lstrip(b"\xff").strip()
                    if text:
                        for reply in handler(json.loads(text)):
                            conn.sendall(reply)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        return path

    yield start
    for server in servers:
        server.close()


def agent_handler(exits: int = 0) -> Handler:
    polls = {"count": 0}

    def handle(message: dict[str, Any]) -> list[bytes]:
        command, args = message["execute"], message.get("arguments", {})
        if command == "guest-sync-delimited":
            # A stale answer to an earlier sync first, then garbage, then the real one.
            return [
                b'\xff{"return": 1}\n',
                b"not json\n",
                b"\xff" + json.dumps({"return": args["id"]}).encode() + b"\n",
            ]
        if command == "guest-exec":
            assert args["path"] == "/bin/sh"
            assert base64.b64decode(args["input-data"]) == b"payload"
            return [b'{"return": {"pid": 42}}\n']
        if command == "guest-exec-status":
            polls["count"] += 1
            if polls["count"] < 2:
                return [b'{"return": {"exited": false}}\n']
            status = {
                "exited": True,
                "exitcode": exits,
                "out-data": base64.b64encode(b"prepared\n").decode(),
                "err-data": base64.b64encode(b"").decode(),
            }
            return [json.dumps({"return": status}).encode() + b"\n"]
        return [json.dumps({"error": {"class": "CommandNotFound", "desc": f"no {command}"}}).encode() + b"\n"]

    return handle


def test_agent_syncs_past_stale_answers_and_runs_a_command(serve: Callable[[Handler, bytes], Path]) -> None:
    agent = GuestAgent(serve(agent_handler(), b""))
    try:
        agent.wait(5.0)
        result = agent.run(["/bin/sh", "-c", "true"], stdin=b"payload", timeout=5.0)
    finally:
        agent.close()
    assert (result.ok, result.stdout) == (True, "prepared\n")


def test_agent_reports_errors(serve: Callable[[Handler, bytes], Path]) -> None:
    agent = GuestAgent(serve(agent_handler(), b""))
    try:
        agent.wait(5.0)
        with pytest.raises(AgentError, match="no guest-set-time"):
            agent.call("guest-set-time", timeout=5.0)
    finally:
        agent.close()


def test_agent_wait_gives_up(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="did not answer"):
        GuestAgent(tmp_path / "missing.sock").wait(0.5)


def test_agent_wait_stops_when_qemu_died(tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="QEMU exited"):
        GuestAgent(tmp_path / "missing.sock").wait(30.0, alive=lambda: False)


def qmp_handler(message: dict[str, Any]) -> list[bytes]:
    if message["execute"] == "query-status":
        return [b'{"event": "RESUME"}\n', b'{"return": {"status": "running", "running": true}}\n']
    return [b'{"return": {}}\n']


def test_monitor_negotiates_and_skips_events(serve: Callable[[Handler, bytes], Path]) -> None:
    path = serve(qmp_handler, b'{"QMP": {"version": {}}}\n')
    monitor = Monitor(path, timeout=5.0)
    try:
        assert monitor.call("query-status") == {"status": "running", "running": True}
    finally:
        monitor.close()


def test_connect_to_a_socket_with_a_path_too_long_for_sockaddr_un(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    path = deep / "qga.sock"
    assert len(str(path)) > 107
    server = socket.socket(socket.AF_UNIX)
    fd = os.open(deep, os.O_PATH | os.O_DIRECTORY)
    try:
        server.bind(f"/proc/self/fd/{fd}/qga.sock")
    finally:
        os.close(fd)
    server.listen(1)
    try:
        connect_unix(path, 2.0).close()
    finally:
        server.close()
