"""Tests for the backend-neutral patch staging logic: manifest, plan, versions, fleet report."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.apt_updates import (
    parse_policy,
    parse_simulation,
)
from ansible_collections.rampart.hardening.plugins.module_utils.patch import (
    PatchError,
    audit_checks,
    build_manifest,
    check_manifest,
    compare_versions,
    fleet_report,
    health_checks,
    installed,
    parse_os_release,
    parse_reboot_packages,
    plan,
    same_approval,
    targets,
)
from hypothesis import given
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "apt"
NOW = 1_800_000_000


def facts(**versions: str) -> dict[str, list[dict[str, str]]]:
    """package_facts' shape."""
    return {name.replace("_", "-"): [{"version": v, "arch": "all"}] for name, v in versions.items()}


def table(installed_version: str | None, *offered: str) -> dict[str, Any]:
    """apt-cache policy's shape for one package (offered newest first)."""
    versions = [{"version": v, "installed": v == installed_version, "sources": []} for v in offered]
    return {
        "installed": installed_version,
        "candidate": offered[0] if offered else None,
        "versions": versions,
    }


def manifest(packages: dict[str, dict[str, list[str]]], age: int = 0) -> dict[str, Any]:
    return {
        "format": 1,
        "approved_at": "2027-01-15T08:00:00Z",
        "approved_epoch": NOW - age,
        "scope": "all",
        "hosts": {f"staging-{r}": r for r in packages},
        "packages": packages,
    }


# --- versions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "sign"),
    [
        ("1.0", "1.0", 0),
        ("2.0", "1.0", 1),
        ("1.0~rc1", "1.0", -1),
        ("1:0.9", "2.0", 1),
        ("3.0.22-1~deb12u2", "3.0.20-1~deb12u2", 1),
        ("2.36-9+deb12u7", "2.36-9+deb12u10", -1),
        ("1.0-1", "1.0", 1),
        ("1.0a", "1.0+", -1),
        ("2026f-0+deb12u1", "2026c-0+deb13u1", 1),
    ],
)
def test_compare_versions(a: str, b: str, sign: int) -> None:
    result = compare_versions(a, b)
    assert (result > 0) - (result < 0) == sign


VERSION = st.from_regex(r"\A([0-9]:)?[0-9][0-9a-z.+~]{0,6}(-[0-9a-z.+~]{1,4})?\Z", fullmatch=True)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg to compare with")
@given(VERSION, VERSION)
def test_compare_versions_agrees_with_dpkg(a: str, b: str) -> None:
    ours = compare_versions(a, b)
    dpkg = subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0
    assert (ours < 0) == dpkg


@given(VERSION, VERSION)
def test_compare_versions_is_antisymmetric(a: str, b: str) -> None:
    assert (compare_versions(a, b) > 0) == (compare_versions(b, a) < 0)


def test_bad_epoch_is_refused() -> None:
    with pytest.raises(PatchError, match="not a Debian version"):
        compare_versions("x:1.0", "1.0")


# --- small parsers ------------------------------------------------------------------------------


def test_reboot_packages_unique_in_order() -> None:
    assert parse_reboot_packages("linux-image-amd64\nlibc6\n\nlinux-image-amd64\n") == [
        "linux-image-amd64",
        "libc6",
    ]
    assert parse_reboot_packages("") == []


def test_os_release() -> None:
    text = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_CODENAME=trixie\n'
    assert parse_os_release(text) == {"id": "debian", "release": "trixie"}
    assert parse_os_release("garbage") == {"id": None, "release": None}


# --- stage 1 ------------------------------------------------------------------------------------


def test_targets_all_or_security_only_upgrades_of_installed() -> None:
    updates = parse_simulation(
        "Inst b [1] (2 Debian-Security:12/oldstable-security [all])\n"
        "Inst a [1] (3 Debian:12.12/oldstable [all])\n"
        "Inst new (1 Debian-Security:12/oldstable-security [all])\n"
    )["updates"]
    assert targets(updates, "all") == ["a=3", "b=2"]
    assert targets(updates, "security") == ["b=2"]
    with pytest.raises(PatchError, match="scope"):
        targets(updates, "some")


def test_manifest_per_release_with_installs_overriding() -> None:
    result = build_manifest(
        {"st-12": facts(rampart_demo="1.0", bash="5.2"), "st-13": facts(rampart_demo="1.0", bash="5.3")},
        {"st-12": ["rampart-demo=2.0"], "st-13": ["rampart-demo=2.0"]},
        {"st-12": "bookworm", "st-13": "trixie"},
        "all",
        "2027-01-15T08:00:00Z",
        NOW,
    )
    assert result["hosts"] == {"st-12": "bookworm", "st-13": "trixie"}
    assert result["packages"] == {
        "bookworm": {"bash": ["5.2"], "rampart-demo": ["2.0"]},
        "trixie": {"bash": ["5.3"], "rampart-demo": ["2.0"]},
    }
    assert check_manifest(result, NOW + 10, 3600) == result


