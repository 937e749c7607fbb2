"""Tests for module_utils/nft.py: access lists against the standard library's ipaddress (hypothesis),
the rendered ruleset (accepted by the real nft in a throwaway network namespace when possible), and
parsing and normalising real ``nft -j`` output captured with nftables 1.0.6 (tests/fixtures/nft/)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils import nft
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "nft"


def load(name: str) -> Any:
    return json.loads((FIXTURES / "bookworm" / name).read_text())


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

v4_networks = st.builds(
    lambda addr, plen: ipaddress.ip_network(f"{ipaddress.IPv4Address(addr)}/{plen}", strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)
v6_networks = st.builds(
    lambda addr, plen: ipaddress.ip_network(f"{ipaddress.IPv6Address(addr)}/{plen}", strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(16, 128),
)
networks = st.one_of(v4_networks, v6_networks)
ports = st.integers(1, 65535)


def rule(name: str, nets: list[Any], port_list: list[int], action: str = "accept") -> dict[str, Any]:
    return {"name": name, "ports": port_list, "sources": [str(n) for n in nets], "action": action}


# ---------------------------------------------------------------------------
# Addresses, ports, merging
# ---------------------------------------------------------------------------


@given(st.text(alphabet="0123456789abcdef.:/", min_size=1, max_size=45))
def test_parse_network_accepts_exactly_what_ipaddress_accepts(text: str) -> None:
    try:
        expected = ipaddress.ip_network(text, strict=True)
    except ValueError:
        with pytest.raises(nft.FirewallError, match=re.escape(repr(text))):
            nft.parse_network(text, "firewall_rules[0] (x).sources[0]")
    else:
        assert nft.parse_network(text, "where") == expected


def test_host_bits_error_suggests_the_network() -> None:
    with pytest.raises(
        nft.FirewallError, match=r"firewall_rules\[0\].*'10.1.2.3/8' has host bits set.*10.0.0.0/8"
    ):
        nft.parse_network("10.1.2.3/8", "firewall_rules[0]")


@given(st.lists(networks, min_size=1, max_size=12), st.lists(st.one_of(v4_networks, v6_networks), max_size=4))
def test_merged_sources_cover_exactly_the_inputs(nets: list[Any], probes: list[Any]) -> None:
    acl = nft.compile_acl({"firewall_rules": [rule("r", nets, [22])]})
    compiled = acl["rules"][0]
    expected_v4 = [str(n) for n in ipaddress.collapse_addresses([n for n in nets if n.version == 4])]
    expected_v6 = [str(n) for n in ipaddress.collapse_addresses([n for n in nets if n.version == 6])]
    assert compiled["ipv4"] == expected_v4
    assert compiled["ipv6"] == expected_v6
    merged = [ipaddress.ip_network(n) for n in compiled["ipv4"] + compiled["ipv6"]]
    # No two merged networks overlap, and an address is inside the merged list iff it is inside an input.
    for i, a in enumerate(merged):
        assert not any(a.overlaps(b) for b in merged[i + 1 :])
    for probe in [n.network_address for n in nets] + [n.broadcast_address for n in probes]:
        assert any(probe in n for n in nets) == any(probe in n for n in merged)


@given(st.lists(st.one_of(ports, st.tuples(ports, ports)), min_size=1, max_size=10), ports)
def test_port_ranges_match_membership(items: list[Any], probe: int) -> None:
    spec: list[Any] = [i if isinstance(i, int) else f"{min(i)}-{max(i)}" for i in items]
    merged = nft.parse_ports(spec, "where")
    inside = any(p == probe if isinstance(p, int) else min(p) <= probe <= max(p) for p in items)
    assert inside == any(lo <= probe <= hi for lo, hi in merged)
    assert all(merged[i][1] + 1 < merged[i + 1][0] for i in range(len(merged) - 1))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "0 is not a port"),
        (65536, "65536 is not a port"),
        ("80-70", "'80-70' is not a port"),
        ("http", "'http' is not a port"),
        (True, "True is not a port"),
        ([], "no ports given"),
    ],
)
def test_bad_ports_are_named(value: Any, message: str) -> None:
    with pytest.raises(
        nft.FirewallError, match=rf"firewall_host_rules\[0\] \(web\)\.ports: .*{re.escape(message)}"
    ):
        nft.compile_acl({"firewall_host_rules": [{"name": "web", "ports": value, "sources": ["any"]}]})


# ---------------------------------------------------------------------------
# Access lists from inventory
# ---------------------------------------------------------------------------

HOSTVARS = {
    "app1": {
        "ansible_facts": {"default_ipv4": {"address": "10.20.0.5"}, "default_ipv6": {"address": "fd00:20::5"}}
    },
    "app2": {"firewall_addresses": ["10.20.1.0/24"]},
    "app3": {"ansible_host": "192.0.2.30"},
    "local": {"ansible_host": "127.0.0.1"},
}
GROUPS = {"all": list(HOSTVARS), "app": ["app1", "app2", "app3"], "empty": [], "lab": ["local"]}


def test_group_sources_resolve_to_member_addresses() -> None:
    acl = nft.compile_acl(
        {"firewall_rules": [{"name": "db", "ports": [5432], "sources": ["group:app", "net:admin"]}]},
        GROUPS,
        HOSTVARS,
        {"admin": ["198.51.100.0/24"]},
    )
    assert acl["rules"][0]["ipv4"] == ["10.20.0.5/32", "10.20.1.0/24", "192.0.2.30/32", "198.51.100.0/24"]
    assert acl["rules"][0]["ipv6"] == ["fd00:20::5/128"]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (["group:nope"], r"firewall_rules\[0\] \(db\)\.sources\[0\]: 'group:nope' names a group that is not"),
        (["group:empty"], "names an empty group"),
        (["group:lab"], "no address is known for host 'local'"),
        (["net:nope"], "not in firewall_networks"),
        (["host:ghost"], "host 'ghost' is not in the inventory"),
        (["10.0.0.256"], r"'10.0.0.256' is not an IPv4/IPv6 address"),
        ([], "must be a non-empty list"),
    ],
)
def test_bad_sources_are_named(sources: list[str], message: str) -> None:
    with pytest.raises(nft.FirewallError, match=message):
        nft.compile_acl(
            {"firewall_rules": [{"name": "db", "ports": [5432], "sources": sources}]}, GROUPS, HOSTVARS
        )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"name": "Bad-Name", "ports": [1], "sources": ["any"]}, "name 'Bad-Name' must match"),
        (
            {"name": "x", "ports": [1], "sources": ["any"], "proto": "icmp"},
            r"\(x\)\.proto: 'icmp' is not one of tcp, udp",
        ),
        ({"name": "x", "ports": [1], "sources": ["any"], "action": "allow"}, "'allow' is not one of accept"),
        ({"name": "x", "sources": ["any"]}, "ports is missing"),
        ({"name": "x", "ports": [1]}, "sources is missing"),
        ({"name": "x", "ports": [1], "sources": ["any"], "port": 2}, "unknown key"),
        ("ssh", "must be a dict"),
    ],
)
def test_bad_rules_are_named(item: Any, message: str) -> None:
    with pytest.raises(nft.FirewallError, match=rf"firewall_rules\[0\].*{message}"):
        nft.compile_acl({"firewall_rules": [item]})


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(
        nft.FirewallError,
        match=r"firewall_host_rules\[0\] \(ssh\): the name is already used by firewall_rules\[0\]",
    ):
        nft.compile_acl(
            {
                "firewall_rules": [{"name": "ssh", "ports": [22], "sources": ["any"]}],
                "firewall_host_rules": [{"name": "ssh", "ports": [22], "sources": ["10.0.0.0/8"]}],
            }
        )


TIERS = {
    "firewall_rules": [
        {"name": "ssh", "ports": [22], "sources": ["198.51.100.0/24"]},
        {"name": "postgres", "ports": [5432], "sources": ["group:app"], "targets": ["group:db"]},
        {"name": "syslog", "ports": [6514], "sources": ["group:all"], "targets": ["host:logs"]},
    ]
}
TIER_HOSTVARS = {**HOSTVARS, "db1": {"rampart_address": "10.30.0.1"}, "logs": {"ansible_host": "10.40.0.1"}}
TIER_GROUPS = {"all": ["app1", "app2", "app3", "db1", "logs"], "app": ["app1", "app2", "app3"], "db": ["db1"]}


@pytest.mark.parametrize(
    ("host", "rules"),
    [
        ("db1", ["ssh", "postgres"]),
        ("logs", ["ssh", "syslog"]),
        ("app1", ["ssh"]),
        (None, ["ssh", "postgres", "syslog"]),
    ],
)
def test_targets_choose_the_hosts_a_rule_is_compiled_for(host: str | None, rules: list[str]) -> None:
    acl = nft.compile_acl(TIERS, TIER_GROUPS, TIER_HOSTVARS, host=host)
    assert [r["name"] for r in acl["rules"]] == rules
    assert all("targets" not in r for r in acl["rules"])


def test_a_tier_the_inventory_lacks_applies_nowhere_and_its_sources_are_not_needed() -> None:
    """The example's list on an inventory without a collector, or without an application tier."""
    rules = {
        "firewall_rules": [
            {"name": "ssh", "ports": [22], "sources": ["198.51.100.0/24"]},
            {
                "name": "syslog",
                "ports": [6514],
                "sources": ["group:all"],
                "targets": ["group:log_collectors"],
            },
            {"name": "postgres", "ports": [5432], "sources": ["group:web"], "targets": ["group:db"]},
        ]
    }
    acl = nft.compile_acl(rules, TIER_GROUPS, TIER_HOSTVARS, host="app1")
    assert [r["name"] for r in acl["rules"]] == ["ssh"]
    with pytest.raises(nft.FirewallError, match=r"\(postgres\)\.sources\[0\]: 'group:web' names a group"):
        nft.compile_acl(rules, TIER_GROUPS, TIER_HOSTVARS, host="db1")  # where it applies, it must resolve


