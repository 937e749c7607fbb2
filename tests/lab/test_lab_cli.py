"""Argument parsing of `python -m lab`."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import estate_specs, parse_args
from lab.naming import HostSpec, VmSettings
from lab.util import DEFAULT_INVENTORY_DIR


def test_up_defaults_to_one_host_per_release_and_the_lab_inventory() -> None:
    args = parse_args(["up"])
    assert args.name == "lab"
    assert args.specs == [HostSpec("lab-bookworm-1", "bookworm"), HostSpec("lab-trixie-1", "trixie")]
    assert args.inventory == DEFAULT_INVENTORY_DIR
    assert args.network == "auto"
    assert not args.json


def test_up_releases_and_hosts() -> None:
    args = parse_args(["up", "--release", "trixie", "--hosts", "2", "--json"])
    assert [s.name for s in args.specs] == ["lab-trixie-1", "lab-trixie-2"]
    assert args.json


def test_up_with_instances_writes_no_inventory_for_other_labs() -> None:
    args = parse_args(
        [
            "up",
            "--name",
            "ssh_access",
            "--instance",
            "ssh-access-bookworm:bookworm",
            "ssh-access-trixie:trixie",
        ]
    )
    assert args.specs == [
        HostSpec("ssh-access-bookworm", "bookworm"),
        HostSpec("ssh-access-trixie", "trixie"),
    ]
    assert args.inventory is None


def test_repeated_instance_options_add_up() -> None:
    args = parse_args(["up", "--name", "x", "--instance", "a:bookworm", "--instance", "b:trixie"])
    assert [s.name for s in args.specs] == ["a", "b"]


def test_inventory_options() -> None:
    assert parse_args(["up", "--no-inventory"]).inventory is None
    assert parse_args(["up", "--name", "x", "--inventory", "inv"]).inventory == Path("inv")


@pytest.mark.parametrize(
    "argv",
    [
        ["up", "--instance", "a:bookworm", "--release", "trixie"],
        ["up", "--instance", "a:bookworm", "--hosts", "2"],
        ["up", "--instance", "a"],
        ["up", "--instance", "a:bookworm", "a:trixie"],
        ["up", "--kind", "lxc"],
        ["up", "--kind", "vm", "--disks", "9"],
        ["up", "--kind", "vm", "--memory", "lots"],
        ["up", "--kind", "vm", "--boot", "warm"],
        ["up", "--kind", "vm", "--boot-timeout", "0"],
        ["up", "--platforms", "not json"],
        ["up", "--platforms", '[{"name": "a", "release": "bookworm", "disks": 2}]'],
        ["up", "--platforms", "[]", "--instance", "a:bookworm"],
        ["up", "--platforms", '[{"name": "a", "release": "bookworm"}]', "--hosts", "2"],
        ["up", "--estate", "--instance", "a:bookworm"],
        ["up", "--estate", "--release", "trixie"],
        ["up", "--estate", "/nonexistent/estate.yml"],
        ["images", "--kind", "lxc"],
        ["up", "--hosts", "0"],
        ["up", "--name", "bad/name"],
        ["up", "--release", "buster"],
        ["up", "--inventory", "x", "--no-inventory"],
        ["images", "--jobs", "0"],
        ["down", "--name", ""],
        [],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2


def test_down_cleans_the_inventory_of_the_default_lab_only() -> None:
    assert parse_args(["down"]).inventory == DEFAULT_INVENTORY_DIR
    assert parse_args(["down", "--name", "ssh_access"]).inventory is None


def test_images_and_status() -> None:
    args = parse_args(["images", "--release", "trixie", "--force"])
    assert (args.release, args.force, args.jobs) == (["trixie"], True, 2)
    assert parse_args(["status"]).name is None


def test_up_vms_with_settings() -> None:
    args = parse_args(
        [
            *("up", "--name", "raid", "--kind", "vm", "--disks", "2", "--disk-size", "1G"),
            *("--host-port", "5514", "--instance", "r1:trixie", "box:bookworm:container"),
        ]
    )
    settings = VmSettings(disks=2, disk_size_mib=1024, host_ports=(5514,))
    assert args.specs == [HostSpec("r1", "trixie", "vm", settings), HostSpec("box", "bookworm")]
    assert args.boot_timeout == 300.0


def test_up_defaults_to_containers_and_snapshot_boot_for_vms() -> None:
    args = parse_args(["up", "--instance", "a:bookworm", "b:trixie:vm"])
    assert args.specs == [
        HostSpec("a", "bookworm"),
        HostSpec("b", "trixie", "vm", VmSettings(boot="snapshot")),
    ]


def test_up_with_molecule_platforms() -> None:
    platforms = (
        '[{"name": "v", "release": "trixie", "kind": "vm", "disks": 1}, {"name": "c", "release": "bookworm"}]'
    )
    args = parse_args(["up", "--name", "vm_smoke", "--json", "--platforms", platforms])
    assert args.specs == [HostSpec("v", "trixie", "vm", VmSettings(disks=1)), HostSpec("c", "bookworm")]


def test_up_the_estate() -> None:
    args = parse_args(["up", "--estate"])
    assert args.inventory == DEFAULT_INVENTORY_DIR
    names = [spec.name for spec in args.specs]
    assert names == ["stage-web-01", "web-01", "web-02", "db-01", "db-02", "logs-01", "backup-01"]
    assert {spec.release for spec in args.specs} == {"bookworm", "trixie"}
    assert dict(zip(names, [spec.groups for spec in args.specs], strict=True))["db-02"] == ("db_replica",)
    assert args.children["production"] == ["app", "db_primary", "db_replica"]
    assert args.children["backup_clients"] == ["app", "db_primary"]
    assert args.children["firewall"] == ["staging", "production", "log_collectors", "backup_targets"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("platforms: {}", "expected a mapping with a list of platforms"),
        ("platforms: [{name: a, release: bookworm, groups: [all]}]", "group 'all' must be"),
        ("platforms: [{name: a, release: bookworm}]\nchildren: {production: app}", "children must map"),
        ("platforms: [{name: a, release: bookworm}]\nchildren: {9x: [a]}", "group '9x' must be"),
    ],
)
def test_bad_estates_are_refused(tmp_path: Path, text: str, message: str) -> None:
    estate = tmp_path / "estate.yml"
    estate.write_text(text)
    with pytest.raises(ValueError, match=message):
        estate_specs(estate)


def test_images_kind() -> None:
    assert parse_args(["images"]).kind == "container"
    assert parse_args(["images", "--kind", "vm"]).kind == "vm"
