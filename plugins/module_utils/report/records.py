"""The per-host record files written by the ``rampart.hardening.controls`` callback, read leniently.

Format 2 (``plugins/module_utils/controls.py``)::

    {"host": str, "format": 2, "runs": [RUN, ...], "controls": {ID: {"enforce": RECORD, "check": RECORD}}}

Format 1 (older files on users' machines): ``{"host": str, "controls": {ID: RECORD}}`` with
``RECORD["check_mode"]`` instead of ``mode``, and no runs.

Reading never raises: a file that cannot be read gives ``HostRecords.error``; a record that cannot
be read becomes an ``error`` record that says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import parse_time
from ansible_collections.rampart.hardening.plugins.module_utils.report.statuses import RECORD_STATUSES

MODES = ("enforce", "check")
FORMATS = (1, 2)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    evidence: str = ""


@dataclass(frozen=True)
class Record:
    control: str
    status: str
    mode: str  # enforce, check, or report (MON-02, made by the report itself)
    summary: str = ""
    role: str = ""
    time: datetime | None = None
    playbook: str = ""
    version: str = ""
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Run:
    playbook: str
    mode: str
    time: datetime | None
    version: str = ""
    result: str = "ok"
    message: str = ""


@dataclass(frozen=True)
class HostRecords:
    host: str
    file: str | None = None  # None: the host has no record file (never assessed)
    format: int | None = None
    error: str = ""  # why the file could not be read
    runs: tuple[Run, ...] = ()
    controls: Mapping[str, Mapping[str, Record]] = field(default_factory=dict)  # ID -> mode -> record
    notes: tuple[str, ...] = ()

    def latest_run(self, playbook: str) -> Run | None:
        """The newest run of ``playbook`` on this host, in either mode."""
        runs = [r for r in self.runs if r.playbook == playbook and r.time]
        return max(runs, key=lambda r: r.time or 0, default=None)


def parse_host_file(host: str, text: str | None, file: str | None = None) -> HostRecords:
    """A host's records from the text of its file; ``text`` None means there is no file."""
    if text is None:
        return HostRecords(host=host)
    try:
        data = json.loads(text)
    except ValueError as exc:
        return HostRecords(host=host, file=file, error=f"not valid JSON ({exc})")
    if not isinstance(data, dict):
        return HostRecords(host=host, file=file, error="not a JSON object")
    version = data.get("format", 1)
    if version not in FORMATS:
        return HostRecords(host=host, file=file, error=f"format {version!r} is unknown (this reads 1 and 2)")
    controls = data.get("controls", {})
    if not isinstance(controls, dict):
        return HostRecords(host=host, file=file, format=version, error="'controls' is not an object")
    notes = []
    if data.get("host", host) != host:
        notes.append(f"the file names host {data.get('host')!r}")
    read: dict[str, dict[str, Record]] = {}
    for control, entry in sorted(controls.items()):
        by_mode = _format2(control, entry) if version == 2 else _format1(control, entry)
        if by_mode:
            read[str(control)] = by_mode
    runs = data.get("runs", []) if version == 2 else []
    return HostRecords(
        host=host,
        file=file,
        format=version,
        runs=tuple(_run(r) for r in runs if isinstance(r, dict)) if isinstance(runs, list) else (),
        controls=read,
        notes=tuple(notes),
    )


def _format2(control: str, entry: Any) -> dict[str, Record]:
    if not isinstance(entry, dict):
        return {"enforce": _unreadable(control, "enforce", "not an object of records by mode")}
    return {
        mode: _record(control, mode, raw)
        if mode in MODES
        else _unreadable(control, mode, f"unknown mode {mode!r}")
        for mode, raw in sorted(entry.items())
    }


def _format1(control: str, raw: Any) -> dict[str, Record]:
    mode = "check" if isinstance(raw, dict) and raw.get("check_mode") else "enforce"
    return {mode: _record(control, mode, raw)}


def _record(control: str, mode: str, raw: Any) -> Record:
    if not isinstance(raw, dict):
        return _unreadable(control, mode, "not an object")
    status = raw.get("status")
    if status not in RECORD_STATUSES:
        return _unreadable(control, mode, f"status {status!r} is not one of {', '.join(RECORD_STATUSES)}")
    checks = raw.get("checks") or []
    if not isinstance(checks, list) or not all(isinstance(c, dict) and "name" in c for c in checks):
        return _unreadable(control, mode, "checks are not a list of {name, ok, evidence}")
    return Record(
        control=control,
        status=status,
        mode=mode,
        summary=_text(raw.get("summary")),
        role=_text(raw.get("role")),
        time=parse_time(raw.get("time")),
        playbook=_text(raw.get("playbook")),
        version=_text(raw.get("version")),
        checks=tuple(Check(_text(c["name"]), c.get("ok") is True, _text(c.get("evidence"))) for c in checks),
    )


def _unreadable(control: str, mode: str, why: str) -> Record:
    return Record(control=control, status="error", mode=mode, summary=f"unreadable record: {why}")


def _run(raw: Mapping[str, Any]) -> Run:
    return Run(
        playbook=_text(raw.get("playbook")),
        mode=_text(raw.get("mode")),
        time=parse_time(raw.get("time")),
        version=_text(raw.get("version")),
        result=_text(raw.get("result")) or "ok",
        message=_text(raw.get("message")),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)
