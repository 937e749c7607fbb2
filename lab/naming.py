"""Names and labels of lab resources (pure).

Podman's container and network names are global on a machine, so every name
carries the lab name and a short id of this checkout: two checkouts, or two
Molecule scenarios, never collide, and ``down`` only touches its own lab.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LAB = "lab"

# Labels on every container and network the lab creates.
LABEL_LAB = "rampart.lab"
LABEL_CHECKOUT = "rampart.lab.checkout"
LABEL_HOST = "rampart.lab.host"
LABEL_RELEASE = "rampart.lab.release"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
MAX_LAB_NAME = 40


KINDS: tuple[str, ...] = ("container", "vm")
BOOT_MODES: tuple[str, ...] = ("snapshot", "cold")

MAX_DISKS = 8
MIN_MEMORY_MIB = 512
MAX_MEMORY_MIB = 16384
MAX_CPUS = 8
_SIZE = re.compile(r"^([1-9][0-9]*)([KMGT]?)(i?B)?$", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class VmSettings:
    """How a lab VM is shaped: extra disks, memory, CPUs, how it boots, host ports it may reach.

    ``boot`` is ``snapshot`` (resume a clone of a booted template from its memory image,
    a few seconds) or ``cold`` (boot the kernel, about a minute emulated). ``host_ports``
    are TCP ports on the host's 127.0.0.1 that the guest reaches at 10.0.2.100:PORT.
    """

    disks: int = 0
    disk_size_mib: int = 256
    memory_mib: int = 1024
    cpus: int = 2
    boot: str = "snapshot"
    host_ports: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.disks <= MAX_DISKS:
            raise ValueError(f"disks must be between 0 and {MAX_DISKS}, not {self.disks}")
        if self.disk_size_mib < 1:
            raise ValueError(f"disk size must be at least 1M, not {self.disk_size_mib}M")
        if not MIN_MEMORY_MIB <= self.memory_mib <= MAX_MEMORY_MIB:
            raise ValueError(
                f"memory must be between {MIN_MEMORY_MIB}M and {MAX_MEMORY_MIB}M, not {self.memory_mib}M"
            )
        if not 1 <= self.cpus <= MAX_CPUS:
            raise ValueError(f"cpus must be between 1 and {MAX_CPUS}, not {self.cpus}")
        if self.boot not in BOOT_MODES:
            raise ValueError(f"boot must be one of {', '.join(BOOT_MODES)}, not {self.boot!r}")
        for port in self.host_ports:
            if not 1 <= port <= 65535:
                raise ValueError(f"host port {port} is not a TCP port")
        if len(set(self.host_ports)) != len(self.host_ports):
            raise ValueError(f"host ports repeat: {list(self.host_ports)}")


def parse_size_mib(text: str | int) -> int:
    """Parse a size such as ``256M``, ``1G``, ``1GiB`` or ``512`` (MiB) into whole MiB."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE.match(str(text).strip())
        if not match:
            raise ValueError(f"size {text!r}: expected a number with an optional unit, e.g. 256M or 1G")
        number, unit = int(match.group(1)), match.group(2).upper()
        size = number * _SIZE_FACTORS[unit] if unit else number << 20
        if size % (1 << 20):
            raise ValueError(f"size {text!r} is not a whole number of MiB")
        value = size >> 20
    if value < 1:
        raise ValueError(f"size {text!r} must be at least 1M")
    return value


@dataclass(frozen=True)
class HostSpec:
    """A host the caller asked for: its inventory name, Debian release and kind.

    ``kind`` is ``container`` (podman) or ``vm`` (QEMU); VMs carry their ``vm`` settings.
    A container may ``publish`` (host port, container port) pairs on the host's 127.0.0.1,
    so that a VM (through its ``host_ports``) reaches a service in it.
    """

    name: str
    release: str
    kind: str = "container"
    vm: VmSettings | None = None
    publish: tuple[tuple[int, int], ...] = ()
    ipv6: bool = False  # the lab network gets an IPv6 prefix too (containers only)
    groups: tuple[str, ...] = ()  # inventory groups (an estate's; Molecule keeps its own)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "vm" and self.vm is None:
            object.__setattr__(self, "vm", VmSettings())
        if self.kind == "container" and self.vm is not None:
            raise ValueError(f"{self.name}: VM settings given for a container")
        if self.kind == "vm" and self.publish:
            raise ValueError(
                f"{self.name}: publish applies to containers (a VM reaches the host with host_ports)"
            )
        for host_port, container_port in self.publish:
            for port in (host_port, container_port):
                if not 1 <= port <= 65535:
                    raise ValueError(f"{self.name}: {port} is not a TCP port")
        hosts = [host_port for host_port, _ in self.publish]
        if len(set(hosts)) != len(hosts):
            raise ValueError(f"{self.name}: published host ports repeat: {hosts}")
        for group in self.groups:
            validate_group_name(group, self.name)


