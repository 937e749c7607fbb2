"""Bad input and would-be lock-outs are refused with a clear message before anything changes.

Each case runs apply.yml against the scenario host with the bad input as extra vars, as an operator
would, and checks the message, that neither the kernel's table nor the role's files changed, and that
a fresh SSH login still works. The converge has already proven the rollback of a broken apply.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import fresh_login, run_playbook

SCENARIO = Path(__file__).parents[1]
SSH = {"name": "ssh", "ports": [22], "sources": ["net:controller"]}

CASES = [
    pytest.param(
        {"firewall_rules": [{"name": "ssh", "ports": [22], "sources": ["10.0.0.300"]}]},
        "firewall_rules[0] (ssh).sources[0]: '10.0.0.300' is not an IPv4/IPv6 address or network",
        id="bad-address",
    ),
    pytest.param(
        {"firewall_rules": [{"name": "ssh", "ports": [22], "sources": ["fd00::1/64"]}]},
        "'fd00::1/64' has host bits set (the network is fd00::/64",
        id="host-bits-ipv6",
    ),
    pytest.param(
        {"firewall_host_rules": [{"name": "web", "ports": [70000], "sources": ["any"]}]},
        "firewall_host_rules[0] (web).ports: 70000 is not a port",
        id="bad-port",
    ),
    pytest.param(
        {"firewall_host_rules": [{"name": "db", "ports": [5432], "sources": ["group:nosuch"]}]},
        "'group:nosuch' names a group that is not in the inventory",
        id="unknown-group",
    ),
    pytest.param(
        {
            "firewall_rules": [
                SSH,
                {"name": "ssh_block", "ports": [22], "sources": ["net:controller"], "action": "drop"},
            ]
        },
        "firewall_rules[1] (ssh_block) (drop) contradicts firewall_rules[0] (ssh) (accept)",
        id="contradiction",
    ),
    pytest.param({"firewall_rules": "ssh"}, "firewall_rules", id="not-a-list"),
    pytest.param({"firewall_ssh_rate": "fast"}, "firewall_ssh_rate: 'fast' is not a rate", id="bad-rate"),
    pytest.param({"firewall_rollback_timeout": 5}, "must be at least 30", id="rollback-too-short"),
    pytest.param(
        {"firewall_blocklist_files": ["/nonexistent/list.txt"]},
        "/nonexistent/list.txt is not a file on the controller",
        id="missing-block-list",
    ),
    pytest.param(
        {"firewall_rules": [{"name": "web", "ports": [80], "sources": ["any"]}]},
        "Refusing to apply the firewall, nothing was changed: Ansible reaches this host from",
        id="lockout-no-ssh-rule",
    ),
    pytest.param(
        {
            "firewall_rules": [
                {"name": "ssh_block", "ports": [22], "sources": ["net:controller"], "action": "drop"},
                {"name": "ssh", "ports": [22], "sources": ["any"]},
            ]
        },
        "firewall_rules[0] (ssh_block) drops tcp/22 from",
        id="lockout-drop-first",
    ),
    pytest.param(
        {"firewall_rate_exempt": []},
        "is not in firewall_rate_exempt, so the rate limits",
        id="controller-not-exempt",
    ),
]


def fingerprint(host: Any) -> dict[str, str]:
    with host.sudo():
        listing = host.check_output("nft list table inet rampart")
        files = host.check_output("sha256sum /etc/rampart/firewall/*.nft")
    digest = re.search(r"rampart sha256:([0-9a-f]{64})", listing)
    return {"table": digest.group(1) if digest else "none", "files": files}


def run_apply(host: Any, tmp_path: Path, extra: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return run_playbook(host, SCENARIO / "apply.yml", extra, tmp_path)


def assert_refused(
    host: Any, result: subprocess.CompletedProcess[str], message: str, before: dict[str, str]
) -> None:
    assert result.returncode == 2, result.stdout[-3000:]
    assert message in " ".join(result.stdout.split()), result.stdout[-3000:]
    recap = re.search(rf"^{re.escape(host.backend.get_hostname())}\s+:.*$", result.stdout, re.MULTILINE)
    assert recap is not None
    assert " changed=0 " in recap.group(0)
    assert fingerprint(host) == before
    login = fresh_login(host, "rampart", command="sudo -n true")
    assert login.returncode == 0, login.stderr


@pytest.mark.parametrize(("bad_input", "message"), CASES)
def test_refused_before_anything_changes(
    host: Any, tmp_path: Path, bad_input: dict[str, Any], message: str
) -> None:
    before = fingerprint(host)
    assert_refused(host, run_apply(host, tmp_path, bad_input), message, before)


def test_block_list_covering_the_controller_is_refused(host: Any, tmp_path: Path) -> None:
    """Podman's networks are 10.88.0.0/16 and 10.89.x.0/24: this list covers the lab gateway."""
    block_list = tmp_path / "covers-controller.txt"
    block_list.write_text("192.0.2.0/24\n10.88.0.0/13\n")
    before = fingerprint(host)
    result = run_apply(host, tmp_path, {"firewall_blocklist_files": [str(block_list)]})
    # The file is copied to the host before the load is refused; the sets are untouched.
    assert result.returncode == 2, result.stdout[-3000:]
    assert "line 2: refusing 10.88.0.0/13: it covers the protected address" in result.stdout
    assert fingerprint(host)["table"] == before["table"]
    with host.sudo():
        for name in ("blocklist_v4", "blocklist_net_v4"):
            assert "elements" not in host.check_output(f"nft list set inet rampart {name}")
    assert fresh_login(host, "rampart", command="sudo -n true").returncode == 0


def test_the_rolled_back_ruleset_is_the_confirmed_one(host: Any) -> None:
    """After the converge's broken apply: the kernel holds what the boot file holds."""
    with host.sudo():
        listing = host.check_output("nft list table inet rampart")
        boot = host.check_output("cat /etc/rampart/firewall/ruleset.nft")
    kernel = re.search(r"rampart sha256:([0-9a-f]{64})", listing)
    booted = re.search(r"rampart sha256:([0-9a-f]{64})", boot)
    assert kernel is not None
    assert booted is not None
    assert kernel.group(1) == booted.group(1)
    assert "dport 22 drop" not in listing


def test_bans_survive_a_ruleset_change(host: Any, tmp_path: Path) -> None:
    """A changed access list replaces the table; the addresses banned before are still banned."""
    with host.sudo():
        host.check_output("nft add element inet rampart deny_v4 { 198.51.100.77 timeout 10m }")
        host.check_output("nft add element inet rampart deny_v6 { 2001:db8::77 }")
    before = fingerprint(host)
    web = {"name": "web", "ports": [8080], "sources": ["192.0.2.0/24"]}
    result = run_apply(host, tmp_path, {"firewall_rules": [SSH, web]})
    assert result.returncode == 0, result.stdout[-3000:]
    assert fingerprint(host)["table"] != before["table"]
    with host.sudo():
        deny_v4 = host.check_output("nft list set inet rampart deny_v4")
        deny_v6 = host.check_output("nft list set inet rampart deny_v6")
    assert "198.51.100.77 timeout 10m expires" in deny_v4
    assert "2001:db8::77 expires" in deny_v6
    assert fresh_login(host, "rampart", command="sudo -n true").returncode == 0
