"""PAT-04 on a real kernel: the update whose postinst writes /run/reboot-required made
playbooks/patch.yml reboot the VM (converge), which came back with a new boot id, without the
marker, with the update installed, its services up and the reboot reported."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))

testinfra_hosts = ["ansible://staging"]


@pytest.fixture(scope="module")
def name(host: Any) -> str:
    return str(host.backend.get_hostname())


@pytest.fixture(scope="module")
def before(name: str) -> dict[str, Any]:
    """The boot id prepare.yml read before the patch run, and when (controller clock)."""
    recorded: dict[str, Any] = json.loads((EPHEMERAL / f"boot-before-{name}.json").read_text())
    return recorded


def control(name: str, control_id: str) -> dict[str, Any]:
    report = json.loads((EPHEMERAL / "controls" / f"{name}.json").read_text())
    return dict(report["controls"][control_id]["enforce"])


@pytest.mark.parametrize(
    ("package", "expected"),
    [("rampart-kernel-demo", "2.0"), ("rampart-demo", "2.0"), ("rampart-libdemo", "1.1")],
)
def test_updates_are_installed(host: Any, package: str, expected: str) -> None:
    assert host.package(package).version == expected


def test_the_kernel_booted_again(host: Any, before: dict[str, Any]) -> None:
    assert host.file("/proc/sys/kernel/random/boot_id").content_string.strip() != before["boot_id"]


def test_the_running_kernel_started_after_prepare(host: Any, before: dict[str, Any]) -> None:
    # Uptime against the controller's clock: a VM resumed from a memory snapshot and never
    # rebooted has been up since before prepare read its boot id.
    uptime = float(host.file("/proc/uptime").content_string.split()[0])
    assert uptime < time.time() - before["epoch"]


def test_the_reboot_marker_is_gone(host: Any) -> None:
    assert not host.file("/run/reboot-required").exists


def test_ssh_is_up(host: Any) -> None:
    ssh = host.service("ssh")
    assert ssh.is_running and ssh.is_enabled


def test_pat04_reports_the_controlled_reboot(name: str) -> None:
    pat04 = control(name, "PAT-04")
    evidence = pat04["checks"][0]["evidence"]
    assert pat04["status"] == "pass", evidence
    assert "reboot required by rampart-kernel-demo" in evidence
    assert "rebooted in" in evidence


def test_health_checks_passed_after_the_reboot(name: str) -> None:
    pat02 = control(name, "PAT-02")
    assert pat02["status"] == "pass", pat02["checks"]
    assert {check["name"] for check in pat02["checks"] if check["ok"]} == {
        "the updates are installed on the test host",
        "service ssh is running",
        "health command rampart-demo runs succeeds",
        "URL http://10.0.2.100:48080/main/Release answers",
    }


def test_the_rebooted_versions_are_approved() -> None:
    manifest = json.loads((EPHEMERAL / "patch-manifest.json").read_text())
    assert manifest["packages"]["trixie"]["rampart-kernel-demo"] == ["2.0"]
