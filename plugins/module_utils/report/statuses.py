"""The statuses of a report cell and how people read them."""

from __future__ import annotations

from collections.abc import Iterable

# What a control record says (plugins/module_utils/controls.py).
RECORD_STATUSES = ("pass", "fail", "drift", "not_applicable", "error", "unreachable")
# What the report adds: a record too old to trust, or no record at all.
REPORT_STATUSES = ("stale", "not_assessed", "never_assessed", "not_implemented")
# Every cell status, in the order totals and legends list them.
STATUSES = (
    "pass",
    "fail",
    "drift",
    "error",
    "unreachable",
    "stale",
    "not_assessed",
    "never_assessed",
    "not_applicable",
    "not_implemented",
)
# Most severe first: the status that stands for a group of cells.
SEVERITY = (
    "error",
    "unreachable",
    "fail",
    "drift",
    "stale",
    "not_assessed",
    "never_assessed",
    "pass",
    "not_applicable",
    "not_implemented",
)
DEFAULT_FAIL_ON = ("fail", "drift", "error", "unreachable")

LABELS = {
    "pass": "pass",
    "fail": "fail",
    "drift": "drift",
    "error": "error",
    "unreachable": "unreachable",
    "stale": "stale",
    "not_assessed": "not assessed",
    "never_assessed": "never assessed",
    "not_applicable": "not applicable",
    "not_implemented": "not implemented",
}

MEANINGS = {
    "pass": "every check held",
    "fail": "a check did not hold",
    "drift": "check mode: the role would change something",
    "error": "the run failed before assessing the control, or its record is unreadable",
    "unreachable": "the host could not be reached",
    "stale": "the newest record is older than max_age, or the latest run did not refresh it",
    "not_assessed": "the control is implemented but this host has no record of it",
    "never_assessed": "no record file for this host",
    "not_applicable": "the control does not apply to this host (the reason is given)",
    "not_implemented": "no role or playbook of rampart records this control yet",
}


def counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many of each status, every status present (zero when absent), in STATUSES order."""
    total = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        total[status] += 1
    return total


def worst(statuses: Iterable[str]) -> str:
    """The most severe status among ``statuses`` (``not_implemented`` when there are none)."""
    present = set(statuses)
    return next((s for s in SEVERITY if s in present), "not_implemented")