def test_rampart_address_is_a_peer_address() -> None:
    acl = nft.compile_acl(
        {"firewall_rules": [{"name": "db", "ports": [5432], "sources": ["host:db1"]}]},
        TIER_GROUPS,
        TIER_HOSTVARS,
    )
    assert acl["rules"][0]["ipv4"] == ["10.30.0.1/32"]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["host:ghost"], r"firewall_rules\[0\] \(db\)\.targets\[0\]: 'host:ghost' names a host that is not"),
        (["db"], "is not 'group:NAME' or 'host:NAME'"),
        ([], "must be a non-empty list"),
    ],
)
def test_bad_targets_are_named_on_every_host(targets: list[str], message: str) -> None:
    rule = {"name": "db", "ports": [5432], "sources": ["any"], "targets": targets}
    with pytest.raises(nft.FirewallError, match=message):
        nft.compile_acl({"firewall_rules": [rule]}, TIER_GROUPS, TIER_HOSTVARS, host="app1")


def test_exempt_may_not_be_any() -> None:
    with pytest.raises(nft.FirewallError, match="firewall_rate_exempt: 'any'"):
        nft.compile_acl({}, exempt=["any"])


def first_match(rules: list[dict[str, Any]], addr: Any, port: int) -> int | None:
    """The reference evaluation: the index of the first raw rule matching, straight from ipaddress."""
    for index, r in enumerate(rules):
        if port in r["ports"] and any(addr in ipaddress.ip_network(s) for s in r["sources"]):
            return index
    return None


