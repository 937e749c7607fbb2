"""The report as JUnit XML (``report.junit.xml``): a test suite per host, a test case per control.

How a cell shows in CI (``outcome``):

============================  ===========================================================
fail, drift                   failure (message: the record's summary; text: the checks)
error, unreachable            error
not_applicable                skipped, with the reason
not_implemented               skipped: nothing records the control yet
not_assessed, never_assessed  skipped, saying so; failure when the status is in fail_on
stale                         as its record's status, the message saying how old it is;
                              failure when ``stale`` is in fail_on
pass                          passed; the evidence in system-out
============================  ===========================================================

Any other cell that fails the report (its status in fail_on) is a failure too, so the test
results never look greener than the report's verdict.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence

from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Cell, Report, record_line
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import Record

OUTCOMES = {
    "pass": "passed",
    "fail": "failure",
    "drift": "failure",
    "error": "error",
    "unreachable": "error",
    "not_applicable": "skipped",
    "not_implemented": "skipped",
    "not_assessed": "skipped",
    "never_assessed": "skipped",
}
_STAMP = "%Y-%m-%dT%H:%M:%S"  # JUnit's timestamp has no zone; these are UTC


def outcome(cell: Cell, fail_on: Sequence[str]) -> str:
    """``passed``, ``failure``, ``error`` or ``skipped``."""
    kind = OUTCOMES[cell.record_status if cell.status == "stale" and cell.record_status else cell.status]
    if kind in ("passed", "skipped") and cell.fails(fail_on):
        return "failure"
    return kind


def render(report: Report) -> str:
    fail_on = report.options.fail_on
    root = ET.Element("testsuites", name=f"rampart compliance {report.inventory}".strip())
    totals: Counter[str] = Counter()
    for host in report.hosts:
        cells = list(report.cells[host.name].values())
        kinds = [outcome(c, fail_on) for c in cells]
        stamps = [r.time for c in cells for r in (c.record, c.other) if r and r.time and r.mode != "report"]
        found = {
            "tests": len(cells),
            "failures": kinds.count("failure"),
            "errors": kinds.count("error"),
            "skipped": kinds.count("skipped"),
        }
        totals.update(found)
        suite = ET.SubElement(root, "testsuite", name=host.name, hostname=host.name)
        for key, value in found.items():
            suite.set(key, str(value))
        suite.set("time", "0")
        suite.set("timestamp", max(stamps, default=report.generated).strftime(_STAMP))
        properties = ET.SubElement(suite, "properties")
        for name, text in (
            ("groups", ",".join(host.groups)),
            ("records", host.records.file or "none"),
            ("records_error", host.records.error),
        ):
            if text:
                ET.SubElement(properties, "property", name=name, value=text)
        for cell, kind in zip(cells, kinds, strict=True):
            _testcase(suite, cell, kind)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    root.set("time", "0")
    root.set("timestamp", report.generated.strftime(_STAMP))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, cell: Cell, kind: str) -> None:
    case = ET.SubElement(suite, "testcase", classname=cell.host, name=cell.control.name, time="0")
    text = detail(cell)
    if kind == "skipped":
        ET.SubElement(case, "skipped", message=f"{cell.label}: {cell.summary}")
    elif kind in ("failure", "error"):
        message = f"{cell.label}: {cell.summary}" if cell.stale or not cell.record else cell.summary
        ET.SubElement(case, kind, message=message, type=cell.status).text = text
        return
    if cell.record:
        ET.SubElement(case, "system-out").text = text


def detail(cell: Cell) -> str:
    """The cell as plain text: what decided it and every check with its evidence."""
    lines = [f"{cell.control.id} on {cell.host}: {cell.label}"]
    if cell.summary:
        lines.append(cell.summary)
    if cell.stale:
        lines.append(f"stale: {cell.stale.detail}")
    for record in (cell.record, cell.other):
        if record:
            lines += ["", *_record(record)]
    return "\n".join(lines) + "\n"


def _record(record: Record) -> list[str]:
    source = ", ".join(
        part
        for part in (
            f"playbook {record.playbook}" if record.playbook else "",
            f"rampart {record.version}" if record.version else "",
            f"role {record.role}" if record.role else "",
        )
        if part
    )
    lines = [record_line(record) + (f" ({source})" if source else ""), f"  {record.summary}"]
    lines += [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.evidence}" for c in record.checks]
    return lines
