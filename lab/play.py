"""Run a playbook through ansible-runner and summarise it from the structured events.

Used by `python -m lab play` (the demo) and by the benchmark harness (`python -m bench`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    output: str = ""  # the end of ansible-playbook's own output, for failures outside any task
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
        if kind in ("runner_on_ok", "runner_on_failed"):
            run.tasks[host] += 1
            if res.get("changed"):
                run.changed.append((host, task))
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            run.failed.append((host, task, str(res.get("msg", ""))))
        if kind == "runner_on_unreachable":
            run.failed.append((host, task, "unreachable: " + str(res.get("msg", ""))))
        if kind == "playbook_on_stats":
            for key in ("ok", "changed", "failures", "dark", "skipped"):
                for name, count in (data.get(key) or {}).items():
                    run.stats.setdefault(name, {})[key] = count
    return run


def recorded_controls(report_dir: Path, mode: str, since: str) -> dict[str, dict[str, str]]:
    """{host: {control: status}} of the records a run wrote (its mode, made at or after ``since``), as the
    controls callback stored them: drift, error and unreachable included."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(report_dir.glob("*.json")):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for control, by_mode in (report.get("controls") or {}).items():
            record = by_mode.get(mode) if isinstance(by_mode, dict) else None
            if isinstance(record, dict) and str(record.get("time", "")) >= since:
                found.setdefault(str(report.get("host", path.stem)), {})[control] = str(record.get("status"))
    return found


def run_playbook(
    playbook: str,
    inventory: Path,
    *,
    check: bool = False,
    extravars: dict[str, Any] | None = None,
    quiet: bool = True,
    report_dir: Path | None = None,
    strategy: str | None = None,
    limit: str | None = None,
    tags: str | None = None,
) -> PlayRun:
    import ansible_runner  # the venv's; imported late so `python -m lab images` works without it

    records = report_dir or Path(os.environ.get("RAMPART_REPORT_DIR", str(ROOT / "reports" / "controls")))
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory(prefix="rampart-runner-") as private:
        envvars = {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "RAMPART_REPORT_DIR": str(records),
            **({"ANSIBLE_STRATEGY": strategy} if strategy else {}),
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
            **({"limit": limit} if limit else {}),
            **({"tags": tags} if tags else {}),
        )
        seconds = time.monotonic() - started
        run = PlayRun(playbook=playbook, check=check, rc=int(runner.rc), seconds=seconds)
        if run.rc != 0:
            run.output = "\n".join(runner.stdout.read().splitlines()[-25:])
        run.controls = recorded_controls(records, "check" if check else "enforce", since)
        return digest(list(runner.events), run)


def summarise(run: PlayRun, changes: bool = True) -> str:
    """What a run did per host (tasks, changes, failures, control statuses); ``changes`` lists the
    tasks that changed something."""
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
    if changes and run.changed and not run.check:
        lines += [f"  changed: {host}: {task}" for host, task in run.changed]
    lines += [f"  FAILED: {host}: {task}: {msg}" for host, task, msg in run.failed]
    if not run.ok and not run.failed:
        lines += ["  " + line for line in run.output.splitlines()]
    return "\n".join(lines)
