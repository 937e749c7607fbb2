from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.controls import (
    build_record,
    control_ids,
    merge_host_report,
    unassessed_record,
    upgrade_host_report,
    with_pending_changes,
)


def test_all_checks_ok_is_pass() -> None:
    record = build_record("RAC-01", [{"name": "a", "ok": True, "evidence": "x"}], role="ssh_access")
    assert record == {
        "id": "RAC-01",
        "status": "pass",
        "role": "ssh_access",
        "summary": "1 checks passed",
        "checks": [{"name": "a", "ok": True, "evidence": "x"}],
    }


def test_any_failed_check_is_fail_and_named() -> None:
    record = build_record("AUD-03", [{"name": "a", "ok": True}, {"name": "b", "ok": False}])
    assert record["status"] == "fail"
    assert record["summary"] == "failed: b"


def test_not_applicable_needs_reason() -> None:
    assert build_record("RAC-03", [], applicable=False, reason="not production")["status"] == "not_applicable"
    with pytest.raises(ValueError, match="needs a reason"):
        build_record("RAC-03", [], applicable=False)


@pytest.mark.parametrize(
    ("control_id", "checks", "message"),
    [
        ("rac-01", [{"name": "a", "ok": True}], "not of the form"),
        ("RAC-1", [{"name": "a", "ok": True}], "not of the form"),
        (None, [{"name": "a", "ok": True}], "not of the form"),
        ("RAC-01", [], "at least one check"),
        ("RAC-01", [{"name": "a"}], "needs 'name' and 'ok'"),
        ("RAC-01", [{"name": "a", "ok": "yes"}], "not a boolean"),
        ("RAC-01", ["a"], "needs 'name' and 'ok'"),
    ],
)
def test_bad_reports_are_refused(control_id: Any, checks: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_record(control_id, checks)


def test_merge_keeps_other_controls_and_modes_and_replaces_reported_ones() -> None:
    old = {
        "host": "h",
        "format": 2,
        "runs": [{"playbook": "site.yml", "mode": "enforce", "time": "T1"}],
        "controls": {
            "AUD-01": {"enforce": {"id": "AUD-01", "status": "pass", "mode": "enforce"}},
            "RAC-01": {"enforce": {"id": "RAC-01", "status": "fail", "mode": "enforce"}},
        },
    }
    run = {"playbook": "site.yml", "mode": "check", "time": "T2"}
    new = merge_host_report(old, "h", [{"id": "RAC-01", "status": "drift", "mode": "check"}], run)
    assert new["controls"] == {
        "AUD-01": {"enforce": {"id": "AUD-01", "status": "pass", "mode": "enforce"}},
        "RAC-01": {
            "check": {"id": "RAC-01", "status": "drift", "mode": "check"},
            "enforce": {"id": "RAC-01", "status": "fail", "mode": "enforce"},
        },
    }
    assert [(r["mode"], r["time"]) for r in new["runs"]] == [("check", "T2"), ("enforce", "T1")]
    again = merge_host_report(new, "h", [], {"playbook": "site.yml", "mode": "check", "time": "T3"})
    assert [(r["mode"], r["time"]) for r in again["runs"]] == [("check", "T3"), ("enforce", "T1")]


def test_format_1_reports_are_read_by_mode() -> None:
    old = {
        "host": "h",
        "controls": {
            "AUD-01": {"id": "AUD-01", "status": "pass", "check_mode": False},
            "RAC-01": {"id": "RAC-01", "status": "pass", "check_mode": True},
        },
    }
    upgraded = upgrade_host_report(old)
    assert upgraded["format"] == 2
    assert set(upgraded["controls"]["AUD-01"]) == {"enforce"}
    assert set(upgraded["controls"]["RAC-01"]) == {"check"}


def test_pending_changes_make_drift_even_of_a_pass() -> None:
    record = build_record("RAC-01", [{"name": "a", "ok": True}])
    drift = with_pending_changes(record, ["RAC-01 | Write sshd_config"])
    assert drift["status"] == "drift"
    assert drift["checks"][-1] == {
        "name": "no change pending",
        "ok": False,
        "evidence": "would change: RAC-01 | Write sshd_config",
    }
    assert with_pending_changes(record, []) is record


def test_unassessed_records() -> None:
    assert unassessed_record("RAC-01", "error", "not assessed: failed at X")["status"] == "error"
    assert unassessed_record("RAC-01", "unreachable", "x")["checks"] == []
    with pytest.raises(ValueError, match="not a status"):
        unassessed_record("RAC-01", "pass", "x")


def test_control_ids_among_tags() -> None:
    assert control_ids(["always", "RAC-01", "AUD-07", "RAC-01", "ENC-1", 3]) == ["RAC-01", "AUD-07"]
