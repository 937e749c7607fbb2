"""Render what the lab hands to Ansible and Molecule (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

INVENTORY_HEADER = """\
# Written by `python -m lab up` (lab/inventory.py); `python -m lab down` removes it.
# Do not edit: the ports change every time the lab is recreated.
"""

GROUP_VARS = """\
---
# Lab-wide settings, written by `python -m lab up` (lab/inventory.py).

# The lab admin `rampart` logs in with the lab's SSH key only and has no
# password, so sudo must not ask for one or the lab locks itself out.
ssh_access_sudo_nopasswd: true

# Every lab image has Python here: skips interpreter discovery on each host.
ansible_python_interpreter: /usr/bin/python3
"""


@dataclass(frozen=True)
class LabHost:
    """A running lab host and how to reach it over SSH.

    ``container`` is the podman container name, or for ``kind`` ``vm`` the QEMU name.
    ``groups`` are its estate groups; ``peer_address`` is where the other lab hosts reach it
    (its address on the lab network), written as ``rampart_address``.
    """

    name: str
    release: str
    container: str
    port: int
    identity_file: str
    known_hosts: str
    address: str = "127.0.0.1"
    user: str = "rampart"
    kind: str = "container"
    groups: tuple[str, ...] = ()
    peer_address: str | None = None


def ssh_common_args(known_hosts: str) -> str:
    """Return the SSH options that pin a lab host to the keys in the lab's known_hosts file."""
    return f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"


def assign_stages(hosts: Sequence[LabHost]) -> tuple[list[str], list[str]]:
    """Split hosts into (staging, production).

    The first host of each release is staging and the rest production; when there
    is one host per release and several releases, the first release is staging and
    the others production, so both stages exist.
    """
    releases: list[str] = []
    for host in hosts:
        if host.release not in releases:
            releases.append(host.release)
    one_each = len(releases) > 1 and len(hosts) == len(releases)
    staging: list[str] = []
    production: list[str] = []
    seen: set[str] = set()
    for host in hosts:
        first_of_release = host.release not in seen
        seen.add(host.release)
        is_staging = host.release == releases[0] if one_each else first_of_release
        (staging if is_staging else production).append(host.name)
    return staging, production


def host_vars(host: LabHost) -> dict[str, Any]:
    """Return the inventory variables that connect Ansible to a lab host (and how peers reach it)."""
    found = {
        "ansible_host": host.address,
        "ansible_port": host.port,
        "ansible_user": host.user,
        "ansible_ssh_private_key_file": host.identity_file,
        "ansible_ssh_common_args": ssh_common_args(host.known_hosts),
        "ansible_become": True,
    }
    if host.peer_address:
        found["rampart_address"] = host.peer_address
    return found


def estate_groups(hosts: Sequence[LabHost], children: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Groups of an estate: ``lab`` holds every host; each host's own groups; parents of groups."""
    groups: dict[str, Any] = {"lab": {"hosts": {host.name: None for host in hosts}}}
    for host in hosts:
        for group in host.groups:
            groups.setdefault(group, {}).setdefault("hosts", {})[host.name] = None
    for parent, kids in children.items():
        for kid in kids:
            if kid not in groups:
                raise ValueError(f"estate children: {parent} names group {kid!r}, which has no hosts")
            groups.setdefault(parent, {}).setdefault("children", {})[kid] = None
    return groups


def inventory_data(
    hosts: Sequence[LabHost], children: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """Return the YAML inventory as data, one group per release, and ``vm`` for the hosts that are
    VMs (only when there are any). Hosts with groups (an estate) keep them, under ``lab``;
    otherwise group ``lab`` has children ``staging`` and ``production``.
    """
    groups: dict[str, Any]
    if any(host.groups for host in hosts):
        groups = estate_groups(hosts, children or {})
    else:
        staging, production = assign_stages(hosts)
        groups = {
            "lab": {
                "children": {
                    "staging": {"hosts": dict.fromkeys(staging)},
                    "production": {"hosts": dict.fromkeys(production)},
                }
            }
        }
    for host in hosts:
        groups.setdefault(host.release, {}).setdefault("hosts", {})[host.name] = None
        if host.kind == "vm":
            groups.setdefault("vm", {}).setdefault("hosts", {})[host.name] = None
    return {"all": {"hosts": {host.name: host_vars(host) for host in hosts}, "children": groups}}


def render_inventory(hosts: Sequence[LabHost], children: Mapping[str, Sequence[str]] | None = None) -> str:
    """Return ``inventories/lab/hosts.yml`` as text."""
    data = inventory_data(hosts, children)
    body = yaml.safe_dump(data, default_flow_style=False, sort_keys=False, width=1000)
    return INVENTORY_HEADER + "---\n" + body.replace(": null\n", ":\n")


def host_list(hosts: Sequence[LabHost]) -> list[dict[str, Any]]:
    """Return the hosts as printed by ``up --json``."""
    return [
        {
            "name": host.name,
            "release": host.release,
            "address": host.address,
            "port": host.port,
            "user": host.user,
            "identity_file": host.identity_file,
            "known_hosts": host.known_hosts,
            "container": host.container if host.kind == "container" else None,
            "kind": host.kind,
            "resource": host.container,
            "groups": list(host.groups),
            "peer_address": host.peer_address,
        }
        for host in hosts
    ]
