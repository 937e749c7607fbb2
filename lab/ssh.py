"""The lab's SSH key pair and known_hosts file.

Pure helpers edit known_hosts text; the rest touches files under ``.lab/ssh/``
and runs ``ssh-keygen``/``ssh``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from lab.util import atomic_write, file_lock

LOOPBACK = "127.0.0.1"


def known_hosts_pattern(port: int, address: str = LOOPBACK) -> str:
    """Return the known_hosts host field for a published port: ``[127.0.0.1]:PORT``."""
    return f"[{address}]:{port}"


def public_key(pub_line: str) -> str:
    """Return ``TYPE BASE64`` from a ``.pub`` line, dropping the comment."""
    fields = pub_line.split()
    if len(fields) < 2 or not fields[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise ValueError(f"not an OpenSSH public key: {pub_line[:80]!r}")
    return f"{fields[0]} {fields[1]}"


def update_known_hosts(text: str, entries: Mapping[str, str]) -> str:
    """Return known_hosts ``text`` with every line for the given patterns replaced by ``entries``.

    ``entries`` maps a host pattern (``[127.0.0.1]:PORT``) to a public key (``TYPE BASE64``).
    Lines for other hosts, comments and blank lines are kept as they are.
    """
    kept = [line for line in text.splitlines() if not line.strip() or line.split()[0] not in entries]
    kept += [f"{pattern} {key}" for pattern, key in sorted(entries.items())]
    return "\n".join(kept) + "\n" if kept else ""


def remove_known_hosts(text: str, patterns: Iterable[str]) -> str:
    """Return known_hosts ``text`` without the lines for ``patterns``."""
    drop = set(patterns)
    kept = [line for line in text.splitlines() if not line.strip() or line.split()[0] not in drop]
    return "\n".join(kept) + "\n" if kept else ""


class SshPaths:
    """Where the lab keeps its key pair and known_hosts file (``.lab/ssh/``)."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "ssh"
        self.identity = self.directory / "id_ed25519"
        self.public = self.directory / "id_ed25519.pub"
        self.known_hosts = self.directory / "known_hosts"
        self.lock = self.directory / ".lock"


def ensure_keypair(paths: SshPaths) -> str:
    """Create the lab's ed25519 key pair unless it exists; return the public key line."""
    paths.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with file_lock(paths.lock):
        if not (paths.identity.exists() and paths.public.exists()):
            paths.identity.unlink(missing_ok=True)
            paths.public.unlink(missing_ok=True)
            keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rampart-lab"]
            subprocess.run(
                [*keygen, "-f", str(paths.identity)],
                check=True,
                capture_output=True,
            )
        if not paths.known_hosts.exists():
            atomic_write(paths.known_hosts, "", 0o600)
    return paths.public.read_text().strip()


def set_host_keys(paths: SshPaths, entries: Mapping[str, str]) -> None:
    """Record host keys (pattern -> ``TYPE BASE64``) in the lab's known_hosts file."""
    with file_lock(paths.lock):
        current = paths.known_hosts.read_text() if paths.known_hosts.exists() else ""
        atomic_write(paths.known_hosts, update_known_hosts(current, entries), 0o600)


def forget_host_keys(paths: SshPaths, patterns: Iterable[str]) -> None:
    """Drop host keys for ``patterns`` from the lab's known_hosts file."""
    with file_lock(paths.lock):
        if paths.known_hosts.exists():
            text = remove_known_hosts(paths.known_hosts.read_text(), patterns)
            atomic_write(paths.known_hosts, text, 0o600)


def ssh_argv(paths: SshPaths, port: int, user: str, *command: str, address: str = LOOPBACK) -> list[str]:
    """Return an ``ssh`` command line that connects to a lab host with strict host key checking."""
    return [
        "ssh",
        "-i",
        str(paths.identity),
        "-o",
        f"UserKnownHostsFile={paths.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "LogLevel=ERROR",
        "-p",
        str(port),
        f"{user}@{address}",
        *command,
    ]


def wait_for_ssh(paths: SshPaths, port: int, user: str, timeout: float) -> float:
    """Wait until ``ssh USER@127.0.0.1 -p PORT sudo -n true`` succeeds; return the seconds waited."""
    start = time.monotonic()
    last = ""
    while True:
        proc = subprocess.run(
            ssh_argv(paths, port, user, "sudo", "-n", "true"),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if proc.returncode == 0:
            return time.monotonic() - start
        last = proc.stderr.strip()
        if time.monotonic() - start > timeout:
            message = f"sshd on 127.0.0.1:{port} did not let {user} in within {timeout:.0f} s: {last}"
            raise TimeoutError(message)
        time.sleep(0.25)
