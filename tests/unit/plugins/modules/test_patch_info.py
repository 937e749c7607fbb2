"""Tests for the patch_info module: main() with apt's commands answered from captured output."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.module_utils.apt_updates import AptBackend
from ansible_collections.rampart.hardening.plugins.modules import patch_info

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "apt"


class Apt:
    """Stands in for apt-get and apt-cache; records the commands."""

    def __init__(self, update_rc: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.update_rc = update_rc

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        if argv[-1] == "update":
            return self.update_rc, "", "E: Failed to fetch" if self.update_rc else ""
        if "policy" in argv:
            return 0, (FIXTURES / "policy-trixie.txt").read_text(), ""
        return 0, (FIXTURES / "dist-upgrade-trixie.txt").read_text(), ""


@pytest.fixture
def apt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Apt:
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    fake = Apt()
    monkeypatch.setattr(AnsibleModule, "run_command", lambda self, argv, **_: fake(argv))
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, required=False: f"/usr/bin/{name}")
    os_release = tmp_path / "os-release"
    os_release.write_text("ID=debian\nVERSION_CODENAME=trixie\n")
    monkeypatch.setattr(patch_info, "OS_RELEASE", str(os_release))
    monkeypatch.setattr(AptBackend, "stamp", str(tmp_path / "no-stamp"))
    lists = tmp_path / "lists"
    lists.mkdir()
    ten_minutes_ago = time.time() - 600
    os.utime(lists, (ten_minutes_ago, ten_minutes_ago))
    monkeypatch.setattr(AptBackend, "lists_dir", str(lists))
    return fake


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        patch_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_reports_updates_split_and_no_reboot(
    apt: Apt, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({"reboot_required_file": str(tmp_path / "reboot-required")}, capsys)
    assert result["changed"] is False
    assert result["backend"] == "apt"
    assert result["distribution"] == {"id": "debian", "release": "trixie"}
    assert result["counts"] == {"total": 11, "security": 10, "other": 1}
    assert result["reboot_required"] is False
    assert result["reboot_packages"] == []
    assert result["cache"]["updated"] is False
    assert result["policy"] == {}
    assert [c[-1] for c in apt.calls] == ["dist-upgrade"]


def test_reboot_marker_and_why(apt: Apt, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "reboot-required"
    marker.write_text("*** System restart required ***\n")
    Path(f"{marker}.pkgs").write_text("linux-image-6.12.57+deb13-amd64\nlibc6\nlibc6\n")
    result = run_module({"reboot_required_file": str(marker)}, capsys)
    assert result["reboot_required"] is True
    assert result["reboot_packages"] == ["linux-image-6.12.57+deb13-amd64", "libc6"]


def test_refreshes_stale_lists_but_not_in_check_mode(apt: Apt, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"cache_valid_time": 1, "packages": ["openssl"], "mode": "upgrade"}, capsys)
    assert result["cache"]["updated"] is True
    assert apt.calls[0] == ["/usr/bin/apt-get", "-q", "update"]
    assert apt.calls[1][-1] == "upgrade"
    assert result["policy"]["openssl"]["candidate"] == "3.5.7-1~deb13u3"
    apt.calls.clear()
    result = run_module({"cache_valid_time": 1, "_ansible_check_mode": True}, capsys)
    assert result["cache"]["updated"] is False
    assert all(c[-1] != "update" for c in apt.calls)


def test_fresh_lists_are_not_refreshed(apt: Apt, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"cache_valid_time": 3600}, capsys)
    assert result["cache"]["updated"] is False
    assert 600 <= result["cache"]["age"] < 700


def test_failed_refresh_is_an_error(apt: Apt, capsys: pytest.CaptureFixture[str]) -> None:
    apt.update_rc = 100
    result = run_module({"cache_valid_time": 1}, capsys)
    assert result["failed"] is True
    assert "apt-get -q update failed (rc 100): E: Failed to fetch" in result["msg"]


def test_negative_cache_time_is_refused(apt: Apt, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"cache_valid_time": -1}, capsys)
    assert result["failed"] is True
    assert "cache_valid_time must be 0 or more" in result["msg"]
    assert apt.calls == []