raw_rules = st.lists(
    st.tuples(
        st.lists(networks, min_size=1, max_size=3),
        st.lists(st.integers(20, 30), min_size=1, max_size=3),
        st.sampled_from(["accept", "drop"]),
    ),
    min_size=1,
    max_size=6,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(raw_rules, st.lists(networks, min_size=1, max_size=6), st.integers(20, 30))
def test_admits_and_shadowing_agree_with_a_first_match_reference(
    specs: list[Any], probe_nets: list[Any], port: int
) -> None:
    rules = [rule(f"r{i}", nets, ports_, action) for i, (nets, ports_, action) in enumerate(specs)]
    acl = nft.compile_acl({"firewall_rules": rules})
    dead = {m.split(" ")[0] for m in acl["shadowed"] + acl["conflicts"]}
    probes = [n.network_address for n in probe_nets] + [
        n.network_address for nets, _, _ in specs for n in nets
    ]
    for addr in probes:
        index = first_match(rules, addr, port)
        admitted, reason = nft.admits(acl, str(addr), port)
        assert admitted == (index is not None and rules[index]["action"] == "accept"), reason
        # A rule reported as shadowed or contradicted never decides a connection.
        if index is not None:
            assert f"firewall_rules[{index}]" not in dead
    # A rule that is not reported decides at least its own first address on its first port, unless
    # an earlier rule covers only part of it: then it must really be partly covered.
    for i, r in enumerate(rules):
        if f"firewall_rules[{i}]" in dead:
            for s in r["sources"]:
                net = ipaddress.ip_network(s)
                for addr in (net.network_address, net.broadcast_address):
                    for p in r["ports"]:
                        assert first_match(rules, addr, p) != i


def test_shadowed_and_contradicting_rules_are_reported() -> None:
    acl = nft.compile_acl(
        {
            "firewall_rules": [
                {"name": "ssh", "ports": [22], "sources": ["10.0.0.0/8"]},
                {"name": "ssh_again", "ports": [22], "sources": ["10.1.0.0/16"]},
                {"name": "ssh_block", "ports": [22], "sources": ["10.2.0.0/16"], "action": "drop"},
                {"name": "ssh_other", "ports": [22], "sources": ["192.0.2.0/24"], "action": "drop"},
            ]
        }
    )
    assert acl["shadowed"] == [
        "firewall_rules[1] (ssh_again) is shadowed by firewall_rules[0] (ssh): "
        "every connection it accepts is already accepted there"
    ]
    assert acl["conflicts"] == [
        "firewall_rules[2] (ssh_block) (drop) contradicts firewall_rules[0] (ssh) (accept), "
        "which comes first and decides every connection it matches"
    ]


# ---------------------------------------------------------------------------
# The ruleset
# ---------------------------------------------------------------------------

ACL = nft.compile_acl(
    {
        "firewall_rules": [
            {"name": "ssh", "ports": [22], "sources": ["10.0.0.0/8", "2001:db8::/32"]},
            {"name": "web", "ports": [80, 443], "sources": ["any"]},
            {"name": "db", "ports": [5432], "sources": ["192.168.10.0/24", "fd00:10::/64"]},
        ]
    },
    exempt=["10.0.0.0/24"],
)


def test_rendered_fixture_is_current() -> None:
    """tests/fixtures/nft/ruleset.nft is what the captures were loaded from; it must still render so."""
    assert nft.render_ruleset(ACL, {"deny_timeout": 600}) == (FIXTURES / "ruleset.nft").read_text()


def test_ruleset_replaces_only_its_table_and_carries_its_hash() -> None:
    text = nft.render_ruleset(ACL)
    lines = text.splitlines()
    assert lines[:3] == ["table inet rampart", "delete table inet rampart", "table inet rampart {"]
    assert "flush ruleset" not in text
    assert re.findall(r"^(?:delete )?table (\S+ \S+)", text, re.MULTILINE) == ["inet rampart"] * 3
    digest = nft.ruleset_hash_of(text)
    assert digest is not None
    assert nft.ruleset_hash_of(nft.render_ruleset(ACL, {"deny_timeout": 60})) != digest
    assert "policy drop;" in text
    assert "ip saddr @src_ssh_v4 tcp dport 22 accept" in text
    assert "tcp dport { 80, 443 } accept" in text


def test_hash_is_read_back_from_the_kernel_listing() -> None:
    listing = (FIXTURES / "bookworm" / "list_table.txt").read_text()
    assert nft.ruleset_hash_of(listing) == nft.ruleset_hash_of((FIXTURES / "ruleset.nft").read_text())


def test_rate_rules_can_be_switched_off() -> None:
    text = nft.render_ruleset(ACL, {"ssh_rate": "", "scan_rate": None, "syn_rate": ""})
    assert "ssh_meter" not in text
    assert "syn_meter" not in text
    assert "scan_meter" in text  # None means the default


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"ssh_rate": "10 per minute"}, "firewall_ssh_rate: '10 per minute' is not a rate"),
        ({"deny_timeout": 0}, "firewall_deny_timeout: 0 must be a positive"),
        ({"table": "Rampart"}, "firewall_table"),
        ({"ssh_ports": [0]}, r"firewall_ssh_ports: .*0 is not a port"),
        ({"colour": 1}, "unknown key"),
    ],
)
def test_bad_settings_are_named(settings_: dict[str, Any], message: str) -> None:
    with pytest.raises(nft.FirewallError, match=message):
        nft.render_ruleset(ACL, settings_)


