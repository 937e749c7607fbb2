from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.controls import (
    build_record,
    merge_host_report,
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


def test_merge_keeps_other_controls_and_replaces_reported_ones() -> None:
    old = {
        "controls": {
            "AUD-01": {"id": "AUD-01", "status": "pass"},
            "RAC-01": {"id": "RAC-01", "status": "fail"},
        }
    }
    new = merge_host_report(old, [{"id": "RAC-01", "status": "pass"}])
    assert new == {
        "controls": {
            "AUD-01": {"id": "AUD-01", "status": "pass"},
            "RAC-01": {"id": "RAC-01", "status": "pass"},
        }
    }
