"""NET-01..03 in effect on both firewalls: real connections from the client containers that must
succeed and must fail (IPv4, and IPv6 over link-local addresses), a brute force that lands the client
in the deny set until the entry expires, fail2ban banning failed logins into the same set, the block
list loaded, and another tool's table left alone."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import testinfra

testinfra_hosts = ["ansible://firewall-bookworm", "ansible://firewall-trixie"]

# Connects COUNT times to ADDRESS:PORT and prints one line per attempt: ok, or the error.
CONNECT = """
import socket, sys
for _ in range(int(sys.argv[3])):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[4])).close()
        print("ok")
    except OSError as exc:
        print(type(exc).__name__)
"""


def lab_host(name: str) -> Any:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


@pytest.fixture(scope="module")
def allowed() -> Any:
    return lab_host("fw-client-allowed")


@pytest.fixture(scope="module")
def denied() -> Any:
    return lab_host("fw-client-denied")


def ipv4(host: Any) -> str:
    return str(host.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0])


def ipv6(host: Any) -> str:
    return str(host.check_output("ip -6 -o addr show dev eth0 scope global").split()[3].split("/")[0])


def attempts(client: Any, address: str, port: int, count: int = 1, timeout: float = 4) -> list[str]:
    """Outcomes of COUNT connections made in one go from the client."""
    out = client.check_output(
        "python3 -c %s %s %s %s %s", CONNECT, address, str(port), str(count), str(timeout)
    )
    return [str(line) for line in out.splitlines()]


def connects(client: Any, address: str, port: int) -> bool:
    return attempts(client, address, port) == ["ok"]


def table(host: Any) -> dict[str, Any]:
    with host.sudo():
        return dict(json.loads(host.check_output("nft -j list table inet rampart")))


def set_elements(host: Any, name: str) -> list[str]:
    with host.sudo():
        doc = json.loads(host.check_output(f"nft -j list set inet rampart {name}"))
    out = []
    for item in doc["nftables"]:
        for elem in item.get("set", {}).get("elem", []):
            value = elem["elem"]["val"] if isinstance(elem, dict) and "elem" in elem else elem
            if isinstance(value, dict) and "prefix" in value:
                value = f"{value['prefix']['addr']}/{value['prefix']['len']}"
            out.append(str(value))
    return out


def wait_for(predicate: Any, timeout: float, step: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def test_inbound_is_denied_by_default(host: Any) -> None:
    chain = next(i["chain"] for i in table(host)["nftables"] if i.get("chain", {}).get("name") == "input")
    assert (chain["hook"], chain["policy"]) == ("input", "drop")


def test_other_tools_tables_are_left_alone(host: Any) -> None:
    with host.sudo():
        assert host.run("nft list table ip othertool").rc == 0


def test_boot_unit_is_enabled(host: Any) -> None:
    assert host.service("rampart-firewall.service").is_enabled


def test_allowed_client_connects(host: Any, allowed: Any) -> None:
    assert connects(allowed, ipv4(host), 8080)


def test_denied_client_cannot_connect(host: Any, denied: Any) -> None:
    assert not connects(denied, ipv4(host), 8080)


def test_allowed_client_connects_over_ipv6(host: Any, allowed: Any) -> None:
    assert connects(allowed, ipv6(host), 8080)


def test_denied_client_cannot_connect_over_ipv6(host: Any, denied: Any) -> None:
    assert not connects(denied, ipv6(host), 8080)


# nft_set keeps a fingerprint of what it loaded in one marker element of each non-empty hash set.
MARKERS = {"255.255.255.255", "ff00::"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("blocklist_v4", ["198.51.100.200"]),
        ("blocklist_net_v4", ["192.0.2.0/24", "198.51.100.0/25"]),
        ("blocklist_v6", []),
        ("blocklist_net_v6", ["2001:db8:bad::/48"]),
    ],
)
def test_block_list_is_loaded(host: Any, name: str, expected: list[str]) -> None:
    assert sorted(set(set_elements(host, name)) - MARKERS) == expected


def test_an_address_in_the_block_list_cannot_connect(host: Any, allowed: Any) -> None:
    client = ipv4(allowed)
    assert connects(allowed, ipv4(host), 8080)
    with host.sudo():
        host.check_output(f"nft add element inet rampart blocklist_v4 {{ {client} }}")
    try:
        assert not connects(allowed, ipv4(host), 8080)
    finally:
        with host.sudo():
            host.check_output(f"nft delete element inet rampart blocklist_v4 {{ {client} }}")
    assert connects(allowed, ipv4(host), 8080)


def test_clients_are_named_by_their_global_ipv6_address(host: Any, allowed: Any) -> None:
    assert ipv6(allowed) in set_elements(host, "src_web_v6")


def test_brute_force_is_banned_until_the_entry_expires(host: Any, allowed: Any) -> None:
    address = ipv4(host)
    client = ipv4(allowed)
    assert connects(allowed, address, 8080)
    # firewall_ssh_rate 6/minute, burst 3: the first connections pass, then the source is banned.
    outcomes = attempts(allowed, address, 22, count=6, timeout=1)
    assert outcomes[:3] == ["ok"] * 3
    assert outcomes[-1] == "TimeoutError"
    assert client in set_elements(host, "deny_v4")
    assert not connects(allowed, address, 8080)
    # firewall_deny_timeout is 20 s.
    assert wait_for(lambda: client not in set_elements(host, "deny_v4"), 40)
    assert connects(allowed, address, 8080)


def test_failed_ssh_logins_are_banned_by_fail2ban(host: Any, denied: Any) -> None:
    address = ipv4(host)
    client = ipv4(denied)
    # ssh exits 255 for a refused login as for a lost connection; the message tells them apart.
    ssh = (
        "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        f"-o ConnectTimeout=4 nosuchuser@{address} true 2>&1; true"
    )
    for _ in range(2):  # firewall_fail2ban_maxretry 2, below the SSH rate's burst of 3
        assert "Permission denied" in denied.check_output(ssh)
    assert wait_for(lambda: client in set_elements(host, "deny_v4"), 15)
    with host.sudo():
        assert client in host.check_output("fail2ban-client status sshd")
    assert "timed out" in denied.check_output(ssh)
