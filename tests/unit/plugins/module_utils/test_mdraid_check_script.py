"""Tests for roles/raid_health/files/rampart-raid-check: the timer's check and mdadm's PROGRAM.

The script imports mdraid.py and health_alert.py from the directory the role copies them to; here
plugins/module_utils stands in for it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "roles" / "raid_health" / "files" / "rampart-raid-check"
FIXTURES = ROOT / "tests" / "fixtures" / "mdraid"


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[tuple[str, str]]]:
    monkeypatch.syspath_prepend(str(ROOT / "plugins" / "module_utils"))
    loader = importlib.machinery.SourceFileLoader("rampart_raid_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("rampart_raid_check", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sent: list[tuple[str, str]] = []

    def send_alert(control: str, host: str, status: str, detail: str) -> str:
        assert (control, host) == ("STO-01", "db1")
        sent.append((status, detail))
        return f"{status}: {detail}"

    monkeypatch.setattr(module, "send_alert", send_alert)
    monkeypatch.setattr(module, "host", lambda: "db1")
    return module, sent


def use_case(monkeypatch: pytest.MonkeyPatch, module: Any, case: Path) -> None:
    monkeypatch.setattr(module, "MDSTAT", str(case / "mdstat"))

    def detail(name: str) -> str | None:
        path = case / f"detail-{name}"
        return path.read_text() if path.exists() else None

    monkeypatch.setattr(module, "mdadm_detail", detail)


@pytest.mark.parametrize(
    ("argv", "status", "detail"),
    [
        (
            ["Fail", "/dev/md5", "/dev/loop6"],
            "fail",
            "mdadm Fail on /dev/md5 member /dev/loop6: md5 raid5 degraded [UU_]",
        ),
        (["DegradedArray", "/dev/md6"], "fail", "mdadm DegradedArray on /dev/md6: md6 raid6 degraded [U__U]"),
        (["RebuildStarted", "/dev/md1"], "warn", "mdadm RebuildStarted on /dev/md1: md1 raid1 clean [UU]"),
        (["Rebuild40", "/dev/md1"], "warn", "mdadm Rebuild40 on /dev/md1: md1 raid1 clean [UU]"),
        (["RebuildFinished", "/dev/md1"], "ok", "mdadm RebuildFinished on /dev/md1: md1 raid1 clean [UU]"),
        (["TestMessage", "/dev/md/gone"], "ok", "mdadm TestMessage on /dev/md/gone"),
    ],
)
def test_mdadm_events(
    script: tuple[ModuleType, list[tuple[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    status: str,
    detail: str,
) -> None:
    module, sent = script
    use_case(monkeypatch, module, FIXTURES / "bookworm" / "04-degraded-faulty")
    monkeypatch.setattr(sys, "argv", ["rampart-raid-check", *argv])
    assert module.main() == 0
    assert len(sent) == 1
    assert sent[0][0] == status
    assert sent[0][1].startswith(detail)


def test_check_fails_and_names_every_bad_array(
    script: tuple[ModuleType, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, sent = script
    use_case(monkeypatch, module, FIXTURES / "trixie" / "06-recovering")
    monkeypatch.setattr(
        sys, "argv", ["rampart-raid-check", "--fail-on", "degraded", "--warn-on", "recovering"]
    )
    assert module.main() == 1
    assert [(s, d.split(":")[0]) for s, d in sent] == [
        ("fail", "/dev/md6"),
        ("fail", "/dev/md5"),
        ("warn", "/dev/md10"),
        ("warn", "/dev/md1"),
    ]


def test_check_ok_is_one_notice(
    script: tuple[ModuleType, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, sent = script
    use_case(monkeypatch, module, FIXTURES / "bookworm" / "11-after-reshape")
    monkeypatch.setattr(sys, "argv", ["rampart-raid-check"])
    assert module.main() == 0
    assert sent == [
        (
            "ok",
            "md5 raid5 clean [UUUU] (/dev/loop4 active, /dev/loop5 active, /dev/loop6 active, "
            "/dev/loop16 active); md1 raid1 clean [UU] (/dev/loop15 active, /dev/loop3 active)",
        )
    ]


def test_check_without_arrays_is_silent(
    script: tuple[ModuleType, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module, sent = script
    use_case(monkeypatch, module, FIXTURES / "trixie" / "18-none")
    monkeypatch.setattr(sys, "argv", ["rampart-raid-check"])
    assert module.main() == 0
    monkeypatch.setattr(module, "MDSTAT", str(tmp_path / "missing"))
    assert module.main() == 0
    assert sent == []


def test_check_garbage_mdstat_alerts(
    script: tuple[ModuleType, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, sent = script
    use_case(monkeypatch, module, FIXTURES / "handwritten")
    monkeypatch.setattr(module, "MDSTAT", str(FIXTURES / "handwritten" / "garbage.txt"))
    monkeypatch.setattr(sys, "argv", ["rampart-raid-check"])
    assert module.main() == 1
    assert sent[0][0] == "fail"
    assert sent[0][1].startswith("cannot read the RAID state: /proc/mdstat must start with")


def test_check_refuses_unknown_condition(
    script: tuple[ModuleType, list[tuple[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module, _ = script
    monkeypatch.setattr(sys, "argv", ["rampart-raid-check", "--fail-on", "degradded"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 2
    assert "unknown condition(s) degradded" in capsys.readouterr().err


def test_event_still_alerts_when_mdstat_is_unreadable(
    script: tuple[ModuleType, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, sent = script
    use_case(monkeypatch, module, FIXTURES / "handwritten")
    monkeypatch.setattr(module, "MDSTAT", str(FIXTURES / "handwritten" / "garbage.txt"))
    monkeypatch.setattr(sys, "argv", ["rampart-raid-check", "Fail", "/dev/md0", "/dev/sdb"])
    assert module.main() == 0
    assert sent == [
        (
            "fail",
            "mdadm Fail on /dev/md0 member /dev/sdb: cannot read the RAID state: "
            "/proc/mdstat must start with 'Personalities :', got 'hello world'",
        )
    ]
