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
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), *extra]
        if "-i" not in extra
        else ["ansible-playbook", str(playbook), *extra],
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


def enforced(report: dict[str, Any]) -> dict[str, str]:
    return {k: v["enforce"]["status"] for k, v in report["controls"].items() if "enforce" in v}


def test_statuses_per_control(reported: Reported) -> None:
    _, report = reported
    assert report["format"] == 2
    assert enforced(report) == {
        "AUD-01": "fail",
        "AUD-02": "fail",
        "AUD-03": "pass",
        "AUD-04": "pass",
        "AUD-05": "fail",
        "RAC-01": "pass",
        "RAC-03": "not_applicable",
    }
    record = report["controls"]["RAC-01"]["enforce"]
    assert record["checks"][0]["evidence"] == "passwordauthentication no"
    assert record["mode"] == "enforce"
    assert record["time"].endswith("Z")
    assert record["playbook"] == "play.yml"
    assert record["version"] == "0.1.0"


def test_the_run_is_recorded(reported: Reported) -> None:
    _, report = reported
    [run] = report["runs"]
    assert run["playbook"] == "play.yml"
    assert run["mode"] == "enforce"
    assert run["result"] == "ok"


def test_summary_printed(reported: Reported) -> None:
    result, _ = reported
    assert "RAMPART CONTROLS" in result.stdout
    assert "RAC-03  not_applicable  not production" in result.stdout


def test_check_mode_is_kept_beside_enforcement(tmp_path: Path) -> None:
    assert run(tmp_path).returncode == 0
    assert run(tmp_path, "--check").returncode == 0
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    assert report["controls"]["RAC-01"]["check"]["mode"] == "check"
    assert report["controls"]["RAC-01"]["enforce"]["mode"] == "enforce"
    assert {(r["playbook"], r["mode"]) for r in report["runs"]} == {
        ("play.yml", "check"),
        ("play.yml", "enforce"),
    }


DRIFT = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: RAC-01 | Write a file
      ansible.builtin.copy:
        content: "new\\n"
        dest: "{{ dest }}"
        mode: "0644"
      tags: [RAC-01]
    - name: RAC-01 | Report
      rampart.hardening.control:
        id: RAC-01
        checks:
          - {name: file is there, ok: true, evidence: "{{ dest }}"}
      tags: [RAC-01]
    - name: RAC-02 | Write another file, with no control task reached in check mode
      ansible.builtin.copy:
        content: "new\\n"
        dest: "{{ dest }}.2"
        mode: "0644"
      tags: [RAC-02]
    - name: RAC-04 | Report a control nothing would change
      rampart.hardening.control:
        id: RAC-04
        checks:
          - {name: nothing to do, ok: true}
      tags: [RAC-04]
"""


def test_check_mode_reports_pending_changes_as_drift(tmp_path: Path) -> None:
    dest = tmp_path / "file"
    result = run(tmp_path, "--check", "-e", f"dest={dest}", playbook_text=DRIFT)
    assert result.returncode == 0, result.stdout
    controls = json.loads((tmp_path / "reports" / "localhost.json").read_text())["controls"]
    rac01 = controls["RAC-01"]["check"]
    assert rac01["status"] == "drift"
    assert rac01["checks"][-1] == {
        "name": "no change pending",
        "ok": False,
        "evidence": "would change: RAC-01 | Write a file",
    }
    assert controls["RAC-02"]["check"]["status"] == "drift"
    assert controls["RAC-04"]["check"]["status"] == "pass"
    # Once enforced, the same check run has nothing pending.
    assert run(tmp_path, "-e", f"dest={dest}", playbook_text=DRIFT).returncode == 0
    assert run(tmp_path, "--check", "-e", f"dest={dest}", playbook_text=DRIFT).returncode == 0
    controls = json.loads((tmp_path / "reports" / "localhost.json").read_text())["controls"]
    assert controls["RAC-01"]["check"]["status"] == "pass"
    assert controls["RAC-02"]["check"]["status"] == "drift"  # no RAC-02 record in this run: the old one stays
    assert controls["RAC-01"]["enforce"]["status"] == "pass"


def test_a_change_in_a_role_that_does_not_record_the_control_is_no_drift(tmp_path: Path) -> None:
    """STO-03 is recorded by backup_client (meta/controls.yml): a backup target's change, tagged STO-03,
    is not the target's own STO-03 drift; the same change in the recording role is."""
    for role in ("backup_target", "backup_client"):
        tasks = tmp_path / "roles" / role / "tasks"
        tasks.mkdir(parents=True)
        (tasks / "main.yml").write_text(
            "- name: STO-03 | Write a file\n"
            f"  ansible.builtin.copy: {{content: x, dest: '{tmp_path}/{role}', mode: '0600'}}\n"
            "  tags: [STO-03]\n"
        )
    playbook = (
        f"- hosts: localhost\n  gather_facts: false\n  roles: [{{role: {tmp_path}/roles/backup_target}}]\n"
    )
    assert run(tmp_path, "--check", playbook_text=playbook).returncode == 0
    report = tmp_path / "reports" / "localhost.json"
    assert "STO-03" not in json.loads(report.read_text())["controls"]
    playbook = playbook.replace("backup_target", "backup_client")
    assert run(tmp_path, "--check", playbook_text=playbook).returncode == 0
    controls = json.loads((tmp_path / "reports" / "localhost.json").read_text())["controls"]
    assert controls["STO-03"]["check"]["status"] == "drift"


