"""Tests for the firewall filters: errors come back as AnsibleFilterError naming the bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.firewall import (
    FilterModule,
    firewall_acl,
    firewall_admits,
    firewall_applied_drift,
    firewall_carry_over,
    firewall_drift,
    firewall_group_hosts,
    firewall_normalise,
    firewall_ruleset,
    firewall_ruleset_hash,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "nft" / "bookworm"
RULES = {"firewall_rules": [{"name": "ssh", "ports": [22], "sources": ["group:admins"]}]}
HOSTVARS = {"admin1": {"firewall_addresses": ["192.0.2.10"]}}


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {
        "firewall_acl",
        "firewall_ruleset",
        "firewall_ruleset_hash",
        "firewall_carry_over",
        "firewall_admits",
        "firewall_normalise",
        "firewall_drift",
        "firewall_applied_drift",
        "firewall_static_sets",
        "firewall_group_hosts",
    }


def test_group_hosts_reads_each_hosts_group_with_all_as_the_default() -> None:
    hostvars = {"fw1": {"firewall_group": "edge"}, "fw2": {}, "fw3": {"firewall_group": "edge"}}
    assert firewall_group_hosts(["fw3", "fw1", "fw2"], hostvars, "edge") == ["fw3", "fw1"]
    assert firewall_group_hosts(["fw1", "fw2"], hostvars, "all") == ["fw2"]
    with pytest.raises(AnsibleFilterError, match="expected a list of host names"):
        firewall_group_hosts("fw1", hostvars, "all")


def test_applied_drift_filter_reads_nft_json() -> None:
    assert firewall_applied_drift("", {"sha256": "a" * 64, "table": {}}, "a" * 64) == [
        "the table is not loaded"
    ]
    with pytest.raises(AnsibleFilterError, match="compiled ruleset's hash"):
        firewall_applied_drift("", None, None)


def test_carry_over_filter() -> None:
    listing = (FIXTURES / "list_table.txt").read_text()
    assert firewall_carry_over(listing, "rampart").startswith(
        "add element inet rampart deny_v4 { 203.0.113.7 "
    )
    with pytest.raises(AnsibleFilterError, match="firewall_carry_over: expected nft list output"):
        firewall_carry_over(None)


def test_acl_ruleset_and_proof() -> None:
    acl = firewall_acl(RULES, {"admins": ["admin1"]}, HOSTVARS, {}, ["192.0.2.0/24"])
    assert (
        "set src_ssh_v4 { type ipv4_addr; flags interval; elements = { 192.0.2.10/32 } }"
        in firewall_ruleset(acl)
    )
    assert firewall_admits(acl, "192.0.2.10", 22) == {
        "admitted": True,
        "exempt": True,
        "reason": "firewall_rules[0] (ssh) accepts tcp/22 from 192.0.2.10",
    }
    assert firewall_admits(acl, "198.51.100.1", "22")["admitted"] is False


def test_errors_name_variable_and_value() -> None:
    with pytest.raises(
        AnsibleFilterError, match=r"firewall_acl: firewall_rules\[0\] \(ssh\)\.sources\[0\]: 'group:admins'"
    ):
        firewall_acl(RULES, {}, {})
    with pytest.raises(AnsibleFilterError, match="firewall_ruleset: firewall_ssh_rate: 'fast'"):
        firewall_ruleset(firewall_acl({}), {"ssh_rate": "fast"})
    with pytest.raises(AnsibleFilterError, match="bad address 'nope'"):
        firewall_admits(firewall_acl({}), "nope", 22)
    with pytest.raises(AnsibleFilterError, match="expected the output of firewall_acl"):
        firewall_ruleset([])


def test_normalise_takes_text_and_drift_compares() -> None:
    text = (FIXTURES / "member_a.json").read_text()
    a = firewall_normalise(text)
    b = firewall_normalise(json.loads((FIXTURES / "member_drifted.json").read_text()))
    report = firewall_drift({"fw1": a, "fw2": a, "fw3": b})
    assert report["in_sync"] == ["fw1", "fw2"]
    assert list(report["drifted"]) == ["fw3"]
    assert firewall_normalise("") is None
    with pytest.raises(AnsibleFilterError, match="firewall_normalise: not nft -j output"):
        firewall_normalise("{}")
    with pytest.raises(AnsibleFilterError, match="firewall_drift: no members"):
        firewall_drift({})


def test_ruleset_hash_from_the_kernel_listing() -> None:
    listing = (FIXTURES / "list_table.txt").read_text()
    rendered = (FIXTURES.parent / "ruleset.nft").read_text()
    assert firewall_ruleset_hash(listing) == firewall_ruleset_hash(rendered) is not None
    assert firewall_ruleset_hash("") is None
    assert firewall_ruleset_hash(None) is None