@pytest.mark.parametrize(
    ("packages", "installs", "releases", "message"),
    [
        pytest.param({}, {}, {}, "no staging host", id="empty"),
        pytest.param({"s": None}, {}, {"s": "bookworm"}, "no package list", id="no-facts"),
        pytest.param({"s": {}}, {}, {}, "no known release", id="no-release"),
        pytest.param({"s": {}}, {"s": ["demo"]}, {"s": "bookworm"}, "not name=version", id="bad-spec"),
    ],
)
def test_manifest_bad_input(packages: Any, installs: Any, releases: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        build_manifest(packages, installs, releases, "all", "t", NOW)


def test_same_approval_ignores_time() -> None:
    old = manifest({"bookworm": {"a": ["1"]}}, age=5000)
    assert same_approval(old, manifest({"bookworm": {"a": ["1"]}}))
    assert not same_approval(old, manifest({"bookworm": {"a": ["2"]}}))
    assert not same_approval({}, manifest({"bookworm": {"a": ["1"]}}))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param([], "not a JSON object", id="list"),
        pytest.param({**manifest({"bookworm": {}}), "format": 2}, "format 2", id="format"),
        pytest.param({**manifest({"bookworm": {}}), "hosts": {}}, "no staging host", id="no-hosts"),
        pytest.param(manifest({"bookworm": {"a": []}}), "release -> name -> list", id="empty-versions"),
        pytest.param({**manifest({"bookworm": {}}), "approved_epoch": "x"}, "no approved_epoch", id="epoch"),
        pytest.param(manifest({"bookworm": {}}, age=-3600), "in the future", id="future"),
        pytest.param(manifest({"bookworm": {}}, age=7300), r"is 2 h old; policy allows 1 h", id="stale"),
    ],
)
def test_check_manifest_refuses(value: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        check_manifest(value, NOW, 3600)


# --- stage 2 ------------------------------------------------------------------------------------


def test_plan_installs_the_approved_version_even_when_newer_exists() -> None:
    approval = manifest({"bookworm": {"rampart-demo": ["2.0"], "rampart-libdemo": ["1.1"], "bash": ["5.2"]}})
    policy = {
        "rampart-demo": table("1.0", "3.0", "2.0", "1.0"),
        "rampart-libdemo": table("1.1", "1.1", "1.0"),
        "bash": table("5.3", "5.3"),
    }
    result = plan(approval, policy, "bookworm")
    assert result["install"] == ["rampart-demo=2.0"]
    assert result["current"] == ["rampart-libdemo"]
    assert result["ahead"] == [{"name": "bash", "installed": "5.3", "approved": ["5.2"]}]
    assert result["unavailable"] == []
    assert result["tested_release"] is True


def test_plan_skips_packages_that_are_not_installed() -> None:
    approval = manifest({"bookworm": {"rampart-demo": ["2.0"]}})
    assert plan(approval, {"rampart-demo": table(None, "2.0")}, "bookworm")["install"] == []
    assert plan(approval, {}, "bookworm")["install"] == []


def test_plan_withdrawn_approved_version_is_unavailable() -> None:
    approval = manifest({"bookworm": {"openssl": ["3.0.20-1"]}})
    result = plan(approval, {"openssl": table("3.0.17-1", "3.0.22-1", "3.0.17-1")}, "bookworm")
    assert result["install"] == []
    assert result["unavailable"] == [{"name": "openssl", "installed": "3.0.17-1", "approved": ["3.0.20-1"]}]


def test_plan_other_release_counts_only_where_offered() -> None:
    approval = manifest({"bookworm": {"rampart-demo": ["2.0"], "tzdata": ["2026f-0+deb12u1"]}})
    policy = {
        "rampart-demo": table("1.0", "3.0", "2.0", "1.0"),
        "tzdata": table("2026c-0+deb13u1", "2026f-0+deb13u1", "2026c-0+deb13u1"),
    }
    result = plan(approval, policy, "trixie")
    assert result["install"] == ["rampart-demo=2.0"]
    assert result["unavailable"] == []  # bookworm's tzdata was never meant for trixie
    assert result["tested_release"] is False


def test_plan_picks_the_newest_approved_that_is_offered() -> None:
    approval = manifest({"bookworm": {"a": ["2.0"]}, "trixie": {"a": ["2.1"]}})
    assert plan(approval, {"a": table("1.0", "2.0", "1.0")}, "bookworm")["install"] == ["a=2.0"]
    assert plan(approval, {"a": table("1.0", "2.1", "2.0", "1.0")}, "bookworm")["install"] == ["a=2.1"]


def test_plan_on_captured_policy() -> None:
    policy = parse_policy((FIXTURES / "policy-bookworm.txt").read_text())
    approval = manifest({"bookworm": {"openssl": ["3.0.22-1~deb12u2"], "sudo": ["1.9.13p3-1+deb12u2"]}})
    result = plan(approval, policy, "bookworm")
    assert result["install"] == ["openssl=3.0.22-1~deb12u2"]


def test_installed_exact_versions() -> None:
    result = installed(["a=2.0", "b=1.1", "c=1"], facts(a="2.0", b="1.0"))
    assert result == {"ok": ["a=2.0"], "missing": ["b=1.1", "c=1"]}


# --- health checks and fleet --------------------------------------------------------------------


def test_health_checks_from_probe_results() -> None:
    checks = health_checks(
        ["ssh", "cron.service", "gone"],
        {"ssh.service": {"state": "running"}, "cron.service": {"state": "stopped"}},
        [
            {
                "item": {"name": "demo", "cmd": "rampart-demo"},
                "rc": 1,
                "stdout": "rampart-demo 4.0",
                "stderr": "",
            },
            {"item": {"cmd": "true"}, "rc": 0, "stdout": "", "stderr": ""},
        ],
        [
            {"item": {"url": "http://a/"}, "status": 200},
            {"item": {"url": "http://b/", "status": [200, 204]}, "status": -1, "msg": "Connection refused"},
        ],
    )
    assert [(c["name"], c["ok"]) for c in checks] == [
        ("service ssh is running", True),
        ("service cron.service is running", False),
        ("service gone is running", False),
        ("health command demo succeeds", False),
        ("health command true succeeds", True),
        ("URL http://a/ answers", True),
        ("URL http://b/ answers", False),
    ]
    assert checks[2]["evidence"] == "gone.service not found"
    assert checks[3]["evidence"] == "rc 1: rampart-demo 4.0"
    assert checks[6]["evidence"] == "HTTP -1, expected [200, 204]: Connection refused"


def info(security: int, other: int, reboot: bool = False) -> dict[str, Any]:
    updates = [{"name": f"s{i}", "security": True} for i in range(security)]
    updates += [{"name": f"o{i}", "security": False} for i in range(other)]
    return {
        "counts": {"total": security + other, "security": security, "other": other},
        "updates": updates,
        "reboot_required": reboot,
        "reboot_packages": ["libc6"] if reboot else [],
    }


def test_fleet_ranked_by_exposure() -> None:
    report = fleet_report(
        {
            "quiet": info(0, 0),
            "many-other": info(0, 9),
            "reboot": info(1, 0, reboot=True),
            "security": info(3, 0),
            "b-same": info(1, 0),
            "a-same": info(1, 0),
            "failed": {"failed": True, "msg": "apt-get failed"},
            "absent": None,
        }
    )
    assert [h["host"] for h in report["hosts"]] == [
        "security",
        "reboot",
        "a-same",
        "b-same",
        "many-other",
        "quiet",
    ]
    assert report["unreported"] == ["absent", "failed"]
    assert report["totals"] == {
        "hosts": 6,
        "security": 6,
        "updates": 15,
        "hosts_with_security_updates": 4,
        "hosts_needing_reboot": 1,
    }
    assert report["hosts"][0]["security_packages"] == ["s0", "s1", "s2"]


def audit_result(age: int | None, updated: bool, origins: bool = True) -> dict[str, Any]:
    origin = (
        [{"label": "Debian-Security", "version": "12", "archive": "oldstable-security"}] if origins else []
    )
    return {
        "counts": {"total": 1, "security": 1, "other": 0},
        "updates": [{"name": "libssl3", "origins": origin, "security": origins}],
        "reboot_required": True,
        "reboot_packages": ["libc6"],
        "cache": {"age": age, "updated": updated},
    }


@pytest.mark.parametrize(
    ("age", "updated", "ok", "evidence"),
    [
        (10, True, True, "package lists refreshed by this run (at most 3600 s allowed)"),
        (600, False, True, "package lists 600 s old"),
        (7200, False, False, "package lists 7200 s old"),
        (None, False, False, "package lists of unknown age"),
    ],
)
def test_pat01_needs_current_package_lists(age: int | None, updated: bool, ok: bool, evidence: str) -> None:
    lists, _ = audit_checks(audit_result(age, updated), 3600)
    assert lists["ok"] is ok
    assert evidence in lists["evidence"]


def test_pat01_needs_every_update_classified() -> None:
    _, classified = audit_checks(audit_result(10, True), 3600)
    assert classified["ok"] is True
    assert classified["evidence"] == "1 pending, 1 security (libssl3), 0 other; reboot required by libc6"
    _, unclassified = audit_checks(audit_result(10, True, origins=False), 3600)
    assert unclassified["ok"] is False
    assert unclassified["evidence"].endswith("; no origin for libssl3")
