"""Tests for the patch staging filters: shapes in, clear errors out."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.patch import (
    FilterModule,
    patch_approved_names,
    patch_audit_checks,
    patch_fleet_report,
    patch_health_checks,
    patch_installed,
    patch_manifest,
    patch_manifest_check,
    patch_plan,
    patch_same_approval,
    patch_targets,
)

INFO: dict[str, Any] = {
    "counts": {"total": 2, "security": 1, "other": 1},
    "updates": [
        {"name": "rampart-libdemo", "installed": "1.0", "candidate": "1.1", "security": True},
        {"name": "rampart-demo", "installed": "1.0", "candidate": "3.0", "security": False},
    ],
    "reboot_required": False,
    "reboot_packages": [],
}


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {
        "patch_fleet_report",
        "patch_targets",
        "patch_manifest",
        "patch_manifest_check",
        "patch_same_approval",
        "patch_plan",
        "patch_approved_names",
        "patch_installed",
        "patch_health_checks",
        "patch_audit_checks",
    }


def test_audit_checks_refuse_what_is_not_a_patch_info_result() -> None:
    with pytest.raises(AnsibleFilterError, match="patch_audit_checks: expected a patch_info result"):
        patch_audit_checks({"updates": []}, 3600)
    checks = patch_audit_checks({**INFO, "cache": {"age": 10, "updated": False}}, 3600)
    assert [c["ok"] for c in checks] == [True, False]  # the fixture's updates name no origin


def test_fleet_report_from_hostvars_limited_to_the_play() -> None:
    hostvars = {
        "a": {"__patch": INFO},
        "b": {"__patch": {**INFO, "counts": {"total": 0, "security": 0}}},
        "c": {},
    }
    report = patch_fleet_report(hostvars, "__patch", ["a", "b"])
    assert [h["host"] for h in report["hosts"]] == ["a", "b"]
    assert report["unreported"] == []
    assert patch_fleet_report(hostvars, "__patch")["unreported"] == ["c"]


def test_targets_and_manifest_round_trip() -> None:
    installs = patch_targets(INFO, "security")
    assert installs == ["rampart-libdemo=1.1"]
    packages = {"st": {"rampart-libdemo": [{"version": "1.0"}], "rampart-demo": [{"version": "1.0"}]}}
    manifest = patch_manifest(
        packages, {"st": installs}, {"st": "bookworm"}, "security", "2027-01-15T08:00:00Z", 100
    )
    assert manifest["packages"] == {"bookworm": {"rampart-demo": ["1.0"], "rampart-libdemo": ["1.1"]}}
    assert patch_approved_names(manifest) == ["rampart-demo", "rampart-libdemo"]
    assert patch_manifest_check(manifest, 200, 3600) == manifest
    assert patch_same_approval(manifest, {**manifest, "approved_at": "later", "approved_epoch": 300})
    policy = {"rampart-libdemo": {"installed": "1.0", "versions": [{"version": "1.1"}, {"version": "1.0"}]}}
    assert patch_plan(manifest, policy, "bookworm")["install"] == ["rampart-libdemo=1.1"]
    assert (
        patch_installed(["rampart-libdemo=1.1"], {"rampart-libdemo": [{"version": "1.1"}]})["missing"] == []
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: patch_fleet_report([]), "patch_fleet_report: expected a dict", id="fleet"),
        pytest.param(lambda: patch_fleet_report({}, None, "a"), "hosts must be a list", id="fleet-hosts"),
        pytest.param(lambda: patch_targets({}), "patch_targets: expected a patch_info result", id="targets"),
        pytest.param(lambda: patch_targets(INFO, "most"), "scope must be", id="targets-scope"),
        pytest.param(lambda: patch_manifest([], {}, {}, "all", "t", 1), "expected dicts", id="manifest"),
        pytest.param(
            lambda: patch_manifest({}, {}, {}, "all", "t", 1), "no staging host", id="manifest-empty"
        ),
        pytest.param(
            lambda: patch_manifest_check(None, 0, 3600),
            "production refused: the approval manifest",
            id="check",
        ),
        pytest.param(lambda: patch_same_approval({}, None), "expected a manifest", id="same"),
        pytest.param(lambda: patch_plan({}, {}, None), "expected a manifest, a patch_info policy", id="plan"),
        pytest.param(lambda: patch_approved_names("x"), "expected a manifest", id="names"),
        pytest.param(lambda: patch_installed("a=1", {}), "list of name=version", id="installed"),
        pytest.param(lambda: patch_installed(["a"], {}), "not name=version", id="installed-spec"),
        pytest.param(lambda: patch_health_checks("ssh"), "services must be a list", id="health"),
        pytest.param(lambda: patch_health_checks([], []), "service_facts", id="health-states"),
    ],
)
def test_bad_input_names_the_problem(call: Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        call()
