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


@dataclass(frozen=True)
class HostSpec:
    """A host the caller asked for: its inventory name and Debian release."""

    name: str
    release: str


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


def fleet_specs(lab: str, releases: Sequence[str], hosts_per_release: int) -> list[HostSpec]:
    """Return the hosts of a fleet: ``<lab>-<release>-<n>`` for each release, n from 1."""
    if hosts_per_release < 1:
        raise ValueError("--hosts must be at least 1")
    return [
        HostSpec(name=f"{lab}-{release}-{n}", release=release)
        for release in releases
        for n in range(1, hosts_per_release + 1)
    ]


def parse_instance(text: str, releases: Iterable[str]) -> HostSpec:
    """Parse ``NAME:RELEASE`` as given to ``--instance``."""
    known = tuple(releases)
    name, sep, release = text.rpartition(":")
    if not sep or not name or not release:
        raise ValueError(f"--instance {text!r}: expected NAME:RELEASE, e.g. ssh-access-bookworm:bookworm")
    if release not in known:
        raise ValueError(f"--instance {text!r}: unknown release {release!r}; known: {', '.join(known)}")
    if not _NAME.match(name):
        raise ValueError(f"--instance {text!r}: name may use only letters, digits, '_', '.', '-'")
    hostname_for(name)
    return HostSpec(name=name, release=release)


def check_unique(specs: Sequence[HostSpec]) -> list[HostSpec]:
    """Return ``specs`` if their names and hostnames are unique, else raise ValueError."""
    seen: dict[str, str] = {}
    for spec in specs:
        key = hostname_for(spec.name)
        if key in seen:
            raise ValueError(f"instance names {seen[key]!r} and {spec.name!r} give the same hostname {key!r}")
        seen[key] = spec.name
    return list(specs)
