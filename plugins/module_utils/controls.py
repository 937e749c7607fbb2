"""The control-report convention shared by every rampart role.

A role proves each policy control it enforces with one `rampart.hardening.control` task. The
task's result carries a `rampart_control` record; the `rampart.hardening.controls` callback
collects those records per host, and the compliance report reads them. Roles never need to
know who consumes the records.

A record: {"id": "RAC-01", "status": "pass" | "fail" | "not_applicable", "role": str,
           "summary": str, "checks": [{"name": str, "ok": bool, "evidence": str}]}
"""

from __future__ import annotations

import re
from typing import Any

CONTROL_ID = re.compile(r"^[A-Z]{3}-\d{2}$")
STATUSES = ("pass", "fail", "not_applicable")


def build_record(
    control_id: str,
    checks: list[dict[str, Any]],
    applicable: bool = True,
    reason: str = "",
    role: str = "",
) -> dict[str, Any]:
    """Validate a control report and decide its status. Raises ValueError on bad input."""
    if not isinstance(control_id, str) or not CONTROL_ID.match(control_id):
        raise ValueError(f"control id {control_id!r} is not of the form ABC-01")
    if not applicable:
        if not reason:
            raise ValueError(f"{control_id}: a not-applicable report needs a reason")
        return {"id": control_id, "status": "not_applicable", "role": role, "summary": reason, "checks": []}
    if not isinstance(checks, list) or not checks:
        raise ValueError(f"{control_id}: an applicable control needs at least one check")
    normalised: list[dict[str, Any]] = []
    for index, check in enumerate(checks):
        if not isinstance(check, dict) or "name" not in check or "ok" not in check:
            raise ValueError(f"{control_id}: check #{index + 1} needs 'name' and 'ok', got {check!r}")
        ok = check["ok"]
        if not isinstance(ok, bool):
            raise ValueError(f"{control_id}: check {check['name']!r} has ok={ok!r}, not a boolean")
        normalised.append({"name": str(check["name"]), "ok": ok, "evidence": str(check.get("evidence", ""))})
    failed = [str(c["name"]) for c in normalised if not c["ok"]]
    status = "fail" if failed else "pass"
    summary = f"failed: {'; '.join(failed)}" if failed else f"{len(normalised)} checks passed"
    return {"id": control_id, "status": status, "role": role, "summary": summary, "checks": normalised}


def merge_host_report(previous: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold new records into a host's stored report: the newest record for a control wins."""
    controls = dict(previous.get("controls", {}))
    for record in records:
        controls[record["id"]] = record
    return {"controls": dict(sorted(controls.items()))}
