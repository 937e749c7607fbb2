"""The inventory `up` writes: groups, stages and connection variables."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.inventory import GROUP_VARS, LabHost, assign_stages, host_list, inventory_data, render_inventory

ROOT = Path(__file__).resolve().parents[2]


def host(name: str, release: str, port: int = 40000) -> LabHost:
    return LabHost(
        name=name,
        release=release,
        container=f"rampart-lab-abc123-{name}",
        port=port,
        identity_file="/repo/.lab/ssh/id_ed25519",
        known_hosts="/repo/.lab/ssh/known_hosts",
    )


ONE_EACH = [host("lab-bookworm-1", "bookworm", 40001), host("lab-trixie-1", "trixie", 40002)]
TWO_EACH = [
    host("lab-bookworm-1", "bookworm"),
    host("lab-bookworm-2", "bookworm"),
    host("lab-trixie-1", "trixie"),
    host("lab-trixie-2", "trixie"),
]


@pytest.mark.parametrize(
    ("hosts", "staging", "production"),
    [
        (ONE_EACH, ["lab-bookworm-1"], ["lab-trixie-1"]),
        (TWO_EACH, ["lab-bookworm-1", "lab-trixie-1"], ["lab-bookworm-2", "lab-trixie-2"]),
        ([host("a", "bookworm")], ["a"], []),
        ([host("a", "trixie"), host("b", "trixie"), host("c", "trixie")], ["a"], ["b", "c"]),
        ([], [], []),
    ],
)
def test_stages(hosts: list[LabHost], staging: list[str], production: list[str]) -> None:
    assert assign_stages(hosts) == (staging, production)


def test_inventory_groups_and_vars() -> None:
    data = yaml.safe_load(render_inventory(ONE_EACH))
    children = data["all"]["children"]
    assert list(children["lab"]["children"]["staging"]["hosts"]) == ["lab-bookworm-1"]
    assert list(children["lab"]["children"]["production"]["hosts"]) == ["lab-trixie-1"]
    assert list(children["bookworm"]["hosts"]) == ["lab-bookworm-1"]
    assert list(children["trixie"]["hosts"]) == ["lab-trixie-1"]
    assert data["all"]["hosts"]["lab-trixie-1"] == {
        "ansible_host": "127.0.0.1",
        "ansible_port": 40002,
        "ansible_user": "rampart",
        "ansible_ssh_private_key_file": "/repo/.lab/ssh/id_ed25519",
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/repo/.lab/ssh/known_hosts "
        "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
        "ansible_become": True,
    }


def test_inventory_text_has_a_header_and_no_nulls() -> None:
    text = render_inventory(TWO_EACH)
    assert text.startswith("# Written by `python -m lab up`")
    assert "null" not in text


def test_group_vars_are_minimal() -> None:
    assert yaml.safe_load(GROUP_VARS) == {
        "ssh_access_sudo_nopasswd": True,
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def test_host_list() -> None:
    assert host_list(ONE_EACH[:1]) == [
        {
            "name": "lab-bookworm-1",
            "release": "bookworm",
            "address": "127.0.0.1",
            "port": 40001,
            "user": "rampart",
            "identity_file": "/repo/.lab/ssh/id_ed25519",
            "known_hosts": "/repo/.lab/ssh/known_hosts",
            "container": "rampart-lab-abc123-lab-bookworm-1",
            "kind": "container",
            "resource": "rampart-lab-abc123-lab-bookworm-1",
            "groups": [],
            "peer_address": None,
        }
    ]


ESTATE = [
    LabHost(
        "stage-web-01", "bookworm", "c1", 41001, "/k", "/kh", groups=("staging",), peer_address="10.89.0.2"
    ),
    LabHost("web-01", "bookworm", "c2", 41002, "/k", "/kh", groups=("app",), peer_address="10.89.0.3"),
    LabHost("db-01", "trixie", "c3", 41003, "/k", "/kh", groups=("db_primary",), peer_address="10.89.0.4"),
    LabHost("logs-01", "trixie", "c4", 41004, "/k", "/kh", groups=("log_collectors",)),
]
CHILDREN = {"production": ["app", "db_primary"], "firewall": ["staging", "production", "log_collectors"]}


def test_an_estate_keeps_its_groups_and_peer_addresses() -> None:
    data = inventory_data(ESTATE, CHILDREN)
    groups = data["all"]["children"]
    assert list(groups["lab"]["hosts"]) == ["stage-web-01", "web-01", "db-01", "logs-01"]
    assert list(groups["app"]["hosts"]) == ["web-01"]
    assert list(groups["production"]["children"]) == ["app", "db_primary"]
    assert list(groups["firewall"]["children"]) == ["staging", "production", "log_collectors"]
    assert list(groups["trixie"]["hosts"]) == ["db-01", "logs-01"]
    assert "staging" not in groups["lab"].get("children", {})
    assert data["all"]["hosts"]["db-01"]["rampart_address"] == "10.89.0.4"
    assert "rampart_address" not in data["all"]["hosts"]["logs-01"]


def test_estate_children_must_name_groups_with_hosts() -> None:
    with pytest.raises(ValueError, match="production names group 'db_replica', which has no hosts"):
        inventory_data(ESTATE, {"production": ["db_replica"]})


def ansible_inventory(path: Path) -> dict[str, Any]:
    """What Ansible itself reads from an inventory file (`ansible-inventory --list`)."""
    argv = ["ansible-inventory", "-i", str(path), "--list"]
    listed: dict[str, Any] = json.loads(
        subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    )
    return listed


@pytest.mark.skipif(shutil.which("ansible-inventory") is None, reason="ansible-inventory not installed")
def test_ansible_reads_the_estate(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(render_inventory(ESTATE, CHILDREN))
    listed = ansible_inventory(tmp_path / "hosts.yml")
    assert listed["production"]["children"] == ["app", "db_primary"]
    assert sorted(listed["firewall"]["children"]) == ["log_collectors", "production", "staging"]


@pytest.mark.skipif(shutil.which("ansible-inventory") is None, reason="ansible-inventory not installed")
@pytest.mark.parametrize("hosts", [ONE_EACH, [host("only", "bookworm")]], ids=["one-each", "one-host"])
def test_ansible_reads_the_inventory(tmp_path: Path, hosts: list[LabHost]) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.yml").write_text(render_inventory(hosts))
    (tmp_path / "group_vars" / "lab.yml").write_text(GROUP_VARS)
    listed = ansible_inventory(tmp_path / "hosts.yml")
    first = hosts[0].name
    assert listed["_meta"]["hostvars"][first]["ansible_port"] == hosts[0].port
    assert listed["_meta"]["hostvars"][first]["ssh_access_sudo_nopasswd"] is True
    assert first in listed["staging"]["hosts"]
    assert "staging" in listed["lab"]["children"]
    assert inventory_data(hosts)["all"]["children"]["lab"]["children"]["production"]["hosts"] is not None
