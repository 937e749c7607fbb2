"""Names and labels of lab resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import naming
from lab.naming import HostSpec

RELEASES = ("bookworm", "trixie")


def test_checkout_id_is_short_and_depends_on_the_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert naming.checkout_id(a) == naming.checkout_id(a)
    assert naming.checkout_id(a) != naming.checkout_id(b)
    assert len(naming.checkout_id(a)) == 6


def test_names_carry_lab_and_checkout() -> None:
    assert naming.network_name("lab", "abc123") == "rampart-lab-abc123"
    assert naming.container_name("lab", "abc123", "lab-bookworm-1") == "rampart-lab-abc123-lab-bookworm-1"
    assert naming.lab_labels("lab", "abc123") == {"rampart.lab": "lab", "rampart.lab.checkout": "abc123"}


def test_label_filters_match_every_label() -> None:
    assert naming.label_filters({"b": "2", "a": "1"}) == ["--filter", "label=a=1", "--filter", "label=b=2"]


@pytest.mark.parametrize("name", ["lab", "ssh_access", "x.y-z", "A1"])
def test_valid_lab_names(name: str) -> None:
    assert naming.validate_lab_name(name) == name


@pytest.mark.parametrize("name", ["", "-lab", "lab/x", "lab x", "a" * 41, "läb"])
def test_invalid_lab_names(name: str) -> None:
    with pytest.raises(ValueError, match="lab name"):
        naming.validate_lab_name(name)


@pytest.mark.parametrize(
    ("name", "hostname"),
    [("ssh-access-bookworm", "ssh-access-bookworm"), ("Lab_Smoke_1", "lab-smoke-1"), ("a.b", "a.b")],
)
def test_hostname_for(name: str, hostname: str) -> None:
    assert naming.hostname_for(name) == hostname


@pytest.mark.parametrize("name", ["-x", "x-", "a" * 64, "a..b"])
def test_hostname_for_rejects_bad_hostnames(name: str) -> None:
    with pytest.raises(ValueError, match="hostname"):
        naming.hostname_for(name)


def test_fleet_specs() -> None:
    assert naming.fleet_specs("lab", RELEASES, 2) == [
        HostSpec("lab-bookworm-1", "bookworm"),
        HostSpec("lab-bookworm-2", "bookworm"),
        HostSpec("lab-trixie-1", "trixie"),
        HostSpec("lab-trixie-2", "trixie"),
    ]


def test_fleet_needs_a_host() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        naming.fleet_specs("lab", RELEASES, 0)


def test_parse_instance() -> None:
    assert naming.parse_instance("ssh-access-bookworm:bookworm", RELEASES) == HostSpec(
        "ssh-access-bookworm", "bookworm"
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("nocolon", "NAME:RELEASE"),
        (":bookworm", "NAME:RELEASE"),
        ("x:", "NAME:RELEASE"),
        ("x:buster", "unknown release"),
        ("a/b:trixie", "name may use only"),
        ("x-:trixie", "hostname"),
    ],
)
def test_parse_instance_rejects(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        naming.parse_instance(text, RELEASES)


def test_check_unique_rejects_names_with_the_same_hostname() -> None:
    with pytest.raises(ValueError, match="same hostname"):
        naming.check_unique([HostSpec("a_b", "bookworm"), HostSpec("a-b", "trixie")])


def test_parse_instance_with_a_kind() -> None:
    settings = naming.VmSettings(disks=2)
    assert naming.parse_instance("raid:trixie:vm", RELEASES) == HostSpec(
        "raid", "trixie", "vm", naming.VmSettings()
    )
    assert naming.parse_instance("raid:trixie", RELEASES, "vm", settings) == HostSpec(
        "raid", "trixie", "vm", settings
    )
    # An explicit kind wins over the default of the call.
    assert naming.parse_instance("box:trixie:container", RELEASES, "vm", settings) == HostSpec(
        "box", "trixie"
    )


@pytest.mark.parametrize(("text", "error"), [("a:trixie:lxc", "unknown kind"), ("a:b:c:d", "NAME:RELEASE")])
def test_parse_instance_rejects_kinds(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        naming.parse_instance(text, RELEASES)


def test_fleet_of_vms() -> None:
    settings = naming.VmSettings(cpus=1)
    specs = naming.fleet_specs("lab", ["trixie"], 2, "vm", settings)
    assert specs == [
        HostSpec("lab-trixie-1", "trixie", "vm", settings),
        HostSpec("lab-trixie-2", "trixie", "vm", settings),
    ]


def test_host_spec_kinds() -> None:
    assert HostSpec("a", "trixie", "vm").vm == naming.VmSettings()
    with pytest.raises(ValueError, match="kind must be one of"):
        HostSpec("a", "trixie", "lxc")
    with pytest.raises(ValueError, match="VM settings given for a container"):
        HostSpec("a", "trixie", "container", naming.VmSettings())


@pytest.mark.parametrize(
    ("text", "mib"),
    [("256M", 256), ("256", 256), (512, 512), ("1G", 1024), ("1GiB", 1024), ("2g", 2048), ("1048576K", 1024)],
)
def test_parse_size_mib(text: str | int, mib: int) -> None:
    assert naming.parse_size_mib(text) == mib


@pytest.mark.parametrize("text", ["", "0", "-1M", "1.5G", "12X", "100K", "M"])
def test_parse_size_mib_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        naming.parse_size_mib(text)


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"disks": -1}, "disks"),
        ({"disks": 9}, "disks"),
        ({"disk_size_mib": 0}, "disk size"),
        ({"memory_mib": 256}, "memory"),
        ({"cpus": 0}, "cpus"),
        ({"boot": "warm"}, "boot"),
        ({"host_ports": (70000,)}, "not a TCP port"),
        ({"host_ports": (514, 514)}, "repeat"),
    ],
)
def test_vm_settings_are_checked(settings: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        naming.VmSettings(**settings)  # type: ignore[arg-type]
