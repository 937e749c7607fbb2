"""Reports kept over time: where the history lives, and what changed since the previous report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import parse_time
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import (
    Change,
    Changes,
    Report,
    State,
)

STAMP = "%Y%m%dT%H%M%SZ"


def entry_name(moment: datetime) -> str:
    """The history file of a report made at ``moment``: ``20261203T090000Z.json`` (sorts by time)."""
    return moment.strftime(STAMP) + ".json"


def previous_entry(names: Iterable[str], moment: datetime) -> str | None:
    """The newest history entry made before ``moment``, among file names."""
    current = entry_name(moment)
    earlier = [n for n in names if n.endswith(".json") and _is_stamp(n[: -len(".json")]) and n < current]
    return max(earlier, default=None)


def compare(report: Report, previous: Mapping[str, Any] | None, previous_file: str = "") -> Changes:
    """What changed since ``previous`` (a report.json read back), judged with this report's fail_on."""
    if previous is None:
        return Changes()
    fail_on = report.options.fail_on
    before = _states(previous)
    hosts_before = {host for host, _ in before}
    current = [h.name for h in report.hosts]
    found: dict[str, list[Change]] = {"newly_failing": [], "fixed": [], "newly_stale": [], "other": []}
    for host in current:
        for cell in report.cells[host].values():
            was = before.get((host, cell.control.id))
            kind = _kind(was, cell.state, fail_on, cell.record is not None)
            if kind:
                found[kind].append(Change(host, cell.control, was, cell.state))
    return Changes(
        previous=parse_time(previous.get("generated")),
        previous_file=previous_file,
        note="",
        newly_failing=tuple(found["newly_failing"]),
        fixed=tuple(found["fixed"]),
        newly_stale=tuple(found["newly_stale"]),
        other=tuple(found["other"]),
        hosts_added=tuple(h for h in current if h not in hosts_before),
        hosts_removed=tuple(sorted(hosts_before - set(current))),
    )


def unreadable(previous_file: str, why: str) -> Changes:
    return Changes(
        previous_file=previous_file, note=f"the previous report {previous_file} is unreadable ({why})"
    )


def _kind(was: State | None, now: State, fail_on: tuple[str, ...], has_record: bool) -> str | None:
    failing = now.fails(fail_on)
    was_failing = was is not None and was.fails(fail_on)
    if failing and not was_failing:
        return "newly_failing"  # also a new host or control that fails
    if was is None:
        return None
    if was_failing and not failing and has_record and now.status != "stale":
        return "fixed"  # a fresh record says it holds now
    if now.status == "stale" and was.status != "stale":
        return "newly_stale"
    return "other" if was != now else None


def _states(report: Mapping[str, Any]) -> dict[tuple[str, str], State]:
    """Each cell's state in a report.json read back; whatever is not readable is left out."""
    states: dict[tuple[str, str], State] = {}
    hosts = report.get("hosts")
    for host, data in hosts.items() if isinstance(hosts, dict) else []:
        controls = data.get("controls") if isinstance(data, dict) else None
        for control, cell in controls.items() if isinstance(controls, dict) else []:
            if isinstance(cell, dict) and isinstance(cell.get("status"), str):
                record_status = cell.get("record_status")
                kept = record_status if isinstance(record_status, str) else None
                states[(host, control)] = State(cell["status"], kept)
    return states


def _is_stamp(text: str) -> bool:
    try:
        datetime.strptime(text, STAMP)
    except ValueError:
        return False
    return True
