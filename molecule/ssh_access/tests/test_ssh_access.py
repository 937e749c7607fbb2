"""Effective behaviour of ssh_access on the lab hosts (RAC-01..RAC-04).

Runs under Molecule's testinfra verifier: `host` is each scenario host, reached over SSH.
Controller-side checks make real SSH connections to the published port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import fresh_login as ssh

REPORTS = Path(os.environ["RAMPART_REPORT_DIR"]) if "RAMPART_REPORT_DIR" in os.environ else None


@pytest.fixture(scope="module")
def sshd(host: Any) -> dict[str, str]:
    out = host.check_output("sudo /usr/sbin/sshd -T -C user=rampart,host=127.0.0.1,addr=127.0.0.1")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("passwordauthentication", "no"),
        ("kbdinteractiveauthentication", "no"),
        ("pubkeyauthentication", "yes"),
        ("authenticationmethods", "publickey"),
        ("permitrootlogin", "no"),
        ("permitemptypasswords", "no"),
        ("allowgroups", "sudo"),
        ("maxauthtries", "3"),
        ("logingracetime", "30"),
        ("clientaliveinterval", "300"),
        ("loglevel", "VERBOSE"),
        ("x11forwarding", "no"),
        ("allowtcpforwarding", "no"),
        ("banner", "/etc/issue.net"),
    ],
)
def test_rac01_effective_sshd_setting(sshd: dict[str, str], keyword: str, value: str) -> None:
    assert sshd[keyword] == value


@pytest.mark.parametrize("keyword", ["ciphers", "macs", "kexalgorithms"])
def test_rac01_no_weak_algorithms(sshd: dict[str, str], keyword: str) -> None:
    weak = (
        "-cbc",
        "sha1",
        "md5",
        "3des",
        "arcfour",
        "umac-64",
        "ecdh-sha2-",
        "group1-",
        "group14-",
        "group-exchange",
    )
    assert not [a for a in sshd[keyword].split(",") if any(w in a for w in weak)]


def test_rac01_admin_logs_in_with_key(host: Any) -> None:
    result = ssh(host, "rampart", command="id -un")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rampart"


def test_rac01_password_login_is_not_offered(host: Any) -> None:
    result = ssh(
        host,
        "rampart",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
    )
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_rac01_root_cannot_log_in_even_with_a_key(host: Any) -> None:
    with host.sudo():
        assert host.file("/root/.ssh/authorized_keys").exists  # the prepare step gave root the lab key
    result = ssh(host, "root")
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_rac01_account_outside_allowed_groups_is_refused(host: Any) -> None:
    with host.sudo():
        assert host.file("/home/outsider/.ssh/authorized_keys").exists
    result = ssh(host, "outsider")
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_rac01_cloud_init_dropin_does_not_override(host: Any, sshd: dict[str, str]) -> None:
    assert host.file("/etc/ssh/sshd_config.d/50-cloud-init.conf").contains("PasswordAuthentication yes")
    assert sshd["passwordauthentication"] == "no"


def test_rac01_passes_ssh_audit(host: Any) -> None:
    """No failures from ssh-audit. Its DHEat connection-rate test is skipped: throttling connection
    rates per source is the firewall's job (NET-03), and from the lab's loopback port forward every
    connection would look like one source anyway."""
    hostvars = host.ansible.get_variables()
    result = subprocess.run(
        [
            "ssh-audit",
            "--skip-rate-test",
            "-j",
            "-p",
            str(hostvars["ansible_port"]),
            hostvars["ansible_host"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    assert report["kex"] and report["enc"] and report["mac"] and report["key"], report
    failures = [
        f"{kind}: {item['algorithm']}"
        for kind in ("kex", "key", "enc", "mac")
        for item in report[kind]
        if item.get("notes", {}).get("fail")
    ]
    assert not failures, failures
    assert not report.get("cves"), report["cves"]
    # ssh-audit exits 0 when all is good, 2 on warnings (non post-quantum key exchanges), 3 on failures.
    assert result.returncode in (0, 2), f"ssh-audit exit {result.returncode}: {result.stdout[-2000:]}"


@pytest.fixture(scope="module")
def listeners(host: Any) -> list[tuple[str, int, str]]:
    """(protocol, port, program) of every listening socket, from `ss`."""
    found = []
    for line in host.check_output("sudo ss -H -tulnp").splitlines():
        fields = line.split()
        program = fields[-1].split('"')[1] if fields[-1].startswith("users:") else "?"
        found.append((fields[0], int(fields[4].rsplit(":", 1)[1]), program))
    return found


@pytest.mark.parametrize(
    ("protocol", "port"),
    [
        ("tcp", 21),
        ("tcp", 23),
        ("tcp", 512),
        ("tcp", 513),
        ("tcp", 514),
        ("tcp", 3389),
        ("tcp", 5900),
        ("udp", 69),
    ],
)
def test_rac02_nothing_listens_on_remote_admin_port(
    listeners: list[tuple[str, int, str]], protocol: str, port: int
) -> None:
    assert [entry for entry in listeners if entry[:2] == (protocol, port)] == []


def test_rac02_telnet_server_removed(host: Any) -> None:
    assert not host.package("inetutils-telnetd").is_installed
    assert not host.package("inetutils-inetd").is_installed


def test_rac02_sshd_is_the_only_remote_admin_listener(listeners: list[tuple[str, int, str]]) -> None:
    assert {program for protocol, _, program in listeners if protocol == "tcp"} == {"sshd"}, listeners


def _is_production(host: Any) -> bool:
    return "production" in host.ansible.get_variables()["group_names"]


def test_rac03_network_drives_removed_on_production_only(host: Any) -> None:
    fstab = host.file("/etc/fstab").content_string
    shares = host.file("/etc/auto.shares").content_string
    master = host.file("/etc/auto.master").content_string
    fragment = host.file("/etc/auto.master.d/projects.autofs").content_string
    unit = host.file("/etc/systemd/system/srv-share.mount")
    if _is_production(host):
        assert "nfs.example.invalid" not in fstab
        assert "files.example.invalid" not in shares and "nfs.example.invalid" not in shares
        assert "/etc/auto.net" not in master and "-hosts" not in fragment  # program map, -hosts
        assert not unit.exists
        assert host.file("/etc/modprobe.d/rampart-netfs.conf").contains("^install nfs /bin/false$")
    else:
        assert "nfs.example.invalid:/export/data" in fstab
        assert "/etc/auto.net" in master and "-hosts" in fragment and unit.exists
        assert not host.file("/etc/modprobe.d/rampart-netfs.conf").exists


def test_rac04_sudo_is_limited_to_the_admin_group(host: Any) -> None:
    assert host.run("sudo visudo -c").rc == 0
    assert "may run the following" in host.check_output("sudo sudo -l -U alice")
    assert "not allowed to run sudo" in host.run("sudo sudo -l -U outsider").stdout


def test_rac04_admins_are_named_accounts_with_their_keys(host: Any) -> None:
    alice = host.user("alice")
    assert "sudo" in alice.groups
    with host.sudo():
        assert host.file("/home/alice/.ssh/authorized_keys").mode == 0o600


def test_rac04_banner_is_shown_before_login(host: Any) -> None:
    result = ssh(host, "rampart", "-o", "LogLevel=INFO")
    assert "Authorised access only" in result.stderr


def test_controls_reported(host: Any) -> None:
    assert REPORTS is not None
    name = host.ansible.get_variables()["inventory_hostname"]
    controls = json.loads((REPORTS / f"{name}.json").read_text())["controls"]
    expected = {
        "RAC-01": "pass",
        "RAC-02": "pass",
        "RAC-03": "pass" if _is_production(host) else "not_applicable",
        "RAC-04": "pass",
    }
    assert {k: controls[k]["enforce"]["status"] for k in expected} == expected