FAILING = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: RAC-01 | Report
      rampart.hardening.control:
        id: RAC-01
        checks:
          - {name: fine, ok: true}
      tags: [RAC-01]
    - name: RAC-02 | Break
      ansible.builtin.command: /bin/false
      changed_when: false
      tags: [RAC-02]
    - name: RAC-02 | Report
      rampart.hardening.control:
        id: RAC-02
        checks:
          - {name: fine, ok: true}
      tags: [RAC-02]

- name: A later play the failed host never reaches
  hosts: localhost
  gather_facts: false
  tasks:
    - name: AUD-01 | Report
      rampart.hardening.control:
        id: AUD-01
        checks:
          - {name: fine, ok: true}
      tags: [AUD-01, AUD-02]
"""


def test_a_failed_host_gets_error_records_for_what_it_did_not_assess(tmp_path: Path) -> None:
    assert run(tmp_path, playbook_text=PLAYBOOK).returncode == 0  # RAC-02 was never reported; AUD-01 failed
    result = run(tmp_path, playbook_text=FAILING)
    assert result.returncode == 2
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    statuses = enforced(report)
    assert statuses["RAC-01"] == "pass"
    for control in ("RAC-02", "AUD-01", "AUD-02"):
        assert statuses[control] == "error", control
        assert "failed at 'RAC-02 | Break'" in report["controls"][control]["enforce"]["summary"]
    assert statuses["RAC-03"] == "not_applicable"  # not part of this run: kept as it was
    [run_record] = [r for r in report["runs"] if r["playbook"] == "play.yml"]
    assert run_record["result"] == "failed"


def test_tags_limit_what_a_failed_run_meant_to_assess(tmp_path: Path) -> None:
    result = run(tmp_path, "--tags", "RAC-02", playbook_text=FAILING)
    assert result.returncode == 2
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    assert enforced(report) == {"RAC-02": "error"}
    assert report["runs"] == []  # a run of some tags is no full run of the playbook


def test_an_unreachable_host_is_recorded_as_such(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    ghost:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n"
        "      ansible_connection: ssh\n"
    )
    playbook = FAILING.replace("localhost", "all").replace("gather_facts: false", "gather_facts: true", 1)
    result = run(tmp_path, "-i", str(inventory), playbook_text=playbook)
    assert result.returncode == 4
    report = json.loads((tmp_path / "reports" / "ghost.json").read_text())
    assert set(enforced(report).values()) == {"unreachable"}
    assert set(enforced(report)) == {"RAC-01", "RAC-02", "AUD-01", "AUD-02"}
    assert report["runs"][0]["result"] == "unreachable"


def test_enforced_failure_fails_the_task_and_is_still_recorded(tmp_path: Path) -> None:
    result = run(tmp_path, "-e", "enforce=true")
    assert result.returncode == 2
    assert "AUD-02 fail: failed: rules loaded" in result.stdout
    report = json.loads((tmp_path / "reports" / "localhost.json").read_text())
    assert report["controls"]["AUD-02"]["enforce"]["status"] == "fail"


def test_bad_control_id_is_refused(tmp_path: Path) -> None:
    bad = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - rampart.hardening.control: {id: rac1, checks: [{name: a, ok: true}]}\n"
    )
    result = run(tmp_path, playbook_text=bad)
    assert result.returncode == 2
    assert "control id 'rac1' is not of the form ABC-01" in result.stdout


HALTING = """
- hosts: all
  gather_facts: false
  serial: 1
  max_fail_percentage: 0
  tasks:
    - name: PAT-03 | Patch this batch
      ansible.builtin.command: /bin/false
      changed_when: false
      when: inventory_hostname == 'first'
      tags: [PAT-03]
    - name: PAT-03 | Report the batch
      rampart.hardening.control:
        id: PAT-03
        checks:
          - {name: patched, ok: true}
      tags: [PAT-03]
"""


def test_a_host_a_halted_rollout_never_reached_is_not_left_as_it_was(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    local = "{ansible_connection: local}"
    inventory.write_text(f"all:\n  hosts:\n    first: {local}\n    second: {local}\n")
    result = run(tmp_path, "-i", str(inventory), playbook_text=HALTING)
    assert result.returncode == 2
    second = json.loads((tmp_path / "reports" / "second.json").read_text())
    record = second["controls"]["PAT-03"]["enforce"]
    assert record["status"] == "error"
    assert record["summary"] == "not assessed: the run stopped before reaching this host (first failed)"
    assert second["runs"][0]["result"] == "failed"
