"""Tests for the audit filters: audit_rules and audit_fleet_summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.audit import (
    FilterModule,
    audit_fleet_summary,
    audit_rules,
)
from ansible_collections.rampart.hardening.plugins.module_utils.audit import summarise_log

SAMPLE = Path(__file__).resolve().parents[3] / "fixtures" / "audit" / "logs" / "sample.log"


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"audit_rules", "audit_fleet_summary"}


def test_audit_rules_renders() -> None:
    assert audit_rules(
        [
            {"control": "-b 8192"},
            {"key": "AUD-03-identity", "watch": "/etc/passwd", "perms": "wa"},
            {"key": "AUD-05-power", "syscalls": ["reboot", "kexec_load"], "arch": "b64"},
        ]
    ) == [
        "-b 8192",
        "-w /etc/passwd -p wa -k AUD-03-identity",
        "-a always,exit -F arch=b64 -S reboot,kexec_load -k AUD-05-power",
    ]


def test_audit_rules_errors_name_the_rule() -> None:
    with pytest.raises(AnsibleFilterError) as info:
        audit_rules(
            [{"key": "AUD-03-identity", "watch": "/etc/passwd"}, {"key": "identity", "watch": "/etc/group"}]
        )
    assert str(info.value).startswith("audit_rules: rule 1 (key 'identity'): key 'identity' must start with")


def host_summary(failed: dict[str, int], sources: dict[str, int], **extra: Any) -> dict[str, Any]:
    summary = {
        "changed": False,
        "events": 10,
        "failed_logins": {
            "total": sum(failed.values()),
            "by_user": failed,
            "by_source": sources,
            "by_type": {},
        },
        "successful_logins": {"total": 1, "by_user": {}, "by_source": {}},
        "identity_changes": {"total": 0},
        "policy_changes": {"total": 0},
        "restarts": {"total": 0},
        "privileged_commands": {"total": 0, "failed": 0},
        "keys": {},
        "range": {"start": "2026-01-01T10:00:00.000Z", "end": "2026-01-01T11:00:00.000Z"},
    }
    summary.update(extra)
    return summary


def test_fleet_ranks_hosts_and_merges_top_lists() -> None:
    with SAMPLE.open(encoding="utf-8") as handle:
        real = summarise_log(handle)
    results = {
        "web1": host_summary({"bob": 3, "root": 1}, {"203.0.113.9": 4}),
        "web2": host_summary(
            {"root": 2},
            {"203.0.113.9": 2},
            keys={"AUD-02-access-denied": {"total": 3, "success": 1, "failure": 2}},
            range={"start": "2025-12-31T09:00:00.000Z", "end": "2026-01-02T00:00:00.000Z"},
        ),
        "db1": real,
        "db2": {"failed": True, "msg": "cannot read /var/log/audit/audit.log"},
        "db3": {"skipped": True},
    }
    fleet = audit_fleet_summary(results, top=3)
    assert fleet["hosts"] == 3
    assert fleet["unreported"] == ["db2", "db3"]
    assert [h["host"] for h in fleet["hosts_ranked"]] == ["db1", "web1", "web2"]
    db1 = fleet["hosts_ranked"][0]
    assert db1["score"] == 9 + 5 + 5 + 0 + 3  # failed logins, identity, policy, sudo failures, keyed failures
    assert fleet["hosts_ranked"][2] == {
        "host": "web2",
        "score": 4,
        "failed_logins": 2,
        "identity_changes": 0,
        "policy_changes": 0,
        "failed_privileged_commands": 0,
        "failed_keyed_syscalls": 2,
        "restarts": 0,
        "events": 10,
    }
    assert fleet["top_failed_login_users"] == [
        {"user": "bob", "count": 7, "hosts": ["db1", "web1"]},
        {"user": "root", "count": 4, "hosts": ["db1", "web1", "web2"]},
        {"user": "(invalid user)", "count": 1, "hosts": ["db1"]},
    ]
    assert fleet["top_failed_login_sources"][0] == {
        "source": "203.0.113.9",
        "count": 11,
        "hosts": ["db1", "web1", "web2"],
    }
    assert fleet["keys"]["AUD-02-access-denied"] == {"total": 5, "success": 1, "failure": 4, "hosts": 2}
    assert fleet["totals"]["failed_logins"] == 15
    assert fleet["totals"]["successful_logins"] == 3
    assert fleet["range"] == {"start": "2025-12-31T09:00:00.000Z", "end": "2026-01-02T00:00:00.000Z"}


def test_fleet_from_hostvars_with_key_and_from_a_list() -> None:
    hostvars = {
        "a": {"__audit_summary": host_summary({"x": 1}, {"10.0.0.1": 1}), "ansible_host": "a"},
        "b": {"ansible_host": "b"},
    }
    fleet = audit_fleet_summary(hostvars, "__audit_summary")
    assert fleet["hosts"] == 1
    assert fleet["unreported"] == ["b"]
    listed = audit_fleet_summary([{"host": "a", **host_summary({"x": 2}, {})}])
    assert listed["top_failed_login_users"] == [{"user": "x", "count": 2, "hosts": ["a"]}]
    empty = audit_fleet_summary({})
    assert empty["hosts"] == 0
    assert empty["hosts_ranked"] == []
    assert empty["range"] == {"start": None, "end": None}


def test_fleet_ties_are_broken_by_host_name() -> None:
    fleet = audit_fleet_summary({"b": host_summary({"x": 1}, {}), "a": host_summary({"y": 1}, {})})
    assert [h["host"] for h in fleet["hosts_ranked"]] == ["a", "b"]


@pytest.mark.parametrize(
    ("results", "kwargs", "message"),
    [
        ("text", {}, "expected a dict of host"),
        ([1], {}, "item 0 is not a dict"),
        ([{"events": 1}], {}, "item 0 has no 'host'"),
        ({}, {"top": 0}, "top must be a positive integer"),
        ({}, {"top": True}, "top must be a positive integer"),
    ],
)
def test_fleet_bad_input(results: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        audit_fleet_summary(results, **kwargs)
