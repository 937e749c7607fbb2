"""The control action and the controls callback, end to end through a local ansible-playbook run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[4]
Reported = tuple[subprocess.CompletedProcess[str], dict[str, Any]]

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: RAC-01 | passes
      rampart.hardening.control:
        id: RAC-01
        checks:
          - {name: keys only, ok: "{{ 1 == 1 }}", evidence: "passwordauthentication no"}
    - name: RAC-03 | not applicable
      rampart.hardening.control:
        id: RAC-03
        applicable: false
        reason: not production
    - name: AUD-03..05 | one record per loop item
      rampart.hardening.control:
        id: "{{ item }}"
        checks:
          - {name: rules loaded, ok: "{{ item != 'AUD-05' }}"}
      loop: [AUD-03, AUD-04, AUD-05]
    - name: AUD-01 | fails but is only reported
      rampart.hardening.control:
        id: AUD-01
        checks:
          - {name: rules loaded, ok: false, evidence: "auditctl -l: no rules"}
    - name: AUD-02 | fails and is enforced
      rampart.hardening.control:
        id: AUD-02
        enforce: "{{ enforce | default(false) | bool }}"
        checks:
          - {name: rules loaded, ok: false}
"""


def run(tmp_path: Path, *extra: str, playbook_text: str = PLAYBOOK) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(playbook_text)
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "RAMPART_REPORT_DIR": str(tmp_path / "reports"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    tmp = tmp_path_factory.mktemp("controls")
    result = run(tmp)
    report = json.loads((tmp / "reports" / "localhost.json").read_text())
    return result, report


def test_reported_failures_do_not_fail_the_play(reported: Reported) -> None:
    result, _ = reported
    assert result.returncode == 0, result.stdout + result.stderr


def test_statuses_per_control(reported: Reported) -> None:
    _, report = reported
    assert {k: v["status"] for k, v in report["controls"].items()} == {
        "AUD-01": "fail",
        "AUD-02": "fail",
        "AUD-03": "pass",
        "AUD-04": "pass",
        "AUD-05": "fail",
        "RAC-01": "pass",
        "RAC-03": "not_applicable",
    }
    assert report["controls"]["RAC-01"]["checks"][0]["evidence"] == "passwordauthentication no"
    assert report["controls"]["RAC-01"]["check_mode"] is False
    assert report["controls"]["RAC-01"]["time"].endswith("Z")


def test_summary_printed(reported: Reported) -> None:
    result, _ = reported
    assert "RAMPART CONTROLS" in result.stdout
    assert "RAC-03  not_applicable  not production" in result.stdout


def test_check_mode_is_recorded(tmp_path: Path) -> None:
    assert run(tmp_path, "--check").returncode == 0
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    assert report["controls"]["RAC-01"]["check_mode"] is True


def test_enforced_failure_fails_the_task_and_is_still_recorded(tmp_path: Path) -> None:
    result = run(tmp_path, "-e", "enforce=true")
    assert result.returncode == 2
    assert "AUD-02 fail: failed: rules loaded" in result.stdout
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    assert report["controls"]["AUD-02"]["status"] == "fail"


def test_bad_control_id_is_refused(tmp_path: Path) -> None:
    bad = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - rampart.hardening.control: {id: rac1, checks: [{name: a, ok: true}]}\n"
    )
    result = run(tmp_path, playbook_text=bad)
    assert result.returncode == 2
    assert "control id 'rac1' is not of the form ABC-01" in result.stdout
