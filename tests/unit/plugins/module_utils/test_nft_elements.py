"""Tests for plugins/module_utils/nft_elements.py: checked against the standard library's ipaddress
with hypothesis, and on captured ``nft -j`` output (tests/fixtures/nft/bookworm, nftables 1.0.6)."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils import nft_elements as el
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "nft" / "bookworm"

networks = st.one_of(
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32)).map(
        lambda t: ipaddress.ip_network(t, strict=False)
    ),
    st.tuples(st.integers(0, 2**128 - 1), st.integers(0, 128)).map(
        lambda t: ipaddress.IPv6Network(t, strict=False)
    ),
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@settings(max_examples=300)
@given(networks)
def test_parse_agrees_with_ipaddress_on_valid_networks(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> None:
    for text in (
        str(net),
        net.exploded,
        str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net),
    ):
        assert el.parse(text) == (net.version, int(net.network_address), net.prefixlen)


@settings(max_examples=500)
@given(st.text(alphabet="0123456789abcdef.:/", min_size=1, max_size=24))
def test_parse_accepts_exactly_what_ipaddress_accepts(text: str) -> None:
    try:
        expected = ipaddress.ip_network(text, strict=True)
    except ValueError:
        expected = None
    try:
        got = el.parse(text)
    except el.ElementError:
        got = None
    if expected is None:
        assert got is None
    else:
        assert got == (expected.version, int(expected.network_address), expected.prefixlen)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("10.1.2.3/8", "host bits set"),
        ("10.0.0.0/33", "bad prefix length"),
        ("10.0.0.0/²", "bad prefix length"),
        ("01.2.3.4", "not an IPv4/IPv6 address"),
        ("fe80::1%eth0", "not an IPv4/IPv6 address"),
        ("example.org", "not an IPv4/IPv6 address"),
    ],
)
def test_parse_refuses_with_a_reason(value: str, why: str) -> None:
    with pytest.raises(el.ElementError, match=why):
        el.parse(value)


@settings(max_examples=200)
@given(st.lists(networks, max_size=30))
def test_merge_and_cidrs_agree_with_collapse_addresses(nets: list[Any]) -> None:
    for version in (4, 6):
        mine = [n for n in nets if n.version == version]
        spans = el.merge(el.interval(version, int(n.network_address), n.prefixlen) for n in mine)
        texts = [t for span in spans for t in el.cidrs(version, span)]
        expected = [
            str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
            for n in ipaddress.collapse_addresses(mine)
        ]
        assert texts == expected


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 50)), max_size=20), st.integers(0, 1100))
def test_coverage_agrees_with_brute_force(raw: list[tuple[int, int]], probe: int) -> None:
    spans = [(lo, lo + size) for lo, size in raw]
    cover = el.Coverage(spans)
    covered = {a for lo, hi in spans for a in range(lo, hi + 1)}
    assert cover.covers((probe, probe + 3)) == all(a in covered for a in range(probe, probe + 4))
    assert cover.overlaps((probe, probe + 3)) == any(a in covered for a in range(probe, probe + 4))


def test_numbered_lines_skip_comments_and_blanks() -> None:
    text = "# a list\n192.0.2.1\n\n  198.51.100.0/24  # a network\n#\n2001:db8::1"
    assert list(el.numbered(text)) == [(2, "192.0.2.1"), (4, "198.51.100.0/24"), (6, "2001:db8::1")]


def test_plain_addresses_is_the_fast_path_for_bare_lists_only() -> None:
    rng = random.Random(1)
    v4 = [rng.getrandbits(32) for _ in range(1000)]
    text = "".join(f"{ipaddress.IPv4Address(a)}\n" for a in v4) + "\n"
    assert el.plain_addresses(text) == (4, v4)
    v6 = [rng.getrandbits(128) for _ in range(100)]
    assert el.plain_addresses("\n".join(str(ipaddress.IPv6Address(a)) for a in v6)) == (6, v6)
    for other in ("192.0.2.1\n# c\n", "192.0.2.0/24\n", "192.0.2.1\n2001:db8::1\n", "192.0.2.1\nbad\n"):
        assert el.plain_addresses(other) is None


@settings(max_examples=100)
@given(st.sets(st.integers(0, 2**32 - 1), max_size=50), st.sets(st.integers(0, 2**128 - 1), max_size=20))
def test_pack_round_trips_and_does_not_depend_on_order(v4: set[int], v6: set[int]) -> None:
    for version, addresses in ((4, v4), (6, v6)):
        packed = el.pack(version, addresses)
        assert el.unpack(version, packed) == sorted(addresses)
        assert el.pack(version, sorted(addresses, reverse=True)) == packed
        assert el.marker_comment(packed) == el.MARKER_PREFIX + el.digest(packed)
    with pytest.raises(ValueError, match="not a multiple of 4"):
        el.unpack(4, b"\0\0\0")


def test_markers_are_never_a_source_address() -> None:
    assert ipaddress.IPv4Address(el.MARKER[4]) == ipaddress.IPv4Address("255.255.255.255")
    assert ipaddress.IPv6Address(el.MARKER[6]).is_multicast
    assert len(el.marker_comment(b"")) < 128  # nftables' comment limit


def test_elements_from_real_output() -> None:
    found = el.json_elements(load("set_blocklist_v4.json"), "blocklist_v4")
    assert [(el.text(4, lo), comment.split(":")[0]) for (lo, _), comment in found] == [
        ("192.0.2.99", ""),
        ("255.255.255.255", "rampart sha256"),
    ]
    nets = [span for span, _ in el.json_elements(load("set_blocklist_net_v4.json"), "blocklist_net_v4")]
    assert [t for span in el.merge(nets) for t in el.cidrs(4, span)] == [
        "192.0.2.10/31",
        "192.0.2.12/30",
        "192.0.2.16/30",
        "192.0.2.20",
        "198.51.100.0/23",
    ]


def test_timeout_elements_and_empty_sets() -> None:
    assert el.json_elements(load("set_deny_v4.json"), "deny_v4") == [
        ((int(ipaddress.IPv4Address("203.0.113.7")),) * 2, "")
    ]
    assert el.json_elements(load("set_deny_v6_empty.json"), "deny_v6") == []
    with pytest.raises(ValueError, match="set nope is not in the nft output"):
        el.json_elements(load("set_deny_v4.json"), "nope")
