"""The report's model: one cell per host and catalogue control, fleet totals and the verdict.

A cell's status comes from the newest record of the control (by time) among its modes; the other
mode's record is kept beside it. A record is ``stale`` when a later run of its playbook on the host
(in either mode: a check run of site.yml verifies what its enforcement run records) did not refresh
it, or when it is older than ``max_age``; the cell then keeps the
record's status as ``record_status``. Without a record a cell is ``not_implemented`` (nothing
records the control), ``error`` (the host's file is unreadable), ``never_assessed`` (the host has
no file) or ``not_assessed``. The report fails when a cell's status is in ``fail_on`` (a stale
cell also when its record's status is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import (
    REPORT_PLAYBOOK,
    Catalogue,
    Control,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.durations import (
    compact,
    humane,
    readable,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.options import Options
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import (
    Check,
    HostRecords,
    Record,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.statuses import LABELS, counts

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Stale:
    reason: str  # "run": the latest run did not refresh the record; "age": older than max_age
    age: int | None  # seconds; None when the record has no time
    detail: str


@dataclass(frozen=True)
class State:
    """A cell's status as the history keeps it."""

    status: str
    record_status: str | None = None

    @property
    def label(self) -> str:
        if self.status == "stale" and self.record_status:
            return f"stale ({LABELS[self.record_status]})"
        return LABELS.get(self.status, self.status)

    def fails(self, fail_on: Sequence[str]) -> bool:
        return self.status in fail_on or (self.status == "stale" and self.record_status in fail_on)


@dataclass(frozen=True)
class Cell:
    host: str
    control: Control
    status: str
    summary: str
    record: Record | None = None  # the newest record: the one that decides
    other: Record | None = None  # the other mode's record, shown beside it
    stale: Stale | None = None

    @property
    def record_status(self) -> str | None:
        return self.record.status if self.record else None

    @property
    def state(self) -> State:
        return State(self.status, self.record_status)

    def fails(self, fail_on: Sequence[str]) -> bool:
        return self.state.fails(fail_on)

    @property
    def label(self) -> str:
        """``pass``, ``not applicable``, ``stale: pass, 3 days old``."""
        if self.stale and self.record:
            age = "age unknown" if self.stale.age is None else f"{humane(self.stale.age)} old"
            return f"stale: {LABELS[self.record.status]}, {age}"
        return LABELS[self.status]


@dataclass(frozen=True)
class Host:
    name: str
    groups: tuple[str, ...]
    records: HostRecords
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    host: str
    control: Control
    before: State | None  # None: the host or control was not in the previous report
    after: State


@dataclass(frozen=True)
class Changes:
    previous: datetime | None = None  # when the previous report was made; None: there is none
    previous_file: str = ""
    note: str = "no earlier report in the history: nothing to compare with"
    newly_failing: tuple[Change, ...] = ()
    fixed: tuple[Change, ...] = ()
    newly_stale: tuple[Change, ...] = ()
    other: tuple[Change, ...] = ()
    hosts_added: tuple[str, ...] = ()
    hosts_removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Totals:
    statuses: Mapping[str, int]  # fleet-wide, by cell status
    controls: Mapping[str, Mapping[str, int]]
    families: Mapping[str, Mapping[str, int]]
    hosts: Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Report:
    generated: datetime
    version: str
    inventory: str
    options: Options
    catalogue: Catalogue
    hosts: tuple[Host, ...]
    cells: Mapping[str, Mapping[str, Cell]]  # host -> control ID -> cell
    totals: Totals
    failing: tuple[Cell, ...]  # the cells that fail the report (fail_on)
    changes: Changes = field(default_factory=Changes)
    notes: tuple[str, ...] = ()

    @property
    def result(self) -> str:
        return "fail" if self.failing else "pass"


