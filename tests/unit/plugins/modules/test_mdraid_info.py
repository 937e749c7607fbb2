"""Tests for the mdraid_info module: main() on captured /proc/mdstat and a stand-in mdadm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.rampart.hardening.plugins.modules import mdraid_info

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mdraid"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the module at a captured case: its mdstat, device nodes, and mdadm --detail outputs."""
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    ansible_warnings._global_warnings.clear()  # a real module run starts with none
    calls: list[list[str]] = []

    def use(case: Path, mdadm: bool = True, nodes: bool = True, rc: int = 0) -> list[list[str]]:
        (tmp_path / "mdstat").write_text((case / "mdstat").read_text())
        monkeypatch.setattr(mdraid_info, "MDSTAT", str(tmp_path / "mdstat"))
        dev = tmp_path / "dev"
        dev.mkdir(exist_ok=True)
        monkeypatch.setattr(mdraid_info, "DEV", str(dev))
        for detail in case.glob("detail-*") if nodes else []:
            (dev / detail.name.removeprefix("detail-")).touch()

        def run_command(self: AnsibleModule, args: list[str], **kwargs: Any) -> tuple[int, str, str]:
            calls.append(args)
            assert args[:2] == ["/sbin/mdadm", "--detail"]
            name = Path(args[2]).name
            return rc, (case / f"detail-{name}").read_text(), "mdadm: cannot open" if rc else ""

        monkeypatch.setattr(
            AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/sbin/mdadm" if mdadm else None
        )
        monkeypatch.setattr(AnsibleModule, "run_command", run_command)
        return calls

    return use


def warnings(result: dict[str, Any]) -> list[str]:
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        mdraid_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_degraded_fails_with_names(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    calls = host(FIXTURES / "bookworm" / "04-degraded-faulty")
    result = run_module({"_ansible_check_mode": True}, capsys)
    assert result["changed"] is False
    assert result["md_available"] is True
    assert result["status"] == "fail"
    assert [a["name"] for a in result["arrays"]] == ["md10", "md6", "md5", "md1", "md0"]
    assert sorted(Path(c[2]).name for c in calls) == ["md0", "md1", "md10", "md5", "md6"]
    assert result["failures"][2] == (
        "/dev/md5: md5 raid5 degraded [UU_] "
        "(/dev/loop4 active, /dev/loop5 active, slot 2 removed, /dev/loop6 faulty)"
    )
    assert result["warnings_found"] == []
    assert warnings(result) == []  # failures are the caller's to act on, not warnings


def test_recovering_warns(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    host(FIXTURES / "trixie" / "13-resync-resumed")
    result = run_module({}, capsys)
    assert result["status"] == "warn"
    message = (
        "/dev/md2: md2 raid1 resyncing [UU] resync 10.1% finish 0.5min at 1024K/s "
        "(/dev/loop0 active, /dev/loop1 active)"
    )
    assert result["warnings_found"] == [message]
    assert warnings(result) == [f"RAID array needs attention: {message}"]  # flags the play


def test_policy_arguments(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    host(FIXTURES / "trixie" / "13-resync-resumed")
    assert run_module({"fail_on": ["resyncing"], "warn_on": []}, capsys)["status"] == "fail"


def test_policy_typo_is_refused(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    host(FIXTURES / "trixie" / "02-levels-clean")
    result = run_module({"fail_on": ["degradded"]}, capsys)
    assert result["failed"] is True
    assert "value of fail_on must be one or more of" in result["msg"]


def test_no_md_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(module_utils_internal, "is_controller", False)
    monkeypatch.setattr(mdraid_info, "MDSTAT", str(tmp_path / "missing"))
    result = run_module({}, capsys)
    assert result["arrays"] == []
    assert result["md_available"] is False
    assert result["status"] == "ok"


def test_no_arrays_needs_no_mdadm(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    calls = host(FIXTURES / "trixie" / "18-none", mdadm=False)
    result = run_module({}, capsys)
    assert (result["arrays"], result["status"], calls) == ([], "ok", [])
    assert "warnings" not in result


def test_without_mdadm_reports_from_mdstat(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    calls = host(FIXTURES / "bookworm" / "06-recovering", mdadm=False)
    result = run_module({}, capsys)
    assert calls == []
    assert warnings(result)[:1] == [
        "mdadm is not installed: arrays are reported from /proc/mdstat only, without member roles"
    ]
    md1 = next(a for a in result["arrays"] if a["name"] == "md1")
    assert md1["conditions"] == ["recovering", "faulty_member"]
    assert {m["role"] for m in md1["members"]} == {None}


def test_missing_device_node(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    calls = host(FIXTURES / "trixie" / "12-resync-pending", nodes=False)
    result = run_module({}, capsys)
    assert calls == []
    assert warnings(result)[0].endswith("md2 does not exist: md2 is reported from /proc/mdstat only")
    assert result["arrays"][0]["conditions"] == ["resync_pending"]


def test_mdadm_error_is_reported(host: Any, capsys: pytest.CaptureFixture[str]) -> None:
    host(FIXTURES / "trixie" / "12-resync-pending", rc=1)
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("mdadm --detail ")
    assert result["rc"] == 1
    assert result["stderr"] == "mdadm: cannot open"


def test_garbage_mdstat_is_an_error(host: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    host(FIXTURES / "trixie" / "18-none")
    (tmp_path / "mdstat").write_text("hello\n")
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert "is not readable as mdstat: /proc/mdstat must start with 'Personalities :'" in result["msg"]
