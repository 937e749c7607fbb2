"""Collect rampart control records per host, store them as JSON and print a summary."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible_collections.rampart.hardening.plugins.module_utils.collection import collection_version
from ansible_collections.rampart.hardening.plugins.module_utils.controls import (
    control_ids,
    merge_host_report,
    unassessed_record,
    with_pending_changes,
)

DOCUMENTATION = r"""
name: controls
type: aggregate
short_description: Collect policy control results reported by rampart roles
description:
  - Gathers the C(rampart_control) record of every C(rampart.hardening.control) task.
  - At the end of the playbook writes one JSON file per host and prints a table of host, control and status.
  - Records of controls not reported by this run are kept, so several playbooks build one report. A
    check-mode record is kept beside the enforcement record of the same control, never instead of it.
  - In check mode a control is reported as C(drift) when a task tagged with its ID would change the host,
    unless the task belongs to a role that the catalogue does not name as recording that control (the backup
    target's tasks serve its clients' STO-03; a change there is not the target's own STO-03).
  - A host that fails or is unreachable gets an C(error) or C(unreachable) record for every control the run
    meant to assess there (the control IDs among the tags of the plays' tasks) and did not; so does a host
    the run never reached because it stopped after another host failed (a halted rollout).
  - Records are only made up (drift, error, unreachable) for controls that the catalogue
    (C(meta/controls.yml)) says a role or playbook implements; a tag of a control nothing records makes none.
  - A host for which the run meant to assess no control (say localhost in a reporting play) gets no file.
  - Each host file also keeps the latest full run of each playbook and mode, so the compliance report can
    tell a record a later run did not refresh (stale). A run limited by C(--tags) or C(--skip-tags)
    updates the records it made but is not recorded as a run.
version_added: "0.1.0"
author: Rampart developers
requirements:
  - enable in ansible.cfg (C(callbacks_enabled = rampart.hardening.controls))
options:
  report_dir:
    description: Where the per-host JSON files go.
    default: reports/controls
    type: path
    env:
      - name: RAMPART_REPORT_DIR
    ini:
      - section: rampart
        key: report_dir
"""

COLOURS = {"pass": "green", "fail": "red", "drift": "yellow", "error": "red", "unreachable": "red"}


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "rampart.hardening.controls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._records: dict[str, list[dict[str, Any]]] = {}
        self._expected: dict[str, dict[str, str]] = {}  # host -> control -> role of the task
        self._pending: dict[str, dict[str, list[str]]] = {}  # host -> control -> tasks that would change
        self._failure: dict[str, str] = {}
        self._playbook = ""
        self._started = _now()
        self._check = False
        self._recorders = recording_roles()  # control -> the roles that record it (the catalogue)
        self._implemented = None if self._recorders is None else set(self._recorders)

    # What the run means to assess: the control IDs tagged on each play's tasks, per host. Read from
    # every play when the playbook starts: a play that no host reaches (all failed) never starts.
    def v2_playbook_on_start(self, playbook: Any) -> None:
        self._playbook = Path(getattr(playbook, "_file_name", "") or "").name
        self._check = bool(context.CLIARGS.get("check", False))
        for play in playbook.get_plays():
            try:
                if "{{" in str(play.hosts):
                    continue  # hosts chosen by a variable: the play's start adds them
                self._expect(play)
            except Exception as exc:  # never let reporting break a run
                self._display.warning(f"rampart controls: cannot list the controls of play {play}: {exc}")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        try:
            self._expect(play)
        except Exception as exc:
            self._display.warning(f"rampart controls: cannot list the controls of play {play}: {exc}")

    def _expect(self, play: Any) -> None:
        hosts = play._variable_manager._inventory.get_hosts(play.hosts)
        controls = _play_controls(play)
        for host in hosts:
            self._expected.setdefault(host.name, {}).update(controls)

    def _collect(self, result: Any) -> None:
        record = result._result.get("rampart_control")
        if isinstance(record, dict):
            self._records.setdefault(result._host.get_name(), []).append(record)

    def _changed(self, result: Any) -> None:
        task = result._task
        if not (result._result.get("changed") and task.check_mode):
            return
        name = task.get_name()
        # The role's own name: given by path, Ansible names a role by that path.
        role = Path(task._role.get_name(include_role_fqcn=False)).name if task._role else None
        for control in control_ids([*task.tags, name.split(" | ")[0]]):
            if (
                role
                and self._recorders
                and self._recorders.get(control)
                and role not in self._recorders[control]
            ):
                continue  # a role serving the control on other hosts (a backup target, for its clients)
            self._pending.setdefault(result._host.get_name(), {}).setdefault(control, []).append(name)

    def v2_runner_on_ok(self, result: Any) -> None:
        self._collect(result)
        self._changed(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._collect(result)
        if not ignore_errors:
            message = str(result._result.get("msg", "")).strip().splitlines()
            self._failure[result._host.get_name()] = f"failed at {result._task.get_name()!r}" + (
                f": {message[0]}" if message else ""
            )

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._failure[result._host.get_name()] = f"unreachable: {result._result.get('msg', '')}".strip()

    # A control task in a loop reports one record per item.
    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._collect(result)

    def v2_runner_item_on_failed(self, result: Any) -> None:
        self._collect(result)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        assessed = {host for host, controls in self._expected.items() if controls}
        hosts = sorted(set(self._records) | assessed | set(self._pending))
        if not hosts:
            return
        directory = Path(self.get_option("report_dir"))
        directory.mkdir(parents=True, exist_ok=True)
        version = collection_version()
        self._display.banner("RAMPART CONTROLS")
        stopped = [h for h in hosts if h in stats.processed and stats.summarize(h)["failures"]]
        for host in hosts:
            summary = stats.summarize(host)
            result = "unreachable" if summary["unreachable"] else "failed" if summary["failures"] else "ok"
            if host not in stats.processed:
                if not stopped:
                    continue  # nothing ran here and nothing failed: no run to record
                # A rollout that halted (serial batches, max_fail_percentage) never reached this host.
                result = "failed"
                failed = ", ".join(stopped)
                self._failure[host] = f"the run stopped before reaching this host ({failed} failed)"
            run = {
                "playbook": self._playbook,
                "mode": "check" if self._check else "enforce",
                "time": self._started,
                "version": version,
                "result": result,
                "message": self._failure.get(host, "") if result != "ok" else "",
            }
            records = list(self._host_records(host, result, run))
            path = directory / f"{host}.json"
            merged = merge_host_report(_read(path), host, records, None if _partial() else run)
            _atomic_write(path, json.dumps(merged, indent=2) + "\n")
            for record in records:
                line = f"{host:<28} {record['id']:<7} {record['status']:<15} {record['summary']}"
                self._display.display(line, color=COLOURS.get(record["status"], "cyan"))
        self._display.display(f"reports: {directory}/<host>.json")

    def _host_records(self, host: str, result: str, run: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """This run's records for ``host``: reported, turned into drift, or not assessed."""
        stamp = {"playbook": run["playbook"], "version": run["version"]}
        pending = self._pending.get(host, {})
        seen: set[str] = set()
        for record in self._records.get(host, []):
            seen.add(record["id"])
            drift = pending.get(record["id"], []) if record.get("mode") == "check" else []
            yield {**with_pending_changes(record, drift), **stamp}
        expected = self._expected.get(host, {})
        mode = run["mode"]
        for control in sorted(set(pending) | (set(expected) if result != "ok" else set())):
            if control in seen or (self._implemented is not None and control not in self._implemented):
                continue  # reported already, or a tag of a control nothing records yet (the catalogue)
            if result != "ok":
                status = "unreachable" if result == "unreachable" else "error"
                reason = f"not assessed: {run['message'] or result}"
            elif mode == "check":
                status, reason = "drift", "would change: " + "; ".join(pending[control])
            else:
                continue  # a real run changed a task tagged with a control it does not report here
            record = unassessed_record(control, status, reason, role=expected.get(control, ""))
            yield {**record, "time": run["time"], "mode": mode, **stamp}


def _partial() -> bool:
    """Whether the command line limits the run to some tags (then it is no full run of its playbook)."""
    tags = context.CLIARGS.get("tags") or ["all"]
    return bool(context.CLIARGS.get("skip_tags")) or set(tags) != {"all"}


def _play_controls(play: Any) -> dict[str, str]:
    """The control IDs tagged on a play's tasks that the command line's tags select, with their role."""
    only = context.CLIARGS.get("tags") or ["all"]
    skip = context.CLIARGS.get("skip_tags") or []
    controls: dict[str, str] = {}
    for task in _tasks(play.compile()):
        try:
            selected = task.evaluate_tags(only, skip, {})
        except Exception:
            selected = True
        if selected:
            role = task._role.get_name(include_role_fqcn=False) if task._role else ""
            for control in control_ids(task.tags):
                controls.setdefault(control, role)
    return controls


def _tasks(blocks: list[Any]) -> Iterator[Any]:
    for block in blocks:
        for part in (block.block, block.rescue, block.always):
            for item in part or []:
                if hasattr(item, "block"):
                    yield from _tasks([item])
                else:
                    yield item


def recording_roles() -> dict[str, set[str]] | None:
    """The implemented controls (meta/controls.yml), each with the roles that record it (empty when
    only playbooks do); None when the catalogue cannot be read."""
    from ansible_collections.rampart.hardening.plugins.module_utils.report.generate import load_catalogue

    try:
        return {
            control.id: set(control.roles) for control in load_catalogue().controls if control.implemented
        }
    except (OSError, ValueError):
        return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    Path(tmp).replace(path)
