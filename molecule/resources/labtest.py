"""Helpers shared by the scenarios' testinfra tests (imported with the scenario's tests on sys.path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LAB_SSH = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).parents[2])) / ".lab" / "ssh"


def fresh_login(
    host: Any, user: str, *options: str, command: str = "true"
) -> subprocess.CompletedProcess[str]:
    """Log in from the controller as `user` with the lab key over a new connection (no shared master)."""
    hostvars = host.ansible.get_variables()
    argv = [
        "ssh",
        "-p",
        str(hostvars["ansible_port"]),
        "-i",
        str(LAB_SSH / "id_ed25519"),
        "-o",
        f"UserKnownHostsFile={LAB_SSH / 'known_hosts'}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        *options,
        f"{user}@{hostvars['ansible_host']}",
        command,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def ansible_playbook(*args: str, report_dir: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """ansible-playbook on the scenario's inventory, from the project directory, as an operator runs it
    (the controls callback writes its reports to ``report_dir``)."""
    root = LAB_SSH.parents[1]
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "RAMPART_REPORT_DIR": str(report_dir),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *args]
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=root, timeout=timeout, check=False
    )


def run_playbook(
    host: Any, playbook: Path, extra: dict[str, Any], report_dir: Path
) -> subprocess.CompletedProcess[str]:
    """Run a playbook against this one host with extra vars."""
    limit = host.backend.get_hostname()
    return ansible_playbook("--limit", limit, str(playbook), "-e", json.dumps(extra), report_dir=report_dir)


def control_record(report_dir: Path, host: str, control_id: str, mode: str = "enforce") -> dict[str, Any]:
    """The newest record of ``control_id`` in ``mode`` (enforce or check) from a host's control report."""
    report = json.loads((Path(report_dir) / f"{host}.json").read_text())
    return dict(report["controls"][control_id][mode])


def run_oneshot(
    host: Any, service: str, tag: str = "rampart-health", wait: float = 10.0
) -> tuple[int, list[Any]]:
    """Start a oneshot service once, as its timer would: the exit status and the journal entries under
    ``tag`` of one run. Both come from one ``systemctl show`` (status and main PID) and entries are
    matched by that PID, so a run the timer starts on its own nearby is never mixed in."""
    host.run(f"sudo systemctl start {service}")  # returns when the oneshot has finished
    shown = host.check_output(f"systemctl show -p ExecMainPID -p ExecMainStatus {service}")
    run = dict(line.split("=", 1) for line in shown.splitlines())
    deadline = time.monotonic() + wait
    while True:  # syslog datagrams may reach the journal a moment after the process exits
        out: str = host.check_output(f"sudo journalctl -t {tag} _PID={run['ExecMainPID']} -o json --no-pager")
        if out.strip() or time.monotonic() >= deadline:
            return int(run["ExecMainStatus"]), [json.loads(line) for line in out.splitlines()]
        time.sleep(1)