def nft_in_netns(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "-n", "nft", "-c", "-f", "-"], input=script, capture_output=True, text=True, check=False
    )


NFT = shutil.which("nft") is not None and shutil.which("unshare") is not None and os.geteuid() == 0


@pytest.mark.skipif(not NFT, reason="needs nft, unshare and root")
@settings(max_examples=20, deadline=None)
@given(raw_rules, st.lists(networks, max_size=3))
def test_real_nft_accepts_every_rendered_ruleset(specs: list[Any], exempt: list[Any]) -> None:
    rules = [rule(f"r{i}", nets, ports_, action) for i, (nets, ports_, action) in enumerate(specs)]
    acl = nft.compile_acl({"firewall_rules": rules}, exempt=[str(n) for n in exempt] or None)
    result = nft_in_netns(nft.render_ruleset(acl))
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------
# nft -j output
# ---------------------------------------------------------------------------


def test_members_with_the_same_rules_normalise_equal() -> None:
    """Different handles, other tables, different deny entries: no drift."""
    a = nft.normalise_table(load("member_a.json"))
    b = nft.normalise_table(load("member_b.json"))
    assert a is not None
    assert a == b
    assert a["sets"]["src_ssh_v4"]["elements"] == ["10.0.0.0/8"]
    assert "elements" not in a["sets"]["deny_v4"]
    assert nft.drift({"fw1": a, "fw2": b}) == {"reference": "fw1", "in_sync": ["fw1", "fw2"], "drifted": {}}


