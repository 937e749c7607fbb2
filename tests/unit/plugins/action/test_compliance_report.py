"""The compliance_report action end to end: ansible-playbook playbooks/report.yml on a temporary inventory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

ROOT = Path(__file__).parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "controls"
INVENTORY = "[web]\nweb-01\n[db]\ndb-01\n"  # db-01 has no record file: never assessed
Run = tuple[subprocess.CompletedProcess[str], Path]


def playbook(tmp: Path, records: Path | None, *extra: str, env: dict[str, str] | None = None) -> Run:
    (tmp / "inventory").write_text(INVENTORY)
    out = tmp / "compliance"
    args = ["-e", f"report_output_dir={out}", *(["-e", f"report_records_dir={records}"] if records else [])]
    result = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(tmp / "inventory"),
            str(ROOT / "playbooks" / "report.yml"),
            *args,
            *extra,
        ],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "RAMPART_REPORT_DIR": str(tmp / "callback"),  # where the controls callback writes, kept apart
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            **(env or {}),
        },
        cwd=tmp,
        timeout=120,
        check=False,
    )
    return result, out


def fresh_records(directory: Path) -> Path:
    """web-01 with RAC-01 passing an hour ago (the report ages records against the real clock)."""
    directory.mkdir()
    time = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "id": "RAC-01",
        "status": "pass",
        "role": "ssh_access",
        "summary": "1 checks passed",
        "checks": [{"name": "keys only", "ok": True, "evidence": "passwordauthentication no"}],
        "time": time,
        "mode": "enforce",
        "playbook": "site.yml",
        "version": "0.1.0",
    }
    (directory / "web-01.json").write_text(
        json.dumps({"host": "web-01", "format": 2, "runs": [], "controls": {"RAC-01": {"enforce": record}}})
    )
    return directory


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    return data


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """web-01 from the fixtures: RAC-01 drift and RAC-04 fail (and records of December 2026)."""
    tmp = tmp_path_factory.mktemp("failing")
    (tmp / "records").mkdir()
    (tmp / "records" / "web-01.json").write_text((FIXTURES / "web-01.json").read_text())
    return playbook(tmp, tmp / "records", "-e", "report_max_age=0")


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("passing")
    return playbook(tmp, fresh_records(tmp / "records"))


def test_a_failing_fleet_fails_the_play_and_names_the_cells(failing: Run) -> None:
    result, _ = failing
    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "compliance report: fail, 2 cells fail on fail, drift, error, unreachable (1 fail, 1 drift)"
        in result.stdout
    )
    assert "web-01 RAC-01 drift; web-01 RAC-04 fail" in result.stdout


def test_the_files_are_written_even_when_it_fails(failing: Run) -> None:
    result, out = failing
    data = report(out)
    assert (data["result"], data["inventory"], data["options"]["max_age"]) == ("fail", "inventory", "0")
    assert data["hosts"]["web-01"]["groups"] == ["web"]
    assert data["hosts"]["db-01"]["groups"] == ["db"]
    assert data["hosts"]["db-01"]["controls"]["RAC-01"]["status"] == "never_assessed"
    xml = JUnitXml.fromfile(str(out / "report.junit.xml"))
    assert [s.name for s in xml] == ["db-01", "web-01"]
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert len(list((out / "history").glob("*.json"))) == 1
    assert f"html:   {out}/report.html" in result.stdout  # printed even though the task failed


def test_a_passing_fleet_passes(passing: Run) -> None:
    result, out = passing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: pass" in result.stdout
    assert report(out)["result"] == "pass"
    assert report(out)["hosts"]["web-01"]["controls"]["RAC-01"]["status"] == "pass"
    assert f"json:   {out}/report.json" in result.stdout
    assert "changed=1" in result.stdout


def test_fail_on_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "web-01.json").write_text((FIXTURES / "web-01.json").read_text())
    result, out = playbook(tmp_path, tmp_path / "records", "-e", "report_fail_on=error,unreachable")
    assert result.returncode == 0, result.stdout + result.stderr
    assert report(out)["options"]["fail_on"] == ["error", "unreachable"]


def test_records_dir_from_the_environment_in_check_mode(tmp_path: Path) -> None:
    records = fresh_records(tmp_path / "records")
    result, out = playbook(tmp_path, None, "--check", env={"RAMPART_REPORT_DIR": str(records)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert report(out)["hosts"]["web-01"]["records"]["file"] == str(records / "web-01.json")
    assert "MON-02  drift" not in result.stdout  # writing the report is not drift of a host


def test_bad_options_are_refused(tmp_path: Path) -> None:
    result, out = playbook(tmp_path, tmp_path, "-e", "report_max_age=7", "-e", "report_fail_on=pass")
    assert result.returncode == 2
    assert "compliance_report: fail_on: pass not among" in result.stdout
    assert not out.exists()
