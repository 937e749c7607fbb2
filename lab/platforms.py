"""Molecule platforms -> lab hosts (pure).

``molecule/resources/create.yml`` hands ``molecule_yml.platforms`` to
``python -m lab up --platforms JSON``. Each platform names its ``release``; ``kind: vm``
makes it a QEMU VM (default ``container``), shaped by the VM keys below. A container may
``publish`` ports on the host's loopback; ``ipv6: true`` on any container makes the lab's
network dual-stack (a unique local /64 besides the IPv4 /24, with default routes), so the
containers have global-scope IPv6 addresses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from lab import naming

# Keys a platform may carry. Molecule's own (groups, children) are allowed and ignored here.
VM_KEYS: tuple[str, ...] = ("disks", "disk_size", "memory", "cpus", "boot", "host_ports")
CONTAINER_KEYS: tuple[str, ...] = ("publish", "ipv6")
KNOWN_KEYS: frozenset[str] = frozenset(
    ("name", "release", "kind", "groups", "children", *VM_KEYS, *CONTAINER_KEYS)
)


def _int(platform: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"platform {platform!r}: {key} must be a whole number, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"platform {platform!r}: {key} must be a whole number, not {value!r}") from None


def vm_settings(platform: str, data: Mapping[str, Any]) -> naming.VmSettings:
    """Return the VM settings of one platform (defaults for the keys it leaves out)."""
    defaults = naming.VmSettings()
    ports = data.get("host_ports", [])
    if not isinstance(ports, list):
        raise ValueError(f"platform {platform!r}: host_ports must be a list of TCP ports, not {ports!r}")
    try:
        return naming.VmSettings(
            disks=_int(platform, "disks", data.get("disks", defaults.disks)),
            disk_size_mib=naming.parse_size_mib(data.get("disk_size", defaults.disk_size_mib)),
            memory_mib=naming.parse_size_mib(data.get("memory", defaults.memory_mib)),
            cpus=_int(platform, "cpus", data.get("cpus", defaults.cpus)),
            boot=str(data.get("boot", defaults.boot)),
            host_ports=tuple(_int(platform, "host_ports", port) for port in ports),
        )
    except ValueError as exc:
        if str(exc).startswith("platform "):
            raise
        raise ValueError(f"platform {platform!r}: {exc}") from None


def published_ports(platform: str, data: Mapping[str, Any]) -> tuple[tuple[int, int], ...]:
    """``publish: ["46514:6514"]`` -> ((46514, 6514),): host loopback port, container port."""
    entries = data.get("publish", [])
    if not isinstance(entries, list):
        raise ValueError(f"platform {platform!r}: publish must be a list of 'HOSTPORT:PORT', not {entries!r}")
    pairs: list[tuple[int, int]] = []
    for entry in entries:
        fields = str(entry).split(":")
        if len(fields) != 2:
            raise ValueError(f"platform {platform!r}: publish entry {entry!r} is not 'HOSTPORT:PORT'")
        pair = (_int(platform, "publish", fields[0]), _int(platform, "publish", fields[1]))
        if not all(1 <= port <= 65535 for port in pair):
            raise ValueError(f"platform {platform!r}: publish entry {entry!r} names a port outside 1-65535")
        if pair[0] in (host for host, _ in pairs):
            raise ValueError(f"platform {platform!r}: publish names host port {pair[0]} twice")
        pairs.append(pair)
    return tuple(pairs)


def _groups(platform: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    groups = data.get("groups", [])
    if not isinstance(groups, list):
        raise ValueError(f"platform {platform!r}: groups must be a list of group names, not {groups!r}")
    return tuple(naming.validate_group_name(group, f"platform {platform!r}") for group in groups)


def parse_platforms(data: object, releases: Iterable[str]) -> list[naming.HostSpec]:
    """Turn Molecule's platform list into host specs; raise ValueError naming the bad platform."""
    known = tuple(releases)
    if not isinstance(data, list) or not data:
        raise ValueError("platforms must be a non-empty list")
    specs: list[naming.HostSpec] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"platform #{index + 1} is not a mapping: {item!r}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"platform #{index + 1} has no name")
        unknown = sorted(set(item) - KNOWN_KEYS)
        if unknown:
            raise ValueError(
                f"platform {name!r}: unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(KNOWN_KEYS))}"
            )
        release = item.get("release")
        if release not in known:
            raise ValueError(f"platform {name!r}: release must be one of {', '.join(known)}, not {release!r}")
        kind = item.get("kind", "container")
        if kind not in naming.KINDS:
            raise ValueError(
                f"platform {name!r}: kind must be one of {', '.join(naming.KINDS)}, not {kind!r}"
            )
        if kind == "vm":
            container_only = sorted(set(item) & set(CONTAINER_KEYS))
            if container_only:
                raise ValueError(f"platform {name!r}: {', '.join(container_only)} only apply to containers")
            spec = naming.parse_instance(f"{name}:{release}", known, "vm", vm_settings(name, item))
        else:
            vm_only = sorted(set(item) & set(VM_KEYS))
            if vm_only:
                raise ValueError(f"platform {name!r}: {', '.join(vm_only)} only apply to kind: vm")
            spec = naming.parse_instance(f"{name}:{release}", known)
            ipv6 = item.get("ipv6", False)
            if not isinstance(ipv6, bool):
                raise ValueError(f"platform {name!r}: ipv6 must be true or false, not {ipv6!r}")
            spec = dataclasses.replace(spec, publish=published_ports(name, item), ipv6=ipv6)
        specs.append(dataclasses.replace(spec, groups=_groups(name, item)))
    return naming.check_unique(specs)