def test_drift_names_the_differences() -> None:
    a = nft.normalise_table(load("member_a.json"))
    report = nft.drift(
        {
            "fw1": a,
            "fw2": nft.normalise_table(load("member_b.json")),
            "fw3": nft.normalise_table(load("member_drifted.json")),
            "fw4": nft.normalise_table(load("member_missing.json")),
        }
    )
    assert report["reference"] == "fw1"
    assert report["in_sync"] == ["fw1", "fw2"]
    assert report["drifted"]["fw4"] == ["the table is missing"]
    assert report["drifted"]["fw3"] == [
        "table.rules.input: 23 rules on this member, 22 on the reference",
        "table.sets.src_ssh_v4.elements: extra 172.16.0.0/12",
    ]


def test_the_kernel_matches_the_applied_ruleset() -> None:
    """NET-02: the kernel's table against the form kept when the compiled ruleset was applied."""
    applied = {"sha256": "a" * 64, "table": nft.normalise_table(load("member_a.json"))}
    same = nft.normalise_table(load("member_b.json"))  # other handles and deny entries
    assert nft.applied_drift(same, applied, "a" * 64) == []


def test_a_rule_added_by_hand_is_drift_from_the_applied_ruleset() -> None:
    applied = {"sha256": "a" * 64, "table": nft.normalise_table(load("member_a.json"))}
    edited = nft.normalise_table(load("member_drifted.json"))
    assert nft.applied_drift(edited, applied, "a" * 64) == [
        "table.rules.input: 23 rules on the kernel, 22 on the applied ruleset",
        "table.sets.src_ssh_v4.elements: extra 172.16.0.0/12",
    ]


@pytest.mark.parametrize(
    ("kernel", "applied", "message"),
    [
        (None, {"sha256": "a" * 64, "table": {}}, "the table is not loaded"),
        ({}, None, "no record of the applied ruleset's form in the kernel"),
        (
            {},
            {"sha256": "b" * 64, "table": {}},
            "the ruleset last applied (bbbbbbbbbbbb) is not the one compiled now",
        ),
    ],
)
def test_without_a_matching_applied_form_the_kernel_is_drift(kernel: Any, applied: Any, message: str) -> None:
    (found,) = nft.applied_drift(kernel, applied, "a" * 64)
    assert found.startswith(message)


def test_static_sets_are_the_exempt_and_access_list_sets() -> None:
    acl = nft.compile_acl(
        {
            "firewall_rules": [
                {"name": "ssh", "ports": [22], "sources": ["10.0.0.0/8", "2001:db8::/32"]},
                {"name": "web", "ports": [443], "sources": ["any"]},
                {"name": "db", "ports": [5432], "sources": ["192.0.2.0/24"]},
            ]
        }
    )
    assert nft.static_sets(acl) == ["exempt_v4", "src_ssh_v4", "src_db_v4", "exempt_v6", "src_ssh_v6"]


