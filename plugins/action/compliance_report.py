"""Action plugin for rampart.hardening.compliance_report: runs on the controller, never touches a host."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import iso
from ansible_collections.rampart.hardening.plugins.module_utils.report.generate import generate
from ansible_collections.rampart.hardening.plugins.module_utils.report.options import DEFAULT_MAX_AGE, Options
from ansible_collections.rampart.hardening.plugins.module_utils.report.statuses import DEFAULT_FAIL_ON, counts

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "groups": {"type": "dict", "default": {}},
    "records_dir": {"type": "path"},
    "output_dir": {"type": "path", "default": "reports/compliance"},
    "fail_on": {"type": "list", "elements": "str", "default": list(DEFAULT_FAIL_ON)},
    "max_age": {"type": "str", "default": DEFAULT_MAX_AGE},
    "inventory": {"type": "str", "default": ""},
    "write_in_check_mode": {"type": "bool", "default": True},
}
SHOWN = 10  # failing cells named in the failure message


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            options = Options.parse(args["fail_on"], args["max_age"])
        except ValueError as exc:
            raise AnsibleActionFail(f"compliance_report: {exc}") from exc
        groups = args["groups"]
        if not all(isinstance(v, list) for v in groups.values()):
            raise AnsibleActionFail("compliance_report: groups must map each host to a list of group names")
        records_dir = args["records_dir"] or os.environ.get("RAMPART_REPORT_DIR") or "reports/controls"
        write = not self._play_context.check_mode or args["write_in_check_mode"]
        try:
            generated = generate(
                args["hosts"],
                records_dir=Path(records_dir),
                output_dir=Path(args["output_dir"]),
                groups={str(k): [str(g) for g in v] for k, v in groups.items()},
                options=options,
                inventory=args["inventory"],
                write=write,
            )
        except (OSError, ValueError, yaml.YAMLError) as exc:  # the catalogue, or writing the files
            raise AnsibleActionFail(f"compliance_report: {exc}") from exc
        report = generated.report
        failing = [f"{c.host} {c.control.id} {c.label}" for c in report.failing]
        changes = report.changes
        result.update(
            changed=generated.written,
            result=report.result,
            files=dict(generated.files),
            totals=dict(report.totals.statuses),
            failing=failing,
            changes={
                "previous": iso(changes.previous) if changes.previous else None,
                "newly_failing": len(changes.newly_failing),
                "fixed": len(changes.fixed),
                "newly_stale": len(changes.newly_stale),
            },
        )
        where = generated.files["html"] if generated.written else "not written (check mode)"
        if report.failing:
            found = counts(c.status for c in report.failing)
            by_status = ", ".join(f"{n} {s}" for s, n in found.items() if n)
            more = f"; and {len(failing) - SHOWN} more" if len(failing) > SHOWN else ""
            result.update(
                failed=True,
                msg=f"compliance report: fail, {len(failing)} cells fail on {', '.join(options.fail_on)} "
                f"({by_status}): {'; '.join(failing[:SHOWN])}{more}. Report: {where}",
            )
        else:
            result["msg"] = f"compliance report: pass ({len(report.hosts)} hosts). Report: {where}"
        return result
