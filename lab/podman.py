"""The one place the lab runs podman: always with the project's containers.conf."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

CONTAINERS_CONF = Path(__file__).resolve().parent / "containers.conf"


class PodmanError(RuntimeError):
    """A podman command failed; the message carries its argv, exit code and stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"`{' '.join(argv)}` failed (exit {returncode}): {stderr.strip()}")


def podman_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment whose CONTAINERS_CONF points at lab/containers.conf."""
    env = dict(os.environ if base is None else base)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(
    *args: str,
    check: bool = True,
    input_text: str | None = None,
    stdin: IO[Any] | int | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS`` with the lab's containers.conf and return the completed process.

    Output is captured as text. With ``check`` a non-zero exit raises PodmanError.
    """
    argv = ["podman", *args]
    proc = subprocess.run(
        argv,
        env=podman_env(),
        input=input_text,
        stdin=stdin if input_text is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise PodmanError(argv, proc.returncode, proc.stderr)
    return proc
