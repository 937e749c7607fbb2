"""The control-report convention shared by every rampart role.

A role proves each policy control it enforces with one `rampart.hardening.control` task. The
task's result carries a `rampart_control` record; the `rampart.hardening.controls` callback
collects those records per host, and the compliance report reads them. Roles never need to
know who consumes the records.

A record: {"id": "RAC-01", "status": STATUS, "role": str, "summary": str,
           "checks": [{"name": str, "ok": bool, "evidence": str}],
           "time": "2026-12-03T09:00:00Z", "mode": "enforce" | "check",
           "playbook": "site.yml", "version": "0.1.0"}

STATUS is what the run observed: `pass` and `fail` (from the checks), `not_applicable` (with the
reason as summary), `drift` (check mode: the checks may hold, but the role would change
something; the pending changes are a failing check), `error` (the run failed on the host before
it assessed the control) or `unreachable`.

A host's file (format 2) keeps, per control, the newest record of each mode, so a verification
never hides the last enforcement, and the latest run of each playbook and mode:
{"host": str, "format": 2, "runs": [RUN, ...], "controls": {"RAC-01": {"enforce": RECORD, "check": RECORD}}}
RUN: {"playbook", "mode", "time", "version", "result": "ok" | "failed" | "unreachable", "message"}
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CONTROL_ID = re.compile(r"^[A-Z]{3}-\d{2}$")
STATUSES = ("pass", "fail", "drift", "not_applicable", "error", "unreachable")
MODES = ("enforce", "check")
FORMAT = 2


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


def control_ids(words: Iterable[Any]) -> list[str]:
    """The control IDs among task tags (``RAC-01``), in order, without duplicates."""
    return list(dict.fromkeys(w for w in words if isinstance(w, str) and CONTROL_ID.match(w)))


def with_pending_changes(record: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    """A check-mode record of a control whose tasks would change the host: drift, never pass.

    ``pending`` names the tasks that reported a change in check mode. A record that already
    fails stays a failure the role would act on, so it becomes drift too: the role would fix it.
    """
    if not pending:
        return record
    would = "would change: " + "; ".join(pending)
    checks = [*record.get("checks", []), {"name": "no change pending", "ok": False, "evidence": would}]
    return {**record, "status": "drift", "summary": would, "checks": checks}


def unassessed_record(control_id: str, status: str, reason: str, role: str = "") -> dict[str, Any]:
    """A record for a control that a run meant to assess on a host but could not."""
    if status not in ("error", "unreachable", "drift"):
        raise ValueError(f"{control_id}: {status!r} is not a status for an unassessed control")
    checks = [{"name": "no change pending", "ok": False, "evidence": reason}] if status == "drift" else []
    return {"id": control_id, "status": status, "role": role, "summary": reason, "checks": checks}


def upgrade_host_report(previous: dict[str, Any]) -> dict[str, Any]:
    """Read a stored host report of any format as format 2 (format 1 kept one record per control)."""
    if previous.get("format") == FORMAT:
        return previous
    controls: dict[str, dict[str, Any]] = {}
    for control_id, record in (previous.get("controls") or {}).items():
        if isinstance(record, dict):
            mode = "check" if record.get("check_mode") else "enforce"
            controls[control_id] = {mode: {**record, "mode": mode}}
    return {"host": previous.get("host", ""), "format": FORMAT, "runs": [], "controls": controls}


def merge_host_report(
    previous: dict[str, Any], host: str, records: list[dict[str, Any]], run: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Fold a run's records into a host's stored report.

    Each record replaces the stored record of its control and mode only; ``run`` replaces the
    stored run of the same playbook and mode.
    """
    report = upgrade_host_report(previous)
    controls = {cid: dict(by_mode) for cid, by_mode in report.get("controls", {}).items()}
    for record in records:
        controls.setdefault(record["id"], {})[record.get("mode", "enforce")] = record
    runs = list(report.get("runs", []))
    if run is not None:
        runs = [r for r in runs if (r["playbook"], r["mode"]) != (run["playbook"], run["mode"])] + [run]
    return {
        "host": host,
        "format": FORMAT,
        "runs": sorted(runs, key=lambda r: (r["playbook"], r["mode"])),
        "controls": {cid: dict(sorted(controls[cid].items())) for cid in sorted(controls)},
    }
