"""report.json: valid against docs/report.schema.json, and what it holds."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report import as_json
from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import Catalogue
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Report, build_report
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

SCHEMA = json.loads((Path(__file__).parents[5] / "docs" / "report.schema.json").read_text())


@pytest.fixture(scope="module")
def data(fleet: Report) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(as_json.dumps(fleet))
    return loaded


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_fleet_report_is_valid(data: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in Draft202012Validator(SCHEMA).iter_errors(data)
    ]
    assert errors == []


def test_a_written_report_with_changes_is_valid(written: Mapping[str, Path]) -> None:
    data = json.loads(written["json"].read_text())
    assert data["changes"]["newly_failing"]
    Draft202012Validator(SCHEMA).validate(data)


def test_an_empty_inventory_is_valid(catalogue: Catalogue) -> None:
    report = build_report(catalogue, [], now=datetime(2026, 12, 3, tzinfo=UTC))
    data = as_json.to_dict(report)
    Draft202012Validator(SCHEMA).validate(data)
    assert (data["result"], data["hosts"]) == ("pass", {})


def test_the_schema_refuses_an_unknown_status(data: dict[str, Any]) -> None:
    changed = copy.deepcopy(data)
    changed["hosts"]["web-01"]["controls"]["RAC-01"]["status"] = "great"
    assert not Draft202012Validator(SCHEMA).is_valid(changed)


def test_header_options_and_result(data: dict[str, Any], fleet: Report) -> None:
    assert (data["format"], data["generated"], data["inventory"]) == (1, "2026-12-03T10:00:00Z", "fixtures")
    assert data["rampart_version"] == fleet.version != ""
    assert data["options"] == {
        "fail_on": ["fail", "drift", "error", "unreachable"],
        "max_age": "1w",
        "max_age_seconds": 604800,
    }
    assert data["result"] == "fail"
    assert {"host": "web-01", "control": "RAC-04", "status": "fail", "record_status": "fail"} in data[
        "failing"
    ]


def test_the_catalogue_judged_against(data: dict[str, Any]) -> None:
    controls = {c["id"]: c for c in data["catalogue"]["controls"]}
    assert len(controls) == 38
    assert controls["RAC-01"]["implemented_by"] == {"roles": ["ssh_access"], "playbooks": []}
    assert controls["RAC-01"]["policy"].startswith("Remote administration happens only over SSH")
    assert controls["HRD-01"]["implemented"] is False
    assert data["catalogue"]["families"]["MON"] == "Monitoring and reporting"
    assert data["catalogue"]["policy"]["document"] == "POLICY.md"


def test_a_cell_with_both_modes_and_its_evidence(data: dict[str, Any]) -> None:
    web = data["hosts"]["web-01"]
    assert web["groups"] == ["production", "web"]
    assert web["records"] == {"file": web["records"]["file"], "format": 2, "error": None}
    assert web["records"]["file"].endswith("tests/fixtures/controls/web-01.json")
    assert [(r["playbook"], r["mode"]) for r in web["runs"]] == [
        ("firewall_drift.yml", "enforce"),
        ("site.yml", "enforce"),
    ]
    cell = web["controls"]["RAC-01"]
    assert (cell["status"], cell["record_status"], cell["fails"], cell["stale"]) == (
        "drift",
        "drift",
        True,
        None,
    )
    assert cell["record"]["mode"] == "check"
    assert cell["record"]["checks"][-1] == {
        "name": "no change pending",
        "ok": False,
        "evidence": "would change: RAC-01 | Write sshd_config",
    }
    assert cell["record"]["age_seconds"] == 29 * 60 + 50
    other = cell["other"]
    assert (other["mode"], other["status"], other["time"], other["playbook"]) == (
        "enforce",
        "pass",
        "2026-12-03T09:00:10Z",
        "site.yml",
    )


def test_stale_cells_say_why_and_how_old(data: dict[str, Any]) -> None:
    aud = data["hosts"]["web-01"]["controls"]["AUD-06"]
    assert (aud["status"], aud["record_status"], aud["label"]) == ("stale", "pass", "stale: pass, 2 days old")
    assert aud["stale"]["reason"] == "run"
    net = data["hosts"]["web-01"]["controls"]["NET-04"]
    assert net["stale"] == {
        "reason": "age",
        "age_seconds": 13 * 86400 + 7200,
        "detail": "older than max_age (1w)",
    }


def test_cells_without_a_record(data: dict[str, Any]) -> None:
    for host, control, status in [
        ("web-01", "PAT-01", "not_assessed"),
        ("new-01", "RAC-01", "never_assessed"),
        ("web-01", "HRD-01", "not_implemented"),
        ("broken-01", "RAC-01", "error"),
    ]:
        cell = data["hosts"][host]["controls"][control]
        assert (cell["status"], cell["record_status"], cell["record"], cell["other"]) == (
            status,
            None,
            None,
            None,
        )
    assert data["hosts"]["new-01"]["records"] == {"file": None, "format": None, "error": None}
    assert "not valid JSON" in data["hosts"]["broken-01"]["records"]["error"]


def test_totals(data: dict[str, Any]) -> None:
    totals = data["totals"]
    assert sum(totals["statuses"].values()) == 6 * 38
    assert totals["controls"]["RAC-04"] == {
        "pass": 1,
        "fail": 1,
        "drift": 0,
        "error": 1,
        "unreachable": 1,
        "stale": 0,
        "not_assessed": 1,
        "never_assessed": 1,
        "not_applicable": 0,
        "not_implemented": 0,
    }
    assert totals["families"]["HRD"]["not_implemented"] == 5 * 6
    assert sum(totals["hosts"]["web-01"].values()) == 38
    for status, n in totals["statuses"].items():
        assert n == sum(family[status] for family in totals["families"].values())
