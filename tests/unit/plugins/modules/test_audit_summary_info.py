"""Tests for the audit_summary_info module: main() on real files in a temporary log directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.modules import audit_summary_info

SAMPLE = Path(__file__).resolve().parents[3] / "fixtures" / "audit" / "logs" / "sample.log"
T = 1767261600  # the sample's first event


@pytest.fixture
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """audit.log.2 (oldest) .. audit.log: the sample split in three, as auditd rotates."""
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    lines = [f"{ln}\n" for ln in lines[:-1]]
    directory = tmp_path / "audit"
    directory.mkdir()
    (directory / "audit.log.2").write_text("".join(lines[:10]))
    (directory / "audit.log.1").write_text("".join(lines[10:30]))
    (directory / "audit.log").write_text("".join(lines[30:]))
    for name, stamp in (("audit.log.2", T + 2), ("audit.log.1", T + 206), ("audit.log", T + 500)):
        os.utime(directory / name, (stamp, stamp))
    (directory / "other.log").write_text("garbage\n")
    stat = tmp_path / "stat"
    stat.write_text(f"cpu  1 2 3\nbtime {T + 100}\nprocesses 5\n")
    monkeypatch.setattr(audit_summary_info, "PROC_STAT", str(stat))
    return directory


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        audit_summary_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_reads_rotations_oldest_first(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"log_file": str(log_dir / "audit.log")}, capsys)
    assert result["changed"] is False
    assert result["files"] == [str(log_dir / n) for n in ("audit.log.2", "audit.log.1", "audit.log")]
    assert result["events"] == 32  # as one file: events spanning two files are still one event
    assert result["failed_logins"]["total"] == 9
    assert result["range"]["start"] == "2026-01-01T10:00:00.000Z"
    assert result["since"] is None


def test_since_boot_skips_old_rotations(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"log_file": str(log_dir / "audit.log"), "since": "boot"}, capsys)
    assert result["since"] == "2026-01-01T10:01:40.000Z"
    assert result["files"] == [
        str(log_dir / "audit.log.1"),
        str(log_dir / "audit.log"),
    ]  # .2 ended before boot
    assert result["successful_logins"]["total"] == 0  # alice logged in before boot
    assert result["failed_logins"]["total"] == 9
    assert result["restarts"]["boots"] == 0


def test_keys_prefix_and_check_mode(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module(
        {"log_file": str(log_dir / "audit.log"), "keys_prefix": ["MON-"], "_ansible_check_mode": True}, capsys
    )
    assert result["keys"] == {"MON-01-alert": {"total": 1, "success": 0, "failure": 1}}
    assert result["identity_changes"]["total"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"since": "last tuesday"}, "since 'last tuesday' is not a time spec"),
        ({"log_file": "/nonexistent-dir/audit.log"}, "cannot list /nonexistent-dir"),
    ],
)
def test_bad_input_fails(
    log_dir: Path, capsys: pytest.CaptureFixture[str], args: dict[str, Any], message: str
) -> None:
    result = run_module({"log_file": str(log_dir / "audit.log"), **args}, capsys)
    assert result["failed"] is True
    assert message in result["msg"]


def test_no_log_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    result = run_module({"log_file": str(tmp_path / "audit.log")}, capsys)
    assert result["failed"] is True
    assert result["msg"] == f"{tmp_path / 'audit.log'} does not exist: is auditd installed and running?"


def test_unreadable_log(
    log_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (log_dir / "audit.log").unlink()
    (log_dir / "audit.log").mkdir()  # open() fails with EISDIR whoever runs the test
    result = run_module({"log_file": str(log_dir / "audit.log")}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot read {log_dir / 'audit.log'}: Is a directory")


def test_boot_time_without_proc_stat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(audit_summary_info, "PROC_STAT", str(tmp_path / "missing"))
    assert audit_summary_info.boot_time() is None
    (tmp_path / "nobtime").write_text("cpu 1\n")
    monkeypatch.setattr(audit_summary_info, "PROC_STAT", str(tmp_path / "nobtime"))
    assert audit_summary_info.boot_time() is None


def test_uid_names_are_cached() -> None:
    assert audit_summary_info.uid_name("0") == "root"
    assert audit_summary_info.uid_name("4294967294") is None
    assert "0" in audit_summary_info._NAMES


def test_documentation_matches_the_argument_spec() -> None:
    doc = yaml.safe_load(audit_summary_info.DOCUMENTATION)
    assert doc["module"] == "audit_summary_info"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert set(doc["options"]) == set(audit_summary_info.ARGUMENT_SPEC)
    returned = yaml.safe_load(audit_summary_info.RETURN)
    with SAMPLE.open(encoding="utf-8") as handle:
        from ansible_collections.rampart.hardening.plugins.module_utils.audit import summarise_log

        produced = summarise_log(handle)
    assert set(returned) == set(produced)
    yaml.safe_load(audit_summary_info.EXAMPLES)
