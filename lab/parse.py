"""Pure parsers for podman's JSON output (``ps``, ``image inspect``, ``network ls``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Container:
    """One container as ``podman ps --all --format json`` reports it."""

    name: str
    id: str
    state: str
    image: str
    labels: dict[str, str] = field(default_factory=dict)
    ssh_port: int | None = None

    @property
    def running(self) -> bool:
        """Whether the container is running."""
        return self.state == "running"


@dataclass(frozen=True)
class Image:
    """One image as ``podman image inspect`` reports it."""

    id: str
    labels: dict[str, str] = field(default_factory=dict)
    size: int = 0


@dataclass(frozen=True)
class Network:
    """One network as ``podman network ls --format json`` reports it."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)


def _load_list(text: str, what: str) -> list[dict[str, Any]]:
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"podman {what} did not print JSON: {exc}: {text[:200]!r}") from exc
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError(f"podman {what} printed JSON that is not a list of objects: {text[:200]!r}")
    return data


def _labels(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def published_port(ports: object, container_port: int = 22, protocol: str = "tcp") -> int | None:
    """Return the host port published for ``container_port`` from ps's ``Ports`` list, if any."""
    if not isinstance(ports, list):
        return None
    for entry in ports:
        if not isinstance(entry, dict):
            continue
        first = int(entry.get("container_port", -1))
        count = int(entry.get("range", 1) or 1)
        if entry.get("protocol", "tcp") != protocol or not first <= container_port < first + count:
            continue
        host_port = int(entry.get("host_port", 0))
        if host_port:
            return host_port + (container_port - first)
    return None


def parse_ps(text: str) -> list[Container]:
    """Parse ``podman ps --all --format json``."""
    containers = []
    for item in _load_list(text, "ps"):
        names = item.get("Names") or []
        name = names[0] if isinstance(names, list) and names else str(item.get("Name", ""))
        containers.append(
            Container(
                name=name,
                id=str(item.get("Id", "")),
                state=str(item.get("State", "unknown")),
                image=str(item.get("Image", "")),
                labels=_labels(item.get("Labels")),
                ssh_port=published_port(item.get("Ports")),
            )
        )
    return sorted(containers, key=lambda c: c.name)


def parse_image_inspect(text: str) -> Image | None:
    """Parse ``podman image inspect IMAGE``; None when it printed an empty list."""
    items = _load_list(text, "image inspect")
    if not items:
        return None
    item = items[0]
    config = item.get("Config") if isinstance(item.get("Config"), dict) else {}
    labels = _labels(item.get("Labels")) or _labels((config or {}).get("Labels"))
    return Image(id=str(item.get("Id", "")), labels=labels, size=int(item.get("Size", 0) or 0))


def parse_network_ls(text: str) -> list[Network]:
    """Parse ``podman network ls --format json``."""
    return sorted(
        (
            Network(name=str(item.get("name", item.get("Name", ""))), labels=_labels(item.get("labels")))
            for item in _load_list(text, "network ls")
        ),
        key=lambda n: n.name,
    )


def parse_network_addresses(inspect_json: str, network: str) -> dict[str, str]:
    """{container name: IPv4 address on ``network``} from ``podman inspect --format json``."""
    found: dict[str, str] = {}
    for item in json.loads(inspect_json or "[]"):
        settings = (item.get("NetworkSettings") or {}).get("Networks") or {}
        address = (settings.get(network) or {}).get("IPAddress")
        if address:
            found[str(item.get("Name", "")).lstrip("/")] = str(address)
    return found