def build_report(
    catalogue: Catalogue,
    records: Sequence[HostRecords],
    *,
    now: datetime,
    groups: Mapping[str, Sequence[str]] | None = None,
    options: Options | None = None,
    version: str = "",
    inventory: str = "",
    notes: Sequence[str] = (),
) -> Report:
    """Judge every host's records against the catalogue at ``now``."""
    options = options or Options()
    groups = groups or {}
    hosts = tuple(
        Host(
            name=r.host,
            groups=tuple(sorted(groups.get(r.host, ()))),
            records=r,
            notes=(*r.notes, *_unknown_controls(r, catalogue)),
        )
        for r in sorted(records, key=lambda r: _natural(r.host))
    )
    cells = {
        host.name: {c.id: _cell(c, host.records, options, now, version) for c in catalogue.controls}
        for host in hosts
    }
    every = [cell for by_control in cells.values() for cell in by_control.values()]
    totals = Totals(
        statuses=counts(cell.status for cell in every),
        controls={c.id: counts(cells[h.name][c.id].status for h in hosts) for c in catalogue.controls},
        families={
            code: counts(cells[h.name][c.id].status for c in catalogue.family_controls(code) for h in hosts)
            for code in catalogue.families
        },
        hosts={h.name: counts(cell.status for cell in cells[h.name].values()) for h in hosts},
    )
    return Report(
        generated=now,
        version=version,
        inventory=inventory,
        options=options,
        catalogue=catalogue,
        hosts=hosts,
        cells=cells,
        totals=totals,
        failing=tuple(cell for cell in every if cell.fails(options.fail_on)),
        notes=tuple(notes),
    )


def record_line(record: Record) -> str:
    """``enforced at 2026-12-03 09:00 UTC: pass`` — where a record comes from, in a few words."""
    when = f" at {readable(record.time)}" if record.time else " (time unknown)"
    how = {"enforce": "enforced", "check": "verified in check mode", "report": "shown by this report"}
    return f"{how.get(record.mode, record.mode)}{when}: {LABELS[record.status]}"


def _cell(control: Control, host: HostRecords, options: Options, now: datetime, version: str) -> Cell:
    by_mode = host.controls.get(control.id, {})
    if by_mode:
        newest, *rest = sorted(by_mode.values(), key=_newest_first, reverse=True)
        stale = _staleness(newest, host, options, now)
        return Cell(
            host=host.host,
            control=control,
            status="stale" if stale else newest.status,
            summary=newest.summary,
            record=newest,
            other=rest[0] if rest else None,
            stale=stale,
        )
    if control.by_report and host.controls:
        return _shown_by_report(control, host, now, version)
    if not control.implemented:
        return Cell(host.host, control, "not_implemented", "no role or playbook of rampart records it yet")
    if host.error:
        return Cell(host.host, control, "error", f"the host's record file is unreadable: {host.error}")
    if host.file is None:
        return Cell(host.host, control, "never_assessed", "no record file: no run has assessed this host")
    by = ", ".join([*(f"role {r}" for r in control.roles), *(f"playbook {p}" for p in control.playbooks)])
    return Cell(
        host.host, control, "not_assessed", f"no record of {control.id} on this host (recorded by {by})"
    )


def _newest_first(record: Record) -> tuple[datetime, bool]:
    # Newest first; on a tie the enforcement record decides.
    return (record.time or _OLDEST, record.mode == "enforce")


def _staleness(record: Record, host: HostRecords, options: Options, now: datetime) -> Stale | None:
    age = int((now - record.time).total_seconds()) if record.time else None
    run = host.latest_run(record.playbook) if record.playbook else None
    if run and run.time and record.time and record.time < run.time:
        when = readable(run.time)
        return Stale(
            "run",
            age,
            f"{run.playbook} ran in {run.mode} mode at {when} ({run.result}) and did not refresh it",
        )
    if options.max_age and age is None:
        return Stale("age", None, "the record has no time, so its age is unknown")
    if options.max_age and age is not None and age > options.max_age:
        return Stale("age", age, f"older than max_age ({compact(options.max_age)})")
    return None


def _shown_by_report(control: Control, host: HostRecords, now: datetime, version: str) -> Cell:
    """MON-02 for a host with records: this report is the evidence (no records: not assessed)."""
    records = [r for by_mode in host.controls.values() for r in by_mode.values()]
    newest = max((r.time for r in records if r.time), default=None)
    evidence = f"{len(records)} records read from {host.file} (format {host.format})" + (
        f", newest {readable(newest)}" if newest else ""
    )
    record = Record(
        control=control.id,
        status="pass",
        mode="report",
        summary="the host's control records are shown with their evidence",
        time=now,
        playbook=REPORT_PLAYBOOK,
        version=version,
        checks=(Check("the host's control records are in this report", bool(records), evidence),),
    )
    return Cell(host.host, control, record.status, record.summary, record=record)


def _unknown_controls(host: HostRecords, catalogue: Catalogue) -> tuple[str, ...]:
    unknown = sorted(set(host.controls) - set(catalogue.ids))
    return (f"records of controls not in the catalogue, not shown: {', '.join(unknown)}",) if unknown else ()


def _natural(name: str) -> list[tuple[int, int | str]]:
    """web-2 before web-10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]
