"""The report as JSON (``report.json``), described by ``docs/report.schema.json``."""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import compact, iso
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import (
    Cell,
    Change,
    Changes,
    Report,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import Record, Run

FORMAT = 1  # of report.json; raise it when a consumer would misread the new shape


def dumps(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


def to_dict(report: Report) -> dict[str, Any]:
    catalogue = report.catalogue
    return {
        "format": FORMAT,
        "generated": iso(report.generated),
        "rampart_version": report.version,
        "inventory": report.inventory,
        "options": {
            "fail_on": list(report.options.fail_on),
            "max_age": compact(report.options.max_age),
            "max_age_seconds": report.options.max_age,
        },
        "result": report.result,
        "failing": [
            {"host": c.host, "control": c.control.id, "status": c.status, "record_status": c.record_status}
            for c in report.failing
        ],
        "catalogue": {
            "policy": dict(catalogue.policy),
            "families": dict(catalogue.families),
            "controls": [
                {
                    "id": c.id,
                    "family": c.family,
                    "title": c.title,
                    "policy": c.policy,
                    "implemented_by": {"roles": list(c.roles), "playbooks": list(c.playbooks)},
                    "implemented": c.implemented,
                }
                for c in catalogue.controls
            ],
        },
        "hosts": {
            host.name: {
                "groups": list(host.groups),
                "records": {
                    "file": host.records.file,
                    "format": host.records.format,
                    "error": host.records.error or None,
                },
                "runs": [_run(r) for r in host.records.runs],
                "notes": list(host.notes),
                "controls": {cid: _cell(cell, report) for cid, cell in report.cells[host.name].items()},
            }
            for host in report.hosts
        },
        "totals": {
            "statuses": dict(report.totals.statuses),
            "controls": {k: dict(v) for k, v in report.totals.controls.items()},
            "families": {k: dict(v) for k, v in report.totals.families.items()},
            "hosts": {k: dict(v) for k, v in report.totals.hosts.items()},
        },
        "changes": _changes(report.changes),
        "notes": list(report.notes),
    }


def _cell(cell: Cell, report: Report) -> dict[str, Any]:
    stale = cell.stale
    return {
        "status": cell.status,
        "record_status": cell.record_status,
        "label": cell.label,
        "summary": cell.summary,
        "fails": cell.fails(report.options.fail_on),
        "stale": None
        if stale is None
        else {"reason": stale.reason, "age_seconds": stale.age, "detail": stale.detail},
        "record": _record(cell.record, report),
        "other": _record(cell.other, report),
    }


def _record(record: Record | None, report: Report) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "mode": record.mode,
        "status": record.status,
        "summary": record.summary,
        "role": record.role,
        "time": iso(record.time) if record.time else None,
        "age_seconds": int((report.generated - record.time).total_seconds()) if record.time else None,
        "playbook": record.playbook,
        "version": record.version,
        "checks": [{"name": c.name, "ok": c.ok, "evidence": c.evidence} for c in record.checks],
    }


def _run(run: Run) -> dict[str, Any]:
    return {
        "playbook": run.playbook,
        "mode": run.mode,
        "time": iso(run.time) if run.time else None,
        "version": run.version,
        "result": run.result,
        "message": run.message,
    }


def _changes(changes: Changes) -> dict[str, Any]:
    def items(found: tuple[Change, ...]) -> list[dict[str, Any]]:
        return [
            {
                "host": c.host,
                "control": c.control.id,
                "before": None
                if c.before is None
                else {"status": c.before.status, "record_status": c.before.record_status},
                "after": {"status": c.after.status, "record_status": c.after.record_status},
            }
            for c in found
        ]

    return {
        "previous": None
        if changes.previous is None and not changes.previous_file
        else {
            "generated": iso(changes.previous) if changes.previous else None,
            "file": changes.previous_file,
        },
        "note": changes.note,
        "newly_failing": items(changes.newly_failing),
        "fixed": items(changes.fixed),
        "newly_stale": items(changes.newly_stale),
        "other": items(changes.other),
        "hosts_added": list(changes.hosts_added),
        "hosts_removed": list(changes.hosts_removed),
    }
