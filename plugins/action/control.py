"""Action plugin for rampart.hardening.control: runs on the controller, never touches the host."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.rampart.hardening.plugins.module_utils.controls import build_record


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("id", "checks", "applicable", "reason", "enforce"))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        args = self._task.args
        role = self._task._role.get_name() if self._task._role else ""
        try:
            record = build_record(
                args.get("id"),
                args.get("checks", []),
                applicable=self._bool(args.get("applicable", True), "applicable"),
                reason=str(args.get("reason", "")),
                role=role,
            )
        except ValueError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        # When and how it was observed: a check-mode record describes the host before any change.
        record["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record["mode"] = "check" if self._play_context.check_mode else "enforce"
        enforce = self._bool(args.get("enforce", False), "enforce")
        result.update(
            changed=False,
            rampart_control=record,
            msg=f"{record['id']} {record['status']}: {record['summary']}",
        )
        if enforce and record["status"] == "fail":
            result["failed"] = True
        return result

    @staticmethod
    def _bool(value: Any, name: str) -> bool:
        if isinstance(value, bool):
            return value
        raise AnsibleActionFail(f"control: {name} must be a boolean, got {value!r}")