def test_a_terse_table_and_full_set_listings_read_as_one() -> None:
    """The role's read: nft -t -j list table (no elements), then nft -j list set per inventory set."""
    full = load("member_a.json")
    terse = {
        "nftables": [
            {k: ({**v, "elem": []} if k == "set" else v) for k, v in item.items()} if "set" in item else item
            for item in full["nftables"]
        ]
    }
    static = ("exempt_", "src_")
    sets = [item for item in full["nftables"] if "set" in item and item["set"]["name"].startswith(static)]
    listing = "\n".join([json.dumps(terse), *(json.dumps({"nftables": [s]}) for s in sets)])
    merged = nft.normalise_table(nft.parse_listing(listing))
    expected = nft.normalise_table(full)
    assert merged is not None and expected is not None
    for name, entry in expected["sets"].items():
        if "elements" in entry and not name.startswith(static):
            entry["elements"] = []  # block lists: left out of the terse read on purpose
    assert merged == expected
    assert merged["sets"]["src_ssh_v4"]["elements"] == ["10.0.0.0/8"]
    assert nft.parse_listing(json.dumps(full, indent=2)) == full  # one pretty-printed document
    with pytest.raises(ValueError, match="not nft -j output"):
        nft.parse_listing('{"nftables": []}\n[]')


def test_normalise_refuses_other_input() -> None:
    with pytest.raises(ValueError, match="not nft -j output"):
        nft.normalise_table({"rules": []})
    assert nft.normalise_table(load("member_missing.json")) is None


def test_missing_table_error_is_the_captured_one() -> None:
    assert (FIXTURES / "bookworm" / "list_missing_table.rc").read_text().strip() == "1"
    assert "No such file or directory" in (FIXTURES / "bookworm" / "list_missing_table.stderr").read_text()


def test_debian_12_and_13_members_with_the_same_rules_are_in_sync() -> None:
    """Captured in the lab's firewall scenario: nftables 1.0.6 and 1.1.3 print the same table differently
    (set flags, auto-merge, the SYN bitmask), which must not count as drift."""
    bookworm = load("member_lab.json")
    trixie = json.loads((FIXTURES / "trixie" / "member_lab.json").read_text())
    assert bookworm["nftables"][0]["metainfo"]["version"] == "1.0.6"
    assert trixie["nftables"][0]["metainfo"]["version"] == "1.1.3"
    assert bookworm != trixie
    assert nft.normalise_table(bookworm) == nft.normalise_table(trixie)


def test_carry_over_reads_the_deny_sets_from_a_listing() -> None:
    listing = (FIXTURES / "bookworm" / "list_table.txt").read_text()
    assert nft.carry_over(listing, "rampart") == (
        "add element inet rampart deny_v4 { 203.0.113.7 timeout 5m expires 4m59s988ms }\n"
    )
    assert nft.carry_over(listing, "rampart", ["blocklist_net_v4", "nosuch"]) == (
        "add element inet rampart blocklist_net_v4 { 192.0.2.10-192.0.2.20, 198.51.100.0/23 }\n"
    )
    assert nft.carry_over("", "rampart") == ""


# Runs in a namespace: a table with bans, then a changed ruleset applied with the bans carried over.
CARRY = """
set -e
nft -f "$1"
nft 'add element inet rampart deny_v4 { 203.0.113.7 timeout 5m, 203.0.113.9 }'
nft 'add element inet rampart deny_v6 { 2001:db8::7 }'
{ cat "$2"; nft -s list table inet rampart | python3 -c "$3"; } | nft -f -
nft list table inet rampart
"""


@pytest.mark.skipif(not NFT, reason="needs nft, unshare and root")
def test_bans_survive_a_ruleset_change_in_one_transaction(tmp_path: Path) -> None:
    changed = tmp_path / "changed.nft"
    changed.write_text(nft.render_ruleset(ACL, {"deny_timeout": 60, "ssh_rate": "5/minute"}))
    python = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from ansible_collections.rampart.hardening.plugins.module_utils import nft; "
        "print(nft.carry_over(sys.stdin.read(), 'rampart'), end='')"
    )
    script = CARRY.replace('python3 -c "$3"', f'{sys.executable} -c "$3" {ROOT / ".collections"}')
    proc = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, "carry", str(FIXTURES / "ruleset.nft"), str(changed), python],
        capture_output=True,
        text=True,
        check=True,
    )
    assert nft.ruleset_hash_of(proc.stdout) == nft.ruleset_hash_of(changed.read_text())
    deny_v4 = re.search(r"set deny_v4 \{.*?elements = \{([^}]*)\}", proc.stdout, re.DOTALL)
    assert deny_v4 is not None
    assert "203.0.113.7 timeout 5m expires" in deny_v4.group(1)
    assert "203.0.113.9 expires" in deny_v4.group(1)  # the set's new default timeout (1m)
    assert re.search(r"set deny_v6 \{[^}]*elements = \{ 2001:db8::7 expires", proc.stdout)
