"""Reading the per-host record files: formats 1 and 2, and whatever else is found on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report.generate import read_records
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import parse_host_file

RECORDS = Path(__file__).parents[5] / "tests" / "fixtures" / "controls"


def test_format_2_fixture() -> None:
    host = read_records(RECORDS, "web-01")
    assert (host.format, host.error, host.file) == (2, "", str(RECORDS / "web-01.json"))
    assert set(host.controls["RAC-01"]) == {"enforce", "check"}
    check = host.controls["RAC-01"]["check"]
    assert (check.status, check.mode, check.playbook, check.version) == (
        "drift",
        "check",
        "site.yml",
        "0.1.0",
    )
    assert check.time == datetime(2026, 12, 3, 9, 30, 10, tzinfo=UTC)
    assert check.checks[-1].name == "no change pending" and not check.checks[-1].ok
    run = host.latest_run("site.yml")
    assert run is not None and (run.mode, run.time) == ("enforce", datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert host.latest_run("patch.yml") is None


def test_format_1_fixture() -> None:
    host = read_records(RECORDS, "old-01")
    assert (host.format, host.runs) == (1, ())
    assert host.controls["RAC-01"]["enforce"].status == "pass"
    assert host.controls["RAC-02"]["check"].status == "fail"


def test_no_file_is_never_assessed() -> None:
    host = read_records(RECORDS, "new-01")
    assert (host.file, host.error, host.controls) == (None, "", {})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"host": "x", "controls": {', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"format": 3, "controls": {}}', "format 3 is unknown"),
        ('{"format": 2, "controls": []}', "'controls' is not an object"),
        ("", "not valid JSON"),
    ],
)
def test_unreadable_files_say_why(text: str, error: str) -> None:
    host = parse_host_file("x", text, "x.json")
    assert error in host.error
    assert host.file == "x.json"


def test_a_truncated_fixture_file() -> None:
    assert "not valid JSON" in read_records(RECORDS, "broken-01").error


def test_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "x.json").mkdir()
    assert "cannot be read" in read_records(tmp_path, "x").error


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"enforce": {"status": "great"}}, "status 'great' is not one of"),
        ({"enforce": "pass"}, "not an object"),
        ({"enforce": {"status": "pass", "checks": "all"}}, "checks are not a list"),
        ({"sometimes": {"status": "pass"}}, "unknown mode 'sometimes'"),
        ("pass", "not an object of records by mode"),
    ],
)
def test_a_malformed_record_is_an_error_record(entry: object, why: str) -> None:
    host = parse_host_file("x", json.dumps({"format": 2, "controls": {"RAC-01": entry}}))
    (record,) = host.controls["RAC-01"].values()
    assert record.status == "error"
    assert why in record.summary


def test_lenient_about_missing_fields() -> None:
    host = parse_host_file(
        "x", json.dumps({"format": 2, "controls": {"RAC-01": {"check": {"status": "pass"}}}})
    )
    record = host.controls["RAC-01"]["check"]
    assert (record.summary, record.time, record.playbook, record.checks) == ("", None, "", ())


def test_a_check_without_a_boolean_ok_did_not_hold() -> None:
    raw = {"status": "pass", "checks": [{"name": "a", "ok": "yes"}]}
    host = parse_host_file("x", json.dumps({"format": 2, "controls": {"RAC-01": {"enforce": raw}}}))
    assert host.controls["RAC-01"]["enforce"].checks[0].ok is False


def test_a_file_naming_another_host_is_noted() -> None:
    host = parse_host_file("web-01", json.dumps({"host": "web-02", "format": 2, "controls": {}}))
    assert host.notes == ("the file names host 'web-02'",)
