"""Molecule platforms -> lab hosts: kinds, VM keys, and the errors that name the bad platform."""

from __future__ import annotations

from typing import Any

import pytest

from lab.naming import HostSpec, VmSettings
from lab.platforms import parse_platforms

RELEASES = ("bookworm", "trixie")


def test_containers_by_default_and_molecule_keys_are_ignored() -> None:
    platforms = [{"name": "a", "release": "bookworm", "groups": ["staging"]}]
    assert parse_platforms(platforms, RELEASES) == [HostSpec("a", "bookworm", groups=("staging",))]


def test_vm_platforms_with_their_settings() -> None:
    platforms = [
        {"name": "raid", "release": "trixie", "kind": "vm", "disks": 2, "disk_size": "512M"},
        {"name": "audit", "release": "bookworm", "kind": "vm", "memory": "2G", "cpus": 1, "boot": "cold"},
        {"name": "logger", "release": "bookworm", "kind": "vm", "host_ports": [5514, "6514"]},
        {"name": "box", "release": "trixie", "kind": "container"},
    ]
    assert parse_platforms(platforms, RELEASES) == [
        HostSpec("raid", "trixie", "vm", VmSettings(disks=2, disk_size_mib=512)),
        HostSpec("audit", "bookworm", "vm", VmSettings(memory_mib=2048, cpus=1, boot="cold")),
        HostSpec("logger", "bookworm", "vm", VmSettings(host_ports=(5514, 6514))),
        HostSpec("box", "trixie"),
    ]


def test_containers_publish_ports_on_the_host_loopback() -> None:
    platforms = [{"name": "collector", "release": "trixie", "publish": ["46514:6514", "8080:80"]}]
    assert parse_platforms(platforms, RELEASES) == [
        HostSpec("collector", "trixie", publish=((46514, 6514), (8080, 80)))
    ]


def test_a_container_can_ask_for_a_dual_stack_network() -> None:
    platforms = [{"name": "fw", "release": "trixie", "ipv6": True}, {"name": "client", "release": "bookworm"}]
    assert parse_platforms(platforms, RELEASES) == [
        HostSpec("fw", "trixie", ipv6=True),
        HostSpec("client", "bookworm"),
    ]


@pytest.mark.parametrize(
    ("platforms", "error"),
    [
        ([{"name": "a", "release": "bookworm", "ipv6": "yes"}], "'a': ipv6 must be true or false"),
        (
            [{"name": "a", "release": "bookworm", "kind": "vm", "ipv6": True}],
            "'a': ipv6 only apply to containers",
        ),
        ([], "non-empty list"),
        ({"name": "a"}, "non-empty list"),
        (["a"], "platform #1 is not a mapping"),
        ([{"release": "bookworm"}], "platform #1 has no name"),
        ([{"name": "a", "release": "buster"}], "'a': release must be one of"),
        ([{"name": "a", "release": "bookworm", "kind": "lxc"}], "'a': kind must be one of"),
        ([{"name": "a", "release": "bookworm", "disk": 2}], "'a': unknown key"),
        ([{"name": "a", "release": "bookworm", "disks": 2}], "'a': disks only apply to kind: vm"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "disks": 9}], "'a': disks must be between"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "disks": "two"}], "'a': disks must be a whole"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "disks": True}], "'a': disks must be a whole"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "memory": "lots"}], "'a': size 'lots'"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "memory": "256M"}], "'a': memory must be"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "boot": "warm"}], "'a': boot must be"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "host_ports": 514}], "'a': host_ports must be"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "host_ports": [0]}], "'a': host port 0"),
        ([{"name": "a", "release": "bookworm", "publish": "1:2"}], "'a': publish must be a list"),
        ([{"name": "a", "release": "bookworm", "publish": ["6514"]}], "'a': publish entry '6514' is not"),
        ([{"name": "a", "release": "bookworm", "publish": ["x:1"]}], "'a': publish must be a whole"),
        (
            [{"name": "a", "release": "bookworm", "publish": ["70000:1"]}],
            "'a': publish entry '70000:1' names",
        ),
        ([{"name": "a", "release": "bookworm", "publish": ["5:1", "5:2"]}], "'a': publish names host port 5"),
        ([{"name": "a", "release": "bookworm", "kind": "vm", "publish": ["5:1"]}], "'a': publish only apply"),
        (
            [{"name": "a_b", "release": "bookworm"}, {"name": "a-b", "release": "trixie", "kind": "vm"}],
            "same hostname",
        ),
    ],
)
def test_bad_platforms_are_rejected_by_name(platforms: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_platforms(platforms, RELEASES)
