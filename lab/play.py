"""Run a playbook through ansible-runner and summarise it from the structured events.

Used by `python -m lab play` (the demo) and by the benchmark harness (`python -m bench`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PlayRun:
    """What one ansible-playbook run did, per host and per control."""

    playbook: str
    check: bool
    rc: int
    seconds: float
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    changed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    controls: dict[str, dict[str, str]] = field(default_factory=dict)
    tasks: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def changed_count(self) -> int:
        return len(self.changed)


def digest(events: list[dict[str, Any]], run: PlayRun) -> PlayRun:
    """Fold ansible-runner events into `run` (pure: events in, summary out)."""
    for event in events:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        host, task, res = data.get("host", ""), data.get("task", ""), data.get("res", {}) or {}
        record = res.get("rampart_control")
        if kind in ("runner_item_on_ok", "runner_item_on_failed") and isinstance(record, dict):
            run.controls.setdefault(host, {})[record["id"]] = record["status"]
        if kind in ("runner_on_ok", "runner_on_failed"):
            run.tasks[host] += 1
            if res.get("changed"):
                run.changed.append((host, task))
            if isinstance(record, dict):
                run.controls.setdefault(host, {})[record["id"]] = record["status"]
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            run.failed.append((host, task, str(res.get("msg", ""))))
        if kind == "runner_on_unreachable":
            run.failed.append((host, task, "unreachable: " + str(res.get("msg", ""))))
        if kind == "playbook_on_stats":
            for key in ("ok", "changed", "failures", "dark", "skipped"):
                for name, count in (data.get(key) or {}).items():
                    run.stats.setdefault(name, {})[key] = count
    return run


def run_playbook(
    playbook: str,
    inventory: Path,
    *,
    check: bool = False,
    extravars: dict[str, Any] | None = None,
    quiet: bool = True,
) -> PlayRun:
    import ansible_runner  # the venv's; imported late so `python -m lab images` works without it

    with tempfile.TemporaryDirectory(prefix="rampart-runner-") as private:
        envvars = {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "RAMPART_REPORT_DIR": os.environ.get("RAMPART_REPORT_DIR", str(ROOT / "reports" / "controls")),
        }
        cmdline = "--check --diff" if check else ""
        started = time.monotonic()
        runner = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(ROOT),
            playbook=str(ROOT / playbook),
            inventory=str(inventory),
            envvars=envvars,
            extravars=extravars or {},
            cmdline=cmdline,
            quiet=quiet,
        )
        seconds = time.monotonic() - started
        run = PlayRun(playbook=playbook, check=check, rc=int(runner.rc), seconds=seconds)
        return digest(list(runner.events), run)


def summarise(run: PlayRun) -> str:
    mode = " (check mode)" if run.check else ""
    lines = [
        f"{run.playbook}{mode}: {'ok' if run.ok else 'FAILED'} in {run.seconds:.1f}s, "
        f"{sum(run.tasks.values())} task results, {run.changed_count()} changed"
    ]
    for host in sorted(run.stats):
        stats = run.stats[host]
        controls = " ".join(f"{cid}={status}" for cid, status in sorted(run.controls.get(host, {}).items()))
        lines.append(
            f"  {host:<32} ok={stats.get('ok', 0):<3} changed={stats.get('changed', 0):<3} "
            f"failed={stats.get('failures', 0)}  {controls}"
        )
    if run.changed and not run.check:
        lines += [f"  changed: {host}: {task}" for host, task in run.changed]
    lines += [f"  FAILED: {host}: {task}: {msg}" for host, task, msg in run.failed]
    return "\n".join(lines)
