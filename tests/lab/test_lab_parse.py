"""Parsing podman's JSON, against outputs captured from podman 4.3 (tests/lab/fixtures/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.parse import parse_image_inspect, parse_network_ls, parse_ps, published_port

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_ps_running_lab() -> None:
    containers = parse_ps(fixture("podman-ps.json"))
    assert [c.name for c in containers] == [
        "rampart-lab-f2af6c-lab-bookworm-1",
        "rampart-lab-f2af6c-lab-trixie-1",
    ]
    first = containers[0]
    assert first.running
    assert first.ssh_port == 34147
    assert first.image == "localhost/rampart-lab:bookworm"
    assert first.labels["rampart.lab"] == "lab"
    assert first.labels["rampart.lab.host"] == "lab-bookworm-1"
    assert first.labels["rampart.lab.release"] == "bookworm"


def test_ps_keeps_the_port_of_a_stopped_container() -> None:
    stopped = parse_ps(fixture("podman-ps-stopped.json"))[1]
    assert (stopped.state, stopped.running, stopped.ssh_port) == ("exited", False, 45435)


@pytest.mark.parametrize("text", ["", "  \n", "[]", "null"])
def test_ps_empty(text: str) -> None:
    assert parse_ps(text) == []


def test_ps_without_ports_or_labels() -> None:
    (container,) = parse_ps(
        '[{"Names": ["x"], "Id": "1", "State": "created", "Ports": null, "Labels": null}]'
    )
    assert (container.name, container.ssh_port, container.labels) == ("x", None, {})


@pytest.mark.parametrize("text", ["not json", '{"Names": []}', "[1, 2]"])
def test_ps_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="podman ps"):
        parse_ps(text)


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        (
            [
                {
                    "host_ip": "127.0.0.1",
                    "container_port": 22,
                    "host_port": 40022,
                    "range": 1,
                    "protocol": "tcp",
                }
            ],
            40022,
        ),
        ([{"container_port": 20, "host_port": 40020, "range": 5, "protocol": "tcp"}], 40022),
        ([{"container_port": 22, "host_port": 40022, "range": 1, "protocol": "udp"}], None),
        ([{"container_port": 80, "host_port": 8080, "range": 1, "protocol": "tcp"}], None),
        ([{"container_port": 22, "host_port": 0, "range": 1, "protocol": "tcp"}], None),
        (None, None),
        ("garbage", None),
    ],
)
def test_published_port(ports: object, expected: int | None) -> None:
    assert published_port(ports) == expected


def test_image_inspect() -> None:
    image = parse_image_inspect(fixture("podman-image-inspect.json"))
    assert image is not None
    assert image.labels == {"rampart.lab.recipe": "8659074481fe3e50", "rampart.lab.release": "trixie"}
    assert image.size > 100_000_000
    assert len(image.id) == 64


def test_image_inspect_falls_back_to_config_labels() -> None:
    image = parse_image_inspect('[{"Id": "abc", "Config": {"Labels": {"a": "b"}}}]')
    assert image is not None
    assert image.labels == {"a": "b"}


def test_image_inspect_empty() -> None:
    assert parse_image_inspect("[]") is None


def test_network_ls() -> None:
    (network,) = parse_network_ls(fixture("podman-network-ls.json"))
    assert network.name == "rampart-fixture-abc123"
    assert network.labels == {"rampart.lab": "fixture", "rampart.lab.checkout": "abc123"}
