"""Collect rampart control records per host, store them as JSON and print a summary."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase
from ansible_collections.rampart.hardening.plugins.module_utils.controls import merge_host_report

DOCUMENTATION = r"""
name: controls
type: aggregate
short_description: Collect policy control results reported by rampart roles
description:
  - Gathers the C(rampart_control) record of every C(rampart.hardening.control) task.
  - At the end of the playbook writes one JSON file per host and prints a table of host, control and status.
  - Records of controls not reported by this run are kept, so several playbooks build one report.
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


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "rampart.hardening.controls"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._records: dict[str, list[dict[str, Any]]] = {}

    def _collect(self, result: Any) -> None:
        record = result._result.get("rampart_control")
        if isinstance(record, dict):
            self._records.setdefault(result._host.get_name(), []).append(record)

    def v2_runner_on_ok(self, result: Any) -> None:
        self._collect(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._collect(result)

    # A control task in a loop reports one record per item.
    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._collect(result)

    def v2_runner_item_on_failed(self, result: Any) -> None:
        self._collect(result)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self._records:
            return
        directory = Path(self.get_option("report_dir"))
        directory.mkdir(parents=True, exist_ok=True)
        self._display.banner("RAMPART CONTROLS")
        for host, records in sorted(self._records.items()):
            path = directory / f"{host}.json"
            previous = json.loads(path.read_text()) if path.exists() else {}
            report = {"host": host, **merge_host_report(previous, records)}
            _atomic_write(path, json.dumps(report, indent=2, sort_keys=True) + "\n")
            for record in records:
                colour = {"pass": "green", "fail": "red"}.get(record["status"], "cyan")
                line = f"{host:<28} {record['id']:<7} {record['status']:<15} {record['summary']}"
                self._display.display(line, color=colour)
        self._display.display(f"reports: {directory}/<host>.json")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    Path(tmp).replace(path)