_GROUP = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_group_name(group: object, where: str) -> str:
    """Return ``group`` if Ansible accepts it as a group name, else raise ValueError."""
    if not isinstance(group, str) or not _GROUP.match(group) or group in ("all", "ungrouped"):
        raise ValueError(
            f"{where}: group {group!r} must be letters, digits and '_', not starting with a digit, "
            "and not 'all' or 'ungrouped'"
        )
    return group


def checkout_id(root: Path) -> str:
    """Return a short stable id for a checkout, from its absolute path."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:6]


def validate_lab_name(name: str) -> str:
    """Return ``name`` if it is usable in podman names, else raise ValueError."""
    if not _NAME.match(name) or len(name) > MAX_LAB_NAME:
        raise ValueError(
            f"lab name {name!r} must start with a letter or digit, use only letters, digits, '_', '.', '-' "
            f"and be at most {MAX_LAB_NAME} characters"
        )
    return name


def hostname_for(name: str) -> str:
    """Return the hostname a container gets for an inventory name (lower case, '_' -> '-')."""
    hostname = name.lower().replace("_", "-")
    if not _HOSTNAME.match(hostname):
        raise ValueError(f"instance name {name!r} does not make a valid hostname ({hostname!r})")
    return hostname


def lab_prefix(lab: str, checkout: str) -> str:
    """Return the prefix of every resource of a lab, e.g. ``rampart-lab-1a2b3c``."""
    return f"rampart-{lab}-{checkout}"


def network_name(lab: str, checkout: str) -> str:
    """Return the name of the lab's podman network."""
    return lab_prefix(lab, checkout)


def container_name(lab: str, checkout: str, host: str) -> str:
    """Return the podman container name of a lab host."""
    return f"{lab_prefix(lab, checkout)}-{host}"


def lab_labels(lab: str, checkout: str) -> dict[str, str]:
    """Return the labels every resource of a lab carries (also the filter ``down`` uses)."""
    return {LABEL_LAB: lab, LABEL_CHECKOUT: checkout}


def label_filters(labels: dict[str, str]) -> list[str]:
    """Return podman ``--filter`` arguments that match all ``labels``."""
    args: list[str] = []
    for key, value in sorted(labels.items()):
        args += ["--filter", f"label={key}={value}"]
    return args


def fleet_specs(
    lab: str,
    releases: Sequence[str],
    hosts_per_release: int,
    kind: str = "container",
    vm: VmSettings | None = None,
) -> list[HostSpec]:
    """Return the hosts of a fleet: ``<lab>-<release>-<n>`` for each release, n from 1."""
    if hosts_per_release < 1:
        raise ValueError("--hosts must be at least 1")
    return [
        HostSpec(name=f"{lab}-{release}-{n}", release=release, kind=kind, vm=vm if kind == "vm" else None)
        for release in releases
        for n in range(1, hosts_per_release + 1)
    ]


def parse_instance(
    text: str, releases: Iterable[str], kind: str = "container", vm: VmSettings | None = None
) -> HostSpec:
    """Parse ``NAME:RELEASE[:KIND]`` as given to ``--instance``.

    ``kind`` is the default when the text names none; ``vm`` the settings a VM gets.
    """
    known = tuple(releases)
    fields = text.split(":")
    if len(fields) == 3 and fields[2] in KINDS:
        kind = fields.pop()
    elif len(fields) == 3:
        raise ValueError(f"--instance {text!r}: unknown kind {fields[2]!r}; known: {', '.join(KINDS)}")
    name, release = (fields[0], fields[1]) if len(fields) == 2 else ("", "")
    if not name or not release:
        raise ValueError(
            f"--instance {text!r}: expected NAME:RELEASE or NAME:RELEASE:KIND, "
            "e.g. ssh-access-bookworm:bookworm"
        )
    if release not in known:
        raise ValueError(f"--instance {text!r}: unknown release {release!r}; known: {', '.join(known)}")
    if not _NAME.match(name):
        raise ValueError(f"--instance {text!r}: name may use only letters, digits, '_', '.', '-'")
    hostname_for(name)
    if kind == "vm":
        return HostSpec(name=name, release=release, kind=kind, vm=vm or VmSettings())
    return HostSpec(name=name, release=release, kind=kind)


def check_unique(specs: Sequence[HostSpec]) -> list[HostSpec]:
    """Return ``specs`` if their names and hostnames are unique, else raise ValueError."""
    seen: dict[str, str] = {}
    for spec in specs:
        key = hostname_for(spec.name)
        if key in seen:
            raise ValueError(f"instance names {seen[key]!r} and {spec.name!r} give the same hostname {key!r}")
        seen[key] = spec.name
    return list(specs)
