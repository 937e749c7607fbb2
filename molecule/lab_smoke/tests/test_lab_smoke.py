"""The converge wrote its marker; testinfra reached the host over ssh with the lab's known_hosts."""

from typing import Any


def test_testinfra_runs_over_ssh_with_strict_host_keys(host: Any) -> None:
    # testinfra's ansible backend hands ssh-connection hosts to its own ssh backend.
    inner = host.backend.ansible_runner.get_host(host.backend.host)
    assert inner.backend.NAME == "ssh"
    assert "StrictHostKeyChecking=yes" in inner.backend.ssh_extra_args
    assert "/.lab/ssh/known_hosts" in inner.backend.ssh_extra_args


def test_marker_written(host: Any) -> None:
    marker = host.file("/etc/rampart-lab-smoke")
    assert marker.content_string == "lab smoke test\n"
    assert (marker.user, marker.group, marker.mode) == ("root", "root", 0o644)
