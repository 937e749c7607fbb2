"""The report's model: every cell status, totals and the verdict."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import Catalogue, Control
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import (
    Cell,
    Report,
    build_report,
    record_line,
)
from ansible_collections.rampart.hardening.plugins.module_utils.report.options import Options
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import parse_host_file
from ansible_collections.rampart.hardening.plugins.module_utils.report.statuses import STATUSES

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
CATALOGUE = Catalogue(
    policy={"name": "test policy"},
    families={"RAC": "Remote access", "MON": "Monitoring", "HRD": "Hardening"},
    controls=(
        Control("RAC-01", "RAC", "Hardened SSH", "SSH only.", roles=("ssh_access",)),
        Control("RAC-02", "RAC", "No telnet", "No clear text.", roles=("ssh_access",)),
        Control("MON-02", "MON", "Compliance report", "A report.", playbooks=("report.yml",)),
        Control("HRD-01", "HRD", "Clocks", "Synchronised.", roles=()),
    ),
)


def record(
    control: str = "RAC-01",
    status: str = "pass",
    time: str = "2026-12-03T09:00:10Z",
    mode: str = "enforce",
    playbook: str = "site.yml",
    **extra: Any,
) -> dict[str, Any]:
    """A format 2 record as the controls callback writes it."""
    no_checks = status in ("not_applicable", "error", "unreachable")
    checks = [] if no_checks else [{"name": f"{control} holds", "ok": status == "pass", "evidence": "seen"}]
    return {
        "id": control,
        "status": status,
        "role": "ssh_access",
        "summary": f"{control} {status}",
        "checks": checks,
        "time": time,
        "mode": mode,
        "playbook": playbook,
        "version": "0.1.0",
        **extra,
    }


def run(
    playbook: str = "site.yml", mode: str = "enforce", time: str = "2026-12-03T09:00:00Z"
) -> dict[str, Any]:
    return {
        "playbook": playbook,
        "mode": mode,
        "time": time,
        "version": "0.1.0",
        "result": "ok",
        "message": "",
    }


def report(
    *records: dict[str, Any],
    runs: Sequence[dict[str, Any]] = (),
    options: Options | None = None,
    text: str | None = None,
) -> Report:
    """The report of one host, web-01, whose file holds ``records`` (or is ``text``)."""
    controls: dict[str, dict[str, Any]] = {}
    for r in records:
        controls.setdefault(r["id"], {})[r["mode"]] = r
    if text is None:
        text = json.dumps({"host": "web-01", "format": 2, "runs": list(runs), "controls": controls})
    host = parse_host_file("web-01", text, "records/web-01.json")
    return build_report(CATALOGUE, [host], now=NOW, options=options, version="0.1.0")


def cell(rep: Report, control: str = "RAC-01") -> Cell:
    return rep.cells["web-01"][control]


@pytest.mark.parametrize("status", ["pass", "fail", "drift", "not_applicable", "error", "unreachable"])
def test_a_fresh_record_gives_its_status(status: str) -> None:
    c = cell(report(record(status=status), runs=[run()]))
    assert (c.status, c.record_status, c.stale) == (status, status, None)
    assert c.summary == f"RAC-01 {status}"


def test_the_newest_mode_decides_and_the_other_is_kept() -> None:
    enforced = record(status="pass", time="2026-12-03T09:00:10Z")
    verified = record(status="drift", mode="check", time="2026-12-03T09:30:10Z")
    c = cell(report(enforced, verified, runs=[run(), run(mode="check", time="2026-12-03T09:30:00Z")]))
    assert c.status == "drift"
    assert c.record is not None and c.record.mode == "check"
    assert c.other is not None and (c.other.mode, c.other.status) == ("enforce", "pass")
    assert record_line(c.record) == "verified in check mode at 2026-12-03 09:30 UTC: drift"
    assert record_line(c.other) == "enforced at 2026-12-03 09:00 UTC: pass"


def test_a_newer_enforcement_decides_over_an_older_verification() -> None:
    verified = record(status="drift", mode="check", time="2026-12-02T09:30:10Z")
    c = cell(report(record(status="pass"), verified))
    assert (c.status, c.other.mode if c.other else None) == ("pass", "check")


def test_stale_when_the_latest_run_of_its_playbook_did_not_refresh_it() -> None:
    c = cell(
        report(record(status="pass", time="2026-12-02T09:00:10Z"), runs=[run(time="2026-12-03T09:00:00Z")])
    )
    assert (c.status, c.record_status) == ("stale", "pass")
    assert c.stale is not None and c.stale.reason == "run"
    assert (
        "site.yml ran in enforce mode at 2026-12-03 09:00 UTC (ok) and did not refresh it" in c.stale.detail
    )
    assert c.label == "stale: pass, 1 day old"


def test_a_run_of_another_playbook_does_not_make_it_stale() -> None:
    runs = [run(playbook="patch.yml", time="2026-12-03T09:00:00Z")]
    assert cell(report(record(time="2026-12-02T09:00:10Z"), runs=runs)).status == "pass"


def test_a_later_check_run_that_no_longer_verifies_it_makes_it_stale() -> None:
    """A host moved out of the firewall group: the next run of site.yml, in either mode, has no NET-01."""
    runs = [run(mode="check", time="2026-12-03T09:00:00Z")]
    c = cell(report(record(time="2026-12-02T09:00:10Z"), runs=runs))
    assert (c.status, c.record_status) == ("stale", "pass")
    assert c.stale is not None and "site.yml ran in check mode" in c.stale.detail


def test_stale_when_older_than_max_age() -> None:
    c = cell(report(record(status="fail", time="2026-11-30T09:00:00Z"), options=Options.parse(max_age="2d")))
    assert (c.status, c.record_status) == ("stale", "fail")
    assert c.stale is not None and (c.stale.reason, c.stale.age) == ("age", 3 * 86400 + 3600)
    assert c.label == "stale: fail, 3 days old"


def test_max_age_0_turns_ageing_off() -> None:
    assert (
        cell(report(record(time="2025-01-01T00:00:00Z"), options=Options.parse(max_age="0"))).status == "pass"
    )


def test_the_default_max_age_is_7_days() -> None:
    assert cell(report(record(time="2026-11-26T10:00:00Z"))).status == "pass"
    assert cell(report(record(time="2026-11-26T09:59:59Z"))).status == "stale"


def test_a_record_without_time_is_stale_of_unknown_age() -> None:
    c = cell(report(record(time="")))
    assert (c.status, c.label) == ("stale", "stale: pass, age unknown")


def test_not_assessed_when_the_host_has_records_but_not_this_one() -> None:
    c = cell(report(record("RAC-01")), "RAC-02")
    assert (c.status, c.record) == ("not_assessed", None)
    assert c.summary == "no record of RAC-02 on this host (recorded by role ssh_access)"


def test_never_assessed_without_a_file() -> None:
    host = parse_host_file("new-01", None)
    rep = build_report(CATALOGUE, [host], now=NOW)
    assert {cid: c.status for cid, c in rep.cells["new-01"].items()} == {
        "RAC-01": "never_assessed",
        "RAC-02": "never_assessed",
        "MON-02": "never_assessed",
        "HRD-01": "not_implemented",
    }


def test_not_implemented_when_nothing_records_the_control() -> None:
    c = cell(report(record()), "HRD-01")
    assert (c.status, c.summary) == ("not_implemented", "no role or playbook of rampart records it yet")


def test_a_record_of_a_not_implemented_control_is_still_shown() -> None:
    assert cell(report(record("HRD-01", status="fail")), "HRD-01").status == "fail"


def test_a_garbled_file_is_an_error_for_each_implemented_control() -> None:
    rep = report(text='{"host": "web-01", "controls": {"RAC-01": {')
    statuses = {cid: c.status for cid, c in rep.cells["web-01"].items()}
    assert statuses == {"RAC-01": "error", "RAC-02": "error", "MON-02": "error", "HRD-01": "not_implemented"}
    assert cell(rep).summary.startswith("the host's record file is unreadable: not valid JSON")


def test_a_format_1_file_is_read() -> None:
    text = json.dumps(
        {
            "host": "web-01",
            "controls": {
                "RAC-01": {**record(status="pass"), "check_mode": False},
                "RAC-02": {**record("RAC-02", status="fail"), "check_mode": True},
            },
        }
    )
    rep = report(text=text)
    assert (cell(rep).status, cell(rep, "RAC-02").status) == ("pass", "fail")
    assert cell(rep, "RAC-02").record.mode == "check"  # type: ignore[union-attr]


def test_mon_02_is_shown_by_the_report_itself() -> None:
    c = cell(report(record(), record("RAC-02")), "MON-02")
    assert (c.status, c.record.mode if c.record else None) == ("pass", "report")
    assert c.record is not None and c.record.checks[0].evidence.startswith(
        "2 records read from records/web-01.json"
    )


def test_mon_02_is_not_assessed_for_a_file_without_records() -> None:
    assert cell(report(), "MON-02").status == "not_assessed"


def test_records_of_unknown_controls_are_noted() -> None:
    rep = report(record(), record("XYZ-01"))
    assert rep.hosts[0].notes == ("records of controls not in the catalogue, not shown: XYZ-01",)


def test_totals_per_status_control_family_and_host() -> None:
    rep = report(record(status="pass"), record("RAC-02", status="fail"))
    assert rep.totals.statuses == {**dict.fromkeys(STATUSES, 0), "pass": 2, "fail": 1, "not_implemented": 1}
    assert rep.totals.controls["RAC-02"]["fail"] == 1
    assert rep.totals.families["RAC"] == {**dict.fromkeys(STATUSES, 0), "pass": 1, "fail": 1}
    assert rep.totals.hosts["web-01"]["pass"] == 2  # RAC-01 and MON-02
    assert list(rep.totals.statuses) == list(STATUSES)


def test_hosts_in_natural_order_with_their_groups() -> None:
    hosts = [parse_host_file(h, None) for h in ("web-10", "web-2", "db-1")]
    rep = build_report(CATALOGUE, hosts, now=NOW, groups={"web-2": ["web", "app"]})
    assert [h.name for h in rep.hosts] == ["db-1", "web-2", "web-10"]
    assert rep.hosts[1].groups == ("app", "web")


@pytest.mark.parametrize(
    ("statuses", "fail_on", "result"),
    [
        (["pass", "not_applicable"], None, "pass"),
        (["pass", "fail"], None, "fail"),
        (["drift"], None, "fail"),
        (["error"], None, "fail"),
        (["unreachable"], None, "fail"),
        (["fail"], ["error"], "pass"),
        (["drift"], ["fail"], "pass"),
    ],
)
def test_fail_on_decides_the_result(statuses: list[str], fail_on: list[str] | None, result: str) -> None:
    records = [record(f"RAC-0{i + 1}", status=s) for i, s in enumerate(statuses)]
    rep = report(*records, options=Options.parse(fail_on=fail_on))
    assert rep.result == result
    assert {(c.control.id, c.status) for c in rep.failing} == (
        {
            (f"RAC-0{i + 1}", s)
            for i, s in enumerate(statuses)
            if s in (fail_on or ["fail", "drift", "error", "unreachable"])
        }
    )


def test_a_stale_failure_still_fails_and_a_stale_pass_does_not() -> None:
    old = "2026-11-01T00:00:00Z"
    assert report(record(status="fail", time=old)).result == "fail"
    assert report(record(status="pass", time=old)).result == "pass"
    assert report(record(status="pass", time=old), options=Options.parse(fail_on=["stale"])).result == "fail"


@pytest.mark.parametrize("status", ["not_assessed", "never_assessed"])
def test_missing_records_fail_only_when_asked(status: str) -> None:
    host = parse_host_file("web-01", None) if status == "never_assessed" else None
    rep = build_report(CATALOGUE, [host], now=NOW) if host else report(record("RAC-02"))
    assert rep.result == "pass"
    options = Options.parse(fail_on=[status])
    rep = (
        build_report(CATALOGUE, [host], now=NOW, options=options)
        if host
        else report(record("RAC-02"), options=options)
    )
    assert rep.result == "fail"
    assert {c.status for c in rep.failing} == {status}


def test_the_fixture_fleet(fleet: Report) -> None:
    """Every path on the fixture files (tests/fixtures/controls/README.md)."""
    status = {(h, cid): c.status for h, cells in fleet.cells.items() for cid, c in cells.items()}
    assert status["web-01", "RAC-01"] == "drift"
    assert status["web-01", "RAC-02"] == "pass"
    assert status["web-01", "RAC-03"] == "not_applicable"
    assert status["web-01", "RAC-04"] == "fail"
    assert status["web-01", "AUD-06"] == "stale"
    assert fleet.cells["web-01"]["AUD-06"].stale.reason == "run"  # type: ignore[union-attr]
    assert status["web-01", "NET-04"] == "stale"
    assert fleet.cells["web-01"]["NET-04"].stale.reason == "age"  # type: ignore[union-attr]
    assert status["web-01", "PAT-01"] == "not_assessed"
    assert status["web-01", "HRD-01"] == "not_implemented"
    assert status["web-01", "MON-02"] == "pass"
    assert status["db-01", "STO-02"] == "error"
    assert status["down-01", "RAC-01"] == "unreachable"
    assert (status["old-01", "RAC-01"], status["old-01", "RAC-02"]) == ("pass", "fail")
    assert status["broken-01", "RAC-01"] == "error"
    assert status["broken-01", "HRD-01"] == "not_implemented"
    assert status["new-01", "RAC-01"] == "never_assessed"
    assert fleet.result == "fail"
    assert sum(fleet.totals.statuses.values()) == 6 * len(fleet.catalogue.controls)
